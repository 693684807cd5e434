/* The SQLite store's batches (sqlite_store.h, rule 20): a batch's row, its signatures kept
 * once for all its accounts, and the batched records completed from it on the way out. */
#include "store/sqlite_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "store/codec.h"

bool gw_sqstore_record_signers_ok(const custos_record *rec)
{
    if (rec->n_signers == 0 || rec->n_signers > CUSTOS_MAX_SIGNATURES)
        return false;
    return rec->batched ? rec->sub.n_sigs == 0 : rec->n_signers == rec->sub.n_sigs;
}

/* The view of the batch of digest: kept in vs, or read with st (SQ_BATCH_ROW) into vs. */
static custos_rc sq_batch_view(sqlite3 *db, sqlite3_stmt *st,
                               const uint8_t digest[CUSTOS_HASH_LEN], gw_store_batch_views *vs,
                               const gw_store_batch_view **out, custos_error *err)
{
    *out = gw_store_batch_views_find(vs, digest);
    if (*out != NULL)
        return CUSTOS_OK;
    custos_rc res = sq_bind_rc(db, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                     SQLITE_TRANSIENT), "read batch", err);
    if (res != CUSTOS_OK)
        return res;
    gw_store_batch_view *v = gw_store_batch_views_slot(vs);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        res = gw_store_batch_view_load(
            v, digest, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 1),
            (size_t)sqlite3_column_bytes(st, 1), sqlite3_column_blob(st, 2),
            (size_t)sqlite3_column_bytes(st, 2), sqlite3_column_blob(st, 3),
            (size_t)sqlite3_column_bytes(st, 3), sqlite3_column_blob(st, 4),
            (size_t)sqlite3_column_bytes(st, 4), err);
    else if (rc == SQLITE_DONE)
        res = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                               "store: a batched record's batch is not stored");
    else
        res = sq_fail(db, rc, "read batch", err);
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(db, rrc, "read batch", err);
    if (res == CUSTOS_OK)
        *out = v;
    else
        gw_store_batch_view_clear(v);
    return res;
}

custos_rc gw_sqstore_fill_batches(sqlite3 *db, sqlite3_stmt *st, gw_store_batch_views *vs,
                                  custos_record *recs, size_t n, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        if (!recs[i].batched)
            continue;
        const gw_store_batch_view *v = NULL;
        rc = sq_batch_view(db, st, recs[i].batch.digest, vs, &v, err);
        if (rc == CUSTOS_OK)
            rc = gw_store_batch_view_fill(v, &recs[i], err);
    }
    return rc;
}

/* Room for one more run in l. */
static custos_rc sq_runs_grow(sq_run_list *l, custos_error *err)
{
    if (l->n < l->cap)
        return CUSTOS_OK;
    size_t cap = l->cap > 0 ? 2 * l->cap : 8;
    sq_run *v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    l->v = v;
    l->cap = cap;
    return CUSTOS_OK;
}

custos_rc gw_sqstore_note_batched(sq_store *s, const custos_record *rec, custos_error *err)
{
    sqlite3_int64 cursor = (sqlite3_int64)rec->cursor;
    sq_run *r = s->runs.n > 0 ? &s->runs.v[s->runs.n - 1] : NULL;
    /* A batch's accounts come one after another: one run each. */
    if (r != NULL && r->last < cursor &&
        memcmp(r->batch, rec->batch.digest, CUSTOS_HASH_LEN) == 0) {
        r->last = cursor;
        return CUSTOS_OK;
    }
    custos_rc rc = sq_runs_grow(&s->runs, err);
    if (rc != CUSTOS_OK)
        return rc;
    r = &s->runs.v[s->runs.n++];
    memcpy(r->batch, rec->batch.digest, CUSTOS_HASH_LEN);
    r->first = r->last = cursor;
    return CUSTOS_OK;
}

/* The range a batch row of the open transaction lists for the run's batch, or NULL. */
static const sq_run *sq_listed_for(const sq_store *s, const sq_run *run)
{
    for (size_t i = 0; i < s->listed.n; i++)
        if (memcmp(s->listed.v[i].batch, run->batch, CUSTOS_HASH_LEN) == 0)
            return &s->listed.v[i];
    return NULL;
}

custos_rc gw_sqstore_mark_late(sq_store *s, custos_error *err)
{
    sqlite3_stmt *st = s->w[W_MARK_LATE];
    custos_rc out = CUSTOS_OK;
    for (size_t i = 0; out == CUSTOS_OK && i < s->runs.n; i++) {
        const sq_run *run = &s->runs.v[i];
        const sq_run *listed = sq_listed_for(s, run);
        if (listed != NULL && listed->first <= run->first && run->last <= listed->last)
            continue;
        int rc = sqlite3_bind_int64(st, 1, run->first);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64(st, 2, run->last);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_blob(st, 3, run->batch, CUSTOS_HASH_LEN, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = listed != NULL ? sqlite3_bind_int64(st, 4, listed->first)
                                : sqlite3_bind_null(st, 4);
        if (rc == SQLITE_OK)
            rc = listed != NULL ? sqlite3_bind_int64(st, 5, listed->last)
                                : sqlite3_bind_null(st, 5);
        out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "mark late", err)
                              : sq_fail(s->wdb, rc, "mark late", err);
        (void)sqlite3_clear_bindings(st);
    }
    return out;
}

