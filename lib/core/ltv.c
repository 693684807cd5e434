/* The collateral manager's loan states (custos/ltv.h, docs/lending.md §2). Pure: no clock,
 * no I/O; the time and the LTV come in, the next state comes out. */
#include "custos/ltv.h"

#include <stddef.h>

#define LTV_BPS_SCALE 10000u
#define SECONDS_PER_MINUTE 60u
#define SECONDS_PER_HOUR 3600u

const char *custos_loan_state_name(custos_loan_state s)
{
    switch (s) {
    case CUSTOS_LOAN_HEALTHY: return "healthy";
    case CUSTOS_LOAN_MARGIN_RETURN: return "margin_return";
    case CUSTOS_LOAN_MARGIN_CALL: return "margin_call";
    case CUSTOS_LOAN_LIQUIDATION: return "liquidation";
    }
    return "unknown";
}

const char *custos_ltv_cause_name(custos_ltv_cause c)
{
    switch (c) {
    case CUSTOS_LTV_UNCHANGED: return "unchanged";
    case CUSTOS_LTV_ABOVE_LIQUIDATION: return "above_liquidation";
    case CUSTOS_LTV_CURE_LAPSED: return "cure_lapsed";
    case CUSTOS_LTV_ABOVE_MARGIN_CALL: return "above_margin_call";
    case CUSTOS_LTV_CURED: return "cured";
    case CUSTOS_LTV_BELOW_MARGIN_RETURN: return "below_margin_return";
    case CUSTOS_LTV_BACK_TO_HEALTHY: return "back_to_healthy";
    }
    return "unknown";
}

custos_rc custos_ltv_policy_check(const custos_ltv_policy *p, custos_error *err)
{
    if (p->margin_return_bps == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "margin_return_ltv must be above 0");
    if (p->margin_call_bps <= p->margin_return_bps)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "margin_call_ltv (%u) must be above margin_return_ltv (%u)",
                                p->margin_call_bps, p->margin_return_bps);
    if (p->liquidation_bps <= p->margin_call_bps)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "liquidation_ltv (%u) must be above margin_call_ltv (%u)",
                                p->liquidation_bps, p->margin_call_bps);
    if (p->liquidation_bps > CUSTOS_LTV_MAX_THRESHOLD)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "liquidation_ltv (%u) is above 10000 basis points (100%%)",
                                p->liquidation_bps);
    /* Both bands must leave healthy LTVs between them, or a cured call would skip healthy. */
    uint64_t low = (uint64_t)p->margin_return_bps + p->hysteresis_bps;
    if (p->hysteresis_bps >= p->margin_call_bps || low >= p->margin_call_bps - p->hysteresis_bps)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "hysteresis (%u) leaves no healthy LTV between "
                                "margin_return_ltv (%u) and margin_call_ltv (%u)",
                                p->hysteresis_bps, p->margin_return_bps, p->margin_call_bps);
    if (p->cure_unit != CUSTOS_CURE_SECONDS && p->cure_unit != CUSTOS_CURE_BUSINESS_HOURS)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "unknown cure period unit %d",
                                (int)p->cure_unit);
    uint32_t max = p->cure_unit == CUSTOS_CURE_SECONDS ? CUSTOS_CURE_MAX_SECONDS
                                                       : CUSTOS_CURE_MAX_BUSINESS_HOURS;
    if (p->cure_period == 0 || p->cure_period > max)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "cure_period %u is outside 1..%u %s", p->cure_period, max,
                                p->cure_unit == CUSTOS_CURE_SECONDS ? "seconds"
                                                                    : "business hours");
    return CUSTOS_OK;
}

custos_rc custos_ltv_bps(const custos_u256 *exposure, const custos_u256 *collateral,
                         uint32_t *out, custos_error *err)
{
    if (custos_u256_is_zero(exposure)) {
        *out = 0;
        return CUSTOS_OK;
    }
    if (custos_u256_is_zero(collateral)) {
        *out = CUSTOS_LTV_UNBOUNDED;
        return CUSTOS_OK;
    }
    custos_u256 scale, scaled, q, back;
    custos_u256_from_u64(&scale, LTV_BPS_SCALE);
    /* An exposure this large (above 10^55 USD) is no debt any market holds. */
    if (custos_u256_mul(&scaled, exposure, &scale) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                "exposure is too large to compute an LTV");
    custos_rc rc = custos_u256_mul_div(&q, exposure, &scale, collateral);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "LTV does not fit 256 bits");
    custos_u256 cap;
    custos_u256_from_u64(&cap, CUSTOS_LTV_UNBOUNDED - 1u);
    if (custos_u256_cmp(&q, &cap) >= 0) {
        *out = CUSTOS_LTV_UNBOUNDED - 1u;
        return CUSTOS_OK;
    }
    /* q * collateral <= exposure * 10000, which fit: the product fits too. */
    if (custos_u256_mul(&back, &q, collateral) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "LTV remainder overflowed");
    uint32_t bps = (uint32_t)q.limb[0];
    if (custos_u256_cmp(&back, &scaled) != 0)
        bps++; /* rounded up: a fraction of a basis point past a threshold is past it */
    *out = bps;
    return CUSTOS_OK;
}

