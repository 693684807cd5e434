/* Values one custody account. A price is observed on its New York date, the trade date;
 * Treasuries settle T+1 on the bond-market calendar (custos_calendar_settlement_date), and
 * are valued as bought for that settlement date:
 *   bill       face x price / 100 (price quoted per 100 of face, e.g. "98.765")
 *   note, bond face x clean price / 100 (e.g. "99.53125") + interest accrued to the
 *              settlement date, actual/actual ICMA, semi-annual coupons on the maturity's
 *              day of month (custos_position's price is the clean price per unit of face:
 *              value - quantity x price is the accrued interest)
 *   mmf        shares x NAV
 * A Treasury at or past maturity on the settlement date is valued at par and flagged. Each
 * step floors to 18 decimals. Haircuts per asset class from the policy ("long_bond" for
 * notes and bonds beyond its long_bond_years), totals, and the observation time of the
 * oldest price. */
#ifndef AT_VALUATION_H
#define AT_VALUATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"

/* How one position was valued, for the report. */
typedef struct at_position_detail {
    bool dated;              /* a Treasury: the dates and accrued interest below apply */
    custos_day trade_date;   /* the price's New York date */
    custos_day settlement;   /* T+1 on the bond-market calendar */
    custos_u256 accrued;     /* interest accrued to the settlement date (18 decimals) */
    bool matured;            /* at or past maturity on the settlement date: valued at par */
} at_position_detail;

typedef struct at_valuation {
    custos_position *positions; /* one per holding, in the holdings' order */
    at_position_detail *details; /* one per position */
    size_t n_positions;
    custos_u256 gross;      /* sum of values before haircuts */
    custos_u256 collateral; /* sum of values after haircuts */
    uint64_t as_of;         /* oldest price observation used */
    uint64_t valid_until;   /* from as_of by the policy (at_policy_valid_until) */
} at_valuation;

/* Refuses (CUSTOS_ERR_INVALID, nothing valued) an instrument without a price, a price older
 * than the policy allows at `now` or dated after it, an asset class without a haircut, a
 * valuation that would already be expired at `now`; CUSTOS_ERR_OVERFLOW when a value or
 * a total does not fit in 256 bits. */
custos_rc at_valuation_compute(const at_account *account, const at_prices *prices,
                               const at_policy *policy, uint64_t now, at_valuation *out,
                               custos_error *err);
void at_valuation_clear(at_valuation *v);

/* Values the account and fills s->att (all but the sequence: the account id from custodian
 * and ref, the beneficiary the holdings name, kind 0, the values, the positions root, asOf,
 * validUntil) and s->positions (owned by s); *details (malloc'd, one per position) says how
 * each was valued. */
custos_rc at_valuation_attestation(const char *custodian, const at_account *account,
                                   const at_prices *prices, const at_policy *policy,
                                   uint64_t now, custos_submission *s,
                                   at_position_detail **details, custos_error *err);

#endif
