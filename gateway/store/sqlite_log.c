/* The SQLite store's accepted log and accounts (sqlite_store.h): the head, each account's
 * latest record and pledge, appending accepted records, and reading them back. */
#include "store/sqlite_store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

custos_rc gw_sqstore_row_to_record(sqlite3_stmt *st, custos_record *rec, custos_error *err)
{
    memset(rec, 0, sizeof *rec);
    rec->cursor = (uint64_t)sqlite3_column_int64(st, 0);
    rec->state = CUSTOS_STATE_ACCEPTED;
    rec->accepted_at = (uint64_t)sqlite3_column_int64(st, 2);
    custos_rc rc = gw_sqstore_copy_blob(st, 1, rec->digest, CUSTOS_HASH_LEN, "digest", err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = sq_column_submission(st, 3, &rec->sub, err);
    if (rc != CUSTOS_OK)
        return rc;
    const uint8_t *signers = sqlite3_column_blob(st, 4);
    size_t bytes = (size_t)sqlite3_column_bytes(st, 4);
    /* Batched: no signature of its own, its batch's signers come with the batch. */
    rec->batched = sqlite3_column_type(st, 6) != SQLITE_NULL;
    if (rec->batched && (rec->sub.n_sigs != 0 || bytes != 0)) {
        custos_submission_clear(&rec->sub);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: batched record %llu has signatures of its own",
                                (unsigned long long)rec->cursor);
    }
    if (rec->batched)
        rc = gw_sqstore_copy_blob(st, 6, rec->batch.digest, CUSTOS_HASH_LEN, "batch_digest",
                                  err);
    else if (signers == NULL || bytes != rec->sub.n_sigs * CUSTOS_ADDRESS_LEN) {
        custos_submission_clear(&rec->sub);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "store: record %llu has %zu signer bytes for %zu signatures",
                                (unsigned long long)rec->cursor, bytes, rec->sub.n_sigs);
    }
    if (rc != CUSTOS_OK) {
        custos_submission_clear(&rec->sub);
        return rc;
    }
    for (size_t i = 0; i < rec->sub.n_sigs; i++)
        memcpy(rec->signers[i], signers + i * CUSTOS_ADDRESS_LEN, CUSTOS_ADDRESS_LEN);
    rec->n_signers = rec->sub.n_sigs;
    /* NULL: accepted before the chain existed, not yet filled in. */
    if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
        rc = gw_sqstore_copy_blob(st, 5, rec->chain_hash, CUSTOS_HASH_LEN, "chain_hash", err);
        if (rc != CUSTOS_OK) {
            custos_submission_clear(&rec->sub);
            return rc;
        }
    }
    return CUSTOS_OK;
}

custos_rc gw_sqstore_record_columns(const custos_record *rec, sq_record_cols *c,
                                    custos_error *err)
{
    if (rec->n_signers > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: record with %zu signers cannot be stored",
                                rec->n_signers);
    c->blob = NULL;
    c->len = 0;
    custos_rc out = gw_store_encode_submission(&rec->sub, &c->blob, &c->len, err);
    if (out != CUSTOS_OK)
        return out;
    for (size_t i = 0; i < rec->n_signers; i++)
        memcpy(c->signers + i * CUSTOS_ADDRESS_LEN, rec->signers[i], CUSTOS_ADDRESS_LEN);
    gw_store_put_u64(c->seq, rec->sub.att.sequence);
    return CUSTOS_OK;
}

/* The one number statement st answers. */
static custos_rc sq_head_of(sq_store *s, sqlite3_stmt *st, const char *what, uint64_t *cursor,
                            custos_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *cursor = (uint64_t)sqlite3_column_int64(st, 0);
    int rrc = sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return sq_fail(s->wdb, rc, what, err);
    return rrc == SQLITE_OK ? CUSTOS_OK : sq_fail(s->wdb, rrc, what, err);
}

custos_rc gw_sqstore_head(void *impl, uint64_t *cursor, custos_error *err)
{
    sq_store *s = impl;
    return sq_head_of(s, s->w[W_HEAD], "head", cursor, err);
}

custos_rc gw_sqstore_record_head(void *impl, uint64_t *cursor, custos_error *err)
{
    sq_store *s = impl;
    return sq_head_of(s, s->w[W_RECORD_HEAD], "record head", cursor, err);
}

