/* The PostgreSQL store's sessions (pg_store.h): connecting and configuring them, the
 * schema, preparing statements, transactions, and the table of functions store.h calls
 * through. */
#include "store/pg_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store/schema.h"

#define PG_CONNECT_TIMEOUT_S "10"
/* Key of the advisory lock serialising migrations of replicas starting together. */
#define PG_MIGRATE_LOCK "7165041188211363840"
/* Key of the transaction-scoped advisory lock every write group of every replica takes
 * first: groups of all replicas commit one at a time, so cursors are assigned in commit
 * order and each group sees the state the previous one left. */
#define PG_WRITE_LOCK "7165041188211363841"
/* A held record by digest, for the writer (the committer) and the reader alike. */
#define PG_GET_HELD                                                                         \
    {"SELECT 0::bigint, digest, held_at, attestation, signers, NULL::bytea, batch_digest, "  \
     "superseded::int FROM held WHERE digest = $1",                                        \
     1,                                                                                    \
     {PG_BYTEA}}

static const pg_stmt pg_wsql[W_COUNT] = {
    [W_HEAD] = {"SELECT GREATEST(COALESCE((SELECT MAX(cursor) FROM accepted), 0), "
                "COALESCE((SELECT MAX(cursor) FROM notices), 0))::bigint",
                0, {0}},
    [W_RECORD_HEAD] = {"SELECT COALESCE(MAX(cursor), 0)::bigint FROM accepted", 0, {0}},
    [W_ACCOUNTS] = {"SELECT account, feed, last_sequence, last_cursor, beneficiary "
                    "FROM accounts",
                    0, {0}},
    [W_ACCOUNT] = {"SELECT account, feed, last_sequence, last_cursor, beneficiary "
                   "FROM accounts WHERE account = $1",
                   1, {PG_BYTEA}},
    /* A batched record's signers are its batch's. */
    [W_FIND_ACCEPTED] = {"SELECT a.cursor, (CASE WHEN a.batch_digest IS NULL THEN "
                         "length(a.signers) ELSE (SELECT length(b.signers) FROM batches b "
                         "WHERE b.digest = a.batch_digest) END)::bigint FROM accepted a "
                         "WHERE a.account = $1 AND a.sequence = $2 AND a.digest = $3 "
                         /* one of the account's $4 latest (rule 4's retry window) */
                         "AND (SELECT count(*) FROM (SELECT 1 FROM accepted b "
                         "WHERE b.account = $1 AND b.sequence > $2 LIMIT $4) w) < $4", 4,
                         {PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8}},
    [W_GET_PENDING] = {"SELECT attestation FROM pending WHERE digest = $1", 1, {PG_BYTEA}},
    [W_LIST_SIGNERS] = {"SELECT signer, role, signature FROM pending_signers WHERE digest = $1 "
                        "ORDER BY added",
                        1, {PG_BYTEA}},
    [W_PUT_PENDING] = {"INSERT INTO pending (digest, account, sequence, attestation, first_seen, "
                       "feed, creator, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                       8, {PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_TEXT, PG_BYTEA,
                           PG_INT8}},
    [W_PUT_SIGNER] = {"INSERT INTO pending_signers (digest, signer, role, signature) "
                      "VALUES ($1, $2, $3, $4)",
                      4, {PG_BYTEA, PG_BYTEA, PG_INT4, PG_BYTEA}},
    [W_PUT_ACCEPTED] = {"INSERT INTO accepted (cursor, digest, account, sequence, accepted_at, "
                        "attestation, signers, chain_hash, batch_digest) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        9, {PG_INT8, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA, PG_BYTEA,
                            PG_BYTEA, PG_BYTEA}},
    [W_PUT_ACCOUNT] = {"INSERT INTO accounts (account, feed, last_sequence, last_cursor, "
                       "beneficiary) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account) DO "
                       "UPDATE SET feed = EXCLUDED.feed, last_sequence = EXCLUDED.last_sequence, "
                       "last_cursor = EXCLUDED.last_cursor, beneficiary = EXCLUDED.beneficiary",
                       5, {PG_BYTEA, PG_TEXT, PG_BYTEA, PG_INT8, PG_BYTEA}},
    [W_PRUNE_SIGNERS] = {"DELETE FROM pending_signers WHERE digest IN "
                         "(SELECT digest FROM pending WHERE account = $1 AND sequence <= $2)",
                         2, {PG_BYTEA, PG_BYTEA}},
    [W_PRUNE_PENDING] = {"DELETE FROM pending WHERE account = $1 AND sequence <= $2", 2,
                         {PG_BYTEA, PG_BYTEA}},
    [W_PUT_HELD] = {"INSERT INTO held (digest, account, sequence, held_at, attestation, signers, "
                    "batch_digest) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    7, {PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA, PG_BYTEA, PG_BYTEA}},
    [W_HOLD_SEQUENCE] = {"UPDATE accounts SET last_sequence = $2 WHERE account = $1", 2,
                         {PG_BYTEA, PG_BYTEA}},
    [W_GET_HELD] = PG_GET_HELD,
    [W_DROP_HELD] = {"DELETE FROM held WHERE digest = $1", 1, {PG_BYTEA}},
    [W_SUPERSEDE_HELD] = {"UPDATE held SET superseded = true WHERE account = $1 "
                          "AND sequence < $2",
                          2, {PG_BYTEA, PG_BYTEA}},
    [W_PENDING_FEED] = {"SELECT count(*)::bigint, COALESCE(sum(bytes), 0)::bigint FROM pending "
                        "WHERE feed = $1",
                        1, {PG_TEXT}},
    [W_PENDING_CREATOR] = {"SELECT count(*)::bigint, COALESCE(sum(bytes), 0)::bigint "
                           "FROM pending WHERE creator = $1",
                           1, {PG_BYTEA}},
    [W_EXPIRE_SIGNERS] = {"DELETE FROM pending_signers WHERE digest IN "
                          "(SELECT digest FROM pending WHERE first_seen < $1)",
                          1, {PG_INT8}},
    [W_EXPIRE_PENDING] = {"DELETE FROM pending WHERE first_seen < $1", 1, {PG_INT8}},
    [W_SET_CHAIN] = {"UPDATE accepted SET chain_hash = $2 WHERE cursor = $1", 2,
                     {PG_INT8, PG_BYTEA}},
    [W_AUDIT_HEAD] = {"SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", 0, {0}},
    [W_APPEND_AUDIT] = {"INSERT INTO audit (seq, time, actor, action, payload, prev_hash, hash) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        7, {PG_INT8, PG_INT8, PG_TEXT, PG_TEXT, PG_BYTEA, PG_BYTEA, PG_BYTEA}},
    [W_PUT_RESERVES] = {"INSERT INTO reserves (feed, sequence, digest, total, accounts, "
                        "accounts_root, as_of, signer, signature, accepted_at, leaves, "
                        "signatures) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                        12, {PG_TEXT, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA,
                             PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA, PG_BYTEA}},
    [W_PUT_NOTICE] = {"INSERT INTO notices (account, lender, sequence, digest, accepted_at, body, "
                      "cursor, chain_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                      8, {PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA, PG_INT8,
                          PG_BYTEA}},
    [W_PUT_BATCH] = {"INSERT INTO batches (digest, feed, sequence, body, signatures, signers, "
                     "leaves, refused, accepted_at) "
                     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                     9, {PG_BYTEA, PG_TEXT, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_BYTEA,
                         PG_BYTEA, PG_INT8}},
    [W_LAST_BATCH] = {"SELECT sequence FROM batches WHERE feed = $1 "
                      "ORDER BY sequence DESC LIMIT 1",
                      1, {PG_TEXT}},
    [W_BATCH] = {PG_BATCH_ROW, 1, {PG_BYTEA}},
};

