/* GetReservesProof's cached trees: a proof from the cache is the proof custos_reserves_prove
 * builds from scratch, a newer attestation of the feed replaces the tree, and leaves that
 * do not hash to the stored root are refused rather than proved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/reserves.h"
#include "reserves_trees.h"

#define N_ACCOUNTS 1000

/* n entries of feed whose values depend on salt, summarised into res (digest from salt). */
static void make_reserves(gw_store_reserves *res, custos_reserves_entry *es, const char *feed,
                          uint8_t salt)
{
    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        memset(es[i].account, 0, sizeof es[i].account);
        memcpy(es[i].account, &i, sizeof i);
        es[i].account[31] = 0xac;
        custos_u256_from_u64(&es[i].collateral_value, 1000 * (i + 1) + salt);
    }
    custos_error err;
    assert_int_equal(custos_reserves_summarise(es, N_ACCOUNTS, &res->r, &err), CUSTOS_OK);
    snprintf(res->feed, sizeof res->feed, "%s", feed);
    memset(res->digest, salt, sizeof res->digest);
    res->entries = es;
}

/* The cache's proof of entry i equals the one built from scratch and verifies. */
static void assert_same_proof(gw_reserves_trees *t, const gw_store_reserves *res, size_t i)
{
    custos_error err;
    custos_reserves_proof got, want;
    memset(&got, 0, sizeof got);
    memset(&want, 0, sizeof want);
    assert_int_equal(gw_reserves_trees_proof(t, res, res->entries[i].account, &got, &err),
                     CUSTOS_OK);
    assert_int_equal(custos_reserves_prove(res->entries, N_ACCOUNTS, res->entries[i].account,
                                           &want, &err),
                     CUSTOS_OK);
    assert_memory_equal(&got, &want, sizeof got);
    assert_int_equal(custos_reserves_proof_verify(&res->r, &got, &err), CUSTOS_OK);
}

static void test_proofs_match_and_follow_newer_attestations(void **state)
{
    (void)state;
    custos_error err;
    gw_reserves_trees *t = NULL;
    assert_int_equal(gw_reserves_trees_new(&t, &err), CUSTOS_OK);
    custos_reserves_entry *es1 = calloc(N_ACCOUNTS, sizeof *es1);
    custos_reserves_entry *es2 = calloc(N_ACCOUNTS, sizeof *es2);
    custos_reserves_entry *es3 = calloc(N_ACCOUNTS, sizeof *es3);
    assert_non_null(es1);
    assert_non_null(es2);
    assert_non_null(es3);
    gw_store_reserves acme1, acme2, other;
    make_reserves(&acme1, es1, "acme", 1);
    make_reserves(&acme2, es2, "acme", 2);
    make_reserves(&other, es3, "other", 3);

    static const size_t picks[] = {0, 1, 499, N_ACCOUNTS - 1};
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++)
        assert_same_proof(t, &acme1, picks[k]);
    /* Another feed keeps its own tree; the first feed's is still there. */
    assert_same_proof(t, &other, 7);
    assert_same_proof(t, &acme1, 8);
    /* A newer attestation of the feed: its tree replaces the old one. */
    assert_same_proof(t, &acme2, 9);
    /* An account not among the leaves has no proof. */
    uint8_t absent[32] = {0};
    absent[31] = 0x01;
    custos_reserves_proof p;
    assert_int_equal(gw_reserves_trees_proof(t, &acme2, absent, &p, &err), CUSTOS_ERR_NOT_FOUND);

    /* Leaves that do not make the root they were stored with get no proof. */
    gw_store_reserves bad;
    make_reserves(&bad, es3, "other", 4);
    bad.r.sum_root[0] ^= 1;
    assert_int_equal(gw_reserves_trees_proof(t, &bad, bad.entries[0].account, &p, &err),
                     CUSTOS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "sumRoot"));

    free(es1);
    free(es2);
    free(es3);
    gw_reserves_trees_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proofs_match_and_follow_newer_attestations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
