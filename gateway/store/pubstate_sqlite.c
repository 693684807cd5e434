/* The publisher state's SQLite back end (pubstate_backend.h): one file of its own, WAL,
 * synchronous=FULL.
 *
 * uint64 values (sequence, nonce, asOf, validUntil, gas) are stored as the INTEGER with
 * the same bit pattern: they are only compared for equality or read back, never ordered by
 * SQL, except nonces of SENT rows and the asOf and validUntil of the chain view, which
 * never come near 2^63. uint256 fees and values are 32-byte big-endian blobs. */
#include "store/pubstate_backend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite_common.h"

#define PS_SCHEMA_VERSION 4
#define PS_BUSY_TIMEOUT_MS 5000

static const char ps_schema_v1[] =
    "CREATE TABLE meta ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "INSERT INTO meta (name, value) VALUES ('cursor', 0);"
    "CREATE TABLE fates ("
    "  cursor INTEGER PRIMARY KEY,"
    "  account BLOB NOT NULL,"
    "  sequence INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  beneficiary BLOB NOT NULL,"
    "  value BLOB NOT NULL,"
    "  as_of INTEGER NOT NULL,"
    "  fate INTEGER NOT NULL CHECK (fate BETWEEN 0 AND 3),"
    "  detail TEXT NOT NULL,"
    "  nonce INTEGER,"           /* the transaction's fields, NULL when none was built */
    "  max_fee BLOB,"
    "  priority_fee BLOB,"
    "  gas_limit INTEGER,"
    "  sent_at INTEGER,"
    "  tx_hash BLOB,"
    "  raw BLOB"
    ");"
    "CREATE INDEX fates_by_account ON fates (account, cursor);"
    "CREATE INDEX fates_by_fate ON fates (fate, nonce);"
    "CREATE TABLE attempts ("
    "  tx_hash BLOB PRIMARY KEY,"
    "  cursor INTEGER NOT NULL REFERENCES fates (cursor)"
    ");"
    "CREATE INDEX attempts_by_cursor ON attempts (cursor);";

/* Version 2: each fate's feed and validUntil, and the chain view (each account's last
 * publication) the publisher watches for on-chain expiry. Rows stored before carry "" and
 * 0 until the publisher fills them in from the accepted log (gw_pubstate_label). */
static const char ps_schema_v2[] =
    "ALTER TABLE fates ADD COLUMN feed TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE fates ADD COLUMN valid_until INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE chain ("
    "  account BLOB PRIMARY KEY,"
    "  cursor INTEGER NOT NULL,"
    "  feed TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  as_of INTEGER NOT NULL,"
    "  valid_until INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX chain_by_valid_until ON chain (feed, kind, valid_until);"
    "CREATE INDEX chain_by_as_of ON chain (feed, kind, as_of);"
    "CREATE INDEX chain_by_cursor ON chain (cursor);"
    "INSERT INTO chain (account, cursor, feed, kind, as_of, valid_until) "
    "SELECT account, cursor, feed, kind, as_of, valid_until FROM fates f "
    "WHERE fate IN (1, 2) AND cursor = (SELECT max(cursor) FROM fates g "
    "  WHERE g.account = f.account AND g.fate IN (1, 2));";

/* Version 3: batch calls (docs/publishing.md §14): a batch-signed record's batch digest,
 * and for a member of a batch call the cursor of the row holding its transaction. */
static const char ps_schema_v3[] =
    "ALTER TABLE fates ADD COLUMN batch_digest BLOB;"
    "ALTER TABLE fates ADD COLUMN call_cursor INTEGER NOT NULL DEFAULT 0;";

/* Version 4: whether a batch call carries part of its batch (submitBatchPart). */
static const char ps_schema_v4[] = "ALTER TABLE fates ADD COLUMN part INTEGER NOT NULL DEFAULT 0;";

typedef struct ps_db {
    sqlite3 *db;
} ps_db;

/* Busy, full or failing disks can be retried; anything else is a bug or corruption
 * (sqlite_common.h). */
