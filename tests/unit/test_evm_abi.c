/* ABI encoder and decoder, checked against ethers: every call encoding must equal
 * Interface.encodeFunctionData for the same values, and return data built by
 * AbiCoder.encode must decode to the values it was built from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "evm/evm_abi.h"
#include "testutil.h"

#define U256_MAX "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define SUBMIT_SIGNATURE                                                                    \
    "submit(bytes32,(bytes32,address,uint8,uint256,uint256,bytes32,uint64,uint64,uint64),"  \
    "bytes[])"

/* Storage the argument trees point into; reset before each table is built. */
static evm_abi_value field_pool[256];
static size_t n_fields_used;
static evm_abi_bytes item_pool[64];
static size_t n_items_used;
static uint8_t byte_pool[64 * 1024];
static size_t n_bytes_used;

/* A sequence of arguments (a call's, or a tuple's fields) built twice: as C values and
 * as the JSON values ethers receives. */
typedef struct seq {
    evm_abi_value *vals;
    size_t n;
    json_t *json;
} seq;

typedef struct abi_case {
    char signature[256];
    evm_abi_value args[8];
    seq s;
} abi_case;

static char *hex_of(const uint8_t *data, size_t len)
{
    char *hex = malloc(2 * len + 3);
    assert_non_null(hex);
    assert_int_equal(custos_hex_encode(data, len, hex, 2 * len + 3), CUSTOS_OK);
    return hex;
}

static void append(seq *s, evm_abi_value v, json_t *j)
{
    assert_non_null(j);
    s->vals[s->n++] = v;
    assert_int_equal(json_array_append_new(s->json, j), 0);
}

static void append_hex(seq *s, evm_abi_value v, const uint8_t *data, size_t len)
{
    char *hex = hex_of(data, len);
    append(s, v, json_string(hex));
    free(hex);
}

static uint8_t *fill(size_t len, uint8_t seed)
{
    assert_true(n_bytes_used + len <= sizeof byte_pool);
    uint8_t *p = byte_pool + n_bytes_used;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed + 13 * i);
    n_bytes_used += len;
    return p;
}

static void put_uint(seq *s, const char *dec)
{
    custos_u256 v;
    assert_int_equal(custos_u256_from_dec(&v, dec, strlen(dec), NULL), CUSTOS_OK);
    append(s, evm_abi_u256(&v), json_string(dec));
}

static void put_uint64(seq *s, uint64_t v)
{
    char dec[24];
    snprintf(dec, sizeof dec, "%llu", (unsigned long long)v);
    append(s, evm_abi_uint64(v), json_string(dec));
}

static void put_address(seq *s, uint8_t seed)
{
    const uint8_t *a = fill(20, seed);
    append_hex(s, evm_abi_address(a), a, 20);
}

static void put_bytes32(seq *s, uint8_t seed)
{
    const uint8_t *b = fill(32, seed);
    append_hex(s, evm_abi_bytes32(b), b, 32);
}

static void put_bool(seq *s, bool v)
{
    append(s, evm_abi_bool(v), json_boolean(v));
}

static void put_bytes(seq *s, size_t len, uint8_t seed)
{
    const uint8_t *b = fill(len, seed);
    append_hex(s, evm_abi_dynamic_bytes(b, len), b, len);
}

static void put_bytes_array(seq *s, const size_t *lens, size_t n, uint8_t seed)
{
    assert_true(n_items_used + n <= sizeof item_pool / sizeof item_pool[0]);
    evm_abi_bytes *items = item_pool + n_items_used;
    n_items_used += n;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        items[i].data = fill(lens[i], (uint8_t)(seed + i));
        items[i].len = lens[i];
        char *hex = hex_of(items[i].data, lens[i]);
        assert_int_equal(json_array_append_new(arr, json_string(hex)), 0);
        free(hex);
    }
    append(s, evm_abi_bytes_array(items, n), arr);
}

static seq tuple_begin(size_t max_fields)
{
    assert_true(n_fields_used + max_fields <= sizeof field_pool / sizeof field_pool[0]);
    seq t = {field_pool + n_fields_used, 0, json_array()};
    n_fields_used += max_fields;
    return t;
}

