/* The publisher state's PostgreSQL back end (pubstate_backend.h): tables publisher_meta,
 * publisher_fates, publisher_attempts (schema.c, step 5; batch calls, step 20) and
 * publisher_chain (step 13) of
 * the gateway's database, shared by replicas, so a replica taking over publication
 * continues from the fates, follow cursor and stored transactions its predecessor left,
 * and never spends a nonce twice.
 *
 * Same semantics as the SQLite back end: uint64 values are stored as the bigint with the
 * same bit pattern, uint256 values as 32-byte big-endian bytea, every write commits
 * before returning (the session keeps synchronous_commit on). Statements run with binary
 * parameters and results on one session of its own, reset after a lost connection. */
#include "store/pubstate_backend.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/codec.h"
#include "store/pg_common.h"

#define PGS_MAX_PARAMS 21
#define PGS_CONNECT_TIMEOUT_S "10"

typedef struct pgs_db {
    PGconn *conn;
} pgs_db;

/* Binary parameters; values point into the caller's buffers. */
typedef struct pgs_params {
    const char *values[PGS_MAX_PARAMS];
    int lengths[PGS_MAX_PARAMS];
    int formats[PGS_MAX_PARAMS];
    Oid types[PGS_MAX_PARAMS];
    int n;
} pgs_params;

static void pgs_param(pgs_params *p, Oid type, const void *value, size_t len)
{
    p->types[p->n] = type;
    p->values[p->n] = value;
    p->lengths[p->n] = (int)len;
    p->formats[p->n] = 1;
    p->n++;
}

static void pgs_null(pgs_params *p, Oid type)
{
    p->types[p->n] = type;
    p->values[p->n] = NULL;
    p->lengths[p->n] = 0;
    p->formats[p->n] = 1;
    p->n++;
}

/* A lost connection or a server that cannot work now is UNAVAILABLE (pg_common.h); a
 * unique violation is INVALID: the row exists, and the caller decides what that means. */
static custos_rc pgs_fail(pgs_db *s, const PGresult *res, const char *what, custos_error *err)
{
    if (gw_pg_unique_violation(res))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "publisher state: %s: the row exists",
                                what);
    return gw_pg_fail(s->conn, res, "publisher state", what, err);
}

static custos_rc pgs_exec(pgs_db *s, const char *sql, const char *what,
                          custos_error *err)
{
    PGresult *res = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    custos_rc rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? CUSTOS_OK
                                                                   : pgs_fail(s, res, what, err);
    PQclear(res);
    return rc;
}

/* Outside a transaction only: brings a lost session back. */
static custos_rc pgs_ready(pgs_db *s, custos_error *err)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        return CUSTOS_OK;
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return gw_pg_unreachable(s->conn, "publisher state", "reconnect", err);
    return pgs_exec(s, "SELECT set_config('synchronous_commit', 'on', false)",
                    "configure session", err);
}

/* Runs sql with binary results; *out (if not NULL) gets the result to clear. */
static custos_rc pgs_run(pgs_db *s, const char *sql, const pgs_params *p,
                         const char *what, PGresult **out, custos_error *err)
{
    PGresult *res = PQexecParams(s->conn, sql, p != NULL ? p->n : 0, p != NULL ? p->types : NULL,
                                 p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
                                 p != NULL ? p->formats : NULL, 1);
    ExecStatusType st = PQresultStatus(res);
    custos_rc rc = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK
                       ? CUSTOS_OK
                       : pgs_fail(s, res, what, err);
    if (rc == CUSTOS_OK && out != NULL)
        *out = res;
    else
        PQclear(res);
    return rc;
}

/* pgs_run outside a transaction, the session brought back first if it was lost. */
static custos_rc pgs_query(pgs_db *s, const char *sql, const pgs_params *p,
                           const char *what, PGresult **out, custos_error *err)
{
    custos_rc rc = pgs_ready(s, err);
    return rc == CUSTOS_OK ? pgs_run(s, sql, p, what, out, err) : rc;
}

