/* Rule 19 through the real custos-gateway, custos-attestor and custos: the custodian's
 * `custos-attestor notice` (a margin call, then healthy again) is accepted for the lender
 * the account is pledged to, the same notice again is a duplicate, and the gateway refuses
 * a notice signed by the valuation agent, by another feed's custodian or by an unknown key,
 * about another lender, and with a sequence already used. `custos notices` lists them
 * newest first, each verified; ethers' verifyTypedData (tests/js/notice_check.mjs)
 * recovers the custodian from what the gateway serves and from the attestor's export. They
 * survive a restart of the gateway. And custos-attestor manage, restarted after a crash
 * that left a signed notice pending in its state file, delivers it exactly once. Bad
 * input (each field of the wrong size, a state above 3, no domain, garbage bytes) is
 * refused MALFORMED naming the field, and nothing is stored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/notice.h"
#include "custos/sig.h"
#include "custos/v1/gateway.pb-c.h"

#include "gwfixture.h"

#define REF "NOTICE-GW-1"
#define OUT_CAP 65536

static gwf F;
static char keys[4][1200];
static char account_hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
static char lender_hex[CUSTOS_ADDRESS_HEX_LEN], other_lender_hex[CUSTOS_ADDRESS_HEX_LEN];
static char deadline_text[32];

static const gwf_key_id key_ids[4] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, GWF_KEY_OTHER,
                                      GWF_KEY_UNKNOWN};

static int setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    gwf_start(&F);
    custos_error err;
    for (size_t i = 0; i < 4; i++) {
        snprintf(keys[i], sizeof keys[i], "%s/key-%zu", F.dir, i);
        if (custos_keyfile_write(keys[i], F.keys[key_ids[i]].seckey, &err) != CUSTOS_OK)
            return -1;
    }
    uint8_t account[CUSTOS_HASH_LEN], lender[CUSTOS_ADDRESS_LEN];
    custos_account_id(GWF_FEED, REF, account);
    if (custos_hex_encode(account, sizeof account, account_hex, sizeof account_hex) != CUSTOS_OK)
        return -1;
    memset(lender, 0xaa, sizeof lender);
    custos_address_to_hex(lender, lender_hex);
    memset(lender, 0xbb, sizeof lender);
    custos_address_to_hex(lender, other_lender_hex);
    snprintf(deadline_text, sizeof deadline_text, "%llu",
             (unsigned long long)(gwf_now() + 86400));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* A valuation of REF pledged to 0xaa..., signed by the feed's quorum. */
static void pledge(void)
{
    custos_submission s;
    gwf_make(&F, &s, REF, 1, 100000);
    memset(s.att.beneficiary, 0xaa, CUSTOS_ADDRESS_LEN);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    gwf_answer a;
    gwf_submit_answer(&F, &s, &a);
    custos_submission_clear(&s);
    if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("the pledging valuation was not accepted: %s", a.err.message);
}

/* custos-attestor notice; returns its exit status, output (stderr too) in out. */
static int notice(size_t key, const char *lender, const char *state, const char *exposure,
                  const char *deadline, const char *sequence, const char *export_path,
                  char *out, size_t cap)
{
    const char *argv[32] = {CUSTOS_ATTESTOR_BIN, "notice", "--account-id", account_hex,
                            "--lender", lender, "--state", state, "--exposure", exposure,
                            "--collateral-value", "100000", "--sequence", sequence,
                            "--chain-id", "31337", "--contract", GWF_CONTRACT, "--key",
                            keys[key], "--gateway", F.target, "--insecure"};
    size_t n = 23;
    if (deadline != NULL) {
        argv[n++] = "--deadline";
        argv[n++] = deadline;
    }
    if (export_path != NULL) {
        argv[n++] = "--export";
        argv[n++] = export_path;
    }
    argv[n] = NULL;
    return tu_run(argv, out, cap, 1);
}

static void expect(int got, int want, const char *out, const char *needle, const char *what)
{
    if (got != want || strstr(out, needle) == NULL) {
        gwf_dump_log(&F);
        fail_msg("%s: exit %d (want %d), output lacks '%s':\n%s", what, got, want, needle, out);
    }
}

/* ethers' verdict on a signed notice document: the signer it recovers. */
static void ethers_recovers(const char *path, const char *want)
{
    const char *args[] = {path, NULL};
    char out[4096];
    if (tu_node("notice_check.mjs", args, out, sizeof out) != 0)
        fail_msg("notice_check.mjs failed on %s:\n%s", path, out);
    char line[128];
    snprintf(line, sizeof line, "recovered %s", want);
    if (strstr(out, line) == NULL)
        fail_msg("ethers does not recover %s from %s:\n%s", want, path, out);
}