static const pg_stmt pg_rsql[R_COUNT] = {
    [R_LATEST] = {"SELECT a.cursor, a.digest, a.accepted_at, a.attestation, a.signers, "
                  "a.chain_hash, a.batch_digest "
                  "FROM accounts c JOIN accepted a ON a.cursor = c.last_cursor "
                  "WHERE c.account = $1",
                  1, {PG_BYTEA}},
    [R_READ_FROM] = {"SELECT cursor, digest, accepted_at, attestation, signers, chain_hash, "
                     "batch_digest "
                     "FROM accepted "
                     "WHERE cursor > $1 ORDER BY cursor LIMIT $2",
                     2, {PG_INT8, PG_INT8}},
    [R_LIST_HELD] = {"SELECT 0::bigint, digest, held_at, attestation, signers, NULL::bytea, "
                     "batch_digest "
                     "FROM held WHERE NOT superseded AND ($1::bytea IS NULL OR account = $1) "
                     "AND ($3::bigint IS NULL OR (held_at, digest) > ($3, $4::bytea)) "
                     "ORDER BY held_at, digest LIMIT $2",
                     4, {PG_BYTEA, PG_INT8, PG_INT8, PG_BYTEA}},
    [R_GET_HELD] = PG_GET_HELD,
    [R_COUNT_HELD] = {"SELECT count(*) FROM held WHERE NOT superseded", 0, {0}},
    [R_PENDING_SUMMARY] = {"SELECT count(*), coalesce(min(first_seen), 0) FROM pending", 0,
                           {0}},
    [R_PENDING_TOTALS] = {"SELECT count(*)::bigint, COALESCE(sum(bytes), 0)::bigint FROM pending",
                          0, {0}},
    /* An account's records newest first, a page below a sequence (NULL: from the top). */
    [R_VALUATIONS] = {"SELECT sequence, attestation FROM accepted "
                      "WHERE account = $1 AND ($2::bytea IS NULL OR sequence < $2) "
                      "ORDER BY sequence DESC LIMIT $3",
                      3, {PG_BYTEA, PG_BYTEA, PG_INT8}},
    [R_READ_AUDIT] = {"SELECT seq, time, actor, action, payload, prev_hash, hash FROM audit "
                      "WHERE seq > $1 ORDER BY seq LIMIT $2",
                      2, {PG_INT8, PG_INT8}},
    [R_RESERVES] = {"SELECT sequence, digest, total, accounts, accounts_root, as_of, signer, "
                    "signature, accepted_at, leaves, signatures FROM reserves WHERE feed = $1 "
                    "ORDER BY sequence DESC LIMIT 1",
                    1, {PG_TEXT}},
    [R_NOTICES] = {"SELECT body, cursor, chain_hash FROM notices WHERE account = $1 "
                   "AND ($2::bytea IS NULL OR lender = $2) "
                   "ORDER BY accepted_at DESC, sequence DESC LIMIT $3",
                   3, {PG_BYTEA, PG_BYTEA, PG_INT8}},
    [R_NOTICES_FROM] = {"SELECT body, cursor, chain_hash FROM notices WHERE cursor > $1 "
                        "ORDER BY cursor LIMIT $2",
                        2, {PG_INT8, PG_INT8}},
    [R_BATCH] = {PG_BATCH_ROW, 1, {PG_BYTEA}},
    /* A batch's members in the rows that keep them: accepted, then held, then those the
     * gateway refused (in the batch's row). */
    [R_BATCH_ACCEPTED] = {"SELECT cursor, attestation FROM accepted WHERE batch_digest = $1", 1,
                          {PG_BYTEA}},
    [R_BATCH_HELD] = {"SELECT attestation FROM held WHERE batch_digest = $1", 1, {PG_BYTEA}},
};

