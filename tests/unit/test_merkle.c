/* Positions Merkle tree: roots, leaves and every proof compared byte for byte with
 * OpenZeppelin's StandardMerkleTree (tests/js/merkle_check.mjs), then proofs verified and
 * tampered with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/hex.h"
#include "custos/merkle.h"
#include "testutil.h"

/* splitmix64 with a fixed seed: the same positions on every run. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Amounts of every width, including zero and 2^256-1. */
static void rng_amount(uint64_t *s, custos_u256 *r)
{
    unsigned limbs = (unsigned)(rng_next(s) % 6);
    memset(r, 0, sizeof *r);
    if (limbs == 5) {
        for (int i = 0; i < 4; i++)
            r->limb[i] = UINT64_MAX;
        return;
    }
    for (unsigned i = 0; i < limbs; i++)
        r->limb[i] = rng_next(s);
}

static void make_position(uint64_t *s, size_t index, custos_position *p)
{
    memset(p, 0, sizeof *p);
    /* Ids of every length 1..31 over all printable ASCII, quotes and backslashes included. */
    size_t len = 1 + (size_t)(rng_next(s) % CUSTOS_ASSET_ID_MAX);
    if (index % 7 == 0)
        len = CUSTOS_ASSET_ID_MAX;
    for (size_t i = 0; i < len; i++)
        p->asset_id[i] = (char)(0x20 + rng_next(s) % 95);
    rng_amount(s, &p->quantity);
    rng_amount(s, &p->price);
    rng_amount(s, &p->value);
    uint64_t h = rng_next(s) % 10003;
    p->haircut_bps = (uint32_t)(h > 10000 ? (h == 10001 ? 0 : 10000) : h);
}

typedef struct merkle_set {
    custos_position *ps;
    size_t n;
} merkle_set;

static json_t *position_json(const custos_position *p)
{
    char q[CUSTOS_U256_DEC_MAX], pr[CUSTOS_U256_DEC_MAX], v[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_u256_to_dec(&p->quantity, q, sizeof q), CUSTOS_OK);
    assert_int_equal(custos_u256_to_dec(&p->price, pr, sizeof pr), CUSTOS_OK);
    assert_int_equal(custos_u256_to_dec(&p->value, v, sizeof v), CUSTOS_OK);
    json_t *j = json_pack("[s s s s I]", p->asset_id, q, pr, v, (json_int_t)p->haircut_bps);
    assert_non_null(j);
    return j;
}

/* Runs merkle_check.mjs once over every set; returns its parsed answer. */
static json_t *reference_trees(const merkle_set *sets, size_t n_sets)
{
    json_t *jsets = json_array();
    for (size_t i = 0; i < n_sets; i++) {
        json_t *values = json_array();
        for (size_t k = 0; k < sets[i].n; k++)
            assert_int_equal(json_array_append_new(values, position_json(&sets[i].ps[k])), 0);
        assert_int_equal(json_array_append_new(jsets, values), 0);
    }
    json_t *spec = json_pack("{s s s o}", "types", CUSTOS_POSITION_LEAF_TYPES, "sets", jsets);
    assert_non_null(spec);

    char dir[512], in_path[600], out_path[600];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(in_path, sizeof in_path, "%s/in.json", dir);
    snprintf(out_path, sizeof out_path, "%s/out.json", dir);
    assert_int_equal(json_dump_file(spec, in_path, JSON_COMPACT), 0);
    json_decref(spec);

    char msg[4096];
    const char *args[] = {in_path, out_path, NULL};
    int status = tu_node("merkle_check.mjs", args, msg, sizeof msg);
    if (status != 0)
        fail_msg("merkle_check.mjs exited %d: %s", status, msg);
    json_error_t jerr;
    json_t *answer = json_load_file(out_path, 0, &jerr);
    if (answer == NULL)
        fail_msg("merkle_check.mjs output: %s", jerr.text);
    tu_rmtree(dir);
    json_t *out = json_object_get(answer, "sets");
    assert_true(json_is_array(out));
    assert_int_equal(json_array_size(out), n_sets);
    json_incref(out);
    json_decref(answer);
    return out;
}

