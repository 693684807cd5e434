/* The collateral manager's config file (attestor/manage_config.c, docs/lending.md §8): two
 * pledges load with every setting as the options spell it, relative paths resolved against
 * the file's directory; every malformed file is refused with the file and the JSON path of
 * what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manage_config.h"
#include "testutil.h"

static char dir[512], path[700];

static int setup(void **state)
{
    (void)state;
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/manage.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    return 0;
}

#define ACCOUNT "0x00000000000000000000000000000000000000000000000000000000000000a1"
#define LENDER "0x00000000000000000000000000000000000000b2"
/* A pledge object's members before the ones a case varies. */
#define BASE                                                                                \
    "\"account_id\": \"" ACCOUNT "\", \"lender\": \"" LENDER "\", \"loan_decimals\": 6, "   \
    "\"loan_price_usd\": \"1\", \"margin_return_ltv\": 4000, \"margin_call_ltv\": 7000, "  \
    "\"liquidation_ltv\": 9000"

static void test_two_pledges(void **state)
{
    (void)state;
    tu_write_file(path, "{\"pledges\": [{" BASE ", \"hysteresis\": 100, \"cure_seconds\": 86400, "
                        "\"state\": \"one.json\"}, {" BASE ", \"cure_business_hours\": 10, "
                        "\"state\": \"/var/lib/two.json\", \"feed\": \"acme\", "
                        "\"attestor_state\": \"seq.json\"}]}");
    at_manage_conf *c = NULL;
    custos_error err;
    assert_int_equal(at_manage_conf_load(path, &c, &err), CUSTOS_OK);
    assert_int_equal(at_manage_conf_count(c), 2);
    const at_pledge_opts *a = at_manage_conf_pledge(c, 0), *b = at_manage_conf_pledge(c, 1);
    assert_string_equal(a->account_id, ACCOUNT);
    assert_string_equal(a->lender, LENDER);
    assert_string_equal(a->loan_decimals, "6");
    assert_string_equal(a->loan_price, "1");
    assert_string_equal(a->margin_return, "4000");
    assert_string_equal(a->margin_call, "7000");
    assert_string_equal(a->liquidation, "9000");
    assert_string_equal(a->hysteresis, "100");
    assert_string_equal(a->cure_seconds, "86400");
    assert_null(a->cure_hours);
    char want[800];
    snprintf(want, sizeof want, "%s/one.json", dir);
    assert_string_equal(a->state, want);
    assert_null(a->feed);
    assert_null(a->seq_state);
    assert_null(b->hysteresis);
    assert_null(b->cure_seconds);
    assert_string_equal(b->cure_hours, "10");
    assert_string_equal(b->state, "/var/lib/two.json");
    assert_string_equal(b->feed, "acme");
    snprintf(want, sizeof want, "%s/seq.json", dir);
    assert_string_equal(b->seq_state, want);
    at_manage_conf_free(c);
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"[]", "object"},
        {"{}", "pledges"},
        {"{\"pledges\": []}", "1 to 256 pledges"},
        {"{\"pledges\": {}}", "pledges"},
        {"{\"pledges\": [7]}", "pledges[0]"},
        {"{\"pledges\": [{" BASE ", \"cure_seconds\": 1}]}", "pledges[0].state"},
        {"{\"pledges\": [{" BASE ", \"state\": \"s\"}]}", "cure_seconds"},
        {"{\"pledges\": [{" BASE ", \"state\": \"s\", \"cure_seconds\": 1, "
         "\"cure_business_hours\": 1}]}",
         "cure_seconds"},
        {"{\"pledges\": [{" BASE ", \"state\": \"s\", \"cure_seconds\": 1, \"feed\": \"f\"}]}",
         "attestor_state"},
        {"{\"pledges\": [{" BASE ", \"state\": \"s\", \"cure_seconds\": \"1\"}]}",
         "pledges[0].cure_seconds"},
        {"{\"pledges\": [{" BASE ", \"state\": \"s\", \"cure_seconds\": -1}]}",
         "pledges[0].cure_seconds"},
        {"{\"pledges\": [{" BASE ", \"state\": \"s\", \"cure_seconds\": 1, \"thresholds\": 1}]}",
         "thresholds"},
        {"{\"pledges\": [{" BASE ", \"state\": \"s\", \"cure_seconds\": 1}], \"rpc\": \"x\"}",
         "rpc"},
        {"{\"pledges\": [{\"lender\": \"" LENDER "\"}]}", "pledges[0]"},
        {"{\"pledges\": [{" BASE ", \"state\": \"\", \"cure_seconds\": 1}]}", "pledges[0].state"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_write_file(path, bad[i].text);
        at_manage_conf *c = NULL;
        custos_error err;
        if (at_manage_conf_load(path, &c, &err) == CUSTOS_OK)
            fail_msg("config %zu accepted: %s", i, bad[i].text);
        assert_null(c);
        if (strstr(err.message, path) == NULL || strstr(err.message, bad[i].says) == NULL)
            fail_msg("config %zu: the message does not name the file and '%s': %s", i,
                     bad[i].says, err.message);
    }
    custos_error err;
    at_manage_conf *c = NULL;
    char missing[800];
    snprintf(missing, sizeof missing, "%s/none.json", dir);
    assert_int_not_equal(at_manage_conf_load(missing, &c, &err), CUSTOS_OK);
    assert_null(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_pledges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
