/* The SQLite store's audit log and reserves attestations (sqlite_store.h). */
#include "store/sqlite_store.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

custos_rc gw_sqstore_audit_head(void *impl, uint64_t *seq, uint8_t hash[CUSTOS_AUDIT_HASH_LEN],
                                custos_error *err)
{
    sq_store *s = impl;
    *seq = 0;
    memset(hash, 0, CUSTOS_AUDIT_HASH_LEN);
    sqlite3_stmt *st = s->w[W_AUDIT_HEAD];
    int rc = sqlite3_step(st);
    custos_rc out = CUSTOS_OK;
    if (rc == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        out = gw_sqstore_copy_blob(st, 1, hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
    } else if (rc != SQLITE_DONE) {
        out = sq_fail(s->wdb, rc, "audit head", err);
    }
    int rrc = sqlite3_reset(st);
    if (out == CUSTOS_OK && rrc != SQLITE_OK)
        out = sq_fail(s->wdb, rrc, "audit head", err);
    return out;
}

custos_rc gw_sqstore_append_audit(void *impl, const custos_audit_entry *e, custos_error *err)
{
    sq_store *s = impl;
    if (e->seq == 0 || e->seq > INT64_MAX || e->time > INT64_MAX || e->payload_len > INT_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: audit entry %llu cannot be stored",
                                (unsigned long long)e->seq);
    sqlite3_stmt *st = s->w[W_APPEND_AUDIT];
    /* A zero-length blob bound from NULL would be stored as NULL. */
    static const uint8_t empty[1];
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)e->seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)e->time);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, e->actor, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 4, e->action, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 5, e->payload_len > 0 ? e->payload : empty,
                               (int)e->payload_len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, e->prev_hash, CUSTOS_AUDIT_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, e->hash, CUSTOS_AUDIT_HASH_LEN, SQLITE_STATIC);
    custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "append audit", err)
                                    : sq_fail(s->wdb, rc, "append audit", err);
    (void)sqlite3_clear_bindings(st);
    return out;
}

/* Fills e from a row (seq, time, actor, action, payload, prev_hash, hash). */
static custos_rc sq_row_to_audit(sqlite3_stmt *st, custos_audit_entry *e, custos_error *err)
{
    memset(e, 0, sizeof *e);
    e->seq = (uint64_t)sqlite3_column_int64(st, 0);
    e->time = (uint64_t)sqlite3_column_int64(st, 1);
    const unsigned char *actor = sqlite3_column_text(st, 2);
    const unsigned char *action = sqlite3_column_text(st, 3);
    if (actor == NULL || action == NULL ||
        (size_t)sqlite3_column_bytes(st, 2) > CUSTOS_AUDIT_ACTOR_MAX ||
        (size_t)sqlite3_column_bytes(st, 3) > CUSTOS_AUDIT_ACTION_MAX)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: audit entry %llu has a bad actor or action",
                                (unsigned long long)e->seq);
    snprintf(e->actor, sizeof e->actor, "%s", (const char *)actor);
    snprintf(e->action, sizeof e->action, "%s", (const char *)action);
    custos_rc rc = gw_sqstore_copy_blob(st, 5, e->prev_hash, CUSTOS_AUDIT_HASH_LEN,
                                        "audit prev_hash", err);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_copy_blob(st, 6, e->hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t len = (size_t)sqlite3_column_bytes(st, 4);
    e->payload = malloc(len > 0 ? len : 1);
    if (e->payload == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    if (len > 0)
        memcpy(e->payload, sqlite3_column_blob(st, 4), len);
    e->payload_len = len;
    return CUSTOS_OK;
}

custos_rc gw_sqstore_read_audit(void *impl, uint64_t after, custos_audit_entry *out, size_t max,
                                size_t *n, custos_error *err)
{
    sq_store *s = impl;
    *n = 0;
    if (max == 0 || after > INT64_MAX)
        return CUSTOS_OK;
    sqlite3_int64 limit = max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_READ_AUDIT];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, limit);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "read audit", err);
    } else {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = sq_row_to_audit(st, &out[*n], err);
            if (res != CUSTOS_OK) {
                custos_audit_entry_clear(&out[*n]);
                break;
            }
            (*n)++;
        }
        if (res == CUSTOS_OK && rc != SQLITE_DONE)
            res = sq_fail(s->rdb, rc, "read audit", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, "read audit", err);
    }
    pthread_mutex_unlock(&s->rlock);
    if (res != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_audit_entry_clear(&out[i]);
        *n = 0;
    }
    return res;
}

