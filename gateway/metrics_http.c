/* The metrics endpoint (metrics_http.h) over libmicrohttpd's internal polling thread:
 * one thread is plenty for a scrape every few seconds, and a slow or hostile client is
 * bounded by the connection limit and timeout below. */
#include "metrics_http.h"

#include <netdb.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "health.h"
#include "metrics.h"
#include "status.h"

#define MH_CONNECTION_LIMIT 32
#define MH_CONNECTION_TIMEOUT_S 10u

struct gw_metrics_http {
    struct MHD_Daemon *daemon;
    const gw_config *cfg;
    gw_engine *engine;
    gw_publisher *publisher;
    _Atomic(gw_drift *) drift; /* set once after the start: scrapes may already run */
    int port;
};

static enum MHD_Result mh_reply(struct MHD_Connection *conn, unsigned status,
                                const char *content_type, char *body, size_t len,
                                enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (ok == MHD_YES)
        ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result mh_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    return mh_reply(conn, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
                    MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result mh_metrics(gw_metrics_http *h, struct MHD_Connection *conn)
{
    gw_metrics_live live;
    memset(&live, 0, sizeof live);
    live.store_healthy = gw_engine_healthy(h->engine);
    live.head = gw_engine_head(h->engine);
    live.record_head = gw_engine_record_head(h->engine);
    custos_error count_err;
    /* A store that cannot count now shows 0; custos_store_healthy says why. */
    if (gw_engine_count_held(h->engine, &live.held, &count_err) != CUSTOS_OK)
        live.held = 0;
    if (gw_engine_pending_totals(h->engine, &live.pending_rows, &live.pending_bytes,
                                 &count_err) != CUSTOS_OK) {
        live.pending_rows = 0;
        live.pending_bytes = 0;
    }
    if (h->publisher != NULL) {
        live.has_publisher = true;
        gw_publisher_status(h->publisher, &live.publisher);
    }
    gw_drift_report drift;
    memset(&drift, 0, sizeof drift);
    gw_drift *d = atomic_load(&h->drift);
    custos_error drift_err;
    /* Without memory for the copy the drift series are left out of this scrape. */
    if (d != NULL && gw_drift_snapshot(d, &drift, &drift_err) == CUSTOS_OK)
        live.drift = &drift;
    struct timespec ts;
    uint64_t now = clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > 0
                       ? (uint64_t)ts.tv_sec : 0;
    char *body;
    size_t len;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rendered = gw_metrics_render(&live, now, &body, &len, &err);
    gw_drift_report_clear(&drift);
    if (rendered != CUSTOS_OK)
        return mh_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the metrics\n");
    return mh_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len,
                    MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result mh_status(gw_metrics_http *h, struct MHD_Connection *conn)
{
    gw_status_src src = {.cfg = h->cfg, .engine = h->engine, .publisher = h->publisher,
                         .drift = atomic_load(&h->drift)};
    char *body;
    size_t len;
    custos_error err;
    custos_error_clear(&err);
    if (gw_status_render(&src, &body, &len, &err) != CUSTOS_OK)
        return mh_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render the status\n");
    return mh_reply(conn, MHD_HTTP_OK, "application/json", body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result mh_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls)
{
    gw_metrics_http *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return mh_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/metrics") == 0)
        return mh_metrics(h, conn);
    if (strcmp(url, "/livez") == 0)
        return mh_text(conn, MHD_HTTP_OK, "alive\n");
    /* /healthz: readiness under its older name. */
    if (strcmp(url, "/readyz") == 0 || strcmp(url, "/healthz") == 0)
        return gw_health_ready(h->engine)
                   ? mh_text(conn, MHD_HTTP_OK, "ready\n")
                   : mh_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store unavailable\n");
    if (strcmp(url, "/publisherz") == 0) {
        if (h->publisher == NULL)
            return mh_text(conn, MHD_HTTP_NOT_FOUND, "no publisher: the config has no [evm]\n");
        return gw_health_publisher_serving()
                   ? mh_text(conn, MHD_HTTP_OK, "publishing\n")
                   : mh_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                             "no chain node answers, or the publisher lags: see /status\n");
    }
    if (strcmp(url, "/status") == 0)
        return mh_status(h, conn);
    return mh_text(conn, MHD_HTTP_NOT_FOUND,
                   "not found: try /metrics, /livez, /readyz, /publisherz or /status\n");
}

/* "IP:PORT" or "[IPv6]:PORT" into a socket address; numeric only, so start-up never
 * waits on name resolution. */
static custos_rc mh_resolve(const char *listen, struct addrinfo **out, custos_error *err)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    size_t hlen = colon == NULL ? 0 : (size_t)(colon - listen);
    if (colon == NULL || hlen == 0 || hlen >= sizeof host)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "metrics: listen '%s' is not IP:PORT",
                                listen);
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    const char *h = host;
    if (host[0] == '[' && host[hlen - 1] == ']') {
        host[hlen - 1] = '\0';
        h = host + 1;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    int rc = getaddrinfo(h, colon + 1, &hints, out);
    if (rc != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "metrics: listen '%s' is not a numeric IP:PORT: %s", listen,
                                gai_strerror(rc));
    return CUSTOS_OK;
}

custos_rc gw_metrics_http_check_listen(const char *listen, custos_error *err)
{
    struct addrinfo *ai = NULL;
    custos_rc rc = mh_resolve(listen, &ai, err);
    if (rc == CUSTOS_OK)
        freeaddrinfo(ai);
    return rc;
}

custos_rc gw_metrics_http_new(const gw_config *cfg, gw_engine *engine, gw_publisher *publisher,
                              gw_metrics_http **out, custos_error *err)
{
    *out = NULL;
    struct addrinfo *ai = NULL;
    custos_rc rc = mh_resolve(cfg->metrics.listen, &ai, err);
    if (rc != CUSTOS_OK)
        return rc;
    gw_metrics_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        freeaddrinfo(ai);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "metrics: out of memory");
    }
    h->cfg = cfg;
    h->engine = engine;
    h->publisher = publisher;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, mh_handle, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)MH_CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, MH_CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (h->daemon == NULL) {
        free(h);
        return custos_error_set(err, CUSTOS_ERR_IO, "metrics: cannot listen on %s",
                                cfg->metrics.listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0) {
        MHD_stop_daemon(h->daemon);
        free(h);
        return custos_error_set(err, CUSTOS_ERR_IO, "metrics: cannot tell the bound port of %s",
                                cfg->metrics.listen);
    }
    h->port = info->port;
    *out = h;
    return CUSTOS_OK;
}

int gw_metrics_http_port(const gw_metrics_http *h)
{
    return h->port;
}

void gw_metrics_http_free(gw_metrics_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}

void gw_metrics_http_set_drift(gw_metrics_http *h, gw_drift *drift)
{
    atomic_store(&h->drift, drift);
}