static void hash_from_json(json_t *j, uint8_t out[32])
{
    assert_true(json_is_string(j));
    assert_int_equal(custos_hex_decode(json_string_value(j), out, 32, NULL), CUSTOS_OK);
}

static void assert_hash_eq(const uint8_t got[32], const uint8_t want[32], const char *what,
                           size_t set, size_t i)
{
    if (memcmp(got, want, 32) != 0) {
        char g[67], w[67];
        assert_int_equal(custos_hex_encode(got, 32, g, sizeof g), CUSTOS_OK);
        assert_int_equal(custos_hex_encode(want, 32, w, sizeof w), CUSTOS_OK);
        fail_msg("set %zu item %zu %s: libcustos %s, OpenZeppelin %s", set, i, what, g, w);
    }
}

/* Everything about one set: leaves, root, each proof, verification and tampering. */
static void check_set(const merkle_set *set, size_t si, json_t *ref)
{
    json_t *jleaves = json_object_get(ref, "leaves");
    json_t *jproofs = json_object_get(ref, "proofs");
    assert_int_equal(json_array_size(jleaves), set->n);
    assert_int_equal(json_array_size(jproofs), set->n);

    uint8_t want_root[32], root[32], tree_root[32];
    hash_from_json(json_object_get(ref, "root"), want_root);
    assert_int_equal(custos_positions_root(set->ps, set->n, root, NULL), CUSTOS_OK);
    assert_hash_eq(root, want_root, "positions root", si, 0);

    uint8_t (*leaves)[32] = calloc(set->n, 32);
    assert_non_null(leaves);
    for (size_t i = 0; i < set->n; i++) {
        uint8_t want[32];
        assert_int_equal(custos_position_leaf(&set->ps[i], leaves[i], NULL), CUSTOS_OK);
        hash_from_json(json_array_get(jleaves, i), want);
        assert_hash_eq(leaves[i], want, "leaf", si, i);
    }

    custos_merkle *t = NULL;
    assert_int_equal(custos_merkle_new((const uint8_t (*)[32])leaves, set->n, &t, NULL),
                     CUSTOS_OK);
    custos_merkle_root(t, tree_root);
    assert_hash_eq(tree_root, want_root, "tree root", si, 0);

    for (size_t i = 0; i < set->n; i++) {
        uint8_t proof[32][32];
        size_t n = 99;
        custos_error err = {.code = CUSTOS_OK};
        assert_int_equal(custos_merkle_proof(t, leaves[i], proof, 32, &n, &err), CUSTOS_OK);
        json_t *jp = json_array_get(jproofs, i);
        if (n != json_array_size(jp))
            fail_msg("set %zu item %zu: proof of %zu hashes, OpenZeppelin %zu", si, i, n,
                     json_array_size(jp));
        for (size_t k = 0; k < n; k++) {
            uint8_t want[32];
            hash_from_json(json_array_get(jp, k), want);
            assert_hash_eq(proof[k], want, "proof hash", si, i);
        }
        const uint8_t (*cp)[32] = (const uint8_t (*)[32])proof;
        assert_true(custos_merkle_verify(root, leaves[i], cp, n));

        /* Any flipped bit in the leaf or the proof, or a shortened proof, fails. */
        uint8_t bad_leaf[32];
        memcpy(bad_leaf, leaves[i], 32);
        bad_leaf[i % 32] ^= 0x01;
        assert_false(custos_merkle_verify(root, bad_leaf, cp, n));
        for (size_t k = 0; k < n; k++) {
            proof[k][31 - k % 32] ^= 0x80;
            assert_false(custos_merkle_verify(root, leaves[i], cp, n));
            proof[k][31 - k % 32] ^= 0x80;
        }
        if (n > 0)
            assert_false(custos_merkle_verify(root, leaves[i], cp, n - 1));
        else
            assert_memory_equal(leaves[i], root, 32);
        uint8_t other_root[32];
        memcpy(other_root, root, 32);
        other_root[0] ^= 0xff;
        assert_false(custos_merkle_verify(other_root, leaves[i], cp, n));
    }
    custos_merkle_free(t);
    free(leaves);
}

