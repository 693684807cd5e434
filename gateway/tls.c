/* Transport security of the gRPC port.
 *
 * Callers are identified by their client certificate's subject common name, which the
 * gRPC core exposes as the "x509_common_name" property of the call's auth context. The
 * name is trusted because the handshake already verified the certificate against
 * client_ca: that CA must issue certificates for Custos clients only. Behind the front
 * proxy (client_identity = proxy-header) the proxy verified it, and the name is the one
 * it sent for the call (proxy_identity.c). */
#include "tls.h"

#include <stdio.h>
#include <string.h>

#include <grpc/support/alloc.h>

#include "custos/pemfile.h"

#include "log.h"
#include "rpc/proxy_identity.h"

#define TLS_CN_PROPERTY "x509_common_name"

/* Behind the front proxy, identities come from its header (proxy_identity.c). */
static custos_rc tls_install_identity(const gw_config *cfg, grpc_server_credentials **out,
                                      custos_error *err)
{
    custos_rc rc = gw_proxy_identity_install(cfg, *out, err);
    if (rc != CUSTOS_OK) {
        grpc_server_credentials_release(*out);
        *out = NULL;
    }
    return rc;
}

custos_rc gw_tls_files_read(const gw_config *cfg, gw_tls_files *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    const gw_tls_config *t = &cfg->tls;
    if (t->insecure)
        return CUSTOS_OK;
    if (t->cert[0] == '\0')
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "no transport security configured: set [tls] cert and key "
                                "(PEM server certificate and key; client_ca to require client "
                                "certificates), or [tls] insecure = true to serve plaintext");
    custos_rc rc = custos_pem_read(t->cert, false, &out->cert, err);
    if (rc == CUSTOS_OK)
        rc = custos_pem_read(t->key, true, &out->key, err);
    if (rc == CUSTOS_OK && t->client_ca[0] != '\0')
        rc = custos_pem_read(t->client_ca, false, &out->client_ca, err);
    if (rc != CUSTOS_OK)
        gw_tls_files_free(out);
    return rc;
}

void gw_tls_files_free(gw_tls_files *f)
{
    custos_pem_free(f->cert);
    custos_pem_free(f->key);
    custos_pem_free(f->client_ca);
    memset(f, 0, sizeof *f);
}

custos_rc gw_tls_server_credentials(const gw_config *cfg, grpc_server_credentials **out,
                                    custos_error *err)
{
    *out = NULL;
    const gw_tls_config *t = &cfg->tls;
    gw_tls_files files;
    custos_rc rc = gw_tls_files_read(cfg, &files, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (t->insecure) {
        gw_log(GW_LOG_WARN, "tls.insecure",
               "[tls] insecure = true: serving plaintext gRPC on %s; submissions, answers "
               "and caller identities are unprotected on the network", cfg->listen);
        *out = grpc_insecure_server_credentials_create();
        if (*out == NULL)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "cannot create plaintext credentials");
        return tls_install_identity(cfg, out, err);
    }
    grpc_ssl_pem_key_cert_pair pair = {.private_key = files.key, .cert_chain = files.cert};
    grpc_ssl_client_certificate_request_type req =
        files.client_ca != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
    *out = grpc_ssl_server_credentials_create_ex(files.client_ca, &pair, 1, req, NULL);
    if (*out == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "[tls] cert %s / key %s: gRPC refused them (not a "
                              "certificate and its matching key?)", t->cert, t->key);
    gw_tls_files_free(&files);
    if (rc == CUSTOS_OK)
        gw_log(GW_LOG_INFO, "tls", "TLS on %s, %s", cfg->listen,
               t->client_ca[0] != '\0' ? "client certificates required" : "no client certificates");
    return rc == CUSTOS_OK ? tls_install_identity(cfg, out, err) : rc;
}

/* Copies the caller's common name into cn; false when the call has none. */
static bool tls_peer_name(const gw_config *cfg, grpc_call *call, char *cn, size_t cap)
{
    if (cfg->tls.client_identity == GW_IDENTITY_PROXY_HEADER)
        return gw_proxy_identity_lookup(call, cn, cap);
    grpc_auth_context *ctx = grpc_call_auth_context(call);
    if (ctx == NULL)
        return false;
    bool found = false;
    if (grpc_auth_context_peer_is_authenticated(ctx)) {
        grpc_auth_property_iterator it =
            grpc_auth_context_find_properties_by_name(ctx, TLS_CN_PROPERTY);
        const grpc_auth_property *prop = grpc_auth_property_iterator_next(&it);
        if (prop != NULL && prop->value != NULL && prop->value_length < cap) {
            memcpy(cn, prop->value, prop->value_length);
            cn[prop->value_length] = '\0';
            /* A name with an embedded NUL could pass for a shorter configured one. */
            found = strlen(cn) == prop->value_length;
        }
    }
    grpc_auth_context_release(ctx);
    return found;
}

