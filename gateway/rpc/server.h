/* The gateway's gRPC transport: custos.v1.AttestationGateway and grpc.health.v1.Health
 * over the gRPC core C API, served by a pool of completion-queue worker threads.
 * It only moves bytes between clients and the engine (engine.h). */
#ifndef GATEWAY_SERVER_H
#define GATEWAY_SERVER_H

#include "custos/error.h"

#include "admin.h"
#include "config/config.h"
#include "engine/engine.h"

typedef struct gw_server gw_server;

/* Binds cfg->listen (port 0 picks a free port) and starts serving, with the admin service
 * on top (custos.v1.GatewayAdmin, admin mTLS clients only). cfg, engine and admin must
 * outlive the server. */
CUSTOS_MUST_USE
custos_rc gw_server_new(const gw_config *cfg, gw_engine *engine, gw_admin *admin,
                        gw_server **out, custos_error *err);
/* The bound TCP port. */
int gw_server_port(const gw_server *s);
/* Graceful stop: refuses new calls, lets in-flight ones finish (up to drain_ms, then
 * cancels what is left), ends Watch streams, and joins the workers. Idempotent. */
void gw_server_shutdown(gw_server *s, int drain_ms);
/* Shuts down if still running, then releases everything. Safe on NULL. After
 * gw_server_shutdown the engine no longer calls into the server once its committer has
 * stopped: free the engine first, then the server. */
void gw_server_free(gw_server *s);

#endif
