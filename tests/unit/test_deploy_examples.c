/* Every example config of deploy/examples loads as the attestor loads it: each
 * attestor*.json through the daemon's config loader, and the holdings, prices and policy
 * files it names through theirs. The HSM variant names a PKCS#11 key and no key file. */
#include <dirent.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "holdings.h"
#include "policy.h"
#include "prices.h"
#include "runconf.h"

#define EXAMPLES CUSTOS_SOURCE_DIR "/deploy/examples"

static void load_or_fail(const char *path, at_runconf *c)
{
    custos_error err;
    if (at_runconf_load(path, c, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
}

/* The inputs an attestor config names load too. */
static void load_inputs(const at_runconf *c)
{
    custos_error err;
    at_holdings h;
    if (at_holdings_load(c->holdings, &h, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    at_holdings_free(&h);
    at_policy p;
    if (at_policy_load(c->policy, &p, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    at_policy_free(&p);
    if (c->prices[0] != '\0') {
        at_prices pr;
        if (at_prices_load(c->prices, &pr, &err) != CUSTOS_OK)
            fail_msg("%s", err.message);
        at_prices_free(&pr);
    }
}

static void test_every_attestor_config_loads(void **state)
{
    (void)state;
    DIR *d = opendir(EXAMPLES);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (fnmatch("attestor*.json", e->d_name, 0) != 0)
            continue;
        char path[1024];
        int len = snprintf(path, sizeof path, "%s/%s", EXAMPLES, e->d_name);
        assert_true(len > 0 && (size_t)len < sizeof path);
        at_runconf *c = calloc(1, sizeof *c);
        assert_non_null(c);
        load_or_fail(path, c);
        load_inputs(c);
        free(c);
        n++;
    }
    closedir(d);
    /* attestor.json and attestor-hsm.json at least. */
    assert_true(n >= 2);
}

static void test_key_file_example(void **state)
{
    (void)state;
    at_runconf *c = calloc(1, sizeof *c);
    assert_non_null(c);
    load_or_fail(EXAMPLES "/attestor.json", c);
    assert_string_equal(c->key, "/run/credentials/custos-attestor.service/signer.key");
    assert_string_equal(c->tls_key, "/run/credentials/custos-attestor.service/attestor.key");
    assert_string_equal(c->spool, "/var/lib/custos-attestor/spool");
    assert_string_equal(c->pkcs11_module, "");
    free(c);
}

static void test_hsm_example(void **state)
{
    (void)state;
    at_runconf *c = calloc(1, sizeof *c);
    assert_non_null(c);
    load_or_fail(EXAMPLES "/attestor-hsm.json", c);
    assert_string_equal(c->key, "");
    assert_string_equal(c->pkcs11_module, "/usr/lib/softhsm/libsofthsm2.so");
    assert_string_equal(c->pkcs11_token, "custos");
    assert_string_equal(c->pkcs11_key, "acme-ops-1");
    assert_string_equal(c->pkcs11_pin_file, "/run/credentials/custos-attestor.service/pkcs11.pin");
    assert_string_equal(c->tls_cert, "/run/credentials/custos-attestor.service/attestor.crt");
    assert_false(c->insecure);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_attestor_config_loads),
        cmocka_unit_test(test_key_file_example),
        cmocka_unit_test(test_hsm_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
