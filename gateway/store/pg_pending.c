/* The PostgreSQL store's pending and held records (pg_store.h): submissions short of
 * their quorum with the signatures collected so far, and rises the circuit breaker holds
 * (rule 6). */
#include "store/pg_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

custos_rc gw_pgstore_get_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 custos_submission *sub, custos_error *err)
{
    pg_store *s = impl;
    memset(sub, 0, sizeof *sub);
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->w, W_GET_PENDING, &p, "get pending", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1 ? pg_column_submission(res, 0, 0, sub, err)
                                       : CUSTOS_ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_list_pending_signers(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                          gw_store_signer_fn fn, void *ctx, custos_error *err)
{
    pg_store *s = impl;
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->w, W_LIST_SIGNERS, &p, "list signers", &res, err);
    for (int row = 0; rc == CUSTOS_OK && row < PQntuples(res); row++) {
        gw_store_signer sg;
        memset(&sg, 0, sizeof sg);
        uint64_t role = 0;
        rc = gw_pgstore_get_blob(res, row, 0, sg.address, CUSTOS_ADDRESS_LEN, "signer", err);
        if (rc == CUSTOS_OK)
            rc = gw_pgstore_get_blob(res, row, 2, sg.sig.bytes, CUSTOS_SIGNATURE_LEN, "signature",
                                     err);
        if (rc == CUSTOS_OK)
            rc = gw_pgstore_get_uint(res, row, 1, &role, "role", err);
        if (rc == CUSTOS_OK && role >= GW_ROLE_COUNT)
            rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad role %llu",
                                  (unsigned long long)role);
        if (rc != CUSTOS_OK)
            break;
        sg.role = (gw_role)role;
        rc = fn(ctx, &sg, err);
    }
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_put_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 const custos_submission *sub, uint64_t first_seen,
                                 const uint8_t creator[CUSTOS_ADDRESS_LEN], uint64_t bytes,
                                 custos_error *err)
{
    pg_store *s = impl;
    if (first_seen > INT64_MAX || bytes > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "store: pending row out of range");
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc rc = gw_store_encode_submission(sub, &blob, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t seq[8], seen[8], size[8];
    gw_store_put_u64(seq, sub->att.sequence);
    gw_store_put_u64(seen, first_seen);
    gw_store_put_u64(size, bytes);
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    pg_param(&p, sub->att.account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, blob, len);
    pg_param(&p, seen, sizeof seen);
    pg_param(&p, sub->feed, strlen(sub->feed));
    pg_param(&p, creator, CUSTOS_ADDRESS_LEN);
    pg_param(&p, size, sizeof size);
    rc = gw_pgstore_run(&s->w, W_PUT_PENDING, &p, "put pending", NULL, err);
    free(blob);
    return rc;
}

custos_rc gw_pgstore_put_pending_signer(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                        const gw_store_signer *sg, custos_error *err)
{
    pg_store *s = impl;
    uint8_t role[4] = {0, 0, 0, (uint8_t)sg->role};
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    pg_param(&p, sg->address, CUSTOS_ADDRESS_LEN);
    pg_param(&p, role, sizeof role);
    pg_param(&p, sg->sig.bytes, CUSTOS_SIGNATURE_LEN);
    return gw_pgstore_run(&s->w, W_PUT_SIGNER, &p, "put pending signer", NULL, err);
}

custos_rc gw_pgstore_put_held(void *impl, const custos_record *rec, custos_error *err)
{
    pg_store *s = impl;
    if (rec->accepted_at > INT64_MAX || !gw_pgstore_record_signers_ok(rec))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: held record with %zu signers for %zu signatures "
                                "cannot be stored", rec->n_signers, rec->sub.n_sigs);
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc rc = gw_store_encode_submission(&rec->sub, &blob, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    for (size_t i = 0; i < rec->n_signers; i++)
        memcpy(signers + i * CUSTOS_ADDRESS_LEN, rec->signers[i], CUSTOS_ADDRESS_LEN);
    uint8_t seq[8], at[8];
    gw_store_put_u64(seq, rec->sub.att.sequence);
    gw_store_put_u64(at, rec->accepted_at);
    const uint8_t *account = rec->sub.att.account;

    pg_params p = {.n = 0};
    pg_param(&p, rec->digest, CUSTOS_HASH_LEN);
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, at, sizeof at);
    pg_param(&p, blob, len);
    pg_param(&p, signers, rec->sub.n_sigs * CUSTOS_ADDRESS_LEN);
    /* NULL: signed alone. */
    pg_param(&p, rec->batched ? rec->batch.digest : NULL, rec->batched ? CUSTOS_HASH_LEN : 0);
    rc = gw_pgstore_run(&s->w, W_PUT_HELD, &p, "put held", NULL, err);
    free(blob);
    if (rc != CUSTOS_OK)
        return rc;

    /* The held rise consumes its sequence (rule 4) but leaves the latest record as it is. */
    p.n = 0;
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    PGresult *res = NULL;
    rc = gw_pgstore_run(&s->w, W_HOLD_SEQUENCE, &p, "hold sequence", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    bool updated = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!updated)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: a held record needs an account with a published one");
    rc = gw_pgstore_run(&s->w, W_PRUNE_SIGNERS, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->w, W_PRUNE_PENDING, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->w, W_SUPERSEDE_HELD, &p, "supersede held", NULL, err);
    return rc;
}

