/* custos-gateway: verifies, stores and publishes collateral attestations over gRPC. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "config/config.h"
#include "custos/version.h"
#include "engine/engine.h"
#include "evm/drift.h"
#include "evm/publisher.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "preflight.h"
#include "rpc/server.h"

/* How long in-flight calls may take to finish after SIGTERM before they are cancelled. */
#define DRAIN_MS 5000

static void usage(FILE *out)
{
    fprintf(out, "usage: custos-gateway --config FILE [--port-file FILE] [--check-config]\n"
                 "                      [--log-level debug|info|warn|error]\n"
                 "       custos-gateway --version | --help\n");
}

static int parse_level(const char *s, gw_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (gw_log_level)i;
            return 0;
        }
    return -1;
}

/* One malloc arena per core unless MALLOC_ARENA_MAX says otherwise. glibc's default is up
 * to eight per core, handed out as gRPC's pollers, the verifiers and the committer contend;
 * each keeps its own high-water mark, so resident memory stepped up whenever load first
 * pushed a thread onto a new arena (6 MiB in one soak). At most one thread per core runs
 * at a time, so more arenas than cores buy little; throughput is the same either way in
 * bench/run. A libc that refuses the option keeps its default, which is only more memory. */
static void bound_malloc_arenas(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (getenv("MALLOC_ARENA_MAX") == NULL && cores > 0)
        (void)mallopt(M_ARENA_MAX, cores > INT_MAX ? INT_MAX : (int)cores);
}

/* Writes the port next to path under a temporary name, then renames it into place, so a
 * reader never sees a partial file. */
