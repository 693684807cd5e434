/* The PostgreSQL store's accepted log and accounts (pg_store.h): the head, each account's
 * latest record and pledge, appending accepted records, and reading them back. */
#include "store/pg_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

custos_rc gw_pgstore_row_to_record(const PGresult *res, int row, custos_record *rec,
                                   custos_error *err)
{
    memset(rec, 0, sizeof *rec);
    rec->state = CUSTOS_STATE_ACCEPTED;
    custos_rc rc = gw_pgstore_get_uint(res, row, 0, &rec->cursor, "cursor", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, row, 1, rec->digest, CUSTOS_HASH_LEN, "digest", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, row, 2, &rec->accepted_at, "accepted_at", err);
    if (rc == CUSTOS_OK)
        rc = pg_column_submission(res, row, 3, &rec->sub, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t bytes = (size_t)PQgetlength(res, row, 4);
    /* Batched: no signature of its own, its batch's signers come with the batch. */
    rec->batched = !PQgetisnull(res, row, 6);
    if (rec->batched) {
        rc = rec->sub.n_sigs == 0 && bytes == 0
                 ? gw_pgstore_get_blob(res, row, 6, rec->batch.digest, CUSTOS_HASH_LEN,
                                       "batch_digest", err)
                 : custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "store: batched record %llu has signatures of its own",
                                    (unsigned long long)rec->cursor);
        if (rc != CUSTOS_OK) {
            custos_submission_clear(&rec->sub);
            return rc;
        }
    } else if (PQgetisnull(res, row, 4) || bytes != rec->sub.n_sigs * CUSTOS_ADDRESS_LEN) {
        custos_submission_clear(&rec->sub);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: record %llu has %zu signer bytes for %zu signatures",
                                (unsigned long long)rec->cursor, bytes, rec->sub.n_sigs);
    }
    const char *signers = PQgetvalue(res, row, 4);
    for (size_t i = 0; i < rec->sub.n_sigs; i++)
        memcpy(rec->signers[i], signers + i * CUSTOS_ADDRESS_LEN, CUSTOS_ADDRESS_LEN);
    rec->n_signers = rec->sub.n_sigs;
    /* NULL: accepted before the chain existed, not yet filled in. */
    if (!PQgetisnull(res, row, 5)) {
        rc = gw_pgstore_get_blob(res, row, 5, rec->chain_hash, CUSTOS_HASH_LEN, "chain_hash", err);
        if (rc != CUSTOS_OK) {
            custos_submission_clear(&rec->sub);
            return rc;
        }
    }
    return CUSTOS_OK;
}

