/* The SQLite store's collateral notices (sqlite_store.h, rule 19), and their place in the
 * accepted log (schema step 17). */
#include "store/sqlite_store.h"

#include <stdint.h>
#include <string.h>

custos_rc gw_sqstore_put_notice(void *impl, const gw_store_notice *n, custos_error *err)
{
    sq_store *s = impl;
    if (n->accepted_at > INT64_MAX || n->cursor == 0 || n->cursor > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: notice time or cursor out of range");
    uint8_t body[GW_STORE_NOTICE_MAX], seq[8];
    size_t len = gw_store_notice_encode(n, body);
    gw_store_put_u64(seq, n->n.sequence);
    sqlite3_stmt *st = s->w[W_PUT_NOTICE];
    int rc = sqlite3_bind_blob(st, 1, n->n.account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, n->n.lender, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, sizeof seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, n->digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)n->accepted_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, body, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 7, (sqlite3_int64)n->cursor);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 8, n->chain_hash, CUSTOS_HASH_LEN, SQLITE_STATIC);
    custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put notice", err)
                                    : sq_fail(s->wdb, rc, "put notice", err);
    (void)sqlite3_clear_bindings(st);
    return out;
}

/* One row (body, cursor, chain_hash) into out; cursor and chain_hash are NULL for a notice
 * stored before step 17. */
static custos_rc sq_row_to_notice(sqlite3_stmt *st, gw_store_notice *out, custos_error *err)
{
    const uint8_t *body = sqlite3_column_blob(st, 0);
    int len = sqlite3_column_bytes(st, 0);
    custos_rc rc = body == NULL || len <= 0
                       ? custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: an empty notice")
                       : gw_store_notice_decode(body, (size_t)len, out, err);
    if (rc != CUSTOS_OK || sqlite3_column_type(st, 1) == SQLITE_NULL)
        return rc;
    sqlite3_int64 cursor = sqlite3_column_int64(st, 1);
    if (cursor <= 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: a notice at cursor %lld",
                                (long long)cursor);
    out->cursor = (uint64_t)cursor;
    return gw_sqstore_copy_blob(st, 2, out->chain_hash, CUSTOS_HASH_LEN, "notice chain_hash",
                                err);
}

/* Runs st (its parameters bound) and decodes up to max rows into out; resets st. Reader
 * lock held. */
static custos_rc sq_notice_rows(sq_store *s, sqlite3_stmt *st, int bind_rc, const char *what,
                                gw_store_notice *out, size_t max, size_t *n, custos_error *err)
{
    custos_rc res = CUSTOS_OK;
    int rc = bind_rc;
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, what, err);
    } else {
        while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = sq_row_to_notice(st, &out[*n], err);
            if (res != CUSTOS_OK)
                break;
            (*n)++;
        }
        if (res == CUSTOS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
            res = sq_fail(s->rdb, rc, what, err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, what, err);
    }
    (void)sqlite3_clear_bindings(st);
    if (res != CUSTOS_OK)
        *n = 0;
    return res;
}

custos_rc gw_sqstore_list_notices(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  const uint8_t *lender, gw_store_notice *out, size_t max,
                                  size_t *n, custos_error *err)
{
    sq_store *s = impl;
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    sqlite3_int64 limit = max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_NOTICES];
    int rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = lender != NULL ? sqlite3_bind_blob(st, 2, lender, CUSTOS_ADDRESS_LEN,
                                                SQLITE_TRANSIENT)
                            : sqlite3_bind_null(st, 2);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, limit);
    custos_rc res = sq_notice_rows(s, st, rc, "list notices", out, max, n, err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}

custos_rc gw_sqstore_read_notices_from(void *impl, uint64_t after, gw_store_notice *out,
                                       size_t max, size_t *n, custos_error *err)
{
    sq_store *s = impl;
    *n = 0;
    if (max == 0 || after > INT64_MAX)
        return CUSTOS_OK;
    sqlite3_int64 limit = max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_NOTICES_FROM];
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, limit);
    custos_rc res = sq_notice_rows(s, st, rc, "read notices from", out, max, n, err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}
