/* The PostgreSQL store's collateral notices (pg_store.h, rule 19), and their place in the
 * accepted log (schema step 17). */
#include "store/pg_store.h"

#include <stdint.h>
#include <string.h>

custos_rc gw_pgstore_put_notice(void *impl, const gw_store_notice *n, custos_error *err)
{
    pg_store *s = impl;
    if (n->accepted_at > INT64_MAX || n->cursor == 0 || n->cursor > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: notice time or cursor out of range");
    uint8_t body[GW_STORE_NOTICE_MAX], seq[8], at[8], cursor[8];
    size_t len = gw_store_notice_encode(n, body);
    gw_store_put_u64(seq, n->n.sequence);
    gw_store_put_u64(at, n->accepted_at);
    gw_store_put_u64(cursor, n->cursor);
    pg_params p = {.n = 0};
    pg_param(&p, n->n.account, CUSTOS_HASH_LEN);
    pg_param(&p, n->n.lender, CUSTOS_ADDRESS_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, n->digest, CUSTOS_HASH_LEN);
    pg_param(&p, at, sizeof at);
    pg_param(&p, body, len);
    pg_param(&p, cursor, sizeof cursor);
    pg_param(&p, n->chain_hash, CUSTOS_HASH_LEN);
    return gw_pgstore_run(&s->w, W_PUT_NOTICE, &p, "put notice", NULL, err);
}

/* Row i (body, cursor, chain_hash) into out; cursor and chain_hash are NULL for a notice
 * stored before step 17. */
static custos_rc pg_row_to_notice(const PGresult *res, int i, gw_store_notice *out,
                                  custos_error *err)
{
    custos_rc rc = PQgetisnull(res, i, 0)
                       ? custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: an empty notice")
                       : gw_store_notice_decode((const uint8_t *)PQgetvalue(res, i, 0),
                                                (size_t)PQgetlength(res, i, 0), out, err);
    if (rc != CUSTOS_OK || PQgetisnull(res, i, 1))
        return rc;
    rc = gw_pgstore_get_uint(res, i, 1, &out->cursor, "notice cursor", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_get_blob(res, i, 2, out->chain_hash, CUSTOS_HASH_LEN,
                                 "notice chain_hash", err);
    return rc;
}

/* Runs read statement stmt with p and decodes up to max rows into out. */
static custos_rc pg_notice_rows(pg_store *s, int stmt, const pg_params *p, const char *what,
                                gw_store_notice *out, size_t max, size_t *n, custos_error *err)
{
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_read(s, stmt, p, what, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && *n < max && rc == CUSTOS_OK; i++) {
        rc = pg_row_to_notice(res, i, &out[*n], err);
        if (rc == CUSTOS_OK)
            (*n)++;
    }
    PQclear(res);
    if (rc != CUSTOS_OK)
        *n = 0;
    return rc;
}

custos_rc gw_pgstore_list_notices(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  const uint8_t *lender, gw_store_notice *out, size_t max,
                                  size_t *n, custos_error *err)
{
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    uint8_t limit[8];
    gw_store_put_u64(limit, max > INT32_MAX ? INT32_MAX : (uint64_t)max);
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, lender, lender != NULL ? CUSTOS_ADDRESS_LEN : 0);
    pg_param(&p, limit, sizeof limit);
    return pg_notice_rows(impl, R_NOTICES, &p, "list notices", out, max, n, err);
}

custos_rc gw_pgstore_read_notices_from(void *impl, uint64_t after, gw_store_notice *out,
                                       size_t max, size_t *n, custos_error *err)
{
    *n = 0;
    uint8_t from[8], limit[8];
    pg_params p;
    if (!pg_page_params(&p, from, limit, after, max))
        return CUSTOS_OK;
    return pg_notice_rows(impl, R_NOTICES_FROM, &p, "read notices from", out, max, n, err);
}
