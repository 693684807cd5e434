/* grpc.health.v1.Health: Check and Watch, answered from health.c's verdict. A Watch sends
 * the status once and then stays open, idle, until the client cancels it or the gateway
 * shuts down. */
#include "rpc/call.h"

#include <grpc/slice.h>

#include "health.h"
#include "rpc/handlers.h"

typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus serving_status;

static grpc_byte_buffer *pack_health(serving_status st)
{
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = st;
    return gw_rpc_pack(&r.base);
}

/* Evaluates a health request; answers and returns false when it is not OK. A Watch
 * reports an unknown service in-band and stays open. */
static bool health_evaluate(gw_rpc_call *c, bool watch, serving_status *st)
{
    grpc_slice slice;
    int status = GRPC_STATUS_INVALID_ARGUMENT;
    if (c->payload != NULL && gw_rpc_read(c->payload, &slice)) {
        size_t len = GRPC_SLICE_LENGTH(slice);
        if (len <= c->srv->cfg->max_message_bytes)
            status = gw_health_evaluate(c->srv->engine, GRPC_SLICE_START_PTR(slice), len, st);
        grpc_slice_unref(slice);
    }
    if (status == GRPC_STATUS_NOT_FOUND && watch) {
        *st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
        return true;
    }
    if (status == GRPC_STATUS_OK)
        return true;
    gw_rpc_finish(c, (grpc_status_code)status,
                  status == GRPC_STATUS_NOT_FOUND ? "unknown service"
                                                  : "the message is not a HealthCheckRequest",
                  CUSTOS_REASON_NONE, NULL);
    return false;
}

void gw_rpc_health_check(gw_rpc_call *c)
{
    serving_status st;
    if (health_evaluate(c, false, &st))
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, pack_health(st));
}

/* Locked. After its one write a Watch is idle until the server ends it. */
static void health_watch_pump(gw_rpc_call *c)
{
    if (!c->send_busy && c->state == CALL_ENDING)
        gw_rpc_stream_end(c);
}

const gw_rpc_stream_ops gw_rpc_health_watch_ops = {
    .pump = health_watch_pump,
};

void gw_rpc_health_watch(gw_rpc_call *c)
{
    serving_status st;
    if (!health_evaluate(c, true, &st) || !gw_rpc_stream_admit(c, false))
        return;
    c->end_status = GRPC_STATUS_OK;
    if (!gw_rpc_stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    if (c->state == CALL_ACTIVE)
        gw_rpc_stream_send(c, pack_health(st));
    else
        gw_rpc_stream_end(c);
    pthread_mutex_unlock(&c->mu);
}
