/* Rule 19 through the real custos-gateway, custos-attestor and custos: the custodian's
 * `custos-attestor notice` (a margin call, then healthy again) is accepted for the lender
 * the account is pledged to, the same notice again is a duplicate, and the gateway refuses
 * a notice signed by the valuation agent, by another feed's custodian or by an unknown key,
 * about another lender, and with a sequence already used. `custos notices` lists them
 * newest first, each verified; ethers' verifyTypedData (tests/js/notice_check.mjs)
 * recovers the custodian from what the gateway serves and from the attestor's export. They
 * survive a restart of the gateway. */
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
#include "custos/sig.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_notices_end_to_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
