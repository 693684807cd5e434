/* Batches (docs/attestation.md §12): every exported account of batches of several sizes is
 * verified by ethers and @openzeppelin/merkle-tree alone (tests/js/batch_account_verify.mjs)
 * and by libcustos; tampered accounts are refused by both; the batch's membership rules and
 * the batch file's round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/batch.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "testutil.h"

#define FEED "ust-main"
#define AS_OF 1767225600ULL
#define VALID_UNTIL (AS_OF + 86400ULL)

static const uint8_t seckeys[2][CUSTOS_SECKEY_LEN] = {
    {0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d, 0x62, 0x31, 0x47, 0x1b, 0x5d, 0xbb, 0x62,
     0x04, 0xfe, 0x51, 0x29, 0x61, 0x70, 0x82, 0x79, 0x2a, 0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36,
     0x23, 0x18},
    {0x8d, 0xa4, 0xef, 0x21, 0xb8, 0x64, 0xd2, 0xcc, 0x52, 0x6d, 0xbd, 0xb2, 0xa1, 0x20, 0xbd,
     0x29, 0x74, 0xc8, 0xc1, 0x95, 0x6f, 0xa7, 0x6a, 0xc8, 0x4b, 0x39, 0x55, 0x64, 0x7c, 0x0d,
     0xa3, 0x76},
};

typedef struct fixture {
    custos_secp *ctx;
    custos_domain domain;
    uint8_t addrs[2][CUSTOS_ADDRESS_LEN];
    custos_attestation *atts;
    size_t n;
    custos_batch batch;
    custos_batch_tree *tree;
    custos_signature sigs[2];
    char dir[256];
} fixture;

static void make_attestation(size_t i, custos_attestation *a)
{
    char ref[32];
    memset(a, 0, sizeof *a);
    snprintf(ref, sizeof ref, "ACCT-%04zu", i);
    custos_account_id("custodian-a", ref, a->account);
    for (size_t k = 0; k < CUSTOS_ADDRESS_LEN; k++)
        a->beneficiary[k] = (uint8_t)(0xb0 + k);
    a->kind = CUSTOS_KIND_VALUATION;
    a->gross_value.limb[0] = 1000000000000000000ULL * (i + 1);
    a->gross_value.limb[1] = i;
    a->collateral_value.limb[0] = 990000000000000000ULL * (i + 1);
    a->positions_root[0] = (uint8_t)i;
    a->positions_root[31] = 0x5a;
    a->as_of = AS_OF;
    a->valid_until = VALID_UNTIL;
    a->sequence = 7 + i;
}

static void fixture_build(fixture *f, size_t n)
{
    memset(f, 0, sizeof *f);
    f->ctx = custos_secp_new();
    assert_non_null(f->ctx);
    f->domain.chain_id = 31337;
    for (size_t k = 0; k < CUSTOS_ADDRESS_LEN; k++)
        f->domain.verifying_contract[k] = (uint8_t)(0x10 + k);
    for (size_t k = 0; k < 2; k++)
        assert_int_equal(custos_address_from_seckey(f->ctx, seckeys[k], f->addrs[k], NULL),
                         CUSTOS_OK);
    f->n = n;
    f->atts = calloc(n, sizeof *f->atts);
    assert_non_null(f->atts);
    for (size_t i = 0; i < n; i++)
        make_attestation(i, &f->atts[i]);
    custos_error err;
    assert_int_equal(custos_batch_tree_new(FEED, f->atts, n, 42, &f->batch, &f->tree, &err),
                     CUSTOS_OK);
    assert_int_equal(f->batch.count, n);
    assert_true(f->batch.as_of == AS_OF && f->batch.valid_until == VALID_UNTIL);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(&f->domain, &f->batch, digest);
    for (size_t k = 0; k < 2; k++)
        assert_int_equal(custos_sign_digest(f->ctx, seckeys[k], digest, &f->sigs[k], NULL),
                         CUSTOS_OK);
    tu_mkdtemp(f->dir, sizeof f->dir);
}

static void fixture_free(fixture *f)
{
    tu_rmtree(f->dir);
    custos_batch_tree_free(f->tree);
    free(f->atts);
    custos_secp_free(f->ctx);
}

static void account_of(const fixture *f, size_t i, custos_batch_account *a)
{
    memset(a, 0, sizeof *a);
    snprintf(a->feed, sizeof a->feed, "%s", FEED);
    a->domain = f->domain;
    a->att = f->atts[i];
    a->batch = f->batch;
    uint8_t leaf[CUSTOS_HASH_LEN];
    assert_int_equal(custos_batch_tree_proof(f->tree, i, leaf, a->proof, CUSTOS_MERKLE_PROOF_MAX,
                                             &a->n_proof, NULL),
                     CUSTOS_OK);
    uint8_t expect[CUSTOS_HASH_LEN];
    custos_batch_leaf(&f->atts[i], expect);
    assert_memory_equal(leaf, expect, CUSTOS_HASH_LEN);
    memcpy(a->sigs, f->sigs, sizeof f->sigs);
    a->n_sigs = 2;
}

/* Runs the independent verifier on the account's file; returns its exit status and leaves
 * its output in out. */
