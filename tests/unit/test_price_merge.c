/* The quorum of price sources, case by case: which quotes count (answered, present, fresh,
 * of the largest form, within max_price_disagreement_bps of the median), what each dropped
 * one is reported as, the median and observation time of the ones that count, and when
 * fewer than price_quorum remain the refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/u256.h"
#include "price_quorum.h"

#define NOW 1795212000ull /* 2026-11-20 22:00 UTC */
#define ASSET "US91282CLX73"

/* A source's quote of ASSET: "" (the source is down), "-" (it answered without ASSET), or
 * "[y]PRICE[@AGE][/ir=R][/rate=R]": y for a discount yield, AGE seconds before NOW (60 by
 * default). */
typedef struct merge_case {
    const char *name;
    uint32_t quorum; /* the policy's price_quorum (0: every source) */
    const char *quotes[4];
    size_t n;
    const char *price;     /* the merged quote, NULL when refused */
    uint64_t age;          /* of the merged quote's as_of */
    const char *dropped;   /* "source:reason ..." in report order (outliers by price) */
    const char *refusal;   /* when refused, part of the message */
} merge_case;

static const merge_case cases[] = {
    /* Median of three 100.1; 101 is 89.91 bps from it; the two left average 100.05. */
    {"outlier dropped", 2, {"100", "100.1", "101"}, 3, "100.05", 60, "2:outlier", NULL},
    /* Within 50 bps of 100.1 (50.05 limit): 100.6 is 49.95 bps away and counts. */
    {"at the bound", 3, {"100", "100.1", "100.6"}, 3, "100.1", 60, "", NULL},
    {"one down", 2, {"100", "", "100.2"}, 3, "100.1", 60, "", NULL},
    {"one without the instrument", 2, {"-", "100", "100.2"}, 3, "100.1", 60, "0:missing",
     NULL},
    /* The stale quote does not count, and asOf is the oldest of the ones that do. */
    {"stale dropped", 2, {"100@400000", "100@7200", "100.2@60"}, 3, "100.1", 7200, "0:stale",
     NULL},
    {"a yield among prices", 2, {"100", "y4.1", "100.2"}, 3, "100.1", 60, "1:form", NULL},
    {"another index ratio", 2, {"98/ir=1.02", "98.1/ir=1.02", "98/ir=1.03"}, 3, "98.05", 60,
     "2:form", NULL},
    {"yields agree", 2, {"y4.1", "y4.12", "y4.11"}, 3, "4.11", 60, "", NULL},
    /* Even split between forms: nobody can say which is right. */
    {"even split", 1, {"100", "y4.1"}, 2, NULL, 0, "",
     ": the price sources split evenly between forms"},
    /* Two that disagree: their median is 1% from each, neither counts. */
    {"two disagree", 1, {"100", "102"}, 2, NULL, 0, "0:outlier 1:outlier",
     "0 of 2 price sources agree, below the price_quorum 1"},
    {"every source by default", 0, {"100", "", "100"}, 3, NULL, 0, "",
     "2 of 3 price sources agree, below the price_quorum 3; price source https://b.example/p: "
     "down: nothing signed"},
    {"one down, one lying", 2, {"100", "", "98"}, 3, NULL, 0, "2:outlier 0:outlier",
     "0 of 3 price sources agree, below the price_quorum 2"},
    {"quorum above the sources", 3, {"100", "100"}, 2, NULL, 0, "",
     "the policy's price_quorum 3 needs at least 3 price sources, 2 given"},
    {"four, one down, one lying", 2, {"100", "", "98", "100.1"}, 4, "100.05", 60, "2:outlier",
     NULL},
};

static void fixed(custos_u256 *r, const char *s, size_t len)
{
    custos_error err;
    if (custos_fixed_parse(r, s, len, CUSTOS_MONEY_DECIMALS, &err) != CUSTOS_OK)
        fail_msg("fixture '%.*s': %s", (int)len, s, err.message);
}

/* Fills p from the "[y]PRICE[@AGE][/ir=R][/rate=R]" notation. */
static void quote_of(const char *q, at_price *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->asset, sizeof p->asset, ASSET);
    p->as_of = NOW - 60;
    if (*q == 'y') {
        p->kind = AT_QUOTE_DISCOUNT_YIELD;
        q++;
    }
    size_t n = strcspn(q, "@/");
    fixed(&p->price, q, n);
    q += n;
    if (*q == '@') {
        p->as_of = NOW - strtoull(q + 1, NULL, 10);
        q += 1 + strcspn(q + 1, "/");
    }
    while (*q == '/') {
        const char *v = strchr(q, '=') + 1;
        n = strcspn(v, "/");
        if (strncmp(q, "/ir=", 4) == 0) {
            p->has_index_ratio = true;
            fixed(&p->index_ratio, v, n);
        } else {
            p->has_accrual_rate = true;
            fixed(&p->accrual_rate, v, n);
        }
        q = v + n;
    }
}

