/* Publisher election over a PostgreSQL advisory lock (election.h).
 *
 * One thread (the publisher's) uses a handle. The session is separate from the store's:
 * the store's writer resets its connection after errors, which would drop the lock at
 * moments nobody chose. */
#include "evm/election.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/pg_common.h"

/* Key of the session-level lock held by the publishing replica (the store's own locks use
 * 7165041188211363840 and ...841). */
#define EL_LOCK_KEY "7165041188211363842"
#define EL_CONNECT_TIMEOUT_S "5"

struct gw_election {
    char *conninfo;
    PGconn *conn;
    bool held;
};

custos_rc gw_election_new(const char *conninfo, gw_election **out, custos_error *err)
{
    *out = NULL;
    gw_election *e = calloc(1, sizeof *e);
    if (e == NULL || (e->conninfo = strdup(conninfo)) == NULL) {
        free(e);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "election: out of memory");
    }
    *out = e;
    return CUSTOS_OK;
}

static void el_drop(gw_election *e)
{
    PQfinish(e->conn);
    e->conn = NULL;
    e->held = false;
}

void gw_election_free(gw_election *e)
{
    if (e == NULL)
        return;
    el_drop(e);
    free(e->conninfo);
    free(e);
}

/* One single-value query; *value gets its first character ('t', 'f', '1'...). */
static custos_rc el_query(gw_election *e, const char *sql, char *value, custos_error *err)
{
    PGresult *res = PQexec(e->conn, sql);
    custos_rc rc = CUSTOS_OK;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = gw_pg_fail(e->conn, res, "election", "the publisher lock", err);
    else if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "election: the server answered no value");
    else
        *value = PQgetvalue(res, 0, 0)[0];
    PQclear(res);
    return rc;
}

bool gw_election_check(gw_election *e, custos_error *err)
{
    if (e->conn != NULL && PQstatus(e->conn) != CONNECTION_OK)
        el_drop(e);
    if (e->conn == NULL && gw_pg_connect(e->conninfo, "custos-gateway-election",
                                         EL_CONNECT_TIMEOUT_S, "election", &e->conn,
                                         err) != CUSTOS_OK)
        return false;
    char v = 0;
    /* A held lock needs only proof that its session still exists. */
    const char *sql = e->held ? "SELECT 1" : "SELECT pg_try_advisory_lock(" EL_LOCK_KEY ")";
    custos_rc rc = el_query(e, sql, &v, err);
    if (rc != CUSTOS_OK) {
        el_drop(e);
        return false;
    }
    if (!e->held)
        e->held = v == 't';
    return e->held;
}
