/* The SQLite back end of the store (store.h), shared by its files: sqlite_store.c
 * (connections, schema, checkpoints, transactions and the table of functions),
 * sqlite_log.c (the accepted log and the accounts), sqlite_pending.c (signatures short of
 * their quorum and held rises), sqlite_audit.c (the audit log and reserves) and
 * sqlite_notices.c (the collateral notices), sqlite_batch.c (batches).
 *
 * Two connections: the writer, used only by the committer thread, and a reader behind a
 * mutex for the gRPC threads. With WAL the reader never blocks the writer and only ever
 * sees committed transactions, so a read can never return an attestation whose commit
 * later fails. synchronous=FULL makes COMMIT durable across power loss (rule 8).
 *
 * The tables come from schema.c, shared with the PostgreSQL back end; values are laid out
 * as codec.h says. Statements are prepared once per connection: W_* on the writer, R_* on
 * the reader. */
#ifndef GATEWAY_STORE_SQLITE_STORE_H
#define GATEWAY_STORE_SQLITE_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/codec.h"
#include "store/sqlite_common.h"
#include "store/sqlite_ids.h"
#include "store/store.h"

enum sq_wstmt {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_HEAD,
    W_RECORD_HEAD,
    W_ACCOUNTS,
    W_FIND_ACCEPTED,
    W_GET_PENDING,
    W_LIST_SIGNERS,
    W_PUT_PENDING,
    W_PUT_SIGNER,
    W_ACCOUNT_TIP,
    W_PUT_ACCEPTED,
    W_PUT_ACCOUNT,
    W_SET_ACCOUNT,
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
    W_DATA_VERSION,
    W_MARK_LATE,
    W_ACCOUNT_IDS,
    W_COUNT
};

enum sq_rstmt {
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
    R_ACCOUNT_IDS,
    R_COUNT
};

/* An account's tip (sqlite_log.c) as the writer last stored it, so always with a latest
 * record; counted only in generation tips_gen. used is the writer's tips_clock when the
 * entry was last stored. 64 bytes, one cache line, since each lookup is a miss at
 * a random place. */
typedef struct sq_tip_entry {
    uint32_t gen;
    uint8_t account[CUSTOS_HASH_LEN];
    uint32_t used;
    sqlite3_int64 ordinal, last_cursor;
    uint64_t seq;
} sq_tip_entry;

/* The writer's table of tips: SQ_TIP_SETS sets of SQ_TIP_WAYS entries, an account's set
 * chosen by its id's first bytes (ids are Keccak outputs). Four ways keep a book of 10,000
 * accounts nearly whole (a quarter of them shared a slot when the table was direct-mapped)
 * while a lookup still reads one 256-byte stretch; a full set gives up its least recently
 * used entry, so a book valued together keeps its entries over accounts stored longer ago.
 * 2 MiB, whatever the number of accounts. */
#define SQ_TIP_WAYS 4
#define SQ_TIP_SETS 8192
#define SQ_TIPS (SQ_TIP_WAYS * SQ_TIP_SETS)

/* Batched records of one batch with cursors first..last: a run the open transaction put, or
 * the range its batch row lists (sqlite_batch.c). */
typedef struct sq_run {
    uint8_t batch[CUSTOS_HASH_LEN];
    sqlite3_int64 first, last;
} sq_run;

typedef struct sq_run_list {
    sq_run *v;
    size_t n, cap;
} sq_run_list;

typedef struct sq_store {
    sqlite3 *wdb;
    sqlite3 *rdb;
    pthread_mutex_t rlock; /* guards rdb, its statements and rbatch */
    sqlite3_stmt *w[W_COUNT];
    sqlite3_stmt *r[R_COUNT];
    /* The batch rows each connection read last, their trees built (codec.h). */
    gw_store_batch_views rbatch;
    gw_store_batch_views wbatch; /* the writer's (held records) */
    /* False only while the pending (held) table is known to be empty: then an acceptance
     * has no pending rows to prune (held rises to supersede) and skips those statements.
     * Set when such a row is written (even if its transaction later rolls back) and never
     * cleared while open; this connection is the store's only writer of both tables. */
    bool may_have_pending;
    bool may_have_held;
    /* The tips of the accounts this connection stored records of, so that storing the next
     * record of one does not read its row (10% of a batch's cost); an account pushed
     * out of its full set only costs that read. An entry written in a
     * transaction that rolls back would be wrong, and so would one that another
     * connection's commit made stale (PRAGMA data_version, read as each transaction
     * begins): either moves tips_gen on, which forgets them all. */
    sq_tip_entry *tips; /* in tips_mem, aligned */
    void *tips_mem;
    uint32_t tips_gen;
    uint32_t tips_clock; /* moves on at each entry stored; wraps by forgetting all */
    sqlite3_int64 data_version;
    /* Every account's place (sqlite_ids.h), shared with the reader's threads; the accounts
     * the open transaction inserted, taken out again should it roll back, and the map's
     * upto as it began. */
    gw_sqids *ids;
    uint8_t (*ids_added)[CUSTOS_HASH_LEN];
    size_t n_ids_added, cap_ids_added;
    int64_t ids_upto_at_begin;
    /* The open transaction's batched records and the ranges its batch rows list: at
     * commit, a record that no batch row of the transaction lists is marked late, for the
     * accepted_by_batch index (docs/storage.md §10). */
    sq_run_list runs, listed;
    /* Checkpoints run on their own thread and connection, so copying the WAL into the
     * database and its fsync do not hold up commits. */
    sqlite3 *cdb;
    pthread_t checkpointer;
    bool checkpointer_running;
    pthread_mutex_t clock; /* guards checkpoint_due, checkpointing and stopping */
    pthread_cond_t cwake;  /* the checkpointer: a checkpoint is due, or stop */
    pthread_cond_t cdone;  /* the committer: the checkpointer's checkpoint ended */
    bool checkpoint_due;
    bool checkpointing;
    bool stopping;
} sq_store;

