/* The attestor's signing key: loaded from a key file, used, then wiped from memory. */
#ifndef AT_SIGNER_H
#define AT_SIGNER_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sig.h"

typedef struct at_signer {
    custos_secp *ctx;
    uint8_t seckey[CUSTOS_SECKEY_LEN];
    uint8_t address[CUSTOS_ADDRESS_LEN];
} at_signer;

/* Reads the key file (custos_keyfile_read refuses loose permissions) and derives the
 * address. On failure nothing needs closing. */
custos_rc at_signer_open(at_signer *s, const char *key_path, custos_error *err);
custos_rc at_signer_sign(at_signer *s, const uint8_t digest[32], custos_signature *sig,
                         custos_error *err);
/* Wipes the secret key; safe on a zeroed signer. */
void at_signer_close(at_signer *s);

#endif
