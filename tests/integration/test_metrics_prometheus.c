/* The real custos-gateway with [metrics] on a free port, scraped by a real Prometheus
 * every second: after a few good and bad submissions the counters Prometheus stored
 * must be the expected ones, the exposition must pass `promtool check metrics`, the
 * alert rules of deploy/prometheus must load and evaluate, and every query of the
 * Grafana dashboard must run and name only metrics the gateway exports. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/reason.h"

#include "gwfixture.h"

#define WAIT_MS 30000

static gwf F;
static tu_proc PROM;
static int METRICS_PORT, PROM_PORT;

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

/* GET url; returns the HTTP status (0 when nothing answered), body in *out (malloc'd). */
static long http_get(const char *url, char **out)
{
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
    *out = b.data;
    return status;
}

static void append_file(const char *path, const char *text)
{
    char *old = tu_read_file(path);
    assert_non_null(old);
    size_t cap = strlen(old) + strlen(text) + 1;
    char *all = malloc(cap);
    assert_non_null(all);
    snprintf(all, cap, "%s%s", old, text);
    tu_write_file(path, all);
    free(old);
    free(all);
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gwf_init(&F);
    gwf_write_config(&F);
    char text[2200];
    snprintf(text, sizeof text, "[metrics]\nlisten = 127.0.0.1:0\nport_file = %s/metrics.port\n",
             F.dir);
    append_file(F.config_path, text);
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

static int group_teardown(void **state)
{
    (void)state;
    int prom = PROM.pid > 0 ? tu_stop(&PROM, SIGTERM, 10000) : 0;
    int status = gwf_stop(&F);
    if (status != 0)
        gwf_dump_log(&F);
    gwf_cleanup(&F);
    curl_global_cleanup();
    if (status != 0 || prom != 0) {
        fprintf(stderr, "custos-gateway exited %d, prometheus %d\n", status, prom);
        return -1;
    }
    return 0;
}

static void submit(custos_submission *s, custos_reason want_reason, custos_state want_state)
{
    gwf_answer a;
    gwf_submit_answer(&F, s, &a);
    if (a.err.reason != want_reason ||
        (want_reason == CUSTOS_REASON_NONE && (a.rc != CUSTOS_OK || a.res.state != want_state)))
        fail_msg("submission answered %s (%s), state %d", custos_reason_name(a.err.reason),
                 a.err.message, a.res.state);
    custos_submission_clear(s);
}

/* Two accepted, one pending, two stale, one from an unknown signer. */
static void test_submit_mix(void **state)
{
    (void)state;
    custos_submission s;
    uint64_t now = gwf_now();
    for (int i = 0; i < 2; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "METRICS-OK-%d", i);
        gwf_make(&F, &s, ref, 1, 1000000);
        gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
        gwf_sign(&F, &s, GWF_KEY_AGENT);
        submit(&s, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED);
    }
    gwf_make(&F, &s, "METRICS-PENDING", 1, 1000000);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    submit(&s, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING);
    for (int i = 0; i < 2; i++) {
        gwf_make(&F, &s, "METRICS-STALE", 1, 1000000);
        gwf_set_times(&s, now - GWF_MAX_AGE - 100 - (uint64_t)i, now + 3600);
        gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
        gwf_sign(&F, &s, GWF_KEY_AGENT);
        submit(&s, CUSTOS_REASON_STALE, CUSTOS_STATE_UNSPECIFIED);
    }
    gwf_make(&F, &s, "METRICS-UNKNOWN", 1, 1000000);
    gwf_sign(&F, &s, GWF_KEY_UNKNOWN);
    submit(&s, CUSTOS_REASON_UNKNOWN_SIGNER, CUSTOS_STATE_UNSPECIFIED);
}

