/* What every part of the gateway that talks to PostgreSQL (the store, the publisher state,
 * the publisher election) shares: one verdict on the server's errors, so that a standby
 * in recovery or a lost connection means "retry" to all of them alike, one way to report
 * them, and one way to connect. */
#ifndef GATEWAY_STORE_PG_COMMON_H
#define GATEWAY_STORE_PG_COMMON_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "custos/error.h"

/* Type OIDs of binary parameters, for the store and the publisher state (fixed in
 * PostgreSQL's catalog; the server header that names them is not part of libpq). */
#define PG_BYTEA 17
#define PG_INT8 20
#define PG_INT4 23
#define PG_TEXT 25

/* The code of an error with SQLSTATE `sqlstate` (NULL: none came, as when the connection
 * was lost) on a connection that is still `connected` or not. CUSTOS_ERR_UNAVAILABLE when
 * a retry or an operator can fix it: not connected, no SQLSTATE, classes 08 (connection),
 * 40 (rollback, such as a serialization failure), 53 (insufficient resources), 55 (object
 * not in prerequisite state), 57 (operator intervention, such as a shutdown), 58 (system
 * error), and 25006 (read-only transaction: a standby, or a database set read-only).
 * CUSTOS_ERR_INTERNAL otherwise, a constraint violation included: the data or the code is
 * wrong. */
CUSTOS_MUST_USE
custos_rc gw_pg_classify(bool connected, const char *sqlstate);

/* Sets err from a failed command (res may be NULL) as "who: what: message (SQLSTATE x)"
 * and returns gw_pg_classify's code; without an SQLSTATE, as gw_pg_unreachable. */
CUSTOS_MUST_USE
custos_rc gw_pg_fail(PGconn *conn, const PGresult *res, const char *who, const char *what,
                     custos_error *err);

/* A connection that cannot reach the server (a failed connect or reset, or a command that
 * got no answer): logs libpq's message, which names the server's host and port, and sets
 * err to "who: what: PostgreSQL cannot be reached" without them, since err can reach a
 * client (docs/operations.md §13). CUSTOS_ERR_UNAVAILABLE. */
CUSTOS_MUST_USE
custos_rc gw_pg_unreachable(PGconn *conn, const char *who, const char *what,
                            custos_error *err);

/* Whether res failed on a unique constraint (SQLSTATE 23505). */
bool gw_pg_unique_violation(const PGresult *res);

/* The length of a libpq message without its trailing newlines and spaces. */
int gw_pg_msg_len(const char *msg);

/* Connects with conninfo (a postgresql:// URI or key=value pairs; libpq's environment
 * variables such as PGPASSWORD fill the rest), defaulting connect_timeout to timeout_s
 * and naming the session application_name; whatever conninfo sets wins. An unreachable
 * server is CUSTOS_ERR_UNAVAILABLE (gw_pg_unreachable: the address only in the log); *out is
 * set only on success and the caller ends it with PQfinish. */
CUSTOS_MUST_USE
custos_rc gw_pg_connect(const char *conninfo, const char *application_name,
                        const char *timeout_s, const char *who, PGconn **out,
                        custos_error *err);

#endif
