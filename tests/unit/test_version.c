/* custos_version() reports the version the top-level CMakeLists.txt declares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/version.h"

#include "testutil.h"

static void test_version_is_the_project_version(void **state)
{
    (void)state;
    char *cmake = tu_read_file(CUSTOS_SOURCE_DIR "/CMakeLists.txt");
    assert_non_null(cmake);
    static const char key[] = "project(custos VERSION ";
    const char *at = strstr(cmake, key);
    assert_non_null(at);
    at += strlen(key);
    size_t len = strspn(at, "0123456789.");
    assert_true(len > 0);
    const char *v = custos_version();
    assert_int_equal(strlen(v), len);
    assert_memory_equal(v, at, len);
    free(cmake);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_is_the_project_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
