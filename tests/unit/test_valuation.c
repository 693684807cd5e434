/* Valuation of a custody account: exact values and haircuts worked out by hand (fund shares,
 * bills quoted as a discount yield, notes and bonds with interest accrued to the T+1
 * settlement date, first coupon periods, TIPS with their index ratio, floating-rate notes,
 * positions maturing by their settlement date, the long-bond class), totals, the oldest
 * price as asOf, and every refusal (no price, stale, future, no haircut, expired on arrival,
 * overflow, what the valuer cannot value: an unknown class, a quote of the wrong kind, a
 * first coupon period without its dated date, a matured position). */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/u256.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"
#include "valuation.h"

#define NOW 1795212000ull /* 2026-11-20 22:00 UTC */

/* The shipped bond-market calendar: Treasuries settle T+1 on it. */
static custos_calendar calendar;

static int group_setup(void **state)
{
    (void)state;
    custos_error err;
    if (custos_calendar_load(CUSTOS_SOURCE_DIR "/deploy/calendar/us-bond-market.txt", &calendar,
                             &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    custos_calendar_free(&calendar);
    return 0;
}

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
                            : strcmp(cls, "mmf") == 0  ? AT_MMF
                                                       : AT_UNKNOWN;
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
    w->policy.calendar = calendar; /* shared, freed by the group teardown */
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
        assert_false(v.details[0].dated);
        assert_false(v.details[0].redeemed);
        at_valuation_clear(&v);
    }
}

/* Treasuries, priced at the close of Friday 2026-11-20 (21:00 UTC, 16:00 EST): the trade
 * date; they settle T+1, on Monday 2026-11-23, and accrue interest to that date. Accrued
 * interest = face x coupon/2 x days since the last coupon / days of the coupon period,
 * coupon dates stepped back from maturity by six months. */
#define CLOSE 1795208400ull
static const struct {
    const char *name, *cls, *face, *coupon, *maturity, *price;
    uint64_t as_of;
    const char *leaf_price, *value, *settlement;
    bool redeemed;
} treasury_cases[] = {
    /* 5,000,000 x 98.765 / 100; no coupon. */
    {"bill", "bill", "5000000", "0", "2027-01-21", "98.765", CLOSE, "0.98765", "4938250",
     "2026-11-23", false},
    /* Last coupon 2026-11-15, next 2027-05-15: 8 of 181 days to the settlement date.
     * clean 15,000,000 x 1.00234375 = 15,035,156.25
     * accrued 15,000,000 x 0.04125 / 2 x 8/181 = 2,475,000/181 = 13,674.033149171270718232|04
     * value 15,048,830.283149171270718232 */
    {"note, 8 days accrued", "note", "15000000", "4.125", "2027-11-15", "100.234375", CLOSE,
     "1.00234375", "15048830.283149171270718232", "2026-11-23", false},
    /* Maturity on a month's last day: coupons on 08-31 and 02-28. Last 2026-08-31, next
     * 2027-02-28: 84 of 181 days (30 + 31 + 23; 30 + 31 + 30 + 31 + 31 + 28).
     * clean 8,000,000 x 0.99578125 = 7,966,250
     * accrued 8,000,000 x 0.03875 / 2 x 84/181 = 13,020,000/181 = 71,933.701657458563535911|6
     * value 8,038,183.701657458563535911 */
    {"end-of-month note", "note", "8000000", "3.875", "2029-08-31", "99.578125", CLOSE,
     "0.99578125", "8038183.701657458563535911", "2026-11-23", false},
    /* Settling two days before maturity: last coupon 2026-05-25, next (maturity) 2026-11-25:
     * 182 of 184 days. accrued 1,000,000 x 0.04 / 2 x 182/184 = 3,640,000/184
     * = 19,782.608695652173913043|4; clean 1,000,000 at par. */
    {"note near maturity", "note", "1000000", "4", "2026-11-25", "100", CLOSE, "1",
     "1019782.608695652173913043", "2026-11-23", false},
    /* Priced Friday 2026-11-13, settling on Monday 2026-11-16, a coupon date of a bond paying
     * on the 16th: nothing has accrued yet. */
    {"settling on the coupon date", "bond", "2000000", "4.625", "2054-05-16", "96.515625",
     CLOSE - 7 * 86400, "0.96515625", "1930312.5", "2026-11-16", false},
    /* Maturing on its settlement date, Monday 2026-11-23, after its trade date: it cannot
     * be delivered before it pays out, so it is worth its redemption: the bill par, the
     * note par plus its final coupon 1,000,000 x 4% / 2 = 20,000. The price is not used. */
    {"bill maturing by the settlement date", "bill", "2500000", "0", "2026-11-23", "99.99",
     CLOSE, "1", "2500000", "2026-11-23", true},
    {"note maturing by the settlement date", "note", "1000000", "4", "2026-11-23", "99.5",
     CLOSE, "1", "1020000", "2026-11-23", true},
    /* A percent price with 18 decimals floors at the leaf: 99.999999999999999999 / 100. */
    {"floored leaf price", "bill", "1", "0", "2027-01-21", "99.999999999999999999", CLOSE,
     "0.999999999999999999", "0.999999999999999999", "2026-11-23", false},
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
        assert_true(v.details[0].dated);
        char settle[CUSTOS_ISO_DATE_LEN];
        custos_day_format(v.details[0].settlement, settle);
        if (strcmp(settle, treasury_cases[i].settlement) != 0)
            fail_msg("%s: settles %s, want %s", treasury_cases[i].name, settle,
                     treasury_cases[i].settlement);
        assert_int_equal(v.details[0].redeemed, treasury_cases[i].redeemed);
        at_valuation_clear(&v);
    }
}

