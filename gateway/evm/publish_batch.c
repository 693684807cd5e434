/* Publishing batches: submitBatch's calldata and the plan of calls (publish_batch.h). */
#include "evm/publish_batch.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"
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

custos_rc gw_pub_batch_encode(const gw_pub_batch *b, uint8_t **out, size_t *len,
                              custos_error *err)
{
    size_t n = b->n_atts;
    if (n == 0 || n > CUSTOS_BATCH_MAX_ACCOUNTS || n != b->batch.count)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch %" PRIu64 ": %zu accounts for a count of %" PRIu32
                                " (1 to %d)",
                                b->batch.sequence, n, b->batch.count, CUSTOS_BATCH_MAX_ACCOUNTS);
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    size_t sigs_len = 0;
    custos_rc rc = gw_publisher_pack_sorted(b->sigs, b->signers, b->n_sigs, sigs, &sigs_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    pub_leaf *leaves = malloc(n * sizeof *leaves);
    evm_abi_value *fields = malloc(n * PUB_ATT_FIELDS * sizeof *fields);
    evm_abi_value *elements = malloc(n * sizeof *elements);
    if (leaves == NULL || fields == NULL || elements == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch calldata: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        custos_batch_leaf(&b->atts[i], leaves[i].leaf);
        leaves[i].index = i;
    }
    /* The tree's leaf order (OpenZeppelin sorts the leaves), which submitBatch requires. */
    qsort(leaves, n, sizeof *leaves, pub_leaf_cmp);
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && memcmp(leaves[k - 1].leaf, leaves[k].leaf, CUSTOS_HASH_LEN) == 0) {
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "batch %" PRIu64 ": one attestation appears twice",
                                  b->batch.sequence);
            goto done;
        }
        pub_att_fields(&b->atts[leaves[k].index], fields + k * PUB_ATT_FIELDS);
        elements[k] = evm_abi_tuple(fields + k * PUB_ATT_FIELDS, PUB_ATT_FIELDS);
    }
    const custos_batch *h = &b->batch;
    evm_abi_value batch_fields[6] = {
        evm_abi_bytes32(h->feed_id),     evm_abi_bytes32(h->accounts_root),
        evm_abi_uint64(h->count),        evm_abi_uint64(h->as_of),
        evm_abi_uint64(h->valid_until),  evm_abi_uint64(h->sequence),
    };
    evm_abi_value args[4] = {
        evm_abi_bytes32(h->feed_id),
        evm_abi_tuple(batch_fields, 6),
        evm_abi_tuple_array(elements, n),
        evm_abi_dynamic_bytes(sigs, sigs_len),
    };
    rc = evm_abi_encode(PUB_SUBMIT_BATCH_SIGNATURE, args, 4, out, len, err);
done:
    free(leaves);
    free(fields);
    free(elements);
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