static custos_rc ps_fail(sqlite3 *db, int rc, const char *what, custos_error *err)
{
    return gw_sqlite_fail(db, rc, "publisher state", what, err);
}

static custos_rc ps_exec(sqlite3 *db, const char *sql, const char *what, custos_error *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? CUSTOS_OK : ps_fail(db, rc, what, err);
}

static custos_rc ps_prepare(ps_db *s, const char *sql, sqlite3_stmt **st,
                            custos_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? CUSTOS_OK : ps_fail(s->db, rc, "prepare", err);
}

static void ps_rollback(ps_db *s)
{
    /* Fails only when no transaction is open, which is then the state wanted. */
    (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static custos_rc ps_schema(ps_db *s, custos_error *err)
{
    custos_rc rc = ps_exec(s->db, "BEGIN IMMEDIATE", "begin", err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_stmt *st;
    if ((rc = ps_prepare(s, "PRAGMA user_version", &st, err)) != CUSTOS_OK) {
        ps_rollback(s);
        return rc;
    }
    int step = sqlite3_step(st);
    int version = step == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0) {
        ps_rollback(s);
        return ps_fail(s->db, step, "read schema version", err);
    }
    if (version > PS_SCHEMA_VERSION)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "publisher state: schema version %d is newer than this gateway "
                              "(%d): upgrade the gateway", version, PS_SCHEMA_VERSION);
    /* Steps in order, each applied once: a new file takes them all. */
    if (rc == CUSTOS_OK && version < 1)
        rc = ps_exec(s->db, ps_schema_v1, "create schema", err);
    if (rc == CUSTOS_OK && version < 2)
        rc = ps_exec(s->db, ps_schema_v2, "migrate schema to version 2", err);
    if (rc == CUSTOS_OK && version < 3)
        rc = ps_exec(s->db, ps_schema_v3, "migrate schema to version 3", err);
    if (rc == CUSTOS_OK && version < 4)
        rc = ps_exec(s->db, ps_schema_v4, "migrate schema to version 4", err);
    if (rc == CUSTOS_OK && version < PS_SCHEMA_VERSION) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", PS_SCHEMA_VERSION);
        rc = ps_exec(s->db, pragma, "set schema version", err);
    }
    if (rc != CUSTOS_OK) {
        ps_rollback(s);
        return rc;
    }
    return ps_exec(s->db, "COMMIT", "commit schema", err);
}

static void ps_close(void *impl)
{
    ps_db *s = impl;
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    free(s);
}

static custos_rc ps_open(const char *path, void **impl, custos_error *err)
{
    *impl = NULL;
    ps_db *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher state: out of memory");
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    custos_rc crc;
    if (rc != SQLITE_OK) {
        crc = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE, "publisher state: cannot open %s: %s",
                               path, s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    rc = sqlite3_busy_timeout(s->db, PS_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        crc = ps_fail(s->db, rc, "busy timeout", err);
        goto fail;
    }
    /* WAL lets a reader (a test, an operator's sqlite3) look while the publisher writes;
     * FULL makes every commit survive power loss: a sent row must exist before its
     * transaction is broadcast. */
    if ((crc = ps_exec(s->db, "PRAGMA journal_mode=WAL", "set WAL", err)) != CUSTOS_OK ||
        (crc = ps_exec(s->db, "PRAGMA synchronous=FULL", "set synchronous", err)) != CUSTOS_OK ||
        (crc = ps_exec(s->db, "PRAGMA foreign_keys=ON", "set foreign keys", err)) != CUSTOS_OK ||
        (crc = ps_schema(s, err)) != CUSTOS_OK)
        goto fail;
    *impl = s;
    return CUSTOS_OK;
fail:
    ps_close(s);
    return crc;
}

static void ps_u256_blob(const custos_u256 *v, uint8_t out[32])
{
    custos_u256_to_be(v, out);
}

static custos_rc ps_read_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len,
                              const char *name, custos_error *err)
{
    if ((size_t)sqlite3_column_bytes(st, col) != len || sqlite3_column_blob(st, col) == NULL)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "publisher state: column %s is not %zu bytes", name, len);
    memcpy(out, sqlite3_column_blob(st, col), len);
    return CUSTOS_OK;
}

