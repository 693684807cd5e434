/* The SQLite back end of the store (store.h).
 *
 * Two connections: the writer, used only by the committer thread, and a reader behind a
 * mutex for the gRPC threads. With WAL the reader never blocks the writer and only ever
 * sees committed transactions, so a read can never return an attestation whose commit
 * later fails. synchronous=FULL makes COMMIT durable across power loss (DESIGN rule 8).
 *
 * The tables come from schema.c, shared with the PostgreSQL back end; sequences are
 * 8-byte big-endian blobs there, so byte order is numeric order for every uint64. */
#include "store/store.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "pb_convert.h"
#include "store/schema.h"

#define SQ_BUSY_TIMEOUT_MS 5000
/* WAL size (pages) at which the checkpointer thread copies it into the database: SQLite's
 * own autocheckpoint threshold. */
#define SQ_WAL_CHECKPOINT_PAGES 1000
/* WAL size at which the committer checkpoints itself: bounds the WAL when the checkpointer
 * never finds a moment between two commits to let SQLite restart it. */
#define SQ_WAL_HARD_PAGES 8000

enum sq_wstmt {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_HEAD,
    W_ACCOUNTS,
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

static const char *const sq_wsql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_HEAD] = "SELECT COALESCE(MAX(cursor), 0) FROM accepted",
    [W_ACCOUNTS] = "SELECT account, feed, last_sequence, last_cursor, beneficiary FROM accounts",
    [W_FIND_ACCEPTED] = "SELECT cursor, length(signers) FROM accepted "
                        "WHERE account = ?1 AND sequence = ?2 AND digest = ?3",
    [W_GET_PENDING] = "SELECT attestation FROM pending WHERE digest = ?1",
    [W_LIST_SIGNERS] = "SELECT signer, role, signature FROM pending_signers WHERE digest = ?1 "
                       "ORDER BY rowid",
    [W_PUT_PENDING] = "INSERT INTO pending (digest, account, sequence, attestation, first_seen) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    [W_PUT_SIGNER] = "INSERT INTO pending_signers (digest, signer, role, signature) "
                     "VALUES (?1, ?2, ?3, ?4)",
    [W_PUT_ACCEPTED] = "INSERT INTO accepted (cursor, digest, account, sequence, accepted_at, "
                       "attestation, signers, chain_hash) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [W_SET_CHAIN] = "UPDATE accepted SET chain_hash = ?2 WHERE cursor = ?1",
    [W_AUDIT_HEAD] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [W_APPEND_AUDIT] = "INSERT INTO audit (seq, time, actor, action, payload, prev_hash, hash) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_PUT_RESERVES] = "INSERT INTO reserves (feed, sequence, digest, total, accounts, "
                       "accounts_root, as_of, signer, signature, accepted_at, leaves) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [W_PUT_ACCOUNT] = "INSERT INTO accounts (account, feed, last_sequence, last_cursor, "
                      "beneficiary) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account) DO UPDATE "
                      "SET feed = excluded.feed, last_sequence = excluded.last_sequence, "
                      "last_cursor = excluded.last_cursor, beneficiary = excluded.beneficiary",
    [W_PRUNE_SIGNERS] = "DELETE FROM pending_signers WHERE digest IN "
                        "(SELECT digest FROM pending WHERE account = ?1 AND sequence <= ?2)",
    [W_PRUNE_PENDING] = "DELETE FROM pending WHERE account = ?1 AND sequence <= ?2",
    [W_PUT_HELD] = "INSERT INTO held (digest, account, sequence, held_at, attestation, signers) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [W_HOLD_SEQUENCE] = "UPDATE accounts SET last_sequence = ?2 WHERE account = ?1",
    [W_GET_HELD] = "SELECT 0, digest, held_at, attestation, signers, NULL, superseded "
                   "FROM held WHERE digest = ?1",
    [W_DROP_HELD] = "DELETE FROM held WHERE digest = ?1",
    [W_SUPERSEDE_HELD] = "UPDATE held SET superseded = 1 WHERE account = ?1 AND sequence < ?2",
};

enum sq_rstmt {
    R_LATEST,
    R_READ_FROM,
    R_READ_AUDIT,
    R_RESERVES,
    R_LIST_HELD,
    R_COUNT_HELD,
    R_COUNT
};

static const char *const sq_rsql[R_COUNT] = {
    [R_LATEST] = "SELECT a.cursor, a.digest, a.accepted_at, a.attestation, a.signers, "
                 "a.chain_hash "
                 "FROM accounts c JOIN accepted a ON a.cursor = c.last_cursor "
                 "WHERE c.account = ?1",
    [R_READ_FROM] = "SELECT cursor, digest, accepted_at, attestation, signers, chain_hash "
                    "FROM accepted "
                    "WHERE cursor > ?1 ORDER BY cursor LIMIT ?2",
    [R_READ_AUDIT] = "SELECT seq, time, actor, action, payload, prev_hash, hash FROM audit "
                     "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [R_RESERVES] = "SELECT sequence, digest, total, accounts, accounts_root, as_of, signer, "
                   "signature, accepted_at, leaves FROM reserves WHERE feed = ?1 "
                   "ORDER BY sequence DESC LIMIT 1",
    [R_LIST_HELD] = "SELECT 0, digest, held_at, attestation, signers, NULL FROM held "
                    "WHERE superseded = 0 AND (?1 IS NULL OR account = ?1) "
                    "ORDER BY held_at, digest LIMIT ?2",
    [R_COUNT_HELD] = "SELECT count(*) FROM held WHERE superseded = 0",
};

typedef struct sq_store {
    sqlite3 *wdb;
    sqlite3 *rdb;
    pthread_mutex_t rlock; /* guards rdb and its statements */
    sqlite3_stmt *w[W_COUNT];
    sqlite3_stmt *r[R_COUNT];
    /* False only while the pending (held) table is known to be empty: then an acceptance
     * has no pending rows to prune (held rises to supersede) and skips those statements.
     * Set when such a row is written (even if its transaction later rolls back) and never
     * cleared while open; this connection is the store's only writer of both tables. */
    bool may_have_pending;
    bool may_have_held;
    /* Checkpoints run on their own thread and connection, so copying the WAL into the
     * database and its fsync do not hold up commits. */
    sqlite3 *cdb;
    pthread_t checkpointer;
    bool checkpointer_running;
    pthread_mutex_t clock; /* guards checkpoint_due and stopping */
    pthread_cond_t cwake;
    bool checkpoint_due;
    bool stopping;
} sq_store;

/* Errors that a retry or an operator can fix (disk full, locked, I/O) are UNAVAILABLE;
 * anything else means the data or the code is wrong. */
static custos_rc sq_fail(sqlite3 *db, int rc, const char *what, custos_error *err)
{
    custos_rc code;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
        code = CUSTOS_ERR_UNAVAILABLE;
        break;
    case SQLITE_NOMEM:
        code = CUSTOS_ERR_NOMEM;
        break;
    default:
        code = CUSTOS_ERR_INTERNAL;
        break;
    }
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (strcmp(msg, sqlite3_errstr(rc)) == 0)
        return custos_error_set(err, code, "store: %s: %s", what, msg);
    return custos_error_set(err, code, "store: %s: %s (%s)", what, msg, sqlite3_errstr(rc));
}

