/* ABI words of EIP-712 struct members (internal to lib/core): every member of the
 * attestation and the notice is one 32-byte word of the keccak input. */
#ifndef CUSTOS_EIP712_WORDS_H
#define CUSTOS_EIP712_WORDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "custos/keccak.h"
#include "custos/u256.h"

/* A value narrower than an ABI word, left-padded with zeros as ABI encoding requires. */
static inline void eip712_update_left_padded(custos_keccak *k, const uint8_t *v, size_t len)
{
    uint8_t word[CUSTOS_U256_LEN] = {0};
    memcpy(word + sizeof word - len, v, len);
    custos_keccak_update(k, word, sizeof word);
}

static inline void eip712_update_u64(custos_keccak *k, uint64_t v)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[7 - i] = (uint8_t)(v >> (8 * i));
    eip712_update_left_padded(k, be, sizeof be);
}

static inline void eip712_update_u256(custos_keccak *k, const custos_u256 *v)
{
    uint8_t be[CUSTOS_U256_LEN];
    custos_u256_to_be(v, be);
    custos_keccak_update(k, be, sizeof be);
}

#endif
