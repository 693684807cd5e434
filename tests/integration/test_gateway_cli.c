/* custos-gateway's command line, run as the real binary: --version prints the version the
 * project declares (read here from the top CMakeLists.txt, not from the build), --help
 * prints usage on stdout and succeeds, bad usage goes to stderr and fails, --check-config
 * checks without serving, and a gateway that cannot bind its address exits 1 with the
 * reason after the parts it had started are released. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gwfixture.h"
#include "testutil.h"

static gwf F;

/* "x.y.z" from `project(custos VERSION x.y.z ...)`. */
static void project_version(char *out, size_t cap)
{
    char *cmake = tu_read_file(CUSTOS_SOURCE_DIR "/CMakeLists.txt");
    assert_non_null(cmake);
    const char *at = strstr(cmake, "project(custos VERSION ");
    assert_non_null(at);
    at += strlen("project(custos VERSION ");
    size_t len = strspn(at, "0123456789.");
    assert_true(len > 0 && len < cap);
    memcpy(out, at, len);
    out[len] = '\0';
    free(cmake);
}

static void test_version(void **state)
{
    (void)state;
    char version[32], want[64], out[256];
    project_version(version, sizeof version);
    snprintf(want, sizeof want, "custos-gateway %s\n", version);
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--version", NULL};
    assert_int_equal(tu_run(argv, out, sizeof out, 0), 0);
    assert_string_equal(out, want);
}

static void test_help_on_stdout(void **state)
{
    (void)state;
    char out[1024];
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--help", NULL};
    assert_int_equal(tu_run(argv, out, sizeof out, 0), 0);
    assert_true(strncmp(out, "usage: custos-gateway --config FILE", 35) == 0);
    assert_non_null(strstr(out, "--version"));
    assert_non_null(strstr(out, "--check-config"));
}

/* Usage errors fail with the usage on stderr only: stdout stays empty. */
static void test_bad_usage_on_stderr(void **state)
{
    (void)state;
    char out[1024], merged[1024];
    const char *none[] = {CUSTOS_GATEWAY_BIN, NULL};
    const char *unknown[] = {CUSTOS_GATEWAY_BIN, "--no-such-option", NULL};
    const char *extra[] = {CUSTOS_GATEWAY_BIN, "--config", F.config_path, "surplus", NULL};
    const char *const *cases[] = {none, unknown, extra};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(tu_run(cases[i], out, sizeof out, 0), 1);
        assert_string_equal(out, "");
        assert_int_equal(tu_run(cases[i], merged, sizeof merged, 1), 1);
        assert_non_null(strstr(merged, "usage: custos-gateway"));
    }
}

static void test_check_config(void **state)
{
    (void)state;
    char out[2048], want[1300];
    snprintf(want, sizeof want, "%s: ok (2 feeds, 6 signers)\n", F.config_path);
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", F.config_path, "--check-config",
                          NULL};
    assert_int_equal(tu_run(argv, out, sizeof out, 0), 0);
    assert_string_equal(out, want);
}

/* text with its line that starts with prefix replaced by line (malloc'd). */
static char *with_line(const char *text, const char *prefix, const char *line)
{
    const char *at = strstr(text, prefix);
    assert_non_null(at);
    assert_true(at == text || at[-1] == '\n');
    const char *end = strchr(at, '\n');
    assert_non_null(end);
    size_t cap = strlen(text) + strlen(line) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, line, end);
    return out;
}

/* A gateway whose listen address is not local (192.0.2.1, TEST-NET-1: never assigned to
 * a host here): the engine and the admin service start (the store is created and
 * migrated), the gRPC port cannot be bound, and the process exits 1 naming the address,
 * through the one cleanup path. */
static void test_unbindable_address_fails_cleanly(void **state)
{
    (void)state;
    char listen[64], store[1200], path[1200], db[1200];
    snprintf(listen, sizeof listen, "listen = 192.0.2.1:%d", tu_free_port());
    snprintf(store, sizeof store, "store = %s/unbound.db", F.dir);
    snprintf(path, sizeof path, "%s/unbound.ini", F.dir);
    snprintf(db, sizeof db, "%s/unbound.db", F.dir);
    char *ini = tu_read_file(F.config_path);
    assert_non_null(ini);
    char *moved = with_line(ini, "listen = ", listen);
    char *unbound = with_line(moved, "store = ", store);
    tu_write_file(path, unbound);
    free(unbound);
    free(moved);
    free(ini);

    char out[8192];
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", path, NULL};
    assert_int_equal(tu_run(argv, out, sizeof out, 1), 1);
    if (strstr(out, "custos-gateway: cannot listen on 192.0.2.1:") == NULL)
        fail_msg("unexpected output: %s", out);
    char *created = tu_read_file(db);
    if (created == NULL)
        fail_msg("the store was never opened: the failure came before the engine started");
    free(created);
}

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gwf_cleanup(&F);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_help_on_stdout),
        cmocka_unit_test(test_bad_usage_on_stderr),
        cmocka_unit_test(test_check_config),
        cmocka_unit_test(test_unbindable_address_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
