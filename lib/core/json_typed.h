/* Pieces shared by the library's eth_signTypedData_v4 files (typeddata.c, batch_json.c,
 * notice.c): writing type lists and values, and reading them back strictly, naming the
 * offending field in every refusal. Internal to lib/core. */
#ifndef CUSTOS_CORE_JSON_TYPED_H
#define CUSTOS_CORE_JSON_TYPED_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sig.h"
#include "custos/u256.h"

/* Largest integer a JavaScript number holds exactly: chainId travels as a JSON number. */
#define JT_MAX_SAFE_INTEGER 9007199254740991ULL
#define JT_PATH_MAX 64
#define JT_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* One member of an EIP-712 struct type. */
typedef struct jt_field {
    const char *name;
    const char *type;
} jt_field;

/* EIP712Domain's and CollateralAttestation's members (CUSTOS_ATTESTATION_TYPE), in the
 * order eip712.c hashes them; the ethers cross-check in test_eip712 fails otherwise. */
extern const jt_field jt_domain_fields[4];
extern const jt_field jt_attestation_fields[9];

/* Writers return a new reference, or NULL when it cannot be made; json_pack ("o") and the
 * array appends report a NULL, so callers check once at the end. */
json_t *jt_type_array(const jt_field *fields, size_t n);
/* "0x" and the hex of data (at most a signature's length). */
json_t *jt_hex(const uint8_t *data, size_t len);
json_t *jt_dec(const custos_u256 *v);
json_t *jt_dec64(uint64_t v);
/* An array of the signatures' hex. */
json_t *jt_signatures(const custos_signature *sigs, size_t n);

/* Readers. path names the object in messages ("typedData.domain"; "" for the document
 * itself, whose members then read without a prefix). */

/* "." after a non-empty path, "" otherwise: messages read "typedData.domain.chainId" or
 * just "feed". */
const char *jt_sep(const char *path);

/* obj must be an object holding exactly `keys`. */
CUSTOS_MUST_USE
custos_rc jt_expect_object(const json_t *obj, const char *path, const char *const *keys,
                           size_t n, custos_error *err);
/* A string without NUL bytes; *out stays valid while obj lives. */
CUSTOS_MUST_USE
custos_rc jt_get_string(const json_t *obj, const char *path, const char *key,
                        const char **out, size_t *len, custos_error *err);
CUSTOS_MUST_USE
custos_rc jt_get_exact(const json_t *obj, const char *path, const char *key,
                       const char *expect, custos_error *err);
/* A JSON integer (not a real, not a string) in 0..max. */
CUSTOS_MUST_USE
custos_rc jt_get_uint(const json_t *obj, const char *path, const char *key, uint64_t max,
                      uint64_t *out, custos_error *err);
/* A decimal string; `type` names the Solidity type in messages. */
CUSTOS_MUST_USE
custos_rc jt_get_dec(const json_t *obj, const char *path, const char *key, const char *type,
                     custos_u256 *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc jt_get_u256(const json_t *obj, const char *path, const char *key, custos_u256 *out,
                      custos_error *err);
/* "0x" and 40 hex digits, an EIP-55 checksum checked when mixed case. */
CUSTOS_MUST_USE
custos_rc jt_get_address(const json_t *obj, const char *path, const char *key,
                         uint8_t out[CUSTOS_ADDRESS_LEN], custos_error *err);
/* "0x" followed by exactly 2*len hex digits. */
CUSTOS_MUST_USE
custos_rc jt_get_hex(const json_t *obj, const char *path, const char *key, uint8_t *out,
                     size_t len, custos_error *err);
/* The same check on a string already read; `what` names it after path. */
CUSTOS_MUST_USE
custos_rc jt_hex_text(const char *s, size_t slen, const char *path, const char *what,
                      uint8_t *out, size_t len, custos_error *err);
/* types[name] must list exactly `fields`, in order, as {name, type} objects. */
CUSTOS_MUST_USE
custos_rc jt_import_type_list(const json_t *types, const char *name, const jt_field *fields,
                              size_t n, custos_error *err);

/* The "positions" array of an exported document into out->positions and n_positions
 * (typeddata.c): each position checked (asset id, values, haircut), at most
 * CUSTOS_MAX_POSITIONS; on failure out may hold positions to clear. */
CUSTOS_MUST_USE
custos_rc jt_import_positions(const json_t *arr, custos_submission *out, custos_error *err);

#endif
