/* The relayer's key: the account that pays gas for the adapter's submit and signs nothing
 * an attestor signed. A key file ([evm] relayer_key, owner-only) read once and wiped at
 * the end, or a key in a PKCS#11 token ([evm] relayer_pkcs11_*) that never leaves it,
 * through the signing code the attestor uses (lib/p11). */
#ifndef GATEWAY_EVM_RELAYER_H
#define GATEWAY_EVM_RELAYER_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sig.h"

#include "config/config.h"

typedef struct gw_relayer gw_relayer;

/* Reads the key file, or logs in to the token and finds the key; ctx must outlive it. */
CUSTOS_MUST_USE
custos_rc gw_relayer_open(const gw_evm_config *cfg, custos_secp *ctx, gw_relayer **out,
                          custos_error *err);
/* Wipes the key or logs out of the token; NULL is fine. */
void gw_relayer_free(gw_relayer *r);

const uint8_t *gw_relayer_address(const gw_relayer *r);
/* Whether the key is in a token (for the start log line). */
bool gw_relayer_in_token(const gw_relayer *r);
/* A canonical signature (low s, v 27 or 28) over digest. A token that fails (an HSM
 * restarted under the session) is logged in to again once before giving up. */
CUSTOS_MUST_USE
custos_rc gw_relayer_sign(gw_relayer *r, const uint8_t digest[CUSTOS_HASH_LEN],
                          custos_signature *sig, custos_error *err);

#endif
