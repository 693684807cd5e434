/* Column encodings of batches, shared by both store back ends (codec.h, rule 20). */
#include "store/codec.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "custos/reserves.h"

#define REFUSED_HEAD 6 /* reason (2), length (4) */

static void put_be(uint8_t *out, uint64_t v, size_t len)
{
    for (size_t i = len; i-- > 0;) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

void gw_store_batch_body_encode(const custos_batch *b, uint8_t out[GW_STORE_BATCH_BODY_LEN])
{
    memcpy(out, b->accounts_root, CUSTOS_HASH_LEN);
    put_be(out + CUSTOS_HASH_LEN, b->count, 4);
    put_be(out + CUSTOS_HASH_LEN + 4, b->as_of, 8);
    put_be(out + CUSTOS_HASH_LEN + 12, b->valid_until, 8);
    put_be(out + CUSTOS_HASH_LEN + 20, b->sequence, 8);
}

custos_rc gw_store_batch_body_decode(const char *feed, const uint8_t *blob, size_t len,
                                     custos_batch *b, custos_error *err)
{
    if (blob == NULL || len != GW_STORE_BATCH_BODY_LEN)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: a batch's fields have %zu bytes, not %d", len,
                                GW_STORE_BATCH_BODY_LEN);
    memset(b, 0, sizeof *b);
    custos_feed_id(feed, b->feed_id);
    memcpy(b->accounts_root, blob, CUSTOS_HASH_LEN);
    b->count = (uint32_t)gw_store_get_be(blob + CUSTOS_HASH_LEN, 4);
    b->as_of = gw_store_get_be(blob + CUSTOS_HASH_LEN + 4, 8);
    b->valid_until = gw_store_get_be(blob + CUSTOS_HASH_LEN + 12, 8);
    b->sequence = gw_store_get_be(blob + CUSTOS_HASH_LEN + 20, 8);
    return CUSTOS_OK;
}

static int leaf_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CUSTOS_HASH_LEN);
}

/* One refused member's entry appended to *buf (*off bytes used, grown as needed): its
 * attestation on the batch's feed and domain, as the gateway received it. */
static custos_rc refused_put(const gw_store_batch *b, const gw_store_batch_member *m,
                             uint8_t **buf, size_t *off, custos_error *err)
{
    custos_submission bare;
    memset(&bare, 0, sizeof bare);
    memcpy(bare.feed, b->feed, sizeof bare.feed);
    bare.domain = b->domain;
    bare.att = m->acct.att;
    uint8_t *enc = NULL;
    size_t len = 0;
    custos_rc rc = gw_store_encode_submission(&bare, &enc, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t *grown = *off + REFUSED_HEAD + len <= INT_MAX
                         ? realloc(*buf, *off + REFUSED_HEAD + len)
                         : NULL;
    if (grown == NULL) {
        free(enc);
        return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                "store: no room for a batch's refused members");
    }
    *buf = grown;
    put_be(grown + *off, (uint64_t)m->reason, 2);
    put_be(grown + *off + 2, len, 4);
    memcpy(grown + *off + REFUSED_HEAD, enc, len);
    *off += REFUSED_HEAD + len;
    free(enc);
    return CUSTOS_OK;
}

custos_rc gw_store_batch_encode(const gw_store_batch *b, uint8_t **leaves, size_t *leaves_len,
                                uint8_t **refused, size_t *refused_len, custos_error *err)
{
    *leaves = NULL;
    *refused = NULL;
    *leaves_len = *refused_len = 0;
    if (b->n_members == 0 || b->n_members > CUSTOS_BATCH_MAX_ACCOUNTS ||
        b->n_members != b->batch.count || b->n_sigs == 0 || b->n_sigs > CUSTOS_MAX_SIGNATURES ||
        b->accepted_at > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: a batch of %zu members for count %u with %zu "
                                "signatures cannot be stored",
                                b->n_members, (unsigned)b->batch.count, b->n_sigs);
    uint8_t *lv = malloc(b->n_members * CUSTOS_HASH_LEN);
    if (lv == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    if (b->leaves != NULL)
        memcpy(lv, b->leaves, b->n_members * CUSTOS_HASH_LEN);
    else
        for (size_t i = 0; i < b->n_members; i++)
            custos_batch_leaf(&b->members[i].acct.att, lv + i * CUSTOS_HASH_LEN);
    qsort(lv, b->n_members, CUSTOS_HASH_LEN, leaf_cmp);
    uint8_t *rf = NULL;
    size_t off = 0;
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < b->n_members; i++)
        if (b->members[i].state != CUSTOS_STATE_ACCEPTED &&
            b->members[i].state != CUSTOS_STATE_HELD)
            rc = refused_put(b, &b->members[i], &rf, &off, err);
    if (rc != CUSTOS_OK) {
        free(lv);
        free(rf);
        return rc;
    }
    *leaves = lv;
    *leaves_len = b->n_members * CUSTOS_HASH_LEN;
    *refused = rf;
    *refused_len = off;
    return CUSTOS_OK;
}

