/* The PostgreSQL store's batches (pg_store.h, rule 20): a batch's row, its signatures kept
 * once for all its accounts, and the batched records completed from it on the way out. */
#include "store/pg_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

bool gw_pgstore_record_signers_ok(const custos_record *rec)
{
    if (rec->n_signers == 0 || rec->n_signers > CUSTOS_MAX_SIGNATURES)
        return false;
    return rec->batched ? rec->sub.n_sigs == 0 : rec->n_signers == rec->sub.n_sigs;
}

/* The feed column (text, binary: no terminating NUL) of a batch row into out. */
static custos_rc pg_batch_feed(const PGresult *res, char out[CUSTOS_FEED_MAX + 1],
                               custos_error *err)
{
    int len = PQgetlength(res, 0, 0);
    if (PQgetisnull(res, 0, 0) || len > CUSTOS_FEED_MAX ||
        memchr(PQgetvalue(res, 0, 0), '\0', (size_t)len) != NULL)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad feed in batches");
    memcpy(out, PQgetvalue(res, 0, 0), (size_t)len);
    out[len] = '\0';
    return CUSTOS_OK;
}

static const uint8_t *pg_bytes(const PGresult *res, int col)
{
    return PQgetisnull(res, 0, col) ? NULL : (const uint8_t *)PQgetvalue(res, 0, col);
}

static size_t pg_len(const PGresult *res, int col)
{
    return (size_t)PQgetlength(res, 0, col);
}

/* The view of the batch of digest: kept by c, or read with statement i of c into its
 * views. */
static custos_rc pg_batch_view(pg_conn *c, int i, const uint8_t digest[CUSTOS_HASH_LEN],
                               const gw_store_batch_view **out, custos_error *err)
{
    *out = gw_store_batch_views_find(&c->batches, digest);
    if (*out != NULL)
        return CUSTOS_OK;
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(c, i, &p, "read batch", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    char feed[CUSTOS_FEED_MAX + 1];
    rc = PQntuples(res) == 1 ? pg_batch_feed(res, feed, err)
                             : custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                                "store: a batched record's batch is not stored");
    gw_store_batch_view *v = gw_store_batch_views_slot(&c->batches);
    if (rc == CUSTOS_OK)
        rc = gw_store_batch_view_load(v, digest, feed, pg_bytes(res, 1), pg_len(res, 1),
                                      pg_bytes(res, 2), pg_len(res, 2), pg_bytes(res, 3),
                                      pg_len(res, 3), pg_bytes(res, 4), pg_len(res, 4), err);
    PQclear(res);
    if (rc == CUSTOS_OK)
        *out = v;
    return rc;
}

custos_rc gw_pgstore_fill_batches(pg_conn *c, int i, custos_record *recs, size_t n,
                                  custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    for (size_t k = 0; rc == CUSTOS_OK && k < n; k++) {
        if (!recs[k].batched)
            continue;
        const gw_store_batch_view *v = NULL;
        rc = pg_batch_view(c, i, recs[k].batch.digest, &v, err);
        if (rc == CUSTOS_OK)
            rc = gw_store_batch_view_fill(v, &recs[k], err);
    }
    return rc;
}

custos_rc gw_pgstore_put_batch(void *impl, const gw_store_batch *b, custos_error *err)
{
    pg_store *s = impl;
    uint8_t *leaves = NULL, *refused = NULL;
    size_t leaves_len = 0, refused_len = 0;
    custos_rc rc = gw_store_batch_encode(b, &leaves, &leaves_len, &refused, &refused_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    static const uint8_t none = 0;
    uint8_t body[GW_STORE_BATCH_BODY_LEN], seq[8], at[8];
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    gw_store_batch_body_encode(&b->batch, body);
    gw_store_put_u64(seq, b->batch.sequence);
    gw_store_put_u64(at, b->accepted_at);
    for (size_t i = 0; i < b->n_sigs; i++) {
        memcpy(sigs + i * CUSTOS_SIGNATURE_LEN, b->sigs[i].bytes, CUSTOS_SIGNATURE_LEN);
        memcpy(signers + i * CUSTOS_ADDRESS_LEN, b->signers[i], CUSTOS_ADDRESS_LEN);
    }
    pg_params p = {.n = 0};
    pg_param(&p, b->digest, CUSTOS_HASH_LEN);
    pg_param(&p, b->feed, strlen(b->feed));
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, body, sizeof body);
    pg_param(&p, sigs, b->n_sigs * CUSTOS_SIGNATURE_LEN);
    pg_param(&p, signers, b->n_sigs * CUSTOS_ADDRESS_LEN);
    pg_param(&p, leaves, leaves_len);
    /* An empty bytea, not NULL, when the gateway refused none. */
    pg_param(&p, refused != NULL ? refused : &none, refused_len);
    pg_param(&p, at, sizeof at);
    rc = gw_pgstore_run(&s->w, W_PUT_BATCH, &p, "put batch", NULL, err);
    free(leaves);
    free(refused);
    return rc;
}