/* Errors that a retry or an operator can fix (disk full, locked, I/O) are UNAVAILABLE;
 * anything else means the data or the code is wrong (sqlite_common.h). */
static inline custos_rc sq_fail(sqlite3 *db, int rc, const char *what, custos_error *err)
{
    return gw_sqlite_fail(db, rc, "store", what, err);
}

static inline custos_rc sq_bind_rc(sqlite3 *db, int rc, const char *what, custos_error *err)
{
    return rc == SQLITE_OK ? CUSTOS_OK : sq_fail(db, rc, what, err);
}

/* The submission stored in column col of the current row. */
static inline custos_rc sq_column_submission(sqlite3_stmt *st, int col, custos_submission *out,
                                             custos_error *err)
{
    const uint8_t *blob = sqlite3_column_blob(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    return gw_store_decode_submission(blob, len, out, err);
}

/* A batch's row as gw_store_batch_view_load takes it, on either connection. */
#define SQ_BATCH_ROW                                                                       \
    "SELECT feed, body, signatures, signers, leaves, refused, accepted_at FROM batches "   \
    "WHERE digest = ?1"

/* ---- sqlite_store.c ---- */

/* Runs a statement that returns no row, and resets it. Not must-use: a ROLLBACK after a
 * failure runs for its effect, the failure already reported. */
custos_rc gw_sqstore_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what,
                               custos_error *err);
/* The account's place in accounts, 0 when it has no row: from the map, else after the
 * map reads in the rows beyond its upto through db and st (W_ or R_ACCOUNT_IDS; the caller
 * holds the connection), unless db is the writer inside its transaction. */
CUSTOS_MUST_USE
custos_rc gw_sqstore_account_place(sq_store *s, sqlite3 *db, sqlite3_stmt *st,
                                   const uint8_t account[CUSTOS_HASH_LEN],
                                   sqlite3_int64 *ordinal, custos_error *err);
/* Puts the account the writer has just inserted at ordinal into the map, noting it for a
 * rollback when a transaction is open. */
