/* Transport security end to end against the real custos-gateway: a CA made here with the
 * openssl command line, a TLS port that requires client certificates, per-feed mapping of
 * certificates to attestors, and the start-up refusals of unsafe or contradictory configs. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <grpc/status.h>

#include "custos/audit.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/reason.h"
#include "custos/typeddata.h"

#include "gwfixture.h"
#include "pki.h"
#include "testutil.h"

typedef struct tls_fixture {
    gwf f;
    char pki[1100]; /* certificates and keys */
} tls_fixture;

static void tls_path(const tls_fixture *t, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", t->pki, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* The gateway's config: the fixture's feeds and signers, then `tail` ([tls], [client]). */
static void write_config(tls_fixture *t, const char *path, const char *tail)
{
    gwf_write_config(&t->f);
    char *base = tu_read_file(t->f.config_path);
    assert_non_null(base);
    char *plain = strstr(base, GWF_TLS_SECTION);
    assert_non_null(plain);
    size_t cut = strlen(GWF_TLS_SECTION);
    memmove(plain, plain + cut, strlen(plain + cut) + 1);
    /* The single-signer feed holds a rise of more than 10% (rule 6) until two sign it. */
    const char *anchor = "threshold = 1\ndistinct_roles = false\n";
    char *at = strstr(base, anchor);
    assert_non_null(at);
    size_t head = (size_t)(at - base) + strlen(anchor);
    const char *breaker = "breaker_rise_bps = 1000\nbreaker_release_threshold = 2\n";
    size_t len = strlen(base) + strlen(breaker) + strlen(tail) + 2;
    char *text = malloc(len);
    assert_non_null(text);
    snprintf(text, len, "%.*s%s%s\n%s", (int)head, base, breaker, base + head, tail);
    tu_write_file(path, text);
    free(text);
    free(base);
}

/* The [tls] section of the TLS gateway, with the server key at key_name. */
static void tls_section(const tls_fixture *t, const char *key_name, char *out, size_t cap)
{
    int n = snprintf(out, cap,
                     "[tls]\ncert = %s/server.pem\nkey = %s/%s\nclient_ca = %s/ca.pem\n\n"
                     "[client acme-attestor]\nrole = attestor\nfeeds = " GWF_FEED "\n\n"
                     "[client other-attestor]\nrole = attestor\nfeeds = " GWF_OTHER_FEED "\n\n"
                     "[client ops-admin]\nrole = admin\n\n"
                     "[client acme-borrower]\nrole = reader\nfeeds = " GWF_FEED "\n\n"
                     "[client ext-auditor]\nrole = auditor\n\n"
                     "[client ops]\nrole = admin\n",
                     t->pki, t->pki, key_name, t->pki);
    assert_true(n > 0 && (size_t)n < cap);
}

static int setup(void **state)
{
    tls_fixture *t = calloc(1, sizeof *t);
    assert_non_null(t);
    gwf_init(&t->f);
    snprintf(t->pki, sizeof t->pki, "%s/pki", t->f.dir);
    assert_int_equal(mkdir(t->pki, 0700), 0);
    pki_make_ca(t->pki, "ca", "Custos Test CA");
    pki_make_ca(t->pki, "rogue-ca", "Rogue CA");
    pki_make_cert(t->pki, "server", "localhost", "ca", PKI_SERVER_EXT);
    pki_make_cert(t->pki, "acme", "acme-attestor", "ca", PKI_CLIENT_EXT);
    pki_make_cert(t->pki, "other", "other-attestor", "ca", PKI_CLIENT_EXT);
    pki_make_cert(t->pki, "unmapped", "lender-dashboard", "ca", PKI_CLIENT_EXT);
    pki_make_cert(t->pki, "admin", "ops-admin", "ca", PKI_CLIENT_EXT);
    pki_make_cert(t->pki, "borrower", "acme-borrower", "ca", PKI_CLIENT_EXT);
    pki_make_cert(t->pki, "ops", "ops", "ca", PKI_CLIENT_EXT);
    pki_make_cert(t->pki, "auditor", "ext-auditor", "ca", PKI_CLIENT_EXT);
    pki_make_cert(t->pki, "rogue", "acme-attestor", "rogue-ca", PKI_CLIENT_EXT);

    char tail[4096], path[1200];
    tls_section(t, "server.key", tail, sizeof tail);
    snprintf(path, sizeof path, "%s/tls.ini", t->f.dir);
    write_config(t, path, tail);
    /* Rule 9: every account the tests submit for, registered before the start so that the
     * audit log holds only the tests' own entries. */
    static const char *const refs[] = {"acct-admin-1", "acct-rotate-1", "acct-tls-1",
                                       "acct-tls-2", "acct-tls-3", "acct-tls-4",
                                       "acct-tls-proof", "acct-tls-attestor", "acct-policy-1"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        gwf_register(&t->f, GWF_FEED, GWF_FEED, refs[i]);
    gwf_register(&t->f, GWF_OTHER_FEED, GWF_OTHER_FEED, "acct-held-1");
    t->f.no_auto_register = true;
    t->f.port = tu_gateway_start(&t->f.proc, path, t->f.dir);
    snprintf(t->f.target, sizeof t->f.target, "127.0.0.1:%d", t->f.port);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tls_fixture *t = *state;
    gwf_cleanup(&t->f);
    free(t);
    return 0;
}

/* A TLS client trusting CA <ca> with certificate <cert> (NULL: none). */
static custos_client *tls_client(const tls_fixture *t, const char *ca, const char *cert)
{
    char ca_path[1200], cert_path[1200], key_path[1200];
    tls_path(t, ca, ca_path, sizeof ca_path);
    strcat(ca_path, ".pem");
    custos_client_options o = {.target = t->f.target, .timeout_ms = 5000, .ca_file = ca_path};
    if (cert != NULL) {
        tls_path(t, cert, cert_path, sizeof cert_path);
        strcat(cert_path, ".pem");
        tls_path(t, cert, key_path, sizeof key_path);
        strcat(key_path, ".key");
        o.cert_file = cert_path;
        o.key_file = key_path;
    }
    custos_client *c = NULL;
    custos_error err;
    if (custos_client_open(&o, &c, &err) != CUSTOS_OK)
        fail_msg("custos_client_open: %s", err.message);
    return c;
}

/* Submits s through c into *a; the gateway must answer (take it or refuse it). */
static void submit_answered(custos_client *c, custos_submission *s, gwf_answer *a)
{
    custos_error_clear(&a->err);
    a->rc = custos_client_submit(c, s, &a->res, &a->err);
    custos_submission_clear(s);
    if (a->rc != CUSTOS_OK && a->rc != CUSTOS_ERR_REFUSED)
        fail_msg("submit: %s (%s)", custos_rc_name(a->rc), a->err.message);
}

static void submit_as(tls_fixture *t, custos_client *c, const char *ref, gwf_answer *a)
{
    custos_submission s;
    gwf_make(&t->f, &s, ref, 1, 1000);
    gwf_sign(&t->f, &s, GWF_KEY_CUSTODIAN);
    submit_answered(c, &s, a);
}

static void test_mapped_attestor_submits(void **state)
{
    tls_fixture *t = *state;
    custos_client *c = tls_client(t, "ca", "acme");
    gwf_answer res;
    submit_as(t, c, "acct-tls-1", &res);
    assert_int_equal(res.rc, CUSTOS_OK);
    assert_int_equal(res.err.reason, CUSTOS_REASON_NONE);
    /* One signature of a threshold-2 feed: valid, awaiting a co-signer. */
    assert_int_equal(res.res.state, CUSTOS_STATE_PENDING);
    custos_client_free(c);
}

static void test_other_attestor_refused_for_feed(void **state)
{
    tls_fixture *t = *state;
    custos_client *c = tls_client(t, "ca", "other");
    gwf_answer res;
    submit_as(t, c, "acct-tls-2", &res);
    assert_int_equal(res.rc, CUSTOS_ERR_REFUSED);
    assert_int_equal(res.err.reason, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
    assert_non_null(strstr(res.err.message, "other-attestor"));

    /* The same check on the streaming path. */
    custos_submission s;
    gwf_make(&t->f, &s, "acct-tls-3", 1, 1000);
    gwf_sign(&t->f, &s, GWF_KEY_CUSTODIAN);
    custos_submit_result sres[1];
    custos_error serr[1], err;
    assert_int_equal(custos_client_submit_stream(c, &s, 1, sres, serr, &err), CUSTOS_OK);
    assert_int_equal(serr[0].code, CUSTOS_ERR_REFUSED);
    assert_int_equal(serr[0].reason, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
    custos_submission_clear(&s);
    custos_client_free(c);
}

static void test_unmapped_client_reads_only(void **state)
{
    tls_fixture *t = *state;
    custos_client *c = tls_client(t, "ca", "unmapped");
    bool serving = false;
    custos_error err;
    assert_int_equal(custos_client_health(c, &serving, &err), CUSTOS_OK);
    assert_true(serving);
    custos_signer_info *signers = NULL;
    size_t n = 0;
    assert_int_equal(custos_client_list_signers(c, &signers, &n, &err), CUSTOS_OK);
    assert_true(n > 0);
    custos_signer_list_free(signers, n);
    gwf_answer res;
    submit_as(t, c, "acct-tls-4", &res);
    assert_int_equal(res.rc, CUSTOS_ERR_REFUSED);
    assert_int_equal(res.err.reason, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
    custos_client_free(c);
}

/* Positions are served to the admin and to clients listing the account's feed. */
static void test_position_proof_authorised_by_feed(void **state)
{
    tls_fixture *t = *state;
    custos_client *acme = tls_client(t, "ca", "acme");
    custos_submission s;
    gwf_make(&t->f, &s, "acct-tls-proof", 1, 1000);
    gwf_sign(&t->f, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&t->f, &s, GWF_KEY_AGENT);
    custos_submit_result res;
    custos_error err;
    assert_int_equal(custos_client_submit(acme, &s, &res, &err), CUSTOS_OK);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);

    static const struct {
        const char *cert;
        custos_rc want;
    } cases[] = {
        {"borrower", CUSTOS_OK},      /* reader, feeds = acme-custody */
        {"acme", CUSTOS_OK},          /* attestor of the feed */
        {"ops", CUSTOS_OK},           /* admin */
        {"other", CUSTOS_ERR_REFUSED},    /* attestor of another feed */
        {"unmapped", CUSTOS_ERR_REFUSED}, /* no [client] entry */
    };
    custos_position_proof *p = malloc(sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_client *c = tls_client(t, "ca", cases[i].cert);
        custos_rc rc = custos_client_get_position_proof(c, s.att.account, "US912797GK78", p,
                                                        &err);
        custos_client_free(c);
        if (rc != cases[i].want)
            fail_msg("%s: %s (%s)", cases[i].cert, custos_rc_name(rc), err.message);
        if (rc == CUSTOS_OK) {
            assert_int_equal(custos_position_proof_check(p, &err), CUSTOS_OK);
            assert_memory_equal(p->root, s.att.positions_root, 32);
        } else {
            assert_non_null(strstr(err.message, "UNAUTHORIZED_CLIENT"));
        }
    }
    free(p);
    custos_submission_clear(&s);
    custos_client_free(acme);
}

static void expect_unreachable(custos_client *c)
{
    bool serving = true;
    custos_error err;
    assert_int_equal(custos_client_health(c, &serving, &err), CUSTOS_ERR_UNAVAILABLE);
    custos_client_free(c);
}

static void test_wrong_ca_client_cert_cannot_connect(void **state)
{
    expect_unreachable(tls_client(*state, "ca", "rogue"));
}

static void test_no_client_cert_cannot_connect(void **state)
{
    expect_unreachable(tls_client(*state, "ca", NULL));
}

static void test_untrusting_client_fails(void **state)
{
    expect_unreachable(tls_client(*state, "rogue-ca", "acme"));
}

static void test_plaintext_client_fails(void **state)
{
    tls_fixture *t = *state;
    custos_client *c = NULL;
    assert_int_equal(custos_client_new_insecure(t->f.target, 5000, &c, NULL), CUSTOS_OK);
    expect_unreachable(c);
}

/* Runs the gateway on a config made of the fixture plus tail; returns its exit status and
 * its output in out. */
static int run_gateway(tls_fixture *t, const char *name, const char *tail, char *out,
                       size_t cap)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", t->f.dir, name);
    write_config(t, path, tail);
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", path, NULL};
    return tu_run(argv, out, cap, 1);
}

static void test_open_key_refused(void **state)
{
    tls_fixture *t = *state;
    char src[1200], dst[1200], tail[4096], out[8192];
    tls_path(t, "server.key", src, sizeof src);
    tls_path(t, "open.key", dst, sizeof dst);
    char *key = tu_read_file(src);
    assert_non_null(key);
    tu_write_file(dst, key);
    free(key);
    assert_int_equal(chmod(dst, 0644), 0);
    tls_section(t, "open.key", tail, sizeof tail);
    assert_int_equal(run_gateway(t, "open-key.ini", tail, out, sizeof out), 1);
    assert_non_null(strstr(out, "open.key"));
    assert_non_null(strstr(out, "group or others"));
    assert_non_null(strstr(out, "chmod 600"));
    assert_null(strstr(out, "PRIVATE KEY"));
}

static void test_no_transport_refused(void **state)
{
    char out[8192];
    assert_int_equal(run_gateway(*state, "none.ini", "", out, sizeof out), 1);
    assert_non_null(strstr(out, "[tls] cert and key"));
    assert_non_null(strstr(out, "[tls] insecure = true"));
}

static void test_client_entries_need_client_ca(void **state)
{
    char out[8192];
    assert_int_equal(run_gateway(*state, "no-ca.ini",
                                 "[tls]\ninsecure = true\n[client x]\nrole = reader\n", out,
                                 sizeof out),
                     1);
    assert_non_null(strstr(out, "client_ca"));
}

static void test_insecure_warns(void **state)
{
    tls_fixture *t = *state;
    char path[1200], dir[1200], log_path[1300];
    snprintf(dir, sizeof dir, "%s/insecure", t->f.dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/insecure.ini", t->f.dir);
    write_config(t, path, "[tls]\ninsecure = true\n");
    /* Its own store: the TLS gateway still holds the fixture's. */
    char *text = tu_read_file(path);
    assert_non_null(text);
    char *store = strstr(text, "/custos.db");
    assert_non_null(store);
    char fixed[16384];
    snprintf(fixed, sizeof fixed, "%.*s/insecure%s", (int)(store - text), text, store);
    tu_write_file(path, fixed);
    free(text);

    tu_proc p;
    int port = tu_gateway_start(&p, path, dir);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", port);
    custos_client *c = NULL;
    assert_int_equal(custos_client_new_insecure(target, 5000, &c, NULL), CUSTOS_OK);
    bool serving = false;
    assert_int_equal(custos_client_health(c, &serving, NULL), CUSTOS_OK);
    assert_true(serving);
    custos_client_free(c);
    assert_int_equal(tu_stop(&p, SIGTERM, 15000), 0);
    snprintf(log_path, sizeof log_path, "%s/gateway.log", dir);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    const char *line = strstr(log, "\"event\":\"tls.insecure\"");
    assert_non_null(line);
    const char *start = line;
    while (start > log && start[-1] != '\n')
        start--;
    assert_non_null(strstr(start, "\"level\":\"warn\""));
    assert_true(strstr(start, "\"level\":\"warn\"") < line);
    free(log);
}

static void test_client_options_checked(void **state)
{
    tls_fixture *t = *state;
    char cert[1200];
    tls_path(t, "acme.pem", cert, sizeof cert);
    custos_client *c = NULL;
    custos_error err;
    custos_client_options half = {.target = t->f.target, .cert_file = cert};
    assert_int_equal(custos_client_open(&half, &c, &err), CUSTOS_ERR_INVALID);
    custos_client_options mixed = {.target = t->f.target, .cert_file = cert, .insecure = true};
    assert_int_equal(custos_client_open(&mixed, &c, &err), CUSTOS_ERR_INVALID);
    char key[1200];
    tls_path(t, "acme.key", key, sizeof key);
    assert_int_equal(chmod(key, 0660), 0);
    custos_client_options open_key = {.target = t->f.target, .cert_file = cert, .key_file = key};
    assert_int_equal(custos_client_open(&open_key, &c, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_int_equal(chmod(key, 0600), 0);
    assert_null(c);
}

/* The attestor binary over mTLS: an export signed by the custodian is cosigned by the
 * valuation agent with `custos-attestor cosign` through the TLS port, and reaches quorum.
 * The same command without the CA that signed the gateway's certificate cannot connect. */
static void test_attestor_binary_over_mtls(void **state)
{
    tls_fixture *t = *state;
    custos_submission s;
    gwf_make(&t->f, &s, "acct-tls-attestor", 1, 1000);
    gwf_sign(&t->f, &s, GWF_KEY_CUSTODIAN);
    char *json = NULL;
    custos_error err;
    if (custos_typeddata_export(&s, &json, &err) != CUSTOS_OK)
        fail_msg("export: %s", err.message);
    custos_submission_clear(&s);
    char in[1200], key[1200], ca[1200], cert[1200], cert_key[1200];
    snprintf(in, sizeof in, "%s/to-cosign.json", t->f.dir);
    tu_write_file(in, json);
    free(json);
    snprintf(key, sizeof key, "%s/agent.key", t->f.dir);
    if (custos_keyfile_write(key, t->f.keys[GWF_KEY_AGENT].seckey, &err) != CUSTOS_OK)
        fail_msg("key file: %s", err.message);
    tls_path(t, "ca", ca, sizeof ca);
    strcat(ca, ".pem");
    tls_path(t, "acme", cert, sizeof cert);
    strcat(cert, ".pem");
    tls_path(t, "acme", cert_key, sizeof cert_key);
    strcat(cert_key, ".key");

    char out[8192];
    const char *untrusting[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", in, "--key", key,
                                "--gateway", t->f.target, "--tls-cert", cert, "--tls-key",
                                cert_key, NULL};
    assert_int_equal(tu_run(untrusting, out, sizeof out, 1), 3);

    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", in, "--key", key,
                          "--gateway", t->f.target, "--tls-ca", ca, "--tls-cert", cert,
                          "--tls-key", cert_key, NULL};
    int rc = tu_run(argv, out, sizeof out, 1);
    if (rc != 0)
        fail_msg("custos-attestor cosign over mTLS exited %d:\n%s", rc, out);
    assert_non_null(strstr(out, "ACCEPTED 2/2"));
}

/* The admin service answers only the admin certificate; attestors and unmapped clients
 * get PERMISSION_DENIED with UNAUTHORIZED_CLIENT. The audit log it serves holds the
 * reload SIGHUP asked for, and the CLI fetches and verifies it. */
static void test_admin_service(void **state)
{
    tls_fixture *t = *state;
    const char *others[] = {"acme", "unmapped"};
    for (size_t i = 0; i < 2; i++) {
        custos_client *c = tls_client(t, "ca", others[i]);
        custos_audit_entry *e = NULL;
        size_t n = 0;
        custos_error err;
        assert_int_equal(custos_client_list_audit(c, 0, 10, &e, &n, &err), CUSTOS_ERR_REFUSED);
        if (err.reason != CUSTOS_REASON_UNAUTHORIZED_CLIENT ||
            strstr(err.message, "not an admin") == NULL ||
            strstr(err.message, "(reason UNAUTHORIZED_CLIENT)") == NULL)
            fail_msg("%s: %s", others[i], err.message);
        custos_client_free(c);
    }

    custos_client *admin = tls_client(t, "ca", "admin");
    assert_int_equal(kill(t->f.proc.pid, SIGHUP), 0);
    custos_audit_entry *e = NULL;
    size_t n = 0;
    custos_error err;
    for (int waited = 0; waited < 10000 && n == 0; waited += 50) {
        custos_audit_entry_list_free(e, n);
        assert_int_equal(custos_client_list_audit(admin, 0, 10, &e, &n, &err), CUSTOS_OK);
        if (n == 0)
            usleep(50 * 1000);
    }
    assert_int_equal(n, 1);
    uint8_t zero[32] = {0};
    assert_int_equal(custos_audit_verify(0, zero, e, n), 1);
    assert_string_equal(e[0].actor, "SIGHUP");
    assert_string_equal(e[0].action, "reload");
    custos_audit_entry_list_free(e, n);
    /* Too large a page is refused, with a reason. */
    assert_int_equal(custos_client_list_audit(admin, 0, 1001, &e, &n, &err), CUSTOS_ERR_REFUSED);
    assert_non_null(strstr(err.message, "at most 1000"));
    custos_client_free(admin);

    char ca[1200], cert[1200], key[1200], out[8192];
    tls_path(t, "ca", ca, sizeof ca);
    strcat(ca, ".pem");
    tls_path(t, "admin", cert, sizeof cert);
    strcat(cert, ".pem");
    tls_path(t, "admin", key, sizeof key);
    strcat(key, ".key");
    const char *verify[] = {CUSTOS_CLI_BIN, "audit", "verify", "--gateway", t->f.target,
                            "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key, NULL};
    int rc = tu_run(verify, out, sizeof out, 1);
    if (rc != 0 || strstr(out, "\"ok\": true") == NULL || strstr(out, "\"entries\": 1") == NULL)
        fail_msg("custos audit verify exited %d: %s", rc, out);
    const char *list[] = {CUSTOS_CLI_BIN, "audit", "list", "--gateway", t->f.target,
                          "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key, NULL};
    rc = tu_run(list, out, sizeof out, 1);
    if (rc != 0 || strstr(out, "\"actor\":\"SIGHUP\"") == NULL ||
        strstr(out, "signer 0x") == NULL)
        fail_msg("custos audit list exited %d: %s", rc, out);
}

static void submit_pair(tls_fixture *t, custos_client *c, const char *ref, uint64_t seq,
                        gwf_key_id second, gwf_answer *a)
{
    custos_submission s;
    gwf_make(&t->f, &s, ref, seq, 1000 + seq);
    gwf_sign(&t->f, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&t->f, &s, second);
    submit_answered(c, &s, a);
}

static void expect_admin_refusal(custos_rc rc, const custos_error *err, custos_rc want,
                                 const char *needle)
{
    if (rc != want || strstr(err->message, needle) == NULL)
        fail_msg("got %s: %s (want %s with '%s')", custos_rc_name(rc), err->message,
                 custos_rc_name(want), needle);
}

/* Admin changes through the real gateway: an added signer's attestation is accepted, a
 * revoked one's refused, bad and pointless changes are refused with their status, a
 * non-admin cannot change anything, every change is an audit entry of a verifying chain,
 * and the changes survive a restart. */
static void test_admin_changes_signers(void **state)
{
    tls_fixture *t = *state;
    const uint8_t *fresh = t->f.keys[GWF_KEY_UNKNOWN].address;
    uint64_t seq = 0;
    custos_error err;

    custos_client *attestor = tls_client(t, "ca", "acme");
    expect_admin_refusal(custos_client_add_signer(attestor, fresh, GWF_FEED, "valuation_agent",
                                                  &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "UNAUTHORIZED_CLIENT");

    custos_client *admin = tls_client(t, "ca", "admin");
    assert_int_equal(custos_client_add_signer(admin, fresh, GWF_FEED, "valuation_agent", &seq,
                                              &err),
                     CUSTOS_OK);
    assert_true(seq > 0);
    gwf_answer res;
    submit_pair(t, attestor, "acct-admin-1", 1, GWF_KEY_UNKNOWN, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("added signer not accepted: %s", res.err.message);

    expect_admin_refusal(custos_client_add_signer(admin, fresh, GWF_FEED, "valuation_agent",
                                                  &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "already active");
    expect_admin_refusal(custos_client_add_signer(admin, fresh, "no-such-feed", "auditor",
                                                  &seq, &err),
                         &err, CUSTOS_ERR_NOT_FOUND, "not configured");
    expect_admin_refusal(custos_client_add_signer(admin, fresh, GWF_FEED, "boss", &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "'boss'");

    assert_int_equal(custos_client_revoke_signer(admin, fresh, GWF_FEED, &seq, &err), CUSTOS_OK);
    submit_pair(t, attestor, "acct-admin-1", 2, GWF_KEY_UNKNOWN, &res);
    assert_int_equal(res.rc, CUSTOS_ERR_REFUSED);
    assert_int_equal(res.err.reason, CUSTOS_REASON_REVOKED_SIGNER);
    expect_admin_refusal(custos_client_revoke_signer(admin, fresh, GWF_FEED, &seq, &err), &err,
                         CUSTOS_ERR_NOT_FOUND, "no active signer");
    /* Revocation is final, as on-chain: the revoked key is never added again. */
    expect_admin_refusal(custos_client_add_signer(admin, fresh, GWF_FEED, "valuation_agent",
                                                  &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "revocation is final");
    /* The feed needs two distinct roles: custodian, valuation agent, fund administrator
     * are active; after the agent goes, the fund administrator cannot. */
    assert_int_equal(custos_client_revoke_signer(admin, t->f.keys[GWF_KEY_AGENT].address,
                                                 GWF_FEED, &seq, &err),
                     CUSTOS_OK);
    expect_admin_refusal(custos_client_revoke_signer(admin, t->f.keys[GWF_KEY_ADMIN].address,
                                                     GWF_FEED, &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "unable to reach its threshold");

    custos_audit_entry *e = NULL;
    size_t n = 0;
    assert_int_equal(custos_client_list_audit(admin, 0, 100, &e, &n, &err), CUSTOS_OK);
    uint8_t zero[32] = {0};
    assert_int_equal(custos_audit_verify(0, zero, e, n), n);
    assert_true(n >= 3);
    assert_string_equal(e[n - 1].action, "revoke_signer");
    assert_string_equal(e[n - 1].actor, "ops-admin");
    custos_audit_entry_list_free(e, n);
    custos_client_free(admin);
    custos_client_free(attestor);

    /* A restart keeps the changes: they live in the store, not in the file. */
    assert_int_equal(tu_stop(&t->f.proc, SIGTERM, 10000), 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/tls.ini", t->f.dir);
    t->f.port = tu_gateway_start(&t->f.proc, path, t->f.dir);
    snprintf(t->f.target, sizeof t->f.target, "127.0.0.1:%d", t->f.port);
    custos_client *reader = tls_client(t, "ca", "unmapped");
    custos_signer_info *list = NULL;
    assert_int_equal(custos_client_list_signers(reader, &list, &n, &err), CUSTOS_OK);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(list[i].address, fresh, 20) == 0 ||
            (memcmp(list[i].address, t->f.keys[GWF_KEY_AGENT].address, 20) == 0 &&
             strcmp(list[i].feed, GWF_FEED) == 0)) {
            assert_false(list[i].active);
            seen++;
        }
    }
    custos_signer_list_free(list, n);
    assert_int_equal(seen, 2);
    custos_client_free(reader);
}

/* Rotation through the admin service and the CLI: after test_admin_changes_signers the
 * feed's active roles are custodian (two keys) and fund administrator. The custodian key
 * is rotated to a key never listed for the feed (the other feed's) with a two-second
 * overlap: the new key counts at once, the old one until the window ends, then it is
 * refused; the two together are one signing party, refused as the adapter refuses them. */
static void test_admin_rotation(void **state)
{
    tls_fixture *t = *state;
    custos_error err;
    uint64_t seq = 0;
    custos_client *admin = tls_client(t, "ca", "admin");
    const uint8_t *old_key = t->f.keys[GWF_KEY_CUSTODIAN].address;
    const uint8_t *new_key = t->f.keys[GWF_KEY_UNKNOWN].address;
    expect_admin_refusal(custos_client_rotate_signer(admin, old_key, new_key, GWF_FEED, 86401,
                                                     &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "max_rotation_overlap");
    expect_admin_refusal(custos_client_rotate_signer(admin, new_key, old_key, GWF_FEED, 2,
                                                     &seq, &err),
                         &err, CUSTOS_ERR_NOT_FOUND, "no active signer");
    /* The revoked key cannot come back as a rotation's new key either. */
    expect_admin_refusal(custos_client_rotate_signer(admin, old_key, new_key, GWF_FEED, 2,
                                                     &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "revocation is final");
    custos_client_free(admin);

    char ca[1200], cert[1200], key[1200], out[8192];
    tls_path(t, "ca", ca, sizeof ca);
    strcat(ca, ".pem");
    tls_path(t, "admin", cert, sizeof cert);
    strcat(cert, ".pem");
    tls_path(t, "admin", key, sizeof key);
    strcat(key, ".key");
    uint64_t end = gwf_now() + 2;
    const char *rotate[] = {CUSTOS_CLI_BIN, "admin", "rotate-signer", "--gateway", t->f.target,
                            "--old", t->f.keys[GWF_KEY_CUSTODIAN].hex, "--new",
                            t->f.keys[GWF_KEY_OTHER].hex, "--feed", GWF_FEED, "--overlap",
                            "2", "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key, NULL};
    int rc = tu_run(rotate, out, sizeof out, 1);
    if (rc != 0 || strstr(out, "auditSeq") == NULL)
        fail_msg("custos admin rotate-signer exited %d: %s", rc, out);

    custos_client *attestor = tls_client(t, "ca", "acme");
    gwf_answer res;
    /* Old and new key of the custodian in one attestation: one party, refused. */
    custos_submission pair;
    gwf_make(&t->f, &pair, "acct-rotate-1", 1, 1001);
    gwf_sign(&t->f, &pair, GWF_KEY_CUSTODIAN);
    gwf_sign(&t->f, &pair, GWF_KEY_OTHER);
    submit_answered(attestor, &pair, &res);
    if (gwf_now() < end && (res.rc != CUSTOS_ERR_REFUSED ||
                            res.err.reason != CUSTOS_REASON_DUPLICATE_SIGNER ||
                            strstr(res.err.message, "one signing party") == NULL))
        fail_msg("old and new key together: %s %s: %s", custos_rc_name(res.rc),
                 custos_reason_name(res.err.reason), res.err.message);
    submit_pair(t, attestor, "acct-rotate-1", 1, GWF_KEY_ADMIN, &res);
    if (gwf_now() < end && (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED))
        fail_msg("old key refused inside its window: %s", res.err.message);
    while (gwf_now() <= end)
        usleep(100 * 1000);
    submit_pair(t, attestor, "acct-rotate-1", 2, GWF_KEY_ADMIN, &res);
    if (res.rc != CUSTOS_ERR_REFUSED || res.err.reason != CUSTOS_REASON_REVOKED_SIGNER ||
        strstr(res.err.message, "overlap window ended") == NULL)
        fail_msg("old key after its window: %s: %s", custos_reason_name(res.err.reason),
                 res.err.message);
    /* The new key with the fund administrator: a quorum of two roles. */
    custos_submission s;
    gwf_make(&t->f, &s, "acct-rotate-1", 2, 1002);
    gwf_sign(&t->f, &s, GWF_KEY_OTHER);
    gwf_sign(&t->f, &s, GWF_KEY_ADMIN);
    submit_answered(attestor, &s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("new key refused: %s", res.err.message);
    custos_client_free(attestor);
}

/* Feed policy through the admin service and the CLI: a threshold the active signers
 * cannot reach is refused; a threshold of one takes effect for the next submission. */
static void test_admin_feed_policy(void **state)
{
    tls_fixture *t = *state;
    custos_error err;
    uint64_t seq = 0;
    custos_client *admin = tls_client(t, "ca", "admin");
    custos_feed_policy p = {.max_age = 86400, .max_skew = 300, .max_ttl = 604800,
                            .threshold = 3, .distinct_roles = true};
    expect_admin_refusal(custos_client_set_feed_policy(admin, GWF_FEED, &p, &seq, &err), &err,
                         CUSTOS_ERR_REFUSED, "too few active signers");
    expect_admin_refusal(custos_client_set_feed_policy(admin, "no-such-feed", &p, &seq, &err),
                         &err, CUSTOS_ERR_NOT_FOUND, "not configured");
    p.max_age = 0;
    expect_admin_refusal(custos_client_set_feed_policy(admin, GWF_FEED, &p, &seq, &err), &err,
                         CUSTOS_ERR_REFUSED, "max_age");
    custos_client_free(admin);

    char ca[1200], cert[1200], key[1200], out[8192];
    tls_path(t, "ca", ca, sizeof ca);
    strcat(ca, ".pem");
    tls_path(t, "admin", cert, sizeof cert);
    strcat(cert, ".pem");
    tls_path(t, "admin", key, sizeof key);
    strcat(key, ".key");
    const char *set[] = {CUSTOS_CLI_BIN, "admin", "set-feed-policy", "--gateway", t->f.target,
                         "--feed", GWF_FEED, "--max-age", "86400", "--max-skew", "300",
                         "--max-ttl", "604800", "--threshold", "1", "--distinct-roles", "false",
                         "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key, NULL};
    int rc = tu_run(set, out, sizeof out, 1);
    if (rc != 0 || strstr(out, "auditSeq") == NULL)
        fail_msg("custos admin set-feed-policy exited %d: %s", rc, out);

    custos_client *attestor = tls_client(t, "ca", "acme");
    custos_submission s;
    gwf_answer res;
    gwf_make(&t->f, &s, "acct-policy-1", 1, 1000);
    gwf_sign(&t->f, &s, GWF_KEY_CUSTODIAN2);
    submit_answered(attestor, &s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED || res.res.threshold != 1)
        fail_msg("one signature under threshold 1: state %d, threshold %u: %s",
                 (int)res.res.state, res.res.threshold, res.err.message);
    custos_client_free(attestor);
}

/* ReleaseHeld: admin only, checked; a digest that is not held is NOT_FOUND and nothing is
 * recorded. */
static void test_admin_release_held(void **state)
{
    tls_fixture *t = *state;
    custos_error err;
    uint64_t seq = 0;
    uint8_t digest[32] = {1};
    custos_client *attestor = tls_client(t, "ca", "acme");
    expect_admin_refusal(custos_client_release_held(attestor, digest, "ops ticket 1", &seq,
                                                    &err),
                         &err, CUSTOS_ERR_REFUSED, "UNAUTHORIZED_CLIENT");
    custos_client_free(attestor);
    custos_client *admin = tls_client(t, "ca", "admin");
    custos_audit_entry *e = NULL;
    size_t before = 0, after = 0;
    assert_int_equal(custos_client_list_audit(admin, 0, 1000, &e, &before, &err), CUSTOS_OK);
    custos_audit_entry_list_free(e, before);
    expect_admin_refusal(custos_client_release_held(admin, digest, "ops ticket 1", &seq, &err),
                         &err, CUSTOS_ERR_NOT_FOUND, "no held attestation");
    assert_int_equal(custos_client_list_audit(admin, 0, 1000, &e, &after, &err), CUSTOS_OK);
    custos_audit_entry_list_free(e, after);
    assert_int_equal(after, before);

    /* A rise the other feed's breaker holds: its signatures go to admins only (rule 6),
     * since anyone holding them could submit the quorum on-chain. */
    custos_client *other = tls_client(t, "ca", "other");
    custos_submission s;
    gwf_answer res;
    for (uint64_t seq_no = 1; seq_no <= 2; seq_no++) {
        gwf_make(&t->f, &s, "acct-held-1", seq_no, seq_no * 1000);
        snprintf(s.feed, sizeof s.feed, "%s", GWF_OTHER_FEED);
        custos_account_id(GWF_OTHER_FEED, "acct-held-1", s.att.account);
        gwf_sign(&t->f, &s, GWF_KEY_OTHER);
        submit_answered(other, &s, &res);
        if (res.rc != CUSTOS_OK ||
            res.res.state != (seq_no == 1 ? CUSTOS_STATE_ACCEPTED : CUSTOS_STATE_HELD))
            fail_msg("sequence %llu: %s state %d: %s", (unsigned long long)seq_no,
                     custos_rc_name(res.rc), (int)res.res.state, res.err.message);
    }
    custos_client_free(other);
    uint8_t account[32];
    custos_account_id(GWF_OTHER_FEED, "acct-held-1", account);
    custos_record *held = NULL;
    size_t n = 0;
    custos_client *reader = tls_client(t, "ca", "unmapped");
    assert_int_equal(custos_client_list_held(reader, account, &held, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(held[0].n_signers, 1);
    assert_int_equal(held[0].sub.n_sigs, 0);
    custos_record_list_free(held, n);
    custos_client_free(reader);
    assert_int_equal(custos_client_list_held(admin, account, &held, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(held[0].sub.n_sigs, 1);
    memcpy(digest, held[0].digest, sizeof digest);
    custos_record_list_free(held, n);
    /* The operator's release: fresh, and its signer still valid, so it is published. */
    assert_int_equal(custos_client_release_held(admin, digest, "ops ticket 2", &seq, &err),
                     CUSTOS_OK);
    assert_int_equal(custos_client_list_held(admin, account, &held, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 0);
    custos_record_list_free(held, n);
    custos_client_free(admin);
}

static void tls_sql(const tls_fixture *t, const char *sql)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/custos.db", t->f.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* An admin change whose audit entry cannot be written is refused and changes nothing:
 * here revoking the second custodian key (threshold 1 since test_admin_feed_policy). */
static void test_admin_change_needs_audit_entry(void **state)
{
    tls_fixture *t = *state;
    custos_error err;
    uint64_t seq = 0;
    const uint8_t *key = t->f.keys[GWF_KEY_CUSTODIAN2].address;
    tls_sql(t, "CREATE TRIGGER audit_refused BEFORE INSERT ON audit "
               "BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END");
    custos_client *admin = tls_client(t, "ca", "admin");
    custos_rc rc = custos_client_revoke_signer(admin, key, GWF_FEED, &seq, &err);
    tls_sql(t, "DROP TRIGGER audit_refused");
    if (rc != CUSTOS_ERR_UNAVAILABLE || strstr(err.message, "nothing changed") == NULL)
        fail_msg("got %s: %s", custos_rc_name(rc), err.message);
    custos_signer_info *list = NULL;
    size_t n = 0;
    assert_int_equal(custos_client_list_signers(admin, &list, &n, &err), CUSTOS_OK);
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(list[i].address, key, 20) == 0 && strcmp(list[i].feed, GWF_FEED) == 0) {
            assert_true(list[i].active);
            seen = true;
        }
    }
    assert_true(seen);
    custos_signer_list_free(list, n);
    /* With the log writable again, the same change goes through. */
    assert_int_equal(custos_client_revoke_signer(admin, key, GWF_FEED, &seq, &err), CUSTOS_OK);
    custos_client_free(admin);
}

/* Runs the custos CLI with cert's client certificate: args, then the TLS options. */
static int cli_as(tls_fixture *t, const char *cert, const char *const *args, char *out,
                  size_t cap)
{
    char ca[1200], pem[1200], key[1200];
    tls_path(t, "ca", ca, sizeof ca);
    strcat(ca, ".pem");
    tls_path(t, cert, pem, sizeof pem);
    strcat(pem, ".pem");
    tls_path(t, cert, key, sizeof key);
    strcat(key, ".key");
    const char *argv[24];
    size_t n = 0;
    argv[n++] = CUSTOS_CLI_BIN;
    for (size_t i = 0; args[i] != NULL && n < 14; i++)
        argv[n++] = args[i];
    const char *tail[] = {"--gateway", t->f.target, "--tls-ca", ca, "--tls-cert", pem,
                          "--tls-key", key, NULL};
    for (size_t i = 0; tail[i] != NULL; i++)
        argv[n++] = tail[i];
    argv[n] = NULL;
    return tu_run(argv, out, cap, 1);
}

/* A valuation of ref signed by acme-custody's custodian key in force after the tests
 * before (test_admin_rotation rotated it to the other feed's key; test_admin_feed_policy
 * set the threshold to 1). */
static void submit_late(tls_fixture *t, custos_client *c, const char *ref, uint64_t seq,
                        gwf_answer *a)
{
    custos_submission s;
    gwf_make(&t->f, &s, ref, seq, 1000 + seq);
    gwf_sign(&t->f, &s, GWF_KEY_OTHER);
    submit_answered(c, &s, a);
}

/* Rule 9 through the admin service, and the auditor role (operations.md §4): an
 * account is refused until an admin registers it, then accepted; it keeps its feed; an
 * auditor reads the audit log and the registry (custos audit verify works with its
 * certificate) and every change it asks for is refused. */
static void test_register_account_admin_and_auditor(void **state)
{
    tls_fixture *t = *state;
    custos_client *attestor = tls_client(t, "ca", "acme");
    custos_client *admin = tls_client(t, "ca", "admin");
    custos_client *auditor = tls_client(t, "ca", "auditor");
    gwf_answer res;
    submit_late(t, attestor, "acct-late-1", 1, &res);
    if (res.rc != CUSTOS_ERR_REFUSED || res.err.reason != CUSTOS_REASON_UNREGISTERED_ACCOUNT)
        fail_msg("unregistered: %s: %s", custos_rc_name(res.rc), res.err.message);

    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, "acct-late-1", account);
    uint64_t seq = 0;
    custos_error err;
    /* The auditor changes nothing. */
    expect_admin_refusal(custos_client_register_account(auditor, account, GWF_FEED, &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "is an auditor");
    assert_int_equal(err.reason, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
    expect_admin_refusal(custos_client_add_signer(auditor, t->f.keys[GWF_KEY_UNKNOWN].address,
                                                  GWF_FEED, "auditor", &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "changes nothing");
    submit_late(t, attestor, "acct-late-1", 1, &res);
    assert_int_equal(res.err.reason, CUSTOS_REASON_UNREGISTERED_ACCOUNT);

    assert_int_equal(custos_client_register_account(admin, account, GWF_FEED, &seq, &err),
                     CUSTOS_OK);
    assert_true(seq > 0);
    submit_late(t, attestor, "acct-late-1", 1, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("registered: %s: %s", custos_rc_name(res.rc), res.err.message);
    /* For good: not again, and not to another feed. */
    expect_admin_refusal(custos_client_register_account(admin, account, GWF_FEED, &seq, &err),
                         &err, CUSTOS_ERR_REFUSED, "already registered");
    expect_admin_refusal(
        custos_client_register_account(admin, account, GWF_OTHER_FEED, &seq, &err), &err,
        CUSTOS_ERR_REFUSED, "registered to feed '" GWF_FEED "'");
    expect_admin_refusal(custos_client_register_account(admin, account, "no-such-feed", &seq,
                                                        &err),
                         &err, CUSTOS_ERR_NOT_FOUND, "not configured");

    /* The auditor reads the registry and the audit log, and verifies it with the CLI. */
    custos_registered_account *list = NULL;
    size_t n = 0;
    uint64_t total = 0;
    assert_int_equal(custos_client_list_accounts(auditor, GWF_FEED, 0, 0, &list, &n, &total, &err),
                     CUSTOS_OK);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= memcmp(list[i].account, account, CUSTOS_HASH_LEN) == 0 &&
                 strcmp(list[i].feed, GWF_FEED) == 0;
    free(list);
    assert_true(found);
    assert_int_equal(total, n);
    char out[16384];
    const char *verify[] = {"audit", "verify", NULL};
    int rc = cli_as(t, "auditor", verify, out, sizeof out);
    if (rc != 0 || strstr(out, "\"ok\": true") == NULL)
        fail_msg("custos audit verify with the auditor certificate exited %d: %s", rc, out);
    const char *accounts[] = {"admin", "list-accounts", "--feed", GWF_FEED, NULL};
    rc = cli_as(t, "auditor", accounts, out, sizeof out);
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    assert_int_equal(custos_hex_encode(account, CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
    if (rc != 0 || strstr(out, hex) == NULL)
        fail_msg("custos admin list-accounts exited %d: %s", rc, out);
    /* The CLI's register-account, as the admin; as the auditor it is refused (exit 2). */
    const char *reg[] = {"admin", "register-account", "--feed", GWF_FEED, "--custodian",
                         GWF_FEED, "--ref", "acct-late-2", NULL};
    rc = cli_as(t, "auditor", reg, out, sizeof out);
    if (rc != 2 || strstr(out, "UNAUTHORIZED_CLIENT") == NULL)
        fail_msg("register-account as the auditor exited %d: %s", rc, out);
    rc = cli_as(t, "admin", reg, out, sizeof out);
    if (rc != 0 || strstr(out, "auditSeq") == NULL)
        fail_msg("register-account as the admin exited %d: %s", rc, out);
    submit_late(t, attestor, "acct-late-2", 1, &res);
    assert_int_equal(res.rc, CUSTOS_OK);

    /* A restart keeps the registrations: they live in the audit log. */
    custos_client_free(admin);
    custos_client_free(auditor);
    custos_client_free(attestor);
    assert_int_equal(tu_stop(&t->f.proc, SIGTERM, 10000), 0);
    char path[1200];
    snprintf(path, sizeof path, "%s/tls.ini", t->f.dir);
    t->f.port = tu_gateway_start(&t->f.proc, path, t->f.dir);
    snprintf(t->f.target, sizeof t->f.target, "127.0.0.1:%d", t->f.port);
    attestor = tls_client(t, "ca", "acme");
    submit_late(t, attestor, "acct-late-1", 2, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("after the restart: %s: %s", custos_rc_name(res.rc), res.err.message);
    custos_client_free(attestor);
}

/* The gateway binary on the fixture's store with [gateway] audit_anchor = anchor (none
 * when NULL): its exit status, its output in out. */
static int run_gateway_anchored(tls_fixture *t, const char *anchor, char *out, size_t cap)
{
    char path[1200], tail[4096];
    snprintf(path, sizeof path, "%s/anchored.ini", t->f.dir);
    tls_section(t, "server.key", tail, sizeof tail);
    write_config(t, path, tail);
    if (anchor != NULL) {
        char line[1300];
        int n = snprintf(line, sizeof line, "[gateway]\naudit_anchor = %s\n", anchor);
        assert_true(n > 0 && (size_t)n < sizeof line);
        tu_edit_file(path, "[gateway]\n", line);
    }
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", path, NULL};
    return tu_run(argv, out, cap, 1);
}

/* The audit log's head kept outside the gateway exposes a truncation (rule 13):
 * custos audit head prints it, audit verify --expect-head accepts it while the entry is
 * there and exits 1 once the newest entries are deleted from the store, and a gateway
 * started with that head in its audit_anchor file refuses to start; an entry that does
 * not follow the chain stops any start. Last: it leaves the store damaged. */
static void test_audit_expect_head(void **state)
{
    tls_fixture *t = *state;
    char ca[1200], cert[1200], key[1200], out[8192], head[128];
    tls_path(t, "ca", ca, sizeof ca);
    strcat(ca, ".pem");
    tls_path(t, "admin", cert, sizeof cert);
    strcat(cert, ".pem");
    tls_path(t, "admin", key, sizeof key);
    strcat(key, ".key");
    const char *head_argv[] = {CUSTOS_CLI_BIN, "audit", "head", "--gateway", t->f.target,
                               "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key, NULL};
    int rc = tu_run(head_argv, out, sizeof out, 0);
    const char *at = strstr(out, "\"head\": \"");
    if (rc != 0 || at == NULL)
        fail_msg("custos audit head exited %d: %s", rc, out);
    at += strlen("\"head\": \"");
    size_t len = strcspn(at, "\"");
    assert_true(len > 0 && len < sizeof head);
    memcpy(head, at, len);
    head[len] = '\0';
    assert_true(strchr(head, ':') != NULL && strtoull(head, NULL, 10) > 1);

    const char *verify[] = {CUSTOS_CLI_BIN, "audit", "verify", "--gateway", t->f.target,
                            "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key,
                            "--expect-head", head, NULL};
    rc = tu_run(verify, out, sizeof out, 1);
    if (rc != 0 || strstr(out, "\"ok\": true") == NULL)
        fail_msg("custos audit verify --expect-head %s exited %d: %s", head, rc, out);

    tls_sql(t, "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)");
    rc = tu_run(verify, out, sizeof out, 1);
    if (rc != 1 || strstr(out, "\"ok\": false") == NULL ||
        strstr(out, "missingFrom") == NULL || strstr(out, "newest entries were removed") == NULL)
        fail_msg("custos audit verify --expect-head %s after a deletion exited %d: %s", head,
                 rc, out);
    /* The chain alone still checks: the kept head is what tells. */
    const char *plain[] = {CUSTOS_CLI_BIN, "audit", "verify", "--gateway", t->f.target,
                           "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key, NULL};
    rc = tu_run(plain, out, sizeof out, 1);
    if (rc != 0 || strstr(out, "\"ok\": true") == NULL)
        fail_msg("custos audit verify exited %d: %s", rc, out);
    const char *bad[] = {CUSTOS_CLI_BIN, "audit", "verify", "--gateway", t->f.target,
                         "--tls-ca", ca, "--tls-cert", cert, "--tls-key", key,
                         "--expect-head", "12", NULL};
    rc = tu_run(bad, out, sizeof out, 1);
    if (rc == 0 || strstr(out, "SEQ:0xHASH") == NULL)
        fail_msg("custos audit verify --expect-head 12 exited %d: %s", rc, out);

    /* A second gateway on the shortened store, its anchor holding the kept head. */
    char anchor[1200], line[200];
    snprintf(anchor, sizeof anchor, "%s/audit.anchor", t->f.dir);
    snprintf(line, sizeof line, "%s\n", head);
    tu_write_file(anchor, line);
    rc = run_gateway_anchored(t, anchor, out, sizeof out);
    if (rc != 1 || strstr(out, "the newest entries were removed") == NULL ||
        strstr(out, anchor) == NULL)
        fail_msg("custos-gateway with the anchor exited %d: %s", rc, out);
    /* An entry that does not follow (a copy of the newest, its hashes swapped). */
    tls_sql(t, "INSERT INTO audit (seq, time, actor, action, payload, prev_hash, hash) "
               "SELECT seq + 1, time, actor, action, payload, hash, prev_hash FROM audit "
               "WHERE seq = (SELECT max(seq) FROM audit)");
    rc = run_gateway_anchored(t, NULL, out, sizeof out);
    if (rc != 1 || strstr(out, "the audit log's hash chain is broken at entry") == NULL)
        fail_msg("custos-gateway on a broken audit log exited %d: %s", rc, out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mapped_attestor_submits),
        cmocka_unit_test(test_attestor_binary_over_mtls),
        cmocka_unit_test(test_other_attestor_refused_for_feed),
        cmocka_unit_test(test_unmapped_client_reads_only),
        cmocka_unit_test(test_position_proof_authorised_by_feed),
        cmocka_unit_test(test_wrong_ca_client_cert_cannot_connect),
        cmocka_unit_test(test_no_client_cert_cannot_connect),
        cmocka_unit_test(test_untrusting_client_fails),
        cmocka_unit_test(test_plaintext_client_fails),
        cmocka_unit_test(test_open_key_refused),
        cmocka_unit_test(test_no_transport_refused),
        cmocka_unit_test(test_client_entries_need_client_ca),
        cmocka_unit_test(test_insecure_warns),
        cmocka_unit_test(test_client_options_checked),
        cmocka_unit_test(test_admin_service),
        cmocka_unit_test(test_admin_changes_signers),
        cmocka_unit_test(test_admin_rotation),
        cmocka_unit_test(test_admin_feed_policy),
        cmocka_unit_test(test_admin_release_held),
        cmocka_unit_test(test_admin_change_needs_audit_entry),
        cmocka_unit_test(test_register_account_admin_and_auditor),
        cmocka_unit_test(test_audit_expect_head),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
