/* How both store back ends lay values out in their columns, in one place: a submission as
 * its custos.v1.SignedAttestation bytes (the public custos/wire.h encoding), a reserves
 * attestation's leaves as one blob, and the uint64 values SQL orders (sequences) as 8
 * big-endian bytes, so that byte order is numeric order. */
#ifndef GATEWAY_STORE_CODEC_H
#define GATEWAY_STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

#include "store/store.h"

/* Leaves travel to and from the store as one blob of 64 bytes each: account, then the
 * value as 32 big-endian bytes. */
#define GW_STORE_RESERVES_LEAF_LEN 64

/* s as the bytes of its column; *blob is malloc'd (the caller frees it) and *len fits a
 * blob parameter of either back end (at most INT_MAX). */
CUSTOS_MUST_USE
custos_rc gw_store_encode_submission(const custos_submission *s, uint8_t **blob, size_t *len,
                                     custos_error *err);
/* A stored submission back; bytes that do not decode are CUSTOS_ERR_INTERNAL (a damaged
 * row: nothing a client sent). out is left cleared on failure. */
CUSTOS_MUST_USE
custos_rc gw_store_decode_submission(const uint8_t *blob, size_t len, custos_submission *out,
                                     custos_error *err);

/* The leaves of res as a blob of res->r.accounts * GW_STORE_RESERVES_LEAF_LEN bytes
 * (malloc'd), or NULL when the count is out of range or memory is short. */
uint8_t *gw_store_reserves_encode(const gw_store_reserves *res, size_t *len);
/* Fills res->entries from a blob that must hold exactly res->r.accounts leaves. */
CUSTOS_MUST_USE
custos_rc gw_store_reserves_decode(gw_store_reserves *res, const uint8_t *blob, size_t len,
                                   custos_error *err);

/* res's signatures, 65 bytes each, into out; returns the length. */
size_t gw_store_reserves_sigs_encode(const gw_store_reserves *res,
                                     uint8_t out[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN]);
/* res->sigs and n_sigs from such a blob (empty: none, a row from before schema step 15). */
CUSTOS_MUST_USE
custos_rc gw_store_reserves_sigs_decode(gw_store_reserves *res, const uint8_t *blob, size_t len,
                                        custos_error *err);
/* A notice travels to and from the store as one blob (notice_codec.c): its members, digest,
 * signer, signature, accepted_at and feed in a fixed order. */
#define GW_STORE_NOTICE_MAX                                                               \
    (CUSTOS_HASH_LEN + CUSTOS_ADDRESS_LEN + 1 + 4 + 2 * CUSTOS_U256_LEN + 8 + 8 +         \
     CUSTOS_HASH_LEN + CUSTOS_ADDRESS_LEN + CUSTOS_SIGNATURE_LEN + 8 + 1 + CUSTOS_FEED_MAX)
/* The blob of n into out; returns its length. */
size_t gw_store_notice_encode(const gw_store_notice *n, uint8_t out[GW_STORE_NOTICE_MAX]);
/* A stored blob back; bytes of the wrong length are CUSTOS_ERR_INTERNAL (a damaged row). */
CUSTOS_MUST_USE
custos_rc gw_store_notice_decode(const uint8_t *blob, size_t len, gw_store_notice *out,
                                 custos_error *err);

static inline void gw_store_put_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A big-endian unsigned value of len (at most 8) bytes. */
static inline uint64_t gw_store_get_be(const uint8_t *in, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++)
        v = (v << 8) | in[i];
    return v;
}

#endif