CUSTOS_MUST_USE
custos_rc gw_sqstore_account_added(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                                   sqlite3_int64 ordinal, custos_error *err);
/* Copies a blob column that must be exactly len bytes. */
CUSTOS_MUST_USE
custos_rc gw_sqstore_copy_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len,
                               const char *what, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_begin(void *impl, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_commit(void *impl, custos_error *err);
void gw_sqstore_rollback(void *impl);
void gw_sqstore_close(void *impl);

/* ---- sqlite_log.c ---- */

/* What an accepted and a held record store alike: the encoded submission (blob, freed by
 * the caller), its signers packed 20 bytes each, and its sequence. */
typedef struct sq_record_cols {
    uint8_t *blob;
    size_t len;
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    uint8_t seq[8];
} sq_record_cols;

CUSTOS_MUST_USE
custos_rc gw_sqstore_record_columns(const custos_record *rec, sq_record_cols *c,
                                    custos_error *err);
/* Fills rec from a row (cursor, digest, accepted_at, attestation, signers, chain_hash,
 * batch_digest); of a batched record only rec->batch.digest, gw_sqstore_fill_batches the
 * rest. */
CUSTOS_MUST_USE
custos_rc gw_sqstore_row_to_record(sqlite3_stmt *st, custos_record *rec, custos_error *err);
/* Steps st, a bound read statement of s whose rows are records (rlock held), into out
 * (*n of them; the statement's LIMIT bounds them), each batched record completed, with
 * state (unless UNSPECIFIED) for every record, and resets st. On failure nothing is left
 * in out. */
CUSTOS_MUST_USE
custos_rc gw_sqstore_read_records(sq_store *s, sqlite3_stmt *st, const char *what,
                                  custos_state state, custos_record *out, size_t *n,
                                  custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_head(void *impl, uint64_t *cursor, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_record_head(void *impl, uint64_t *cursor, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_load_accounts(void *impl, gw_store_account_fn fn, void *ctx,
                                   custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_find_accepted(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                   uint64_t sequence, const uint8_t digest[CUSTOS_HASH_LEN],
                                   uint64_t *cursor, uint32_t *n_signers, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_put_accepted(void *impl, const custos_record *rec,
                                  const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                  custos_error *err);
void gw_sqstore_prefetch_accounts(void *impl, const custos_batch_member *accounts, size_t n);
CUSTOS_MUST_USE
custos_rc gw_sqstore_set_chain_hash(void *impl, uint64_t cursor,
                                    const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_latest_valuation(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                      custos_u256 *value, custos_error *err);
custos_rc gw_sqstore_get_latest(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                custos_record *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_read_from(void *impl, uint64_t after, custos_record *out, size_t max,
                               size_t *n, custos_error *err);

/* ---- sqlite_pending.c ---- */

/* Drops the account's pending digests at or below seq and marks its held rises below
 * seq superseded (a later record was published or held over them). */
CUSTOS_MUST_USE
custos_rc gw_sqstore_prune(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                           const uint8_t seq[8], custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_get_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 custos_submission *sub, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_list_pending_signers(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                          gw_store_signer_fn fn, void *ctx, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_put_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                 const custos_submission *sub, uint64_t first_seen,
                                 const uint8_t creator[CUSTOS_ADDRESS_LEN], uint64_t bytes,
                                 custos_error *err);
custos_rc gw_sqstore_pending_usage(void *impl, const char *feed,
                                   const uint8_t creator[CUSTOS_ADDRESS_LEN],
                                   gw_pending_usage *out, custos_error *err);
custos_rc gw_sqstore_expire_pending(void *impl, uint64_t before, uint64_t *removed,
                                    custos_error *err);
custos_rc gw_sqstore_pending_totals(void *impl, uint64_t *rows, uint64_t *bytes,
                                    custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_put_pending_signer(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                        const gw_store_signer *sg, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_put_held(void *impl, const custos_record *rec, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_get_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                              custos_record *out, bool *superseded, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_read_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_record *out, bool *superseded, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_drop_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_list_held(void *impl, const uint8_t *account, const gw_held_key *after,
                               custos_record *out, size_t max, size_t *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_count_held(void *impl, uint64_t *count, custos_error *err);
custos_rc gw_sqstore_pending_summary(void *impl, uint64_t *count, uint64_t *oldest,
                                     custos_error *err);

/* ---- sqlite_audit.c ---- */

CUSTOS_MUST_USE
custos_rc gw_sqstore_audit_head(void *impl, uint64_t *seq,
                                uint8_t hash[CUSTOS_AUDIT_HASH_LEN], custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_append_audit(void *impl, const custos_audit_entry *e, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_read_audit(void *impl, uint64_t after, custos_audit_entry *out,
                                size_t max, size_t *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_put_reserves(void *impl, const gw_store_reserves *res, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_get_reserves(void *impl, const char *feed, gw_store_reserves *out,
                                  custos_error *err);

/* ---- sqlite_notices.c ---- */

CUSTOS_MUST_USE
custos_rc gw_sqstore_put_notice(void *impl, const gw_store_notice *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_list_notices(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  const uint8_t *lender, gw_store_notice *out, size_t max,
                                  size_t *n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_read_notices_from(void *impl, uint64_t after, gw_store_notice *out,
                                       size_t max, size_t *n, custos_error *err);

/* Forgets every tip the writer knew: a rollback, another connection's commit, or the wrap of
 * tips_gen or tips_clock. */
void gw_sqstore_tips_forget(sq_store *s);

/* ---- sqlite_batch.c ---- */

/* Whether rec's signatures and signers may be stored: its own (as many signers as
 * signatures, at least one), or, batched, none of its own and the batch's signers. */
bool gw_sqstore_record_signers_ok(const custos_record *rec);
/* Completes the batched records among recs[0..n) (gw_sqstore_row_to_record filled only
 * their batch digest), reading batch rows with st (SQ_BATCH_ROW) on db unless vs, the
 * connection's kept views, hold the batch already; vs keeps what was read. */
CUSTOS_MUST_USE
custos_rc gw_sqstore_fill_batches(sqlite3 *db, sqlite3_stmt *st, gw_store_batch_views *vs,
                                  custos_record *recs, size_t n, custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_put_batch(void *impl, const gw_store_batch *b, custos_error *err);
/* Notes that the open transaction put batched record rec (cursor, batch digest), for
 * gw_sqstore_mark_late. */
CUSTOS_MUST_USE
custos_rc gw_sqstore_note_batched(sq_store *s, const custos_record *rec, custos_error *err);
/* Before the open transaction commits: marks late each batched record it put that none of
 * its batch rows lists (an account released after its batch's commit). */
CUSTOS_MUST_USE
custos_rc gw_sqstore_mark_late(sq_store *s, custos_error *err);
/* Forgets what the transaction noted: it ended, or a new one begins. */
void gw_sqstore_forget_runs(sq_store *s);
/* Frees the lists of runs; on close. */
void gw_sqstore_free_runs(sq_store *s);
CUSTOS_MUST_USE
custos_rc gw_sqstore_last_batch_sequence(void *impl, const char *feed, uint64_t *sequence,
                                         custos_error *err);
CUSTOS_MUST_USE
custos_rc gw_sqstore_get_batch(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                               gw_store_batch *out, custos_error *err);

#endif
