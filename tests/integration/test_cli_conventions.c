/* The command-line conventions of custos and custos-attestor against a real gateway on a
 * real PostgreSQL: the CUSTOS_GATEWAY / CUSTOS_CA environment variables (the command line
 * wins, --insecure ignores the TLS ones), --timeout-ms, and the exit statuses through a
 * database outage: 3 (try again) while PostgreSQL is down, with no database address in
 * what the client is told, and the first submission after it is back accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/keyfile.h"
#include "custos/typeddata.h"

#include "gwfixture.h"
#include "pgserver.h"

#define OUT_CAP 65536

static tu_pg PG;
static gwf F;
static char URI[256];
static char agent_key[1200];
static char out[OUT_CAP];

/* Points gwf_write_config's [gateway] store line at the PostgreSQL database. */
static void use_pg_store(void)
{
    char *ini = tu_read_file(F.config_path);
    assert_non_null(ini);
    char *line = strstr(ini, "\nstore = ");
    assert_non_null(line);
    char *end = strchr(line + 1, '\n');
    assert_non_null(end);
    size_t cap = strlen(ini) + sizeof URI + 16;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(text, cap, "%.*s\nstore = %s%s", (int)(line - ini), ini, URI, end);
    tu_write_file(F.config_path, text);
    free(text);
    free(ini);
}

static int group_setup(void **state)
{
    (void)state;
    unsetenv("CUSTOS_GATEWAY");
    unsetenv("CUSTOS_CA");
    unsetenv("CUSTOS_CERT");
    unsetenv("CUSTOS_KEY");
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_cli_conventions: PostgreSQL did not start (reason above)\n");
        return -1;
    }
    tu_pg_new_db(&PG, URI, sizeof URI);
    gwf_init(&F);
    gwf_write_config(&F);
    use_pg_store();
    gwf_start(&F);
    int n = snprintf(agent_key, sizeof agent_key, "%s/agent.key", F.dir);
    assert_true(n > 0 && (size_t)n < sizeof agent_key);
    custos_error err;
    if (custos_keyfile_write(agent_key, F.keys[GWF_KEY_AGENT].seckey, &err) != CUSTOS_OK)
        fail_msg("key file: %s", err.message);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gwf_cleanup(&F);
    tu_pg_stop(&PG);
    return 0;
}

/* Runs argv (stdout and stderr into out) and returns its exit status. */
static int run(const char *const argv[])
{
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ %s %s ... -> %d\n%s\n", strrchr(argv[0], '/') + 1, argv[1], status,
            out);
    return status;
}

/* A loopback port nobody listens on: bound, then closed (tu_free_port). */
static void dead_target(char *target, size_t cap)
{
    int port = tu_free_port();
    assert_true(port > 0);
    snprintf(target, cap, "127.0.0.1:%d", port);
}

/* Writes the valuation of ref at seq signed by key as an export; path gets its name. */
static void export_signed_by(const char *ref, uint64_t seq, gwf_key_id key, char *path,
                             size_t cap)
{
    custos_submission s;
    gwf_make(&F, &s, ref, seq, 1000);
    gwf_sign(&F, &s, key);
    char *json;
    custos_error err;
    if (custos_typeddata_export(&s, &json, &err) != CUSTOS_OK)
        fail_msg("export: %s", err.message);
    int n = snprintf(path, cap, "%s/%s-%llu.json", F.dir, ref, (unsigned long long)seq);
    assert_true(n > 0 && (size_t)n < cap);
    tu_write_file(path, json);
    free(json);
    custos_submission_clear(&s);
}

/* The same, signed by the custodian. */
static void export_signed(const char *ref, uint64_t seq, char *path, size_t cap)
{
    export_signed_by(ref, seq, GWF_KEY_CUSTODIAN, path, cap);
}

/* custos-attestor cosign --json of path: the exit status, and stdout parsed (the caller
 * frees it). */
static int cosign_json(const char *path, json_t **report)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", path, "--key", agent_key,
                          "--insecure", "--gateway", F.target, "--json", NULL};
    static char err[OUT_CAP];
    int status = tu_run_split(argv, out, sizeof out, err, sizeof err);
    fprintf(stderr, "$ custos-attestor cosign --json -> %d\n%s\n%s\n", status, out, err);
    json_error_t jerr;
    *report = json_loads(out, 0, &jerr);
    if (*report == NULL)
        fail_msg("cosign --json printed no JSON object (%s): %s", jerr.text, out);
    return status;
}

/* report.gateway.key as a string. */
static const char *gateway_member(const json_t *report, const char *key)
{
    const char *v = json_string_value(json_object_get(json_object_get(report, "gateway"), key));
    if (v == NULL)
        fail_msg("no gateway.%s in the report", key);
    return v;
}

/* custos-attestor cosign of path with the agent's key (which completes the threshold);
 * gateway NULL: from the environment. */
