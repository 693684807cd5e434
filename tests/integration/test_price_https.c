/* Prices over HTTPS: custos-attestor against a local HTTPS price server (tests/js/
 * price_server.mjs) whose certificate is issued by a CA this test makes with the openssl
 * command line. Good prices are signed and exported; with every source required (no
 * price_quorum in the policy), a malformed answer, HTTP 500 (retried, then refused), a
 * certificate from another CA, a stale price, disagreeing sources and an instrument a
 * source does not price are each refused with a clear message, and leave no export file
 * and no sequence number consumed. test_price_quorum runs a quorum of separate servers. */
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
#include <curl/curl.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/typeddata.h"
#include "pki.h"
#include "testutil.h"

#define OUT_CAP 65536

static char dir[512];
static char ca_pem[700], rogue_pem[700], key_path[700], holdings[700], policy[700];
static tu_proc server;
static int port;
static char out[OUT_CAP];
static int case_no;

static void path_in(char *p, size_t cap, const char *name)
{
    int n = snprintf(p, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static void run_ok(const char *const argv[])
{
    char log[4096];
    int status = tu_run(argv, log, sizeof log, 1);
    if (status != 0)
        fail_msg("%s %s failed (%d): %s", argv[0], argv[1], status, log);
}

/* Prices of ACME-FUND-001's six instruments: as_of for all, except `odd` (if not NULL)
 * which gets odd_price / odd_as_of; `skip` is left out. */
static void prices_json(char *buf, size_t cap, uint64_t as_of, const char *odd,
                        const char *odd_price, uint64_t odd_as_of, const char *skip)
{
    static const struct {
        const char *asset, *price;
    } book[] = {{"US912797KX44", "98.765"},   {"US912797LB15", "97.912"},
                {"US91282CLX73", "100.234375"}, {"US91282CMB45", "99.578125"},
                {"US912810UA42", "96.515625"}, {"MMF-GOVT-INST", "1.00"}};
    size_t n = (size_t)snprintf(buf, cap, "{\"prices\":{");
    bool first = true;
    for (size_t i = 0; i < sizeof book / sizeof book[0]; i++) {
        if (skip != NULL && strcmp(book[i].asset, skip) == 0)
            continue;
        bool is_odd = odd != NULL && strcmp(book[i].asset, odd) == 0;
        n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\":{\"price\":\"%s\",\"as_of\":%llu}",
                              first ? "" : ",", book[i].asset,
                              is_odd ? odd_price : book[i].price,
                              (unsigned long long)(is_odd ? odd_as_of : as_of));
        first = false;
    }
    snprintf(buf + n, cap - n, "}}");
}

static void add_route(json_t *routes, const char *path, int status, const char *body)
{
    json_t *r = json_pack("{s:i,s:s}", "status", status, "body", body);
    assert_non_null(r);
    assert_int_equal(json_object_set_new(routes, path, r), 0);
}

static int group_setup(void **state)
{
    (void)state;
    tu_mkdtemp(dir, sizeof dir);
    pki_make_ca(dir, "ca", "custos test ca");
    pki_make_ca(dir, "rogue", "custos test rogue");
    pki_path(dir, "ca", ".pem", ca_pem, sizeof ca_pem);
    pki_path(dir, "rogue", ".pem", rogue_pem, sizeof rogue_pem);
    pki_make_cert(dir, "srv", "127.0.0.1", "ca", "subjectAltName=IP:127.0.0.1\n");
    char srv_key[700], srv_pem[700];
    pki_path(dir, "srv", ".key", srv_key, sizeof srv_key);
    pki_path(dir, "srv", ".pem", srv_pem, sizeof srv_pem);

    uint64_t now = (uint64_t)time(NULL);
    char body[4096];
    json_t *routes = json_object();
    assert_non_null(routes);
    prices_json(body, sizeof body, now - 60, NULL, NULL, 0, NULL);
    add_route(routes, "/good", 200, body);
    /* One basis point higher on the note: within the bound, and the median of three. */
    prices_json(body, sizeof body, now - 60, "US91282CLX73", "100.24439843750", now - 60, NULL);
    add_route(routes, "/near", 200, body);
    /* Two percent lower on the note. */
    prices_json(body, sizeof body, now - 60, "US91282CLX73", "98.2296875", now - 60, NULL);
    add_route(routes, "/far", 200, body);
    prices_json(body, sizeof body, now - 60, "US912797LB15", "97.912", now - 30 * 86400, NULL);
    add_route(routes, "/stale", 200, body);
    prices_json(body, sizeof body, now - 60, NULL, NULL, 0, "MMF-GOVT-INST");
    add_route(routes, "/partial", 200, body);
    add_route(routes, "/malformed", 200, "{\"prices\": {\"US912797KX44\": {\"price\": \"98");
    add_route(routes, "/fail", 500, "{\"error\":\"upstream down\"}");
    char routes_path[700], log_path[700];
    path_in(routes_path, sizeof routes_path, "routes.json");
    assert_int_equal(json_dump_file(routes, routes_path, 0), 0);
    json_decref(routes);

    path_in(log_path, sizeof log_path, "server.log");
    char script[600];
    snprintf(script, sizeof script, "%s/tests/js/price_server.mjs", CUSTOS_SOURCE_DIR);
    const char *argv[] = {CUSTOS_NODE, script, "--cert", srv_pem, "--key", srv_key, "--routes",
                          routes_path, NULL};
    tu_spawn(&server, argv, log_path);
    for (int waited = 0; port == 0 && waited < 15000; waited += 50) {
        char *log = tu_read_file(log_path);
        const char *p = log != NULL ? strstr(log, "port ") : NULL;
        if (p != NULL && strchr(p, '\n') != NULL)
            port = atoi(p + 5);
        free(log);
        if (port == 0)
            usleep(50 * 1000);
    }
    if (port <= 0) {
        fprintf(stderr, "the price server did not start\n");
        return -1;
    }

    path_in(key_path, sizeof key_path, "custodian.key");
    const char *keygen[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--out", key_path, NULL};
    run_ok(keygen);
    char src[600];
    snprintf(src, sizeof src, "%s/deploy/examples/holdings.json", CUSTOS_SOURCE_DIR);
    char *text = tu_read_file(src);
    assert_non_null(text);
    path_in(holdings, sizeof holdings, "holdings.json");
    tu_write_file(holdings, text);
    free(text);
    /* Short back-off so the retries of /fail take a fraction of a second. */
    path_in(policy, sizeof policy, "policy.json");
    tu_write_file(policy, "{\"haircuts_bps\":{\"bill\":50,\"note\":200,\"bond\":800,\"mmf\":200},"
                          "\"ttl_seconds\":259200,\"max_price_age_seconds\":345600,"
                          "\"max_price_disagreement_bps\":50,\"price_retries\":2,"
                          "\"price_backoff_ms\":20,\"price_timeout_ms\":5000}");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (server.pid > 0)
        tu_stop(&server, SIGTERM, 5000);
    tu_rmtree(dir);
    return 0;
}

/* Runs attest with the given source paths (and CA); returns the exit status. The export and
 * state files of this run are named after the case number. */
static int attest(const char *ca, const char *const paths[], size_t n, char *export_path,
                  char *state_path)
{
    char urls[4][128];
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
    argv[k++] = "--price-ca"; argv[k++] = ca;
    for (size_t i = 0; i < n && i < 4; i++) {
        snprintf(urls[i], sizeof urls[i], "https://127.0.0.1:%d%s", port, paths[i]);
        argv[k++] = "--price-source";
        argv[k++] = urls[i];
    }
    argv[k] = NULL;
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos-attestor attest (%s...) -> %d\n%s\n", paths[0], status, out);
    return status;
}

/* Refused: exit 1, the message contains want, no export, no sequence taken. */
static void assert_refused(const char *ca, const char *const paths[], size_t n,
                           const char *want)
{
    char export_path[700], state_path[700];
    assert_int_equal(attest(ca, paths, n, export_path, state_path), 1);
    if (strstr(out, want) == NULL)
        fail_msg("the refusal does not say '%s'", want);
    assert_non_null(strstr(out, "custos-attestor: attest: "));
    assert_int_equal(access(export_path, F_OK), -1);
    assert_int_equal(access(state_path, F_OK), -1);
}

static void test_good_prices_signed(void **state)
{
    (void)state;
    char export_path[700], state_path[700];
    const char *one[] = {"/good"};
    assert_int_equal(attest(ca_pem, one, 1, export_path, state_path), 0);
    char *json = tu_read_file(export_path);
    assert_non_null(json);
    custos_submission s;
    custos_error err;
    if (custos_typeddata_import(json, strlen(json), &s, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    free(json);
    assert_int_equal(s.att.sequence, 1);
    assert_int_equal(s.n_positions, 6);
    /* The note at the served 100.234375% of par. */
    char price[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_fixed_format(&s.positions[2].price, 18, price, sizeof price),
                     CUSTOS_OK);
    assert_string_equal(price, "1.00234375");
    custos_submission_clear(&s);
}

static void test_median_of_agreeing_sources(void **state)
{
    (void)state;
    char export_path[700], state_path[700];
    const char *three[] = {"/good", "/near", "/near"};
    assert_int_equal(attest(ca_pem, three, 3, export_path, state_path), 0);
    char *json = tu_read_file(export_path);
    assert_non_null(json);
    custos_submission s;
    custos_error err;
    if (custos_typeddata_import(json, strlen(json), &s, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    free(json);
    char price[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_fixed_format(&s.positions[2].price, 18, price, sizeof price),
                     CUSTOS_OK);
    assert_string_equal(price, "1.002443984375"); /* the median: /near's quote / 100 */
    custos_submission_clear(&s);
}

static void test_malformed_json_refused(void **state)
{
    (void)state;
    const char *p[] = {"/malformed"};
    assert_refused(ca_pem, p, 1, "/malformed: line 1");
}

static long hits(const char *path)
{
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    char url[128];
    snprintf(url, sizeof url, "https://127.0.0.1:%d/_hits", port);
    FILE *mem = tmpfile();
    assert_non_null(mem);
    assert_int_equal(curl_easy_setopt(curl, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(curl, CURLOPT_CAINFO, ca_pem), CURLE_OK);
    assert_int_equal(curl_easy_setopt(curl, CURLOPT_WRITEDATA, mem), CURLE_OK);
    assert_int_equal(curl_easy_perform(curl), CURLE_OK);
    curl_easy_cleanup(curl);
    rewind(mem);
    json_error_t jerr;
    json_t *doc = json_loadf(mem, 0, &jerr);
    fclose(mem);
    assert_non_null(doc);
    long n = (long)json_integer_value(json_object_get(doc, path));
    json_decref(doc);
    return n;
}

static void test_http_500_retried_then_refused(void **state)
{
    (void)state;
    const char *p[] = {"/fail"};
    assert_refused(ca_pem, p, 1, "/fail: HTTP 500 (gave up after 3 attempts)");
    assert_int_equal(hits("/fail"), 3); /* the first try and price_retries 2 */
}

static void test_untrusted_certificate_refused(void **state)
{
    (void)state;
    const char *p[] = {"/good"};
    long before = hits("/good");
    assert_refused(rogue_pem, p, 1, "TLS verification failed");
    assert_int_equal(hits("/good"), before); /* never retried, nothing requested */
}

static void test_stale_price_refused(void **state)
{
    (void)state;
    const char *p[] = {"/stale"};
    assert_refused(ca_pem, p, 1, "price of US912797LB15 is");
    assert_non_null(strstr(out, "refusing to sign a stale value"));
}

static void test_disagreeing_sources_refused(void **state)
{
    (void)state;
    const char *p[] = {"/good", "/far"};
    /* The median of the two, 99.23203125, is 1.0101% from both: neither agrees. */
    assert_refused(ca_pem, p, 2, "US91282CLX73: 0 of 2 price sources agree, below the "
                                 "price_quorum 2");
    assert_non_null(strstr(out, "/far quotes US91282CLX73 at 98.2296875, 101.01 bps from the "
                                "median 99.23203125 (max_price_disagreement_bps 50)"));
}

static void test_unpriced_instrument_refused(void **state)
{
    (void)state;
    const char *p[] = {"/good", "/partial"};
    assert_refused(ca_pem, p, 2, "/partial has no price for MMF-GOVT-INST");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_prices_signed),
        cmocka_unit_test(test_median_of_agreeing_sources),
        cmocka_unit_test(test_malformed_json_refused),
        cmocka_unit_test(test_http_500_retried_then_refused),
        cmocka_unit_test(test_untrusted_certificate_refused),
        cmocka_unit_test(test_stale_price_refused),
        cmocka_unit_test(test_disagreeing_sources_refused),
        cmocka_unit_test(test_unpriced_instrument_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