/* Runs a statement without parameters (session set-up, transaction control). */
custos_rc gw_pgstore_exec(PGconn *conn, const char *sql, ExecStatusType want, const char *what,
                          custos_error *err)
{
    PGresult *res = PQexec(conn, sql);
    custos_rc rc = PQresultStatus(res) == want ? CUSTOS_OK : pg_fail(conn, res, what, err);
    PQclear(res);
    return rc;
}

/* Whether c's session is gone and no transaction was open on it. */
static bool pg_lost_idle(const pg_conn *c)
{
    return !c->in_tx && PQstatus(c->conn) != CONNECTION_OK;
}

/* Runs prepared statement i of c with binary results; on success *out gets the result
 * (the caller clears it), or it is cleared here when out is NULL. */
custos_rc gw_pgstore_run(pg_conn *c, int i, const pg_params *p, const char *what,
                         PGresult **out, custos_error *err)
{
    char name[16];
    snprintf(name, sizeof name, "%c%d", c->prefix, i);
    PGresult *res = PQexecPrepared(c->conn, name, p != NULL ? p->n : 0,
                                   p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
                                   p != NULL ? p->formats : NULL, 1);
    ExecStatusType st = PQresultStatus(res);
    /* A session the server ended while idle (a restart, a failover) is found only by using
     * it: a read outside a transaction changed nothing, so reconnect and run it once more.
     * A write is never repeated: it may have been done before the answer was lost. */
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && pg_lost_idle(c) &&
        strncmp(c->stmts[i].sql, "SELECT ", 7) == 0 && gw_pgstore_ready(c, NULL) == CUSTOS_OK) {
        PQclear(res);
        res = PQexecPrepared(c->conn, name, p != NULL ? p->n : 0, p != NULL ? p->values : NULL,
                             p != NULL ? p->lengths : NULL, p != NULL ? p->formats : NULL, 1);
        st = PQresultStatus(res);
    }
    custos_rc rc = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK
                       ? CUSTOS_OK
                       : pg_fail(c->conn, res, what, err);
    if (rc == CUSTOS_OK && out != NULL)
        *out = res;
    else
        PQclear(res);
    return rc;
}

