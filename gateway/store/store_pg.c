/* The PostgreSQL back end of the store (store.h), over libpq.
 *
 * Two connections, as in the SQLite back end: the writer, used only by the committer
 * thread inside explicit BEGIN .. COMMIT groups, and a reader behind a mutex for the gRPC
 * threads. The reader runs each query in its own autocommit transaction, so it only ever
 * sees committed groups. COMMIT returns once the commit record is flushed: the session
 * never runs with synchronous_commit off (acknowledged means durable).
 *
 * Every statement is prepared once per session and run with binary parameters and binary
 * results: bytea travels as raw bytes and bigint as 8 big-endian bytes, so nothing is
 * escaped or parsed as text. The tables come from schema.c, shared with SQLite; a unique
 * violation fails the statement like SQLite's constraint error does, and the engine rolls
 * the group back.
 *
 * A lost connection fails the current call with CUSTOS_ERR_UNAVAILABLE; the next begin
 * (the engine probes with one) or read reconnects and prepares the statements again, but
 * never in the middle of a transaction. */
#include "store/store.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "pb_convert.h"
#include "store/schema.h"

/* Type OIDs of the parameters (fixed in PostgreSQL's catalog; the server header that
 * names them is not part of libpq). */
#define PG_BYTEA 17
#define PG_INT8 20
#define PG_INT4 23
#define PG_TEXT 25

#define PG_MAX_PARAMS 11
#define PG_CONNECT_TIMEOUT_S "10"
/* Key of the advisory lock serialising migrations of replicas starting together. */
#define PG_MIGRATE_LOCK "7165041188211363840"
/* Key of the transaction-scoped advisory lock every write group of every replica takes
 * first: groups of all replicas commit one at a time, so cursors are assigned in commit
 * order and each group sees the state the previous one left. */
#define PG_WRITE_LOCK "7165041188211363841"

typedef struct pg_stmt {
    const char *sql;
    int n_params;
    Oid types[PG_MAX_PARAMS];
} pg_stmt;

enum pg_wstmt {
    W_HEAD,
    W_ACCOUNTS,
    W_ACCOUNT,
    W_FIND_ACCEPTED,
    W_GET_PENDING,
    W_LIST_SIGNERS,
    W_PUT_PENDING,
    W_PUT_SIGNER,
    W_PUT_ACCEPTED,
    W_PUT_ACCOUNT,
    W_PRUNE_SIGNERS,
    W_PRUNE_PENDING,
    W_SET_CHAIN,
    W_AUDIT_HEAD,
    W_APPEND_AUDIT,
    W_PUT_RESERVES,
    W_PUT_HELD,
    W_HOLD_SEQUENCE,
    W_GET_HELD,
    W_DROP_HELD,
    W_SUPERSEDE_HELD,
    W_COUNT
};

static const pg_stmt pg_wsql[W_COUNT] = {
    [W_HEAD] = {"SELECT COALESCE(MAX(cursor), 0)::bigint FROM accepted", 0, {0}},
    [W_ACCOUNTS] = {"SELECT account, feed, last_sequence, last_cursor, beneficiary "
                    "FROM accounts",
                    0, {0}},
    [W_ACCOUNT] = {"SELECT account, feed, last_sequence, last_cursor, beneficiary "
                   "FROM accounts WHERE account = $1",
                   1, {PG_BYTEA}},
    [W_FIND_ACCEPTED] = {"SELECT cursor, length(signers) FROM accepted "
                         "WHERE account = $1 AND sequence = $2 AND digest = $3", 3,
                         {PG_BYTEA, PG_BYTEA, PG_BYTEA}},
    [W_GET_PENDING] = {"SELECT attestation FROM pending WHERE digest = $1", 1, {PG_BYTEA}},
    [W_LIST_SIGNERS] = {"SELECT signer, role, signature FROM pending_signers WHERE digest = $1 "
                        "ORDER BY added",
                        1, {PG_BYTEA}},
    [W_PUT_PENDING] = {"INSERT INTO pending (digest, account, sequence, attestation, first_seen) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       5, {PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8}},
    [W_PUT_SIGNER] = {"INSERT INTO pending_signers (digest, signer, role, signature) "
                      "VALUES ($1, $2, $3, $4)",
                      4, {PG_BYTEA, PG_BYTEA, PG_INT4, PG_BYTEA}},
    [W_PUT_ACCEPTED] = {"INSERT INTO accepted (cursor, digest, account, sequence, accepted_at, "
                        "attestation, signers, chain_hash) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        8, {PG_INT8, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA, PG_BYTEA,
                            PG_BYTEA}},
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
    [W_PUT_HELD] = {"INSERT INTO held (digest, account, sequence, held_at, attestation, signers) "
                    "VALUES ($1, $2, $3, $4, $5, $6)",
                    6, {PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA, PG_BYTEA}},
    [W_HOLD_SEQUENCE] = {"UPDATE accounts SET last_sequence = $2 WHERE account = $1", 2,
                         {PG_BYTEA, PG_BYTEA}},
    [W_GET_HELD] = {"SELECT 0::bigint, digest, held_at, attestation, signers, NULL::bytea, "
                    "superseded::int FROM held WHERE digest = $1",
                    1, {PG_BYTEA}},
    [W_DROP_HELD] = {"DELETE FROM held WHERE digest = $1", 1, {PG_BYTEA}},
    [W_SUPERSEDE_HELD] = {"UPDATE held SET superseded = true WHERE account = $1 "
                          "AND sequence < $2",
                          2, {PG_BYTEA, PG_BYTEA}},
    [W_SET_CHAIN] = {"UPDATE accepted SET chain_hash = $2 WHERE cursor = $1", 2,
                     {PG_INT8, PG_BYTEA}},
    [W_AUDIT_HEAD] = {"SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", 0, {0}},
    [W_APPEND_AUDIT] = {"INSERT INTO audit (seq, time, actor, action, payload, prev_hash, hash) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        7, {PG_INT8, PG_INT8, PG_TEXT, PG_TEXT, PG_BYTEA, PG_BYTEA, PG_BYTEA}},
    [W_PUT_RESERVES] = {"INSERT INTO reserves (feed, sequence, digest, total, accounts, "
                        "accounts_root, as_of, signer, signature, accepted_at, leaves) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                        11, {PG_TEXT, PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA,
                             PG_BYTEA, PG_BYTEA, PG_BYTEA, PG_INT8, PG_BYTEA}},
};

