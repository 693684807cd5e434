/* The gateway options, declared once for every command of either program that talks to a
 * gateway. */
#include "clopt.h"

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
    {0}};
