/* Valuation of a custody account: exact values and haircuts worked out by hand, totals,
 * the oldest price as asOf, and every refusal (no price, stale, future, no haircut,
 * expired on arrival, overflow). */
#include <setjmp.h>
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
    fixed(&w->holding.quantity, quantity);
    snprintf(w->account.ref, sizeof w->account.ref, "ACCT");
    w->account.holdings = &w->holding;
    w->account.n_holdings = 1;
    snprintf(w->price.asset, sizeof w->price.asset, "US912797KX44");
    fixed(&w->price.price, price);
    w->price.as_of = as_of;
    w->prices.items = &w->price;
    w->prices.n = 1;
    snprintf(w->haircut.asset_class, sizeof w->haircut.asset_class, "bill");
    w->haircut.bps = bps;
    w->policy.haircuts = &w->haircut;
    w->policy.n_haircuts = 1;
    w->policy.ttl_seconds = 259200;
    w->policy.max_price_age_seconds = 345600;
}

/* quantity x price = value; value less the haircut = collateral; flooring at 18 decimals. */
static const struct {
    const char *quantity, *price;
    uint32_t bps;
    const char *value, *collateral;
} single_cases[] = {
    /* 5,000,000 face of a T-bill at 98.765% of par, 0.5% haircut. */
    {"5000000", "0.98765", 50, "4938250", "4913558.75"},
    /* 15,000,000 face of a note at 100-07+ (100.234375%), 2% haircut. */
    {"15000000", "1.00234375", 200, "15035156.25", "14734453.125"},
    /* 4,000,000 face of a long bond at 96.515625%, 8% haircut. */
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
        world_init(&w, single_cases[i].quantity, "bill", single_cases[i].price, NOW - 3600,
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
        at_valuation_clear(&v);
    }
}

/* The sample book's pledged account, every figure worked out by hand:
 *   US912797KX44 bill  5,000,000 x 0.98765    =  4,938,250       -0.5% =  4,913,558.75
 *   US912797LB15 bill 10,000,000 x 0.97912    =  9,791,200       -0.5% =  9,742,244
 *   US91282CLX73 note 15,000,000 x 1.00234375 = 15,035,156.25    -2%   = 14,734,453.125
 *   US91282CMB45 note  8,000,000 x 0.99578125 =  7,966,250       -2%   =  7,806,925
 *   US912810UA42 bond  4,000,000 x 0.96515625 =  3,860,625       -8%   =  3,551,775
 *   MMF-GOVT-INST mmf 12,500,000 x 1.00       = 12,500,000       -2%   = 12,250,000
 *   total                                       54,091,481.25            52,998,955.875 */
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
    static const char *const values[] = {"4938250", "9791200", "15035156.25", "7966250",
                                         "3860625", "12500000"};
    for (size_t i = 0; i < 6; i++)
        assert_usd(&v.positions[i].value, values[i]);
    assert_string_equal(v.positions[2].asset_id, "US91282CLX73");
    assert_int_equal(v.positions[4].haircut_bps, 800);
    assert_usd(&v.gross, "54091481.25");
    assert_usd(&v.collateral, "52998955.875");
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
    {"no price", "US912797LB15", "bill", NOW - 60, 259200, 345600, CUSTOS_ERR_INVALID,
     "no price for instrument US912797KX44", "nothing signed"},
    {"stale by one second", "US912797KX44", "bill", NOW - 345601, 604800, 345600,
     CUSTOS_ERR_INVALID, "US912797KX44 is 345601 s old", "max_price_age_seconds 345600"},
    {"stale by a month", "US912797KX44", "bill", NOW - 30 * 86400, 604800, 345600,
     CUSTOS_ERR_INVALID, "US912797KX44 is 2592000 s old", "stale"},
    {"dated in the future", "US912797KX44", "bill", NOW + 10, 259200, 345600,
     CUSTOS_ERR_INVALID, "US912797KX44 is dated 10 s in the future", "nothing signed"},
    {"class without haircut", "US912797KX44", "strip", NOW - 60, 259200, 345600,
     CUSTOS_ERR_INVALID, "asset class 'strip'", "haircuts_bps"},
    {"expired on arrival", "US912797KX44", "bill", NOW - 3000, 3000, 345600,
     CUSTOS_ERR_INVALID, "ttl_seconds 3000 is already past", "nothing signed"},
};

static void test_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const refusal *r = &refusals[i];
        world w;
        world_init(&w, "5000000", r->cls, "0.98765", r->as_of, 50);
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
    world_init(&w, "1", "bill", "1", NOW - 345600, 0);
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
    world_init(&w, "100000000000000000000000000000000000000000000000000000000000", "bill", "2",
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
        snprintf(two[i].asset_class, sizeof two[i].asset_class, "bill");
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
        cmocka_unit_test(test_sample_book_totals),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_age_boundary),
        cmocka_unit_test(test_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