/* custos notices: the parsed document (caller decrefs). */
static json_t *list_notices(void)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "notices", "--gateway", F.target, "--insecure",
                          "--account", account_hex, NULL};
    char out[OUT_CAP];
    int status = tu_run(argv, out, sizeof out, 0);
    if (status != 0)
        fail_msg("custos notices exited %d:\n%s", status, out);
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    if (doc == NULL)
        fail_msg("custos notices printed no JSON: %s\n%s", jerr.text, out);
    return doc;
}

static void check_listed(const char *custodian)
{
    json_t *doc = list_notices();
    json_t *list = json_object_get(doc, "notices");
    assert_int_equal(json_array_size(list), 2);
    static const char *const states[2] = {"healthy", "margin_call"};
    for (size_t i = 0; i < 2; i++) {
        json_t *n = json_array_get(list, i);
        assert_string_equal(json_string_value(json_object_get(n, "state")), states[i]);
        assert_true(json_is_true(json_object_get(n, "verified")));
        assert_true(strcasecmp(json_string_value(json_object_get(n, "signer")), custodian) == 0);
        assert_true(strcasecmp(json_string_value(json_object_get(n, "lender")), lender_hex) ==
                    0);
        char path[1300];
        snprintf(path, sizeof path, "%s/listed-%zu.json", F.dir, i);
        char *text = json_dumps(json_object_get(n, "signed"), JSON_INDENT(2));
        assert_non_null(text);
        tu_write_file(path, text);
        free(text);
        ethers_recovers(path, custodian);
    }
    json_t *first = json_array_get(list, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "ltvBps")), 6000);
    assert_true(json_is_null(json_object_get(first, "deadline")));
    json_t *call = json_array_get(list, 1);
    assert_int_equal(json_integer_value(json_object_get(call, "ltvBps")), 8000);
    assert_true(json_is_string(json_object_get(call, "deadline")));
    json_decref(doc);
}

static void test_notices_end_to_end(void **state)
{
    (void)state;
    char out[OUT_CAP], export_path[1200];
    snprintf(export_path, sizeof export_path, "%s/margin-call.json", F.dir);
    const char *custodian = F.keys[GWF_KEY_CUSTODIAN].hex;

    /* Before the account is pledged at this gateway, nothing is. */
    expect(notice(0, lender_hex, "margin_call", "80000", deadline_text, "1", NULL, out,
                  sizeof out),
           2, out, "NOTICE_NOT_PLEDGED", "a notice before any attestation");
    pledge();

    expect(notice(0, lender_hex, "margin_call", "80000", deadline_text, "1", export_path, out,
                  sizeof out),
           0, out, "ACCEPTED", "the custodian's margin call");
    assert_non_null(strstr(out, "ltv_bps      8000"));
    ethers_recovers(export_path, custodian);
    expect(notice(0, lender_hex, "margin_call", "80000", deadline_text, "1", NULL, out,
                  sizeof out),
           0, out, "ACCEPTED (duplicate)", "the same notice again");

    /* Refusals: nothing is stored. */
    expect(notice(1, lender_hex, "margin_call", "80000", deadline_text, "2", NULL, out,
                  sizeof out),
           2, out, "UNAUTHORIZED_SIGNER", "the valuation agent's notice");
    expect(notice(2, lender_hex, "margin_call", "80000", deadline_text, "2", NULL, out,
                  sizeof out),
           2, out, "UNAUTHORIZED_SIGNER", "another feed's custodian");
    expect(notice(3, lender_hex, "margin_call", "80000", deadline_text, "2", NULL, out,
                  sizeof out),
           2, out, "UNKNOWN_SIGNER", "an unknown key");
    expect(notice(0, other_lender_hex, "margin_call", "80000", deadline_text, "2", NULL, out,
                  sizeof out),
           2, out, "NOTICE_NOT_PLEDGED", "a notice about another lender");
    expect(notice(0, lender_hex, "liquidation", "90000", NULL, "1", NULL, out, sizeof out), 2,
           out, "REPLAY", "a used sequence");
    expect(notice(0, lender_hex, "margin_call", "80000", NULL, "2", NULL, out, sizeof out), 1,
           out, "deadline", "a margin call without a deadline");
    expect(notice(0, lender_hex, "healthy", "60000", deadline_text, "2", NULL, out,
                  sizeof out),
           1, out, "deadline", "a deadline on a healthy notice");

    /* Cured: healthy again. */
    expect(notice(0, lender_hex, "healthy", "60000", NULL, "2", NULL, out, sizeof out), 0, out,
           "ACCEPTED", "the cure");
    check_listed(custodian);

    assert_int_equal(gwf_stop(&F), 0);
    gwf_start(&F);
    check_listed(custodian);
}