custos_rc gw_sqstore_load_accounts(void *impl, gw_store_account_fn fn, void *ctx,
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
        out = gw_sqstore_copy_blob(st, 0, a.account, CUSTOS_HASH_LEN, "account", err);
        if (out == CUSTOS_OK)
            out = gw_sqstore_copy_blob(st, 2, seq, sizeof seq, "last_sequence", err);
        if (out == CUSTOS_OK)
            out = gw_sqstore_copy_blob(st, 4, a.beneficiary, CUSTOS_ADDRESS_LEN, "beneficiary",
                                       err);
        const unsigned char *feed = sqlite3_column_text(st, 1);
        if (out == CUSTOS_OK && (feed == NULL || strlen((const char *)feed) > CUSTOS_FEED_MAX))
            out = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: bad feed in accounts");
        if (out != CUSTOS_OK)
            break;
        memcpy(a.feed, feed, strlen((const char *)feed) + 1);
        a.last_sequence = gw_store_get_be(seq, 8);
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

custos_rc gw_sqstore_find_accepted(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                   uint64_t sequence, const uint8_t digest[CUSTOS_HASH_LEN],
                                   uint64_t *cursor, uint32_t *n_signers, custos_error *err)
{
    sq_store *s = impl;
    sqlite3_int64 place;
    custos_rc out = gw_sqstore_account_place(s, s->wdb, s->w[W_ACCOUNT_IDS], account, &place,
                                             err);
    if (out != CUSTOS_OK)
        return out;
    if (place == 0)
        return CUSTOS_ERR_NOT_FOUND;
    sqlite3_stmt *st = s->w[W_FIND_ACCEPTED];
    uint8_t seq[8];
    gw_store_put_u64(seq, sequence);
    int brc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_blob(st, 2, seq, sizeof seq, SQLITE_TRANSIENT);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_blob(st, 3, digest, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_int64(st, 4, GW_STORE_RETRY_WINDOW);
    if (brc == SQLITE_OK)
        brc = sqlite3_bind_int64(st, 5, place);
    out = sq_bind_rc(s->wdb, brc, "find accepted", err);
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

/* What storing a record of an account needs to know of it: its place in accounts (0: none
 * yet), its latest record's cursor (0: none) and that record's sequence (has_seq false
 * without one); entry is where the table of tips held it (NULL: found by id, or new). */
typedef struct sq_tip {
    sqlite3_int64 ordinal, last_cursor;
    bool has_seq;
    uint64_t seq;
    sq_tip_entry *entry;
} sq_tip;

/* The account's set in the writer's table of tips (sqlite_store.h). */
static sq_tip_entry *sq_tip_set(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN])
{
    uint32_t h;
    memcpy(&h, account, sizeof h);
    return &s->tips[(h & (SQ_TIP_SETS - 1)) * SQ_TIP_WAYS];
}

/* The account's live entry in its set, or NULL. */
static sq_tip_entry *sq_tip_find(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN])
{
    sq_tip_entry *set = sq_tip_set(s, account);
    for (int w = 0; w < SQ_TIP_WAYS; w++)
        if (set[w].gen == s->tips_gen && memcmp(set[w].account, account, CUSTOS_HASH_LEN) == 0)
            return &set[w];
    return NULL;
}

/* Where to keep the tip of an account the table does not hold: a forgotten entry of its
 * set, else the set's least recently used (sqlite_store.h). */
static sq_tip_entry *sq_tip_take(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN])
{
    sq_tip_entry *set = sq_tip_set(s, account);
    sq_tip_entry *oldest = &set[0];
    for (int w = 0; w < SQ_TIP_WAYS; w++) {
        if (set[w].gen != s->tips_gen)
            return &set[w];
        if (set[w].used < oldest->used)
            oldest = &set[w];
    }
    return oldest;
}

/* Marks e used now, as its account's record is stored; at the clock's wrap every entry is
 * forgotten, so that no entry's use looks older than it is. */
static void sq_tip_touch(sq_store *s, sq_tip_entry *e)
{
    if (++s->tips_clock == 0) {
        gw_sqstore_tips_forget(s);
        s->tips_clock = 1;
    }
    e->used = s->tips_clock;
}

/* A batch's accounts have their sets at random places of the 2 MiB table: asking for all
 * of them first lets the misses overlap (sq_tip_find was 2% of a batch's profile). */
