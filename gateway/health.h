/* What the gateway answers about itself (docs/operations.md §9), in three parts that fail
 * apart:
 * - liveness: the process answers (the metrics port's /livez);
 * - readiness: the store accepts and serves (the engine's last commit or probe succeeded):
 *   gRPC health "" and custos.v1.AttestationGateway, /readyz and /healthz;
 * - the publisher's own state, when [evm] is configured: a chain node answers and the
 *   publisher keeps up (gRPC health custos.v1.Publisher, /publisherz).
 * A chain outage never makes a replica unready: submissions and reads go on without it. */
#ifndef GATEWAY_HEALTH_H
#define GATEWAY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#include "grpc/health/v1/health.pb-c.h"

/* The service name under which the gateway reports its readiness besides "". */
#define GW_HEALTH_SERVICE "custos.v1.AttestationGateway"
/* The service name of the publisher's state (unknown without [evm]). */
#define GW_HEALTH_PUBLISHER "custos.v1.Publisher"

/* The longest service name a Watch follows; a longer one is no service of the gateway's. */
#define GW_HEALTH_SERVICE_MAX 64

/* Decodes a HealthCheckRequest's service name into service (GW_HEALTH_SERVICE_MAX + 1
 * bytes; a longer name is cut to a name no service has): GRPC_STATUS_OK, or
 * INVALID_ARGUMENT for bytes that are not a request. */
int gw_health_decode(const uint8_t *req, size_t len, char service[GW_HEALTH_SERVICE_MAX + 1]);

/* The service's status now: GRPC_STATUS_OK with *status set, NOT_FOUND for a service the
 * gateway does not have (now: the publisher's exists once it started). */
int gw_health_status(gw_engine *e, const char *service,
                     Grpc__Health__V1__HealthCheckResponse__ServingStatus *status);

/* Readiness: the store accepts and serves. */
bool gw_health_ready(gw_engine *e);

/* Process-wide, any thread. The publisher says it exists (its health service becomes
 * known, serving until it says otherwise) and then reports its state. */
void gw_health_publisher_present(void);
void gw_health_set_publisher_serving(bool serving);
/* Whether a publisher exists, and whether it serves. */
bool gw_health_publisher_known(void);
bool gw_health_publisher_serving(void);

#endif
