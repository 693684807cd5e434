/* PEM files for TLS: certificates, CA bundles and private keys. The contents go to gRPC
 * as strings; a key's copy is wiped before it is freed. */
#include "custos/pemfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "custos/secretmode.h"

/* Large enough for a long chain or CA bundle; a bigger file is a mistake. */
#define PEM_MAX_BYTES (1024 * 1024)

custos_rc custos_pem_read(const char *path, bool secret, char **out, custos_error *err)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return custos_error_set(err, CUSTOS_ERR_INVALID, "no PEM file path given");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s", path,
                                strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int saved = errno;
        (void)close(fd);
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot stat: %s", path,
                                strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        (void)close(fd);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: not a regular file", path);
    }
    if (secret) {
        custos_rc rc = custos_secret_mode_check("private key", path, st.st_mode, st.st_uid,
                                                geteuid(), err);
        if (rc != CUSTOS_OK) {
            (void)close(fd);
            return rc;
        }
    }
    if (st.st_size <= 0 || st.st_size > PEM_MAX_BYTES) {
        (void)close(fd);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s", path,
                                st.st_size <= 0 ? "empty file" : "larger than 1 MiB");
    }
    size_t cap = (size_t)st.st_size;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        (void)close(fd);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    int saved = errno;
    (void)close(fd);
    buf[len] = '\0';
    if (len != cap) {
        custos_pem_free(buf);
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: short read: %s", path,
                                strerror(saved));
    }
    if (strstr(buf, "-----BEGIN ") == NULL || strlen(buf) != len) {
        OPENSSL_cleanse(buf, len);
        free(buf);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: not a PEM file (no -----BEGIN line)",
                                path);
    }
    *out = buf;
    return CUSTOS_OK;
}

void custos_pem_free(char *pem)
{
    if (pem == NULL)
        return;
    OPENSSL_cleanse(pem, strlen(pem));
    free(pem);
}
