/* grpc.health.v1.Health: Check and Watch, answered from health.c's verdict. A Watch sends
 * the service's status at once and again each time it changes, as the protocol asks
 * (client-side health checking follows it): the waker re-reads it after every commit and
 * at every sweep, about once a second. A service the gateway does not have is
 * SERVICE_UNKNOWN and followed all the same (the publisher's appears once it starts). The
 * stream stays open until the client cancels it or the gateway shuts down. */
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

/* The request's service into service; answers INVALID_ARGUMENT and returns false when the
 * bytes are not a HealthCheckRequest. */
static bool health_request(gw_rpc_call *c, char service[GW_HEALTH_SERVICE_MAX + 1])
{
    grpc_slice slice;
    int status = GRPC_STATUS_INVALID_ARGUMENT;
    if (c->payload != NULL && gw_rpc_read(c->payload, &slice)) {
        size_t len = GRPC_SLICE_LENGTH(slice);
        if (len <= c->srv->cfg->max_message_bytes)
            status = gw_health_decode(GRPC_SLICE_START_PTR(slice), len, service);
        grpc_slice_unref(slice);
    }
    if (status == GRPC_STATUS_OK)
        return true;
    gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "the message is not a HealthCheckRequest",
                  CUSTOS_REASON_NONE, NULL);
    return false;
}

void gw_rpc_health_check(gw_rpc_call *c)
{
    char service[GW_HEALTH_SERVICE_MAX + 1];
    serving_status st;
    if (!health_request(c, service))
        return;
    if (gw_health_status(c->srv->engine, service, &st) != GRPC_STATUS_OK)
        gw_rpc_finish(c, GRPC_STATUS_NOT_FOUND, "unknown service", CUSTOS_REASON_NONE, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, pack_health(st));
}

/* Locked. Ends the stream once asked; otherwise writes the service's status when it is
 * not the one last written (one write at a time: a change during a write is seen by the
 * pump that follows it). */
static void health_watch_pump(gw_rpc_call *c)
{
    if (c->send_busy)
        return;
    if (c->state == CALL_ENDING) {
        gw_rpc_stream_end(c);
        return;
    }
    if (c->state != CALL_ACTIVE)
        return;
    serving_status st;
    if (gw_health_status(c->srv->engine, c->health_service, &st) != GRPC_STATUS_OK)
        st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
    if ((int)st == c->health_sent)
        return;
    grpc_byte_buffer *bb = pack_health(st);
    if (bb == NULL) {
        c->state = CALL_ENDING;
        c->end_status = GRPC_STATUS_RESOURCE_EXHAUSTED;
        c->end_detail = "out of memory";
        gw_rpc_stream_end(c);
        return;
    }
    c->health_sent = (int)st;
    gw_rpc_stream_send(c, bb);
}

/* The waker's thread: the status may have changed. */
static void health_watch_recheck(gw_rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    health_watch_pump(c);
    pthread_mutex_unlock(&c->mu);
}

static void health_watch_on_sweep(gw_rpc_call *c, uint64_t now_ns)
{
    (void)now_ns;
    health_watch_recheck(c);
}

const gw_rpc_stream_ops gw_rpc_health_watch_ops = {
    .pump = health_watch_pump,
    .on_commit = health_watch_recheck,
    .on_sweep = health_watch_on_sweep,
};

void gw_rpc_health_watch(gw_rpc_call *c)
{
    if (!health_request(c, c->health_service) || !gw_rpc_stream_admit(c, false))
        return;
    c->health_sent = -1;
    c->end_status = GRPC_STATUS_OK;
    if (!gw_rpc_stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    if (c->state == CALL_ACTIVE)
        health_watch_pump(c);
    else
        gw_rpc_stream_end(c);
    pthread_mutex_unlock(&c->mu);
}
