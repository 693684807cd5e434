/* Batches (docs/attestation.md §12, rule 20): the CollateralBatch EIP-712 message, the
 * accounts tree over the attestations' struct hashes (OpenZeppelin StandardMerkleTree,
 * leaf type bytes32, built by merkle.c) and the verification of one account alone. */
#include "custos/batch.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"
#include "custos/keccak.h"

struct custos_batch_tree {
    size_t n;
    uint8_t (*leaves)[CUSTOS_HASH_LEN]; /* in the order of the attestations given */
    custos_merkle *tree;
};

static pthread_once_t batch_once = PTHREAD_ONCE_INIT;
static uint8_t batch_typehash[CUSTOS_HASH_LEN];

static void batch_init_typehash(void)
{
    custos_keccak256((const uint8_t *)CUSTOS_BATCH_TYPE, strlen(CUSTOS_BATCH_TYPE),
                     batch_typehash);
}

/* An unsigned integer as one ABI word: big-endian, left-padded with zeros. */
static void batch_update_uint(custos_keccak *k, uint64_t v)
{
    uint8_t word[CUSTOS_HASH_LEN] = {0};
    for (size_t i = 0; i < 8; i++)
        word[CUSTOS_HASH_LEN - 1 - i] = (uint8_t)(v >> (8 * i));
    custos_keccak_update(k, word, sizeof word);
}

void custos_batch_struct_hash(const custos_batch *b, uint8_t out[CUSTOS_HASH_LEN])
{
    /* pthread_once only fails on invalid arguments, which these are not. */
    (void)pthread_once(&batch_once, batch_init_typehash);
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, batch_typehash, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, b->feed_id, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, b->accounts_root, CUSTOS_HASH_LEN);
    batch_update_uint(&k, b->count);
    batch_update_uint(&k, b->as_of);
    batch_update_uint(&k, b->valid_until);
    batch_update_uint(&k, b->sequence);
    custos_keccak_final(&k, out);
}

void custos_batch_digest_with_separator(const uint8_t separator[CUSTOS_HASH_LEN],
                                        const custos_batch *b, uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t struct_hash[CUSTOS_HASH_LEN];
    custos_batch_struct_hash(b, struct_hash);
    custos_eip712_digest_of(separator, struct_hash, out);
}

void custos_batch_digest(const custos_domain *d, const custos_batch *b,
                         uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t separator[CUSTOS_HASH_LEN];
    custos_eip712_domain_separator(d, separator);
    custos_batch_digest_with_separator(separator, b, out);
}

void custos_batch_leaf_of(const uint8_t struct_hash[CUSTOS_HASH_LEN],
                          uint8_t out[CUSTOS_HASH_LEN])
{
    /* abi.encode(bytes32 h) is h itself; the double hash is StandardMerkleTree's. */
    uint8_t inner[CUSTOS_HASH_LEN];
    custos_keccak256(struct_hash, CUSTOS_HASH_LEN, inner);
    custos_keccak256(inner, sizeof inner, out);
}

void custos_batch_leaves_of(const uint8_t (*struct_hashes)[CUSTOS_HASH_LEN], size_t n,
                            uint8_t (*out)[CUSTOS_HASH_LEN])
{
    /* Inner hashes in groups on the stack, then the outer hash of each group. */
    uint8_t inner[CUSTOS_KECCAK_MANY_GROUP][CUSTOS_HASH_LEN];
    for (size_t first = 0; first < n; first += CUSTOS_KECCAK_MANY_GROUP) {
        size_t m = n - first;
        if (m > CUSTOS_KECCAK_MANY_GROUP)
            m = CUSTOS_KECCAK_MANY_GROUP;
        custos_keccak256_many(struct_hashes[first], CUSTOS_HASH_LEN, CUSTOS_HASH_LEN, m, inner);
        custos_keccak256_many(inner[0], CUSTOS_HASH_LEN, CUSTOS_HASH_LEN, m, out + first);
    }
}

void custos_batch_leaf(const custos_attestation *a, uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t h[CUSTOS_HASH_LEN];
    custos_attestation_struct_hash(a, h);
    custos_batch_leaf_of(h, out);
}

void custos_batch_member_clear(custos_batch_member *m)
{
    if (m == NULL)
        return;
    free(m->positions);
    memset(m, 0, sizeof *m);
}

custos_rc custos_batch_member_check(const custos_batch *b, const custos_attestation *a,
                                    custos_error *err)
{
    if (b == NULL || a == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch member: NULL argument");
    if (a->kind != CUSTOS_KIND_VALUATION)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "kind %u: a batch carries valuations only (freezes and "
                                "releases go single)", (unsigned)a->kind);
    if (a->as_of != b->as_of)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "asOf %" PRIu64 " differs from the batch's %" PRIu64, a->as_of,
                                b->as_of);
    if (a->valid_until != b->valid_until)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "validUntil %" PRIu64 " differs from the batch's %" PRIu64,
                                a->valid_until, b->valid_until);
    return CUSTOS_OK;
}

static int batch_compare_accounts(const void *a, const void *b)
{
    return memcmp(a, b, CUSTOS_HASH_LEN);
}

/* One account at most once (docs/attestation.md §12): sorted copies of the ids, then
 * neighbours compared. */
static custos_rc batch_check_distinct(const custos_attestation *atts, size_t n,
                                      custos_error *err)
{
    uint8_t (*ids)[CUSTOS_HASH_LEN] = calloc(n, sizeof *ids);
    if (ids == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch: cannot allocate %zu ids", n);
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], atts[i].account, CUSTOS_HASH_LEN);
    qsort(ids, n, sizeof *ids, batch_compare_accounts);
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 1; i < n && rc == CUSTOS_OK; i++)
        if (memcmp(ids[i - 1], ids[i], CUSTOS_HASH_LEN) == 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "batch: an account appears more than once");
    free(ids);
    return rc;
}

