/* The SQLite store's connections (sqlite_store.h): opening, the schema, the checkpointer
 * thread, transactions, and the table of functions store.h calls through. */
#include "store/sqlite_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/schema.h"

#define SQ_BUSY_TIMEOUT_MS 5000
/* WAL size (pages) at which the checkpointer thread copies it into the database. A page
 * that many commits dirty (a book's account rows; before schema step 25, the leaves of the
 * index of account ids) is copied once per checkpoint: at four times SQLite's own
 * threshold of 1,000, first valuations of new accounts cost a tenth less CPU then
 * (bench/README.md, "A fourth step"). */
#define SQ_WAL_CHECKPOINT_PAGES 4000
/* WAL size at which the committer checkpoints itself, waiting for the checkpointer's run
 * and for readers: bounds the WAL when the checkpointer never finds a moment between two
 * commits to let SQLite restart it, or falls behind the writer (a loaded machine). */
#define SQ_WAL_HARD_PAGES 8000
/* The accounts beyond place ?1, for the map of ids (sqlite_ids.h), on either connection. */
#define SQ_ACCOUNT_IDS "SELECT ordinal, account FROM accounts WHERE ordinal > ?1 ORDER BY ordinal"
/* A held record by digest, for the writer (the committer) and the reader alike. */
#define SQ_GET_HELD                                                                         \
    "SELECT 0, digest, held_at, attestation, signers, NULL, batch_digest, superseded "     \
    "FROM held WHERE digest = ?1"