static void test_matches_openzeppelin(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 13, 100};
    enum { N_SIZES = sizeof sizes / sizeof sizes[0] };
    /* The extra set holds duplicated positions: kept, as OpenZeppelin keeps them. */
    merkle_set sets[N_SIZES + 1];
    uint64_t seed = 0x6d65726b6c65ULL;
    for (size_t i = 0; i < N_SIZES; i++) {
        sets[i].n = sizes[i];
        sets[i].ps = calloc(sizes[i], sizeof *sets[i].ps);
        assert_non_null(sets[i].ps);
        for (size_t k = 0; k < sizes[i]; k++)
            make_position(&seed, k, &sets[i].ps[k]);
    }
    merkle_set *dup = &sets[N_SIZES];
    dup->n = 6;
    dup->ps = calloc(dup->n, sizeof *dup->ps);
    assert_non_null(dup->ps);
    for (size_t k = 0; k < dup->n; k++)
        make_position(&seed, k, &dup->ps[k]);
    dup->ps[3] = dup->ps[1];
    dup->ps[5] = dup->ps[1];

    json_t *ref = reference_trees(sets, N_SIZES + 1);
    for (size_t i = 0; i < N_SIZES + 1; i++)
        check_set(&sets[i], i, json_array_get(ref, i));
    json_decref(ref);
    for (size_t i = 0; i < N_SIZES + 1; i++)
        free(sets[i].ps);
}

static void test_tree_edges(void **state)
{
    (void)state;
    uint8_t leaves[3][32];
    for (int i = 0; i < 3; i++)
        memset(leaves[i], 0x11 * (i + 1), 32);
    custos_merkle *t = NULL;
    custos_error err = {.code = CUSTOS_OK};
    assert_int_equal(custos_merkle_new((const uint8_t (*)[32])leaves, 0, &t, &err),
                     CUSTOS_ERR_INVALID);
    assert_true(strstr(err.message, "leaf") != NULL);

    /* One leaf: the root is the leaf and the proof is empty. */
    assert_int_equal(custos_merkle_new((const uint8_t (*)[32])leaves, 1, &t, NULL), CUSTOS_OK);
    uint8_t root[32], proof[4][32];
    size_t n = 99;
    custos_merkle_root(t, root);
    assert_memory_equal(root, leaves[0], 32);
    assert_int_equal(custos_merkle_proof(t, leaves[0], NULL, 0, &n, NULL), CUSTOS_OK);
    assert_int_equal(n, 0);
    assert_true(custos_merkle_verify(root, leaves[0], NULL, 0));
    custos_merkle_free(t);

    assert_int_equal(custos_merkle_new((const uint8_t (*)[32])leaves, 3, &t, NULL), CUSTOS_OK);
    /* Of three leaves, one sits next to the root and two one level deeper. */
    custos_merkle_root(t, root);
    size_t deepest = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(custos_merkle_proof(t, leaves[i], proof, 4, &n, NULL), CUSTOS_OK);
        assert_true(custos_merkle_verify(root, leaves[i], (const uint8_t (*)[32])proof, n));
        if (n > deepest)
            deepest = n;
    }
    assert_int_equal(deepest, 2);
    int too_small = 0;
    for (int i = 0; i < 3; i++) {
        custos_rc rc = custos_merkle_proof(t, leaves[i], proof, 1, &n, &err);
        if (rc == CUSTOS_ERR_TOO_LARGE)
            too_small++;
        else
            assert_int_equal(rc, CUSTOS_OK);
    }
    assert_int_equal(too_small, 2);

    uint8_t absent[32];
    memset(absent, 0x99, 32);
    assert_int_equal(custos_merkle_proof(t, absent, proof, 4, &n, &err), CUSTOS_ERR_NOT_FOUND);
    assert_int_equal(n, 0);
    custos_merkle_free(t);
    custos_merkle_free(NULL);

    /* A release or freeze with no positions commits to the all-zero root. */
    uint8_t zero[32] = {0};
    memset(root, 0xaa, 32);
    assert_int_equal(custos_positions_root(NULL, 0, root, NULL), CUSTOS_OK);
    assert_memory_equal(root, zero, 32);
}

