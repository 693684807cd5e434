/* The collateral manager's state machine (custos/ltv.h, docs/lending.md §2): every
 * transition of the issue in one table (healthy -> margin call -> cured -> healthy; a
 * margin call whose cure period lapses; a jump straight to liquidation; margin return and
 * back), the hysteresis bands at their edges, cure deadlines in seconds and in bond-market
 * business hours across a weekend, a holiday and an early close, the exact LTV with its
 * rounding, and the policies that are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "custos/calendar.h"
#include "custos/ltv.h"
#include "custos/u256.h"

#define H CUSTOS_LOAN_HEALTHY
#define MR CUSTOS_LOAN_MARGIN_RETURN
#define MC CUSTOS_LOAN_MARGIN_CALL
#define LQ CUSTOS_LOAN_LIQUIDATION

/* Monday 2026-01-05 10:00 New York (EST) */
#define MON_10 1767625200u
#define DAY 86400u

/* return 50%, call 75%, liquidation 85%, band 2%, one day to cure */
static const custos_ltv_policy secs = {5000, 7500, 8500, 200, CUSTOS_CURE_SECONDS, DAY};
/* the same thresholds, ten business hours to cure */
static const custos_ltv_policy hours = {5000, 7500, 8500, 200, CUSTOS_CURE_BUSINESS_HOURS, 10};

typedef struct step_case {
    const char *name;
    const custos_ltv_policy *policy;
    custos_loan_state from;
    uint64_t deadline;
    uint32_t ltv;
    uint64_t now;
    custos_loan_state to;
    uint64_t to_deadline;
    custos_ltv_cause cause;
} step_case;

