/* EIP-712 hashing of CollateralAttestation exactly as docs/attestation.md §2-§4 defines it. */
#ifndef CUSTOS_EIP712_H
#define CUSTOS_EIP712_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_EIP712_NAME "Custos Collateral Attestation"
#define CUSTOS_EIP712_VERSION "1"
#define CUSTOS_ATTESTATION_TYPE                                                            \
    "CollateralAttestation(bytes32 account,address beneficiary,uint8 kind,"                \
    "uint256 grossValue,uint256 collateralValue,bytes32 positionsRoot,uint64 asOf,"        \
    "uint64 validUntil,uint64 sequence)"

/* abi.encode(typeHash, account, ..., sequence): what the struct hash hashes, 10 words. */
#define CUSTOS_ATTESTATION_STRUCT_LEN (10 * 32)

void custos_eip712_domain_separator(const custos_domain *d, uint8_t out[CUSTOS_HASH_LEN]);
void custos_attestation_struct_encode(const custos_attestation *a,
                                      uint8_t out[CUSTOS_ATTESTATION_STRUCT_LEN]);
void custos_attestation_struct_hash(const custos_attestation *a, uint8_t out[CUSTOS_HASH_LEN]);
/* keccak256(0x1901 || domainSeparator || structHash) */
void custos_attestation_digest(const custos_domain *d, const custos_attestation *a,
                               uint8_t out[CUSTOS_HASH_LEN]);
/* Same, with a separator computed once by the caller (the gateway's hot path). */
void custos_attestation_digest_with_separator(const uint8_t separator[CUSTOS_HASH_LEN],
                                              const custos_attestation *a,
                                              uint8_t out[CUSTOS_HASH_LEN]);
/* keccak256(0x1901 || separator || structHash) for a struct hash the caller has already:
 * a batch's accounts are hashed once for their leaves and their digests alike. */
void custos_eip712_digest_of(const uint8_t separator[CUSTOS_HASH_LEN],
                             const uint8_t struct_hash[CUSTOS_HASH_LEN],
                             uint8_t out[CUSTOS_HASH_LEN]);
/* custos_eip712_digest_of for n struct hashes at once (custos_keccak256_many). */
void custos_eip712_digests_of(const uint8_t separator[CUSTOS_HASH_LEN],
                              const uint8_t (*struct_hashes)[CUSTOS_HASH_LEN], size_t n,
                              uint8_t (*out)[CUSTOS_HASH_LEN]);

#ifdef __cplusplus
}
#endif
#endif
