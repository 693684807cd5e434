/* The gateway's allow-list, account registry and feed policies compared with the
 * adapter's on anvil (gateway/evm/drift.h, drift_policy.h, docs/rules.md rule 10): the
 * adapter deployed by deploy.mjs with the custodian and the valuation agent and account
 * DRIFT-1 (pubfixture.h), the real custos-gateway with [evm] drift_check_seconds = 1 and
 * the same list and policy. Both agree: every custos_allowlist_drift and
 * custos_policy_drift series is 0. Each owner call of the table below changes one part of
 * the feed's policy on-chain, and exactly the fields it changes drift, /status naming
 * both values, until the call is undone. A feed counted in business days needs an
 * on-chain maxAge covering its longest span; a feed the adapter does not know drifts on
 * feed_id alone. A signer revoked at the gateway only makes
 * the feed's "signers" series 1; an account registered at the gateway only makes its
 * "accounts" series 1; a key or an account the owner lists on-chain alone, found in the
 * adapter's logs, counts there too. The reads are the adapter's signer(), accountFeedId()
 * and feed() views and its logs. */
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

#include "custos/hex.h"
#include "evm/evm_abi.h"
#include "evm/publisher.h"
#include "pubfixture.h"

#define WAIT_MS 20000
/* anvil's unlocked account 0, whose key (PUBF_OWNER_KEY) deployed the adapter: its owner. */
#define OWNER "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
/* The longest span a feed of max_age_business_days = 1 accepts: an asOf at 00:00 New
 * York time on the Friday before a Monday holiday stays fresh through 23:59:59 on Tuesday,
 * 5 days less a second (docs/rules.md rule 3; no daylight-saving change falls on such a
 * weekend, and the calendar's years from now on have such Mondays). */
#define BUSINESS_DAY_SPAN 431999

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

/* How many times the gateway's log says a list is now in force. */
static int reloads_logged(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.gw.dir);
    char *log = tu_read_file(path);
    int n = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, "now in force")) != NULL; p++)
        n++;
    free(log);
    return n;
}

/* SIGHUP, and waits for the reload to be logged in force. */
static void reload(void)
{
    int before = reloads_logged();
    assert_int_equal(kill(F.gw.proc.pid, SIGHUP), 0);
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        if (reloads_logged() > before)
            return;
        usleep(50 * 1000);
    }
    gwf_dump_log(&F.gw);
    fail_msg("the reload was not applied");
}

/* The adapter's owner calls signature(values); the call must succeed. */
static void owner_call_values(const char *signature, const evm_abi_value *values, size_t n)
{
    uint8_t *data = NULL;
    size_t len = 0;
    custos_error err;
    if (evm_abi_encode(signature, values, n, &data, &len, &err) != CUSTOS_OK)
        fail_msg("%s: %s", signature, err.message);
    char *data_hex = malloc(2 * len + 3);
    assert_non_null(data_hex);
    assert_int_equal(custos_hex_encode(data, len, data_hex, 2 * len + 3), CUSTOS_OK);
    free(data);
    char to[2 * CUSTOS_ADDRESS_LEN + 3];
    assert_int_equal(custos_hex_encode(F.adapter, CUSTOS_ADDRESS_LEN, to, sizeof to), CUSTOS_OK);
    json_t *tx = json_pack("[{s:s, s:s, s:s, s:s}]", "from", OWNER, "to", to, "data", data_hex,
                           "gas", "0x200000");
    free(data_hex);
    json_t *hash_json = pubf_rpc(&F, 0, "eth_sendTransaction", tx);
    uint8_t hash[CUSTOS_HASH_LEN];
    assert_true(json_is_string(hash_json));
    if (custos_hex_decode(json_string_value(hash_json), hash, CUSTOS_HASH_LEN, &err) !=
        CUSTOS_OK)
        fail_msg("transaction hash: %s", err.message);
    json_decref(hash_json);
    bool success = false;
    uint64_t block = 0;
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS;
         !pubf_receipt(&F, 0, hash, &success, &block); tu_sleep_ms(100)) {
        if (tu_now_ms() > deadline)
            fail_msg("%s: no receipt within %d ms", signature, PUBF_WAIT_MS);
    }
    if (!success)
        fail_msg("%s reverted", signature);
}

