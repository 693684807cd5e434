/* eth_signTypedData_v4 JSON export/import of an attestation with its signatures:
 * the file an attestor exports, a cosigner signs, and ethers/wallets verify. */
#ifndef CUSTOS_TYPEDDATA_H
#define CUSTOS_TYPEDDATA_H

#include <stddef.h>

#include "custos/attestation.h"
#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Maximum size of a typed-data document accepted by custos_typeddata_import. */
#define CUSTOS_TYPEDDATA_MAX_BYTES (4u * 1024u * 1024u)

/* JSON object:
 *   { "typedData": { "types": {...}, "primaryType": "CollateralAttestation",
 *                    "domain": {...}, "message": {...} },
 *     "digest": "0x..", "feed": "...", "signatures": ["0x.."], "positions": [...] }
 * uint256 values are decimal strings, uint64 values decimal numbers-as-strings.
 * *json is malloc'd and NUL-terminated; the caller frees it. */
CUSTOS_MUST_USE
custos_rc custos_typeddata_export(const custos_submission *s, char **json, custos_error *err);
/* Strict inverse; recomputes the digest and refuses a document whose "digest" differs. */
CUSTOS_MUST_USE
custos_rc custos_typeddata_import(const char *json, size_t len, custos_submission *out,
                                  custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
