/* The metrics registry and its HTTP endpoint: counting by feed and reason, histogram
 * buckets, freshness, label escaping, the publisher block, and /metrics, /healthz over a
 * real socket with a real engine behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "custos/calendar.h"
#include "custos/u256.h"

#include "config/config.h"
#include "engine/engine.h"
#include "metrics.h"
#include "metrics_http.h"
#include "status.h"
#include "testutil.h"

static gw_feed FEEDS[3] = {
    {.name = "acme", .max_age = 3600, .threshold = 1},
    {.name = "we\"ird\\feed", .max_age = 60, .threshold = 1},
    {.name = "days", .max_age = 86400, .max_age_business_days = 2, .threshold = 1},
};

/* Thanksgiving 2026 is a close; the years after 2026 are not covered. */
static const char CALENDAR[] = "covers 2026 2026\n2026-11-26  # Thanksgiving Day\n";
static custos_calendar calendar;

static void config_init(gw_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->feeds = FEEDS;
    cfg->n_feeds = 3;
    cfg->commit_batch_max = 16;
}

static int setup(void **state)
{
    (void)state;
    gw_config cfg;
    config_init(&cfg);
    custos_error err;
    if (custos_calendar_parse("cal.txt", CALENDAR, strlen(CALENDAR), &calendar, &err) !=
        CUSTOS_OK)
        fail_msg("%s", err.message);
    cfg.calendar = &calendar;
    if (gw_metrics_init(&cfg, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    /* The registry keeps its own copy: the config's calendar may go with a reload. */
    custos_calendar_free(&calendar);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_metrics_shutdown();
    return 0;
}

static char *render(const gw_metrics_live *live, uint64_t now)
{
    char *text = NULL;
    size_t len = 0;
    custos_error err;
    if (gw_metrics_render(live, now, &text, &len, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The value of the sample line that starts with `series ` (name and labels exactly). */
static int sample(const char *text, const char *series, double *value)
{
    size_t n = strlen(series);
    *value = 0;
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            *value = strtod(p + n + 1, NULL);
            return 0;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static double must_sample(const char *text, const char *series)
{
    double v;
    if (sample(text, series, &v) != 0)
        fail_msg("no sample %s in:\n%s", series, text);
    return v;
}

static gw_submit_outcome outcome(custos_reason reason, custos_state state, bool duplicate)
{
    gw_submit_outcome o;
    memset(&o, 0, sizeof o);
    o.reason = reason;
    o.state = state;
    o.duplicate = duplicate;
    return o;
}

static void test_counts_by_feed_and_reason(void **state)
{
    (void)state;
    gw_submit_outcome acc = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    gw_submit_outcome dup = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    gw_submit_outcome pend = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
    gw_submit_outcome stale = outcome(CUSTOS_REASON_STALE, CUSTOS_STATE_UNSPECIFIED, false);
    gw_submit_outcome held = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    gw_submit_outcome held_again = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, true);
    gw_metrics_observe_outcome("acme", 1000, &acc);
    gw_metrics_observe_outcome("acme", 5000, &held); /* held: neither accepted nor fresh */
    gw_metrics_observe_outcome("acme", 5000, &held_again);
    gw_metrics_observe_outcome("acme", 1500, &acc);
    gw_metrics_observe_outcome("acme", 900, &acc); /* older asOf: freshness keeps 1500 */
    gw_metrics_observe_outcome("acme", 1500, &dup);
    gw_metrics_observe_outcome("acme", 2000, &pend);
    gw_metrics_observe_outcome("acme", 10, &stale);
    gw_metrics_observe_outcome("acme", 10, &stale);
    /* A client-chosen feed name must not become a series. */
    gw_metrics_observe_outcome("attacker-feed", 10, &stale);
    gw_metrics_count_refusal(CUSTOS_REASON_MALFORMED);
    /* The abuse limits refuse before a feed is known. */
    gw_metrics_count_refusal(CUSTOS_REASON_RATE_LIMITED);
    gw_metrics_count_refusal(CUSTOS_REASON_RATE_LIMITED);
    gw_metrics_count_refusal(CUSTOS_REASON_TOO_MANY_STREAMS);
    /* A proof read and an admin call refused: counted apart, never as a submission. */
    gw_metrics_count_request_refusal(GW_REQUEST_READ, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
    gw_metrics_count_request_refusal(GW_REQUEST_ADMIN, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
    gw_metrics_count_request_refusal(GW_REQUEST_ADMIN, CUSTOS_REASON_UNAUTHORIZED_CLIENT);

    gw_metrics_live live = {.store_healthy = true, .head = 3, .held = 2};
    char *t = render(&live, 1600);
    assert_int_equal(must_sample(t, "custos_held"), 2);
    assert_int_equal(must_sample(t, "custos_attestations_accepted_total{feed=\"acme\"}"), 3);
    assert_int_equal(must_sample(t, "custos_attestations_duplicate_total{feed=\"acme\"}"), 1);
    assert_int_equal(must_sample(t, "custos_attestations_pending_total{feed=\"acme\"}"), 1);
    assert_int_equal(must_sample(t, "custos_attestations_held_total{feed=\"acme\"}"), 1);
    assert_int_equal(
        must_sample(t, "custos_attestations_refused_total{feed=\"acme\",reason=\"STALE\"}"), 2);
    assert_int_equal(
        must_sample(t, "custos_attestations_refused_total{feed=\"\",reason=\"STALE\"}"), 1);
    assert_int_equal(
        must_sample(t, "custos_attestations_refused_total{feed=\"\",reason=\"MALFORMED\"}"), 1);
    assert_int_equal(
        must_sample(t, "custos_attestations_refused_total{feed=\"acme\",reason=\"REPLAY\"}"), 0);
    assert_int_equal(
        must_sample(t, "custos_attestations_refused_total{feed=\"\",reason=\"RATE_LIMITED\"}"),
        2);
    assert_int_equal(must_sample(t, "custos_attestations_refused_total{feed=\"\",reason="
                                    "\"TOO_MANY_STREAMS\"}"),
                     1);
    assert_int_equal(must_sample(t, "custos_attestations_refused_total{feed=\"\",reason="
                                    "\"UNAUTHORIZED_CLIENT\"}"),
                     0);
    assert_int_equal(must_sample(t, "custos_requests_refused_total{kind=\"read\",reason="
                                    "\"UNAUTHORIZED_CLIENT\"}"),
                     1);
    assert_int_equal(must_sample(t, "custos_requests_refused_total{kind=\"admin\",reason="
                                    "\"UNAUTHORIZED_CLIENT\"}"),
                     2);
    assert_null(strstr(t, "attacker-feed"));
    assert_null(strstr(t, "reason=\"NONE\""));

    assert_int_equal(must_sample(t, "custos_feed_latest_asof_seconds{feed=\"acme\"}"), 1500);
    assert_int_equal(must_sample(t, "custos_feed_staleness_seconds{feed=\"acme\"}"), 100);
    assert_int_equal(must_sample(t, "custos_feed_max_age_seconds{feed=\"acme\"}"), 3600);
    /* A feed counted in business days has that limit, and no unused seconds one. */
    assert_int_equal(must_sample(t, "custos_feed_max_age_business_days{feed=\"days\"}"), 2);
    assert_null(strstr(t, "custos_feed_max_age_seconds{feed=\"days\"}"));
    assert_null(strstr(t, "custos_feed_max_age_business_days{feed=\"acme\"}"));
    /* Nothing accepted for the second feed: no made-up freshness. */
    double v;
    assert_int_equal(sample(t, "custos_feed_staleness_seconds{feed=\"we\\\"ird\\\\feed\"}", &v),
                     -1);
    assert_int_equal(must_sample(t, "custos_store_healthy"), 1);
    assert_int_equal(must_sample(t, "custos_store_head_cursor"), 3);
    assert_null(strstr(t, "custos_publisher_"));
    assert_non_null(strstr(t, "# TYPE custos_attestations_refused_total counter\n"));
    assert_non_null(strstr(t, "# HELP custos_attestations_accepted_total "));
    assert_non_null(strstr(t, "custos_build_info{version=\""));
    free(t);

    /* Staleness never goes negative for an asOf slightly in the future. */
    t = render(&live, 1400);
    assert_int_equal(must_sample(t, "custos_feed_staleness_seconds{feed=\"acme\"}"), 0);
    free(t);
}

static void test_label_escaping(void **state)
{
    (void)state;
    gw_metrics_live live = {.store_healthy = false};
    char *t = render(&live, 0);
    assert_int_equal(must_sample(t, "custos_feed_max_age_seconds{feed=\"we\\\"ird\\\\feed\"}"), 60);
    assert_int_equal(must_sample(t, "custos_store_healthy"), 0);
    free(t);

    char out[16];
    assert_true(gw_metrics_escape_label("a\nb\"c\\", out, sizeof out));
    assert_string_equal(out, "a\\nb\\\"c\\\\");
    assert_false(gw_metrics_escape_label("0123456789abcdef", out, sizeof out));
    assert_false(gw_metrics_escape_label("0123456789abcd\"", out, sizeof out));
    assert_true(gw_metrics_escape_label("0123456789abcde", out, sizeof out));
}

static void test_histograms(void **state)
{
    (void)state;
    /* Start marks in the past by known amounts: 30 µs, 3 ms and 2 s of verification. */
    uint64_t now = gw_metrics_clock();
    gw_metrics_observe_verify(now - 30000);
    gw_metrics_observe_verify(now - 3000000);
    gw_metrics_observe_verify(now - 2000000000);
    gw_metrics_observe_commit(gw_metrics_clock(), 1);
    gw_metrics_observe_commit(gw_metrics_clock(), 3);
    gw_metrics_observe_commit(gw_metrics_clock(), 5000);

    gw_metrics_live live = {.store_healthy = true};
    char *t = render(&live, 0);
    assert_int_equal(must_sample(t, "custos_verify_seconds_bucket{le=\"5e-05\"}"), 1);
    assert_int_equal(must_sample(t, "custos_verify_seconds_bucket{le=\"0.0025\"}"), 1);
    assert_int_equal(must_sample(t, "custos_verify_seconds_bucket{le=\"0.005\"}"), 2);
    assert_int_equal(must_sample(t, "custos_verify_seconds_bucket{le=\"0.1\"}"), 2);
    assert_int_equal(must_sample(t, "custos_verify_seconds_bucket{le=\"+Inf\"}"), 3);
    assert_int_equal(must_sample(t, "custos_verify_seconds_count"), 3);
    double sum = must_sample(t, "custos_verify_seconds_sum");
    assert_true(sum >= 2.003 && sum < 3.0);

    assert_int_equal(must_sample(t, "custos_commit_group_size_bucket{le=\"1\"}"), 1);
    assert_int_equal(must_sample(t, "custos_commit_group_size_bucket{le=\"2\"}"), 1);
    assert_int_equal(must_sample(t, "custos_commit_group_size_bucket{le=\"4\"}"), 2);
    assert_int_equal(must_sample(t, "custos_commit_group_size_bucket{le=\"1024\"}"), 2);
    assert_int_equal(must_sample(t, "custos_commit_group_size_bucket{le=\"+Inf\"}"), 3);
    assert_int_equal(must_sample(t, "custos_commit_group_size_sum"), 5004);
    assert_int_equal(must_sample(t, "custos_commit_seconds_count"), 3);
    assert_non_null(strstr(t, "# TYPE custos_commit_seconds histogram\n"));
    free(t);
}

static void test_publisher_block(void **state)
{
    (void)state;
    /* Two collateral notices after the newest record: the lag counts records alone. */
    gw_metrics_live live = {
        .store_healthy = true, .head = 12, .record_head = 10, .has_publisher = true};
    live.publisher.cursor = 7;
    live.publisher.last_published_cursor = 5;
    live.publisher.pending = 2;
    live.publisher.nonce = 42;
    live.publisher.published = 4;
    live.publisher.node_errors = 3;
    /* 2^64 + 5 wei: above one limb. */
    live.publisher.gas_spent_wei.limb[0] = 5;
    live.publisher.gas_spent_wei.limb[1] = 1;
    char *t = render(&live, 0);
    assert_int_equal(must_sample(t, "custos_publisher_leader"), 0);
    assert_int_equal(must_sample(t, "custos_publisher_serving"), 0);
    assert_int_equal(must_sample(t, "custos_publisher_lag_records"), 3);
    assert_int_equal(must_sample(t, "custos_publisher_relayer_nonce"), 42);
    assert_int_equal(must_sample(t, "custos_publisher_pending_transactions"), 2);
    assert_int_equal(must_sample(t, "custos_publisher_published_total"), 4);
    assert_int_equal(must_sample(t, "custos_publisher_node_errors_total"), 3);
    assert_true(must_sample(t, "custos_publisher_gas_spent_wei_total") ==
                18446744073709551616.0 + 5.0);
    free(t);
    /* Nothing known yet: no balance, no chain figures; each node by its position. */
    live.publisher.n_nodes = 2;
    t = render(&live, 0);
    assert_int_equal(must_sample(t, "custos_publisher_node_up{node=\"1\"}"), 0);
    assert_int_equal(must_sample(t, "custos_publisher_node_up{node=\"2\"}"), 0);
    assert_int_equal(must_sample(t, "custos_publisher_node_current"), 1);
    assert_null(strstr(t, "custos_publisher_relayer_balance_wei "));
    assert_null(strstr(t, "custos_publisher_chain_"));
    free(t);
    live.publisher.leader = true;
    live.publisher.node_up[1] = true;
    live.publisher.node_current = 1;
    live.publisher.balance_known = true;
    live.publisher.balance_wei.limb[0] = 1000;
    live.publisher.low_balance_wei.limb[0] = 5000;
    live.publisher.requeued = 6;
    live.publisher.fee_bumps = 4;
    live.publisher.reorged = 2;
    live.publisher.expiry_lead_seconds = 3600;
    live.publisher.chain_known = true;
    live.publisher.n_feeds = 2;
    snprintf(live.publisher.feeds[0].feed, sizeof live.publisher.feeds[0].feed, "%s", "a\"b");
    live.publisher.feeds[0].valuations = 3;
    live.publisher.feeds[0].zero_at = 1796000000;
    live.publisher.feeds[0].expired = 1;
    snprintf(live.publisher.feeds[1].feed, sizeof live.publisher.feeds[1].feed, "%s", "empty");
    t = render(&live, 0);
    assert_int_equal(must_sample(t, "custos_publisher_leader"), 1);
    assert_int_equal(must_sample(t, "custos_publisher_node_up{node=\"1\"}"), 0);
    assert_int_equal(must_sample(t, "custos_publisher_node_up{node=\"2\"}"), 1);
    assert_int_equal(must_sample(t, "custos_publisher_node_current"), 2);
    assert_int_equal(must_sample(t, "custos_publisher_relayer_balance_wei"), 1000);
    assert_int_equal(must_sample(t, "custos_publisher_relayer_low_balance_wei"), 5000);
    assert_int_equal(must_sample(t, "custos_publisher_requeued_total"), 6);
    assert_int_equal(must_sample(t, "custos_publisher_fee_bumps_total"), 4);
    assert_int_equal(must_sample(t, "custos_publisher_reorged_total"), 2);
    assert_int_equal(must_sample(t, "custos_publisher_expiry_lead_seconds"), 3600);
    assert_int_equal(must_sample(t, "custos_publisher_chain_valuations{feed=\"a\\\"b\"}"), 3);
    assert_true(must_sample(t, "custos_publisher_chain_expires_at_seconds{feed=\"a\\\"b\"}") ==
                1796000000.0);
    assert_int_equal(must_sample(t, "custos_publisher_chain_expired_accounts{feed=\"a\\\"b\"}"),
                     1);
    /* A feed with no valuation on-chain has no end to report. */
    assert_int_equal(must_sample(t, "custos_publisher_chain_valuations{feed=\"empty\"}"), 0);
    assert_null(strstr(t, "custos_publisher_chain_expires_at_seconds{feed=\"empty\"}"));
    free(t);
}

static void test_single_registry(void **state)
{
    (void)state;
    gw_config cfg;
    config_init(&cfg);
    custos_error err;
    custos_error_clear(&err);
    assert_int_equal(gw_metrics_init(&cfg, &err), CUSTOS_ERR_INVALID);
}

/* Without a registry every hook is a no-op and rendering says why it cannot. */
static void test_uninitialised(void **state)
{
    (void)state;
    gw_metrics_shutdown();
    gw_submit_outcome acc = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    gw_metrics_observe_outcome("acme", 1, &acc);
    gw_metrics_observe_verify(gw_metrics_clock());
    gw_metrics_observe_commit(gw_metrics_clock(), 1);
    gw_metrics_count_refusal(CUSTOS_REASON_MALFORMED);
    gw_metrics_live live = {.store_healthy = true};
    char *text = NULL;
    size_t len = 0;
    custos_error err;
    custos_error_clear(&err);
    assert_int_equal(gw_metrics_render(&live, 0, &text, &len, &err), CUSTOS_ERR_INVALID);
    assert_null(text);
    /* The group teardown shuts down again: safe with nothing installed. */
    gw_config cfg;
    config_init(&cfg);
    assert_int_equal(gw_metrics_init(&cfg, &err), CUSTOS_OK);
    char *t = render(&live, 0);
    assert_int_equal(must_sample(t, "custos_attestations_accepted_total{feed=\"acme\"}"), 0);
    /* No feed counts business days: no calendar, no coverage gauge. */
    double v;
    assert_int_equal(sample(t, "custos_calendar_covered_until_seconds", &v), -1);
    free(t);
}

/* ---- The HTTP endpoint ---- */

typedef struct body {
    char data[65536];
    size_t len;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    body *b = ctx;
    size_t len = size * n;
    if (b->len + len >= sizeof b->data)
        return 0;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

static long http(const char *url, const char *method, body *b, char *ctype, size_t ccap)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    b->len = 0;
    b->data[0] = '\0';
    assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, b), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L), CURLE_OK);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    long status = 0;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
    char *ct = NULL;
    assert_int_equal(curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct), CURLE_OK);
    snprintf(ctype, ccap, "%s", ct != NULL ? ct : "");
    curl_easy_cleanup(c);
    return status;
}

static void test_http_endpoint(void **state)
{
    (void)state;
    char dir[1024];
    tu_mkdtemp(dir, sizeof dir);
    gw_config cfg;
    config_init(&cfg);
    snprintf(cfg.store_path, sizeof cfg.store_path, "%s/custos.db", dir);
    snprintf(cfg.metrics.listen, sizeof cfg.metrics.listen, "127.0.0.1:0");
    cfg.metrics.enabled = true;
    custos_error err;
    gw_engine *engine = NULL;
    if (gw_engine_new(&cfg, &engine, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    gw_metrics_http *h = NULL;
    if (gw_metrics_http_new(&cfg, engine, NULL, &h, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    int port = gw_metrics_http_port(h);
    assert_true(port > 0 && port < 65536);

    static body b;
    char url[128], ctype[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    assert_int_equal(http(url, "GET", &b, ctype, sizeof ctype), 200);
    assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_int_equal(must_sample(b.data, "custos_store_healthy"), 1);
    assert_int_equal(must_sample(b.data, "custos_store_head_cursor"), 0);
    assert_int_equal(b.data[b.len - 1], '\n');

    /* Liveness, readiness by both its names; no publisher without [evm]. */
    const struct {
        const char *path;
        long status;
        const char *body;
    } probes[] = {
        {"/livez", 200, "alive\n"},
        {"/readyz", 200, "ready\n"},
        {"/healthz", 200, "ready\n"},
        {"/publisherz", 404, "no publisher: the config has no [evm]\n"},
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, probes[i].path);
        assert_int_equal(http(url, "GET", &b, ctype, sizeof ctype), probes[i].status);
        assert_string_equal(b.data, probes[i].body);
    }
    assert_int_equal(http(url, "POST", &b, ctype, sizeof ctype), 405);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/status", port);
    assert_int_equal(http(url, "GET", &b, ctype, sizeof ctype), 200);
    assert_string_equal(ctype, "application/json");
    assert_non_null(strstr(b.data, "\"backend\": \"sqlite\""));
    assert_non_null(strstr(b.data, "\"chain\": null"));
    assert_non_null(strstr(b.data, "\"drift\": null"));
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    assert_int_equal(http(url, "GET", &b, ctype, sizeof ctype), 404);

    gw_metrics_http_free(h);
    gw_engine_free(engine);
    tu_rmtree(dir);
}

/* The drift check's report as gauges: per feed the allow-list counts, the policy fields,
 * whether the feed's policy could be compared, and whether the adapter's logs were read
 * to the end. Nothing but the check's time and failing flag before a first check. */
static void test_drift_gauges(void **state)
{
    (void)state;
    gw_drift_feed feed;
    memset(&feed, 0, sizeof feed);
    snprintf(feed.feed, sizeof feed.feed, "acme-custody");
    feed.signers = 2;
    feed.accounts = 1;
    feed.policy[GW_POLICY_THRESHOLD].drift = true;
    gw_drift_report r;
    memset(&r, 0, sizeof r);
    gw_metrics_live live;
    memset(&live, 0, sizeof live);
    live.store_healthy = true;
    live.drift = &r;
    char *text = render(&live, 1000);
    double v = -1;
    assert_int_equal(sample(text, "custos_allowlist_drift_check_failing", &v), 0);
    assert_true(v == 0);
    assert_null(strstr(text, "custos_allowlist_drift_logs_unread"));
    free(text);

    r.checked_at = 990;
    r.feeds = &feed;
    r.n_feeds = 1;
    snprintf(r.logs_error, sizeof r.logs_error, "block range too large");
    snprintf(feed.policy_error, sizeof feed.policy_error, "feed(bytes32) reverted");
    text = render(&live, 1000);
    static const struct {
        const char *series;
        double want;
    } want[] = {
        {"custos_allowlist_drift{feed=\"acme-custody\",kind=\"signers\"}", 2},
        {"custos_allowlist_drift{feed=\"acme-custody\",kind=\"accounts\"}", 1},
        {"custos_policy_drift{feed=\"acme-custody\",field=\"threshold\"}", 1},
        {"custos_policy_drift{feed=\"acme-custody\",field=\"max_skew\"}", 0},
        {"custos_policy_drift_unchecked{feed=\"acme-custody\"}", 1},
        {"custos_allowlist_drift_logs_unread", 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (sample(text, want[i].series, &v) != 0 || v != want[i].want)
            fail_msg("%s: %g, want %g", want[i].series, v, want[i].want);
    }
    free(text);

    r.logs_error[0] = '\0';
    feed.policy_error[0] = '\0';
    text = render(&live, 1000);
    assert_int_equal(sample(text, "custos_allowlist_drift_logs_unread", &v), 0);
    assert_true(v == 0);
    assert_int_equal(sample(text, "custos_policy_drift_unchecked{feed=\"acme-custody\"}", &v),
                     0);
    assert_true(v == 0);
    free(text);
}

/* /status shows node URLs without whatever may carry an API key. */
static void test_status_redact_url(void **state)
{
    (void)state;
    static const struct {
        const char *url, *shown;
    } cases[] = {
        {"http://127.0.0.1:8545", "http://127.0.0.1:8545"},
        {"http://127.0.0.1:8545/", "http://127.0.0.1:8545"},
        {"https://mainnet.infura.io/v3/0123abcd", "https://mainnet.infura.io/..."},
        {"https://node.example:8545/?apikey=SECRET", "https://node.example:8545/..."},
        {"https://user:SECRET@node.example", "https://node.example/..."},
        {"https://a@b:SECRET@node.example/x", "https://node.example/..."},
        {"http://[::1]:8545#frag", "http://[::1]:8545/..."},
        {"node.example:8545", "(hidden)"},
        {"http://SECRET@", "(hidden)"},
        {"://host", "(hidden)"},
        {"node.example/?k=SECRET://h", "(hidden)"},
        {"1http://h", "(hidden)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        gw_status_redact_url(cases[i].url, out, sizeof out);
        assert_string_equal(out, cases[i].shown);
    }
    char tiny[12];
    gw_status_redact_url("https://node.example:8545", tiny, sizeof tiny);
    assert_string_equal(tiny, "(hidden)");
}

static void test_http_bad_address(void **state)
{
    (void)state;
    gw_config cfg;
    config_init(&cfg);
    custos_error err;
    gw_metrics_http *h = NULL;
    snprintf(cfg.metrics.listen, sizeof cfg.metrics.listen, "localhost:0");
    custos_error_clear(&err);
    assert_int_equal(gw_metrics_http_new(&cfg, NULL, NULL, &h, &err), CUSTOS_ERR_INVALID);
    assert_null(h);
    assert_non_null(strstr(err.message, "numeric"));
}

/* custos_feed_stale_at_seconds: asOf + max_age + 1 for a feed in seconds; for a feed in
 * business days (2 here), 00:00 New York on the third business day after asOf's date. */
static void test_stale_at(void **state)
{
    (void)state;
    static const struct {
        uint64_t as_of, stale_at;
        const char *why;
    } cases[] = {
        /* Friday 16:00 EDT: Monday, Tuesday, stale from Wednesday 00:00 EST (05:00Z). */
        {1793390400, 1793768400, "over the end of daylight-saving time"},
        /* Wednesday before Thanksgiving: Friday, Monday, stale from Tuesday. */
        {1795636800, 1796101200, "over the Thanksgiving close"},
        /* Friday: Monday, Tuesday, stale from Wednesday. */
        {1796418000, 1796792400, "over a weekend"},
        /* The third business day is in 2027, which the calendar does not cover: the
         * gateway refuses such an asOf already, so it is stale from asOf. */
        {1798747200, 1798747200, "beyond the calendar"},
    };
    gw_submit_outcome acc = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    gw_metrics_live live = {.store_healthy = true};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_metrics_observe_outcome("days", cases[i].as_of, &acc);
        char *t = render(&live, cases[i].as_of);
        double v = must_sample(t, "custos_feed_stale_at_seconds{feed=\"days\"}");
        if (v != (double)cases[i].stale_at)
            fail_msg("%s: stale_at %.0f, want %llu", cases[i].why, v,
                     (unsigned long long)cases[i].stale_at);
        /* Newest asOf 1500 and max_age 3600 (test_counts_by_feed_and_reason). */
        assert_int_equal(must_sample(t, "custos_feed_stale_at_seconds{feed=\"acme\"}"), 5101);
        assert_int_equal(sample(t, "custos_feed_stale_at_seconds{feed=\"we\\\"ird\\\\feed\"}",
                                &v),
                         -1);
        free(t);
    }
}

/* custos_calendar_covered_until_seconds: where the calendar in force ends; a reload that
 * brings the next year moves it, and stale_at with it. */
static void test_calendar_coverage(void **state)
{
    (void)state;
    gw_metrics_live live = {.store_healthy = true};
    char *t = render(&live, 1798747200);
    /* 2027-01-01T05:00:00Z: midnight in New York after the last covered year. */
    assert_int_equal(must_sample(t, "custos_calendar_covered_until_seconds"), 1798779600);
    free(t);

    static const char next[] = "covers 2026 2027\n2026-11-26  # Thanksgiving Day\n"
                               "2027-01-01  # New Year's Day\n";
    custos_calendar cal;
    custos_error err;
    assert_int_equal(custos_calendar_parse("cal.txt", next, strlen(next), &cal, &err),
                     CUSTOS_OK);
    gw_feed feeds[3];
    memcpy(feeds, FEEDS, sizeof feeds);
    feeds[2].calendar = &cal;
    gw_metrics_set_feed_limits(feeds, 3);
    custos_calendar_free(&cal); /* the registry keeps its own copy */
    gw_submit_outcome acc = outcome(CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    /* Thursday 2026-12-31 16:00 EST: Monday 01-04, Tuesday 01-05, stale from Wednesday
     * 2027-01-06 00:00 EST; beyond the old calendar, within the new one. */
    gw_metrics_observe_outcome("days", 1798750800, &acc);
    t = render(&live, 1798750800);
    assert_int_equal(must_sample(t, "custos_calendar_covered_until_seconds"), 1830315600);
    assert_int_equal(must_sample(t, "custos_feed_stale_at_seconds{feed=\"days\"}"), 1799211600);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_by_feed_and_reason),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_stale_at),
        cmocka_unit_test(test_calendar_coverage),
        cmocka_unit_test(test_histograms),
        cmocka_unit_test(test_publisher_block),
        cmocka_unit_test(test_single_registry),
        cmocka_unit_test(test_uninitialised),
        cmocka_unit_test(test_http_endpoint),
        cmocka_unit_test(test_http_bad_address),
        cmocka_unit_test(test_status_redact_url),
        cmocka_unit_test(test_drift_gauges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
