/* The Merkle sum tree (custos/sumtree.h, docs/attestation.md §18). */
#include "custos/sumtree.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

/* Levels from the leaves (level 0) up to the root, stored one after another. */
struct custos_sumtree {
    custos_sum_node *nodes;
    size_t n_leaves;
    size_t n_levels;
    size_t offset[CUSTOS_SUMTREE_PROOF_MAX + 1]; /* first node of each level */
    size_t width[CUSTOS_SUMTREE_PROOF_MAX + 1];  /* nodes in each level */
};

#define SUMTREE_MAX_LEAVES ((uint64_t)1 << CUSTOS_SUMTREE_PROOF_MAX)

static bool sumtree_value_ok(const custos_u256 *v)
{
    /* below 2^128: the two high limbs are zero */
    return v->limb[2] == 0 && v->limb[3] == 0;
}

custos_rc custos_sum_node_parent(const custos_sum_node *l, const custos_sum_node *r,
                                 custos_sum_node *out, custos_error *err)
{
    custos_u256 sum;
    if (custos_u256_add(&sum, &l->sum, &r->sum) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "sum tree: a sum overflows uint256");
    uint8_t buf[2 * (CUSTOS_HASH_LEN + CUSTOS_U256_LEN)];
    memcpy(buf, l->hash, CUSTOS_HASH_LEN);
    custos_u256_to_be(&l->sum, buf + CUSTOS_HASH_LEN);
    memcpy(buf + CUSTOS_HASH_LEN + CUSTOS_U256_LEN, r->hash, CUSTOS_HASH_LEN);
    custos_u256_to_be(&r->sum, buf + 2 * CUSTOS_HASH_LEN + CUSTOS_U256_LEN);
    custos_keccak256(buf, sizeof buf, out->hash);
    out->sum = sum;
    return CUSTOS_OK;
}

custos_rc custos_sumtree_new(const custos_sum_node *leaves, size_t n, custos_sumtree **out,
                             custos_error *err)
{
    if (out == NULL || leaves == NULL || n == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "sum tree: no leaves");
    *out = NULL;
    if ((uint64_t)n > SUMTREE_MAX_LEAVES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "sum tree: %zu leaves, at most 2^%d",
                                n, CUSTOS_SUMTREE_PROOF_MAX);
    for (size_t i = 0; i < n; i++)
        if (!sumtree_value_ok(&leaves[i].sum))
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "sum tree: leaf %zu's value is 2^%d or more", i,
                                    CUSTOS_SUMTREE_VALUE_BITS);
    custos_sumtree *t = calloc(1, sizeof *t);
    custos_rc rc = CUSTOS_OK;
    if (t != NULL)
        /* Each level above the leaves has ceil(w / 2) nodes: fewer than 2n + one per level
         * in all. */
        t->nodes = calloc(2 * n + CUSTOS_SUMTREE_PROOF_MAX + 1, sizeof *t->nodes);
    if (t == NULL || t->nodes == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "sum tree: cannot allocate %zu leaves", n);
    if (rc == CUSTOS_OK) {
        memcpy(t->nodes, leaves, n * sizeof *leaves);
        t->n_leaves = n;
        t->width[0] = n;
        t->n_levels = 1;
        size_t next = n;
        while (rc == CUSTOS_OK && t->width[t->n_levels - 1] > 1) {
            size_t lv = t->n_levels - 1, w = t->width[lv];
            const custos_sum_node *below = t->nodes + t->offset[lv];
            custos_sum_node *above = t->nodes + next;
            for (size_t i = 0; rc == CUSTOS_OK && i < w / 2; i++)
                rc = custos_sum_node_parent(&below[2 * i], &below[2 * i + 1], &above[i], err);
            if (w % 2 == 1)
                above[w / 2] = below[w - 1];
            t->offset[lv + 1] = next;
            t->width[lv + 1] = (w + 1) / 2;
            next += (w + 1) / 2;
            t->n_levels++;
        }
    }
    if (rc != CUSTOS_OK) {
        custos_sumtree_free(t);
        return rc;
    }
    *out = t;
    return CUSTOS_OK;
}

