/* The store's contract, run against every back end (SQLite in a temporary file, and
 * PostgreSQL on a server this test starts on loopback): accepted records in and out (with
 * their chain hashes, and the filling in of missing ones), the audit log, the
 * uniqueness that carries the replay rule, pending signatures and their pruning, rollback,
 * reopening, schema versions, batches and their accounts. Then what only PostgreSQL has: connection errors that never
 * show the password, and reconnecting after the server dropped the sessions. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "custos/eip712.h"
#include "pgserver.h"
#include "store/codec.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "testutil.h"

/* The PostgreSQL server of the postgresql group. */
static tu_pg PG;

typedef struct fixture fixture;

typedef struct backend {
    const char *name;
    custos_rc (*open)(const char *spec, gw_store *out, custos_error *err);
    /* Fills f->spec with a new, empty store. */
    void (*fresh)(fixture *f);
    /* Makes the (closed) store claim schema version v. */
    void (*set_version)(fixture *f, unsigned v);
    /* Runs one SQL statement on the (closed) store. */
    void (*exec)(fixture *f, const char *sql);
    /* The integer a one-row, one-column query on the (closed) store answers. */
    long (*query_long)(fixture *f, const char *sql);
    /* Counts the indexes of table accepted that cover column digest. */
    const char *count_digest_indexes;
} backend;

struct fixture {
    const backend *be;
    char dir[4096];
    char spec[4200]; /* the SQLite path or the PostgreSQL URI */
    gw_store store;
};

static void sq_fresh(fixture *f)
{
    snprintf(f->spec, sizeof f->spec, "%s/custos.db", f->dir);
}

