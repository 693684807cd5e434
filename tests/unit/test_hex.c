/* The one hex encoder and decoder: known texts both ways, and every malformed text refused
 * with the output untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "custos/hex.h"

static void test_encode(void **state)
{
    (void)state;
    static const struct {
        const uint8_t bytes[8];
        size_t len;
        const char *text;
    } cases[] = {
        {{0}, 0, "0x"},
        {{0x00}, 1, "0x00"},
        {{0xff, 0x10, 0x0a}, 3, "0xff100a"},
        {{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, 8, "0x0123456789abcdef"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[CUSTOS_HEX_LEN(8)];
        assert_int_equal(custos_hex_encode(cases[i].bytes, cases[i].len, out,
                                           CUSTOS_HEX_LEN(cases[i].len)),
                         CUSTOS_OK);
        assert_string_equal(out, cases[i].text);
    }
    char small[CUSTOS_HEX_LEN(2)] = "keep";
    static const uint8_t three[3] = {1, 2, 3};
    assert_int_equal(custos_hex_encode(three, 3, small, sizeof small), CUSTOS_ERR_TOO_LARGE);
    assert_string_equal(small, "keep");
    assert_int_equal(custos_hex_encode(NULL, 1, small, sizeof small), CUSTOS_ERR_INVALID);
    assert_int_equal(custos_hex_encode(three, 1, NULL, 10), CUSTOS_ERR_INVALID);
}

static void test_decode(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
        custos_rc rc;
        const uint8_t bytes[4];
    } cases[] = {
        {"0x", 0, CUSTOS_OK, {0}},
        {"", 0, CUSTOS_OK, {0}},
        {"0xdeadBEEF", 4, CUSTOS_OK, {0xde, 0xad, 0xbe, 0xef}},
        {"0XDEADBEEF", 4, CUSTOS_OK, {0xde, 0xad, 0xbe, 0xef}},
        {"deadbeef", 4, CUSTOS_OK, {0xde, 0xad, 0xbe, 0xef}},
        {"0x00ff", 2, CUSTOS_OK, {0x00, 0xff}},
        {"0xdeadbee", 4, CUSTOS_ERR_INVALID, {0}},   /* a digit short */
        {"0xdeadbeef00", 4, CUSTOS_ERR_INVALID, {0}}, /* a byte too many */
        {"0xdeadbeeg", 4, CUSTOS_ERR_INVALID, {0}},  /* not a digit */
        {"0x dead be", 4, CUSTOS_ERR_INVALID, {0}},  /* spaces */
        {"0x0x00", 2, CUSTOS_ERR_INVALID, {0}},      /* a second prefix */
        {"-0x0001", 2, CUSTOS_ERR_INVALID, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[4] = {0x55, 0x55, 0x55, 0x55};
        custos_error err;
        custos_rc rc = custos_hex_decode(cases[i].text, out, cases[i].len, &err);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, want %d", cases[i].text, rc, cases[i].rc);
        if (rc == CUSTOS_OK) {
            assert_memory_equal(out, cases[i].bytes, cases[i].len);
        } else {
            static const uint8_t untouched[4] = {0x55, 0x55, 0x55, 0x55};
            assert_memory_equal(out, untouched, sizeof out);
            assert_true(strstr(err.message, "hex value") != NULL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