static void tuple_end(seq *parent, seq *t)
{
    append(parent, evm_abi_tuple(t->vals, t->n), t->json);
}

static void tuple_array_end(seq *parent, seq *t)
{
    append(parent, evm_abi_tuple_array(t->vals, t->n), t->json);
}

static void case_begin(abi_case *c, const char *signature)
{
    snprintf(c->signature, sizeof c->signature, "%s", signature);
    c->s.vals = c->args;
    c->s.n = 0;
    c->s.json = json_array();
}

/* submit(bytes32 feedId, CollateralAttestation, bytes[] signatures) with n signatures. */
static void build_submit(abi_case *c, size_t n_sigs, uint8_t seed)
{
    case_begin(c, SUBMIT_SIGNATURE);
    put_bytes32(&c->s, seed);
    seq t = tuple_begin(9);
    put_bytes32(&t, (uint8_t)(seed + 1));          /* account */
    put_address(&t, (uint8_t)(seed + 2));          /* beneficiary */
    put_uint64(&t, n_sigs % 3);                    /* kind */
    put_uint(&t, "125000000000000000000000000");   /* grossValue: 125M USD */
    put_uint(&t, "118750000000000000000000000");   /* collateralValue */
    put_bytes32(&t, (uint8_t)(seed + 3));          /* positionsRoot */
    put_uint64(&t, 1763740800);                    /* asOf */
    put_uint64(&t, 1763740800 + 4 * 86400);        /* validUntil */
    put_uint64(&t, UINT64_MAX - n_sigs);           /* sequence */
    tuple_end(&c->s, &t);
    size_t lens[3] = {65, 65, 65};
    put_bytes_array(&c->s, lens, n_sigs, (uint8_t)(seed + 4));
}

/* submitBatch(bytes32 feedId, CollateralBatch, CollateralAttestation[], bytes signatures)
 * with n attestations and two packed signatures. */
static void build_submit_batch(abi_case *c, size_t n_atts, uint8_t seed)
{
    case_begin(c, "submitBatch(bytes32,(bytes32,bytes32,uint32,uint64,uint64,uint64),"
                  "(bytes32,address,uint8,uint256,uint256,bytes32,uint64,uint64,uint64)[],bytes)");
    put_bytes32(&c->s, seed);
    seq b = tuple_begin(6);
    put_bytes32(&b, seed);                         /* feedId */
    put_bytes32(&b, (uint8_t)(seed + 1));          /* accountsRoot */
    put_uint64(&b, n_atts);                        /* count */
    put_uint64(&b, 1763740800);                    /* asOf */
    put_uint64(&b, 1763740800 + 86400);            /* validUntil */
    put_uint64(&b, 9);                             /* sequence */
    tuple_end(&c->s, &b);
    seq atts = tuple_begin(n_atts > 0 ? n_atts : 1);
    for (size_t i = 0; i < n_atts; i++) {
        seq t = tuple_begin(9);
        put_bytes32(&t, (uint8_t)(seed + 2 + i));
        put_address(&t, (uint8_t)(seed + 3));
        put_uint64(&t, 0);
        put_uint(&t, "125000000000000000000000000");
        put_uint(&t, "118750000000000000000000000");
        put_bytes32(&t, (uint8_t)(seed + 5 + i));
        put_uint64(&t, 1763740800);
        put_uint64(&t, 1763740800 + 86400);
        put_uint64(&t, 100 + i);
        tuple_end(&atts, &t);
    }
    tuple_array_end(&c->s, &atts);
    put_bytes(&c->s, 130, (uint8_t)(seed + 7));
}