enum pg_rstmt {
    R_LATEST,
    R_READ_FROM,
    R_READ_AUDIT,
    R_RESERVES,
    R_LIST_HELD,
    R_COUNT_HELD,
    R_COUNT
};

static const pg_stmt pg_rsql[R_COUNT] = {
    [R_LATEST] = {"SELECT a.cursor, a.digest, a.accepted_at, a.attestation, a.signers, "
                  "a.chain_hash "
                  "FROM accounts c JOIN accepted a ON a.cursor = c.last_cursor "
                  "WHERE c.account = $1",
                  1, {PG_BYTEA}},
    [R_READ_FROM] = {"SELECT cursor, digest, accepted_at, attestation, signers, chain_hash "
                     "FROM accepted "
                     "WHERE cursor > $1 ORDER BY cursor LIMIT $2",
                     2, {PG_INT8, PG_INT8}},
    [R_LIST_HELD] = {"SELECT 0::bigint, digest, held_at, attestation, signers, NULL::bytea "
                     "FROM held WHERE NOT superseded AND ($1::bytea IS NULL OR account = $1) "
                     "ORDER BY held_at, digest LIMIT $2",
                     2, {PG_BYTEA, PG_INT8}},
    [R_COUNT_HELD] = {"SELECT count(*) FROM held WHERE NOT superseded", 0, {0}},
    [R_READ_AUDIT] = {"SELECT seq, time, actor, action, payload, prev_hash, hash FROM audit "
                      "WHERE seq > $1 ORDER BY seq LIMIT $2",
                      2, {PG_INT8, PG_INT8}},
    [R_RESERVES] = {"SELECT sequence, digest, total, accounts, accounts_root, as_of, signer, "
                    "signature, accepted_at, leaves FROM reserves WHERE feed = $1 "
                    "ORDER BY sequence DESC LIMIT 1",
                    1, {PG_TEXT}},
};

/* One session and the statements it must have prepared. */
typedef struct pg_conn {
    PGconn *conn;
    const pg_stmt *stmts;
    int n_stmts;
    char prefix;   /* statement names: <prefix><index> */
    bool prepared; /* this session has the statements (a reset one has none) */
    bool in_tx;    /* between begin and commit/rollback: never reconnect here */
} pg_conn;

typedef struct pg_store {
    pg_conn w;
    pg_conn r;
    pthread_mutex_t rlock; /* guards r */
} pg_store;

/* Binary parameters of one statement; values point into the caller's buffers. */
typedef struct pg_params {
    const char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
    int n;
} pg_params;

static void pg_put_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t pg_get_u64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

static void pg_param(pg_params *p, const void *value, size_t len)
{
    p->values[p->n] = value;
    p->lengths[p->n] = (int)len;
    p->formats[p->n] = 1;
    p->n++;
}

/* The length of a libpq message without its trailing newlines. */
static int pg_msg_len(const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        n--;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* Errors that a retry or an operator can fix (connection lost, server shutting down, disk
 * full, out of resources, serialization failure, read-only standby) are UNAVAILABLE;
 * anything else, a constraint violation included, means the data or the code is wrong. */
static custos_rc pg_fail(PGconn *conn, const PGresult *res, const char *what, custos_error *err)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg == NULL)
        msg = PQerrorMessage(conn);
    if (msg[0] == '\0')
        msg = "no result from the server";
    custos_rc code = CUSTOS_ERR_INTERNAL;
    if (PQstatus(conn) != CONNECTION_OK || state == NULL)
        code = CUSTOS_ERR_UNAVAILABLE;
    else if (strncmp(state, "08", 2) == 0 || strncmp(state, "40", 2) == 0 ||
             strncmp(state, "53", 2) == 0 || strncmp(state, "55", 2) == 0 ||
             strncmp(state, "57", 2) == 0 || strncmp(state, "58", 2) == 0 ||
             strcmp(state, "25006") == 0)
        code = CUSTOS_ERR_UNAVAILABLE;
    if (state == NULL)
        return custos_error_set(err, code, "store: %s: %.*s", what, pg_msg_len(msg), msg);
    return custos_error_set(err, code, "store: %s: %.*s (SQLSTATE %s)", what, pg_msg_len(msg),
                            msg, state);
}

