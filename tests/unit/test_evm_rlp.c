/* RLP encoder: the yellow paper / wiki examples and boundary cases, each checked against
 * a literal encoding where one is published and against ethers' encodeRlp for all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "evm/evm_rlp.h"
#include "testutil.h"

typedef enum { ITEM_BYTES, ITEM_UINT, ITEM_BIGUINT, ITEM_LIST } item_kind;

typedef struct item {
    item_kind kind;
    const char *bytes;          /* ITEM_BYTES */
    size_t len;
    uint64_t u;                 /* ITEM_UINT */
    const char *dec;            /* ITEM_BIGUINT: decimal */
    const struct item *kids;    /* ITEM_LIST */
    size_t n;
} item;

#define BYTES(s) {.kind = ITEM_BYTES, .bytes = (s), .len = sizeof(s) - 1}
#define UINT(v) {.kind = ITEM_UINT, .u = (v)}
#define BIGUINT(d) {.kind = ITEM_BIGUINT, .dec = (d)}
#define LIST(arr) {.kind = ITEM_LIST, .kids = (arr), .n = sizeof(arr) / sizeof((arr)[0])}
#define EMPTY_LIST {.kind = ITEM_LIST}

static const item cat_dog[] = {BYTES("cat"), BYTES("dog")};
/* The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ] */
static const item empty_in[] = {EMPTY_LIST};
static const item one[] = {EMPTY_LIST, LIST(empty_in)};
static const item three[] = {EMPTY_LIST, LIST(empty_in), LIST(one)};
#define LOREM "Lorem ipsum dolor sit amet, consectetur adipisicing elit"
static const item lorem_dog[] = {BYTES(LOREM), BYTES("dog")};
static const item twenty_dogs[] = {
    BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog"),
    BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog"),
    BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog"),
    BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog"), BYTES("dog")};
static char kilobyte[1024];
static const item mixed[] = {UINT(0), BYTES(""), UINT(1), LIST(cat_dog), BYTES("\x80")};

typedef struct rlp_case {
    const char *name;
    item it;
    const char *expected; /* published encoding, or NULL where ethers alone is the reference */
} rlp_case;

static rlp_case cases[] = {
    {"dog", BYTES("dog"), "0x83646f67"},
    {"[cat, dog]", LIST(cat_dog), "0xc88363617483646f67"},
    {"empty string", BYTES(""), "0x80"},
    {"empty list", EMPTY_LIST, "0xc0"},
    {"integer 0", UINT(0), "0x80"},
    {"integer 15", UINT(15), "0x0f"},
    {"integer 1024", UINT(1024), "0x820400"},
    {"set-theoretic three", LIST(three), "0xc7c0c1c0c3c0c1c0"},
    {"byte 0x00", BYTES("\x00"), "0x00"},
    {"byte 0x7f", BYTES("\x7f"), "0x7f"},
    {"byte 0x80", BYTES("\x80"), "0x8180"},
    {"integer 127", UINT(127), "0x7f"},
    {"integer 128", UINT(128), "0x8180"},
    {"integer 2^64-1", UINT(UINT64_MAX), "0x88ffffffffffffffff"},
    {"u256 max",
     BIGUINT("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
     "0xa0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    {"u256 2^64", BIGUINT("18446744073709551616"), "0x89010000000000000000"},
    {"55-byte string", BYTES("Lorem ipsum dolor sit amet, consectetur adipisicing eli"),
     "0xb74c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e7365637465747572"
     "206164697069736963696e6720656c69"},
    {"56-byte string", BYTES(LOREM),
     "0xb8384c6f72656d20697073756d20646f6c6f722073697420616d65742c20636f6e73656374657475"
     "72206164697069736963696e6720656c6974"},
    {"1024-byte string", {.kind = ITEM_BYTES, .bytes = kilobyte, .len = sizeof kilobyte}, NULL},
    {"list of 60 bytes", LIST(lorem_dog), NULL},
    {"list of 80 bytes", LIST(twenty_dogs), NULL},
    {"mixed list", LIST(mixed), NULL},
};

static void put_item(evm_rlp *w, const item *it)
{
    switch (it->kind) {
    case ITEM_BYTES:
        evm_rlp_put_bytes(w, (const uint8_t *)it->bytes, it->len);
        break;
    case ITEM_UINT:
        evm_rlp_put_uint64(w, it->u);
        break;
    case ITEM_BIGUINT: {
        custos_u256 v;
        assert_int_equal(custos_u256_from_dec(&v, it->dec, strlen(it->dec), NULL), CUSTOS_OK);
        evm_rlp_put_u256(w, &v);
        break;
    }
    case ITEM_LIST:
        evm_rlp_list_begin(w);
        for (size_t i = 0; i < it->n; i++)
            put_item(w, &it->kids[i]);
        evm_rlp_list_end(w);
        break;
    }
}

static json_t *item_json(const item *it)
{
    switch (it->kind) {
    case ITEM_BYTES: {
        char *hex = malloc(2 * it->len + 3);
        assert_non_null(hex);
        assert_int_equal(custos_hex_encode((const uint8_t *)it->bytes, it->len, hex,
                                           2 * it->len + 3),
                         CUSTOS_OK);
        json_t *j = json_string(hex);
        free(hex);
        return j;
    }
    case ITEM_UINT: {
        char dec[24];
        snprintf(dec, sizeof dec, "%llu", (unsigned long long)it->u);
        return json_pack("{s:s}", "int", dec);
    }
    case ITEM_BIGUINT:
        return json_pack("{s:s}", "int", it->dec);
    case ITEM_LIST: {
        json_t *a = json_array();
        for (size_t i = 0; i < it->n; i++)
            assert_int_equal(json_array_append_new(a, item_json(&it->kids[i])), 0);
        return a;
    }
    }
    return NULL;
}

static char *encode_hex(const item *it)
{
    static uint8_t buf[4096];
    evm_rlp w;
    size_t len = 0;
    custos_error err;
    evm_rlp_init(&w, buf, sizeof buf);
    put_item(&w, it);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_OK);
    char *hex = malloc(2 * len + 3);
    assert_non_null(hex);
    assert_int_equal(custos_hex_encode(buf, len, hex, 2 * len + 3), CUSTOS_OK);
    return hex;
}

static void test_published_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].expected == NULL)
            continue;
        char *hex = encode_hex(&cases[i].it);
        if (strcmp(hex, cases[i].expected) != 0)
            fail_msg("%s: got %s, expected %s", cases[i].name, hex, cases[i].expected);
        free(hex);
    }
}