static int js_verify(const fixture *f, const custos_batch_account *a, char *out, size_t cap)
{
    static const custos_position pos = {.asset_id = "US912828XX00", .haircut_bps = 200};
    char *json = NULL;
    custos_error err;
    assert_int_equal(custos_batch_account_export(a, &pos, 1, &json, &err), CUSTOS_OK);
    char path[320];
    snprintf(path, sizeof path, "%s/account.json", f->dir);
    tu_write_file(path, json);
    free(json);
    const char *args[] = {path, NULL};
    return tu_node("batch_account_verify.mjs", args, out, cap);
}

static void expect_js_valid(const fixture *f, const custos_batch_account *a)
{
    char out[1024] = {0};
    int status = js_verify(f, a, out, sizeof out);
    if (status != 0) {
        fail_msg("batch_account_verify.mjs refused a good account: %s", out);
        return;
    }
    for (size_t k = 0; k < 2; k++) {
        char hex[CUSTOS_ADDRESS_HEX_LEN], line[80];
        custos_address_to_hex(f->addrs[k], hex);
        snprintf(line, sizeof line, "signer %s\n", hex);
        assert_non_null(strstr(out, line));
    }
}

static void test_accounts_verify_independently(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 7, 100};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        fixture f;
        fixture_build(&f, sizes[s]);
        for (size_t i = 0; i < f.n; i++) {
            custos_batch_account a;
            account_of(&f, i, &a);
            uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
            custos_error err;
            custos_rc rc = custos_batch_account_verify(f.ctx, &a, signers, &err);
            if (rc != CUSTOS_OK) {
                fail_msg("batch of %zu, account %zu: %s", f.n, i, err.message);
                return;
            }
            assert_memory_equal(signers[0], f.addrs[0], CUSTOS_ADDRESS_LEN);
            assert_memory_equal(signers[1], f.addrs[1], CUSTOS_ADDRESS_LEN);
            /* Every account of the small batches, the ends and the middle of the large one:
             * node starts in a few hundred milliseconds. */
            if (f.n <= 7 || i == 0 || i == f.n / 2 || i == f.n - 1)
                expect_js_valid(&f, &a);
        }
        fixture_free(&f);
    }
}

