/* Caller identities from the front proxy.
 *
 * gRPC core runs an auth metadata processor on every call's initial metadata before the
 * call reaches the services: ours fails a call without exactly one well-formed identity
 * header (UNAUTHENTICATED: it did not come through the proxy). When the server then takes
 * the call, gw_proxy_identity_bind records the header's value under the call, where
 * tls.c looks it up. */
#include "rpc/proxy_identity.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/slice.h>

#include "log.h"

/* Buckets of the call -> name table; calls in flight are bounded by gRPC's streams. */
#define BIND_BUCKETS 1024

bool gw_proxy_identity_header_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > GW_IDENTITY_HEADER_MAX || name[0] == '-' ||
        strncmp(name, "grpc-", 5) == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

bool gw_proxy_identity_listen_local(const char *listen)
{
    /* unix:/path only: an abstract socket (unix-abstract:) has no permissions to keep
     * other local users away from it. */
    if (strncmp(listen, "unix:", 5) == 0)
        return listen[5] == '/';
    char host[128];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host)
        return false;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return true;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

const char *gw_proxy_identity_check(const gw_config *cfg, char *why, size_t cap)
{
    const gw_tls_config *t = &cfg->tls;
    if (t->client_identity != GW_IDENTITY_PROXY_HEADER) {
        if (strcmp(t->client_identity_header, GW_IDENTITY_HEADER_DEFAULT) != 0) {
            snprintf(why, cap, "only used with client_identity = proxy-header");
            return "client_identity_header";
        }
        return NULL;
    }
    if (t->client_ca[0] != '\0') {
        snprintf(why, cap, "proxy-header contradicts client_ca: identities come from the "
                 "gateway's own client certificates or from the front proxy, not both");
        return "client_identity";
    }
    if (!gw_proxy_identity_listen_local(cfg->listen)) {
        snprintf(why, cap, "proxy-header needs [gateway] listen on loopback or a Unix socket "
                 "(unix:/path), not %.60s: any client reaching it could claim any identity",
                 cfg->listen);
        return "client_identity";
    }
    return NULL;
}

bool gw_identity_known(const gw_config *cfg)
{
    return cfg->tls.client_ca[0] != '\0' ||
           cfg->tls.client_identity == GW_IDENTITY_PROXY_HEADER;
}

/* The processor's own copy of the header name: it outlives any reload of the config. */
typedef struct proxy_state {
    char header[GW_IDENTITY_HEADER_MAX + 1];
} proxy_state;

static bool slice_is(grpc_slice s, const char *text)
{
    size_t len = strlen(text);
    return GRPC_SLICE_LENGTH(s) == len && memcmp(GRPC_SLICE_START_PTR(s), text, len) == 0;
}

/* A common name as a [client] entry can name it: 1 to GW_CLIENT_NAME_MAX printable
 * characters (no NUL, no control characters). */
static bool name_valid(grpc_slice v)
{
    size_t len = GRPC_SLICE_LENGTH(v);
    const unsigned char *p = GRPC_SLICE_START_PTR(v);
    if (len == 0 || len > GW_CLIENT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e)
            return false;
    return true;
}

static void proxy_process(void *state, grpc_auth_context *ctx, const grpc_metadata *md,
                          size_t n, grpc_process_auth_metadata_done_cb cb, void *user_data)
{
    /* ctx is the connection's, shared by every call on it: nothing is written there. */
    const proxy_state *ps = state;
    const grpc_metadata *found = NULL;
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (slice_is(md[i].key, ps->header)) {
            found = &md[i];
            count++;
        }
    if (count != 1 || !name_valid(found->value)) {
        cb(user_data, NULL, 0, NULL, 0, GRPC_STATUS_UNAUTHENTICATED,
           count == 0 ? "no client identity: this gateway serves only through its front "
                        "proxy, which identifies callers by their client certificate"
                      : "malformed client identity from the front proxy");
        return;
    }
    cb(user_data, NULL, 0, NULL, 0, GRPC_STATUS_OK, NULL);
}

static void proxy_destroy(void *state)
{
    free(state);
}

custos_rc gw_proxy_identity_install(const gw_config *cfg, grpc_server_credentials *creds,
                                    custos_error *err)
{
    if (cfg->tls.client_identity != GW_IDENTITY_PROXY_HEADER)
        return CUSTOS_OK;
    proxy_state *ps = calloc(1, sizeof *ps);
    if (ps == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory for the proxy identity");
    snprintf(ps->header, sizeof ps->header, "%s", cfg->tls.client_identity_header);
    grpc_auth_metadata_processor proc = {.process = proxy_process, .destroy = proxy_destroy,
                                         .state = ps};
    grpc_server_credentials_set_auth_metadata_processor(creds, proc);
    gw_log(GW_LOG_INFO, "tls.proxy_identity",
           "callers are identified by the front proxy's %s header on %s; calls without it "
           "are refused", ps->header, cfg->listen);
    return CUSTOS_OK;
}

typedef struct binding {
    grpc_call *call;
    char name[GW_CLIENT_NAME_MAX + 1];
    struct binding *next;
} binding;

static pthread_mutex_t bind_mu = PTHREAD_MUTEX_INITIALIZER;
static binding *bind_table[BIND_BUCKETS];

static size_t bind_bucket(const grpc_call *call)
{
    uintptr_t v = (uintptr_t)call;
    return (size_t)((v >> 4) ^ (v >> 14)) % BIND_BUCKETS;
}

void gw_proxy_identity_bind(const gw_config *cfg, grpc_call *call,
                            const grpc_metadata_array *md)
{
    if (cfg->tls.client_identity != GW_IDENTITY_PROXY_HEADER)
        return;
    const grpc_metadata *found = NULL;
    size_t count = 0;
    for (size_t i = 0; i < md->count; i++)
        if (slice_is(md->metadata[i].key, cfg->tls.client_identity_header)) {
            found = &md->metadata[i];
            count++;
        }
    if (count != 1 || !name_valid(found->value))
        return;
    binding *b = calloc(1, sizeof *b);
    if (b == NULL)
        return;
    b->call = call;
    memcpy(b->name, GRPC_SLICE_START_PTR(found->value), GRPC_SLICE_LENGTH(found->value));
    size_t k = bind_bucket(call);
    pthread_mutex_lock(&bind_mu);
    b->next = bind_table[k];
    bind_table[k] = b;
    pthread_mutex_unlock(&bind_mu);
}

void gw_proxy_identity_unbind(grpc_call *call)
{
    size_t k = bind_bucket(call);
    binding *gone = NULL;
    pthread_mutex_lock(&bind_mu);
    for (binding **pp = &bind_table[k]; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->call == call) {
            gone = *pp;
            *pp = gone->next;
            break;
        }
    pthread_mutex_unlock(&bind_mu);
    free(gone);
}

bool gw_proxy_identity_lookup(grpc_call *call, char *name, size_t cap)
{
    bool found = false;
    size_t k = bind_bucket(call);
    pthread_mutex_lock(&bind_mu);
    for (const binding *b = bind_table[k]; b != NULL; b = b->next)
        if (b->call == call) {
            found = strlen(b->name) < cap;
            if (found)
                memcpy(name, b->name, strlen(b->name) + 1);
            break;
        }
    pthread_mutex_unlock(&bind_mu);
    return found;
}
