/* Rule 5 through the real custos-gateway and the custos command line: an account
 * pledged to lender A is refused to lender B (PLEDGED_ELSEWHERE, nothing stored) until a
 * release for A has been accepted, a freeze leaves the pledge in place, and the pledge
 * survives a restart of the gateway. */
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
#include "custos/client.h"
#include "custos/reason.h"
#include "custos/sig.h"

#include "gwfixture.h"

#define REF "PLEDGE-GW-1"
#define OUT_CAP 65536

static gwf F;

static int setup(void **state)
{
    (void)state;
    gwf_init(&F);
    F.release_unchecked = true; /* rule 5 alone: no chain to read exposure from */
    gwf_write_config(&F);
    gwf_start(&F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* kind to lender 0x<lender>..., signed by the feed's quorum (custodian and agent). */
static void submit(uint64_t sequence, uint8_t kind, uint8_t lender, gwf_answer *a)
{
    custos_submission s;
    gwf_make(&F, &s, REF, sequence, kind == CUSTOS_KIND_VALUATION ? 1000000 : 0);
    memset(s.att.beneficiary, lender, CUSTOS_ADDRESS_LEN);
    if (kind != CUSTOS_KIND_VALUATION) {
        free(s.positions);
        s.positions = NULL;
        s.n_positions = 0;
        memset(s.att.positions_root, 0, CUSTOS_HASH_LEN);
        custos_u256_from_u64(&s.att.gross_value, 0);
        custos_u256_from_u64(&s.att.collateral_value, 0);
    }
    s.att.kind = kind;
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    gwf_submit_answer(&F, &s, a);
    custos_submission_clear(&s);
}

static void expect_accepted(const gwf_answer *a)
{
    if (a->rc != CUSTOS_OK || a->res.state != CUSTOS_STATE_ACCEPTED || a->res.duplicate) {
        gwf_dump_log(&F);
        fail_msg("want a new ACCEPTED; got %s state %d: %s", custos_rc_name(a->rc),
                 (int)a->res.state, a->err.message);
    }
}

static void expect_pledged_elsewhere(const gwf_answer *a, const char *holder)
{
    if (a->rc != CUSTOS_ERR_REFUSED || a->err.reason != CUSTOS_REASON_PLEDGED_ELSEWHERE)
        fail_msg("want PLEDGED_ELSEWHERE; got %s: %s", custos_rc_name(a->rc), a->err.message);
    if (strstr(a->err.message, holder) == NULL)
        fail_msg("the detail does not name the current lender %s: %s", holder, a->err.message);
}

/* `custos get-latest` for the account: its cursor and the beneficiary it prints. */
static uint64_t cli_latest(char *beneficiary, size_t cap)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "get-latest", "--gateway", F.target, "--custodian",
                          GWF_FEED, "--ref", REF, "--insecure", NULL};
    char out[OUT_CAP];
    int status = tu_run(argv, out, sizeof out, 0);
    if (status != 0)
        fail_msg("custos get-latest exited %d: %s", status, out);
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    if (doc == NULL)
        fail_msg("custos get-latest printed no JSON: %s\n%s", jerr.text, out);
    json_t *cursor = json_object_get(doc, "cursor");
    json_t *att = json_object_get(doc, "attestation");
    json_t *ben = json_object_get(att != NULL ? att : doc, "beneficiary");
    if (!json_is_integer(cursor) || !json_is_string(ben)) {
        json_decref(doc);
        fail_msg("custos get-latest JSON lacks cursor or beneficiary:\n%s", out);
    }
    uint64_t c = (uint64_t)json_integer_value(cursor);
    snprintf(beneficiary, cap, "%s", json_string_value(ben));
    json_decref(doc);
    return c;
}

