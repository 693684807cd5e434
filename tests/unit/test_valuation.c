/* Valuation of a custody account: exact values and haircuts worked out by hand (fund shares,
 * bills, notes and bonds with accrued interest, matured positions, the long-bond class),
 * totals, the oldest price as asOf, and every refusal (no price, stale, future, no haircut,
 * expired on arrival, overflow). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "custos/u256.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"
#include "valuation.h"

#define NOW 1795212000ull /* 2026-11-20 22:00 UTC */

static void fixed(custos_u256 *r, const char *s)
{
    custos_error err;
    if (custos_fixed_parse(r, s, strlen(s), CUSTOS_MONEY_DECIMALS, &err) != CUSTOS_OK)
        fail_msg("fixture '%s': %s", s, err.message);
}

static void assert_usd(const custos_u256 *v, const char *want)
{
    char got[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_fixed_format(v, CUSTOS_MONEY_DECIMALS, got, sizeof got), CUSTOS_OK);
    assert_string_equal(got, want);
}

/* A one-instrument world: account ACCT holding `quantity` of asset ISIN of class `cls`. */
typedef struct world {
    at_holding holding;
    at_account account;
    at_price price;
    at_prices prices;
    at_haircut haircut;
    at_policy policy;
} world;

static void world_init(world *w, const char *quantity, const char *cls, const char *price,
                       uint64_t as_of, uint32_t bps)
{
    memset(w, 0, sizeof *w);
    snprintf(w->holding.asset, sizeof w->holding.asset, "US912797KX44");
    snprintf(w->holding.asset_class, sizeof w->holding.asset_class, "%s", cls);
    w->holding.instrument = strcmp(cls, "bill") == 0   ? AT_BILL
                            : strcmp(cls, "note") == 0 ? AT_NOTE
                            : strcmp(cls, "bond") == 0 ? AT_BOND
                                                       : AT_MMF;
    /* Treasuries of the generic cases: 5% coupon (unused by bills), maturing far ahead. */
    fixed(&w->holding.coupon, "5");
    custos_error err;
    if (custos_day_parse("2036-01-15", 10, &w->holding.maturity, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    fixed(&w->holding.quantity, quantity);
    snprintf(w->account.ref, sizeof w->account.ref, "ACCT");
    w->account.holdings = &w->holding;
    w->account.n_holdings = 1;
    snprintf(w->price.asset, sizeof w->price.asset, "US912797KX44");
    fixed(&w->price.price, price);
    w->price.as_of = as_of;
    w->prices.items = &w->price;
    w->prices.n = 1;
    snprintf(w->haircut.asset_class, sizeof w->haircut.asset_class, "%s", cls);
    w->haircut.bps = bps;
    w->policy.haircuts = &w->haircut;
    w->policy.n_haircuts = 1;
    w->policy.ttl_seconds = 259200;
    w->policy.max_price_age_seconds = 345600;
}

/* Fund shares: shares x NAV = value; value less the haircut = collateral; flooring at 18
 * decimals. */
static const struct {
    const char *quantity, *price;
    uint32_t bps;
    const char *value, *collateral;
} single_cases[] = {
    {"5000000", "0.98765", 50, "4938250", "4913558.75"},
    {"15000000", "1.00234375", 200, "15035156.25", "14734453.125"},
    {"4000000", "0.96515625", 800, "3860625", "3551775"},
    /* 12,500,000 fund shares at a NAV of 1.00, 2% haircut. */
    {"12500000.000", "1.00", 200, "12500000", "12250000"},
    /* Fractional shares: 750,000.25 x 1.00 = 750,000.25; x 0.98 = 735,000.245. */
    {"750000.25", "1", 200, "750000.25", "735000.245"},
    /* No haircut, and a full haircut. */
    {"100", "0.5", 0, "50", "50"},
    {"100", "0.5", 10000, "50", "0"},
    /* 3 x 0.333333333333333333 = 0.999999999999999999 exactly; the haircut
     * 999999999999999999 x 9950 / 10000 = 994999999999999999.005 is floored. */
    {"3", "0.333333333333333333", 50, "0.999999999999999999", "0.994999999999999999"},
    /* Below the smallest unit: 10^-18 x 0.5 floors to 0. */
    {"0.000000000000000001", "0.5", 50, "0", "0"},
};

static void test_single_positions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof single_cases / sizeof single_cases[0]; i++) {
        world w;
        world_init(&w, single_cases[i].quantity, "mmf", single_cases[i].price, NOW - 3600,
                   single_cases[i].bps);
        at_valuation v;
        custos_error err;
        custos_rc rc = at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err);
        if (rc != CUSTOS_OK)
            fail_msg("case %zu: %s", i, err.message);
        assert_int_equal(v.n_positions, 1);
        assert_usd(&v.positions[0].value, single_cases[i].value);
        assert_usd(&v.gross, single_cases[i].value);
        assert_usd(&v.collateral, single_cases[i].collateral);
        assert_string_equal(v.positions[0].asset_id, "US912797KX44");
        assert_int_equal(v.positions[0].haircut_bps, single_cases[i].bps);
        assert_int_equal(custos_u256_cmp(&v.positions[0].quantity, &w.holding.quantity), 0);
        assert_int_equal(custos_u256_cmp(&v.positions[0].price, &w.price.price), 0);
        assert_int_equal(v.as_of, NOW - 3600);
        assert_int_equal(v.valid_until, NOW - 3600 + 259200);
        assert_false(v.matured[0]);
        at_valuation_clear(&v);
    }
}

