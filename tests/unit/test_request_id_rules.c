/* Which client request ids the gateway keeps (gw_request_id_valid), and that the ids it
 * makes are themselves valid and distinct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static void test_valid_table(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        bool valid;
    } cases[] = {
        {"a", true},
        {"client-7f3a:retry.2_b", true},
        {"0123456789012345678901234567890123456789012345678901234567890123", true}, /* 64 */
        {"01234567890123456789012345678901234567890123456789012345678901234", false}, /* 65 */
        {"", false},
        {"two words", false},
        {"quote\"d", false},
        {"back\\slash", false},
        {"new\nline", false},
        {"caf\xc3\xa9", false},
        {"semi;colon", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (gw_request_id_valid(cases[i].id, strlen(cases[i].id)) != cases[i].valid)
            fail_msg("'%s': expected %s", cases[i].id, cases[i].valid ? "valid" : "invalid");
    }
    /* The length travels with the pointer: bytes past it are not looked at. */
    assert_true(gw_request_id_valid("abc def", 3));
}

static void test_made_ids_valid_and_distinct(void **state)
{
    (void)state;
    char prev[GW_REQUEST_ID_MAX + 1] = "";
    for (int i = 0; i < 1000; i++) {
        char id[GW_REQUEST_ID_MAX + 1];
        gw_request_id_new(id);
        assert_true(gw_request_id_valid(id, strlen(id)));
        assert_string_not_equal(id, prev);
        memcpy(prev, id, sizeof prev);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_table),
        cmocka_unit_test(test_made_ids_valid_and_distinct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