void gw_sqstore_forget_runs(sq_store *s)
{
    s->runs.n = 0;
    s->listed.n = 0;
}

void gw_sqstore_free_runs(sq_store *s)
{
    free(s->runs.v);
    free(s->listed.v);
    memset(&s->runs, 0, sizeof s->runs);
    memset(&s->listed, 0, sizeof s->listed);
}

custos_rc gw_sqstore_put_batch(void *impl, const gw_store_batch *b, custos_error *err)
{
    sq_store *s = impl;
    /* The cursors of the accounts accepted in this commit (docs/storage.md §10). */
    sq_run span = {.first = 0, .last = 0};
    memcpy(span.batch, b->digest, CUSTOS_HASH_LEN);
    for (size_t i = 0; i < b->n_members; i++) {
        const gw_store_batch_member *m = &b->members[i];
        if (m->state != CUSTOS_STATE_ACCEPTED)
            continue;
        if (m->cursor == 0 || m->cursor > INT64_MAX)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "store: batch account %zu accepted with cursor %llu", i,
                                    (unsigned long long)m->cursor);
        sqlite3_int64 c = (sqlite3_int64)m->cursor;
        if (span.first == 0 || c < span.first)
            span.first = c;
        if (c > span.last)
            span.last = c;
    }
    /* Only a transaction's batched records wait to be marked late at its commit. */
    bool listing = span.first != 0 && !sqlite3_get_autocommit(s->wdb);
    custos_rc out = listing ? sq_runs_grow(&s->listed, err) : CUSTOS_OK;
    if (out != CUSTOS_OK)
        return out;
    uint8_t *leaves = NULL, *refused = NULL;
    size_t leaves_len = 0, refused_len = 0;
    out = gw_store_batch_encode(b, &leaves, &leaves_len, &refused, &refused_len, err);
    if (out != CUSTOS_OK)
        return out;
    static const uint8_t none = 0;
    uint8_t body[GW_STORE_BATCH_BODY_LEN], seq[8];
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    gw_store_batch_body_encode(&b->batch, body);
    gw_store_put_u64(seq, b->batch.sequence);
    for (size_t i = 0; i < b->n_sigs; i++) {
        memcpy(sigs + i * CUSTOS_SIGNATURE_LEN, b->sigs[i].bytes, CUSTOS_SIGNATURE_LEN);
        memcpy(signers + i * CUSTOS_ADDRESS_LEN, b->signers[i], CUSTOS_ADDRESS_LEN);
    }
    sqlite3_stmt *st = s->w[W_PUT_BATCH];
    int rc = sqlite3_bind_blob(st, 1, b->digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, b->feed, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, sizeof seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, body, sizeof body, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 5, sigs, (int)(b->n_sigs * CUSTOS_SIGNATURE_LEN),
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, signers, (int)(b->n_sigs * CUSTOS_ADDRESS_LEN),
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, leaves, (int)leaves_len, SQLITE_STATIC);
    /* An empty blob, not NULL, when the gateway refused none. */
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 8, refused != NULL ? refused : &none, (int)refused_len,
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 9, (sqlite3_int64)b->accepted_at);
    if (rc == SQLITE_OK)
        rc = span.first != 0 ? sqlite3_bind_int64(st, 10, span.first) : sqlite3_bind_null(st, 10);
    if (rc == SQLITE_OK)
        rc = span.first != 0 ? sqlite3_bind_int64(st, 11, span.last) : sqlite3_bind_null(st, 11);
    out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put batch", err)
                          : sq_fail(s->wdb, rc, "put batch", err);
    (void)sqlite3_clear_bindings(st);
    free(leaves);
    free(refused);
    if (out == CUSTOS_OK && listing)
        s->listed.v[s->listed.n++] = span;
    return out;
}

custos_rc gw_sqstore_last_batch_sequence(void *impl, const char *feed, uint64_t *sequence,
                                         custos_error *err)
{
    sq_store *s = impl;
    *sequence = 0;
    sqlite3_stmt *st = s->w[W_LAST_BATCH];
    custos_rc res = sq_bind_rc(s->wdb, sqlite3_bind_text(st, 1, feed, -1, SQLITE_TRANSIENT),
                               "last batch sequence", err);
    if (res != CUSTOS_OK)
        return res;
    int rc = sqlite3_step(st);
    uint8_t seq[8];
    if (rc == SQLITE_ROW) {
        res = gw_sqstore_copy_blob(st, 0, seq, sizeof seq, "batch sequence", err);
        if (res == CUSTOS_OK)
            *sequence = gw_store_get_be(seq, 8);
    } else if (rc != SQLITE_DONE) {
        res = sq_fail(s->wdb, rc, "last batch sequence", err);
    }
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->wdb, rrc, "last batch sequence", err);
    return res;
}

