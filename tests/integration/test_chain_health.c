/* A chain outage is the publisher's, never the gateway's readiness (docs/operations.md §9):
 * the real gateway with [evm] on an anvil (from node_modules) and [metrics] on a free
 * port. With anvil up the publisher's health (gRPC custos.v1.Publisher, /publisherz) is
 * SERVING and /status shows the node up at a block. Once anvil is stopped: gRPC health ""
 * and custos.v1.AttestationGateway stay SERVING, /livez, /readyz and /healthz stay 200,
 * submissions are still accepted and read back, while custos.v1.Publisher turns
 * NOT_SERVING, /publisherz 503, custos_publisher_serving 0 and /status shows the node
 * down with its error, and a submission short of its quorum as the oldest pending. The
 * node's URL carries a password that /status must not show. Anvil started again brings
 * the publisher back. A health Watch opened before the outage, by an independent client
 * (Python grpcio, tests/tools/grpc_client.py), is told each change as it happens:
 * custos.v1.Publisher SERVING, NOT_SERVING, SERVING again, while the gateway's own
 * service says SERVING once and nothing more. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "custos/client.h"
#include "anvil.h"
#include "gwfixture.h"

/* anvil's well-known development key 1: a public test key. */
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
/* In the node's URL: basic auth anvil ignores, which /status must not show. */
#define URL_SECRET "s3cretpassw0rd"
/* Bounds only: the publisher retries with a back-off of up to 30 s. */
#define WAIT_MS 60000

static gwf F;
static tu_proc ANVIL;
static int NODE_PORT;
static int METRICS_PORT;

typedef struct buf {
    char *data;
    size_t len;
} buf;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    buf *b = ctx;
    size_t len = size * n;
    char *d = realloc(b->data, b->len + len + 1);
    if (d == NULL)
        return 0;
    memcpy(d + b->len, p, len);
    b->data = d;
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* GET path on the metrics port; returns the HTTP status (0 when nothing answered), the
 * body in *out (malloc'd, may be NULL) when out is not NULL. */
static long http_get(const char *path, char **out)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", METRICS_PORT, path);
    buf b = {NULL, 0};
    CURL *c = curl_easy_init();
    assert_non_null(c);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, &b), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L), CURLE_OK);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
    curl_easy_cleanup(c);
    if (out != NULL)
        *out = b.data;
    else
        free(b.data);
    return status;
}

/* GET /status as JSON; the caller json_decref's it. */
static json_t *get_status(void)
{
    char *body = NULL;
    assert_int_equal(http_get("/status", &body), 200);
    assert_non_null(body);
    /* The node URL's credentials never reach the page. */
    if (strstr(body, URL_SECRET) != NULL)
        fail_msg("/status shows the node URL's password:\n%s", body);
    json_error_t jerr;
    json_t *st = json_loads(body, 0, &jerr);
    if (st == NULL)
        fail_msg("/status is not JSON (%s):\n%s", jerr.text, body);
    free(body);
    return st;
}

static void start_anvil(void)
{
    char port[16], anvil_log[1200];
    snprintf(port, sizeof port, "%d", NODE_PORT);
    snprintf(anvil_log, sizeof anvil_log, "%s/anvil.log", F.dir);
    const char *argv[] = {TU_ANVIL_BIN, "--host", "127.0.0.1", "--port", port, "--silent", NULL};
    tu_spawn(&ANVIL, argv, anvil_log);
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gwf_init(&F);
    gwf_write_config(&F);
    char key_path[1200];
    gwf_write_relayer_key(&F, RELAYER_KEY, key_path, sizeof key_path);
    char node_url[128];
    assert_int_equal(tu_anvil_start(&ANVIL, F.dir, node_url, sizeof node_url), 0);
    const char *colon = strrchr(node_url, ':');
    assert_non_null(colon);
    NODE_PORT = atoi(colon + 1);
    assert_true(NODE_PORT > 0);
    char *ini = tu_read_file(F.config_path);
    assert_non_null(ini);
    size_t cap = strlen(ini) + 4096;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(text, cap,
             "%s[evm]\nrpc_url = http://custos:" URL_SECRET "@127.0.0.1:%d\nrelayer_key = %s\n"
             "poll_interval_ms = 100\nunreachable_after_ms = 500\n\n"
             "[metrics]\nlisten = 127.0.0.1:0\nport_file = %s/metrics.port\n",
             ini, NODE_PORT, key_path, F.dir);
    tu_write_file(F.config_path, text);
    free(text);
    free(ini);
    gwf_start(&F);
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.port", F.dir);
    char *port = tu_read_file(path);
    assert_non_null(port);
    METRICS_PORT = atoi(port);
    free(port);
    assert_true(METRICS_PORT > 0);
    return 0;
}

