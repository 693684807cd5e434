/* The gRPC server's channel arguments: every transport limit the gateway sets on gRPC
 * core, built in one place from [gateway] and [limits]. */
#ifndef GATEWAY_CHANNEL_ARGS_H
#define GATEWAY_CHANNEL_ARGS_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "custos/error.h"

#include "config/config.h"

typedef struct gw_channel_args gw_channel_args;

/* The arguments for grpc_server_create: messages up to receive_limit bytes, handshakes
 * that finish within handshake_timeout_ms, and [limits]' HTTP/2 bounds (metadata size,
 * concurrent streams, a memory-capped resource quota, keepalive and ping policy,
 * connection idle and age). The caller owns *out and frees it once the server exists. */
CUSTOS_MUST_USE
custos_rc gw_channel_args_new(const gw_config *cfg, size_t receive_limit,
                              int handshake_timeout_ms, gw_channel_args **out,
                              custos_error *err);
const grpc_channel_args *gw_channel_args_get(const gw_channel_args *a);
void gw_channel_args_free(gw_channel_args *a);

#endif
