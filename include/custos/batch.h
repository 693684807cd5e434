/* Batches: one quorum signature over the Merkle root of many accounts' attestations
 * (docs/attestation.md §12, rule 20). Each account stays verifiable alone from its
 * attestation, its leaf proof, the batch fields and the batch signatures. */
#ifndef CUSTOS_BATCH_H
#define CUSTOS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/merkle.h"
#include "custos/reserves.h" /* custos_feed_id */
#include "custos/sig.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_BATCH_TYPE                                                                  \
    "CollateralBatch(bytes32 feedId,bytes32 accountsRoot,uint32 count,uint64 asOf,"        \
    "uint64 validUntil,uint64 sequence)"
/* OpenZeppelin leaf types of an account of a batch: its attestation's struct hash. */
#define CUSTOS_BATCH_LEAF_TYPES "bytes32"
/* Protocol limit: a batch beyond it is refused as TOO_LARGE (a proof then has at most
 * 12 hashes). */
#define CUSTOS_BATCH_MAX_ACCOUNTS 4096

/* The signed batch message, on the same EIP-712 domain as attestations. */
typedef struct custos_batch {
    uint8_t feed_id[CUSTOS_HASH_LEN];       /* keccak256(bytes(feed name)) */
    uint8_t accounts_root[CUSTOS_HASH_LEN]; /* root of the accounts tree */
    uint32_t count;                         /* number of leaves */
    uint64_t as_of;
    uint64_t valid_until;
    uint64_t sequence; /* per feed, strictly increasing */
} custos_batch;

void custos_batch_struct_hash(const custos_batch *b, uint8_t out[CUSTOS_HASH_LEN]);
/* keccak256(0x1901 || domainSeparator || structHash(batch)) */
void custos_batch_digest(const custos_domain *d, const custos_batch *b,
                         uint8_t out[CUSTOS_HASH_LEN]);
void custos_batch_digest_with_separator(const uint8_t separator[CUSTOS_HASH_LEN],
                                        const custos_batch *b, uint8_t out[CUSTOS_HASH_LEN]);

/* The account's leaf: keccak256(keccak256(abi.encode(structHash(att)))). */
void custos_batch_leaf(const custos_attestation *a, uint8_t out[CUSTOS_HASH_LEN]);
/* Same, from the attestation's struct hash. */
void custos_batch_leaf_of(const uint8_t struct_hash[CUSTOS_HASH_LEN],
                          uint8_t out[CUSTOS_HASH_LEN]);
/* custos_batch_leaf_of for n struct hashes at once (custos_keccak256_many). */
void custos_batch_leaves_of(const uint8_t (*struct_hashes)[CUSTOS_HASH_LEN], size_t n,
                            uint8_t (*out)[CUSTOS_HASH_LEN]);

/* An account as a batch carries it: its attestation and positions, no feed, domain or
 * signature of its own (they are the batch's). positions is heap-owned. A seventh the size
 * of a custos_submission, whose signature array a batch's account never fills. */
typedef struct custos_batch_member {
    custos_attestation att;
    custos_position *positions;
    size_t n_positions;
} custos_batch_member;

/* Frees positions and zeroes the member; safe on a zeroed one. */
void custos_batch_member_clear(custos_batch_member *m);

/* CUSTOS_OK when att may stand in a batch with these time fields: a valuation (freezes
 * and releases go single) carrying the batch's asOf and validUntil; CUSTOS_ERR_INVALID
 * saying which field differs otherwise. */
CUSTOS_MUST_USE
custos_rc custos_batch_member_check(const custos_batch *b, const custos_attestation *a,
                                    custos_error *err);

/* The accounts tree of a batch: its leaves in the order given, and the tree over them. */
typedef struct custos_batch_tree custos_batch_tree;

/* Builds the tree over n accounts (1..CUSTOS_BATCH_MAX_ACCOUNTS, each account at most
 * once, all valuations with the same asOf and validUntil, asOf before validUntil) and
 * fills *out_batch: feedId of feed, root, count, times of the attestations, sequence. */
