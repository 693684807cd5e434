#include "valuation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accrual.h"
#include "custos/merkle.h"

#define UNIT 1000000000000000000ull /* 1.0 with 18 decimals */

static void u256(custos_u256 *r, uint64_t v)
{
    custos_u256_from_u64(r, v);
}

static custos_rc too_large(custos_error *err, const char *asset, const char *what)
{
    return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "value of %s (%s) does not fit in 256 bits",
                            asset, what);
}

/* amount x percent / 100, floored: a principal at a price in percent of par, or, with an
 * amount of 1.0, the price per unit of face a leaf carries. */
static custos_rc percent_of(const custos_u256 *amount, const custos_u256 *percent,
                            custos_u256 *out)
{
    custos_u256 hundred_units;
    u256(&hundred_units, 100);
    custos_u256 unit;
    u256(&unit, UNIT);
    if (custos_u256_mul(&hundred_units, &hundred_units, &unit) != CUSTOS_OK)
        return CUSTOS_ERR_OVERFLOW;
    return custos_u256_mul_div(out, amount, percent, &hundred_units);
}

/* A note or bond with more than long_bond_years to maturity takes the "long_bond" haircut. */
static const char *haircut_class(const at_holding *h, const at_policy *policy, custos_day settle)
{
    if (policy->long_bond_years == 0 || (h->instrument != AT_NOTE && h->instrument != AT_BOND))
        return h->asset_class;
    int y, m, d;
    custos_day_to_civil(settle, &y, &m, &d);
    custos_day horizon;
    custos_error derr;
    y += (int)policy->long_bond_years;
    if (custos_day_from_civil(y, m, d, &horizon, &derr) != CUSTOS_OK &&
        custos_day_from_civil(y, m, d - 1, &horizon, &derr) != CUSTOS_OK) /* 29 February */
        return "long_bond";                                              /* past 9999 */
    return h->maturity > horizon ? "long_bond" : h->asset_class;
}

/* The quote's fields must be the ones the class is valued from. */
static custos_rc check_quote(const at_holding *h, const at_price *p, custos_error *err)
{
    if (h->instrument == AT_UNKNOWN)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "position %s has class '%s', which custos-attestor cannot value "
                                "(it values bill, note, bond, tips, frn and mmf): nothing signed",
                                h->asset, h->asset_class);
    if (p->kind == AT_QUOTE_DISCOUNT_YIELD && h->instrument != AT_BILL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "position %s is a %s, and its price is quoted as a "
                                "discount_yield, which only bills are: nothing signed",
                                h->asset, h->asset_class);
    if ((h->instrument == AT_TIPS) != p->has_index_ratio)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                h->instrument == AT_TIPS
                                    ? "position %s is a %s and its price has no index_ratio: a "
                                      "TIPS is not valued without its inflation adjustment: "
                                      "nothing signed"
                                    : "position %s is a %s and its price gives an index_ratio, "
                                      "which only TIPS have: nothing signed",
                                h->asset, h->asset_class);
    if ((h->instrument == AT_FRN) != p->has_accrual_rate)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                h->instrument == AT_FRN
                                    ? "position %s is a %s and its price has no accrual_rate: "
                                      "its accrued interest is unknown: nothing signed"
                                    : "position %s is a %s and its price gives an accrual_rate, "
                                      "which only floating-rate notes have: nothing signed",
                                h->asset, h->asset_class);
    return CUSTOS_OK;
}

static void coupon_terms(const at_holding *h, const at_price *p, at_coupon_terms *t)
{
    memset(t, 0, sizeof *t);
    t->asset = h->asset;
    t->maturity = h->maturity;
    t->months = h->instrument == AT_FRN ? 3 : 6;
    t->actual_360 = h->instrument == AT_FRN;
    t->rate = h->instrument == AT_FRN ? p->accrual_rate : h->coupon;
    t->has_dated_date = h->has_dated_date;
    t->dated_date = h->dated_date;
    t->has_first_coupon = h->has_first_coupon;
    t->first_coupon = h->first_coupon;
}

/* A bill's price in percent of par for its settlement date from a bank-discount yield d:
 * 100 - d x days to maturity / 360, the discount rounded up so that the price is floored. */