/* The held record of digest through one session's statements (the writer's or the
 * reader's): the held row, then its batch. */
static custos_rc pg_get_held(pg_conn *ses, int get, int batch,
                             const uint8_t digest[CUSTOS_HASH_LEN], custos_record *out,
                             bool *superseded, custos_error *err)
{
    memset(out, 0, sizeof *out);
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(ses, get, &p, "get held", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = CUSTOS_ERR_NOT_FOUND;
    if (PQntuples(res) == 1) {
        uint64_t flag = 0;
        rc = gw_pgstore_get_uint(res, 0, 7, &flag, "superseded", err);
        if (rc == CUSTOS_OK)
            rc = gw_pgstore_row_to_record(res, 0, out, err);
        if (rc == CUSTOS_OK) {
            out->state = CUSTOS_STATE_HELD;
            *superseded = flag != 0;
        }
    }
    PQclear(res);
    if (rc == CUSTOS_OK) {
        rc = gw_pgstore_fill_batches(ses, batch, out, 1, err);
        if (rc != CUSTOS_OK)
            custos_record_clear(out);
    }
    return rc;
}

custos_rc gw_pgstore_get_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                              custos_record *out, bool *superseded, custos_error *err)
{
    pg_store *s = impl;
    return pg_get_held(&s->w, W_GET_HELD, W_BATCH, digest, out, superseded, err);
}

custos_rc gw_pgstore_read_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_record *out, bool *superseded, custos_error *err)
{
    pg_store *s = impl;
    pthread_mutex_lock(&s->rlock);
    custos_rc rc = gw_pgstore_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = pg_get_held(&s->r, R_GET_HELD, R_BATCH, digest, out, superseded, err);
    else
        memset(out, 0, sizeof *out);
    pthread_mutex_unlock(&s->rlock);
    return rc;
}

custos_rc gw_pgstore_drop_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_error *err)
{
    pg_store *s = impl;
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    return gw_pgstore_run(&s->w, W_DROP_HELD, &p, "drop held", NULL, err);
}

custos_rc gw_pgstore_list_held(void *impl, const uint8_t *account, const gw_held_key *after,
                               custos_record *out, size_t max, size_t *n, custos_error *err)
{
    pg_store *s = impl;
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    uint8_t limit[8];
    gw_store_put_u64(limit, max > INT32_MAX ? INT32_MAX : max);
    pg_params p = {.n = 0};
    pg_param(&p, account, account != NULL ? CUSTOS_HASH_LEN : 0); /* NULL value: SQL NULL */
    pg_param(&p, limit, sizeof limit);
    uint8_t held_at[8];
    if (after != NULL)
        gw_store_put_u64(held_at, after->held_at);
    pg_param(&p, after != NULL ? held_at : NULL, after != NULL ? sizeof held_at : 0);
    pg_param(&p, after != NULL ? after->digest : NULL, after != NULL ? CUSTOS_HASH_LEN : 0);
    return gw_pgstore_read_records(s, R_LIST_HELD, &p, "list held", CUSTOS_STATE_HELD, out,
                                   max, n, err);
}