static void sq_put_u64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t sq_get_u64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

/* Runs a statement that returns no row, and resets it. */
static custos_rc sq_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, custos_error *err)
{
    int rc = sqlite3_step(st);
    int rrc = sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(db, rc, what, err);
    if (rrc != SQLITE_OK)
        return sq_fail(db, rrc, what, err);
    return CUSTOS_OK;
}

static custos_rc sq_bind_rc(sqlite3 *db, int rc, const char *what, custos_error *err)
{
    return rc == SQLITE_OK ? CUSTOS_OK : sq_fail(db, rc, what, err);
}

static custos_rc sq_encode_submission(const custos_submission *s, uint8_t **buf, size_t *len,
                                      custos_error *err)
{
    Custos__V1__SignedAttestation *m = NULL;
    custos_rc rc = pb_from_submission(s, &m, err);
    if (rc != CUSTOS_OK)
        return rc;
    *len = custos__v1__signed_attestation__get_packed_size(m);
    *buf = malloc(*len > 0 ? *len : 1);
    if (*buf == NULL) {
        pb_submission_free(m);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory encoding");
    }
    custos__v1__signed_attestation__pack(m, *buf);
    pb_submission_free(m);
    return CUSTOS_OK;
}

static custos_rc sq_decode_submission(const void *blob, int len, custos_submission *out,
                                      custos_error *err)
{
    if (len < 0 || (blob == NULL && len > 0))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: missing attestation blob");
    Custos__V1__SignedAttestation *m =
        custos__v1__signed_attestation__unpack(NULL, (size_t)len, blob);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: stored attestation does not decode (corrupt row?)");
    custos_rc rc = pb_to_submission(m, out, err);
    custos__v1__signed_attestation__free_unpacked(m, NULL);
    return rc;
}

static custos_rc sq_copy_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len,
                              const char *what, custos_error *err)
{
    const void *b = sqlite3_column_blob(st, col);
    if (b == NULL || (size_t)sqlite3_column_bytes(st, col) != len)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: %s has the wrong size", what);
    memcpy(out, b, len);
    return CUSTOS_OK;
}

/* Fills rec from a row (cursor, digest, accepted_at, attestation, signers, chain_hash). */
static custos_rc sq_row_to_record(sqlite3_stmt *st, custos_record *rec, custos_error *err)
{
    memset(rec, 0, sizeof *rec);
    rec->cursor = (uint64_t)sqlite3_column_int64(st, 0);
    rec->state = CUSTOS_STATE_ACCEPTED;
    rec->accepted_at = (uint64_t)sqlite3_column_int64(st, 2);
    custos_rc rc = sq_copy_blob(st, 1, rec->digest, CUSTOS_HASH_LEN, "digest", err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = sq_decode_submission(sqlite3_column_blob(st, 3), sqlite3_column_bytes(st, 3),
                              &rec->sub, err);
    if (rc != CUSTOS_OK)
        return rc;
    const uint8_t *signers = sqlite3_column_blob(st, 4);
    size_t bytes = (size_t)sqlite3_column_bytes(st, 4);
    if (signers == NULL || bytes != rec->sub.n_sigs * CUSTOS_ADDRESS_LEN) {
        custos_submission_clear(&rec->sub);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: record %llu has %zu signer bytes for %zu signatures",
                                (unsigned long long)rec->cursor, bytes, rec->sub.n_sigs);
    }
    for (size_t i = 0; i < rec->sub.n_sigs; i++)
        memcpy(rec->signers[i], signers + i * CUSTOS_ADDRESS_LEN, CUSTOS_ADDRESS_LEN);
    rec->n_signers = rec->sub.n_sigs;
    /* NULL: accepted before the chain existed, not yet filled in. */
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
        rc = sq_copy_blob(st, 5, rec->chain_hash, CUSTOS_HASH_LEN, "chain_hash", err);
        if (rc != CUSTOS_OK) {
            custos_submission_clear(&rec->sub);
            return rc;
        }
    }
    return CUSTOS_OK;
}

static custos_rc sq_begin(void *impl, custos_error *err)
{
    sq_store *s = impl;
    return sq_step_done(s->wdb, s->w[W_BEGIN], "begin", err);
}

static custos_rc sq_commit(void *impl, custos_error *err)
{
    sq_store *s = impl;
    custos_rc rc = sq_step_done(s->wdb, s->w[W_COMMIT], "commit", err);
    /* A failed COMMIT can leave the transaction open; end it so the next group starts
     * clean. */
    if (rc != CUSTOS_OK && !sqlite3_get_autocommit(s->wdb))
        (void)sq_step_done(s->wdb, s->w[W_ROLLBACK], "rollback", NULL);
    return rc;
}