/* Fills out from a statement selecting GW_PUB_ROW_COLUMNS. */
static custos_rc ps_read_row(sqlite3_stmt *st, gw_pub_row *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    out->cursor = (uint64_t)sqlite3_column_int64(st, 0);
    uint8_t value[32];
    custos_rc rc;
    if ((rc = ps_read_blob(st, 1, out->account, sizeof out->account, "account", err)) !=
            CUSTOS_OK ||
        (rc = ps_read_blob(st, 4, out->beneficiary, sizeof out->beneficiary, "beneficiary",
                           err)) != CUSTOS_OK ||
        (rc = ps_read_blob(st, 5, value, sizeof value, "value", err)) != CUSTOS_OK)
        return rc;
    custos_u256_from_be(&out->value, value);
    out->sequence = (uint64_t)sqlite3_column_int64(st, 2);
    out->kind = (uint8_t)sqlite3_column_int(st, 3);
    out->as_of = (uint64_t)sqlite3_column_int64(st, 6);
    out->fate = (gw_pub_fate)sqlite3_column_int(st, 7);
    const unsigned char *detail = sqlite3_column_text(st, 8);
    snprintf(out->detail, sizeof out->detail, "%s", detail != NULL ? (const char *)detail : "");
    const unsigned char *feed = sqlite3_column_text(st, 16);
    snprintf(out->feed, sizeof out->feed, "%s", feed != NULL ? (const char *)feed : "");
    out->valid_until = (uint64_t)sqlite3_column_int64(st, 17);
    if (sqlite3_column_type(st, 18) != SQLITE_NULL) {
        if ((rc = ps_read_blob(st, 18, out->batch_digest, sizeof out->batch_digest,
                               "batch_digest", err)) != CUSTOS_OK)
            return rc;
        out->batched = true;
    }
    out->call = (uint64_t)sqlite3_column_int64(st, 19);
    out->part = sqlite3_column_int(st, 20) != 0;
    if (sqlite3_column_type(st, 9) == SQLITE_NULL)
        return CUSTOS_OK;
    gw_pub_tx *tx = &out->tx;
    tx->nonce = (uint64_t)sqlite3_column_int64(st, 9);
    uint8_t fee[32];
    if ((rc = ps_read_blob(st, 10, fee, sizeof fee, "max_fee", err)) != CUSTOS_OK)
        return rc;
    custos_u256_from_be(&tx->max_fee, fee);
    if ((rc = ps_read_blob(st, 11, fee, sizeof fee, "priority_fee", err)) != CUSTOS_OK)
        return rc;
    custos_u256_from_be(&tx->priority_fee, fee);
    tx->gas_limit = (uint64_t)sqlite3_column_int64(st, 12);
    tx->sent_at = (uint64_t)sqlite3_column_int64(st, 13);
    if ((rc = ps_read_blob(st, 14, tx->hash, sizeof tx->hash, "tx_hash", err)) != CUSTOS_OK)
        return rc;
    int raw_len = sqlite3_column_bytes(st, 15);
    if (raw_len <= 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher state: empty raw transaction");
    tx->raw = malloc((size_t)raw_len);
    if (tx->raw == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher state: out of memory");
    memcpy(tx->raw, sqlite3_column_blob(st, 15), (size_t)raw_len);
    tx->raw_len = (size_t)raw_len;
    out->has_tx = true;
    return CUSTOS_OK;
}

static custos_rc ps_cursor(void *impl, uint64_t *cursor, custos_error *err)
{
    ps_db *s = impl;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "SELECT value FROM meta WHERE name = 'cursor'", &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *cursor = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = ps_fail(s->db, step, "read cursor", err);
    sqlite3_finalize(st);
    return rc;
}

/* One statement run to completion; *changes gets the rows it changed (may be NULL). */
static custos_rc ps_step_done(ps_db *s, sqlite3_stmt *st, const char *what, int *changes,
                              custos_error *err)
{
    int step = sqlite3_step(st);
    custos_rc rc = step == SQLITE_DONE ? CUSTOS_OK : ps_fail(s->db, step, what, err);
    if (changes != NULL)
        *changes = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return rc;
}

static custos_rc ps_advance(void *impl, uint64_t cursor, custos_error *err)
{
    ps_db *s = impl;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s,
                              "UPDATE meta SET value = ?1 WHERE name = 'cursor' AND value < ?1 "
                              "AND EXISTS (SELECT 1 FROM fates WHERE cursor = ?1)",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cursor);
    int changes = 0;
    if ((rc = ps_step_done(s, st, "advance cursor", &changes, err)) != CUSTOS_OK)
        return rc;
    if (changes != 1)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: cursor cannot move to %llu: not ahead of the "
                                "current one, or no fate is stored for that record",
                                (unsigned long long)cursor);
    return CUSTOS_OK;
}

