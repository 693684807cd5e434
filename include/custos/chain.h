/* The accepted-attestation chain: each record of a gateway's accepted log commits to
 * every record before it, so a lender or auditor holding the head can tell whether the
 * history it replays was rewritten.
 *
 *   chain_hash(0)      = 32 zero bytes
 *   chain_hash(cursor) = keccak256(chain_hash(cursor - 1) || cursor || digest)
 *
 * with cursor as 8 bytes big-endian (Solidity abi.encodePacked(bytes32, uint64, bytes32))
 * and digest the record's 32-byte EIP-712 digest: 72 bytes hashed per link. */
#ifndef CUSTOS_CHAIN_H
#define CUSTOS_CHAIN_H

#include <stdint.h>

#include "custos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_CHAIN_HASH_LEN CUSTOS_HASH_LEN

/* out = keccak256(prev || be64(cursor) || digest). out may alias prev. */
void custos_chain_link(const uint8_t prev[CUSTOS_CHAIN_HASH_LEN], uint64_t cursor,
                       const uint8_t digest[CUSTOS_HASH_LEN], uint8_t out[CUSTOS_CHAIN_HASH_LEN]);

#ifdef __cplusplus
}
#endif
#endif
