/* The gateway's front proxy for integration tests: nginx run with the shipped
 * deploy/nginx/custos-gateway.conf, its site values (listen port, TLS files, the gateway's
 * socket) replaced by the test's, from a temporary prefix (no root paths), in the
 * foreground, stopped by the test. Every helper fails the test on error. */
#ifndef CUSTOS_FRONTPROXY_H
#define CUSTOS_FRONTPROXY_H

#include "custos/client.h"

#include "gwfixture.h"
#include "testutil.h"

typedef struct fpx {
    char dir[1100]; /* its configs, pid file, temp files and error log */
    int port;       /* its TLS port on 127.0.0.1 */
    tu_proc proc;
} fpx;

/* Writes the shipped config into dir with the site values replaced: listen on a free
 * loopback port, <pki_dir>/server.pem and server.key as its certificate, <pki_dir>/ca.pem
 * as the client CA, and the gateway at unix:<gateway_socket>. Then starts nginx and waits
 * until the port accepts connections. */
void fpx_start(fpx *p, const char *dir, const char *pki_dir, const char *gateway_socket);
/* Stops nginx (SIGQUIT, then SIGKILL after a few seconds). Safe to call twice. */
void fpx_stop(fpx *p);
/* Prints nginx's error log to stderr (for failures). */
void fpx_dump_log(const fpx *p);
/* The text of deploy/nginx/custos-gateway.conf with the site values replaced (malloc'd). */
char *fpx_site_config(const char *pki_dir, const char *gateway_socket, int port);

/* The whole deployment: a test CA under <f.dir>/pki with nginx's server certificate
 * (localhost) and one client certificate per name of certs (common name = the name), the
 * gateway of gwf_write_config listening on unix:<f.dir>/gateway.sock with
 * client_identity = proxy-header and the [client] entries of clients_ini, and nginx in
 * front of it. */
typedef struct fpx_stack {
    gwf f;
    fpx proxy;
    char pki[1100];
    char socket[1100];
    char target[64]; /* nginx's host:port for clients */
} fpx_stack;

void fpx_stack_start(fpx_stack *s, const char *clients_ini, const char *const certs[]);
/* The same PKI and clients without the proxy: the gateway itself serves mTLS on
 * 127.0.0.1 (its own client certificates, [tls] client_ca), gateway_bin when not NULL. */
void fpx_stack_start_bare(fpx_stack *s, const char *clients_ini, const char *const certs[],
                          const char *gateway_bin);
/* Stops nginx and the gateway, removes everything. */
void fpx_stack_cleanup(fpx_stack *s);
/* A client of nginx presenting certificate `cert` (NULL: none); every call bounded by
 * timeout_ms. */
custos_client *fpx_stack_client(fpx_stack *s, const char *cert, int timeout_ms);

#endif