void gw_sqstore_prefetch_accounts(void *impl, const custos_batch_member *accounts, size_t n)
{
    sq_store *s = impl;
    for (size_t i = 0; i < n; i++) {
        const sq_tip_entry *set = sq_tip_set(s, accounts[i].att.account);
        for (int w = 0; w < SQ_TIP_WAYS; w++)
            __builtin_prefetch(&set[w]);
    }
}

/* The account's tip: from the table when this connection stored the account's latest
 * record, else read at the place the map of ids holds (none: a new account). */
static custos_rc sq_account_tip(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN], sq_tip *t,
                                custos_error *err)
{
    sq_tip_entry *e = sq_tip_find(s, account);
    if (e != NULL) {
        t->ordinal = e->ordinal;
        t->last_cursor = e->last_cursor;
        t->has_seq = true;
        t->seq = e->seq;
        t->entry = e;
        return CUSTOS_OK;
    }
    memset(t, 0, sizeof *t);
    sqlite3_int64 place;
    custos_rc out = gw_sqstore_account_place(s, s->wdb, s->w[W_ACCOUNT_IDS], account, &place,
                                             err);
    if (out != CUSTOS_OK || place == 0)
        return out;
    sqlite3_stmt *st = s->w[W_ACCOUNT_TIP];
    int rc = sqlite3_bind_int64(st, 1, place);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 2, account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    out = sq_bind_rc(s->wdb, rc, "account tip", err);
    if (out != CUSTOS_OK)
        return out;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        t->ordinal = place;
        t->last_cursor = sqlite3_column_int64(st, 0);
        t->has_seq = sqlite3_column_type(st, 1) != SQLITE_NULL;
        uint8_t seq[8];
        if (t->has_seq)
            out = gw_sqstore_copy_blob(st, 1, seq, sizeof seq, "last sequence", err);
        if (t->has_seq && out == CUSTOS_OK)
            t->seq = gw_store_get_be(seq, sizeof seq);
    } else if (rc == SQLITE_DONE) {
        /* The map holds only rows that exist: another account at the place means the
         * table was changed under the store. */
        out = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                               "store: the account's row at place %lld is missing or not "
                               "its own", (long long)place);
    } else {
        out = sq_fail(s->wdb, rc, "account tip", err);
    }
    int rrc = sqlite3_reset(st);
    if (out == CUSTOS_OK && rrc != SQLITE_OK)
        out = sq_fail(s->wdb, rrc, "account tip", err);
    return out;
}

/* The account's row: updated at its place, or inserted at the next one. */
static custos_rc sq_put_account(sq_store *s, const sq_tip *t, const custos_record *rec,
                                const uint8_t seq[8],
                                const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                custos_error *err)
{
    sqlite3_stmt *st = s->w[t->ordinal != 0 ? W_SET_ACCOUNT : W_PUT_ACCOUNT];
    int rc = t->ordinal != 0
                 ? sqlite3_bind_int64(st, 1, t->ordinal)
                 : sqlite3_bind_blob(st, 1, rec->sub.att.account, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(st, 2, rec->sub.feed, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 3, seq, 8, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->cursor);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 5, beneficiary, CUSTOS_ADDRESS_LEN, SQLITE_STATIC);
    custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put account", err)
                                    : sq_fail(s->wdb, rc, "put account", err);
    (void)sqlite3_clear_bindings(st);
    if (out == CUSTOS_OK && sqlite3_changes(s->wdb) != 1)
        out = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: account row %lld not found",
                               (long long)t->ordinal);
    if (out == CUSTOS_OK && t->ordinal == 0)
        out = gw_sqstore_account_added(s, rec->sub.att.account,
                                       sqlite3_last_insert_rowid(s->wdb), err);
    return out;
}