void custos_sumtree_free(custos_sumtree *t)
{
    if (t == NULL)
        return;
    free(t->nodes);
    free(t);
}

size_t custos_sumtree_leaves(const custos_sumtree *t)
{
    return t->n_leaves;
}

void custos_sumtree_root(const custos_sumtree *t, custos_sum_node *out)
{
    *out = t->nodes[t->offset[t->n_levels - 1]];
}

custos_rc custos_sumtree_proof(const custos_sumtree *t, size_t index, custos_sum_node *proof,
                               size_t cap, size_t *n, custos_error *err)
{
    if (t == NULL || n == NULL || (proof == NULL && cap > 0))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "sum tree proof: NULL argument");
    if (index >= t->n_leaves)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                "sum tree proof: leaf %zu of %zu leaves", index, t->n_leaves);
    size_t k = 0, at = index;
    for (size_t lv = 0; lv + 1 < t->n_levels; lv++, at /= 2) {
        size_t sib = at % 2 == 1 ? at - 1 : at + 1;
        if (sib >= t->width[lv])
            continue; /* the odd last node: carried up, no sibling */
        if (k == cap)
            return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                    "sum tree proof: more than %zu siblings", cap);
        proof[k++] = t->nodes[t->offset[lv] + sib];
    }
    *n = k;
    return CUSTOS_OK;
}

custos_rc custos_sumtree_verify(const custos_sum_node *leaf, uint64_t index, uint64_t count,
                                const custos_sum_node *proof, size_t n,
                                const uint8_t root[CUSTOS_HASH_LEN], const custos_u256 *total,
                                custos_error *err)
{
    if (leaf == NULL || root == NULL || total == NULL || (proof == NULL && n > 0))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "sum tree proof: NULL argument");
    if (count == 0 || count > SUMTREE_MAX_LEAVES || index >= count)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "sum tree proof: leaf %" PRIu64 " of a tree of %" PRIu64
                                " leaves cannot be",
                                index, count);
    if (!sumtree_value_ok(&leaf->sum))
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "sum tree proof: the leaf's value is 2^%d or more",
                                CUSTOS_SUMTREE_VALUE_BITS);
    custos_sum_node node = *leaf;
    size_t k = 0;
    uint64_t at = index, width = count;
    custos_rc rc = CUSTOS_OK;
    for (; rc == CUSTOS_OK && width > 1; at /= 2, width = (width + 1) / 2) {
        uint64_t sib = at % 2 == 1 ? at - 1 : at + 1;
        if (sib >= width)
            continue;
        if (k == n)
            return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                    "sum tree proof: %zu siblings, a tree of %" PRIu64
                                    " leaves needs more for leaf %" PRIu64,
                                    n, count, index);
        custos_sum_node up;
        rc = at % 2 == 1 ? custos_sum_node_parent(&proof[k], &node, &up, err)
                         : custos_sum_node_parent(&node, &proof[k], &up, err);
        if (rc == CUSTOS_OK && custos_u256_cmp(&up.sum, total) > 0)
            rc = custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                  "sum tree proof: the partial sum at sibling %zu exceeds the "
                                  "signed total",
                                  k);
        node = up;
        k++;
    }
    if (rc == CUSTOS_ERR_OVERFLOW)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO, "sum tree proof: a partial sum "
                                "overflows uint256");
    if (rc != CUSTOS_OK)
        return rc;
    if (k != n)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "sum tree proof: %zu siblings, a tree of %" PRIu64
                                " leaves has %zu for leaf %" PRIu64,
                                n, count, k, index);
    if (memcmp(node.hash, root, CUSTOS_HASH_LEN) != 0)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "sum tree proof: the proof does not lead to the signed root");
    if (custos_u256_cmp(&node.sum, total) != 0)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "sum tree proof: the partial sums add up to another total than "
                                "the signed one");
    return CUSTOS_OK;
}