static void test_promtool_check_metrics(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", METRICS_PORT);
    char *body = NULL;
    assert_int_equal(http_get(url, &body), 200);
    assert_non_null(body);
    char path[1200];
    snprintf(path, sizeof path, "%s/exposition.txt", F.dir);
    tu_write_file(path, body);
    free(body);
    /* promtool reads the exposition on stdin. */
    char cmd[2600];
    snprintf(cmd, sizeof cmd, "'%s' check metrics < '%s' 2>&1", CUSTOS_PROMTOOL, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (status != 0)
        fail_msg("promtool check metrics (status %d):\n%s", status, out);
}

static void test_start_prometheus(void **state)
{
    (void)state;
    char yml[1200], tsdb[1200], log[1200], text[4096];
    snprintf(yml, sizeof yml, "%s/prometheus.yml", F.dir);
    snprintf(tsdb, sizeof tsdb, "%s/tsdb", F.dir);
    snprintf(log, sizeof log, "%s/prometheus.log", F.dir);
    snprintf(text, sizeof text,
             "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
             "rule_files:\n  - %s/deploy/prometheus/alerts.yaml\n"
             "scrape_configs:\n  - job_name: custos-gateway\n    static_configs:\n"
             "      - targets: ['127.0.0.1:%d']\n",
             CUSTOS_SOURCE_DIR, METRICS_PORT);
    tu_write_file(yml, text);
    PROM_PORT = tu_free_port();
    char cfg_arg[1300], tsdb_arg[1300], listen_arg[64];
    snprintf(cfg_arg, sizeof cfg_arg, "--config.file=%s", yml);
    snprintf(tsdb_arg, sizeof tsdb_arg, "--storage.tsdb.path=%s", tsdb);
    snprintf(listen_arg, sizeof listen_arg, "--web.listen-address=127.0.0.1:%d", PROM_PORT);
    const char *argv[] = {CUSTOS_PROMETHEUS, cfg_arg, tsdb_arg, listen_arg, NULL};
    tu_spawn(&PROM, argv, log);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/-/ready", PROM_PORT);
    for (int waited = 0;; waited += 200) {
        char *body = NULL;
        long st = http_get(url, &body);
        free(body);
        if (st == 200)
            break;
        if (waited >= WAIT_MS) {
            char *l = tu_read_file(log);
            fail_msg("prometheus not ready after %d ms:\n%s", WAIT_MS, l ? l : "");
        }
        usleep(200 * 1000);
    }
}

/* /api/v1/<path> with `query` URL-encoded; the parsed "data" member (caller decrefs). */
static json_t *prom_api(const char *path, const char *param, const char *query)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char *esc = query != NULL ? curl_easy_escape(c, query, 0) : NULL;
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/%s%s%s%s", PROM_PORT, path,
             esc != NULL ? "?" : "", esc != NULL ? param : "", esc != NULL ? esc : "");
    curl_free(esc);
    curl_easy_cleanup(c);
    char *body = NULL;
    long st = http_get(url, &body);
    json_error_t jerr;
    json_t *root = body != NULL ? json_loads(body, 0, &jerr) : NULL;
    json_t *data = NULL;
    const char *status = json_string_value(json_object_get(root, "status"));
    if (st == 200 && status != NULL && strcmp(status, "success") == 0)
        data = json_incref(json_object_get(root, "data"));
    else
        fprintf(stderr, "prometheus %s (%s): HTTP %ld %s\n", path, query ? query : "", st,
                body ? body : "");
    json_decref(root);
    free(body);
    return data;
}

/* The single value of an instant query, or -1 while the result is empty. */
static double prom_value(const char *query)
{
    json_t *data = prom_api("query", "query=", query);
    assert_non_null(data);
    json_t *result = json_object_get(data, "result");
    double v = -1;
    if (json_array_size(result) == 1) {
        const char *s = json_string_value(json_array_get(json_object_get(json_array_get(result, 0),
                                                                           "value"), 1));
        if (s != NULL)
            v = strtod(s, NULL);
    } else if (json_array_size(result) > 1) {
        fail_msg("%s: %zu series, expected one", query, json_array_size(result));
    }
    json_decref(data);
    return v;
}

static void wait_value(const char *query, double want)
{
    double v = -1;
    for (int waited = 0; waited <= WAIT_MS; waited += 500) {
        v = prom_value(query);
        if (v == want)
            return;
        usleep(500 * 1000);
    }
    fail_msg("%s: %g after %d ms, expected %g", query, v, WAIT_MS, want);
}