static void ps_bind_tx(sqlite3_stmt *st, int first, const gw_pub_tx *tx, uint8_t max_fee[32],
                       uint8_t prio[32])
{
    ps_u256_blob(&tx->max_fee, max_fee);
    ps_u256_blob(&tx->priority_fee, prio);
    sqlite3_bind_int64(st, first, (sqlite3_int64)tx->nonce);
    sqlite3_bind_blob(st, first + 1, max_fee, 32, SQLITE_STATIC);
    sqlite3_bind_blob(st, first + 2, prio, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, first + 3, (sqlite3_int64)tx->gas_limit);
    sqlite3_bind_int64(st, first + 4, (sqlite3_int64)tx->sent_at);
    sqlite3_bind_blob(st, first + 5, tx->hash, CUSTOS_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, first + 6, tx->raw, (int)tx->raw_len, SQLITE_STATIC);
}

static custos_rc ps_insert_attempt(ps_db *s, uint64_t cursor,
                                   const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "INSERT INTO attempts (tx_hash, cursor) VALUES (?1, ?2)", &st,
                              err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_blob(st, 1, hash, CUSTOS_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)cursor);
    return ps_step_done(s, st, "store transaction attempt", NULL, err);
}

/* Inside a write transaction: the chain row of the account of record `cursor` becomes
 * that account's newest SENT or CONFIRMED fate again (or goes, when it has none). */
static custos_rc ps_chain_refresh(ps_db *s, uint64_t cursor, custos_error *err)
{
    static const char *const sql[] = {
        "DELETE FROM chain WHERE account = (SELECT account FROM fates WHERE cursor = ?1)",
        "INSERT INTO chain (account, cursor, feed, kind, as_of, valid_until) "
        "SELECT account, cursor, feed, kind, as_of, valid_until FROM fates "
        "WHERE account = (SELECT account FROM fates WHERE cursor = ?1) AND fate IN (1, 2) "
        "ORDER BY cursor DESC LIMIT 1",
    };
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        if ((rc = ps_prepare(s, sql[i], &st, err)) != CUSTOS_OK)
            break;
        sqlite3_bind_int64(st, 1, (sqlite3_int64)cursor);
        rc = ps_step_done(s, st, "update chain view", NULL, err);
    }
    return rc;
}