/* A change to any part of an account makes both verifiers refuse it. */
static void test_tampered_account_refused(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f, 5);
    enum { T_VALUE, T_PROOF, T_ROOT, T_SEQ_BATCH, T_SIG, N_T };
    for (int t = 0; t < N_T; t++) {
        custos_batch_account a;
        account_of(&f, 2, &a);
        switch (t) {
        case T_VALUE: a.att.collateral_value.limb[0] += 1; break;
        case T_PROOF: a.proof[0][5] ^= 1; break;
        case T_ROOT: a.batch.accounts_root[0] ^= 1; break;
        case T_SEQ_BATCH: a.batch.sequence += 1; break;
        case T_SIG: memcpy(&a.sigs[1], &a.sigs[0], sizeof a.sigs[0]); break;
        default: break;
        }
        uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
        custos_error err;
        custos_rc rc = custos_batch_account_verify(f.ctx, &a, signers, &err);
        /* A changed batch field changes the digest: the signatures recover to other keys,
         * which verification cannot tell from a stranger's; the signers must differ. */
        if (t == T_SEQ_BATCH) {
            if (rc == CUSTOS_OK)
                assert_memory_not_equal(signers[0], f.addrs[0], CUSTOS_ADDRESS_LEN);
        } else {
            assert_int_not_equal(rc, CUSTOS_OK);
        }
        char out[1024] = {0};
        int status = js_verify(&f, &a, out, sizeof out);
        if (t == T_SEQ_BATCH) {
            char hex[CUSTOS_ADDRESS_HEX_LEN];
            custos_address_to_hex(f.addrs[0], hex);
            assert_null(strstr(out, hex));
        } else {
            assert_int_not_equal(status, 0);
        }
    }
    fixture_free(&f);
}

