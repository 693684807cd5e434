/* Positions Merkle tree with the exact layout of OpenZeppelin's StandardMerkleTree:
 * leaves sorted ascending by hash are stored from the end of a 2n-1 node array
 * (tree[2n-2-i] = sorted[i]), node i = keccak256(sorted(tree[2i+1], tree[2i+2])).
 * Duplicate leaves are kept, as the JavaScript library keeps them. */
#include "custos/merkle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

struct custos_merkle {
    size_t n_leaves;
    size_t n_nodes;
    uint8_t (*nodes)[CUSTOS_HASH_LEN];
};

/* abi.encode of a position: five 32-byte words. */
#define MERKLE_POSITION_ABI_LEN (5 * CUSTOS_U256_LEN)

/* The two children in ascending byte order, what their parent hashes (commutative, as
 * MerkleProof.verify expects). */
static void merkle_order_pair(const uint8_t a[CUSTOS_HASH_LEN], const uint8_t b[CUSTOS_HASH_LEN],
                              uint8_t out[2 * CUSTOS_HASH_LEN])
{
    int a_first = memcmp(a, b, CUSTOS_HASH_LEN) <= 0;
    memcpy(out, a_first ? a : b, CUSTOS_HASH_LEN);
    memcpy(out + CUSTOS_HASH_LEN, a_first ? b : a, CUSTOS_HASH_LEN);
}

static void merkle_hash_pair(const uint8_t a[CUSTOS_HASH_LEN], const uint8_t b[CUSTOS_HASH_LEN],
                             uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t pair[2 * CUSTOS_HASH_LEN];
    merkle_order_pair(a, b, pair);
    custos_keccak256(pair, sizeof pair, out);
}

static int merkle_compare_leaves(const void *a, const void *b)
{
    return memcmp(a, b, CUSTOS_HASH_LEN);
}

custos_rc custos_merkle_new(const uint8_t (*leaves)[CUSTOS_HASH_LEN], size_t n, custos_merkle **out,
                            custos_error *err)
{
    if (out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "merkle tree: NULL output");
    *out = NULL;
    if (n == 0 || leaves == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "merkle tree: needs at least one leaf");
    if (n > SIZE_MAX / 2 / CUSTOS_HASH_LEN)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "merkle tree: %zu leaves", n);

    custos_merkle *t = calloc(1, sizeof *t);
    if (t == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "merkle tree: out of memory");
    t->n_leaves = n;
    t->n_nodes = 2 * n - 1;
    t->nodes = calloc(t->n_nodes, sizeof *t->nodes);
    if (t->nodes == NULL) {
        free(t);
        return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                "merkle tree: cannot allocate %zu nodes", 2 * n - 1);
    }

    /* Sorting in place in the leaf region gives ascending order from its start; the
     * layout wants ascending order from the end, so reverse afterwards. */
    uint8_t (*leaf_region)[CUSTOS_HASH_LEN] = t->nodes + (t->n_nodes - n);
    memcpy(leaf_region, leaves, n * sizeof *leaf_region);
    qsort(leaf_region, n, sizeof *leaf_region, merkle_compare_leaves);
    for (size_t i = 0, j = n - 1; i < j; i++, j--) {
        uint8_t tmp[CUSTOS_HASH_LEN];
        memcpy(tmp, leaf_region[i], CUSTOS_HASH_LEN);
        memcpy(leaf_region[i], leaf_region[j], CUSTOS_HASH_LEN);
        memcpy(leaf_region[j], tmp, CUSTOS_HASH_LEN);
    }
    /* Nodes [s, i) whose children all lie at or after i are hashed together, up to
     * CUSTOS_KECCAK_MANY_GROUP at a time: all but the top few levels go through in full groups. */
    for (size_t i = t->n_nodes - n; i > 0;) {
        size_t s = i > CUSTOS_KECCAK_MANY_GROUP ? i - CUSTOS_KECCAK_MANY_GROUP : 0;
        if (s < i / 2)
            s = i / 2;
        uint8_t pairs[CUSTOS_KECCAK_MANY_GROUP][2 * CUSTOS_HASH_LEN];
        for (size_t k = s; k < i; k++)
            merkle_order_pair(t->nodes[2 * k + 1], t->nodes[2 * k + 2], pairs[k - s]);
        custos_keccak256_many(pairs[0], sizeof pairs[0], sizeof pairs[0], i - s, t->nodes + s);
        i = s;
    }

    *out = t;
    return CUSTOS_OK;
}

void custos_merkle_free(custos_merkle *t)
{
    if (t == NULL)
        return;
    free(t->nodes);
    free(t);
}

void custos_merkle_root(const custos_merkle *t, uint8_t out[CUSTOS_HASH_LEN])
{
    memcpy(out, t->nodes[0], CUSTOS_HASH_LEN);
}

/* Tree index of the leaf, or SIZE_MAX. The leaf region is in descending order; among equal
 * leaves the lowest index is chosen, the one the JavaScript library proves for a value. */
