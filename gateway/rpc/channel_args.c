/* The gRPC server's channel arguments.
 *
 * What they bound on gRPC core 1.51 (Debian 12), measured with tests/tools/h2attack.c:
 * the size of a request's complete metadata, the streams one connection may have open,
 * the memory gRPC accounts to its resource quota, idle and aged connections, and clients
 * that ping too often. They do not bound the two attacks that 1.51's HTTP/2 stack lets
 * through (a header block that never ends, CVE-2023-33953; streams opened and reset in a
 * loop, CVE-2023-44487): a deployment exposed to untrusted networks puts the front proxy
 * of deploy/nginx/ before the gateway (README, Transport security). */
#include "rpc/channel_args.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>

/* A client may ping at most this often while no data flows; two strikes and gRPC ends
 * the connection (ping floods cost the server a write each). */
#define MIN_RECV_PING_INTERVAL_MS 10000
#define MAX_PING_STRIKES 2
/* Threads gRPC may start on behalf of the quota's users. */
#define QUOTA_MAX_THREADS 64

#define ARGS_MAX 16

struct gw_channel_args {
    grpc_arg arg[ARGS_MAX];
    grpc_channel_args args;
    grpc_resource_quota *quota;
};

/* Whether another argument fits. An integer that does not fit is dropped, and the quota,
 * added last, then finds no room and fails the whole set. */
static bool args_room(const gw_channel_args *a)
{
    return a->args.num_args < ARGS_MAX;
}

static void args_int(gw_channel_args *a, const char *key, uint64_t value)
{
    if (!args_room(a))
        return;
    grpc_arg *g = &a->arg[a->args.num_args++];
    g->type = GRPC_ARG_INTEGER;
    g->key = (char *)key;
    g->value.integer = value > INT_MAX ? INT_MAX : (int)value;
}

custos_rc gw_channel_args_new(const gw_config *cfg, size_t receive_limit,
                              int handshake_timeout_ms, gw_channel_args **out,
                              custos_error *err)
{
    *out = NULL;
    gw_channel_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory for channel arguments");
    a->quota = grpc_resource_quota_create("custos-gateway");
    if (a->quota == NULL) {
        free(a);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot create a gRPC resource quota");
    }
    const gw_limits_config *l = &cfg->limits;
    grpc_resource_quota_resize(a->quota, (size_t)l->memory_limit_mib * 1024u * 1024u);
    grpc_resource_quota_set_max_threads(a->quota, QUOTA_MAX_THREADS);

    a->args.args = a->arg;
    args_int(a, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, receive_limit);
    args_int(a, GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, (uint64_t)handshake_timeout_ms);
    args_int(a, GRPC_ARG_MAX_METADATA_SIZE, l->max_metadata_bytes);
    args_int(a, GRPC_ARG_MAX_CONCURRENT_STREAMS, l->max_concurrent_streams);
    args_int(a, GRPC_ARG_MAX_CONNECTION_IDLE_MS, (uint64_t)l->max_connection_idle_seconds * 1000u);
    args_int(a, GRPC_ARG_MAX_CONNECTION_AGE_MS, (uint64_t)l->max_connection_age_seconds * 1000u);
    args_int(a, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
             (uint64_t)l->max_connection_age_grace_seconds * 1000u);
    /* The server pings a connection idle this long, and drops it when the ping is not
     * answered in time: dead peers do not keep their transport's memory forever. */
    args_int(a, GRPC_ARG_KEEPALIVE_TIME_MS, (uint64_t)l->keepalive_time_seconds * 1000u);
    args_int(a, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, (uint64_t)l->keepalive_timeout_seconds * 1000u);
    args_int(a, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    args_int(a, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, MIN_RECV_PING_INTERVAL_MS);
    args_int(a, GRPC_ARG_HTTP2_MAX_PING_STRIKES, MAX_PING_STRIKES);

    if (!args_room(a)) {
        gw_channel_args_free(a);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "more channel arguments than %d",
                                ARGS_MAX);
    }
    grpc_arg *q = &a->arg[a->args.num_args++];
    q->type = GRPC_ARG_POINTER;
    q->key = (char *)GRPC_ARG_RESOURCE_QUOTA;
    q->value.pointer.p = a->quota;
    q->value.pointer.vtable = grpc_resource_quota_arg_vtable();
    *out = a;
    return CUSTOS_OK;
}

const grpc_channel_args *gw_channel_args_get(const gw_channel_args *a)
{
    return &a->args;
}

void gw_channel_args_free(gw_channel_args *a)
{
    if (a == NULL)
        return;
    grpc_resource_quota_unref(a->quota);
    free(a);
}
