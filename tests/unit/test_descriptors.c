/* The descriptors server reflection answers from (gateway/rpc/descriptors.c) agree with
 * the gateway's method table both ways: every method it registers is declared in them, and
 * every service they declare is one it serves. A new RPC or .proto file that one side
 * lacks fails here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rpc/call.h"
#include "rpc/descriptors.h"

static gw_descriptors *load(void)
{
    gw_descriptors *d;
    custos_error err;
    if (gw_descriptors_new(&d, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    return d;
}

static void test_every_method_is_described(void **state)
{
    (void)state;
    gw_descriptors *d = load();
    for (size_t m = 0; m < GW_RPC_METHODS; m++) {
        const char *path = gw_rpc_methods[m].path;
        assert_non_null(path);
        /* "/pkg.Service/Method" is the symbol "pkg.Service.Method". */
        char symbol[160];
        snprintf(symbol, sizeof symbol, "%s", path + 1);
        char *slash = strchr(symbol, '/');
        assert_non_null(slash);
        *slash = '.';
        if (gw_descriptors_find_symbol(d, symbol) < 0)
            fail_msg("%s is registered but not in the compiled descriptors", path);
    }
    gw_descriptors_free(d);
}

static void test_every_service_is_served(void **state)
{
    (void)state;
    gw_descriptors *d = load();
    assert_true(gw_descriptors_service_count(d) >= 5);
    for (size_t i = 0; i < gw_descriptors_service_count(d); i++) {
        const char *service = gw_descriptors_service(d, i);
        char prefix[160];
        snprintf(prefix, sizeof prefix, "/%s/", service);
        bool served = false;
        for (size_t m = 0; m < GW_RPC_METHODS && !served; m++)
            served = strncmp(gw_rpc_methods[m].path, prefix, strlen(prefix)) == 0;
        if (!served)
            fail_msg("reflection would list %s, which the gateway does not serve", service);
    }
    gw_descriptors_free(d);
}

static void test_lookups(void **state)
{
    (void)state;
    gw_descriptors *d = load();
    int gateway = gw_descriptors_find_file(d, "custos/v1/gateway.proto");
    assert_true(gateway >= 0);
    assert_int_equal(gw_descriptors_find_symbol(d, "custos.v1.AttestationGateway"), gateway);
    assert_int_equal(gw_descriptors_find_symbol(d, ".custos.v1.AttestationGateway"), gateway);
    assert_true(gw_descriptors_find_symbol(d, "custos.v1.Record") >= 0);
    assert_true(gw_descriptors_is_message(d, "custos.v1.Record"));
    assert_false(gw_descriptors_is_message(d, "custos.v1.AttestationGateway"));
    assert_int_equal(gw_descriptors_find_symbol(d, "custos.v1.NoSuchThing"), -1);
    assert_int_equal(gw_descriptors_find_symbol(d, "custos.v1"), -1);
    assert_int_equal(gw_descriptors_find_file(d, "nothing.proto"), -1);
    /* gateway.proto imports attestation.proto: the closure holds both, each once. */
    int files[GW_DESC_CLOSURE_MAX];
    size_t n;
    gw_descriptors_closure(d, gateway, files, &n);
    assert_int_equal(files[0], gateway);
    assert_int_equal(n, 2);
    assert_int_equal(files[1], gw_descriptors_find_file(d, "custos/v1/attestation.proto"));
    gw_descriptors_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method_is_described),
        cmocka_unit_test(test_every_service_is_served),
        cmocka_unit_test(test_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