/* Health Watch streams, by an independent client, open from before the outage to after. */
#define PYTHON "/usr/bin/python3"
#define GRPC_CLIENT CUSTOS_SOURCE_DIR "/tests/tools/grpc_client.py"
static tu_proc WATCH_PUB, WATCH_GW;
static char watch_pub_log[1200], watch_gw_log[1200];

static int group_teardown(void **state)
{
    (void)state;
    if (WATCH_PUB.pid > 0)
        tu_stop(&WATCH_PUB, SIGTERM, 5000);
    if (WATCH_GW.pid > 0)
        tu_stop(&WATCH_GW, SIGTERM, 5000);
    if (ANVIL.pid > 0)
        tu_stop(&ANVIL, SIGTERM, 5000);
    gwf_cleanup(&F);
    curl_global_cleanup();
    return 0;
}

static bool health_of(const char *service)
{
    bool serving = false;
    custos_error err;
    if (custos_client_health_service(F.client, service, &serving, &err) != CUSTOS_OK)
        fail_msg("Health/Check of '%s': %s", service, err.message);
    return serving;
}

/* Polls the publisher's gRPC health until it reports `serving`; fails after WAIT_MS. */
static void wait_publisher(bool serving)
{
    for (int64_t deadline = tu_now_ms() + WAIT_MS; tu_now_ms() < deadline; tu_sleep_ms(100))
        if (health_of("custos.v1.Publisher") == serving)
            return;
    gwf_dump_log(&F);
    fail_msg("publisher health did not become %s within %d s",
             serving ? "SERVING" : "NOT_SERVING", WAIT_MS / 1000);
}

/* The gateway's readiness, by every name it has. */
static void assert_ready(void)
{
    assert_true(health_of(""));
    assert_true(health_of("custos.v1.AttestationGateway"));
    assert_int_equal(http_get("/livez", NULL), 200);
    assert_int_equal(http_get("/readyz", NULL), 200);
    assert_int_equal(http_get("/healthz", NULL), 200);
}

/* custos health [--service NAME] against the gateway: its exit status and output. */
static void assert_cli_health(const char *service, int want_status, const char *want_out)
{
    char out[256];
    const char *argv[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, "--insecure",
                          service != NULL ? "--service" : NULL, service, NULL};
    int status = tu_run(argv, out, sizeof out, 0);
    if (status != want_status || strcmp(out, want_out) != 0)
        fail_msg("custos health --service %s: exit %d, '%s'; want %d, '%s'",
                 service != NULL ? service : "(none)", status, out, want_status, want_out);
}

/* /status's one node: up or not, and its redacted URL. */
static void assert_node(json_t *st, bool up)
{
    json_t *node = json_array_get(json_object_get(json_object_get(st, "chain"), "nodes"), 0);
    assert_non_null(node);
    assert_int_equal(json_is_true(json_object_get(node, "up")), up);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/...", NODE_PORT);
    assert_string_equal(json_string_value(json_object_get(node, "url")), url);
    if (up) {
        assert_true(json_is_integer(json_object_get(node, "block")));
    } else {
        assert_true(json_is_string(json_object_get(node, "last_error")));
    }
    assert_int_equal(json_is_true(json_object_get(json_object_get(st, "publisher"), "serving")),
                     up);
    assert_true(json_is_true(json_object_get(json_object_get(st, "store"), "ok")));
    /* The drift check runs with [evm] (drift_check_seconds defaults to 300): its section is
     * an object, whose content test_allowlist_drift checks. */
    assert_true(json_is_object(json_object_get(st, "drift")));
}

static void submit_accepted(const char *ref)
{
    custos_submission s;
    gwf_make(&F, &s, ref, 1, 1000000);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    custos_submit_result r;
    custos_error err;
    if (gwf_submit(&F, &s, &r, &err) != CUSTOS_OK)
        fail_msg("refused during the chain outage: %s", err.message);
    assert_int_equal(r.state, CUSTOS_STATE_ACCEPTED);
    custos_record rec;
    assert_int_equal(custos_client_get_latest(F.client, s.att.account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.cursor, r.cursor);
    custos_record_clear(&rec);
    custos_submission_clear(&s);
}

/* The statuses a health-watch client printed, space-separated, into out. */
static void watched(const char *log_path, char *out, size_t cap)
{
    out[0] = '\0';
    char *log = tu_read_file(log_path);
    size_t len = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, "{\"status\": \"")) != NULL;) {
        p += strlen("{\"status\": \"");
        size_t n = strcspn(p, "\"");
        int w = snprintf(out + len, cap - len, "%s%.*s", len > 0 ? " " : "", (int)n, p);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    free(log);
}

