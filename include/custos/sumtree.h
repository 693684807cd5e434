/* A Merkle sum tree: every node commits to the hash and the sum of its subtree, so an
 * inclusion proof carries the partial sums from a leaf up to the signed total
 * (docs/attestation.md §18).
 *
 *   node(l, r) = (keccak256(l.hash || uint256(l.sum) || r.hash || uint256(r.sum)),
 *                 l.sum + r.sum)                                       128 bytes hashed
 *
 * Levels pair nodes left to right; an odd last node is carried up unchanged. Both children's
 * sums are hashed (not only their total), so a parent cannot claim a sum other than the sum
 * of its children, and sums are unsigned with every addition checked, so no entry can
 * offset another. Leaves hold values below 2^128: with at most 2^32 leaves no sum can reach
 * 2^160, far from uint256's limit, whoever built the tree. */
#ifndef CUSTOS_SUMTREE_H
#define CUSTOS_SUMTREE_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A leaf's value is below 2^CUSTOS_SUMTREE_VALUE_BITS. */
#define CUSTOS_SUMTREE_VALUE_BITS 128
/* Longest proof: a tree of up to 2^32 leaves. */
#define CUSTOS_SUMTREE_PROOF_MAX 32

typedef struct custos_sum_node {
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_u256 sum;
} custos_sum_node;

typedef struct custos_sumtree custos_sumtree;

/* The parent of l and r. CUSTOS_ERR_OVERFLOW when the sums overflow uint256. */
CUSTOS_MUST_USE
custos_rc custos_sum_node_parent(const custos_sum_node *l, const custos_sum_node *r,
                                 custos_sum_node *out, custos_error *err);

/* Builds the tree over n >= 1 leaves in the order given (copied). Refuses a leaf whose sum
 * is 2^128 or more, naming its index. */
CUSTOS_MUST_USE
custos_rc custos_sumtree_new(const custos_sum_node *leaves, size_t n, custos_sumtree **out,
                             custos_error *err);
void custos_sumtree_free(custos_sumtree *t);
size_t custos_sumtree_leaves(const custos_sumtree *t);
/* The root: its hash is the signed root, its sum the signed total. */
void custos_sumtree_root(const custos_sumtree *t, custos_sum_node *out);

/* The siblings of leaf `index`, bottom-up (levels where it has none are skipped).
 * CUSTOS_ERR_NOT_FOUND when index is not a leaf. */
CUSTOS_MUST_USE
custos_rc custos_sumtree_proof(const custos_sumtree *t, size_t index, custos_sum_node *proof,
                               size_t cap, size_t *n, custos_error *err);

/* Checks that leaf is leaf `index` of a tree of `count` leaves whose root is (root, total):
 * the leaf's value is below 2^128, the proof has exactly the siblings that shape of tree
 * gives that index, no sum overflows, and the recomputed root hash and sum are root and
 * total. CUSTOS_ERR_CRYPTO with the reason otherwise (CUSTOS_ERR_INVALID for a shape that
 * cannot be: count 0, index >= count). */
CUSTOS_MUST_USE
custos_rc custos_sumtree_verify(const custos_sum_node *leaf, uint64_t index, uint64_t count,
                                const custos_sum_node *proof, size_t n,
                                const uint8_t root[CUSTOS_HASH_LEN], const custos_u256 *total,
                                custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