custos_rc gw_pgstore_count_held(void *impl, uint64_t *count, custos_error *err)
{
    pg_store *s = impl;
    *count = 0;
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_read(s, R_COUNT_HELD, NULL, "count held", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1 ? gw_pgstore_get_uint(res, 0, 0, count, "held count", err)
                             : custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: no held count");
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_pending_summary(void *impl, uint64_t *count, uint64_t *oldest,
                                     custos_error *err)
{
    pg_store *s = impl;
    *count = 0;
    *oldest = 0;
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_read(s, R_PENDING_SUMMARY, NULL, "pending summary", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1
             ? gw_pgstore_get_uint(res, 0, 0, count, "pending count", err)
             : custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: no pending summary");
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, 0, 1, oldest, "oldest pending", err);
    PQclear(res);
    return rc;
}

/* One row (count, sum) of res into rows and bytes. */
static custos_rc pg_count_sum(const PGresult *res, uint64_t *rows, uint64_t *bytes,
                              custos_error *err)
{
    if (PQntuples(res) != 1)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: no pending count");
    custos_rc rc = gw_pgstore_get_uint(res, 0, 0, rows, "pending rows", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, 0, 1, bytes, "pending bytes", err);
    return rc;
}

custos_rc gw_pgstore_pending_usage(void *impl, const char *feed,
                                   const uint8_t creator[CUSTOS_ADDRESS_LEN],
                                   gw_pending_usage *out, custos_error *err)
{
    pg_store *s = impl;
    memset(out, 0, sizeof *out);
    pg_params p = {.n = 0};
    pg_param(&p, feed, strlen(feed));
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->w, W_PENDING_FEED, &p, "pending usage", &res, err);
    if (rc == CUSTOS_OK)
        rc = pg_count_sum(res, &out->feed_rows, &out->feed_bytes, err);
    PQclear(res);
    res = NULL;
    if (rc != CUSTOS_OK)
        return rc;
    pg_params q = {.n = 0};
    pg_param(&q, creator, CUSTOS_ADDRESS_LEN);
    rc = gw_pgstore_run(&s->w, W_PENDING_CREATOR, &q, "pending usage", &res, err);
    if (rc == CUSTOS_OK)
        rc = pg_count_sum(res, &out->creator_rows, &out->creator_bytes, err);
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_expire_pending(void *impl, uint64_t before, uint64_t *removed,
                                    custos_error *err)
{
    pg_store *s = impl;
    *removed = 0;
    uint8_t cut[8];
    gw_store_put_u64(cut, before > INT64_MAX ? INT64_MAX : before);
    pg_params p = {.n = 0};
    pg_param(&p, cut, sizeof cut);
    /* Signers first: their delete finds the digests through the pending rows. */
    custos_rc rc = gw_pgstore_run(&s->w, W_EXPIRE_SIGNERS, &p, "expire pending", NULL, err);
    PGresult *res = NULL;
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->w, W_EXPIRE_PENDING, &p, "expire pending", &res, err);
    if (rc == CUSTOS_OK)
        *removed = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_pending_totals(void *impl, uint64_t *rows, uint64_t *bytes,
                                    custos_error *err)
{
    pg_store *s = impl;
    *rows = 0;
    *bytes = 0;
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_read(s, R_PENDING_TOTALS, NULL, "pending totals", &res, err);
    if (rc == CUSTOS_OK)
        rc = pg_count_sum(res, rows, bytes, err);
    PQclear(res);
    return rc;
}
