/* Keccak-256 as Ethereum uses it (original Keccak padding 0x01, not SHA3-256's 0x06). */
#ifndef CUSTOS_KECCAK_H
#define CUSTOS_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include "custos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_KECCAK256_LEN CUSTOS_HASH_LEN

/* Incremental state; public only so callers can keep it on the stack. */
typedef struct custos_keccak {
    uint64_t state[25];
    uint8_t buf[136];
    size_t buf_len;
} custos_keccak;

void custos_keccak_init(custos_keccak *k);
void custos_keccak_update(custos_keccak *k, const uint8_t *data, size_t len);
void custos_keccak_final(custos_keccak *k, uint8_t out[CUSTOS_KECCAK256_LEN]);

/* One-shot keccak256(data). */
void custos_keccak256(const uint8_t *data, size_t len, uint8_t out[CUSTOS_KECCAK256_LEN]);

/* out[i] = keccak256 of the len bytes at data + i * stride, for i < n: n messages of one
 * length, hashed four at a time in vector registers. The same results as n calls of
 * custos_keccak256, in 30-40% of their time on x86-64 hosts with AVX2 or AVX-512. */
void custos_keccak256_many(const uint8_t *data, size_t len, size_t stride, size_t n,
                           uint8_t (*out)[CUSTOS_KECCAK256_LEN]);
/* How many messages a caller that lays them out on its stack for custos_keccak256_many
 * hands over at a time: a whole number of its groups of lanes. */
#define CUSTOS_KECCAK_MANY_GROUP 8

#ifdef __cplusplus
}
#endif
#endif