/* Whether the caller's [client] entry has role admin, or auditor when reads_only. */
static bool tls_admin_role(const gw_config *cfg, grpc_call *call, bool reads_only,
                           char name[GW_CLIENT_NAME_MAX + 1], char *detail, size_t cap)
{
    if (!gw_identity_known(cfg)) {
        snprintf(detail, cap, "the admin service needs client certificates: this gateway "
                 "runs without [tls] client_ca, so it serves no admin calls");
        return false;
    }
    char cn[GW_CLIENT_NAME_MAX + 1];
    if (!tls_peer_name(cfg, call, cn, sizeof cn)) {
        snprintf(detail, cap, "the client certificate has no usable common name");
        return false;
    }
    const gw_client *cl = gw_config_find_client(cfg, cn);
    bool ok = cl != NULL && (cl->role == GW_CLIENT_ADMIN ||
                             (reads_only && cl->role == GW_CLIENT_AUDITOR));
    if (!ok && cl != NULL && cl->role == GW_CLIENT_AUDITOR) {
        snprintf(detail, cap, "client '%s' is an auditor: it reads the audit log and the "
                 "registered accounts, and changes nothing (role = admin does)", cn);
        return false;
    }
    if (!ok) {
        snprintf(detail, cap, "client '%s' is not an admin: the admin service needs a "
                 "[client] entry with role = admin%s", cn,
                 reads_only ? " (or role = auditor to read)" : "");
        return false;
    }
    memcpy(name, cn, sizeof cn);
    return true;
}

bool gw_tls_may_administer(const gw_config *cfg, grpc_call *call,
                           char name[GW_CLIENT_NAME_MAX + 1], char *detail, size_t cap)
{
    return tls_admin_role(cfg, call, false, name, detail, cap);
}

bool gw_tls_may_audit(const gw_config *cfg, grpc_call *call, char name[GW_CLIENT_NAME_MAX + 1],
                      char *detail, size_t cap)
{
    return tls_admin_role(cfg, call, true, name, detail, cap);
}

bool gw_tls_may_submit(const gw_config *cfg, grpc_call *call, const char *feed, char *detail,
                       size_t cap)
{
    if (!gw_identity_known(cfg))
        return true;
    char cn[GW_CLIENT_NAME_MAX + 1];
    if (!tls_peer_name(cfg, call, cn, sizeof cn)) {
        snprintf(detail, cap, "the client certificate has no usable common name");
        return false;
    }
    const gw_client *cl = gw_config_find_client(cfg, cn);
    if (cl == NULL) {
        snprintf(detail, cap, "client certificate '%s' has no [client] entry: it may read, "
                 "not submit", cn);
        return false;
    }
    if (cl->role != GW_CLIENT_ATTESTOR) {
        snprintf(detail, cap, "client '%s' has role %s: only an attestor submits", cn,
                 gw_client_role_name(cl->role));
        return false;
    }
    for (size_t i = 0; i < cl->n_feeds; i++)
        if (strcmp(cl->feeds[i], feed) == 0)
            return true;
    snprintf(detail, cap, "client '%s' may not submit for feed '%s'", cn, feed);
    return false;
}

void gw_tls_client_name(const gw_config *cfg, grpc_call *call, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    if (gw_identity_known(cfg) && tls_peer_name(cfg, call, out, cap))
        return;
    /* "ipv4:10.0.0.1:5000", "ipv6:[::1]:5000": the address without the port, so that
     * opening more connections does not make a client someone else. */
    char *peer = grpc_call_get_peer(call);
    if (peer == NULL)
        return;
    const char *host = peer;
    if (strncmp(host, "ipv4:", 5) == 0 || strncmp(host, "ipv6:", 5) == 0)
        host += 5;
    size_t len = strlen(host);
    const char *colon = strrchr(host, ':');
    if (colon != NULL && (host[0] != '[' || (colon > host && colon[-1] == ']')))
        len = (size_t)(colon - host);
    snprintf(out, cap, "%.*s", (int)(len < cap ? len : cap - 1), host);
    gpr_free(peer);
}

bool gw_tls_may_read_positions(const gw_config *cfg, grpc_call *call, const char *feed,
                               char *detail, size_t cap)
{
    if (!gw_identity_known(cfg)) {
        if (cfg->public_proofs)
            return true;
        snprintf(detail, cap, "positions are served only to clients identified by a "
                 "certificate ([tls] client_ca), or to anyone with [gateway] "
                 "public_proofs = true");
        return false;
    }
    char cn[GW_CLIENT_NAME_MAX + 1];
    if (!tls_peer_name(cfg, call, cn, sizeof cn)) {
        snprintf(detail, cap, "the client certificate has no usable common name");
        return false;
    }
    const gw_client *cl = gw_config_find_client(cfg, cn);
    if (cl == NULL) {
        snprintf(detail, cap, "client certificate '%s' has no [client] entry: positions "
                 "are served to admins and to clients listing the account's feed", cn);
        return false;
    }
    if (cl->role == GW_CLIENT_ADMIN)
        return true;
    for (size_t i = 0; i < cl->n_feeds; i++)
        if (strcmp(cl->feeds[i], feed) == 0)
            return true;
    snprintf(detail, cap, "client '%s' may not read positions of feed '%s' (not in its feeds)",
             cn, feed);
    return false;
}