static int write_port_file(const char *path, int port)
{
    char tmp[4200];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        fprintf(stderr, "custos-gateway: port file path too long: %s\n", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "custos-gateway: cannot create %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    int ok = fprintf(f, "%d\n", port) > 0;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "custos-gateway: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Everything a running gateway holds; gateway_close releases whatever was started. */
typedef struct gateway {
    gw_config cfg;
    gw_engine *engine;
    gw_admin *admin;
    gw_server *server;
    gw_publisher *publisher;
    gw_drift *drift;
    gw_metrics_http *metrics;
    int drain_ms;   /* how long in-flight calls may finish: 0 unless it served */
} gateway;

/* Starts the parts in order, each on what the previous ones provide, and writes the port
 * files; prints why and returns -1 when one fails (the rest is left to gateway_close). */
static int gateway_start(gateway *g, const char *port_file)
{
    custos_error err;
    custos_error_clear(&err);
    /* What --check-config checks, in the same words, before anything is created. */
    if (gw_preflight(&g->cfg, &err) != CUSTOS_OK)
        goto fail;
    /* Before the engine: it counts from its first submission. */
    if (g->cfg.metrics.enabled && gw_metrics_init(&g->cfg, &err) != CUSTOS_OK)
        goto fail;
    if (gw_engine_new(&g->cfg, &g->engine, &err) != CUSTOS_OK)
        goto fail;
    /* Before serving: the allow-list in force includes the stored admin changes. */
    if (gw_admin_new(&g->cfg, g->engine, &g->admin, &err) != CUSTOS_OK)
        goto fail;
    /* The registry's snapshot and the admin's copy of the file's list hold the
     * registrations now: a third copy would cost about 100 bytes per registered account.
     * Nothing else reads the list. */
    gw_config_drop_accounts(&g->cfg);
    if (gw_server_new(&g->cfg, g->engine, g->admin, &g->server, &err) != CUSTOS_OK)
        goto fail;
    /* The publisher only reads the accepted log: it never holds up Submit. */
    if (g->cfg.evm.enabled &&
        gw_publisher_new(&g->cfg, g->engine, &g->publisher, &err) != CUSTOS_OK)
        goto fail;
    /* Rule 10: the two allow-lists are configured apart; this says when they differ. */
    if (g->cfg.evm.enabled && g->cfg.evm.drift_check_seconds > 0 &&
        gw_drift_new(&g->cfg.evm, gw_engine_registry(g->engine), &g->drift, &err) != CUSTOS_OK)
        goto fail;
    int metrics_port = 0;
    if (g->cfg.metrics.enabled) {
        if (gw_metrics_http_new(&g->cfg, g->engine, g->publisher, &g->metrics, &err) !=
            CUSTOS_OK)
            goto fail;
        gw_metrics_http_set_drift(g->metrics, g->drift);
        metrics_port = gw_metrics_http_port(g->metrics);
    }
    int port = gw_server_port(g->server);
    /* The gRPC port file last: tests and supervisors take it as "everything is up". */
    if ((g->cfg.metrics.port_file[0] != '\0' &&
         write_port_file(g->cfg.metrics.port_file, metrics_port) != 0) ||
        (port_file != NULL && write_port_file(port_file, port) != 0))
        return -1;
    gw_log(GW_LOG_INFO, "start", "listening on %s, port %d, store %s", g->cfg.listen, port,
           g->cfg.store_path);
    if (g->metrics != NULL)
        gw_log(GW_LOG_INFO, "metrics",
               "serving /metrics, /livez, /readyz, /publisherz and /status on %s, port %d",
               g->cfg.metrics.listen, metrics_port);
    return 0;
fail:
    fprintf(stderr, "custos-gateway: %s\n", err.message);
    return -1;
}

/* The one way out, whether the gateway served or failed to start: each part stops while
 * what it uses is still there. */
static void gateway_close(gateway *g)
{
    /* First, while the engine and the publisher it reads are still there. */
    gw_metrics_http_free(g->metrics);
    gw_drift_free(g->drift);
    gw_server_shutdown(g->server, g->drain_ms);
    if (g->publisher != NULL) {
        gw_pub_status st;
        gw_publisher_status(g->publisher, &st);
        gw_log(GW_LOG_INFO, "publisher.stop",
               "cursor %" PRIu64 ", last published %" PRIu64 ", %zu pending, nonce %" PRIu64
               ", %" PRIu64 " published, %" PRIu64 " skipped, %" PRIu64 " failed, %" PRIu64
               " node errors", st.cursor, st.last_published_cursor, st.pending, st.nonce,
               st.published, st.skipped, st.failed, st.node_errors);
        /* Before the engine: the publisher reads the log through it. */
        gw_publisher_free(g->publisher);
    }
    gw_admin_free(g->admin);
    /* The engine goes first: freeing it joins the committer, so no commit notification
     * can still be on its way to the server. */
    gw_engine_free(g->engine);
    gw_server_free(g->server);
    gw_metrics_shutdown();
    gw_config_clear(&g->cfg);
}

/* Serves until SIGTERM or SIGINT, reloading on SIGHUP; 0 after a clean stop. */
static int gateway_serve(gateway *g, const char *config_path, const char *port_file)
{
    if (port_file == NULL && g->cfg.port_file[0] != '\0')
        port_file = g->cfg.port_file;
    /* Every thread created from here on inherits the mask: only sigwait below sees them,
     * SIGHUP included (reload). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    signal(SIGPIPE, SIG_IGN);
    if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
        fprintf(stderr, "custos-gateway: cannot block signals\n");
        return 1;
    }
    if (gateway_start(g, port_file) != 0)
        return 1;
    int sig = 0;
    while (sigwait(&stop, &sig) != 0 || sig == SIGHUP) {
        if (sig == SIGHUP)
            gw_admin_reload(g->admin, config_path);
        sig = 0;
    }
    gw_log(GW_LOG_INFO, "stop", "%s: draining in-flight calls", strsignal(sig));
    g->drain_ms = DRAIN_MS;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"port-file", required_argument, NULL, 'p'},
        {"check-config", no_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    bound_malloc_arenas();
    const char *config_path = NULL, *port_file = NULL;
    int check_only = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:p:kl:hV", opts, NULL)) != -1) {
        gw_log_level level;
        switch (ch) {
        case 'c': config_path = optarg; break;
        case 'p': port_file = optarg; break;
        case 'k': check_only = 1; break;
        case 'l':
            if (parse_level(optarg, &level) != 0) {
                fprintf(stderr, "custos-gateway: unknown log level '%s'\n", optarg);
                return 1;
            }
            gw_log_set_level(level);
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("custos-gateway %s\n", custos_version()); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (config_path == NULL || optind != argc) {
        usage(stderr);
        return 1;
    }

    gateway g;
    memset(&g, 0, sizeof g);
    custos_error err;
    custos_error_clear(&err);
    if (gw_config_load(config_path, &g.cfg, &err) != CUSTOS_OK) {
        fprintf(stderr, "custos-gateway: %s\n", err.message);
        return 1;
    }
    int status = 0;
    if (check_only) {
        if (gw_preflight(&g.cfg, &err) != CUSTOS_OK) {
            fprintf(stderr, "custos-gateway: %s\n", err.message);
            status = 1;
        } else {
            printf("%s: ok (%zu feeds, %zu signers)\n", config_path, g.cfg.n_feeds,
                   g.cfg.n_signers);
        }
    } else
        status = gateway_serve(&g, config_path, port_file);
    gateway_close(&g);
    if (g.drain_ms > 0)
        gw_log(GW_LOG_INFO, "stopped", "clean shutdown");
    return status;
}
