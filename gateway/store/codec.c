/* Column encodings shared by the store back ends (codec.h). */
#include "store/codec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "custos/reserves.h"
#include "custos/u256.h"
#include "custos/wire.h"

custos_rc gw_store_encode_submission(const custos_submission *s, uint8_t **blob, size_t *len,
                                     custos_error *err)
{
    custos_rc rc = custos_submission_encode(s, blob, len, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (*len > INT_MAX) {
        free(*blob);
        *blob = NULL;
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "store: an attestation of %zu bytes is too large to store", *len);
    }
    return CUSTOS_OK;
}

custos_rc gw_store_decode_submission(const uint8_t *blob, size_t len, custos_submission *out,
                                     custos_error *err)
{
    if (blob == NULL) {
        memset(out, 0, sizeof *out);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: missing attestation");
    }
    custos_error why;
    custos_error_clear(&why);
    custos_rc rc = custos_submission_decode(blob, len, out, &why);
    if (rc == CUSTOS_OK)
        return CUSTOS_OK;
    if (rc == CUSTOS_ERR_NOMEM)
        return custos_error_set(err, rc, "store: %s", why.message);
    return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                            "store: stored attestation does not decode (corrupt row?): %s",
                            why.message);
}

uint8_t *gw_store_reserves_encode(const gw_store_reserves *res, size_t *len)
{
    size_t n = (size_t)res->r.accounts;
    uint8_t *buf = n > 0 && n <= CUSTOS_RESERVES_MAX_ACCOUNTS
                       ? malloc(n * GW_STORE_RESERVES_LEAF_LEN)
                       : NULL;
    for (size_t i = 0; buf != NULL && i < n; i++) {
        memcpy(buf + i * GW_STORE_RESERVES_LEAF_LEN, res->entries[i].account, CUSTOS_HASH_LEN);
        custos_u256_to_be(&res->entries[i].collateral_value,
                          buf + i * GW_STORE_RESERVES_LEAF_LEN + CUSTOS_HASH_LEN);
    }
    *len = buf != NULL ? n * GW_STORE_RESERVES_LEAF_LEN : 0;
    return buf;
}

custos_rc gw_store_reserves_decode(gw_store_reserves *res, const uint8_t *blob, size_t len,
                                   custos_error *err)
{
    size_t n = (size_t)res->r.accounts;
    if (n == 0 || n > CUSTOS_RESERVES_MAX_ACCOUNTS || len != n * GW_STORE_RESERVES_LEAF_LEN)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: reserves of feed %s: leaves do not match the count",
                                res->feed);
    res->entries = calloc(n, sizeof *res->entries);
    if (res->entries == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: cannot allocate %zu leaves", n);
    for (size_t i = 0; i < n; i++) {
        memcpy(res->entries[i].account, blob + i * GW_STORE_RESERVES_LEAF_LEN, CUSTOS_HASH_LEN);
        custos_u256_from_be(&res->entries[i].collateral_value,
                            blob + i * GW_STORE_RESERVES_LEAF_LEN + CUSTOS_HASH_LEN);
    }
    return CUSTOS_OK;
}

size_t gw_store_reserves_sigs_encode(const gw_store_reserves *res,
                                     uint8_t out[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN])
{
    size_t n = res->n_sigs <= CUSTOS_MAX_SIGNATURES ? res->n_sigs : CUSTOS_MAX_SIGNATURES;
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * CUSTOS_SIGNATURE_LEN, res->sigs[i].bytes, CUSTOS_SIGNATURE_LEN);
    return n * CUSTOS_SIGNATURE_LEN;
}

custos_rc gw_store_reserves_sigs_decode(gw_store_reserves *res, const uint8_t *blob, size_t len,
                                        custos_error *err)
{
    if (len % CUSTOS_SIGNATURE_LEN != 0 || len / CUSTOS_SIGNATURE_LEN > CUSTOS_MAX_SIGNATURES ||
        (len > 0 && blob == NULL))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: reserves of feed %s: %zu bytes of signatures", res->feed,
                                len);
    res->n_sigs = len / CUSTOS_SIGNATURE_LEN;
    for (size_t i = 0; i < res->n_sigs; i++)
        memcpy(res->sigs[i].bytes, blob + i * CUSTOS_SIGNATURE_LEN, CUSTOS_SIGNATURE_LEN);
    return CUSTOS_OK;
}
