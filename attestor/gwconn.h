/* How a custos-attestor command reaches the gateway: its address and transport security.
 * TLS unless --insecure, as for the custos CLI and the gateway itself. */
#ifndef AT_GWCONN_H
#define AT_GWCONN_H

#include "clopt.h"
#include "custos/client.h"
#include "custos/error.h"

/* The gateway options of the command line (cli/clopt), also filled from the daemon's
 * config: target NULL when the command does not submit. */
typedef clopt_gateway at_gateway;

#define AT_GATEWAY_USAGE \
    "[--tls-ca F] [--tls-cert F --tls-key F] [--insecure] [--timeout-ms N]"

/* Opens a client; every file and combination is checked by custos_client_open. Each call's
 * deadline is --timeout-ms when given, else timeout_ms (0: the client's default). */
custos_rc at_gateway_connect(const at_gateway *g, int timeout_ms, custos_client **out,
                             custos_error *err);

#endif