static void pgs_rollback(pgs_db *s)
{
    PGTransactionStatusType ts = PQtransactionStatus(s->conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        (void)pgs_exec(s, "ROLLBACK", "rollback", NULL);
}

static void pgs_close(void *impl)
{
    pgs_db *s = impl;
    if (s == NULL)
        return;
    PQfinish(s->conn);
    free(s);
}

static custos_rc pgs_open(const char *conninfo, void **impl, custos_error *err)
{
    *impl = NULL;
    pgs_db *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher state: out of memory");
    custos_rc rc = gw_pg_connect(conninfo, "custos-gateway-publisher", PGS_CONNECT_TIMEOUT_S,
                                 "publisher state", &s->conn, err);
    if (rc == CUSTOS_OK)
        rc = pgs_exec(s, "SELECT set_config('synchronous_commit', 'on', false)",
                      "configure session", err);
    if (rc != CUSTOS_OK) {
        pgs_close(s);
        return rc;
    }
    *impl = s;
    return CUSTOS_OK;
}

static custos_rc pgs_get_bytes(const PGresult *res, int row, int col, uint8_t *out, size_t len,
                               const char *name, custos_error *err)
{
    if (PQgetisnull(res, row, col) || (size_t)PQgetlength(res, row, col) != len)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "publisher state: column %s is not %zu bytes", name, len);
    memcpy(out, PQgetvalue(res, row, col), len);
    return CUSTOS_OK;
}

/* A bigint (8 bytes) or integer (4 bytes) column, as its bit pattern. */
static custos_rc pgs_get_int(const PGresult *res, int row, int col, uint64_t *out,
                             const char *name, custos_error *err)
{
    int len = PQgetlength(res, row, col);
    if (PQgetisnull(res, row, col) || (len != 8 && len != 4))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "publisher state: column %s is not an integer", name);
    *out = gw_store_get_be((const uint8_t *)PQgetvalue(res, row, col), (size_t)len);
    return CUSTOS_OK;
}

/* Fills out from a row selecting GW_PUB_ROW_COLUMNS. */
static custos_rc pgs_read_row(const PGresult *res, int r, gw_pub_row *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    uint64_t kind = 0, fate = 0, part = 0;
    uint8_t value[32];
    custos_rc rc;
    if ((rc = pgs_get_int(res, r, 0, &out->cursor, "cursor", err)) != CUSTOS_OK ||
        (rc = pgs_get_bytes(res, r, 1, out->account, sizeof out->account, "account", err)) !=
            CUSTOS_OK ||
        (rc = pgs_get_int(res, r, 2, &out->sequence, "sequence", err)) != CUSTOS_OK ||
        (rc = pgs_get_int(res, r, 3, &kind, "kind", err)) != CUSTOS_OK ||
        (rc = pgs_get_bytes(res, r, 4, out->beneficiary, sizeof out->beneficiary,
                            "beneficiary", err)) != CUSTOS_OK ||
        (rc = pgs_get_bytes(res, r, 5, value, sizeof value, "value", err)) != CUSTOS_OK ||
        (rc = pgs_get_int(res, r, 6, &out->as_of, "as_of", err)) != CUSTOS_OK ||
        (rc = pgs_get_int(res, r, 7, &fate, "fate", err)) != CUSTOS_OK)
        return rc;
    if (kind > UINT8_MAX || fate > GW_PUB_FAILED)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher state: bad kind or fate");
    out->kind = (uint8_t)kind;
    out->fate = (gw_pub_fate)fate;
    custos_u256_from_be(&out->value, value);
    snprintf(out->detail, sizeof out->detail, "%.*s", PQgetlength(res, r, 8),
             PQgetvalue(res, r, 8));
    snprintf(out->feed, sizeof out->feed, "%.*s", PQgetlength(res, r, 16),
             PQgetvalue(res, r, 16));
    if ((rc = pgs_get_int(res, r, 17, &out->valid_until, "valid_until", err)) != CUSTOS_OK ||
        (rc = pgs_get_int(res, r, 19, &out->call, "call_cursor", err)) != CUSTOS_OK ||
        (rc = pgs_get_int(res, r, 20, &part, "part", err)) != CUSTOS_OK)
        return rc;
    out->part = part != 0;
    if (!PQgetisnull(res, r, 18)) {
        if ((rc = pgs_get_bytes(res, r, 18, out->batch_digest, sizeof out->batch_digest,
                                "batch_digest", err)) != CUSTOS_OK)
            return rc;
        out->batched = true;
    }
    if (PQgetisnull(res, r, 9))
        return CUSTOS_OK;
    gw_pub_tx *tx = &out->tx;
    uint8_t fee[32];
    if ((rc = pgs_get_int(res, r, 9, &tx->nonce, "nonce", err)) != CUSTOS_OK ||
        (rc = pgs_get_bytes(res, r, 10, fee, sizeof fee, "max_fee", err)) != CUSTOS_OK)
        return rc;
    custos_u256_from_be(&tx->max_fee, fee);
    if ((rc = pgs_get_bytes(res, r, 11, fee, sizeof fee, "priority_fee", err)) != CUSTOS_OK)
        return rc;
    custos_u256_from_be(&tx->priority_fee, fee);
    if ((rc = pgs_get_int(res, r, 12, &tx->gas_limit, "gas_limit", err)) != CUSTOS_OK ||
        (rc = pgs_get_int(res, r, 13, &tx->sent_at, "sent_at", err)) != CUSTOS_OK ||
        (rc = pgs_get_bytes(res, r, 14, tx->hash, sizeof tx->hash, "tx_hash", err)) !=
            CUSTOS_OK)
        return rc;
    int raw_len = PQgetlength(res, r, 15);
    if (PQgetisnull(res, r, 15) || raw_len <= 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher state: empty raw transaction");
    tx->raw = malloc((size_t)raw_len);
    if (tx->raw == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher state: out of memory");
    memcpy(tx->raw, PQgetvalue(res, r, 15), (size_t)raw_len);
    tx->raw_len = (size_t)raw_len;
    out->has_tx = true;
    return CUSTOS_OK;
}

static custos_rc pgs_cursor(void *impl, uint64_t *cursor, custos_error *err)
{
    pgs_db *s = impl;
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s, "SELECT cursor FROM publisher_meta", NULL, "read cursor", &res,
                             err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1
             ? pgs_get_int(res, 0, 0, cursor, "cursor", err)
             : custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher state: no cursor row");
    PQclear(res);
    return rc;
}

static custos_rc pgs_advance(void *impl, uint64_t cursor, custos_error *err)
{
    pgs_db *s = impl;
    if (cursor > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "publisher state: cursor too large");
    uint8_t c[8];
    gw_store_put_u64(c, cursor);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT8, c, sizeof c);
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s,
                             "UPDATE publisher_meta SET cursor = $1 WHERE cursor < $1 "
                             "AND EXISTS (SELECT 1 FROM publisher_fates WHERE cursor = $1)",
                             &p, "advance cursor", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    bool moved = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!moved)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: cursor cannot move to %llu: not ahead of the "
                                "current one, or no fate is stored for that record",
                                (unsigned long long)cursor);
    return CUSTOS_OK;
}