static void sq_rollback(void *impl)
{
    sq_store *s = impl;
    /* SQLite may already have rolled back on its own (I/O error, disk full). */
    if (!sqlite3_get_autocommit(s->wdb))
        (void)sq_step_done(s->wdb, s->w[W_ROLLBACK], "rollback", NULL);
}

static custos_rc sq_head(void *impl, uint64_t *cursor, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_HEAD];
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *cursor = (uint64_t)sqlite3_column_int64(st, 0);
    int rrc = sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return sq_fail(s->wdb, rc, "head", err);
    return rrc == SQLITE_OK ? CUSTOS_OK : sq_fail(s->wdb, rrc, "head", err);
}

static custos_rc sq_load_accounts(void *impl, gw_store_account_fn fn, void *ctx,
                                  custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_ACCOUNTS];
    custos_rc out = CUSTOS_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        gw_store_account a;
        memset(&a, 0, sizeof a);
        uint8_t seq[8];
        out = sq_copy_blob(st, 0, a.account, CUSTOS_HASH_LEN, "account", err);
        if (out == CUSTOS_OK)
            out = sq_copy_blob(st, 2, seq, sizeof seq, "last_sequence", err);
        if (out == CUSTOS_OK)
            out = sq_copy_blob(st, 4, a.beneficiary, CUSTOS_ADDRESS_LEN, "beneficiary", err);
        const unsigned char *feed = sqlite3_column_text(st, 1);
        if (out == CUSTOS_OK && (feed == NULL || strlen((const char *)feed) > CUSTOS_FEED_MAX))
            out = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad feed in accounts");
        if (out != CUSTOS_OK)
            break;
        memcpy(a.feed, feed, strlen((const char *)feed) + 1);
        a.last_sequence = sq_get_u64(seq);
        a.last_cursor = (uint64_t)sqlite3_column_int64(st, 3);
        out = fn(ctx, &a, err);
        if (out != CUSTOS_OK)
            break;
    }
    int rrc = sqlite3_reset(st);
    if (out != CUSTOS_OK)
        return out;
    if (rc != SQLITE_DONE)
        return sq_fail(s->wdb, rc, "load accounts", err);
    return rrc == SQLITE_OK ? CUSTOS_OK : sq_fail(s->wdb, rrc, "load accounts", err);
}

static custos_rc sq_find_accepted(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  uint64_t sequence, const uint8_t digest[CUSTOS_HASH_LEN],
                                  uint64_t *cursor, uint32_t *n_signers, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_FIND_ACCEPTED];
    uint8_t seq[8];
    sq_put_u64(seq, sequence);
    int brc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_blob(st, 2, seq, sizeof seq, SQLITE_TRANSIENT);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_blob(st, 3, digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    custos_rc out = sq_bind_rc(s->wdb, brc, "find accepted", err);
    if (out != CUSTOS_OK)
        return out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *cursor = (uint64_t)sqlite3_column_int64(st, 0);
        *n_signers = (uint32_t)(sqlite3_column_int64(st, 1) / CUSTOS_ADDRESS_LEN);
    }
    int rrc = sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return rrc == SQLITE_OK ? CUSTOS_ERR_NOT_FOUND : sq_fail(s->wdb, rrc, "find accepted", err);
    if (rc != SQLITE_ROW)
        return sq_fail(s->wdb, rc, "find accepted", err);
    return rrc == SQLITE_OK ? CUSTOS_OK : sq_fail(s->wdb, rrc, "find accepted", err);
}

static custos_rc sq_get_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                custos_submission *sub, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_GET_PENDING];
    memset(sub, 0, sizeof *sub);
    custos_rc out = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_STATIC), "get pending", err);
    if (out != CUSTOS_OK)
        return out;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        out = sq_decode_submission(sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0), sub,
                                   err);
    else if (rc == SQLITE_DONE)
        out = CUSTOS_ERR_NOT_FOUND;
    else
        out = sq_fail(s->wdb, rc, "get pending", err);
    int rrc = sqlite3_reset(st);
    if (out == CUSTOS_OK && rrc != SQLITE_OK) {
        custos_submission_clear(sub);
        out = sq_fail(s->wdb, rrc, "get pending", err);
    }
    return out;
}

static custos_rc sq_list_pending_signers(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                         gw_store_signer_fn fn, void *ctx, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_LIST_SIGNERS];
    custos_rc out = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_STATIC), "list signers", err);
    if (out != CUSTOS_OK)
        return out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        gw_store_signer sg;
        memset(&sg, 0, sizeof sg);
        out = sq_copy_blob(st, 0, sg.address, CUSTOS_ADDRESS_LEN, "signer", err);
        if (out == CUSTOS_OK)
            out = sq_copy_blob(st, 2, sg.sig.bytes, CUSTOS_SIGNATURE_LEN, "signature", err);
        sqlite3_int64 role = sqlite3_column_int64(st, 1);
        if (out == CUSTOS_OK && (role < 0 || role >= GW_ROLE_COUNT))
            out = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad role %lld",
                                   (long long)role);
        if (out != CUSTOS_OK)
            break;
        sg.role = (gw_role)role;
        out = fn(ctx, &sg, err);
        if (out != CUSTOS_OK)
            break;
    }
    int rrc = sqlite3_reset(st);
    if (out != CUSTOS_OK)
        return out;
    if (rc != SQLITE_DONE)
        return sq_fail(s->wdb, rc, "list signers", err);
    return rrc == SQLITE_OK ? CUSTOS_OK : sq_fail(s->wdb, rrc, "list signers", err);
}

static custos_rc sq_put_pending(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                const custos_submission *sub, uint64_t first_seen,
                                custos_error *err)
{
    sq_store *s = impl;
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc out = sq_encode_submission(sub, &blob, &len, err);
    if (out != CUSTOS_OK)
        return out;
    if (len > INT_MAX || first_seen > INT64_MAX) {
        free(blob);
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "store: pending row out of range");
    }
    uint8_t seq[8];
    sq_put_u64(seq, sub->att.sequence);
    sqlite3_stmt *st = s->w[W_PUT_PENDING];
    s->may_have_pending = true;
    int rc = sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, sub->att.account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, sizeof seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, blob, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)first_seen);
    out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "put pending", err)
                          : sq_fail(s->wdb, rc, "put pending", err);
    (void)sqlite3_clear_bindings(st);
    free(blob);
    return out;
}