static size_t build_cases(abi_case *cases)
{
    n_fields_used = n_items_used = n_bytes_used = 0;
    size_t n = 0;

    case_begin(&cases[n], "transfer(address,uint256)");
    put_address(&cases[n].s, 0x11);
    put_uint(&cases[n].s, "1000000000000000000");
    n++;

    case_begin(&cases[n], "setFlags(bool,bool,uint8)");
    put_bool(&cases[n].s, true);
    put_bool(&cases[n].s, false);
    put_uint64(&cases[n].s, 255);
    n++;

    case_begin(&cases[n], "limits(uint256,uint64,uint256)");
    put_uint(&cases[n].s, U256_MAX);
    put_uint64(&cases[n].s, UINT64_MAX);
    put_uint(&cases[n].s, "0");
    n++;

    static const size_t byte_lens[] = {0, 1, 31, 32, 33, 100};
    for (size_t i = 0; i < sizeof byte_lens / sizeof byte_lens[0]; i++) {
        case_begin(&cases[n], "store(bytes)");
        put_bytes(&cases[n].s, byte_lens[i], (uint8_t)(0x20 + i));
        n++;
    }

    case_begin(&cases[n], "batch(bytes[])");
    put_bytes_array(&cases[n].s, NULL, 0, 0);
    n++;

    static const size_t item_lens[] = {0, 5, 64, 65};
    case_begin(&cases[n], "batch(bytes[])");
    put_bytes_array(&cases[n].s, item_lens, 4, 0x40);
    n++;

    for (size_t sigs = 1; sigs <= 3; sigs++) {
        build_submit(&cases[n], sigs, (uint8_t)(0x50 + 16 * sigs));
        n++;
    }

    /* Static tuples nested in a tuple, between dynamic arguments. */
    case_begin(&cases[n], "mixed(uint256,bytes,(uint64,(bytes32,bool)),bytes[],address)");
    put_uint(&cases[n].s, "42");
    put_bytes(&cases[n].s, 70, 0x90);
    seq outer = tuple_begin(2);
    put_uint64(&outer, 7);
    seq inner = tuple_begin(2);
    put_bytes32(&inner, 0xa0);
    put_bool(&inner, true);
    tuple_end(&outer, &inner);
    tuple_end(&cases[n].s, &outer);
    static const size_t two[] = {3, 40};
    put_bytes_array(&cases[n].s, two, 2, 0xb0);
    put_address(&cases[n].s, 0xc0);
    n++;

    /* A dynamic array of static tuples: empty, one, three. */
    static const size_t batch_sizes[] = {0, 1, 3};
    for (size_t i = 0; i < sizeof batch_sizes / sizeof batch_sizes[0]; i++) {
        build_submit_batch(&cases[n], batch_sizes[i], (uint8_t)(0xd0 + 8 * i));
        n++;
    }

    case_begin(&cases[n], "ping()");
    n++;
    return n;
}

static void test_calls_match_ethers(void **state)
{
    (void)state;
    static abi_case cases[32];
    size_t n = build_cases(cases);
    json_t *all = json_array();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(json_array_append_new(all, json_pack("[s, O]", cases[i].signature,
                                                              cases[i].s.json)),
                         0);
    char *arg = json_dumps(all, JSON_COMPACT);
    assert_non_null(arg);
    json_decref(all);
    static char out[256 * 1024];
    const char *args[] = {"calls", arg, NULL};
    assert_int_equal(tu_node("evm_abi.mjs", args, out, sizeof out), 0);
    free(arg);

    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(line);
        uint8_t *enc;
        size_t len;
        custos_error err;
        if (evm_abi_encode(cases[i].signature, cases[i].args, cases[i].s.n, &enc, &len, &err) !=
            CUSTOS_OK)
            fail_msg("case %zu %s: %s", i, cases[i].signature, err.message);
        char *hex = hex_of(enc, len);
        if (strcmp(hex, line) != 0)
            fail_msg("case %zu %s:\n ours   %s\n ethers %s", i, cases[i].signature, hex, line);
        free(hex);
        free(enc);
        json_decref(cases[i].s.json);
        line = strtok_r(NULL, "\n", &save);
    }
    assert_null(line);
}

static void test_selector(void **state)
{
    (void)state;
    /* Published selectors (ERC-20 transfer, Chainlink latestRoundData). */
    uint8_t sel[4];
    evm_abi_selector("transfer(address,uint256)", sel);
    assert_memory_equal(sel, "\xa9\x05\x9c\xbb", 4);
    evm_abi_selector("latestRoundData()", sel);
    assert_memory_equal(sel, "\xfe\xaf\x96\x8c", 4);
}

static void test_encode_without_selector(void **state)
{
    (void)state;
    evm_abi_value args[] = {evm_abi_uint64(5)};
    uint8_t *enc;
    size_t len;
    assert_int_equal(evm_abi_encode(NULL, args, 1, &enc, &len, NULL), CUSTOS_OK);
    assert_int_equal(len, 32);
    assert_int_equal(enc[31], 5);
    free(enc);
}