custos_rc gw_sqstore_put_reserves(void *impl, const gw_store_reserves *res, custos_error *err)
{
    sq_store *s = impl;
    if (res->accepted_at > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: reserves time out of range");
    size_t len = 0;
    uint8_t *leaves = gw_store_reserves_encode(res, &len);
    if (leaves == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: reserves of feed %s with %llu accounts cannot be stored",
                                res->feed, (unsigned long long)res->r.accounts);
    uint8_t seq[8], as_of[8], total[32];
    gw_store_put_u64(seq, res->r.sequence);
    gw_store_put_u64(as_of, res->r.as_of);
    custos_u256_to_be(&res->r.total_collateral, total);
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    size_t sigs_len = gw_store_reserves_sigs_encode(res, sigs);
    sqlite3_stmt *st = s->w[W_PUT_RESERVES];
    int rc = sqlite3_bind_text(st, 1, res->feed, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, seq, sizeof seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, res->digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, total, sizeof total, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)res->r.accounts);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, res->r.sum_root, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, as_of, sizeof as_of, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 8, res->signer, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 9, res->sig.bytes, CUSTOS_SIGNATURE_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 10, (sqlite3_int64)res->accepted_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 11, leaves, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 12, sigs, (int)sigs_len, SQLITE_STATIC);
    custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put reserves", err)
                                    : sq_fail(s->wdb, rc, "put reserves", err);
    (void)sqlite3_clear_bindings(st);
    free(leaves);
    return out;
}

/* Fills out (its feed already set) from an R_RESERVES row. */
static custos_rc sq_row_to_reserves(sqlite3_stmt *st, gw_store_reserves *out, custos_error *err)
{
    uint8_t seq[8], as_of[8], total[32];
    custos_rc rc = gw_sqstore_copy_blob(st, 0, seq, sizeof seq, "reserves sequence", err);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_copy_blob(st, 1, out->digest, CUSTOS_HASH_LEN, "reserves digest", err);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_copy_blob(st, 2, total, sizeof total, "reserves total", err);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_copy_blob(st, 4, out->r.sum_root, CUSTOS_HASH_LEN, "reserves root",
                                  err);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_copy_blob(st, 5, as_of, sizeof as_of, "reserves asOf", err);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_copy_blob(st, 6, out->signer, CUSTOS_ADDRESS_LEN, "reserves signer", err);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_copy_blob(st, 7, out->sig.bytes, CUSTOS_SIGNATURE_LEN, "reserves signature",
                                  err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_feed_id(out->feed, out->r.feed_id);
    out->r.sequence = gw_store_get_be(seq, 8);
    out->r.as_of = gw_store_get_be(as_of, 8);
    custos_u256_from_be(&out->r.total_collateral, total);
    out->r.accounts = (uint64_t)sqlite3_column_int64(st, 3);
    out->accepted_at = (uint64_t)sqlite3_column_int64(st, 8);
    rc = gw_store_reserves_sigs_decode(out, sqlite3_column_blob(st, 10),
                                       (size_t)sqlite3_column_bytes(st, 10), err);
    if (rc != CUSTOS_OK)
        return rc;
    const uint8_t *leaves = sqlite3_column_blob(st, 9);
    int len = sqlite3_column_bytes(st, 9);
    if (leaves == NULL || len <= 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: reserves without leaves");
    return gw_store_reserves_decode(out, leaves, (size_t)len, err);
}

custos_rc gw_sqstore_get_reserves(void *impl, const char *feed, gw_store_reserves *out,
                                  custos_error *err)
{
    sq_store *s = impl;
    memset(out, 0, sizeof *out);
    if (strlen(feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no reserves for this feed");
    strcpy(out->feed, feed);
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_RESERVES];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_bind_text(st, 1, feed, -1, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "get reserves", err);
    } else {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            res = sq_row_to_reserves(st, out, err);
        else if (rc == SQLITE_DONE)
            res = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                   "no reserves attestation for feed %s", feed);
        else
            res = sq_fail(s->rdb, rc, "get reserves", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, "get reserves", err);
    }
    (void)sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->rlock);
    if (res != CUSTOS_OK)
        gw_store_reserves_clear(out);
    return res;
}
