/* The gateway's log lines (gateway/log.h): each one JSON object on one line, written with
 * one write, members in order, escapes as RFC 8259 gives them (checked by parsing with
 * jansson, an independent JSON reader); a line longer than the log's buffer is cut inside
 * its field or message and still parses; lines of many threads at once never mix. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"
#include "testutil.h"

static char DIR_PATH[512];
static char LOG_PATH[600];
static int saved_stderr = -1;

/* stderr into a fresh file until log_read. */
static void log_capture(void)
{
    char *dir = DIR_PATH;
    if (dir[0] == '\0')
        tu_mkdtemp(DIR_PATH, sizeof DIR_PATH);
    snprintf(LOG_PATH, sizeof LOG_PATH, "%s/log", dir);
    int fd = open(LOG_PATH, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    close(fd);
}

/* What was logged since log_capture (caller frees); stderr back to where it was. */
static char *log_read(void)
{
    assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
    close(saved_stderr);
    return tu_read_file(LOG_PATH);
}

static void test_line_members_and_escapes(void **state)
{
    (void)state;
    log_capture();
    const gw_log_field f[] = {{"feed", "acme \"custody\""},
                              {"skipped", NULL},
                              {"account", "line\nbreak\\tab\t\x01"}};
    gw_log_fields(GW_LOG_INFO, "accepted", "req-1", f, 3, "value %d%%", 42);
    gw_log(GW_LOG_DEBUG, "hidden", "below the level");
    char *text = log_read();
    assert_non_null(text);
    assert_non_null(strchr(text, '\n'));
    assert_null(strchr(strchr(text, '\n') + 1, '\n')); /* one line: the debug one dropped */
    assert_true(strstr(text, "\"event\":\"accepted\",\"request_id\":\"req-1\",\"feed\":") !=
                NULL);
    json_error_t jerr;
    json_t *o = json_loads(text, JSON_DISABLE_EOF_CHECK, &jerr);
    if (o == NULL)
        fail_msg("not JSON (%s): %s", jerr.text, text);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "feed")), "acme \"custody\"");
    assert_string_equal(json_string_value(json_object_get(o, "account")),
                        "line\nbreak\\tab\t\x01");
    assert_null(json_object_get(o, "skipped"));
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "value 42%");
    json_decref(o);
    free(text);
}

/* Every byte that JSON must escape (the controls, the quote and the backslash), at the
 * start, in the middle and at the end of a value, between runs that need none, and UTF-8
 * passed through as it is: jansson reads back exactly what was logged. */
static void test_every_escape(void **state)
{
    (void)state;
    char value[3 * 34 + 64];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++) {
        value[n++] = (char)c;
        value[n++] = 'a';
    }
    const char *rest = "\"q\"\\bs\\ caf\xc3\xa9 \xe2\x82\xac del\x7f\x1f";
    memcpy(value + n, rest, strlen(rest) + 1);
    const gw_log_field f[] = {{"value", value}};
    log_capture();
    gw_log_fields(GW_LOG_INFO, "escapes", NULL, f, 1, "%s", value);
    char *text = log_read();
    assert_non_null(text);
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (o == NULL)
        fail_msg("not JSON (%s): %s", jerr.text, text);
    assert_string_equal(json_string_value(json_object_get(o, "value")), value);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), value);
    assert_non_null(strstr(text, "\\u0001a\\u0002a"));
    json_decref(o);
    free(text);
}

/* A line's "ts" as unix seconds. */
static time_t line_time(const char *line)
{
    const char *ts = strstr(line, "\"ts\":\"");
    assert_non_null(ts);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(ts + 6, "%Y-%m-%dT%H:%M:%S", &tm);
    assert_non_null(end);
    assert_true(end[0] == '.' && end[4] == 'Z');
    return timegm(&tm);
}

/* Each line carries the time it was written, also across a change of second (the text of
 * the second is kept from one line to the next). */
static void test_time_of_each_line(void **state)
{
    (void)state;
    log_capture();
    time_t before = time(NULL);
    gw_log(GW_LOG_INFO, "first", "one");
    gw_log(GW_LOG_INFO, "first", "two");
    time_t mid = time(NULL);
    while (time(NULL) == mid)
        tu_sleep_ms(20);
    gw_log(GW_LOG_INFO, "second", "three");
    time_t after = time(NULL);
    char *text = log_read();
    assert_non_null(text);
    time_t t1 = line_time(text), t3 = line_time(strrchr(text, '{'));
    assert_non_null(strstr(strrchr(text, '{'), "\"event\":\"second\""));
    assert_true(t1 >= before && t1 <= mid);
    assert_true(t3 > mid && t3 <= after);
    free(text);
}

