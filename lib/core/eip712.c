/* EIP-712 hashing of the CollateralAttestation: every member is one 32-byte word. */
#include "custos/eip712.h"

#include <pthread.h>
#include <string.h>

#include "custos/keccak.h"
#include "eip712_words.h"

#define EIP712_DOMAIN_TYPE                                                                 \
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"

/* Hashes of constant strings, computed once on first use. */
static pthread_once_t eip712_once = PTHREAD_ONCE_INIT;
static uint8_t eip712_domain_typehash[CUSTOS_HASH_LEN];
static uint8_t eip712_attestation_typehash[CUSTOS_HASH_LEN];
static uint8_t eip712_name_hash[CUSTOS_HASH_LEN];
static uint8_t eip712_version_hash[CUSTOS_HASH_LEN];

static void eip712_hash_text(const char *text, uint8_t out[CUSTOS_HASH_LEN])
{
    custos_keccak256((const uint8_t *)text, strlen(text), out);
}

static void eip712_init_constants(void)
{
    eip712_hash_text(EIP712_DOMAIN_TYPE, eip712_domain_typehash);
    eip712_hash_text(CUSTOS_ATTESTATION_TYPE, eip712_attestation_typehash);
    eip712_hash_text(CUSTOS_EIP712_NAME, eip712_name_hash);
    eip712_hash_text(CUSTOS_EIP712_VERSION, eip712_version_hash);
}

static void eip712_constants(void)
{
    /* pthread_once only fails on invalid arguments, which these are not. */
    (void)pthread_once(&eip712_once, eip712_init_constants);
}

void custos_eip712_domain_separator(const custos_domain *d, uint8_t out[CUSTOS_HASH_LEN])
{
    eip712_constants();
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, eip712_domain_typehash, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, eip712_name_hash, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, eip712_version_hash, CUSTOS_HASH_LEN);
    eip712_update_u64(&k, d->chain_id);
    eip712_update_left_padded(&k, d->verifying_contract, CUSTOS_ADDRESS_LEN);
    custos_keccak_final(&k, out);
}

void custos_attestation_struct_hash(const custos_attestation *a, uint8_t out[CUSTOS_HASH_LEN])
{
    eip712_constants();
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, eip712_attestation_typehash, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, a->account, CUSTOS_HASH_LEN);
    eip712_update_left_padded(&k, a->beneficiary, CUSTOS_ADDRESS_LEN);
    eip712_update_left_padded(&k, &a->kind, 1);
    eip712_update_u256(&k, &a->gross_value);
    eip712_update_u256(&k, &a->collateral_value);
    custos_keccak_update(&k, a->positions_root, CUSTOS_HASH_LEN);
    eip712_update_u64(&k, a->as_of);
    eip712_update_u64(&k, a->valid_until);
    eip712_update_u64(&k, a->sequence);
    custos_keccak_final(&k, out);
}

void custos_eip712_digest_of(const uint8_t separator[CUSTOS_HASH_LEN],
                             const uint8_t struct_hash[CUSTOS_HASH_LEN],
                             uint8_t out[CUSTOS_HASH_LEN])
{
    static const uint8_t prefix[2] = {0x19, 0x01};
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, prefix, sizeof prefix);
    custos_keccak_update(&k, separator, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, struct_hash, CUSTOS_HASH_LEN);
    custos_keccak_final(&k, out);
}

void custos_attestation_digest_with_separator(const uint8_t separator[CUSTOS_HASH_LEN],
                                              const custos_attestation *a,
                                              uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t struct_hash[CUSTOS_HASH_LEN];
    custos_attestation_struct_hash(a, struct_hash);
    custos_eip712_digest_of(separator, struct_hash, out);
}

void custos_attestation_digest(const custos_domain *d, const custos_attestation *a,
                               uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t separator[CUSTOS_HASH_LEN];
    custos_eip712_domain_separator(d, separator);
    custos_attestation_digest_with_separator(separator, a, out);
}