/* Interest accrues to the T+1 settlement date on the bond-market calendar, not to the
 * price's date. The audited note, 4.125% maturing 2027-11-15 (coupons 15 May and 15
 * November), 15,000,000 face, quoted 100.234375 clean:
 *
 * 1. Priced at the close of Friday 2026-11-20; settles Monday 2026-11-23.
 *    Period 2026-11-15 .. 2027-05-15 = 15 + 31 + 31 + 28 + 31 + 30 + 15 = 181 days;
 *    accrued to 2026-11-23: 8 days.
 *      coupon per period = 15,000,000 x 4.125% / 2 = 309,375
 *      accrued = 309,375 x 8 / 181 = 2,475,000 / 181 = 13,674.033149171270718232 (floored)
 *      clean = 15,000,000 x 100.234375 / 100 = 15,035,156.25
 *      value = 15,048,830.283149171270718232
 *    To the trade date (5 days) it would be 309,375 x 5 / 181 = 8,546.27..., 3 days or
 *    309,375 x 3 / 181 = 5,127.76 USD less: 5,127.76 / 15,000,000 = 3.42 bp of face.
 * 2. Priced at the close of Thursday 2026-04-02 (16:00 EDT). Good Friday 2026-04-03 is a
 *    12:00 early close that SIFMA says is no good settlement day: settles Monday 2026-04-06.
 *    Period 2025-11-15 .. 2026-05-15 = 181 days; 2025-11-15 .. 2026-04-06 = 15 + 31 + 31
 *    + 28 + 31 + 6 = 142 days.
 *      accrued = 309,375 x 142 / 181 = 43,931,250 / 181 = 242,714.088397790055248618
 *      value = 15,035,156.25 + 242,714.088397790055248618 = 15,277,870.338397790055248618
 * 3. Priced at the 12:00 EDT close of Good Friday 2026-04-03 itself: SIFMA's T+2 for trades
 *    on it, Tuesday 2026-04-07, 143 days.
 *      accrued = 309,375 x 143 / 181 = 44,240,625 / 181 = 244,423.342541436464088397
 *      value = 15,279,579.592541436464088397 */
