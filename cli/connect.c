#include "connect.h"

#include "cli.h"

int cli_connect(const clopt_gateway *gw, custos_client **client)
{
    custos_error err;
    int timeout_ms;
    if (!clopt_gateway_timeout(gw, 0, &timeout_ms, &err)) {
        cli_fail("%s", err.message);
        return EXIT_FAIL;
    }
    const custos_client_options o = {
        .target = gw->target,
        .timeout_ms = timeout_ms,
        .ca_file = gw->tls_ca,
        .cert_file = gw->tls_cert,
        .key_file = gw->tls_key,
        .insecure = gw->insecure,
    };
    custos_rc rc = custos_client_open(&o, client, &err);
    if (rc != CUSTOS_OK) {
        cli_fail("cannot use gateway %s: %s", gw->target, err.message);
        return cli_exit_for(rc);
    }
    return EXIT_OK;
}
