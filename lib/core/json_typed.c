/* Shared pieces of the typed-data JSON files (json_typed.h). */
#include "json_typed.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "custos/hex.h"
#include "custos/sig.h"
#include "custos/eip712.h"

const jt_field jt_domain_fields[4] = {
    {"name", "string"},
    {"version", "string"},
    {"chainId", "uint256"},
    {"verifyingContract", "address"},
};
const jt_field jt_attestation_fields[9] = {
    {"account", "bytes32"},       {"beneficiary", "address"}, {"kind", "uint8"},
    {"grossValue", "uint256"},    {"collateralValue", "uint256"},
    {"positionsRoot", "bytes32"}, {"asOf", "uint64"},         {"validUntil", "uint64"},
    {"sequence", "uint64"},
};

json_t *jt_type_array(const jt_field *fields, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, json_pack("{s:s, s:s}", "name", fields[i].name, "type",
                                                 fields[i].type)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

json_t *jt_hex(const uint8_t *data, size_t len)
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_SIGNATURE_LEN)];
    if (custos_hex_encode(data, len, hex, sizeof hex) != CUSTOS_OK)
        return NULL;
    return json_string(hex);
}

json_t *jt_dec(const custos_u256 *v)
{
    char dec[CUSTOS_U256_DEC_MAX];
    if (custos_u256_to_dec(v, dec, sizeof dec) != CUSTOS_OK)
        return NULL;
    return json_string(dec);
}

json_t *jt_dec64(uint64_t v)
{
    char dec[24];
    snprintf(dec, sizeof dec, "%" PRIu64, v);
    return json_string(dec);
}

json_t *jt_signatures(const custos_signature *sigs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, jt_hex(sigs[i].bytes, CUSTOS_SIGNATURE_LEN)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

const char *jt_sep(const char *path)
{
    return path[0] != '\0' ? "." : "";
}

static const char *jt_name(const char *path)
{
    return path[0] != '\0' ? path : "document";
}

custos_rc jt_expect_object(const json_t *obj, const char *path, const char *const *keys,
                           size_t n, custos_error *err)
{
    if (!json_is_object(obj))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: must be a JSON object",
                                jt_name(path));
    for (size_t i = 0; i < n; i++)
        if (json_object_get(obj, keys[i]) == NULL)
            return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: missing", path,
                                    jt_sep(path), keys[i]);
    if (json_object_size(obj) == n)
        return CUSTOS_OK;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (!known)
            return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%.64s: unknown field", path,
                                    jt_sep(path), key);
    }
    return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: unexpected fields", jt_name(path));
}

custos_rc jt_get_string(const json_t *obj, const char *path, const char *key,
                        const char **out, size_t *len, custos_error *err)
{
    /* Defined on every path: callers read them only after CUSTOS_OK, which the optimiser
     * cannot see through custos_error_set. */
    *out = "";
    *len = 0;
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: must be a string", path,
                                jt_sep(path), key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: holds a NUL byte", path,
                                jt_sep(path), key);
    *out = s;
    *len = n;
    return CUSTOS_OK;
}

custos_rc jt_get_exact(const json_t *obj, const char *path, const char *key,
                       const char *expect, custos_error *err)
{
    const char *s;
    size_t len;
    custos_rc rc = jt_get_string(obj, path, key, &s, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (len != strlen(expect) || memcmp(s, expect, len) != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: must be \"%s\"", path,
                                jt_sep(path), key, expect);
    return CUSTOS_OK;
}

custos_rc jt_get_uint(const json_t *obj, const char *path, const char *key, uint64_t max,
                      uint64_t *out, custos_error *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: must be a JSON integer",
                                path, jt_sep(path), key);
    json_int_t i = json_integer_value(v);
    if (i < 0 || (uint64_t)i > max)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: %lld is outside 0..%" PRIu64,
                                path, jt_sep(path), key, (long long)i, max);
    *out = (uint64_t)i;
    return CUSTOS_OK;
}

custos_rc jt_hex_text(const char *s, size_t slen, const char *path, const char *what,
                      uint8_t *out, size_t len, custos_error *err)
{
    custos_error inner;
    if (slen != 2 + 2 * len || s[0] != '0' || s[1] != 'x' ||
        custos_hex_decode(s, out, len, &inner) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s%s%s: must be 0x followed by %zu hex digits", path,
                                jt_sep(path), what, 2 * len);
    return CUSTOS_OK;
}

custos_rc jt_get_hex(const json_t *obj, const char *path, const char *key, uint8_t *out,
                     size_t len, custos_error *err)
{
    const char *s;
    size_t slen;
    custos_rc rc = jt_get_string(obj, path, key, &s, &slen, err);
    return rc == CUSTOS_OK ? jt_hex_text(s, slen, path, key, out, len, err) : rc;
}

/* A decimal string; `type` names the Solidity type in messages. */
custos_rc jt_get_dec(const json_t *obj, const char *path, const char *key,
                            const char *type, custos_u256 *out, custos_error *err)
{
    const char *s;
    size_t len;
    custos_rc rc = jt_get_string(obj, path, key, &s, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_error inner;
    if (custos_u256_from_dec(out, s, len, &inner) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s%s%s: must be a decimal string of a %s: %s", path,
                                jt_sep(path), key, type, inner.message);
    return CUSTOS_OK;
}

custos_rc jt_get_u256(const json_t *obj, const char *path, const char *key,
                             custos_u256 *out, custos_error *err)
{
    return jt_get_dec(obj, path, key, "uint256", out, err);
}

custos_rc jt_get_address(const json_t *obj, const char *path, const char *key,
                                uint8_t out[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    const char *s;
    size_t len;
    custos_rc rc = jt_get_string(obj, path, key, &s, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_error inner;
    if (len != 42 || s[0] != '0' || s[1] != 'x')
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s%s%s: must be 0x followed by 40 hex digits", path,
                                jt_sep(path), key);
    if (custos_address_from_hex(s, out, &inner) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: %s", path, jt_sep(path), key,
                                inner.message);
    return CUSTOS_OK;
}

custos_rc jt_import_type_list(const json_t *types, const char *name, const jt_field *fields,
                              size_t n, custos_error *err)
{
    static const char *const entry_keys[] = {"name", "type"};
    const json_t *arr = json_object_get(types, name);
    if (!json_is_array(arr))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "typedData.types.%s: must be an array", name);
    if (json_array_size(arr) != n)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "typedData.types.%s: must list exactly %zu fields, has %zu",
                                name, n, json_array_size(arr));
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        char path[JT_PATH_MAX];
        snprintf(path, sizeof path, "typedData.types.%s[%zu]", name, i);
        const json_t *entry = json_array_get(arr, i);
        rc = jt_expect_object(entry, path, entry_keys, JT_COUNT(entry_keys), err);
        if (rc == CUSTOS_OK)
            rc = jt_get_exact(entry, path, "name", fields[i].name, err);
        if (rc == CUSTOS_OK)
            rc = jt_get_exact(entry, path, "type", fields[i].type, err);
    }
    return rc;
}