static void test_long_line_cut_and_closed(void **state)
{
    (void)state;
    /* 12 fields of 2,000 quotes each: 48,000 bytes escaped, far past the line's room. */
    static char big[2001];
    memset(big, '"', sizeof big - 1);
    gw_log_field f[GW_LOG_FIELDS_MAX];
    for (size_t i = 0; i < GW_LOG_FIELDS_MAX; i++)
        f[i] = (gw_log_field){"k", big};
    log_capture();
    gw_log_fields(GW_LOG_WARN, "long", NULL, f, GW_LOG_FIELDS_MAX, "%s", big);
    char *text = log_read();
    assert_non_null(text);
    size_t len = strlen(text);
    assert_true(len <= 16384);
    assert_int_equal(text[len - 1], '\n');
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    if (o == NULL)
        fail_msg("a cut line is not JSON (%s) at %d", jerr.text, jerr.position);
    assert_non_null(json_object_get(o, "msg"));
    json_decref(o);
    free(text);
}

#define THREADS 4
#define LINES 500

static void *log_many(void *arg)
{
    char value[64];
    snprintf(value, sizeof value, "thread-%d", (int)(intptr_t)arg);
    const gw_log_field f[] = {{"who", value}};
    for (int i = 0; i < LINES; i++)
        gw_log_fields(GW_LOG_INFO, "race", NULL, f, 1, "line %d of %s", i, value);
    return NULL;
}

static void test_threads_never_mix(void **state)
{
    (void)state;
    log_capture();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_many, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *text = log_read();
    assert_non_null(text);
    size_t lines = 0;
    for (char *line = text, *end; *line != '\0'; line = end + 1, lines++) {
        end = strchr(line, '\n');
        assert_non_null(end);
        *end = '\0';
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (o == NULL)
            fail_msg("line %zu is not JSON: %s", lines, line);
        json_decref(o);
    }
    assert_int_equal(lines, THREADS * LINES);
    free(text);
}

/* The lines of this file so far: each must be whole JSON with "msg" "n <i>", i counting
 * up from 0 in order; returns how many. */
static size_t held_lines_in_order(void)
{
    char *text = tu_read_file(LOG_PATH);
    assert_non_null(text);
    size_t lines = 0;
    for (char *line = text, *end; *line != '\0'; line = end + 1, lines++) {
        end = strchr(line, '\n');
        if (end == NULL)
            fail_msg("line %zu is cut: %s", lines, line);
        *end = '\0';
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (o == NULL)
            fail_msg("line %zu is not JSON: %s", lines, line);
        char want[32];
        snprintf(want, sizeof want, "n %zu", lines);
        assert_string_equal(json_string_value(json_object_get(o, "msg")), want);
        json_decref(o);
    }
    free(text);
    return lines;
}

/* Held lines wait for gw_log_release, except when the buffer fills: then what it holds
 * goes out whole, and nothing is lost or reordered. */
static void test_held_lines(void **state)
{
    (void)state;
    static char pad[301];
    memset(pad, 'p', sizeof pad - 1);
    const gw_log_field f[] = {{"pad", pad}};
    log_capture();
    gw_log_hold();
    for (int i = 0; i < 3; i++)
        gw_log_fields(GW_LOG_INFO, "held", NULL, f, 1, "n %d", i);
    assert_int_equal(held_lines_in_order(), 0);
    gw_log_release();
    assert_int_equal(held_lines_in_order(), 3);

    /* About 400 bytes a line: 16 KiB holds 40; 100 lines fill it twice. */
    gw_log_hold();
    for (int i = 3; i < 103; i++)
        gw_log_fields(GW_LOG_INFO, "held", NULL, f, 1, "n %d", i);
    size_t before = held_lines_in_order();
    assert_true(before > 3 && before < 103);
    gw_log_release();
    gw_log(GW_LOG_INFO, "after", "n %d", 103);
    char *text = log_read();
    free(text);
    assert_int_equal(held_lines_in_order(), 104);
}

static int teardown(void **state)
{
    (void)state;
    if (DIR_PATH[0] != '\0')
        tu_rmtree(DIR_PATH);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_members_and_escapes),
        cmocka_unit_test(test_every_escape),
        cmocka_unit_test(test_time_of_each_line),
        cmocka_unit_test(test_long_line_cut_and_closed),
        cmocka_unit_test(test_threads_never_mix),
        cmocka_unit_test(test_held_lines),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