/* Inside a write transaction: inserts row's fate. */
static custos_rc ps_insert_row(ps_db *s, const gw_pub_row *row, custos_error *err)
{
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "INSERT INTO fates (" GW_PUB_ROW_COLUMNS ") "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                                 "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t value[32], max_fee[32], prio[32];
    ps_u256_blob(&row->value, value);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)row->cursor);
    sqlite3_bind_blob(st, 2, row->account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)row->sequence);
    sqlite3_bind_int(st, 4, row->kind);
    sqlite3_bind_blob(st, 5, row->beneficiary, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, value, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)row->as_of);
    sqlite3_bind_int(st, 8, (int)row->fate);
    sqlite3_bind_text(st, 9, row->detail, -1, SQLITE_STATIC);
    if (row->has_tx)
        ps_bind_tx(st, 10, &row->tx, max_fee, prio);
    sqlite3_bind_text(st, 17, row->feed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 18, (sqlite3_int64)row->valid_until);
    if (row->batched)
        sqlite3_bind_blob(st, 19, row->batch_digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 20, (sqlite3_int64)row->call);
    sqlite3_bind_int(st, 21, row->part ? 1 : 0);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_CONSTRAINT || (step & 0xff) == SQLITE_CONSTRAINT)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: record %llu already has a fate",
                                (unsigned long long)row->cursor);
    if (step != SQLITE_DONE)
        return ps_fail(s->db, step, "store fate", err);
    if (row->has_tx && (rc = ps_insert_attempt(s, row->cursor, row->tx.hash, err)) != CUSTOS_OK)
        return rc;
    if (row->fate != GW_PUB_SKIPPED)
        return ps_chain_refresh(s, row->cursor, err);
    return CUSTOS_OK;
}

static custos_rc ps_get(void *impl, uint64_t cursor, gw_pub_row *out, custos_error *err)
{
    ps_db *s = impl;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "SELECT " GW_PUB_ROW_COLUMNS " FROM fates WHERE cursor = ?1",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cursor);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = ps_read_row(st, out, err);
    else if (step == SQLITE_DONE)
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "publisher state: record %llu has no fate",
                              (unsigned long long)cursor);
    else
        rc = ps_fail(s->db, step, "read fate", err);
    sqlite3_finalize(st);
    if (rc != CUSTOS_OK)
        gw_pub_row_clear(out);
    return rc;
}

static custos_rc ps_replace_tx(void *impl, uint64_t cursor, const gw_pub_tx *tx,
                               bool new_nonce, custos_error *err)
{
    ps_db *s = impl;
    custos_rc rc;
    if ((rc = ps_exec(s->db, "BEGIN IMMEDIATE", "begin", err)) != CUSTOS_OK)
        return rc;
    sqlite3_stmt *st;
    if ((rc = ps_prepare(s, "SELECT count(*) FROM attempts WHERE cursor = ?1", &st, err)) !=
        CUSTOS_OK)
        goto fail;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cursor);
    int step = sqlite3_step(st);
    sqlite3_int64 attempts = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (attempts < 0) {
        rc = ps_fail(s->db, step, "count attempts", err);
        goto fail;
    }
    if (attempts >= GW_PUBSTATE_MAX_ATTEMPTS) {
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                              "publisher state: record %llu already has %d transactions",
                              (unsigned long long)cursor, GW_PUBSTATE_MAX_ATTEMPTS);
        goto fail;
    }
    if ((rc = ps_prepare(s, new_nonce
                                ? "UPDATE fates SET nonce = ?1, max_fee = ?2, priority_fee = ?3, "
                                  "gas_limit = ?4, sent_at = ?5, tx_hash = ?6, raw = ?7 "
                                  "WHERE cursor = ?8 AND fate = 1 AND nonce <> ?1"
                                : "UPDATE fates SET nonce = ?1, max_fee = ?2, priority_fee = ?3, "
                                  "gas_limit = ?4, sent_at = ?5, tx_hash = ?6, raw = ?7 "
                                  "WHERE cursor = ?8 AND fate = 1 AND nonce = ?1",
                         &st, err)) != CUSTOS_OK)
        goto fail;
    uint8_t max_fee[32], prio[32];
    ps_bind_tx(st, 1, tx, max_fee, prio);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)cursor);
    int changes = 0;
    if ((rc = ps_step_done(s, st, "replace transaction", &changes, err)) != CUSTOS_OK)
        goto fail;
    if (changes != 1) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "publisher state: record %llu is not sent with %s nonce %llu",
                              (unsigned long long)cursor, new_nonce ? "a nonce other than" : "",
                              (unsigned long long)tx->nonce);
        goto fail;
    }
    if ((rc = ps_insert_attempt(s, cursor, tx->hash, err)) != CUSTOS_OK)
        goto fail;
    return ps_exec(s->db, "COMMIT", "commit transaction", err);
