/* How a custos-attestor command reaches the gateway: its address and transport security.
 * TLS unless --insecure, as for the custos CLI and the gateway itself. */
#ifndef AT_GWCONN_H
#define AT_GWCONN_H

#include <stdbool.h>

#include "custos/client.h"
#include "custos/error.h"

typedef struct at_gateway {
    const char *target;     /* host:port; NULL when the command does not submit */
    const char *tls_ca;     /* CA trusted for the gateway's certificate; NULL: system roots */
    const char *tls_cert;   /* client certificate (mTLS), with tls_key */
    const char *tls_key;
    bool insecure;          /* plaintext, for a gateway run with [tls] insecure = true */
} at_gateway;

/* getopt_long values of the gateway's transport options, above every short option. */
enum { AT_OPT_TLS_CA = 0x100, AT_OPT_TLS_CERT, AT_OPT_TLS_KEY, AT_OPT_INSECURE };

/* The entries to put in a command's option table (before its terminating zero entry). */
#define AT_GATEWAY_OPTIONS                                                                  \
    {"tls-ca", required_argument, NULL, AT_OPT_TLS_CA},                                     \
        {"tls-cert", required_argument, NULL, AT_OPT_TLS_CERT},                             \
        {"tls-key", required_argument, NULL, AT_OPT_TLS_KEY},                               \
        {"insecure", no_argument, NULL, AT_OPT_INSECURE}

#define AT_GATEWAY_USAGE "[--tls-ca F] [--tls-cert F --tls-key F] [--insecure]"

/* Records one getopt_long result; false when it is not a transport option. */
bool at_gateway_take_option(at_gateway *g, int opt, const char *arg);

/* Opens a client; every file and combination is checked by custos_client_open. */
custos_rc at_gateway_connect(const at_gateway *g, int timeout_ms, custos_client **out,
                             custos_error *err);

#endif
