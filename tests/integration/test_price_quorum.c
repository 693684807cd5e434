/* A quorum of price sources end to end: custos-attestor against separate HTTPS price
 * servers on loopback (tests/js/price_server.mjs, certificates from a CA made with the
 * openssl command line): two honest ones (the second a basis point above the first on the
 * note), one lying (the note 2% low, the fund's NAV 5% high) and one down (started, then
 * stopped: its port refuses connections).
 *
 * With price_quorum 2 of 3, attest signs when one source is down, and when one lies: the
 * liar's quotes are dropped as outliers, the honest median is used, and the report names
 * what was dropped and why. With one down and one lying only one honest source remains:
 * refused, nothing signed. Without price_quorum every source must answer. The daemon, with
 * all four sources, logs the unavailable source and each dropped quote, and its Prometheus
 * text file (checked by promtool) counts them. A batch (attest --batch) is priced by the
 * same quorum. Sources are fetched all at once: two routes that answer only while both
 * are asked together (the price server's gate) give attest its prices. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/typeddata.h"
#include "pki.h"
#include "testutil.h"

#define OUT_CAP 65536

enum { HONEST, NEAR, LIAR, DOWN, N_SERVERS };
static const char *const server_names[N_SERVERS] = {"honest", "near", "liar", "down"};

static char dir[512];
static char ca_pem[700], key_path[700], holdings[700], policy2[700], policy_all[700];
static tu_proc servers[N_SERVERS];
static int ports[N_SERVERS];
static char out[OUT_CAP];
static int case_no;

static void path_in(char *p, size_t cap, const char *name)
{
    int n = snprintf(p, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* ACME-FUND-001's six instruments at as_of, with the note and the fund's NAV as given. */
static void prices_json(char *buf, size_t cap, uint64_t as_of, const char *note,
                        const char *nav)
{
    snprintf(buf, cap,
             "{\"prices\":{"
             "\"US912797KX44\":{\"price\":\"98.765\",\"as_of\":%llu},"
             "\"US912797LB15\":{\"price\":\"97.912\",\"as_of\":%llu},"
             "\"US91282CLX73\":{\"price\":\"%s\",\"as_of\":%llu},"
             "\"US91282CMB45\":{\"price\":\"99.578125\",\"as_of\":%llu},"
             "\"US912810UA42\":{\"price\":\"96.515625\",\"as_of\":%llu},"
             "\"MMF-GOVT-INST\":{\"price\":\"%s\",\"as_of\":%llu}}}",
             (unsigned long long)as_of, (unsigned long long)as_of, note,
             (unsigned long long)as_of, (unsigned long long)as_of, (unsigned long long)as_of,
             nav, (unsigned long long)as_of);
}

/* Starts price server i answering /prices with body, and /gated-a and /gated-b with the
 * same body once both are asked at the same time; returns its port. */
static int start_server(int i, const char *body, const char *srv_pem, const char *srv_key)
{
    char routes[700], log[700], name[64];
    snprintf(name, sizeof name, "routes-%s.json", server_names[i]);
    path_in(routes, sizeof routes, name);
    json_t *r = json_pack("{s:{s:i,s:s}, s:{s:i,s:s,s:s,s:i}, s:{s:i,s:s,s:s,s:i}}",
                          "/prices", "status", 200, "body", body,
                          "/gated-a", "status", 200, "body", body, "gate", "together",
                          "gateSize", 2,
                          "/gated-b", "status", 200, "body", body, "gate", "together",
                          "gateSize", 2);
    assert_non_null(r);
    assert_int_equal(json_dump_file(r, routes, 0), 0);
    json_decref(r);
    snprintf(name, sizeof name, "server-%s.log", server_names[i]);
    path_in(log, sizeof log, name);
    char script[600];
    snprintf(script, sizeof script, "%s/tests/js/price_server.mjs", CUSTOS_SOURCE_DIR);
    const char *argv[] = {CUSTOS_NODE, script, "--cert", srv_pem, "--key", srv_key,
                          "--routes", routes, NULL};
    tu_spawn(&servers[i], argv, log);
    int port = 0;
    for (int waited = 0; port == 0 && waited < 15000; waited += 50) {
        char *text = tu_read_file(log);
        const char *p = text != NULL ? strstr(text, "port ") : NULL;
        if (p != NULL && strchr(p, '\n') != NULL)
            port = atoi(p + 5);
        free(text);
        if (port == 0)
            tu_sleep_ms(50);
    }
    return port;
}

