/* A secp256k1 signing key inside a PKCS#11 token (an HSM; SoftHSM2 in tests): the module
 * is loaded with dlopen, the token and key are found by label, the user logs in with a PIN
 * read from an owner-only file or CUSTOS_PKCS11_PIN. The PIN and key material never appear
 * in messages. */
#ifndef AT_PKCS11_H
#define AT_PKCS11_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sig.h"

/* Environment variable holding the PIN when no PIN file is given. */
#define AT_PKCS11_PIN_ENV "CUSTOS_PKCS11_PIN"

typedef struct at_p11_spec {
    const char *module;   /* path of the PKCS#11 library */
    const char *token;    /* token label */
    const char *key;      /* label of the private key and its public key */
    const char *pin_file; /* NULL: the PIN comes from CUSTOS_PKCS11_PIN */
} at_p11_spec;

typedef struct at_p11 at_p11;

/* Logs in and finds the key; refuses a key that is not on secp256k1. Fills the key's
 * address (from its public key object). */
custos_rc at_p11_open(const at_p11_spec *spec, custos_secp *ctx, at_p11 **out,
                      uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err);
/* CKM_ECDSA over the digest, made canonical (low s, v in {27, 28}). */
custos_rc at_p11_sign(at_p11 *p, custos_secp *ctx, const uint8_t digest[32],
                      custos_signature *sig, custos_error *err);
/* Logs out, closes the session, unloads the module; NULL is fine. */
void at_p11_free(at_p11 *p);

/* Provisioning: a new secp256k1 key pair generated inside the token (private key
 * sensitive, not extractable), or seckey (not NULL) imported into it so that an
 * allow-listed address moves from a key file to the HSM. Refuses a label already used. */
custos_rc at_p11_create_key(const at_p11_spec *spec, custos_secp *ctx,
                            const uint8_t *seckey, uint8_t addr[CUSTOS_ADDRESS_LEN],
                            custos_error *err);

#endif
