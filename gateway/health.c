#include "health.h"

#include <stdatomic.h>
#include <string.h>

#include <grpc/status.h>

static atomic_bool health_publisher_known;
static atomic_bool health_publisher_down;

void gw_health_publisher_present(void)
{
    atomic_store(&health_publisher_down, false);
    atomic_store(&health_publisher_known, true);
}

void gw_health_set_publisher_serving(bool serving)
{
    atomic_store(&health_publisher_down, !serving);
}

bool gw_health_publisher_known(void)
{
    return atomic_load(&health_publisher_known);
}

bool gw_health_publisher_serving(void)
{
    return atomic_load(&health_publisher_known) && !atomic_load(&health_publisher_down);
}

bool gw_health_ready(gw_engine *e)
{
    return gw_engine_healthy(e);
}

int gw_health_decode(const uint8_t *req, size_t len, char service[GW_HEALTH_SERVICE_MAX + 1])
{
    Grpc__Health__V1__HealthCheckRequest *m =
        grpc__health__v1__health_check_request__unpack(NULL, len, req);
    if (m == NULL)
        return GRPC_STATUS_INVALID_ARGUMENT;
    const char *name = m->service != NULL ? m->service : "";
    size_t n = strlen(name);
    /* Cut to a name that cannot be one of ours (they are all shorter), not to a prefix
     * that might be. */
    if (n > GW_HEALTH_SERVICE_MAX)
        snprintf(service, GW_HEALTH_SERVICE_MAX + 1, "?");
    else
        memcpy(service, name, n + 1);
    grpc__health__v1__health_check_request__free_unpacked(m, NULL);
    return GRPC_STATUS_OK;
}

int gw_health_status(gw_engine *e, const char *service,
                     Grpc__Health__V1__HealthCheckResponse__ServingStatus *status)
{
    bool gateway = service[0] == '\0' || strcmp(service, GW_HEALTH_SERVICE) == 0;
    bool publisher = gw_health_publisher_known() && strcmp(service, GW_HEALTH_PUBLISHER) == 0;
    if (!gateway && !publisher)
        return GRPC_STATUS_NOT_FOUND;
    bool serving = gateway ? gw_health_ready(e) : gw_health_publisher_serving();
    *status = serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                      : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
    return GRPC_STATUS_OK;
}