fail:
    ps_rollback(s);
    return rc;
}

static custos_rc ps_finish(void *impl, uint64_t cursor, gw_pub_fate fate,
                           const char *detail, custos_error *err)
{
    ps_db *s = impl;
    custos_rc rc;
    if ((rc = ps_exec(s->db, "BEGIN IMMEDIATE", "begin", err)) != CUSTOS_OK)
        return rc;
    sqlite3_stmt *st;
    if ((rc = ps_prepare(s, "UPDATE fates SET fate = ?1, detail = ?2 "
                            "WHERE cursor = ?3 AND fate = 1",
                         &st, err)) != CUSTOS_OK)
        goto fail;
    sqlite3_bind_int(st, 1, (int)fate);
    sqlite3_bind_text(st, 2, detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)cursor);
    int changes = 0;
    if ((rc = ps_step_done(s, st, "finish fate", &changes, err)) != CUSTOS_OK)
        goto fail;
    if (changes != 1) {
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "publisher state: record %llu is not waiting for a receipt",
                              (unsigned long long)cursor);
        goto fail;
    }
    if ((rc = ps_chain_refresh(s, cursor, err)) != CUSTOS_OK)
        goto fail;
    return ps_exec(s->db, "COMMIT", "commit fate", err);
fail:
    ps_rollback(s);
    return rc;
}

/* Inside a write transaction: a skipped row becomes row's fate. */
static custos_rc ps_promote_row(ps_db *s, const gw_pub_row *row, custos_error *err)
{
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "UPDATE fates SET nonce = ?1, max_fee = ?2, priority_fee = ?3, "
                                 "gas_limit = ?4, sent_at = ?5, tx_hash = ?6, raw = ?7, fate = ?8, "
                                 "detail = ?9, batch_digest = ?11, call_cursor = ?12, part = ?13 "
                                 "WHERE cursor = ?10 AND fate = 0",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t max_fee[32], prio[32];
    if (row->has_tx)
        ps_bind_tx(st, 1, &row->tx, max_fee, prio);
    sqlite3_bind_int(st, 8, (int)row->fate);
    sqlite3_bind_text(st, 9, row->detail, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)row->cursor);
    if (row->batched)
        sqlite3_bind_blob(st, 11, row->batch_digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)row->call);
    sqlite3_bind_int(st, 13, row->part ? 1 : 0);
    int changes = 0;
    if ((rc = ps_step_done(s, st, "promote fate", &changes, err)) != CUSTOS_OK)
        return rc;
    if (changes != 1)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "publisher state: record %llu is not skipped",
                                (unsigned long long)row->cursor);
    if (row->has_tx && (rc = ps_insert_attempt(s, row->cursor, row->tx.hash, err)) != CUSTOS_OK)
        return rc;
    return ps_chain_refresh(s, row->cursor, err);
}

static custos_rc ps_put(void *impl, const gw_pub_row *rows, size_t n, size_t first_promoted,
                        custos_error *err)
{
    ps_db *s = impl;
    custos_rc rc;
    if ((rc = ps_exec(s->db, "BEGIN IMMEDIATE", "begin", err)) != CUSTOS_OK)
        return rc;
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++)
        rc = i < first_promoted ? ps_insert_row(s, &rows[i], err)
                                : ps_promote_row(s, &rows[i], err);
    if (rc == CUSTOS_OK)
        return ps_exec(s->db, "COMMIT", "commit fate", err);
    ps_rollback(s);
    return rc;
}

static custos_rc ps_last_published(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                   gw_pub_row *out, custos_error *err)
{
    ps_db *s = impl;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "SELECT " GW_PUB_ROW_COLUMNS " FROM fates "
                                 "WHERE account = ?1 AND fate IN (1, 2) "
                                 "ORDER BY cursor DESC LIMIT 1",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = ps_read_row(st, out, err);
    else if (step == SQLITE_DONE)
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "publisher state: account never published");
    else
        rc = ps_fail(s->db, step, "read last published", err);
    sqlite3_finalize(st);
    if (rc != CUSTOS_OK)
        gw_pub_row_clear(out);
    return rc;
}

