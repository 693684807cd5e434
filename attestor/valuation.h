/* Values one custody account. A price is observed on its New York date, the trade date;
 * Treasuries settle T+1 on the bond-market calendar (custos_calendar_settlement_date), and
 * are valued as bought for that settlement date (exact integers, each step floored to 18
 * decimals; accrual.h for the interest):
 *   bill  face x price / 100, the price quoted in percent of par, or from a bank-discount
 *         yield d: price = 100 - d x days(settlement, maturity) / 360
 *   note, bond  face x clean price / 100 + interest accrued to the settlement date
 *         (actual/actual ICMA, semi-annual)
 *   tips  face x index ratio x clean price / 100 + interest accrued on the inflation-adjusted
 *         principal (face x index ratio)
 *   frn   face x clean price / 100 + interest accrued at the price file's accrual_rate
 *         (actual/360, quarterly)
 *   mmf   shares x NAV
 * custos_position's price is the price per unit of face (for TIPS with the index ratio), so
 * value - quantity x price is the accrued interest.
 * A Treasury maturing after its trade date but by its settlement date is worth its
 * redemption, par plus the final coupon (bills, notes, bonds; a TIPS or FRN is refused); one
 * matured on or before its trade date is refused: the ledger should hold its redemption.
 * Anything else the valuer cannot value correctly is refused naming the account and the
 * position: an unknown class, a quote of the wrong kind for the class, a first coupon
 * period without its dated date. Haircuts per asset class from the policy ("long_bond" for
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
    bool dated;              /* a Treasury: the fields below apply */
    custos_day trade_date;   /* the price's New York date */
    custos_day settlement;   /* T+1 on the bond-market calendar */
    custos_u256 principal;   /* face, or for TIPS face x index ratio (18 decimals) */
    custos_u256 accrued;     /* interest accrued to the settlement date, or the final coupon */
    bool redeemed;           /* matures by the settlement date: par plus the final coupon */
} at_position_detail;

typedef struct at_valuation {
    custos_position *positions; /* one per holding, in the holdings' order */
    at_position_detail *details; /* one per position */
    size_t n_positions;
    custos_u256 gross;      /* sum of values before haircuts */
    custos_u256 collateral; /* sum of values after haircuts */
    uint64_t as_of;         /* oldest price observation used; `now` when none is */
    uint64_t valid_until;   /* from as_of by the policy (at_policy_valid_until) */
} at_valuation;

/* Refuses (CUSTOS_ERR_INVALID, nothing valued) an instrument without a price, a price older
 * than the policy allows at `now` or dated after it, an asset class without a haircut, a
 * valuation that would already be expired at `now`; CUSTOS_ERR_OVERFLOW when a value or
 * a total does not fit in 256 bits. An account holding nothing is valued at 0 as of `now`
 * (no positions, the all-zero positions root). */
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