/* The collateral manager's crash recovery (docs/lending.md §3): its state file holds a
 * signed notice written before a crash stopped its submission. The restarted manager
 * delivers that notice first, once: a second restart finds nothing pending, and a notice
 * the gateway had already is answered as a duplicate and stored once. (This gateway has no
 * [evm], so the pass then stops at reading the debt: exit 2.) */
static int manage_once(const char *state_path, char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "manage", "--account-id", account_hex,
                          "--lender", lender_hex, "--loan-decimals", "6", "--loan-price-usd",
                          "1", "--margin-return-ltv", "4000", "--margin-call-ltv", "7000",
                          "--liquidation-ltv", "9000", "--cure-seconds", "86400", "--state",
                          state_path, "--chain-id", "31337", "--contract", GWF_CONTRACT,
                          "--key", keys[0], "--gateway", F.target, "--insecure", "--once",
                          NULL};
    return tu_run(argv, out, cap, 1);
}

static size_t notice_count(void)
{
    json_t *doc = list_notices();
    size_t n = json_array_size(json_object_get(doc, "notices"));
    json_decref(doc);
    return n;
}

static void test_manager_delivers_pending_once(void **state)
{
    (void)state;
    pledge();
    custos_notice n;
    memset(&n, 0, sizeof n);
    custos_account_id(GWF_FEED, REF, n.account);
    memset(n.lender, 0xaa, CUSTOS_ADDRESS_LEN);
    n.state = CUSTOS_LOAN_LIQUIDATION;
    n.ltv_bps = 9500;
    gwf_usd(&n.exposure, 95000);
    gwf_usd(&n.collateral_value, 100000);
    n.sequence = 1;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_notice_digest(&F.domain, &n, digest);
    custos_signature sig;
    custos_error err;
    assert_int_equal(custos_sign_digest(F.secp, F.keys[GWF_KEY_CUSTODIAN].seckey, digest, &sig,
                                        &err),
                     CUSTOS_OK);
    char sig_hex[CUSTOS_HEX_LEN(CUSTOS_SIGNATURE_LEN)];
    assert_int_equal(custos_hex_encode(sig.bytes, sizeof sig.bytes, sig_hex, sizeof sig_hex),
                     CUSTOS_OK);
    char state_path[1200], text[2048];
    snprintf(state_path, sizeof state_path, "%s/manager.json", F.dir);
    snprintf(text, sizeof text,
             "{\"state\": \"liquidation\", \"deadline\": \"0\", \"sequence\": \"1\","
             " \"pending\": {\"state\": 3, \"ltvBps\": 9500, \"exposure\":"
             " \"95000000000000000000000\", \"collateralValue\": \"100000000000000000000000\","
             " \"deadline\": \"0\", \"sequence\": \"1\", \"account\": \"%s\","
             " \"lender\": \"%s\", \"signature\": \"%s\"}}",
             account_hex, lender_hex, sig_hex);
    tu_write_file(state_path, text);

    char out[OUT_CAP];
    expect(manage_once(state_path, out, sizeof out), 2, out,
           "notice liquidation sequence 1 ACCEPTED, cursor ", "the restart delivering the notice");
    assert_null(strstr(out, "(duplicate)"));
    /* The cursor the gateway answered is the notice's in the log. */
    const char *at = strstr(out, "ACCEPTED, cursor ");
    unsigned long long first_cursor = strtoull(at + strlen("ACCEPTED, cursor "), NULL, 10);
    assert_true(first_cursor > 0);
    assert_int_equal(notice_count(), 1);
    char *saved = tu_read_file(state_path);
    assert_non_null(saved);
    assert_non_null(strstr(saved, "\"pending\": null"));
    assert_non_null(strstr(saved, "\"state\": \"liquidation\""));
    free(saved);
    expect(manage_once(state_path, out, sizeof out), 2, out, "has no [evm]",
           "a second restart");
    assert_null(strstr(out, "notice "));
    assert_int_equal(notice_count(), 1);

    /* Killed after the gateway stored it but before the state file said so. */
    tu_write_file(state_path, text);
    expect(manage_once(state_path, out, sizeof out), 2, out,
           "notice liquidation sequence 1 ACCEPTED (duplicate), cursor ",
           "a notice delivered twice");
    at = strstr(out, "(duplicate), cursor ");
    assert_int_equal(strtoull(at + strlen("(duplicate), cursor "), NULL, 10), first_cursor);
    assert_int_equal(notice_count(), 1);
}

/* Bad input to SubmitNotice and ListNotices through raw calls: each doctored request is
 * refused with the field named, nothing is stored, and the gateway keeps serving. */
typedef enum doctor {
    D_ACCOUNT_31, D_LENDER_21, D_EXPOSURE_31, D_COLLATERAL_33, D_SIGNATURE_64, D_STATE_4,
    D_NO_DOMAIN, D_NO_NOTICE, D_CONTRACT_19, D_CALL_NO_DEADLINE, D_SEQUENCE_0, D_COUNT
} doctor;

