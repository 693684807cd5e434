/* Coupon schedules and accrued interest of Treasury coupon securities, exact to 18 decimals
 * (floored).
 *
 * The coupon dates are the maturity stepped back one period at a time (6 months for notes,
 * bonds and TIPS, 3 for floating-rate notes); a maturity on a month's last day pays on the
 * last day of each coupon month (2029-08-31 -> 2029-02-28), otherwise the day is kept,
 * shortened to the month's length.
 *   actual/actual ICMA (fixed coupons): principal x rate/2 x days(period start, date) /
 *     days(period); a long first period counts each quasi-coupon period separately.
 *   actual/360 (FRNs): principal x rate x days(period start, date) / 360.
 * The first period starts at the dated date and ends at the first coupon, which need not
 * lie a whole period after it. When the holdings name a first coupon, or a dated date from
 * which one follows, a date in that first period needs the dated date: without it the
 * period's start is unknown and the interest is refused, never guessed as regular. */
#ifndef AT_ACCRUAL_H
#define AT_ACCRUAL_H

#include <stdbool.h>

#include "custos/calendar.h"
#include "custos/error.h"
#include "custos/u256.h"

typedef struct at_coupon_terms {
    const char *asset;   /* names the security in messages */
    custos_day maturity;
    int months;          /* the coupon period: 6 or 3 */
    bool actual_360;     /* FRNs; otherwise actual/actual ICMA */
    custos_u256 rate;    /* percent a year, 18 decimals */
    bool has_dated_date, has_first_coupon;
    custos_day dated_date, first_coupon;
} at_coupon_terms;

/* Interest accrued from the start of the period holding `date` up to `date` (nothing on a
 * coupon date), on `principal` (18 decimals). Refused (CUSTOS_ERR_INVALID, the message
 * names the security): a date before the dated date or at or after maturity, a first
 * coupon off the schedule or not after the dated date, a first period longer than two
 * regular periods, a date in the first period without a dated date, a maturity more than
 * 100 years after the date. */
custos_rc at_accrued_interest(const at_coupon_terms *t, const custos_u256 *principal,
                              custos_day date, custos_u256 *out, custos_error *err);

/* The coupon paid at maturity, on `principal`: the interest of the period ending then. */
custos_rc at_final_coupon(const at_coupon_terms *t, const custos_u256 *principal,
                          custos_u256 *out, custos_error *err);

#endif