static int group_setup(void **state)
{
    (void)state;
    tu_mkdtemp(dir, sizeof dir);
    pki_make_ca(dir, "ca", "custos test ca");
    pki_path(dir, "ca", ".pem", ca_pem, sizeof ca_pem);
    pki_make_cert(dir, "srv", "127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1\n");
    char srv_key[700], srv_pem[700];
    pki_path(dir, "srv", ".key", srv_key, sizeof srv_key);
    pki_path(dir, "srv", ".pem", srv_pem, sizeof srv_pem);

    uint64_t as_of = (uint64_t)time(NULL) - 60;
    char body[2048];
    static const char *const quotes[N_SERVERS][2] = {
        {"100.234375", "1.00"},   /* honest */
        {"100.2443984375", "1"},  /* honest, the note one basis point higher */
        {"98.2296875", "1.05"},   /* lying: the note 2% low, the NAV 5% high */
        {"100.234375", "1.00"},   /* honest, but stopped below */
    };
    for (int i = 0; i < N_SERVERS; i++) {
        prices_json(body, sizeof body, as_of, quotes[i][0], quotes[i][1]);
        ports[i] = start_server(i, body, srv_pem, srv_key);
        if (ports[i] <= 0) {
            fprintf(stderr, "price server %s did not start\n", server_names[i]);
            return -1;
        }
    }
    /* Down: nothing listens on its port any more. */
    tu_stop(&servers[DOWN], SIGTERM, 5000);
    servers[DOWN].pid = 0;

    path_in(key_path, sizeof key_path, "custodian.key");
    const char *keygen[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--out", key_path, NULL};
    char log[4096];
    if (tu_run(keygen, log, sizeof log, 1) != 0) {
        fprintf(stderr, "keygen: %s\n", log);
        return -1;
    }
    path_in(holdings, sizeof holdings, "holdings.json");
    tu_write_file(holdings,
                  "{\"custodian\":\"acme-custody\",\"accounts\":[{\"ref\":\"ACME-FUND-001\","
                  "\"beneficiary\":\"0x0\",\"positions\":["
                  "{\"asset\":\"US912797KX44\",\"class\":\"bill\",\"quantity\":\"5000000\","
                  "\"maturity\":\"2027-10-21\"},"
                  "{\"asset\":\"US912797LB15\",\"class\":\"bill\",\"quantity\":\"10000000\","
                  "\"maturity\":\"2027-11-18\"},"
                  "{\"asset\":\"US91282CLX73\",\"class\":\"note\",\"quantity\":\"15000000\","
                  "\"coupon\":\"4.125\",\"maturity\":\"2027-11-15\"},"
                  "{\"asset\":\"US91282CMB45\",\"class\":\"note\",\"quantity\":\"8000000\","
                  "\"coupon\":\"3.875\",\"maturity\":\"2029-08-31\"},"
                  "{\"asset\":\"US912810UA42\",\"class\":\"bond\",\"quantity\":\"4000000\","
                  "\"coupon\":\"4.625\",\"maturity\":\"2054-05-15\"},"
                  "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\",\"quantity\":\"12500000\"}]}]}");
    /* Short back-off so the retries of the stopped server take a fraction of a second. */
    static const char common[] =
        "\"haircuts_bps\":{\"bill\":50,\"note\":200,\"bond\":800,\"mmf\":200},"
        "\"ttl_seconds\":259200,\"max_price_age_seconds\":345600,"
        "\"max_price_disagreement_bps\":50,\"price_retries\":2,\"price_backoff_ms\":20,"
        "\"price_timeout_ms\":5000";
    char text[1024];
    path_in(policy2, sizeof policy2, "policy-quorum-2.json");
    snprintf(text, sizeof text, "{%s,\"price_quorum\":2}", common);
    tu_write_file(policy2, text);
    path_in(policy_all, sizeof policy_all, "policy-all.json");
    snprintf(text, sizeof text, "{%s}", common);
    tu_write_file(policy_all, text);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < N_SERVERS; i++)
        if (servers[i].pid > 0)
            tu_stop(&servers[i], SIGTERM, 5000);
    tu_rmtree(dir);
    return 0;
}