static const char *const sq_wsql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_DATA_VERSION] = "PRAGMA data_version",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_HEAD] = "SELECT max(COALESCE((SELECT MAX(cursor) FROM accepted), 0), "
               "COALESCE((SELECT MAX(cursor) FROM notices), 0))",
    [W_RECORD_HEAD] = "SELECT COALESCE(MAX(cursor), 0) FROM accepted",
    [W_ACCOUNTS] = "SELECT account, feed, last_sequence, last_cursor, beneficiary FROM accounts",
    /* Back from the account's latest record along prev_cursor, over its ?4 latest at most
     * (rule 4's retry window), to the one at sequence ?2; a batched record's signers are
     * its batch's. */
    [W_FIND_ACCEPTED] = "WITH RECURSIVE h(c, n) AS ("
                        "  SELECT NULLIF(last_cursor, 0), 1 FROM accounts "
                        "  WHERE ordinal = ?5 AND account = ?1 "
                        "  UNION ALL SELECT a.prev_cursor, h.n + 1 FROM h "
                        "  JOIN accepted a ON a.cursor = h.c "
                        "  WHERE a.sequence > ?2 AND a.prev_cursor IS NOT NULL AND h.n < ?4) "
                        "SELECT a.cursor, CASE WHEN a.batch_digest IS NULL THEN "
                        "length(a.signers) ELSE (SELECT length(b.signers) FROM batches b "
                        "WHERE b.digest = a.batch_digest) END FROM h "
                        "JOIN accepted a ON a.cursor = h.c "
                        "WHERE a.account = ?1 AND a.sequence = ?2 AND a.digest = ?3",
    [W_GET_PENDING] = "SELECT attestation FROM pending WHERE digest = ?1",
    [W_LIST_SIGNERS] = "SELECT signer, role, signature FROM pending_signers WHERE digest = ?1 "
                       "ORDER BY rowid",
    [W_PUT_PENDING] = "INSERT INTO pending (digest, account, sequence, attestation, first_seen, "
                      "feed, creator, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [W_PUT_SIGNER] = "INSERT INTO pending_signers (digest, signer, role, signature) "
                     "VALUES (?1, ?2, ?3, ?4)",
    /* The latest record of the account at place ?1 and that record's sequence (schema
     * steps 23 and 25); the id is compared, not looked up. */
    [W_ACCOUNT_TIP] = "SELECT c.last_cursor, a.sequence FROM accounts c "
                      "LEFT JOIN accepted a ON a.cursor = c.last_cursor "
                      "WHERE c.ordinal = ?1 AND c.account = ?2",
    [W_PUT_ACCEPTED] = "INSERT INTO accepted (cursor, digest, account, sequence, accepted_at, "
                       "attestation, signers, chain_hash, batch_digest, prev_cursor, late) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    /* A transaction's batched records that its batch rows do not list (?4..?5, NULL: none):
     * found by accepted_by_batch (docs/storage.md §10). */
    [W_MARK_LATE] = "UPDATE accepted SET late = 1 WHERE cursor BETWEEN ?1 AND ?2 "
                    "AND batch_digest = ?3 AND (?4 IS NULL OR cursor NOT BETWEEN ?4 AND ?5)",
    [W_SET_CHAIN] = "UPDATE accepted SET chain_hash = ?2 WHERE cursor = ?1",
    [W_AUDIT_HEAD] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [W_APPEND_AUDIT] = "INSERT INTO audit (seq, time, actor, action, payload, prev_hash, hash) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_PUT_RESERVES] = "INSERT INTO reserves (feed, sequence, digest, total, accounts, "
                       "accounts_root, as_of, signer, signature, accepted_at, leaves, "
                       "signatures) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [W_PUT_ACCOUNT] = "INSERT INTO accounts (account, feed, last_sequence, last_cursor, "
                      "beneficiary) VALUES (?1, ?2, ?3, ?4, ?5)",
    [W_SET_ACCOUNT] = "UPDATE accounts SET feed = ?2, last_sequence = ?3, last_cursor = ?4, "
                      "beneficiary = ?5 WHERE ordinal = ?1",
    [W_PRUNE_SIGNERS] = "DELETE FROM pending_signers WHERE digest IN "
                        "(SELECT digest FROM pending WHERE account = ?1 AND sequence <= ?2)",
    [W_PRUNE_PENDING] = "DELETE FROM pending WHERE account = ?1 AND sequence <= ?2",
    [W_PUT_HELD] = "INSERT INTO held (digest, account, sequence, held_at, attestation, signers, "
                   "batch_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_HOLD_SEQUENCE] = "UPDATE accounts SET last_sequence = ?2 "
                        "WHERE ordinal = ?3 AND account = ?1",
    [W_GET_HELD] = SQ_GET_HELD,
    [W_DROP_HELD] = "DELETE FROM held WHERE digest = ?1",
    [W_SUPERSEDE_HELD] = "UPDATE held SET superseded = 1 WHERE account = ?1 AND sequence < ?2",
    [W_PUT_NOTICE] = "INSERT INTO notices (account, lender, sequence, digest, accepted_at, body, "
                     "cursor, chain_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [W_PENDING_FEED] = "SELECT count(*), COALESCE(sum(bytes), 0) FROM pending WHERE feed = ?1",
    [W_PENDING_CREATOR] = "SELECT count(*), COALESCE(sum(bytes), 0) FROM pending "
                          "WHERE creator = ?1",
    [W_EXPIRE_SIGNERS] = "DELETE FROM pending_signers WHERE digest IN "
                         "(SELECT digest FROM pending WHERE first_seen < ?1)",
    [W_EXPIRE_PENDING] = "DELETE FROM pending WHERE first_seen < ?1",
    [W_PUT_BATCH] = "INSERT INTO batches (digest, feed, sequence, body, signatures, signers, "
                    "leaves, refused, accepted_at, first_cursor, last_cursor) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [W_LAST_BATCH] = "SELECT sequence FROM batches WHERE feed = ?1 "
                     "ORDER BY sequence DESC LIMIT 1",
    [W_BATCH] = SQ_BATCH_ROW,
    [W_ACCOUNT_IDS] = SQ_ACCOUNT_IDS,
};

static const char *const sq_rsql[R_COUNT] = {
    [R_LATEST] = "SELECT a.cursor, a.digest, a.accepted_at, a.attestation, a.signers, "
                 "a.chain_hash, a.batch_digest "
                 "FROM accounts c JOIN accepted a ON a.cursor = c.last_cursor "
                 "WHERE c.ordinal = ?2 AND c.account = ?1",
    [R_READ_FROM] = "SELECT cursor, digest, accepted_at, attestation, signers, chain_hash, "
                    "batch_digest "
                    "FROM accepted "
                    "WHERE cursor > ?1 ORDER BY cursor LIMIT ?2",
    [R_READ_AUDIT] = "SELECT seq, time, actor, action, payload, prev_hash, hash FROM audit "
                     "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [R_RESERVES] = "SELECT sequence, digest, total, accounts, accounts_root, as_of, signer, "
                   "signature, accepted_at, leaves, signatures FROM reserves WHERE feed = ?1 "
                   "ORDER BY sequence DESC LIMIT 1",
    [R_LIST_HELD] = "SELECT 0, digest, held_at, attestation, signers, NULL, batch_digest "
                    "FROM held "
                    "WHERE superseded = 0 AND (?1 IS NULL OR account = ?1) "
                    "AND (?3 IS NULL OR held_at > ?3 OR (held_at = ?3 AND digest > ?4)) "
                    "ORDER BY held_at, digest LIMIT ?2",
    [R_GET_HELD] = SQ_GET_HELD,
    [R_COUNT_HELD] = "SELECT count(*) FROM held WHERE superseded = 0",
    [R_PENDING_SUMMARY] = "SELECT count(*), coalesce(min(first_seen), 0) FROM pending",
    [R_PENDING_TOTALS] = "SELECT count(*), COALESCE(sum(bytes), 0) FROM pending",
    /* An account's records newest first, ?3 of them from cursor ?2 (NULL: its latest) back
     * along prev_cursor. */
    [R_VALUATIONS] = "WITH RECURSIVE h(c, n) AS ("
                     "  SELECT COALESCE(?2, (SELECT NULLIF(last_cursor, 0) FROM accounts "
                     "  WHERE ordinal = ?4 AND account = ?1)), 1 "
                     "  UNION ALL SELECT a.prev_cursor, h.n + 1 FROM h "
                     "  JOIN accepted a ON a.cursor = h.c "
                     "  WHERE a.prev_cursor IS NOT NULL AND h.n < ?3) "
                     "SELECT a.prev_cursor, a.attestation FROM h "
                     "JOIN accepted a ON a.cursor = h.c WHERE a.account = ?1 ORDER BY h.n",
    [R_NOTICES] = "SELECT body, cursor, chain_hash FROM notices "
                  "WHERE account = ?1 AND (?2 IS NULL OR lender = ?2) "
                  "ORDER BY accepted_at DESC, sequence DESC LIMIT ?3",
    [R_NOTICES_FROM] = "SELECT body, cursor, chain_hash FROM notices WHERE cursor > ?1 "
                       "ORDER BY cursor LIMIT ?2",
    [R_BATCH] = SQ_BATCH_ROW,
    /* A batch's members in the rows that keep them: accepted, then held, then those the
     * gateway refused (in the batch's row). The accepted ones are those of its own commit,
     * in the range of cursors its row keeps, and those marked late (schema step 24). */
    [R_BATCH_ACCEPTED] = "SELECT a.cursor, a.attestation FROM batches b JOIN accepted a "
                         "ON a.cursor BETWEEN b.first_cursor AND b.last_cursor "
                         "WHERE b.digest = ?1 AND a.batch_digest = ?1 AND a.late IS NULL "
                         "UNION ALL SELECT cursor, attestation FROM accepted "
                         "WHERE batch_digest = ?1 AND late = 1",
    [R_BATCH_HELD] = "SELECT attestation FROM held WHERE batch_digest = ?1",
    [R_ACCOUNT_IDS] = SQ_ACCOUNT_IDS,
};

/* Runs a statement that returns no row, and resets it. */
custos_rc gw_sqstore_step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, custos_error *err)
{
    int rc = sqlite3_step(st);
    int rrc = sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return sq_fail(db, rc, what, err);
    if (rrc != SQLITE_OK)
        return sq_fail(db, rrc, what, err);
    return CUSTOS_OK;
}