/* Treasuries, priced at the close of Friday 2026-11-20 (21:00 UTC, 16:00 EST): settlement is
 * that New York date. Accrued interest = face x coupon/2 x days since the last coupon / days
 * of the coupon period, coupon dates stepped back from maturity by six months. */
#define CLOSE 1795208400ull
static const struct {
    const char *name, *cls, *face, *coupon, *maturity, *price;
    uint64_t as_of;
    const char *leaf_price, *value;
    bool matured;
} treasury_cases[] = {
    /* 5,000,000 x 98.765 / 100; no coupon. */
    {"bill", "bill", "5000000", "0", "2027-01-21", "98.765", CLOSE, "0.98765", "4938250", false},
    /* Last coupon 2026-11-15, next 2027-05-15: 5 of 181 days.
     * clean 15,000,000 x 1.00234375 = 15,035,156.25
     * accrued 15,000,000 x 0.04125 / 2 x 5/181 = 1,546,875/181 = 8,546.270718232044198895|02
     * value 15,043,702.520718232044198895 */
    {"note, 5 days accrued", "note", "15000000", "4.125", "2027-11-15", "100.234375", CLOSE,
     "1.00234375", "15043702.520718232044198895", false},
    /* Maturity on a month's last day: coupons on 08-31 and 02-28. Last 2026-08-31, next
     * 2027-02-28: 81 of 181 days (30 + 31 + 20; 30 + 31 + 30 + 31 + 31 + 28).
     * clean 8,000,000 x 0.99578125 = 7,966,250
     * accrued 8,000,000 x 0.03875 / 2 x 81/181 = 12,555,000/181 = 69,364.640883977900552486|1
     * value 8,035,614.640883977900552486 */
    {"end-of-month note", "note", "8000000", "3.875", "2029-08-31", "99.578125", CLOSE,
     "0.99578125", "8035614.640883977900552486", false},
    /* Three days before maturity: last coupon 2026-05-23, next (maturity) 2026-11-23: 181 of
     * 184 days. accrued 1,000,000 x 0.04 / 2 x 181/184 = 3,620,000/184
     * = 19,673.913043478260869565|2; clean 1,000,000 at par. */
    {"note near maturity", "note", "1000000", "4", "2026-11-23", "100", CLOSE, "1",
     "1019673.913043478260869565", false},
    /* On a coupon date (Sunday 2026-11-15, 12:00 EST) nothing has accrued yet. */
    {"on the coupon date", "bond", "2000000", "4.625", "2054-05-15", "96.515625",
     CLOSE - 5 * 86400 - 4 * 3600, "0.96515625", "1930312.5", false},
    /* Matured the day before: par, no price used, flagged. */
    {"matured bill", "bill", "2500000", "0", "2026-11-19", "99.99", CLOSE, "1", "2500000", true},
    {"note maturing today", "note", "3000000", "2.5", "2026-11-20", "99.5", CLOSE, "1",
     "3000000", true},
    /* A percent price with 18 decimals floors at the leaf: 99.999999999999999999 / 100. */
    {"floored leaf price", "bill", "1", "0", "2027-01-21", "99.999999999999999999", CLOSE,
     "0.999999999999999999", "0.999999999999999999", false},
};