/* The batch's row: fields, signatures, accepted_at and its refused members into out. */
static custos_rc sq_batch_row(sq_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                              gw_store_batch *out, custos_error *err)
{
    sqlite3_stmt *st = s->r[R_BATCH];
    custos_rc res = sq_bind_rc(s->rdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_TRANSIENT), "get batch", err);
    if (res != CUSTOS_OK)
        return res;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *feed = (const char *)sqlite3_column_text(st, 0);
        if (feed == NULL || strlen(feed) > CUSTOS_FEED_MAX)
            res = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad feed in batches");
        else
            memcpy(out->feed, feed, strlen(feed) + 1);
        if (res == CUSTOS_OK)
            res = gw_store_batch_body_decode(out->feed, sqlite3_column_blob(st, 1),
                                             (size_t)sqlite3_column_bytes(st, 1), &out->batch,
                                             err);
        if (res == CUSTOS_OK)
            res = gw_store_batch_sigs_decode(out, sqlite3_column_blob(st, 2),
                                             (size_t)sqlite3_column_bytes(st, 2),
                                             sqlite3_column_blob(st, 3),
                                             (size_t)sqlite3_column_bytes(st, 3), err);
        if (res == CUSTOS_OK) {
            out->members = calloc(out->batch.count > 0 ? out->batch.count : 1,
                                  sizeof *out->members);
            if (out->members == NULL)
                res = custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
        }
        if (res == CUSTOS_OK)
            res = gw_store_batch_refused_decode(out, sqlite3_column_blob(st, 5),
                                                (size_t)sqlite3_column_bytes(st, 5), err);
        out->accepted_at = (uint64_t)sqlite3_column_int64(st, 6);
    } else if (rc == SQLITE_DONE) {
        res = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no batch with this digest");
    } else {
        res = sq_fail(s->rdb, rc, "get batch", err);
    }
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->rdb, rrc, "get batch", err);
    return res;
}

/* Appends the batch's members kept in accepted (with_cursor) or held rows. */
static custos_rc sq_batch_members(sq_store *s, sqlite3_stmt *st, bool with_cursor,
                                  const uint8_t digest[CUSTOS_HASH_LEN], gw_store_batch *out,
                                  custos_error *err)
{
    custos_rc res = sq_bind_rc(s->rdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_TRANSIENT), "get batch", err);
    if (res != CUSTOS_OK)
        return res;
    int rc;
    int col = with_cursor ? 1 : 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n_members >= out->batch.count) {
            res = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                   "store: a batch has more accounts than its count");
            break;
        }
        gw_store_batch_member *m = &out->members[out->n_members];
        memset(m, 0, sizeof *m);
        custos_submission sub;
        res = sq_column_submission(st, col, &sub, err);
        if (res != CUSTOS_OK)
            break;
        gw_store_batch_member_take(out, m, &sub);
        m->state = with_cursor ? CUSTOS_STATE_ACCEPTED : CUSTOS_STATE_HELD;
        m->cursor = with_cursor ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
        out->n_members++;
    }
    if (res == CUSTOS_OK && rc != SQLITE_DONE)
        res = sq_fail(s->rdb, rc, "get batch", err);
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->rdb, rrc, "get batch", err);
    return res;
}

custos_rc gw_sqstore_get_batch(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               gw_store_batch *out, custos_error *err)
{
    sq_store *s = impl;
    memset(out, 0, sizeof *out);
    memcpy(out->digest, digest, CUSTOS_HASH_LEN);
    pthread_mutex_lock(&s->rlock);
    /* One read transaction, so the members are those of one committed state. */
    int brc = sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL);
    custos_rc res = sq_bind_rc(s->rdb, brc, "get batch", err);
    if (res == CUSTOS_OK)
        res = sq_batch_row(s, digest, out, err);
    if (res == CUSTOS_OK)
        res = sq_batch_members(s, s->r[R_BATCH_ACCEPTED], true, digest, out, err);
    if (res == CUSTOS_OK)
        res = sq_batch_members(s, s->r[R_BATCH_HELD], false, digest, out, err);
    if (brc == SQLITE_OK)
        (void)sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&s->rlock);
    if (res == CUSTOS_OK)
        res = gw_store_batch_sort_members(out, err);
    if (res != CUSTOS_OK)
        gw_store_batch_clear(out);
    return res;
}