static void sq_set_version(fixture *f, unsigned v)
{
    sqlite3 *db = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %u", v);
    assert_int_equal(sqlite3_open(f->spec, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void sq_exec(fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->spec, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static long sq_query_long(fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->spec, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long v = (long)sqlite3_column_int64(st, 0);
    assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return v;
}

static void pg_exec(fixture *f, const char *sql)
{
    tu_pg_exec(f->spec, sql);
}

static long pg_query_long(fixture *f, const char *sql)
{
    PGconn *c = PQconnectdb(f->spec);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return v;
}

static void pg_fresh(fixture *f)
{
    tu_pg_new_db(&PG, f->spec, sizeof f->spec);
}

static void pg_set_version(fixture *f, unsigned v)
{
    char sql[64];
    snprintf(sql, sizeof sql, "UPDATE custos_schema SET version = %u", v);
    tu_pg_exec(f->spec, sql);
}

static const backend BE_SQLITE = {
    "sqlite", gw_store_open_sqlite, sq_fresh, sq_set_version, sq_exec, sq_query_long,
    "SELECT count(*) FROM pragma_index_list('accepted') AS l, pragma_index_info(l.name) AS i "
    "WHERE i.name = 'digest'"};
static const backend BE_PG = {
    "postgresql", gw_store_open_pg, pg_fresh, pg_set_version, pg_exec, pg_query_long,
    "SELECT count(*) FROM pg_indexes WHERE tablename = 'accepted' AND indexdef LIKE '%(digest)'"};

static custos_rc reopen(fixture *f, custos_error *err)
{
    return f->be->open(f->spec, &f->store, err);
}

/* The prestate is the back end. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->be = *state;
    tu_mkdtemp(f->dir, sizeof f->dir);
    f->be->fresh(f);
    custos_error err;
    if (reopen(f, &err) != CUSTOS_OK) {
        fprintf(stderr, "%s: %s\n", f->be->name, err.message);
        tu_rmtree(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gw_store_close(&f->store);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void make_sub(custos_submission *s, uint8_t account, uint64_t sequence, size_t n_sigs)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "acme");
    s->domain.chain_id = 31337;
    memset(s->domain.verifying_contract, 0xab, CUSTOS_ADDRESS_LEN);
    memset(s->att.account, account, CUSTOS_HASH_LEN);
    memset(s->att.beneficiary, 0x07, CUSTOS_ADDRESS_LEN);
    custos_u256_from_u64(&s->att.gross_value, 1000 + sequence);
    custos_u256_from_u64(&s->att.collateral_value, 900 + sequence);
    s->att.as_of = 1700000000;
    s->att.valid_until = 1700003600;
    s->att.sequence = sequence;
    for (size_t i = 0; i < n_sigs; i++) {
        memset(s->sigs[i].bytes, (int)(0x30 + i), CUSTOS_SIGNATURE_LEN);
        s->sigs[i].bytes[64] = 27;
    }
    s->n_sigs = n_sigs;
}

/* A record whose digest is derived from (account, sequence, salt). */
static void make_record(custos_record *r, uint64_t cursor, uint8_t account, uint64_t sequence,
                        uint8_t salt)
{
    memset(r, 0, sizeof *r);
    make_sub(&r->sub, account, sequence, 2);
    r->cursor = cursor;
    r->state = CUSTOS_STATE_ACCEPTED;
    r->accepted_at = 1700000100 + cursor;
    memset(r->digest, salt, CUSTOS_HASH_LEN);
    r->digest[0] = account;
    r->digest[1] = (uint8_t)sequence;
    for (size_t i = 0; i < 2; i++)
        memset(r->signers[i], (int)(0x50 + i), CUSTOS_ADDRESS_LEN);
    r->n_signers = 2;
}

static void put_committed(gw_store *s, const custos_record *r)
{
    custos_error err;
    assert_int_equal(gw_store_begin(s, &err), CUSTOS_OK);
    if (gw_store_put_accepted(s, r, r->sub.att.beneficiary, &err) != CUSTOS_OK)
        fail_msg("put_accepted: %s", err.message);
    assert_int_equal(gw_store_commit(s, &err), CUSTOS_OK);
}

static void assert_same_record(const custos_record *got, const custos_record *want)
{
    assert_int_equal(got->cursor, want->cursor);
    assert_int_equal(got->state, CUSTOS_STATE_ACCEPTED);
    assert_int_equal(got->accepted_at, want->accepted_at);
    assert_memory_equal(got->digest, want->digest, CUSTOS_HASH_LEN);
    assert_string_equal(got->sub.feed, want->sub.feed);
    assert_memory_equal(&got->sub.domain, &want->sub.domain, sizeof want->sub.domain);
    assert_memory_equal(&got->sub.att, &want->sub.att, sizeof want->sub.att);
    assert_int_equal(got->sub.n_sigs, want->sub.n_sigs);
    assert_memory_equal(got->sub.sigs, want->sub.sigs, want->sub.n_sigs * sizeof(custos_signature));
    assert_int_equal(got->n_signers, want->n_signers);
    assert_memory_equal(got->signers, want->signers, want->n_signers * CUSTOS_ADDRESS_LEN);
}

static void test_put_get_read_from(void **state)
{
    fixture *f = *state;
    custos_error err;
    uint64_t head = 99;
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 0);

    custos_record recs[3];
    make_record(&recs[0], 1, 0xa1, 1, 0);
    make_record(&recs[1], 2, 0xa2, 1, 0);
    make_record(&recs[2], 3, 0xa1, 2, 0);
    /* Positions survive the round trip. */
    custos_position pos = {.asset_id = "US912797GK13", .haircut_bps = 250};
    custos_u256_from_u64(&pos.quantity, 5);
    recs[2].sub.positions = &pos;
    recs[2].sub.n_positions = 1;
    for (int i = 0; i < 3; i++)
        put_committed(&f->store, &recs[i]);
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 3);

    custos_record got;
    uint8_t account[32];
    memset(account, 0xa1, sizeof account);
    assert_int_equal(gw_store_get_latest(&f->store, account, &got, &err), CUSTOS_OK);
    assert_same_record(&got, &recs[2]);
    assert_int_equal(got.sub.n_positions, 1);
    assert_string_equal(got.sub.positions[0].asset_id, "US912797GK13");
    assert_int_equal(got.sub.positions[0].haircut_bps, 250);
    custos_record_clear(&got);
    memset(account, 0xa3, sizeof account);
    assert_int_equal(gw_store_get_latest(&f->store, account, &got, &err), CUSTOS_ERR_NOT_FOUND);

    custos_record out[4];
    size_t n = 0;
    assert_int_equal(gw_store_read_from(&f->store, 0, out, 4, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_same_record(&out[i], &recs[i]);
        custos_record_clear(&out[i]);
    }
    assert_int_equal(gw_store_read_from(&f->store, 1, out, 1, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].cursor, 2);
    custos_record_clear(&out[0]);
    assert_int_equal(gw_store_read_from(&f->store, 3, out, 4, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 0);

    uint64_t cursor = 0;
    uint32_t n_signers = 0;
    const custos_attestation *a1 = &recs[1].sub.att;
    assert_int_equal(gw_store_find_accepted(&f->store, a1->account, a1->sequence, recs[1].digest,
                                            &cursor, &n_signers, &err),
                     CUSTOS_OK);
    assert_int_equal(cursor, 2);
    assert_int_equal(n_signers, 2);
    /* Another digest for the same (account, sequence), the right digest under another
     * sequence or account: none was accepted. */
    uint8_t other[32] = {0};
    assert_int_equal(gw_store_find_accepted(&f->store, a1->account, a1->sequence, other, &cursor,
                                            &n_signers, &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_int_equal(gw_store_find_accepted(&f->store, a1->account, a1->sequence + 1,
                                            recs[1].digest, &cursor, &n_signers, &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_int_equal(gw_store_find_accepted(&f->store, recs[0].sub.att.account, a1->sequence,
                                            recs[1].digest, &cursor, &n_signers, &err),
                     CUSTOS_ERR_NOT_FOUND);
}

/* Rule 6's base: the value of an account's newest accepted valuation, freezes and releases
 * passed over however many follow it (more than one page of them), NOT_FOUND for an
 * account without a valuation. */
static void test_latest_valuation(void **state)
{
    fixture *f = *state;
    custos_error err;
    uint8_t account[32];
    memset(account, 0xc1, sizeof account);
    custos_u256 value, want;
    assert_int_equal(gw_store_latest_valuation(&f->store, account, &value, &err),
                     CUSTOS_ERR_NOT_FOUND);
    uint64_t cursor = 0;
    custos_record r;
    for (uint64_t seq = 1; seq <= 40; seq++) {
        make_record(&r, ++cursor, 0xc1, seq, 0);
        r.sub.att.kind = seq == 1 ? CUSTOS_KIND_VALUATION
                         : seq == 2 ? CUSTOS_KIND_RELEASE
                                    : CUSTOS_KIND_FREEZE;
        custos_u256_from_u64(&r.sub.att.collateral_value, seq == 1 ? 901 : 5000 + seq);
        put_committed(&f->store, &r);
    }
    assert_int_equal(gw_store_latest_valuation(&f->store, account, &value, &err), CUSTOS_OK);
    custos_u256_from_u64(&want, 901);
    assert_int_equal(custos_u256_cmp(&value, &want), 0);
    make_record(&r, ++cursor, 0xc1, 41, 0);
    put_committed(&f->store, &r);
    assert_int_equal(gw_store_latest_valuation(&f->store, account, &value, &err), CUSTOS_OK);
    custos_u256_from_u64(&want, 941);
    assert_int_equal(custos_u256_cmp(&value, &want), 0);
    /* An account with freezes only has no base. */
    make_record(&r, ++cursor, 0xc2, 1, 0);
    r.sub.att.kind = CUSTOS_KIND_FREEZE;
    put_committed(&f->store, &r);
    memset(account, 0xc2, sizeof account);
    assert_int_equal(gw_store_latest_valuation(&f->store, account, &value, &err),
                     CUSTOS_ERR_NOT_FOUND);
}

/* A record's chain hash goes in with it and comes back with it; set_chain_hash fills in the
 * hash of a record stored without one (a log from before the chain), in a transaction. */
static void test_chain_hash(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record recs[2];
    make_record(&recs[0], 1, 0xb1, 1, 0);
    make_record(&recs[1], 2, 0xb2, 1, 0);
    memset(recs[0].chain_hash, 0xc1, sizeof recs[0].chain_hash);
    for (int i = 0; i < 2; i++)
        put_committed(&f->store, &recs[i]); /* recs[1] with 32 zero bytes */

    uint8_t fresh[32];
    memset(fresh, 0xc2, sizeof fresh);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_set_chain_hash(&f->store, 2, fresh, &err), CUSTOS_OK);
    gw_store_rollback(&f->store);
    custos_record out[2];
    size_t n = 0;
    assert_int_equal(gw_store_read_from(&f->store, 1, out, 1, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    uint8_t zero[32] = {0};
    assert_memory_equal(out[0].chain_hash, zero, sizeof zero);
    custos_record_clear(&out[0]);

    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_set_chain_hash(&f->store, 2, fresh, &err), CUSTOS_OK);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_read_from(&f->store, 0, out, 2, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(out[0].chain_hash, recs[0].chain_hash, 32);
    assert_memory_equal(out[1].chain_hash, fresh, 32);
    custos_record_clear(&out[0]);
    custos_record_clear(&out[1]);
    uint8_t account[32];
    memset(account, 0xb1, sizeof account);
    assert_int_equal(gw_store_get_latest(&f->store, account, &out[0], &err), CUSTOS_OK);
    assert_memory_equal(out[0].chain_hash, recs[0].chain_hash, 32);
    custos_record_clear(&out[0]);

    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_set_chain_hash(&f->store, 0, fresh, &err), CUSTOS_ERR_INVALID);
    gw_store_rollback(&f->store);
}

/* Audit entries go in seq by seq; the head is the newest; a seq taken twice is refused. */
static void test_audit(void **state)
{
    fixture *f = *state;
    custos_error err;
    uint64_t seq = 99;
    uint8_t head[CUSTOS_AUDIT_HASH_LEN], zero[CUSTOS_AUDIT_HASH_LEN] = {0};
    assert_int_equal(gw_store_audit_head(&f->store, &seq, head, &err), CUSTOS_OK);
    assert_int_equal(seq, 0);
    assert_memory_equal(head, zero, sizeof zero);

    custos_audit_entry e;
    memset(&e, 0, sizeof e);
    e.time = 1700000000;
    snprintf(e.actor, sizeof e.actor, "SIGHUP");
    snprintf(e.action, sizeof e.action, "reload");
    for (uint64_t i = 1; i <= 2; i++) {
        e.seq = i;
        e.payload = i == 1 ? (uint8_t *)"feed f" : NULL; /* the second: an empty payload */
        e.payload_len = i == 1 ? 6 : 0;
        memcpy(e.prev_hash, e.hash, sizeof e.hash);
        custos_audit_hash(e.prev_hash, &e, e.hash);
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        if (gw_store_append_audit(&f->store, &e, &err) != CUSTOS_OK)
            fail_msg("append audit: %s", err.message);
        assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    }
    assert_int_equal(gw_store_audit_head(&f->store, &seq, head, &err), CUSTOS_OK);
    assert_int_equal(seq, 2);
    assert_memory_equal(head, e.hash, sizeof head);
    custos_audit_entry got[3];
    size_t n = 0;
    assert_int_equal(gw_store_read_audit(&f->store, 0, got, 3, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(custos_audit_verify(0, (uint8_t[32]){0}, got, n), 2);
    assert_int_equal(got[0].payload_len, 6);
    assert_memory_equal(got[0].payload, "feed f", 6);
    assert_int_equal(got[1].payload_len, 0);
    assert_string_equal(got[1].actor, "SIGHUP");
    assert_string_equal(got[1].action, "reload");
    custos_audit_entry_clear(&got[0]);
    custos_audit_entry_clear(&got[1]);
    assert_int_equal(gw_store_read_audit(&f->store, 1, got, 3, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].seq, 2);
    custos_audit_entry_clear(&got[0]);

    /* Append-only: seq 2 again fails, and the failed transaction leaves the head. */
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_not_equal(gw_store_append_audit(&f->store, &e, &err), CUSTOS_OK);
    gw_store_rollback(&f->store);
    assert_int_equal(gw_store_audit_head(&f->store, &seq, head, &err), CUSTOS_OK);
    assert_int_equal(seq, 2);
    e.seq = 0;
    assert_int_equal(gw_store_append_audit(&f->store, &e, &err), CUSTOS_ERR_INVALID);
}

/* The replay rule's last line of defence: one digest, one (account, sequence), one cursor. */
static void test_uniqueness(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record first;
    make_record(&first, 1, 0xb1, 5, 0);
    put_committed(&f->store, &first);

    static const struct {
        const char *name;
        uint64_t cursor;
        uint8_t account;
        uint64_t sequence;
        uint8_t salt;
    } clashes[] = {
        {"same digest", 2, 0xb1, 5, 0},
        {"same account and sequence", 2, 0xb1, 5, 9},
        {"same cursor", 1, 0xb2, 1, 0},
    };
    for (size_t i = 0; i < sizeof clashes / sizeof clashes[0]; i++) {
        custos_record r;
        make_record(&r, clashes[i].cursor, clashes[i].account, clashes[i].sequence,
                    clashes[i].salt);
        if (i == 0)
            memcpy(r.digest, first.digest, 32);
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        custos_rc rc = gw_store_put_accepted(&f->store, &r, r.sub.att.beneficiary, &err);
        if (rc == CUSTOS_OK)
            fail_msg("%s: accepted twice", clashes[i].name);
        gw_store_rollback(&f->store);
    }
    /* Sequences beyond 2^63 keep their order. */
    custos_record big, bigger;
    make_record(&big, 2, 0xb3, UINT64_MAX - 1, 0);
    make_record(&bigger, 3, 0xb3, UINT64_MAX, 0);
    put_committed(&f->store, &big);
    put_committed(&f->store, &bigger);
    uint64_t head = 0;
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 3);
}

static void test_rollback_discards(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r;
    make_record(&r, 1, 0xc1, 1, 0);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_accepted(&f->store, &r, r.sub.att.beneficiary, &err),
                     CUSTOS_OK);
    gw_store_rollback(&f->store);
    uint64_t head = 7;
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 0);
    custos_record got;
    assert_int_equal(gw_store_get_latest(&f->store, r.sub.att.account, &got, &err),
                     CUSTOS_ERR_NOT_FOUND);
}

/* Storing a record takes its account's latest record as it stands in the store, not as a
 * transaction rolled back left it, nor as it was before another connection's commit: a
 * record that follows the rolled-back one's sequence is not refused, and each record links
 * to the one really before it (found back from the latest). */
static void test_latest_follows_rollbacks_and_other_writers(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r[6];
    make_record(&r[1], 1, 0xd1, 1, 0);
    make_record(&r[2], 2, 0xd1, 2, 0);
    put_committed(&f->store, &r[1]);
    put_committed(&f->store, &r[2]);
    custos_record gone;
    make_record(&gone, 3, 0xd1, 3, 9);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_accepted(&f->store, &gone, gone.sub.att.beneficiary, &err),
                     CUSTOS_OK);
    gw_store_rollback(&f->store);
    make_record(&r[3], 3, 0xd1, 3, 0);
    put_committed(&f->store, &r[3]);

    gw_store other;
    if (f->be->open(f->spec, &other, &err) != CUSTOS_OK)
        fail_msg("a second connection: %s", err.message);
    make_record(&r[4], 4, 0xd1, 4, 0);
    put_committed(&other, &r[4]);
    gw_store_close(&other);
    make_record(&r[5], 5, 0xd1, 5, 0);
    put_committed(&f->store, &r[5]);

    for (int i = 1; i <= 5; i++) {
        uint64_t cursor = 0;
        uint32_t n_signers = 0;
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        custos_rc rc = gw_store_find_accepted(&f->store, r[i].sub.att.account,
                                              r[i].sub.att.sequence, r[i].digest, &cursor,
                                              &n_signers, &err);
        gw_store_rollback(&f->store);
        if (rc != CUSTOS_OK)
            fail_msg("sequence %d not found back from the latest: %d %s", i, (int)rc,
                     err.message);
        assert_int_equal(cursor, r[i].cursor);
    }
    custos_record got;
    assert_int_equal(gw_store_get_latest(&f->store, r[5].sub.att.account, &got, &err),
                     CUSTOS_OK);
    assert_int_equal(got.cursor, 5);
    custos_record_clear(&got);
    custos_submission_clear(&gone.sub);
    for (int i = 1; i <= 5; i++)
        custos_submission_clear(&r[i].sub);
}

/* The cursor of the account's latest record, 0 when the store has none. */
static uint64_t latest_cursor(gw_store *st, uint8_t account)
{
    custos_error err;
    uint8_t id[CUSTOS_HASH_LEN];
    memset(id, account, sizeof id);
    custos_record got;
    custos_rc rc = gw_store_get_latest(st, id, &got, &err);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return 0;
    if (rc != CUSTOS_OK)
        fail_msg("get latest: %s", err.message);
    uint64_t cursor = got.cursor;
    custos_record_clear(&got);
    return cursor;
}

/* New accounts across a rollback and another connection (schema step 25 keeps SQLite's
 * places in memory, sqlite_ids.h): an account whose first record rolled back is not found,
 * and the account stored next in its stead is; it is stored later as new. A second
 * connection's new accounts are found by this one's reader while that connection is open,
 * and by its writer, which refuses a sequence not above theirs and links to their record
 * rather than storing the account again. Every account has one row, also after reopening. */
static void test_new_accounts_across_rollbacks_and_writers(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record gone, b, a, c, d1, d_low, d2;
    make_record(&gone, 1, 0xe1, 1, 0);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_accepted(&f->store, &gone, gone.sub.att.beneficiary, &err),
                     CUSTOS_OK);
    gw_store_rollback(&f->store);
    make_record(&b, 1, 0xe2, 1, 0);
    put_committed(&f->store, &b);
    assert_int_equal(latest_cursor(&f->store, 0xe1), 0);
    assert_int_equal(latest_cursor(&f->store, 0xe2), 1);
    make_record(&a, 2, 0xe1, 1, 0);
    put_committed(&f->store, &a);
    assert_int_equal(latest_cursor(&f->store, 0xe1), 2);

    gw_store other;
    if (f->be->open(f->spec, &other, &err) != CUSTOS_OK)
        fail_msg("a second connection: %s", err.message);
    make_record(&c, 3, 0xe3, 1, 0);
    put_committed(&other, &c);
    assert_int_equal(latest_cursor(&f->store, 0xe3), 3);
    custos_u256 value;
    assert_int_equal(gw_store_latest_valuation(&f->store, c.sub.att.account, &value, &err),
                     CUSTOS_OK);
    make_record(&d1, 4, 0xe4, 1, 0);
    put_committed(&other, &d1);
    gw_store_close(&other);

    make_record(&d_low, 5, 0xe4, 1, 7);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_not_equal(gw_store_put_accepted(&f->store, &d_low, d_low.sub.att.beneficiary,
                                               &err),
                         CUSTOS_OK);
    gw_store_rollback(&f->store);
    make_record(&d2, 5, 0xe4, 2, 0);
    put_committed(&f->store, &d2);
    uint64_t cursor = 0;
    uint32_t n_signers = 0;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_find_accepted(&f->store, d1.sub.att.account, 1, d1.digest,
                                            &cursor, &n_signers, &err),
                     CUSTOS_OK);
    gw_store_rollback(&f->store);
    assert_int_equal(cursor, 4);

    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) - count(DISTINCT account) "
                                          "FROM accounts"),
                     0);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM accounts"), 4);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    static const struct {
        uint8_t account;
        uint64_t cursor;
    } want[] = {{0xe1, 2}, {0xe2, 1}, {0xe3, 3}, {0xe4, 5}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(latest_cursor(&f->store, want[i].account), want[i].cursor);
    custos_record *all[] = {&gone, &b, &a, &c, &d1, &d_low, &d2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        custos_submission_clear(&all[i]->sub);
}

/* More accounts than the SQLite writer's table of tips holds in one set (their ids share
 * the bytes that choose the set, and the way a newcomer pushes out; sqlite_store.h): each
 * record still links to its account's previous one, and a sequence not above the latest
 * is still refused, whichever tips were pushed out and whichever stayed. Each round stores
 * every account in one transaction, as a batch does. */
static void test_accounts_sharing_a_tip_set(void **state)
{
    fixture *f = *state;
    custos_error err;
    enum { N_ACCOUNTS = 5, ROUNDS = 3 };
    custos_record r[ROUNDS][N_ACCOUNTS];
    uint64_t cursor = 0;
    for (int round = 0; round < ROUNDS; round++) {
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        for (int k = 0; k < N_ACCOUNTS; k++) {
            make_record(&r[round][k], ++cursor, 0xa7, (uint64_t)round + 1, (uint8_t)k);
            r[round][k].sub.att.account[4] = 3;
            r[round][k].sub.att.account[31] = (uint8_t)k;
            if (gw_store_put_accepted(&f->store, &r[round][k],
                                      r[round][k].sub.att.beneficiary, &err) != CUSTOS_OK)
                fail_msg("round %d, account %d: %s", round, k, err.message);
        }
        assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    }
    for (int k = 0; k < N_ACCOUNTS; k++) {
        for (int round = 0; round < ROUNDS; round++) {
            const custos_record *want = &r[round][k];
            uint64_t found = 0;
            uint32_t n_signers = 0;
            assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
            custos_rc rc = gw_store_find_accepted(&f->store, want->sub.att.account,
                                                  want->sub.att.sequence, want->digest, &found,
                                                  &n_signers, &err);
            gw_store_rollback(&f->store);
            if (rc != CUSTOS_OK || found != want->cursor)
                fail_msg("account %d, sequence %d: %d, cursor %llu for %llu", k, round + 1,
                         (int)rc, (unsigned long long)found,
                         (unsigned long long)want->cursor);
        }
        custos_record again;
        make_record(&again, ++cursor, 0xa7, ROUNDS, 0x77);
        again.sub.att.account[4] = 3;
        again.sub.att.account[31] = (uint8_t)k;
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        custos_rc rc = gw_store_put_accepted(&f->store, &again, again.sub.att.beneficiary, &err);
        gw_store_rollback(&f->store);
        if (rc == CUSTOS_OK)
            fail_msg("account %d: a sequence not above its latest was stored", k);
        custos_submission_clear(&again.sub);
        custos_record got;
        assert_int_equal(gw_store_get_latest(&f->store, r[0][k].sub.att.account, &got, &err),
                         CUSTOS_OK);
        assert_int_equal(got.cursor, r[ROUNDS - 1][k].cursor);
        custos_record_clear(&got);
    }
    for (int round = 0; round < ROUNDS; round++)
        for (int k = 0; k < N_ACCOUNTS; k++)
            custos_submission_clear(&r[round][k].sub);
}

/* Account k of one set of the SQLite writer's table of tips (ids alike in the bytes that
 * choose the set), whose id byte 4 is b, at sequence seq. */
static void put_in_tip_set(fixture *f, uint64_t cursor, int k, uint8_t b, uint64_t seq)
{
    custos_error err;
    custos_record r;
    make_record(&r, cursor, 0xa7, seq, (uint8_t)k);
    r.sub.att.account[4] = b;
    r.sub.att.account[31] = (uint8_t)k;
    if (gw_store_put_accepted(&f->store, &r, r.sub.att.beneficiary, &err) != CUSTOS_OK)
        fail_msg("account %d: %s", k, err.message);
    custos_submission_clear(&r.sub);
}

/* Lookups of an account's tip by its id the SQLite writer has made: one for each record
 * whose account the table of tips did not hold. */
static int tip_lookups(fixture *f)
{
    const sq_store *s = f->store.impl;
    return sqlite3_stmt_status(s->w[W_ACCOUNT_TIP], SQLITE_STMTSTATUS_RUN, 0);
}

/* SQLite: a full set of the writer's table of tips gives up its least recently used entry
 * (sqlite_store.h), so the accounts of the book being valued keep theirs over accounts
 * stored longer ago. Accounts 0 to 3 fill a set, account 0 is stored again, account 4
 * comes (byte 4 of its id names way 0, account 0's, which a choice by id would push out):
 * account 1 goes, and account 0 is stored again with no lookup by id, account 1 with one. */
static void test_tip_set_keeps_recent(void **state)
{
    fixture *f = *state;
    custos_error err;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    for (int k = 0; k < 4; k++)
        put_in_tip_set(f, (uint64_t)k + 1, k, 3, 1);
    put_in_tip_set(f, 5, 0, 3, 2);
    put_in_tip_set(f, 6, 4, 4, 1);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    int before = tip_lookups(f);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    put_in_tip_set(f, 7, 0, 3, 3);
    assert_int_equal(tip_lookups(f), before);
    put_in_tip_set(f, 8, 1, 3, 2);
    assert_int_equal(tip_lookups(f), before + 1);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
}

/* Readers see committed data only, even while a write transaction is open. */
static void test_reader_sees_committed_only(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r;
    make_record(&r, 1, 0xc2, 1, 0);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_accepted(&f->store, &r, r.sub.att.beneficiary, &err),
                     CUSTOS_OK);
    custos_record out[2];
    size_t n = 5;
    assert_int_equal(gw_store_read_from(&f->store, 0, out, 2, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_read_from(&f->store, 0, out, 2, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    custos_record_clear(&out[0]);
}

typedef struct signer_list {
    gw_store_signer s[8];
    size_t n;
} signer_list;

static custos_rc collect(void *ctx, const gw_store_signer *s, custos_error *err)
{
    (void)err;
    signer_list *l = ctx;
    assert_true(l->n < 8);
    l->s[l->n++] = *s;
    return CUSTOS_OK;
}

static void add_pending(gw_store *s, const uint8_t digest[32], const custos_submission *sub,
                        const gw_store_signer *sg, size_t n)
{
    custos_error err;
    static const uint8_t creator[CUSTOS_ADDRESS_LEN] = {0x5e};
    assert_int_equal(gw_store_begin(s, &err), CUSTOS_OK);
    if (sub != NULL)
        assert_int_equal(gw_store_put_pending(s, digest, sub, 1700000050, creator, 100, &err),
                         CUSTOS_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(gw_store_put_pending_signer(s, digest, &sg[i], &err), CUSTOS_OK);
    assert_int_equal(gw_store_commit(s, &err), CUSTOS_OK);
}

static void test_pending(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_submission sub3, sub5;
    make_sub(&sub3, 0xd1, 3, 1);
    make_sub(&sub5, 0xd1, 5, 1);
    uint8_t d3[32], d5[32];
    memset(d3, 0x33, 32);
    memset(d5, 0x55, 32);
    gw_store_signer sg[3];
    memset(sg, 0, sizeof sg);
    for (int i = 0; i < 3; i++) {
        memset(sg[i].address, 0x60 + i, CUSTOS_ADDRESS_LEN);
        sg[i].role = (gw_role)i;
        memset(sg[i].sig.bytes, 0x70 + i, CUSTOS_SIGNATURE_LEN);
    }
    custos_submission got;
    uint64_t count = 1, oldest = 1;
    assert_int_equal(gw_store_pending_summary(&f->store, &count, &oldest, &err), CUSTOS_OK);
    assert_int_equal(count, 0);
    assert_int_equal(oldest, 0);
    assert_int_equal(gw_store_get_pending(&f->store, d3, &got, &err), CUSTOS_ERR_NOT_FOUND);
    add_pending(&f->store, d3, &sub3, &sg[1], 1);
    add_pending(&f->store, d3, NULL, &sg[0], 1);
    add_pending(&f->store, d5, &sub5, &sg[2], 1);
    /* An older one, later in the table: the summary's oldest is the minimum. */
    custos_submission sub6;
    make_sub(&sub6, 0xd1, 6, 1);
    uint8_t d6[32];
    memset(d6, 0x66, 32);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_pending(&f->store, d6, &sub6, 1600000000, sg[2].address, 42,
                                          &err),
                     CUSTOS_OK);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_pending_summary(&f->store, &count, &oldest, &err), CUSTOS_OK);
    assert_int_equal(count, 3);
    assert_int_equal(oldest, 1600000000);
    /* What the rows cost, in all and charged to a feed and a creator ([limits]). */
    uint64_t rows = 0, bytes = 0;
    assert_int_equal(gw_store_pending_totals(&f->store, &rows, &bytes, &err), CUSTOS_OK);
    assert_int_equal(rows, 3);
    assert_int_equal(bytes, 242);
    gw_pending_usage u;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_pending_usage(&f->store, "acme", sg[2].address, &u, &err),
                     CUSTOS_OK);
    gw_store_rollback(&f->store);
    assert_int_equal(u.feed_rows, 3);
    assert_int_equal(u.feed_bytes, 242);
    assert_int_equal(u.creator_rows, 1);
    assert_int_equal(u.creator_bytes, 42);

    assert_int_equal(gw_store_get_pending(&f->store, d3, &got, &err), CUSTOS_OK);
    assert_memory_equal(&got.att, &sub3.att, sizeof sub3.att);
    assert_string_equal(got.feed, "acme");
    custos_submission_clear(&got);

    signer_list l = {.n = 0};
    assert_int_equal(gw_store_list_pending_signers(&f->store, d3, collect, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 2);
    assert_memory_equal(&l.s[0], &sg[1], sizeof sg[1]); /* in the order they were added */
    assert_memory_equal(&l.s[1], &sg[0], sizeof sg[0]);

    /* The same signer twice for one digest is refused by the primary key. */
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_not_equal(gw_store_put_pending_signer(&f->store, d3, &sg[0], &err), CUSTOS_OK);
    gw_store_rollback(&f->store);

    /* Accepting sequence 4 drops the pending sequence 3, keeps 5. */
    custos_record r;
    make_record(&r, 1, 0xd1, 4, 0);
    put_committed(&f->store, &r);
    assert_int_equal(gw_store_get_pending(&f->store, d3, &got, &err), CUSTOS_ERR_NOT_FOUND);
    l.n = 0;
    assert_int_equal(gw_store_list_pending_signers(&f->store, d3, collect, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(gw_store_get_pending(&f->store, d5, &got, &err), CUSTOS_OK);
    custos_submission_clear(&got);
    l.n = 0;
    assert_int_equal(gw_store_list_pending_signers(&f->store, d5, collect, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(gw_store_pending_summary(&f->store, &count, &oldest, &err), CUSTOS_OK);
    assert_int_equal(count, 2);
    assert_int_equal(oldest, 1600000000);
}

/* Acceptances prune the pending rows whenever the table has any: those written after
 * acceptances that had none to prune, and those left by an earlier opening of the store. */
static void test_pending_pruned_across_reopen(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r;
    make_record(&r, 1, 0xd2, 1, 0);
    put_committed(&f->store, &r);

    custos_submission sub3, sub7;
    make_sub(&sub3, 0xd2, 3, 1);
    make_sub(&sub7, 0xd2, 7, 1);
    uint8_t d3[32], d7[32];
    memset(d3, 0x13, 32);
    memset(d7, 0x17, 32);
    gw_store_signer sg;
    memset(&sg, 0, sizeof sg);
    memset(sg.address, 0x61, CUSTOS_ADDRESS_LEN);
    memset(sg.sig.bytes, 0x71, CUSTOS_SIGNATURE_LEN);
    add_pending(&f->store, d3, &sub3, &sg, 1);
    make_record(&r, 2, 0xd2, 4, 0);
    put_committed(&f->store, &r);
    custos_submission got;
    assert_int_equal(gw_store_get_pending(&f->store, d3, &got, &err), CUSTOS_ERR_NOT_FOUND);

    add_pending(&f->store, d7, &sub7, &sg, 1);
    gw_store_close(&f->store);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    assert_int_equal(gw_store_get_pending(&f->store, d7, &got, &err), CUSTOS_OK);
    custos_submission_clear(&got);
    make_record(&r, 3, 0xd2, 8, 0);
    put_committed(&f->store, &r);
    assert_int_equal(gw_store_get_pending(&f->store, d7, &got, &err), CUSTOS_ERR_NOT_FOUND);
    signer_list l = {.n = 0};
    assert_int_equal(gw_store_list_pending_signers(&f->store, d7, collect, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 0);
}

/* SQLite: checkpoints keep the WAL bounded while commits keep coming, and what was
 * committed reads back after reopening. Many more pages are written than the bound. */
static void test_wal_bounded(void **state)
{
    fixture *f = *state;
    custos_error err;
    char wal[sizeof f->spec + 8];
    snprintf(wal, sizeof wal, "%s-wal", f->spec);
    off_t largest = 0;
    uint64_t cursor = 0;
    for (int c = 0; c < 300; c++) {
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        for (int i = 0; i < 100; i++) {
            custos_record r;
            cursor++;
            make_record(&r, cursor, (uint8_t)(cursor % 251), 1000 + cursor, 0);
            r.digest[2] = (uint8_t)(cursor >> 8);
            r.digest[3] = (uint8_t)cursor;
            r.digest[4] = (uint8_t)(cursor * 131);
            if (gw_store_put_accepted(&f->store, &r, r.sub.att.beneficiary, &err) != CUSTOS_OK)
                fail_msg("put_accepted: %s", err.message);
        }
        assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
        struct stat st;
        assert_int_equal(stat(wal, &st), 0);
        if (st.st_size > largest)
            largest = st.st_size;
    }
    /* SQ_WAL_HARD_PAGES pages of 4 KiB, one commit group over it, and the frame headers. */
    assert_true(largest < (off_t)9000 * (4096 + 24));
    gw_store_close(&f->store);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    uint64_t head = 0;
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, cursor);
}

typedef struct account_list {
    gw_store_account a[4];
    size_t n;
} account_list;

static custos_rc collect_account(void *ctx, const gw_store_account *a, custos_error *err)
{
    (void)err;
    account_list *l = ctx;
    assert_true(l->n < 4);
    l->a[l->n++] = *a;
    return CUSTOS_OK;
}

/* Rule 6: a held record consumes its sequence and prunes pending rows at or below it, but
 * is not the latest and has no cursor; a later published record supersedes it. */
static void test_held(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r1, h, r3;
    make_record(&r1, 1, 0xc1, 1, 0);
    put_committed(&f->store, &r1);
    custos_submission sub2;
    make_sub(&sub2, 0xc1, 2, 1);
    uint8_t d2[32];
    memset(d2, 0x22, 32);
    gw_store_signer sg;
    memset(&sg, 0, sizeof sg);
    memset(sg.address, 0x61, CUSTOS_ADDRESS_LEN);
    add_pending(&f->store, d2, &sub2, &sg, 1);

    make_record(&h, 0, 0xc1, 2, 0x11);
    h.state = CUSTOS_STATE_HELD;
    bool superseded = true;
    custos_record got;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_get_held(&f->store, h.digest, &got, &superseded, &err),
                     CUSTOS_ERR_NOT_FOUND);
    if (gw_store_put_held(&f->store, &h, &err) != CUSTOS_OK)
        fail_msg("put_held: %s", err.message);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);

    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_get_held(&f->store, h.digest, &got, &superseded, &err),
                     CUSTOS_OK);
    assert_false(superseded);
    assert_int_equal(got.state, CUSTOS_STATE_HELD);
    assert_int_equal(got.cursor, 0);
    assert_int_equal(got.accepted_at, h.accepted_at);
    assert_memory_equal(&got.sub.att, &h.sub.att, sizeof h.sub.att);
    assert_int_equal(got.n_signers, 2);
    assert_memory_equal(got.signers, h.signers, 2 * CUSTOS_ADDRESS_LEN);
    custos_record_clear(&got);
    /* The read side sees the same committed row, from any thread, while the writer's
     * transaction is open; and no row for a digest never held. */
    superseded = true;
    assert_int_equal(gw_store_read_held(&f->store, h.digest, &got, &superseded, &err),
                     CUSTOS_OK);
    assert_false(superseded);
    assert_int_equal(got.state, CUSTOS_STATE_HELD);
    assert_memory_equal(&got.sub.att, &h.sub.att, sizeof h.sub.att);
    assert_int_equal(got.n_signers, 2);
    custos_record_clear(&got);
    assert_int_equal(gw_store_read_held(&f->store, d2, &got, &superseded, &err),
                     CUSTOS_ERR_NOT_FOUND);
    /* The same digest twice, and an account with nothing published, are refused. */
    assert_int_not_equal(gw_store_put_held(&f->store, &h, &err), CUSTOS_OK);
    gw_store_rollback(&f->store);
    custos_record orphan;
    make_record(&orphan, 0, 0xc2, 1, 0);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_not_equal(gw_store_put_held(&f->store, &orphan, &err), CUSTOS_OK);
    assert_non_null(strstr(err.message, "published"));
    gw_store_rollback(&f->store);

    uint64_t head = 0;
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 1);
    account_list l = {.n = 0};
    assert_int_equal(gw_store_load_accounts(&f->store, collect_account, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.a[0].last_sequence, 2);
    assert_int_equal(l.a[0].last_cursor, 1);
    assert_int_equal(gw_store_get_latest(&f->store, r1.sub.att.account, &got, &err), CUSTOS_OK);
    assert_same_record(&got, &r1);
    custos_record_clear(&got);
    custos_submission pend;
    assert_int_equal(gw_store_get_pending(&f->store, d2, &pend, &err), CUSTOS_ERR_NOT_FOUND);
    custos_record list[4];
    size_t n = 0;
    assert_int_equal(gw_store_list_held(&f->store, NULL, NULL, list, 4, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].state, CUSTOS_STATE_HELD);
    assert_memory_equal(list[0].digest, h.digest, 32);
    custos_record_clear(&list[0]);
    assert_int_equal(gw_store_list_held(&f->store, h.sub.att.account, NULL, list, 4, &n, &err),
                     CUSTOS_OK);
    assert_int_equal(n, 1);
    custos_record_clear(&list[0]);
    assert_int_equal(gw_store_list_held(&f->store, orphan.sub.att.account, NULL, list, 4, &n, &err),
                     CUSTOS_OK);
    assert_int_equal(n, 0);
    uint64_t count = 0;
    assert_int_equal(gw_store_count_held(&f->store, &count, &err), CUSTOS_OK);
    assert_int_equal(count, 1);

    /* A later held record supersedes it; a later published one supersedes that. */
    custos_record h3;
    make_record(&h3, 0, 0xc1, 3, 0x13);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_held(&f->store, &h3, &err), CUSTOS_OK);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_get_held(&f->store, h.digest, &got, &superseded, &err), CUSTOS_OK);
    assert_true(superseded);
    custos_record_clear(&got);
    assert_int_equal(gw_store_get_held(&f->store, h3.digest, &got, &superseded, &err),
                     CUSTOS_OK);
    assert_false(superseded);
    custos_record_clear(&got);
    gw_store_rollback(&f->store);
    make_record(&r3, 2, 0xc1, 4, 0);
    put_committed(&f->store, &r3);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_get_held(&f->store, h3.digest, &got, &superseded, &err),
                     CUSTOS_OK);
    assert_true(superseded);
    custos_record_clear(&got);
    gw_store_rollback(&f->store);
    superseded = false;
    assert_int_equal(gw_store_read_held(&f->store, h3.digest, &got, &superseded, &err),
                     CUSTOS_OK);
    assert_true(superseded);
    custos_record_clear(&got);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    custos_record list3[2];
    size_t n3 = 1;
    assert_int_equal(gw_store_list_held(&f->store, NULL, NULL, list3, 2, &n3, &err), CUSTOS_OK);
    assert_int_equal(n3, 0); /* superseded ones are not listed, nor counted */
    assert_int_equal(gw_store_count_held(&f->store, &count, &err), CUSTOS_OK);
    assert_int_equal(count, 0);
    /* Dropped (published): gone from the held table. */
    assert_int_equal(gw_store_drop_held(&f->store, h3.digest, &err), CUSTOS_OK);
    assert_int_equal(gw_store_get_held(&f->store, h3.digest, &got, &superseded, &err),
                     CUSTOS_ERR_NOT_FOUND);
    gw_store_rollback(&f->store);
}

/* ListHeld's pages: records held at one time come in digest order, a page after a key
 * starts right after it whether or not that record is still listed, and one account's
 * pages hold its records only. */
static void test_held_pages(void **state)
{
    fixture *f = *state;
    custos_error err;
    enum { N = 7 };
    custos_record held[N];
    for (size_t i = 0; i < N; i++) {
        custos_record r;
        make_record(&r, i + 1, (uint8_t)(0xd0 + i), 1, 0);
        put_committed(&f->store, &r);
        /* Digests in reverse order of the accounts, two held times: 3 then 4 records. */
        make_record(&held[i], 0, (uint8_t)(0xd0 + i), 2, 0x40);
        held[i].digest[0] = (uint8_t)(0x90 - i);
        held[i].state = CUSTOS_STATE_HELD;
        held[i].accepted_at = i < 3 ? 1700000500 : 1700000501;
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        if (gw_store_put_held(&f->store, &held[i], &err) != CUSTOS_OK)
            fail_msg("put_held %zu: %s", i, err.message);
        assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    }
    /* Expected order: held_at, then digest: 2, 1, 0, then 6, 5, 4, 3. */
    const size_t order[N] = {2, 1, 0, 6, 5, 4, 3};
    custos_record page[3];
    size_t seen = 0, n = 0;
    gw_held_key after;
    bool paged = false;
    do {
        assert_int_equal(gw_store_list_held(&f->store, NULL, paged ? &after : NULL, page, 3, &n,
                                            &err),
                         CUSTOS_OK);
        for (size_t k = 0; k < n; k++, seen++) {
            assert_true(seen < N);
            assert_memory_equal(page[k].digest, held[order[seen]].digest, CUSTOS_HASH_LEN);
            assert_int_equal(page[k].accepted_at, held[order[seen]].accepted_at);
            after.held_at = page[k].accepted_at;
            memcpy(after.digest, page[k].digest, CUSTOS_HASH_LEN);
            custos_record_clear(&page[k]);
        }
        paged = true;
    } while (n == 3);
    assert_int_equal(seen, N);

    /* After a key between two records (no record has it): from the next one. */
    after.held_at = 1700000500;
    memcpy(after.digest, held[1].digest, CUSTOS_HASH_LEN);
    after.digest[CUSTOS_HASH_LEN - 1] ^= 0x01;
    assert_int_equal(gw_store_list_held(&f->store, NULL, &after, page, 3, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 3);
    assert_memory_equal(page[0].digest, held[0].digest, CUSTOS_HASH_LEN);
    assert_memory_equal(page[1].digest, held[6].digest, CUSTOS_HASH_LEN);
    for (size_t k = 0; k < n; k++)
        custos_record_clear(&page[k]);
    /* Past the last: nothing. One account after its own record: nothing; before it: it. */
    after.held_at = 1700000501;
    memcpy(after.digest, held[3].digest, CUSTOS_HASH_LEN);
    assert_int_equal(gw_store_list_held(&f->store, NULL, &after, page, 3, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(gw_store_list_held(&f->store, held[5].sub.att.account, &after, page, 3, &n,
                                        &err),
                     CUSTOS_OK);
    assert_int_equal(n, 0);
    after.held_at = 1700000500;
    assert_int_equal(gw_store_list_held(&f->store, held[5].sub.att.account, &after, page, 3, &n,
                                        &err),
                     CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_memory_equal(page[0].digest, held[5].digest, CUSTOS_HASH_LEN);
    custos_record_clear(&page[0]);
}

static void test_reopen_persists(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r1, r2;
    make_record(&r1, 1, 0xe1, 10, 0);
    make_record(&r2, 2, 0xe1, 11, 0);
    put_committed(&f->store, &r1);
    /* The account's pledge is what the caller says, not the record's beneficiary. */
    uint8_t pledge[CUSTOS_ADDRESS_LEN];
    memset(pledge, 0xbe, sizeof pledge);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_accepted(&f->store, &r2, pledge, &err), CUSTOS_OK);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    gw_store_close(&f->store);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);

    uint64_t head = 0;
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 2);
    account_list l = {.n = 0};
    assert_int_equal(gw_store_load_accounts(&f->store, collect_account, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 1);
    assert_memory_equal(l.a[0].account, r2.sub.att.account, 32);
    assert_int_equal(l.a[0].last_sequence, 11);
    assert_int_equal(l.a[0].last_cursor, 2);
    assert_string_equal(l.a[0].feed, "acme");
    assert_memory_equal(l.a[0].beneficiary, pledge, CUSTOS_ADDRESS_LEN);
    custos_record got;
    assert_int_equal(gw_store_get_latest(&f->store, r2.sub.att.account, &got, &err), CUSTOS_OK);
    assert_same_record(&got, &r2);
    custos_record_clear(&got);
}

/* Undoes step 14 (what pending rows cost), for the tests that set the version back. */
static void undo_pending_costs(fixture *f)
{
    f->be->exec(f, "DROP INDEX pending_by_feed");
    f->be->exec(f, "DROP INDEX pending_by_creator");
    f->be->exec(f, "DROP INDEX pending_by_first_seen");
    f->be->exec(f, "ALTER TABLE pending DROP COLUMN feed");
    f->be->exec(f, "ALTER TABLE pending DROP COLUMN creator");
    f->be->exec(f, "ALTER TABLE pending DROP COLUMN bytes");
}

/* Back to before step 17: notices without a place in the log. */
static void undo_notice_cursor(fixture *f)
{
    f->be->exec(f, "DROP INDEX notices_by_cursor");
    f->be->exec(f, "ALTER TABLE notices DROP COLUMN cursor");
    f->be->exec(f, "ALTER TABLE notices DROP COLUMN chain_hash");
}

/* Undoes step 18 (batches), for the tests that set the version back; held_too when the
 * held table stays. */
static void undo_batches(fixture *f, bool held_too)
{
    f->be->exec(f, "DROP INDEX accepted_by_batch");
    if (f->be == &BE_SQLITE)
        f->be->exec(f, "ALTER TABLE accepted DROP COLUMN late"); /* step 24's */
    f->be->exec(f, "ALTER TABLE accepted DROP COLUMN batch_digest");
    if (held_too) {
        f->be->exec(f, "DROP INDEX held_by_batch");
        f->be->exec(f, "ALTER TABLE held DROP COLUMN batch_digest");
    }
    f->be->exec(f, "DROP TABLE batches");
}

/* Undoes step 24 on a SQLite store whose accepted table step 23 rebuilds (dropping its
 * late column): the ranges of cursors in batch rows. */
static void undo_batch_spans(fixture *f)
{
    f->be->exec(f, "ALTER TABLE batches DROP COLUMN first_cursor");
    f->be->exec(f, "ALTER TABLE batches DROP COLUMN last_cursor");
}

/* A version 1 store with an account is migrated when opened through every later step:
 * version 2 adds the pledge, the zero address for accounts accepted before. */
static void test_upgrade_from_v1(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r;
    make_record(&r, 1, 0xf1, 1, 0);
    put_committed(&f->store, &r);
    gw_store_close(&f->store);
    /* Back to what version 1 had: every later step's tables and columns go. */
    f->be->exec(f, "ALTER TABLE accounts DROP COLUMN beneficiary");
    f->be->exec(f, "ALTER TABLE accepted DROP COLUMN chain_hash");
    f->be->exec(f, "DROP TABLE audit");
    f->be->exec(f, "DROP TABLE reserves");
    f->be->exec(f, "DROP TABLE held");
    f->be->exec(f, "DROP TABLE notices");
    undo_batches(f, false);
    undo_pending_costs(f);
    if (f->be == &BE_PG)
        f->be->exec(f, "DROP TABLE publisher_attempts, publisher_fates, publisher_meta, "
                       "publisher_chain");
    f->be->set_version(f, 1);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    account_list l = {.n = 0};
    assert_int_equal(gw_store_load_accounts(&f->store, collect_account, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 1);
    static const uint8_t zero[CUSTOS_ADDRESS_LEN];
    assert_memory_equal(l.a[0].beneficiary, zero, CUSTOS_ADDRESS_LEN);
    custos_record r2;
    make_record(&r2, 2, 0xf1, 2, 0);
    put_committed(&f->store, &r2);
    l.n = 0;
    assert_int_equal(gw_store_load_accounts(&f->store, collect_account, &l, &err), CUSTOS_OK);
    assert_memory_equal(l.a[0].beneficiary, r2.sub.att.beneficiary, CUSTOS_ADDRESS_LEN);
}

/* Version 8 drops the digest index of a store that has one, and keeps every record. */
static void test_upgrade_drops_digest_index(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r[2];
    make_record(&r[0], 1, 0xd1, 1, 0);
    make_record(&r[1], 2, 0xd2, 5, 0);
    memset(r[1].chain_hash, 0x5c, sizeof r[1].chain_hash);
    for (size_t i = 0; i < 2; i++)
        put_committed(&f->store, &r[i]);
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, f->be->count_digest_indexes), 0);
    undo_batches(f, true);
    if (f->be == &BE_PG) {
        f->be->exec(f, "ALTER TABLE accepted ADD CONSTRAINT accepted_digest_key UNIQUE (digest)");
    } else {
        f->be->exec(f, "ALTER TABLE accepted DROP COLUMN prev_cursor"); /* step 23's */
        f->be->exec(f, "CREATE TABLE accepted_v7 (cursor INTEGER PRIMARY KEY, "
                       "digest BLOB NOT NULL UNIQUE, account BLOB NOT NULL, "
                       "sequence BLOB NOT NULL, accepted_at INTEGER NOT NULL, "
                       "attestation BLOB NOT NULL, signers BLOB NOT NULL, chain_hash BLOB, "
                       "UNIQUE (account, sequence));"
                       "INSERT INTO accepted_v7 SELECT * FROM accepted;"
                       "DROP TABLE accepted;"
                       "ALTER TABLE accepted_v7 RENAME TO accepted;");
    }
    assert_int_equal(f->be->query_long(f, f->be->count_digest_indexes), 1);
    undo_pending_costs(f);
    undo_notice_cursor(f);
    f->be->set_version(f, 7);

    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, f->be->count_digest_indexes), 0);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    custos_record out[3];
    size_t n = 0;
    assert_int_equal(gw_store_read_from(&f->store, 0, out, 3, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_same_record(&out[i], &r[i]);
        assert_memory_equal(out[i].chain_hash, r[i].chain_hash, sizeof r[i].chain_hash);
        custos_record_clear(&out[i]);
        uint64_t cursor = 0;
        uint32_t n_signers = 0;
        assert_int_equal(gw_store_find_accepted(&f->store, r[i].sub.att.account,
                                                r[i].sub.att.sequence, r[i].digest, &cursor,
                                                &n_signers, &err),
                         CUSTOS_OK);
        assert_int_equal(cursor, r[i].cursor);
    }
    /* (account, sequence) is still unique. */
    custos_record dup;
    make_record(&dup, 3, 0xd2, 5, 1);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_not_equal(gw_store_put_accepted(&f->store, &dup, dup.sub.att.beneficiary, &err),
                         CUSTOS_OK);
    gw_store_rollback(&f->store);
}

static void make_reserves(gw_store_reserves *res, const char *feed, uint64_t sequence,
                          size_t n, custos_reserves_entry *es)
{
    memset(res, 0, sizeof *res);
    strcpy(res->feed, feed);
    for (size_t i = 0; i < n; i++) {
        memset(es[i].account, (int)(0x40 + i), 32);
        custos_u256_from_u64(&es[i].collateral_value, 1000 * (i + 1) + sequence);
    }
    custos_error err;
    assert_int_equal(custos_reserves_summarise(es, n, &res->r, &err), CUSTOS_OK);
    custos_feed_id(feed, res->r.feed_id);
    res->r.as_of = UINT64_MAX - 1; /* the full range survives the round trip */
    res->r.sequence = sequence;
    memset(res->digest, (int)sequence, 32);
    res->digest[0] = feed[0];
    memset(res->signer, 0xc5, CUSTOS_ADDRESS_LEN);
    memset(res->sig.bytes, 0x5a, CUSTOS_SIGNATURE_LEN);
    /* Every signature verified on it, one per sequence beyond the first (none for 9). */
    res->n_sigs = sequence < CUSTOS_MAX_SIGNATURES ? (size_t)sequence % 3 : 0;
    for (size_t i = 0; i < res->n_sigs; i++)
        memset(res->sigs[i].bytes, (int)(0x70 + i), CUSTOS_SIGNATURE_LEN);
    res->accepted_at = 1700000000;
    res->entries = es;
}

static void put_reserves_committed(gw_store *s, const gw_store_reserves *res, custos_rc want)
{
    custos_error err;
    assert_int_equal(gw_store_begin(s, &err), CUSTOS_OK);
    custos_rc rc = gw_store_put_reserves(s, res, &err);
    assert_int_equal(rc, want);
    if (rc == CUSTOS_OK)
        assert_int_equal(gw_store_commit(s, &err), CUSTOS_OK);
    else
        gw_store_rollback(s);
}

/* The latest reserves of a feed are the highest sequence, with every leaf; (feed,
 * sequence) and digest are unique; feeds do not mix; they survive a reopen. */
static void test_reserves(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_store_reserves got;
    assert_int_equal(gw_store_get_reserves(&f->store, "acme", &got, &err),
                     CUSTOS_ERR_NOT_FOUND);

    custos_reserves_entry es2[3], es5[2], es_other[1], es_dup[2];
    gw_store_reserves r2, r5, other, dup_seq, dup_digest;
    make_reserves(&r2, "acme", 2, 3, es2);
    make_reserves(&r5, "acme", 5, 2, es5);
    make_reserves(&other, "bolt", 9, 1, es_other);
    put_reserves_committed(&f->store, &r5, CUSTOS_OK);
    put_reserves_committed(&f->store, &r2, CUSTOS_OK);
    put_reserves_committed(&f->store, &other, CUSTOS_OK);

    make_reserves(&dup_seq, "acme", 5, 2, es_dup);
    dup_seq.digest[1] ^= 1;
    put_reserves_committed(&f->store, &dup_seq, CUSTOS_ERR_INTERNAL);
    make_reserves(&dup_digest, "acme", 6, 2, es_dup);
    memcpy(dup_digest.digest, r5.digest, 32);
    put_reserves_committed(&f->store, &dup_digest, CUSTOS_ERR_INTERNAL);

    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(gw_store_get_reserves(&f->store, "acme", &got, &err), CUSTOS_OK);
        assert_string_equal(got.feed, "acme");
        assert_memory_equal(&got.r, &r5.r, sizeof got.r);
        assert_memory_equal(got.digest, r5.digest, 32);
        assert_memory_equal(got.signer, r5.signer, CUSTOS_ADDRESS_LEN);
        assert_memory_equal(got.sig.bytes, r5.sig.bytes, CUSTOS_SIGNATURE_LEN);
        assert_int_equal(got.n_sigs, 2);
        assert_memory_equal(got.sigs, r5.sigs, 2 * sizeof r5.sigs[0]);
        assert_int_equal(got.accepted_at, r5.accepted_at);
        assert_non_null(got.entries);
        assert_memory_equal(got.entries, es5, sizeof es5);
        gw_store_reserves_clear(&got);
        assert_int_equal(gw_store_get_reserves(&f->store, "bolt", &got, &err), CUSTOS_OK);
        assert_int_equal(got.r.sequence, 9);
        assert_int_equal(got.n_sigs, 0);
        assert_memory_equal(got.entries, es_other, sizeof es_other);
        gw_store_reserves_clear(&got);
        gw_store_close(&f->store);
        assert_int_equal(reopen(f, &err), CUSTOS_OK);
    }
    assert_int_equal(gw_store_get_reserves(&f->store, "acm", &got, &err), CUSTOS_ERR_NOT_FOUND);
}