static void url_of(int server, char *buf, size_t cap)
{
    snprintf(buf, cap, "https://127.0.0.1:%d/prices", ports[server]);
}

/* attest with the policy and three sources; returns the exit status, out holds the output.
 * The export and state files are named after the case number. */
/* attest with the price sources urls[0..n). */
static int attest_urls(const char *policy, const char *const *urls, size_t n,
                       char *export_path, char *state_path)
{
    const char *argv[40];
    size_t k = 0;
    case_no++;
    snprintf(export_path, 700, "%s/export-%d.json", dir, case_no);
    snprintf(state_path, 700, "%s/state-%d.json", dir, case_no);
    argv[k++] = CUSTOS_ATTESTOR_BIN;
    argv[k++] = "attest";
    argv[k++] = "--holdings"; argv[k++] = holdings;
    argv[k++] = "--policy"; argv[k++] = policy;
    argv[k++] = "--key"; argv[k++] = key_path;
    argv[k++] = "--account"; argv[k++] = "ACME-FUND-001";
    argv[k++] = "--feed"; argv[k++] = "acme-custody";
    argv[k++] = "--chain-id"; argv[k++] = "31337";
    argv[k++] = "--contract"; argv[k++] = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    argv[k++] = "--state"; argv[k++] = state_path;
    argv[k++] = "--export"; argv[k++] = export_path;
    argv[k++] = "--price-ca"; argv[k++] = ca_pem;
    for (size_t i = 0; i < n && k + 3 < sizeof argv / sizeof argv[0]; i++) {
        argv[k++] = "--price-source";
        argv[k++] = urls[i];
    }
    argv[k] = NULL;
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos-attestor attest (%zu sources) -> %d\n%s\n", n, status, out);
    return status;
}

static int attest(const char *policy, const int src[3], char *export_path, char *state_path)
{
    char urls[3][128];
    const char *list[3];
    for (int i = 0; i < 3; i++) {
        url_of(src[i], urls[i], sizeof urls[i]);
        list[i] = urls[i];
    }
    fprintf(stderr, "sources: %s, %s, %s\n", server_names[src[0]], server_names[src[1]],
            server_names[src[2]]);
    return attest_urls(policy, list, 3, export_path, state_path);
}

static void assert_out(const char *needle)
{
    if (strstr(out, needle) == NULL)
        fail_msg("the output does not say '%s'", needle);
}