/* The adapter's owner calls signature(feedId of GWF_FEED, args) (unsigned integers and
 * bools as words). */
static void owner_call(const char *signature, const uint64_t *args, size_t n)
{
    evm_abi_value values[8];
    uint8_t feed_id[CUSTOS_HASH_LEN];
    gw_publisher_feed_id(GWF_FEED, feed_id);
    assert_true(n < sizeof values / sizeof values[0]);
    values[0] = evm_abi_bytes32(feed_id);
    for (size_t i = 0; i < n; i++)
        values[i + 1] = evm_abi_uint64(args[i]);
    owner_call_values(signature, values, n + 1);
}

/* The fields of custos_policy_drift, as the gateway labels them. */
static const char *const FIELDS[] = {
    "feed_id",  "threshold",        "distinct_roles",           "max_age",
    "max_skew", "max_ttl",          "breaker_rise_bps",         "breaker_release_threshold",
    "max_sequence_step",
};
#define N_FIELDS (sizeof FIELDS / sizeof FIELDS[0])

/* A field expected to drift, with both sides' values. */
typedef struct drifting {
    const char *field;
    long long gateway, adapter;
} drifting;

static const drifting *find_drifting(const drifting *want, size_t n, const char *field)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(want[i].field, field) == 0)
            return &want[i];
    return NULL;
}

/* /status as JSON (the caller releases it). */
static json_t *fetch_status(void)
{
    char *page = fetch_page("/status");
    json_error_t jerr;
    json_t *st = json_loads(page, 0, &jerr);
    free(page);
    if (st == NULL)
        fail_msg("/status is not JSON: %s", jerr.text);
    return st;
}

/* The gateway's log holds line. */
static void expect_in_log(const char *line)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.gw.dir);
    char *log = tu_read_file(path);
    bool found = log != NULL && strstr(log, line) != NULL;
    free(log);
    if (!found) {
        gwf_dump_log(&F.gw);
        fail_msg("the log lacks \"%s\"", line);
    }
}

/* Waits until a check completed after `after` finds exactly the fields of want drifting,
 * then reads /status: its feed's "policy" names the same fields with both values. */
static void wait_policy(const drifting *want, size_t n, long long after)
{
    char series[160];
    char seen[1024] = "";
    for (int waited = 0;; waited += 100) {
        char *text = fetch_page("/metrics");
        long long checked = series_value(text, "custos_allowlist_drift_checked_at_seconds");
        bool all = checked > after;
        size_t used = 0;
        seen[0] = '\0';
        for (size_t i = 0; i < N_FIELDS; i++) {
            snprintf(series, sizeof series,
                     "custos_policy_drift{feed=\"" GWF_FEED "\",field=\"%s\"}", FIELDS[i]);
            long long got = series_value(text, series);
            long long expect = find_drifting(want, n, FIELDS[i]) != NULL ? 1 : 0;
            all = all && got == expect;
            int w = snprintf(seen + used, sizeof seen - used, " %s=%lld", FIELDS[i], got);
            if (w > 0 && (size_t)w < sizeof seen - used)
                used += (size_t)w;
        }
        free(text);
        if (all)
            break;
        if (waited >= WAIT_MS) {
            gwf_dump_log(&F.gw);
            fail_msg("custos_policy_drift after %lld:%s", after, seen);
        }
        usleep(100 * 1000);
    }
    json_t *st = fetch_status();
    json_t *feed = json_array_get(json_object_get(json_object_get(st, "drift"), "feeds"), 0);
    assert_string_equal(json_string_value(json_object_get(feed, "feed")), GWF_FEED);
    json_t *policy = json_object_get(feed, "policy");
    assert_true(json_is_array(policy));
    assert_int_equal(json_array_size(policy), n);
    for (size_t i = 0; i < json_array_size(policy); i++) {
        json_t *e = json_array_get(policy, i);
        const char *field = json_string_value(json_object_get(e, "field"));
        assert_non_null(field);
        const drifting *d = find_drifting(want, n, field);
        if (d == NULL)
            fail_msg("/status names %s drifting", field);
        assert_int_equal(json_integer_value(json_object_get(e, "gateway")), d->gateway);
        assert_int_equal(json_integer_value(json_object_get(e, "adapter")), d->adapter);
    }
    json_decref(st);
}