static size_t merkle_find_leaf(const custos_merkle *t, const uint8_t leaf[CUSTOS_HASH_LEN])
{
    size_t lo = t->n_nodes - t->n_leaves, hi = t->n_nodes;
    /* First index whose node is <= leaf. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(t->nodes[mid], leaf, CUSTOS_HASH_LEN) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n_nodes && memcmp(t->nodes[lo], leaf, CUSTOS_HASH_LEN) == 0)
        return lo;
    return SIZE_MAX;
}

custos_rc custos_merkle_proof(const custos_merkle *t, const uint8_t leaf[CUSTOS_HASH_LEN],
                              uint8_t (*proof)[CUSTOS_HASH_LEN], size_t cap, size_t *n,
                              custos_error *err)
{
    if (t == NULL || leaf == NULL || n == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "merkle proof: NULL argument");
    *n = 0;
    size_t idx = merkle_find_leaf(t, leaf);
    if (idx == SIZE_MAX)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "merkle proof: leaf is not in the tree");

    size_t depth = 0;
    for (size_t i = idx; i > 0; i = (i - 1) / 2)
        depth++;
    if (depth > cap || (depth > 0 && proof == NULL))
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "merkle proof: needs %zu hashes, room for %zu", depth, cap);

    size_t k = 0;
    for (size_t i = idx; i > 0; i = (i - 1) / 2) {
        /* Left children have odd indices, right children even ones. */
        size_t sibling = (i % 2 == 1) ? i + 1 : i - 1;
        memcpy(proof[k++], t->nodes[sibling], CUSTOS_HASH_LEN);
    }
    *n = k;
    return CUSTOS_OK;
}

bool custos_merkle_verify(const uint8_t root[CUSTOS_HASH_LEN], const uint8_t leaf[CUSTOS_HASH_LEN],
                          const uint8_t (*proof)[CUSTOS_HASH_LEN], size_t n)
{
    if (root == NULL || leaf == NULL || (n > 0 && proof == NULL))
        return false;
    uint8_t acc[CUSTOS_HASH_LEN];
    memcpy(acc, leaf, CUSTOS_HASH_LEN);
    for (size_t i = 0; i < n; i++)
        merkle_hash_pair(acc, proof[i], acc);
    return memcmp(acc, root, CUSTOS_HASH_LEN) == 0;
}

/* OpenZeppelin's getMultiProof over the tree's array: a queue of node indices, leaves
 * first in decreasing index (increasing leaf order); each step takes the head, pairs it
 * with its sibling (the next head when that is the sibling: a flag set, else the sibling
 * joins the proof) and queues the parent, until the root. */
custos_rc custos_merkle_multiproof_build(const custos_merkle *t,
                                         const uint8_t (*leaves)[CUSTOS_HASH_LEN], size_t n,
                                         custos_merkle_multiproof *out, custos_error *err)
{
    if (t == NULL || out == NULL || (n > 0 && leaves == NULL))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "merkle multiproof: NULL argument");
    memset(out, 0, sizeof *out);
    if (n == 0 || n > t->n_leaves)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "merkle multiproof: %zu leaves of a tree of %zu", n,
                                t->n_leaves);
    /* Each node enters the queue at most once, and each step adds at most one proof hash
     * and one flag: the tree's node count bounds all three. */
    size_t *queue = malloc(t->n_nodes * sizeof *queue);
    out->proof = malloc(t->n_nodes * sizeof *out->proof);
    out->flags = malloc(t->n_nodes * sizeof *out->flags);
    custos_rc rc = CUSTOS_OK;
    if (queue == NULL || out->proof == NULL || out->flags == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "merkle multiproof: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && memcmp(leaves[i - 1], leaves[i], CUSTOS_HASH_LEN) >= 0) {
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "merkle multiproof: leaf %zu is not above leaf %zu", i, i - 1);
            goto done;
        }
        if ((queue[i] = merkle_find_leaf(t, leaves[i])) == SIZE_MAX) {
            rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                  "merkle multiproof: leaf %zu is not in the tree", i);
            goto done;
        }
    }
    size_t head = 0, tail = n;
    while (head < tail && queue[head] > 0) {
        size_t j = queue[head++];
        size_t sibling = (j % 2 == 1) ? j + 1 : j - 1;
        if (head < tail && queue[head] == sibling) {
            out->flags[out->n_flags++] = true;
            head++;
        } else {
            out->flags[out->n_flags++] = false;
            memcpy(out->proof[out->n_proof++], t->nodes[sibling], CUSTOS_HASH_LEN);
        }
        queue[tail++] = (j - 1) / 2;
    }
done:
    free(queue);
    if (rc != CUSTOS_OK)
        custos_merkle_multiproof_clear(out);
    return rc;
}

void custos_merkle_multiproof_clear(custos_merkle_multiproof *mp)
{
    if (mp == NULL)
        return;
    free(mp->proof);
    free(mp->flags);
    memset(mp, 0, sizeof *mp);
}