static void make_notice(gw_store_notice *n, uint8_t account, uint8_t lender, uint64_t seq,
                        uint64_t accepted_at, const char *feed)
{
    memset(n, 0, sizeof *n);
    snprintf(n->feed, sizeof n->feed, "%s", feed);
    memset(n->n.account, account, CUSTOS_HASH_LEN);
    memset(n->n.lender, lender, CUSTOS_ADDRESS_LEN);
    n->n.state = (uint8_t)(seq % 4);
    n->n.ltv_bps = (uint32_t)(7000 + seq);
    n->n.exposure.limb[0] = seq * 1000;
    n->n.exposure.limb[3] = 0x8000000000000000ull;
    n->n.collateral_value.limb[1] = seq;
    n->n.deadline = n->n.state == 2 ? 1767715200 + seq : 0;
    n->n.sequence = seq;
    memset(n->digest, (int)(account ^ lender ^ seq), CUSTOS_HASH_LEN);
    n->digest[0] = (uint8_t)seq;
    n->digest[1] = lender;
    memset(n->signer, 0x5a, CUSTOS_ADDRESS_LEN);
    memset(n->sig.bytes, (int)seq, CUSTOS_SIGNATURE_LEN);
    n->accepted_at = accepted_at;
    /* A place in the log no record of these tests takes, and a link to match. */
    n->cursor = 1000 + seq * 16 + (lender & 0x0f) + (uint64_t)account * 4096;
    memset(n->chain_hash, (int)(0x40 ^ seq), CUSTOS_HASH_LEN);
}

