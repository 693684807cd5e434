/* Caller identities from the front proxy ([tls] client_identity = proxy-header).
 *
 * Behind the proxy of deploy/nginx/, the proxy terminates TLS, verifies the client
 * certificate, and sets one header (client_identity_header) to the certificate's common
 * name on every request, overwriting whatever a client sent under that name. The gateway
 * then takes the caller's identity from that header and from nothing else; it accepts
 * this only on a listener that the proxy alone should reach (a Unix socket, or loopback),
 * and refuses a call that carries the header zero or several times.
 *
 * The name is kept per call, keyed by the call: gRPC core 1.51 hands an auth metadata
 * processor the connection's auth context, shared by every call the proxy multiplexes
 * over that connection, so it cannot hold a per-call identity. */
#ifndef GATEWAY_PROXY_IDENTITY_H
#define GATEWAY_PROXY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include <grpc/grpc_security.h>

#include "custos/error.h"

#include "config/config.h"

/* Whether name may be client_identity_header: lower-case letters, digits and '-', 1 to
 * GW_IDENTITY_HEADER_MAX characters, not a gRPC-reserved name. */
bool gw_proxy_identity_header_valid(const char *name);

/* Whether listen (as [gateway] listen takes it) is reachable from this host only: a Unix
 * socket path (unix:/path), or a loopback address (127.0.0.0/8, [::1], localhost). */
bool gw_proxy_identity_listen_local(const char *listen);

/* Checks the [tls] identity settings against the rest of the config; NULL when they are
 * consistent, else the [tls] key at fault, with why (cap bytes) saying what is wrong. */
const char *gw_proxy_identity_check(const gw_config *cfg, char *why, size_t cap);

/* Whether callers have identities at all: client certificates verified by the gateway
 * ([tls] client_ca) or by the front proxy (client_identity = proxy-header). */
bool gw_identity_known(const gw_config *cfg);

/* With proxy-header, makes creds refuse (UNAUTHENTICATED) every call that does not carry
 * the identity header exactly once with a well-formed name; nothing otherwise. */
CUSTOS_MUST_USE
custos_rc gw_proxy_identity_install(const gw_config *cfg, grpc_server_credentials *creds,
                                    custos_error *err);

/* With proxy-header, records the identity header of call's request metadata md as the
 * caller's name until gw_proxy_identity_unbind(call); nothing otherwise. A call whose
 * name cannot be recorded has none (and is refused whatever needs one). */
void gw_proxy_identity_bind(const gw_config *cfg, grpc_call *call,
                            const grpc_metadata_array *md);
/* Forgets call's name; called before the call is released. */
void gw_proxy_identity_unbind(grpc_call *call);
/* Copies the name recorded for call into name (cap bytes); false when it has none. */
bool gw_proxy_identity_lookup(grpc_call *call, char *name, size_t cap);

#endif