custos_rc gw_sqstore_put_accepted(void *impl, const custos_record *rec,
                                  const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    sq_store *s = impl;
    if (rec->cursor == 0 || rec->cursor > INT64_MAX || rec->accepted_at > INT64_MAX ||
        !gw_sqstore_record_signers_ok(rec))
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: record with cursor %llu and %zu signers for %zu "
                                "signatures cannot be stored",
                                (unsigned long long)rec->cursor, rec->n_signers,
                                rec->sub.n_sigs);
    const uint8_t *account = rec->sub.att.account;
    sq_tip tip;
    custos_rc out = sq_account_tip(s, account, &tip, err);
    if (out != CUSTOS_OK)
        return out;
    /* Rule 4 in the single writer's store, where no unique index stands guard (schema
     * step 23): only above the account's latest, linked to it. */
    if (tip.has_seq && rec->sub.att.sequence <= tip.seq)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "store: record %llu: sequence %llu is not above the account's "
                                "latest accepted record",
                                (unsigned long long)rec->cursor,
                                (unsigned long long)rec->sub.att.sequence);
    sq_record_cols cols;
    out = gw_sqstore_record_columns(rec, &cols, err);
    if (out != CUSTOS_OK)
        return out;
    const uint8_t *signers = cols.signers, *seq = cols.seq;

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
        rc = sqlite3_bind_blob(st, 6, cols.blob, (int)cols.len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 7, signers, (int)(rec->sub.n_sigs * CUSTOS_ADDRESS_LEN),
                               SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(st, 8, rec->chain_hash, CUSTOS_HASH_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = rec->batched ? sqlite3_bind_blob(st, 9, rec->batch.digest, CUSTOS_HASH_LEN,
                                              SQLITE_STATIC)
                          : sqlite3_bind_null(st, 9);
    if (rc == SQLITE_OK)
        rc = tip.last_cursor != 0 ? sqlite3_bind_int64(st, 10, tip.last_cursor)
                                  : sqlite3_bind_null(st, 10);
    /* A batched record outside a transaction is late at once: no batch row will list it
     * at a commit (docs/storage.md §10). */
    bool late = rec->batched && sqlite3_get_autocommit(s->wdb);
    if (rc == SQLITE_OK)
        rc = late ? sqlite3_bind_int(st, 11, 1) : sqlite3_bind_null(st, 11);
    out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "put accepted", err)
                          : sq_fail(s->wdb, rc, "put accepted", err);
    (void)sqlite3_clear_bindings(st);
    free(cols.blob);
    if (out == CUSTOS_OK && rec->batched && !late)
        out = gw_sqstore_note_batched(s, rec, err);
    if (out == CUSTOS_OK)
        out = sq_put_account(s, &tip, rec, seq, beneficiary, err);
    if (out != CUSTOS_OK)
        return out;
    /* Should the transaction not commit, its rollback forgets this entry. Nothing between
     * the lookup and here forgets the table, so the entry found then is still the
     * account's. */
    sq_tip_entry *e = tip.entry != NULL ? tip.entry : sq_tip_take(s, account);
    memcpy(e->account, account, CUSTOS_HASH_LEN);
    e->ordinal = tip.ordinal != 0 ? tip.ordinal : sqlite3_last_insert_rowid(s->wdb);
    e->last_cursor = (sqlite3_int64)rec->cursor;
    e->seq = rec->sub.att.sequence;
    e->gen = s->tips_gen;
    sq_tip_touch(s, e);
    return gw_sqstore_prune(s, account, seq, err);
}

custos_rc gw_sqstore_set_chain_hash(void *impl, uint64_t cursor,
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
    custos_rc out = rc == SQLITE_OK ? gw_sqstore_step_done(s->wdb, st, "set chain hash", err)
                                    : sq_fail(s->wdb, rc, "set chain hash", err);
    (void)sqlite3_clear_bindings(st);
    return out;
}

custos_rc gw_sqstore_get_latest(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                custos_record *out, custos_error *err)
{
    sq_store *s = impl;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->rlock);
    sqlite3_stmt *st = s->r[R_LATEST];
    sqlite3_int64 place;
    custos_rc res = gw_sqstore_account_place(s, s->rdb, s->r[R_ACCOUNT_IDS], account, &place,
                                             err);
    int rc = SQLITE_OK;
    if (res == CUSTOS_OK)
        rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_TRANSIENT);
    if (res == CUSTOS_OK && rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, place);
    if (res == CUSTOS_OK && rc != SQLITE_OK)
        res = sq_fail(s->rdb, rc, "get latest", err);
    if (res == CUSTOS_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            res = gw_sqstore_row_to_record(st, out, err);
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
        /* After the reset: one statement at a time on the connection. */
        if (res == CUSTOS_OK && out->batched) {
            res = gw_sqstore_fill_batches(s->rdb, s->r[R_BATCH], &s->rbatch, out, 1, err);
            if (res != CUSTOS_OK)
                custos_record_clear(out);
        }
    }
    pthread_mutex_unlock(&s->rlock);
    return res;
}