static custos_rc sq_put_pending_signer(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                       const gw_store_signer *sg, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_PUT_SIGNER];
    int rc = sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, sg->address, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 3, (int)sg->role);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, sg->sig.bytes, CUSTOS_SIGNATURE_LEN, SQLITE_STATIC);
    if (rc != SQLITE_OK)
        return sq_fail(s->wdb, rc, "put pending signer", err);
    return sq_step_done(s->wdb, st, "put pending signer", err);
}

/* What an accepted and a held record store alike: the encoded submission (blob, freed by
 * the caller), its signers packed 20 bytes each, and its sequence. */
typedef struct sq_record_cols {
    uint8_t *blob;
    size_t len;
    uint8_t signers[CUSTOS_MAX_SIGNATURES * CUSTOS_ADDRESS_LEN];
    uint8_t seq[8];
} sq_record_cols;

static custos_rc sq_record_columns(const custos_record *rec, sq_record_cols *c,
                                   custos_error *err)
{
    if (rec->n_signers > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: record with %zu signers cannot be stored",
                                rec->n_signers);
    c->blob = NULL;
    c->len = 0;
    custos_rc out = sq_encode_submission(&rec->sub, &c->blob, &c->len, err);
    if (out != CUSTOS_OK)
        return out;
    if (c->len > INT_MAX) {
        free(c->blob);
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "store: record too large");
    }
    for (size_t i = 0; i < rec->n_signers; i++)
        memcpy(c->signers + i * CUSTOS_ADDRESS_LEN, rec->signers[i], CUSTOS_ADDRESS_LEN);
    sq_put_u64(c->seq, rec->sub.att.sequence);
    return CUSTOS_OK;
}

/* Drops the account's pending digests at or below seq and marks its held rises below
 * seq superseded (a later record was published or held over them). */
static custos_rc sq_prune(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                          const uint8_t seq[8], custos_error *err)
{
    /* Signers first: their delete finds the digests through the pending rows. */
    const enum sq_wstmt prune[3] = {W_PRUNE_SIGNERS, W_PRUNE_PENDING, W_SUPERSEDE_HELD};
    for (int i = 0; i < 3; i++) {
        if (i < 2 ? !s->may_have_pending : !s->may_have_held)
            continue;
        sqlite3_stmt *st = s->w[prune[i]];
        int rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
        if (rc == SQLITE_OK)
            rc = sqlite3_bind_blob(st, 2, seq, 8, SQLITE_STATIC);
        custos_rc out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "prune pending", err)
                              : sq_fail(s->wdb, rc, "prune pending", err);
        (void)sqlite3_clear_bindings(st);
        if (out != CUSTOS_OK)
            return out;
    }
    return CUSTOS_OK;
}

static custos_rc sq_put_accepted(void *impl, const custos_record *rec,
                                 const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    sq_store *s = impl;
    if (rec->cursor == 0 || rec->cursor > INT64_MAX || rec->accepted_at > INT64_MAX ||
        rec->n_signers != rec->sub.n_sigs || rec->n_signers == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: record with cursor %llu and %zu signers for %zu "
                                "signatures cannot be stored",
                                (unsigned long long)rec->cursor, rec->n_signers,
                                rec->sub.n_sigs);
    sq_record_cols cols;
    custos_rc out = sq_record_columns(rec, &cols, err);
    if (out != CUSTOS_OK)
        return out;
    uint8_t *blob = cols.blob;
    size_t len = cols.len;
    const uint8_t *signers = cols.signers, *seq = cols.seq;
    const uint8_t *account = rec->sub.att.account;

    sqlite3_stmt *st = s->w[W_PUT_ACCEPTED];
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)rec->cursor);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, rec->digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, seq, sizeof cols.seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)rec->accepted_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, blob, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, signers, (int)(rec->n_signers * CUSTOS_ADDRESS_LEN),
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 8, rec->chain_hash, CUSTOS_HASH_LEN, SQLITE_STATIC);
    out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "put accepted", err)
                          : sq_fail(s->wdb, rc, "put accepted", err);
    (void)sqlite3_clear_bindings(st);
    free(blob);
    if (out != CUSTOS_OK)
        return out;

    st = s->w[W_PUT_ACCOUNT];
    rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, rec->sub.feed, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, sizeof cols.seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->cursor);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 5, beneficiary, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "put account", err)
                          : sq_fail(s->wdb, rc, "put account", err);
    (void)sqlite3_clear_bindings(st);
    if (out != CUSTOS_OK)
        return out;
    return sq_prune(s, account, seq, err);
}

static custos_rc sq_put_held(void *impl, const custos_record *rec, custos_error *err)
{
    sq_store *s = impl;
    if (rec->accepted_at > INT64_MAX || rec->n_signers != rec->sub.n_sigs ||
        rec->n_signers == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: held record with %zu signers for %zu signatures "
                                "cannot be stored", rec->n_signers, rec->sub.n_sigs);
    sq_record_cols cols;
    custos_rc out = sq_record_columns(rec, &cols, err);
    if (out != CUSTOS_OK)
        return out;
    uint8_t *blob = cols.blob;
    size_t len = cols.len;
    const uint8_t *signers = cols.signers, *seq = cols.seq;
    const uint8_t *account = rec->sub.att.account;

    sqlite3_stmt *st = s->w[W_PUT_HELD];
    s->may_have_held = true;
    int rc = sqlite3_bind_blob(st, 1, rec->digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, sizeof cols.seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->accepted_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 5, blob, (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, signers, (int)(rec->n_signers * CUSTOS_ADDRESS_LEN),
                               SQLITE_STATIC);
    out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "put held", err)
                          : sq_fail(s->wdb, rc, "put held", err);
    (void)sqlite3_clear_bindings(st);
    free(blob);
    if (out != CUSTOS_OK)
        return out;

    /* The held rise consumes its sequence (rule 4) but leaves the latest record as it is. */
    st = s->w[W_HOLD_SEQUENCE];
    rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, seq, sizeof cols.seq, SQLITE_STATIC);
    out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "hold sequence", err)
                          : sq_fail(s->wdb, rc, "hold sequence", err);
    (void)sqlite3_clear_bindings(st);
    if (out != CUSTOS_OK)
        return out;
    if (sqlite3_changes(s->wdb) != 1)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: a held record needs an account with a published one");
    return sq_prune(s, account, seq, err);
}

