/* The accepted-attestation chain link against ethers (solidityPackedKeccak256 of
 * bytes32, uint64, bytes32), including cursors that use all 8 bytes, and the chain's
 * sensitivity to every input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "custos/chain.h"

#include "testutil.h"

#define N_LINKS 5

static const uint64_t cursors[N_LINKS] = {1, 2, 255, 0x0102030405060708u, UINT64_MAX};

static void digest_of(size_t i, uint8_t out[32])
{
    for (size_t k = 0; k < 32; k++)
        out[k] = (uint8_t)(i * 37 + k * 11 + 3);
}

static void test_links_match_ethers(void **state)
{
    (void)state;
    char args_buf[N_LINKS][2][72];
    const char *args[2 * N_LINKS + 1];
    for (size_t i = 0; i < N_LINKS; i++) {
        uint8_t d[32];
        digest_of(i, d);
        snprintf(args_buf[i][0], sizeof args_buf[i][0], "%llu", (unsigned long long)cursors[i]);
        for (size_t k = 0; k < 32; k++)
            snprintf(args_buf[i][1] + 2 * k, 3, "%02x", d[k]);
        args[2 * i] = args_buf[i][0];
        args[2 * i + 1] = args_buf[i][1];
    }
    args[2 * N_LINKS] = NULL;
    char out[4096];
    int status = tu_node("chain_check.mjs", args, out, sizeof out);
    if (status != 0)
        fail_msg("chain_check.mjs exited %d: %s", status, out);

    uint8_t prev[32] = {0};
    const char *line = out;
    for (size_t i = 0; i < N_LINKS; i++) {
        uint8_t d[32], mine[32];
        digest_of(i, d);
        custos_chain_link(prev, cursors[i], d, mine);
        char hex[65], want[200];
        for (size_t k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", mine[k]);
        snprintf(want, sizeof want, "%.20s %s\n", args_buf[i][0], hex);
        if (strncmp(line, want, strlen(want)) != 0)
            fail_msg("link %zu: ethers says %.90s, we say %s", i, line, want);
        line += strlen(want);
        memcpy(prev, mine, 32);
    }
}

static void test_every_input_counts(void **state)
{
    (void)state;
    uint8_t prev[32] = {0}, d[32], base[32], other[32];
    digest_of(0, d);
    custos_chain_link(prev, 1, d, base);
    custos_chain_link(prev, 2, d, other);
    assert_memory_not_equal(base, other, 32);
    d[31] ^= 1;
    custos_chain_link(prev, 1, d, other);
    assert_memory_not_equal(base, other, 32);
    d[31] ^= 1;
    prev[0] = 1;
    custos_chain_link(prev, 1, d, other);
    assert_memory_not_equal(base, other, 32);
    /* out may alias prev. */
    memset(prev, 0, sizeof prev);
    custos_chain_link(prev, 1, d, prev);
    assert_memory_equal(prev, base, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links_match_ethers),
        cmocka_unit_test(test_every_input_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