static const step_case steps[] = {
    /* healthy -> margin call -> cured -> healthy */
    {"healthy stays healthy", &secs, H, 0, 6000, MON_10, H, 0, CUSTOS_LTV_UNCHANGED},
    {"healthy just below the call", &secs, H, 0, 7499, MON_10, H, 0, CUSTOS_LTV_UNCHANGED},
    {"healthy to margin call at the threshold", &secs, H, 0, 7500, MON_10, MC, MON_10 + DAY,
     CUSTOS_LTV_ABOVE_MARGIN_CALL},
    {"margin call keeps its deadline", &secs, MC, MON_10 + DAY, 8000, MON_10 + 100, MC,
     MON_10 + DAY, CUSTOS_LTV_UNCHANGED},
    {"margin call inside the band is not cured", &secs, MC, MON_10 + DAY, 7300, MON_10 + 100,
     MC, MON_10 + DAY, CUSTOS_LTV_UNCHANGED},
    {"margin call cured below the band", &secs, MC, MON_10 + DAY, 7299, MON_10 + 100, H, 0,
     CUSTOS_LTV_CURED},
    {"margin call cured by full repayment", &secs, MC, MON_10 + DAY, 0, MON_10 + 100, MR, 0,
     CUSTOS_LTV_CURED},
    {"a cure seen after the deadline still cures", &secs, MC, MON_10 + DAY, 6000,
     MON_10 + DAY + 5, H, 0, CUSTOS_LTV_CURED},
    /* margin call -> cure period lapsed -> liquidation */
    {"margin call one second before the deadline", &secs, MC, MON_10 + DAY, 7600,
     MON_10 + DAY - 1, MC, MON_10 + DAY, CUSTOS_LTV_UNCHANGED},
    {"margin call lapses at the deadline", &secs, MC, MON_10 + DAY, 7600, MON_10 + DAY, LQ, 0,
     CUSTOS_LTV_CURE_LAPSED},
    {"margin call in the band lapses", &secs, MC, MON_10 + DAY, 7300, MON_10 + DAY + 1, LQ, 0,
     CUSTOS_LTV_CURE_LAPSED},
    {"margin call past liquidation before the deadline", &secs, MC, MON_10 + DAY, 8500,
     MON_10 + 1, LQ, 0, CUSTOS_LTV_ABOVE_LIQUIDATION},
    /* a jump straight to liquidation */
    {"healthy jumps to liquidation", &secs, H, 0, 9000, MON_10, LQ, 0,
     CUSTOS_LTV_ABOVE_LIQUIDATION},
    {"margin return jumps to liquidation", &secs, MR, 0, 8500, MON_10, LQ, 0,
     CUSTOS_LTV_ABOVE_LIQUIDATION},
    {"no collateral value is liquidation", &secs, H, 0, CUSTOS_LTV_UNBOUNDED, MON_10, LQ, 0,
     CUSTOS_LTV_ABOVE_LIQUIDATION},
    {"liquidation is final when the value recovers", &secs, LQ, 0, 1000, MON_10, LQ, 0,
     CUSTOS_LTV_UNCHANGED},
    {"liquidation is final without debt", &secs, LQ, 0, 0, MON_10, LQ, 0,
     CUSTOS_LTV_UNCHANGED},
    /* margin return below its threshold, and back */
    {"healthy at the return threshold stays", &secs, H, 0, 5000, MON_10, H, 0,
     CUSTOS_LTV_UNCHANGED},
    {"healthy to margin return below it", &secs, H, 0, 4999, MON_10, MR, 0,
     CUSTOS_LTV_BELOW_MARGIN_RETURN},
    {"margin return inside the band stays", &secs, MR, 0, 5199, MON_10, MR, 0,
     CUSTOS_LTV_UNCHANGED},
    {"margin return back to healthy past the band", &secs, MR, 0, 5200, MON_10, H, 0,
     CUSTOS_LTV_BACK_TO_HEALTHY},
    {"margin return to margin call", &secs, MR, 0, 7500, MON_10, MC, MON_10 + DAY,
     CUSTOS_LTV_ABOVE_MARGIN_CALL},
    /* a cure period in business hours: Monday 10:00 + 10 h is Tuesday 11:00 */
    {"margin call with business hours", &hours, H, 0, 8000, MON_10, MC, 1767715200u,
     CUSTOS_LTV_ABOVE_MARGIN_CALL},
    {"business-hours call not lapsed overnight", &hours, MC, 1767715200u, 8000,
     MON_10 + 20 * 3600, MC, 1767715200u, CUSTOS_LTV_UNCHANGED},
    {"business-hours call lapses", &hours, MC, 1767715200u, 8000, 1767715200u, LQ, 0,
     CUSTOS_LTV_CURE_LAPSED},
};

static custos_calendar cal;

static int setup(void **state)
{
    (void)state;
    custos_error err;
    if (custos_calendar_load_builtin(&cal, &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    custos_calendar_free(&cal);
    return 0;
}

static void test_transitions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        const step_case *c = &steps[i];
        custos_loan_status cur = {c->from, c->deadline}, next;
        custos_ltv_cause cause;
        custos_error err;
        if (custos_ltv_step(c->policy, &cal, &cur, c->ltv, c->now, &next, &cause, &err) !=
            CUSTOS_OK) {
            fail_msg("%s: %s", c->name, err.message);
            return;
        }
        if (next.state != c->to || next.deadline != c->to_deadline || cause != c->cause)
            fail_msg("%s: got %s deadline %llu (%s), want %s deadline %llu (%s)", c->name,
                     custos_loan_state_name(next.state), (unsigned long long)next.deadline,
                     custos_ltv_cause_name(cause), custos_loan_state_name(c->to),
                     (unsigned long long)c->to_deadline, custos_ltv_cause_name(c->cause));
    }
}