/* The seven transaction parameters (nonce .. raw); buffers live in the caller's frame. */
typedef struct pgs_tx_bufs {
    uint8_t nonce[8], max_fee[32], prio[32], gas[8], sent[8];
} pgs_tx_bufs;

static void pgs_tx_params(pgs_params *p, const gw_pub_tx *tx, pgs_tx_bufs *b)
{
    gw_store_put_u64(b->nonce, tx->nonce);
    custos_u256_to_be(&tx->max_fee, b->max_fee);
    custos_u256_to_be(&tx->priority_fee, b->prio);
    gw_store_put_u64(b->gas, tx->gas_limit);
    gw_store_put_u64(b->sent, tx->sent_at);
    pgs_param(p, PG_INT8, b->nonce, 8);
    pgs_param(p, PG_BYTEA, b->max_fee, 32);
    pgs_param(p, PG_BYTEA, b->prio, 32);
    pgs_param(p, PG_INT8, b->gas, 8);
    pgs_param(p, PG_INT8, b->sent, 8);
    pgs_param(p, PG_BYTEA, tx->hash, CUSTOS_HASH_LEN);
    pgs_param(p, PG_BYTEA, tx->raw, tx->raw_len);
}

static custos_rc pgs_insert_attempt(pgs_db *s, uint64_t cursor,
                                    const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    uint8_t c[8];
    gw_store_put_u64(c, cursor);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_BYTEA, hash, CUSTOS_HASH_LEN);
    pgs_param(&p, PG_INT8, c, sizeof c);
    return pgs_run(s, "INSERT INTO publisher_attempts (tx_hash, cursor) VALUES ($1, $2)", &p,
                   "store transaction attempt", NULL, err);
}

/* Inside a transaction: the chain row of the account of record `cursor` becomes that
 * account's newest SENT or CONFIRMED fate again (or goes, when it has none). */
static custos_rc pgs_chain_refresh(pgs_db *s, uint64_t cursor, custos_error *err)
{
    uint8_t c[8];
    gw_store_put_u64(c, cursor);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT8, c, sizeof c);
    custos_rc rc = pgs_run(s,
                           "DELETE FROM publisher_chain WHERE account = "
                           "(SELECT account FROM publisher_fates WHERE cursor = $1)",
                           &p, "update chain view", NULL, err);
    if (rc == CUSTOS_OK)
        rc = pgs_run(s,
                     "INSERT INTO publisher_chain (account, cursor, feed, kind, as_of, "
                     "valid_until) SELECT account, cursor, feed, kind, as_of, valid_until "
                     "FROM publisher_fates WHERE account = "
                     "(SELECT account FROM publisher_fates WHERE cursor = $1) AND fate IN (1, 2) "
                     "ORDER BY cursor DESC LIMIT 1",
                     &p, "update chain view", NULL, err);
    return rc;
}