/* What the log says of a drifting field: its name and both values. */
static void expect_logged(const drifting *d)
{
    char line[200];
    snprintf(line, sizeof line, "feed " GWF_FEED ": %s differs from the adapter's: gateway %lld, "
             "adapter %lld", d->field, d->gateway, d->adapter);
    expect_in_log(line);
}

static int group_setup(void **state)
{
    const char *refs[] = {"DRIFT-1"};
    pubf_init(&F, 1, GWF_MAX_AGE, refs, 1);
    pubf_write_config(&F, NULL, "drift_check_seconds = 1\n");
    F.gw.no_auto_register = true;
    return pubf_group_start(state, &F, refs, 1);
}

/* The feed as pubf deploys it and the gateway is configured: setFeed's arguments. */
#define FEED_ARGS(threshold, distinct, max_age, max_skew, max_ttl)                         \
    {(threshold), (distinct), (max_age), (max_skew), (max_ttl)}
#define AS_DEPLOYED FEED_ARGS(GWF_THRESHOLD, 1, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL)
#define SET_FEED "setFeed(bytes32,uint8,bool,uint32,uint32,uint32)"
#define SET_BREAKER "setBreaker(bytes32,uint32,uint8)"
#define SET_STEP "setSequenceStep(bytes32,uint32)"

/* One owner call that changes the adapter's policy, the fields it makes drift, and the
 * call that undoes it. */
typedef struct policy_case {
    const char *change;
    uint64_t change_args[5];
    size_t n_change;
    drifting drifts[2];
    size_t n_drifts;
    const char *undo;
    uint64_t undo_args[5];
    size_t n_undo;
} policy_case;

static const policy_case POLICY_CASES[] = {
    {SET_FEED, FEED_ARGS(1, 1, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL), 5,
     {{"threshold", GWF_THRESHOLD, 1}}, 1, SET_FEED, AS_DEPLOYED, 5},
    {SET_FEED, FEED_ARGS(GWF_THRESHOLD, 0, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL), 5,
     {{"distinct_roles", 1, 0}}, 1, SET_FEED, AS_DEPLOYED, 5},
    /* One second longer on-chain: stale values would count there for a second. */
    {SET_FEED, FEED_ARGS(GWF_THRESHOLD, 1, GWF_MAX_AGE + 1, GWF_MAX_SKEW, GWF_MAX_TTL), 5,
     {{"max_age", GWF_MAX_AGE, GWF_MAX_AGE + 1}}, 1, SET_FEED, AS_DEPLOYED, 5},
    {SET_FEED, FEED_ARGS(GWF_THRESHOLD, 1, GWF_MAX_AGE, GWF_MAX_SKEW - 1, GWF_MAX_TTL), 5,
     {{"max_skew", GWF_MAX_SKEW, GWF_MAX_SKEW - 1}}, 1, SET_FEED, AS_DEPLOYED, 5},
    {SET_FEED, FEED_ARGS(GWF_THRESHOLD, 1, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL + 1), 5,
     {{"max_ttl", GWF_MAX_TTL, GWF_MAX_TTL + 1}}, 1, SET_FEED, AS_DEPLOYED, 5},
    /* A breaker on-chain only: both of its fields differ from the gateway's (off). */
    {SET_BREAKER, {500, 3}, 2, {{"breaker_rise_bps", 0, 500}, {"breaker_release_threshold", 0, 3}},
     2, SET_BREAKER, {0, 0}, 2},
    /* The gateway's default step (max_sequence_step unset) is the adapter's default. */
    {SET_STEP, {999999}, 1, {{"max_sequence_step", 1000000, 999999}}, 1, SET_STEP, {1000000},
     1},
};