static void put_notice_committed(gw_store *s, const gw_store_notice *n, custos_rc want)
{
    custos_error err;
    assert_int_equal(gw_store_begin(s, &err), CUSTOS_OK);
    custos_rc rc = gw_store_put_notice(s, n, &err);
    assert_int_equal(rc, want);
    if (rc == CUSTOS_OK)
        assert_int_equal(gw_store_commit(s, &err), CUSTOS_OK);
    else
        gw_store_rollback(s);
}

/* An account's notices come back whole, newest first, of one lender or of all; (account,
 * lender, sequence) and digest are unique; accounts do not mix; they survive a reopen. */
static void test_notices(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_store_notice got[8], n[4], dup;
    size_t count = 9;
    uint8_t account[CUSTOS_HASH_LEN];
    memset(account, 0xa1, sizeof account);
    assert_int_equal(gw_store_list_notices(&f->store, account, NULL, got, 8, &count, &err),
                     CUSTOS_OK);
    assert_int_equal(count, 0);
    make_notice(&n[0], 0xa1, 0x11, 1, 1000, "acme");
    make_notice(&n[1], 0xa1, 0x11, 2, 2000, "acme");
    make_notice(&n[2], 0xa1, 0x22, 1, 3000, "acme-with-a-feed-name-of-the-longest-length-sixty-four-bytes-xx");
    make_notice(&n[3], 0xb2, 0x11, 7, 4000, "bolt");
    for (size_t i = 0; i < 4; i++)
        put_notice_committed(&f->store, &n[i], CUSTOS_OK);
    make_notice(&dup, 0xa1, 0x11, 2, 5000, "acme");
    dup.digest[5] ^= 1;
    dup.cursor = 1;
    put_notice_committed(&f->store, &dup, CUSTOS_ERR_INTERNAL);
    make_notice(&dup, 0xa1, 0x11, 3, 5000, "acme");
    memcpy(dup.digest, n[1].digest, CUSTOS_HASH_LEN);
    dup.cursor = 2;
    put_notice_committed(&f->store, &dup, CUSTOS_ERR_INTERNAL);
    /* One place in the log, one notice. */
    make_notice(&dup, 0xa1, 0x11, 4, 5000, "acme");
    dup.cursor = n[0].cursor;
    put_notice_committed(&f->store, &dup, CUSTOS_ERR_INTERNAL);

    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(gw_store_list_notices(&f->store, account, NULL, got, 8, &count, &err),
                         CUSTOS_OK);
        assert_int_equal(count, 3);
        assert_memory_equal(&got[0], &n[2], sizeof got[0]);
        assert_memory_equal(&got[1], &n[1], sizeof got[1]);
        assert_memory_equal(&got[2], &n[0], sizeof got[2]);
        assert_int_equal(gw_store_list_notices(&f->store, account, n[0].n.lender, got, 1,
                                               &count, &err),
                         CUSTOS_OK);
        assert_int_equal(count, 1);
        assert_memory_equal(&got[0], &n[1], sizeof got[0]);
        assert_int_equal(gw_store_list_notices(&f->store, n[3].n.account, NULL, got, 8, &count,
                                               &err),
                         CUSTOS_OK);
        assert_int_equal(count, 1);
        assert_memory_equal(&got[0], &n[3], sizeof got[0]);
        gw_store_close(&f->store);
        assert_int_equal(reopen(f, &err), CUSTOS_OK);
    }
}

