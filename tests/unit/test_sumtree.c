/* The Merkle sum tree (custos/sumtree.h, docs/attestation.md §18): every leaf of trees of 1
 * to 9 leaves proves, and each way a custodian could hide or net out an entry is caught by
 * the verifier: a sibling sum lowered or raised, a "negative" entry (a value that wraps
 * uint256), a value of 2^128 or more, another index, another count, another total, a
 * sibling dropped or added. The hashes themselves are cross-checked with an independent
 * JavaScript implementation in test_reserves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/keccak.h"
#include "custos/sumtree.h"

static void make_leaves(custos_sum_node *ls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t seed = (uint8_t)i;
        custos_keccak256(&seed, 1, ls[i].hash);
        custos_u256_from_u64(&ls[i].sum, 1000 * (i + 1) + 7 * i);
    }
}

typedef struct built {
    custos_sum_node leaves[9];
    custos_sum_node root;
    custos_sum_node proof[CUSTOS_SUMTREE_PROOF_MAX];
    size_t n_proof;
} built;

static void build(built *b, size_t n, size_t index)
{
    make_leaves(b->leaves, n);
    custos_sumtree *t = NULL;
    custos_error err;
    assert_int_equal(custos_sumtree_new(b->leaves, n, &t, &err), CUSTOS_OK);
    assert_int_equal(custos_sumtree_leaves(t), n);
    custos_sumtree_root(t, &b->root);
    assert_int_equal(custos_sumtree_proof(t, index, b->proof, CUSTOS_SUMTREE_PROOF_MAX,
                                          &b->n_proof, &err),
                     CUSTOS_OK);
    custos_sumtree_free(t);
}

static custos_rc check(const built *b, size_t index, size_t count, const custos_sum_node *proof,
                       size_t n_proof, const custos_u256 *total)
{
    custos_error err;
    return custos_sumtree_verify(&b->leaves[index], index, count, proof, n_proof, b->root.hash,
                                 total, &err);
}

static void test_every_leaf_proves(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 9; n++) {
        custos_u256 want;
        custos_u256_from_u64(&want, 0);
        custos_sum_node ls[9];
        make_leaves(ls, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(custos_u256_add(&want, &want, &ls[i].sum), CUSTOS_OK);
        for (size_t i = 0; i < n; i++) {
            built b;
            build(&b, n, i);
            assert_int_equal(custos_u256_cmp(&b.root.sum, &want), 0);
            assert_int_equal(check(&b, i, n, b.proof, b.n_proof, &b.root.sum), CUSTOS_OK);
        }
    }
}

/* A single leaf is its own root: no siblings. */
static void test_single_leaf(void **state)
{
    (void)state;
    built b;
    build(&b, 1, 0);
    assert_int_equal(b.n_proof, 0);
    assert_memory_equal(b.root.hash, b.leaves[0].hash, CUSTOS_HASH_LEN);
}

typedef enum tamper {
    T_SIBLING_SUM_LOWER, /* hide value under a sibling: its hash no longer matches */
    T_SIBLING_SUM_HIGHER,
    T_SIBLING_NEGATIVE,  /* a sibling sum of 2^256 - x: wraps in modular arithmetic */
    T_LEAF_TOO_LARGE,
    T_OTHER_INDEX,
    T_OTHER_COUNT,
    T_TOTAL_LOWER,
    T_TOTAL_HIGHER,
    T_DROP_SIBLING,
    T_EXTRA_SIBLING,
    T_INDEX_OUT_OF_RANGE,
} tamper;

static const struct {
    tamper t;
    custos_rc want;
} tamper_cases[] = {
    {T_SIBLING_SUM_LOWER, CUSTOS_ERR_CRYPTO}, {T_SIBLING_SUM_HIGHER, CUSTOS_ERR_CRYPTO},
    {T_SIBLING_NEGATIVE, CUSTOS_ERR_CRYPTO},  {T_LEAF_TOO_LARGE, CUSTOS_ERR_CRYPTO},
    {T_OTHER_INDEX, CUSTOS_ERR_CRYPTO},       {T_OTHER_COUNT, CUSTOS_ERR_CRYPTO},
    {T_TOTAL_LOWER, CUSTOS_ERR_CRYPTO},       {T_TOTAL_HIGHER, CUSTOS_ERR_CRYPTO},
    {T_DROP_SIBLING, CUSTOS_ERR_CRYPTO},      {T_EXTRA_SIBLING, CUSTOS_ERR_CRYPTO},
    {T_INDEX_OUT_OF_RANGE, CUSTOS_ERR_INVALID},
};

