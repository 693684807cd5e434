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

void custos_attestation_struct_encode(const custos_attestation *a,
                                      uint8_t out[CUSTOS_ATTESTATION_STRUCT_LEN])
{
    eip712_constants();
    uint8_t *w = out;
    memcpy(w, eip712_attestation_typehash, CUSTOS_HASH_LEN);
    memcpy(w + CUSTOS_HASH_LEN, a->account, CUSTOS_HASH_LEN);
    w = eip712_put_left_padded(w + 2 * CUSTOS_HASH_LEN, a->beneficiary, CUSTOS_ADDRESS_LEN);
    w = eip712_put_left_padded(w, &a->kind, 1);
    custos_u256_to_be(&a->gross_value, w);
    custos_u256_to_be(&a->collateral_value, w + CUSTOS_U256_LEN);
    memcpy(w + 2 * CUSTOS_U256_LEN, a->positions_root, CUSTOS_HASH_LEN);
    w = eip712_put_u64(w + 3 * CUSTOS_U256_LEN, a->as_of);
    w = eip712_put_u64(w, a->valid_until);
    eip712_put_u64(w, a->sequence);
}

void custos_attestation_struct_hash(const custos_attestation *a, uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t enc[CUSTOS_ATTESTATION_STRUCT_LEN];
    custos_attestation_struct_encode(a, enc);
    custos_keccak256(enc, sizeof enc, out);
}

/* 0x1901 || separator || structHash */
#define EIP712_DIGEST_INPUT_LEN (2 + 2 * CUSTOS_HASH_LEN)

static void eip712_digest_input(const uint8_t separator[CUSTOS_HASH_LEN],
                                const uint8_t struct_hash[CUSTOS_HASH_LEN],
                                uint8_t out[EIP712_DIGEST_INPUT_LEN])
{
    out[0] = 0x19;
    out[1] = 0x01;
    memcpy(out + 2, separator, CUSTOS_HASH_LEN);
    memcpy(out + 2 + CUSTOS_HASH_LEN, struct_hash, CUSTOS_HASH_LEN);
}

void custos_eip712_digest_of(const uint8_t separator[CUSTOS_HASH_LEN],
                             const uint8_t struct_hash[CUSTOS_HASH_LEN],
                             uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t in[EIP712_DIGEST_INPUT_LEN];
    eip712_digest_input(separator, struct_hash, in);
    custos_keccak256(in, sizeof in, out);
}

/* Inputs in groups on the stack: no allocation, whatever n. */
void custos_eip712_digests_of(const uint8_t separator[CUSTOS_HASH_LEN],
                              const uint8_t (*struct_hashes)[CUSTOS_HASH_LEN], size_t n,
                              uint8_t (*out)[CUSTOS_HASH_LEN])
{
    uint8_t in[CUSTOS_KECCAK_MANY_GROUP][EIP712_DIGEST_INPUT_LEN];
    for (size_t first = 0; first < n; first += CUSTOS_KECCAK_MANY_GROUP) {
        size_t m = n - first;
        if (m > CUSTOS_KECCAK_MANY_GROUP)
            m = CUSTOS_KECCAK_MANY_GROUP;
        for (size_t j = 0; j < m; j++)
            eip712_digest_input(separator, struct_hashes[first + j], in[j]);
        custos_keccak256_many(in[0], sizeof in[0], sizeof in[0], m, out + first);
    }
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