static int cosign(const char *path, const char *gateway)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", path, "--key", agent_key,
                          "--insecure", gateway != NULL ? "--gateway" : NULL, gateway, NULL};
    return run(argv);
}

static void test_help_lists_environment(void **state)
{
    (void)state;
    const char *health[] = {CUSTOS_CLI_BIN, "health", "--help", NULL};
    assert_int_equal(run(health), 0);
    assert_non_null(strstr(out, "CUSTOS_GATEWAY"));
    assert_non_null(strstr(out, "CUSTOS_CA"));
    assert_non_null(strstr(out, "CUSTOS_CERT"));
    assert_non_null(strstr(out, "CUSTOS_KEY"));
    assert_non_null(strstr(out, "--timeout-ms"));
    const char *cosign_help[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--help", NULL};
    assert_int_equal(run(cosign_help), 0);
    assert_non_null(strstr(out, "CUSTOS_GATEWAY"));
    assert_non_null(strstr(out, "--timeout-ms"));
    const char *usage[] = {CUSTOS_ATTESTOR_BIN, "--help", NULL};
    assert_int_equal(run(usage), 0);
    assert_non_null(strstr(out, "CUSTOS_GATEWAY"));
}

static void test_environment_gives_the_gateway(void **state)
{
    (void)state;
    const char *health[] = {CUSTOS_CLI_BIN, "health", "--insecure", NULL};
    /* Neither given: the usage error of today. */
    assert_int_equal(run(health), 1);
    assert_non_null(strstr(out, "--gateway HOST:PORT is required"));
    assert_int_equal(setenv("CUSTOS_GATEWAY", F.target, 1), 0);
    assert_int_equal(run(health), 0);
    char path[1200];
    export_signed("ENV-1", 1, path, sizeof path);
    assert_int_equal(cosign(path, NULL), 0);
    assert_non_null(strstr(out, "ACCEPTED"));
    /* Set but empty counts as not set. */
    assert_int_equal(setenv("CUSTOS_GATEWAY", "", 1), 0);
    assert_int_equal(run(health), 1);
    unsetenv("CUSTOS_GATEWAY");
}

static void test_command_line_wins(void **state)
{
    (void)state;
    char dead[64];
    dead_target(dead, sizeof dead);
    assert_int_equal(setenv("CUSTOS_GATEWAY", dead, 1), 0);
    const char *flag[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, "--insecure", NULL};
    assert_int_equal(run(flag), 0);
    /* The environment's dead gateway alone: unreachable, try again later. */
    const char *env_only[] = {CUSTOS_CLI_BIN, "health", "--insecure", NULL};
    assert_int_equal(run(env_only), 3);
    assert_non_null(strstr(out, dead));
    unsetenv("CUSTOS_GATEWAY");
}

static void test_insecure_ignores_tls_environment(void **state)
{
    (void)state;
    char ca[1200];
    snprintf(ca, sizeof ca, "%s/no-such-ca.pem", F.dir);
    assert_int_equal(setenv("CUSTOS_CA", ca, 1), 0);
    const char *plain[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, "--insecure", NULL};
    assert_int_equal(run(plain), 0);
    /* Without --insecure the variable is used: its missing file is a local error. */
    const char *tls[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, NULL};
    assert_int_equal(run(tls), 1);
    assert_non_null(strstr(out, "no-such-ca.pem"));
    /* The command line's file wins over the variable's. */
    char other[1200];
    snprintf(other, sizeof other, "%s/other-ca.pem", F.dir);
    const char *flag[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, "--tls-ca", other,
                          NULL};
    assert_int_equal(run(flag), 1);
    assert_non_null(strstr(out, "other-ca.pem"));
    assert_null(strstr(out, "no-such-ca.pem"));
    unsetenv("CUSTOS_CA");
}

static void test_timeout_flag(void **state)
{
    (void)state;
    const char *word[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, "--insecure",
                          "--timeout-ms", "soon", NULL};
    assert_int_equal(run(word), 1);
    assert_non_null(strstr(out, "--timeout-ms: not an unsigned integer"));
    const char *huge[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, "--insecure",
                          "--timeout-ms", "86400001", NULL};
    assert_int_equal(run(huge), 1);
    assert_non_null(strstr(out, "more than a day"));
    const char *fine[] = {CUSTOS_CLI_BIN, "health", "--gateway", F.target, "--insecure",
                          "--timeout-ms", "5000", NULL};
    assert_int_equal(run(fine), 0);

    /* A listener that never answers: the call ends at the deadline asked for, well before
     * the 10 s default, as "try again later". */
    int silent_port = 0;
    int fd = tu_silent_listener(&silent_port);
    char silent[64];
    snprintf(silent, sizeof silent, "127.0.0.1:%d", silent_port);
    const char *mute[] = {CUSTOS_CLI_BIN, "health", "--gateway", silent, "--insecure",
                          "--timeout-ms", "300", NULL};
    int64_t t0 = tu_now_ms();
    int status = run(mute);
    int64_t took = tu_now_ms() - t0;
    close(fd);
    assert_int_equal(status, 3);
    if (took >= 5000)
        fail_msg("--timeout-ms 300 took %lld ms", (long long)took);
}

static void test_json_reports(void **state)
{
    (void)state;
    char path[1200];
    export_signed("JSON-1", 1, path, sizeof path);
    json_t *r;
    assert_int_equal(cosign_json(path, &r), 0);
    assert_string_equal(gateway_member(r, "state"), "ACCEPTED");
    assert_int_equal(json_integer_value(json_object_get(r, "sequence")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "signatures")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "gateway"), "threshold")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "feed")), GWF_FEED);
    assert_string_equal(json_string_value(json_object_get(r, "signer")),
                        F.keys[GWF_KEY_AGENT].hex);
    /* Money as decimal text, never a float. */
    assert_true(json_is_string(json_object_get(r, "collateralUsd")));
    json_decref(r);

    /* Refused: exit 2, and the report says why. */
    export_signed_by("JSON-2", 1, GWF_KEY_UNKNOWN, path, sizeof path);
    assert_int_equal(cosign_json(path, &r), 2);
    assert_string_equal(gateway_member(r, "state"), "REFUSED");
    assert_string_equal(gateway_member(r, "reason"), "UNKNOWN_SIGNER");
    json_decref(r);

    /* pledge --json. */
    char registry[1200];
    snprintf(registry, sizeof registry, "%s/pledges.json", F.dir);
    const char *pledge[] = {CUSTOS_ATTESTOR_BIN, "pledge", "--account", "JSON-1",
                            "--beneficiary", F.keys[GWF_KEY_OTHER].hex, "--registry", registry,
                            "--json", NULL};
    char err[OUT_CAP];
    assert_int_equal(tu_run_split(pledge, out, sizeof out, err, sizeof err), 0);
    json_error_t jerr;
    r = json_loads(out, 0, &jerr);
    if (r == NULL)
        fail_msg("pledge --json: %s: %s", jerr.text, out);
    assert_string_equal(json_string_value(json_object_get(r, "reference")), "JSON-1");
    assert_true(strcasecmp(json_string_value(json_object_get(r, "pledgedTo")),
                           F.keys[GWF_KEY_OTHER].hex) == 0);
    json_decref(r);
}

