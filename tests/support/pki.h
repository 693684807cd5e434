/* Test PKI made with the openssl command line: a CA and the server and client
 * certificates it signs, as <dir>/<name>.pem and <dir>/<name>.key. Every helper fails
 * the test on error. */
#ifndef CUSTOS_PKI_H
#define CUSTOS_PKI_H

#include <stddef.h>

/* Extensions of a loopback server certificate and of a client certificate. */
#define PKI_SERVER_EXT "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
#define PKI_CLIENT_EXT "extendedKeyUsage=clientAuth\n"

/* out = <dir>/<name><suffix>. */
void pki_path(const char *dir, const char *name, const char *suffix, char *out, size_t cap);
/* A self-signed P-256 CA valid two days: <dir>/<name>.pem, <dir>/<name>.key. */
void pki_make_ca(const char *dir, const char *name, const char *cn);
/* <dir>/<name>.pem and <dir>/<name>.key (mode 0600) for cn, signed by CA <dir>/<ca>,
 * with the openssl extensions ext (e.g. PKI_SERVER_EXT). */
void pki_make_cert(const char *dir, const char *name, const char *cn, const char *ca,
                   const char *ext);

#endif