static void test_accrual_to_settlement(void **state)
{
    (void)state;
    static const struct {
        uint64_t as_of;
        const char *trade, *settlement, *accrued, *value;
    } cases[] = {
        {CLOSE, "2026-11-20", "2026-11-23", "13674.033149171270718232",
         "15048830.283149171270718232"},
        {1775160000, "2026-04-02", "2026-04-06", "242714.088397790055248618",
         "15277870.338397790055248618"},
        {1775232000, "2026-04-03", "2026-04-07", "244423.342541436464088397",
         "15279579.592541436464088397"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        world w;
        world_init(&w, "15000000", "note", "100.234375", cases[i].as_of, 200);
        fixed(&w.holding.coupon, "4.125");
        custos_error err;
        assert_int_equal(custos_day_parse("2027-11-15", 10, &w.holding.maturity, &err),
                         CUSTOS_OK);
        at_valuation v;
        if (at_valuation_compute(&w.account, &w.prices, &w.policy, cases[i].as_of + 3600, &v,
                                 &err) != CUSTOS_OK)
            fail_msg("%s: %s", cases[i].trade, err.message);
        char trade[CUSTOS_ISO_DATE_LEN], settle[CUSTOS_ISO_DATE_LEN];
        custos_day_format(v.details[0].trade_date, trade);
        custos_day_format(v.details[0].settlement, settle);
        assert_string_equal(trade, cases[i].trade);
        assert_string_equal(settle, cases[i].settlement);
        assert_usd(&v.details[0].accrued, cases[i].accrued);
        assert_usd(&v.positions[0].value, cases[i].value);
        /* The leaf keeps the clean price: value - quantity x price is the accrued interest. */
        assert_usd(&v.positions[0].price, "1.00234375");
        at_valuation_clear(&v);
    }
}

/* One position and its quote, read from the holdings and price files' JSON as the attestor
 * reads them, valued at NOW with a zero haircut for every class. */
static custos_rc value_json(const char *position, const char *quote, at_valuation *v,
                            custos_error *err)
{
    char holdings[1024], prices[512];
    snprintf(holdings, sizeof holdings,
             "{\"custodian\":\"acme\",\"accounts\":[{\"ref\":\"ACCT\",\"beneficiary\":\"0x0\","
             "\"positions\":[{\"asset\":\"US0000000001\",\"quantity\":\"%s}]}]}",
             position);
    snprintf(prices, sizeof prices, "{\"prices\":{\"US0000000001\":{%s}}}", quote);
    at_holdings h;
    at_prices p;
    if (at_holdings_parse("holdings.json", holdings, strlen(holdings), &h, err) != CUSTOS_OK)
        fail_msg("holdings: %s", err->message);
    if (at_prices_parse("prices.json", prices, strlen(prices), &p, err) != CUSTOS_OK)
        fail_msg("prices: %s", err->message);
    static at_haircut cuts[] = {{"bill", 0}, {"note", 0}, {"bond", 0}, {"tips", 0},
                                {"frn", 0},  {"mmf", 0},  {"strip", 0}};
    at_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.haircuts = cuts;
    pol.n_haircuts = sizeof cuts / sizeof cuts[0];
    pol.ttl_seconds = 31536000;
    pol.max_price_age_seconds = 31536000;
    pol.calendar = calendar;
    custos_rc rc = at_valuation_compute(&h.accounts[0], &p, &pol, NOW, v, err);
    at_holdings_free(&h);
    at_prices_free(&p);
    return rc;
}

/* Every class priced at the close of Friday 2026-11-20 (as_of 1795208400), settling Monday
 * 2026-11-23, worked out by hand:
 *
 * Bill from a discount yield: 10,000,000 face maturing 2027-05-20, discount yield 4.10%.
 *   days(settlement, maturity) = 7 + 31 + 31 + 28 + 31 + 30 + 20 = 178
 *   discount = 4.10 x 178 / 360 = 2.0272222...: rounded up, 2.027222222222222223
 *   price = 100 - 2.027222222222222223 = 97.972777777777777777
 *   value = 10,000,000 x 97.972777777777777777 / 100 = 9,797,277.7777777777777
 *
 * TIPS: 5,000,000 original face, 1.875% maturing 2034-07-15 (coupons 15 January and 15
 * July), real clean price 98.5, index ratio 1.02345 for the settlement date.
 *   inflation-adjusted principal = 5,000,000 x 1.02345 = 5,117,250
 *   clean value = 5,117,250 x 98.5 / 100 = 5,040,491.25
 *   period 2026-07-15 .. 2027-01-15 = 184 days, accrued 16 + 31 + 30 + 31 + 23 = 131 days
 *   accrued = 5,117,250 x 1.875% / 2 x 131 / 184 = 47,974.21875 x 131 / 184
 *           = 34,155.557914402173913043 (floored)
 *   value = 5,074,646.807914402173913043; the leaf's price per unit of face is
 *   1.02345 x 98.5 / 100 = 1.00809825
 *
 * Floating-rate note: 20,000,000 face maturing 2028-10-31 (interest 31 January, 30 April,
 * 31 July, 31 October), clean price 100.02, accrual_rate 4.2% (index plus spread).
 *   clean value = 20,000,000 x 100.02 / 100 = 20,004,000
 *   accrued since 2026-10-31: 23 days, actual/360
 *   accrued = 20,000,000 x 4.2% x 23 / 360 = 19,320,000 / 360 = 53,666.666666666666666666
 *   value = 20,057,666.666666666666666666 */
static void test_instrument_classes(void **state)
{
    (void)state;
    static const struct {
        const char *name, *position, *quote, *leaf_price, *principal, *accrued, *value;
    } cases[] = {
        {"bill, discount yield", "10000000\",\"class\":\"bill\",\"maturity\":\"2027-05-20\"",
         "\"discount_yield\":\"4.10\",\"as_of\":1795208400", "0.979727777777777777",
         "10000000", "0", "9797277.7777777777777"},
        {"bill, the same price quoted", "10000000\",\"class\":\"bill\",\"maturity\":\"2027-05-20\"",
         "\"price\":\"97.972777777777777777\",\"as_of\":1795208400", "0.979727777777777777",
         "10000000", "0", "9797277.7777777777777"},
        {"tips", "5000000\",\"class\":\"tips\",\"coupon\":\"1.875\",\"maturity\":\"2034-07-15\"",
         "\"price\":\"98.5\",\"index_ratio\":\"1.02345\",\"as_of\":1795208400", "1.00809825",
         "5117250", "34155.557914402173913043", "5074646.807914402173913043"},
        {"frn", "20000000\",\"class\":\"frn\",\"maturity\":\"2028-10-31\"",
         "\"price\":\"100.02\",\"accrual_rate\":\"4.2\",\"as_of\":1795208400", "1.0002",
         "20000000", "53666.666666666666666666", "20057666.666666666666666666"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        at_valuation v;
        custos_error err;
        if (value_json(cases[i].position, cases[i].quote, &v, &err) != CUSTOS_OK)
            fail_msg("%s: %s", cases[i].name, err.message);
        char got[CUSTOS_U256_DEC_MAX];
        assert_int_equal(custos_fixed_format(&v.positions[0].value, 18, got, sizeof got),
                         CUSTOS_OK);
        if (strcmp(got, cases[i].value) != 0)
            fail_msg("%s: value %s, want %s", cases[i].name, got, cases[i].value);
        assert_usd(&v.positions[0].price, cases[i].leaf_price);
        assert_usd(&v.details[0].principal, cases[i].principal);
        assert_usd(&v.details[0].accrued, cases[i].accrued);
        assert_false(v.details[0].redeemed);
        at_valuation_clear(&v);
    }
}

/* The first coupon period starts at the dated date. 10,000,000 of a 4.25% note maturing
 * 2029-11-15 (regular coupons 15 May and 15 November), clean 99.75 (9,975,000), settling
 * 2026-11-23; a regular period 2026-11-15 .. 2027-05-15 has 181 days.
 *
 * Long first coupon: dated 2026-11-02, first coupon 2027-05-15, so the period spans the
 *   quasi-periods 2026-05-15 .. 2026-11-15 (184 days, 13 of them accrued from 11-02) and
 *   2026-11-15 .. 2027-05-15 (181 days, 8 accrued):
 *   accrued = 10,000,000 x 4.25% / 2 x (13/184 + 8/181) = 212,500 x 3,825 / 33,304
 *           = 24,405.852149891904876291 (floored); value 9,999,405.852149891904876291
 * Short first coupon: dated 2026-11-18, the first coupon follows as 2027-05-15:
 *   accrued = 212,500 x 5 / 181 = 5,870.16574585635359116; value 9,980,870.16574585635359116
 * After the first coupon has been paid (first coupon 2026-05-15, no dated date needed):
 *   the regular period, 212,500 x 8 / 181 = 9,392.265193370165745856 */
static void test_first_coupon_periods(void **state)
{
    (void)state;
#define NOTE_2029 "10000000\",\"class\":\"note\",\"coupon\":\"4.25\",\"maturity\":\"2029-11-15\""
    static const struct {
        const char *name, *position, *accrued, *value;
    } cases[] = {
        {"long first coupon",
         NOTE_2029 ",\"dated_date\":\"2026-11-02\",\"first_coupon\":\"2027-05-15\"",
         "24405.852149891904876291", "9999405.852149891904876291"},
        {"short first coupon", NOTE_2029 ",\"dated_date\":\"2026-11-18\"",
         "5870.16574585635359116", "9980870.16574585635359116"},
        {"short first coupon, named", 
         NOTE_2029 ",\"dated_date\":\"2026-11-18\",\"first_coupon\":\"2027-05-15\"",
         "5870.16574585635359116", "9980870.16574585635359116"},
        {"first coupon paid", NOTE_2029 ",\"first_coupon\":\"2026-05-15\"",
         "9392.265193370165745856", "9984392.265193370165745856"},
        {"regular schedule", NOTE_2029, "9392.265193370165745856",
         "9984392.265193370165745856"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        at_valuation v;
        custos_error err;
        if (value_json(cases[i].position, "\"price\":\"99.75\",\"as_of\":1795208400", &v,
                       &err) != CUSTOS_OK)
            fail_msg("%s: %s", cases[i].name, err.message);
        char got[CUSTOS_U256_DEC_MAX];
        assert_int_equal(custos_fixed_format(&v.details[0].accrued, 18, got, sizeof got),
                         CUSTOS_OK);
        if (strcmp(got, cases[i].accrued) != 0)
            fail_msg("%s: accrued %s, want %s", cases[i].name, got, cases[i].accrued);
        assert_usd(&v.positions[0].value, cases[i].value);
        at_valuation_clear(&v);
    }
}

/* What the valuer cannot value correctly is refused, naming the account and the position,
 * never valued as a plain note. */
static void test_instrument_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *name, *position, *quote, *needle;
    } cases[] = {
        {"unknown class", "1000\",\"class\":\"strip\",\"maturity\":\"2030-05-15\"",
         "\"price\":\"80\",\"as_of\":1795208400",
         "account ACCT: position US0000000001 has class 'strip', which custos-attestor cannot "
         "value"},
        {"first period without its dated date", NOTE_2029 ",\"first_coupon\":\"2027-05-15\"",
         "\"price\":\"99.75\",\"as_of\":1795208400",
         "US0000000001: 2026-11-23 lies in its first coupon period (first coupon 2027-05-15) "
         "and the holdings give no dated_date"},
        {"first coupon off the schedule",
         NOTE_2029 ",\"dated_date\":\"2026-11-02\",\"first_coupon\":\"2027-05-31\"",
         "\"price\":\"99.75\",\"as_of\":1795208400",
         "first_coupon 2027-05-31 is not a coupon date of a security maturing 2029-11-15"},
        {"first period over two periods",
         NOTE_2029 ",\"dated_date\":\"2026-05-01\",\"first_coupon\":\"2027-05-15\"",
         "\"price\":\"99.75\",\"as_of\":1795208400",
         "a first coupon period from 2026-05-01 to 2027-05-15 is longer than two regular"},
        {"settling before the dated date", NOTE_2029 ",\"dated_date\":\"2026-11-30\"",
         "\"price\":\"99.75\",\"as_of\":1795208400",
         "2026-11-23 is before its dated date 2026-11-30"},
        {"discount yield of a note", NOTE_2029, "\"discount_yield\":\"4\",\"as_of\":1795208400",
         "position US0000000001 is a note, and its price is quoted as a discount_yield"},
        {"TIPS without its index ratio",
         "1000\",\"class\":\"tips\",\"coupon\":\"1.875\",\"maturity\":\"2034-07-15\"",
         "\"price\":\"98.5\",\"as_of\":1795208400",
         "position US0000000001 is a tips and its price has no index_ratio"},
        {"index ratio of a note", NOTE_2029,
         "\"price\":\"99.75\",\"index_ratio\":\"1.02\",\"as_of\":1795208400",
         "gives an index_ratio, which only TIPS have"},
        {"FRN without its rate", "1000\",\"class\":\"frn\",\"maturity\":\"2028-10-31\"",
         "\"price\":\"100\",\"as_of\":1795208400",
         "position US0000000001 is a frn and its price has no accrual_rate"},
        {"rate of a bill", "1000\",\"class\":\"bill\",\"maturity\":\"2027-05-20\"",
         "\"price\":\"98\",\"accrual_rate\":\"4\",\"as_of\":1795208400",
         "which only floating-rate notes have"},
        /* Its payment went out on 2026-11-19: a ledger that still shows it is out of date. */
        {"note matured before the trade date",
         "1000\",\"class\":\"note\",\"coupon\":\"4\",\"maturity\":\"2026-11-19\"",
         "\"price\":\"99.99\",\"as_of\":1795208400",
         "position US0000000001 (note) matured on 2026-11-19, on or before the trade date "
         "2026-11-20 of its price: book its redemption"},
        {"bill maturing on the trade date", "1000\",\"class\":\"bill\",\"maturity\":\"2026-11-20\"",
         "\"price\":\"99.99\",\"as_of\":1795208400", "matured on 2026-11-20"},
        {"TIPS maturing by the settlement date",
         "1000\",\"class\":\"tips\",\"coupon\":\"1\",\"maturity\":\"2026-11-23\"",
         "\"price\":\"100\",\"index_ratio\":\"1.3\",\"as_of\":1795208400",
         "position US0000000001 (tips) matures on 2026-11-23, by its settlement date 2026-11-23"},
        {"a yield that prices below zero", "1000\",\"class\":\"bill\",\"maturity\":\"2036-05-20\"",
         "\"discount_yield\":\"20\",\"as_of\":1795208400", "prices the bill at or below zero"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        at_valuation v;
        custos_error err;
        custos_rc rc = value_json(cases[i].position, cases[i].quote, &v, &err);
        if (rc != CUSTOS_ERR_INVALID)
            fail_msg("%s: rc %s, want INVALID", cases[i].name, custos_rc_name(rc));
        if (strstr(err.message, cases[i].needle) == NULL ||
            strstr(err.message, "account ACCT: ") != err.message)
            fail_msg("%s: '%s' lacks '%s'", cases[i].name, err.message, cases[i].needle);
        assert_null(v.positions);
    }
}

/* long_bond_years 10: more than 10 years to maturity from the settlement date 2026-11-23
 * (priced Friday 2026-11-20, T+1). */
static void test_long_bond_class(void **state)
{
    (void)state;
    static const struct {
        const char *maturity;
        uint32_t bps;
    } cases[] = {{"2036-11-23", 800}, {"2036-11-24", 1200}, {"2054-05-15", 1200}};
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

/* The sample book's pledged account at the close of Friday 2026-11-20, settling Monday
 * 2026-11-23, every figure worked out by hand (accrued interest as in test_treasuries;
 * haircuts floored):
 *   US912797KX44 bill  5,000,000 x 98.765%                     =  4,938,250       -0.5%
 *   US912797LB15 bill 10,000,000 x 97.912%                     =  9,791,200       -0.5%
 *   US91282CLX73 note 15,000,000 x 100.234375% + 13,674.03...  = 15,048,830.28... -2%
 *   US91282CMB45 note  8,000,000 x 99.578125% + 71,933.70...   =  8,038,183.70... -2%
 *   US912810UA42 bond  4,000,000 x 96.515625% + 4,088.39...    =  3,864,713.39... -12%
 *     (8 of 181 days at 4.625%; matures 2054: over long_bond_years, the long_bond haircut)
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
    static const char *const values[] = {"4938250", "9791200", "15048830.283149171270718232",
                                         "8038183.701657458563535911",
                                         "3864713.397790055248618784", "12500000"};
    for (size_t i = 0; i < 6; i++)
        assert_usd(&v.positions[i].value, values[i]);
    assert_string_equal(v.positions[2].asset_id, "US91282CLX73");
    assert_int_equal(v.positions[4].haircut_bps, 1200);
    /* 4,913,558.75 + 9,742,244 + 14,747,853.677486187845303867 + 7,877,420.027624309392265192
     * + 3,400,947.790055248618784529 + 12,250,000 */
    assert_usd(&v.gross, "54181177.382596685082872927");
    assert_usd(&v.collateral, "52932024.245165745856353588");
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

/* An account holding nothing (everything sold, docs/custodian.md §15) is worth 0 as of the
 * valuation's time, with the all-zero positions root, whatever the prices say. */
static void test_empty_account(void **state)
{
    (void)state;
    world w;
    world_init(&w, "1", "mmf", "1", NOW - 60, 0);
    w.account.holdings = NULL;
    w.account.n_holdings = 0;
    w.prices.n = 0; /* no price is needed */
    at_valuation v;
    custos_error err;
    if (at_valuation_compute(&w.account, &w.prices, &w.policy, NOW, &v, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_true(custos_u256_is_zero(&v.gross));
    assert_true(custos_u256_is_zero(&v.collateral));
    assert_int_equal(v.n_positions, 0);
    assert_int_equal(v.as_of, NOW);
    assert_int_equal(v.valid_until, NOW + 259200);
    at_valuation_clear(&v);

    custos_submission s;
    memset(&s, 0, sizeof s);
    at_position_detail *details = NULL;
    if (at_valuation_attestation("acme", &w.account, &w.prices, &w.policy, NOW, &s, &details,
                                 &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    static const uint8_t zero[CUSTOS_HASH_LEN] = {0};
    assert_memory_equal(s.att.positions_root, zero, CUSTOS_HASH_LEN);
    assert_int_equal(s.att.kind, CUSTOS_KIND_VALUATION);
    assert_true(custos_u256_is_zero(&s.att.collateral_value));
    assert_int_equal(s.n_positions, 0);
    free(details);
    custos_submission_clear(&s);
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
        cmocka_unit_test(test_accrual_to_settlement),
        cmocka_unit_test(test_instrument_classes),
        cmocka_unit_test(test_first_coupon_periods),
        cmocka_unit_test(test_instrument_refusals),
        cmocka_unit_test(test_long_bond_class),
        cmocka_unit_test(test_sample_book_totals),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_age_boundary),
        cmocka_unit_test(test_overflow_refused),
        cmocka_unit_test(test_empty_account),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