static void pack_notice(doctor d, uint8_t **out, size_t *len)
{
    static uint8_t account[33], lender[21], exposure[33], collateral[33], sig[65], contract[20];
    memset(account, 0x11, sizeof account);
    memset(lender, 0xaa, sizeof lender);
    memset(exposure, 0, sizeof exposure);
    memset(collateral, 0, sizeof collateral);
    memset(sig, 0x22, sizeof sig);
    memcpy(contract, F.domain.verifying_contract, sizeof contract);
    Custos__V1__Domain dom = CUSTOS__V1__DOMAIN__INIT;
    dom.chain_id = F.domain.chain_id;
    dom.verifying_contract = (ProtobufCBinaryData){d == D_CONTRACT_19 ? 19 : 20, contract};
    Custos__V1__CollateralNotice n = CUSTOS__V1__COLLATERAL_NOTICE__INIT;
    n.account = (ProtobufCBinaryData){d == D_ACCOUNT_31 ? 31 : 32, account};
    n.lender = (ProtobufCBinaryData){d == D_LENDER_21 ? 21 : 20, lender};
    n.exposure = (ProtobufCBinaryData){d == D_EXPOSURE_31 ? 31 : 32, exposure};
    n.collateral_value = (ProtobufCBinaryData){d == D_COLLATERAL_33 ? 33 : 32, collateral};
    n.state = d == D_STATE_4 ? 4 : 2;
    n.deadline = d == D_CALL_NO_DEADLINE ? 0 : gwf_now() + 3600;
    n.sequence = d == D_SEQUENCE_0 ? 0 : 1;
    Custos__V1__SubmitNoticeRequest req = CUSTOS__V1__SUBMIT_NOTICE_REQUEST__INIT;
    req.domain = d == D_NO_DOMAIN ? NULL : &dom;
    req.notice = d == D_NO_NOTICE ? NULL : &n;
    req.signature = (ProtobufCBinaryData){d == D_SIGNATURE_64 ? 64 : 65, sig};
    *len = custos__v1__submit_notice_request__get_packed_size(&req);
    *out = malloc(*len + 1);
    assert_non_null(*out);
    assert_int_equal(custos__v1__submit_notice_request__pack(&req, *out), *len);
}

static void test_bad_input(void **state)
{
    (void)state;
    pledge();
    static const char *const named[D_COUNT] = {
        "notice.account must be 32 bytes",   "notice.lender must be 20 bytes",
        "notice.exposure must be 32 bytes",  "notice.collateral_value must be 32 bytes",
        "signature must be 65 bytes",        "notice.state 4",
        "needs its domain and notice",       "needs its domain and notice",
        "verifying_contract must be 20",     "a margin call needs a deadline",
        "sequence must be at least 1"};
    for (int d = 0; d < D_COUNT; d++) {
        uint8_t *req;
        size_t len;
        pack_notice((doctor)d, &req, &len);
        gwf_raw_result r;
        gwf_raw_call(&F, "/custos.v1.AttestationGateway/SubmitNotice", req, len, &r);
        free(req);
        if (r.grpc_status != 3 || strcmp(r.reason, "MALFORMED") != 0 ||
            strstr(r.details, named[d]) == NULL)
            fail_msg("doctored notice %d: status %d reason %s: %s (want '%s')", d,
                     r.grpc_status, r.reason, r.details, named[d]);
    }
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x0a, 0x80};
    gwf_raw_result r;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/SubmitNotice", garbage, sizeof garbage,
                 &r);
    assert_int_equal(r.grpc_status, 3);
    assert_string_equal(r.reason, "MALFORMED");

    /* ListNotices: an account of 31 bytes, a limit above 1000. */
    uint8_t list[2 + 31];
    list[0] = 0x0a;
    list[1] = 31;
    memset(list + 2, 0x11, 31);
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/ListNotices", list, sizeof list, &r);
    assert_int_equal(r.grpc_status, 3);
    assert_non_null(strstr(r.details, "account must be 32 bytes (got 31)"));
    uint8_t limit[2 + 32 + 3];
    limit[0] = 0x0a;
    limit[1] = 32;
    memset(limit + 2, 0x11, 32);
    limit[34] = 0x10; /* field 2, varint: 1001 */
    limit[35] = 0xe9;
    limit[36] = 0x07;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/ListNotices", limit, sizeof limit, &r);
    assert_int_equal(r.grpc_status, 3);
    assert_non_null(strstr(r.details, "limit at most 1000"));

    /* Nothing was stored, and the gateway still serves. */
    assert_int_equal(notice_count(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_notices_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manager_delivers_pending_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