/* Inside a transaction: inserts row's fate. */
static custos_rc pgs_insert_row(pgs_db *s, const gw_pub_row *row, custos_error *err)
{
    if (row->cursor > INT64_MAX || row->call > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "publisher state: cursor too large");
    custos_rc rc;
    uint8_t cursor[8], seq[8], kind[4], value[32], as_of[8], fate[4], valid_until[8], call[8];
    gw_store_put_u64(cursor, row->cursor);
    gw_store_put_u64(seq, row->sequence);
    memset(kind, 0, sizeof kind);
    kind[3] = row->kind;
    custos_u256_to_be(&row->value, value);
    gw_store_put_u64(as_of, row->as_of);
    memset(fate, 0, sizeof fate);
    fate[3] = (uint8_t)row->fate;
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT8, cursor, 8);
    pgs_param(&p, PG_BYTEA, row->account, CUSTOS_HASH_LEN);
    pgs_param(&p, PG_INT8, seq, 8);
    pgs_param(&p, PG_INT4, kind, 4);
    pgs_param(&p, PG_BYTEA, row->beneficiary, CUSTOS_ADDRESS_LEN);
    pgs_param(&p, PG_BYTEA, value, 32);
    pgs_param(&p, PG_INT8, as_of, 8);
    pgs_param(&p, PG_INT4, fate, 4);
    pgs_param(&p, PG_TEXT, row->detail, strnlen(row->detail, sizeof row->detail));
    pgs_tx_bufs b;
    if (row->has_tx) {
        pgs_tx_params(&p, &row->tx, &b);
    } else {
        static const Oid tx_types[] = {PG_INT8, PG_BYTEA, PG_BYTEA, PG_INT8,
                                       PG_INT8, PG_BYTEA, PG_BYTEA};
        for (size_t i = 0; i < sizeof tx_types / sizeof tx_types[0]; i++)
            pgs_null(&p, tx_types[i]);
    }
    gw_store_put_u64(valid_until, row->valid_until);
    pgs_param(&p, PG_TEXT, row->feed, strnlen(row->feed, sizeof row->feed));
    pgs_param(&p, PG_INT8, valid_until, 8);
    if (row->batched)
        pgs_param(&p, PG_BYTEA, row->batch_digest, CUSTOS_HASH_LEN);
    else
        pgs_null(&p, PG_BYTEA);
    gw_store_put_u64(call, row->call);
    pgs_param(&p, PG_INT8, call, 8);
    uint8_t part[4] = {0, 0, 0, row->part ? 1 : 0};
    pgs_param(&p, PG_INT4, part, 4);
    rc = pgs_run(s,
                 "INSERT INTO publisher_fates (" GW_PUB_ROW_COLUMNS ") VALUES ($1, $2, $3, $4, "
                 "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, "
                 "$21)",
                 &p, "store fate", NULL, err);
    if (rc == CUSTOS_ERR_INVALID)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "publisher state: record %llu already has a fate",
                              (unsigned long long)row->cursor);
    if (rc == CUSTOS_OK && row->has_tx)
        rc = pgs_insert_attempt(s, row->cursor, row->tx.hash, err);
    if (rc == CUSTOS_OK && row->fate != GW_PUB_SKIPPED)
        rc = pgs_chain_refresh(s, row->cursor, err);
    return rc;
}


/* Runs a query selecting GW_PUB_ROW_COLUMNS with one 8-byte or 32-byte key parameter and
 * reads its first row; CUSTOS_ERR_NOT_FOUND (message `none`) when there is none. */
static custos_rc pgs_get_one(pgs_db *s, const char *sql, const pgs_params *p,
                             const char *what, const char *none, gw_pub_row *out,
                             custos_error *err)
{
    memset(out, 0, sizeof *out);
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s, sql, p, what, &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) >= 1 ? pgs_read_row(res, 0, out, err)
                             : custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "%s", none);
    PQclear(res);
    if (rc != CUSTOS_OK)
        gw_pub_row_clear(out);
    return rc;
}

static custos_rc pgs_get(void *impl, uint64_t cursor, gw_pub_row *out,
                         custos_error *err)
{
    pgs_db *s = impl;
    uint8_t c[8];
    gw_store_put_u64(c, cursor);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT8, c, sizeof c);
    char none[96];
    snprintf(none, sizeof none, "publisher state: record %llu has no fate",
             (unsigned long long)cursor);
    return pgs_get_one(s, "SELECT " GW_PUB_ROW_COLUMNS " FROM publisher_fates WHERE cursor = $1",
                       &p, "read fate", none, out, err);
}

