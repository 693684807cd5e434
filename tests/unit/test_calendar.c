/* The bond-market calendar: the shipped file and the calendar built into custos-attestor
 * held against SIFMA's published recommendations for 2026 and 2027 (full and early closes),
 * New York dates across the DST switches, business-day arithmetic, T+1 settlement dates,
 * the policy's validUntil and price age in business days, and strict refusal of malformed
 * calendar files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "custos/calendar.h"
#include "policy.h"

#define CALENDAR_FILE CUSTOS_SOURCE_DIR "/deploy/calendar/us-bond-market.txt"

static custos_calendar cal;

static int setup(void **state)
{
    (void)state;
    custos_error err;
    if (custos_calendar_load(CALENDAR_FILE, &cal, &err) != CUSTOS_OK) {
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

static custos_day day(const char *iso)
{
    custos_day d;
    custos_error err;
    if (custos_day_parse(iso, strlen(iso), &d, &err) != CUSTOS_OK)
        fail_msg("fixture %s: %s", iso, err.message);
    return d;
}

static void assert_day(custos_day d, const char *iso)
{
    char got[CUSTOS_ISO_DATE_LEN];
    custos_day_format(d, got);
    assert_string_equal(got, iso);
}

static void test_dates(void **state)
{
    (void)state;
    assert_int_equal(day("1970-01-01"), 0);
    assert_int_equal(day("2000-03-01"), 11017);
    assert_day(11017, "2000-03-01");
    assert_day(day("2028-02-29"), "2028-02-29");
    assert_day(day("9999-12-31"), "9999-12-31");
    assert_int_equal(custos_day_weekday(day("2026-11-20")), 5); /* a Friday */
    assert_int_equal(custos_day_weekday(day("2026-11-22")), 0);
    static const char *const bad[] = {"2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01",
                                      "2026-01-32", "1969-12-31", "2026/01/01", "20260101  "};
    custos_error err;
    custos_day d;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (custos_day_parse(bad[i], strlen(bad[i]), &d, &err) != CUSTOS_ERR_INVALID)
            fail_msg("'%s' was accepted as a date", bad[i]);
}

