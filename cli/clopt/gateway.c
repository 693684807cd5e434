/* The gateway options, declared once for every command of either program that talks to a
 * gateway. The address and TLS files also come from the environment, so that a shell set up
 * once for one gateway does not repeat four options on every command; a plaintext
 * --insecure run ignores the TLS variables, since no file goes with it. */
#include "clopt.h"

#include <string.h>

const clopt clopt_gateway_options[] = {
    {"gateway", "HOST:PORT", CLOPT_STR, offsetof(clopt_gateway, target),
     "the gateway's address"},
    {"tls-ca", "FILE", CLOPT_STR, offsetof(clopt_gateway, tls_ca),
     "CA of the gateway's certificate (default: the system's roots)"},
    {"tls-cert", "FILE", CLOPT_STR, offsetof(clopt_gateway, tls_cert),
     "client certificate, with --tls-key (for a gateway with client_ca)"},
    {"tls-key", "FILE", CLOPT_STR, offsetof(clopt_gateway, tls_key),
     "private key of --tls-cert (readable by its owner only)"},
    {"insecure", NULL, CLOPT_FLAG, offsetof(clopt_gateway, insecure),
     "plaintext, for a gateway run with [tls] insecure = true"},
    {"timeout-ms", "N", CLOPT_U64, offsetof(clopt_gateway, timeout_ms),
     "deadline of each call to the gateway, in milliseconds (default 10000)"},
    {0}};

const clopt_env clopt_gateway_env[] = {
    {"gateway", CLOPT_ENV_GATEWAY, NULL},
    {"tls-ca", CLOPT_ENV_CA, "insecure"},
    {"tls-cert", CLOPT_ENV_CERT, "insecure"},
    {"tls-key", CLOPT_ENV_KEY, "insecure"},
    {NULL, NULL, NULL}};

bool clopt_gateway_timeout(const clopt_gateway *gw, int fallback_ms, int *timeout_ms,
                           custos_error *err)
{
    *timeout_ms = fallback_ms;
    if (gw->timeout_ms == 0)
        return true;
    if (gw->timeout_ms > CLOPT_TIMEOUT_MS_MAX) {
        (void)custos_error_set(err, CUSTOS_ERR_INVALID,
                               "--timeout-ms: %llu is more than a day (%u)",
                               (unsigned long long)gw->timeout_ms, CLOPT_TIMEOUT_MS_MAX);
        return false;
    }
    *timeout_ms = (int)gw->timeout_ms;
    return true;
}

/* The variable that gives option o when the command line does not, or NULL. */
const clopt_env *clopt_env_of(const clopt *o)
{
    /* Only the shared gateway options: a command's own --key is no CUSTOS_KEY. */
    bool shared = false;
    for (const clopt *g = clopt_gateway_options; g->name != NULL && !shared; g++)
        shared = g == o;
    if (!shared)
        return NULL;
    for (const clopt_env *e = clopt_gateway_env; e->option != NULL; e++)
        if (strcmp(e->option, o->name) == 0)
            return e;
    return NULL;
}
