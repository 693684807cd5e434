/* --check-config refuses what start would refuse (preflight.h), in the same words: a table
 * of configs, each one thing wrong with an otherwise valid gateway config (TLS with a
 * server certificate, [evm] with a relayer key file, [metrics]). For each, the real
 * custos-gateway --check-config exits 1 naming the problem, and a start of the same config
 * (bounded by timeout(1): one that served would be killed, failing the test) exits 1 with
 * the same message. The valid config passes the check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "custos/hex.h"
#include "custos/keyfile.h"
#include "gwfixture.h"
#include "pki.h"

/* anvil's well-known development key 1: a public test key. */
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

static gwf F;
static char *BASE; /* gwf's config without its [tls] section */
static char CERT[1200], KEY[1200], CA[1200], RELAYER[1200];

typedef struct cc_case {
    const char *name;
    /* printf format of the sections after BASE, with the directory as its every %1$s. */
    const char *sections;
    /* Done to the files (or BASE) before the run, undone after (NULL: nothing). */
    void (*prepare)(bool undo);
    const char *message; /* in stderr of both the check and the start */
} cc_case;

#define TLS_OK "[tls]\ncert = %1$s/server.pem\nkey = %1$s/server.key\nclient_ca = %1$s/ca.pem\n\n"
#define EVM_OK "[evm]\nrpc_url = http://127.0.0.1:9\nrelayer_key = %1$s/relayer.key\n\n"
#define METRICS_OK "[metrics]\nlisten = 127.0.0.1:0\n\n"

static void key_world_readable(bool undo)
{
    assert_int_equal(chmod(KEY, undo ? 0600 : 0644), 0);
}

static void relayer_world_readable(bool undo)
{
    assert_int_equal(chmod(RELAYER, undo ? 0600 : 0644), 0);
}

static void cert_not_pem(bool undo)
{
    static char *saved;
    if (!undo) {
        saved = tu_read_file(CERT);
        assert_non_null(saved);
        tu_write_file(CERT, "not a certificate\n");
    } else {
        tu_write_file(CERT, saved);
        free(saved);
        saved = NULL;
    }
}

/* The SQLite store in a directory that does not exist (BASE names <dir>/custos.db). */
static void store_in_missing_dir(bool undo)
{
    static char *saved;
    if (undo) {
        free(BASE);
        BASE = saved;
        saved = NULL;
        return;
    }
    char from[1200], to[1300];
    snprintf(from, sizeof from, "store = %s/custos.db\n", F.dir);
    snprintf(to, sizeof to, "store = %s/no-such-dir/custos.db\n", F.dir);
    const char *at = strstr(BASE, from);
    assert_non_null(at);
    size_t n = strlen(BASE) - strlen(from) + strlen(to) + 1;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%.*s%s%s", (int)(at - BASE), BASE, to, at + strlen(from));
    saved = BASE;
    BASE = text;
}

static const cc_case CASES[] = {
    {"store directory missing", TLS_OK EVM_OK METRICS_OK, store_in_missing_dir,
     "/no-such-dir: No such file or directory"},
    {"no [tls]", EVM_OK METRICS_OK, NULL, "no transport security configured: set [tls] cert"},
    {"cert file missing",
     "[tls]\ncert = %1$s/missing.pem\nkey = %1$s/server.key\n\n" EVM_OK METRICS_OK, NULL,
     "/missing.pem: cannot open: No such file or directory"},
    {"key file missing",
     "[tls]\ncert = %1$s/server.pem\nkey = %1$s/missing.key\n\n" EVM_OK METRICS_OK, NULL,
     "/missing.key: cannot open: No such file or directory"},
    {"client_ca missing",
     "[tls]\ncert = %1$s/server.pem\nkey = %1$s/server.key\nclient_ca = %1$s/no-ca.pem\n\n"
     EVM_OK METRICS_OK, NULL, "/no-ca.pem: cannot open: No such file or directory"},
    {"key readable by others", TLS_OK EVM_OK METRICS_OK, key_world_readable,
     "/server.key has mode 0644: group or others may access it; run chmod 600 on it"},
    {"cert not PEM", TLS_OK EVM_OK METRICS_OK, cert_not_pem,
     "/server.pem: not a PEM file (no -----BEGIN line)"},
    {"relayer key missing",
     TLS_OK "[evm]\nrpc_url = http://127.0.0.1:9\nrelayer_key = %1$s/none.key\n\n" METRICS_OK,
     NULL, "relayer key ([evm] relayer_key): "},
    {"relayer key readable by others", TLS_OK EVM_OK METRICS_OK, relayer_world_readable,
     "/relayer.key has mode 0644: group or others may access it"},
    {"relayer key in no token",
     TLS_OK "[evm]\nrpc_url = http://127.0.0.1:9\nrelayer_pkcs11_module = %1$s/no-module.so\n"
            "relayer_pkcs11_token = relayers\nrelayer_pkcs11_key = relayer-1\n\n" METRICS_OK,
     NULL, "relayer key ([evm] relayer_pkcs11_*): "},
    {"relayer token settings incomplete",
     TLS_OK "[evm]\nrpc_url = http://127.0.0.1:9\nrelayer_pkcs11_module = %1$s/no-module.so\n"
            "relayer_pkcs11_token = relayers\n\n" METRICS_OK,
     NULL, "relayer_pkcs11_key: required for a relayer key in a PKCS#11 token"},
    {"batch cap beyond the protocol limit",
     TLS_OK "[evm]\nrpc_url = http://127.0.0.1:9\nrelayer_key = %1$s/relayer.key\n"
            "batch_max_accounts = 5000\n\n" METRICS_OK,
     NULL, "[evm] batch_max_accounts: must be an integer from 0 to 4096, got '5000'"},
    {"no relayer key at all", TLS_OK "[evm]\nrpc_url = http://127.0.0.1:9\n\n" METRICS_OK,
     NULL, "relayer_key: required (key file of the account paying gas)"},
    {"metrics address not numeric",
     TLS_OK EVM_OK "[metrics]\nlisten = localhost:9464\n\n", NULL,
     "metrics: listen 'localhost:9464' is not a numeric IP:PORT"},
};

