/* What every part of the gateway that talks to SQLite (the store, the publisher state)
 * shares: one verdict on SQLite's result codes and one way to report a failed call, so
 * that a busy, locked or read-only database means "retry" to all of them alike. */
#ifndef GATEWAY_STORE_SQLITE_COMMON_H
#define GATEWAY_STORE_SQLITE_COMMON_H

#include <sqlite3.h>

#include "custos/error.h"

/* The code of a SQLite result (extended codes accepted): CUSTOS_ERR_UNAVAILABLE for what a
 * retry or an operator can fix (busy, locked, I/O error, disk full, cannot open, read-only,
 * WAL lock protocol), CUSTOS_ERR_NOMEM, CUSTOS_ERR_INTERNAL for anything else (the data or
 * the code is wrong). SQLITE_OK is CUSTOS_OK. */
CUSTOS_MUST_USE
custos_rc gw_sqlite_classify(int rc);

/* Sets err from a failed call on db (NULL: none open) as "who: what: message", naming the
 * result code when SQLite's message does not, and returns gw_sqlite_classify(rc). */
CUSTOS_MUST_USE
custos_rc gw_sqlite_fail(sqlite3 *db, int rc, const char *who, const char *what,
                         custos_error *err);

#endif
