/* Publishing batches: submitBatch's calldata and the plan of calls (publish_batch.h). */
#include "evm/publish_batch.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"
#include "custos/merkle.h"
#include "evm/evm_abi.h"
#include "evm/publisher.h"

#define PUB_SUBMIT_BATCH_SIGNATURE                                                          \
    "submitBatch(bytes32,(bytes32,bytes32,uint32,uint64,uint64,uint64),"                    \
    "(bytes32,address,uint8,uint256,uint256,bytes32,uint64,uint64,uint64)[],bytes)"
#define PUB_ATT_FIELDS 9

typedef struct pub_leaf {
    uint8_t leaf[CUSTOS_HASH_LEN];
    size_t index;
} pub_leaf;

static int pub_leaf_cmp(const void *a, const void *b)
{
    return memcmp(((const pub_leaf *)a)->leaf, ((const pub_leaf *)b)->leaf, CUSTOS_HASH_LEN);
}

static void pub_att_fields(const custos_attestation *a, evm_abi_value f[PUB_ATT_FIELDS])
{
    f[0] = evm_abi_bytes32(a->account);
    f[1] = evm_abi_address(a->beneficiary);
    f[2] = evm_abi_uint64(a->kind);
    f[3] = evm_abi_u256(&a->gross_value);
    f[4] = evm_abi_u256(&a->collateral_value);
    f[5] = evm_abi_bytes32(a->positions_root);
    f[6] = evm_abi_uint64(a->as_of);
    f[7] = evm_abi_uint64(a->valid_until);
    f[8] = evm_abi_uint64(a->sequence);
}

#define PUB_SUBMIT_PART_SIGNATURE                                                           \
    "submitBatchPart(bytes32,(bytes32,bytes32,uint32,uint64,uint64,uint64),"                \
    "(bytes32,address,uint8,uint256,uint256,bytes32,uint64,uint64,uint64)[],bytes32[],"     \
    "bool[],bytes)"

/* The batch's fields and every account's leaf, checked as both calls need them: the
 * accounts `count`, 1 to CUSTOS_BATCH_MAX_ACCOUNTS, each attestation once. *leaves
 * (malloc'd) is in the tree's leaf order (OpenZeppelin sorts the leaves), which
 * submitBatch requires. */
static custos_rc pub_sorted_leaves(const gw_pub_batch *b, pub_leaf **leaves, custos_error *err)
{
    size_t n = b->n_atts;
    *leaves = NULL;
    if (n == 0 || n > CUSTOS_BATCH_MAX_ACCOUNTS || n != b->batch.count)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch %" PRIu64 ": %zu accounts for a count of %" PRIu32
                                " (1 to %d)",
                                b->batch.sequence, n, b->batch.count, CUSTOS_BATCH_MAX_ACCOUNTS);
    pub_leaf *l = malloc(n * sizeof *l);
    if (l == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch calldata: out of memory");
    for (size_t i = 0; i < n; i++) {
        custos_batch_leaf(&b->atts[i], l[i].leaf);
        l[i].index = i;
    }
    qsort(l, n, sizeof *l, pub_leaf_cmp);
    for (size_t k = 1; k < n; k++) {
        if (memcmp(l[k - 1].leaf, l[k].leaf, CUSTOS_HASH_LEN) == 0) {
            free(l);
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "batch %" PRIu64 ": one attestation appears twice",
                                    b->batch.sequence);
        }
    }
    *leaves = l;
    return CUSTOS_OK;
}

/* Calldata of `signature`(feedId, batch, atts, extra..., signatures): the attestations
 * of atts that order[0..n) names, in that order, then the n_extra arguments (at most 2),
 * then b's signatures packed by signer address. */