/* Whether the text names the database server's address. */
static int names_database(const char *text)
{
    char port[16];
    snprintf(port, sizeof port, "%d", PG.port);
    return strstr(text, port) != NULL || strstr(text, "port ") != NULL ||
           strstr(text, "connection to server") != NULL;
}

static void test_database_outage_is_transient(void **state)
{
    (void)state;
    char first[1200], second[1200];
    export_signed("OUTAGE-1", 1, first, sizeof first);
    assert_int_equal(cosign(first, F.target), 0);
    assert_non_null(strstr(out, "ACCEPTED"));

    /* Signed (and its account registered, rule 9) before the outage. */
    char third[1200];
    export_signed("OUTAGE-2", 1, third, sizeof third);
    tu_pg_halt(&PG);
    /* --json says so too: the attestation signed, the gateway unavailable. */
    json_t *r;
    assert_int_equal(cosign_json(third, &r), 3);
    assert_string_equal(gateway_member(r, "state"), "UNAVAILABLE");
    assert_string_equal(gateway_member(r, "reason"), "UNAVAILABLE");
    assert_int_equal(json_integer_value(json_object_get(r, "sequence")), 1);
    json_decref(r);
    export_signed("OUTAGE-1", 2, second, sizeof second);
    int status = cosign(second, F.target);
    if (status != 3) {
        gwf_dump_log(&F);
        fail_msg("with PostgreSQL down cosign exited %d, not 3", status);
    }
    if (names_database(out)) {
        gwf_dump_log(&F);
        fail_msg("the answer names the database server: %s", out);
    }
    /* The operator still finds the address in the gateway's log. */
    char log_path[1200];
    snprintf(log_path, sizeof log_path, "%s/gateway.log", F.dir);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    int logged = strstr(log, "store_unreachable") != NULL;
    free(log);
    assert_true(logged);

    /* Back: the very first submission goes through, over a fresh session. */
    tu_pg_resume(&PG);
    status = cosign(second, F.target);
    if (status != 0) {
        gwf_dump_log(&F);
        fail_msg("the first submission after PostgreSQL came back exited %d", status);
    }
    assert_non_null(strstr(out, "ACCEPTED"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_environment),
        cmocka_unit_test(test_environment_gives_the_gateway),
        cmocka_unit_test(test_command_line_wins),
        cmocka_unit_test(test_insecure_ignores_tls_environment),
        cmocka_unit_test(test_timeout_flag),
        cmocka_unit_test(test_json_reports),
        cmocka_unit_test(test_database_outage_is_transient),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