static custos_rc pgs_replace_tx(void *impl, uint64_t cursor, const gw_pub_tx *tx,
                                bool new_nonce, custos_error *err)
{
    pgs_db *s = impl;
    custos_rc rc;
    if ((rc = pgs_ready(s, err)) != CUSTOS_OK ||
        (rc = pgs_exec(s, "BEGIN", "begin", err)) != CUSTOS_OK)
        return rc;
    uint8_t c[8];
    gw_store_put_u64(c, cursor);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT8, c, sizeof c);
    PGresult *res = NULL;
    rc = pgs_run(s, "SELECT count(*) FROM publisher_attempts WHERE cursor = $1", &p,
                 "count attempts", &res, err);
    uint64_t attempts = 0;
    if (rc == CUSTOS_OK) {
        rc = pgs_get_int(res, 0, 0, &attempts, "count", err);
        PQclear(res);
    }
    if (rc == CUSTOS_OK && attempts >= GW_PUBSTATE_MAX_ATTEMPTS)
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                              "publisher state: record %llu already has %d transactions",
                              (unsigned long long)cursor, GW_PUBSTATE_MAX_ATTEMPTS);
    if (rc == CUSTOS_OK) {
        pgs_params u = {.n = 0};
        pgs_tx_bufs b;
        pgs_tx_params(&u, tx, &b);
        pgs_param(&u, PG_INT8, c, sizeof c);
        rc = pgs_run(s,
                     new_nonce
                         ? "UPDATE publisher_fates SET nonce = $1, max_fee = $2, "
                           "priority_fee = $3, gas_limit = $4, sent_at = $5, tx_hash = $6, "
                           "raw = $7 WHERE cursor = $8 AND fate = 1 AND nonce <> $1"
                         : "UPDATE publisher_fates SET nonce = $1, max_fee = $2, "
                           "priority_fee = $3, gas_limit = $4, sent_at = $5, tx_hash = $6, "
                           "raw = $7 WHERE cursor = $8 AND fate = 1 AND nonce = $1",
                     &u, "replace transaction", &res, err);
        if (rc == CUSTOS_OK) {
            bool changed = strcmp(PQcmdTuples(res), "1") == 0;
            PQclear(res);
            if (!changed)
                rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                      "publisher state: record %llu is not sent with %s nonce "
                                      "%llu",
                                      (unsigned long long)cursor,
                                      new_nonce ? "a nonce other than" : "",
                                      (unsigned long long)tx->nonce);
        }
    }
    if (rc == CUSTOS_OK)
        rc = pgs_insert_attempt(s, cursor, tx->hash, err);
    if (rc == CUSTOS_OK)
        return pgs_exec(s, "COMMIT", "commit transaction", err);
    pgs_rollback(s);
    return rc;
}

static custos_rc pgs_finish(void *impl, uint64_t cursor, gw_pub_fate fate,
                            const char *detail, custos_error *err)
{
    pgs_db *s = impl;
    custos_rc rc;
    if ((rc = pgs_ready(s, err)) != CUSTOS_OK ||
        (rc = pgs_exec(s, "BEGIN", "begin", err)) != CUSTOS_OK)
        return rc;
    uint8_t f[4] = {0, 0, 0, (uint8_t)fate}, c[8];
    gw_store_put_u64(c, cursor);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT4, f, sizeof f);
    pgs_param(&p, PG_TEXT, detail, strlen(detail));
    pgs_param(&p, PG_INT8, c, sizeof c);
    PGresult *res = NULL;
    rc = pgs_run(s,
                 "UPDATE publisher_fates SET fate = $1, detail = $2 "
                 "WHERE cursor = $3 AND fate = 1",
                 &p, "finish fate", &res, err);
    if (rc == CUSTOS_OK) {
        bool changed = strcmp(PQcmdTuples(res), "1") == 0;
        PQclear(res);
        if (!changed)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "publisher state: record %llu is not waiting for a receipt",
                                  (unsigned long long)cursor);
    }
    if (rc == CUSTOS_OK)
        rc = pgs_chain_refresh(s, cursor, err);
    if (rc == CUSTOS_OK)
        return pgs_exec(s, "COMMIT", "commit fate", err);
    pgs_rollback(s);
    return rc;
}

