/* Keccak-256: published vectors, block-boundary lengths cross-checked against ethers'
 * keccak256, several messages hashed at once, and incremental updates in awkward chunk
 * sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/keccak.h"
#include "testutil.h"

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* The pattern eip712_keccak.mjs hashes on the JavaScript side. */
static uint8_t *make_pattern(size_t len)
{
    uint8_t *p = malloc(len > 0 ? len : 1);
    assert_non_null(p);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 131 + 7) % 256);
    return p;
}

static void test_published_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *input;
        const char *hash;
    } cases[] = {
        {"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"},
        {"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"},
        {"The quick brown fox jumps over the lazy dog",
         "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15"},
        /* The Solidity event signature every ERC-20 indexer knows. */
        {"Transfer(address,address,uint256)",
         "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t out[32];
        char hex[65];
        custos_keccak256((const uint8_t *)cases[i].input, strlen(cases[i].input), out);
        to_hex(out, 32, hex);
        assert_string_equal(hex, cases[i].hash);
    }
}

/* Lengths around the 136-byte rate, where padding spills into a new block. */
static const size_t cross_lengths[] = {1,   31,  32,   33,   134,  135,    136,
                                       137, 200, 271,  272,  273,  1000,   100003};
#define N_CROSS (sizeof cross_lengths / sizeof cross_lengths[0])

static void test_against_ethers(void **state)
{
    (void)state;
    char args_buf[N_CROSS][24];
    const char *args[N_CROSS + 1];
    for (size_t i = 0; i < N_CROSS; i++) {
        snprintf(args_buf[i], sizeof args_buf[i], "%zu", cross_lengths[i]);
        args[i] = args_buf[i];
    }
    args[N_CROSS] = NULL;
    char out[8192];
    assert_int_equal(tu_node("eip712_keccak.mjs", args, out, sizeof out), 0);

    char *line = out;
    for (size_t i = 0; i < N_CROSS; i++) {
        size_t len;
        char expect[65];
        assert_int_equal(sscanf(line, "%zu %64s", &len, expect), 2);
        assert_int_equal(len, cross_lengths[i]);

        uint8_t *data = make_pattern(len);
        uint8_t hash[32];
        char hex[65];
        custos_keccak256(data, len, hash);
        to_hex(hash, 32, hex);
        if (strcmp(hex, expect) != 0)
            fail_msg("keccak256 of %zu bytes: ours %s, ethers %s", len, hex, expect);
        free(data);

        line = strchr(line, '\n');
        assert_non_null(line);
        line++;
    }
}

/* custos_keccak256_many: messages of one length at a stride, each hash cross-checked
 * against ethers' hash of the same bytes, for lengths around the rate and counts around
 * its groups of four; nothing written past the n-th hash. */
static const size_t many_lengths[] = {0, 1, 32, 64, 66, 135, 136, 137, 272, 352, 500};
static const size_t many_counts[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17};
#define N_MANY_LENGTHS (sizeof many_lengths / sizeof many_lengths[0])
#define MANY_MAX 17

static void test_many_against_ethers(void **state)
{
    (void)state;
    for (size_t l = 0; l < N_MANY_LENGTHS; l++) {
        size_t len = many_lengths[l], stride = len + 3;
        char args_buf[MANY_MAX][24];
        const char *args[MANY_MAX + 1];
        for (size_t j = 0; j < MANY_MAX; j++) {
            snprintf(args_buf[j], sizeof args_buf[j], "%zu@%zu", len, j * stride);
            args[j] = args_buf[j];
        }
        args[MANY_MAX] = NULL;
        char out[4096];
        assert_int_equal(tu_node("eip712_keccak.mjs", args, out, sizeof out), 0);
        char expect[MANY_MAX][65];
        char *line = out;
        for (size_t j = 0; j < MANY_MAX; j++) {
            char arg[24];
            assert_int_equal(sscanf(line, "%23s %64s", arg, expect[j]), 2);
            assert_string_equal(arg, args[j]);
            line = strchr(line, '\n');
            assert_non_null(line);
            line++;
        }

        uint8_t *data = make_pattern(MANY_MAX * stride);
        for (size_t c = 0; c < sizeof many_counts / sizeof many_counts[0]; c++) {
            size_t n = many_counts[c];
            uint8_t hashes[MANY_MAX + 1][32];
            memset(hashes, 0xee, sizeof hashes);
            custos_keccak256_many(data, len, stride, n, hashes);
            for (size_t j = 0; j < n; j++) {
                char hex[65];
                to_hex(hashes[j], 32, hex);
                if (strcmp(hex, expect[j]) != 0)
                    fail_msg("message %zu of %zu, %zu bytes: ours %s, ethers %s", j, n, len,
                             hex, expect[j]);
            }
            for (size_t j = n; j <= MANY_MAX; j++)
                for (size_t k = 0; k < 32; k++)
                    if (hashes[j][k] != 0xee)
                        fail_msg("%zu messages of %zu bytes: hash %zu written", n, len, j);
        }
        free(data);
    }
}

static void test_incremental_matches_one_shot(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 3, 7, 64, 135, 136, 137, 250, 1021};
    const size_t len = 5000;
    uint8_t *data = make_pattern(len);
    uint8_t expect[32];
    custos_keccak256(data, len, expect);

    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        custos_keccak k;
        custos_keccak_init(&k);
        for (size_t off = 0; off < len; off += chunks[c]) {
            size_t n = len - off < chunks[c] ? len - off : chunks[c];
            custos_keccak_update(&k, data + off, n);
        }
        uint8_t got[32];
        custos_keccak_final(&k, got);
        assert_memory_equal(got, expect, 32);
    }

    /* Empty updates change nothing; uneven growing chunks cross every boundary offset. */
    custos_keccak k;
    custos_keccak_init(&k);
    size_t off = 0;
    for (size_t step = 0; off < len; step++) {
        size_t n = step % 137;
        if (n > len - off)
            n = len - off;
        custos_keccak_update(&k, data + off, n);
        custos_keccak_update(&k, data + off, 0);
        off += n;
    }
    uint8_t got[32];
    custos_keccak_final(&k, got);
    assert_memory_equal(got, expect, 32);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_against_ethers),
        cmocka_unit_test(test_many_against_ethers),
        cmocka_unit_test(test_incremental_matches_one_shot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
