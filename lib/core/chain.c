/* The accepted chain's links, of records and of notices (custos/chain.h). */
#include "custos/chain.h"

#include <string.h>

#include "custos/attestation.h"
#include "custos/keccak.h"

_Static_assert(CUSTOS_CHAIN_SIG_LEN == CUSTOS_SIGNATURE_LEN,
               "a notice link hashes the signature as signed");

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

void custos_chain_link_notice(const uint8_t prev[CUSTOS_CHAIN_HASH_LEN], uint64_t cursor,
                              const uint8_t digest[CUSTOS_HASH_LEN],
                              const uint8_t sig[CUSTOS_CHAIN_SIG_LEN],
                              uint8_t out[CUSTOS_CHAIN_HASH_LEN])
{
    uint8_t buf[CUSTOS_CHAIN_HASH_LEN + 8 + 1 + CUSTOS_HASH_LEN + CUSTOS_CHAIN_SIG_LEN];
    uint8_t *p = buf;
    memcpy(p, prev, CUSTOS_CHAIN_HASH_LEN);
    p += CUSTOS_CHAIN_HASH_LEN;
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(cursor >> (56 - 8 * i));
    *p++ = (uint8_t)CUSTOS_CHAIN_NOTICE;
    memcpy(p, digest, CUSTOS_HASH_LEN);
    p += CUSTOS_HASH_LEN;
    memcpy(p, sig, CUSTOS_CHAIN_SIG_LEN);
    custos_keccak256(buf, sizeof buf, out);
}