static void test_treasuries(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof treasury_cases / sizeof treasury_cases[0]; i++) {
        world w;
        world_init(&w, treasury_cases[i].face, treasury_cases[i].cls, treasury_cases[i].price,
                   treasury_cases[i].as_of, 0);
        fixed(&w.holding.coupon, treasury_cases[i].coupon);
        custos_error err;
        if (custos_day_parse(treasury_cases[i].maturity, 10, &w.holding.maturity, &err) !=
            CUSTOS_OK)
            fail_msg("%s", err.message);
        w.policy.max_price_age_seconds = 31536000;
        w.policy.ttl_seconds = 31536000;
        at_valuation v;
        if (at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err) != CUSTOS_OK)
            fail_msg("%s: %s", treasury_cases[i].name, err.message);
        char got[CUSTOS_U256_DEC_MAX];
        assert_int_equal(custos_fixed_format(&v.positions[0].value, 18, got, sizeof got),
                         CUSTOS_OK);
        if (strcmp(got, treasury_cases[i].value) != 0)
            fail_msg("%s: value %s, want %s", treasury_cases[i].name, got,
                     treasury_cases[i].value);
        assert_usd(&v.positions[0].price, treasury_cases[i].leaf_price);
        assert_int_equal(v.matured[0], treasury_cases[i].matured);
        at_valuation_clear(&v);
    }
}

/* long_bond_years 10: more than 10 years to maturity from the settlement date 2026-11-20. */
static void test_long_bond_class(void **state)
{
    (void)state;
    static const struct {
        const char *maturity;
        uint32_t bps;
    } cases[] = {{"2036-11-20", 800}, {"2036-11-21", 1200}, {"2054-05-15", 1200}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        world w;
        world_init(&w, "1000", "bond", "100", CLOSE, 800);
        at_haircut cuts[2] = {w.haircut, {"long_bond", 1200}};
        w.policy.haircuts = cuts;
        w.policy.n_haircuts = 2;
        w.policy.long_bond_years = 10;
        custos_error err;
        assert_int_equal(custos_day_parse(cases[i].maturity, 10, &w.holding.maturity, &err),
                         CUSTOS_OK);
        at_valuation v;
        if (at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err) != CUSTOS_OK)
            fail_msg("%s: %s", cases[i].maturity, err.message);
        assert_int_equal(v.positions[0].haircut_bps, cases[i].bps);
        at_valuation_clear(&v);
    }
}

/* The sample book's pledged account at the close of 2026-11-20, every figure worked out by
 * hand (accrued interest as in test_treasuries; haircuts floored):
 *   US912797KX44 bill  5,000,000 x 98.765%                     =  4,938,250       -0.5%
 *   US912797LB15 bill 10,000,000 x 97.912%                     =  9,791,200       -0.5%
 *   US91282CLX73 note 15,000,000 x 100.234375% + 8,546.27...   = 15,043,702.52... -2%
 *   US91282CMB45 note  8,000,000 x 99.578125% + 69,364.64...   =  8,035,614.64... -2%
 *   US912810UA42 bond  4,000,000 x 96.515625% + 2,555.24...    =  3,863,180.24... -12%
 *     (5 of 181 days at 4.625%; matures 2054: over long_bond_years, the long_bond haircut)
 *   MMF-GOVT-INST mmf 12,500,000 x 1.00                        = 12,500,000       -2% */
