/* ABI words of EIP-712 struct members (internal to lib/core): every member of the
 * attestation and the notice is one 32-byte word of the keccak input, written into a
 * buffer (put) or straight into a hash (update). */
#ifndef CUSTOS_EIP712_WORDS_H
#define CUSTOS_EIP712_WORDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "custos/keccak.h"
#include "custos/u256.h"

/* A value narrower than an ABI word, left-padded with zeros as ABI encoding requires;
 * returns the next word. */
static inline uint8_t *eip712_put_left_padded(uint8_t *word, const uint8_t *v, size_t len)
{
    memset(word, 0, CUSTOS_U256_LEN - len);
    memcpy(word + CUSTOS_U256_LEN - len, v, len);
    return word + CUSTOS_U256_LEN;
}

static inline uint8_t *eip712_put_u64(uint8_t *word, uint64_t v)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[7 - i] = (uint8_t)(v >> (8 * i));
    return eip712_put_left_padded(word, be, sizeof be);
}

static inline void eip712_update_left_padded(custos_keccak *k, const uint8_t *v, size_t len)
{
    uint8_t word[CUSTOS_U256_LEN];
    eip712_put_left_padded(word, v, len);
    custos_keccak_update(k, word, sizeof word);
}

static inline void eip712_update_u64(custos_keccak *k, uint64_t v)
{
    uint8_t word[CUSTOS_U256_LEN];
    eip712_put_u64(word, v);
    custos_keccak_update(k, word, sizeof word);
}

static inline void eip712_update_u256(custos_keccak *k, const custos_u256 *v)
{
    uint8_t be[CUSTOS_U256_LEN];
    custos_u256_to_be(v, be);
    custos_keccak_update(k, be, sizeof be);
}

#endif