/* Inside a transaction: a skipped row becomes row's fate. */
static custos_rc pgs_promote_row(pgs_db *s, const gw_pub_row *row, custos_error *err)
{
    custos_rc rc;
    uint8_t f[4] = {0, 0, 0, (uint8_t)row->fate}, c[8], call[8];
    gw_store_put_u64(c, row->cursor);
    gw_store_put_u64(call, row->call);
    pgs_params p = {.n = 0};
    pgs_tx_bufs b;
    if (row->has_tx) {
        pgs_tx_params(&p, &row->tx, &b);
    } else {
        static const Oid tx_types[] = {PG_INT8, PG_BYTEA, PG_BYTEA, PG_INT8,
                                       PG_INT8, PG_BYTEA, PG_BYTEA};
        for (size_t i = 0; i < sizeof tx_types / sizeof tx_types[0]; i++)
            pgs_null(&p, tx_types[i]);
    }
    pgs_param(&p, PG_INT4, f, sizeof f);
    pgs_param(&p, PG_TEXT, row->detail, strnlen(row->detail, sizeof row->detail));
    pgs_param(&p, PG_INT8, c, sizeof c);
    if (row->batched)
        pgs_param(&p, PG_BYTEA, row->batch_digest, CUSTOS_HASH_LEN);
    else
        pgs_null(&p, PG_BYTEA);
    pgs_param(&p, PG_INT8, call, sizeof call);
    uint8_t part[4] = {0, 0, 0, row->part ? 1 : 0};
    pgs_param(&p, PG_INT4, part, sizeof part);
    PGresult *res = NULL;
    rc = pgs_run(s,
                 "UPDATE publisher_fates SET nonce = $1, max_fee = $2, priority_fee = $3, "
                 "gas_limit = $4, sent_at = $5, tx_hash = $6, raw = $7, fate = $8, "
                 "detail = $9, batch_digest = $11, call_cursor = $12, part = $13 "
                 "WHERE cursor = $10 AND fate = 0",
                 &p, "promote fate", &res, err);
    if (rc == CUSTOS_OK) {
        bool changed = strcmp(PQcmdTuples(res), "1") == 0;
        PQclear(res);
        if (!changed)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "publisher state: record %llu is not skipped",
                                  (unsigned long long)row->cursor);
    }
    if (rc == CUSTOS_OK && row->has_tx)
        rc = pgs_insert_attempt(s, row->cursor, row->tx.hash, err);
    if (rc == CUSTOS_OK)
        rc = pgs_chain_refresh(s, row->cursor, err);
    return rc;
}

static custos_rc pgs_put(void *impl, const gw_pub_row *rows, size_t n, size_t first_promoted,
                         custos_error *err)
{
    pgs_db *s = impl;
    custos_rc rc;
    if ((rc = pgs_ready(s, err)) != CUSTOS_OK ||
        (rc = pgs_exec(s, "BEGIN", "begin", err)) != CUSTOS_OK)
        return rc;
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++)
        rc = i < first_promoted ? pgs_insert_row(s, &rows[i], err)
                                : pgs_promote_row(s, &rows[i], err);
    if (rc == CUSTOS_OK)
        return pgs_exec(s, "COMMIT", "commit fate", err);
    pgs_rollback(s);
    return rc;
}

static custos_rc pgs_last_published(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                    gw_pub_row *out, custos_error *err)
{
    pgs_db *s = impl;
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_BYTEA, account, CUSTOS_HASH_LEN);
    return pgs_get_one(s,
                       "SELECT " GW_PUB_ROW_COLUMNS " FROM publisher_fates WHERE account = $1 "
                       "AND fate IN (1, 2) ORDER BY cursor DESC LIMIT 1",
                       &p, "read last published", "publisher state: account never published",
                       out, err);
}

static custos_rc pgs_list_sent(void *impl, gw_pub_row **rows, size_t *n,
                               custos_error *err)
{
    pgs_db *s = impl;
    *rows = NULL;
    *n = 0;
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s,
                             "SELECT " GW_PUB_ROW_COLUMNS " FROM publisher_fates WHERE fate = 1 "
                             "ORDER BY nonce, cursor",
                             NULL, "list sent", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t count = (size_t)PQntuples(res);
    gw_pub_row *out = count > 0 ? calloc(count, sizeof *out) : NULL;
    if (count > 0 && out == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher state: out of memory");
    size_t len = 0;
    while (rc == CUSTOS_OK && len < count) {
        rc = pgs_read_row(res, (int)len, &out[len], err);
        if (rc == CUSTOS_OK)
            len++;
        else
            gw_pub_row_clear(&out[len]);
    }
    PQclear(res);
    if (rc != CUSTOS_OK) {
        for (size_t i = 0; i < len; i++)
            gw_pub_row_clear(&out[i]);
        free(out);
        return rc;
    }
    *rows = out;
    *n = count;
    return CUSTOS_OK;
}

static custos_rc pgs_attempts(void *impl, uint64_t cursor,
                              uint8_t hashes[][CUSTOS_HASH_LEN], size_t max, size_t *n,
                              custos_error *err)
{
    pgs_db *s = impl;
    *n = 0;
    uint8_t c[8];
    gw_store_put_u64(c, cursor);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT8, c, sizeof c);
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s,
                             "SELECT tx_hash FROM publisher_attempts WHERE cursor = $1 "
                             "ORDER BY added DESC",
                             &p, "list attempts", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    for (int r = 0; rc == CUSTOS_OK && r < PQntuples(res) && *n < max; r++) {
        rc = pgs_get_bytes(res, r, 0, hashes[*n], CUSTOS_HASH_LEN, "tx_hash", err);
        if (rc == CUSTOS_OK)
            (*n)++;
    }
    PQclear(res);
    return rc;
}

