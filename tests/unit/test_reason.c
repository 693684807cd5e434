/* Refusal reasons: every name and number the same as custos.v1.Reason in the .proto file,
 * names round-trip, and exactly the "not now" reasons are transient. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/reason.h"

#include "testutil.h"

static void test_names_match_the_proto(void **state)
{
    (void)state;
    char *proto = tu_read_file(CUSTOS_SOURCE_DIR "/proto/custos/v1/attestation.proto");
    assert_non_null(proto);
    const char *p = strstr(proto, "enum Reason {");
    assert_non_null(p);
    const char *end = strchr(p, '}');
    assert_non_null(end);
    size_t seen = 0;
    for (p = strchr(p, '\n') + 1; p < end; p = strchr(p, '\n') + 1) {
        char name[64];
        int number;
        if (sscanf(p, " %63[A-Z_] = %d;", name, &number) != 2)
            continue;
        seen++;
        if (number == 0) {
            assert_string_equal(name, "REASON_UNSPECIFIED");
            assert_string_equal(custos_reason_name(CUSTOS_REASON_NONE), "NONE");
            continue;
        }
        if (strcmp(custos_reason_name((custos_reason)number), name) != 0)
            fail_msg("reason %d: the proto says %s, libcustos %s", number, name,
                     custos_reason_name((custos_reason)number));
        assert_int_equal(custos_reason_from_name(name), number);
    }
    /* Every named number is in the proto, and the unnamed ones are unknown. */
    size_t named = 0;
    for (int r = 0; r < CUSTOS_REASON_COUNT; r++)
        named += strcmp(custos_reason_name((custos_reason)r), "UNKNOWN") != 0;
    assert_int_equal(seen, named);
    assert_string_equal(custos_reason_name((custos_reason)CUSTOS_REASON_COUNT), "UNKNOWN");
    assert_string_equal(custos_reason_name((custos_reason)22), "UNKNOWN");
    assert_string_equal(custos_reason_name(CUSTOS_REASON_EXPOSURE_OUTSTANDING),
                        "EXPOSURE_OUTSTANDING");
    assert_int_equal(custos_reason_from_name("UNKNOWN"), CUSTOS_REASON_NONE);
    assert_int_equal(custos_reason_from_name("NO_SUCH_REASON"), CUSTOS_REASON_NONE);
    assert_int_equal(custos_reason_from_name(NULL), CUSTOS_REASON_NONE);
    free(proto);
}

static void test_transient(void **state)
{
    (void)state;
    for (int r = 0; r < CUSTOS_REASON_COUNT; r++) {
        bool want = r == CUSTOS_REASON_UNAVAILABLE || r == CUSTOS_REASON_RATE_LIMITED ||
                    r == CUSTOS_REASON_TOO_MANY_STREAMS || r == CUSTOS_REASON_EXPOSURE_UNREADABLE;
        if (custos_reason_is_transient((custos_reason)r) != want)
            fail_msg("%s: transient should be %d", custos_reason_name((custos_reason)r), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_match_the_proto),
        cmocka_unit_test(test_transient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