static void test_encode_refusals(void **state)
{
    (void)state;
    uint8_t *enc = NULL;
    size_t len = 0;
    custos_error err;

    evm_abi_value fields[] = {evm_abi_uint64(1), evm_abi_dynamic_bytes(NULL, 0)};
    evm_abi_value dyn_tuple[] = {evm_abi_tuple(fields, 2)};
    assert_int_equal(evm_abi_encode("f((uint64,bytes))", dyn_tuple, 1, &enc, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "dynamic"));

    /* An array of dynamic elements, and an array of tuples holding one. */
    evm_abi_value dyn_elements[] = {evm_abi_dynamic_bytes(NULL, 0)};
    evm_abi_value dyn_array[] = {evm_abi_tuple_array(dyn_elements, 1)};
    assert_int_equal(evm_abi_encode("f(bytes[])", dyn_array, 1, &enc, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "array element 0 is dynamic"));
    evm_abi_value tuples[] = {evm_abi_tuple(fields, 2)};
    evm_abi_value tuple_array[] = {evm_abi_tuple_array(tuples, 1)};
    assert_int_equal(evm_abi_encode("f((uint64,bytes)[])", tuple_array, 1, &enc, &len, &err),
                     CUSTOS_ERR_INVALID);

    static uint8_t big[EVM_ABI_MAX_BYTES];
    evm_abi_value too_big[] = {evm_abi_dynamic_bytes(big, sizeof big)};
    assert_int_equal(evm_abi_encode("f(bytes)", too_big, 1, &enc, &len, &err),
                     CUSTOS_ERR_TOO_LARGE);
    /* The largest bytes that fit: selector, offset, length and whole words of data;
     * one byte more needs one more word. */
    size_t most = (EVM_ABI_MAX_BYTES - 4 - 64) / 32 * 32;
    evm_abi_value fits[] = {evm_abi_dynamic_bytes(big, most)};
    assert_int_equal(evm_abi_encode("f(bytes)", fits, 1, &enc, &len, &err), CUSTOS_OK);
    assert_int_equal(len, 4 + 64 + most);
    free(enc);
    evm_abi_value over[] = {evm_abi_dynamic_bytes(big, most + 1)};
    assert_int_equal(evm_abi_encode("f(bytes)", over, 1, &enc, &len, &err),
                     CUSTOS_ERR_TOO_LARGE);
    evm_abi_bytes items[2] = {{big, EVM_ABI_MAX_BYTES / 2}, {big, EVM_ABI_MAX_BYTES / 2}};
    evm_abi_value arr[] = {evm_abi_bytes_array(items, 2)};
    assert_int_equal(evm_abi_encode("f(bytes[])", arr, 1, &enc, &len, &err),
                     CUSTOS_ERR_TOO_LARGE);
}