/* A health Watch of service, in the background, printing into log_path. */
static void start_watch(tu_proc *p, const char *service, const char *count, char *log_path,
                        size_t cap)
{
    snprintf(log_path, cap, "%s/health-watch-%s.log", F.dir,
             service[0] != '\0' ? service : "gateway");
    const char *argv[] = {PYTHON, GRPC_CLIENT, "health-watch", F.target, service, count,
                          "300", NULL};
    tu_spawn(p, argv, log_path);
    /* Its first status says the stream is open. */
    char seen[256] = "";
    for (int64_t deadline = tu_now_ms() + WAIT_MS; tu_now_ms() < deadline; tu_sleep_ms(100)) {
        watched(log_path, seen, sizeof seen);
        if (seen[0] != '\0')
            return;
    }
    char *log = tu_read_file(log_path);
    fail_msg("the health Watch of '%s' received nothing: %s", service, log ? log : "");
    free(log);
}

static void test_node_up(void **state)
{
    (void)state;
    wait_publisher(true);
    start_watch(&WATCH_PUB, "custos.v1.Publisher", "3", watch_pub_log, sizeof watch_pub_log);
    start_watch(&WATCH_GW, "", "2", watch_gw_log, sizeof watch_gw_log);
    assert_ready();
    assert_int_equal(http_get("/publisherz", NULL), 200);
    json_t *st = get_status();
    assert_node(st, true);
    json_t *pending = json_object_get(st, "pending");
    assert_int_equal(json_integer_value(json_object_get(pending, "count")), 0);
    assert_true(json_is_null(json_object_get(pending, "oldest_first_seen")));
    json_decref(st);
}

static void test_outage_is_the_publishers_alone(void **state)
{
    (void)state;
    tu_stop(&ANVIL, SIGTERM, 5000);
    wait_publisher(false);
    assert_ready();
    assert_int_equal(http_get("/publisherz", NULL), 503);
    assert_cli_health(NULL, 0, "SERVING\n");
    assert_cli_health("custos.v1.Publisher", 2, "NOT_SERVING\n");
    char *metrics = NULL;
    assert_int_equal(http_get("/metrics", &metrics), 200);
    assert_non_null(strstr(metrics, "\ncustos_publisher_serving 0\n"));
    assert_non_null(strstr(metrics, "\ncustos_store_healthy 1\n"));
    free(metrics);
    json_t *st = get_status();
    assert_node(st, false);
    json_decref(st);
    submit_accepted("acct-during-outage");
    /* Still ready after accepting: the outage never reached the store. */
    assert_ready();

    /* One signature of two: it waits, and /status says since when. */
    custos_submission s;
    gwf_make(&F, &s, "acct-pending", 1, 1000000);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    custos_submit_result r;
    custos_error err;
    uint64_t before = gwf_now();
    assert_int_equal(gwf_submit(&F, &s, &r, &err), CUSTOS_OK);
    assert_int_equal(r.state, CUSTOS_STATE_PENDING);
    custos_submission_clear(&s);
    st = get_status();
    json_t *pending = json_object_get(st, "pending");
    assert_int_equal(json_integer_value(json_object_get(pending, "count")), 1);
    json_int_t oldest = json_integer_value(json_object_get(pending, "oldest_first_seen"));
    /* time(2), which gwf_now reads, may lag the gateway's CLOCK_REALTIME by a tick. */
    if (oldest + 1 < (json_int_t)before || oldest > (json_int_t)gwf_now() + 1)
        fail_msg("oldest_first_seen %lld, submitted at %llu", (long long)oldest,
                 (unsigned long long)before);
    json_decref(st);
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.dir);
    char *log = tu_read_file(path);
    assert_non_null(log);
    assert_non_null(strstr(log, "publisher.node_down"));
    free(log);
}

static void test_node_back(void **state)
{
    (void)state;
    start_anvil();
    wait_publisher(true);
    assert_int_equal(http_get("/publisherz", NULL), 200);
    assert_cli_health("custos.v1.Publisher", 0, "SERVING\n");
    assert_ready();
    /* Each change reached the Watch streams opened before the outage, and nothing else. */
    char seen[256] = "";
    for (int64_t deadline = tu_now_ms() + WAIT_MS; tu_now_ms() < deadline; tu_sleep_ms(100)) {
        watched(watch_pub_log, seen, sizeof seen);
        if (strcmp(seen, "SERVING NOT_SERVING SERVING") == 0)
            break;
    }
    if (strcmp(seen, "SERVING NOT_SERVING SERVING") != 0)
        fail_msg("the publisher's health Watch received '%s'", seen);
    tu_stop(&WATCH_PUB, SIGTERM, 5000);
    watched(watch_gw_log, seen, sizeof seen);
    assert_string_equal(seen, "SERVING");
    tu_stop(&WATCH_GW, SIGTERM, 5000);
    assert_int_equal(gwf_stop(&F), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_up),
        cmocka_unit_test(test_outage_is_the_publishers_alone),
        cmocka_unit_test(test_node_back),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