static custos_rc ps_list_sent(void *impl, gw_pub_row **rows, size_t *n,
                              custos_error *err)
{
    ps_db *s = impl;
    *rows = NULL;
    *n = 0;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "SELECT " GW_PUB_ROW_COLUMNS " FROM fates WHERE fate = 1 "
                                 "ORDER BY nonce IS NULL, nonce, cursor",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    gw_pub_row *out = NULL;
    size_t len = 0, cap = 0;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap == 0 ? 8 : cap * 2;
            gw_pub_row *grown = realloc(out, ncap * sizeof *out);
            if (grown == NULL) {
                rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher state: out of memory");
                break;
            }
            out = grown;
            cap = ncap;
        }
        if ((rc = ps_read_row(st, &out[len], err)) != CUSTOS_OK) {
            gw_pub_row_clear(&out[len]);
            break;
        }
        len++;
    }
    if (rc == CUSTOS_OK && step != SQLITE_DONE)
        rc = ps_fail(s->db, step, "list sent", err);
    sqlite3_finalize(st);
    if (rc != CUSTOS_OK) {
        for (size_t i = 0; i < len; i++)
            gw_pub_row_clear(&out[i]);
        free(out);
        return rc;
    }
    *rows = out;
    *n = len;
    return CUSTOS_OK;
}

static custos_rc ps_attempts(void *impl, uint64_t cursor,
                             uint8_t hashes[][CUSTOS_HASH_LEN], size_t max, size_t *n,
                             custos_error *err)
{
    ps_db *s = impl;
    *n = 0;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "SELECT tx_hash FROM attempts WHERE cursor = ?1 "
                                 "ORDER BY rowid DESC",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)cursor);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
        if ((rc = ps_read_blob(st, 0, hashes[*n], CUSTOS_HASH_LEN, "tx_hash", err)) != CUSTOS_OK)
            break;
        (*n)++;
    }
    if (rc == CUSTOS_OK && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = ps_fail(s->db, step, "list attempts", err);
    sqlite3_finalize(st);
    return rc;
}

static custos_rc ps_expiring(void *impl, const char *feed, uint64_t valid_until_by,
                             uint64_t as_of_by, uint64_t next_valid_after, gw_pub_expiring *out,
                             size_t max, size_t *n, custos_error *err)
{
    ps_db *s = impl;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(
        s,
        "SELECT c.account, c.cursor, c.as_of, c.valid_until, f.cursor, f.as_of, f.valid_until "
        "FROM chain c JOIN fates f ON f.cursor = (SELECT max(g.cursor) FROM fates g "
        "  WHERE g.account = c.account AND g.cursor > c.cursor AND g.fate = 0) "
        "WHERE c.feed = ?1 AND c.kind = 0 AND (c.valid_until <= ?2 OR c.as_of <= ?3) "
        "AND f.valid_until > ?5 ORDER BY c.valid_until, c.cursor LIMIT ?4",
        &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)valid_until_by);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)as_of_by);
    sqlite3_bind_int64(st, 4, max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)next_valid_after);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
        gw_pub_expiring *e = &out[*n];
        if ((rc = ps_read_blob(st, 0, e->account, sizeof e->account, "account", err)) !=
            CUSTOS_OK)
            break;
        e->last_cursor = (uint64_t)sqlite3_column_int64(st, 1);
        e->last_as_of = (uint64_t)sqlite3_column_int64(st, 2);
        e->last_valid_until = (uint64_t)sqlite3_column_int64(st, 3);
        e->next_cursor = (uint64_t)sqlite3_column_int64(st, 4);
        e->next_as_of = (uint64_t)sqlite3_column_int64(st, 5);
        e->next_valid_until = (uint64_t)sqlite3_column_int64(st, 6);
        (*n)++;
    }
    if (rc == CUSTOS_OK && step != SQLITE_DONE && step != SQLITE_ROW)
        rc = ps_fail(s->db, step, "list expiring accounts", err);
    sqlite3_finalize(st);
    return rc;
}

