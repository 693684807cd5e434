/* The bond-market calendar: SIFMA closes from the shipped file, New York dates across the
 * DST switches, business-day arithmetic, the policy's validUntil and price age in business
 * days, and strict refusal of malformed calendar files. */
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
        {"2026-04-03", false, "Good Friday"},
        {"2027-07-05", false, "Independence Day on a Sunday, observed Monday"},
        {"2026-07-03", false, "Independence Day on a Saturday, observed Friday"},
        {"2027-12-24", false, "Christmas on a Saturday, observed Friday"},
        {"2027-12-31", true, "New Year's Day 2028 on a Saturday: no Friday close"},
        {"2028-11-10", true, "Veterans Day on a Saturday: no Friday close"},
        {"2024-01-01", false, "New Year's Day"},
        {"2026-01-19", false, "Martin Luther King Jr. Day"},
        {"2026-11-11", false, "Veterans Day"},
        {"2026-10-12", false, "Columbus Day"},
        {"2026-06-19", false, "Juneteenth"},
        {"2026-11-20", true, "an ordinary Friday"},
        {"2026-11-21", false, "a Saturday"},
        {"2026-11-22", false, "a Sunday"},
        {"2028-12-29", true, "the last Friday covered"},
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
    assert_int_equal(custos_calendar_is_business_day(&cal, day("2029-01-02"), &open, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "2029-01-02 is outside the calendar's covered years "
                                        "2024-2028"));
    assert_int_equal(custos_calendar_is_business_day(&cal, day("2023-12-29"), &open, &err),
                     CUSTOS_ERR_INVALID);
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
    assert_memory_equal(builtin.closes, cal.closes, cal.n_closes * sizeof *cal.closes);
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
    assert_int_equal(custos_calendar_add_business_days(&cal, day("2028-12-29"), 1, &d, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "2029-01-01 is outside"));
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
    };
    for (size_t i = 0; i < sizeof ages / sizeof ages[0]; i++) {
        custos_rc rc = at_policy_check_price_age(&pol, "US912797KX44", ages[i].as_of,
                                                 ages[i].now, &err);
        if ((rc == CUSTOS_OK) != ages[i].fresh)
            fail_msg("%s: rc %s (%s)", ages[i].name, custos_rc_name(rc),
                     rc == CUSTOS_OK ? "fresh" : err.message);
        if (!ages[i].fresh &&
            strstr(err.message, "US912797KX44 is 2 business days old (New York 2026-11-17, "
                                "today 2026-11-19), over the policy's "
                                "max_price_age_business_days 1") == NULL)
            fail_msg("%s: message '%s'", ages[i].name, err.message);
    }
    at_policy_free(&pol);

    /* Both forms of one limit, a calendar nobody uses, a missing calendar file. */
    static const struct {
        const char *doc, *needle;
    } bad[] = {
        {"{\"haircuts_bps\":{\"bill\":50},\"ttl_seconds\":60,\"ttl_business_days\":1,"
         "\"max_price_age_seconds\":60}",
         "policy.json: ttl_business_days: give ttl_seconds or ttl_business_days, not both"},
        {"{\"haircuts_bps\":{\"bill\":50},\"ttl_business_days\":0,"
         "\"max_price_age_seconds\":60}",
         "policy.json: ttl_business_days: "},
        {"{\"haircuts_bps\":{\"bill\":50},\"ttl_seconds\":60,\"max_price_age_seconds\":60,"
         "\"calendar\":\"cal.txt\"}",
         "policy.json: calendar: no *_business_days limit uses the calendar"},
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
         "cal.txt:2: expected 'YYYY-MM-DD  # holiday name' after the date"},
        {"covers 2026 2026\n2026-01-01 New Year\n",
         "cal.txt:2: expected 'YYYY-MM-DD  # holiday name' after the date"},
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
    custos_calendar_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_known_closes),
        cmocka_unit_test(test_builtin_is_the_file),
        cmocka_unit_test(test_ny_day_dst),
        cmocka_unit_test(test_business_day_arithmetic),
        cmocka_unit_test(test_policy_in_business_days),
        cmocka_unit_test(test_malformed_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
