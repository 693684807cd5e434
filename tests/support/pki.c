/* Test PKI made with the openssl command line (see pki.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "pki.h"
#include "testutil.h"

#define OPENSSL "/usr/bin/openssl"
#define PKI_PATH_CAP 1200

void pki_path(const char *dir, const char *name, const char *suffix, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, name, suffix);
    assert_true(n > 0 && (size_t)n < cap);
}

static void openssl(const char *const argv[])
{
    char out[8192];
    int rc = tu_run(argv, out, sizeof out, 1);
    if (rc != 0)
        fail_msg("openssl %s failed (%d): %s", argv[1], rc, out);
}

void pki_make_ca(const char *dir, const char *name, const char *cn)
{
    char key[PKI_PATH_CAP], pem[PKI_PATH_CAP], subj[128];
    pki_path(dir, name, ".key", key, sizeof key);
    pki_path(dir, name, ".pem", pem, sizeof pem);
    int n = snprintf(subj, sizeof subj, "/CN=%s", cn);
    assert_true(n > 0 && (size_t)n < sizeof subj);
    const char *argv[] = {OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                          "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", pem,
                          "-days", "2", "-subj", subj, "-addext",
                          "basicConstraints=critical,CA:TRUE", "-addext",
                          "keyUsage=critical,keyCertSign,cRLSign", NULL};
    openssl(argv);
}

void pki_make_cert(const char *dir, const char *name, const char *cn, const char *ca,
                   const char *ext)
{
    char key[PKI_PATH_CAP], csr[PKI_PATH_CAP], pem[PKI_PATH_CAP], ca_pem[PKI_PATH_CAP],
        ca_key[PKI_PATH_CAP], ext_path[PKI_PATH_CAP], subj[128];
    pki_path(dir, name, ".key", key, sizeof key);
    pki_path(dir, name, ".csr", csr, sizeof csr);
    pki_path(dir, name, ".pem", pem, sizeof pem);
    pki_path(dir, ca, ".pem", ca_pem, sizeof ca_pem);
    pki_path(dir, ca, ".key", ca_key, sizeof ca_key);
    pki_path(dir, name, ".ext", ext_path, sizeof ext_path);
    int n = snprintf(subj, sizeof subj, "/CN=%s", cn);
    assert_true(n > 0 && (size_t)n < sizeof subj);
    tu_write_file(ext_path, ext);
    const char *req[] = {OPENSSL, "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                         "-subj", subj, NULL};
    openssl(req);
    const char *sign[] = {OPENSSL, "x509", "-req", "-in", csr, "-CA", ca_pem,
                          "-CAkey", ca_key, "-CAcreateserial", "-out", pem, "-days", "2",
                          "-extfile", ext_path, NULL};
    openssl(sign);
    assert_int_equal(chmod(key, 0600), 0);
}