static void test_policy_drift_by_field(void **state)
{
    (void)state;
    wait_policy(NULL, 0, 0);
    for (size_t i = 0; i < sizeof POLICY_CASES / sizeof POLICY_CASES[0]; i++) {
        const policy_case *c = &POLICY_CASES[i];
        owner_call(c->change, c->change_args, c->n_change);
        wait_policy(c->drifts, c->n_drifts, (long long)gwf_now());
        for (size_t k = 0; k < c->n_drifts; k++)
            expect_logged(&c->drifts[k]);
        owner_call(c->undo, c->undo_args, c->n_undo);
        wait_policy(NULL, 0, (long long)gwf_now());
    }
}

/* A feed counted in business days: the adapter's maxAge in seconds must cover the longest
 * span the gateway accepts (rule 3), and may be longer. */
static void test_policy_business_days(void **state)
{
    (void)state;
    tu_edit_file(F.gw.config_path, "max_age = 86400\n", "max_age_business_days = 1\n");
    reload();
    const drifting short_age = {"max_age", BUSINESS_DAY_SPAN, GWF_MAX_AGE};
    wait_policy(&short_age, 1, (long long)gwf_now());
    expect_logged(&short_age);

    const uint64_t one_short[] = FEED_ARGS(GWF_THRESHOLD, 1, BUSINESS_DAY_SPAN - 1,
                                           GWF_MAX_SKEW, GWF_MAX_TTL);
    owner_call(SET_FEED, one_short, 5);
    const drifting still_short = {"max_age", BUSINESS_DAY_SPAN, BUSINESS_DAY_SPAN - 1};
    wait_policy(&still_short, 1, (long long)gwf_now());

    const uint64_t covering[] = FEED_ARGS(GWF_THRESHOLD, 1, BUSINESS_DAY_SPAN, GWF_MAX_SKEW,
                                          GWF_MAX_TTL);
    owner_call(SET_FEED, covering, 5);
    wait_policy(NULL, 0, (long long)gwf_now());
    const uint64_t longer[] = FEED_ARGS(GWF_THRESHOLD, 1, BUSINESS_DAY_SPAN + 86400,
                                        GWF_MAX_SKEW, GWF_MAX_TTL);
    owner_call(SET_FEED, longer, 5);
    wait_policy(NULL, 0, (long long)gwf_now());

    const uint64_t deployed[] = AS_DEPLOYED;
    owner_call(SET_FEED, deployed, 5);
    tu_edit_file(F.gw.config_path, "max_age_business_days = 1\n", "max_age = 86400\n");
    reload();
    wait_policy(NULL, 0, (long long)gwf_now());
}

/* A feed whose policy cannot be compared (here a business-day feed on a calendar whose
 * covered years are over) is reported for that feed alone: custos_policy_drift_unchecked
 * and /status's policy_error say why, one log line says so, and the signers and accounts
 * are compared all the same (the check is not failing, its time moves on). */
