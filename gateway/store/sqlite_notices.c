/* The SQLite store's collateral notices (sqlite_store.h, rule 19). */
#include "store/sqlite_store.h"

#include <stdint.h>
#include <string.h>

custos_rc gw_sqstore_put_notice(void *impl, const gw_store_notice *n, custos_error *err)
{
    sq_store *s = impl;
    if (n->accepted_at > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: notice time out of range");
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
    custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put notice", err)
                                    : sq_fail(s->wdb, rc, "put notice", err);
    (void)sqlite3_clear_bindings(st);
    return out;
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
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = lender != NULL ? sqlite3_bind_blob(st, 2, lender, CUSTOS_ADDRESS_LEN,
                                                SQLITE_TRANSIENT)
                            : sqlite3_bind_null(st, 2);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, limit);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "list notices", err);
    } else {
        while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const uint8_t *body = sqlite3_column_blob(st, 0);
            int len = sqlite3_column_bytes(st, 0);
            res = body == NULL || len <= 0
                      ? custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: an empty notice")
                      : gw_store_notice_decode(body, (size_t)len, &out[*n], err);
            if (res != CUSTOS_OK)
                break;
            (*n)++;
        }
        if (res == CUSTOS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
            res = sq_fail(s->rdb, rc, "list notices", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, "list notices", err);
    }
    (void)sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->rlock);
    if (res != CUSTOS_OK)
        *n = 0;
    return res;
}