static void test_membership_rules(void **state)
{
    (void)state;
    custos_attestation atts[3];
    for (size_t i = 0; i < 3; i++)
        make_attestation(i, &atts[i]);
    custos_batch b;
    custos_batch_tree *t = NULL;
    custos_error err;

    atts[1].kind = CUSTOS_KIND_FREEZE;
    assert_int_equal(custos_batch_tree_new(FEED, atts, 3, 1, &b, &t, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "batch account 1"));
    assert_null(t);
    make_attestation(1, &atts[1]);

    atts[2].as_of += 1;
    assert_int_equal(custos_batch_tree_new(FEED, atts, 3, 1, &b, &t, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "asOf"));
    make_attestation(2, &atts[2]);

    atts[2].valid_until += 1;
    assert_int_equal(custos_batch_tree_new(FEED, atts, 3, 1, &b, &t, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "validUntil"));
    make_attestation(2, &atts[2]);

    memcpy(atts[2].account, atts[0].account, CUSTOS_HASH_LEN);
    assert_int_equal(custos_batch_tree_new(FEED, atts, 3, 1, &b, &t, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "more than once"));
    make_attestation(2, &atts[2]);

    assert_int_equal(custos_batch_tree_new(FEED, atts, 0, 1, &b, &t, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(custos_batch_tree_new(FEED, atts, CUSTOS_BATCH_MAX_ACCOUNTS + 1, 1, &b, &t,
                                           &err),
                     CUSTOS_ERR_TOO_LARGE);
    assert_int_equal(custos_batch_tree_new("", atts, 3, 1, &b, &t, &err), CUSTOS_ERR_INVALID);

    assert_int_equal(custos_batch_tree_new(FEED, atts, 3, 9, &b, &t, &err), CUSTOS_OK);
    uint8_t leaf[CUSTOS_HASH_LEN], proof[CUSTOS_MERKLE_PROOF_MAX][CUSTOS_HASH_LEN];
    size_t n = 0;
    assert_int_equal(custos_batch_tree_proof(t, 3, leaf, proof, CUSTOS_MERKLE_PROOF_MAX, &n, &err),
                     CUSTOS_ERR_NOT_FOUND);
    custos_batch_tree_free(t);
}

/* The batch file a cosigner reads: export, import, and a changed field refused. */
static void test_batch_file_round_trip(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f, 4);
    char *json = NULL;
    custos_error err;
    assert_int_equal(custos_batch_export(FEED, &f.domain, &f.batch, f.sigs, 2, &json, &err),
                     CUSTOS_OK);
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain d;
    custos_batch b;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs = 0;
    custos_rc rc = custos_batch_import(json, strlen(json), feed, &d, &b, sigs, &n_sigs, &err);
    if (rc != CUSTOS_OK) {
        free(json);
        fail_msg("batch import: %s", err.message);
        return;
    }
    assert_string_equal(feed, FEED);
    assert_memory_equal(&d, &f.domain, sizeof d);
    assert_memory_equal(b.accounts_root, f.batch.accounts_root, CUSTOS_HASH_LEN);
    assert_true(b.count == 4 && b.sequence == 42 && b.as_of == AS_OF &&
                b.valid_until == VALID_UNTIL);
    assert_int_equal(n_sigs, 2);
    assert_memory_equal(sigs, f.sigs, sizeof f.sigs);

    /* The sequence changed without the digest: refused, naming the digest. */
    char *at = strstr(json, "\"sequence\": \"42\"");
    assert_non_null(at);
    at[14] = '3';
    assert_int_equal(custos_batch_import(json, strlen(json), feed, &d, &b, sigs, &n_sigs, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "digest"));
    free(json);

    /* Another feed's name with this batch's feedId. */
    assert_int_equal(custos_batch_export("other", &f.domain, &f.batch, f.sigs, 2, &json, &err),
                     CUSTOS_OK);
    assert_int_equal(custos_batch_import(json, strlen(json), feed, &d, &b, sigs, &n_sigs, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "feedId"));
    free(json);
    fixture_free(&f);
}

/* The account file read back: the same account, verified alone; a changed value without
 * its structHash, or a changed leaf, refused naming the field. */
static void test_account_file_round_trip(void **state)
{
    (void)state;
    fixture f;
    fixture_build(&f, 7);
    custos_batch_account a;
    account_of(&f, 4, &a);
    static const custos_position pos = {.asset_id = "US912828XX00", .haircut_bps = 200};
    char *json = NULL;
    custos_error err;
    assert_int_equal(custos_batch_account_export(&a, &pos, 1, &json, &err), CUSTOS_OK);
    custos_batch_account back;
    custos_rc rc = custos_batch_account_import(json, strlen(json), &back, &err);
    if (rc != CUSTOS_OK) {
        free(json);
        fail_msg("import: %s", err.message);
        return;
    }
    assert_string_equal(back.feed, a.feed);
    assert_memory_equal(&back.att, &a.att, sizeof a.att);
    assert_memory_equal(&back.batch, &a.batch, sizeof a.batch);
    assert_memory_equal(&back.domain, &a.domain, sizeof a.domain);
    assert_int_equal(back.n_proof, a.n_proof);
    assert_memory_equal(back.proof, a.proof, a.n_proof * CUSTOS_HASH_LEN);
    assert_int_equal(back.n_sigs, 2);
    assert_memory_equal(back.sigs, a.sigs, 2 * sizeof a.sigs[0]);
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    assert_int_equal(custos_batch_account_verify(f.ctx, &back, signers, &err), CUSTOS_OK);

    /* "sequence": "11" is account 4's; a changed one no longer gives the structHash. */
    char *at = strstr(json, "\"sequence\": \"11\"");
    assert_non_null(at);
    at[14] = '2';
    assert_int_equal(custos_batch_account_import(json, strlen(json), &back, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "structHash"));
    at[14] = '1';
    at = strstr(json, "\"leaf\": \"0x");
    assert_non_null(at);
    at[12] = at[12] == 'a' ? 'b' : 'a';
    assert_int_equal(custos_batch_account_import(json, strlen(json), &back, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "batch.leaf"));
    free(json);
    assert_int_equal(custos_batch_account_import("[]", 2, &back, &err), CUSTOS_ERR_INVALID);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accounts_verify_independently),
        cmocka_unit_test(test_tampered_account_refused),
        cmocka_unit_test(test_membership_rules),
        cmocka_unit_test(test_batch_file_round_trip),
        cmocka_unit_test(test_account_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
