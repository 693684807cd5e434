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
#include "custos/merkle.h"

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

/* Batches (rule 20, store.h gw_store_batch), laid out in the batch's row as:
 *   body        accountsRoot, count (4 bytes), asOf, validUntil, sequence (8 bytes each),
 *               big-endian; feedId is the feed column's
 *   signatures  65 bytes each; signers 20 bytes each, in the same order
 *   leaves      32 bytes per account, sorted (the tree's leaf order)
 *   refused     per member the gateway refused: its reason (2 bytes), the length of its
 *               attestation (4 bytes) and its custos.v1.SignedAttestation bytes with no
 *               signature and no position */
#define GW_STORE_BATCH_BODY_LEN (CUSTOS_HASH_LEN + 4 + 3 * 8)
void gw_store_batch_body_encode(const custos_batch *b, uint8_t out[GW_STORE_BATCH_BODY_LEN]);
/* b from a body blob and the feed's name; a blob of the wrong length is CUSTOS_ERR_INTERNAL. */
CUSTOS_MUST_USE
custos_rc gw_store_batch_body_decode(const char *feed, const uint8_t *blob, size_t len,
                                     custos_batch *b, custos_error *err);
/* Checks b (members batch.count, 1 to CUSTOS_MAX_SIGNATURES signatures) and encodes its
 * leaves and refused members (*leaves and *refused malloc'd; the caller frees both). */
CUSTOS_MUST_USE
custos_rc gw_store_batch_encode(const gw_store_batch *b, uint8_t **leaves, size_t *leaves_len,
                                uint8_t **refused, size_t *refused_len, custos_error *err);
/* Fills b's sigs, signers and n_sigs from their blobs. */
CUSTOS_MUST_USE
custos_rc gw_store_batch_sigs_decode(gw_store_batch *b, const uint8_t *sigs, size_t sigs_len,
                                     const uint8_t *signers, size_t signers_len,
                                     custos_error *err);
/* Appends the refused members of a blob to b->members (room for b->batch.count). */
CUSTOS_MUST_USE
custos_rc gw_store_batch_refused_decode(gw_store_batch *b, const uint8_t *blob, size_t len,
                                        custos_error *err);
/* A member read from its stored attestation, sub, which is left cleared: m takes its
 * attestation and positions, b its domain (the batch's, as every member's). */
void gw_store_batch_member_take(gw_store_batch *b, gw_store_batch_member *m,
                                custos_submission *sub);
/* Sorts b->members into the tree's leaf order; CUSTOS_ERR_INTERNAL unless they are
 * batch.count. */
CUSTOS_MUST_USE
custos_rc gw_store_batch_sort_members(gw_store_batch *b, custos_error *err);

/* A batch's row as the read side needs it to fill in batched records: its fields,
 * signatures and the tree over its leaves, kept while consecutive records share it. */
typedef struct gw_store_batch_view {
    bool loaded;
    gw_store_batch b; /* no members */
    custos_merkle *tree;
} gw_store_batch_view;

/* Loads the view from a batch row's columns (feed, body, signatures, signers, leaves). */
CUSTOS_MUST_USE
custos_rc gw_store_batch_view_load(gw_store_batch_view *v, const uint8_t digest[CUSTOS_HASH_LEN],
                                   const char *feed, const uint8_t *body, size_t body_len,
                                   const uint8_t *sigs, size_t sigs_len, const uint8_t *signers,
                                   size_t signers_len, const uint8_t *leaves, size_t leaves_len,
                                   custos_error *err);
/* Fills rec->batch and rec->signers from the view, the proof of rec's leaf among them;
 * CUSTOS_ERR_INTERNAL when the leaf is not in the tree (a damaged row). */
CUSTOS_MUST_USE
custos_rc gw_store_batch_view_fill(const gw_store_batch_view *v, custos_record *rec,
                                   custos_error *err);
void gw_store_batch_view_clear(gw_store_batch_view *v);

/* The batch views a connection keeps, the least recently used replaced: a batch's row
 * never changes once written, and the readers of the accounts of a few current batches
 * (a feed's latest, GetLatest, Watch) would otherwise build the same tree of up to 4,096
 * leaves at every read (docs/storage.md §10). At most GW_STORE_BATCH_VIEWS trees. */
#define GW_STORE_BATCH_VIEWS 8

typedef struct gw_store_batch_views {
    gw_store_batch_view v[GW_STORE_BATCH_VIEWS];
    uint64_t used[GW_STORE_BATCH_VIEWS]; /* tick of the last use; 0: empty */
    uint64_t tick;
} gw_store_batch_views;

/* The kept view of the batch, or NULL. */
const gw_store_batch_view *gw_store_batch_views_find(gw_store_batch_views *vs,
                                                     const uint8_t digest[CUSTOS_HASH_LEN]);
/* The view to load a batch into: an empty one or the least recently used, cleared. */
gw_store_batch_view *gw_store_batch_views_slot(gw_store_batch_views *vs);
void gw_store_batch_views_clear(gw_store_batch_views *vs);

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