static void test_one_lender_end_to_end(void **state)
{
    (void)state;
    uint8_t a[CUSTOS_ADDRESS_LEN];
    memset(a, 0xaa, sizeof a);
    char a_hex[CUSTOS_ADDRESS_HEX_LEN], ben[128];
    custos_address_to_hex(a, a_hex);

    gwf_answer res;
    submit(1, CUSTOS_KIND_VALUATION, 0xaa, &res);
    expect_accepted(&res);
    uint64_t pledged_at = res.res.cursor;

    submit(2, CUSTOS_KIND_VALUATION, 0xbb, &res);
    expect_pledged_elsewhere(&res, a_hex);
    assert_int_equal(cli_latest(ben, sizeof ben), pledged_at);
    assert_true(strcasecmp(ben, a_hex) == 0);
    assert_int_equal(gwf_watch_head(&F, 0, 300, NULL), pledged_at);

    /* A freeze flows and keeps the pledge. */
    submit(2, CUSTOS_KIND_FREEZE, 0xaa, &res);
    expect_accepted(&res);
    submit(3, CUSTOS_KIND_VALUATION, 0xbb, &res);
    expect_pledged_elsewhere(&res, a_hex);

    /* The rule survives a restart: the pledge is reloaded from the store. */
    assert_int_equal(gwf_stop(&F), 0);
    gwf_start(&F);
    submit(3, CUSTOS_KIND_VALUATION, 0xbb, &res);
    expect_pledged_elsewhere(&res, a_hex);
    submit(3, CUSTOS_KIND_RELEASE, 0xbb, &res);
    expect_pledged_elsewhere(&res, a_hex);

    submit(3, CUSTOS_KIND_RELEASE, 0xaa, &res);
    expect_accepted(&res);
    submit(4, CUSTOS_KIND_VALUATION, 0xbb, &res);
    expect_accepted(&res);
    uint64_t moved_at = res.res.cursor;
    uint8_t b[CUSTOS_ADDRESS_LEN];
    char b_hex[CUSTOS_ADDRESS_HEX_LEN];
    memset(b, 0xbb, sizeof b);
    custos_address_to_hex(b, b_hex);
    assert_int_equal(cli_latest(ben, sizeof ben), moved_at);
    assert_true(strcasecmp(ben, b_hex) == 0);
    submit(5, CUSTOS_KIND_VALUATION, 0xaa, &res);
    expect_pledged_elsewhere(&res, b_hex);
}

/* GetPledge reads the chain: a gateway without [evm] says so (custos pledge exits 1); an
 * account the gateway knows no lender of is NOT_FOUND (exit 2); a field of the wrong
 * length is MALFORMED. test_lending_anvil.c reads real pledges. */
static void test_get_pledge_without_chain(void **state)
{
    (void)state;
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REF, account);
    custos_pledge *p = NULL;
    custos_error err;
    assert_int_equal(custos_client_get_pledge(F.client, account, NULL, &p, &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "knows no lender"));
    assert_null(p);
    gwf_answer res;
    submit(1, CUSTOS_KIND_VALUATION, 0xaa, &res);
    expect_accepted(&res);
    assert_int_equal(custos_client_get_pledge(F.client, account, NULL, &p, &err),
                     CUSTOS_ERR_REFUSED);
    assert_non_null(strstr(err.message, "no [evm]"));
    assert_null(p);
    const char *argv[] = {CUSTOS_CLI_BIN, "pledge", "--gateway", F.target, "--custodian",
                          GWF_FEED, "--ref", REF, "--insecure", NULL};
    char out[OUT_CAP];
    assert_int_equal(tu_run(argv, out, sizeof out, 1), 1);
    assert_non_null(strstr(out, "no [evm]"));
    const char *unknown[] = {CUSTOS_CLI_BIN, "pledge", "--gateway", F.target, "--custodian",
                             GWF_FEED, "--ref", "NEVER-SEEN", "--insecure", NULL};
    assert_int_equal(tu_run(unknown, out, sizeof out, 1), 2);

    /* A beneficiary of 21 bytes, through the raw call. */
    uint8_t req[2 + 32 + 2 + 21];
    req[0] = 0x0a;
    req[1] = 32;
    memcpy(req + 2, account, 32);
    req[34] = 0x12;
    req[35] = 21;
    memset(req + 36, 0xaa, 21);
    gwf_raw_result r;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/GetPledge", req, sizeof req, &r);
    assert_int_equal(r.grpc_status, 3); /* INVALID_ARGUMENT */
    assert_string_equal(r.reason, "MALFORMED");
    assert_non_null(strstr(r.details, "beneficiary 20 bytes"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_lender_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_pledge_without_chain, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
