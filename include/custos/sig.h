/* secp256k1 keys, EIP-2 canonical signatures and Ethereum addresses (libsecp256k1). */
#ifndef CUSTOS_SIG_H
#define CUSTOS_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_SECKEY_LEN 32
/* "0x" + 40 hex + NUL */
#define CUSTOS_ADDRESS_HEX_LEN 43

/* A signing/verification context. Not thread-safe: use one per thread. */
typedef struct custos_secp custos_secp;

custos_secp *custos_secp_new(void);
void custos_secp_free(custos_secp *ctx);

/* A fresh random secret key from the OS CSPRNG. */
CUSTOS_MUST_USE
custos_rc custos_seckey_generate(custos_secp *ctx, uint8_t seckey[CUSTOS_SECKEY_LEN],
                                 custos_error *err);
CUSTOS_MUST_USE
custos_rc custos_address_from_seckey(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                                     uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err);
/* Deterministic (RFC 6979) low-s signature with v in {27, 28}. */
CUSTOS_MUST_USE
custos_rc custos_sign_digest(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                             const uint8_t digest[CUSTOS_HASH_LEN], custos_signature *sig,
                             custos_error *err);
/* Recovers the signer's address. CUSTOS_ERR_NONCANONICAL: s above n/2 or v not 27/28;
 * CUSTOS_ERR_CRYPTO: r/s out of range or no public key recovers. */
CUSTOS_MUST_USE
custos_rc custos_recover_address(custos_secp *ctx, const uint8_t digest[CUSTOS_HASH_LEN],
                                 const custos_signature *sig, uint8_t addr[CUSTOS_ADDRESS_LEN],
                                 custos_error *err);

/* An uncompressed public key: 0x04 || X || Y. */
#define CUSTOS_PUBKEY_LEN 65

CUSTOS_MUST_USE
custos_rc custos_pubkey_from_seckey(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                                    uint8_t pubkey[CUSTOS_PUBKEY_LEN], custos_error *err);
/* CUSTOS_ERR_CRYPTO unless pubkey is a point of secp256k1. */
CUSTOS_MUST_USE
custos_rc custos_address_from_pubkey(custos_secp *ctx, const uint8_t pubkey[CUSTOS_PUBKEY_LEN],
                                     uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err);
/* A plain ECDSA signature: r || s, 32 bytes each. */
#define CUSTOS_ECDSA_RS_LEN 64

/* Turns a plain ECDSA r||s over digest (as an HSM returns it, s possibly high) into the
 * canonical signature: s moved to the lower half, v the one of {27, 28} that recovers to
 * addr. CUSTOS_ERR_CRYPTO when neither does (not addr's key, or not this digest). */
CUSTOS_MUST_USE
custos_rc custos_signature_from_ecdsa(custos_secp *ctx, const uint8_t digest[CUSTOS_HASH_LEN],
                                      const uint8_t rs[CUSTOS_ECDSA_RS_LEN],
                                      const uint8_t addr[CUSTOS_ADDRESS_LEN], custos_signature *sig,
                                      custos_error *err);

/* EIP-55 mixed-case checksummed "0x..." */
void custos_address_to_hex(const uint8_t addr[CUSTOS_ADDRESS_LEN],
                           char out[CUSTOS_ADDRESS_HEX_LEN]);
/* Accepts all-lowercase, all-uppercase, or a correct EIP-55 checksum. */
CUSTOS_MUST_USE
custos_rc custos_address_from_hex(const char *text, uint8_t addr[CUSTOS_ADDRESS_LEN],
                                  custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
