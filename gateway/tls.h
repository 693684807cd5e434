/* Transport security of the gRPC port ([tls], [client NAME] in the config): the server's
 * credentials and, with client certificates, who may submit for which feed. */
#ifndef GATEWAY_TLS_H
#define GATEWAY_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "custos/error.h"

#include "config/config.h"

/* The PEM files of [tls], read and checked (gw_tls_files_read); NULL where not configured. */
typedef struct gw_tls_files {
    char *cert, *key, *client_ca;
} gw_tls_files;

/* What start needs of [tls] before it creates credentials, without side effects (start
 * and --check-config both call it, preflight.h): refuses a config with neither cert/key
 * nor insecure = true, and reads cert, key and client_ca (a missing or unreadable file, a
 * file without a PEM block, a private key readable by group or others, each naming the
 * file). With insecure = true nothing is read. Release with gw_tls_files_free. */
CUSTOS_MUST_USE
custos_rc gw_tls_files_read(const gw_config *cfg, gw_tls_files *out, custos_error *err);
void gw_tls_files_free(gw_tls_files *f);

/* TLS credentials from [tls] cert/key (and client_ca: client certificates required and
 * verified), or plaintext when insecure = true, which is logged as a warning. Refuses a
 * config with neither, a private key readable by group or others, and unreadable or
 * non-PEM files. *out is released with grpc_server_credentials_release. */
CUSTOS_MUST_USE
custos_rc gw_tls_server_credentials(const gw_config *cfg, grpc_server_credentials **out,
                                    custos_error *err);

/* Whether the caller of call may submit for feed: always true without client_ca (no
 * caller identity exists); otherwise its certificate's common name must name a [client]
 * with role attestor that lists feed. On false, detail says why. */
bool gw_tls_may_submit(const gw_config *cfg, grpc_call *call, const char *feed, char *detail,
                       size_t cap);

/* Whether the caller of call may use the admin service (custos.v1.GatewayAdmin): only over
 * mTLS (client_ca set), with a certificate whose common name names a [client] with role
 * admin. On true, name (GW_CLIENT_NAME_MAX + 1 bytes) gets that common name; on false,
 * detail says why. */
bool gw_tls_may_administer(const gw_config *cfg, grpc_call *call,
                           char name[GW_CLIENT_NAME_MAX + 1], char *detail, size_t cap);
/* The same for the admin service's reads (the audit log, the registered accounts): role
 * admin or auditor. */
bool gw_tls_may_audit(const gw_config *cfg, grpc_call *call, char name[GW_CLIENT_NAME_MAX + 1],
                      char *detail, size_t cap);
/* The name the per-client limits count the caller under: its certificate's common name
 * when client certificates are required, its IP address otherwise (or when the
 * certificate has no usable name). Empty when the gRPC core knows neither. */
void gw_tls_client_name(const gw_config *cfg, grpc_call *call, char *out, size_t cap);
/* Whether the caller of call may read the positions of an account of feed: with client
 * certificates, a [client] with role admin, or any role listing feed; without them (no
 * caller identity), only when [gateway] public_proofs = true. On false, detail says why. */
bool gw_tls_may_read_positions(const gw_config *cfg, grpc_call *call, const char *feed,
                               char *detail, size_t cap);

#endif
