/* The PostgreSQL store's audit log and reserves attestations (pg_store.h). */
#include "store/pg_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

custos_rc gw_pgstore_audit_head(void *impl, uint64_t *seq, uint8_t hash[CUSTOS_AUDIT_HASH_LEN],
                                custos_error *err)
{
    pg_store *s = impl;
    *seq = 0;
    memset(hash, 0, CUSTOS_AUDIT_HASH_LEN);
    custos_rc rc = gw_pgstore_ready(&s->w, err);
    if (rc != CUSTOS_OK)
        return rc;
    PGresult *res = NULL;
    rc = gw_pgstore_run(&s->w, W_AUDIT_HEAD, NULL, "audit head", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (PQntuples(res) == 1) {
        rc = gw_pgstore_get_uint(res, 0, 0, seq, "audit seq", err);
        if (rc == CUSTOS_OK)
            rc = gw_pgstore_get_blob(res, 0, 1, hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
    }
    PQclear(res);
    return rc;
}

custos_rc gw_pgstore_append_audit(void *impl, const custos_audit_entry *e, custos_error *err)
{
    pg_store *s = impl;
    if (e->seq == 0 || e->seq > INT64_MAX || e->time > INT64_MAX || e->payload_len > INT_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: audit entry %llu cannot be stored",
                                (unsigned long long)e->seq);
    uint8_t seq[8], time[8];
    gw_store_put_u64(seq, e->seq);
    gw_store_put_u64(time, e->time);
    pg_params p = {.n = 0};
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, time, sizeof time);
    pg_param(&p, e->actor, strlen(e->actor));
    pg_param(&p, e->action, strlen(e->action));
    pg_param(&p, e->payload_len > 0 ? (const void *)e->payload : "", e->payload_len);
    pg_param(&p, e->prev_hash, CUSTOS_AUDIT_HASH_LEN);
    pg_param(&p, e->hash, CUSTOS_AUDIT_HASH_LEN);
    return gw_pgstore_run(&s->w, W_APPEND_AUDIT, &p, "append audit", NULL, err);
}

/* Fills e from a row (seq, time, actor, action, payload, prev_hash, hash). */
static custos_rc pg_row_to_audit(const PGresult *res, int row, custos_audit_entry *e,
                                 custos_error *err)
{
    memset(e, 0, sizeof *e);
    custos_rc rc = gw_pgstore_get_uint(res, row, 0, &e->seq, "audit seq", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, row, 1, &e->time, "audit time", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, row, 5, e->prev_hash, CUSTOS_AUDIT_HASH_LEN,
                                 "audit prev_hash", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, row, 6, e->hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t actor = (size_t)PQgetlength(res, row, 2), action = (size_t)PQgetlength(res, row, 3);
    if (actor > CUSTOS_AUDIT_ACTOR_MAX || action > CUSTOS_AUDIT_ACTION_MAX)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: audit entry %llu has a bad actor or action",
                                (unsigned long long)e->seq);
    memcpy(e->actor, PQgetvalue(res, row, 2), actor);
    memcpy(e->action, PQgetvalue(res, row, 3), action);
    size_t len = (size_t)PQgetlength(res, row, 4);
    e->payload = malloc(len > 0 ? len : 1);
    if (e->payload == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    if (len > 0)
        memcpy(e->payload, PQgetvalue(res, row, 4), len);
    e->payload_len = len;
    return CUSTOS_OK;
}

custos_rc gw_pgstore_read_audit(void *impl, uint64_t after, custos_audit_entry *out, size_t max,
                                size_t *n, custos_error *err)
{
    pg_store *s = impl;
    *n = 0;
    uint8_t from[8], limit[8];
    pg_params p;
    if (!pg_page_params(&p, from, limit, after, max))
        return CUSTOS_OK;
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_read(s, R_READ_AUDIT, &p, "read audit", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    int rows = PQntuples(res);
    for (int row = 0; rc == CUSTOS_OK && row < rows && (size_t)row < max; row++) {
        rc = pg_row_to_audit(res, row, &out[*n], err);
        if (rc == CUSTOS_OK)
            (*n)++;
        else
            custos_audit_entry_clear(&out[*n]);
    }
    PQclear(res);
    if (rc != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_audit_entry_clear(&out[i]);
        *n = 0;
    }
    return rc;
}

custos_rc gw_pgstore_put_reserves(void *impl, const gw_store_reserves *res, custos_error *err)
{
    pg_store *s = impl;
    if (res->accepted_at > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: reserves time out of range");
    size_t len = 0;
    uint8_t *leaves = gw_store_reserves_encode(res, &len);
    if (leaves == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: reserves of feed %s with %llu accounts cannot be stored",
                                res->feed, (unsigned long long)res->r.accounts);
    uint8_t seq[8], as_of[8], total[32], accounts[8], at[8];
    gw_store_put_u64(seq, res->r.sequence);
    gw_store_put_u64(as_of, res->r.as_of);
    gw_store_put_u64(accounts, res->r.accounts);
    gw_store_put_u64(at, res->accepted_at);
    custos_u256_to_be(&res->r.total_collateral, total);
    pg_params p = {.n = 0};
    pg_param(&p, res->feed, strlen(res->feed));
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, res->digest, CUSTOS_HASH_LEN);
    pg_param(&p, total, sizeof total);
    pg_param(&p, accounts, sizeof accounts);
    pg_param(&p, res->r.sum_root, CUSTOS_HASH_LEN);
    pg_param(&p, as_of, sizeof as_of);
    pg_param(&p, res->signer, CUSTOS_ADDRESS_LEN);
    pg_param(&p, res->sig.bytes, CUSTOS_SIGNATURE_LEN);
    pg_param(&p, at, sizeof at);
    pg_param(&p, leaves, len);
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    pg_param(&p, sigs, gw_store_reserves_sigs_encode(res, sigs));
    custos_rc rc = gw_pgstore_run(&s->w, W_PUT_RESERVES, &p, "put reserves", NULL, err);
    free(leaves);
    return rc;
}

static custos_rc pg_row_to_reserves(const PGresult *res, gw_store_reserves *out,
                                    custos_error *err)
{
    uint8_t seq[8], as_of[8], total[32];
    custos_rc rc = gw_pgstore_get_blob(res, 0, 0, seq, sizeof seq, "reserves sequence", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, 0, 1, out->digest, CUSTOS_HASH_LEN, "reserves digest", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, 0, 2, total, sizeof total, "reserves total", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, 0, 3, &out->r.accounts, "reserves accounts", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, 0, 4, out->r.sum_root, CUSTOS_HASH_LEN, "reserves root",
                                 err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, 0, 5, as_of, sizeof as_of, "reserves asOf", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, 0, 6, out->signer, CUSTOS_ADDRESS_LEN, "reserves signer",
                                 err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, 0, 7, out->sig.bytes, CUSTOS_SIGNATURE_LEN,
                                 "reserves signature",
                                 err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_uint(res, 0, 8, &out->accepted_at, "reserves accepted_at", err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_feed_id(out->feed, out->r.feed_id);
    out->r.sequence = gw_store_get_be(seq, 8);
    out->r.as_of = gw_store_get_be(as_of, 8);
    custos_u256_from_be(&out->r.total_collateral, total);
    rc = gw_store_reserves_sigs_decode(out, (const uint8_t *)PQgetvalue(res, 0, 10),
                                       (size_t)PQgetlength(res, 0, 10), err);
    if (rc != CUSTOS_OK)
        return rc;
    if (PQgetisnull(res, 0, 9))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: reserves without leaves");
    return gw_store_reserves_decode(out, (const uint8_t *)PQgetvalue(res, 0, 9),
                                    (size_t)PQgetlength(res, 0, 9), err);
}

custos_rc gw_pgstore_get_reserves(void *impl, const char *feed, gw_store_reserves *out,
                                  custos_error *err)
{
    pg_store *s = impl;
    memset(out, 0, sizeof *out);
    if (strlen(feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no reserves for this feed");
    strcpy(out->feed, feed);
    pg_params p = {.n = 0};
    pg_param(&p, feed, strlen(feed));
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_read(s, R_RESERVES, &p, "get reserves", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (PQntuples(res) == 1)
        rc = pg_row_to_reserves(res, out, err);
    else
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no reserves attestation for feed %s",
                              feed);
    PQclear(res);
    if (rc != CUSTOS_OK)
        gw_store_reserves_clear(out);
    return rc;
}
