#include "health.h"

#include <stdatomic.h>
#include <string.h>

#include <grpc/status.h>

static atomic_bool health_chain_down;

void gw_health_set_chain_reachable(bool reachable)
{
    atomic_store(&health_chain_down, !reachable);
}

bool gw_health_chain_reachable(void)
{
    return !atomic_load(&health_chain_down);
}

int gw_health_evaluate(gw_engine *e, const uint8_t *req, size_t len,
                       Grpc__Health__V1__HealthCheckResponse__ServingStatus *status)
{
    Grpc__Health__V1__HealthCheckRequest *m =
        grpc__health__v1__health_check_request__unpack(NULL, len, req);
    if (m == NULL)
        return GRPC_STATUS_INVALID_ARGUMENT;
    const char *service = m->service != NULL ? m->service : "";
    bool known = service[0] == '\0' || strcmp(service, GW_HEALTH_SERVICE) == 0;
    grpc__health__v1__health_check_request__free_unpacked(m, NULL);
    if (!known)
        return GRPC_STATUS_NOT_FOUND;
    *status = gw_engine_healthy(e) && gw_health_chain_reachable()
                  ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                  : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    return GRPC_STATUS_OK;
}
