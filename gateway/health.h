/* grpc.health.v1: what the gateway answers about itself. */
#ifndef GATEWAY_HEALTH_H
#define GATEWAY_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#include "grpc/health/v1/health.pb-c.h"

/* The service name under which the gateway reports its own health besides "". */
#define GW_HEALTH_SERVICE "custos.v1.AttestationGateway"

/* Decodes a HealthCheckRequest and evaluates it: returns the gRPC status of the answer
 * (OK with *status set, NOT_FOUND for an unknown service, INVALID_ARGUMENT for bytes that
 * are not a request). */
int gw_health_evaluate(gw_engine *e, const uint8_t *req, size_t len,
                       Grpc__Health__V1__HealthCheckResponse__ServingStatus *status);

#endif