/* Writes the config of case c (or the valid one for c == NULL) and returns its path. */
static const char *write_case(const cc_case *c, char *path, size_t cap)
{
    char sections[4096];
    snprintf(path, cap, "%s/case.ini", F.dir);
    const char *fmt = c != NULL ? c->sections : TLS_OK EVM_OK METRICS_OK;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(sections, sizeof sections, fmt, F.dir);
#pragma GCC diagnostic pop
    size_t n = strlen(BASE) + strlen(sections) + 1;
    char *text = malloc(n);
    assert_non_null(text);
    snprintf(text, n, "%s%s", BASE, sections);
    tu_write_file(path, text);
    free(text);
    return path;
}

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    char *ini = tu_read_file(F.config_path);
    assert_non_null(ini);
    char *tls = strstr(ini, GWF_TLS_SECTION);
    assert_non_null(tls);
    memmove(tls, tls + strlen(GWF_TLS_SECTION), strlen(tls + strlen(GWF_TLS_SECTION)) + 1);
    BASE = ini;
    pki_make_ca(F.dir, "ca", "Custos test CA");
    pki_make_cert(F.dir, "server", "localhost", "ca", PKI_SERVER_EXT);
    pki_path(F.dir, "server", ".pem", CERT, sizeof CERT);
    pki_path(F.dir, "server", ".key", KEY, sizeof KEY);
    pki_path(F.dir, "ca", ".pem", CA, sizeof CA);
    snprintf(RELAYER, sizeof RELAYER, "%s/relayer.key", F.dir);
    uint8_t key[32];
    custos_error err;
    assert_int_equal(custos_hex_decode(RELAYER_KEY, key, sizeof key, &err), CUSTOS_OK);
    assert_int_equal(custos_keyfile_write(RELAYER, key, &err), CUSTOS_OK);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(BASE);
    gwf_cleanup(&F);
    return 0;
}

static void test_valid_config_passes(void **state)
{
    (void)state;
    char path[1200], out[4096], errout[4096];
    write_case(NULL, path, sizeof path);
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", path, "--check-config", NULL};
    int rc = tu_run_split(argv, out, sizeof out, errout, sizeof errout);
    if (rc != 0)
        fail_msg("--check-config of the valid config: exit %d\n%s", rc, errout);
    assert_non_null(strstr(out, ": ok ("));
}

static void test_check_refuses_what_start_refuses(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const cc_case *c = &CASES[i];
        char path[1200], port_file[1200], out[4096], check_err[4096], start_err[16384];
        if (c->prepare != NULL)
            c->prepare(false);
        write_case(c, path, sizeof path);
        const char *check[] = {CUSTOS_GATEWAY_BIN, "--config", path, "--check-config", NULL};
        int check_rc = tu_run_split(check, out, sizeof out, check_err, sizeof check_err);
        snprintf(port_file, sizeof port_file, "%s/case.port", F.dir);
        const char *start[] = {"/usr/bin/timeout", "20", CUSTOS_GATEWAY_BIN, "--config", path,
                               "--port-file", port_file, NULL};
        int start_rc = tu_run_split(start, out, sizeof out, start_err, sizeof start_err);
        if (c->prepare != NULL)
            c->prepare(true);
        if (check_rc != 1 || strstr(check_err, c->message) == NULL)
            fail_msg("%s: --check-config exit %d (want 1) saying:\n%s\nwant: %s", c->name,
                     check_rc, check_err, c->message);
        if (start_rc != 1)
            fail_msg("%s: start exit %d (want 1):\n%s", c->name, start_rc, start_err);
        /* The check's one line, word for word, in what start printed. */
        char *nl = strchr(check_err, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (strstr(start_err, check_err) == NULL)
            fail_msg("%s: start said\n%s\nnot the check's\n%s", c->name, start_err, check_err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_config_passes),
        cmocka_unit_test(test_check_refuses_what_start_refuses),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