static custos_rc bill_price(const at_holding *h, const at_price *p, custos_day settle,
                            custos_u256 *percent, custos_error *err)
{
    custos_u256 days, three_sixty, discount, back, product, hundred, unit;
    u256(&days, (uint64_t)(h->maturity - settle));
    u256(&three_sixty, 360);
    u256(&hundred, 100);
    u256(&unit, UNIT);
    if (custos_u256_mul(&product, &p->price, &days) != CUSTOS_OK ||
        custos_u256_mul_div(&discount, &p->price, &days, &three_sixty) != CUSTOS_OK ||
        custos_u256_mul(&back, &discount, &three_sixty) != CUSTOS_OK ||
        custos_u256_mul(&hundred, &hundred, &unit) != CUSTOS_OK)
        return too_large(err, h->asset, "discount yield x days / 360");
    if (custos_u256_cmp(&back, &product) < 0) {
        custos_u256 one;
        u256(&one, 1);
        if (custos_u256_add(&discount, &discount, &one) != CUSTOS_OK)
            return too_large(err, h->asset, "discount");
    }
    if (custos_u256_sub(percent, &hundred, &discount) != CUSTOS_OK ||
        custos_u256_is_zero(percent)) {
        char yield[CUSTOS_U256_DEC_MAX];
        if (custos_fixed_format(&p->price, CUSTOS_MONEY_DECIMALS, yield, sizeof yield) !=
            CUSTOS_OK)
            snprintf(yield, sizeof yield, "?");
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "position %s: a discount yield of %.40s%% over %d days prices "
                                "the bill at or below zero: nothing signed",
                                h->asset, yield, (int)(h->maturity - settle));
    }
    return CUSTOS_OK;
}

/* The leaf's price per unit of face and the value of a Treasury that has not matured by
 * its settlement date: its clean value plus the interest accrued to that date. */
static custos_rc value_live(const at_holding *h, const at_price *price, custos_position *pos,
                            at_position_detail *d, custos_error *err)
{
    custos_u256 unit, percent = price->price, principal = h->quantity;
    u256(&unit, UNIT);
    if (h->instrument == AT_BILL && price->kind == AT_QUOTE_DISCOUNT_YIELD) {
        custos_rc rc = bill_price(h, price, d->settlement, &percent, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    /* TIPS: the principal and the price per unit of face carry the index ratio. */
    custos_u256 leaf_percent = percent;
    if (h->instrument == AT_TIPS &&
        (custos_u256_mul_div(&principal, &h->quantity, &price->index_ratio, &unit) !=
             CUSTOS_OK ||
         custos_u256_mul_div(&leaf_percent, &percent, &price->index_ratio, &unit) != CUSTOS_OK))
        return too_large(err, h->asset, "face x index ratio");
    d->principal = principal;
    if (percent_of(&unit, &leaf_percent, &pos->price) != CUSTOS_OK ||
        percent_of(&principal, &percent, &pos->value) != CUSTOS_OK)
        return too_large(err, h->asset, "principal x price / 100");
    if (h->instrument == AT_BILL)
        return CUSTOS_OK;
    at_coupon_terms t;
    coupon_terms(h, price, &t);
    custos_rc rc = at_accrued_interest(&t, &principal, d->settlement, &d->accrued, err);
    if (rc == CUSTOS_OK && custos_u256_add(&pos->value, &pos->value, &d->accrued) != CUSTOS_OK)
        rc = too_large(err, h->asset, "with accrued interest");
    return rc;
}

/* A Treasury maturing after its trade date but by its settlement date cannot be delivered
 * before it pays out: it is worth its redemption, par plus the final coupon. */
static custos_rc value_redemption(const at_holding *h, const at_price *price,
                                  custos_position *pos, at_position_detail *d,
                                  custos_error *err)
{
    char mat[CUSTOS_ISO_DATE_LEN], settle[CUSTOS_ISO_DATE_LEN];
    custos_day_format(h->maturity, mat);
    custos_day_format(d->settlement, settle);
    /* A TIPS pays its principal adjusted to maturity and an FRN its rate to maturity,
     * which the settlement date's inputs do not give exactly. */
    if (h->instrument == AT_TIPS || h->instrument == AT_FRN)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "position %s (%s) matures on %s, by its settlement date %s: "
                                "book its redemption in the ledger: nothing signed",
                                h->asset, h->asset_class, mat, settle);
    d->redeemed = true;
    d->principal = h->quantity;
    u256(&pos->price, UNIT);
    pos->value = h->quantity;
    if (h->instrument == AT_BILL)
        return CUSTOS_OK;
    at_coupon_terms t;
    coupon_terms(h, price, &t);
    custos_rc rc = at_final_coupon(&t, &h->quantity, &d->accrued, err);
    if (rc == CUSTOS_OK && custos_u256_add(&pos->value, &pos->value, &d->accrued) != CUSTOS_OK)
        rc = too_large(err, h->asset, "par and final coupon");
    return rc;
}

/* Price per unit of quantity and value of one holding, for its settlement date. */
static custos_rc value_instrument(const at_holding *h, const at_price *price,
                                  custos_position *pos, at_position_detail *d, custos_error *err)
{
    if (h->instrument == AT_MMF) {
        pos->price = price->price; /* NAV per share */
        if (custos_money_mul(&pos->value, &h->quantity, &price->price) != CUSTOS_OK)
            return too_large(err, h->asset, "shares x NAV");
        return CUSTOS_OK;
    }
    if (h->maturity <= d->trade_date) {
        /* Its money was paid out on the maturity date: the ledger is out of date. */
        char mat[CUSTOS_ISO_DATE_LEN], trade[CUSTOS_ISO_DATE_LEN];
        custos_day_format(h->maturity, mat);
        custos_day_format(d->trade_date, trade);
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "position %s (%s) matured on %s, on or before the trade date "
                                "%s of its price: book its redemption (principal and final "
                                "coupon) in the ledger instead: nothing signed",
                                h->asset, h->asset_class, mat, trade);
    }
    if (h->maturity <= d->settlement)
        return value_redemption(h, price, pos, d, err);
    return value_live(h, price, pos, d, err);
}