/* The leaf price of position i of the exported attestation. */
static void assert_leaf_price(const char *export_path, size_t i, const char *want)
{
    char *json = tu_read_file(export_path);
    assert_non_null(json);
    custos_submission s;
    custos_error err;
    if (custos_typeddata_import(json, strlen(json), &s, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    free(json);
    assert_int_equal(s.att.sequence, 1);
    char price[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_fixed_format(&s.positions[i].price, 18, price, sizeof price),
                     CUSTOS_OK);
    assert_string_equal(price, want);
    custos_submission_clear(&s);
}

/* Two honest sources answer, the third is down: signed at the median of the two, the
 * floored mean (100.234375 + 100.2443984375) / 2 = 100.23938671875. */
static void test_one_down(void **state)
{
    (void)state;
    char export_path[700], state_path[700], line[256];
    const int src[3] = {HONEST, NEAR, DOWN};
    assert_int_equal(attest(policy2, src, export_path, state_path), 0);
    assert_out("sources      2 of 3 answered\n");
    snprintf(line, sizeof line, "unavailable  price source https://127.0.0.1:%d/prices: ",
             ports[DOWN]);
    assert_out(line);
    assert_out("(gave up after 3 attempts)");
    assert_leaf_price(export_path, 2, "1.0023938671875");
    assert_leaf_price(export_path, 5, "1");
}

/* Three answer, one lies: the median of the three is an honest quote, the liar's two
 * quotes lie beyond 50 bps of it and are dropped; the honest pair is used. */
static void test_one_lying(void **state)
{
    (void)state;
    char export_path[700], state_path[700], line[512];
    const int src[3] = {LIAR, HONEST, NEAR};
    assert_int_equal(attest(policy2, src, export_path, state_path), 0);
    assert_out("sources      3 of 3 answered\n");
    /* 100.234375 - 98.2296875 = 2.0046875, over the median 100.234375: 200.00 bps. */
    snprintf(line, sizeof line,
             "dropped      US91282CLX73 (outlier): price source https://127.0.0.1:%d/prices "
             "quotes US91282CLX73 at 98.2296875, 200.00 bps from the median 100.234375 "
             "(max_price_disagreement_bps 50)",
             ports[LIAR]);
    assert_out(line);
    snprintf(line, sizeof line,
             "dropped      MMF-GOVT-INST (outlier): price source https://127.0.0.1:%d/prices "
             "quotes MMF-GOVT-INST at 1.05, 500.00 bps from the median 1",
             ports[LIAR]);
    assert_out(line);
    assert_leaf_price(export_path, 2, "1.0023938671875");
    assert_leaf_price(export_path, 5, "1");
}

/* One down and one lying leave one honest source: the two that answer disagree on the
 * note, neither within 50 bps of their median, and fewer than the quorum agree. */
static void test_one_down_one_lying_refused(void **state)
{
    (void)state;
    char export_path[700], state_path[700];
    const int src[3] = {HONEST, LIAR, DOWN};
    assert_int_equal(attest(policy2, src, export_path, state_path), 1);
    assert_out("custos-attestor: attest: account ACME-FUND-001: US91282CLX73: 0 of 3 price "
               "sources agree, below the price_quorum 2");
    assert_out("nothing signed");
    /* The reasons are on stderr with the refusal. */
    assert_out("sources      2 of 3 answered\n");
    assert_out("dropped      US91282CLX73 (outlier)");
    assert_int_equal(access(export_path, F_OK), -1);
    assert_int_equal(access(state_path, F_OK), -1);
}

/* Without price_quorum every source must answer: one down refuses. */
static void test_every_source_by_default(void **state)
{
    (void)state;
    char export_path[700], state_path[700];
    const int src[3] = {HONEST, NEAR, DOWN};
    assert_int_equal(attest(policy_all, src, export_path, state_path), 1);
    assert_out("US912797KX44: 2 of 3 price sources agree, below the price_quorum 3");
    assert_int_equal(access(export_path, F_OK), -1);
    assert_int_equal(access(state_path, F_OK), -1);
}

/* Two sources that answer only while both are asked at once: fetched together, both
 * count (every source must answer under policy_all); one after the other, neither would. */
static void test_sources_fetched_together(void **state)
{
    (void)state;
    char a[128], b[128], export_path[700], state_path[700];
    snprintf(a, sizeof a, "https://127.0.0.1:%d/gated-a", ports[HONEST]);
    snprintf(b, sizeof b, "https://127.0.0.1:%d/gated-b", ports[HONEST]);
    const char *urls[] = {a, b};
    assert_int_equal(attest_urls(policy_all, urls, 2, export_path, state_path), 0);
    assert_leaf_price(export_path, 2, "1.00234375");
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return true;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return false;
}

/* The daemon with all four sources and price_quorum 2: it signs (the gateway is out of
 * reach, so the attestation waits in the spool), logs what it dropped, and its metrics
 * say which source is down and count the liar's outliers. */
static void test_daemon_log_and_metrics(void **state)
{
    (void)state;
    char config[700], metrics[700], log_path[700], spool[700], state_path[700];
    path_in(config, sizeof config, "attestor.json");
    path_in(metrics, sizeof metrics, "attestor.prom");
    path_in(log_path, sizeof log_path, "daemon.log");
    path_in(spool, sizeof spool, "spool");
    path_in(state_path, sizeof state_path, "daemon-state.json");
    char urls[N_SERVERS][128], text[8192];
    for (int i = 0; i < N_SERVERS; i++)
        url_of(i, urls[i], sizeof urls[i]);
    snprintf(text, sizeof text,
             "{\"holdings\":\"%s\",\"price_sources\":[\"%s\",\"%s\",\"%s\",\"%s\"],"
             "\"price_ca\":\"%s\",\"policy\":\"%s\",\"key\":\"%s\",\"feed\":\"acme-custody\","
             "\"chain_id\":31337,\"contract\":\"0x5fbdb2315678afecb367f032d93f642f64180aa3\","
             "\"state\":\"%s\",\"gateway\":\"127.0.0.1:1\",\"insecure\":true,\"spool\":\"%s\","
             "\"interval_seconds\":3600,\"heartbeat_seconds\":3600,\"retry_max_seconds\":60,"
             "\"metrics_textfile\":\"%s\"}",
             holdings, urls[HONEST], urls[NEAR], urls[LIAR], urls[DOWN], ca_pem, policy2,
             key_path, state_path, spool, metrics);
    tu_write_file(config, text);
    tu_proc daemon;
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "run", "--config", config, NULL};
    tu_spawn(&daemon, argv, log_path);
    int waited = tu_wait_file(metrics, 30000);
    char *log = tu_read_file(log_path);
    fprintf(stderr, "--- daemon log ---\n%s\n", log != NULL ? log : "(none)");
    assert_int_equal(waited, 0);
    assert_int_equal(tu_stop(&daemon, SIGTERM, 10000), 0);
    free(log);
    log = tu_read_file(log_path);
    assert_non_null(log);
    snprintf(text, sizeof text,
             "\"msg\":\"price source unavailable source=3: price source "
             "https://127.0.0.1:%d/prices: ",
             ports[DOWN]);
    assert_non_null(strstr(log, text));
    assert_non_null(strstr(log, "\"msg\":\"account=ACME-FUND-001 price dropped "
                                "asset=US91282CLX73 source=2 reason=outlier: price source "));
    assert_non_null(strstr(log, "account=ACME-FUND-001 price dropped asset=MMF-GOVT-INST "
                                "source=2 reason=outlier"));
    assert_non_null(strstr(log, "signed account=ACME-FUND-001 sequence=1 cause=start"));
    free(log);

    char *prom = tu_read_file(metrics);
    assert_non_null(prom);
    fprintf(stderr, "--- %s ---\n%s\n", metrics, prom);
    char line[256];
    static const struct {
        int server;
        const char *series;
        const char *value;
    } want[] = {
        {HONEST, "custos_attestor_price_source_up", "1"},
        {LIAR, "custos_attestor_price_source_up", "1"},
        {DOWN, "custos_attestor_price_source_up", "0"},
        {DOWN, "custos_attestor_price_source_failures_total", "1"},
        {HONEST, "custos_attestor_price_source_failures_total", "0"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        snprintf(line, sizeof line, "%s{source=\"%d\",host=\"127.0.0.1:%d\"} %s",
                 want[i].series, want[i].server, ports[want[i].server], want[i].value);
        if (!has_line(prom, line))
            fail_msg("no line '%s'", line);
    }
    static const struct {
        int server;
        const char *reason, *value;
    } drops[] = {{LIAR, "outlier", "2"}, {HONEST, "outlier", "0"}, {NEAR, "outlier", "0"},
                 {DOWN, "missing", "0"}, {LIAR, "stale", "0"}};
    for (size_t i = 0; i < sizeof drops / sizeof drops[0]; i++) {
        snprintf(line, sizeof line,
                 "custos_attestor_price_quotes_dropped_total{source=\"%d\",host=\"127.0.0.1:%d\","
                 "reason=\"%s\"} %s",
                 drops[i].server, ports[drops[i].server], drops[i].reason, drops[i].value);
        if (!has_line(prom, line))
            fail_msg("no line '%s'", line);
    }
    /* The shipped calendar ends on 2028-01-01 00:00 New York time. */
    assert_true(has_line(prom, "custos_attestor_calendar_covered_until_seconds 1830315600"));
    free(prom);

    /* An independent reader of the exposition format. */
    char cmd[1600], lint[4096];
    snprintf(cmd, sizeof cmd, "%s check metrics < %s", CUSTOS_PROMTOOL, metrics);
    const char *sh[] = {"/bin/sh", "-c", cmd, NULL};
    int status = tu_run(sh, lint, sizeof lint, 1);
    if (status != 0)
        fail_msg("promtool check metrics: %s", lint);
}

/* attest --batch prices the book by the same quorum: one source down, one lying; the
 * account's file carries the honest median. */
static void test_batch_priced_by_the_quorum(void **state)
{
    (void)state;
    char export_dir[700], state_path[700], urls[3][128];
    case_no++;
    snprintf(export_dir, sizeof export_dir, "%s/batch-%d", dir, case_no);
    snprintf(state_path, sizeof state_path, "%s/state-%d.json", dir, case_no);
    const int src[3] = {HONEST, NEAR, LIAR};
    const char *argv[40];
    size_t k = 0;
    argv[k++] = CUSTOS_ATTESTOR_BIN;
    argv[k++] = "attest";
    argv[k++] = "--batch";
    argv[k++] = "--holdings"; argv[k++] = holdings;
    argv[k++] = "--policy"; argv[k++] = policy2;
    argv[k++] = "--key"; argv[k++] = key_path;
    argv[k++] = "--feed"; argv[k++] = "acme-custody";
    argv[k++] = "--chain-id"; argv[k++] = "31337";
    argv[k++] = "--contract"; argv[k++] = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    argv[k++] = "--state"; argv[k++] = state_path;
    argv[k++] = "--export"; argv[k++] = export_dir;
    argv[k++] = "--price-ca"; argv[k++] = ca_pem;
    for (int i = 0; i < 3; i++) {
        url_of(src[i], urls[i], sizeof urls[i]);
        argv[k++] = "--price-source";
        argv[k++] = urls[i];
    }
    argv[k] = NULL;
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos-attestor attest --batch -> %d\n%s\n", status, out);
    assert_int_equal(status, 0);
    assert_out("accounts     1\n");
    assert_out("outlier");

    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id("acme-custody", "ACME-FUND-001", account);
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], path[800];
    assert_int_equal(custos_hex_encode(account, CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
    snprintf(path, sizeof path, "%s/%s.json", export_dir, hex);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (doc == NULL) {
        fail_msg("%s: %s", path, jerr.text);
        return;
    }
    /* The note: the floored mean of the two honest quotes, as in test_one_down. */
    const char *price =
        json_string_value(json_object_get(json_array_get(json_object_get(doc, "positions"), 2),
                                          "price"));
    assert_non_null(price);
    assert_string_equal(price, "1002393867187500000");
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sources_fetched_together),
        cmocka_unit_test(test_one_down),
        cmocka_unit_test(test_one_lying),
        cmocka_unit_test(test_one_down_one_lying_refused),
        cmocka_unit_test(test_every_source_by_default),
        cmocka_unit_test(test_daemon_log_and_metrics),
        cmocka_unit_test(test_batch_priced_by_the_quorum),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