/* A value hovering at the call threshold moves once, not at every observation. */
static void test_hysteresis_does_not_flap(void **state)
{
    (void)state;
    const uint32_t ltvs[] = {7499, 7500, 7499, 7501, 7400, 7500, 7350, 7299, 7300, 7499};
    const custos_loan_state want[] = {H, MC, MC, MC, MC, MC, MC, H, H, H};
    custos_loan_status cur = {H, 0};
    unsigned changes = 0;
    for (size_t i = 0; i < sizeof ltvs / sizeof ltvs[0]; i++) {
        custos_loan_status next;
        custos_ltv_cause cause;
        custos_error err;
        assert_int_equal(custos_ltv_step(&secs, NULL, &cur, ltvs[i], MON_10 + i, &next, &cause,
                                         &err),
                         CUSTOS_OK);
        assert_int_equal(next.state, want[i]);
        changes += next.state != cur.state;
        cur = next;
    }
    assert_int_equal(changes, 2);
}

typedef struct deadline_case {
    const char *name;
    uint32_t hours;
    uint64_t now, want;
} deadline_case;

static void test_business_hour_deadlines(void **state)
{
    (void)state;
    static const deadline_case cases[] = {
        {"Monday 10:00 + 7 h is Monday's close", 7, MON_10, MON_10 + 7 * 3600},
        {"Monday 10:00 + 10 h is Tuesday 11:00", 10, MON_10, 1767715200u},
        /* Friday 2026-01-09 16:00 EST + 2 h: one on Friday, one on Monday from 08:00 */
        {"over a weekend", 2, 1767992400u, 1768226400u},
        /* Friday 2026-01-16 16:00 EST + 2 h: Monday 01-19 is Martin Luther King Jr. Day */
        {"over a holiday", 2, 1768597200u, 1768917600u},
        /* Thursday 2026-04-02 16:00 EDT + 6 h: 1 h, Good Friday's early close at 12:00
         * gives 4 h, then Monday 08:00-09:00 */
        {"over an early close", 6, 1775160000u, 1775480400u},
        /* Saturday 2026-01-10 12:00 EST + 1 h: Monday 01-12 09:00 */
        {"from a weekend", 1, 1768064400u, 1768226400u},
        /* Monday 2026-01-05 06:00 EST + 1 h: 09:00 the same day */
        {"before the open", 1, MON_10 - 4 * 3600, MON_10 - 3600},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_ltv_policy p = hours;
        p.cure_period = cases[i].hours;
        uint64_t got = 0;
        custos_error err;
        if (custos_ltv_cure_deadline(&p, &cal, cases[i].now, &got, &err) != CUSTOS_OK) {
            fail_msg("%s: %s", cases[i].name, err.message);
            return;
        }
        if (got != cases[i].want)
            fail_msg("%s: deadline %llu, want %llu", cases[i].name, (unsigned long long)got,
                     (unsigned long long)cases[i].want);
    }
    /* Business hours without a calendar, and past the calendar's years, are refused. */
    uint64_t got;
    custos_error err;
    assert_int_equal(custos_ltv_cure_deadline(&hours, NULL, MON_10, &got, &err),
                     CUSTOS_ERR_INVALID);
    uint64_t until;
    assert_int_equal(custos_calendar_covered_until(&cal, &until, &err), CUSTOS_OK);
    assert_int_not_equal(custos_ltv_cure_deadline(&hours, &cal, until - 3600, &got, &err),
                         CUSTOS_OK);
}

static void u256(const char *dec, custos_u256 *out)
{
    custos_error err;
    if (custos_u256_from_dec(out, dec, strlen(dec), &err) != CUSTOS_OK)
        fail_msg("test data %s: %s", dec, err.message);
}

typedef struct ltv_case {
    const char *exposure, *collateral;
    uint32_t want;
} ltv_case;

