/* Publishing batches (docs/adapter.md §14): the calldata of submitBatch, and the plan that
 * puts the records due for publication into calls. Pure: no chain, no store. */
#ifndef GATEWAY_EVM_PUBLISH_BATCH_H
#define GATEWAY_EVM_PUBLISH_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/error.h"

/* Gas a batch call is planned with, before eth_estimateGas has the last word: the signed
 * part's worst case (16 signatures, the feed, the batch sequence, the 21000 base) and an
 * account's first valuation (measured about 32,000 with the tree and its calldata,
 * deploy/contracts/README.md), with a margin. */
#define GW_PUB_BATCH_BASE_GAS 200000u
#define GW_PUB_BATCH_ACCOUNT_GAS 36000u

/* One signed batch as it goes on-chain: its fields, every account of it (any order), and
 * its quorum (signers[i] signed sigs[i]). Nothing is owned. */
typedef struct gw_pub_batch {
    custos_batch batch;
    const custos_attestation *atts;
    size_t n_atts;
    const custos_signature *sigs;
    const uint8_t (*signers)[CUSTOS_ADDRESS_LEN];
    size_t n_sigs;
} gw_pub_batch;

/* Calldata of submitBatch(feedId, batch, atts, signatures): the accounts in the tree's leaf
 * order (strictly increasing leaf), the signatures packed by signer address. *out is
 * malloc'd. CUSTOS_ERR_INVALID when the accounts are not `count`, 1 to
 * CUSTOS_BATCH_MAX_ACCOUNTS, or one attestation appears twice. */
CUSTOS_MUST_USE
custos_rc gw_pub_batch_encode(const gw_pub_batch *b, uint8_t **out, size_t *len,
                              custos_error *err);

/* Calldata of submitBatchPart(feedId, batch, atts, proof, proofFlags, signatures)
 * (docs/adapter.md §14): the n_part accounts of part (any order; each one of b's), in the
 * tree's leaf order, with the multiproof of their leaves in the tree of b's accounts
 * (every one of them, as in gw_pub_batch_encode). *out is malloc'd. CUSTOS_ERR_INVALID
 * as gw_pub_batch_encode, or when part is empty, names an account twice or one that is
 * not b's. */
CUSTOS_MUST_USE
custos_rc gw_pub_batch_part_encode(const gw_pub_batch *b, const custos_attestation *part,
                                   size_t n_part, uint8_t **out, size_t *len, custos_error *err);

/* An account's leaf and its index in the batch's accounts (gw_pub_batch.atts): sorted by
 * gw_pub_leaf_cmp, the tree's leaf order (OpenZeppelin sorts the leaves), in which an
 * account is found by its leaf with bsearch. */
typedef struct gw_pub_leaf {
    uint8_t leaf[CUSTOS_HASH_LEN];
    size_t index;
} gw_pub_leaf;

/* Orders gw_pub_leaf by leaf (qsort, bsearch). */
int gw_pub_leaf_cmp(const void *a, const void *b);

/* A batch prepared for its submitBatchPart calls (docs/publishing.md §14): every account's
 * leaf in the tree's order and the tree of them, built once, for as many parts as a send
 * makes. It borrows b, which must outlive it. */
typedef struct gw_pub_prepared gw_pub_prepared;

/* CUSTOS_ERR_INVALID as gw_pub_batch_encode. A root the accounts do not give is not an
 * error here: each part built from it is refused, as gw_pub_batch_part_encode refuses. */
CUSTOS_MUST_USE
custos_rc gw_pub_prepared_new(const gw_pub_batch *b, gw_pub_prepared **out, custos_error *err);
void gw_pub_prepared_free(gw_pub_prepared *pp);

/* Where account i (an index into the batch's atts) is in the tree's leaf order: parts cut
 * from accounts in this order are neighbours in the tree (a shorter multiproof). i must be
 * below the batch's n_atts. */
size_t gw_pub_prepared_rank(const gw_pub_prepared *pp, size_t i);

/* gw_pub_batch_part_encode of the accounts the n indices (into the batch's atts, any
 * order) name. CUSTOS_ERR_INVALID when n is 0 or above the batch's accounts, an index is
 * out of range or given twice, or the accounts do not give the batch's signed root. */
CUSTOS_MUST_USE
custos_rc gw_pub_prepared_part_encode(const gw_pub_prepared *pp, const size_t *members,
                                      size_t n, uint8_t **out, size_t *len, custos_error *err);

/* Planned gas of a part of n accounts: a batch's, and the multiproof's hashes and
 * calldata (at most an account's leaf, a proof hash and a flag word per account). */
#define GW_PUB_PART_ACCOUNT_GAS (GW_PUB_BATCH_ACCOUNT_GAS + 4000u)

/* A record due for publication, as the plan sees it. */
typedef struct gw_pub_due {
    uint8_t kind;                             /* custos_kind */
    bool batched;                             /* signed as an account of a batch */
    uint8_t batch_digest[CUSTOS_HASH_LEN];    /* that batch's digest, when batched */
    uint32_t batch_count;                     /* that batch's accounts, when batched */
} gw_pub_due;

typedef enum gw_pub_call_kind {
    GW_PUB_CALL_SINGLE,   /* submit of one record */
    GW_PUB_CALL_BATCH,    /* submitBatch of the batch the records belong to, whole */
    GW_PUB_CALL_TOO_LARGE /* a batch beyond the cap or the gas limit: not sent */
} gw_pub_call_kind;

/* A call: the records order[first .. first + n - 1]. */
typedef struct gw_pub_call {
    gw_pub_call_kind kind;
    size_t first;
    size_t n;
} gw_pub_call;

/* Plans the calls for n due records: freezes and releases first, one call each (they must
 * never wait), then valuations signed alone, one call each, then one call per batch (a
 * batch goes whole: the adapter rebuilds its root from every leaf) when its accounts are
 * at most max_accounts and its planned gas (GW_PUB_BATCH_*) at most gas_limit, else a
 * TOO_LARGE call naming its records. order (n entries) and calls (n entries) are the
 * caller's. CUSTOS_ERR_INVALID for a batched freeze or release (the format has none) or a
 * batched record whose batch_count is 0. */
CUSTOS_MUST_USE
custos_rc gw_pub_batch_plan(const gw_pub_due *due, size_t n, uint32_t max_accounts,
                            uint64_t gas_limit, size_t *order, gw_pub_call *calls,
                            size_t *n_calls, custos_error *err);

#endif