static void test_sample_book_totals(void **state)
{
    (void)state;
    at_holdings h;
    at_prices p;
    at_policy pol;
    custos_error err;
#define EXAMPLE(name) CUSTOS_SOURCE_DIR "/deploy/examples/" name
    if (at_holdings_load(EXAMPLE("holdings.json"), &h, &err) != CUSTOS_OK ||
        at_prices_load(EXAMPLE("prices.json"), &p, &err) != CUSTOS_OK ||
        at_policy_load(EXAMPLE("policy.json"), &pol, &err) != CUSTOS_OK)
        fail_msg("sample book: %s", err.message);
    const at_account *a = at_holdings_find(&h, "ACME-FUND-001");
    assert_non_null(a);
    /* One hour after the fund's NAV strike, the latest price. */
    at_valuation v;
    custos_rc rc = at_valuation_compute(a, &p, &pol, 1795212000ull + 3600, &v, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_int_equal(v.n_positions, 6);
    static const char *const values[] = {"4938250", "9791200", "15043702.520718232044198895",
                                         "8035614.640883977900552486",
                                         "3863180.24861878453038674", "12500000"};
    for (size_t i = 0; i < 6; i++)
        assert_usd(&v.positions[i].value, values[i]);
    assert_string_equal(v.positions[2].asset_id, "US91282CLX73");
    assert_int_equal(v.positions[4].haircut_bps, 1200);
    /* 4,913,558.75 + 9,742,244 + 14,742,828.470303867403314917 + 7,874,902.348066298342541436
     * + 3,399,598.618784530386740331 + 12,250,000 */
    assert_usd(&v.gross, "54171947.410220994475138121");
    assert_usd(&v.collateral, "52923132.187154696132596684");
    /* asOf is the oldest price: the Treasuries' close, not the later NAV strike. */
    assert_int_equal(v.as_of, 1795208400);
    /* Valid through Monday 2026-11-23 23:59:59 EST, the next business day. */
    assert_int_equal(v.valid_until, 1795496399);
    at_valuation_clear(&v);
    assert_null(at_holdings_find(&h, "ACME-FUND-999"));
    at_holdings_free(&h);
    at_prices_free(&p);
    at_policy_free(&pol);
}

/* Refusals: nothing is valued and the message names what the operator must fix. */
typedef struct refusal {
    const char *name;
    const char *priced_asset;  /* the one instrument with a price */
    const char *cls;           /* the holding's asset class */
    uint64_t as_of;
    uint64_t ttl, max_age;
    custos_rc rc;
    const char *needle1, *needle2;
} refusal;

static const refusal refusals[] = {
    {"no price", "US912797LB15", "mmf", NOW - 60, 259200, 345600, CUSTOS_ERR_INVALID,
     "no price for instrument US912797KX44", "nothing signed"},
    {"stale by one second", "US912797KX44", "mmf", NOW - 345601, 604800, 345600,
     CUSTOS_ERR_INVALID, "US912797KX44 is 345601 s old", "max_price_age_seconds 345600"},
    {"stale by a month", "US912797KX44", "mmf", NOW - 30 * 86400, 604800, 345600,
     CUSTOS_ERR_INVALID, "US912797KX44 is 2592000 s old", "stale"},
    {"dated in the future", "US912797KX44", "mmf", NOW + 10, 259200, 345600,
     CUSTOS_ERR_INVALID, "US912797KX44 is dated 10 s in the future", "nothing signed"},
    {"class without haircut", "US912797KX44", "bond", NOW - 60, 259200, 345600,
     CUSTOS_ERR_INVALID, "asset class 'bond'", "haircuts_bps"},
    {"expired on arrival", "US912797KX44", "mmf", NOW - 3000, 3000, 345600,
     CUSTOS_ERR_INVALID, "ttl_seconds 3000 is already past", "nothing signed"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const refusal *r = &refusals[i];
        world w;
        world_init(&w, "5000000", r->cls, "0.98765", r->as_of, 50);
        if (strcmp(r->cls, "bond") == 0) /* the policy's only class is another one */
            snprintf(w.haircut.asset_class, sizeof w.haircut.asset_class, "note");
        snprintf(w.price.asset, sizeof w.price.asset, "%s", r->priced_asset);
        w.policy.ttl_seconds = r->ttl;
        w.policy.max_price_age_seconds = r->max_age;
        at_valuation v;
        custos_error err;
        custos_rc rc = at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err);
        if (rc != r->rc)
            fail_msg("%s: rc %s, want %s (%s)", r->name, custos_rc_name(rc),
                     custos_rc_name(r->rc), rc == CUSTOS_OK ? "" : err.message);
        if (strstr(err.message, r->needle1) == NULL || strstr(err.message, r->needle2) == NULL)
            fail_msg("%s: message '%s' lacks '%s' or '%s'", r->name, err.message, r->needle1,
                     r->needle2);
        assert_null(v.positions);
    }
}

