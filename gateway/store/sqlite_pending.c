/* The SQLite store's pending and held records (sqlite_store.h): submissions short of
 * their quorum with the signatures collected so far, and rises the circuit breaker holds
 * (rule 6). */
#include "store/sqlite_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

custos_rc gw_sqstore_get_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 custos_submission *sub, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_GET_PENDING];
    memset(sub, 0, sizeof *sub);
    custos_rc out = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_STATIC), "get pending", err);
    if (out != CUSTOS_OK)
        return out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out = sq_column_submission(st, 0, sub, err);
    else if (rc == SQLITE_DONE)
        out = CUSTOS_ERR_NOT_FOUND;
    else
        out = sq_fail(s->wdb, rc, "get pending", err);
    int rrc = sqlite3_reset(st);
    if (out == CUSTOS_OK && rrc != SQLITE_OK) {
        custos_submission_clear(sub);
        out = sq_fail(s->wdb, rrc, "get pending", err);
    }
    return out;
}

custos_rc gw_sqstore_list_pending_signers(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                          gw_store_signer_fn fn, void *ctx, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_LIST_SIGNERS];
    custos_rc out = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_STATIC), "list signers", err);
    if (out != CUSTOS_OK)
        return out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        gw_store_signer sg;
        memset(&sg, 0, sizeof sg);
        out = gw_sqstore_copy_blob(st, 0, sg.address, CUSTOS_ADDRESS_LEN, "signer", err);
        if (out == CUSTOS_OK)
            out = gw_sqstore_copy_blob(st, 2, sg.sig.bytes, CUSTOS_SIGNATURE_LEN, "signature", err);
        sqlite3_int64 role = sqlite3_column_int64(st, 1);
        if (out == CUSTOS_OK && (role < 0 || role >= GW_ROLE_COUNT))
            out = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad role %lld",
                                   (long long)role);
        if (out != CUSTOS_OK)
            break;
        sg.role = (gw_role)role;
        out = fn(ctx, &sg, err);
        if (out != CUSTOS_OK)
            break;
    }
    int rrc = sqlite3_reset(st);
    if (out != CUSTOS_OK)
        return out;
    if (rc != SQLITE_DONE)
        return sq_fail(s->wdb, rc, "list signers", err);
    return rrc == SQLITE_OK ? CUSTOS_OK : sq_fail(s->wdb, rrc, "list signers", err);
}

custos_rc gw_sqstore_put_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 const custos_submission *sub, uint64_t first_seen,
                                 const uint8_t creator[CUSTOS_ADDRESS_LEN], uint64_t bytes,
                                 custos_error *err)
{
    sq_store *s = impl;
    if (first_seen > INT64_MAX || bytes > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "store: pending row out of range");
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc out = gw_store_encode_submission(sub, &blob, &len, err);
    if (out != CUSTOS_OK)
        return out;
    uint8_t seq[8];
    gw_store_put_u64(seq, sub->att.sequence);
    sqlite3_stmt *st = s->w[W_PUT_PENDING];
    s->may_have_pending = true;
    int rc = sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, sub->att.account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, sizeof seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, blob, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)first_seen);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 6, sub->feed, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, creator, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 8, (sqlite3_int64)bytes);
    out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put pending", err)
                          : sq_fail(s->wdb, rc, "put pending", err);
    (void)sqlite3_clear_bindings(st);
    free(blob);
    return out;
}

custos_rc gw_sqstore_put_pending_signer(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                        const gw_store_signer *sg, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_PUT_SIGNER];
    int rc = sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, sg->address, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 3, (int)sg->role);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, sg->sig.bytes, CUSTOS_SIGNATURE_LEN, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return sq_fail(s->wdb, rc, "put pending signer", err);
    return gw_sqstore_step_done(s->wdb, st, "put pending signer", err);
}

/* Drops the account's pending digests at or below seq and marks its held rises below
 * seq superseded (a later record was published or held over them). */
custos_rc gw_sqstore_prune(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                           const uint8_t seq[8], custos_error *err)
{
    /* Signers first: their delete finds the digests through the pending rows. */
    const enum sq_wstmt prune[3] = {W_PRUNE_SIGNERS, W_PRUNE_PENDING, W_SUPERSEDE_HELD};
    for (int i = 0; i < 3; i++) {
        if (i < 2 ? !s->may_have_pending : !s->may_have_held)
            continue;
        sqlite3_stmt *st = s->w[prune[i]];
        int rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_blob(st, 2, seq, 8, SQLITE_STATIC);
        custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "prune pending", err)
                              : sq_fail(s->wdb, rc, "prune pending", err);
        (void)sqlite3_clear_bindings(st);
        if (out != CUSTOS_OK)
            return out;
    }
    return CUSTOS_OK;
}