custos_rc gw_pgstore_last_batch_sequence(void *impl, const char *feed, uint64_t *sequence,
                                         custos_error *err)
{
    pg_store *s = impl;
    *sequence = 0;
    pg_params p = {.n = 0};
    pg_param(&p, feed, strlen(feed));
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->w, W_LAST_BATCH, &p, "last batch sequence", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t seq[8];
    if (PQntuples(res) == 1) {
        rc = gw_pgstore_get_blob(res, 0, 0, seq, sizeof seq, "batch sequence", err);
        if (rc == CUSTOS_OK)
            *sequence = gw_store_get_be(seq, 8);
    }
    PQclear(res);
    return rc;
}

/* The batch's row: fields, signatures, accepted_at and its refused members into out. */
static custos_rc pg_batch_row(pg_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                              gw_store_batch *out, custos_error *err)
{
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->r, R_BATCH, &p, "get batch", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1
             ? pg_batch_feed(res, out->feed, err)
             : custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no batch with this digest");
    if (rc == CUSTOS_OK)
        rc = gw_store_batch_body_decode(out->feed, pg_bytes(res, 1), pg_len(res, 1),
                                        &out->batch, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_batch_sigs_decode(out, pg_bytes(res, 2), pg_len(res, 2), pg_bytes(res, 3),
                                        pg_len(res, 3), err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, 0, 6, &out->accepted_at, "accepted_at", err);
    if (rc == CUSTOS_OK) {
        out->members = calloc(out->batch.count > 0 ? out->batch.count : 1,
                              sizeof *out->members);
        if (out->members == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    }
    if (rc == CUSTOS_OK)
        rc = gw_store_batch_refused_decode(out, pg_bytes(res, 5), pg_len(res, 5), err);
    PQclear(res);
    return rc;
}

/* Appends the batch's members kept in accepted (with_cursor) or held rows. */
static custos_rc pg_batch_members(pg_store *s, int i, bool with_cursor,
                                  const uint8_t digest[CUSTOS_HASH_LEN], gw_store_batch *out,
                                  custos_error *err)
{
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->r, i, &p, "get batch", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    int col = with_cursor ? 1 : 0;
    for (int row = 0; rc == CUSTOS_OK && row < PQntuples(res); row++) {
        if (out->n_members >= out->batch.count) {
            rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                  "store: a batch has more accounts than its count");
            break;
        }
        gw_store_batch_member *m = &out->members[out->n_members];
        memset(m, 0, sizeof *m);
        custos_submission sub;
        if (with_cursor)
            rc = gw_pgstore_get_uint(res, row, 0, &m->cursor, "cursor", err);
        if (rc == CUSTOS_OK)
            rc = pg_column_submission(res, row, col, &sub, err);
        if (rc != CUSTOS_OK)
            break;
        gw_store_batch_member_take(out, m, &sub);
        m->state = with_cursor ? CUSTOS_STATE_ACCEPTED : CUSTOS_STATE_HELD;
        out->n_members++;
    }
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_get_batch(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               gw_store_batch *out, custos_error *err)
{
    pg_store *s = impl;
    memset(out, 0, sizeof *out);
    memcpy(out->digest, digest, CUSTOS_HASH_LEN);
    pthread_mutex_lock(&s->rlock);
    custos_rc rc = gw_pgstore_ready(&s->r, err);
    /* One snapshot, so the members are those of one committed state. */
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_exec(s->r.conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                             PGRES_COMMAND_OK, "get batch", err);
    if (rc == CUSTOS_OK) {
        s->r.in_tx = true;
        rc = pg_batch_row(s, digest, out, err);
        if (rc == CUSTOS_OK)
            rc = pg_batch_members(s, R_BATCH_ACCEPTED, true, digest, out, err);
        if (rc == CUSTOS_OK)
            rc = pg_batch_members(s, R_BATCH_HELD, false, digest, out, err);
        (void)gw_pgstore_exec(s->r.conn, rc == CUSTOS_OK ? "COMMIT" : "ROLLBACK",
                              PGRES_COMMAND_OK, "get batch", NULL);
        s->r.in_tx = false;
    }
    pthread_mutex_unlock(&s->rlock);
    if (rc == CUSTOS_OK)
        rc = gw_store_batch_sort_members(out, err);
    if (rc != CUSTOS_OK)
        gw_store_batch_clear(out);
    return rc;
}
