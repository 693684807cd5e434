/* The two database error classifiers every part of the gateway shares (store, publisher
 * state, election): SQLite result codes, extended ones included, and PostgreSQL SQLSTATEs,
 * each with the code it must map to. UNAVAILABLE means "retry": a client is told to try
 * again and nothing was recorded; INTERNAL means the data or the code is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/pg_common.h"
#include "store/sqlite_common.h"

typedef struct sqlite_case {
    const char *name;
    int rc;
    custos_rc want;
} sqlite_case;

#define SQ(code, want) {#code, code, want}

static const sqlite_case sqlite_cases[] = {
    SQ(SQLITE_OK, CUSTOS_OK),
    /* Another connection holds the database: retry. */
    SQ(SQLITE_BUSY, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_BUSY_SNAPSHOT, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_BUSY_RECOVERY, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_LOCKED, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_LOCKED_SHAREDCACHE, CUSTOS_ERR_UNAVAILABLE),
    /* The disk: an operator frees space or repairs it. */
    SQ(SQLITE_IOERR, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_IOERR_WRITE, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_IOERR_FSYNC, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_IOERR_SHORT_READ, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_FULL, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_CANTOPEN, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_CANTOPEN_ISDIR, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_READONLY, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_READONLY_DBMOVED, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_READONLY_RECOVERY, CUSTOS_ERR_UNAVAILABLE),
    /* The WAL lock protocol failed: SQLite itself says to retry. */
    SQ(SQLITE_PROTOCOL, CUSTOS_ERR_UNAVAILABLE),
    SQ(SQLITE_NOMEM, CUSTOS_ERR_NOMEM),
    /* The data or the code is wrong: a retry would fail the same way. */
    SQ(SQLITE_CONSTRAINT, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_CONSTRAINT_UNIQUE, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_CONSTRAINT_PRIMARYKEY, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_CORRUPT, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_NOTADB, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_MISUSE, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_RANGE, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_ERROR, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_SCHEMA, CUSTOS_ERR_INTERNAL),
    SQ(SQLITE_MISMATCH, CUSTOS_ERR_INTERNAL),
};

static void test_sqlite_codes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sqlite_cases / sizeof sqlite_cases[0]; i++) {
        const sqlite_case *c = &sqlite_cases[i];
        custos_rc got = gw_sqlite_classify(c->rc);
        if (got != c->want)
            fail_msg("%s (%d): got %s, want %s", c->name, c->rc, custos_rc_name(got),
                     custos_rc_name(c->want));
    }
}

/* The report names who failed, what it was doing and SQLite's own words, and carries the
 * classified code; a failure reported as SQLITE_OK still fails. */
static void test_sqlite_report(void **state)
{
    (void)state;
    custos_error err;
    custos_error_clear(&err);
    assert_int_equal(gw_sqlite_fail(NULL, SQLITE_BUSY, "store", "commit", &err),
                     CUSTOS_ERR_UNAVAILABLE);
    assert_int_equal(err.code, CUSTOS_ERR_UNAVAILABLE);
    assert_string_equal(err.message, "store: commit: database is locked");

    assert_int_equal(gw_sqlite_fail(NULL, SQLITE_CONSTRAINT_UNIQUE, "publisher state",
                                    "store fate", &err),
                     CUSTOS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "publisher state: store fate: "));

    assert_int_equal(gw_sqlite_fail(NULL, SQLITE_OK, "store", "step", &err),
                     CUSTOS_ERR_INTERNAL);
}

typedef struct pg_case {
    bool connected;
    const char *sqlstate; /* NULL: the server sent none */
    custos_rc want;
    const char *why;
} pg_case;

static const pg_case pg_cases[] = {
    /* The connection is gone, or the error never reached us: retry after reconnecting. */
    {false, NULL, CUSTOS_ERR_UNAVAILABLE, "connection lost"},
    {false, "23505", CUSTOS_ERR_UNAVAILABLE, "connection lost after an error"},
    {true, NULL, CUSTOS_ERR_UNAVAILABLE, "no SQLSTATE"},
    {true, "08000", CUSTOS_ERR_UNAVAILABLE, "connection_exception"},
    {true, "08006", CUSTOS_ERR_UNAVAILABLE, "connection_failure"},
    {true, "40001", CUSTOS_ERR_UNAVAILABLE, "serialization_failure"},
    {true, "40P01", CUSTOS_ERR_UNAVAILABLE, "deadlock_detected"},
    {true, "53100", CUSTOS_ERR_UNAVAILABLE, "disk_full"},
    {true, "53300", CUSTOS_ERR_UNAVAILABLE, "too_many_connections"},
    {true, "55P03", CUSTOS_ERR_UNAVAILABLE, "lock_not_available"},
    {true, "55000", CUSTOS_ERR_UNAVAILABLE, "object_not_in_prerequisite_state (recovery)"},
    {true, "57P01", CUSTOS_ERR_UNAVAILABLE, "admin_shutdown"},
    {true, "57P03", CUSTOS_ERR_UNAVAILABLE, "cannot_connect_now (starting up)"},
    {true, "57014", CUSTOS_ERR_UNAVAILABLE, "query_canceled"},
    {true, "58030", CUSTOS_ERR_UNAVAILABLE, "io_error"},
    {true, "25006", CUSTOS_ERR_UNAVAILABLE, "read_only_sql_transaction (standby)"},
    /* The rest of class 25 and everything else: the data or the code is wrong. */
    {true, "25001", CUSTOS_ERR_INTERNAL, "active_sql_transaction"},
    {true, "25P02", CUSTOS_ERR_INTERNAL, "in_failed_sql_transaction"},
    {true, "23505", CUSTOS_ERR_INTERNAL, "unique_violation"},
    {true, "23503", CUSTOS_ERR_INTERNAL, "foreign_key_violation"},
    {true, "22003", CUSTOS_ERR_INTERNAL, "numeric_value_out_of_range"},
    {true, "42P01", CUSTOS_ERR_INTERNAL, "undefined_table"},
    {true, "42501", CUSTOS_ERR_INTERNAL, "insufficient_privilege"},
    {true, "XX000", CUSTOS_ERR_INTERNAL, "internal_error"},
    {true, "5", CUSTOS_ERR_INTERNAL, "not a SQLSTATE"},
};

static void test_pg_sqlstates(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof pg_cases / sizeof pg_cases[0]; i++) {
        const pg_case *c = &pg_cases[i];
        custos_rc got = gw_pg_classify(c->connected, c->sqlstate);
        if (got != c->want)
            fail_msg("%s (%s, %s): got %s, want %s", c->why,
                     c->sqlstate != NULL ? c->sqlstate : "none",
                     c->connected ? "connected" : "not connected", custos_rc_name(got),
                     custos_rc_name(c->want));
    }
}

/* Without a connection (conn NULL: PQstatus says CONNECTION_BAD) and without a result the
 * report is "retry", with libpq's words. */
static void test_pg_report_without_server(void **state)
{
    (void)state;
    custos_error err;
    custos_error_clear(&err);
    assert_int_equal(gw_pg_fail(NULL, NULL, "publisher state", "begin", &err),
                     CUSTOS_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "publisher state: begin: "));
    assert_false(gw_pg_unique_violation(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_codes),
        cmocka_unit_test(test_sqlite_report),
        cmocka_unit_test(test_pg_sqlstates),
        cmocka_unit_test(test_pg_report_without_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