static void test_ltv_exact(void **state)
{
    (void)state;
    static const ltv_case cases[] = {
        {"0", "0", 0},
        {"0", "1000000000000000000", 0},
        {"1", "0", CUSTOS_LTV_UNBOUNDED},
        /* 60,000 USD against 100,000 USD */
        {"60000000000000000000000", "100000000000000000000000", 6000},
        /* one wei above 75% rounds up to 7501 */
        {"75000000000000000000001", "100000000000000000000000", 7501},
        {"74999999999999999999999", "100000000000000000000000", 7500},
        {"3", "7", 4286},
        {"1000000000000000000000000", "1", CUSTOS_LTV_UNBOUNDED - 1},
        /* the largest exposure with an LTV, against itself and the largest value */
        {"11579208923731619542357098500868790785326998466564056403945758400791312963",
         "11579208923731619542357098500868790785326998466564056403945758400791312963", 10000},
        {"11579208923731619542357098500868790785326998466564056403945758400791312963",
         "115792089237316195423570985008687907853269984665640564039457584007913129639935", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_u256 e, c;
        u256(cases[i].exposure, &e);
        u256(cases[i].collateral, &c);
        uint32_t got = 0;
        custos_error err;
        assert_int_equal(custos_ltv_bps(&e, &c, &got, &err), CUSTOS_OK);
        if (got != cases[i].want)
            fail_msg("LTV of %s / %s: %u, want %u", cases[i].exposure, cases[i].collateral,
                     got, cases[i].want);
    }
    custos_u256 big, one;
    u256("11579208923731619542357098500868790785326998466564056403945758400791312964", &big);
    custos_u256_from_u64(&one, 1);
    uint32_t got;
    custos_error err;
    assert_int_equal(custos_ltv_bps(&big, &one, &got, &err), CUSTOS_ERR_OVERFLOW);
}

static void test_policy_refused(void **state)
{
    (void)state;
    static const custos_ltv_policy bad[] = {
        {0, 7500, 8500, 0, CUSTOS_CURE_SECONDS, 60},
        {7500, 7500, 8500, 0, CUSTOS_CURE_SECONDS, 60},
        {5000, 8500, 8500, 0, CUSTOS_CURE_SECONDS, 60},
        {5000, 7500, 10001, 0, CUSTOS_CURE_SECONDS, 60},
        {5000, 7500, 8500, 1250, CUSTOS_CURE_SECONDS, 60},
        {5000, 7500, 8500, 9000, CUSTOS_CURE_SECONDS, 60},
        {5000, 7500, 8500, 0, CUSTOS_CURE_SECONDS, 0},
        {5000, 7500, 8500, 0, CUSTOS_CURE_SECONDS, CUSTOS_CURE_MAX_SECONDS + 1},
        {5000, 7500, 8500, 0, CUSTOS_CURE_BUSINESS_HOURS, CUSTOS_CURE_MAX_BUSINESS_HOURS + 1},
        {5000, 7500, 8500, 0, (custos_cure_unit)7, 60},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        custos_error err;
        if (custos_ltv_policy_check(&bad[i], &err) != CUSTOS_ERR_INVALID)
            fail_msg("policy %zu accepted", i);
        custos_loan_status cur = {H, 0}, next;
        custos_ltv_cause cause;
        assert_int_equal(custos_ltv_step(&bad[i], &cal, &cur, 6000, MON_10, &next, &cause, &err),
                         CUSTOS_ERR_INVALID);
    }
    custos_error err;
    const custos_ltv_policy edge = {5000, 7500, 10000, 1249, CUSTOS_CURE_BUSINESS_HOURS,
                                    CUSTOS_CURE_MAX_BUSINESS_HOURS};
    assert_int_equal(custos_ltv_policy_check(&edge, &err), CUSTOS_OK);
    custos_loan_status bogus = {(custos_loan_state)9, 0}, next;
    custos_ltv_cause cause;
    assert_int_equal(custos_ltv_step(&secs, NULL, &bogus, 6000, MON_10, &next, &cause, &err),
                     CUSTOS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_hysteresis_does_not_flap),
        cmocka_unit_test(test_business_hour_deadlines),
        cmocka_unit_test(test_ltv_exact),
        cmocka_unit_test(test_policy_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
