/* SQLite's result codes classified once for the gateway (sqlite_common.h). */
#include "store/sqlite_common.h"

#include <string.h>

custos_rc gw_sqlite_classify(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
        return CUSTOS_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
        return CUSTOS_ERR_UNAVAILABLE;
    case SQLITE_NOMEM:
        return CUSTOS_ERR_NOMEM;
    default:
        return CUSTOS_ERR_INTERNAL;
    }
}

custos_rc gw_sqlite_fail(sqlite3 *db, int rc, const char *who, const char *what,
                         custos_error *err)
{
    custos_rc code = gw_sqlite_classify(rc);
    /* A failure reported with SQLITE_OK would read as success. */
    if (code == CUSTOS_OK)
        code = CUSTOS_ERR_INTERNAL;
    const char *msg = db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (strcmp(msg, sqlite3_errstr(rc)) == 0)
        return custos_error_set(err, code, "%s: %s: %s", who, what, msg);
    return custos_error_set(err, code, "%s: %s: %s (%s)", who, what, msg, sqlite3_errstr(rc));
}
