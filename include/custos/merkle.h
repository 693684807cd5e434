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
custos_rc custos_merkle_new(const uint8_t (*leaves)[32], size_t n, custos_merkle **out,
                            custos_error *err);
void custos_merkle_free(custos_merkle *t);
void custos_merkle_root(const custos_merkle *t, uint8_t out[32]);
/* Proof for one leaf hash: sibling hashes bottom-up. CUSTOS_ERR_NOT_FOUND if absent. */
custos_rc custos_merkle_proof(const custos_merkle *t, const uint8_t leaf[32],
                              uint8_t (*proof)[32], size_t cap, size_t *n, custos_error *err);
bool custos_merkle_verify(const uint8_t root[32], const uint8_t leaf[32],
                          const uint8_t (*proof)[32], size_t n);

/* keccak256(keccak256(abi.encode(bytes32 assetId, uint256 quantity, uint256 price,
 * uint256 value, uint16 haircutBps))); assetId is the ASCII id right-padded with zeros. */
custos_rc custos_position_leaf(const custos_position *p, uint8_t out[32], custos_error *err);
/* Root over the positions' leaves; all-zero for n == 0 (a release or freeze may carry none). */
custos_rc custos_positions_root(const custos_position *ps, size_t n, uint8_t out[32],
                                custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