static custos_rc sq_get_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                             custos_record *out, bool *superseded, custos_error *err)
{
    sq_store *s = impl;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = s->w[W_GET_HELD];
    custos_rc res = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_STATIC), "get held", err);
    if (res != CUSTOS_OK)
        return res;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        res = sq_row_to_record(st, out, err);
        out->state = CUSTOS_STATE_HELD;
        *superseded = sqlite3_column_int64(st, 6) != 0;
    } else if (rc == SQLITE_DONE) {
        res = CUSTOS_ERR_NOT_FOUND;
    } else {
        res = sq_fail(s->wdb, rc, "get held", err);
    }
    int rrc = sqlite3_reset(st);
    if ((res == CUSTOS_OK || res == CUSTOS_ERR_NOT_FOUND) && rrc != SQLITE_OK) {
        if (res == CUSTOS_OK)
            custos_record_clear(out);
        res = sq_fail(s->wdb, rrc, "get held", err);
    }
    return res;
}

static custos_rc sq_drop_held(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                              custos_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = s->w[W_DROP_HELD];
    custos_rc out = sq_bind_rc(s->wdb, sqlite3_bind_blob(st, 1, digest, CUSTOS_HASH_LEN,
                                                         SQLITE_STATIC), "drop held", err);
    return out == CUSTOS_OK ? sq_step_done(s->wdb, st, "drop held", err) : out;
}

static custos_rc sq_audit_head(void *impl, uint64_t *seq, uint8_t hash[CUSTOS_AUDIT_HASH_LEN],
                               custos_error *err)
{
    sq_store *s = impl;
    *seq = 0;
    memset(hash, 0, CUSTOS_AUDIT_HASH_LEN);
    sqlite3_stmt *st = s->w[W_AUDIT_HEAD];
    int rc = sqlite3_step(st);
    custos_rc out = CUSTOS_OK;
    if (rc == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        out = sq_copy_blob(st, 1, hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
    } else if (rc != SQLITE_DONE) {
        out = sq_fail(s->wdb, rc, "audit head", err);
    }
    int rrc = sqlite3_reset(st);
    if (out == CUSTOS_OK && rrc != SQLITE_OK)
        out = sq_fail(s->wdb, rrc, "audit head", err);
    return out;
}

static custos_rc sq_append_audit(void *impl, const custos_audit_entry *e, custos_error *err)
{
    sq_store *s = impl;
    if (e->seq == 0 || e->seq > INT64_MAX || e->time > INT64_MAX || e->payload_len > INT_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: audit entry %llu cannot be stored",
                                (unsigned long long)e->seq);
    sqlite3_stmt *st = s->w[W_APPEND_AUDIT];
    /* A zero-length blob bound from NULL would be stored as NULL. */
    static const uint8_t empty[1];
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)e->seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)e->time);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 3, e->actor, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 4, e->action, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 5, e->payload_len > 0 ? e->payload : empty,
                               (int)e->payload_len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, e->prev_hash, CUSTOS_AUDIT_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, e->hash, CUSTOS_AUDIT_HASH_LEN, SQLITE_STATIC);
    custos_rc out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "append audit", err)
                                    : sq_fail(s->wdb, rc, "append audit", err);
    (void)sqlite3_clear_bindings(st);
    return out;
}

static custos_rc sq_set_chain_hash(void *impl, uint64_t cursor,
                                   const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    sq_store *s = impl;
    if (cursor == 0 || cursor > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: no record has cursor %llu",
                                (unsigned long long)cursor);
    sqlite3_stmt *st = s->w[W_SET_CHAIN];
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)cursor);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, hash, CUSTOS_HASH_LEN, SQLITE_STATIC);
    custos_rc out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "set chain hash", err)
                                    : sq_fail(s->wdb, rc, "set chain hash", err);
    (void)sqlite3_clear_bindings(st);
    return out;
}

static custos_rc sq_get_latest(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                               custos_record *out, custos_error *err)
{
    sq_store *s = impl;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_LATEST];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "get latest", err);
    } else {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            res = sq_row_to_record(st, out, err);
        else if (rc == SQLITE_DONE)
            res = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                   "no accepted attestation for this account");
        else
            res = sq_fail(s->rdb, rc, "get latest", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK) {
            custos_record_clear(out);
            res = sq_fail(s->rdb, rrc, "get latest", err);
        }
    }
    pthread_mutex_unlock(&s->rlock);
    return res;
}

static custos_rc sq_read_from(void *impl, uint64_t after, custos_record *out, size_t max,
                              size_t *n, custos_error *err)
{
    sq_store *s = impl;
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    if (after > INT64_MAX)
        return CUSTOS_OK;
    sqlite3_int64 limit = max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_READ_FROM];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, limit);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "read from", err);
    } else {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = sq_row_to_record(st, &out[*n], err);
            if (res != CUSTOS_OK)
                break;
            (*n)++;
        }
        if (res == CUSTOS_OK && rc != SQLITE_DONE)
            res = sq_fail(s->rdb, rc, "read from", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, "read from", err);
    }
    pthread_mutex_unlock(&s->rlock);
    if (res != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_record_clear(&out[i]);
        *n = 0;
    }
    return res;
}

