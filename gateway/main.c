/* custos-gateway: verifies, stores and publishes collateral attestations over gRPC. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "publisher.h"
#include "registry.h"
#include "server.h"
#include "store.h"

/* How long in-flight calls may take to finish after SIGTERM before they are cancelled. */
#define DRAIN_MS 5000

static void usage(FILE *out)
{
    fprintf(out, "usage: custos-gateway --config FILE [--port-file FILE] [--check-config]\n"
                 "                      [--log-level debug|info|warn|error]\n");
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

/* The settings a reload cannot change in a running gateway, by name, or NULL when the
 * two files agree on all of them. */
static const char *restart_only_change(const gw_config *a, const gw_config *b)
{
    if (strcmp(a->listen, b->listen) != 0)
        return "[gateway] listen";
    if (strcmp(a->store_path, b->store_path) != 0)
        return "[gateway] store";
    if (a->domain.chain_id != b->domain.chain_id ||
        memcmp(a->domain.verifying_contract, b->domain.verifying_contract,
               CUSTOS_ADDRESS_LEN) != 0)
        return "the EIP-712 domain";
    if (a->max_message_bytes != b->max_message_bytes || a->workers != b->workers ||
        a->commit_batch_max != b->commit_batch_max || a->commit_delay_us != b->commit_delay_us)
        return "[gateway] limits, workers or commit grouping";
    if (memcmp(&a->evm, &b->evm, sizeof a->evm) != 0)
        return "[evm]";
    if (memcmp(&a->metrics, &b->metrics, sizeof a->metrics) != 0)
        return "[metrics]";
    if (memcmp(&a->tls, &b->tls, sizeof a->tls) != 0)
        return "[tls]";
    if (a->n_clients != b->n_clients ||
        (a->n_clients > 0 && memcmp(a->clients, b->clients, a->n_clients * sizeof *a->clients) != 0))
        return "[client] entries";
    return NULL;
}

/* The audit entry of a reload: the policy text in force from now on. The change is made
 * only once its entry is committed. */
static custos_rc reload_audit(gw_store *audit, const gw_config *fresh, custos_error *err)
{
    char *text = NULL;
    size_t len = 0;
    custos_rc rc = gw_audit_policy_text(fresh, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    time_t now = time(NULL);
    rc = gw_store_begin(audit, err);
    if (rc == CUSTOS_OK)
        rc = gw_audit_append(audit, "SIGHUP", "reload", (const uint8_t *)text, len,
                             now > 0 ? (uint64_t)now : 0, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_commit(audit, err);
    else
        gw_store_rollback(audit);
    free(text);
    return rc;
}

/* SIGHUP: the signer allow-list and the feed policy of the file take effect at once,
 * without closing any connection or stream, once the audit log holds the change. Other
 * settings need a restart, and the log says which. A file that does not load, or a change
 * whose audit entry cannot be written, changes nothing. */
static void reload(const char *path, const gw_config *running, gw_engine *engine,
                   gw_store *audit)
{
    gw_config fresh;
    memset(&fresh, 0, sizeof fresh);
    custos_error err;
    custos_error_clear(&err);
    if (gw_config_load(path, &fresh, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "reload",
               "%s; still serving with the signers and feeds loaded before", err.message);
        return;
    }
    if (reload_audit(audit, &fresh, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "reload",
               "refused: its audit entry could not be written (%s); still serving with the "
               "signers and feeds loaded before", err.message);
        gw_config_clear(&fresh);
        return;
    }
    gw_registry *reg = gw_engine_registry(engine);
    if (gw_registry_replace(reg, &fresh, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "reload",
               "%s; still serving with the signers and feeds loaded before", err.message);
    } else {
        gw_policy *p = gw_registry_acquire(reg);
        gw_log(GW_LOG_INFO, "reload", "%s: %zu feeds, %zu signers now in force (generation %" PRIu64 ")",
               path, p->n_feeds, p->n_signers, p->generation);
        gw_policy_release(p);
        const char *changed = restart_only_change(running, &fresh);
        if (changed != NULL)
            gw_log(GW_LOG_WARN, "reload",
                   "%s changed in %s: it takes effect only after a restart", changed, path);
    }
    gw_config_clear(&fresh);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"port-file", required_argument, NULL, 'p'},
        {"check-config", no_argument, NULL, 'k'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *port_file = NULL;
    int check_only = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "c:p:kl:h", opts, NULL)) != -1) {
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
        default: usage(stderr); return 1;
        }
    }
    if (config_path == NULL || optind != argc) {
        usage(stderr);
        return 1;
    }

    gw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    custos_error err;
    custos_error_clear(&err);
    if (gw_config_load(config_path, &cfg, &err) != CUSTOS_OK) {
        fprintf(stderr, "custos-gateway: %s\n", err.message);
        return 1;
    }
    if (check_only) {
        printf("%s: ok (%zu feeds, %zu signers)\n", config_path, cfg.n_feeds, cfg.n_signers);
        gw_config_clear(&cfg);
        return 0;
    }
    if (port_file == NULL && cfg.port_file[0] != '\0')
        port_file = cfg.port_file;

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
        gw_config_clear(&cfg);
        return 1;
    }

    /* Before the engine: it counts from its first submission. */
    if (cfg.metrics.enabled && gw_metrics_init(&cfg, &err) != CUSTOS_OK) {
        fprintf(stderr, "custos-gateway: %s\n", err.message);
        gw_config_clear(&cfg);
        return 1;
    }
    gw_engine *engine = NULL;
    if (gw_engine_new(&cfg, &engine, &err) != CUSTOS_OK) {
        fprintf(stderr, "custos-gateway: %s\n", err.message);
        gw_metrics_shutdown();
        gw_config_clear(&cfg);
        return 1;
    }
    /* Its own session: the engine's committer owns the engine's write side. */
    gw_store audit = {0};
    custos_rc audit_rc = cfg.store_backend == GW_STORE_POSTGRESQL
                             ? gw_store_open_pg(cfg.store_path, &audit, &err)
                             : gw_store_open_sqlite(cfg.store_path, &audit, &err);
    if (audit_rc != CUSTOS_OK) {
        fprintf(stderr, "custos-gateway: %s\n", err.message);
        gw_engine_free(engine);
        gw_metrics_shutdown();
        gw_config_clear(&cfg);
        return 1;
    }
    gw_server *server = NULL;
    if (gw_server_new(&cfg, engine, &server, &err) != CUSTOS_OK) {
        fprintf(stderr, "custos-gateway: %s\n", err.message);
        gw_store_close(&audit);
        gw_engine_free(engine);
        gw_metrics_shutdown();
        gw_config_clear(&cfg);
        return 1;
    }
    /* The publisher only reads the accepted log: it never holds up Submit. */
    gw_publisher *publisher = NULL;
    if (cfg.evm.enabled && gw_publisher_new(&cfg, engine, &publisher, &err) != CUSTOS_OK) {
        fprintf(stderr, "custos-gateway: %s\n", err.message);
        gw_server_shutdown(server, 0);
        gw_store_close(&audit);
        gw_engine_free(engine);
        gw_server_free(server);
        gw_metrics_shutdown();
        gw_config_clear(&cfg);
        return 1;
    }
    gw_metrics_http *metrics = NULL;
    int metrics_port = 0;
    if (cfg.metrics.enabled) {
        if (gw_metrics_http_new(&cfg, engine, publisher, &metrics, &err) == CUSTOS_OK) {
            metrics_port = gw_metrics_http_port(metrics);
        } else {
            fprintf(stderr, "custos-gateway: %s\n", err.message);
            metrics_port = -1;
        }
    }
    int port = gw_server_port(server);
    /* The gRPC port file last: tests and supervisors take it as "everything is up". */
    if (metrics_port < 0 ||
        (cfg.metrics.port_file[0] != '\0' &&
         write_port_file(cfg.metrics.port_file, metrics_port) != 0) ||
        (port_file != NULL && write_port_file(port_file, port) != 0)) {
        gw_metrics_http_free(metrics);
        gw_publisher_free(publisher);
        gw_server_shutdown(server, 0);
        gw_store_close(&audit);
        gw_engine_free(engine);
        gw_server_free(server);
        gw_metrics_shutdown();
        gw_config_clear(&cfg);
        return 1;
    }
    gw_log(GW_LOG_INFO, "start", "listening on %s, port %d, store %s", cfg.listen, port,
           cfg.store_path);
    if (metrics != NULL)
        gw_log(GW_LOG_INFO, "metrics", "serving /metrics and /healthz on %s, port %d",
               cfg.metrics.listen, metrics_port);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0 || sig == SIGHUP) {
        if (sig == SIGHUP)
            reload(config_path, &cfg, engine, &audit);
        sig = 0;
    }
    gw_log(GW_LOG_INFO, "stop", "%s: draining in-flight calls", strsignal(sig));
    /* First, while the engine and the publisher it reads are still there. */
    gw_metrics_http_free(metrics);
    gw_server_shutdown(server, DRAIN_MS);
    if (publisher != NULL) {
        gw_pub_status st;
        gw_publisher_status(publisher, &st);
        gw_log(GW_LOG_INFO, "publisher.stop",
               "cursor %" PRIu64 ", last published %" PRIu64 ", %zu pending, nonce %" PRIu64
               ", %" PRIu64 " published, %" PRIu64 " skipped, %" PRIu64 " failed, %" PRIu64
               " node errors", st.cursor, st.last_published_cursor, st.pending, st.nonce,
               st.published, st.skipped, st.failed, st.node_errors);
        /* Before the engine: the publisher reads the log through it. */
        gw_publisher_free(publisher);
    }
    gw_store_close(&audit);
    /* The engine goes first: freeing it joins the committer, so no commit notification
     * can still be on its way to the server. */
    gw_engine_free(engine);
    gw_server_free(server);
    gw_metrics_shutdown();
    gw_config_clear(&cfg);
    gw_log(GW_LOG_INFO, "stopped", "clean shutdown");
    return 0;
}