/* The multiproof's own refusals and its one-leaf tree; its output is checked against
 * @openzeppelin/merkle-tree's getMultiProof in test_publish_batch. */
static void test_multiproof_edges(void **state)
{
    (void)state;
    uint8_t leaves[4][32];
    for (int i = 0; i < 4; i++)
        memset(leaves[i], 0x11 * (i + 1), 32); /* increasing */
    custos_merkle *t = NULL;
    custos_error err;
    custos_merkle_multiproof mp;
    assert_int_equal(custos_merkle_new((const uint8_t (*)[32])leaves, 1, &t, NULL), CUSTOS_OK);
    assert_int_equal(custos_merkle_multiproof_build(t, (const uint8_t (*)[32])leaves, 1, &mp,
                                                    &err),
                     CUSTOS_OK);
    assert_int_equal(mp.n_proof, 0);
    assert_int_equal(mp.n_flags, 0);
    custos_merkle_multiproof_clear(&mp);
    custos_merkle_free(t);

    assert_int_equal(custos_merkle_new((const uint8_t (*)[32])leaves, 4, &t, NULL), CUSTOS_OK);
    /* Every leaf: no proof hash, three hashing steps from the leaves alone. */
    assert_int_equal(custos_merkle_multiproof_build(t, (const uint8_t (*)[32])leaves, 4, &mp,
                                                    &err),
                     CUSTOS_OK);
    assert_int_equal(mp.n_proof, 0);
    assert_int_equal(mp.n_flags, 3);
    for (size_t i = 0; i < mp.n_flags; i++)
        assert_true(mp.flags[i]);
    custos_merkle_multiproof_clear(&mp);
    assert_null(mp.proof);
    uint8_t two[2][32];
    memcpy(two[0], leaves[2], 32);
    memcpy(two[1], leaves[1], 32); /* decreasing */
    assert_int_equal(custos_merkle_multiproof_build(t, (const uint8_t (*)[32])two, 2, &mp, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "not above"));
    memcpy(two[1], two[0], 32); /* twice */
    assert_int_equal(custos_merkle_multiproof_build(t, (const uint8_t (*)[32])two, 2, &mp, &err),
                     CUSTOS_ERR_INVALID);
    memset(two[1], 0x99, 32); /* not a leaf */
    assert_int_equal(custos_merkle_multiproof_build(t, (const uint8_t (*)[32])two, 2, &mp, &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_null(mp.proof);
    assert_int_equal(custos_merkle_multiproof_build(t, (const uint8_t (*)[32])two, 0, &mp, &err),
                     CUSTOS_ERR_INVALID);
    custos_merkle_free(t);
}

static void test_bad_positions(void **state)
{
    (void)state;
    static const struct {
        const char *asset_id; /* NULL: fill all 32 bytes without a NUL */
        uint32_t haircut;
        const char *needle;
    } cases[] = {
        {"", 0, "empty"},
        {NULL, 0, "longer"},
        {"US\x01X", 0, "printable"},
        {"US\x7f", 0, "printable"},
        {"US\xc3\xa9", 0, "printable"},
        {"US912797", 10001, "haircut_bps"},
        {"US912797", UINT32_MAX, "haircut_bps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_position ps[2];
        memset(ps, 0, sizeof ps);
        snprintf(ps[0].asset_id, sizeof ps[0].asset_id, "GOOD");
        if (cases[i].asset_id == NULL)
            memset(ps[1].asset_id, 'A', sizeof ps[1].asset_id);
        else
            snprintf(ps[1].asset_id, sizeof ps[1].asset_id, "%s", cases[i].asset_id);
        ps[1].haircut_bps = cases[i].haircut;

        uint8_t out[32];
        custos_error err = {.code = CUSTOS_OK};
        assert_int_equal(custos_position_leaf(&ps[1], out, &err), CUSTOS_ERR_INVALID);
        if (strstr(err.message, cases[i].needle) == NULL)
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err.message,
                     cases[i].needle);
        assert_int_equal(custos_positions_root(ps, 2, out, &err), CUSTOS_ERR_INVALID);
        if (strstr(err.message, "positions[1]") == NULL)
            fail_msg("case %zu: message \"%s\" does not name positions[1]", i, err.message);
    }
}

/* custos_position_proof_build / _check: every position of trees of 1..9 leaves proves and
 * checks; any changed field, leaf, sibling or root is refused; absent ids are NOT_FOUND. */
static void test_position_proofs(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed;
    custos_position ps[9];
    custos_position_proof *p = malloc(sizeof *p);
    assert_non_null(p);
    custos_error err;
    for (size_t n = 1; n <= 9; n++) {
        for (size_t i = 0; i < n; i++)
            make_position(&seed, i, &ps[i]);
        uint8_t root[32];
        assert_int_equal(custos_positions_root(ps, n, root, &err), CUSTOS_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(custos_position_proof_build(ps, n, ps[i].asset_id, p, &err),
                             CUSTOS_OK);
            assert_memory_equal(p->root, root, 32);
            assert_string_equal(p->position.asset_id, ps[i].asset_id);
            assert_int_equal(custos_position_proof_check(p, &err), CUSTOS_OK);

            custos_position_proof bad = *p;
            bad.position.haircut_bps =
                p->position.haircut_bps == 0 ? 1 : p->position.haircut_bps - 1;
            assert_int_equal(custos_position_proof_check(&bad, &err), CUSTOS_ERR_CRYPTO);
            bad = *p;
            bad.position.value.limb[0] ^= 1;
            assert_int_equal(custos_position_proof_check(&bad, &err), CUSTOS_ERR_CRYPTO);
            bad = *p;
            bad.leaf[31] ^= 1;
            assert_int_equal(custos_position_proof_check(&bad, &err), CUSTOS_ERR_CRYPTO);
            bad = *p;
            bad.root[0] ^= 1;
            assert_int_equal(custos_position_proof_check(&bad, &err), CUSTOS_ERR_CRYPTO);
            if (p->n_proof > 0) {
                bad = *p;
                bad.proof[p->n_proof - 1][7] ^= 0x80;
                assert_int_equal(custos_position_proof_check(&bad, &err), CUSTOS_ERR_CRYPTO);
                bad = *p;
                bad.n_proof--;
                assert_int_equal(custos_position_proof_check(&bad, &err), CUSTOS_ERR_CRYPTO);
            }
            bad = *p;
            bad.n_proof = CUSTOS_MERKLE_PROOF_MAX + 1;
            assert_int_equal(custos_position_proof_check(&bad, &err), CUSTOS_ERR_TOO_LARGE);
        }
        assert_int_equal(custos_position_proof_build(ps, n, "NOT-AN-ASSET", p, &err),
                         CUSTOS_ERR_NOT_FOUND);
        assert_non_null(strstr(err.message, "NOT-AN-ASSET"));
    }
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_openzeppelin),
        cmocka_unit_test(test_tree_edges),
        cmocka_unit_test(test_multiproof_edges),
        cmocka_unit_test(test_bad_positions),
        cmocka_unit_test(test_position_proofs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
