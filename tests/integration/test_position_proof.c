/* GetPositionProof end to end: a real gateway serves the proof of one position of an
 * accepted attestation, `custos get-proof` writes it, and both `custos verify-proof` and
 * OpenZeppelin's StandardMerkleTree.verify (node) accept it and refuse tampered copies.
 * Also: unknown account or asset, an attestation without positions, and a gateway that
 * has not opted in to serving proofs without client certificates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <grpc/status.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "custos/merkle.h"
#include "custos/reason.h"

#include "gwfixture.h"

#define REF "acct-proofs-1"
#define ASSET "US91282CJL54"

static gwf F;
static char proof_path[1200];

/* Five positions (an odd count: an unbalanced tree, proofs of two lengths). */
static void make_positions(custos_submission *s)
{
    static const char *const ids[5] = {"US912797GK78", "US91282CJL54", "US912810TM09",
                                       "LU0128494944", "US9127975R03"};
    free(s->positions);
    s->positions = calloc(5, sizeof *s->positions);
    assert_non_null(s->positions);
    s->n_positions = 5;
    for (size_t i = 0; i < 5; i++) {
        custos_position *p = &s->positions[i];
        snprintf(p->asset_id, sizeof p->asset_id, "%s", ids[i]);
        gwf_usd(&p->quantity, 1000 * (i + 1));
        gwf_usd(&p->price, 1);
        gwf_usd(&p->value, 1000 * (i + 1));
        p->haircut_bps = (uint32_t)(100 * i);
    }
    custos_error err;
    assert_int_equal(custos_positions_root(s->positions, 5, s->att.positions_root, &err),
                     CUSTOS_OK);
}

static void submit_accepted(custos_submission *s)
{
    gwf_sign(&F, s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, s, GWF_KEY_AGENT);
    gwf_answer res;
    gwf_submit_answer(&F, s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("submit: %s: %s", custos_rc_name(res.rc), res.err.message);
}

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F); /* the fixture says public_proofs = true */
    gwf_start(&F);
    custos_submission s;
    gwf_make(&F, &s, REF, 1, 15000);
    make_positions(&s);
    submit_accepted(&s);
    custos_submission_clear(&s);
    snprintf(proof_path, sizeof proof_path, "%s/proof.json", F.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gwf_cleanup(&F);
    return 0;
}

/* Runs `custos get-proof` for asset of REF; returns its exit status, output in out. */
static int get_proof(const char *ref, const char *asset, char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "get-proof", "--gateway", F.target, "--insecure",
                          "--custodian", GWF_FEED, "--ref", ref, "--asset", asset, NULL};
    return tu_run(argv, out, cap, 0);
}

static int verify_proof(const char *path, const char *root, char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "verify-proof", path,
                          root != NULL ? "--root" : NULL, root, NULL};
    return tu_run(argv, out, cap, 1);
}

static int node_verify(const char *path, char *out, size_t cap)
{
    const char *args[] = {path, NULL};
    return tu_node("position_proof_verify.mjs", args, out, cap);
}

/* Writes the proof of ASSET to proof_path and returns the account's positionsRoot. */
static void fetch_proof(char root_hex[67])
{
    char out[16384];
    int rc = get_proof(REF, ASSET, out, sizeof out);
    if (rc != 0) {
        gwf_dump_log(&F);
        fail_msg("custos get-proof exited %d: %s", rc, out);
    }
    tu_write_file(proof_path, out);
    custos_record rec;
    uint8_t account[32];
    custos_account_id(GWF_FEED, REF, account);
    custos_error err;
    assert_int_equal(custos_client_get_latest(F.client, account, &rec, &err), CUSTOS_OK);
    /* This gateway shows positions to every reader (public_proofs). */
    assert_true(rec.sub.n_positions > 0);
    assert_false(rec.positions_withheld);
    assert_int_equal(custos_hex_encode(rec.sub.att.positions_root, 32, root_hex, 67),
                     CUSTOS_OK);
    assert_non_null(strstr(out, root_hex));
    custos_record_clear(&rec);
}

static void test_served_proof_verifies_in_c_and_js(void **state)
{
    (void)state;
    char root[67], out[4096];
    fetch_proof(root);
    assert_int_equal(verify_proof(proof_path, NULL, out, sizeof out), 0);
    assert_int_equal(verify_proof(proof_path, root, out, sizeof out), 0);
    int rc = node_verify(proof_path, out, sizeof out);
    if (rc != 0)
        fail_msg("StandardMerkleTree.verify refused the served proof (%d): %s", rc, out);
    assert_non_null(strstr(out, "valid"));
}