static custos_rc ps_chain_summary(void *impl, const char *feed, uint64_t valid_until_by,
                                  uint64_t as_of_by, gw_pub_chain_summary *out,
                                  custos_error *err)
{
    ps_db *s = impl;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s,
                              "SELECT count(*), min(valid_until), min(as_of), "
                              "  count(CASE WHEN valid_until <= ?2 OR as_of <= ?3 THEN 1 END) "
                              "FROM chain WHERE feed = ?1 AND kind = 0",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)valid_until_by);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)as_of_by);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        out->accounts = (uint64_t)sqlite3_column_int64(st, 0);
        out->min_valid_until = (uint64_t)sqlite3_column_int64(st, 1);
        out->min_as_of = (uint64_t)sqlite3_column_int64(st, 2);
        out->matching = (uint64_t)sqlite3_column_int64(st, 3);
    } else {
        rc = ps_fail(s->db, step, "summarise chain view", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static custos_rc ps_chain_feeds(void *impl, char (*feeds)[CUSTOS_FEED_MAX + 1], size_t max,
                                size_t *n, custos_error *err)
{
    ps_db *s = impl;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "SELECT DISTINCT feed FROM chain ORDER BY feed", &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
        const unsigned char *f = sqlite3_column_text(st, 0);
        snprintf(feeds[*n], CUSTOS_FEED_MAX + 1, "%s", f != NULL ? (const char *)f : "");
        (*n)++;
    }
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        rc = ps_fail(s->db, step, "list chain feeds", err);
    sqlite3_finalize(st);
    return rc;
}

static custos_rc ps_unlabelled(void *impl, uint64_t *cursors, size_t max, size_t *n,
                               custos_error *err)
{
    ps_db *s = impl;
    sqlite3_stmt *st;
    custos_rc rc = ps_prepare(s, "SELECT cursor FROM chain WHERE feed = '' ORDER BY cursor "
                                 "LIMIT ?1",
                              &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    sqlite3_bind_int64(st, 1, max > INT32_MAX ? INT32_MAX : (sqlite3_int64)max);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && *n < max)
        cursors[(*n)++] = (uint64_t)sqlite3_column_int64(st, 0);
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        rc = ps_fail(s->db, step, "list unlabelled publications", err);
    sqlite3_finalize(st);
    return rc;
}

static custos_rc ps_label(void *impl, uint64_t cursor, const char *feed, uint64_t valid_until,
                          custos_error *err)
{
    ps_db *s = impl;
    static const char *const sql[] = {
        "UPDATE fates SET feed = ?1, valid_until = ?2 WHERE cursor = ?3",
        "UPDATE chain SET feed = ?1, valid_until = ?2 WHERE cursor = ?3",
    };
    custos_rc rc;
    if ((rc = ps_exec(s->db, "BEGIN IMMEDIATE", "begin", err)) != CUSTOS_OK)
        return rc;
    for (size_t i = 0; rc == CUSTOS_OK && i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        if ((rc = ps_prepare(s, sql[i], &st, err)) != CUSTOS_OK)
            break;
        sqlite3_bind_text(st, 1, feed, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)valid_until);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)cursor);
        rc = ps_step_done(s, st, "label publication", NULL, err);
    }
    if (rc != CUSTOS_OK) {
        ps_rollback(s);
        return rc;
    }
    return ps_exec(s->db, "COMMIT", "commit label", err);
}

const gw_pubstate_ops gw_pubstate_sqlite_ops = {
    .open = ps_open,
    .close = ps_close,
    .cursor = ps_cursor,
    .advance = ps_advance,
    .put = ps_put,
    .get = ps_get,
    .replace_tx = ps_replace_tx,
    .finish = ps_finish,
    .last_published = ps_last_published,
    .list_sent = ps_list_sent,
    .attempts = ps_attempts,
    .expiring = ps_expiring,
    .chain_summary = ps_chain_summary,
    .chain_feeds = ps_chain_feeds,
    .unlabelled = ps_unlabelled,
    .label = ps_label,
};