/* Notices share the log's cursors (step 17): head counts them, read_notices_from returns
 * them in cursor order with their links, read_from the records alone; a store upgraded
 * from step 16 keeps its notices, out of the log (cursor 0), and the ones after take
 * places again. */
static void test_notices_in_log(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_store_notice old, n[2], got[4];
    size_t count = 0;
    uint64_t head = 9;
    make_notice(&old, 0xa1, 0x11, 1, 1000, "acme");
    put_notice_committed(&f->store, &old, CUSTOS_OK);
    gw_store_close(&f->store);
    /* As a step-16 store has it: no place in the log. */
    f->be->exec(f, "UPDATE notices SET cursor = NULL, chain_hash = NULL");
    undo_notice_cursor(f);
    undo_batches(f, true);
    f->be->set_version(f, 16);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 0);
    assert_int_equal(gw_store_read_notices_from(&f->store, 0, got, 4, &count, &err), CUSTOS_OK);
    assert_int_equal(count, 0);

    custos_record r[2];
    make_record(&r[0], 1, 0xa1, 1, 0);
    make_record(&r[1], 3, 0xa1, 2, 0);
    put_committed(&f->store, &r[0]);
    make_notice(&n[0], 0xa1, 0x11, 2, 2000, "acme");
    n[0].cursor = 2;
    put_notice_committed(&f->store, &n[0], CUSTOS_OK);
    put_committed(&f->store, &r[1]);
    make_notice(&n[1], 0xa1, 0x11, 3, 3000, "acme");
    n[1].cursor = 4;
    put_notice_committed(&f->store, &n[1], CUSTOS_OK);
    /* A record cannot take a notice's place either way round: the one writer assigns both,
     * and a notice's own cursor is unique. */
    make_notice(&old, 0xa1, 0x11, 9, 4000, "acme");
    old.cursor = 4;
    put_notice_committed(&f->store, &old, CUSTOS_ERR_INTERNAL);

    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
        gw_store_rollback(&f->store);
        assert_int_equal(head, 4);
        assert_int_equal(gw_store_read_notices_from(&f->store, 0, got, 4, &count, &err),
                         CUSTOS_OK);
        assert_int_equal(count, 2);
        assert_memory_equal(&got[0], &n[0], sizeof got[0]);
        assert_memory_equal(&got[1], &n[1], sizeof got[1]);
        assert_int_equal(gw_store_read_notices_from(&f->store, 2, got, 4, &count, &err),
                         CUSTOS_OK);
        assert_int_equal(count, 1);
        assert_int_equal(got[0].cursor, 4);
        assert_int_equal(gw_store_read_notices_from(&f->store, 0, got, 1, &count, &err),
                         CUSTOS_OK);
        assert_int_equal(count, 1);
        assert_int_equal(got[0].cursor, 2);
        custos_record out[4];
        assert_int_equal(gw_store_read_from(&f->store, 0, out, 4, &count, &err), CUSTOS_OK);
        assert_int_equal(count, 2);
        assert_int_equal(out[0].cursor, 1);
        assert_int_equal(out[1].cursor, 3);
        for (size_t i = 0; i < count; i++)
            custos_record_clear(&out[i]);
        /* The notice from before step 17 is still listed, with no place in the log. */
        uint8_t account[CUSTOS_HASH_LEN];
        memset(account, 0xa1, sizeof account);
        assert_int_equal(gw_store_list_notices(&f->store, account, NULL, got, 4, &count, &err),
                         CUSTOS_OK);
        assert_int_equal(count, 3);
        assert_int_equal(got[0].cursor, 4);
        assert_int_equal(got[1].cursor, 2);
        assert_int_equal(got[2].cursor, 0);
        assert_int_equal(got[2].n.sequence, 1);
        static const uint8_t zero[CUSTOS_HASH_LEN];
        assert_memory_equal(got[2].chain_hash, zero, CUSTOS_HASH_LEN);
        gw_store_close(&f->store);
        assert_int_equal(reopen(f, &err), CUSTOS_OK);
    }
}

/* Accounts of the lean-storage comparison, each way. */
#define LEAN_N 100

/* A batch of n accounts first.. (rule 20) with its tree, each member a copy of make_sub's
 * valuation with no signature of its own; the batch carries two signatures. */
static void make_batch_from(gw_store_batch *b, custos_submission *subs, size_t n,
                            uint64_t sequence, uint8_t first)
{
    memset(b, 0, sizeof *b);
    custos_attestation atts[LEAN_N];
    assert_true(n <= LEAN_N);
    for (size_t i = 0; i < n; i++) {
        make_sub(&subs[i], (uint8_t)(first + i), 5, 0);
        atts[i] = subs[i].att;
    }
    custos_batch_tree *t = NULL;
    custos_error err;
    if (custos_batch_tree_new("acme", atts, n, sequence, &b->batch, &t, &err) != CUSTOS_OK)
        fail_msg("batch tree: %s", err.message);
    custos_batch_tree_free(t);
    snprintf(b->feed, sizeof b->feed, "acme");
    b->domain = subs[0].domain;
    custos_batch_digest(&b->domain, &b->batch, b->digest);
    for (size_t i = 0; i < 2; i++) {
        memset(b->sigs[i].bytes, (int)(0x60 + i), CUSTOS_SIGNATURE_LEN);
        memset(b->signers[i], (int)(0x70 + i), CUSTOS_ADDRESS_LEN);
    }
    b->n_sigs = 2;
    b->accepted_at = 1700000200;
}

/* Member sub as a batch carries it (shallow: sub keeps its positions). */
static custos_batch_member as_member(const custos_submission *sub)
{
    custos_batch_member m = {.att = sub->att,
                             .positions = sub->positions,
                             .n_positions = sub->n_positions};
    return m;
}

static void make_batch(gw_store_batch *b, custos_submission *subs, size_t n, uint64_t sequence)
{
    make_batch_from(b, subs, n, sequence, 0x21);
}

/* The batched record of member sub at cursor. */
static void make_batched_record(custos_record *r, const gw_store_batch *b,
                                const custos_submission *sub, uint64_t cursor)
{
    memset(r, 0, sizeof *r);
    r->sub = *sub;
    r->cursor = cursor;
    r->state = CUSTOS_STATE_ACCEPTED;
    r->accepted_at = b->accepted_at;
    custos_attestation_digest(&sub->domain, &sub->att, r->digest);
    r->batched = true;
    memcpy(r->batch.digest, b->digest, CUSTOS_HASH_LEN);
    r->batch.batch = b->batch;
    memcpy(r->signers, b->signers, sizeof b->signers);
    r->n_signers = b->n_sigs;
}