custos_rc gw_sqstore_copy_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len,
                               const char *what, custos_error *err)
{
    const void *b = sqlite3_column_blob(st, col);
    if (b == NULL || (size_t)sqlite3_column_bytes(st, col) != len)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: %s has the wrong size", what);
    memcpy(out, b, len);
    return CUSTOS_OK;
}

void gw_sqstore_tips_forget(sq_store *s)
{
    if (++s->tips_gen == 0) {
        memset(s->tips, 0, SQ_TIPS * sizeof *s->tips);
        s->tips_gen = 1;
    }
}

/* Reads the rows beyond the map's upto into it: those other connections committed since,
 * or this one inserted since its last read. */
static custos_rc sq_ids_refresh(sq_store *s, sqlite3 *db, sqlite3_stmt *st, custos_error *err)
{
    int64_t last = gw_sqids_upto(s->ids);
    custos_rc out = sq_bind_rc(db, sqlite3_bind_int64(st, 1, last), "account ids", err);
    int rc = SQLITE_DONE;
    while (out == CUSTOS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t account[CUSTOS_HASH_LEN];
        last = sqlite3_column_int64(st, 0);
        out = gw_sqstore_copy_blob(st, 1, account, sizeof account, "account id", err);
        if (out == CUSTOS_OK)
            out = gw_sqids_put(s->ids, account, last, err);
    }
    int rrc = sqlite3_reset(st);
    if (out == CUSTOS_OK && rc != SQLITE_DONE)
        out = sq_fail(db, rc, "account ids", err);
    if (out == CUSTOS_OK && rrc != SQLITE_OK)
        out = sq_fail(db, rrc, "account ids", err);
    /* Every row up to the last one read is in the map, whatever gaps lie between them. */
    if (out == CUSTOS_OK)
        gw_sqids_raise_upto(s->ids, last);
    return out;
}

