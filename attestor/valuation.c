#include "valuation.h"

#include <stdlib.h>
#include <string.h>

static custos_rc value_position(const at_account *account, const at_holding *h,
                                const at_prices *prices, const at_policy *policy, uint64_t now,
                                custos_position *pos, uint64_t *as_of, custos_error *err)
{
    const at_price *price = at_prices_find(prices, h->asset);
    if (price == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "account %s: no price for instrument %s: nothing signed",
                                account->ref, h->asset);
    custos_error aerr;
    if (at_policy_check_price_age(policy, h->asset, price->as_of, now, &aerr) != CUSTOS_OK)
        return custos_error_set(err, aerr.code, "account %s: %s", account->ref, aerr.message);
    uint32_t bps;
    if (!at_policy_haircut(policy, h->asset_class, &bps))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "account %s: instrument %s has asset class '%s', which has no "
                                "haircut in the policy's haircuts_bps: nothing signed",
                                account->ref, h->asset, h->asset_class);
    memset(pos, 0, sizeof *pos);
    strcpy(pos->asset_id, h->asset);
    pos->quantity = h->quantity;
    pos->price = price->price;
    pos->haircut_bps = bps;
    if (custos_money_mul(&pos->value, &h->quantity, &price->price) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                "account %s: value of %s (quantity x price) does not fit in "
                                "256 bits",
                                account->ref, h->asset);
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
    if (ps == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "account %s: out of memory", account->ref);
    custos_u256 gross, collateral;
    custos_u256_from_u64(&gross, 0);
    custos_u256_from_u64(&collateral, 0);
    uint64_t oldest = UINT64_MAX;
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < account->n_holdings && rc == CUSTOS_OK; i++) {
        uint64_t as_of = 0;
        custos_u256 haircut_value;
        rc = value_position(account, &account->holdings[i], prices, policy, now, &ps[i], &as_of,
                            err);
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
        return rc;
    }
    out->positions = ps;
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
    memset(v, 0, sizeof *v);
}
