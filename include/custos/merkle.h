/* Positions Merkle tree, bit-compatible with OpenZeppelin's StandardMerkleTree:
 * leaf = keccak256(keccak256(abi.encode(...))), pairs hashed sorted, leaves sorted by hash,
 * the same array layout, so its proofs verify with MerkleProof.verify and the JS library. */
#ifndef CUSTOS_MERKLE_H
#define CUSTOS_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* OpenZeppelin leaf types of a position. */
#define CUSTOS_POSITION_LEAF_TYPES "bytes32,uint256,uint256,uint256,uint16"

typedef struct custos_merkle custos_merkle;

/* Builds a tree over n >= 1 leaf hashes (copied). */
CUSTOS_MUST_USE
custos_rc custos_merkle_new(const uint8_t (*leaves)[CUSTOS_HASH_LEN], size_t n, custos_merkle **out,
                            custos_error *err);
void custos_merkle_free(custos_merkle *t);
void custos_merkle_root(const custos_merkle *t, uint8_t out[CUSTOS_HASH_LEN]);
/* Proof for one leaf hash: sibling hashes bottom-up. CUSTOS_ERR_NOT_FOUND if absent. */
CUSTOS_MUST_USE
custos_rc custos_merkle_proof(const custos_merkle *t, const uint8_t leaf[CUSTOS_HASH_LEN],
                              uint8_t (*proof)[CUSTOS_HASH_LEN], size_t cap, size_t *n,
                              custos_error *err);
bool custos_merkle_verify(const uint8_t root[CUSTOS_HASH_LEN], const uint8_t leaf[CUSTOS_HASH_LEN],
                          const uint8_t (*proof)[CUSTOS_HASH_LEN], size_t n);

/* A proof that several leaves are in one tree at once, as OpenZeppelin's
 * MerkleProof.processMultiProof takes it and @openzeppelin/merkle-tree's getMultiProof
 * gives it: the leaves in strictly increasing order (the tree's order), the sibling
 * hashes the leaves cannot give, and one flag per hashing step (true: both operands come
 * from the leaves and the hashes made so far; false: the second is the next proof hash).
 * Filled by custos_merkle_multiproof; the arrays are malloc'd. */
typedef struct custos_merkle_multiproof {
    uint8_t (*proof)[CUSTOS_HASH_LEN];
    size_t n_proof;
    bool *flags;
    size_t n_flags; /* n leaves + n_proof - 1 */
} custos_merkle_multiproof;

/* The multiproof of n >= 1 leaves of t, given in strictly increasing order (the order
 * the proof's verifier takes them in). CUSTOS_ERR_INVALID when they are not,
 * CUSTOS_ERR_NOT_FOUND when one is not a leaf of t. */
CUSTOS_MUST_USE
custos_rc custos_merkle_multiproof_build(const custos_merkle *t,
                                         const uint8_t (*leaves)[CUSTOS_HASH_LEN], size_t n,
                                         custos_merkle_multiproof *out, custos_error *err);
/* Frees the arrays of mp and zeroes it; safe on a zeroed one. */
void custos_merkle_multiproof_clear(custos_merkle_multiproof *mp);

/* keccak256(keccak256(abi.encode(bytes32 assetId, uint256 quantity, uint256 price,
 * uint256 value, uint16 haircutBps))); assetId is the ASCII id right-padded with zeros. */
CUSTOS_MUST_USE
custos_rc custos_position_leaf(const custos_position *p, uint8_t out[CUSTOS_HASH_LEN],
                               custos_error *err);
/* Root over the positions' leaves; all-zero for n == 0 (a release or freeze may carry none). */
CUSTOS_MUST_USE
custos_rc custos_positions_root(const custos_position *ps, size_t n, uint8_t out[CUSTOS_HASH_LEN],
                                custos_error *err);

/* Longest proof held: CUSTOS_MAX_POSITIONS leaves make a tree 13 levels deep. */
#define CUSTOS_MERKLE_PROOF_MAX 32

/* One position's inclusion in the positions tree of a signed attestation: what
 * GetPositionProof serves and `custos verify-proof` checks. account, feed, digest,
 * sequence and as_of tie it to the attestation; the proof itself covers position..root. */
typedef struct custos_position_proof {
    uint8_t account[CUSTOS_HASH_LEN];
    char feed[CUSTOS_FEED_MAX + 1];
    custos_position position;
    uint8_t leaf[CUSTOS_HASH_LEN];
    uint8_t proof[CUSTOS_MERKLE_PROOF_MAX][CUSTOS_HASH_LEN];
    size_t n_proof;
    uint8_t root[CUSTOS_HASH_LEN];
    uint8_t digest[CUSTOS_HASH_LEN];
    uint64_t sequence;
    uint64_t as_of;
} custos_position_proof;

/* Fills out->position, leaf, proof and root for the position named asset_id among ps
 * (CUSTOS_ERR_NOT_FOUND when none is); the other fields are left alone. */
CUSTOS_MUST_USE
custos_rc custos_position_proof_build(const custos_position *ps, size_t n, const char *asset_id,
                                      custos_position_proof *out, custos_error *err);
/* CUSTOS_OK when the leaf hash recomputed from the position equals p->leaf and the proof
 * leads from it to p->root; CUSTOS_ERR_CRYPTO saying which check failed otherwise. */
CUSTOS_MUST_USE
custos_rc custos_position_proof_check(const custos_position_proof *p, custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
