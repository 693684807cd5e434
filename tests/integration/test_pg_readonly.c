/* A PostgreSQL database that refuses writes the way a hot standby does (SQLSTATE 25006,
 * read_only_sql_transaction): a server started by this test on loopback, the database set
 * `default_transaction_read_only = on`, and the sessions of the store and of the publisher
 * state forced to reconnect into it. Both must say "retry" (CUSTOS_ERR_UNAVAILABLE) for
 * the refused write, alike, write nothing, and succeed with the same handles once the
 * database takes writes again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "pgserver.h"
#include "store/pubstate.h"
#include "store/store.h"

/* Calls before the reconnected session answers: the first may still meet the old one. */
#define ATTEMPTS 3

static tu_pg PG;
static char URI[256];
static char ADMIN_URI[256];
static const char *DB; /* the database's name, inside URI */

/* One number from a query on the admin database. */
static long admin_count(const char *sql)
{
    PGconn *c = PQconnectdb(ADMIN_URI);
    assert_non_null(c);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    long n = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return n;
}

static long count_rows(const char *table)
{
    PGconn *c = PQconnectdb(URI);
    assert_non_null(c);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    PGresult *res = PQexec(c, sql);
    long n = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return n;
}

/* Ends every session on the test database and waits until they are gone, so that the
 * gateway's next call reconnects and starts a session with the database's defaults. */
static void end_sessions(void)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE datname = '%s'", DB);
    assert_true(admin_count(sql) >= 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'", DB);
    for (int i = 0; i < 500 && admin_count(sql) != 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    assert_int_equal(admin_count(sql), 0);
}

static void set_read_only(bool on)
{
    char sql[160];
    snprintf(sql, sizeof sql, "ALTER DATABASE %s %s", DB,
             on ? "SET default_transaction_read_only = on"
                : "RESET default_transaction_read_only");
    tu_pg_exec(ADMIN_URI, sql);
    end_sessions();
}

/* One write group through the store's write side: an audit entry. */
static custos_rc store_write(gw_store *s, custos_error *err)
{
    static uint8_t payload[] = "readonly test";
    custos_audit_entry e;
    memset(&e, 0, sizeof e);
    e.seq = 1;
    e.time = 1700000000;
    snprintf(e.actor, sizeof e.actor, "test");
    snprintf(e.action, sizeof e.action, "probe");
    e.payload = payload;
    e.payload_len = sizeof payload - 1;
    custos_rc rc = gw_store_begin(s, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = gw_store_append_audit(s, &e, err);
    if (rc == CUSTOS_OK)
        return gw_store_commit(s, err);
    gw_store_rollback(s);
    return rc;
}

static custos_rc pubstate_write(gw_pubstate *ps, uint64_t cursor, custos_error *err)
{
    gw_pub_row row;
    memset(&row, 0, sizeof row);
    row.cursor = cursor;
    memset(row.account, 0xac, sizeof row.account);
    row.sequence = cursor;
    row.fate = GW_PUB_SKIPPED;
    snprintf(row.detail, sizeof row.detail, "readonly test");
    return gw_pubstate_put(ps, &row, err);
}

typedef custos_rc (*write_fn)(void *ctx, custos_error *err);

static custos_rc call_store(void *ctx, custos_error *err)
{
    return store_write(ctx, err);
}

static custos_rc call_pubstate(void *ctx, custos_error *err)
{
    return pubstate_write(ctx, 2, err);
}

/* Every attempt is refused as retryable, and within ATTEMPTS the refusal is the server's
 * read-only one (not only the lost session): the write reached the new session. */
static void assert_read_only_retryable(const char *who, write_fn fn, void *ctx)
{
    bool read_only = false;
    for (int i = 0; i < ATTEMPTS && !read_only; i++) {
        custos_error err;
        custos_error_clear(&err);
        custos_rc rc = fn(ctx, &err);
        if (rc != CUSTOS_ERR_UNAVAILABLE)
            fail_msg("%s, attempt %d: got %s (%s), want UNAVAILABLE", who, i + 1,
                     custos_rc_name(rc), err.message);
        read_only = strstr(err.message, "SQLSTATE 25006") != NULL;
    }
    if (!read_only)
        fail_msg("%s: no attempt reached the read-only session", who);
}

/* After the database takes writes again, the same handles write within ATTEMPTS. */
static void assert_recovers(const char *who, write_fn fn, void *ctx)
{
    custos_rc rc = CUSTOS_ERR_UNAVAILABLE;
    custos_error err;
    custos_error_clear(&err);
    for (int i = 0; i < ATTEMPTS && rc == CUSTOS_ERR_UNAVAILABLE; i++)
        rc = fn(ctx, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s after the database took writes again: %s (%s)", who,
                 custos_rc_name(rc), err.message);
}

static void test_read_only_is_retryable_alike(void **state)
{
    (void)state;
    custos_error err;
    custos_error_clear(&err);
    gw_store store;
    gw_pubstate *ps = NULL;
    /* The store creates the tables, the publisher state's included. */
    if (gw_store_open_pg(URI, &store, &err) != CUSTOS_OK)
        fail_msg("gw_store_open_pg: %s", err.message);
    if (gw_pubstate_open_pg(URI, &ps, &err) != CUSTOS_OK)
        fail_msg("gw_pubstate_open_pg: %s", err.message);
    if (pubstate_write(ps, 1, &err) != CUSTOS_OK)
        fail_msg("a write before the database went read-only: %s", err.message);

    set_read_only(true);
    assert_read_only_retryable("the store", call_store, &store);
    assert_read_only_retryable("the publisher state", call_pubstate, ps);

    /* A gateway starting against the read-only database is told to retry too (its schema
     * step is a write). */
    gw_store other;
    custos_rc rc = gw_store_open_pg(URI, &other, &err);
    if (rc == CUSTOS_OK)
        gw_store_close(&other);
    assert_int_equal(rc, CUSTOS_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "SQLSTATE 25006"));

    /* Nothing was half-written. */
    set_read_only(false);
    assert_int_equal(count_rows("audit"), 0);
    assert_int_equal(count_rows("publisher_fates"), 1);

    assert_recovers("the store", call_store, &store);
    assert_recovers("the publisher state", call_pubstate, ps);
    assert_int_equal(count_rows("audit"), 1);
    assert_int_equal(count_rows("publisher_fates"), 2);

    gw_pubstate_close(ps);
    gw_store_close(&store);
}

static int group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_pg_readonly: the PostgreSQL server did not start (reason above)\n");
        return -1;
    }
    tu_pg_new_db(&PG, URI, sizeof URI);
    DB = strrchr(URI, '/') + 1;
    snprintf(ADMIN_URI, sizeof ADMIN_URI, "%.*s/postgres", (int)(DB - 1 - URI), URI);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_pg_stop(&PG);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_only_is_retryable_alike),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