static void test_policy_unreadable_feed_alone(void **state)
{
    (void)state;
    char calendar[1200], line[1400];
    snprintf(calendar, sizeof calendar, "%s/ended-calendar.txt", F.gw.dir);
    tu_write_file(calendar, "covers 2024 2025\n2024-01-01  # New Year's Day\n"
                            "2025-01-01  # New Year's Day\n");
    snprintf(line, sizeof line, "[gateway]\ncalendar = %s\n", calendar);
    tu_edit_file(F.gw.config_path, "[gateway]\n", line);
    tu_edit_file(F.gw.config_path, "max_age = 86400\n", "max_age_business_days = 1\n");
    long long before = (long long)gwf_now();
    reload();
    wait_series("custos_policy_drift_unchecked{feed=\"" GWF_FEED "\"}", 1, before);
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}", 0, before);
    char *text = fetch_page("/metrics");
    assert_int_equal(series_value(text, "custos_allowlist_drift_check_failing"), 0);
    free(text);
    json_t *st = fetch_status();
    json_t *feed = json_array_get(json_object_get(json_object_get(st, "drift"), "feeds"), 0);
    const char *why = json_string_value(json_object_get(feed, "policy_error"));
    if (why == NULL || strstr(why, "covers no date") == NULL)
        fail_msg("/status drift.feeds[0].policy_error: %s", why != NULL ? why : "(null)");
    json_decref(st);
    expect_in_log("cannot compare its policy with the adapter's");

    tu_edit_file(F.gw.config_path, line, "[gateway]\n");
    tu_edit_file(F.gw.config_path, "max_age_business_days = 1\n", "max_age = 86400\n");
    before = (long long)gwf_now();
    reload();
    wait_series("custos_policy_drift_unchecked{feed=\"" GWF_FEED "\"}", 0, before);
    wait_policy(NULL, 0, before);
}

static void test_drift_found_and_counted(void **state)
{
    (void)state;
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}", 0, 0);
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"accounts\"}", 0, 0);
    char *text = fetch_page("/metrics");
    assert_int_equal(series_value(text, "custos_allowlist_drift_check_failing"), 0);
    free(text);
    /* The fixture leaves drift_from_block at 0 (anvil's chain is young): said at start. */
    expect_in_log("[evm] drift_from_block = 0: the first check reads the adapter's logs from "
                  "the chain's first block");

    /* Revoked at the gateway only: it still counts on-chain. With one signer left, the
     * gateway's threshold must be 1, which the adapter's 2 refuses: policy drift too. */
    long long before = (long long)gwf_now();
    tu_edit_file(F.gw.config_path, "role = valuation_agent\n",
                 "role = valuation_agent\nstatus = revoked\n");
    tu_edit_file(F.gw.config_path, "threshold = 2\n", "threshold = 1\n");
    reload();
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}", 1, before);
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"accounts\"}", 0, before);
    const drifting threshold = {"threshold", 1, GWF_THRESHOLD};
    wait_policy(&threshold, 1, before);

    /* Registered at the gateway only: the adapter knows no feed of it. */
    before = (long long)gwf_now();
    gwf_register(&F.gw, GWF_FEED, GWF_FEED, "DRIFT-2");
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"accounts\"}", 1, before);
    wait_series("custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}", 1, before);

    /* /status says the same per feed (docs/operations.md §9). */
    json_t *st = fetch_status();
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

/* A feed configured at the gateway that the adapter does not know: feed_id drifts alone,
 * and its signer counts at the gateway only. */