/* The one number write statement stmt answers. */
static custos_rc pg_head_of(pg_store *s, int stmt, const char *what, uint64_t *cursor,
                            custos_error *err)
{
    custos_rc rc = gw_pgstore_ready(&s->w, err);
    if (rc != CUSTOS_OK)
        return rc;
    PGresult *res = NULL;
    rc = gw_pgstore_run(&s->w, stmt, NULL, what, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1
             ? gw_pgstore_get_uint(res, 0, 0, cursor, what, err)
             : custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: %s: no row", what);
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_head(void *impl, uint64_t *cursor, custos_error *err)
{
    return pg_head_of(impl, W_HEAD, "head", cursor, err);
}

custos_rc gw_pgstore_record_head(void *impl, uint64_t *cursor, custos_error *err)
{
    return pg_head_of(impl, W_RECORD_HEAD, "record head", cursor, err);
}

/* Fills a from a row (account, feed, last_sequence, last_cursor). */
static custos_rc pg_row_to_account(const PGresult *res, int row, gw_store_account *a,
                                   custos_error *err)
{
    memset(a, 0, sizeof *a);
    uint8_t seq[8];
    custos_rc rc = gw_pgstore_get_blob(res, row, 0, a->account, CUSTOS_HASH_LEN, "account", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, row, 2, seq, sizeof seq, "last_sequence", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, row, 3, &a->last_cursor, "last_cursor", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, row, 4, a->beneficiary, CUSTOS_ADDRESS_LEN, "beneficiary",
                                 err);
    int flen = PQgetlength(res, row, 1);
    if (rc == CUSTOS_OK && (PQgetisnull(res, row, 1) || flen > CUSTOS_FEED_MAX ||
                            memchr(PQgetvalue(res, row, 1), '\0', (size_t)flen) != NULL))
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad feed in accounts");
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(a->feed, PQgetvalue(res, row, 1), (size_t)flen);
    a->last_sequence = gw_store_get_be(seq, 8);
    return CUSTOS_OK;
}

custos_rc gw_pgstore_load_accounts(void *impl, gw_store_account_fn fn, void *ctx,
                                   custos_error *err)
{
    pg_store *s = impl;
    custos_rc rc = gw_pgstore_ready(&s->w, err);
    if (rc != CUSTOS_OK)
        return rc;
    PGresult *res = NULL;
    rc = gw_pgstore_run(&s->w, W_ACCOUNTS, NULL, "load accounts", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    for (int row = 0; rc == CUSTOS_OK && row < PQntuples(res); row++) {
        gw_store_account a;
        rc = pg_row_to_account(res, row, &a, err);
        if (rc == CUSTOS_OK)
            rc = fn(ctx, &a, err);
    }
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_get_account(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                 gw_store_account *out, custos_error *err)
{
    pg_store *s = impl;
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->w, W_ACCOUNT, &p, "read account", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1 ? pg_row_to_account(res, 0, out, err) : CUSTOS_ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_find_accepted(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                   uint64_t sequence, const uint8_t digest[CUSTOS_HASH_LEN],
                                   uint64_t *cursor, uint32_t *n_signers, custos_error *err)
{
    pg_store *s = impl;
    uint8_t seq[8];
    gw_store_put_u64(seq, sequence);
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    uint8_t window[8];
    gw_store_put_u64(window, GW_STORE_RETRY_WINDOW);
    pg_param(&p, window, sizeof window);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_run(&s->w, W_FIND_ACCEPTED, &p, "find accepted", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = CUSTOS_ERR_NOT_FOUND;
    uint64_t bytes = 0;
    if (PQntuples(res) == 1) {
        rc = gw_pgstore_get_uint(res, 0, 0, cursor, "cursor", err);
        if (rc == CUSTOS_OK)
            rc = gw_pgstore_get_uint(res, 0, 1, &bytes, "signers", err);
        if (rc == CUSTOS_OK)
            *n_signers = (uint32_t)(bytes / CUSTOS_ADDRESS_LEN);
    }
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_put_accepted(void *impl, const custos_record *rec,
                                  const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    pg_store *s = impl;
    if (rec->cursor == 0 || rec->cursor > INT64_MAX || rec->accepted_at > INT64_MAX ||
        !gw_pgstore_record_signers_ok(rec))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: record with cursor %llu and %zu signers for %zu "
                                "signatures cannot be stored",
                                (unsigned long long)rec->cursor, rec->n_signers,
                                rec->sub.n_sigs);
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc rc = gw_store_encode_submission(&rec->sub, &blob, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    for (size_t i = 0; i < rec->n_signers; i++)
        memcpy(signers + i * CUSTOS_ADDRESS_LEN, rec->signers[i], CUSTOS_ADDRESS_LEN);
    uint8_t cursor[8], seq[8], at[8];
    gw_store_put_u64(cursor, rec->cursor);
    gw_store_put_u64(seq, rec->sub.att.sequence);
    gw_store_put_u64(at, rec->accepted_at);
    const uint8_t *account = rec->sub.att.account;

    pg_params p = {.n = 0};
    pg_param(&p, cursor, sizeof cursor);
    pg_param(&p, rec->digest, CUSTOS_HASH_LEN);
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, at, sizeof at);
    pg_param(&p, blob, len);
    pg_param(&p, signers, rec->sub.n_sigs * CUSTOS_ADDRESS_LEN);
    pg_param(&p, rec->chain_hash, CUSTOS_HASH_LEN);
    /* NULL: signed alone. */
    pg_param(&p, rec->batched ? rec->batch.digest : NULL, rec->batched ? CUSTOS_HASH_LEN : 0);
    rc = gw_pgstore_run(&s->w, W_PUT_ACCEPTED, &p, "put accepted", NULL, err);
    free(blob);
    if (rc != CUSTOS_OK)
        return rc;

    p.n = 0;
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, rec->sub.feed, strlen(rec->sub.feed));
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, cursor, sizeof cursor);
    pg_param(&p, beneficiary, CUSTOS_ADDRESS_LEN);
    rc = gw_pgstore_run(&s->w, W_PUT_ACCOUNT, &p, "put account", NULL, err);

    /* Signers first: their delete finds the digests through the pending rows. */
    p.n = 0;
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->w, W_PRUNE_SIGNERS, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->w, W_PRUNE_PENDING, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->w, W_SUPERSEDE_HELD, &p, "supersede held", NULL, err);
    return rc;
}

custos_rc gw_pgstore_set_chain_hash(void *impl, uint64_t cursor,
                                    const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    pg_store *s = impl;
    if (cursor == 0 || cursor > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: no record has cursor %llu",
                                (unsigned long long)cursor);
    uint8_t c[8];
    gw_store_put_u64(c, cursor);
    pg_params p = {.n = 0};
    pg_param(&p, c, sizeof c);
    pg_param(&p, hash, CUSTOS_HASH_LEN);
    return gw_pgstore_run(&s->w, W_SET_CHAIN, &p, "set chain hash", NULL, err);
}

custos_rc gw_pgstore_get_latest(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                custos_record *out, custos_error *err)
{
    pg_store *s = impl;
    memset(out, 0, sizeof *out);
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->r, R_LATEST, &p, "get latest", &res, err);
    if (rc == CUSTOS_OK) {
        if (PQntuples(res) == 1)
            rc = gw_pgstore_row_to_record(res, 0, out, err);
        else
            rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                  "no accepted attestation for this account");
        PQclear(res);
        if (rc == CUSTOS_OK) {
            rc = gw_pgstore_fill_batches(&s->r, R_BATCH, out, 1, err);
            if (rc != CUSTOS_OK)
                custos_record_clear(out);
        }
    }
    pthread_mutex_unlock(&s->rlock);
    return rc;
}

/* Rows read per step: an account's latest record is nearly always a valuation, and only a
 * run of freezes and releases makes the search go further back. */
#define PG_VALUATION_PAGE 32

custos_rc gw_pgstore_latest_valuation(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                      custos_u256 *value, custos_error *err)
{
    pg_store *s = impl;
    uint8_t limit[8], below[8] = {0};
    gw_store_put_u64(limit, PG_VALUATION_PAGE);
    bool has_below = false, found = false, more = true;
    custos_rc rc = CUSTOS_OK;
    while (rc == CUSTOS_OK && !found && more) {
        pg_params p = {.n = 0};
        pg_param(&p, account, CUSTOS_HASH_LEN);
        pg_param(&p, has_below ? below : NULL, has_below ? sizeof below : 0); /* NULL: SQL NULL */
        pg_param(&p, limit, sizeof limit);
        PGresult *res = NULL;
        rc = gw_pgstore_read(s, R_VALUATIONS, &p, "latest valuation", &res, err);
        if (rc != CUSTOS_OK)
            break;
        int rows = PQntuples(res);
        for (int row = 0; rc == CUSTOS_OK && !found && row < rows; row++) {
            custos_submission sub;
            rc = gw_pgstore_get_blob(res, row, 0, below, sizeof below, "sequence", err);
            if (rc == CUSTOS_OK)
                rc = pg_column_submission(res, row, 1, &sub, err);
            if (rc != CUSTOS_OK)
                break;
            has_below = true;
            if (sub.att.kind == CUSTOS_KIND_VALUATION) {
                found = true;
                *value = sub.att.collateral_value;
            }
            custos_submission_clear(&sub);
        }
        more = rows == PG_VALUATION_PAGE;
        PQclear(res);
    }
    if (rc == CUSTOS_OK && !found)
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no accepted valuation for this account");
    return rc;
}

custos_rc gw_pgstore_read_records(pg_store *s, int i, const pg_params *p, const char *what,
                                  custos_state state, custos_record *out, size_t max,
                                  size_t *n, custos_error *err)
{
    *n = 0;
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->r, i, p, what, &res, err);
    int rows = rc == CUSTOS_OK ? PQntuples(res) : 0;
    for (int row = 0; rc == CUSTOS_OK && row < rows && (size_t)row < max; row++) {
        rc = gw_pgstore_row_to_record(res, row, &out[*n], err);
        if (rc == CUSTOS_OK && state != CUSTOS_STATE_UNSPECIFIED)
            out[*n].state = state;
        if (rc == CUSTOS_OK)
            (*n)++;
    }
    PQclear(res);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_fill_batches(&s->r, R_BATCH, out, *n, err);
    pthread_mutex_unlock(&s->rlock);
    if (rc != CUSTOS_OK) {
        for (size_t k = 0; k < *n; k++)
            custos_record_clear(&out[k]);
        *n = 0;
    }
    return rc;
}

custos_rc gw_pgstore_read_from(void *impl, uint64_t after, custos_record *out, size_t max,
                               size_t *n, custos_error *err)
{
    pg_store *s = impl;
    *n = 0;
    uint8_t from[8], limit[8];
    pg_params p;
    if (!pg_page_params(&p, from, limit, after, max))
        return CUSTOS_OK;
    return gw_pgstore_read_records(s, R_READ_FROM, &p, "read from", CUSTOS_STATE_UNSPECIFIED,
                                   out, max, n, err);
}