/* A bigint column that may be NULL (an aggregate over no rows): 0 then. */
static custos_rc pgs_get_int_or_zero(const PGresult *res, int row, int col, uint64_t *out,
                                     const char *name, custos_error *err)
{
    *out = 0;
    return PQgetisnull(res, row, col) ? CUSTOS_OK : pgs_get_int(res, row, col, out, name, err);
}

static custos_rc pgs_expiring(void *impl, const char *feed, uint64_t valid_until_by,
                              uint64_t as_of_by, uint64_t next_valid_after,
                              gw_pub_expiring *out, size_t max, size_t *n, custos_error *err)
{
    pgs_db *s = impl;
    uint8_t vu[8], ao[8], lim[8], after[8];
    gw_store_put_u64(vu, valid_until_by);
    gw_store_put_u64(ao, as_of_by);
    gw_store_put_u64(lim, max > INT32_MAX ? INT32_MAX : max);
    gw_store_put_u64(after, next_valid_after);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_TEXT, feed, strlen(feed));
    pgs_param(&p, PG_INT8, vu, 8);
    pgs_param(&p, PG_INT8, ao, 8);
    pgs_param(&p, PG_INT8, lim, 8);
    pgs_param(&p, PG_INT8, after, 8);
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s,
                             "SELECT c.account, c.cursor, c.as_of, c.valid_until, f.cursor, "
                             "f.as_of, f.valid_until FROM publisher_chain c "
                             "JOIN publisher_fates f ON f.cursor = "
                             "(SELECT max(g.cursor) FROM publisher_fates g "
                             "WHERE g.account = c.account AND g.cursor > c.cursor "
                             "AND g.fate = 0) "
                             "WHERE c.feed = $1 AND c.kind = 0 AND (c.valid_until <= $2 OR "
                             "c.as_of <= $3) AND f.valid_until > $5 "
                             "ORDER BY c.valid_until, c.cursor LIMIT $4",
                             &p, "list expiring accounts", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    for (int r = 0; rc == CUSTOS_OK && r < PQntuples(res) && *n < max; r++) {
        gw_pub_expiring *e = &out[*n];
        if ((rc = pgs_get_bytes(res, r, 0, e->account, sizeof e->account, "account", err)) ==
                CUSTOS_OK &&
            (rc = pgs_get_int(res, r, 1, &e->last_cursor, "cursor", err)) == CUSTOS_OK &&
            (rc = pgs_get_int(res, r, 2, &e->last_as_of, "as_of", err)) == CUSTOS_OK &&
            (rc = pgs_get_int(res, r, 3, &e->last_valid_until, "valid_until", err)) ==
                CUSTOS_OK &&
            (rc = pgs_get_int(res, r, 4, &e->next_cursor, "cursor", err)) == CUSTOS_OK &&
            (rc = pgs_get_int(res, r, 5, &e->next_as_of, "as_of", err)) == CUSTOS_OK &&
            (rc = pgs_get_int(res, r, 6, &e->next_valid_until, "valid_until", err)) ==
                CUSTOS_OK)
            (*n)++;
    }
    PQclear(res);
    return rc;
}