custos_rc gw_sqstore_put_held(void *impl, const custos_record *rec, custos_error *err)
{
    sq_store *s = impl;
    if (rec->accepted_at > INT64_MAX || !gw_sqstore_record_signers_ok(rec))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: held record with %zu signers for %zu signatures "
                                "cannot be stored", rec->n_signers, rec->sub.n_sigs);
    sq_record_cols cols;
    custos_rc out = gw_sqstore_record_columns(rec, &cols, err);
    if (out != CUSTOS_OK)
        return out;
    uint8_t *blob = cols.blob;
    size_t len = cols.len;
    const uint8_t *signers = cols.signers, *seq = cols.seq;
    const uint8_t *account = rec->sub.att.account;

    sqlite3_stmt *st = s->w[W_PUT_HELD];
    s->may_have_held = true;
    int rc = sqlite3_bind_blob(st, 1, rec->digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, sizeof cols.seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->accepted_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 5, blob, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, signers, (int)(rec->sub.n_sigs * CUSTOS_ADDRESS_LEN),
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = rec->batched ? sqlite3_bind_blob(st, 7, rec->batch.digest, CUSTOS_HASH_LEN,
                                              SQLITE_STATIC)
                          : sqlite3_bind_null(st, 7);
    out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put held", err)
                          : sq_fail(s->wdb, rc, "put held", err);
    (void)sqlite3_clear_bindings(st);
    free(blob);
    if (out != CUSTOS_OK)
        return out;

    /* The held rise consumes its sequence (rule 4) but leaves the latest record as it is. */
    sqlite3_int64 place;
    out = gw_sqstore_account_place(s, s->wdb, s->w[W_ACCOUNT_IDS], account, &place, err);
    if (out != CUSTOS_OK)
        return out;
    st = s->w[W_HOLD_SEQUENCE];
    rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, seq, sizeof cols.seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, place);
    out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "hold sequence", err)
                          : sq_fail(s->wdb, rc, "hold sequence", err);
    (void)sqlite3_clear_bindings(st);
    if (out != CUSTOS_OK)
        return out;
    if (sqlite3_changes(s->wdb) != 1)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: a held record needs an account with a published one");
    return gw_sqstore_prune(s, account, seq, err);
}

/* The held record of digest through one connection's statements (the writer's or the
 * reader's): the held row, then its batch. */
static custos_rc sq_get_held(sqlite3 *db, sqlite3_stmt *st, sqlite3_stmt *batch,
                             gw_store_batch_views *views, const uint8_t digest[CUSTOS_HASH_LEN],
                             custos_record *out, bool *superseded, custos_error *err)
{
    memset(out, 0, sizeof *out);
    custos_rc res = sq_bind_rc(db, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                     SQLITE_STATIC), "get held", err);
    if (res != CUSTOS_OK)
        return res;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        res = gw_sqstore_row_to_record(st, out, err);
        out->state = CUSTOS_STATE_HELD;
        *superseded = sqlite3_column_int64(st, 7) != 0;
    } else if (rc == SQLITE_DONE) {
        res = CUSTOS_ERR_NOT_FOUND;
    } else {
        res = sq_fail(db, rc, "get held", err);
    }
    int rrc = sqlite3_reset(st);
    if ((res == CUSTOS_OK || res == CUSTOS_ERR_NOT_FOUND) && rrc != SQLITE_OK) {
        if (res == CUSTOS_OK)
            custos_record_clear(out);
        res = sq_fail(db, rrc, "get held", err);
    }
    if (res == CUSTOS_OK) {
        res = gw_sqstore_fill_batches(db, batch, views, out, 1, err);
        if (res != CUSTOS_OK)
            custos_record_clear(out);
    }
    return res;
}

custos_rc gw_sqstore_get_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                              custos_record *out, bool *superseded, custos_error *err)
{
    sq_store *s = impl;
    return sq_get_held(s->wdb, s->w[W_GET_HELD], s->w[W_BATCH], &s->wbatch, digest, out,
                       superseded, err);
}

custos_rc gw_sqstore_read_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_record *out, bool *superseded, custos_error *err)
{
    sq_store *s = impl;
    pthread_mutex_lock(&s->rlock);
    custos_rc rc = sq_get_held(s->rdb, s->r[R_GET_HELD], s->r[R_BATCH], &s->rbatch, digest,
                               out, superseded, err);
    pthread_mutex_unlock(&s->rlock);
    return rc;
}

custos_rc gw_sqstore_drop_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_DROP_HELD];
    custos_rc out = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_STATIC), "drop held", err);
    return out == CUSTOS_OK ? gw_sqstore_step_done(s->wdb, st, "drop held", err) : out;
}

