#include "gwconn.h"

#include <stddef.h>

bool at_gateway_take_option(at_gateway *g, int opt, const char *arg)
{
    switch (opt) {
    case AT_OPT_TLS_CA: g->tls_ca = arg; return true;
    case AT_OPT_TLS_CERT: g->tls_cert = arg; return true;
    case AT_OPT_TLS_KEY: g->tls_key = arg; return true;
    case AT_OPT_INSECURE: g->insecure = true; return true;
    default: return false;
    }
}

custos_rc at_gateway_connect(const at_gateway *g, int timeout_ms, custos_client **out,
                             custos_error *err)
{
    const custos_client_options opts = {
        .target = g->target,
        .timeout_ms = timeout_ms,
        .ca_file = g->tls_ca,
        .cert_file = g->tls_cert,
        .key_file = g->tls_key,
        .insecure = g->insecure,
    };
    return custos_client_open(&opts, out, err);
}