static void test_matches_ethers(void **state)
{
    (void)state;
    json_t *all = json_array();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(json_array_append_new(all, item_json(&cases[i].it)), 0);
    char *arg = json_dumps(all, JSON_COMPACT);
    assert_non_null(arg);
    json_decref(all);
    static char out[64 * 1024];
    const char *args[] = {arg, NULL};
    assert_int_equal(tu_node("evm_rlp.mjs", args, out, sizeof out), 0);
    free(arg);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_non_null(line);
        char *hex = encode_hex(&cases[i].it);
        if (strcmp(hex, line) != 0)
            fail_msg("%s: got %s, ethers %s", cases[i].name, hex, line);
        free(hex);
        line = strtok_r(NULL, "\n", &save);
    }
    assert_null(line);
}

static void test_long_headers(void **state)
{
    (void)state;
    char *hex = encode_hex(&cases[18].it);
    assert_int_equal(strncmp(hex, "0xb90400", 8), 0);
    assert_int_equal(strlen(hex), 2 + 2 * (3 + 1024));
    free(hex);
    hex = encode_hex(&cases[20].it);
    assert_int_equal(strncmp(hex, "0xf85083646f67", 14), 0);
    free(hex);
}

static void test_buffer_bounds(void **state)
{
    (void)state;
    uint8_t buf[8];
    evm_rlp w;
    size_t len = 0;
    custos_error err;

    /* "dog" in a list takes exactly 5 bytes. */
    evm_rlp_init(&w, buf, 5);
    evm_rlp_list_begin(&w);
    evm_rlp_put_bytes(&w, (const uint8_t *)"dog", 3);
    evm_rlp_list_end(&w);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_OK);
    assert_int_equal(len, 5);

    /* The payload fits in 4 bytes but the list header does not. */
    evm_rlp_init(&w, buf, 4);
    evm_rlp_list_begin(&w);
    evm_rlp_put_bytes(&w, (const uint8_t *)"dog", 3);
    evm_rlp_list_end(&w);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_ERR_TOO_LARGE);

    /* A string one byte too long; later puts stay no-ops even when they would fit. */
    evm_rlp_init(&w, buf, 3);
    evm_rlp_put_bytes(&w, (const uint8_t *)"dog", 3);
    assert_int_equal(w.len, 0);
    evm_rlp_put_uint64(&w, 1);
    assert_int_equal(w.len, 0);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_ERR_TOO_LARGE);
    assert_non_null(strstr(err.message, "3 bytes"));

    evm_rlp_init(&w, NULL, 0);
    evm_rlp_put_bytes(&w, NULL, 0);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_ERR_TOO_LARGE);
}

static void test_unbalanced_lists(void **state)
{
    (void)state;
    uint8_t buf[64];
    evm_rlp w;
    size_t len = 0;
    custos_error err;

    evm_rlp_init(&w, buf, sizeof buf);
    evm_rlp_list_begin(&w);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_ERR_INVALID);

    evm_rlp_init(&w, buf, sizeof buf);
    evm_rlp_list_end(&w);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_ERR_INVALID);

    evm_rlp_init(&w, buf, sizeof buf);
    for (int i = 0; i < EVM_RLP_MAX_DEPTH; i++)
        evm_rlp_list_begin(&w);
    for (int i = 0; i < EVM_RLP_MAX_DEPTH; i++)
        evm_rlp_list_end(&w);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_OK);
    assert_int_equal(len, EVM_RLP_MAX_DEPTH);

    evm_rlp_init(&w, buf, sizeof buf);
    for (int i = 0; i <= EVM_RLP_MAX_DEPTH; i++)
        evm_rlp_list_begin(&w);
    assert_int_equal(evm_rlp_finish(&w, &len, &err), CUSTOS_ERR_INVALID);
}

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof kilobyte; i++)
        kilobyte[i] = (char)(i * 7 + 3);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_matches_ethers),
        cmocka_unit_test(test_long_headers),
        cmocka_unit_test(test_buffer_bounds),
        cmocka_unit_test(test_unbalanced_lists),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