custos_rc custos_batch_tree_new(const char *feed, const custos_attestation *atts, size_t n,
                                uint64_t sequence, custos_batch *out_batch,
                                custos_batch_tree **out, custos_error *err)
{
    if (out == NULL || out_batch == NULL || feed == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch: NULL argument");
    *out = NULL;
    if (n == 0 || atts == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch: needs at least one account");
    if (n > CUSTOS_BATCH_MAX_ACCOUNTS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "batch: %zu accounts, at most %d", n, CUSTOS_BATCH_MAX_ACCOUNTS);
    size_t feed_len = strnlen(feed, CUSTOS_FEED_MAX + 1);
    if (feed_len == 0 || feed_len > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch: feed must be 1 to %d bytes",
                                CUSTOS_FEED_MAX);
    custos_batch b = {0};
    custos_feed_id(feed, b.feed_id);
    b.count = (uint32_t)n;
    b.as_of = atts[0].as_of;
    b.valid_until = atts[0].valid_until;
    b.sequence = sequence;
    if (b.valid_until <= b.as_of)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch: validUntil %" PRIu64 " is not after asOf %" PRIu64,
                                b.valid_until, b.as_of);
    for (size_t i = 0; i < n; i++) {
        custos_rc rc = custos_batch_member_check(&b, &atts[i], err);
        if (rc != CUSTOS_OK) {
            if (err != NULL) {
                char why[sizeof err->message];
                memcpy(why, err->message, sizeof why);
                custos_error_set(err, rc, "batch account %zu: %s", i, why);
            }
            return rc;
        }
    }
    custos_rc rc = batch_check_distinct(atts, n, err);
    if (rc != CUSTOS_OK)
        return rc;

    custos_batch_tree *t = calloc(1, sizeof *t);
    if (t == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch: out of memory");
    t->n = n;
    t->leaves = calloc(n, sizeof *t->leaves);
    if (t->leaves == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch: cannot allocate %zu leaves", n);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++)
        custos_batch_leaf(&atts[i], t->leaves[i]);
    if (rc == CUSTOS_OK)
        rc = custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])t->leaves, n, &t->tree, err);
    if (rc != CUSTOS_OK) {
        custos_batch_tree_free(t);
        return rc;
    }
    custos_merkle_root(t->tree, b.accounts_root);
    *out_batch = b;
    *out = t;
    return CUSTOS_OK;
}

void custos_batch_tree_free(custos_batch_tree *t)
{
    if (t == NULL)
        return;
    custos_merkle_free(t->tree);
    free(t->leaves);
    free(t);
}

custos_rc custos_batch_tree_proof(const custos_batch_tree *t, size_t i,
                                  uint8_t leaf[CUSTOS_HASH_LEN],
                                  uint8_t (*proof)[CUSTOS_HASH_LEN], size_t cap, size_t *n,
                                  custos_error *err)
{
    if (t == NULL || leaf == NULL || n == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch proof: NULL argument");
    if (i >= t->n)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                "batch proof: account %zu of a batch of %zu", i, t->n);
    memcpy(leaf, t->leaves[i], CUSTOS_HASH_LEN);
    return custos_merkle_proof(t->tree, t->leaves[i], proof, cap, n, err);
}

custos_rc custos_batch_account_verify(custos_secp *ctx, const custos_batch_account *a,
                                      uint8_t (*signers)[CUSTOS_ADDRESS_LEN],
                                      custos_error *err)
{
    if (ctx == NULL || a == NULL || signers == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch account: NULL argument");
    if (a->n_proof > CUSTOS_MERKLE_PROOF_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "batch account: proof of %zu hashes, at most %d", a->n_proof,
                                CUSTOS_MERKLE_PROOF_MAX);
    if (a->n_sigs == 0 || a->n_sigs > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch account: %zu signatures, needs 1 to %d", a->n_sigs,
                                CUSTOS_MAX_SIGNATURES);
    uint8_t feed_id[CUSTOS_HASH_LEN];
    custos_feed_id(a->feed, feed_id);
    if (memcmp(feed_id, a->batch.feed_id, CUSTOS_HASH_LEN) != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "batch account: the batch's feedId is not that of feed '%s'",
                                a->feed);
    custos_rc rc = custos_batch_member_check(&a->batch, &a->att, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t leaf[CUSTOS_HASH_LEN];
    custos_batch_leaf(&a->att, leaf);
    if (!custos_merkle_verify(a->batch.accounts_root, leaf,
                              (const uint8_t (*)[CUSTOS_HASH_LEN])a->proof, a->n_proof))
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "batch account: the proof does not lead from the account's "
                                "leaf to the batch's accountsRoot");
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(&a->domain, &a->batch, digest);
    for (size_t i = 0; i < a->n_sigs; i++) {
        rc = custos_recover_address(ctx, digest, &a->sigs[i], signers[i], err);
        if (rc != CUSTOS_OK) {
            if (err != NULL) {
                char why[sizeof err->message];
                memcpy(why, err->message, sizeof why);
                custos_error_set(err, rc, "batch signature %zu: %s", i, why);
            }
            return rc;
        }
        for (size_t j = 0; j < i; j++)
            if (memcmp(signers[j], signers[i], CUSTOS_ADDRESS_LEN) == 0)
                return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                        "batch signatures %zu and %zu: the same signer", j, i);
    }
    return CUSTOS_OK;
}
