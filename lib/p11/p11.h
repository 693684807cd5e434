/* A secp256k1 signing key inside a PKCS#11 token (an HSM; SoftHSM2 in tests): the module
 * is loaded with dlopen, the token and key are found by label, the user logs in with a PIN
 * read from an owner-only file or CUSTOS_PKCS11_PIN. The PIN and key material never appear
 * in messages. Shared by the attestor (signers' keys) and the gateway (the relayer's key):
 * the custos_p11 library. */
#ifndef CUSTOS_P11_H
#define CUSTOS_P11_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sig.h"

/* Environment variable holding the PIN when no PIN file is given. */
#define P11_PIN_ENV "CUSTOS_PKCS11_PIN"

/* How the caller names the four settings in messages: its command-line options or its
 * configuration keys. */
typedef struct p11_names {
    const char *module, *token, *key, *pin_file;
} p11_names;

typedef struct p11_spec {
    const char *module;   /* path of the PKCS#11 library */
    const char *token;    /* token label */
    const char *key;      /* label of the private key and its public key */
    const char *pin_file; /* NULL: the PIN comes from CUSTOS_PKCS11_PIN */
    const p11_names *names; /* never NULL */
} p11_spec;

typedef struct p11_key p11_key;

/* Logs in and finds the key; refuses a key that is not on secp256k1. Fills the key's
 * address (from its public key object). */
CUSTOS_MUST_USE
custos_rc p11_open(const p11_spec *spec, custos_secp *ctx, p11_key **out,
                   uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err);
/* CKM_ECDSA over the digest, made canonical (low s, v in {27, 28}). */
CUSTOS_MUST_USE
custos_rc p11_sign(p11_key *p, custos_secp *ctx, const uint8_t digest[32],
                   custos_signature *sig, custos_error *err);
/* Logs out, closes the session, unloads the module; NULL is fine. */
void p11_free(p11_key *p);

/* Provisioning: a new secp256k1 key pair generated inside the token (private key
 * sensitive, not extractable), or seckey (not NULL) imported into it so that an
 * allow-listed address moves from a key file to the HSM. Refuses a label already used. */
CUSTOS_MUST_USE
custos_rc p11_create_key(const p11_spec *spec, custos_secp *ctx, const uint8_t *seckey,
                         uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err);

#endif