/* A batched record as read back: the batch's fields and signatures, signers the batch's,
 * and a proof that takes its attestation's leaf to the batch's root. */
static void assert_batched(const custos_record *got, const gw_store_batch *b,
                           const custos_submission *sub)
{
    assert_true(got->batched);
    assert_int_equal(got->sub.n_sigs, 0);
    assert_memory_equal(&got->sub.att, &sub->att, sizeof sub->att);
    assert_memory_equal(got->batch.digest, b->digest, CUSTOS_HASH_LEN);
    assert_memory_equal(&got->batch.batch, &b->batch, sizeof b->batch);
    assert_int_equal(got->batch.n_sigs, b->n_sigs);
    assert_memory_equal(got->batch.sigs, b->sigs, b->n_sigs * sizeof b->sigs[0]);
    assert_int_equal(got->n_signers, b->n_sigs);
    assert_memory_equal(got->signers, b->signers, b->n_sigs * CUSTOS_ADDRESS_LEN);
    uint8_t leaf[CUSTOS_HASH_LEN];
    custos_batch_leaf(&sub->att, leaf);
    assert_true(custos_merkle_verify(b->batch.accounts_root, leaf,
                                     (const uint8_t(*)[CUSTOS_HASH_LEN])got->batch.proof,
                                     got->batch.n_proof));
}

/* Rule 20: a batch's row and its accounts in one group; the signatures are stored once,
 * in the batch's row, and each account comes back with everything to verify it alone. */
static void test_batch(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_store_batch b;
    custos_submission subs[3];
    make_batch(&b, subs, 3, 9);
    gw_store_batch_member members[3];
    memset(members, 0, sizeof members);
    custos_record recs[2];
    for (size_t i = 0; i < 3; i++)
        members[i].acct = as_member(&subs[i]);
    for (size_t i = 0; i < 2; i++) {
        members[i].state = CUSTOS_STATE_ACCEPTED;
        members[i].cursor = i + 1;
        make_batched_record(&recs[i], &b, &subs[i], i + 1);
    }
    members[2].reason = CUSTOS_REASON_UNREGISTERED_ACCOUNT;
    b.members = members;
    b.n_members = 3;

    uint64_t last = 1;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_last_batch_sequence(&f->store, "acme", &last, &err), CUSTOS_OK);
    assert_int_equal(last, 0);
    if (gw_store_put_batch(&f->store, &b, &err) != CUSTOS_OK)
        fail_msg("put_batch: %s", err.message);
    for (size_t i = 0; i < 2; i++)
        if (gw_store_put_accepted(&f->store, &recs[i], subs[i].att.beneficiary, &err) !=
            CUSTOS_OK)
            fail_msg("put_accepted: %s", err.message);
    assert_int_equal(gw_store_last_batch_sequence(&f->store, "acme", &last, &err), CUSTOS_OK);
    assert_int_equal(last, 9);
    assert_int_equal(gw_store_last_batch_sequence(&f->store, "other", &last, &err), CUSTOS_OK);
    assert_int_equal(last, 0);
    uint64_t cursor = 0;
    uint32_t n_signers = 0;
    assert_int_equal(gw_store_find_accepted(&f->store, subs[1].att.account, 5, recs[1].digest,
                                            &cursor, &n_signers, &err),
                     CUSTOS_OK);
    assert_int_equal(cursor, 2);
    assert_int_equal(n_signers, 2);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);

    /* A batch is stored once. */
    b.members = members;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_not_equal(gw_store_put_batch(&f->store, &b, &err), CUSTOS_OK);
    gw_store_rollback(&f->store);
    /* Members that are not the batch's count are refused before anything is written. */
    b.n_members = 2;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_batch(&f->store, &b, &err), CUSTOS_ERR_INVALID);
    gw_store_rollback(&f->store);
    b.n_members = 3;

    custos_record got;
    for (size_t i = 0; i < 2; i++) {
        if (gw_store_get_latest(&f->store, subs[i].att.account, &got, &err) != CUSTOS_OK)
            fail_msg("get_latest: %s", err.message);
        assert_batched(&got, &b, &subs[i]);
        assert_int_equal(got.cursor, i + 1);
        custos_record_clear(&got);
    }
    custos_record read[4];
    size_t n = 0;
    assert_int_equal(gw_store_read_from(&f->store, 0, read, 4, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_batched(&read[i], &b, &subs[i]);
        custos_record_clear(&read[i]);
    }

    /* Every account back, in the tree's leaf order, with the state the gateway gave it. */
    gw_store_batch out;
    if (gw_store_get_batch(&f->store, b.digest, &out, &err) != CUSTOS_OK)
        fail_msg("get_batch: %s", err.message);
    assert_int_equal(out.n_members, 3);
    assert_string_equal(out.feed, "acme");
    assert_int_equal(out.domain.chain_id, b.domain.chain_id);
    assert_memory_equal(out.domain.verifying_contract, b.domain.verifying_contract,
                        CUSTOS_ADDRESS_LEN);
    assert_memory_equal(&out.batch, &b.batch, sizeof b.batch);
    assert_int_equal(out.n_sigs, 2);
    assert_memory_equal(out.sigs, b.sigs, 2 * sizeof b.sigs[0]);
    assert_memory_equal(out.signers, b.signers, 2 * CUSTOS_ADDRESS_LEN);
    assert_int_equal(out.accepted_at, b.accepted_at);
    uint8_t prev[CUSTOS_HASH_LEN] = {0};
    size_t seen = 0;
    for (size_t i = 0; i < out.n_members; i++) {
        uint8_t leaf[CUSTOS_HASH_LEN];
        custos_batch_leaf(&out.members[i].acct.att, leaf);
        assert_true(i == 0 || memcmp(prev, leaf, CUSTOS_HASH_LEN) < 0);
        memcpy(prev, leaf, CUSTOS_HASH_LEN);
        size_t k = (size_t)(out.members[i].acct.att.account[0] - 0x21);
        assert_true(k < 3);
        seen |= (size_t)1 << k;
        assert_memory_equal(&out.members[i].acct.att, &subs[k].att, sizeof subs[k].att);
        if (k < 2) {
            assert_int_equal(out.members[i].state, CUSTOS_STATE_ACCEPTED);
            assert_int_equal(out.members[i].cursor, k + 1);
        } else {
            assert_int_equal(out.members[i].state, CUSTOS_STATE_UNSPECIFIED);
            assert_int_equal(out.members[i].reason, CUSTOS_REASON_UNREGISTERED_ACCOUNT);
        }
    }
    assert_int_equal(seen, 7);
    gw_store_batch_clear(&out);
    uint8_t other[CUSTOS_HASH_LEN] = {1};
    assert_int_equal(gw_store_get_batch(&f->store, other, &out, &err), CUSTOS_ERR_NOT_FOUND);

    /* Reopened, all of it is still there. */
    gw_store_close(&f->store);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    if (gw_store_get_latest(&f->store, subs[0].att.account, &got, &err) != CUSTOS_OK)
        fail_msg("get_latest: %s", err.message);
    assert_batched(&got, &b, &subs[0]);
    custos_record_clear(&got);
}

/* A batch's accounts accepted in its own commit, stored before its row as the committer
 * stores them, and two it held that were released later: one in the same transaction
 * after the batch's row, one in a later transaction. get_batch finds all four, accepted,
 * each with its cursor. SQLite finds the first two from the cursors the batch's row keeps
 * and only the released ones by its index (docs/storage.md §10). */
static void test_batch_released_members(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_store_batch b;
    custos_submission subs[4];
    make_batch(&b, subs, 4, 3);
    gw_store_batch_member members[4];
    memset(members, 0, sizeof members);
    custos_record recs[4];
    /* A rise is held over a published value: the held accounts have one (cursors 1, 2). */
    for (size_t i = 2; i < 4; i++) {
        custos_record r;
        make_record(&r, i - 1, (uint8_t)(0x21 + i), 1, 0);
        put_committed(&f->store, &r);
        custos_submission_clear(&r.sub);
    }
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    for (size_t i = 0; i < 4; i++) {
        members[i].acct = as_member(&subs[i]);
        make_batched_record(&recs[i], &b, &subs[i], i < 2 ? i + 3 : 0);
        if (i < 2) {
            members[i].state = CUSTOS_STATE_ACCEPTED;
            members[i].cursor = i + 3;
            if (gw_store_put_accepted(&f->store, &recs[i], subs[i].att.beneficiary, &err) !=
                CUSTOS_OK)
                fail_msg("put_accepted: %s", err.message);
        } else {
            members[i].state = CUSTOS_STATE_HELD;
            recs[i].state = CUSTOS_STATE_HELD;
            if (gw_store_put_held(&f->store, &recs[i], &err) != CUSTOS_OK)
                fail_msg("put_held: %s", err.message);
        }
    }
    b.members = members;
    b.n_members = 4;
    if (gw_store_put_batch(&f->store, &b, &err) != CUSTOS_OK)
        fail_msg("put_batch: %s", err.message);
    for (size_t i = 2; i < 4; i++) {
        if (i == 3) {
            assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
            assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        }
        assert_int_equal(gw_store_drop_held(&f->store, recs[i].digest, &err), CUSTOS_OK);
        recs[i].state = CUSTOS_STATE_ACCEPTED;
        recs[i].cursor = i + 3;
        if (gw_store_put_accepted(&f->store, &recs[i], subs[i].att.beneficiary, &err) !=
            CUSTOS_OK)
            fail_msg("put_accepted (released): %s", err.message);
    }
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);

    gw_store_batch out;
    if (gw_store_get_batch(&f->store, b.digest, &out, &err) != CUSTOS_OK)
        fail_msg("get_batch: %s", err.message);
    assert_int_equal(out.n_members, 4);
    size_t seen = 0;
    for (size_t i = 0; i < out.n_members; i++) {
        size_t k = (size_t)(out.members[i].acct.att.account[0] - 0x21);
        assert_true(k < 4);
        seen |= (size_t)1 << k;
        assert_int_equal(out.members[i].state, CUSTOS_STATE_ACCEPTED);
        assert_int_equal(out.members[i].cursor, k + 3);
    }
    assert_int_equal(seen, 15);
    gw_store_batch_clear(&out);
    if (f->be == &BE_SQLITE) {
        gw_store_close(&f->store);
        assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM accepted WHERE late = 1 "
                                              "AND cursor IN (5, 6)"),
                         2);
        assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM accepted WHERE late = 1"),
                         2);
        assert_int_equal(reopen(f, &err), CUSTOS_OK);
    }
}

/* The store keeps the trees of the batches it read last (GW_STORE_BATCH_VIEWS): reads that
 * go back and forth over more batches than it keeps, so that kept trees are used and
 * replaced, always serve each account with its own batch and a proof to its root. */
#define VIEW_BATCHES (GW_STORE_BATCH_VIEWS + 3)
#define VIEW_ACCOUNTS 3

static void test_batch_views_kept(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_store_batch b[VIEW_BATCHES];
    custos_submission subs[VIEW_BATCHES][VIEW_ACCOUNTS];
    gw_store_batch_member members[VIEW_BATCHES][VIEW_ACCOUNTS];
    memset(members, 0, sizeof members);
    uint64_t cursor = 0;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    for (size_t k = 0; k < VIEW_BATCHES; k++) {
        make_batch_from(&b[k], subs[k], VIEW_ACCOUNTS, k + 1,
                        (uint8_t)(0x21 + k * VIEW_ACCOUNTS));
        custos_record recs[VIEW_ACCOUNTS];
        for (size_t i = 0; i < VIEW_ACCOUNTS; i++) {
            members[k][i].acct = as_member(&subs[k][i]);
            members[k][i].state = CUSTOS_STATE_ACCEPTED;
            members[k][i].cursor = ++cursor;
            make_batched_record(&recs[i], &b[k], &subs[k][i], cursor);
        }
        b[k].members = members[k];
        b[k].n_members = VIEW_ACCOUNTS;
        if (gw_store_put_batch(&f->store, &b[k], &err) != CUSTOS_OK)
            fail_msg("put_batch: %s", err.message);
        for (size_t i = 0; i < VIEW_ACCOUNTS; i++)
            if (gw_store_put_accepted(&f->store, &recs[i], subs[k][i].att.beneficiary, &err) !=
                CUSTOS_OK)
                fail_msg("put_accepted: %s", err.message);
    }
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    /* Forward over every batch, then back, then every other one, twice. */
    size_t order[4 * VIEW_BATCHES];
    size_t n_order = 0;
    for (size_t k = 0; k < VIEW_BATCHES; k++)
        order[n_order++] = k;
    for (size_t k = VIEW_BATCHES; k-- > 0;)
        order[n_order++] = k;
    for (size_t round = 0; round < 2; round++)
        for (size_t k = round; k < VIEW_BATCHES; k += 2)
            order[n_order++] = k;
    for (size_t o = 0; o < n_order; o++) {
        size_t k = order[o];
        for (size_t i = 0; i < VIEW_ACCOUNTS; i++) {
            custos_record got;
            if (gw_store_get_latest(&f->store, subs[k][i].att.account, &got, &err) != CUSTOS_OK)
                fail_msg("get_latest: %s", err.message);
            assert_batched(&got, &b[k], &subs[k][i]);
            custos_record_clear(&got);
        }
    }
    /* A page over every batch at once. */
    custos_record read[VIEW_BATCHES * VIEW_ACCOUNTS];
    size_t n = 0;
    assert_int_equal(gw_store_read_from(&f->store, 0, read, VIEW_BATCHES * VIEW_ACCOUNTS, &n,
                                        &err),
                     CUSTOS_OK);
    assert_int_equal(n, VIEW_BATCHES * VIEW_ACCOUNTS);
    for (size_t i = 0; i < n; i++) {
        assert_batched(&read[i], &b[i / VIEW_ACCOUNTS], &subs[i / VIEW_ACCOUNTS][i % VIEW_ACCOUNTS]);
        custos_record_clear(&read[i]);
    }
}

/* Lean storage (rule 20): a batch-signed account costs the store less than one signed alone
 * by the same two signers, since the batch's signatures and signers are stored once, in
 * the batch's row (about 32 bytes per account there: its leaf), not in the account's. */
