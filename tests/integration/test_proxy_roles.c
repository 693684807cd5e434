/* Client-certificate roles through the front proxy: nginx (deploy/nginx) verifies the
 * certificate and sends its common name in the identity header; the gateway, on a Unix
 * socket with client_identity = proxy-header, applies the [client] roles to that name
 * exactly as it does over its own mTLS, and never to a header a client sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/status.h>

#include "custos/audit.h"
#include "custos/client.h"
#include "custos/reason.h"

#include "frontproxy.h"
#include "gwfixture.h"
#include "testutil.h"

#define LIST_AUDIT "/custos.v1.GatewayAdmin/ListAudit"
#define IDENTITY_HEADER "x-custos-client-cn"

static const char *const certs[] = {"acme-attestor", "ops-admin", "risk-desk", "lender-dash",
                                    NULL};

static const char clients_ini[] = "[client acme-attestor]\nrole = attestor\nfeeds = " GWF_FEED
                                  "\n\n[client ops-admin]\nrole = admin\n\n"
                                  "[client risk-desk]\nrole = reader\n";

static int setup(void **state)
{
    fpx_stack *s = calloc(1, sizeof *s);
    assert_non_null(s);
    fpx_stack_start(s, clients_ini, certs);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    fpx_stack *s = *state;
    fpx_stack_cleanup(s);
    free(s);
    return 0;
}

/* The client's answer to a submission through the proxy with cert: taken (CUSTOS_OK, *res
 * filled) or refused (*err with the gateway's reason). Unreachable fails the test. */
static custos_rc submit_as(fpx_stack *s, const char *cert, const char *ref,
                           custos_submit_result *res, custos_error *err)
{
    custos_client *c = fpx_stack_client(s, cert, 5000);
    custos_submission sub;
    gwf_make(&s->f, &sub, ref, 1, 1000);
    gwf_sign(&s->f, &sub, GWF_KEY_CUSTODIAN);
    custos_error_clear(err);
    custos_rc rc = custos_client_submit(c, &sub, res, err);
    custos_submission_clear(&sub);
    custos_client_free(c);
    if (rc != CUSTOS_OK && err->reason == CUSTOS_REASON_NONE) {
        fpx_dump_log(&s->proxy);
        gwf_dump_log(&s->f);
        fail_msg("submit through the proxy as %s: %s", cert, err->message);
    }
    return rc;
}

static void test_attestor_submits_reader_does_not(void **state)
{
    fpx_stack *s = *state;
    custos_submit_result res;
    custos_error err;
    if (submit_as(s, "acme-attestor", "PROXY-ATTESTOR", &res, &err) != CUSTOS_OK)
        fail_msg("the attestor was refused: %s", err.message);
    assert_int_equal(res.state, CUSTOS_STATE_PENDING);

    const char *refused[] = {"risk-desk", "ops-admin", "lender-dash"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(submit_as(s, refused[i], "PROXY-READER", &res, &err),
                         CUSTOS_ERR_REFUSED);
        assert_int_equal(err.reason, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
        assert_non_null(strstr(err.message, refused[i]));
    }
}

static custos_rc list_audit_as(fpx_stack *s, const char *cert, custos_error *err)
{
    custos_client *c = fpx_stack_client(s, cert, 5000);
    custos_audit_entry *entries = NULL;
    size_t n = 0;
    custos_rc rc = custos_client_list_audit(c, 0, 10, &entries, &n, err);
    custos_audit_entry_list_free(entries, n);
    custos_client_free(c);
    return rc;
}

static void test_admin_only_with_admin_certificate(void **state)
{
    fpx_stack *s = *state;
    custos_error err;
    assert_int_equal(list_audit_as(s, "ops-admin", &err), CUSTOS_OK);
    const char *others[] = {"acme-attestor", "risk-desk", "lender-dash"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(list_audit_as(s, others[i], &err), CUSTOS_ERR_REFUSED);
        assert_non_null(strstr(err.message, "not an admin"));
    }
}

/* ListAudit with a client-chosen identity header, over TLS to nginx with cert. */
static void forged_call(fpx_stack *s, const char *cert, const char *method, const uint8_t *req,
                        size_t len, const char *claimed, gwf_raw_result *res)
{
    char ca_path[1200], cert_path[1200], key_path[1200];
    snprintf(ca_path, sizeof ca_path, "%s/ca.pem", s->pki);
    snprintf(cert_path, sizeof cert_path, "%s/%s.pem", s->pki, cert);
    snprintf(key_path, sizeof key_path, "%s/%s.key", s->pki, cert);
    char *ca = tu_read_file(ca_path), *pem = tu_read_file(cert_path), *key = tu_read_file(key_path);
    assert_non_null(ca);
    assert_non_null(pem);
    assert_non_null(key);
    grpc_init();
    grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = pem};
    grpc_channel_credentials *creds = grpc_ssl_credentials_create(ca, &pair, NULL, NULL);
    assert_non_null(creds);
    gwf_raw_call_md(s->target, creds, method, req, len, IDENTITY_HEADER, claimed, res);
    grpc_shutdown();
    free(ca);
    free(pem);
    free(key);
}

static void test_client_sent_identity_is_ignored(void **state)
{
    fpx_stack *s = *state;
    static const uint8_t list_req[] = {0x10, 0x0a}; /* ListAuditRequest{limit: 10} */
    gwf_raw_result res;
    /* The admin certificate with the header left as it is: the raw call path works. */
    forged_call(s, "ops-admin", LIST_AUDIT, list_req, sizeof list_req, "ops-admin", &res);
    assert_int_equal(res.grpc_status, GRPC_STATUS_OK);
    /* A reader claiming to be the admin, and a certificate without an entry claiming the
     * same: nginx overwrites the header with the verified name. */
    const char *claimants[] = {"risk-desk", "lender-dash", "acme-attestor"};
    for (size_t i = 0; i < 3; i++) {
        forged_call(s, claimants[i], LIST_AUDIT, list_req, sizeof list_req, "ops-admin", &res);
        assert_int_equal(res.grpc_status, GRPC_STATUS_PERMISSION_DENIED);
        assert_string_equal(res.reason, "UNAUTHORIZED_CLIENT");
        assert_non_null(strstr(res.details, claimants[i]));
    }
}

/* A caller that reaches the gateway's socket without the proxy has no identity at all. */
static void test_socket_without_proxy_refused(void **state)
{
    fpx_stack *s = *state;
    char target[1200];
    snprintf(target, sizeof target, "unix:%s", s->socket);
    custos_client *c = NULL;
    custos_error err;
    assert_int_equal(custos_client_new_insecure(target, 5000, &c, &err), CUSTOS_OK);
    bool serving = false;
    custos_rc rc = custos_client_health(c, &serving, &err);
    custos_client_free(c);
    assert_int_not_equal(rc, CUSTOS_OK);
    assert_non_null(strstr(err.message, "front proxy"));
}

/* Health through the proxy works for any certificate the CA issued. */
static void test_health_through_proxy(void **state)
{
    fpx_stack *s = *state;
    custos_client *c = fpx_stack_client(s, "lender-dash", 5000);
    custos_error err;
    bool serving = false;
    assert_int_equal(custos_client_health(c, &serving, &err), CUSTOS_OK);
    assert_true(serving);
    custos_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_through_proxy),
        cmocka_unit_test(test_attestor_submits_reader_does_not),
        cmocka_unit_test(test_admin_only_with_admin_certificate),
        cmocka_unit_test(test_client_sent_identity_is_ignored),
        cmocka_unit_test(test_socket_without_proxy_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
