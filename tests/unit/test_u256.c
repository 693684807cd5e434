/* u256 and fixed-point money: boundary tables, then thousands of pseudo-random operations
 * cross-checked against JavaScript BigInt (tests/js/u256_check.mjs). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/u256.h"
#include "testutil.h"

#define MAX_HEX "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define MAX_DEC "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define MAX_DEC_PLUS_1 \
    "115792089237316195423570985008687907853269984665640564039457584007913129639936"

/* Hex (no 0x, up to 64 digits) to u256 by placing nibbles directly, so the expected values
 * do not depend on the arithmetic under test. */
static custos_u256 h(const char *hex)
{
    custos_u256 r = {{0, 0, 0, 0}};
    size_t n = strlen(hex);
    assert_true(n >= 1 && n <= 64);
    for (size_t i = 0; i < n; i++) {
        char c = hex[n - 1 - i];
        uint64_t d = 0;
        if (c >= '0' && c <= '9')
            d = (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint64_t)(c - 'a' + 10);
        else
            fail_msg("bad hex digit in test table: %s", hex);
        r.limb[i / 16] |= d << (4 * (i % 16));
    }
    return r;
}

static void to_hex(const custos_u256 *a, char out[65])
{
    snprintf(out, 65, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, a->limb[3],
             a->limb[2], a->limb[1], a->limb[0]);
}

static void assert_u256_eq(const custos_u256 *got, const custos_u256 *want, const char *what)
{
    if (custos_u256_cmp(got, want) != 0) {
        char g[65], w[65];
        to_hex(got, g);
        to_hex(want, w);
        fail_msg("%s: got %s, want %s", what, g, w);
    }
}

enum op { OP_ADD, OP_SUB, OP_MUL, OP_MULDIV, OP_MONEY };

static const char *op_name(enum op op)
{
    static const char *names[] = {"add", "sub", "mul", "muldiv", "money"};
    return names[op];
}

static custos_rc run_op(enum op op, custos_u256 *r, const custos_u256 *a, const custos_u256 *b,
                        const custos_u256 *d)
{
    switch (op) {
    case OP_ADD: return custos_u256_add(r, a, b);
    case OP_SUB: return custos_u256_sub(r, a, b);
    case OP_MUL: return custos_u256_mul(r, a, b);
    case OP_MULDIV: return custos_u256_mul_div(r, a, b, d);
    case OP_MONEY: return custos_money_mul(r, a, b);
    }
    fail_msg("unknown op %d", (int)op);
    return CUSTOS_ERR_INTERNAL;
}

