/* The accepted-attestation chain link against ethers (solidityPackedKeccak256 of
 * bytes32, uint64, bytes32), including cursors that use all 8 bytes, and the chain's
 * sensitivity to every input; notice links (bytes32, uint64, uint8 1, bytes32, bytes) mixed
 * with record links, also against ethers. */
#include <setjmp.h>
#include <stdbool.h>
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

static void sig_of(size_t i, uint8_t out[CUSTOS_CHAIN_SIG_LEN])
{
    for (size_t k = 0; k < CUSTOS_CHAIN_SIG_LEN; k++)
        out[k] = (uint8_t)(i * 53 + k * 7 + 1);
}

static void hex_into(const uint8_t *b, size_t len, char *out)
{
    for (size_t k = 0; k < len; k++)
        snprintf(out + 2 * k, 3, "%02x", b[k]);
}

/* Records and notices interleaved: notice at entries 1, 2 and 4 of six. */
#define N_MIXED 6
static void test_mixed_links_match_ethers(void **state)
{
    (void)state;
    static const bool notice[N_MIXED] = {false, true, true, false, true, false};
    static const uint64_t at[N_MIXED] = {1, 2, 3, 4, 0x0102030405060708u, UINT64_MAX};
    char cursor_s[N_MIXED][24], digest_s[N_MIXED][65], sig_s[N_MIXED][131];
    const char *args[4 * N_MIXED + 1];
    size_t na = 0;
    for (size_t i = 0; i < N_MIXED; i++) {
        uint8_t d[32], sg[CUSTOS_CHAIN_SIG_LEN];
        digest_of(i, d);
        sig_of(i, sg);
        snprintf(cursor_s[i], sizeof cursor_s[i], "%llu", (unsigned long long)at[i]);
        hex_into(d, 32, digest_s[i]);
        hex_into(sg, sizeof sg, sig_s[i]);
        if (notice[i])
            args[na++] = "notice";
        args[na++] = cursor_s[i];
        args[na++] = digest_s[i];
        if (notice[i])
            args[na++] = sig_s[i];
    }
    args[na] = NULL;
    char out[4096];
    int status = tu_node("chain_check.mjs", args, out, sizeof out);
    if (status != 0)
        fail_msg("chain_check.mjs exited %d: %s", status, out);

    uint8_t prev[32] = {0};
    const char *line = out;
    for (size_t i = 0; i < N_MIXED; i++) {
        uint8_t d[32], sg[CUSTOS_CHAIN_SIG_LEN], mine[32];
        digest_of(i, d);
        sig_of(i, sg);
        if (notice[i])
            custos_chain_link_notice(prev, at[i], d, sg, mine);
        else
            custos_chain_link(prev, at[i], d, mine);
        char hex[65], want[sizeof cursor_s[0] + sizeof hex + 2];
        hex_into(mine, 32, hex);
        snprintf(want, sizeof want, "%.23s %.64s\n", cursor_s[i], hex);
        if (strncmp(line, want, strlen(want)) != 0)
            fail_msg("entry %zu (%s): ethers says %.90s, we say %s", i,
                     notice[i] ? "notice" : "record", line, want);
        line += strlen(want);
        memcpy(prev, mine, 32);
    }
}

/* A notice link depends on its signature, and never equals the record link of the same
 * digest at the same place. */
static void test_notice_link_inputs(void **state)
{
    (void)state;
    uint8_t prev[32] = {0}, d[32], sg[CUSTOS_CHAIN_SIG_LEN], base[32], other[32];
    digest_of(0, d);
    sig_of(0, sg);
    custos_chain_link_notice(prev, 1, d, sg, base);
    custos_chain_link(prev, 1, d, other);
    assert_memory_not_equal(base, other, 32);
    sg[64] ^= 1;
    custos_chain_link_notice(prev, 1, d, sg, other);
    assert_memory_not_equal(base, other, 32);
    sg[64] ^= 1;
    custos_chain_link_notice(prev, 2, d, sg, other);
    assert_memory_not_equal(base, other, 32);
    custos_chain_link_notice(prev, 1, d, sg, prev);
    assert_memory_equal(prev, base, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_links_match_ethers),
        cmocka_unit_test(test_every_input_counts),
        cmocka_unit_test(test_mixed_links_match_ethers),
        cmocka_unit_test(test_notice_link_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