/* The unix times of the business hours of day d, or *open == *close when d has none. */
static custos_rc ltv_business_window(const custos_calendar *cal, custos_day d, uint64_t *open,
                                     uint64_t *close, custos_error *err)
{
    custos_session s;
    custos_rc rc = custos_calendar_session(cal, d, &s, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint64_t prev_end;
    rc = custos_ny_end_of_day(d - 1, &prev_end, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* Clocks change at 02:00 on Sundays, never on a business day: a business day's hours
     * are all in one offset, the one in force at its midnight. */
    uint64_t midnight = prev_end + 1u;
    *open = *close = midnight;
    if (!s.business_day)
        return CUSTOS_OK;
    uint32_t close_minute = CUSTOS_BUSINESS_CLOSE_MINUTE;
    if (s.kind == CUSTOS_SESSION_EARLY_CLOSE && s.close_minute < close_minute)
        close_minute = s.close_minute;
    if (close_minute <= CUSTOS_BUSINESS_OPEN_MINUTE)
        return CUSTOS_OK;
    *open = midnight + (uint64_t)CUSTOS_BUSINESS_OPEN_MINUTE * SECONDS_PER_MINUTE;
    *close = midnight + (uint64_t)close_minute * SECONDS_PER_MINUTE;
    return CUSTOS_OK;
}

custos_rc custos_ltv_cure_deadline(const custos_ltv_policy *p, const custos_calendar *cal,
                                   uint64_t now, uint64_t *deadline, custos_error *err)
{
    if (p->cure_unit == CUSTOS_CURE_SECONDS) {
        if (now > UINT64_MAX - p->cure_period)
            return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "cure deadline overflows");
        *deadline = now + p->cure_period;
        return CUSTOS_OK;
    }
    if (cal == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "a cure period in business hours needs a calendar");
    custos_day d;
    custos_rc rc = custos_ny_day(now, &d, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint64_t left = (uint64_t)p->cure_period * SECONDS_PER_HOUR;
    /* Each day's window consumes part of what is left; the calendar refuses days past its
     * covered years, which bounds the loop. */
    for (;; d++) {
        uint64_t open, close;
        rc = ltv_business_window(cal, d, &open, &close, err);
        if (rc != CUSTOS_OK)
            return rc;
        if (close <= now || open == close)
            continue;
        uint64_t from = open > now ? open : now;
        uint64_t avail = close - from;
        if (avail >= left) {
            *deadline = from + left;
            return CUSTOS_OK;
        }
        left -= avail;
    }
}

custos_rc custos_ltv_step(const custos_ltv_policy *p, const custos_calendar *cal,
                          const custos_loan_status *cur, uint32_t ltv_bps, uint64_t now,
                          custos_loan_status *next, custos_ltv_cause *cause,
                          custos_error *err)
{
    custos_rc rc = custos_ltv_policy_check(p, err);
    if (rc != CUSTOS_OK)
        return rc;
    if ((unsigned)cur->state > CUSTOS_LOAN_STATE_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "unknown loan state %d",
                                (int)cur->state);
    custos_loan_status out = *cur;
    custos_ltv_cause why = CUSTOS_LTV_UNCHANGED;
    const uint32_t h = p->hysteresis_bps;

    switch (cur->state) {
    case CUSTOS_LOAN_LIQUIDATION:
        break; /* final: a recovering value does not undo a liquidation under way */
    case CUSTOS_LOAN_MARGIN_CALL:
        if (ltv_bps >= p->liquidation_bps) {
            why = CUSTOS_LTV_ABOVE_LIQUIDATION;
            out.state = CUSTOS_LOAN_LIQUIDATION;
        } else if (ltv_bps < p->margin_call_bps - h) {
            why = CUSTOS_LTV_CURED;
            out.state = ltv_bps < p->margin_return_bps ? CUSTOS_LOAN_MARGIN_RETURN
                                                       : CUSTOS_LOAN_HEALTHY;
        } else if (now >= cur->deadline) {
            why = CUSTOS_LTV_CURE_LAPSED;
            out.state = CUSTOS_LOAN_LIQUIDATION;
        }
        break;
    case CUSTOS_LOAN_HEALTHY:
    case CUSTOS_LOAN_MARGIN_RETURN:
        if (ltv_bps >= p->liquidation_bps) {
            why = CUSTOS_LTV_ABOVE_LIQUIDATION;
            out.state = CUSTOS_LOAN_LIQUIDATION;
        } else if (ltv_bps >= p->margin_call_bps) {
            why = CUSTOS_LTV_ABOVE_MARGIN_CALL;
            out.state = CUSTOS_LOAN_MARGIN_CALL;
        } else if (cur->state == CUSTOS_LOAN_HEALTHY && ltv_bps < p->margin_return_bps) {
            why = CUSTOS_LTV_BELOW_MARGIN_RETURN;
            out.state = CUSTOS_LOAN_MARGIN_RETURN;
        } else if (cur->state == CUSTOS_LOAN_MARGIN_RETURN &&
                   (uint64_t)ltv_bps >= (uint64_t)p->margin_return_bps + h) {
            why = CUSTOS_LTV_BACK_TO_HEALTHY;
            out.state = CUSTOS_LOAN_HEALTHY;
        }
        break;
    }
    if (out.state == CUSTOS_LOAN_MARGIN_CALL && cur->state != CUSTOS_LOAN_MARGIN_CALL) {
        rc = custos_ltv_cure_deadline(p, cal, now, &out.deadline, err);
        if (rc != CUSTOS_OK)
            return rc;
    } else if (out.state != CUSTOS_LOAN_MARGIN_CALL) {
        out.deadline = 0;
    }
    *next = out;
    *cause = why;
    return CUSTOS_OK;
}
