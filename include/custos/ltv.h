/* The collateral manager's loan states (docs/lending.md §2): a pure state machine over the
 * loan-to-value of one pledge.
 *
 * LTV = exposure * 10000 / collateral value, in basis points, computed exactly from the
 * 18-decimal USD amounts and rounded up, so a loan a fraction of a basis point past a
 * threshold counts as past it. A debt against a collateral value of zero has no finite
 * LTV: it is CUSTOS_LTV_UNBOUNDED, past every threshold.
 *
 * States and their thresholds (margin_return < margin_call < liquidation):
 *   healthy        margin_return <= LTV < margin_call, or inside a hysteresis band;
 *   margin return  LTV < margin_return: the borrower may take collateral back;
 *   margin call    LTV >= margin_call: cure by the deadline, or the pledge is liquidated;
 *   liquidation    LTV >= liquidation, or a margin call not cured by its deadline. It is
 *                  final: only the liquidation's completion ends the pledge.
 * A state is entered at its threshold and left only once the LTV is back past it by the
 * hysteresis band, so a value hovering at a threshold does not flap. */
#ifndef CUSTOS_LTV_H
#define CUSTOS_LTV_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/calendar.h"
#include "custos/error.h"
#include "custos/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values of the CollateralNotice's uint8 state (docs/attestation.md §17). */
typedef enum custos_loan_state {
    CUSTOS_LOAN_HEALTHY = 0,
    CUSTOS_LOAN_MARGIN_RETURN = 1,
    CUSTOS_LOAN_MARGIN_CALL = 2,
    CUSTOS_LOAN_LIQUIDATION = 3
} custos_loan_state;
#define CUSTOS_LOAN_STATE_MAX CUSTOS_LOAN_LIQUIDATION

/* The LTV of a debt against no collateral value. */
#define CUSTOS_LTV_UNBOUNDED UINT32_MAX
/* Thresholds are at most 100%: beyond it the lender is already under water. */
#define CUSTOS_LTV_MAX_THRESHOLD 10000u
/* Cure periods: at most 30 days of seconds, or 200 business hours. */
#define CUSTOS_CURE_MAX_SECONDS (30u * 86400u)
#define CUSTOS_CURE_MAX_BUSINESS_HOURS 200u
/* Business hours are the bond market's trading hours in New York: 08:00 to 17:00 of each
 * business day, or to the early close of a day that closes early. */
#define CUSTOS_BUSINESS_OPEN_MINUTE (8u * 60u)
#define CUSTOS_BUSINESS_CLOSE_MINUTE (17u * 60u)

typedef enum custos_cure_unit {
    CUSTOS_CURE_SECONDS = 0,
    CUSTOS_CURE_BUSINESS_HOURS = 1
} custos_cure_unit;

/* One feed's policy; every threshold in basis points of LTV. */
typedef struct custos_ltv_policy {
    uint32_t margin_return_bps;
    uint32_t margin_call_bps;
    uint32_t liquidation_bps;
    uint32_t hysteresis_bps;
    custos_cure_unit cure_unit;
    uint32_t cure_period; /* seconds or business hours, per cure_unit; at least 1 */
} custos_ltv_policy;

/* Where a pledge stands. deadline: for a margin call, the unix time its cure period lapses;
 * 0 in every other state. */
typedef struct custos_loan_status {
    custos_loan_state state;
    uint64_t deadline;
} custos_loan_status;

/* Why a step moved (or kept) the state. */
typedef enum custos_ltv_cause {
    CUSTOS_LTV_UNCHANGED = 0,
    CUSTOS_LTV_ABOVE_LIQUIDATION, /* LTV reached the liquidation threshold */
    CUSTOS_LTV_CURE_LAPSED,       /* a margin call's deadline passed uncured */
    CUSTOS_LTV_ABOVE_MARGIN_CALL, /* LTV reached the margin-call threshold */
    CUSTOS_LTV_CURED,             /* a margin call's LTV fell back below the band */
    CUSTOS_LTV_BELOW_MARGIN_RETURN, /* LTV fell below the margin-return threshold */
    CUSTOS_LTV_BACK_TO_HEALTHY    /* a margin return's LTV rose back past the band */
} custos_ltv_cause;

/* "healthy", "margin_return", "margin_call", "liquidation"; "unknown" otherwise. */
const char *custos_loan_state_name(custos_loan_state s);
/* "unchanged", "above_liquidation", "cure_lapsed", ... */
const char *custos_ltv_cause_name(custos_ltv_cause c);

/* Refuses a policy whose thresholds are not 0 < margin_return < margin_call < liquidation
 * <= 10000, whose hysteresis leaves no healthy band (margin_return + hysteresis must stay
 * below margin_call - hysteresis), or whose cure period is 0 or above its maximum. */
CUSTOS_MUST_USE
custos_rc custos_ltv_policy_check(const custos_ltv_policy *p, custos_error *err);

/* ceil(exposure * 10000 / collateral), saturated at CUSTOS_LTV_UNBOUNDED - 1 for a finite
 * LTV; CUSTOS_LTV_UNBOUNDED when collateral is 0 and exposure is not; 0 without exposure. */
CUSTOS_MUST_USE
custos_rc custos_ltv_bps(const custos_u256 *exposure, const custos_u256 *collateral,
                         uint32_t *out, custos_error *err);

/* The unix time a margin call made at now lapses. In business hours the clock runs only
 * during business hours (CUSTOS_BUSINESS_*_MINUTE) of cal's business days; cal may be NULL
 * for a policy in seconds. Refused past the calendar's covered years. */
CUSTOS_MUST_USE
custos_rc custos_ltv_cure_deadline(const custos_ltv_policy *p, const custos_calendar *cal,
                                   uint64_t now, uint64_t *deadline, custos_error *err);

/* One observation: the state after seeing ltv_bps at time now. A margin call keeps its
 * deadline; a new margin call gets one from custos_ltv_cure_deadline. A call is cured by
 * an LTV below margin_call - hysteresis (the chain's debt as it is now: a repayment is a
 * cure whenever it is seen); a call still uncured at or after its deadline is liquidated.
 * Liquidation is final. */
CUSTOS_MUST_USE
custos_rc custos_ltv_step(const custos_ltv_policy *p, const custos_calendar *cal,
                          const custos_loan_status *cur, uint32_t ltv_bps, uint64_t now,
                          custos_loan_status *next, custos_ltv_cause *cause,
                          custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