custos_rc gw_store_batch_sigs_decode(gw_store_batch *b, const uint8_t *sigs, size_t sigs_len,
                                     const uint8_t *signers, size_t signers_len,
                                     custos_error *err)
{
    size_t n = sigs_len / CUSTOS_SIGNATURE_LEN;
    if (sigs == NULL || signers == NULL || n == 0 || n > CUSTOS_MAX_SIGNATURES ||
        sigs_len != n * CUSTOS_SIGNATURE_LEN || signers_len != n * CUSTOS_ADDRESS_LEN)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: a batch has %zu signature bytes and %zu signer bytes",
                                sigs_len, signers_len);
    for (size_t i = 0; i < n; i++) {
        memcpy(b->sigs[i].bytes, sigs + i * CUSTOS_SIGNATURE_LEN, CUSTOS_SIGNATURE_LEN);
        memcpy(b->signers[i], signers + i * CUSTOS_ADDRESS_LEN, CUSTOS_ADDRESS_LEN);
    }
    b->n_sigs = n;
    return CUSTOS_OK;
}

custos_rc gw_store_batch_refused_decode(gw_store_batch *b, const uint8_t *blob, size_t len,
                                        custos_error *err)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < REFUSED_HEAD || b->n_members >= b->batch.count)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "store: a batch's refused members do not decode");
        size_t n = (size_t)gw_store_get_be(blob + off + 2, 4);
        if (len - off - REFUSED_HEAD < n)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "store: a batch's refused members do not decode");
        gw_store_batch_member *m = &b->members[b->n_members];
        memset(m, 0, sizeof *m);
        custos_submission sub;
        custos_rc rc = gw_store_decode_submission(blob + off + REFUSED_HEAD, n, &sub, err);
        if (rc != CUSTOS_OK)
            return rc;
        gw_store_batch_member_take(b, m, &sub);
        m->state = CUSTOS_STATE_UNSPECIFIED;
        m->reason = (custos_reason)gw_store_get_be(blob + off, 2);
        b->n_members++;
        off += REFUSED_HEAD + n;
    }
    return CUSTOS_OK;
}

void gw_store_batch_member_take(gw_store_batch *b, gw_store_batch_member *m,
                                custos_submission *sub)
{
    m->acct.att = sub->att;
    m->acct.positions = sub->positions;
    m->acct.n_positions = sub->n_positions;
    b->domain = sub->domain;
    sub->positions = NULL;
    sub->n_positions = 0;
    custos_submission_clear(sub);
}

typedef struct keyed_member {
    uint8_t leaf[CUSTOS_HASH_LEN];
    gw_store_batch_member m;
} keyed_member;

static int keyed_cmp(const void *a, const void *b)
{
    return memcmp(((const keyed_member *)a)->leaf, ((const keyed_member *)b)->leaf,
                  CUSTOS_HASH_LEN);
}

custos_rc gw_store_batch_sort_members(gw_store_batch *b, custos_error *err)
{
    if (b->n_members != b->batch.count || b->n_members == 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: batch has %zu of its %u accounts", b->n_members,
                                (unsigned)b->batch.count);
    keyed_member *k = malloc(b->n_members * sizeof *k);
    if (k == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    for (size_t i = 0; i < b->n_members; i++) {
        custos_batch_leaf(&b->members[i].acct.att, k[i].leaf);
        k[i].m = b->members[i];
    }
    qsort(k, b->n_members, sizeof *k, keyed_cmp);
    for (size_t i = 0; i < b->n_members; i++)
        b->members[i] = k[i].m;
    free(k);
    return CUSTOS_OK;
}

void gw_store_batch_clear(gw_store_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; b->members != NULL && i < b->n_members; i++)
        custos_batch_member_clear(&b->members[i].acct);
    free(b->members);
    memset(b, 0, sizeof *b);
}