/* Replaces the first occurrence of from by to (same length) in the proof file. */
static void tamper(const char *from, const char *to)
{
    assert_int_equal(strlen(from), strlen(to));
    char *text = tu_read_file(proof_path);
    assert_non_null(text);
    char *at = strstr(text, from);
    assert_non_null(at);
    memcpy(at, to, strlen(to));
    tu_write_file(proof_path, text);
    free(text);
}

static void test_tampered_proof_fails_in_c_and_js(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        /* the position's value: 2000 becomes 9000 (the leaf no longer matches) */
        {"\"value\": \"2000", "\"value\": \"9000", "the leaf hash is not the hash"},
        {"\"haircutBps\": 100", "\"haircutBps\": 900", "the leaf hash is not the hash"},
        /* the first proof hash (a sibling) */
        {"\"proof\": [\n    \"0x", "\"proof\": [\n    \"0y", "\"proof\"[0] is not"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char root[67], out[4096];
        fetch_proof(root);
        tamper(cases[i].from, cases[i].to);
        assert_int_equal(verify_proof(proof_path, NULL, out, sizeof out), 1);
        if (strstr(out, cases[i].why) == NULL)
            fail_msg("case %zu: expected '%s' in: %s", i, cases[i].why, out);
        if (i < 2)
            assert_int_not_equal(node_verify(proof_path, out, sizeof out), 0);
    }

    /* A sibling hash changed to another valid hash: the walk misses the root. */
    char root[67], out[4096];
    fetch_proof(root);
    char *text = tu_read_file(proof_path);
    assert_non_null(text);
    char *sib = strstr(text, "\"proof\": [\n    \"0x");
    assert_non_null(sib);
    sib += strlen("\"proof\": [\n    \"0x");
    *sib = *sib == 'a' ? 'b' : 'a';
    tu_write_file(proof_path, text);
    free(text);
    assert_int_equal(verify_proof(proof_path, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "does not lead from the leaf to the root"));
    assert_int_not_equal(node_verify(proof_path, out, sizeof out), 0);
}

static void test_root_not_trusted_fails(void **state)
{
    (void)state;
    char root[67], out[4096];
    fetch_proof(root);
    root[2] = root[2] == 'a' ? 'b' : 'a';
    assert_int_equal(verify_proof(proof_path, root, out, sizeof out), 1);
    assert_non_null(strstr(out, "not the --root you trust"));
    assert_int_equal(verify_proof(proof_path, "0x1234", out, sizeof out), 1);
    assert_non_null(strstr(out, "--root"));
}