/* Rows read per step: an account's latest record is nearly always a valuation, and only a
 * run of freezes and releases makes the search go further back. */
#define SQ_VALUATION_PAGE 32

/* One page of the account's records from cursor *from back (its latest when *from is 0),
 * newest first, along prev_cursor: stops at the first valuation (*found, *value), else sets
 * *from to the record before the last one read, 0 when there is none. */
static custos_rc sq_valuation_page(sq_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                                   sqlite3_int64 *from, bool *found, custos_u256 *value,
                                   custos_error *err)
{
    sqlite3_stmt *st = s->r[R_VALUATIONS];
    bool top = *from == 0;
    sqlite3_int64 place = 0;
    custos_rc res = top ? gw_sqstore_account_place(s, s->rdb, s->r[R_ACCOUNT_IDS], account,
                                                   &place, err)
                        : CUSTOS_OK;
    if (res != CUSTOS_OK)
        return res;
    int rc = sqlite3_bind_blob(st, 1, account, CUSTOS_HASH_LEN, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = top ? sqlite3_bind_null(st, 2) : sqlite3_bind_int64(st, 2, *from);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 3, SQ_VALUATION_PAGE);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 4, place);
    if (rc != SQLITE_OK)
        return sq_fail(s->rdb, rc, "latest valuation", err);
    *from = 0;
    while (!*found && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        custos_submission sub;
        *from = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 0);
        res = sq_column_submission(st, 1, &sub, err);
        if (res != CUSTOS_OK)
            break;
        if (sub.att.kind == CUSTOS_KIND_VALUATION) {
            *found = true;
            *value = sub.att.collateral_value;
        }
        custos_submission_clear(&sub);
    }
    if (res == CUSTOS_OK && !*found && rc != SQLITE_DONE)
        res = sq_fail(s->rdb, rc, "latest valuation", err);
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->rdb, rrc, "latest valuation", err);
    return res;
}

custos_rc gw_sqstore_latest_valuation(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                      custos_u256 *value, custos_error *err)
{
    sq_store *s = impl;
    bool found = false;
    sqlite3_int64 from = 0;
    custos_rc rc = CUSTOS_OK;
    pthread_mutex_lock(&s->rlock);
    do
        rc = sq_valuation_page(s, account, &from, &found, value, err);
    while (rc == CUSTOS_OK && !found && from != 0);
    pthread_mutex_unlock(&s->rlock);
    if (rc == CUSTOS_OK && !found)
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "no accepted valuation for this account");
    return rc;
}

custos_rc gw_sqstore_read_records(sq_store *s, sqlite3_stmt *st, const char *what,
                                  custos_state state, custos_record *out, size_t *n,
                                  custos_error *err)
{
    custos_rc res = CUSTOS_OK;
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        res = gw_sqstore_row_to_record(st, &out[*n], err);
        if (res != CUSTOS_OK)
            break;
        if (state != CUSTOS_STATE_UNSPECIFIED)
            out[*n].state = state;
        (*n)++;
    }
    if (res == CUSTOS_OK && rc != SQLITE_DONE)
        res = sq_fail(s->rdb, rc, what, err);
    int rrc = sqlite3_reset(st);
    if (res == CUSTOS_OK && rrc != SQLITE_OK)
        res = sq_fail(s->rdb, rrc, what, err);
    if (res == CUSTOS_OK)
        res = gw_sqstore_fill_batches(s->rdb, s->r[R_BATCH], &s->rbatch, out, *n, err);
    if (res != CUSTOS_OK) {
        for (size_t i = 0; i < *n; i++)
            custos_record_clear(&out[i]);
        *n = 0;
    }
    return res;
}

custos_rc gw_sqstore_read_from(void *impl, uint64_t after, custos_record *out, size_t max,
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
    if (rc != SQLITE_OK)
        res = sq_fail(s->rdb, rc, "read from", err);
    else
        res = gw_sqstore_read_records(s, st, "read from", CUSTOS_STATE_UNSPECIFIED, out, n,
                                      err);
    pthread_mutex_unlock(&s->rlock);
    return res;
}
