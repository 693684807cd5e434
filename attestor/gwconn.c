#include "gwconn.h"

custos_rc at_gateway_connect(const at_gateway *g, int timeout_ms, custos_client **out,
                             custos_error *err)
{
    int deadline_ms;
    if (!clopt_gateway_timeout(g, timeout_ms, &deadline_ms, err))
        return err->code;
    const custos_client_options opts = {
        .target = g->target,
        .timeout_ms = deadline_ms,
        .ca_file = g->tls_ca,
        .cert_file = g->tls_cert,
        .key_file = g->tls_key,
        .insecure = g->insecure,
    };
    return custos_client_open(&opts, out, err);
}