CUSTOS_MUST_USE
custos_rc custos_batch_tree_new(const char *feed, const custos_attestation *atts, size_t n,
                                uint64_t sequence, custos_batch *out_batch,
                                custos_batch_tree **out, custos_error *err);
void custos_batch_tree_free(custos_batch_tree *t);
/* The i-th account's leaf and its proof (sibling hashes bottom-up). */
CUSTOS_MUST_USE
custos_rc custos_batch_tree_proof(const custos_batch_tree *t, size_t i,
                                  uint8_t leaf[CUSTOS_HASH_LEN],
                                  uint8_t (*proof)[CUSTOS_HASH_LEN], size_t cap, size_t *n,
                                  custos_error *err);

/* One account of a batch, everything needed to verify it alone. */
typedef struct custos_batch_account {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain domain;
    custos_attestation att;
    custos_batch batch;
    uint8_t proof[CUSTOS_MERKLE_PROOF_MAX][CUSTOS_HASH_LEN];
    size_t n_proof;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
} custos_batch_account;

/* Verifies an account of a batch: the feed's id, the attestation's membership (kind and
 * times), the leaf proof to the batch root, and every signature over the batch digest,
 * each from a different signer. Fills signers[0..n_sigs) with the recovered addresses
 * (in signature order); whether they form a quorum is the caller's policy (rule 2).
 * CUSTOS_ERR_CRYPTO / CUSTOS_ERR_NONCANONICAL / CUSTOS_ERR_INVALID say which check failed. */
CUSTOS_MUST_USE
custos_rc custos_batch_account_verify(custos_secp *ctx, const custos_batch_account *a,
                                      uint8_t (*signers)[CUSTOS_ADDRESS_LEN],
                                      custos_error *err);

/* JSON export of one account of a batch (the attestor's --export):
 *   { "typedData": {CollateralAttestation typed data}, "structHash", "feed", "positions",
 *     "batch": { "typedData": {CollateralBatch typed data}, "digest", "leafTypes",
 *                "leaf", "proof": [...], "signatures": [...] } }
 * and of the batch alone: { "typedData", "digest", "feed", "signatures", "count" }.
 * *json is malloc'd and NUL-terminated; the caller frees it. */
CUSTOS_MUST_USE
custos_rc custos_batch_account_export(const custos_batch_account *a,
                                      const custos_position *ps, size_t n_ps, char **json,
                                      custos_error *err);
CUSTOS_MUST_USE
custos_rc custos_batch_export(const char *feed, const custos_domain *d, const custos_batch *b,
                              const custos_signature *sigs, size_t n_sigs, char **json,
                              custos_error *err);
/* Strict inverse of custos_batch_export: what `cosign` reads, signs and writes back.
 * Refuses a document whose digest does not match its fields; sigs has room for
 * CUSTOS_MAX_SIGNATURES. */
CUSTOS_MUST_USE
custos_rc custos_batch_import(const char *json, size_t len, char feed[CUSTOS_FEED_MAX + 1],
                              custos_domain *d, custos_batch *b, custos_signature *sigs,
                              size_t *n_sigs, custos_error *err);

/* The positions of an account file ("positions", as custos_batch_account_export writes
 * them), each checked as custos_typeddata_import checks an attestation's: *ps (malloc'd,
 * NULL for none; the caller frees it) and *n. Whether they hash to the attestation's
 * positionsRoot is for the reader to check (the gateway does). */
CUSTOS_MUST_USE
custos_rc custos_batch_account_positions(const char *json, size_t len, custos_position **ps,
                                         size_t *n, custos_error *err);

/* Strict inverse of custos_batch_account_export (positions are checked to be an array, not
 * read back: custos_batch_account_positions reads them): refuses a document whose structHash, leaf or batch digest is not the one its
 * fields give, or whose two domains differ. The proof and the signatures are read as they
 * are: custos_batch_account_verify judges them. */
CUSTOS_MUST_USE
custos_rc custos_batch_account_import(const char *json, size_t len, custos_batch_account *out,
                                      custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