/* Runs a statement without parameters (session set-up, transaction control). */
static custos_rc pg_exec(PGconn *conn, const char *sql, ExecStatusType want, const char *what,
                         custos_error *err)
{
    PGresult *res = PQexec(conn, sql);
    custos_rc rc = PQresultStatus(res) == want ? CUSTOS_OK : pg_fail(conn, res, what, err);
    PQclear(res);
    return rc;
}

/* Runs prepared statement i of c with binary results; on success *out gets the result
 * (the caller clears it), or it is cleared here when out is NULL. */
static custos_rc pg_run(pg_conn *c, int i, const pg_params *p, const char *what,
                        PGresult **out, custos_error *err)
{
    char name[16];
    snprintf(name, sizeof name, "%c%d", c->prefix, i);
    PGresult *res = PQexecPrepared(c->conn, name, p != NULL ? p->n : 0,
                                   p != NULL ? p->values : NULL, p != NULL ? p->lengths : NULL,
                                   p != NULL ? p->formats : NULL, 1);
    ExecStatusType st = PQresultStatus(res);
    custos_rc rc = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK
                       ? CUSTOS_OK
                       : pg_fail(c->conn, res, what, err);
    if (rc == CUSTOS_OK && out != NULL)
        *out = res;
    else
        PQclear(res);
    return rc;
}

static custos_rc pg_get_blob(const PGresult *res, int row, int col, uint8_t *out, size_t len,
                             const char *what, custos_error *err)
{
    if (PQgetisnull(res, row, col) || (size_t)PQgetlength(res, row, col) != len)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: %s has the wrong size", what);
    memcpy(out, PQgetvalue(res, row, col), len);
    return CUSTOS_OK;
}

