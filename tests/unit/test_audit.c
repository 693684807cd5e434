/* The audit log's hash chain: entry hashes against ethers (abi.encodePacked of the
 * documented layout, with an empty payload and a non-ASCII actor), and verification that
 * finds the first entry changed, removed, reordered or mis-linked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/audit.h"

#include "testutil.h"

#define N_ENTRIES 3

static custos_audit_entry entries[N_ENTRIES];

static void set_entry(custos_audit_entry *e, uint64_t seq, uint64_t time, const char *actor,
                      const char *action, const char *payload)
{
    memset(e, 0, sizeof *e);
    e->seq = seq;
    e->time = time;
    snprintf(e->actor, sizeof e->actor, "%s", actor);
    snprintf(e->action, sizeof e->action, "%s", action);
    e->payload_len = strlen(payload);
    e->payload = e->payload_len > 0 ? (uint8_t *)strdup(payload) : NULL;
}

/* Builds a correct chain of three entries. */
static int setup(void **state)
{
    (void)state;
    set_entry(&entries[0], 1, 1700000000, "SIGHUP", "reload", "signer 0xab feed=acme\n");
    set_entry(&entries[1], 2, 1700000060, "ops-admin-\xc3\xa9", "reload", "");
    set_entry(&entries[2], 3, UINT64_MAX, "x", "add_signer", "\x01\x02\xff");
    uint8_t prev[CUSTOS_AUDIT_HASH_LEN] = {0};
    for (size_t i = 0; i < N_ENTRIES; i++) {
        memcpy(entries[i].prev_hash, prev, sizeof prev);
        custos_audit_hash(prev, &entries[i], entries[i].hash);
        memcpy(prev, entries[i].hash, sizeof prev);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ENTRIES; i++)
        custos_audit_entry_clear(&entries[i]);
    return 0;
}

static void hex(const uint8_t *data, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", data[i]);
    out[2 * len] = '\0';
}

static void test_hashes_match_ethers(void **state)
{
    (void)state;
    char nums[N_ENTRIES][2][24], payloads[N_ENTRIES][64];
    const char *args[5 * N_ENTRIES + 1];
    for (size_t i = 0; i < N_ENTRIES; i++) {
        snprintf(nums[i][0], sizeof nums[i][0], "%llu", (unsigned long long)entries[i].seq);
        snprintf(nums[i][1], sizeof nums[i][1], "%llu", (unsigned long long)entries[i].time);
        hex(entries[i].payload, entries[i].payload_len, payloads[i]);
        args[5 * i] = nums[i][0];
        args[5 * i + 1] = nums[i][1];
        args[5 * i + 2] = entries[i].actor;
        args[5 * i + 3] = entries[i].action;
        args[5 * i + 4] = payloads[i];
    }
    args[5 * N_ENTRIES] = NULL;
    char out[4096];
    int status = tu_node("audit_check.mjs", args, out, sizeof out);
    if (status != 0)
        fail_msg("audit_check.mjs exited %d: %s", status, out);
    const char *line = out;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        char h[65], want[100];
        hex(entries[i].hash, CUSTOS_AUDIT_HASH_LEN, h);
        snprintf(want, sizeof want, "%.20s %s\n", nums[i][0], h);
        if (strncmp(line, want, strlen(want)) != 0)
            fail_msg("entry %zu: ethers says %.90s, we say %s", i, line, want);
        line += strlen(want);
    }
}

static void test_verify_finds_first_break(void **state)
{
    (void)state;
    uint8_t zero[CUSTOS_AUDIT_HASH_LEN] = {0};
    assert_int_equal(custos_audit_verify(0, zero, entries, N_ENTRIES), N_ENTRIES);
    /* A suffix verifies from the entry before it. */
    assert_int_equal(custos_audit_verify(1, entries[0].hash, entries + 1, 2), 2);
    assert_int_equal(custos_audit_verify(0, zero, entries + 1, 2), 0);

    entries[1].time++; /* changed */
    assert_int_equal(custos_audit_verify(0, zero, entries, N_ENTRIES), 1);
    entries[1].time--;
    entries[2].payload[0] ^= 1;
    assert_int_equal(custos_audit_verify(0, zero, entries, N_ENTRIES), 2);
    entries[2].payload[0] ^= 1;
    snprintf(entries[0].actor, sizeof entries[0].actor, "SIGHUQ");
    assert_int_equal(custos_audit_verify(0, zero, entries, N_ENTRIES), 0);
    snprintf(entries[0].actor, sizeof entries[0].actor, "SIGHUP");

    /* Removed: entry 3 right after entry 1. */
    custos_audit_entry gap[2] = {entries[0], entries[2]};
    assert_int_equal(custos_audit_verify(0, zero, gap, 2), 1);
    /* Re-hashed after a removal: the sequence number still gives it away. */
    memcpy(gap[1].prev_hash, entries[0].hash, CUSTOS_AUDIT_HASH_LEN);
    custos_audit_hash(entries[0].hash, &gap[1], gap[1].hash);
    assert_int_equal(custos_audit_verify(0, zero, gap, 2), 1);

    assert_int_equal(custos_audit_verify(0, zero, entries, N_ENTRIES), N_ENTRIES);
}

/* A list of entries with payloads goes in one call (LeakSanitizer checks it in the
 * sanitizer run); NULL is a no-op. */
static void test_list_free(void **state)
{
    (void)state;
    size_t n = 3;
    custos_audit_entry *list = calloc(n, sizeof *list);
    assert_non_null(list);
    for (size_t i = 0; i < n; i++) {
        list[i].payload_len = 8 + i;
        list[i].payload = calloc(1, list[i].payload_len);
        assert_non_null(list[i].payload);
    }
    custos_audit_entry_list_free(list, n);
    custos_audit_entry_list_free(NULL, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hashes_match_ethers),
        cmocka_unit_test(test_verify_finds_first_break),
        cmocka_unit_test(test_list_free),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