static custos_rc pgs_chain_summary(void *impl, const char *feed, uint64_t valid_until_by,
                                   uint64_t as_of_by, gw_pub_chain_summary *out,
                                   custos_error *err)
{
    pgs_db *s = impl;
    uint8_t vu[8], ao[8];
    gw_store_put_u64(vu, valid_until_by);
    gw_store_put_u64(ao, as_of_by);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_TEXT, feed, strlen(feed));
    pgs_param(&p, PG_INT8, vu, 8);
    pgs_param(&p, PG_INT8, ao, 8);
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s,
                             "SELECT count(*), min(valid_until), min(as_of), "
                             "count(*) FILTER (WHERE valid_until <= $2 OR as_of <= $3) "
                             "FROM publisher_chain WHERE feed = $1 AND kind = 0",
                             &p, "summarise chain view", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (PQntuples(res) != 1)
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher state: no summary row");
    if (rc == CUSTOS_OK &&
        ((rc = pgs_get_int(res, 0, 0, &out->accounts, "count", err)) != CUSTOS_OK ||
         (rc = pgs_get_int_or_zero(res, 0, 1, &out->min_valid_until, "valid_until", err)) !=
             CUSTOS_OK ||
         (rc = pgs_get_int_or_zero(res, 0, 2, &out->min_as_of, "as_of", err)) != CUSTOS_OK))
        memset(out, 0, sizeof *out);
    if (rc == CUSTOS_OK)
        rc = pgs_get_int(res, 0, 3, &out->matching, "count", err);
    PQclear(res);
    return rc;
}

static custos_rc pgs_chain_feeds(void *impl, char (*feeds)[CUSTOS_FEED_MAX + 1], size_t max,
                                 size_t *n, custos_error *err)
{
    pgs_db *s = impl;
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s, "SELECT DISTINCT feed FROM publisher_chain ORDER BY feed", NULL,
                             "list chain feeds", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    for (int r = 0; r < PQntuples(res) && *n < max; r++) {
        snprintf(feeds[*n], CUSTOS_FEED_MAX + 1, "%.*s", PQgetlength(res, r, 0),
                 PQgetvalue(res, r, 0));
        (*n)++;
    }
    PQclear(res);
    return CUSTOS_OK;
}

static custos_rc pgs_unlabelled(void *impl, uint64_t *cursors, size_t max, size_t *n,
                                custos_error *err)
{
    pgs_db *s = impl;
    uint8_t lim[8];
    gw_store_put_u64(lim, max > INT32_MAX ? INT32_MAX : max);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_INT8, lim, 8);
    PGresult *res = NULL;
    custos_rc rc = pgs_query(s,
                             "SELECT cursor FROM publisher_chain WHERE feed = '' ORDER BY cursor "
                             "LIMIT $1",
                             &p, "list unlabelled publications", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    for (int r = 0; rc == CUSTOS_OK && r < PQntuples(res) && *n < max; r++) {
        rc = pgs_get_int(res, r, 0, &cursors[*n], "cursor", err);
        if (rc == CUSTOS_OK)
            (*n)++;
    }
    PQclear(res);
    return rc;
}

static custos_rc pgs_label(void *impl, uint64_t cursor, const char *feed, uint64_t valid_until,
                           custos_error *err)
{
    pgs_db *s = impl;
    uint8_t c[8], vu[8];
    gw_store_put_u64(c, cursor);
    gw_store_put_u64(vu, valid_until);
    pgs_params p = {.n = 0};
    pgs_param(&p, PG_TEXT, feed, strlen(feed));
    pgs_param(&p, PG_INT8, vu, 8);
    pgs_param(&p, PG_INT8, c, 8);
    custos_rc rc;
    if ((rc = pgs_ready(s, err)) != CUSTOS_OK ||
        (rc = pgs_exec(s, "BEGIN", "begin", err)) != CUSTOS_OK)
        return rc;
    rc = pgs_run(s, "UPDATE publisher_fates SET feed = $1, valid_until = $2 WHERE cursor = $3",
                 &p, "label publication", NULL, err);
    if (rc == CUSTOS_OK)
        rc = pgs_run(s,
                     "UPDATE publisher_chain SET feed = $1, valid_until = $2 WHERE cursor = $3",
                     &p, "label publication", NULL, err);
    if (rc == CUSTOS_OK)
        return pgs_exec(s, "COMMIT", "commit label", err);
    pgs_rollback(s);
    return rc;
}

const gw_pubstate_ops gw_pubstate_pg_ops = {
    .open = pgs_open,
    .close = pgs_close,
    .cursor = pgs_cursor,
    .advance = pgs_advance,
    .put = pgs_put,
    .get = pgs_get,
    .replace_tx = pgs_replace_tx,
    .finish = pgs_finish,
    .last_published = pgs_last_published,
    .list_sent = pgs_list_sent,
    .attempts = pgs_attempts,
    .expiring = pgs_expiring,
    .chain_summary = pgs_chain_summary,
    .chain_feeds = pgs_chain_feeds,
    .unlabelled = pgs_unlabelled,
    .label = pgs_label,
};