custos_rc gw_store_batch_view_load(gw_store_batch_view *v, const uint8_t digest[CUSTOS_HASH_LEN],
                                   const char *feed, const uint8_t *body, size_t body_len,
                                   const uint8_t *sigs, size_t sigs_len, const uint8_t *signers,
                                   size_t signers_len, const uint8_t *leaves, size_t leaves_len,
                                   custos_error *err)
{
    gw_store_batch_view_clear(v);
    if (feed == NULL || strlen(feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad feed in batches");
    memcpy(v->b.feed, feed, strlen(feed) + 1);
    memcpy(v->b.digest, digest, CUSTOS_HASH_LEN);
    custos_rc rc = gw_store_batch_body_decode(feed, body, body_len, &v->b.batch, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_batch_sigs_decode(&v->b, sigs, sigs_len, signers, signers_len, err);
    if (rc == CUSTOS_OK && (leaves == NULL || v->b.batch.count == 0 ||
                            leaves_len != (size_t)v->b.batch.count * CUSTOS_HASH_LEN))
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                              "store: a batch of %u accounts has %zu leaf bytes",
                              (unsigned)v->b.batch.count, leaves_len);
    if (rc == CUSTOS_OK)
        rc = custos_merkle_new((const uint8_t(*)[CUSTOS_HASH_LEN])leaves, v->b.batch.count,
                               &v->tree, err);
    if (rc != CUSTOS_OK) {
        gw_store_batch_view_clear(v);
        return rc;
    }
    v->loaded = true;
    return CUSTOS_OK;
}

custos_rc gw_store_batch_view_fill(const gw_store_batch_view *v, custos_record *rec,
                                   custos_error *err)
{
    uint8_t leaf[CUSTOS_HASH_LEN];
    custos_batch_leaf(&rec->sub.att, leaf);
    custos_record_batch *rb = &rec->batch;
    custos_error why;
    custos_error_clear(&why);
    if (custos_merkle_proof(v->tree, leaf, rb->proof, CUSTOS_MERKLE_PROOF_MAX, &rb->n_proof,
                            &why) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: an account is not among its batch's leaves: %s",
                                why.message);
    rec->batched = true;
    memcpy(rb->digest, v->b.digest, CUSTOS_HASH_LEN);
    rb->batch = v->b.batch;
    memcpy(rb->sigs, v->b.sigs, v->b.n_sigs * sizeof v->b.sigs[0]);
    rb->n_sigs = v->b.n_sigs;
    memcpy(rec->signers, v->b.signers, v->b.n_sigs * CUSTOS_ADDRESS_LEN);
    rec->n_signers = v->b.n_sigs;
    return CUSTOS_OK;
}

void gw_store_batch_view_clear(gw_store_batch_view *v)
{
    custos_merkle_free(v->tree);
    memset(v, 0, sizeof *v);
}

const gw_store_batch_view *gw_store_batch_views_find(gw_store_batch_views *vs,
                                                     const uint8_t digest[CUSTOS_HASH_LEN])
{
    for (size_t i = 0; i < GW_STORE_BATCH_VIEWS; i++)
        if (vs->v[i].loaded && memcmp(vs->v[i].b.digest, digest, CUSTOS_HASH_LEN) == 0) {
            vs->used[i] = ++vs->tick;
            return &vs->v[i];
        }
    return NULL;
}

gw_store_batch_view *gw_store_batch_views_slot(gw_store_batch_views *vs)
{
    size_t oldest = 0;
    for (size_t i = 1; i < GW_STORE_BATCH_VIEWS; i++)
        if (vs->used[i] < vs->used[oldest])
            oldest = i;
    gw_store_batch_view_clear(&vs->v[oldest]);
    vs->used[oldest] = ++vs->tick;
    return &vs->v[oldest];
}

void gw_store_batch_views_clear(gw_store_batch_views *vs)
{
    for (size_t i = 0; i < GW_STORE_BATCH_VIEWS; i++)
        gw_store_batch_view_clear(&vs->v[i]);
    memset(vs, 0, sizeof *vs);
}