custos_rc gw_sqstore_account_place(sq_store *s, sqlite3 *db, sqlite3_stmt *st,
                                   const uint8_t account[CUSTOS_HASH_LEN],
                                   sqlite3_int64 *ordinal, custos_error *err)
{
    *ordinal = gw_sqids_find(s->ids, account);
    /* In the writer's transaction no other connection can have added a row since it began
     * and read theirs in (gw_sqstore_begin). */
    if (*ordinal != 0 || (db == s->wdb && !sqlite3_get_autocommit(s->wdb)))
        return CUSTOS_OK;
    custos_rc rc = sq_ids_refresh(s, db, st, err);
    if (rc == CUSTOS_OK)
        *ordinal = gw_sqids_find(s->ids, account);
    return rc;
}

custos_rc gw_sqstore_account_added(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                                   sqlite3_int64 ordinal, custos_error *err)
{
    bool in_transaction = !sqlite3_get_autocommit(s->wdb);
    if (in_transaction && s->n_ids_added == s->cap_ids_added) {
        size_t cap = s->cap_ids_added != 0 ? 2 * s->cap_ids_added : 256;
        void *v = cap <= SIZE_MAX / CUSTOS_HASH_LEN
                      ? realloc(s->ids_added, cap * CUSTOS_HASH_LEN)
                      : NULL;
        if (v == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                    "store: out of memory for a transaction's new accounts");
        s->ids_added = v;
        s->cap_ids_added = cap;
    }
    custos_rc rc = gw_sqids_put(s->ids, account, ordinal, err);
    if (rc == CUSTOS_OK && in_transaction)
        memcpy(s->ids_added[s->n_ids_added++], account, CUSTOS_HASH_LEN);
    return rc;
}

/* The open transaction's new accounts leave the map as their rows leave the table; the
 * places they took will be taken again. */
static void sq_ids_undo(sq_store *s)
{
    for (size_t i = 0; i < s->n_ids_added; i++)
        gw_sqids_remove(s->ids, s->ids_added[i]);
    s->n_ids_added = 0;
    gw_sqids_lower_upto(s->ids, s->ids_upto_at_begin);
}