/* Freshness limits are inclusive: a price exactly max_price_age_seconds old is used. */
static void test_age_boundary(void **state)
{
    (void)state;
    world w;
    world_init(&w, "1", "mmf", "1", NOW - 345600, 0);
    w.policy.ttl_seconds = 604800;
    at_valuation v;
    custos_error err;
    assert_int_equal(at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err),
                     CUSTOS_OK);
    assert_int_equal(v.as_of, NOW - 345600);
    at_valuation_clear(&v);
}

static void test_overflow_refused(void **state)
{
    (void)state;
    /* 10^59 x 2 = 2 x 10^77 (raw 2 x 10^95 / 10^18) is above 2^256 ~ 1.16 x 10^77. */
    world w;
    world_init(&w, "100000000000000000000000000000000000000000000000000000000000", "mmf", "2",
               NOW - 60, 0);
    at_valuation v;
    custos_error err;
    assert_int_equal(at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err),
                     CUSTOS_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "US912797KX44"));
    assert_null(v.positions);

    /* Each of two positions fits (6 x 10^58 USD), their sum does not. */
    at_holding two[2];
    memset(two, 0, sizeof two);
    at_price prices[2];
    memset(prices, 0, sizeof prices);
    for (size_t i = 0; i < 2; i++) {
        snprintf(two[i].asset, sizeof two[i].asset, "ASSET-%zu", i);
        snprintf(two[i].asset_class, sizeof two[i].asset_class, "mmf");
        two[i].instrument = AT_MMF;
        fixed(&two[i].quantity, "60000000000000000000000000000000000000000000000000000000000");
        snprintf(prices[i].asset, sizeof prices[i].asset, "ASSET-%zu", i);
        fixed(&prices[i].price, "1");
        prices[i].as_of = NOW - 60;
    }
    w.account.holdings = two;
    w.account.n_holdings = 2;
    w.prices.items = prices;
    w.prices.n = 2;
    assert_int_equal(at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err),
                     CUSTOS_ERR_OVERFLOW);
    assert_non_null(strstr(err.message, "total value does not fit"));
    assert_null(v.positions);

    /* One of them alone is fine. */
    w.account.n_holdings = 1;
    assert_int_equal(at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err),
                     CUSTOS_OK);
    assert_usd(&v.gross, "60000000000000000000000000000000000000000000000000000000000");
    at_valuation_clear(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_positions),
        cmocka_unit_test(test_treasuries),
        cmocka_unit_test(test_long_bond_class),
        cmocka_unit_test(test_sample_book_totals),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_age_boundary),
        cmocka_unit_test(test_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
