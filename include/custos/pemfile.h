/* PEM files of TLS certificates and keys, read whole for gRPC's credentials. */
#ifndef CUSTOS_PEMFILE_H
#define CUSTOS_PEMFILE_H

#include <stdbool.h>

#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads path into a malloc'd NUL-terminated string (*out). secret: the file holds a
 * private key, so a mode custos_secret_mode_check refuses is refused. The file must
 * contain a PEM block. Messages name the file and what to do, never its contents. */
CUSTOS_MUST_USE
custos_rc custos_pem_read(const char *path, bool secret, char **out, custos_error *err);
/* Wipes and frees a string from custos_pem_read. Safe on NULL. */
void custos_pem_free(char *pem);

#ifdef __cplusplus
}
#endif
#endif