static void test_arith_table(void **state)
{
    (void)state;
    static const struct {
        enum op op;
        const char *a, *b, *d;
        custos_rc rc;
        const char *want;
    } cases[] = {
        {OP_ADD, "0", "0", "1", CUSTOS_OK, "0"},
        {OP_ADD, "ffffffffffffffff", "1", "1", CUSTOS_OK, "10000000000000000"},
        {OP_ADD, "ffffffffffffffffffffffffffffffff", "1", "1", CUSTOS_OK,
         "100000000000000000000000000000000"},
        {OP_ADD, "ffffffffffffffffffffffffffffffffffffffffffffffff", "1", "1", CUSTOS_OK,
         "1000000000000000000000000000000000000000000000000"},
        {OP_ADD, MAX_HEX, "0", "1", CUSTOS_OK, MAX_HEX},
        {OP_ADD, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe", "1", "1",
         CUSTOS_OK, MAX_HEX},
        {OP_ADD, MAX_HEX, "1", "1", CUSTOS_ERR_OVERFLOW, NULL},
        {OP_ADD, MAX_HEX, MAX_HEX, "1", CUSTOS_ERR_OVERFLOW, NULL},
        {OP_ADD, "8000000000000000000000000000000000000000000000000000000000000000",
         "8000000000000000000000000000000000000000000000000000000000000000", "1",
         CUSTOS_ERR_OVERFLOW, NULL},
        {OP_SUB, "0", "0", "1", CUSTOS_OK, "0"},
        {OP_SUB, "0", "1", "1", CUSTOS_ERR_OVERFLOW, NULL},
        {OP_SUB, "10000000000000000", "1", "1", CUSTOS_OK, "ffffffffffffffff"},
        {OP_SUB, "1000000000000000000000000000000000000000000000000000000000000000", "1", "1",
         CUSTOS_OK, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
        {OP_SUB, MAX_HEX, MAX_HEX, "1", CUSTOS_OK, "0"},
        {OP_SUB, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe", MAX_HEX,
         "1", CUSTOS_ERR_OVERFLOW, NULL},
        {OP_MUL, "ffffffffffffffff", "ffffffffffffffff", "1", CUSTOS_OK,
         "fffffffffffffffe0000000000000001"},
        {OP_MUL, "ffffffffffffffffffffffffffffffff", "100000000000000000000000000000001", "1",
         CUSTOS_OK, MAX_HEX},
        {OP_MUL, "100000000000000000000000000000000", "100000000000000000000000000000000", "1",
         CUSTOS_ERR_OVERFLOW, NULL},
        {OP_MUL, "8000000000000000000000000000000000000000000000000000000000000000", "2", "1",
         CUSTOS_ERR_OVERFLOW, NULL},
        {OP_MUL, MAX_HEX, "1", "1", CUSTOS_OK, MAX_HEX},
        {OP_MUL, MAX_HEX, "0", "1", CUSTOS_OK, "0"},
        {OP_MULDIV, "7", "3", "2", CUSTOS_OK, "a"},
        {OP_MULDIV, "7", "3", "0", CUSTOS_ERR_INVALID, NULL},
        {OP_MULDIV, "0", "0", "0", CUSTOS_ERR_INVALID, NULL},
        {OP_MULDIV, MAX_HEX, MAX_HEX, MAX_HEX, CUSTOS_OK, MAX_HEX},
        {OP_MULDIV, MAX_HEX, "2", "2", CUSTOS_OK, MAX_HEX},
        {OP_MULDIV, MAX_HEX, "2", "1", CUSTOS_ERR_OVERFLOW, NULL},
        {OP_MULDIV, MAX_HEX, MAX_HEX,
         "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe",
         CUSTOS_ERR_OVERFLOW, NULL},
        {OP_MULDIV, "ffffffffffffffffffffffffffffffff", "ffffffffffffffffffffffffffffffff",
         "ffffffffffffffff", CUSTOS_OK, "10000000000000000fffffffffffffffeffffffffffffffff"},
        {OP_MONEY, "14d1120d7b160000", "1bc16d674ec80000", "1", CUSTOS_OK,
         "29a2241af62c0000"}, /* 1.5 * 2 = 3 */
        {OP_MONEY, "1", "1", "1", CUSTOS_OK, "0"},
        {OP_MONEY, MAX_HEX, "de0b6b3a7640000", "1", CUSTOS_OK, MAX_HEX},
        {OP_MONEY, MAX_HEX, "de0b6b3a7640001", "1", CUSTOS_ERR_OVERFLOW, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_u256 a = h(cases[i].a), b = h(cases[i].b), d = h(cases[i].d);
        custos_u256 r = h("5a5a");
        custos_u256 before = r;
        custos_rc rc = run_op(cases[i].op, &r, &a, &b, &d);
        char what[64];
        snprintf(what, sizeof what, "case %zu (%s)", i, op_name(cases[i].op));
        if (rc != cases[i].rc)
            fail_msg("%s: rc %s, want %s", what, custos_rc_name(rc), custos_rc_name(cases[i].rc));
        if (cases[i].want != NULL) {
            custos_u256 want = h(cases[i].want);
            assert_u256_eq(&r, &want, what);
        } else {
            /* A refused operation leaves the result untouched. */
            assert_u256_eq(&r, &before, what);
        }
    }
}

/* A power-of-two divisor at the top bit: (2^256-1)^2 / 2^255 needs 257 bits, while
 * (2^256-1) * 2^255 / 2^255 is exact. Also checks that the result may alias an operand. */
static void test_mul_div_power_of_two(void **state)
{
    (void)state;
    custos_u256 max = h(MAX_HEX);
    custos_u256 p255 = h("8000000000000000000000000000000000000000000000000000000000000000");
    custos_u256 r;
    assert_int_equal(custos_u256_mul_div(&r, &max, &max, &p255), CUSTOS_ERR_OVERFLOW);
    assert_int_equal(custos_u256_mul_div(&r, &max, &p255, &p255), CUSTOS_OK);
    assert_u256_eq(&r, &max, "max * 2^255 / 2^255");
    custos_u256 a = h("123456789abcdef0123456789abcdef");
    custos_u256 three = h("3");
    assert_int_equal(custos_u256_mul_div(&a, &a, &three, &three), CUSTOS_OK);
    custos_u256 want = h("123456789abcdef0123456789abcdef");
    assert_u256_eq(&a, &want, "aliased mul_div");
}

static void test_cmp_and_be(void **state)
{
    (void)state;
    custos_u256 a = h("1"), b = h("10000000000000000000000000000000000000000000000000");
    assert_int_equal(custos_u256_cmp(&a, &b), -1);
    assert_int_equal(custos_u256_cmp(&b, &a), 1);
    assert_int_equal(custos_u256_cmp(&b, &b), 0);
    assert_true(custos_u256_is_zero(&(custos_u256){{0, 0, 0, 0}}));
    assert_false(custos_u256_is_zero(&b));

    custos_u256 x = h("0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
    uint8_t be[32];
    custos_u256_to_be(&x, be);
    for (int i = 0; i < 32; i++)
        assert_int_equal(be[i], i + 1);
    custos_u256 y;
    custos_u256_from_be(&y, be);
    assert_u256_eq(&y, &x, "big-endian round trip");

    custos_u256 u;
    custos_u256_from_u64(&u, UINT64_MAX);
    custos_u256 want = h("ffffffffffffffff");
    assert_u256_eq(&u, &want, "from_u64");
}

static void test_from_dec_table(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        custos_rc rc;
        const char *want_hex;
    } cases[] = {
        {"0", CUSTOS_OK, "0"},
        {"1", CUSTOS_OK, "1"},
        {"18446744073709551615", CUSTOS_OK, "ffffffffffffffff"},
        {"18446744073709551616", CUSTOS_OK, "10000000000000000"},
        {MAX_DEC, CUSTOS_OK, MAX_HEX},
        {"000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "0000000042", CUSTOS_OK, "2a"},
        {MAX_DEC_PLUS_1, CUSTOS_ERR_OVERFLOW, NULL},
        {"1000000000000000000000000000000000000000000000000000000000000000000000000000000",
         CUSTOS_ERR_OVERFLOW, NULL},
        {"", CUSTOS_ERR_INVALID, NULL},
        {"-1", CUSTOS_ERR_INVALID, NULL},
        {"+1", CUSTOS_ERR_INVALID, NULL},
        {" 1", CUSTOS_ERR_INVALID, NULL},
        {"1 ", CUSTOS_ERR_INVALID, NULL},
        {"1.0", CUSTOS_ERR_INVALID, NULL},
        {"0x10", CUSTOS_ERR_INVALID, NULL},
        {"1e5", CUSTOS_ERR_INVALID, NULL},
        {"1,000", CUSTOS_ERR_INVALID, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_u256 r = h("5a5a"), before = r;
        custos_error err = {.code = CUSTOS_OK};
        custos_rc rc = custos_u256_from_dec(&r, cases[i].s, strlen(cases[i].s), &err);
        if (rc != cases[i].rc)
            fail_msg("from_dec(\"%s\"): rc %s, want %s", cases[i].s, custos_rc_name(rc),
                     custos_rc_name(cases[i].rc));
        if (rc == CUSTOS_OK) {
            custos_u256 want = h(cases[i].want_hex);
            assert_u256_eq(&r, &want, cases[i].s);
        } else {
            assert_int_equal(err.code, rc);
            assert_true(strlen(err.message) > 0);
            assert_u256_eq(&r, &before, cases[i].s);
        }
    }
    /* The length bounds the parse: trailing bytes past len are not read. */
    custos_u256 r;
    assert_int_equal(custos_u256_from_dec(&r, "12x", 2, NULL), CUSTOS_OK);
    custos_u256 twelve = h("c");
    assert_u256_eq(&r, &twelve, "length-bounded parse");
}

static void test_to_dec(void **state)
{
    (void)state;
    char buf[CUSTOS_U256_DEC_MAX];
    custos_u256 zero = h("0"), max = h(MAX_HEX);
    assert_int_equal(custos_u256_to_dec(&zero, buf, sizeof buf), CUSTOS_OK);
    assert_string_equal(buf, "0");
    assert_int_equal(custos_u256_to_dec(&max, buf, sizeof buf), CUSTOS_OK);
    assert_string_equal(buf, MAX_DEC);
    /* Exactly digits + NUL fits; one byte less does not. */
    assert_int_equal(custos_u256_to_dec(&max, buf, 79), CUSTOS_OK);
    assert_int_equal(custos_u256_to_dec(&max, buf, 78), CUSTOS_ERR_TOO_LARGE);
    assert_int_equal(custos_u256_to_dec(&zero, buf, 2), CUSTOS_OK);
    assert_int_equal(custos_u256_to_dec(&zero, buf, 1), CUSTOS_ERR_TOO_LARGE);
    /* Around the 19-digit chunks the digits are made in: the hex of each, and its
     * decimal as Python's int() writes it. */
    static const struct {
        const char *hex, *dec;
    } chunks[] = {
        {"8ac7230489e7ffff", "9999999999999999999"},
        {"8ac7230489e80000", "10000000000000000000"},
        {"8ac7230489e80001", "10000000000000000001"},
        {"4b3b4ca85a86c47a098a224000000000", "100000000000000000000000000000000000000"},
        {"4b3b4ca85a86c47a098a223fffffffff", "99999999999999999999999999999999999999"},
        {"4b3b4ca85a86c47a098a224000000005", "100000000000000000000000000000000000005"},
    };
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        custos_u256 v = h(chunks[i].hex);
        assert_int_equal(custos_u256_to_dec(&v, buf, sizeof buf), CUSTOS_OK);
        assert_string_equal(buf, chunks[i].dec);
    }
}

static void test_fixed_parse_table(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        unsigned decimals;
        custos_rc rc;
        const char *want_hex;
    } cases[] = {
        {"1234.5", 18, CUSTOS_OK, "42ec210956b3ba0000"}, /* 1234.5e18 */
        {"0", 18, CUSTOS_OK, "0"},
        {"1", 18, CUSTOS_OK, "de0b6b3a7640000"},
        {"0.000000000000000001", 18, CUSTOS_OK, "1"},
        {"007.50", 18, CUSTOS_OK, "68155a43676e0000"},
        {"0.0", 18, CUSTOS_OK, "0"},
        {"42", 0, CUSTOS_OK, "2a"},
        {"1", 77, CUSTOS_OK, "dd15fe86affad91249ef0eb713f39ebeaa987b6e6fd2a0000000000000000000"},
        {"115792089237316195423570985008687907853269984665640564039457.584007913129639935",
         18, CUSTOS_OK, MAX_HEX},
        {"115792089237316195423570985008687907853269984665640564039457.584007913129639936",
         18, CUSTOS_ERR_OVERFLOW, NULL},
        {"115792089237316195423570985008687907853269984665640564039458", 18,
         CUSTOS_ERR_OVERFLOW, NULL},
        {"2", 77, CUSTOS_ERR_OVERFLOW, NULL},
        {"1", 78, CUSTOS_ERR_INVALID, NULL},
        {"0.0000000000000000001", 18, CUSTOS_ERR_INVALID, NULL},
        {"4.2", 0, CUSTOS_ERR_INVALID, NULL},
        {"", 18, CUSTOS_ERR_INVALID, NULL},
        {".", 18, CUSTOS_ERR_INVALID, NULL},
        {"1.", 18, CUSTOS_ERR_INVALID, NULL},
        {".5", 18, CUSTOS_ERR_INVALID, NULL},
        {"-1", 18, CUSTOS_ERR_INVALID, NULL},
        {"+1", 18, CUSTOS_ERR_INVALID, NULL},
        {"1e5", 18, CUSTOS_ERR_INVALID, NULL},
        {" 1", 18, CUSTOS_ERR_INVALID, NULL},
        {"1 ", 18, CUSTOS_ERR_INVALID, NULL},
        {"1,000", 18, CUSTOS_ERR_INVALID, NULL},
        {"1.5.2", 18, CUSTOS_ERR_INVALID, NULL},
        {"1..5", 18, CUSTOS_ERR_INVALID, NULL},
        {"1.-5", 18, CUSTOS_ERR_INVALID, NULL},
        {"0x1", 18, CUSTOS_ERR_INVALID, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_u256 r = h("5a5a"), before = r;
        custos_error err = {.code = CUSTOS_OK};
        custos_rc rc =
            custos_fixed_parse(&r, cases[i].s, strlen(cases[i].s), cases[i].decimals, &err);
        if (rc != cases[i].rc)
            fail_msg("fixed_parse(\"%s\", %u): rc %s (%s), want %s", cases[i].s,
                     cases[i].decimals, custos_rc_name(rc), err.message,
                     custos_rc_name(cases[i].rc));
        if (rc == CUSTOS_OK) {
            custos_u256 want = h(cases[i].want_hex);
            assert_u256_eq(&r, &want, cases[i].s);
        } else {
            assert_int_equal(err.code, rc);
            assert_true(strlen(err.message) > 0);
            assert_u256_eq(&r, &before, cases[i].s);
        }
    }
}

static void test_fixed_format_table(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        unsigned decimals;
        const char *want;
    } cases[] = {
        {"0", 18, "0"},
        {"1", 18, "0.000000000000000001"},
        {"de0b6b3a7640000", 18, "1"},
        {"42ec210956b3ba0000", 18, "1234.5"},
        {"2a", 0, "42"},
        {"2a", 1, "4.2"},
        {"2a", 2, "0.42"},
        {"2a", 3, "0.042"},
        {"64", 2, "1"},
        {MAX_HEX, 18,
         "115792089237316195423570985008687907853269984665640564039457.584007913129639935"},
        {MAX_HEX, 77,
         "1.15792089237316195423570985008687907853269984665640564039457584007913129639935"},
        {"1", 77,
         "0.00000000000000000000000000000000000000000000000000000000000000000000000000001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_u256 a = h(cases[i].hex);
        char buf[CUSTOS_U256_DEC_MAX];
        assert_int_equal(custos_fixed_format(&a, cases[i].decimals, buf, sizeof buf),
                         CUSTOS_OK);
        assert_string_equal(buf, cases[i].want);
        /* The exact size fits, one byte less is refused. */
        size_t need = strlen(cases[i].want) + 1;
        assert_int_equal(custos_fixed_format(&a, cases[i].decimals, buf, need), CUSTOS_OK);
        assert_int_equal(custos_fixed_format(&a, cases[i].decimals, buf, need - 1),
                         CUSTOS_ERR_TOO_LARGE);
        /* Formatting inverts parsing. */
        custos_u256 back;
        assert_int_equal(custos_fixed_parse(&back, buf, strlen(buf), cases[i].decimals, NULL),
                         CUSTOS_OK);
        assert_u256_eq(&back, &a, cases[i].want);
    }
    custos_u256 one = h("1");
    char buf[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_fixed_format(&one, 78, buf, sizeof buf), CUSTOS_ERR_INVALID);
}

static void test_haircut_table(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        uint32_t bps;
        custos_rc rc;
        const char *want;
    } cases[] = {
        {"3e8", 250, CUSTOS_OK, "3cf"},     /* 1000 less 2.5% = 975 */
        {"3e7", 1, CUSTOS_OK, "3e6"},       /* 999 * 0.9999 = 998.9001, floored */
        {"3e8", 0, CUSTOS_OK, "3e8"},
        {"3e8", 10000, CUSTOS_OK, "0"},
        {"0", 500, CUSTOS_OK, "0"},
        {MAX_HEX, 0, CUSTOS_OK, MAX_HEX},
        {MAX_HEX, 10000, CUSTOS_OK, "0"},
        {"3e8", 10001, CUSTOS_ERR_INVALID, NULL},
        {"3e8", UINT32_MAX, CUSTOS_ERR_INVALID, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_u256 v = h(cases[i].v), r = h("5a5a"), before = r;
        custos_rc rc = custos_money_apply_haircut(&r, &v, cases[i].bps);
        if (rc != cases[i].rc)
            fail_msg("haircut case %zu: rc %s, want %s", i, custos_rc_name(rc),
                     custos_rc_name(cases[i].rc));
        custos_u256 want = cases[i].want != NULL ? h(cases[i].want) : before;
        assert_u256_eq(&r, &want, "haircut");
    }
}

/* splitmix64: a fixed seed makes every run check the same operands. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Operands of every width from 0 to 256 bits, with extra weight on the values where
 * carries and borrows happen (all ones, powers of two, zero). */
static custos_u256 rng_operand(uint64_t *s)
{
    custos_u256 r;
    for (int i = 0; i < 4; i++)
        r.limb[i] = rng_next(s);
    unsigned shape = (unsigned)(rng_next(s) % 8);
    unsigned bits = (unsigned)(rng_next(s) % 257);
    if (shape == 0) {
        memset(&r, 0, sizeof r);
        if (bits < 256)
            r.limb[bits / 64] = (uint64_t)1 << (bits % 64);
        return r;
    }
    if (shape == 1) {
        for (int i = 0; i < 4; i++)
            r.limb[i] = UINT64_MAX;
    }
    for (unsigned i = 0; i < 4; i++) {
        unsigned lo = 64 * i;
        if (bits <= lo)
            r.limb[i] = 0;
        else if (bits < lo + 64)
            r.limb[i] &= ((uint64_t)1 << (bits - lo)) - 1;
    }
    return r;
}

#define CROSS_N 6000

typedef struct cross_case {
    const char *op;
    custos_u256 a, b, d;
} cross_case;

/* Our own answer to a case, in the same notation as u256_check.mjs. */
static void cross_compute(const cross_case *c, char *out, size_t cap)
{
    custos_u256 r;
    custos_rc rc = CUSTOS_OK;
    if (strcmp(c->op, "dec") == 0) {
        assert_int_equal(custos_u256_to_dec(&c->a, out, cap), CUSTOS_OK);
        return;
    }
    if (strcmp(c->op, "fixed") == 0) {
        assert_int_equal(custos_fixed_format(&c->a, (unsigned)c->b.limb[0], out, cap),
                         CUSTOS_OK);
        return;
    }
    if (strcmp(c->op, "add") == 0)
        rc = custos_u256_add(&r, &c->a, &c->b);
    else if (strcmp(c->op, "sub") == 0)
        rc = custos_u256_sub(&r, &c->a, &c->b);
    else if (strcmp(c->op, "mul") == 0)
        rc = custos_u256_mul(&r, &c->a, &c->b);
    else if (strcmp(c->op, "muldiv") == 0)
        rc = custos_u256_mul_div(&r, &c->a, &c->b, &c->d);
    else if (strcmp(c->op, "money") == 0)
        rc = custos_money_mul(&r, &c->a, &c->b);
    else if (strcmp(c->op, "haircut") == 0)
        rc = custos_money_apply_haircut(&r, &c->a, (uint32_t)c->b.limb[0]);
    else
        fail_msg("unknown op %s", c->op);
    if (rc == CUSTOS_OK) {
        char hex[65];
        to_hex(&r, hex);
        snprintf(out, cap, "%s", hex);
    } else {
        snprintf(out, cap, "%s", custos_rc_name(rc));
    }
}

static void test_cross_check_bigint(void **state)
{
    (void)state;
    static const char *ops[] = {"add", "sub", "mul", "muldiv", "money", "haircut", "dec",
                                "fixed"};
    cross_case *cases = calloc(CROSS_N, sizeof *cases);
    assert_non_null(cases);
    uint64_t seed = 0x437573746f73ULL;
    for (size_t i = 0; i < CROSS_N; i++) {
        cross_case *c = &cases[i];
        c->op = ops[i % (sizeof ops / sizeof ops[0])];
        c->a = rng_operand(&seed);
        c->b = rng_operand(&seed);
        c->d = rng_operand(&seed);
        if (strcmp(c->op, "haircut") == 0)
            custos_u256_from_u64(&c->b, rng_next(&seed) % 10100);
        else if (strcmp(c->op, "fixed") == 0)
            custos_u256_from_u64(&c->b, rng_next(&seed) % 78);
        else if (strcmp(c->op, "muldiv") == 0 && i % 50 == 3)
            memset(&c->d, 0, sizeof c->d);
    }

    char dir[512], in_path[600], out_path[600];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(in_path, sizeof in_path, "%s/in.txt", dir);
    snprintf(out_path, sizeof out_path, "%s/out.txt", dir);
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < CROSS_N; i++) {
        char a[65], b[65], d[65];
        to_hex(&cases[i].a, a);
        to_hex(&cases[i].b, b);
        to_hex(&cases[i].d, d);
        assert_true(fprintf(f, "%s %s %s %s\n", cases[i].op, a, b, d) > 0);
    }
    assert_int_equal(fclose(f), 0);

    char msg[4096];
    const char *args[] = {in_path, out_path, NULL};
    int status = tu_node("u256_check.mjs", args, msg, sizeof msg);
    if (status != 0)
        fail_msg("u256_check.mjs exited %d: %s", status, msg);
    char *expected = tu_read_file(out_path);
    assert_non_null(expected);

    size_t counted[3] = {0, 0, 0}; /* ok, OVERFLOW, INVALID: every outcome must occur */
    char *line = expected;
    for (size_t i = 0; i < CROSS_N; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        char got[CUSTOS_U256_DEC_MAX];
        cross_compute(&cases[i], got, sizeof got);
        if (strcmp(got, line) != 0) {
            char a[65], b[65], d[65];
            to_hex(&cases[i].a, a);
            to_hex(&cases[i].b, b);
            to_hex(&cases[i].d, d);
            fail_msg("case %zu %s a=%s b=%s d=%s: libcustos %s, BigInt %s", i, cases[i].op, a,
                     b, d, got, line);
        }
        /* The decimal renderings must also parse back to the operand. */
        if (strcmp(cases[i].op, "dec") == 0) {
            custos_u256 back;
            assert_int_equal(custos_u256_from_dec(&back, line, strlen(line), NULL), CUSTOS_OK);
            assert_u256_eq(&back, &cases[i].a, "from_dec of BigInt rendering");
        } else if (strcmp(cases[i].op, "fixed") == 0) {
            custos_u256 back;
            assert_int_equal(custos_fixed_parse(&back, line, strlen(line),
                                                (unsigned)cases[i].b.limb[0], NULL),
                             CUSTOS_OK);
            assert_u256_eq(&back, &cases[i].a, "fixed_parse of BigInt rendering");
        }
        counted[strcmp(line, "OVERFLOW") == 0 ? 1 : strcmp(line, "INVALID") == 0 ? 2 : 0]++;
        line = nl + 1;
    }
    assert_true(counted[0] > CROSS_N / 2);
    assert_true(counted[1] > 0);
    assert_true(counted[2] > 0);

    free(expected);
    free(cases);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arith_table),
        cmocka_unit_test(test_mul_div_power_of_two),
        cmocka_unit_test(test_cmp_and_be),
        cmocka_unit_test(test_from_dec_table),
        cmocka_unit_test(test_to_dec),
        cmocka_unit_test(test_fixed_parse_table),
        cmocka_unit_test(test_fixed_format_table),
        cmocka_unit_test(test_haircut_table),
        cmocka_unit_test(test_cross_check_bigint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
