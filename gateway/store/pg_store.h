/* The PostgreSQL back end of the store (store.h), over libpq, shared by its files:
 * pg_store.c (sessions, schema, transactions and the table of functions), pg_log.c (the
 * accepted log and the accounts), pg_pending.c (signatures short of their quorum and held
 * rises) and pg_audit.c (the audit log and reserves).
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
#ifndef GATEWAY_STORE_PG_STORE_H
#define GATEWAY_STORE_PG_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store/codec.h"
#include "store/pg_common.h"
#include "store/store.h"


#define PG_MAX_PARAMS 12
typedef struct pg_stmt {
    const char *sql;
    int n_params;
    Oid types[PG_MAX_PARAMS];
} pg_stmt;

enum pg_wstmt {
    W_HEAD,
    W_RECORD_HEAD,
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
    W_PUT_NOTICE,
    W_PENDING_FEED,
    W_PENDING_CREATOR,
    W_EXPIRE_SIGNERS,
    W_EXPIRE_PENDING,
    W_PUT_BATCH,
    W_LAST_BATCH,
    W_BATCH,
    W_COUNT
};

enum pg_rstmt {
    R_LATEST,
    R_READ_FROM,
    R_READ_AUDIT,
    R_RESERVES,
    R_LIST_HELD,
    R_GET_HELD,
    R_COUNT_HELD,
    R_PENDING_SUMMARY,
    R_PENDING_TOTALS,
    R_VALUATIONS,
    R_NOTICES,
    R_NOTICES_FROM,
    R_BATCH,
    R_BATCH_ACCEPTED,
    R_BATCH_HELD,
    R_COUNT
};

/* One session and the statements it must have prepared. */
typedef struct pg_conn {
    PGconn *conn;
    const pg_stmt *stmts;
    int n_stmts;
    char prefix;   /* statement names: <prefix><index> */
    bool prepared; /* this session has the statements (a reset one has none) */
    bool in_tx;    /* between begin and commit/rollback: never reconnect here */
    /* The batch rows this session read last, their trees built (codec.h). */
    gw_store_batch_views batches;
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

static inline void pg_param(pg_params *p, const void *value, size_t len)
{
    p->values[p->n] = value;
    p->lengths[p->n] = (int)len;
    p->formats[p->n] = 1;
    p->n++;
}

/* The parameters of a read of at most max rows after cursor `after`, in from and limit,
 * which p points into; false when there is nothing to read (max 0, or after beyond any
 * cursor, which the server's bigint could not hold). */
static inline bool pg_page_params(pg_params *p, uint8_t from[8], uint8_t limit[8],
                                  uint64_t after, size_t max)
{
    if (max == 0 || after > INT64_MAX)
        return false;
    gw_store_put_u64(from, after);
    gw_store_put_u64(limit, max > INT32_MAX ? INT32_MAX : (uint64_t)max);
    p->n = 0;
    pg_param(p, from, 8);
    pg_param(p, limit, 8);
    return true;
}

/* Errors that a retry or an operator can fix (connection lost, server shutting down, disk
 * full, out of resources, serialization failure, read-only standby) are UNAVAILABLE;
 * anything else, a constraint violation included, means the data or the code is wrong
 * (pg_common.h). */
static inline custos_rc pg_fail(PGconn *conn, const PGresult *res, const char *what,
                                custos_error *err)
{
    return gw_pg_fail(conn, res, "store", what, err);
}

/* The submission stored in column col of a row. */
static inline custos_rc pg_column_submission(const PGresult *res, int row, int col,
                                             custos_submission *out, custos_error *err)
{
    const uint8_t *blob =
        PQgetisnull(res, row, col) ? NULL : (const uint8_t *)PQgetvalue(res, row, col);
    return gw_store_decode_submission(blob, (size_t)PQgetlength(res, row, col), out, err);
}

/* A batch's row as gw_store_batch_view_load takes it, on either session. */
#define PG_BATCH_ROW                                                                       \
    "SELECT feed, body, signatures, signers, leaves, refused, accepted_at FROM batches "   \
    "WHERE digest = $1"

/* ---- pg_store.c ---- */

/* Runs a statement without parameters (session set-up, transaction control). Not
 * must-use: a ROLLBACK after a failure runs for its effect, the failure already reported. */
custos_rc gw_pgstore_exec(PGconn *conn, const char *sql, ExecStatusType want, const char *what,
                          custos_error *err);
/* Runs prepared statement i of c with binary results; on success *out gets the result
 * (the caller clears it), or it is cleared here when out is NULL. */
CUSTOS_MUST_USE
custos_rc gw_pgstore_run(pg_conn *c, int i, const pg_params *p, const char *what,
                         PGresult **out, custos_error *err);
/* Copies a bytea column that must be exactly len bytes. */
CUSTOS_MUST_USE
custos_rc gw_pgstore_get_blob(const PGresult *res, int row, int col, uint8_t *out, size_t len,
                              const char *what, custos_error *err);
/* A non-negative bigint (8 bytes) or integer (4 bytes) column. */
CUSTOS_MUST_USE
custos_rc gw_pgstore_get_uint(const PGresult *res, int row, int col, uint64_t *out,
                              const char *what, custos_error *err);
/* Brings a session back after a lost connection and prepares its statements; outside a
 * transaction only, since the server has rolled back whatever the lost session had open. */
CUSTOS_MUST_USE
custos_rc gw_pgstore_ready(pg_conn *c, custos_error *err);
/* Runs read statement i on the read session, under its lock, the session brought back
 * first if it was lost; the result (the caller clears it) needs no session, so the lock is
 * released on return. Readers whose rows need the session again (a batched record's
 * batch) hold the lock throughout instead (gw_pgstore_read_records). */
CUSTOS_MUST_USE
custos_rc gw_pgstore_read(pg_store *s, int i, const pg_params *p, const char *what,
                          PGresult **out, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_begin(void *impl, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_commit(void *impl, custos_error *err);
void gw_pgstore_rollback(void *impl);
void gw_pgstore_close(void *impl);

/* ---- pg_log.c ---- */

/* Fills rec from a row (cursor, digest, accepted_at, attestation, signers, chain_hash,
 * batch_digest); of a batched record only rec->batch.digest, gw_pgstore_fill_batches the
 * rest. */
CUSTOS_MUST_USE
custos_rc gw_pgstore_row_to_record(const PGresult *res, int row, custos_record *rec,
                                   custos_error *err);
/* Runs read statement i, whose rows are records, into out (at most max; *n of them), each
 * batched record completed, with state (unless UNSPECIFIED) for every record; under the
 * read session's lock throughout, as a batched record's batch is read on it. On failure
 * nothing is left in out. */
CUSTOS_MUST_USE
custos_rc gw_pgstore_read_records(pg_store *s, int i, const pg_params *p, const char *what,
                                  custos_state state, custos_record *out, size_t max,
                                  size_t *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_head(void *impl, uint64_t *cursor, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_record_head(void *impl, uint64_t *cursor, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_load_accounts(void *impl, gw_store_account_fn fn, void *ctx,
                                   custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_get_account(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                 gw_store_account *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_find_accepted(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                   uint64_t sequence, const uint8_t digest[CUSTOS_HASH_LEN],
                                   uint64_t *cursor, uint32_t *n_signers, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_put_accepted(void *impl, const custos_record *rec,
                                  const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                  custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_set_chain_hash(void *impl, uint64_t cursor,
                                    const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_latest_valuation(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                      custos_u256 *value, custos_error *err);
custos_rc gw_pgstore_get_latest(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                custos_record *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_read_from(void *impl, uint64_t after, custos_record *out, size_t max,
                               size_t *n, custos_error *err);

/* ---- pg_pending.c ---- */

CUSTOS_MUST_USE
custos_rc gw_pgstore_get_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 custos_submission *sub, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_list_pending_signers(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                          gw_store_signer_fn fn, void *ctx, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_put_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 const custos_submission *sub, uint64_t first_seen,
                                 const uint8_t creator[CUSTOS_ADDRESS_LEN], uint64_t bytes,
                                 custos_error *err);
custos_rc gw_pgstore_pending_usage(void *impl, const char *feed,
                                   const uint8_t creator[CUSTOS_ADDRESS_LEN],
                                   gw_pending_usage *out, custos_error *err);
custos_rc gw_pgstore_expire_pending(void *impl, uint64_t before, uint64_t *removed,
                                    custos_error *err);
custos_rc gw_pgstore_pending_totals(void *impl, uint64_t *rows, uint64_t *bytes,
                                    custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_put_pending_signer(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                        const gw_store_signer *sg, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_put_held(void *impl, const custos_record *rec, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_get_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                              custos_record *out, bool *superseded, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_read_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_record *out, bool *superseded, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_drop_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_list_held(void *impl, const uint8_t *account, const gw_held_key *after,
                               custos_record *out, size_t max, size_t *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_count_held(void *impl, uint64_t *count, custos_error *err);
custos_rc gw_pgstore_pending_summary(void *impl, uint64_t *count, uint64_t *oldest,
                                     custos_error *err);

/* ---- pg_audit.c ---- */

CUSTOS_MUST_USE
custos_rc gw_pgstore_audit_head(void *impl, uint64_t *seq,
                                uint8_t hash[CUSTOS_AUDIT_HASH_LEN], custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_append_audit(void *impl, const custos_audit_entry *e, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_read_audit(void *impl, uint64_t after, custos_audit_entry *out,
                                size_t max, size_t *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_put_reserves(void *impl, const gw_store_reserves *res, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_get_reserves(void *impl, const char *feed, gw_store_reserves *out,
                                  custos_error *err);

/* ---- pg_notices.c ---- */

CUSTOS_MUST_USE
custos_rc gw_pgstore_put_notice(void *impl, const gw_store_notice *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_list_notices(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  const uint8_t *lender, gw_store_notice *out, size_t max,
                                  size_t *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_read_notices_from(void *impl, uint64_t after, gw_store_notice *out,
                                       size_t max, size_t *n, custos_error *err);

/* ---- pg_batch.c ---- */

/* Whether rec's signatures and signers may be stored: its own (as many signers as
 * signatures, at least one), or, batched, none of its own and the batch's signers. */
bool gw_pgstore_record_signers_ok(const custos_record *rec);
/* Completes the batched records among recs[0..n) (gw_pgstore_row_to_record filled only
 * their batch digest), reading batch rows with statement i (PG_BATCH_ROW) of c unless
 * c's kept views hold the batch already; the caller holds whatever guards c. */
CUSTOS_MUST_USE
custos_rc gw_pgstore_fill_batches(pg_conn *c, int i, custos_record *recs, size_t n,
                                  custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_put_batch(void *impl, const gw_store_batch *b, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_last_batch_sequence(void *impl, const char *feed, uint64_t *sequence,
                                         custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_pgstore_get_batch(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               gw_store_batch *out, custos_error *err);

#endif