static custos_rc pub_encode_call(const gw_pub_batch *b, const custos_attestation *atts,
                                 const pub_leaf *order, size_t n, const evm_abi_value *extra,
                                 size_t n_extra, const char *signature, uint8_t **out,
                                 size_t *len, custos_error *err)
{
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    size_t sigs_len = 0;
    custos_rc rc = gw_publisher_pack_sorted(b->sigs, b->signers, b->n_sigs, sigs, &sigs_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    evm_abi_value *fields = malloc(n * PUB_ATT_FIELDS * sizeof *fields);
    evm_abi_value *elements = malloc(n * sizeof *elements);
    if (fields == NULL || elements == NULL) {
        free(fields);
        free(elements);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch calldata: out of memory");
    }
    for (size_t k = 0; k < n; k++) {
        pub_att_fields(&atts[order[k].index], fields + k * PUB_ATT_FIELDS);
        elements[k] = evm_abi_tuple(fields + k * PUB_ATT_FIELDS, PUB_ATT_FIELDS);
    }
    const custos_batch *h = &b->batch;
    evm_abi_value batch_fields[6] = {
        evm_abi_bytes32(h->feed_id),    evm_abi_bytes32(h->accounts_root),
        evm_abi_uint64(h->count),       evm_abi_uint64(h->as_of),
        evm_abi_uint64(h->valid_until), evm_abi_uint64(h->sequence),
    };
    evm_abi_value args[6] = {
        evm_abi_bytes32(h->feed_id),
        evm_abi_tuple(batch_fields, 6),
        evm_abi_tuple_array(elements, n),
    };
    size_t n_args = 3;
    for (size_t i = 0; i < n_extra && i < 2; i++)
        args[n_args++] = extra[i];
    args[n_args++] = evm_abi_dynamic_bytes(sigs, sigs_len);
    rc = evm_abi_encode(signature, args, n_args, out, len, err);
    free(fields);
    free(elements);
    return rc;
}

custos_rc gw_pub_batch_encode(const gw_pub_batch *b, uint8_t **out, size_t *len,
                              custos_error *err)
{
    pub_leaf *leaves = NULL;
    custos_rc rc = pub_sorted_leaves(b, &leaves, err);
    if (rc == CUSTOS_OK)
        rc = pub_encode_call(b, b->atts, leaves, b->n_atts, NULL, 0, PUB_SUBMIT_BATCH_SIGNATURE,
                             out, len, err);
    free(leaves);
    return rc;
}

custos_rc gw_pub_batch_part_encode(const gw_pub_batch *b, const custos_attestation *part,
                                   size_t n_part, uint8_t **out, size_t *len, custos_error *err)
{
    size_t n = b->n_atts;
    pub_leaf *all = NULL, *mine = NULL;
    uint8_t (*tree_leaves)[CUSTOS_HASH_LEN] = NULL, (*part_leaves)[CUSTOS_HASH_LEN] = NULL;
    evm_abi_value *proof = NULL, *flags = NULL;
    custos_merkle *tree = NULL;
    custos_merkle_multiproof mp = {0};
    custos_rc rc = pub_sorted_leaves(b, &all, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (n_part == 0 || n_part > n) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "batch %" PRIu64 ": a part of %zu accounts of %zu",
                              b->batch.sequence, n_part, n);
        goto done;
    }
    mine = malloc(n_part * sizeof *mine);
    tree_leaves = malloc(n * sizeof *tree_leaves);
    part_leaves = malloc(n_part * sizeof *part_leaves);
    if (mine == NULL || tree_leaves == NULL || part_leaves == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch part calldata: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(tree_leaves[i], all[i].leaf, CUSTOS_HASH_LEN);
    for (size_t i = 0; i < n_part; i++) {
        custos_batch_leaf(&part[i], mine[i].leaf);
        mine[i].index = i;
    }
    qsort(mine, n_part, sizeof *mine, pub_leaf_cmp);
    for (size_t k = 0; k < n_part; k++) {
        if (k > 0 && memcmp(mine[k - 1].leaf, mine[k].leaf, CUSTOS_HASH_LEN) == 0) {
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "batch %" PRIu64 ": the part names one attestation twice",
                                  b->batch.sequence);
            goto done;
        }
        memcpy(part_leaves[k], mine[k].leaf, CUSTOS_HASH_LEN);
    }
    if ((rc = custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])tree_leaves, n, &tree,
                                err)) != CUSTOS_OK)
        goto done;
    uint8_t root[CUSTOS_HASH_LEN];
    custos_merkle_root(tree, root);
    if (memcmp(root, b->batch.accounts_root, CUSTOS_HASH_LEN) != 0) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "batch %" PRIu64 ": its accounts do not give its signed root",
                              b->batch.sequence);
        goto done;
    }
    rc = custos_merkle_multiproof_build(tree, (const uint8_t (*)[CUSTOS_HASH_LEN])part_leaves,
                                        n_part, &mp, err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        custos_error_clear(err);
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "batch %" PRIu64 ": the part names an account not in the batch",
                              b->batch.sequence);
    }
    if (rc != CUSTOS_OK)
        goto done;
    proof = malloc((mp.n_proof + 1) * sizeof *proof);
    flags = malloc((mp.n_flags + 1) * sizeof *flags);
    if (proof == NULL || flags == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch part calldata: out of memory");
        goto done;
    }
    for (size_t i = 0; i < mp.n_proof; i++)
        proof[i] = evm_abi_bytes32(mp.proof[i]);
    for (size_t i = 0; i < mp.n_flags; i++)
        flags[i] = evm_abi_bool(mp.flags[i]);
    evm_abi_value extra[2] = {evm_abi_tuple_array(proof, mp.n_proof),
                              evm_abi_tuple_array(flags, mp.n_flags)};
    rc = pub_encode_call(b, part, mine, n_part, extra, 2, PUB_SUBMIT_PART_SIGNATURE, out, len,
                         err);
