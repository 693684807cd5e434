/* PostgreSQL errors classified once for the gateway, and its connections (pg_common.h). */
#include "store/pg_common.h"

#include <limits.h>
#include <string.h>

#include "log.h"

custos_rc gw_pg_classify(bool connected, const char *sqlstate)
{
    static const char *const retry_classes[] = {"08", "40", "53", "55", "57", "58"};
    if (!connected || sqlstate == NULL)
        return CUSTOS_ERR_UNAVAILABLE;
    if (strcmp(sqlstate, "25006") == 0)
        return CUSTOS_ERR_UNAVAILABLE;
    for (size_t i = 0; i < sizeof retry_classes / sizeof retry_classes[0]; i++)
        if (strncmp(sqlstate, retry_classes[i], 2) == 0)
            return CUSTOS_ERR_UNAVAILABLE;
    return CUSTOS_ERR_INTERNAL;
}

int gw_pg_msg_len(const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        n--;
    return n > INT_MAX ? INT_MAX : (int)n;
}

custos_rc gw_pg_fail(PGconn *conn, const PGresult *res, const char *who, const char *what,
                     custos_error *err)
{
    /* The statement ran but answered another kind of result than the caller wanted (rows
     * where a command was expected): a fault of the statement, not of the connection. */
    ExecStatusType status = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "%s: %s: unexpected result %s", who,
                                what, PQresStatus(status));
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (msg == NULL)
        msg = PQerrorMessage(conn);
    if (msg[0] == '\0')
        msg = "no result from the server";
    custos_rc code = gw_pg_classify(PQstatus(conn) == CONNECTION_OK, state);
    /* Without an SQLSTATE the text is libpq's own, which may name the server: the log
     * keeps it, the message (which can reach a client) does not. */
    if (state == NULL)
        return gw_pg_unreachable(conn, who, what, err);
    return custos_error_set(err, code, "%s: %s: %.*s (SQLSTATE %s)", who, what,
                            gw_pg_msg_len(msg), msg, state);
}

custos_rc gw_pg_unreachable(PGconn *conn, const char *who, const char *what,
                            custos_error *err)
{
    /* libpq's messages name the host and port, never the password. */
    const char *msg = PQerrorMessage(conn);
    gw_log(GW_LOG_WARN, "store_unreachable", "%s: %s: %.*s", who, what, gw_pg_msg_len(msg),
           msg);
    return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                            "%s: %s: PostgreSQL cannot be reached (details in the gateway's log)",
                            who, what);
}

bool gw_pg_unique_violation(const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return state != NULL && strcmp(state, "23505") == 0;
}

custos_rc gw_pg_connect(const char *conninfo, const char *application_name,
                        const char *timeout_s, const char *who, PGconn **out,
                        custos_error *err)
{
    *out = NULL;
    /* Defaults first: whatever the connection string sets overrides them. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const values[] = {timeout_s, application_name, conninfo, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory connecting", who);
    if (PQstatus(conn) != CONNECTION_OK) {
        custos_rc rc = gw_pg_unreachable(conn, who, "connect", err);
        PQfinish(conn);
        return rc;
    }
    *out = conn;
    return CUSTOS_OK;
}
