/* The metrics endpoint, apart from the gRPC port, served by libmicrohttpd on its own
 * thread (docs/operations.md §9):
 *   GET /metrics     Prometheus text format 0.0.4;
 *   GET /livez       200 while the process answers (liveness);
 *   GET /readyz      200 while the store accepts and serves, else 503 (readiness; a
 *                    chain outage never changes it); /healthz is the same, its older name;
 *   GET /publisherz  200 while a chain node answers and the publisher keeps up, else 503;
 *                    404 without [evm];
 *   GET /status      JSON: store, chain nodes, publisher, relayer (status.h). */
#ifndef GATEWAY_METRICS_HTTP_H
#define GATEWAY_METRICS_HTTP_H

#include "custos/error.h"

#include "config/config.h"
#include "engine/engine.h"
#include "evm/drift.h"
#include "evm/publisher.h"

typedef struct gw_metrics_http gw_metrics_http;

/* Binds cfg->metrics.listen (a numeric IPv4 or [IPv6] address; port 0 picks a free port)
 * and starts serving from the registry of metrics.h, which must be initialised. engine
 * must outlive the endpoint; publisher may be NULL (no [evm]), else it too. */
CUSTOS_MUST_USE
custos_rc gw_metrics_http_new(const gw_config *cfg, gw_engine *engine, gw_publisher *publisher,
                              gw_metrics_http **out, custos_error *err);
/* The allow-list comparison whose report /metrics shows (NULL: none); it must outlive the
 * endpoint. */
void gw_metrics_http_set_drift(gw_metrics_http *h, gw_drift *drift);
/* Whether gw_metrics_http_new could parse listen (numeric IP:PORT), binding nothing. */
CUSTOS_MUST_USE
custos_rc gw_metrics_http_check_listen(const char *listen, custos_error *err);
/* The bound TCP port. */
int gw_metrics_http_port(const gw_metrics_http *h);
/* Stops serving (in-flight requests finish) and frees. Safe on NULL. */
void gw_metrics_http_free(gw_metrics_http *h);

#endif
