/* grpc.health.v1: what the gateway answers about itself. SERVING while the store answers
 * (the engine's last commit or probe succeeded) and, when [evm] is configured, the chain
 * node answers (the publisher reports it here). */
#ifndef GATEWAY_HEALTH_H
#define GATEWAY_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#include "grpc/health/v1/health.pb-c.h"

/* The service name under which the gateway reports its own health besides "". */
#define GW_HEALTH_SERVICE "custos.v1.AttestationGateway"

/* Decodes a HealthCheckRequest and evaluates it: returns the gRPC status of the answer
 * (OK with *status set, NOT_FOUND for an unknown service, INVALID_ARGUMENT for bytes that
 * are not a request). */
int gw_health_evaluate(gw_engine *e, const uint8_t *req, size_t len,
                       Grpc__Health__V1__HealthCheckResponse__ServingStatus *status);

/* Process-wide, any thread: whether the configured chain node answers (true until the
 * publisher says otherwise). */
void gw_health_set_chain_reachable(bool reachable);
bool gw_health_chain_reachable(void);

#endif