/* Fills e from a row (seq, time, actor, action, payload, prev_hash, hash). */
static custos_rc sq_list_held(void *impl, const uint8_t *account, custos_record *out,
                              size_t max, size_t *n, custos_error *err)
{
    sq_store *s = impl;
    *n = 0;
    if (max == 0)
        return CUSTOS_OK;
    sqlite3_int64 limit = max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_LIST_HELD];
    custos_rc res = CUSTOS_OK;
    int rc = account != NULL ? sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_TRANSIENT)
                             : sqlite3_bind_null(st, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, limit);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "list held", err);
    } else {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = sq_row_to_record(st, &out[*n], err);
            if (res != CUSTOS_OK)
                break;
            out[(*n)++].state = CUSTOS_STATE_HELD;
        }
        if (res == CUSTOS_OK && rc != SQLITE_DONE)
            res = sq_fail(s->rdb, rc, "list held", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, "list held", err);
    }
    pthread_mutex_unlock(&s->rlock);
    if (res != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_record_clear(&out[i]);
        *n = 0;
    }
    return res;
}

static custos_rc sq_count_held(void *impl, uint64_t *count, custos_error *err)
{
    sq_store *s = impl;
    *count = 0;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_COUNT_HELD];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *count = (uint64_t)sqlite3_column_int64(st, 0);
    else
        res = sq_fail(s->rdb, rc, "count held", err);
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->rdb, rrc, "count held", err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}

static custos_rc sq_row_to_audit(sqlite3_stmt *st, custos_audit_entry *e, custos_error *err)
{
    memset(e, 0, sizeof *e);
    e->seq = (uint64_t)sqlite3_column_int64(st, 0);
    e->time = (uint64_t)sqlite3_column_int64(st, 1);
    const unsigned char *actor = sqlite3_column_text(st, 2);
    const unsigned char *action = sqlite3_column_text(st, 3);
    if (actor == NULL || action == NULL ||
        (size_t)sqlite3_column_bytes(st, 2) > CUSTOS_AUDIT_ACTOR_MAX ||
        (size_t)sqlite3_column_bytes(st, 3) > CUSTOS_AUDIT_ACTION_MAX)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: audit entry %llu has a bad actor or action",
                                (unsigned long long)e->seq);
    snprintf(e->actor, sizeof e->actor, "%s", (const char *)actor);
    snprintf(e->action, sizeof e->action, "%s", (const char *)action);
    custos_rc rc = sq_copy_blob(st, 5, e->prev_hash, CUSTOS_AUDIT_HASH_LEN, "audit prev_hash", err);
    if (rc == CUSTOS_OK)
        rc = sq_copy_blob(st, 6, e->hash, CUSTOS_AUDIT_HASH_LEN, "audit hash", err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t len = (size_t)sqlite3_column_bytes(st, 4);
    e->payload = malloc(len > 0 ? len : 1);
    if (e->payload == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    if (len > 0)
        memcpy(e->payload, sqlite3_column_blob(st, 4), len);
    e->payload_len = len;
    return CUSTOS_OK;
}

static custos_rc sq_read_audit(void *impl, uint64_t after, custos_audit_entry *out, size_t max,
                               size_t *n, custos_error *err)
{
    sq_store *s = impl;
    *n = 0;
    if (max == 0 || after > INT64_MAX)
        return CUSTOS_OK;
    sqlite3_int64 limit = max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max;
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_READ_AUDIT];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, limit);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "read audit", err);
    } else {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            res = sq_row_to_audit(st, &out[*n], err);
            if (res != CUSTOS_OK) {
                custos_audit_entry_clear(&out[*n]);
                break;
            }
            (*n)++;
        }
        if (res == CUSTOS_OK && rc != SQLITE_DONE)
            res = sq_fail(s->rdb, rc, "read audit", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, "read audit", err);
    }
    pthread_mutex_unlock(&s->rlock);
    if (res != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_audit_entry_clear(&out[i]);
        *n = 0;
    }
    return res;
}

static custos_rc sq_put_reserves(void *impl, const gw_store_reserves *res, custos_error *err)
{
    sq_store *s = impl;
    if (res->accepted_at > INT64_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: reserves time out of range");
    size_t len = 0;
    uint8_t *leaves = gw_store_reserves_encode(res, &len);
    if (leaves == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: reserves of feed %s with %llu accounts cannot be stored",
                                res->feed, (unsigned long long)res->r.accounts);
    uint8_t seq[8], as_of[8], total[32];
    sq_put_u64(seq, res->r.sequence);
    sq_put_u64(as_of, res->r.as_of);
    custos_u256_to_be(&res->r.total_collateral, total);
    sqlite3_stmt *st = s->w[W_PUT_RESERVES];
    int rc = sqlite3_bind_text(st, 1, res->feed, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, seq, sizeof seq, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, res->digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 4, total, sizeof total, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 5, (sqlite3_int64)res->r.accounts);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 6, res->r.accounts_root, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, as_of, sizeof as_of, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 8, res->signer, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 9, res->sig.bytes, CUSTOS_SIGNATURE_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 10, (sqlite3_int64)res->accepted_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 11, leaves, (int)len, SQLITE_STATIC);
    custos_rc out = rc == SQLITE_OK ? sq_step_done(s->wdb, st, "put reserves", err)
                                    : sq_fail(s->wdb, rc, "put reserves", err);
    (void)sqlite3_clear_bindings(st);
    free(leaves);
    return out;
}

