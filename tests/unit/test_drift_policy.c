/* The longest span a business-day feed accepts, which the adapter's maxAge must cover
 * (gateway/evm/drift_policy.h, docs/rules.md rule 10). Each case is a small calendar and a
 * `now` with the span worked out by hand from New York wall-clock times: an asOf at 00:00
 * on the first day, fresh through 23:59:59 on the last, less an hour across the spring
 * change to EDT, more an hour across the autumn change to EST. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/calendar.h"

#include "evm/drift_policy.h"

#define DAY 86400u
#define HOUR 3600u
/* 2026-12-06 12:00 UTC: asOf dates from 2026-10-03 on count. */
#define DEC_2026 1796558400u
/* 2028-06-01 00:00 UTC: after the calendars' last covered year. */
#define JUN_2028 1843430400u

typedef struct span_case {
    const char *name;
    const char *calendar;
    uint32_t days;
    uint64_t now;
    uint64_t want; /* 0: refused */
} span_case;

static const span_case CASES[] = {
    /* No holidays: Friday 2026-10-30 00:00 EDT through Monday 2026-11-02 23:59:59 EST. */
    {"weekends, across the autumn change", "covers 2026 2027\n", 1, DEC_2026,
     4 * DAY - 1 + HOUR},
    /* Friday 2027-01-15 through Tuesday 2027-01-19 over Martin Luther King Day. */
    {"a Monday holiday", "covers 2026 2027\n2027-01-18  # Martin Luther King Day\n", 1,
     DEC_2026, 5 * DAY - 1},
    /* Friday 2027-03-12 00:00 EST through Wednesday 2027-03-17 23:59:59 EDT. */
    {"two closed days, across the spring change",
     "covers 2026 2027\n2027-03-15  # closed\n2027-03-16  # closed\n", 1, DEC_2026,
     6 * DAY - 1 - HOUR},
    /* An early close is a business day: Friday 2027-03-12 through Monday 2027-03-15 23:59:59
     * EDT (4 days less the spring hour) is shorter than the autumn weekend's. */
    {"an early close counts", "covers 2026 2027\n2027-03-15  early 12:00  # early\n", 1,
     DEC_2026, 4 * DAY - 1 + HOUR},
    /* Two days: Thursday 2026-10-29 00:00 EDT through Monday 2026-11-02 23:59:59 EST. */
    {"two business days", "covers 2026 2027\n", 2, DEC_2026, 5 * DAY - 1 + HOUR},
    /* Dates before now's window do not count: the closure of 2026-03 is long past. */
    {"a past closure is left out",
     "covers 2026 2027\n2026-03-09  # closed\n2026-03-10  # closed\n", 1, DEC_2026,
     4 * DAY - 1 + HOUR},
    {"now after the calendar", "covers 2026 2027\n", 1, JUN_2028, 0},
};

static void test_business_span_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const span_case *c = &CASES[i];
        custos_calendar cal;
        custos_error err;
        if (custos_calendar_parse("case", c->calendar, strlen(c->calendar), &cal, &err) !=
            CUSTOS_OK)
            fail_msg("%s: calendar: %s", c->name, err.message);
        uint64_t got = 0;
        custos_rc rc = gw_drift_business_span(&cal, c->days, c->now, &got, &err);
        custos_calendar_free(&cal);
        if (c->want == 0) {
            if (rc != CUSTOS_ERR_INVALID)
                fail_msg("%s: rc %d, want a refusal", c->name, (int)rc);
            continue;
        }
        if (rc != CUSTOS_OK)
            fail_msg("%s: %s", c->name, err.message);
        if (got != c->want)
            fail_msg("%s: %llu s, want %llu", c->name, (unsigned long long)got,
                     (unsigned long long)c->want);
    }
}

static void test_field_names(void **state)
{
    (void)state;
    assert_string_equal(gw_policy_field_name(GW_POLICY_FEED_ID), "feed_id");
    assert_string_equal(gw_policy_field_name(GW_POLICY_MAX_SEQUENCE_STEP), "max_sequence_step");
    assert_string_equal(gw_policy_field_name(GW_POLICY_FIELDS), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_business_span_table),
        cmocka_unit_test(test_field_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
