/* The gateway's allow-list and account registry compared with the adapter's on anvil
 * (gateway/evm/drift.h, docs/rules.md rule 10): the adapter deployed by deploy.mjs with the
 * custodian and the valuation agent and account DRIFT-1 (pubfixture.h), the real
 * custos-gateway with [evm] drift_check_seconds = 1 and the same list. Both agree: every
 * custos_allowlist_drift series is 0. A signer revoked at the gateway only makes the
 * feed's "signers" series 1; an account registered at the gateway only makes its
 * "accounts" series 1. The reads are the adapter's signer() and accountFeedId() views. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "pubfixture.h"

#define WAIT_MS 20000

static pubf F;

typedef struct body {
    char *data;
    size_t len;
} body;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    body *b = ctx;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->len += n;
    grown[b->len] = '\0';
    b->data = grown;
    return n;
}

/* A page of the gateway's metrics port (/metrics, /status); the caller frees it. */
static char *fetch_page(const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", F.metrics_port, path);
    body b = {NULL, 0};
    CURL *c = curl_easy_init();
    assert_non_null(c);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, &b), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L), CURLE_OK);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    assert_non_null(b.data);
    return b.data;
}

/* The value of the series `series` (name and labels, as written), or -1 when absent. */
static long long series_value(const char *text, const char *series)
{
    size_t len = strlen(series);
    for (const char *p = text; (p = strstr(p, series)) != NULL; p += len) {
        if ((p == text || p[-1] == '\n') && p[len] == ' ')
            return atoll(p + len + 1);
    }
    return -1;
}

/* Waits until a check completed after `after` (Unix seconds) and the series reads want. */
static void wait_series(const char *series, long long want, long long after)
{
    long long got = -1, checked = 0;
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        char *text = fetch_page("/metrics");
        checked = series_value(text, "custos_allowlist_drift_checked_at_seconds");
        got = series_value(text, series);
        free(text);
        if (checked > after && got == want)
            return;
        usleep(100 * 1000);
    }
    gwf_dump_log(&F.gw);
    fail_msg("%s: %lld (checked at %lld), want %lld after %lld", series, got, checked, want,
             after);
}

/* Replaces the first occurrence of from in the gateway's config, then SIGHUP, and waits
 * for the reload to be logged in force. */
static void edit_and_reload(const char *from, const char *to)
{
    char *text = tu_read_file(F.gw.config_path);
    assert_non_null(text);
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t cap = strlen(text) + strlen(to) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    tu_write_file(F.gw.config_path, out);
    free(out);
    free(text);
    assert_int_equal(kill(F.gw.proc.pid, SIGHUP), 0);
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        char path[1200];
        snprintf(path, sizeof path, "%s/gateway.log", F.gw.dir);
        char *log = tu_read_file(path);
        bool done = log != NULL && strstr(log, "now in force") != NULL;
        free(log);
        if (done)
            return;
        usleep(50 * 1000);
    }
    gwf_dump_log(&F.gw);
    fail_msg("the reload was not applied");
}

static int group_setup(void **state)
{
    (void)state;
    const char *refs[] = {"DRIFT-1"};
    pubf_init(&F, 1, GWF_MAX_AGE, refs, 1);
    pubf_write_config(&F, NULL, "drift_check_seconds = 1\n");
    gwf_register(&F.gw, GWF_FEED, GWF_FEED, "DRIFT-1");
    F.gw.no_auto_register = true;
    /* One signer is enough at the gateway for this test: the valuation agent can then be
     * revoked there alone (the adapter keeps its own threshold of two). */
    char *text = tu_read_file(F.gw.config_path);
    assert_non_null(text);
    char *at = strstr(text, "threshold = 2\n");
    assert_non_null(at);
    at[12] = '1';
    tu_write_file(F.gw.config_path, text);
    free(text);
    pubf_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F.gw);
    if (status != 0)
        gwf_dump_log(&F.gw);
    pubf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

static void test_drift_found_and_counted(void **state)
{
    (void)state;
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}", 0, 0);
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"accounts\"}", 0, 0);
    char *text = fetch_page("/metrics");
    assert_int_equal(series_value(text, "custos_allowlist_drift_check_failing"), 0);
    free(text);

    /* Revoked at the gateway only: it still counts on-chain. */
    long long before = (long long)gwf_now();
    edit_and_reload("role = valuation_agent\n", "role = valuation_agent\nstatus = revoked\n");
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}", 1, before);
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"accounts\"}", 0, before);

    /* Registered at the gateway only: the adapter knows no feed of it. */
    before = (long long)gwf_now();
    gwf_register(&F.gw, GWF_FEED, GWF_FEED, "DRIFT-2");
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"accounts\"}", 1, before);
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}", 1, before);

    /* /status says the same per feed (docs/operations.md §9). */
    char *page = fetch_page("/status");
    json_error_t jerr;
    json_t *st = json_loads(page, 0, &jerr);
    free(page);
    if (st == NULL)
        fail_msg("/status is not JSON: %s", jerr.text);
    json_t *drift = json_object_get(st, "drift");
    assert_true(json_is_object(drift));
    assert_false(json_is_true(json_object_get(drift, "failing")));
    assert_true(json_integer_value(json_object_get(drift, "checked_at")) >= before);
    json_t *feed = json_array_get(json_object_get(drift, "feeds"), 0);
    assert_string_equal(json_string_value(json_object_get(feed, "feed")), GWF_FEED);
    assert_int_equal(json_integer_value(json_object_get(feed, "signers")), 1);
    assert_int_equal(json_integer_value(json_object_get(feed, "accounts")), 1);
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drift_found_and_counted),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