custos_rc gw_pgstore_get_blob(const PGresult *res, int row, int col, uint8_t *out, size_t len,
                              const char *what, custos_error *err)
{
    if (PQgetisnull(res, row, col) || (size_t)PQgetlength(res, row, col) != len)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: %s has the wrong size", what);
    memcpy(out, PQgetvalue(res, row, col), len);
    return CUSTOS_OK;
}

/* A non-negative bigint (8 bytes) or integer (4 bytes) column. */
custos_rc gw_pgstore_get_uint(const PGresult *res, int row, int col, uint64_t *out,
                              const char *what, custos_error *err)
{
    int len = PQgetlength(res, row, col);
    const uint8_t *b = (const uint8_t *)PQgetvalue(res, row, col);
    if (PQgetisnull(res, row, col) || (len != 8 && len != 4) || (b[0] & 0x80) != 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: %s is not a count", what);
    uint64_t v = 0;
    for (int i = 0; i < len; i++)
        v = (v << 8) | b[i];
    *out = v;
    return CUSTOS_OK;
}

/* Server notices (warnings: the set-up keeps the chatty levels away) go to the log. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    gw_log(GW_LOG_WARN, "store_notice", "%.*s", gw_pg_msg_len(message), message);
}

/* Sets up a new session: durable commits and quiet notices. */
static custos_rc pg_configure(pg_conn *c, custos_error *err)
{
    PQsetNoticeProcessor(c->conn, pg_notice, NULL);
    custos_rc rc = gw_pgstore_exec(c->conn, "SET client_min_messages = warning", PGRES_COMMAND_OK,
                                   "configure session", err);
    /* A server or role default of off would acknowledge commits not yet on disk. */
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_exec(c->conn,
                             "SELECT set_config('synchronous_commit', 'on', false) "
                             "WHERE current_setting('synchronous_commit') = 'off'",
                             PGRES_TUPLES_OK, "configure session", err);
    return rc;
}

static custos_rc pg_prepare(pg_conn *c, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    for (int i = 0; rc == CUSTOS_OK && i < c->n_stmts; i++) {
        char name[16];
        snprintf(name, sizeof name, "%c%d", c->prefix, i);
        PGresult *res = PQprepare(c->conn, name, c->stmts[i].sql, c->stmts[i].n_params,
                                  c->stmts[i].types);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pg_fail(c->conn, res, "prepare", err);
        PQclear(res);
    }
    c->prepared = rc == CUSTOS_OK;
    return rc;
}

/* Brings a session back after a lost connection and prepares its statements; outside a
 * transaction only, since the server has rolled back whatever the lost session had open. */
custos_rc gw_pgstore_ready(pg_conn *c, custos_error *err)
{
    if (PQstatus(c->conn) != CONNECTION_OK) {
        if (c->in_tx)
            return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                    "store: the connection to PostgreSQL was lost mid-transaction");
        c->prepared = false;
        PQreset(c->conn);
        if (PQstatus(c->conn) != CONNECTION_OK)
            return gw_pg_unreachable(c->conn, "store", "reconnect", err);
        custos_rc rc = pg_configure(c, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    return c->prepared ? CUSTOS_OK : pg_prepare(c, err);
}

custos_rc gw_pgstore_read(pg_store *s, int i, const pg_params *p, const char *what,
                          PGresult **out, custos_error *err)
{
    pthread_mutex_lock(&s->rlock);
    custos_rc rc = gw_pgstore_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_run(&s->r, i, p, what, out, err);
    pthread_mutex_unlock(&s->rlock);
    return rc;
}

static custos_rc pg_connect(pg_conn *c, const char *conninfo, custos_error *err)
{
    custos_rc rc = gw_pg_connect(conninfo, "custos-gateway", PG_CONNECT_TIMEOUT_S, "store",
                                 &c->conn, err);
    return rc == CUSTOS_OK ? pg_configure(c, err) : rc;
}

custos_rc gw_pgstore_begin(void *impl, custos_error *err)
{
    pg_store *s = impl;
    custos_rc rc = gw_pgstore_ready(&s->w, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_exec(s->w.conn, "BEGIN", PGRES_COMMAND_OK, "begin", err);
    /* As in gw_pgstore_run: a session lost while idle is found by BEGIN; once more. */
    if (rc != CUSTOS_OK && pg_lost_idle(&s->w) && gw_pgstore_ready(&s->w, NULL) == CUSTOS_OK)
        rc = gw_pgstore_exec(s->w.conn, "BEGIN", PGRES_COMMAND_OK, "begin", err);
    s->w.in_tx = rc == CUSTOS_OK;
    if (rc == CUSTOS_OK) {
        rc = gw_pgstore_exec(s->w.conn, "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")",
                             PGRES_TUPLES_OK, "lock the log", err);
        if (rc != CUSTOS_OK)
            gw_pgstore_rollback(s);
    }
    return rc;
}

custos_rc gw_pgstore_commit(void *impl, custos_error *err)
{
    pg_store *s = impl;
    PGresult *res = PQexec(s->w.conn, "COMMIT");
    custos_rc rc = CUSTOS_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = PQstatus(s->w.conn) != CONNECTION_OK
                 ? custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                    "store: connection lost during COMMIT; whether the group "
                                    "was recorded is known only after reconnecting")
                 : pg_fail(s->w.conn, res, "commit", err);
    /* COMMIT of a transaction that already failed succeeds as a ROLLBACK. */
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                              "store: the transaction had failed and was rolled back");
    PQclear(res);
    if (rc != CUSTOS_OK && PQtransactionStatus(s->w.conn) != PQTRANS_IDLE &&
        PQstatus(s->w.conn) == CONNECTION_OK)
        (void)gw_pgstore_exec(s->w.conn, "ROLLBACK", PGRES_COMMAND_OK, "rollback", NULL);
    s->w.in_tx = false;
    return rc;
}