custos_rc gw_sqstore_begin(void *impl, custos_error *err)
{
    sq_store *s = impl;
    gw_sqstore_forget_runs(s);
    custos_rc rc = gw_sqstore_step_done(s->wdb, s->w[W_BEGIN], "begin", err);
    if (rc != CUSTOS_OK)
        return rc;
    s->n_ids_added = 0;
    /* Under BEGIN IMMEDIATE no other connection can commit until this transaction ends: a
     * data version unchanged since the last one began means no other connection wrote in
     * between, and the tips still hold. */
    sqlite3_stmt *st = s->w[W_DATA_VERSION];
    int src = sqlite3_step(st);
    sqlite3_int64 version = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    int rrc = sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return sq_fail(s->wdb, src, "data version", err);
    if (rrc != SQLITE_OK)
        return sq_fail(s->wdb, rrc, "data version", err);
    if (version != s->data_version) {
        gw_sqstore_tips_forget(s);
        /* Other connections' new accounts, so that within the transaction an account the
         * map does not hold is new (gw_sqstore_account_place). */
        rc = sq_ids_refresh(s, s->wdb, s->w[W_ACCOUNT_IDS], err);
        if (rc == CUSTOS_OK)
            s->data_version = version;
    }
    s->ids_upto_at_begin = gw_sqids_upto(s->ids);
    return rc;
}

custos_rc gw_sqstore_commit(void *impl, custos_error *err)
{
    sq_store *s = impl;
    custos_rc rc = gw_sqstore_mark_late(s, err);
    gw_sqstore_forget_runs(s);
    if (rc == CUSTOS_OK)
        rc = gw_sqstore_step_done(s->wdb, s->w[W_COMMIT], "commit", err);
    if (rc == CUSTOS_OK)
        s->n_ids_added = 0;
    if (rc != CUSTOS_OK) {
        gw_sqstore_tips_forget(s);
        /* Should the commit have landed after all, the rows are read in again at the next
         * account the map does not hold. */
        sq_ids_undo(s);
        /* A failed COMMIT can leave the transaction open; end it so the next group starts
         * clean. */
        if (!sqlite3_get_autocommit(s->wdb))
            (void)gw_sqstore_step_done(s->wdb, s->w[W_ROLLBACK], "rollback", NULL);
    }
    return rc;
}

void gw_sqstore_rollback(void *impl)
{
    sq_store *s = impl;
    gw_sqstore_tips_forget(s);
    gw_sqstore_forget_runs(s);
    sq_ids_undo(s);
    /* SQLite may already have rolled back on its own (I/O error, disk full). */
    if (!sqlite3_get_autocommit(s->wdb))
        (void)gw_sqstore_step_done(s->wdb, s->w[W_ROLLBACK], "rollback", NULL);
}

void gw_sqstore_close(void *impl)
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
    gw_sqstore_free_runs(s);
    gw_store_batch_views_clear(&s->rbatch);
    gw_store_batch_views_clear(&s->wbatch);
    free(s->tips_mem);
    gw_sqids_free(s->ids);
    free(s->ids_added);
    pthread_cond_destroy(&s->cdone);
    pthread_cond_destroy(&s->cwake);
    pthread_mutex_destroy(&s->clock);
    pthread_mutex_destroy(&s->rlock);
    free(s);
}