done:
    custos_merkle_multiproof_clear(&mp);
    custos_merkle_free(tree);
    free(all);
    free(mine);
    free(tree_leaves);
    free(part_leaves);
    free(proof);
    free(flags);
    return rc;
}

static bool pub_single(const gw_pub_due *d)
{
    return d->kind != CUSTOS_KIND_VALUATION || !d->batched;
}

custos_rc gw_pub_batch_plan(const gw_pub_due *due, size_t n, uint32_t max_accounts,
                            uint64_t gas_limit, size_t *order, gw_pub_call *calls,
                            size_t *n_calls, custos_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (due[i].batched && due[i].kind != CUSTOS_KIND_VALUATION)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "due record %zu: a freeze or a release in a batch", i);
        if (due[i].batched && due[i].batch_count == 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "due record %zu: a batch of 0 accounts", i);
    }
    size_t placed = 0, nc = 0;
    /* Freezes and releases, then valuations signed alone: one call each. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            bool urgent = due[i].kind != CUSTOS_KIND_VALUATION;
            if (!pub_single(&due[i]) || urgent != (pass == 0))
                continue;
            order[placed] = i;
            calls[nc++] = (gw_pub_call){GW_PUB_CALL_SINGLE, placed, 1};
            placed++;
        }
    }
    /* Batches, in the order of their first due record: every due record of one batch in
     * one call. A record is placed once, when its batch's first record comes. */
    for (size_t i = 0; i < n; i++) {
        if (pub_single(&due[i]))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !pub_single(&due[j]) &&
                   memcmp(due[j].batch_digest, due[i].batch_digest, CUSTOS_HASH_LEN) == 0;
        if (seen)
            continue;
        size_t first = placed;
        for (size_t j = i; j < n; j++) {
            if (!pub_single(&due[j]) &&
                memcmp(due[j].batch_digest, due[i].batch_digest, CUSTOS_HASH_LEN) == 0)
                order[placed++] = j;
        }
        uint64_t count = due[i].batch_count;
        uint64_t gas = GW_PUB_BATCH_BASE_GAS + count * GW_PUB_BATCH_ACCOUNT_GAS;
        gw_pub_call_kind kind =
            count <= max_accounts && gas <= gas_limit ? GW_PUB_CALL_BATCH : GW_PUB_CALL_TOO_LARGE;
        calls[nc++] = (gw_pub_call){kind, first, placed - first};
    }
    *n_calls = nc;
    return CUSTOS_OK;
}
