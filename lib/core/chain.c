/* The accepted-attestation chain link (custos/chain.h). */
#include "custos/chain.h"

#include <string.h>

#include "custos/keccak.h"

void custos_chain_link(const uint8_t prev[CUSTOS_CHAIN_HASH_LEN], uint64_t cursor,
                       const uint8_t digest[CUSTOS_HASH_LEN], uint8_t out[CUSTOS_CHAIN_HASH_LEN])
{
    uint8_t buf[CUSTOS_CHAIN_HASH_LEN + 8 + CUSTOS_HASH_LEN];
    memcpy(buf, prev, CUSTOS_CHAIN_HASH_LEN);
    for (int i = 0; i < 8; i++)
        buf[CUSTOS_CHAIN_HASH_LEN + i] = (uint8_t)(cursor >> (56 - 8 * i));
    memcpy(buf + CUSTOS_CHAIN_HASH_LEN + 8, digest, CUSTOS_HASH_LEN);
    custos_keccak256(buf, sizeof buf, out);
}