custos_rc gw_sqstore_list_held(void *impl, const uint8_t *account, const gw_held_key *after,
                               custos_record *out, size_t max, size_t *n, custos_error *err)
{
    sq_store *s = impl;
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    sqlite3_int64 limit = max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_LIST_HELD];
    custos_rc res = CUSTOS_OK;
    int rc = account != NULL ? sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_TRANSIENT)
                             : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, limit);
    if (rc == SQLITE_OK)
        rc = after != NULL ? sqlite3_bind_int64(st, 3, (sqlite3_int64)after->held_at)
                           : sqlite3_bind_null(st, 3);
    if (rc == SQLITE_OK)
        rc = after != NULL ? sqlite3_bind_blob(st, 4, after->digest, CUSTOS_HASH_LEN,
                                               SQLITE_TRANSIENT)
                           : sqlite3_bind_null(st, 4);
    if (rc != SQLITE_OK)
        res = sq_fail(s->rdb, rc, "list held", err);
    else
        res = gw_sqstore_read_records(s, st, "list held", CUSTOS_STATE_HELD, out, n, err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}

custos_rc gw_sqstore_count_held(void *impl, uint64_t *count, custos_error *err)
{
    sq_store *s = impl;
    *count = 0;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_COUNT_HELD];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = (uint64_t)sqlite3_column_int64(st, 0);
    else
        res = sq_fail(s->rdb, rc, "count held", err);
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->rdb, rrc, "count held", err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}

custos_rc gw_sqstore_pending_summary(void *impl, uint64_t *count, uint64_t *oldest,
                                     custos_error *err)
{
    sq_store *s = impl;
    *count = 0;
    *oldest = 0;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_PENDING_SUMMARY];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(st, 0), first = sqlite3_column_int64(st, 1);
        *count = n > 0 ? (uint64_t)n : 0;
        *oldest = first > 0 ? (uint64_t)first : 0;
    } else {
        res = sq_fail(s->rdb, rc, "pending summary", err);
    }
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->rdb, rrc, "pending summary", err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}

/* Steps st (its parameters bound) for one row (count, sum) into rows and bytes. */
static custos_rc sq_count_sum(sqlite3 *db, sqlite3_stmt *st, uint64_t *rows, uint64_t *bytes,
                              const char *what, custos_error *err)
{
    int rc = sqlite3_step(st);
    custos_rc res = CUSTOS_OK;
    if (rc == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
        *rows = n > 0 ? (uint64_t)n : 0;
        *bytes = b > 0 ? (uint64_t)b : 0;
    } else {
        res = sq_fail(db, rc, what, err);
    }
    int rrc = sqlite3_reset(st);
    (void)sqlite3_clear_bindings(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(db, rrc, what, err);
    return res;
}

custos_rc gw_sqstore_pending_usage(void *impl, const char *feed,
                                   const uint8_t creator[CUSTOS_ADDRESS_LEN],
                                   gw_pending_usage *out, custos_error *err)
{
    sq_store *s = impl;
    memset(out, 0, sizeof *out);
    if (!s->may_have_pending)
        return CUSTOS_OK;
    sqlite3_stmt *st = s->w[W_PENDING_FEED];
    custos_rc res = sq_bind_rc(s->wdb, sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC),
                               "pending usage", err);
    if (res == CUSTOS_OK)
        res = sq_count_sum(s->wdb, st, &out->feed_rows, &out->feed_bytes, "pending usage", err);
    st = s->w[W_PENDING_CREATOR];
    if (res == CUSTOS_OK)
        res = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, creator, CUSTOS_ADDRESS_LEN,
                                                   SQLITE_STATIC), "pending usage", err);
    if (res == CUSTOS_OK)
        res = sq_count_sum(s->wdb, st, &out->creator_rows, &out->creator_bytes,
                           "pending usage", err);
    return res;
}

custos_rc gw_sqstore_expire_pending(void *impl, uint64_t before, uint64_t *removed,
                                    custos_error *err)
{
    sq_store *s = impl;
    *removed = 0;
    if (!s->may_have_pending)
        return CUSTOS_OK;
    sqlite3_int64 cut = before > INT64_MAX ? INT64_MAX : (sqlite3_int64)before;
    /* Signers first: their delete finds the digests through the pending rows. */
    const enum sq_wstmt steps[2] = {W_EXPIRE_SIGNERS, W_EXPIRE_PENDING};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = s->w[steps[i]];
        int rc = sqlite3_bind_int64(st, 1, cut);
        custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "expire pending", err)
                                        : sq_fail(s->wdb, rc, "expire pending", err);
        (void)sqlite3_clear_bindings(st);
        if (out != CUSTOS_OK)
            return out;
    }
    int n = sqlite3_changes(s->wdb);
    *removed = n > 0 ? (uint64_t)n : 0;
    return CUSTOS_OK;
}

custos_rc gw_sqstore_pending_totals(void *impl, uint64_t *rows, uint64_t *bytes,
                                    custos_error *err)
{
    sq_store *s = impl;
    *rows = 0;
    *bytes = 0;
    pthread_mutex_lock(&s->rlock);
    custos_rc res = sq_count_sum(s->rdb, s->r[R_PENDING_TOTALS], rows, bytes, "pending totals",
                                 err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}
