/* The sale of a liquidation in the custodian's book (attestor/book_sale.h, docs/custodian.md
 * §15), table-driven: positions sold in the book's order, the last one in the fewest whole
 * units that cover the repaid USD, a shortfall when everything is sold; the journal entry
 * and the book's positions left. A second call for the same repay changes nothing (one
 * journal line, the same book), and an account the book does not hold is refused, naming
 * its id. After each sale the book loads and every account values: what is left of the
 * sold account (0 when nothing is), the other account as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "book_sale.h"
#include "custos/attestation.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"
#include "valuation.h"
#include "testutil.h"

#define POLICY CUSTOS_SOURCE_DIR "/deploy/examples/policy.json"

typedef struct sale_case {
    const char *name;
    uint64_t repaid_units; /* of a 6-decimal loan token at $1 */
    const char *sold[2][2]; /* asset, quantity; NULL ends */
    const char *proceeds, *shortfall;
    const char *left[2][2];
} sale_case;

/* The book: 100 shares of FUND-A at $1, then 50 of FUND-B at $2. */
static const sale_case CASES[] = {
    {"part of the second position, whole shares rounded up", 120500000,
     {{"FUND-A", "100"}, {"FUND-B", "11"}}, "122", "0", {{"FUND-B", "39"}, {NULL, NULL}}},
    {"an exact number of whole shares, not one more", 110000000,
     {{"FUND-A", "100"}, {"FUND-B", "5"}}, "110", "0", {{"FUND-B", "45"}, {NULL, NULL}}},
    {"exactly the first position", 100000000, {{"FUND-A", "100"}, {NULL, NULL}}, "100", "0",
     {{"FUND-B", "50"}, {NULL, NULL}}},
    {"everything, with a shortfall", 300000000, {{"FUND-A", "100"}, {"FUND-B", "50"}}, "200",
     "100", {{NULL, NULL}, {NULL, NULL}}},
    {"a fraction of a share", 1, {{"FUND-A", "1"}, {NULL, NULL}}, "1", "0",
     {{"FUND-A", "99"}, {"FUND-B", "50"}}},
};

static char dir[512];

/* The book after the sale, valued as the next `attest` values it: the sold account at the
 * dollars of what is left (FUND-A $1, FUND-B $2 a share), the other at its 7 shares. */
static void expect_book_values(const char *holdings, const char *prices, const sale_case *c)
{
    at_holdings h;
    at_prices p;
    at_policy pol;
    custos_error err;
    if (at_holdings_load(holdings, &h, &err) != CUSTOS_OK ||
        at_prices_load(prices, &p, &err) != CUSTOS_OK ||
        at_policy_load(POLICY, &pol, &err) != CUSTOS_OK) {
        fail_msg("%s: the book after the sale: %s", c->name, err.message);
        return;
    }
    uint64_t left = 0;
    for (size_t i = 0; i < 2 && c->left[i][0] != NULL; i++)
        left += strtoull(c->left[i][1], NULL, 10) * (strcmp(c->left[i][0], "FUND-B") == 0 ? 2 : 1);
    const char *refs[2] = {"A-1", "OTHER"};
    const uint64_t dollars[2] = {left, 7};
    for (size_t i = 0; i < 2; i++) {
        const at_account *a = at_holdings_find(&h, refs[i]);
        assert_non_null(a);
        at_valuation v;
        if (at_valuation_compute(a, &p, &pol, (uint64_t)time(NULL), &v, &err) != CUSTOS_OK)
            fail_msg("%s: %s after the sale: %s", c->name, refs[i], err.message);
        custos_u256 want, scale, dollar;
        custos_u256_from_u64(&dollar, dollars[i]);
        custos_u256_from_u64(&scale, 1000000000000000000u);
        assert_int_equal(custos_u256_mul(&want, &dollar, &scale), CUSTOS_OK);
        if (custos_u256_cmp(&v.gross, &want) != 0)
            fail_msg("%s: %s is not valued at $%llu after the sale", c->name, refs[i],
                     (unsigned long long)dollars[i]);
        at_valuation_clear(&v);
    }
    at_holdings_free(&h);
    at_prices_free(&p);
    at_policy_free(&pol);
}

static void write_files(const char *holdings, const char *prices)
{
    tu_write_file(holdings,
                  "{\"custodian\": \"acme\", \"accounts\": ["
                  "{\"ref\": \"OTHER\", \"beneficiary\": \"0x0\", \"positions\": "
                  "[{\"asset\": \"FUND-A\", \"class\": \"mmf\", \"quantity\": \"7\"}]}, "
                  "{\"ref\": \"A-1\", "
                  "\"beneficiary\": \"0x00000000000000000000000000000000000000bb\", "
                  "\"positions\": ["
                  "{\"asset\": \"FUND-A\", \"class\": \"mmf\", \"quantity\": \"100\"}, "
                  "{\"asset\": \"FUND-B\", \"class\": \"mmf\", \"quantity\": \"50\"}]}]}");
    char text[512];
    unsigned long long as_of = (unsigned long long)time(NULL) - 60;
    snprintf(text, sizeof text,
             "{\"prices\": {\"FUND-A\": {\"price\": \"1\", \"as_of\": %llu}, "
             "\"FUND-B\": {\"price\": \"2\", \"as_of\": %llu}}}",
             as_of, as_of);
    tu_write_file(prices, text);
}