static const gw_store_ops sq_ops = {
    .close = gw_sqstore_close,
    .begin = gw_sqstore_begin,
    .commit = gw_sqstore_commit,
    .rollback = gw_sqstore_rollback,
    .head = gw_sqstore_head,
    .load_accounts = gw_sqstore_load_accounts,
    .find_accepted = gw_sqstore_find_accepted,
    .get_pending = gw_sqstore_get_pending,
    .list_pending_signers = gw_sqstore_list_pending_signers,
    .put_pending = gw_sqstore_put_pending,
    .put_pending_signer = gw_sqstore_put_pending_signer,
    .put_accepted = gw_sqstore_put_accepted,
    .prefetch_accounts = gw_sqstore_prefetch_accounts,
    .put_held = gw_sqstore_put_held,
    .get_held = gw_sqstore_get_held,
    .read_held = gw_sqstore_read_held,
    .list_held = gw_sqstore_list_held,
    .count_held = gw_sqstore_count_held,
    .pending_summary = gw_sqstore_pending_summary,
    .pending_usage = gw_sqstore_pending_usage,
    .expire_pending = gw_sqstore_expire_pending,
    .pending_totals = gw_sqstore_pending_totals,
    .drop_held = gw_sqstore_drop_held,
    .set_chain_hash = gw_sqstore_set_chain_hash,
    .audit_head = gw_sqstore_audit_head,
    .read_audit = gw_sqstore_read_audit,
    .append_audit = gw_sqstore_append_audit,
    .get_latest = gw_sqstore_get_latest,
    .latest_valuation = gw_sqstore_latest_valuation,
    .read_from = gw_sqstore_read_from,
    .put_reserves = gw_sqstore_put_reserves,
    .get_reserves = gw_sqstore_get_reserves,
    .put_batch = gw_sqstore_put_batch,
    .last_batch_sequence = gw_sqstore_last_batch_sequence,
    .get_batch = gw_sqstore_get_batch,
    .put_notice = gw_sqstore_put_notice,
    .list_notices = gw_sqstore_list_notices,
    .read_notices_from = gw_sqstore_read_notices_from,
    .record_head = gw_sqstore_record_head,
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
 * the hook ignores its result: the commit has succeeded either way. At the hard bound the
 * writer waits: first for a checkpoint the checkpointer is running (SQLite refuses a
 * second one meanwhile), then, RESTART, for the readers of older frames (the busy
 * timeout), so that the next commit writes the WAL from its start. */
static int sq_wal_hook(void *ctx, sqlite3 *db, const char *name, int pages)
{
    sq_store *s = ctx;
    if (pages >= SQ_WAL_HARD_PAGES) {
        pthread_mutex_lock(&s->clock);
        while (s->checkpointing)
            pthread_cond_wait(&s->cdone, &s->clock);
        pthread_mutex_unlock(&s->clock);
        (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
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
        s->checkpointing = true;
        pthread_mutex_unlock(&s->clock);
        (void)sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&s->clock);
        s->checkpointing = false;
        pthread_cond_broadcast(&s->cdone);
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
            if (steps[i].version > have && gw_schema_ddl(&steps[i], GW_SCHEMA_SQLITE) != NULL)
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
    if (pthread_cond_init(&s->cdone, NULL) != 0) {
        pthread_cond_destroy(&s->cwake);
        pthread_mutex_destroy(&s->clock);
        pthread_mutex_destroy(&s->rlock);
        free(s);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: cannot create a condition");
    }
    /* calloc, whose pages stay unmapped until used, one entry more to align the table on a
     * cache line. */
    _Static_assert(sizeof(sq_tip_entry) == 64, "a tip entry is one cache line");
    s->tips_mem = calloc(SQ_TIPS + 1, sizeof *s->tips);
    if (s->tips_mem != NULL)
        s->tips = (sq_tip_entry *)(((uintptr_t)s->tips_mem + 63) & ~(uintptr_t)63);
    s->tips_gen = 1;
    custos_rc rc = s->tips != NULL ? CUSTOS_OK
                                   : custos_error_set(err, CUSTOS_ERR_NOMEM,
                                                      "store: out of memory");
    if (rc == CUSTOS_OK)
        rc = sq_connect(path, &s->wdb, err);
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
    /* Every account's place, read before any lookup (sqlite_ids.h). */
    if (rc == CUSTOS_OK && (s->ids = gw_sqids_new()) == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "store: out of memory");
    if (rc == CUSTOS_OK)
        rc = sq_ids_refresh(s, s->wdb, s->w[W_ACCOUNT_IDS], err);
    if (rc == CUSTOS_OK)
        rc = sq_start_checkpointer(s, path, err);
    if (rc != CUSTOS_OK) {
        gw_sqstore_close(s);
        return rc;
    }
    out->ops = &sq_ops;
    out->impl = s;
    return CUSTOS_OK;
}
