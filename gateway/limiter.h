/* Per-client abuse limits of the gRPC port ([limits] in the config): a token bucket of
 * submissions and a count of open streams for each client, so that one client flooding
 * the gateway is refused without slowing the others.
 *
 * A client is a name: its certificate's common name under mTLS, its IP address otherwise.
 * The clock is the caller's (monotonic nanoseconds), which keeps the arithmetic testable.
 * Thread-safe. */
#ifndef GATEWAY_LIMITER_H
#define GATEWAY_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

/* Longest client name kept; longer names are truncated (an IPv6 address fits). */
#define GW_LIMITER_NAME_MAX 64

typedef struct gw_limiter gw_limiter;

/* rate: submissions per second a client sustains; burst: how many it may send at once
 * (the bucket's size); max_streams: open streams per client; max_clients: distinct
 * clients tracked at once. All at least 1. */
CUSTOS_MUST_USE
custos_rc gw_limiter_new(uint64_t rate, uint64_t burst, uint32_t max_streams,
                         size_t max_clients, gw_limiter **out, custos_error *err);
void gw_limiter_free(gw_limiter *l);

/* Takes one submission's token from client's bucket at now_ns. false: refused (the
 * bucket is empty, or max_clients other clients are active). */
bool gw_limiter_take(gw_limiter *l, const char *client, uint64_t now_ns);

/* Counts one more open stream of client; false (nothing counted) when it already holds
 * max_streams, or max_clients other clients are active. Every true is matched by exactly
 * one gw_limiter_stream_close. */
bool gw_limiter_stream_open(gw_limiter *l, const char *client, uint64_t now_ns);
void gw_limiter_stream_close(gw_limiter *l, const char *client);

/* Open streams of client (0 for an unknown client). */
uint32_t gw_limiter_streams(gw_limiter *l, const char *client);

#endif
