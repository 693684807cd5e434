#include "pgserver.h"

#include <arpa/inet.h>
#include <glob.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "testutil.h"

#define PG_USER "custos"
#define PG_START_ATTEMPTS 3

/* The newest server installed (Debian: /usr/lib/postgresql/<major>/bin). */
static int pg_find_bin(tu_pg *pg)
{
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/postgres", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        globfree(&g);
        fprintf(stderr, "pgserver: no PostgreSQL server under /usr/lib/postgresql/*/bin "
                        "(scripts/setup installs the postgresql package)\n");
        return -1;
    }
    /* glob sorts; the last is the highest major version (same digit count on Debian). */
    const char *path = g.gl_pathv[g.gl_pathc - 1];
    int n = snprintf(pg->bin, sizeof pg->bin, "%.*s", (int)(strrchr(path, '/') - path), path);
    globfree(&g);
    return n > 0 && (size_t)n < sizeof pg->bin ? 0 : -1;
}

/* Runs a server tool, as the postgres user when we are root; prints its output on
 * failure. */
static int pg_tool(const tu_pg *pg, const char *tool, const char *const args[])
{
    const char *argv[24];
    size_t n = 0;
    char path[600];
    snprintf(path, sizeof path, "%s/%s", pg->bin, tool);
    if (geteuid() == 0) {
        argv[n++] = "/usr/sbin/runuser";
        argv[n++] = "-u";
        argv[n++] = "postgres";
        argv[n++] = "--";
    }
    argv[n++] = path;
    for (size_t i = 0; args[i] != NULL && n < sizeof argv / sizeof argv[0] - 1; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char out[8192];
    int status = tu_run(argv, out, sizeof out, 1);
    if (status != 0)
        fprintf(stderr, "pgserver: %s exited with %d:\n%s\n", tool, status, out);
    return status;
}

static void pg_dump_log(const tu_pg *pg)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/server.log", pg->dir);
    char *log = tu_read_file(path);
    fprintf(stderr, "pgserver: server.log:\n%s\n", log != NULL ? log : "(none)");
    free(log);
}

int tu_pg_start(tu_pg *pg)
{
    memset(pg, 0, sizeof *pg);
    if (pg_find_bin(pg) != 0)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(pg->dir, sizeof pg->dir, "%s/custos-pg-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(pg->dir) == NULL) {
        fprintf(stderr, "pgserver: cannot create a directory under %s\n", pg->dir);
        return -1;
    }
    if (geteuid() == 0) {
        /* postgres refuses to run as root: hand the directory to the package's user. */
        struct passwd *pw = getpwnam("postgres");
        if (pw == NULL || chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0) {
            fprintf(stderr, "pgserver: running as root and the \"postgres\" user (from the "
                            "postgresql package) is missing or cannot own %s\n", pg->dir);
            tu_rmtree(pg->dir);
            return -1;
        }
    }
    char data[1100], log[1100], opts[1400];
    snprintf(data, sizeof data, "%s/data", pg->dir);
    snprintf(log, sizeof log, "%s/server.log", pg->dir);
    const char *initdb[] = {"-D", data, "-U", PG_USER, "-A", "trust", "-E", "UTF8",
                            "--locale=C", "--no-sync", NULL};
    if (pg_tool(pg, "initdb", initdb) != 0) {
        tu_rmtree(pg->dir);
        return -1;
    }
    /* A port picked free can be taken before the server binds it: then try another. */
    for (int attempt = 0; attempt < PG_START_ATTEMPTS; attempt++) {
        pg->port = tu_free_port();
        snprintf(opts, sizeof opts, "-c listen_addresses=127.0.0.1 -p %d -k %s", pg->port,
                 pg->dir);
        const char *start[] = {"-D", data, "-l", log, "-w", "-t", "60", "-o", opts, "start",
                               NULL};
        if (pg->port > 0 && pg_tool(pg, "pg_ctl", start) == 0) {
            pg->running = 1;
            return 0;
        }
    }
    pg_dump_log(pg);
    tu_rmtree(pg->dir);
    return -1;
}

void tu_pg_halt(tu_pg *pg)
{
    if (!pg->running)
        return;
    char data[1100];
    snprintf(data, sizeof data, "%s/data", pg->dir);
    const char *stop[] = {"-D", data, "-m", "fast", "-w", "stop", NULL};
    if (pg_tool(pg, "pg_ctl", stop) != 0)
        pg_dump_log(pg);
    pg->running = 0;
}

void tu_pg_resume(tu_pg *pg)
{
    assert_false(pg->running);
    char data[1100], log[1100], opts[1400];
    snprintf(data, sizeof data, "%s/data", pg->dir);
    snprintf(log, sizeof log, "%s/server.log", pg->dir);
    snprintf(opts, sizeof opts, "-c listen_addresses=127.0.0.1 -p %d -k %s", pg->port, pg->dir);
    const char *start[] = {"-D", data, "-l", log, "-w", "-t", "60", "-o", opts, "start", NULL};
    if (pg_tool(pg, "pg_ctl", start) != 0) {
        pg_dump_log(pg);
        fail_msg("pgserver: the server did not start again on port %d", pg->port);
    }
    pg->running = 1;
}

void tu_pg_stop(tu_pg *pg)
{
    tu_pg_halt(pg);
    if (pg->dir[0] != '\0')
        tu_rmtree(pg->dir);
    pg->dir[0] = '\0';
}

void tu_pg_exec(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    assert_non_null(c);
    if (PQstatus(c) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c));
        PQfinish(c);
        fail_msg("pgserver: cannot connect to %s: %s", uri, msg);
    }
    PGresult *res = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(res);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
    PQclear(res);
    PQfinish(c);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("pgserver: %s: %s", sql, msg);
}

void tu_pg_new_db(tu_pg *pg, char *uri, size_t cap)
{
    assert_true(pg->running);
    char admin[128], sql[64];
    snprintf(admin, sizeof admin, "postgresql://" PG_USER "@127.0.0.1:%d/postgres", pg->port);
    int id = ++pg->n_dbs;
    snprintf(sql, sizeof sql, "CREATE DATABASE custos_%d", id);
    tu_pg_exec(admin, sql);
    int n = snprintf(uri, cap, "postgresql://" PG_USER "@127.0.0.1:%d/custos_%d", pg->port, id);
    assert_true(n > 0 && (size_t)n < cap);
}