/* A non-negative bigint (8 bytes) or integer (4 bytes) column. */
static custos_rc pg_get_uint(const PGresult *res, int row, int col, uint64_t *out,
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

static custos_rc pg_encode_submission(const custos_submission *s, uint8_t **buf, size_t *len,
                                      custos_error *err)
{
    Custos__V1__SignedAttestation *m = NULL;
    custos_rc rc = pb_from_submission(s, &m, err);
    if (rc != CUSTOS_OK)
        return rc;
    *len = custos__v1__signed_attestation__get_packed_size(m);
    *buf = *len <= INT_MAX ? malloc(*len > 0 ? *len : 1) : NULL;
    if (*buf == NULL) {
        pb_submission_free(m);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory encoding");
    }
    custos__v1__signed_attestation__pack(m, *buf);
    pb_submission_free(m);
    return CUSTOS_OK;
}

static custos_rc pg_decode_submission(const PGresult *res, int row, int col,
                                      custos_submission *out, custos_error *err)
{
    if (PQgetisnull(res, row, col))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: missing attestation");
    Custos__V1__SignedAttestation *m = custos__v1__signed_attestation__unpack(
        NULL, (size_t)PQgetlength(res, row, col), (const uint8_t *)PQgetvalue(res, row, col));
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: stored attestation does not decode (corrupt row?)");
    custos_rc rc = pb_to_submission(m, out, err);
    custos__v1__signed_attestation__free_unpacked(m, NULL);
    return rc;
}

/* Fills rec from a row (cursor, digest, accepted_at, attestation, signers, chain_hash). */
static custos_rc pg_row_to_record(const PGresult *res, int row, custos_record *rec,
                                  custos_error *err)
{
    memset(rec, 0, sizeof *rec);
    rec->state = CUSTOS_STATE_ACCEPTED;
    custos_rc rc = pg_get_uint(res, row, 0, &rec->cursor, "cursor", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, row, 1, rec->digest, CUSTOS_HASH_LEN, "digest", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_uint(res, row, 2, &rec->accepted_at, "accepted_at", err);
    if (rc == CUSTOS_OK)
        rc = pg_decode_submission(res, row, 3, &rec->sub, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t bytes = (size_t)PQgetlength(res, row, 4);
    if (PQgetisnull(res, row, 4) || bytes != rec->sub.n_sigs * CUSTOS_ADDRESS_LEN) {
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
        rc = pg_get_blob(res, row, 5, rec->chain_hash, CUSTOS_HASH_LEN, "chain_hash", err);
        if (rc != CUSTOS_OK) {
            custos_submission_clear(&rec->sub);
            return rc;
        }
    }
    return CUSTOS_OK;
}

/* Server notices (warnings: the set-up keeps the chatty levels away) go to the log. */
static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    gw_log(GW_LOG_WARN, "store_notice", "%.*s", pg_msg_len(message), message);
}

/* Sets up a new session: durable commits and quiet notices. */
static custos_rc pg_configure(pg_conn *c, custos_error *err)
{
    PQsetNoticeProcessor(c->conn, pg_notice, NULL);
    custos_rc rc = pg_exec(c->conn, "SET client_min_messages = warning", PGRES_COMMAND_OK,
                           "configure session", err);
    /* A server or role default of off would acknowledge commits not yet on disk. */
    if (rc == CUSTOS_OK)
        rc = pg_exec(c->conn,
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
static custos_rc pg_ready(pg_conn *c, custos_error *err)
{
    if (PQstatus(c->conn) != CONNECTION_OK) {
        if (c->in_tx)
            return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                    "store: the connection to PostgreSQL was lost mid-transaction");
        c->prepared = false;
        PQreset(c->conn);
        if (PQstatus(c->conn) != CONNECTION_OK)
            return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                    "store: cannot reconnect to PostgreSQL: %.*s",
                                    pg_msg_len(PQerrorMessage(c->conn)),
                                    PQerrorMessage(c->conn));
        custos_rc rc = pg_configure(c, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    return c->prepared ? CUSTOS_OK : pg_prepare(c, err);
}

static custos_rc pg_connect(pg_conn *c, const char *conninfo, custos_error *err)
{
    /* Defaults first: whatever the connection string sets overrides them. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const values[] = {PG_CONNECT_TIMEOUT_S, "custos-gateway", conninfo, NULL};
    c->conn = PQconnectdbParams(keys, values, 1);
    if (c->conn == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory connecting");
    /* libpq's messages name the host and port, never the password. */
    if (PQstatus(c->conn) != CONNECTION_OK)
        return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                "store: cannot connect to PostgreSQL: %.*s",
                                pg_msg_len(PQerrorMessage(c->conn)), PQerrorMessage(c->conn));
    return pg_configure(c, err);
}

static void pg_rollback(void *impl);

static custos_rc pg_begin(void *impl, custos_error *err)
{
    pg_store *s = impl;
    custos_rc rc = pg_ready(&s->w, err);
    if (rc == CUSTOS_OK)
        rc = pg_exec(s->w.conn, "BEGIN", PGRES_COMMAND_OK, "begin", err);
    s->w.in_tx = rc == CUSTOS_OK;
    if (rc == CUSTOS_OK) {
        rc = pg_exec(s->w.conn, "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")",
                     PGRES_TUPLES_OK, "lock the log", err);
        if (rc != CUSTOS_OK)
            pg_rollback(s);
    }
    return rc;
}

static custos_rc pg_commit(void *impl, custos_error *err)
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
        (void)pg_exec(s->w.conn, "ROLLBACK", PGRES_COMMAND_OK, "rollback", NULL);
    s->w.in_tx = false;
    return rc;
}

static void pg_rollback(void *impl)
{
    pg_store *s = impl;
    PGTransactionStatusType ts = PQtransactionStatus(s->w.conn);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        (void)pg_exec(s->w.conn, "ROLLBACK", PGRES_COMMAND_OK, "rollback", NULL);
    s->w.in_tx = false;
}

static custos_rc pg_head(void *impl, uint64_t *cursor, custos_error *err)
{
    pg_store *s = impl;
    custos_rc rc = pg_ready(&s->w, err);
    if (rc != CUSTOS_OK)
        return rc;
    PGresult *res = NULL;
    rc = pg_run(&s->w, W_HEAD, NULL, "head", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1 ? pg_get_uint(res, 0, 0, cursor, "head", err)
                             : custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: head: no row");
    PQclear(res);
    return rc;
}

/* Fills a from a row (account, feed, last_sequence, last_cursor). */
static custos_rc pg_row_to_account(const PGresult *res, int row, gw_store_account *a,
                                   custos_error *err)
{
    memset(a, 0, sizeof *a);
    uint8_t seq[8];
    custos_rc rc = pg_get_blob(res, row, 0, a->account, CUSTOS_HASH_LEN, "account", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, row, 2, seq, sizeof seq, "last_sequence", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_uint(res, row, 3, &a->last_cursor, "last_cursor", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, row, 4, a->beneficiary, CUSTOS_ADDRESS_LEN, "beneficiary", err);
    int flen = PQgetlength(res, row, 1);
    if (rc == CUSTOS_OK && (PQgetisnull(res, row, 1) || flen > CUSTOS_FEED_MAX ||
                            memchr(PQgetvalue(res, row, 1), '\0', (size_t)flen) != NULL))
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad feed in accounts");
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(a->feed, PQgetvalue(res, row, 1), (size_t)flen);
    a->last_sequence = pg_get_u64(seq);
    return CUSTOS_OK;
}

static custos_rc pg_load_accounts(void *impl, gw_store_account_fn fn, void *ctx,
                                  custos_error *err)
{
    pg_store *s = impl;
    custos_rc rc = pg_ready(&s->w, err);
    if (rc != CUSTOS_OK)
        return rc;
    PGresult *res = NULL;
    rc = pg_run(&s->w, W_ACCOUNTS, NULL, "load accounts", &res, err);
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

static custos_rc pg_get_account(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                gw_store_account *out, custos_error *err)
{
    pg_store *s = impl;
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = pg_run(&s->w, W_ACCOUNT, &p, "read account", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1 ? pg_row_to_account(res, 0, out, err) : CUSTOS_ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

static custos_rc pg_find_accepted(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  uint64_t sequence, const uint8_t digest[CUSTOS_HASH_LEN],
                                  uint64_t *cursor, uint32_t *n_signers, custos_error *err)
{
    pg_store *s = impl;
    uint8_t seq[8];
    pg_put_u64(seq, sequence);
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = pg_run(&s->w, W_FIND_ACCEPTED, &p, "find accepted", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = CUSTOS_ERR_NOT_FOUND;
    uint64_t bytes = 0;
    if (PQntuples(res) == 1) {
        rc = pg_get_uint(res, 0, 0, cursor, "cursor", err);
        if (rc == CUSTOS_OK)
            rc = pg_get_uint(res, 0, 1, &bytes, "signers", err);
        if (rc == CUSTOS_OK)
            *n_signers = (uint32_t)(bytes / CUSTOS_ADDRESS_LEN);
    }
    PQclear(res);
    return rc;
}

static custos_rc pg_get_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                custos_submission *sub, custos_error *err)
{
    pg_store *s = impl;
    memset(sub, 0, sizeof *sub);
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = pg_run(&s->w, W_GET_PENDING, &p, "get pending", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1 ? pg_decode_submission(res, 0, 0, sub, err)
                                       : CUSTOS_ERR_NOT_FOUND;
    PQclear(res);
    return rc;
}

static custos_rc pg_list_pending_signers(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                         gw_store_signer_fn fn, void *ctx, custos_error *err)
{
    pg_store *s = impl;
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = pg_run(&s->w, W_LIST_SIGNERS, &p, "list signers", &res, err);
    for (int row = 0; rc == CUSTOS_OK && row < PQntuples(res); row++) {
        gw_store_signer sg;
        memset(&sg, 0, sizeof sg);
        uint64_t role = 0;
        rc = pg_get_blob(res, row, 0, sg.address, CUSTOS_ADDRESS_LEN, "signer", err);
        if (rc == CUSTOS_OK)
            rc = pg_get_blob(res, row, 2, sg.sig.bytes, CUSTOS_SIGNATURE_LEN, "signature", err);
        if (rc == CUSTOS_OK)
            rc = pg_get_uint(res, row, 1, &role, "role", err);
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

static custos_rc pg_put_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                const custos_submission *sub, uint64_t first_seen,
                                custos_error *err)
{
    pg_store *s = impl;
    if (first_seen > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "store: pending row out of range");
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc rc = pg_encode_submission(sub, &blob, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t seq[8], seen[8];
    pg_put_u64(seq, sub->att.sequence);
    pg_put_u64(seen, first_seen);
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    pg_param(&p, sub->att.account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, blob, len);
    pg_param(&p, seen, sizeof seen);
    rc = pg_run(&s->w, W_PUT_PENDING, &p, "put pending", NULL, err);
    free(blob);
    return rc;
}

static custos_rc pg_put_pending_signer(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                       const gw_store_signer *sg, custos_error *err)
{
    pg_store *s = impl;
    uint8_t role[4] = {0, 0, 0, (uint8_t)sg->role};
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    pg_param(&p, sg->address, CUSTOS_ADDRESS_LEN);
    pg_param(&p, role, sizeof role);
    pg_param(&p, sg->sig.bytes, CUSTOS_SIGNATURE_LEN);
    return pg_run(&s->w, W_PUT_SIGNER, &p, "put pending signer", NULL, err);
}

static custos_rc pg_put_accepted(void *impl, const custos_record *rec,
                                 const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    pg_store *s = impl;
    if (rec->cursor == 0 || rec->cursor > INT64_MAX || rec->accepted_at > INT64_MAX ||
        rec->n_signers != rec->sub.n_sigs || rec->n_signers == 0 ||
        rec->n_signers > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: record with cursor %llu and %zu signers for %zu "
                                "signatures cannot be stored",
                                (unsigned long long)rec->cursor, rec->n_signers,
                                rec->sub.n_sigs);
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc rc = pg_encode_submission(&rec->sub, &blob, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    for (size_t i = 0; i < rec->n_signers; i++)
        memcpy(signers + i * CUSTOS_ADDRESS_LEN, rec->signers[i], CUSTOS_ADDRESS_LEN);
    uint8_t cursor[8], seq[8], at[8];
    pg_put_u64(cursor, rec->cursor);
    pg_put_u64(seq, rec->sub.att.sequence);
    pg_put_u64(at, rec->accepted_at);
    const uint8_t *account = rec->sub.att.account;

    pg_params p = {.n = 0};
    pg_param(&p, cursor, sizeof cursor);
    pg_param(&p, rec->digest, CUSTOS_HASH_LEN);
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, at, sizeof at);
    pg_param(&p, blob, len);
    pg_param(&p, signers, rec->n_signers * CUSTOS_ADDRESS_LEN);
    pg_param(&p, rec->chain_hash, CUSTOS_HASH_LEN);
    rc = pg_run(&s->w, W_PUT_ACCEPTED, &p, "put accepted", NULL, err);
    free(blob);
    if (rc != CUSTOS_OK)
        return rc;

    p.n = 0;
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, rec->sub.feed, strlen(rec->sub.feed));
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, cursor, sizeof cursor);
    pg_param(&p, beneficiary, CUSTOS_ADDRESS_LEN);
    rc = pg_run(&s->w, W_PUT_ACCOUNT, &p, "put account", NULL, err);

    /* Signers first: their delete finds the digests through the pending rows. */
    p.n = 0;
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->w, W_PRUNE_SIGNERS, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->w, W_PRUNE_PENDING, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->w, W_SUPERSEDE_HELD, &p, "supersede held", NULL, err);
    return rc;
}

static custos_rc pg_put_held(void *impl, const custos_record *rec, custos_error *err)
{
    pg_store *s = impl;
    if (rec->accepted_at > INT64_MAX || rec->n_signers != rec->sub.n_sigs ||
        rec->n_signers == 0 || rec->n_signers > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: held record with %zu signers for %zu signatures "
                                "cannot be stored", rec->n_signers, rec->sub.n_sigs);
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc rc = pg_encode_submission(&rec->sub, &blob, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    for (size_t i = 0; i < rec->n_signers; i++)
        memcpy(signers + i * CUSTOS_ADDRESS_LEN, rec->signers[i], CUSTOS_ADDRESS_LEN);
    uint8_t seq[8], at[8];
    pg_put_u64(seq, rec->sub.att.sequence);
    pg_put_u64(at, rec->accepted_at);
    const uint8_t *account = rec->sub.att.account;

    pg_params p = {.n = 0};
    pg_param(&p, rec->digest, CUSTOS_HASH_LEN);
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, at, sizeof at);
    pg_param(&p, blob, len);
    pg_param(&p, signers, rec->n_signers * CUSTOS_ADDRESS_LEN);
    rc = pg_run(&s->w, W_PUT_HELD, &p, "put held", NULL, err);
    free(blob);
    if (rc != CUSTOS_OK)
        return rc;

    /* The held rise consumes its sequence (rule 4) but leaves the latest record as it is. */
    p.n = 0;
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pg_param(&p, seq, sizeof seq);
    PGresult *res = NULL;
    rc = pg_run(&s->w, W_HOLD_SEQUENCE, &p, "hold sequence", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    bool updated = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    if (!updated)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: a held record needs an account with a published one");
    rc = pg_run(&s->w, W_PRUNE_SIGNERS, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->w, W_PRUNE_PENDING, &p, "prune pending", NULL, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->w, W_SUPERSEDE_HELD, &p, "supersede held", NULL, err);
    return rc;
}

static custos_rc pg_get_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                             custos_record *out, bool *superseded, custos_error *err)
{
    pg_store *s = impl;
    memset(out, 0, sizeof *out);
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    PGresult *res = NULL;
    custos_rc rc = pg_run(&s->w, W_GET_HELD, &p, "get held", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = CUSTOS_ERR_NOT_FOUND;
    if (PQntuples(res) == 1) {
        uint64_t flag = 0;
        rc = pg_get_uint(res, 0, 6, &flag, "superseded", err);
        if (rc == CUSTOS_OK)
            rc = pg_row_to_record(res, 0, out, err);
        if (rc == CUSTOS_OK) {
            out->state = CUSTOS_STATE_HELD;
            *superseded = flag != 0;
        }
    }
    PQclear(res);
    return rc;
}

static custos_rc pg_drop_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                              custos_error *err)
{
    pg_store *s = impl;
    pg_params p = {.n = 0};
    pg_param(&p, digest, CUSTOS_HASH_LEN);
    return pg_run(&s->w, W_DROP_HELD, &p, "drop held", NULL, err);
}

static custos_rc pg_audit_head(void *impl, uint64_t *seq, uint8_t hash[CUSTOS_AUDIT_HASH_LEN],
                               custos_error *err)
{
    pg_store *s = impl;
    *seq = 0;
    memset(hash, 0, CUSTOS_AUDIT_HASH_LEN);
    custos_rc rc = pg_ready(&s->w, err);
    if (rc != CUSTOS_OK)
        return rc;
    PGresult *res = NULL;
    rc = pg_run(&s->w, W_AUDIT_HEAD, NULL, "audit head", &res, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (PQntuples(res) == 1) {
        rc = pg_get_uint(res, 0, 0, seq, "audit seq", err);
        if (rc == CUSTOS_OK)
            rc = pg_get_blob(res, 0, 1, hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
    }
    PQclear(res);
    return rc;
}

static custos_rc pg_append_audit(void *impl, const custos_audit_entry *e, custos_error *err)
{
    pg_store *s = impl;
    if (e->seq == 0 || e->seq > INT64_MAX || e->time > INT64_MAX || e->payload_len > INT_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: audit entry %llu cannot be stored",
                                (unsigned long long)e->seq);
    uint8_t seq[8], time[8];
    pg_put_u64(seq, e->seq);
    pg_put_u64(time, e->time);
    pg_params p = {.n = 0};
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, time, sizeof time);
    pg_param(&p, e->actor, strlen(e->actor));
    pg_param(&p, e->action, strlen(e->action));
    pg_param(&p, e->payload_len > 0 ? (const void *)e->payload : "", e->payload_len);
    pg_param(&p, e->prev_hash, CUSTOS_AUDIT_HASH_LEN);
    pg_param(&p, e->hash, CUSTOS_AUDIT_HASH_LEN);
    return pg_run(&s->w, W_APPEND_AUDIT, &p, "append audit", NULL, err);
}

static custos_rc pg_set_chain_hash(void *impl, uint64_t cursor,
                                   const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    pg_store *s = impl;
    if (cursor == 0 || cursor > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: no record has cursor %llu",
                                (unsigned long long)cursor);
    uint8_t c[8];
    pg_put_u64(c, cursor);
    pg_params p = {.n = 0};
    pg_param(&p, c, sizeof c);
    pg_param(&p, hash, CUSTOS_HASH_LEN);
    return pg_run(&s->w, W_SET_CHAIN, &p, "set chain hash", NULL, err);
}

static custos_rc pg_get_latest(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                               custos_record *out, custos_error *err)
{
    pg_store *s = impl;
    memset(out, 0, sizeof *out);
    pg_params p = {.n = 0};
    pg_param(&p, account, CUSTOS_HASH_LEN);
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = pg_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->r, R_LATEST, &p, "get latest", &res, err);
    pthread_mutex_unlock(&s->rlock);
    if (rc != CUSTOS_OK)
        return rc;
    if (PQntuples(res) == 1)
        rc = pg_row_to_record(res, 0, out, err);
    else
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "no accepted attestation for this account");
    PQclear(res);
    return rc;
}

static custos_rc pg_list_held(void *impl, const uint8_t *account, custos_record *out,
                              size_t max, size_t *n, custos_error *err)
{
    pg_store *s = impl;
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    uint8_t limit[8];
    pg_put_u64(limit, max > INT32_MAX ? INT32_MAX : max);
    pg_params p = {.n = 0};
    pg_param(&p, account, account != NULL ? CUSTOS_HASH_LEN : 0); /* NULL value: SQL NULL */
    pg_param(&p, limit, sizeof limit);
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = pg_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->r, R_LIST_HELD, &p, "list held", &res, err);
    pthread_mutex_unlock(&s->rlock);
    if (rc != CUSTOS_OK)
        return rc;
    int rows = PQntuples(res);
    for (int row = 0; rc == CUSTOS_OK && row < rows && (size_t)row < max; row++) {
        rc = pg_row_to_record(res, row, &out[*n], err);
        if (rc == CUSTOS_OK)
            out[(*n)++].state = CUSTOS_STATE_HELD;
    }
    PQclear(res);
    if (rc != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_record_clear(&out[i]);
        *n = 0;
    }
    return rc;
}

static custos_rc pg_count_held(void *impl, uint64_t *count, custos_error *err)
{
    pg_store *s = impl;
    *count = 0;
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = pg_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->r, R_COUNT_HELD, NULL, "count held", &res, err);
    pthread_mutex_unlock(&s->rlock);
    if (rc != CUSTOS_OK)
        return rc;
    rc = PQntuples(res) == 1 ? pg_get_uint(res, 0, 0, count, "held count", err)
                             : custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: no held count");
    PQclear(res);
    return rc;
}

static custos_rc pg_read_from(void *impl, uint64_t after, custos_record *out, size_t max,
                              size_t *n, custos_error *err)
{
    pg_store *s = impl;
    *n = 0;
    if (max == 0 || after > INT64_MAX)
        return CUSTOS_OK;
    uint8_t from[8], limit[8];
    pg_put_u64(from, after);
    pg_put_u64(limit, max > INT32_MAX ? INT32_MAX : max);
    pg_params p = {.n = 0};
    pg_param(&p, from, sizeof from);
    pg_param(&p, limit, sizeof limit);
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = pg_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->r, R_READ_FROM, &p, "read from", &res, err);
    pthread_mutex_unlock(&s->rlock);
    if (rc != CUSTOS_OK)
        return rc;
    int rows = PQntuples(res);
    for (int row = 0; rc == CUSTOS_OK && row < rows && (size_t)row < max; row++) {
        rc = pg_row_to_record(res, row, &out[*n], err);
        if (rc == CUSTOS_OK)
            (*n)++;
    }
    PQclear(res);
    if (rc != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_record_clear(&out[i]);
        *n = 0;
    }
    return rc;
}

/* Fills e from a row (seq, time, actor, action, payload, prev_hash, hash). */
static custos_rc pg_row_to_audit(const PGresult *res, int row, custos_audit_entry *e,
                                 custos_error *err)
{
    memset(e, 0, sizeof *e);
    custos_rc rc = pg_get_uint(res, row, 0, &e->seq, "audit seq", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_uint(res, row, 1, &e->time, "audit time", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, row, 5, e->prev_hash, CUSTOS_AUDIT_HASH_LEN, "audit prev_hash", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, row, 6, e->hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
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

static custos_rc pg_read_audit(void *impl, uint64_t after, custos_audit_entry *out, size_t max,
                               size_t *n, custos_error *err)
{
    pg_store *s = impl;
    *n = 0;
    if (max == 0 || after > INT64_MAX)
        return CUSTOS_OK;
    uint8_t from[8], limit[8];
    pg_put_u64(from, after);
    pg_put_u64(limit, max > INT32_MAX ? INT32_MAX : max);
    pg_params p = {.n = 0};
    pg_param(&p, from, sizeof from);
    pg_param(&p, limit, sizeof limit);
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = pg_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->r, R_READ_AUDIT, &p, "read audit", &res, err);
    pthread_mutex_unlock(&s->rlock);
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

static custos_rc pg_put_reserves(void *impl, const gw_store_reserves *res, custos_error *err)
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
    pg_put_u64(seq, res->r.sequence);
    pg_put_u64(as_of, res->r.as_of);
    pg_put_u64(accounts, res->r.accounts);
    pg_put_u64(at, res->accepted_at);
    custos_u256_to_be(&res->r.total_collateral, total);
    pg_params p = {.n = 0};
    pg_param(&p, res->feed, strlen(res->feed));
    pg_param(&p, seq, sizeof seq);
    pg_param(&p, res->digest, CUSTOS_HASH_LEN);
    pg_param(&p, total, sizeof total);
    pg_param(&p, accounts, sizeof accounts);
    pg_param(&p, res->r.accounts_root, CUSTOS_HASH_LEN);
    pg_param(&p, as_of, sizeof as_of);
    pg_param(&p, res->signer, CUSTOS_ADDRESS_LEN);
    pg_param(&p, res->sig.bytes, CUSTOS_SIGNATURE_LEN);
    pg_param(&p, at, sizeof at);
    pg_param(&p, leaves, len);
    custos_rc rc = pg_run(&s->w, W_PUT_RESERVES, &p, "put reserves", NULL, err);
    free(leaves);
    return rc;
}

static custos_rc pg_row_to_reserves(const PGresult *res, gw_store_reserves *out,
                                    custos_error *err)
{
    uint8_t seq[8], as_of[8], total[32];
    custos_rc rc = pg_get_blob(res, 0, 0, seq, sizeof seq, "reserves sequence", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, 0, 1, out->digest, CUSTOS_HASH_LEN, "reserves digest", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, 0, 2, total, sizeof total, "reserves total", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_uint(res, 0, 3, &out->r.accounts, "reserves accounts", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, 0, 4, out->r.accounts_root, CUSTOS_HASH_LEN, "reserves root",
                         err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, 0, 5, as_of, sizeof as_of, "reserves asOf", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, 0, 6, out->signer, CUSTOS_ADDRESS_LEN, "reserves signer", err);
    if (rc == CUSTOS_OK)
        rc = pg_get_blob(res, 0, 7, out->sig.bytes, CUSTOS_SIGNATURE_LEN, "reserves signature",
                         err);
    if (rc == CUSTOS_OK)
        rc = pg_get_uint(res, 0, 8, &out->accepted_at, "reserves accepted_at", err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_feed_id(out->feed, out->r.feed_id);
    out->r.sequence = pg_get_u64(seq);
    out->r.as_of = pg_get_u64(as_of);
    custos_u256_from_be(&out->r.total_collateral, total);
    if (PQgetisnull(res, 0, 9))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: reserves without leaves");
    return gw_store_reserves_decode(out, (const uint8_t *)PQgetvalue(res, 0, 9),
                                    (size_t)PQgetlength(res, 0, 9), err);
}

static custos_rc pg_get_reserves(void *impl, const char *feed, gw_store_reserves *out,
                                 custos_error *err)
{
    pg_store *s = impl;
    memset(out, 0, sizeof *out);
    if (strlen(feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no reserves for this feed");
    strcpy(out->feed, feed);
    pg_params p = {.n = 0};
    pg_param(&p, feed, strlen(feed));
    pthread_mutex_lock(&s->rlock);
    PGresult *res = NULL;
    custos_rc rc = pg_ready(&s->r, err);
    if (rc == CUSTOS_OK)
        rc = pg_run(&s->r, R_RESERVES, &p, "get reserves", &res, err);
    pthread_mutex_unlock(&s->rlock);
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

static void pg_close(void *impl)
{
    pg_store *s = impl;
    if (s == NULL)
        return;
    PQfinish(s->r.conn);
    PQfinish(s->w.conn);
    pthread_mutex_destroy(&s->rlock);
    free(s);
}

static const gw_store_ops pg_ops = {
    .shared = true,
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .head = pg_head,
    .load_accounts = pg_load_accounts,
    .get_account = pg_get_account,
    .find_accepted = pg_find_accepted,
    .get_pending = pg_get_pending,
    .list_pending_signers = pg_list_pending_signers,
    .put_pending = pg_put_pending,
    .put_pending_signer = pg_put_pending_signer,
    .put_accepted = pg_put_accepted,
    .put_held = pg_put_held,
    .get_held = pg_get_held,
    .list_held = pg_list_held,
    .count_held = pg_count_held,
    .drop_held = pg_drop_held,
    .set_chain_hash = pg_set_chain_hash,
    .audit_head = pg_audit_head,
    .read_audit = pg_read_audit,
    .append_audit = pg_append_audit,
    .get_latest = pg_get_latest,
    .read_from = pg_read_from,
    .put_reserves = pg_put_reserves,
    .get_reserves = pg_get_reserves,
};

/* Applies every step of schema.c above the version custos_schema records, then records the
 * last one, in one transaction under an advisory lock so that replicas starting together
 * migrate one after the other. */
static custos_rc pg_migrate(PGconn *conn, custos_error *err)
{
    custos_rc rc = pg_exec(conn, "BEGIN", PGRES_COMMAND_OK, "begin schema", err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = pg_exec(conn, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", PGRES_TUPLES_OK,
                 "lock schema", err);
    if (rc == CUSTOS_OK)
        rc = pg_exec(conn,
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
            if ((long)steps[i].version > have)
                rc = pg_exec(conn, gw_schema_ddl(&steps[i], GW_SCHEMA_POSTGRESQL),
                             PGRES_COMMAND_OK, "migrate schema", err);
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO custos_schema (version) VALUES (%u) "
                 "ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version",
                 gw_schema_latest());
        if (rc == CUSTOS_OK)
            rc = pg_exec(conn, sql, PGRES_COMMAND_OK, "set schema version", err);
    }
    if (rc == CUSTOS_OK)
        return pg_exec(conn, "COMMIT", PGRES_COMMAND_OK, "commit schema", err);
    (void)pg_exec(conn, "ROLLBACK", PGRES_COMMAND_OK, "rollback schema", NULL);
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
        rc = pg_ready(&s->w, err);
    if (rc == CUSTOS_OK)
        rc = pg_connect(&s->r, conninfo, err);
    if (rc == CUSTOS_OK)
        rc = pg_ready(&s->r, err);
    if (rc != CUSTOS_OK) {
        pg_close(s);
        return rc;
    }
    out->ops = &pg_ops;
    out->impl = s;
    return CUSTOS_OK;
}
