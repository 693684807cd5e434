/* Sizes every part of libcustos shares, and the marking of results a caller must use. */
#ifndef CUSTOS_COMMON_H
#define CUSTOS_COMMON_H

/* keccak256 output: EIP-712 digests, Merkle roots and leaves, account ids, chain links. */
#define CUSTOS_HASH_LEN 32
/* An Ethereum address: the last 20 bytes of keccak256 of a public key. */
#define CUSTOS_ADDRESS_LEN 20

#endif
