/* A throwaway PostgreSQL server for tests: initdb into a temporary directory, postgres
 * listening on 127.0.0.1 only, on a free port, trust authentication, stopped (pg_ctl stop
 * -m fast) and removed by tu_pg_stop. Running as root, the server runs as the "postgres"
 * user the Debian package creates (postgres refuses root). Every helper fails the test,
 * with the reason, when the server cannot be had. */
#ifndef CUSTOS_PGSERVER_H
#define CUSTOS_PGSERVER_H

#include <stddef.h>

typedef struct tu_pg {
    char dir[1024];   /* the temporary directory: data/, the socket, server.log */
    char bin[512];    /* the server's bin directory, e.g. /usr/lib/postgresql/15/bin */
    int port;
    int n_dbs;        /* databases made by tu_pg_new_db */
    int running;
} tu_pg;

/* Returns 0 and a running server, or -1 after printing why it could not start. */
int tu_pg_start(tu_pg *pg);
/* Stops the server and removes its directory; safe on a server that did not start. */
void tu_pg_stop(tu_pg *pg);
/* Stops the server (pg_ctl stop -m fast), keeping its data and port, as an outage does. */
void tu_pg_halt(tu_pg *pg);
/* Starts a halted server again on the same port and data; fails the test unless it does. */
void tu_pg_resume(tu_pg *pg);
/* Creates a fresh, empty database and writes its postgresql:// URI into uri. */
void tu_pg_new_db(tu_pg *pg, char *uri, size_t cap);
/* Runs one SQL statement on the database of uri (test set-up, sabotage); fails the test
 * unless it succeeds. */
void tu_pg_exec(const char *uri, const char *sql);

#endif