/* Known SIFMA full-day closes and open days, from the shipped file. */
static void test_known_closes(void **state)
{
    (void)state;
    static const struct {
        const char *iso;
        bool open;
        const char *why;
    } cases[] = {
        {"2025-11-27", false, "Thanksgiving"},
        {"2025-11-28", true, "day after Thanksgiving: an early close, still a business day"},
        {"2027-07-05", false, "Independence Day on a Sunday, observed Monday"},
        {"2026-07-03", false, "Independence Day on a Saturday, observed Friday"},
        {"2027-12-24", false, "Christmas on a Saturday, observed Friday"},
        {"2027-12-31", true, "New Year's Day 2028 on a Saturday: an early close, no full close"},
        {"2027-06-18", false, "Juneteenth on a Saturday, observed Friday"},
        {"2026-04-03", true, "Good Friday on a jobs-report day: a 12:00 early close"},
        {"2027-03-26", false, "Good Friday"},
        {"2024-01-01", false, "New Year's Day"},
        {"2026-01-19", false, "Martin Luther King Jr. Day"},
        {"2026-11-11", false, "Veterans Day"},
        {"2026-10-12", false, "Columbus Day"},
        {"2026-06-19", false, "Juneteenth"},
        {"2026-11-20", true, "an ordinary Friday"},
        {"2026-11-21", false, "a Saturday"},
        {"2026-11-22", false, "a Sunday"},
        {"2027-12-31", true, "the last day covered"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool open = !cases[i].open;
        custos_error err;
        if (custos_calendar_is_business_day(&cal, day(cases[i].iso), &open, &err) != CUSTOS_OK)
            fail_msg("%s: %s", cases[i].iso, err.message);
        if (open != cases[i].open)
            fail_msg("%s (%s): open=%d", cases[i].iso, cases[i].why, open);
    }
    /* Outside the covered years nothing is answered. */
    bool open;
    custos_error err;
    assert_int_equal(custos_calendar_is_business_day(&cal, day("2028-01-03"), &open, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "2028-01-03 is outside the calendar's covered years "
                                        "2024-2027"));
    assert_int_equal(custos_calendar_is_business_day(&cal, day("2023-12-29"), &open, &err),
                     CUSTOS_ERR_INVALID);
}

/* SIFMA's recommendations for the trading of US dollar-denominated fixed income in the
 * United States, 2026 and 2027, as SIFMA published them (its US holiday recommendations,
 * issued 17 December 2025; the 2026 Good Friday early close confirmed on 20 March 2026).
 * Early closes are 14:00 New York time unless stated.
 *
 * Good Friday: a full close, with a 14:00 early close the Thursday before, except when the
 * Bureau of Labor Statistics publishes the monthly employment report that morning (2026:
 * Friday 3 April). Then SIFMA recommends a 12:00 early close on Good Friday instead and no
 * early close the Thursday before; it also recommends the day not be treated as a good
 * settlement day, and a T+2 settlement cycle for government trades entered on it.
 * Every weekday of 2026 and 2027 not listed here is a full trading day. */
typedef struct sifma_day {
    const char *iso;
    const char *why;
    const char *early;  /* NULL: a full-day close; else the early close, "HH:MM" */
    bool no_settlement; /* early closes SIFMA says are not good settlement days */
} sifma_day;

static const sifma_day sifma_2026_2027[] = {
    {"2026-01-01", "New Year's Day", NULL, false},
    {"2026-01-19", "Martin Luther King Jr. Day", NULL, false},
    {"2026-02-16", "Presidents Day", NULL, false},
    {"2026-04-03", "Good Friday, employment report day", "12:00", true},
    {"2026-05-22", "Friday before Memorial Day", "14:00", false},
    {"2026-05-25", "Memorial Day", NULL, false},
    {"2026-06-19", "Juneteenth", NULL, false},
    {"2026-07-02", "day before Independence Day (observed)", "14:00", false},
    {"2026-07-03", "Independence Day (Saturday), observed Friday", NULL, false},
    {"2026-09-07", "Labor Day", NULL, false},
    {"2026-10-12", "Columbus Day", NULL, false},
    {"2026-11-11", "Veterans Day", NULL, false},
    {"2026-11-26", "Thanksgiving Day", NULL, false},
    {"2026-11-27", "day after Thanksgiving", "14:00", false},
    {"2026-12-24", "Christmas Eve", "14:00", false},
    {"2026-12-25", "Christmas Day", NULL, false},
    {"2026-12-31", "New Year's Eve", "14:00", false},
    {"2027-01-01", "New Year's Day", NULL, false},
    {"2027-01-18", "Martin Luther King Jr. Day", NULL, false},
    {"2027-02-15", "Presidents Day", NULL, false},
    {"2027-03-25", "Thursday before Good Friday", "14:00", false},
    {"2027-03-26", "Good Friday", NULL, false},
    {"2027-05-28", "Friday before Memorial Day", "14:00", false},
    {"2027-05-31", "Memorial Day", NULL, false},
    {"2027-06-18", "Juneteenth (Saturday), observed Friday", NULL, false},
    {"2027-07-02", "day before Independence Day (observed)", "14:00", false},
    {"2027-07-05", "Independence Day (Sunday), observed Monday", NULL, false},
    {"2027-09-06", "Labor Day", NULL, false},
    {"2027-10-11", "Columbus Day", NULL, false},
    {"2027-11-11", "Veterans Day", NULL, false},
    {"2027-11-25", "Thanksgiving Day", NULL, false},
    {"2027-11-26", "day after Thanksgiving", "14:00", false},
    {"2027-12-23", "day before Christmas (observed)", "14:00", false},
    {"2027-12-24", "Christmas Day (Saturday), observed Friday", NULL, false},
    {"2027-12-31", "New Year's Eve (New Year's Day 2028 is a Saturday)", "14:00", false},
};

/* Every day of 2026 and 2027 in c against the table above. */
static void assert_sifma_2026_2027(const custos_calendar *c, const char *which)
{
    size_t listed = 0;
    for (custos_day d = day("2026-01-01"); d <= day("2027-12-31"); d++) {
        char iso[CUSTOS_ISO_DATE_LEN];
        custos_day_format(d, iso);
        const sifma_day *want = NULL;
        for (size_t i = 0; i < sizeof sifma_2026_2027 / sizeof sifma_2026_2027[0]; i++)
            if (strcmp(sifma_2026_2027[i].iso, iso) == 0)
                want = &sifma_2026_2027[i];
        custos_session got;
        custos_error err;
        if (custos_calendar_session(c, d, &got, &err) != CUSTOS_OK)
            fail_msg("%s: %s: %s", which, iso, err.message);
        int wd = custos_day_weekday(d);
        if (wd == 0 || wd == 6) {
            if (got.kind != CUSTOS_SESSION_WEEKEND || got.business_day)
                fail_msg("%s: %s is a weekend day", which, iso);
            continue;
        }
        if (want == NULL) {
            if (got.kind != CUSTOS_SESSION_OPEN || !got.business_day || !got.settlement_day)
                fail_msg("%s: %s is a full trading day for SIFMA (kind %d)", which, iso,
                         (int)got.kind);
            continue;
        }
        listed++;
        if (want->early == NULL) {
            if (got.kind != CUSTOS_SESSION_CLOSED || got.business_day || got.settlement_day)
                fail_msg("%s: %s (%s) is a full-day close for SIFMA (kind %d)", which, iso,
                         want->why, (int)got.kind);
            continue;
        }
        char hhmm[8];
        snprintf(hhmm, sizeof hhmm, "%02u:%02u", got.close_minute / 60u,
                 got.close_minute % 60u);
        if (got.kind != CUSTOS_SESSION_EARLY_CLOSE || !got.business_day ||
            strcmp(hhmm, want->early) != 0 || got.settlement_day == want->no_settlement)
            fail_msg("%s: %s (%s): SIFMA recommends an early close at %s%s; the calendar "
                     "says kind %d at %s, settlement day %d",
                     which, iso, want->why, want->early,
                     want->no_settlement ? ", not a settlement day" : "", (int)got.kind, hhmm,
                     got.settlement_day);
    }
    assert_int_equal(listed, sizeof sifma_2026_2027 / sizeof sifma_2026_2027[0]);
}

static void test_sifma_2026_2027(void **state)
{
    (void)state;
    assert_sifma_2026_2027(&cal, "deploy/calendar/us-bond-market.txt");
    /* The copy built into custos-attestor, as a policy without "calendar" loads it. */
    static const char doc[] = "{\"haircuts_bps\":{\"bill\":50},\"ttl_business_days\":1,"
                              "\"max_price_age_business_days\":1}";
    at_policy pol;
    custos_error err;
    if (at_policy_parse("policy.json", doc, strlen(doc), &pol, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_non_null(strstr(pol.calendar.source, "built-in"));
    assert_sifma_2026_2027(&pol.calendar, pol.calendar.source);
    at_policy_free(&pol);
}

/* The copy compiled into libcustos is the shipped file, close for close. */
static void test_builtin_is_the_file(void **state)
{
    (void)state;
    custos_calendar builtin;
    custos_error err;
    if (custos_calendar_load_builtin(&builtin, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_string_equal(builtin.source, CUSTOS_CALENDAR_BUILTIN_NAME);
    assert_int_equal(builtin.first_year, cal.first_year);
    assert_int_equal(builtin.last_year, cal.last_year);
    assert_int_equal(builtin.n_closes, cal.n_closes);
    /* Field by field: early closes and no-settlement marks too, never padding bytes. */
    for (size_t i = 0; i < cal.n_closes; i++) {
        assert_int_equal(builtin.closes[i].day, cal.closes[i].day);
        assert_int_equal(builtin.closes[i].early_close, cal.closes[i].early_close);
        assert_int_equal(builtin.closes[i].no_settlement, cal.closes[i].no_settlement);
    }
    custos_calendar_free(&builtin);
}

/* New York dates around the 2026 switches (08 March 07:00 UTC, 01 November 06:00 UTC). */
static void test_ny_day_dst(void **state)
{
    (void)state;
    static const struct {
        uint64_t t;
        const char *iso;
    } cases[] = {
        {1772945999, "2026-03-07"}, /* 2026-03-08T04:59:59Z = 23:59:59 EST */
        {1772946000, "2026-03-08"}, /* 05:00:00Z = 00:00 EST */
        {1772953199, "2026-03-08"}, /* 06:59:59Z = 01:59:59 EST */
        {1772953200, "2026-03-08"}, /* 07:00:00Z = 03:00 EDT */
        {1773028799, "2026-03-08"}, /* 2026-03-09T03:59:59Z = 23:59:59 EDT */
        {1773028800, "2026-03-09"}, /* 04:00:00Z = 00:00 EDT */
        {1793419199, "2026-10-30"}, /* 2026-10-31T03:59:59Z = 23:59:59 EDT */
        {1793419200, "2026-10-31"},
        {1793512799, "2026-11-01"}, /* 05:59:59Z = 01:59:59 EDT */
        {1793512800, "2026-11-01"}, /* 06:00:00Z = 01:00 EST again */
        {1793595599, "2026-11-01"}, /* 2026-11-02T04:59:59Z = 23:59:59 EST */
        {1793595600, "2026-11-02"},
        {1167627600, "2007-01-01"}, /* 05:00:00Z: midnight EST */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_day d;
        custos_error err;
        if (custos_ny_day(cases[i].t, &d, &err) != CUSTOS_OK)
            fail_msg("%llu: %s", (unsigned long long)cases[i].t, err.message);
        char got[CUSTOS_ISO_DATE_LEN];
        custos_day_format(d, got);
        if (strcmp(got, cases[i].iso) != 0)
            fail_msg("%llu: New York date %s, want %s", (unsigned long long)cases[i].t, got,
                     cases[i].iso);
    }
    custos_day d;
    custos_error err;
    assert_int_equal(custos_ny_day(1167609599, &d, &err), CUSTOS_ERR_INVALID); /* 2006 */

    /* 23:59:59 New York time, on either side of each switch. */
    static const struct {
        const char *iso;
        uint64_t t;
    } ends[] = {
        {"2026-03-07", 1772945999}, {"2026-03-08", 1773028799},
        {"2026-10-31", 1793512799 - 7200}, /* 2026-11-01T03:59:59Z, still EDT */
        {"2026-11-01", 1793595599},
    };
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        uint64_t t;
        assert_int_equal(custos_ny_end_of_day(day(ends[i].iso), &t, &err), CUSTOS_OK);
        if (t != ends[i].t)
            fail_msg("end of %s: %llu, want %llu", ends[i].iso, (unsigned long long)t,
                     (unsigned long long)ends[i].t);
    }
}

static void test_business_day_arithmetic(void **state)
{
    (void)state;
    static const struct {
        const char *from;
        uint32_t n;
        const char *to;
    } adds[] = {
        {"2026-11-20", 1, "2026-11-23"}, /* Friday -> Monday */
        {"2026-11-21", 1, "2026-11-23"}, /* Saturday -> Monday */
        {"2026-11-25", 1, "2026-11-27"}, /* over Thanksgiving */
        {"2026-11-20", 5, "2026-11-30"}, /* Mon Tue Wed, Fri, Mon */
        {"2026-07-02", 1, "2026-07-06"}, /* observed Independence Day, then the weekend */
        {"2026-12-31", 1, "2027-01-04"}, /* New Year's Day on a Friday */
        {"2027-12-30", 1, "2027-12-31"}, /* New Year 2028 on a Saturday: Friday open */
    };
    custos_error err;
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++) {
        custos_day d;
        if (custos_calendar_add_business_days(&cal, day(adds[i].from), adds[i].n, &d, &err) !=
            CUSTOS_OK)
            fail_msg("%s + %u: %s", adds[i].from, adds[i].n, err.message);
        char got[CUSTOS_ISO_DATE_LEN];
        custos_day_format(d, got);
        if (strcmp(got, adds[i].to) != 0)
            fail_msg("%s + %u business days = %s, want %s", adds[i].from, adds[i].n, got,
                     adds[i].to);
    }
    custos_day d;
    assert_int_equal(custos_calendar_add_business_days(&cal, day("2027-12-31"), 1, &d, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "2028-01-01 is outside"));
    assert_int_equal(custos_calendar_add_business_days(&cal, day("2026-11-20"), 0, &d, &err),
                     CUSTOS_ERR_INVALID);

    static const struct {
        const char *from, *to;
        uint32_t n;
    } between[] = {
        {"2026-11-17", "2026-11-19", 2}, /* Tuesday -> Thursday */
        {"2026-11-20", "2026-11-23", 1}, /* Friday -> Monday */
        {"2026-11-25", "2026-11-27", 1}, /* Thanksgiving does not count */
        {"2026-11-20", "2026-11-20", 0},
        {"2026-11-23", "2026-11-20", 0},
        {"2026-11-21", "2026-11-22", 0}, /* a weekend */
    };
    for (size_t i = 0; i < sizeof between / sizeof between[0]; i++) {
        uint32_t n = 99;
        assert_int_equal(custos_calendar_business_days_between(&cal, day(between[i].from),
                                                               day(between[i].to), &n, &err),
                         CUSTOS_OK);
        if (n != between[i].n)
            fail_msg("%s .. %s: %u business days, want %u", between[i].from, between[i].to, n,
                     between[i].n);
    }
}

/* T+1 settlement: the first settlement day after the trade date; SIFMA's jobs-report Good
 * Friday is a business day but no settlement day, and its own trades settle T+2. */
static void test_settlement_dates(void **state)
{
    (void)state;
    static const struct {
        const char *trade, *settle, *why;
    } cases[] = {
        {"2026-11-19", "2026-11-20", "Thursday -> Friday"},
        {"2026-11-20", "2026-11-23", "Friday -> Monday"},
        {"2026-11-21", "2026-11-23", "a Saturday's price settles Monday"},
        {"2026-11-25", "2026-11-27", "over Thanksgiving, onto its early close"},
        {"2026-04-02", "2026-04-06", "Good Friday 2026 is no good settlement day"},
        {"2026-04-03", "2026-04-07", "trades on Good Friday 2026 settle T+2"},
        {"2026-07-02", "2026-07-06", "observed Independence Day, then the weekend"},
        {"2026-12-31", "2027-01-04", "New Year's Eve to the first business day of 2027"},
        {"2027-03-25", "2027-03-29", "over Good Friday 2027, a full close"},
        {"2027-12-30", "2027-12-31", "onto the early close of New Year's Eve"},
    };
    custos_error err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_day d;
        if (custos_calendar_settlement_date(&cal, day(cases[i].trade), &d, &err) != CUSTOS_OK)
            fail_msg("%s: %s", cases[i].trade, err.message);
        char got[CUSTOS_ISO_DATE_LEN];
        custos_day_format(d, got);
        if (strcmp(got, cases[i].settle) != 0)
            fail_msg("trade %s settles %s, want %s (%s)", cases[i].trade, got, cases[i].settle,
                     cases[i].why);
    }
    /* A settlement date beyond the calendar is refused, not guessed. */
    custos_day d;
    assert_int_equal(custos_calendar_settlement_date(&cal, day("2027-12-31"), &d, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "2028-01-01 is outside the calendar's covered years"));
}

/* Where the calendar ends, and a copy that outlives its original. */
static void test_coverage_and_copy(void **state)
{
    (void)state;
    uint64_t until = 0;
    custos_error err;
    assert_int_equal(custos_calendar_covered_until(&cal, &until, &err), CUSTOS_OK);
    assert_int_equal(until, 1830315600); /* 2028-01-01T05:00:00Z: midnight EST */

    custos_calendar orig, copy;
    static const char text[] = "covers 2026 2026\n2026-04-03  early 12:00  no-settlement  # GF\n"
                               "2026-11-26  # Thanksgiving Day\n";
    assert_int_equal(custos_calendar_parse("cal.txt", text, strlen(text), &orig, &err),
                     CUSTOS_OK);
    assert_int_equal(custos_calendar_copy(&orig, &copy, &err), CUSTOS_OK);
    custos_calendar_free(&orig);
    custos_session s;
    assert_int_equal(custos_calendar_session(&copy, day("2026-04-03"), &s, &err), CUSTOS_OK);
    assert_int_equal(s.kind, CUSTOS_SESSION_EARLY_CLOSE);
    assert_int_equal(s.close_minute, 720);
    assert_true(s.business_day);
    assert_false(s.settlement_day);
    assert_int_equal(custos_calendar_session(&copy, day("2026-11-26"), &s, &err), CUSTOS_OK);
    assert_int_equal(s.kind, CUSTOS_SESSION_CLOSED);
    assert_int_equal(custos_calendar_covered_until(&copy, &until, &err), CUSTOS_OK);
    assert_int_equal(until, 1798779600); /* 2027-01-01T05:00:00Z */
    custos_calendar_free(&copy);

    /* An empty calendar answers nothing. */
    custos_calendar none;
    memset(&none, 0, sizeof none);
    assert_int_equal(custos_calendar_covered_until(&none, &until, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(custos_calendar_session(&none, day("2026-11-26"), &s, &err),
                     CUSTOS_ERR_INVALID);
    assert_string_equal(err.message, "no bond-market calendar loaded");
}

/* The policy in business days: validUntil and the price-age limit. */
static void test_policy_in_business_days(void **state)
{
    (void)state;
    static const char doc[] = "{\"haircuts_bps\":{\"bill\":50},\"ttl_business_days\":1,"
                              "\"max_price_age_business_days\":1}";
    at_policy pol;
    custos_error err;
    if (at_policy_parse("policy.json", doc, strlen(doc), &pol, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_true(pol.ttl_in_business_days);
    assert_true(pol.age_in_business_days);
    static const struct {
        const char *name;
        uint64_t as_of, valid_until;
    } ttl[] = {
        /* Friday 2026-11-20 16:00 EST: valid through Monday 23:59:59 EST. */
        {"Friday close", 1795208400, 1795496399},
        /* Tuesday 2026-11-17 16:00 EST: valid through Wednesday 23:59:59 EST. */
        {"Tuesday close", 1794949200, 1795064399},
        /* Wednesday before Thanksgiving: valid through Friday 2026-11-27. */
        {"before Thanksgiving", 1795640400, 1795841999},
        /* Thursday 2026-07-02 16:00 EDT: Friday is closed, valid through Monday 07-06. */
        {"before Independence Day", 1783022400, 1783396799},
        /* Thursday 2026-04-02 16:00 EDT: Good Friday 04-03 is a 12:00 early close, a
         * business day, so valid through Friday 23:59:59 EDT, not through Monday. */
        {"before a jobs-report Good Friday", 1775160000, 1775275199},
    };
    for (size_t i = 0; i < sizeof ttl / sizeof ttl[0]; i++) {
        uint64_t vu = 0;
        if (at_policy_valid_until(&pol, ttl[i].as_of, &vu, &err) != CUSTOS_OK)
            fail_msg("%s: %s", ttl[i].name, err.message);
        if (vu != ttl[i].valid_until)
            fail_msg("%s: valid until %llu, want %llu", ttl[i].name, (unsigned long long)vu,
                     (unsigned long long)ttl[i].valid_until);
    }
    static const struct {
        const char *name;
        uint64_t as_of, now;
        bool fresh;
    } ages[] = {
        /* Friday close seen Monday 23:59:59 EST: fresh. */
        {"Friday close on Monday", 1795208400, 1795409999 + 86400, true},
        /* Tuesday close seen Thursday 10:00 EST: two business days, stale. */
        {"Tuesday close on Thursday", 1794949200, 1795100400, false},
        /* Tuesday close seen Wednesday: fresh. */
        {"Tuesday close on Wednesday", 1794949200, 1795035600, true},
        /* Thanksgiving is not a business day: Wednesday close still fresh on Friday. */
        {"over Thanksgiving", 1795640400, 1795841999, true},
        /* The Thursday close seen on Good Friday (an early close): one day, fresh. */
        {"Thursday close on Good Friday", 1775160000, 1775275199, true},
        /* ... and on Monday 04-06 10:00 EDT: Friday counted, two business days, stale. */
        {"Thursday close on the Monday after Good Friday", 1775160000, 1775484000, false},
    };
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        custos_rc rc = at_policy_check_price_age(&pol, "US912797KX44", ages[i].as_of,
                                                 ages[i].now, &err);
        if ((rc == CUSTOS_OK) != ages[i].fresh)
            fail_msg("%s: rc %s (%s)", ages[i].name, custos_rc_name(rc),
                     rc == CUSTOS_OK ? "fresh" : err.message);
        if (!ages[i].fresh &&
            (strstr(err.message, "US912797KX44 is 2 business days old (New York 2026-") == NULL ||
             strstr(err.message, "over the policy's max_price_age_business_days 1") == NULL))
            fail_msg("%s: message '%s'", ages[i].name, err.message);
    }
    at_policy_free(&pol);

    /* Both forms of one limit, missing calendar files. */
    static const struct {
        const char *doc, *needle;
    } bad[] = {
        {"{\"haircuts_bps\":{\"bill\":50},\"ttl_seconds\":60,\"ttl_business_days\":1,"
         "\"max_price_age_seconds\":60}",
         "policy.json: ttl_business_days: give ttl_seconds or ttl_business_days, not both"},
        {"{\"haircuts_bps\":{\"bill\":50},\"ttl_business_days\":0,"
         "\"max_price_age_seconds\":60}",
         "policy.json: ttl_business_days: "},
        /* Limits in seconds still settle Treasuries on the calendar: it is read. */
        {"{\"haircuts_bps\":{\"bill\":50},\"ttl_seconds\":60,\"max_price_age_seconds\":60,"
         "\"calendar\":\"no-such-cal.txt\"}",
         "no-such-cal.txt: cannot open"},
        {"{\"haircuts_bps\":{\"bill\":50},\"ttl_business_days\":1,"
         "\"max_price_age_seconds\":60,\"calendar\":\"no-such-calendar.txt\"}",
         "/etc/custos/no-such-calendar.txt: cannot open"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *label = i == 3 ? "/etc/custos/policy.json" : "policy.json";
        if (at_policy_parse(label, bad[i].doc, strlen(bad[i].doc), &pol, &err) == CUSTOS_OK)
            fail_msg("bad policy %zu accepted", i);
        if (strstr(err.message, bad[i].needle) == NULL)
            fail_msg("bad policy %zu: '%s' lacks '%s'", i, err.message, bad[i].needle);
    }
}

/* Malformed calendar files are refused with file:line. */
static void test_malformed_files(void **state)
{
    (void)state;
    static const struct {
        const char *text, *message;
    } bad[] = {
        {"2026-01-01  # New Year\n", "cal.txt:1: a date before the 'covers' line"},
        {"# c\ncovers 2026\n", "cal.txt:2: expected 'covers FIRST LAST' (two years)"},
        {"covers 2028 2026\n", "cal.txt:1: covered years must satisfy 2007 <= FIRST <= LAST"},
        {"covers 2026 2026\ncovers 2026 2026\n", "cal.txt:2: a second 'covers' line"},
        {"covers 2026 2026\n\n2026-02-30  # x\n", "cal.txt:3: 2026-02-30 is not a date"},
        {"covers 2026 2026\n2026-01-01\n",
         "cal.txt:2: expected '# holiday name' or 'early HH:MM' after the date"},
        {"covers 2026 2026\n2026-01-01 New Year\n",
         "cal.txt:2: expected '# holiday name' or 'early HH:MM' after the date"},
        {"covers 2026 2026\n2026-04-03  no-settlement  # Good Friday\n",
         "cal.txt:2: expected '# holiday name' or 'early HH:MM' after the date"},
        {"covers 2026 2026\n2026-04-03  early  # Good Friday\n",
         "cal.txt:2: expected 'early HH:MM' (New York time)"},
        {"covers 2026 2026\n2026-04-03  early 2:00  # Good Friday\n",
         "cal.txt:2: expected 'early HH:MM' (New York time)"},
        {"covers 2026 2026\n2026-04-03  early 12:60  # Good Friday\n",
         "cal.txt:2: expected 'early HH:MM' (New York time)"},
        {"covers 2026 2026\n2026-04-03  early 12:00pm  # Good Friday\n",
         "cal.txt:2: expected 'early HH:MM' (New York time)"},
        /* 02:00 is 14:00 mistyped, 17:00 is no early close. */
        {"covers 2026 2026\n2026-11-27  early 02:00  # Day after Thanksgiving\n",
         "cal.txt:2: early close 02:00 is not between 08:00 and 16:59"},
        {"covers 2026 2026\n2026-11-27  early 17:00  # Day after Thanksgiving\n",
         "cal.txt:2: early close 17:00 is not between 08:00 and 16:59"},
        {"covers 2026 2026\n2026-04-03  early 12:00\n",
         "cal.txt:2: expected '# holiday name' after the early close"},
        {"covers 2026 2026\n2026-04-03  early 12:00#Good Friday\n",
         "cal.txt:2: expected 'early HH:MM' (New York time)"},
        {"covers 2026 2026\n2026-04-03  early 12:00  no-settle  # Good Friday\n",
         "cal.txt:2: expected '# holiday name' after the early close"},
        {"covers 2026 2026\n2026-04-03  early 12:00  no-settlement\n",
         "cal.txt:2: expected '# holiday name' after the early close"},
        {"covers 2026 2026\n2026-04-04  early 12:00  # a Saturday\n",
         "cal.txt:2: 2026-04-04 is a weekend day"},
        {"covers 2026 2026\n2026-11-27  early 14:00  # x\n2026-11-26  # Thanksgiving\n",
         "cal.txt:3: 2026-11-26 is not after the previous date"},
        {"covers 2026 2026\n2026-11-26  # Thanksgiving\n2026-11-26  early 14:00  # x\n",
         "cal.txt:3: 2026-11-26 is not after the previous date"},
        {"covers 2026 2026\n2026-01-01#x\n", "cal.txt:2: '2026-01-01#x' is not a YYYY-MM-DD"},
        {"covers 2026 2026\n2026-07-04  # Independence Day\n",
         "cal.txt:2: 2026-07-04 is a weekend day: list the observed weekday"},
        {"covers 2026 2026\n2027-01-01  # New Year\n",
         "cal.txt:2: 2027-01-01 is outside the covered years"},
        {"covers 2026 2026\n2026-12-25  # Christmas\n2026-01-01  # New Year\n",
         "cal.txt:3: 2026-01-01 is not after the previous date"},
        {"covers 2026 2026\n2026-01-01  # New Year\n2026-01-01  # again\n",
         "cal.txt:3: 2026-01-01 is not after the previous date"},
        {"covers 2026 2026\n 2026-01-01  # indented\n", "cal.txt:2: leading blank"},
        {"covers 2026 2026\r\n", "cal.txt:1: control character in the line"},
        {"# only a comment\n", "cal.txt: no 'covers FIRST LAST' line"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        custos_calendar c;
        custos_error err;
        custos_rc rc = custos_calendar_parse("cal.txt", bad[i].text, strlen(bad[i].text), &c,
                                             &err);
        if (rc != CUSTOS_ERR_INVALID)
            fail_msg("case %zu accepted (%s)", i, custos_rc_name(rc));
        if (strncmp(err.message, bad[i].message, strlen(bad[i].message)) != 0)
            fail_msg("case %zu: '%s', want '%s...'", i, err.message, bad[i].message);
        assert_null(c.closes);
    }
    /* A line over 200 bytes. */
    char longline[300];
    memset(longline, '#', sizeof longline);
    memcpy(longline, "covers 2026 2026\n", 17);
    longline[sizeof longline - 1] = '\0';
    custos_calendar c;
    custos_error err;
    assert_int_equal(custos_calendar_parse("cal.txt", longline, strlen(longline), &c, &err),
                     CUSTOS_ERR_INVALID);
    assert_string_equal(err.message, "cal.txt:2: line longer than 200 bytes");

    /* The smallest good file. */
    static const char good[] = "covers 2026 2026\n2026-01-01  # New Year's Day";
    assert_int_equal(custos_calendar_parse("cal.txt", good, strlen(good), &c, &err), CUSTOS_OK);
    assert_int_equal(c.n_closes, 1);
    assert_int_equal(c.closes[0].early_close, 0);
    custos_calendar_free(&c);

    /* Early closes, with tabs as blanks, and a comment after the time. */
    static const char early[] = "covers 2026 2026\n"
                                "2026-04-03\tearly 12:00\tno-settlement\t# Good Friday\n"
                                "2026-11-27  early 14:30  # Day after Thanksgiving\n";
    assert_int_equal(custos_calendar_parse("cal.txt", early, strlen(early), &c, &err),
                     CUSTOS_OK);
    assert_int_equal(c.n_closes, 2);
    assert_int_equal(c.closes[0].early_close, 720);
    assert_true(c.closes[0].no_settlement);
    assert_int_equal(c.closes[1].early_close, 870);
    assert_false(c.closes[1].no_settlement);
    custos_calendar_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_known_closes),
        cmocka_unit_test(test_sifma_2026_2027),
        cmocka_unit_test(test_builtin_is_the_file),
        cmocka_unit_test(test_ny_day_dst),
        cmocka_unit_test(test_business_day_arithmetic),
        cmocka_unit_test(test_settlement_dates),
        cmocka_unit_test(test_coverage_and_copy),
        cmocka_unit_test(test_policy_in_business_days),
        cmocka_unit_test(test_malformed_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
