#include "valuation.h"

#include <stdlib.h>
#include <string.h>

#include "custos/merkle.h"

#define UNIT 1000000000000000000ull /* 1.0 with 18 decimals */

static void u256(custos_u256 *r, uint64_t v)
{
    custos_u256_from_u64(r, v);
}

/* The maturity date stepped back k six-month periods. A maturity on the last day of its
 * month pays on the last day of every coupon month (2029-08-31 -> 2029-02-28); otherwise
 * the day is kept, shortened to the month's length. */
static custos_rc coupon_date(custos_day maturity, int k, custos_day *out, custos_error *err)
{
    int y, m, d, next_y, next_m, next_d;
    custos_day_to_civil(maturity, &y, &m, &d);
    custos_day_to_civil(maturity + 1, &next_y, &next_m, &next_d);
    bool month_end = next_d == 1;
    int months = y * 12 + (m - 1) - 6 * k;
    int cy = months / 12, cm = months % 12 + 1;
    int cd = month_end ? 31 : d;
    custos_error derr;
    while (cd > 28 && custos_day_from_civil(cy, cm, cd, out, &derr) != CUSTOS_OK)
        cd--;
    return custos_day_from_civil(cy, cm, cd, out, err);
}

/* Interest accrued to the settlement date, actual/actual ICMA with semi-annual coupons,
 * floored to 18 decimals: face x coupon/2 x days(last coupon, settlement) / days(last
 * coupon, next coupon). */
static custos_rc accrued_interest(const at_holding *h, custos_day settle, custos_u256 *out,
                                  custos_error *err)
{
    custos_day last = 0, next = h->maturity;
    int k = 1;
    /* 100-year securities have 200 coupons: a longer walk is a data error. */
    for (; k <= 200; k++) {
        custos_rc rc = coupon_date(h->maturity, k, &last, err);
        if (rc != CUSTOS_OK)
            return rc;
        if (last <= settle)
            break;
        next = last;
    }
    if (k > 200)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: maturity more than 100 years after the settlement date",
                                h->asset);
    custos_u256 num, den, days, period, scale;
    u256(&days, (uint64_t)(settle - last));
    u256(&period, (uint64_t)(next - last));
    u256(&scale, UNIT);
    custos_u256 two_hundred;
    u256(&two_hundred, 200); /* coupon is in percent and paid in two halves */
    if (custos_u256_mul(&num, &h->coupon, &days) != CUSTOS_OK ||
        custos_u256_mul(&den, &scale, &two_hundred) != CUSTOS_OK ||
        custos_u256_mul(&den, &den, &period) != CUSTOS_OK ||
        custos_u256_mul_div(out, &h->quantity, &num, &den) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                "%s: accrued interest does not fit in 256 bits", h->asset);
    return CUSTOS_OK;
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

/* Price per unit of quantity and value of one holding for its settlement date. */
static custos_rc value_instrument(const at_holding *h, const at_price *price,
                                  custos_position *pos, at_position_detail *d, custos_error *err)
{
    custos_u256 unit, hundred;
    u256(&unit, UNIT);
    u256(&hundred, 100);
    custos_day settle = d->settlement;
    bool *matured = &d->matured;
    *matured = h->instrument != AT_MMF && h->maturity <= settle;
    if (h->instrument == AT_MMF) {
        pos->price = price->price; /* NAV per share */
        if (custos_money_mul(&pos->value, &h->quantity, &price->price) != CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                    "value of %s (shares x NAV) does not fit in 256 bits",
                                    h->asset);
        return CUSTOS_OK;
    }
    if (*matured) {
        /* Redeemed at par; no coupon accrues after maturity. */
        pos->price = unit;
        pos->value = h->quantity;
        return CUSTOS_OK;
    }
    /* Treasuries are quoted in percent of par: the leaf carries the price per unit of face
     * (quote / 100), the value adds the accrued interest to the clean value. */
    custos_u256 percent_scale;
    custos_u256 accrued;
    u256(&accrued, 0);
    if (custos_u256_mul(&percent_scale, &unit, &hundred) != CUSTOS_OK ||
        custos_u256_mul_div(&pos->price, &price->price, &unit, &percent_scale) != CUSTOS_OK ||
        custos_u256_mul_div(&pos->value, &h->quantity, &price->price, &percent_scale) !=
            CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                "value of %s (face x price / 100) does not fit in 256 bits",
                                h->asset);
    if (h->instrument == AT_BILL)
        return CUSTOS_OK;
    custos_rc rc = accrued_interest(h, settle, &accrued, err);
    d->accrued = accrued;
    if (rc == CUSTOS_OK && custos_u256_add(&pos->value, &pos->value, &accrued) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                              "value of %s with accrued interest does not fit in 256 bits",
                              h->asset);
    return rc;
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

custos_rc at_valuation_compute(const at_account *account, const at_prices *prices,
                               const at_policy *policy, uint64_t now, at_valuation *out,
                               custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (account->n_holdings == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "account %s: no positions to value",
                                account->ref);
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
