/* The PostgreSQL store's collateral notices (pg_store.h, rule 19). */
#include "store/pg_store.h"

#include <stdint.h>
#include <string.h>

custos_rc gw_pgstore_put_notice(void *impl, const gw_store_notice *n, custos_error *err)
{
    pg_store *s = impl;
    if (n->accepted_at > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: notice time out of range");
    uint8_t body[GW_STORE_NOTICE_MAX], seq[8], at[8];
    size_t len = gw_store_notice_encode(n, body);
    gw_store_put_u64(seq, n->n.sequence);
    gw_store_put_u64(at, n->accepted_at);
    pg_params p = {.n = 0};
    pg_param(&p, n->n.account, CUSTOS_HASH_LEN);
    pg_param(&p, n->n.lender, CUSTOS_ADDRESS_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, n->digest, CUSTOS_HASH_LEN);
    pg_param(&p, at, sizeof at);
    pg_param(&p, body, len);
    return gw_pgstore_run(&s->w, W_PUT_NOTICE, &p, "put notice", NULL, err);
}

custos_rc gw_pgstore_list_notices(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  const uint8_t *lender, gw_store_notice *out, size_t max,
                                  size_t *n, custos_error *err)
{
    pg_store *s = impl;
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    uint8_t limit[8];
    gw_store_put_u64(limit, max > INT32_MAX ? INT32_MAX : (uint64_t)max);
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, lender, lender != NULL ? CUSTOS_ADDRESS_LEN : 0);
    pg_param(&p, limit, sizeof limit);
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = gw_pgstore_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->r, R_NOTICES, &p, "list notices", &res, err);
    pthread_mutex_unlock(&s->rlock);
    if (rc != CUSTOS_OK)
        return rc;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && *n < max && rc == CUSTOS_OK; i++) {
        rc = PQgetisnull(res, i, 0)
                 ? custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: an empty notice")
                 : gw_store_notice_decode((const uint8_t *)PQgetvalue(res, i, 0),
                                          (size_t)PQgetlength(res, i, 0), &out[*n], err);
        if (rc == CUSTOS_OK)
            (*n)++;
    }
    PQclear(res);
    if (rc != CUSTOS_OK)
        *n = 0;
    return rc;
}
