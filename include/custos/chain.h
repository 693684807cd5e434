/* The accepted-attestation chain: each entry of a gateway's accepted log commits to
 * every entry before it, so a lender or auditor holding the head can tell whether the
 * history it replays was rewritten.
 *
 *   chain_hash(0)      = 32 zero bytes
 *   chain_hash(cursor) = keccak256(chain_hash(cursor - 1) || cursor || digest)
 *
 * with cursor as 8 bytes big-endian (Solidity abi.encodePacked(bytes32, uint64, bytes32))
 * and digest the record's 32-byte EIP-712 digest: 72 bytes hashed per link.
 *
 * A collateral notice in the log (docs/attestation.md §19) links with its kind and
 * signature as well:
 *
 *   chain_hash(cursor) = keccak256(chain_hash(cursor - 1) || cursor || uint8(1) || digest
 *                                  || signature)
 *
 * abi.encodePacked(bytes32, uint64, uint8, bytes32, bytes): 138 bytes hashed, so a notice
 * link never hashes the same bytes as a record's, and the records' links stay as they
 * were. */
#ifndef CUSTOS_CHAIN_H
#define CUSTOS_CHAIN_H

#include <stdint.h>

#include "custos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_CHAIN_HASH_LEN CUSTOS_HASH_LEN

/* What an entry of the accepted log is. */
typedef enum custos_chain_kind {
    CUSTOS_CHAIN_RECORD = 0, /* an accepted attestation: the 72-byte link */
    CUSTOS_CHAIN_NOTICE = 1  /* a collateral notice: the 138-byte link */
} custos_chain_kind;

/* The 65-byte r || s || v signature a notice link hashes. */
#define CUSTOS_CHAIN_SIG_LEN 65

/* out = keccak256(prev || be64(cursor) || digest). out may alias prev. */
void custos_chain_link(const uint8_t prev[CUSTOS_CHAIN_HASH_LEN], uint64_t cursor,
                       const uint8_t digest[CUSTOS_HASH_LEN], uint8_t out[CUSTOS_CHAIN_HASH_LEN]);
/* out = keccak256(prev || be64(cursor) || 0x01 || digest || sig), a notice's link. out may
 * alias prev. */
void custos_chain_link_notice(const uint8_t prev[CUSTOS_CHAIN_HASH_LEN], uint64_t cursor,
                              const uint8_t digest[CUSTOS_HASH_LEN],
                              const uint8_t sig[CUSTOS_CHAIN_SIG_LEN],
                              uint8_t out[CUSTOS_CHAIN_HASH_LEN]);

#ifdef __cplusplus
}
#endif
#endif