static void test_tampering_is_caught(void **state)
{
    (void)state;
    const size_t n = 7, at = 2; /* leaf 2 of 7 has siblings on three levels */
    for (size_t c = 0; c < sizeof tamper_cases / sizeof tamper_cases[0]; c++) {
        built b;
        build(&b, n, at);
        assert_int_equal(b.n_proof, 3);
        custos_sum_node proof[CUSTOS_SUMTREE_PROOF_MAX];
        memcpy(proof, b.proof, sizeof proof);
        size_t np = b.n_proof, index = at, count = n;
        custos_u256 total = b.root.sum, one;
        custos_u256_from_u64(&one, 1);
        switch (tamper_cases[c].t) {
        case T_SIBLING_SUM_LOWER:
            assert_int_equal(custos_u256_sub(&proof[1].sum, &proof[1].sum, &one), CUSTOS_OK);
            break;
        case T_SIBLING_SUM_HIGHER:
            assert_int_equal(custos_u256_add(&proof[1].sum, &proof[1].sum, &one), CUSTOS_OK);
            break;
        case T_SIBLING_NEGATIVE: {
            /* 2^256 - 5: added to a partial sum it wraps to the partial sum minus 5 */
            custos_u256 zero, five;
            custos_u256_from_u64(&zero, 0);
            custos_u256_from_u64(&five, 5);
            memset(&proof[0].sum, 0xff, sizeof proof[0].sum);
            assert_int_equal(custos_u256_sub(&proof[0].sum, &proof[0].sum, &five), CUSTOS_OK);
            assert_int_equal(custos_u256_add(&proof[0].sum, &proof[0].sum, &one), CUSTOS_OK);
            (void)zero;
            break;
        }
        case T_LEAF_TOO_LARGE:
            b.leaves[at].sum.limb[2] = 1;
            break;
        case T_OTHER_INDEX:
            index = at + 1;
            break;
        case T_OTHER_COUNT:
            count = n + 2; /* 9 leaves: leaf 2 has a fourth sibling */
            break;
        case T_TOTAL_LOWER:
            assert_int_equal(custos_u256_sub(&total, &total, &one), CUSTOS_OK);
            break;
        case T_TOTAL_HIGHER:
            assert_int_equal(custos_u256_add(&total, &total, &one), CUSTOS_OK);
            break;
        case T_DROP_SIBLING:
            np--;
            break;
        case T_EXTRA_SIBLING:
            proof[np++] = b.leaves[0];
            break;
        case T_INDEX_OUT_OF_RANGE:
            index = n;
            break;
        }
        custos_error err;
        custos_rc rc = custos_sumtree_verify(&b.leaves[at], index, count, proof, np,
                                             b.root.hash, &total, &err);
        if (rc != tamper_cases[c].want)
            fail_msg("case %zu: rc %d, want %d (%s)", c, rc, tamper_cases[c].want,
                     err.message);
    }
}

/* The builder refuses a leaf of 2^128 or more, so no honest tree carries one. */
static void test_builder_bounds(void **state)
{
    (void)state;
    custos_sum_node ls[3];
    make_leaves(ls, 3);
    ls[2].sum.limb[3] = 0x8000000000000000ull; /* "negative" as int256 */
    custos_sumtree *t = NULL;
    custos_error err;
    assert_int_equal(custos_sumtree_new(ls, 3, &t, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "leaf 2"));
    assert_null(t);
    assert_int_equal(custos_sumtree_new(ls, 0, &t, &err), CUSTOS_ERR_INVALID);
    make_leaves(ls, 3);
    assert_int_equal(custos_sumtree_new(ls, 3, &t, &err), CUSTOS_OK);
    custos_sum_node proof[2];
    size_t np;
    assert_int_equal(custos_sumtree_proof(t, 3, proof, 2, &np, &err), CUSTOS_ERR_NOT_FOUND);
    assert_int_equal(custos_sumtree_proof(t, 0, proof, 1, &np, &err), CUSTOS_ERR_TOO_LARGE);
    custos_sumtree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_leaf_proves),
        cmocka_unit_test(test_single_leaf),
        cmocka_unit_test(test_tampering_is_caught),
        cmocka_unit_test(test_builder_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