static void test_merge_cases(void **state)
{
    (void)state;
    static const char *const urls[4] = {"https://a.example/p", "https://b.example/p",
                                        "https://c.example/p", "https://d.example/p"};
    at_holding holding;
    memset(&holding, 0, sizeof holding);
    snprintf(holding.asset, sizeof holding.asset, ASSET);
    at_account account;
    memset(&account, 0, sizeof account);
    snprintf(account.ref, sizeof account.ref, "ACCT");
    account.holdings = &holding;
    account.n_holdings = 1;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const merge_case *mc = &cases[c];
        at_price_fetch f;
        memset(&f, 0, sizeof f);
        f.n = mc->n;
        at_price items[4];
        for (size_t i = 0; i < mc->n; i++) {
            f.urls[i] = urls[i];
            if (mc->quotes[i][0] == '\0') {
                snprintf(f.failure[i], sizeof f.failure[i], "price source %s: down", urls[i]);
                continue;
            }
            f.answered[i] = true;
            if (strcmp(mc->quotes[i], "-") == 0) {
                quote_of("1", &items[i]);
                snprintf(items[i].asset, sizeof items[i].asset, "OTHER");
            } else {
                quote_of(mc->quotes[i], &items[i]);
            }
            f.answers[i].items = &items[i];
            f.answers[i].n = 1;
        }
        at_policy pol;
        memset(&pol, 0, sizeof pol);
        pol.max_price_age_seconds = 345600;
        pol.max_price_disagreement_bps = 50;
        pol.price_quorum = mc->quorum;
        at_prices merged;
        at_price_report report;
        memset(&report, 0, sizeof report);
        custos_error err;
        custos_rc rc = at_price_merge(&f, &account, &pol, NOW, &merged, &report, &err);
        char drops[200] = "";
        for (size_t i = 0; i < report.n_drops; i++) {
            size_t len = strlen(drops);
            snprintf(drops + len, sizeof drops - len, "%s%zu:%s", i > 0 ? " " : "",
                     report.drops[i].source, at_drop_reason_name(report.drops[i].reason));
            assert_string_equal(report.drops[i].asset, ASSET);
            assert_non_null(strstr(report.drops[i].detail, urls[report.drops[i].source]));
        }
        if (strcmp(drops, mc->dropped) != 0)
            fail_msg("%s: dropped '%s', want '%s'", mc->name, drops, mc->dropped);
        if (mc->price == NULL) {
            if (rc != CUSTOS_ERR_INVALID)
                fail_msg("%s: rc %s, want a refusal", mc->name, custos_rc_name(rc));
            if (strstr(err.message, mc->refusal) == NULL)
                fail_msg("%s: '%s' lacks '%s'", mc->name, err.message, mc->refusal);
            assert_null(merged.items);
        } else {
            if (rc != CUSTOS_OK)
                fail_msg("%s: %s", mc->name, err.message);
            assert_int_equal(merged.n, 1);
            char got[CUSTOS_U256_DEC_MAX];
            assert_int_equal(custos_fixed_format(&merged.items[0].price, 18, got, sizeof got),
                             CUSTOS_OK);
            if (strcmp(got, mc->price) != 0)
                fail_msg("%s: price %s, want %s", mc->name, got, mc->price);
            assert_int_equal(merged.items[0].as_of, NOW - mc->age);
            at_prices_free(&merged);
        }
        at_price_report_free(&report);
    }
}

/* The median keeps what the form carries: the kind and the index ratio. */
static void test_merged_form(void **state)
{
    (void)state;
    at_price items[2];
    quote_of("98/ir=1.02345", &items[0]);
    quote_of("98.2/ir=1.02345", &items[1]);
    at_price_fetch f;
    memset(&f, 0, sizeof f);
    f.n = 2;
    for (size_t i = 0; i < 2; i++) {
        f.urls[i] = "https://x.example/p";
        f.answered[i] = true;
        f.answers[i].items = &items[i];
        f.answers[i].n = 1;
    }
    at_holding holding;
    memset(&holding, 0, sizeof holding);
    snprintf(holding.asset, sizeof holding.asset, ASSET);
    at_account account = {.holdings = &holding, .n_holdings = 1};
    at_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.max_price_age_seconds = 345600;
    pol.max_price_disagreement_bps = 50;
    at_prices merged;
    at_price_report report;
    memset(&report, 0, sizeof report);
    custos_error err;
    assert_int_equal(at_price_merge(&f, &account, &pol, NOW, &merged, &report, &err), CUSTOS_OK);
    assert_true(merged.items[0].has_index_ratio);
    assert_int_equal(custos_u256_cmp(&merged.items[0].index_ratio, &items[0].index_ratio), 0);
    assert_int_equal(merged.items[0].kind, AT_QUOTE_PRICE);
    at_prices_free(&merged);
    at_price_report_free(&report);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_cases),
        cmocka_unit_test(test_merged_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