/* Return data from ethers' AbiCoder. */
static uint8_t *ethers_encode(const char *types, const char *values, size_t *len)
{
    static char out[16 * 1024];
    const char *args[] = {"encode", types, values, NULL};
    assert_int_equal(tu_node("evm_abi.mjs", args, out, sizeof out), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(strncmp(out, "0x", 2), 0);
    *len = (strlen(out) - 2) / 2;
    uint8_t *data = malloc(*len);
    assert_non_null(data);
    assert_int_equal(custos_hex_decode(out, data, *len, NULL), CUSTOS_OK);
    return data;
}

static void assert_u256_dec(const custos_u256 *v, const char *dec)
{
    char buf[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_u256_to_dec(v, buf, sizeof buf), CUSTOS_OK);
    assert_string_equal(buf, dec);
}

static void test_decode_ethers_return_data(void **state)
{
    (void)state;
    size_t len;
    uint8_t *d = ethers_encode(
        "[\"uint256\",\"int256\",\"address\",\"(uint80,int256,uint256,uint256,uint80)\","
        "\"bool\",\"int256\",\"int8\",\"uint64\",\"int256\"]",
        "[\"" U256_MAX "\",\"-12345\",\"0x00000000000000000000000000000000DeaDBeef\","
        "[\"1208925819614629174706175\",\"118750000000000000000000000\",\"1763740800\","
        "\"1763740801\",\"18446744073709551616\"],"
        "true,"
        "\"-57896044618658097711785492504343953926634992332820282019728792003956564819968\","
        "\"-128\",\"18446744073709551615\",\"77\"]",
        &len);
    assert_int_equal(len, 13 * 32);
    custos_u256 v;
    bool neg, b;
    uint64_t u;
    uint8_t addr[20];
    custos_error err;

    assert_int_equal(evm_abi_get_uint(d, len, 0, 256, &v, &err), CUSTOS_OK);
    assert_u256_dec(&v, U256_MAX);
    assert_int_equal(evm_abi_get_int(d, len, 1, 256, &neg, &v, &err), CUSTOS_OK);
    assert_true(neg);
    assert_u256_dec(&v, "12345");
    assert_int_equal(evm_abi_get_address(d, len, 2, addr, &err), CUSTOS_OK);
    assert_memory_equal(addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\xde\xad\xbe\xef", 20);
    /* The tuple: a latestRoundData-shaped answer, one word per field. */
    assert_int_equal(evm_abi_get_uint(d, len, 3, 80, &v, &err), CUSTOS_OK);
    assert_u256_dec(&v, "1208925819614629174706175");
    assert_int_equal(evm_abi_get_int(d, len, 4, 256, &neg, &v, &err), CUSTOS_OK);
    assert_false(neg);
    assert_u256_dec(&v, "118750000000000000000000000");
    assert_int_equal(evm_abi_get_uint64(d, len, 5, 64, &u, &err), CUSTOS_OK);
    assert_int_equal(u, 1763740800);
    assert_int_equal(evm_abi_get_uint64(d, len, 6, 64, &u, &err), CUSTOS_OK);
    assert_int_equal(u, 1763740801);
    assert_int_equal(evm_abi_get_uint(d, len, 7, 80, &v, &err), CUSTOS_OK);
    assert_u256_dec(&v, "18446744073709551616");
    assert_int_equal(evm_abi_get_uint64(d, len, 7, 64, &u, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_bool(d, len, 8, &b, &err), CUSTOS_OK);
    assert_true(b);
    assert_int_equal(evm_abi_get_int(d, len, 9, 256, &neg, &v, &err), CUSTOS_OK);
    assert_true(neg);
    assert_u256_dec(&v,
                    "57896044618658097711785492504343953926634992332820282019728792003956564819968");
    assert_int_equal(evm_abi_get_int(d, len, 10, 8, &neg, &v, &err), CUSTOS_OK);
    assert_true(neg);
    assert_u256_dec(&v, "128");
    assert_int_equal(evm_abi_get_uint64(d, len, 11, 64, &u, &err), CUSTOS_OK);
    assert_int_equal(u, UINT64_MAX);
    assert_int_equal(evm_abi_get_int(d, len, 12, 8, &neg, &v, &err), CUSTOS_OK);
    assert_false(neg);
    assert_u256_dec(&v, "77");

    /* What abi.decode would refuse. */
    assert_int_equal(evm_abi_get_uint(d, len, 13, 256, &v, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "word 13"));
    assert_int_equal(evm_abi_get_uint(d, len - 1, 12, 256, &v, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_uint(d, len, 0, 128, &v, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_address(d, len, 0, addr, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_bool(d, len, 0, &b, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_bool(d, len, 12, &b, &err), CUSTOS_ERR_INVALID);
    /* -12345 is not an int8, -2^255 not an int128; all ones is -1 in any width. */
    assert_int_equal(evm_abi_get_int(d, len, 1, 8, &neg, &v, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_int(d, len, 9, 128, &neg, &v, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_int(d, len, 0, 8, &neg, &v, &err), CUSTOS_OK);
    assert_true(neg);
    assert_u256_dec(&v, "1");
    assert_int_equal(evm_abi_get_uint(d, len, 0, 7, &v, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(evm_abi_get_uint64(d, len, 11, 72, &u, &err), CUSTOS_ERR_INVALID);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selector),
        cmocka_unit_test(test_calls_match_ethers),
        cmocka_unit_test(test_encode_without_selector),
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_decode_ethers_return_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
