/* The Merkle sum tree (attestation.md §18), as a verifier of proofs it did not make:
 * arbitrary bytes as (index, count, leaf, root, total, siblings) must never crash
 * custos_sumtree_verify, and what it accepts must rebuild the root. Then the same bytes as
 * leaves (values cut below 2^128): every leaf of the tree built over them proves, and the
 * proof with one sum raised by one, or one hash bit flipped, is refused. */
#include <stdlib.h>
#include <string.h>

#include "custos/sumtree.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NODE_BYTES 64 /* 32-byte hash, then the low 32 bytes of the sum, big-endian */
#define MAX_LEAVES 64

static void node_of(const uint8_t *p, custos_sum_node *n, bool bounded)
{
    memcpy(n->hash, p, CUSTOS_HASH_LEN);
    custos_u256_from_be(&n->sum, p + CUSTOS_HASH_LEN);
    if (bounded)
        n->sum.limb[2] = n->sum.limb[3] = 0;
}

static uint64_t u64_of(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void verify_anything(const uint8_t *data, size_t size)
{
    if (size < 16 + 3 * NODE_BYTES)
        return;
    uint64_t index = u64_of(data) % 4096, count = u64_of(data + 8) % 4097;
    custos_sum_node leaf, root;
    node_of(data + 16, &leaf, false);
    node_of(data + 16 + NODE_BYTES, &root, false);
    const uint8_t *rest = data + 16 + 2 * NODE_BYTES;
    size_t n = (size - 16 - 2 * NODE_BYTES) / NODE_BYTES;
    if (n > CUSTOS_SUMTREE_PROOF_MAX)
        n = CUSTOS_SUMTREE_PROOF_MAX;
    custos_sum_node proof[CUSTOS_SUMTREE_PROOF_MAX];
    for (size_t i = 0; i < n; i++)
        node_of(rest + i * NODE_BYTES, &proof[i], false);
    custos_error err;
    (void)custos_sumtree_verify(&leaf, index, count, proof, n, root.hash, &root.sum, &err);
}

static void build_and_prove(const uint8_t *data, size_t size)
{
    size_t n = size / NODE_BYTES;
    if (n == 0)
        return;
    if (n > MAX_LEAVES)
        n = MAX_LEAVES;
    custos_sum_node leaves[MAX_LEAVES];
    for (size_t i = 0; i < n; i++)
        node_of(data + i * NODE_BYTES, &leaves[i], true);
    custos_sumtree *t = NULL;
    custos_error err;
    if (custos_sumtree_new(leaves, n, &t, &err) != CUSTOS_OK)
        abort(); /* bounded leaves, at most 64: always a tree */
    custos_sum_node root, proof[CUSTOS_SUMTREE_PROOF_MAX];
    custos_sumtree_root(t, &root);
    custos_u256 one;
    custos_u256_from_u64(&one, 1);
    for (size_t i = 0; i < n; i++) {
        size_t np = 0;
        if (custos_sumtree_proof(t, i, proof, CUSTOS_SUMTREE_PROOF_MAX, &np, &err) != CUSTOS_OK ||
            custos_sumtree_verify(&leaves[i], i, n, proof, np, root.hash, &root.sum, &err) !=
                CUSTOS_OK)
            abort();
        if (np == 0)
            continue;
        size_t k = data[i % size] % np;
        custos_sum_node saved = proof[k];
        if (custos_u256_add(&proof[k].sum, &proof[k].sum, &one) == CUSTOS_OK &&
            custos_sumtree_verify(&leaves[i], i, n, proof, np, root.hash, &root.sum, &err) ==
                CUSTOS_OK)
            abort();
        proof[k] = saved;
        proof[k].hash[data[i % size] % CUSTOS_HASH_LEN] ^= 1;
        if (custos_sumtree_verify(&leaves[i], i, n, proof, np, root.hash, &root.sum, &err) ==
            CUSTOS_OK)
            abort();
    }
    custos_sumtree_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    verify_anything(data, size);
    build_and_prove(data, size);
    return 0;
}