static const char *str_at(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        fail_msg("no string %s", key);
        return "";
    }
    return s;
}

static void expect_positions(json_t *list, const char *const want[2][2], const char *what)
{
    size_t n = 0;
    while (n < 2 && want[n][0] != NULL)
        n++;
    if (json_array_size(list) != n)
        fail_msg("%s: %zu positions, expected %zu", what, json_array_size(list), n);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(list, i);
        assert_string_equal(str_at(p, "asset"), want[i][0]);
        assert_string_equal(str_at(p, "quantity"), want[i][1]);
    }
}

static void test_sales(void **state)
{
    (void)state;
    tu_mkdtemp(dir, sizeof dir);
    uint8_t account[CUSTOS_HASH_LEN], lender[CUSTOS_ADDRESS_LEN];
    custos_account_id("acme", "A-1", account);
    memset(lender, 0xbb, sizeof lender);
    custos_u256 price, scale;
    custos_u256_from_u64(&price, 1000000000000000000u);
    custos_u256_from_u64(&scale, 1000000u);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const sale_case *c = &CASES[i];
        char holdings[700], prices[700], journal[700];
        snprintf(holdings, sizeof holdings, "%s/holdings-%zu.json", dir, i);
        snprintf(prices, sizeof prices, "%s/prices-%zu.json", dir, i);
        snprintf(journal, sizeof journal, "%s/sales-%zu.jsonl", dir, i);
        write_files(holdings, prices);
        at_book_ctx ctx = {.holdings_path = holdings,
                           .prices_path = prices,
                           .policy_path = POLICY,
                           .journal_path = journal,
                           .account = account,
                           .lender = lender,
                           .loan_price_usd = &price,
                           .loan_scale = &scale};
        at_liq_log g;
        memset(&g, 0, sizeof g);
        g.step = AT_LIQ_REPAY_MINED;
        memset(g.repay_hash, 0xab, sizeof g.repay_hash);
        g.repay_block = 7;
        custos_u256_from_u64(&g.repaid_assets, c->repaid_units);
        custos_error err;
        if (at_book_record_sale(&ctx, &g, (uint64_t)time(NULL), &err) != CUSTOS_OK)
            fail_msg("%s: %s", c->name, err.message);
        char *book_once = tu_read_file(holdings);
        assert_non_null(book_once);
        /* Again, as after a crash before the step log said it: nothing more is sold. */
        assert_int_equal(at_book_record_sale(&ctx, &g, (uint64_t)time(NULL), &err), CUSTOS_OK);
        char *book_twice = tu_read_file(holdings);
        assert_string_equal(book_once, book_twice);
        free(book_once);
        free(book_twice);
        char *text = tu_read_file(journal);
        assert_non_null(text);
        if (strchr(text, '\n') != text + strlen(text) - 1)
            fail_msg("%s: the journal is not one line:\n%s", c->name, text);
        json_error_t jerr;
        json_t *e = json_loads(text, 0, &jerr);
        free(text);
        assert_non_null(e);
        assert_string_equal(str_at(e, "ref"), "A-1");
        assert_string_equal(str_at(e, "custodian"), "acme");
        assert_string_equal(str_at(e, "repayTx"),
                            "0xabababababababababababababababababababababababababababababababab");
        assert_int_equal(json_integer_value(json_object_get(e, "block")), 7);
        expect_positions(json_object_get(e, "sold"), c->sold, c->name);
        assert_string_equal(str_at(e, "proceedsUsd"), c->proceeds);
        assert_string_equal(str_at(e, "shortfallUsd"), c->shortfall);
        expect_positions(json_object_get(e, "remaining"), c->left, c->name);
        json_decref(e);
        /* The book holds what is left, its other account untouched. */
        json_t *book = json_load_file(holdings, 0, &jerr);
        assert_non_null(book);
        json_t *accounts = json_object_get(book, "accounts");
        expect_positions(json_object_get(json_array_get(accounts, 1), "positions"), c->left,
                         c->name);
        json_t *other = json_object_get(json_array_get(accounts, 0), "positions");
        assert_string_equal(str_at(json_array_get(other, 0), "quantity"), "7");
        json_decref(book);
        expect_book_values(holdings, prices, c);
    }
    /* An account the book does not hold. */
    char holdings[700], prices[700], journal[700];
    snprintf(holdings, sizeof holdings, "%s/holdings-x.json", dir);
    snprintf(prices, sizeof prices, "%s/prices-x.json", dir);
    snprintf(journal, sizeof journal, "%s/sales-x.jsonl", dir);
    write_files(holdings, prices);
    uint8_t stranger[CUSTOS_HASH_LEN];
    custos_account_id("acme", "NOPE", stranger);
    at_book_ctx ctx = {.holdings_path = holdings,
                       .prices_path = prices,
                       .policy_path = POLICY,
                       .journal_path = journal,
                       .account = stranger,
                       .lender = lender,
                       .loan_price_usd = &price,
                       .loan_scale = &scale};
    at_liq_log g;
    memset(&g, 0, sizeof g);
    g.repay_block = 7;
    custos_u256_from_u64(&g.repaid_assets, 1);
    custos_error err;
    assert_int_equal(at_book_record_sale(&ctx, &g, (uint64_t)time(NULL), &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "no account of custodian acme has id 0x"));
    assert_null(tu_read_file(journal));
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sales)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
