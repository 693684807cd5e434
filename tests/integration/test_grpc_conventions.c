/* gRPC conventions checked by an independent client, Python grpcio with Google's protobuf
 * runtime (tests/tools/grpc_client.py): a refusal carries the standard google.rpc.Status
 * with a google.rpc.ErrorInfo in grpc-status-details-bin, beside the custos-reason trailer,
 * and both say the same; server reflection (v1alpha and v1) lists every service and gives
 * descriptors complete enough to call a method without the .proto files. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/hex.h"

#include "gwfixture.h"

#define PYTHON "/usr/bin/python3"
#define CLIENT CUSTOS_SOURCE_DIR "/tests/tools/grpc_client.py"
#define OUT_CAP 16384

static gwf F;

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    gwf_start(&F);
    return 0;
}

/* The gateway must stop cleanly (exit 0 on SIGTERM): reflection streams included. */
static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    if (status != 0) {
        fprintf(stderr, "custos-gateway exited with %d after SIGTERM\n", status);
        gwf_dump_log(&F);
    }
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* Runs the Python client and parses the JSON object it prints (the caller frees it). */
static json_t *client(const char *const args[])
{
    const char *argv[8] = {PYTHON, CLIENT};
    size_t n = 2;
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < 7);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    char out[OUT_CAP], err[OUT_CAP];
    int status = tu_run_split(argv, out, sizeof out, err, sizeof err);
    if (status != 0)
        fail_msg("grpc_client.py %s exited %d:\n%s\n%s", args[0], status, out, err);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    if (j == NULL)
        fail_msg("grpc_client.py printed no JSON: %s (%s)", out, jerr.text);
    return j;
}

static const char *text(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    if (s == NULL)
        fail_msg("no string \"%s\" in the client's answer", key);
    return s;
}

/* Writes a SubmitRequest signed by a key on no allow-list (refused UNKNOWN_SIGNER, with
 * its feed and account known) into path; account gets the account's hex. */
static void write_refused_request(const char *path, char *account, size_t cap)
{
    custos_submission s;
    gwf_make(&F, &s, "ERRINFO-1", 1, 1000);
    gwf_sign(&F, &s, GWF_KEY_UNKNOWN);
    assert_int_equal(custos_hex_encode(s.att.account, CUSTOS_HASH_LEN, account, cap),
                     CUSTOS_OK);
    gwf_pb *p = gwf_pb_new(&s);
    uint8_t *bytes;
    size_t len;
    gwf_pb_pack_request(p, 0, &bytes, &len);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(bytes);
    gwf_pb_free(p);
    custos_submission_clear(&s);
}

static void test_refusal_carries_error_info(void **state)
{
    (void)state;
    char path[1200], account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    snprintf(path, sizeof path, "%s/refused.bin", F.dir);
    write_refused_request(path, account, sizeof account);
    const char *args[] = {"error-info", F.target, path, NULL};
    json_t *j = client(args);
    char *dump = json_dumps(j, JSON_SORT_KEYS);
    fprintf(stderr, "decoded: %s\n", dump);
    free(dump);
    assert_true(json_is_true(json_object_get(j, "hasDetails")));
    assert_true(json_is_true(json_object_get(j, "unpacked")));
    assert_string_equal(text(j, "reason"), "UNKNOWN_SIGNER");
    assert_string_equal(text(j, "custosReason"), "UNKNOWN_SIGNER");
    assert_string_equal(text(j, "domain"), "custos.dev");
    /* The Status repeats the call's own status and message. */
    assert_int_equal(json_integer_value(json_object_get(j, "code")),
                     json_integer_value(json_object_get(j, "grpcCode")));
    assert_int_equal(json_integer_value(json_object_get(j, "grpcCode")), 7); /* PERMISSION_DENIED */
    assert_string_equal(text(j, "message"), text(j, "grpcDetails"));
    const json_t *md = json_object_get(j, "metadata");
    assert_string_equal(text(md, "feed"), GWF_FEED);
    assert_string_equal(text(md, "account"), account);
    json_decref(j);
}

static void test_malformed_refusal_has_no_metadata(void **state)
{
    (void)state;
    /* Not a protobuf message: refused before any feed or account is known. */
    char path[1200];
    snprintf(path, sizeof path, "%s/garbage.bin", F.dir);
    tu_write_file(path, "\xff\xff\xff");
    const char *args[] = {"error-info", F.target, path, NULL};
    json_t *j = client(args);
    assert_string_equal(text(j, "reason"), "MALFORMED");
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 3); /* INVALID_ARGUMENT */
    assert_int_equal(json_object_size(json_object_get(j, "metadata")), 0);
    json_decref(j);
}

static bool has_string(const json_t *array, const char *value)
{
    size_t i;
    const json_t *v;
    json_array_foreach(array, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
            return true;
    return false;
}

static void check_reflection(const char *version)
{
    const char *args[] = {"reflection", F.target, version, NULL};
    json_t *j = client(args);
    char *dump = json_dumps(j, JSON_SORT_KEYS);
    fprintf(stderr, "reflection %s: %s\n", version, dump);
    free(dump);
    const json_t *services = json_object_get(j, "services");
    const char *const expected[] = {"custos.v1.AttestationGateway", "custos.v1.GatewayAdmin",
                                    "grpc.health.v1.Health",
                                    "grpc.reflection.v1alpha.ServerReflection",
                                    "grpc.reflection.v1.ServerReflection"};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (!has_string(services, expected[i]))
            fail_msg("reflection %s does not list %s", version, expected[i]);
    /* Every service the gateway registers is listed: the method table's services. */
    const json_t *methods = json_object_get(j, "methods");
    assert_true(has_string(json_object_get(methods, "custos.v1.AttestationGateway"),
                           "Submit"));
    assert_true(has_string(json_object_get(methods, "custos.v1.GatewayAdmin"), "AddSigner"));
    assert_true(has_string(json_object_get(methods, "grpc.health.v1.Health"), "Check"));
    /* gateway.proto comes with what it imports. */
    const json_t *by_name = json_object_get(j, "byFilename");
    assert_true(has_string(by_name, "custos/v1/gateway.proto"));
    assert_true(has_string(by_name, "custos/v1/attestation.proto"));
    assert_int_equal(json_integer_value(json_object_get(j, "missingError")), 5); /* NOT_FOUND */
    /* The call built from the reflected descriptors was answered and decoded. */
    assert_non_null(json_object_get(j, "chainHead"));
    assert_true(json_array_size(json_object_get(j, "chainHeadFields")) > 0);
    json_decref(j);
}

static void test_reflection_v1alpha(void **state)
{
    (void)state;
    check_reflection("v1alpha");
}

static void test_reflection_v1(void **state)
{
    (void)state;
    check_reflection("v1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reflection_v1alpha),
        cmocka_unit_test(test_reflection_v1),
        cmocka_unit_test(test_refusal_carries_error_info),
        cmocka_unit_test(test_malformed_refusal_has_no_metadata),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
