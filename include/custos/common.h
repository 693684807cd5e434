/* Sizes every part of libcustos shares, and the marking of results a caller must use. */
#ifndef CUSTOS_COMMON_H
#define CUSTOS_COMMON_H

/* keccak256 output: EIP-712 digests, Merkle roots and leaves, account ids, chain links. */
#define CUSTOS_HASH_LEN 32
/* An Ethereum address: the last 20 bytes of keccak256 of a public key. */
#define CUSTOS_ADDRESS_LEN 20

/* On every function that returns a custos_rc: ignoring the result is a compile error in
 * Custos's own builds (-Werror) and a warning in the caller's. */
#if defined(__GNUC__) || defined(__clang__)
#define CUSTOS_MUST_USE __attribute__((warn_unused_result))
#else
#define CUSTOS_MUST_USE
#endif

#endif
