/* Request ids and structured log lines, end to end with the real gateway (debug logging
 * on): an acceptance is logged at info with its feed, account, sequence and signatures as
 * JSON members; a well-formed
 * x-request-id from the client comes back in the initial metadata and names the log line
 * of its refused submission (refused by the engine: an unknown signer; refused while
 * decoding: bytes that are not a request); a malformed one (too long, a space, a quote)
 * and an absent one are replaced by ids the gateway makes, each different, which name
 * the log lines just the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/hex.h"

#include "gwfixture.h"

#define SUBMIT "/custos.v1.AttestationGateway/Submit"

static gwf F;

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    char port_file[1200], log_path[1200];
    snprintf(port_file, sizeof port_file, "%s/port", F.dir);
    snprintf(log_path, sizeof log_path, "%s/gateway.log", F.dir);
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", F.config_path, "--port-file",
                          port_file, "--log-level", "debug", NULL};
    tu_spawn(&F.proc, argv, log_path);
    if (tu_wait_file(port_file, 15000) != 0) {
        gwf_dump_log(&F);
        fail_msg("custos-gateway did not report a port within 15 s");
    }
    char *text = tu_read_file(port_file);
    assert_non_null(text);
    F.port = atoi(text);
    free(text);
    snprintf(F.target, sizeof F.target, "127.0.0.1:%d", F.port);
    return 0;
}

/* The gateway must stop cleanly (exit 0 on SIGTERM). */
static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    if (status != 0) {
        fprintf(stderr, "custos-gateway exited with %d after SIGTERM\n", status);
        gwf_dump_log(&F);
    }
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* A submission signed by a key on no allow-list, as request bytes. */
static void unknown_signer_request(uint8_t **req, size_t *len)
{
    custos_submission s;
    gwf_make(&F, &s, "REQ-ID", 1, 100);
    gwf_sign(&F, &s, GWF_KEY_UNKNOWN);
    gwf_pb *pb = gwf_pb_new(&s);
    gwf_pb_pack_request(pb, 0, req, len);
    gwf_pb_free(pb);
    custos_submission_clear(&s);
}

/* The log line of `event` naming request_id, waiting briefly for it to be written (the
 * answer may overtake the log line); NULL when there is none. */
static char *event_line(const char *event, const char *request_id)
{
    char path[1200], needle[160];
    snprintf(path, sizeof path, "%s/gateway.log", F.dir);
    snprintf(needle, sizeof needle, "\"event\":\"%s\",\"request_id\":\"%s\"", event,
             request_id);
    for (int i = 0; i < 50; i++) {
        char *log = tu_read_file(path);
        char *hit = log != NULL ? strstr(log, needle) : NULL;
        if (hit != NULL) {
            /* The whole line, from its "{". */
            char *start = hit;
            while (start > log && start[-1] != '\n')
                start--;
            char *end = strchr(hit, '\n');
            size_t n = end != NULL ? (size_t)(end - start) : strlen(start);
            char *line = strndup(start, n);
            free(log);
            return line;
        }
        free(log);
        usleep(20 * 1000);
    }
    return NULL;
}

static char *refused_line(const char *request_id)
{
    return event_line("refused", request_id);
}

/* A string member of a log line (parsed as the JSON object it must be). */
static void expect_member(const char *line, const char *key, const char *value)
{
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    if (j == NULL)
        fail_msg("log line is not JSON (%s): %s", jerr.text, line);
    const char *got = json_string_value(json_object_get(j, key));
    if (got == NULL || strcmp(got, value) != 0)
        fail_msg("log line has %s = %s, not %s: %s", key, got != NULL ? got : "(none)", value,
                 line);
    json_decref(j);
}

static void test_client_id_kept_and_logged(void **state)
{
    (void)state;
    uint8_t *req = NULL;
    size_t len = 0;
    unknown_signer_request(&req, &len);
    gwf_raw_result r;
    gwf_raw_call_id(&F, SUBMIT, req, len, "client-7f3a:retry.2_b", &r);
    free(req);
    assert_string_equal(r.reason, "UNKNOWN_SIGNER");
    assert_string_equal(r.request_id, "client-7f3a:retry.2_b");
    char *line = refused_line("client-7f3a:retry.2_b");
    if (line == NULL) {
        gwf_dump_log(&F);
        fail_msg("no refused log line carries the client's request id");
    }
    assert_non_null(strstr(line, "UNKNOWN_SIGNER"));
    /* Its facts are members of their own, not words inside "msg". */
    expect_member(line, "reason", "UNKNOWN_SIGNER");
    expect_member(line, "feed", GWF_FEED);
    expect_member(line, "level", "debug");
    free(line);

    /* Refused before the engine: the bytes are not a SubmitRequest. */
    static const uint8_t garbage[] = {0xff, 0xff, 0xff};
    gwf_raw_call_id(&F, SUBMIT, garbage, sizeof garbage, "garbage-1", &r);
    assert_string_equal(r.reason, "MALFORMED");
    assert_string_equal(r.request_id, "garbage-1");
    line = refused_line("garbage-1");
    if (line == NULL) {
        gwf_dump_log(&F);
        fail_msg("no refused log line for the malformed request");
    }
    free(line);
}

static void test_bad_or_absent_id_replaced(void **state)
{
    (void)state;
    char too_long[65 + 1]; /* one above the 64 characters allowed */
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    const char *bad[] = {too_long, "two words", "quote\"d", NULL};
    char seen[4][80];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *req = NULL;
        size_t len = 0;
        unknown_signer_request(&req, &len);
        gwf_raw_result r;
        gwf_raw_call_id(&F, SUBMIT, req, len, bad[i], &r);
        free(req);
        assert_string_equal(r.reason, "UNKNOWN_SIGNER");
        assert_true(strlen(r.request_id) > 0);
        if (bad[i] != NULL)
            assert_string_not_equal(r.request_id, bad[i]);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(r.request_id, seen[j]);
        snprintf(seen[i], sizeof seen[i], "%s", r.request_id);
        char *line = refused_line(r.request_id);
        if (line == NULL) {
            gwf_dump_log(&F);
            fail_msg("case %zu: no refused log line carries the id %s", i, r.request_id);
        }
        free(line);
    }
}

/* An acceptance is logged at info with feed, account, sequence and cursor as members. */
static void test_acceptance_logged_with_fields(void **state)
{
    (void)state;
    custos_submission s;
    gwf_make(&F, &s, "REQ-ACCEPT", 1, 100);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    char account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    assert_int_equal(custos_hex_encode(s.att.account, CUSTOS_HASH_LEN, account, sizeof account),
                     CUSTOS_OK);
    gwf_pb *pb = gwf_pb_new(&s);
    uint8_t *req = NULL;
    size_t len = 0;
    gwf_pb_pack_request(pb, 0, &req, &len);
    gwf_pb_free(pb);
    custos_submission_clear(&s);
    gwf_raw_result r;
    gwf_raw_call_id(&F, SUBMIT, req, len, "accept-1", &r);
    free(req);
    assert_int_equal(r.grpc_status, 0);
    char *line = event_line("accepted", "accept-1");
    if (line == NULL) {
        gwf_dump_log(&F);
        fail_msg("no accepted log line carries the request id");
    }
    expect_member(line, "level", "info");
    expect_member(line, "feed", GWF_FEED);
    expect_member(line, "account", account);
    expect_member(line, "sequence", "1");
    expect_member(line, "signatures", "2/2");
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acceptance_logged_with_fields),
        cmocka_unit_test(test_client_id_kept_and_logged),
        cmocka_unit_test(test_bad_or_absent_id_replaced),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