static custos_rc value_position(const at_account *account, const at_holding *h,
                                const at_prices *prices, const at_policy *policy, uint64_t now,
                                custos_position *pos, at_position_detail *d, uint64_t *as_of,
                                custos_error *err)
{
    const at_price *price = at_prices_find(prices, h->asset);
    if (price == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "account %s: no price for instrument %s: nothing signed",
                                account->ref, h->asset);
    custos_error aerr;
    if (at_policy_check_price_age(policy, h->asset, price->as_of, now, &aerr) != CUSTOS_OK)
        return custos_error_set(err, aerr.code, "account %s: %s", account->ref, aerr.message);
    if (check_quote(h, price, &aerr) != CUSTOS_OK)
        return custos_error_set(err, aerr.code, "account %s: %s", account->ref, aerr.message);
    memset(d, 0, sizeof *d);
    if (custos_ny_day(price->as_of, &d->trade_date, &aerr) != CUSTOS_OK)
        return custos_error_set(err, aerr.code, "account %s: price of %s: %s", account->ref,
                                h->asset, aerr.message);
    /* Fund shares need no settlement date: shares x NAV. */
    d->settlement = d->trade_date;
    if (h->instrument != AT_MMF) {
        d->dated = true;
        if (custos_calendar_settlement_date(&policy->calendar, d->trade_date, &d->settlement,
                                            &aerr) != CUSTOS_OK) {
            char iso[CUSTOS_ISO_DATE_LEN];
            custos_day_format(d->trade_date, iso);
            return custos_error_set(err, aerr.code,
                                    "account %s: instrument %s priced on %s has no T+1 "
                                    "settlement date: %s",
                                    account->ref, h->asset, iso, aerr.message);
        }
    }
    const char *cls = haircut_class(h, policy, d->settlement);
    uint32_t bps;
    if (!at_policy_haircut(policy, cls, &bps))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "account %s: instrument %s has asset class '%s', which has no "
                                "haircut in the policy's haircuts_bps: nothing signed",
                                account->ref, h->asset, cls);
    memset(pos, 0, sizeof *pos);
    strcpy(pos->asset_id, h->asset);
    pos->quantity = h->quantity;
    pos->haircut_bps = bps;
    if (value_instrument(h, price, pos, d, &aerr) != CUSTOS_OK)
        return custos_error_set(err, aerr.code, "account %s: %s", account->ref, aerr.message);
    *as_of = price->as_of;
    return CUSTOS_OK;
}

/* An account holding nothing is worth 0 now: no price ages its asOf, so the valuation is
 * as of `now`, and the custody it reports is what the lender must see (docs/custodian.md
 * §15: a liquidation that sold everything; an account moved out of custody). */
static custos_rc valuation_empty(const at_account *account, const at_policy *policy,
                                 uint64_t now, at_valuation *out, custos_error *err)
{
    custos_error terr;
    uint64_t valid_until = 0;
    custos_rc rc = at_policy_valid_until(policy, now, &valid_until, &terr);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "account %s: %s", account->ref, terr.message);
    custos_u256_from_u64(&out->gross, 0);
    custos_u256_from_u64(&out->collateral, 0);
    out->as_of = now;
    out->valid_until = valid_until;
    return CUSTOS_OK;
}