static void test_batch_storage_is_lean(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_store_batch b;
    custos_submission *subs = calloc(LEAN_N, sizeof *subs);
    gw_store_batch_member *members = calloc(LEAN_N, sizeof *members);
    assert_non_null(subs);
    assert_non_null(members);
    make_batch(&b, subs, LEAN_N, 1);
    b.members = members;
    b.n_members = LEAN_N;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    for (size_t i = 0; i < LEAN_N; i++) {
        members[i].acct = as_member(&subs[i]);
        members[i].state = CUSTOS_STATE_ACCEPTED;
        members[i].cursor = i + 1;
        custos_record rec;
        make_batched_record(&rec, &b, &subs[i], i + 1);
        if (gw_store_put_accepted(&f->store, &rec, subs[i].att.beneficiary, &err) != CUSTOS_OK)
            fail_msg("put_accepted: %s", err.message);
    }
    if (gw_store_put_batch(&f->store, &b, &err) != CUSTOS_OK)
        fail_msg("put_batch: %s", err.message);
    assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
    /* The same valuations of other accounts, each signed alone by two signers. */
    for (size_t i = 0; i < LEAN_N; i++) {
        custos_record rec;
        make_record(&rec, LEAN_N + 1 + i, (uint8_t)(0x90 + i), 5, 0);
        put_committed(&f->store, &rec);
    }
    gw_store_close(&f->store);

    long single = f->be->query_long(
        f, "SELECT sum(length(attestation) + length(signers)) FROM accepted "
           "WHERE batch_digest IS NULL");
    long batched_rows = f->be->query_long(
        f, "SELECT sum(length(attestation) + length(signers) + length(batch_digest)) "
           "FROM accepted WHERE batch_digest IS NOT NULL");
    long batch_row = f->be->query_long(
        f, "SELECT sum(length(digest) + length(feed) + length(sequence) + length(body) + "
           "length(signatures) + length(signers) + length(leaves) + length(refused) + 8) "
           "FROM batches");
    /* The signatures are in the batch's row alone. */
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM batches"), 1);
    assert_int_equal(f->be->query_long(f, "SELECT sum(length(signers)) FROM accepted "
                                          "WHERE batch_digest IS NOT NULL"),
                     0);
    double per_single = (double)single / LEAN_N;
    double per_batched = (double)(batched_rows + batch_row) / LEAN_N;
    printf("%s: %.1f bytes per account signed alone, %.1f per account of a batch of %d "
           "(%.1f in its row, %.1f its share of the batch's row)\n",
           f->be->name, per_single, per_batched, LEAN_N, (double)batched_rows / LEAN_N,
           (double)batch_row / LEAN_N);
    /* Two signatures and two signers (170 bytes) against a leaf and a batch reference (64
     * bytes) and the batch's row shared by a hundred. */
    assert_true(per_batched + 80 < per_single);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    free(members);
    free(subs);
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    gw_store_close(&f->store);
    f->be->set_version(f, 99);
    custos_error err;
    assert_int_not_equal(reopen(f, &err), CUSTOS_OK);
    assert_non_null(strstr(err.message, "schema version 99"));
    assert_null(f->store.ops);
}

/* An unreachable server is UNAVAILABLE, and the message (which can reach a client) names
 * neither the server nor the password: libpq's text, with the address, goes to the log. */
static void test_pg_unreachable_hides_password(void **state)
{
    (void)state;
    /* Port 1 on loopback: privileged, nothing listens there. */
    const char *uri = "postgresql://custos:s3cret-pw@127.0.0.1:1/custos?connect_timeout=2";
    gw_store s = {0};
    custos_error err;
    assert_int_equal(gw_store_open_pg(uri, &s, &err), CUSTOS_ERR_UNAVAILABLE);
    assert_null(s.ops);
    assert_non_null(strstr(err.message, "PostgreSQL cannot be reached"));
    assert_null(strstr(err.message, "127.0.0.1"));
    assert_null(strstr(err.message, "s3cret-pw"));
}

/* The number of the store's sessions on the server. */
static long store_sessions(const char *uri)
{
    PGconn *c = PQconnectdb(uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, "SELECT count(*) FROM pg_stat_activity "
                              "WHERE application_name = 'custos-gateway'");
    long n = PQresultStatus(res) == PGRES_TUPLES_OK ? strtol(PQgetvalue(res, 0, 0), NULL, 10)
                                                    : -1;
    PQclear(res);
    PQfinish(c);
    return n;
}

/* The server drops every session (restart, failover) while the store is idle: the first
 * begin and the first read after it reconnect and succeed (docs/operations.md §13), and
 * nothing committed is lost. */
static void test_pg_reconnects(void **state)
{
    fixture *f = *state;
    custos_error err;
    custos_record r1, r2;
    make_record(&r1, 1, 0xf1, 1, 0);
    make_record(&r2, 2, 0xf1, 2, 0);
    put_committed(&f->store, &r1);
    tu_pg_exec(f->spec, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'custos-gateway'");
    /* Termination is asynchronous: wait until the sessions are gone, as after a restart. */
    for (int i = 0; i < 500 && store_sessions(f->spec) != 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    assert_int_equal(store_sessions(f->spec), 0);
    put_committed(&f->store, &r2);

    custos_record got;
    assert_int_equal(gw_store_get_latest(&f->store, r2.sub.att.account, &got, &err), CUSTOS_OK);
    assert_same_record(&got, &r2);
    custos_record_clear(&got);
    uint64_t head = 0;
    assert_int_equal(gw_store_head(&f->store, &head, &err), CUSTOS_OK);
    assert_int_equal(head, 2);
}

static int pg_group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_store: the PostgreSQL server for the postgresql group did not "
                        "start (reason above)\n");
        return -1;
    }
    return 0;
}

static int pg_group_teardown(void **state)
{
    (void)state;
    tu_pg_stop(&PG);
    return 0;
}

#define CONTRACT_TESTS(be)                                                                   \
    cmocka_unit_test_prestate_setup_teardown(test_put_get_read_from, setup, teardown,        \
                                             (void *)&(be)),                                 \
        cmocka_unit_test_prestate_setup_teardown(test_chain_hash, setup, teardown,           \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_latest_valuation, setup, teardown,     \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_audit, setup, teardown,                \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_uniqueness, setup, teardown,           \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_rollback_discards, setup, teardown,    \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(                                            \
            test_latest_follows_rollbacks_and_other_writers, setup, teardown, (void *)&(be)),  \
        cmocka_unit_test_prestate_setup_teardown(                                            \
            test_new_accounts_across_rollbacks_and_writers, setup, teardown, (void *)&(be)),   \
        cmocka_unit_test_prestate_setup_teardown(test_accounts_sharing_a_tip_set, setup,     \
                                                 teardown, (void *)&(be)),                   \
        cmocka_unit_test_prestate_setup_teardown(test_reader_sees_committed_only, setup,     \
                                                 teardown, (void *)&(be)),                   \
        cmocka_unit_test_prestate_setup_teardown(test_pending, setup, teardown,              \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_held, setup, teardown,                 \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_held_pages, setup, teardown,           \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_pending_pruned_across_reopen, setup,   \
                                                 teardown, (void *)&(be)),                   \
        cmocka_unit_test_prestate_setup_teardown(test_reopen_persists, setup, teardown,      \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_upgrade_from_v1, setup, teardown,      \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_newer_schema_refused, setup, teardown, \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_upgrade_drops_digest_index, setup,     \
                                                 teardown, (void *)&(be)),                   \
        cmocka_unit_test_prestate_setup_teardown(test_reserves, setup, teardown,             \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_notices, setup, teardown,              \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_notices_in_log, setup, teardown,       \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_batch, setup, teardown, (void *)&(be)), \
        cmocka_unit_test_prestate_setup_teardown(test_batch_views_kept, setup, teardown,      \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_batch_released_members, setup,         \
                                                 teardown, (void *)&(be)),                   \
        cmocka_unit_test_prestate_setup_teardown(test_batch_storage_is_lean, setup, teardown, \
                                                 (void *)&(be)),                             \
        cmocka_unit_test_prestate_setup_teardown(test_retry_window, setup, teardown,         \
                                                 (void *)&(be))

/* Rule 4's retry window: an accepted record is found again (a duplicate) while it is one of
 * its account's GW_STORE_RETRY_WINDOW latest, and not further back; the account's records
 * interleave with another's in the log. */
static void test_retry_window(void **state)
{
    fixture *f = *state;
    custos_error err;
    const uint64_t n = GW_STORE_RETRY_WINDOW + 6;
    custos_record *recs = calloc(n, sizeof *recs);
    assert_non_null(recs);
    uint64_t cursor = 0;
    for (uint64_t i = 0; i < n; i++) {
        make_record(&recs[i], ++cursor, 0xe1, i + 1, 0);
        put_committed(&f->store, &recs[i]);
        custos_record other;
        make_record(&other, ++cursor, 0xe2, i + 1, 0);
        put_committed(&f->store, &other);
    }
    static const struct {
        uint64_t back; /* 0: the latest */
        bool other_digest;
        custos_rc want;
    } cases[] = {
        {0, false, CUSTOS_OK},
        {1, false, CUSTOS_OK},
        {GW_STORE_RETRY_WINDOW - 1, false, CUSTOS_OK},
        {GW_STORE_RETRY_WINDOW, false, CUSTOS_ERR_NOT_FOUND},
        {GW_STORE_RETRY_WINDOW + 5, false, CUSTOS_ERR_NOT_FOUND},
        {0, true, CUSTOS_ERR_NOT_FOUND},
        {3, true, CUSTOS_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const custos_record *r = &recs[n - 1 - cases[i].back];
        uint8_t digest[CUSTOS_HASH_LEN];
        memcpy(digest, r->digest, sizeof digest);
        if (cases[i].other_digest)
            digest[31] ^= 1;
        uint64_t got = 0;
        uint32_t n_signers = 0;
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        custos_rc rc = gw_store_find_accepted(&f->store, r->sub.att.account, r->sub.att.sequence,
                                              digest, &got, &n_signers, &err);
        gw_store_rollback(&f->store);
        if (rc != cases[i].want)
            fail_msg("case %zu (%llu back): got %d, want %d", i,
                     (unsigned long long)cases[i].back, (int)rc, (int)cases[i].want);
        if (rc == CUSTOS_OK) {
            assert_int_equal(got, r->cursor);
            assert_int_equal(n_signers, 2);
        }
    }
    for (uint64_t i = 0; i < n; i++)
        custos_submission_clear(&recs[i].sub);
    free(recs);
}

/* The first record of each of the n accounts, cursors 1..n, each committed alone. */
static void put_first_records(fixture *f, const uint8_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        custos_record r;
        make_record(&r, i + 1, ids[i], 1, 0);
        put_committed(&f->store, &r);
        custos_submission_clear(&r.sub);
    }
}

/* Version 22 (SQLite): accounts keyed by account id become a rowid table, each account at
 * a place in the order of its latest record; every account keeps its state, and an update
 * keeps the account's place. */
static void test_upgrade_accounts_take_places(void **state)
{
    fixture *f = *state;
    custos_error err;
    /* Accounts 0xa3, 0xa1, 0xa2 valued in that order: id order is not place order. */
    static const uint8_t ids[3] = {0xa3, 0xa1, 0xa2};
    put_first_records(f, ids, 3);
    gw_store_close(&f->store);
    f->be->exec(f, "CREATE TABLE accounts_v21 (account BLOB PRIMARY KEY, feed TEXT NOT NULL, "
                   "last_sequence BLOB NOT NULL, last_cursor INTEGER NOT NULL, "
                   "beneficiary BLOB NOT NULL) WITHOUT ROWID;"
                   "INSERT INTO accounts_v21 SELECT account, feed, last_sequence, last_cursor, "
                   "beneficiary FROM accounts;"
                   "DROP TABLE accounts;"
                   "ALTER TABLE accounts_v21 RENAME TO accounts;");
    undo_batch_spans(f);
    f->be->set_version(f, 21);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM pragma_table_info('accounts') "
                                          "WHERE name = 'ordinal'"),
                     0);

    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    account_list l = {.n = 0};
    assert_int_equal(gw_store_load_accounts(&f->store, collect_account, &l, &err), CUSTOS_OK);
    assert_int_equal(l.n, 3);
    for (size_t i = 0; i < 3; i++) {
        /* Places follow the latest records: 0xa3 first. */
        assert_int_equal(l.a[i].account[0], ids[i]);
        assert_int_equal(l.a[i].last_cursor, i + 1);
        assert_int_equal(l.a[i].last_sequence, 1);
    }
    custos_record r;
    make_record(&r, 4, 0xa1, 2, 0);
    put_committed(&f->store, &r);
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, "SELECT ordinal FROM accounts WHERE last_cursor = 4"),
                     2);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM accounts"), 3);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
}

/* Account k of a book of new accounts: ids that differ in the bytes the map of ids hashes
 * and in those that choose a tip set. */
static void make_book_record(custos_record *r, uint64_t cursor, uint32_t k)
{
    make_record(r, cursor, 0xb0, 1, 0);
    memcpy(r->sub.att.account + 8, &k, sizeof k);
    memcpy(r->sub.att.account + 24, &k, sizeof k);
    memcpy(r->sub.att.account, &k, sizeof k);
    memcpy(r->digest + 2, &k, sizeof k);
}

/* SQLite (schema step 25): accounts carry no index, each found at its place from the map
 * of ids. 3,000 new accounts in one transaction (the map grows past its first table) that
 * rolls back leave no account behind, in the map or the table; stored again and committed,
 * each is found, after reopening too, and its next record links to its first. A table
 * edited by hand to hold an account twice is refused at open, saying so. */