void gw_pgstore_rollback(void *impl)
{
    pg_store *s = impl;
    PGTransactionStatusType ts = PQtransactionStatus(s->w.conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        (void)gw_pgstore_exec(s->w.conn, "ROLLBACK", PGRES_COMMAND_OK, "rollback", NULL);
    s->w.in_tx = false;
}

void gw_pgstore_close(void *impl)
{
    pg_store *s = impl;
    if (s == NULL)
        return;
    PQfinish(s->r.conn);
    PQfinish(s->w.conn);
    gw_store_batch_views_clear(&s->r.batches);
    gw_store_batch_views_clear(&s->w.batches);
    pthread_mutex_destroy(&s->rlock);
    free(s);
}

static const gw_store_ops pg_ops = {
    .shared = true,
    .close = gw_pgstore_close,
    .begin = gw_pgstore_begin,
    .commit = gw_pgstore_commit,
    .rollback = gw_pgstore_rollback,
    .head = gw_pgstore_head,
    .load_accounts = gw_pgstore_load_accounts,
    .get_account = gw_pgstore_get_account,
    .find_accepted = gw_pgstore_find_accepted,
    .get_pending = gw_pgstore_get_pending,
    .list_pending_signers = gw_pgstore_list_pending_signers,
    .put_pending = gw_pgstore_put_pending,
    .pending_usage = gw_pgstore_pending_usage,
    .expire_pending = gw_pgstore_expire_pending,
    .pending_totals = gw_pgstore_pending_totals,
    .put_pending_signer = gw_pgstore_put_pending_signer,
    .put_accepted = gw_pgstore_put_accepted,
    .put_held = gw_pgstore_put_held,
    .get_held = gw_pgstore_get_held,
    .read_held = gw_pgstore_read_held,
    .list_held = gw_pgstore_list_held,
    .count_held = gw_pgstore_count_held,
    .pending_summary = gw_pgstore_pending_summary,
    .drop_held = gw_pgstore_drop_held,
    .put_batch = gw_pgstore_put_batch,
    .last_batch_sequence = gw_pgstore_last_batch_sequence,
    .get_batch = gw_pgstore_get_batch,
    .set_chain_hash = gw_pgstore_set_chain_hash,
    .audit_head = gw_pgstore_audit_head,
    .read_audit = gw_pgstore_read_audit,
    .append_audit = gw_pgstore_append_audit,
    .get_latest = gw_pgstore_get_latest,
    .latest_valuation = gw_pgstore_latest_valuation,
    .read_from = gw_pgstore_read_from,
    .put_reserves = gw_pgstore_put_reserves,
    .get_reserves = gw_pgstore_get_reserves,
    .put_notice = gw_pgstore_put_notice,
    .list_notices = gw_pgstore_list_notices,
    .read_notices_from = gw_pgstore_read_notices_from,
    .record_head = gw_pgstore_record_head,
};

/* Applies every step of schema.c above the version custos_schema records, then records the
 * last one, in one transaction under an advisory lock so that replicas starting together
 * migrate one after the other. */
static custos_rc pg_migrate(PGconn *conn, custos_error *err)
{
    custos_rc rc = gw_pgstore_exec(conn, "BEGIN", PGRES_COMMAND_OK, "begin schema", err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = gw_pgstore_exec(conn, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", PGRES_TUPLES_OK,
                         "lock schema", err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_exec(conn,
                             "CREATE TABLE IF NOT EXISTS custos_schema ("
                             "  one boolean PRIMARY KEY DEFAULT true CHECK (one),"
                             "  version integer NOT NULL)",
                             PGRES_COMMAND_OK, "create schema table", err);
    long have = 0;
    if (rc == CUSTOS_OK) {
        PGresult *res = PQexec(conn, "SELECT version FROM custos_schema");
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            rc = pg_fail(conn, res, "read schema version", err);
        else if (PQntuples(res) == 1)
            have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
    }
    if (rc == CUSTOS_OK && (have < 0 || have > (long)gw_schema_latest()))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "store: the PostgreSQL database has schema version %ld; this "
                              "gateway knows up to %u",
                              have, gw_schema_latest());
    if (rc == CUSTOS_OK && have < (long)gw_schema_latest()) {
        size_t n_steps = 0;
        const gw_schema_step *steps = gw_schema_steps(&n_steps);
        for (size_t i = 0; rc == CUSTOS_OK && i < n_steps; i++)
            if ((long)steps[i].version > have &&
                gw_schema_ddl(&steps[i], GW_SCHEMA_POSTGRESQL) != NULL)
                rc = gw_pgstore_exec(conn, gw_schema_ddl(&steps[i], GW_SCHEMA_POSTGRESQL),
                                     PGRES_COMMAND_OK, "migrate schema", err);
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO custos_schema (version) VALUES (%u) "
                 "ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version",
                 gw_schema_latest());
        if (rc == CUSTOS_OK)
            rc = gw_pgstore_exec(conn, sql, PGRES_COMMAND_OK, "set schema version", err);
    }
    if (rc == CUSTOS_OK)
        return gw_pgstore_exec(conn, "COMMIT", PGRES_COMMAND_OK, "commit schema", err);
    (void)gw_pgstore_exec(conn, "ROLLBACK", PGRES_COMMAND_OK, "rollback schema", NULL);
    return rc;
}

custos_rc gw_store_open_pg(const char *conninfo, gw_store *out, custos_error *err)
{
    out->ops = NULL;
    out->impl = NULL;
    pg_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    if (pthread_mutex_init(&s->rlock, NULL) != 0) {
        free(s);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: cannot create a mutex");
    }
    s->w = (pg_conn){.stmts = pg_wsql, .n_stmts = W_COUNT, .prefix = 'w'};
    s->r = (pg_conn){.stmts = pg_rsql, .n_stmts = R_COUNT, .prefix = 'r'};
    /* Migrate before preparing: the statements need the tables. */
    custos_rc rc = pg_connect(&s->w, conninfo, err);
    if (rc == CUSTOS_OK)
        rc = pg_migrate(s->w.conn, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_ready(&s->w, err);
    if (rc == CUSTOS_OK)
        rc = pg_connect(&s->r, conninfo, err);
    if (rc == CUSTOS_OK)
        rc = gw_pgstore_ready(&s->r, err);
    if (rc != CUSTOS_OK) {
        gw_pgstore_close(s);
        return rc;
    }
    out->ops = &pg_ops;
    out->impl = s;
    return CUSTOS_OK;
}