custos_rc at_valuation_compute(const at_account *account, const at_prices *prices,
                               const at_policy *policy, uint64_t now, at_valuation *out,
                               custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (account->n_holdings == 0)
        return valuation_empty(account, policy, now, out, err);
    custos_position *ps = calloc(account->n_holdings, sizeof *ps);
    at_position_detail *details = calloc(account->n_holdings, sizeof *details);
    if (ps == NULL || details == NULL) {
        free(ps);
        free(details);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "account %s: out of memory", account->ref);
    }
    custos_u256 gross, collateral;
    custos_u256_from_u64(&gross, 0);
    custos_u256_from_u64(&collateral, 0);
    uint64_t oldest = UINT64_MAX;
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < account->n_holdings && rc == CUSTOS_OK; i++) {
        uint64_t as_of = 0;
        custos_u256 haircut_value;
        rc = value_position(account, &account->holdings[i], prices, policy, now, &ps[i],
                            &details[i], &as_of, err);
        if (rc != CUSTOS_OK)
            break;
        if (as_of < oldest)
            oldest = as_of;
        if (custos_money_apply_haircut(&haircut_value, &ps[i].value, ps[i].haircut_bps) !=
                CUSTOS_OK ||
            custos_u256_add(&gross, &gross, &ps[i].value) != CUSTOS_OK ||
            custos_u256_add(&collateral, &collateral, &haircut_value) != CUSTOS_OK)
            rc = custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                  "account %s: total value does not fit in 256 bits at "
                                  "instrument %s",
                                  account->ref, ps[i].asset_id);
    }
    uint64_t valid_until = 0;
    if (rc == CUSTOS_OK) {
        custos_error terr;
        rc = at_policy_valid_until(policy, oldest, &valid_until, &terr);
        if (rc != CUSTOS_OK)
            custos_error_set(err, rc, "account %s: %s", account->ref, terr.message);
    }
    /* A validity window already over would be refused on-chain: do not sign it. */
    if (rc == CUSTOS_OK && valid_until <= now) {
        if (policy->ttl_in_business_days)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "account %s: oldest price (as_of %llu) is valid until %llu "
                                  "with the policy's ttl_business_days %u, already past (now "
                                  "%llu): nothing signed",
                                  account->ref, (unsigned long long)oldest,
                                  (unsigned long long)valid_until, policy->ttl_business_days,
                                  (unsigned long long)now);
        else
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "account %s: oldest price (as_of %llu) plus the policy's "
                                  "ttl_seconds %llu is already past (now %llu): nothing signed",
                                  account->ref, (unsigned long long)oldest,
                                  (unsigned long long)policy->ttl_seconds,
                                  (unsigned long long)now);
    }
    if (rc != CUSTOS_OK) {
        free(ps);
        free(details);
        return rc;
    }
    out->positions = ps;
    out->details = details;
    out->n_positions = account->n_holdings;
    out->gross = gross;
    out->collateral = collateral;
    out->as_of = oldest;
    out->valid_until = valid_until;
    return CUSTOS_OK;
}

void at_valuation_clear(at_valuation *v)
{
    free(v->positions);
    free(v->details);
    memset(v, 0, sizeof *v);
}

custos_rc at_valuation_attestation(const char *custodian, const at_account *account,
                                   const at_prices *prices, const at_policy *policy,
                                   uint64_t now, custos_submission *s,
                                   at_position_detail **details, custos_error *err)
{
    at_valuation val;
    memset(&val, 0, sizeof val);
    custos_rc rc = at_valuation_compute(account, prices, policy, now, &val, err);
    if (rc == CUSTOS_OK)
        rc = custos_positions_root(val.positions, val.n_positions, s->att.positions_root, err);
    if (rc == CUSTOS_OK) {
        custos_account_id(custodian, account->ref, s->att.account);
        memcpy(s->att.beneficiary, account->beneficiary, CUSTOS_ADDRESS_LEN);
        s->att.kind = CUSTOS_KIND_VALUATION;
        s->att.gross_value = val.gross;
        s->att.collateral_value = val.collateral;
        s->att.as_of = val.as_of;
        s->att.valid_until = val.valid_until;
        s->positions = val.positions;
        s->n_positions = val.n_positions;
        *details = val.details;
        val.details = NULL;
        val.positions = NULL;
        val.n_positions = 0;
    }
    at_valuation_clear(&val);
    return rc;
}