static void test_policy_unknown_feed(void **state)
{
    (void)state;
    char *text = tu_read_file(F.gw.config_path);
    assert_non_null(text);
    size_t cap = strlen(text) + 1024;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap,
             "%s\n[feed other-custody]\nmax_age = 86400\nmax_skew = 300\nmax_ttl = 604800\n"
             "threshold = 1\ndistinct_roles = false\n\n"
             "[signer other]\naddress = %s\nfeed = other-custody\nrole = custodian\n",
             text, F.gw.keys[GWF_KEY_CUSTODIAN].hex);
    tu_write_file(F.gw.config_path, out);
    free(out);
    free(text);
    long long before = (long long)gwf_now();
    reload();
    wait_series("custos_policy_drift{feed=\"other-custody\",field=\"feed_id\"}", 1, before);
    wait_series("custos_allowlist_drift{feed=\"other-custody\",kind=\"signers\"}", 1, before);
    char *metrics = fetch_page("/metrics");
    char series[160];
    for (size_t i = 1; i < N_FIELDS; i++) {
        snprintf(series, sizeof series,
                 "custos_policy_drift{feed=\"other-custody\",field=\"%s\"}", FIELDS[i]);
        if (series_value(metrics, series) != 0)
            fail_msg("%s: %lld, want 0", series, series_value(metrics, series));
    }
    free(metrics);

    json_t *st = fetch_status();
    json_t *feeds = json_object_get(json_object_get(st, "drift"), "feeds");
    json_t *other = NULL;
    for (size_t i = 0; i < json_array_size(feeds); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(feeds, i), "feed")),
                   "other-custody") == 0)
            other = json_array_get(feeds, i);
    assert_non_null(other);
    json_t *policy = json_object_get(other, "policy");
    assert_int_equal(json_array_size(policy), 1);
    json_t *e = json_array_get(policy, 0);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "feed_id");
    assert_int_equal(json_integer_value(json_object_get(e, "gateway")), 1);
    assert_int_equal(json_integer_value(json_object_get(e, "adapter")), 0);
    json_decref(st);

    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.gw.dir);
    char *log = tu_read_file(path);
    bool found = log != NULL &&
                 strstr(log, "feed other-custody: the adapter does not know this feed") != NULL;
    free(log);
    assert_true(found);
}

/* A key and an account the adapter's owner lists on-chain alone, found in the adapter's
 * logs: the key counts to the feed's "signers" while the adapter takes it (revoked, no
 * more), the account to its "accounts"; /status says how far the logs were read. */
static void test_onchain_only_keys_and_accounts(void **state)
{
    (void)state;
    static const char signers[] =
        "custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"signers\"}";
    static const char accounts[] =
        "custos_allowlist_drift{feed=\"" GWF_FEED "\",kind=\"accounts\"}";
    char *text = fetch_page("/metrics");
    long long signers0 = series_value(text, signers), accounts0 = series_value(text, accounts);
    free(text);
    assert_true(signers0 >= 0 && accounts0 >= 0);

    uint8_t feed_id[CUSTOS_HASH_LEN], key[CUSTOS_ADDRESS_LEN], account[CUSTOS_HASH_LEN];
    gw_publisher_feed_id(GWF_FEED, feed_id);
    memset(key, 0x5a, sizeof key);
    custos_account_id(GWF_FEED, "ONCHAIN-ONLY", account);
    const evm_abi_value add[] = {evm_abi_bytes32(feed_id), evm_abi_address(key),
                                 evm_abi_uint64(1)};
    long long before = (long long)gwf_now();
    owner_call_values("addSigner(bytes32,address,uint8)", add, 3);
    wait_series(signers, signers0 + 1, before);
    const evm_abi_value revoke[] = {evm_abi_bytes32(feed_id), evm_abi_address(key)};
    before = (long long)gwf_now();
    owner_call_values("revokeSigner(bytes32,address)", revoke, 2);
    wait_series(signers, signers0, before);

    const evm_abi_value reg[] = {evm_abi_bytes32(account), evm_abi_bytes32(feed_id)};
    before = (long long)gwf_now();
    owner_call_values("registerAccount(bytes32,bytes32)", reg, 2);
    wait_series(accounts, accounts0 + 1, before);
    wait_series(signers, signers0, before);

    json_t *st = fetch_status();
    json_t *drift = json_object_get(st, "drift");
    assert_true(json_integer_value(json_object_get(drift, "logs_read_to")) > 0);
    assert_true(json_is_null(json_object_get(drift, "logs_error")));
    json_decref(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy_drift_by_field),
        cmocka_unit_test(test_policy_business_days),
        cmocka_unit_test(test_policy_unreadable_feed_alone),
        cmocka_unit_test(test_drift_found_and_counted),
        cmocka_unit_test(test_policy_unknown_feed),
        cmocka_unit_test(test_onchain_only_keys_and_accounts),
    };
    return cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
}