/* Fills out (its feed already set) from an R_RESERVES row. */
static custos_rc sq_row_to_reserves(sqlite3_stmt *st, gw_store_reserves *out, custos_error *err)
{
    uint8_t seq[8], as_of[8], total[32];
    custos_rc rc = sq_copy_blob(st, 0, seq, sizeof seq, "reserves sequence", err);
    if (rc == CUSTOS_OK)
        rc = sq_copy_blob(st, 1, out->digest, CUSTOS_HASH_LEN, "reserves digest", err);
    if (rc == CUSTOS_OK)
        rc = sq_copy_blob(st, 2, total, sizeof total, "reserves total", err);
    if (rc == CUSTOS_OK)
        rc = sq_copy_blob(st, 4, out->r.accounts_root, CUSTOS_HASH_LEN, "reserves root", err);
    if (rc == CUSTOS_OK)
        rc = sq_copy_blob(st, 5, as_of, sizeof as_of, "reserves asOf", err);
    if (rc == CUSTOS_OK)
        rc = sq_copy_blob(st, 6, out->signer, CUSTOS_ADDRESS_LEN, "reserves signer", err);
    if (rc == CUSTOS_OK)
        rc = sq_copy_blob(st, 7, out->sig.bytes, CUSTOS_SIGNATURE_LEN, "reserves signature",
                          err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_feed_id(out->feed, out->r.feed_id);
    out->r.sequence = sq_get_u64(seq);
    out->r.as_of = sq_get_u64(as_of);
    custos_u256_from_be(&out->r.total_collateral, total);
    out->r.accounts = (uint64_t)sqlite3_column_int64(st, 3);
    out->accepted_at = (uint64_t)sqlite3_column_int64(st, 8);
    const uint8_t *leaves = sqlite3_column_blob(st, 9);
    int len = sqlite3_column_bytes(st, 9);
    if (leaves == NULL || len <= 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: reserves without leaves");
    return gw_store_reserves_decode(out, leaves, (size_t)len, err);
}

static custos_rc sq_get_reserves(void *impl, const char *feed, gw_store_reserves *out,
                                 custos_error *err)
{
    sq_store *s = impl;
    memset(out, 0, sizeof *out);
    if (strlen(feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no reserves for this feed");
    strcpy(out->feed, feed);
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_RESERVES];
    custos_rc res = CUSTOS_OK;
    int rc = sqlite3_bind_text(st, 1, feed, -1, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) {
        res = sq_fail(s->rdb, rc, "get reserves", err);
    } else {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            res = sq_row_to_reserves(st, out, err);
        else if (rc == SQLITE_DONE)
            res = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                   "no reserves attestation for feed %s", feed);
        else
            res = sq_fail(s->rdb, rc, "get reserves", err);
        int rrc = sqlite3_reset(st);
        if (res == CUSTOS_OK && rrc != SQLITE_OK)
            res = sq_fail(s->rdb, rrc, "get reserves", err);
    }
    (void)sqlite3_clear_bindings(st);
    pthread_mutex_unlock(&s->rlock);
    if (res != CUSTOS_OK)
        gw_store_reserves_clear(out);
    return res;
}

static void sq_close(void *impl)
{
    sq_store *s = impl;
    if (s == NULL)
        return;
    if (s->checkpointer_running) {
        pthread_mutex_lock(&s->clock);
        s->stopping = true;
        pthread_cond_signal(&s->cwake);
        pthread_mutex_unlock(&s->clock);
        pthread_join(s->checkpointer, NULL);
    }
    /* The writer, closed last, checkpoints what is left. */
    sqlite3_close(s->cdb);
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(s->w[i]);
    for (int i = 0; i < R_COUNT; i++)
        sqlite3_finalize(s->r[i]);
    /* Every statement is finalized, so close cannot be refused as busy. */
    sqlite3_close(s->rdb);
    sqlite3_close(s->wdb);
    pthread_cond_destroy(&s->cwake);
    pthread_mutex_destroy(&s->clock);
    pthread_mutex_destroy(&s->rlock);
    free(s);
}

static const gw_store_ops sq_ops = {
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .head = sq_head,
    .load_accounts = sq_load_accounts,
    .find_accepted = sq_find_accepted,
    .get_pending = sq_get_pending,
    .list_pending_signers = sq_list_pending_signers,
    .put_pending = sq_put_pending,
    .put_pending_signer = sq_put_pending_signer,
    .put_accepted = sq_put_accepted,
    .put_held = sq_put_held,
    .get_held = sq_get_held,
    .list_held = sq_list_held,
    .count_held = sq_count_held,
    .drop_held = sq_drop_held,
    .set_chain_hash = sq_set_chain_hash,
    .audit_head = sq_audit_head,
    .read_audit = sq_read_audit,
    .append_audit = sq_append_audit,
    .get_latest = sq_get_latest,
    .read_from = sq_read_from,
    .put_reserves = sq_put_reserves,
    .get_reserves = sq_get_reserves,
};

static int sq_text_cb(void *ctx, int ncol, char **vals, char **names)
{
    (void)names;
    char *out = ctx;
    if (ncol >= 1 && vals[0] != NULL)
        snprintf(out, 16, "%s", vals[0]);
    return 0;
}

static custos_rc sq_exec(sqlite3 *db, const char *sql, const char *what, custos_error *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? CUSTOS_OK : sq_fail(db, rc, what, err);
}

static custos_rc sq_connect(const char *path, sqlite3 **db, custos_error *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, db, flags, NULL);
    if (rc != SQLITE_OK) {
        custos_rc out = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE, "store: cannot open %s: %s",
                                         path, *db != NULL ? sqlite3_errmsg(*db)
                                                           : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return out;
    }
    rc = sqlite3_extended_result_codes(*db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(*db, SQ_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK)
        return sq_fail(*db, rc, "configure connection", err);
    char mode[16] = "";
    rc = sqlite3_exec(*db, "PRAGMA journal_mode=WAL", sq_text_cb, mode, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(*db, rc, "enable WAL", err);
    if (strcmp(mode, "wal") != 0)
        return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                "store: %s cannot use WAL journaling (got '%s'); use a file "
                                "on a local file system", path, mode);
    return sq_exec(*db, "PRAGMA synchronous=FULL", "set synchronous", err);
}

/* Runs on the committer after each commit, in place of SQLite's autocheckpoint. A failed
 * checkpoint loses nothing (the frames stay in the WAL) and a later one copies them, so
 * the hook ignores its result: the commit has succeeded either way. */
static int sq_wal_hook(void *ctx, sqlite3 *db, const char *name, int pages)
{
    sq_store *s = ctx;
    if (pages >= SQ_WAL_HARD_PAGES) {
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (pages >= SQ_WAL_CHECKPOINT_PAGES) {
        pthread_mutex_lock(&s->clock);
        s->checkpoint_due = true;
        pthread_cond_signal(&s->cwake);
        pthread_mutex_unlock(&s->clock);
    }
    return SQLITE_OK;
}

/* PASSIVE never waits for the writer or the readers; what it cannot copy now, the next
 * one copies. Its fsync of the database is what synchronous=FULL asks of a checkpoint. */
static void *sq_checkpointer(void *arg)
{
    sq_store *s = arg;
    (void)pthread_setname_np(pthread_self(), "custos-ckpt");
    pthread_mutex_lock(&s->clock);
    for (;;) {
        while (!s->checkpoint_due && !s->stopping)
            pthread_cond_wait(&s->cwake, &s->clock);
        if (s->stopping)
            break;
        s->checkpoint_due = false;
        pthread_mutex_unlock(&s->clock);
        (void)sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&s->clock);
    }
    pthread_mutex_unlock(&s->clock);
    return NULL;
}

static custos_rc sq_start_checkpointer(sq_store *s, const char *path, custos_error *err)
{
    custos_rc rc = sq_connect(path, &s->cdb, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (pthread_create(&s->checkpointer, NULL, sq_checkpointer, s) != 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: cannot start a thread");
    s->checkpointer_running = true;
    (void)sqlite3_wal_hook(s->wdb, sq_wal_hook, s);
    return CUSTOS_OK;
}

/* Whether the pending table holds any row, and the held table any rise not superseded,
 * read once at open. */
static custos_rc sq_read_any_pending(sq_store *s, custos_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->wdb,
                                "SELECT EXISTS (SELECT 1 FROM pending), "
                                "EXISTS (SELECT 1 FROM held WHERE superseded = 0)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s->wdb, rc, "look for pending and held rows", err);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->may_have_pending = sqlite3_column_int(st, 0) != 0;
        s->may_have_held = sqlite3_column_int(st, 1) != 0;
    }
    custos_rc out = rc == SQLITE_ROW ? CUSTOS_OK
                                     : sq_fail(s->wdb, rc, "look for pending and held rows", err);
    (void)sqlite3_finalize(st);
    return out;
}

/* Creates or upgrades the schema: applies every step of schema.c above the version that
 * PRAGMA user_version records, then records the last one, all in one transaction. */
static custos_rc sq_migrate(sqlite3 *db, const char *path, custos_error *err)
{
    custos_rc rc = sq_exec(db, "BEGIN IMMEDIATE", "begin schema", err);
    if (rc != CUSTOS_OK)
        return rc;
    char ver[16] = "";
    char *end = NULL;
    int src = sqlite3_exec(db, "PRAGMA user_version", sq_text_cb, ver, NULL);
    unsigned long have = strtoul(ver, &end, 10);
    size_t n_steps = 0;
    const gw_schema_step *steps = gw_schema_steps(&n_steps);
    if (src != SQLITE_OK) {
        rc = sq_fail(db, src, "read schema version", err);
    } else if (end == ver || *end != '\0' || ver[0] == '-' || have > gw_schema_latest()) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "store: %s has schema version %s; this gateway knows up to %u",
                              path, ver, gw_schema_latest());
    } else if (have < gw_schema_latest()) {
        for (size_t i = 0; rc == CUSTOS_OK && i < n_steps; i++)
            if (steps[i].version > have)
                rc = sq_exec(db, gw_schema_ddl(&steps[i], GW_SCHEMA_SQLITE), "migrate schema",
                             err);
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %u", gw_schema_latest());
        if (rc == CUSTOS_OK)
            rc = sq_exec(db, pragma, "set schema version", err);
    }
    if (rc == CUSTOS_OK)
        return sq_exec(db, "COMMIT", "commit schema", err);
    (void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

custos_rc gw_store_open_sqlite(const char *path, gw_store *out, custos_error *err)
{
    out->ops = NULL;
    out->impl = NULL;
    sq_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    if (pthread_mutex_init(&s->rlock, NULL) != 0) {
        free(s);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: cannot create a mutex");
    }
    if (pthread_mutex_init(&s->clock, NULL) != 0) {
        pthread_mutex_destroy(&s->rlock);
        free(s);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: cannot create a mutex");
    }
    if (pthread_cond_init(&s->cwake, NULL) != 0) {
        pthread_mutex_destroy(&s->clock);
        pthread_mutex_destroy(&s->rlock);
        free(s);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: cannot create a condition");
    }
    custos_rc rc = sq_connect(path, &s->wdb, err);
    if (rc == CUSTOS_OK)
        rc = sq_migrate(s->wdb, path, err);
    if (rc == CUSTOS_OK)
        rc = sq_read_any_pending(s, err);
    if (rc == CUSTOS_OK)
        rc = sq_connect(path, &s->rdb, err);
    if (rc == CUSTOS_OK)
        rc = sq_exec(s->rdb, "PRAGMA query_only = 1", "set reader query-only", err);
    for (int i = 0; rc == CUSTOS_OK && i < W_COUNT; i++) {
        int src = sqlite3_prepare_v3(s->wdb, sq_wsql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                     &s->w[i], NULL);
        if (src != SQLITE_OK)
            rc = sq_fail(s->wdb, src, "prepare", err);
    }
    for (int i = 0; rc == CUSTOS_OK && i < R_COUNT; i++) {
        int src = sqlite3_prepare_v3(s->rdb, sq_rsql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                     &s->r[i], NULL);
        if (src != SQLITE_OK)
            rc = sq_fail(s->rdb, src, "prepare", err);
    }
    if (rc == CUSTOS_OK)
        rc = sq_start_checkpointer(s, path, err);
    if (rc != CUSTOS_OK) {
        sq_close(s);
        return rc;
    }
    out->ops = &sq_ops;
    out->impl = s;
    return CUSTOS_OK;
}
