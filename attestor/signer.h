/* The attestor's signing key: a key file (loaded, used, then wiped from memory) or a key
 * in a PKCS#11 token (HSM), chosen by the same flags in every signing command. */
#ifndef AT_SIGNER_H
#define AT_SIGNER_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sig.h"
#include "p11.h"

/* Where the key is: file, or the token key p11 (p11.module set). */
typedef struct at_key_spec {
    const char *file;
    p11_spec p11;
} at_key_spec;

#define AT_KEY_USAGE                                                                        \
    "(--key F | --pkcs11-module SO --pkcs11-token LABEL --pkcs11-key LABEL\n"               \
    "           [--pkcs11-pin-file F])"

/* The attestor's names of the token settings (its command-line options), for messages. */
extern const p11_names at_p11_names;

/* True when any key option was given. */
bool at_key_given(const at_key_spec *k);

typedef struct at_signer {
    custos_secp *ctx;
    uint8_t seckey[CUSTOS_SECKEY_LEN]; /* file key */
    p11_key *hsm;                      /* token key; NULL for a file key */
    uint8_t address[CUSTOS_ADDRESS_LEN];
} at_signer;

/* Reads the key file (custos_keyfile_read refuses loose permissions) or logs in to the
 * token, and derives the address. Refuses --key together with --pkcs11-*. On failure
 * nothing needs closing. */
custos_rc at_signer_open(at_signer *s, const at_key_spec *key, custos_error *err);
/* Canonical EIP-712 signature: low s, v in {27, 28}. */
custos_rc at_signer_sign(at_signer *s, const uint8_t digest[32], custos_signature *sig,
                         custos_error *err);
/* Wipes the secret key, leaves the token; safe on a zeroed signer. */
void at_signer_close(at_signer *s);

#endif