/* Same rule as the wire decoder: 1..31 printable ASCII bytes, NUL-terminated. */
static custos_rc merkle_check_asset_id(const char *id, size_t *len, custos_error *err)
{
    size_t l = 0;
    while (l <= CUSTOS_ASSET_ID_MAX && id[l] != '\0')
        l++;
    if (l > CUSTOS_ASSET_ID_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "position asset_id: longer than %d bytes", CUSTOS_ASSET_ID_MAX);
    if (l == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "position asset_id: empty");
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x20 || c > 0x7e)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "position asset_id: byte 0x%02x at offset %zu is not "
                                    "printable ASCII", c, i);
    }
    *len = l;
    return CUSTOS_OK;
}

custos_rc custos_position_leaf(const custos_position *p, uint8_t out[CUSTOS_HASH_LEN],
                               custos_error *err)
{
    if (p == NULL || out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "position leaf: NULL argument");
    size_t id_len = 0;
    custos_rc rc = merkle_check_asset_id(p->asset_id, &id_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (p->haircut_bps > 10000)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "position %s haircut_bps: %u exceeds 10000", p->asset_id,
                                p->haircut_bps);

    uint8_t enc[MERKLE_POSITION_ABI_LEN] = {0};
    memcpy(enc, p->asset_id, id_len);
    custos_u256_to_be(&p->quantity, enc + CUSTOS_U256_LEN);
    custos_u256_to_be(&p->price, enc + 64);
    custos_u256_to_be(&p->value, enc + 96);
    enc[158] = (uint8_t)(p->haircut_bps >> 8);
    enc[159] = (uint8_t)p->haircut_bps;

    uint8_t inner[CUSTOS_HASH_LEN];
    custos_keccak256(enc, sizeof enc, inner);
    custos_keccak256(inner, sizeof inner, out);
    return CUSTOS_OK;
}

custos_rc custos_positions_root(const custos_position *ps, size_t n, uint8_t out[CUSTOS_HASH_LEN],
                                custos_error *err)
{
    if (out == NULL || (n > 0 && ps == NULL))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "positions root: NULL argument");
    if (n == 0) {
        memset(out, 0, CUSTOS_HASH_LEN);
        return CUSTOS_OK;
    }
    uint8_t (*leaves)[CUSTOS_HASH_LEN] = calloc(n, sizeof *leaves);
    if (leaves == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                "positions root: cannot allocate %zu leaves", n);
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
        rc = custos_position_leaf(&ps[i], leaves[i], err);
        if (rc != CUSTOS_OK && err != NULL) {
            char why[sizeof err->message];
            memcpy(why, err->message, sizeof why);
            custos_error_set(err, rc, "positions[%zu]: %s", i, why);
        }
    }
    custos_merkle *t = NULL;
    if (rc == CUSTOS_OK)
        rc = custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])leaves, n, &t, err);
    if (rc == CUSTOS_OK) {
        custos_merkle_root(t, out);
        custos_merkle_free(t);
    }
    free(leaves);
    return rc;
}

custos_rc custos_position_proof_build(const custos_position *ps, size_t n, const char *asset_id,
                                      custos_position_proof *out, custos_error *err)
{
    if (out == NULL || asset_id == NULL || (n > 0 && ps == NULL))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "position proof: NULL argument");
    size_t at = n;
    for (size_t i = 0; i < n && at == n; i++)
        if (strcmp(ps[i].asset_id, asset_id) == 0)
            at = i;
    if (at == n)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                "no position with asset id '%.40s' among the %zu positions",
                                asset_id, n);

    uint8_t (*leaves)[CUSTOS_HASH_LEN] = calloc(n, sizeof *leaves);
    if (leaves == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                "position proof: cannot allocate %zu leaves", n);
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++)
        rc = custos_position_leaf(&ps[i], leaves[i], err);
    custos_merkle *t = NULL;
    if (rc == CUSTOS_OK)
        rc = custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])leaves, n, &t, err);
    if (rc == CUSTOS_OK)
        rc = custos_merkle_proof(t, leaves[at], out->proof, CUSTOS_MERKLE_PROOF_MAX,
                                 &out->n_proof, err);
    if (rc == CUSTOS_OK) {
        out->position = ps[at];
        memcpy(out->leaf, leaves[at], CUSTOS_HASH_LEN);
        custos_merkle_root(t, out->root);
    }
    custos_merkle_free(t);
    free(leaves);
    return rc;
}

custos_rc custos_position_proof_check(const custos_position_proof *p, custos_error *err)
{
    if (p == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "position proof: NULL argument");
    if (p->n_proof > CUSTOS_MERKLE_PROOF_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "position proof: %zu hashes, at most %d", p->n_proof,
                                CUSTOS_MERKLE_PROOF_MAX);
    uint8_t leaf[CUSTOS_HASH_LEN];
    custos_rc rc = custos_position_leaf(&p->position, leaf, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (memcmp(leaf, p->leaf, CUSTOS_HASH_LEN) != 0)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "the leaf hash is not the hash of the position's fields "
                                "(a field or the leaf was altered)");
    if (!custos_merkle_verify(p->root, leaf, (const uint8_t (*)[CUSTOS_HASH_LEN])p->proof,
                              p->n_proof))
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "the proof does not lead from the leaf to the root");
    return CUSTOS_OK;
}
