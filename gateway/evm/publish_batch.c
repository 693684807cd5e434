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

int gw_pub_leaf_cmp(const void *a, const void *b)
{
    return memcmp(((const gw_pub_leaf *)a)->leaf, ((const gw_pub_leaf *)b)->leaf,
                  CUSTOS_HASH_LEN);
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

struct gw_pub_prepared {
    const gw_pub_batch *b;
    gw_pub_leaf *leaves; /* every account of b, in the tree's leaf order */
    size_t *rank;        /* rank[i]: where account i is in leaves */
    custos_merkle *tree; /* NULL when only the whole call is encoded */
    bool root_matches;   /* the tree's root is the batch's signed one */
};

void gw_pub_prepared_free(gw_pub_prepared *pp)
{
    if (pp == NULL)
        return;
    custos_merkle_free(pp->tree);
    free(pp->leaves);
    free(pp->rank);
    free(pp);
}

/* The tree of the sorted leaves, and whether its root is the one the quorum signed. */
static custos_rc pub_prepare_tree(gw_pub_prepared *pp, custos_error *err)
{
    size_t n = pp->b->n_atts;
    uint8_t (*hashes)[CUSTOS_HASH_LEN] = malloc(n * sizeof *hashes);
    if (hashes == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch part calldata: out of memory");
    for (size_t k = 0; k < n; k++)
        memcpy(hashes[k], pp->leaves[k].leaf, CUSTOS_HASH_LEN);
    custos_rc rc =
        custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])hashes, n, &pp->tree, err);
    if (rc == CUSTOS_OK) {
        uint8_t root[CUSTOS_HASH_LEN];
        custos_merkle_root(pp->tree, root);
        pp->root_matches = memcmp(root, pp->b->batch.accounts_root, CUSTOS_HASH_LEN) == 0;
    }
    free(hashes);
    return rc;
}

/* The batch's fields and every account's leaf, checked as both calls need them: the
 * accounts `count`, 1 to CUSTOS_BATCH_MAX_ACCOUNTS, each attestation once; the leaves
 * in the tree's leaf order, which submitBatch requires; the tree when parts are to be
 * cut. */
static custos_rc pub_prepare(const gw_pub_batch *b, bool with_tree, gw_pub_prepared **out,
                             custos_error *err)
{
    size_t n = b->n_atts;
    *out = NULL;
    if (n == 0 || n > CUSTOS_BATCH_MAX_ACCOUNTS || n != b->batch.count)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch %" PRIu64 ": %zu accounts for a count of %" PRIu32
                                " (1 to %d)",
                                b->batch.sequence, n, b->batch.count, CUSTOS_BATCH_MAX_ACCOUNTS);
    gw_pub_prepared *pp = calloc(1, sizeof *pp);
    if (pp == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch calldata: out of memory");
    pp->b = b;
    pp->leaves = malloc(n * sizeof *pp->leaves);
    pp->rank = malloc(n * sizeof *pp->rank);
    custos_rc rc = CUSTOS_OK;
    if (pp->leaves == NULL || pp->rank == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch calldata: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        custos_batch_leaf(&b->atts[i], pp->leaves[i].leaf);
        pp->leaves[i].index = i;
    }
    qsort(pp->leaves, n, sizeof *pp->leaves, gw_pub_leaf_cmp);
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && memcmp(pp->leaves[k - 1].leaf, pp->leaves[k].leaf, CUSTOS_HASH_LEN) == 0) {
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "batch %" PRIu64 ": one attestation appears twice",
                                  b->batch.sequence);
            goto done;
        }
        pp->rank[pp->leaves[k].index] = k;
    }
    if (with_tree)
        rc = pub_prepare_tree(pp, err);
done:
    if (rc != CUSTOS_OK) {
        gw_pub_prepared_free(pp);
        pp = NULL;
    }
    *out = pp;
    return rc;
}

custos_rc gw_pub_prepared_new(const gw_pub_batch *b, gw_pub_prepared **out, custos_error *err)
{
    return pub_prepare(b, true, out, err);
}

size_t gw_pub_prepared_rank(const gw_pub_prepared *pp, size_t i)
{
    return pp->rank[i];
}

/* Calldata of `signature`(feedId, batch, atts, extra..., signatures): the accounts at
 * ranks[0..n) of the tree's leaf order (every account when ranks is NULL), in that order,
 * then the n_extra arguments (at most 2), then the batch's signatures packed by signer
 * address. */
static custos_rc pub_encode_call(const gw_pub_prepared *pp, const size_t *ranks, size_t n,
                                 const evm_abi_value *extra, size_t n_extra,
                                 const char *signature, uint8_t **out, size_t *len,
                                 custos_error *err)
{
    const gw_pub_batch *b = pp->b;
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
        const gw_pub_leaf *at = &pp->leaves[ranks != NULL ? ranks[k] : k];
        pub_att_fields(&b->atts[at->index], fields + k * PUB_ATT_FIELDS);
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
    /* The whole call needs the leaves' order only: no tree. */
    gw_pub_prepared *pp = NULL;
    custos_rc rc = pub_prepare(b, false, &pp, err);
    if (rc == CUSTOS_OK)
        rc = pub_encode_call(pp, NULL, b->n_atts, NULL, 0, PUB_SUBMIT_BATCH_SIGNATURE, out, len,
                             err);
    gw_pub_prepared_free(pp);
    return rc;
}