static void test_accounts_found_by_place(void **state)
{
    fixture *f = *state;
    custos_error err;
    enum { N = 3000 };
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM pragma_index_list('accounts')"),
                     0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        for (uint32_t k = 0; k < N; k++) {
            custos_record r;
            make_book_record(&r, k + 1, k);
            if (gw_store_put_accepted(&f->store, &r, r.sub.att.beneficiary, &err) != CUSTOS_OK)
                fail_msg("round %d, account %u: %s", round, k, err.message);
            custos_submission_clear(&r.sub);
        }
        if (round == 0) {
            gw_store_rollback(&f->store);
            assert_int_equal(gw_sqids_count(((sq_store *)f->store.impl)->ids), 0);
        } else {
            assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
        }
    }
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM accounts"), N);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    assert_int_equal(gw_sqids_count(((sq_store *)f->store.impl)->ids), N);
    for (uint32_t k = 0; k < N; k += 7) {
        custos_record r, got;
        make_book_record(&r, k + 1, k);
        assert_int_equal(gw_store_get_latest(&f->store, r.sub.att.account, &got, &err),
                         CUSTOS_OK);
        assert_int_equal(got.cursor, k + 1);
        custos_record_clear(&got);
        custos_submission_clear(&r.sub);
    }
    custos_record next;
    make_book_record(&next, N + 1, 11);
    next.sub.att.sequence = 2;
    next.digest[1] = 2;
    put_committed(&f->store, &next);
    custos_submission_clear(&next.sub);
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, "SELECT prev_cursor FROM accepted WHERE cursor = 3001"),
                     12);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM accounts"), N);

    f->be->exec(f, "INSERT INTO accounts (account, feed, last_sequence, last_cursor, "
                   "beneficiary) SELECT account, feed, last_sequence, last_cursor, beneficiary "
                   "FROM accounts WHERE ordinal = 5");
    assert_int_equal(reopen(f, &err), CUSTOS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "two rows"));
    f->be->exec(f, "DELETE FROM accounts WHERE ordinal = (SELECT max(ordinal) FROM accounts)");
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
}

/* What the writer of test_map_shared_with_reader has done, for its reader thread. */
enum { SHARED_TXNS = 40, SHARED_PER_TXN = 60 };
typedef struct shared_run {
    gw_store *store;
    uint64_t base_cursor[SHARED_TXNS]; /* 0: the transaction rolls back */
    atomic_int done;                   /* transactions ended, committed or not */
    atomic_bool finished;
    atomic_int failures;
    atomic_long reads;
    char first_failure[256];
} shared_run;

static void shared_fail(shared_run *run, const char *msg, uint32_t k)
{
    if (atomic_fetch_add(&run->failures, 1) == 0)
        snprintf(run->first_failure, sizeof run->first_failure, "account %u: %.200s", k, msg);
}

/* Picks account j of transaction t, at random (x, xorshift) among the transactions ended
 * so far; false while none has. */
static bool shared_pick(shared_run *run, uint64_t *x, size_t *t, uint32_t *j)
{
    int done = atomic_load(&run->done);
    if (done == 0)
        return false;
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *t = (size_t)(*x % (uint64_t)done);
    *j = (uint32_t)((*x >> 32) % SHARED_PER_TXN);
    return true;
}

/* Reads accounts of the transactions ended so far while the writer goes on: a committed
 * one is found with its own id and cursor, a rolled-back one is not found. */
static void *shared_reader(void *arg)
{
    shared_run *run = arg;
    uint64_t x = 0x2545f4914f6cdd1dull;
    while (!atomic_load(&run->finished)) {
        size_t t;
        uint32_t j;
        if (!shared_pick(run, &x, &t, &j))
            continue;
        uint32_t k = (uint32_t)(t * SHARED_PER_TXN + j);
        custos_record want, got;
        make_book_record(&want, 1, k);
        custos_error err;
        custos_rc rc = gw_store_get_latest(run->store, want.sub.att.account, &got, &err);
        atomic_fetch_add(&run->reads, 1);
        if (run->base_cursor[t] == 0) {
            if (rc != CUSTOS_ERR_NOT_FOUND)
                shared_fail(run, "a rolled-back account was found", k);
        } else if (rc != CUSTOS_OK) {
            shared_fail(run, err.message, k);
        } else {
            if (memcmp(got.sub.att.account, want.sub.att.account, CUSTOS_HASH_LEN) != 0)
                shared_fail(run, "another account's record was read", k);
            if (got.cursor != run->base_cursor[t] + j)
                shared_fail(run, "the record has another cursor", k);
            custos_record_clear(&got);
        }
        custos_submission_clear(&want.sub);
    }
    return NULL;
}

/* Looks accounts of the transactions ended so far up in the map itself, as fast as it
 * can, while the writer grows it: a committed account is at its place, a rolled-back one
 * is absent. */
static void *shared_prober(void *arg)
{
    shared_run *run = arg;
    gw_sqids *ids = ((sq_store *)run->store->impl)->ids;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    while (!atomic_load(&run->finished)) {
        size_t t;
        uint32_t j;
        if (!shared_pick(run, &x, &t, &j))
            continue;
        uint32_t k = (uint32_t)(t * SHARED_PER_TXN + j);
        custos_record want;
        make_book_record(&want, 1, k);
        int64_t place = gw_sqids_find(ids, want.sub.att.account);
        int64_t expect = run->base_cursor[t] == 0 ? 0 : (int64_t)(run->base_cursor[t] + j);
        if (place != expect)
            shared_fail(run, "the map holds the account at another place", k);
        custos_submission_clear(&want.sub);
    }
    return NULL;
}

/* SQLite: the map of ids is shared by the writer and the reader's threads. While the
 * writer stores 40 transactions of 60 new accounts (every fourth rolled back, the map
 * growing twice), a reader thread reads accounts of the transactions already ended, and
 * another looks them up in the map itself: never another account's record or place, never
 * a rolled-back account. */
static void test_map_shared_with_reader(void **state)
{
    fixture *f = *state;
    custos_error err;
    shared_run *run = calloc(1, sizeof *run);
    assert_non_null(run);
    run->store = &f->store;
    uint64_t cursor = 1;
    for (int t = 0; t < SHARED_TXNS; t++) {
        run->base_cursor[t] = t % 4 == 3 ? 0 : cursor;
        if (t % 4 != 3)
            cursor += SHARED_PER_TXN;
    }
    pthread_t reader, prober;
    assert_int_equal(pthread_create(&reader, NULL, shared_reader, run), 0);
    assert_int_equal(pthread_create(&prober, NULL, shared_prober, run), 0);
    cursor = 1;
    for (int t = 0; t < SHARED_TXNS; t++) {
        assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
        for (uint32_t j = 0; j < SHARED_PER_TXN; j++) {
            custos_record r;
            make_book_record(&r, cursor + j, (uint32_t)(t * SHARED_PER_TXN) + j);
            if (gw_store_put_accepted(&f->store, &r, r.sub.att.beneficiary, &err) != CUSTOS_OK)
                fail_msg("transaction %d, account %u: %s", t, j, err.message);
            custos_submission_clear(&r.sub);
        }
        if (run->base_cursor[t] == 0) {
            gw_store_rollback(&f->store);
        } else {
            assert_int_equal(gw_store_commit(&f->store, &err), CUSTOS_OK);
            cursor += SHARED_PER_TXN;
        }
        atomic_store(&run->done, t + 1);
    }
    atomic_store(&run->finished, true);
    assert_int_equal(pthread_join(reader, NULL), 0);
    assert_int_equal(pthread_join(prober, NULL), 0);
    if (atomic_load(&run->failures) != 0)
        fail_msg("%d wrong reads of %ld: %s", atomic_load(&run->failures),
                 atomic_load(&run->reads), run->first_failure);
    assert_true(atomic_load(&run->reads) > 0);
    assert_int_equal(gw_sqids_count(((sq_store *)f->store.impl)->ids),
                     SHARED_TXNS / 4 * 3 * SHARED_PER_TXN);
    free(run);
}

/* Version 25 (SQLite): a store of version 24, its accounts under a unique index on the
 * id, loses the index; every account keeps its place and is found there. */
static void test_upgrade_drops_account_index(void **state)
{
    fixture *f = *state;
    custos_error err;
    static const uint8_t ids[3] = {0xc3, 0xc1, 0xc2};
    put_first_records(f, ids, 3);
    gw_store_close(&f->store);
    f->be->exec(f, "CREATE TABLE accounts_v24 (ordinal INTEGER PRIMARY KEY, "
                   "account BLOB NOT NULL UNIQUE, feed TEXT NOT NULL, "
                   "last_sequence BLOB NOT NULL, last_cursor INTEGER NOT NULL, "
                   "beneficiary BLOB NOT NULL);"
                   "INSERT INTO accounts_v24 SELECT * FROM accounts ORDER BY ordinal;"
                   "DROP TABLE accounts;"
                   "ALTER TABLE accounts_v24 RENAME TO accounts;");
    f->be->set_version(f, 24);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM pragma_index_list('accounts')"),
                     1);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM pragma_index_list('accounts')"),
                     0);
    assert_int_equal(f->be->query_long(f, "SELECT ordinal FROM accounts WHERE last_cursor = 2"),
                     2);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(latest_cursor(&f->store, ids[i]), i + 1);
    custos_record r;
    make_record(&r, 4, 0xc1, 2, 0);
    put_committed(&f->store, &r);
    custos_submission_clear(&r.sub);
    assert_int_equal(latest_cursor(&f->store, 0xc1), 4);
}

/* Version 23 (SQLite): the accepted log loses its (account, sequence) index and each record
 * is linked to its account's previous one; the links of a log from before follow each
 * account's records in cursor order, and records stored after link on. Below the latest
 * record's sequence nothing is stored (the single writer's guard). */
static void test_upgrade_links_accounts(void **state)
{
    fixture *f = *state;
    custos_error err;
    /* Cursors 1..6: a1 b1 a2 b2 a3 b3. */
    for (uint64_t i = 0; i < 6; i++) {
        custos_record r;
        make_record(&r, i + 1, i % 2 == 0 ? 0xa1 : 0xb1, i / 2 + 1, 0);
        put_committed(&f->store, &r);
        custos_submission_clear(&r.sub);
    }
    gw_store_close(&f->store);
    f->be->exec(f, "CREATE TABLE accepted_v22 (cursor INTEGER PRIMARY KEY, "
                   "digest BLOB NOT NULL, account BLOB NOT NULL, sequence BLOB NOT NULL, "
                   "accepted_at INTEGER NOT NULL, attestation BLOB NOT NULL, "
                   "signers BLOB NOT NULL, chain_hash BLOB, batch_digest BLOB, "
                   "UNIQUE (account, sequence));"
                   "INSERT INTO accepted_v22 SELECT cursor, digest, account, sequence, "
                   "accepted_at, attestation, signers, chain_hash, batch_digest FROM accepted;"
                   "DROP TABLE accepted;"
                   "ALTER TABLE accepted_v22 RENAME TO accepted;"
                   "CREATE INDEX accepted_by_batch ON accepted (batch_digest) "
                   "WHERE batch_digest IS NOT NULL;");
    undo_batch_spans(f);
    f->be->set_version(f, 22);

    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM pragma_index_list('accepted') "
                                          "AS l, pragma_index_info(l.name) AS i "
                                          "WHERE i.name = 'account'"),
                     0);
    assert_int_equal(f->be->query_long(f, "SELECT count(*) FROM accepted "
                                          "WHERE prev_cursor IS NULL"),
                     2);
    assert_int_equal(f->be->query_long(f, "SELECT prev_cursor FROM accepted WHERE cursor = 5"),
                     3);
    assert_int_equal(f->be->query_long(f, "SELECT prev_cursor FROM accepted WHERE cursor = 6"),
                     4);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);

    custos_record a1, a4, low;
    make_record(&a1, 1, 0xa1, 1, 0);
    uint64_t got = 0;
    uint32_t n_signers = 0;
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_find_accepted(&f->store, a1.sub.att.account, 1, a1.digest, &got,
                                            &n_signers, &err),
                     CUSTOS_OK);
    gw_store_rollback(&f->store);
    assert_int_equal(got, 1);
    make_record(&a4, 7, 0xa1, 4, 0);
    put_committed(&f->store, &a4);
    make_record(&low, 8, 0xa1, 4, 9);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_accepted(&f->store, &low, low.sub.att.beneficiary, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "not above the account's latest"));
    gw_store_rollback(&f->store);
    make_record(&low, 8, 0xa1, 2, 9);
    assert_int_equal(gw_store_begin(&f->store, &err), CUSTOS_OK);
    assert_int_equal(gw_store_put_accepted(&f->store, &low, low.sub.att.beneficiary, &err),
                     CUSTOS_ERR_INVALID);
    gw_store_rollback(&f->store);
    custos_u256 value;
    assert_int_equal(gw_store_latest_valuation(&f->store, a4.sub.att.account, &value, &err),
                     CUSTOS_OK);
    gw_store_close(&f->store);
    assert_int_equal(f->be->query_long(f, "SELECT prev_cursor FROM accepted WHERE cursor = 7"),
                     5);
    assert_int_equal(reopen(f, &err), CUSTOS_OK);
    custos_submission_clear(&a1.sub);
    custos_submission_clear(&a4.sub);
    custos_submission_clear(&low.sub);
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        CONTRACT_TESTS(BE_SQLITE),
        cmocka_unit_test_prestate_setup_teardown(test_wal_bounded, setup, teardown,
                                                 (void *)&BE_SQLITE),
        cmocka_unit_test_prestate_setup_teardown(test_upgrade_accounts_take_places, setup,
                                                 teardown, (void *)&BE_SQLITE),
        cmocka_unit_test_prestate_setup_teardown(test_upgrade_links_accounts, setup, teardown,
                                                 (void *)&BE_SQLITE),
        cmocka_unit_test_prestate_setup_teardown(test_tip_set_keeps_recent, setup, teardown,
                                                 (void *)&BE_SQLITE),
        cmocka_unit_test_prestate_setup_teardown(test_accounts_found_by_place, setup,
                                                 teardown, (void *)&BE_SQLITE),
        cmocka_unit_test_prestate_setup_teardown(test_upgrade_drops_account_index, setup,
                                                 teardown, (void *)&BE_SQLITE),
        cmocka_unit_test_prestate_setup_teardown(test_map_shared_with_reader, setup, teardown,
                                                 (void *)&BE_SQLITE),
    };
    const struct CMUnitTest pg_tests[] = {
        CONTRACT_TESTS(BE_PG),
        cmocka_unit_test(test_pg_unreachable_hides_password),
        cmocka_unit_test_prestate_setup_teardown(test_pg_reconnects, setup, teardown,
                                                 (void *)&BE_PG),
    };
    int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup,
                                          pg_group_teardown);
    return failed;
}