static void test_unknown_account_and_asset(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(get_proof("no-such-account", ASSET, out, sizeof out), 2);
    assert_int_equal(get_proof(REF, "XS0000000000", out, sizeof out), 2);

    uint8_t account[32];
    custos_account_id(GWF_FEED, REF, account);
    custos_position_proof *p = malloc(sizeof *p);
    assert_non_null(p);
    custos_error err;
    assert_int_equal(custos_client_get_position_proof(F.client, account, "XS0000000000", p,
                                                      &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no position with asset id 'XS0000000000'"));
    custos_account_id(GWF_FEED, "no-such-account", account);
    assert_int_equal(custos_client_get_position_proof(F.client, account, ASSET, p, &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "no accepted attestation"));
    free(p);
}

static void test_attestation_without_positions(void **state)
{
    (void)state;
    custos_submission s;
    gwf_make(&F, &s, "acct-proofs-freeze", 1, 1000);
    free(s.positions);
    s.positions = NULL;
    s.n_positions = 0;
    s.att.kind = CUSTOS_KIND_FREEZE;
    memset(s.att.positions_root, 0, sizeof s.att.positions_root);
    memset(&s.att.gross_value, 0, sizeof s.att.gross_value);
    memset(&s.att.collateral_value, 0, sizeof s.att.collateral_value);
    submit_accepted(&s);
    custos_position_proof *p = malloc(sizeof *p);
    assert_non_null(p);
    custos_error err;
    assert_int_equal(custos_client_get_position_proof(F.client, s.att.account, ASSET, p, &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_non_null(strstr(err.message, "carries no positions"));
    free(p);
    custos_submission_clear(&s);
}

/* The most positions one attestation may carry (CUSTOS_MAX_POSITIONS): accepted, and the
 * last of them served with a proof to the signed root; one more is refused TOO_LARGE and
 * leaves the accepted record as it was. */
static void test_most_positions(void **state)
{
    (void)state;
    custos_submission s;
    gwf_make(&F, &s, "acct-proofs-most", 1, 1000);
    free(s.positions);
    s.positions = calloc(CUSTOS_MAX_POSITIONS + 1, sizeof *s.positions);
    assert_non_null(s.positions);
    for (size_t i = 0; i <= CUSTOS_MAX_POSITIONS; i++) {
        custos_position *p = &s.positions[i];
        snprintf(p->asset_id, sizeof p->asset_id, "XS%010zu", i);
        gwf_usd(&p->quantity, i + 1);
        gwf_usd(&p->price, 1);
        gwf_usd(&p->value, i + 1);
    }
    custos_error err;
    s.n_positions = CUSTOS_MAX_POSITIONS;
    assert_int_equal(custos_positions_root(s.positions, s.n_positions, s.att.positions_root,
                                           &err),
                     CUSTOS_OK);
    submit_accepted(&s);
    char last[CUSTOS_ASSET_ID_MAX + 1];
    snprintf(last, sizeof last, "XS%010d", CUSTOS_MAX_POSITIONS - 1);
    custos_position_proof *p = malloc(sizeof *p);
    assert_non_null(p);
    if (custos_client_get_position_proof(F.client, s.att.account, last, p, &err) != CUSTOS_OK)
        fail_msg("proof of position %s: %s", last, err.message);
    assert_string_equal(p->position.asset_id, last);
    assert_memory_equal(p->root, s.att.positions_root, CUSTOS_HASH_LEN);
    assert_true(custos_merkle_verify(p->root, p->leaf,
                                     (const uint8_t(*)[CUSTOS_HASH_LEN])p->proof, p->n_proof));

    custos_submission more;
    gwf_make(&F, &more, "acct-proofs-most", 2, 1000);
    free(more.positions);
    more.positions = s.positions;
    more.n_positions = CUSTOS_MAX_POSITIONS + 1;
    s.positions = NULL;
    memcpy(more.att.positions_root, s.att.positions_root, CUSTOS_HASH_LEN);
    gwf_sign(&F, &more, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &more, GWF_KEY_AGENT);
    gwf_answer res;
    gwf_submit_answer(&F, &more, &res);
    assert_int_not_equal(res.rc, CUSTOS_OK);
    assert_int_equal(res.err.reason, CUSTOS_REASON_TOO_LARGE);
    custos_record rec;
    assert_int_equal(custos_client_get_latest(F.client, more.att.account, &rec, &err),
                     CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, 1);
    custos_record_clear(&rec);
    free(p);
    custos_submission_clear(&more);
    custos_submission_clear(&s);
}

static void test_malformed_request(void **state)
{
    (void)state;
    /* account of 3 bytes: field 1, length 3 */
    static const uint8_t req[] = {0x0a, 0x03, 1, 2, 3, 0x12, 0x01, 'X'};
    gwf_raw_result res;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/GetPositionProof", req, sizeof req, &res);
    assert_int_equal(res.grpc_status, GRPC_STATUS_INVALID_ARGUMENT);
    assert_string_equal(res.reason, "MALFORMED");
    assert_non_null(strstr(res.details, "account must be 32 bytes"));
}

/* Without client certificates and without public_proofs, nobody is served a proof, and
 * GetLatest answers the signed fields without the positions behind them. */
static void test_insecure_gateway_refuses_by_default(void **state)
{
    (void)state;
    gwf g;
    gwf_init(&g);
    g.private_positions = true;
    gwf_write_config(&g);
    gwf_start(&g);
    custos_submission s;
    gwf_make(&g, &s, REF, 1, 1000);
    gwf_sign(&g, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&g, &s, GWF_KEY_AGENT);
    custos_submit_result res;
    custos_error serr;
    assert_int_equal(gwf_submit(&g, &s, &res, &serr), CUSTOS_OK);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);
    custos_position_proof *p = malloc(sizeof *p);
    assert_non_null(p);
    custos_error err;
    assert_int_equal(custos_client_get_position_proof(g.client, s.att.account,
                                                      "US912797GK78", p, &err),
                     CUSTOS_ERR_REFUSED);
    assert_non_null(strstr(err.message, "public_proofs"));
    assert_non_null(strstr(err.message, "UNAUTHORIZED_CLIENT"));
    free(p);
    assert_true(s.n_positions > 0);
    custos_record rec;
    assert_int_equal(custos_client_get_latest(g.client, s.att.account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.n_positions, 0);
    assert_true(rec.positions_withheld);
    assert_memory_equal(rec.sub.att.positions_root, s.att.positions_root, CUSTOS_HASH_LEN);
    custos_record_clear(&rec);
    custos_submission_clear(&s);
    gwf_cleanup(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served_proof_verifies_in_c_and_js),
        cmocka_unit_test(test_tampered_proof_fails_in_c_and_js),
        cmocka_unit_test(test_root_not_trusted_fails),
        cmocka_unit_test(test_unknown_account_and_asset),
        cmocka_unit_test(test_attestation_without_positions),
        cmocka_unit_test(test_most_positions),
        cmocka_unit_test(test_malformed_request),
        cmocka_unit_test(test_insecure_gateway_refuses_by_default),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