static void test_prometheus_has_the_counts(void **state)
{
    (void)state;
    wait_value("custos_attestations_accepted_total{feed=\"" GWF_FEED "\"}", 2);
    wait_value("custos_attestations_pending_total{feed=\"" GWF_FEED "\"}", 1);
    wait_value("custos_attestations_refused_total{feed=\"" GWF_FEED "\",reason=\"STALE\"}", 2);
    wait_value("sum(custos_attestations_refused_total{reason=\"UNKNOWN_SIGNER\"})", 1);
    wait_value("sum(custos_attestations_refused_total)", 3);
    wait_value("custos_verify_seconds_count", 6);
    wait_value("custos_commit_group_size_sum", 3);
    wait_value("custos_store_healthy", 1);
    wait_value("up{job=\"custos-gateway\"}", 1);
    /* The accepted attestations were made 60 s before submission (gwf_make). */
    double staleness = prom_value("custos_feed_staleness_seconds{feed=\"" GWF_FEED "\"}");
    assert_true(staleness >= 60 && staleness < 60 + 120);
    wait_value("custos_feed_staleness_seconds{feed=\"" GWF_OTHER_FEED "\"}", -1);
}

static void test_alert_rules_evaluate(void **state)
{
    (void)state;
    /* Every rule must have been evaluated without error at least once. */
    for (int waited = 0;; waited += 500) {
        json_t *data = prom_api("rules", "", NULL);
        assert_non_null(data);
        size_t rules = 0, ok = 0;
        json_t *group;
        size_t gi;
        json_array_foreach(json_object_get(data, "groups"), gi, group) {
            json_t *rule;
            size_t ri;
            json_array_foreach(json_object_get(group, "rules"), ri, rule) {
                rules++;
                const char *health = json_string_value(json_object_get(rule, "health"));
                if (health != NULL && strcmp(health, "ok") == 0)
                    ok++;
                else if (health != NULL && strcmp(health, "err") == 0)
                    fail_msg("rule %s: %s",
                             json_string_value(json_object_get(rule, "name")),
                             json_string_value(json_object_get(rule, "lastError")));
            }
        }
        json_decref(data);
        if (rules > 0 && ok == rules)
            return;
        if (waited >= WAIT_MS)
            fail_msg("%zu of %zu alert rules evaluated ok after %d ms", ok, rules, WAIT_MS);
        usleep(500 * 1000);
    }
}

static char *METRICS_SOURCE, *MANAGER_SOURCE;

/* The names of the custos_* series the gateway exports, from the exposition's TYPE lines
 * (histograms add _bucket, _sum and _count). The publisher's series exist only with [evm]:
 * those are taken from the registry's source; the collateral manager's (custos_loan_*,
 * custos-attestor manage's text file) from the table of its source, attestor/manage_metrics.c. */
static int exported(const char *exposition, const char *name)
{
    if (strncmp(name, "custos_loan_", 12) == 0) {
        char quoted[160];
        snprintf(quoted, sizeof quoted, "{\"%s\", ", name);
        return strstr(MANAGER_SOURCE, quoted) != NULL;
    }
    if (strncmp(name, "custos_publisher_", 17) == 0) {
        char quoted[160];
        snprintf(quoted, sizeof quoted, "\"%s\"", name);
        return strstr(METRICS_SOURCE, quoted) != NULL;
    }
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    char line[256];
    snprintf(line, sizeof line, "# TYPE %s ", name);
    if (strstr(exposition, line) != NULL)
        return 1;
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(name), sl = strlen(suffixes[i]);
        if (n > sl && strcmp(name + n - sl, suffixes[i]) == 0) {
            snprintf(line, sizeof line, "# TYPE %.*s histogram", (int)(n - sl), name);
            if (strstr(exposition, line) != NULL)
                return 1;
        }
    }
    return 0;
}

/* The dashboard's variables, as Grafana would expand them. */
static void expand(const char *expr, char *out, size_t cap)
{
    static const struct {
        const char *var, *value;
    } vars[] = {{"$__rate_interval", "1m"}, {"$feed", ".+"}};
    size_t n = 0;
    while (*expr != '\0') {
        size_t v = 0;
        while (v < 2 && strncmp(expr, vars[v].var, strlen(vars[v].var)) != 0)
            v++;
        const char *piece = v < 2 ? vars[v].value : expr;
        size_t len = v < 2 ? strlen(piece) : 1;
        if (n + len >= cap)
            fail_msg("dashboard query too long: %s", expr);
        memcpy(out + n, piece, len);
        n += len;
        expr += v < 2 ? strlen(vars[v].var) : 1;
    }
    out[n] = '\0';
}