static custos_rc pub_check_part_size(const gw_pub_prepared *pp, size_t n_part,
                                     custos_error *err)
{
    if (n_part == 0 || n_part > pp->b->n_atts)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch %" PRIu64 ": a part of %zu accounts of %zu",
                                pp->b->batch.sequence, n_part, pp->b->n_atts);
    return CUSTOS_OK;
}

static custos_rc pub_check_root(const gw_pub_prepared *pp, custos_error *err)
{
    if (!pp->root_matches)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch %" PRIu64 ": its accounts do not give its signed root",
                                pp->b->batch.sequence);
    return CUSTOS_OK;
}

static custos_rc pub_part_twice(const gw_pub_prepared *pp, custos_error *err)
{
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "batch %" PRIu64 ": the part names one attestation twice",
                            pp->b->batch.sequence);
}

/* submitBatchPart's calldata of the accounts at ranks[0..n) (strictly increasing) of the
 * tree's leaf order, with their multiproof in the tree built once by pub_prepare. */
static custos_rc pub_part_at(const gw_pub_prepared *pp, const size_t *ranks, size_t n,
                             uint8_t **out, size_t *len, custos_error *err)
{
    uint8_t (*part_leaves)[CUSTOS_HASH_LEN] = malloc(n * sizeof *part_leaves);
    evm_abi_value *proof = NULL, *flags = NULL;
    custos_merkle_multiproof mp = {0};
    custos_rc rc = CUSTOS_OK;
    if (part_leaves == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch part calldata: out of memory");
        goto done;
    }
    for (size_t k = 0; k < n; k++)
        memcpy(part_leaves[k], pp->leaves[ranks[k]].leaf, CUSTOS_HASH_LEN);
    rc = custos_merkle_multiproof_build(pp->tree, (const uint8_t (*)[CUSTOS_HASH_LEN])part_leaves,
                                        n, &mp, err);
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
    rc = pub_encode_call(pp, ranks, n, extra, 2, PUB_SUBMIT_PART_SIGNATURE, out, len, err);
done:
    custos_merkle_multiproof_clear(&mp);
    free(part_leaves);
    free(proof);
    free(flags);
    return rc;
}

static int pub_rank_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

custos_rc gw_pub_prepared_part_encode(const gw_pub_prepared *pp, const size_t *members,
                                      size_t n, uint8_t **out, size_t *len, custos_error *err)
{
    custos_rc rc = pub_check_part_size(pp, n, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t *ranks = malloc(n * sizeof *ranks);
    if (ranks == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch part calldata: out of memory");
    for (size_t k = 0; k < n && rc == CUSTOS_OK; k++) {
        if (members[k] >= pp->b->n_atts)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "batch %" PRIu64 ": the part names account %zu of %zu",
                                  pp->b->batch.sequence, members[k], pp->b->n_atts);
        else
            ranks[k] = pp->rank[members[k]];
    }
    if (rc == CUSTOS_OK) {
        /* The tree's order is the multiproof's and the call's. */
        qsort(ranks, n, sizeof *ranks, pub_rank_cmp);
        for (size_t k = 1; k < n && rc == CUSTOS_OK; k++)
            if (ranks[k - 1] == ranks[k])
                rc = pub_part_twice(pp, err);
    }
    if (rc == CUSTOS_OK)
        rc = pub_check_root(pp, err);
    if (rc == CUSTOS_OK)
        rc = pub_part_at(pp, ranks, n, out, len, err);
    free(ranks);
    return rc;
}

custos_rc gw_pub_batch_part_encode(const gw_pub_batch *b, const custos_attestation *part,
                                   size_t n_part, uint8_t **out, size_t *len, custos_error *err)
{
    gw_pub_prepared *pp = NULL;
    gw_pub_leaf *mine = NULL;
    size_t *ranks = NULL;
    custos_rc rc = pub_prepare(b, true, &pp, err);
    if (rc != CUSTOS_OK)
        return rc;
    if ((rc = pub_check_part_size(pp, n_part, err)) != CUSTOS_OK)
        goto done;
    mine = malloc(n_part * sizeof *mine);
    ranks = malloc(n_part * sizeof *ranks);
    if (mine == NULL || ranks == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch part calldata: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_part; i++) {
        custos_batch_leaf(&part[i], mine[i].leaf);
        mine[i].index = i;
    }
    qsort(mine, n_part, sizeof *mine, gw_pub_leaf_cmp);
    for (size_t k = 1; k < n_part; k++) {
        if (memcmp(mine[k - 1].leaf, mine[k].leaf, CUSTOS_HASH_LEN) == 0) {
            rc = pub_part_twice(pp, err);
            goto done;
        }
    }
    if ((rc = pub_check_root(pp, err)) != CUSTOS_OK)
        goto done;
    /* An account's leaf names it: its place in the batch's sorted leaves is its rank, and
     * the part's sorted leaves give increasing ranks. */
    for (size_t k = 0; k < n_part; k++) {
        const gw_pub_leaf *at =
            bsearch(&mine[k], pp->leaves, b->n_atts, sizeof *pp->leaves, gw_pub_leaf_cmp);
        if (at == NULL) {
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "batch %" PRIu64 ": the part names an account not in the batch",
                                  b->batch.sequence);
            goto done;
        }
        ranks[k] = (size_t)(at - pp->leaves);
    }
    rc = pub_part_at(pp, ranks, n_part, out, len, err);
done:
    gw_pub_prepared_free(pp);
    free(mine);
    free(ranks);
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
