/* A submission to and from its protobuf bytes (custos.v1.SignedAttestation), and a
 * reserves attestation to the bytes of its SubmitReservesRequest. */
#include "custos/wire.h"

#include <stdlib.h>
#include <string.h>

#include "pb_convert.h"

/* Far above the largest valid submission (4096 positions of about 140 bytes each), so only
 * abuse is refused before protobuf-c allocates for it. */
#define WIRE_MAX_ENCODED ((size_t)4 << 20)

custos_rc custos_submission_decode(const uint8_t *buf, size_t len, custos_submission *out,
                                   custos_error *err)
{
    if (out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission decode: NULL output");
    memset(out, 0, sizeof *out);
    if (buf == NULL && len > 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission decode: NULL buffer");
    if (len > WIRE_MAX_ENCODED)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "SignedAttestation: %zu bytes, at most %zu allowed", len,
                                WIRE_MAX_ENCODED);
    Custos__V1__SignedAttestation *m = custos__v1__signed_attestation__unpack(NULL, len, buf);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "not a valid SignedAttestation protobuf (%zu bytes)", len);
    custos_rc rc = pb_to_submission(m, out, err);
    custos__v1__signed_attestation__free_unpacked(m, NULL);
    return rc;
}

custos_rc custos_submission_encode(const custos_submission *s, uint8_t **buf, size_t *len,
                                   custos_error *err)
{
    if (buf == NULL || len == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission encode: NULL output");
    *buf = NULL;
    *len = 0;
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission: NULL input");
    /* Every accepted record is encoded once to be stored: a view, not a copied tree. */
    pb_submission_view v;
    custos_rc rc = pb_submission_view_init(&v, s, err);
    if (rc != CUSTOS_OK) {
        pb_submission_view_clear(&v);
        return rc;
    }
    size_t size = custos__v1__signed_attestation__get_packed_size(&v.msg);
    /* The domain and attestation messages are always present, so size > 0. */
    uint8_t *out = malloc(size > 0 ? size : 1);
    if (out == NULL) {
        pb_submission_view_clear(&v);
        return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                "submission encode: cannot allocate %zu bytes", size);
    }
    size_t packed = custos__v1__signed_attestation__pack(&v.msg, out);
    pb_submission_view_clear(&v);
    if (packed != size) {
        free(out);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "submission encode: packed %zu bytes, expected %zu", packed,
                                size);
    }
    *buf = out;
    *len = size;
    return CUSTOS_OK;
}

custos_rc custos_reserves_request_encode(const char *feed, const custos_domain *d,
                                         const custos_reserves *r,
                                         const custos_signature *sigs, size_t n_sigs,
                                         const custos_reserves_entry *es, size_t n,
                                         uint8_t **buf, size_t *len, custos_error *err)
{
    if (buf == NULL || len == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves encode: NULL output");
    *buf = NULL;
    *len = 0;
    pb_reserves_request m;
    custos_rc rc = pb_reserves_request_init(&m, feed, d, r, sigs, n_sigs, es, n, err);
    size_t size = rc == CUSTOS_OK ? protobuf_c_message_get_packed_size(&m.msg.base) : 0;
    uint8_t *out = rc == CUSTOS_OK ? malloc(size > 0 ? size : 1) : NULL;
    if (rc == CUSTOS_OK && out == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "reserves encode: cannot allocate %zu "
                              "bytes", size);
    if (rc == CUSTOS_OK && protobuf_c_message_pack(&m.msg.base, out) != size) {
        free(out);
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "reserves encode: packed size changed");
    }
    pb_reserves_request_clear(&m);
    if (rc != CUSTOS_OK)
        return rc;
    *buf = out;
    *len = size;
    return CUSTOS_OK;
}