static void check_expr(const char *raw, const char *exposition, size_t *checked)
{
    char expr[2048];
    expand(raw, expr, sizeof expr);
    /* Prometheus parses and runs it... */
    json_t *data = prom_api("query", "query=", expr);
    if (data == NULL)
        fail_msg("dashboard query does not run: %s", expr);
    json_decref(data);
    /* ...and every custos_ name in it is one the gateway exports. */
    for (const char *p = strstr(expr, "custos_"); p != NULL; p = strstr(p, "custos_")) {
        char name[128];
        size_t n = 0;
        while (n + 1 < sizeof name &&
               ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') || p[n] == '_'))
            name[n] = p[n], n++;
        name[n] = '\0';
        if (!exported(exposition, name))
            fail_msg("dashboard query names %s, which the gateway does not export: %s", name,
                     expr);
        p += n;
    }
    (*checked)++;
}

static void test_dashboard_queries(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", METRICS_PORT);
    char *exposition = NULL;
    assert_int_equal(http_get(url, &exposition), 200);
    METRICS_SOURCE = tu_read_file(CUSTOS_SOURCE_DIR "/gateway/metrics.c");
    assert_non_null(METRICS_SOURCE);
    MANAGER_SOURCE = tu_read_file(CUSTOS_SOURCE_DIR "/attestor/manage_metrics.c");
    assert_non_null(MANAGER_SOURCE);
    json_error_t jerr;
    json_t *dash = json_load_file(CUSTOS_SOURCE_DIR "/deploy/grafana/custos-dashboard.json", 0,
                                  &jerr);
    if (dash == NULL)
        fail_msg("custos-dashboard.json line %d: %s", jerr.line, jerr.text);
    size_t checked = 0, i;
    json_t *panel;
    json_array_foreach(json_object_get(dash, "panels"), i, panel) {
        json_t *targets = json_object_get(panel, "targets");
        if (json_object_get(panel, "type") != NULL &&
            strcmp(json_string_value(json_object_get(panel, "type")), "row") != 0 &&
            json_array_size(targets) == 0)
            fail_msg("panel %zu has no query", i);
        json_t *t;
        size_t j;
        json_array_foreach(targets, j, t) {
            const char *expr = json_string_value(json_object_get(t, "expr"));
            if (expr == NULL)
                fail_msg("panel %zu target %zu has no expr", i, j);
            check_expr(expr, exposition, &checked);
        }
    }
    json_t *var;
    json_array_foreach(json_object_get(json_object_get(dash, "templating"), "list"), i, var) {
        const char *q = json_string_value(json_object_get(var, "query"));
        /* label_values(metric, label) or label_values({__name__=~"a|b"}, label): every
         * metric named must be exported. */
        if (q != NULL && strncmp(q, "label_values(", 13) == 0) {
            size_t names = 0;
            for (const char *p = strstr(q, "custos_"); p != NULL; p = strstr(p, "custos_")) {
                char name[128];
                size_t n = 0;
                while (n + 1 < sizeof name && ((p[n] >= 'a' && p[n] <= 'z') ||
                                               (p[n] >= '0' && p[n] <= '9') || p[n] == '_'))
                    name[n] = p[n], n++;
                name[n] = '\0';
                if (!exported(exposition, name))
                    fail_msg("dashboard variable uses %s, not exported", name);
                names++;
                p += n;
            }
            if (names == 0)
                fail_msg("dashboard variable names no custos_ metric: %s", q);
        }
    }
    json_decref(dash);
    free(exposition);
    free(METRICS_SOURCE);
    free(MANAGER_SOURCE);
    assert_true(checked >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_mix),
        cmocka_unit_test(test_promtool_check_metrics),
        cmocka_unit_test(test_start_prometheus),
        cmocka_unit_test(test_prometheus_has_the_counts),
        cmocka_unit_test(test_alert_rules_evaluate),
        cmocka_unit_test(test_dashboard_queries),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
