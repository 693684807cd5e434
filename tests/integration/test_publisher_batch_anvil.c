/* Batches end to end through the real binaries on anvil (docs/publishing.md §14, issue
 * "Batches"): custos-attestor values a book of four accounts and signs it as one batch
 * (attest --batch, the custodian's key), cosign adds the valuation agent's signature (the
 * feed's quorum is 2), submit-batch sends it to the real custos-gateway (SubmitBatch),
 * whose publisher sends it as one submitBatch to the adapter deployed by deploy.mjs; each
 * account's lender-facing Chainlink-style feed then answers the account's collateral
 * value. A freeze of one account, accepted after the batch while the chain was paused,
 * goes out as a single submit before the batch call (a lower nonce), so the lender reads 0
 * for it; that account's older batch record is skipped (not-newer) and the adapter refuses
 * its leaf alone while it writes the three others. A batch beyond [evm]
 * batch_max_accounts goes in submitBatchPart calls of at most that many accounts; with
 * batch_max_accounts 0 it is reported (metric, /status) and not sent. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pubbatch.h"

#define N_ACCOUNTS 4
/* The account frozen while the batch waits. */
#define FROZEN 2

static pubf F;
static pubb B;
static const char *const REFS[N_ACCOUNTS] = {"BATCHED-1", "BATCHED-2", "BATCHED-3",
                                            "BATCHED-4"};

static int group_setup(void **state)
{
    (void)state;
    pubf_init(&F, 1, GWF_MAX_AGE, REFS, N_ACCOUNTS);
    pubb_init(&B, &F);
    pubb_write_book(&B, REFS, N_ACCOUNTS);
    pubf_write_config(&F, NULL, NULL);
    pubf_start_registered(&F, REFS, N_ACCOUNTS);
    return 0;
}

/* The gateway must also stop cleanly once the group is done. */
static int group_teardown(void **state)
{
    (void)state;
    return pubf_finish(&F);
}

/* One batch of four accounts through attestor, gateway, publisher and adapter, with a
 * freeze of account FROZEN accepted after it: the freeze goes first, alone; the three
 * others reach their lenders' feeds in one call. */
static void test_batch_reaches_each_lender(void **state)
{
    (void)state;
    char dir[1200], dir2[1200];
    pubb_path(&B, dir, sizeof dir, "batch-1");
    pubb_path(&B, dir2, sizeof dir2, "batch-1-cosigned");
    pubb_sign(&B, dir, dir2);
    /* The gateway restarted while the chain is paused: its publisher's first pass waits
     * for the node's chain id, so it reads the log only once both records are accepted,
     * and one follow pass sees the batch and the freeze. */
    assert_int_equal(gwf_stop(&F.gw), 0);
    assert_int_equal(kill(F.anvil[0].pid, SIGSTOP), 0);
    pubf_start(&F);
    pubb_submit(&B, dir2);
    const char *freeze[] = {"freeze", "--holdings", B.holdings, "--account", REFS[FROZEN],
                            "--reason", "collateral in dispute", "--key", B.k1, "--feed",
                            GWF_FEED, "--chain-id", "31337", "--contract", B.contract,
                            "--state", B.state, "--policy", B.policy, "--gateway",
                            F.gw.target, "--insecure", NULL};
    int frozen = pubb_attestor(freeze);
    assert_int_equal(kill(F.anvil[0].pid, SIGCONT), 0);
    assert_int_equal(frozen, 0);

    /* Sequences: 1 for every account in the batch, 2 for the freeze. */
    uint64_t cursors[N_ACCOUNTS];
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        cursors[i] = pubb_latest_cursor(&F, REFS[i], i == FROZEN ? 2 : 1);
    gw_pub_row freeze_row, row;
    pubf_wait_fate(&F, cursors[FROZEN], GW_PUB_CONFIRMED, &freeze_row);
    assert_true(freeze_row.has_tx);
    assert_false(freeze_row.batched);
    /* The batch call: one row holds its transaction, the others point at it. */
    uint64_t lead = 0;
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        if (i == FROZEN)
            continue;
        pubf_wait_fate(&F, cursors[i], GW_PUB_CONFIRMED, &row);
        assert_true(row.batched);
        if (row.has_tx) {
            assert_int_equal(lead, 0);
            lead = row.cursor;
            /* A freeze never waits behind a batch: its nonce is the lower. */
            assert_true(freeze_row.tx.nonce < row.tx.nonce);
        }
        gw_pub_row_clear(&row);
    }
    assert_int_not_equal(lead, 0);
    gw_pub_row_clear(&freeze_row);
    /* The frozen account's batch record (sequence 1, before its freeze): skipped, its leaf
     * left to the adapter to refuse. */
    uint8_t frozen_id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REFS[FROZEN], frozen_id);
    bool seen = false;
    for (uint64_t c = 1; c < cursors[FROZEN]; c++) {
        if (!pubf_fate(&F, c, &row))
            continue;
        if (memcmp(row.account, frozen_id, CUSTOS_HASH_LEN) == 0) {
            assert_int_equal(row.fate, GW_PUB_SKIPPED);
            assert_string_equal(row.detail, "not-newer");
            assert_int_equal(row.sequence, 1);
            seen = true;
        }
        gw_pub_row_clear(&row);
    }
    assert_true(seen);

    for (size_t i = 0; i < N_ACCOUNTS; i++)
        pubb_expect_on_chain(&F, i == FROZEN ? NULL : dir2, REFS[i], i == FROZEN ? 2 : 1);
    /* One BatchAccepted for the call, counting the frozen account's leaf refused. */
    uint32_t refused = 0;
    assert_int_equal(pubb_batch_events(&F, pubb_batch_sequence(dir2), &refused), 1);
    assert_int_equal(refused, 1);
    pubf_wait_metric(&F, "custos_publisher_batches_sent_total", 1);
}

/* The gateway restarted with batch_max_accounts 3: the next batch of four goes in two
 * submitBatchPart calls (three accounts, then one), each its own transaction; every
 * account reaches its lender's feed, and no BatchAccepted is emitted for it. */
static void test_batch_beyond_the_cap_in_parts(void **state)
{
    (void)state;
    assert_int_equal(gwf_stop(&F.gw), 0);
    pubf_write_config(&F, NULL, "batch_max_accounts = 3\n");
    pubf_start(&F);
    char dir2[1200];
    pubb_sign_submit(&B, "batch-2", dir2, sizeof dir2);
    gw_pub_row row;
    uint64_t leads[N_ACCOUNTS], nonces[N_ACCOUNTS];
    size_t n_leads = 0, in_call[N_ACCOUNTS] = {0};
    uint64_t calls[N_ACCOUNTS];
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        /* The frozen account's third sequence: the batch came after its freeze. */
        uint64_t seq = i == FROZEN ? 3 : 2;
        uint64_t cursor = pubb_latest_cursor(&F, REFS[i], seq);
        pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
        assert_true(row.batched);
        assert_true(row.part);
        calls[i] = row.has_tx ? row.cursor : row.call;
        if (row.has_tx) {
            assert_int_equal(row.call, 0);
            leads[n_leads] = row.cursor;
            nonces[n_leads++] = row.tx.nonce;
        }
        gw_pub_row_clear(&row);
        pubb_expect_on_chain(&F, dir2, REFS[i], seq);
    }
    /* Two calls under two nonces: three accounts in one, one in the other. */
    assert_int_equal(n_leads, 2);
    assert_int_not_equal(nonces[0], nonces[1]);
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        for (size_t k = 0; k < n_leads; k++)
            in_call[k] += calls[i] == leads[k];
    assert_int_equal(in_call[0] + in_call[1], N_ACCOUNTS);
    assert_true((in_call[0] == 3 && in_call[1] == 1) || (in_call[0] == 1 && in_call[1] == 3));
    uint32_t refused = 0;
    uint64_t sequence = pubb_batch_sequence(dir2);
    assert_int_equal(pubb_part_events(&F, sequence, &refused), 2);
    assert_int_equal(refused, 0);
    assert_int_equal(pubb_batch_events(&F, sequence, &refused), 0);
    /* Counted since the gateway's start: the two parts. */
    pubf_wait_metric(&F, "custos_publisher_batches_sent_total", 2);
}

/* With batch_max_accounts 0 no batch call is made: the next batch's records (10% up on
 * the last, so due by deviation) are skipped as batch-too-large and the batch is counted. */
static void test_batch_not_sent_without_calls(void **state)
{
    (void)state;
    assert_int_equal(gwf_stop(&F.gw), 0);
    pubf_write_config(&F, NULL, "batch_max_accounts = 0\n");
    pubf_start(&F);
    const unsigned pct[N_ACCOUNTS] = {110, 110, 110, 110};
    pubb_write_book_scaled(&B, REFS, pct, N_ACCOUNTS);
    char dir2[1200];
    pubb_sign_submit(&B, "batch-3", dir2, sizeof dir2);
    gw_pub_row row;
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        uint64_t cursor = pubb_latest_cursor(&F, REFS[i], i == FROZEN ? 4 : 3);
        pubf_wait_fate(&F, cursor, GW_PUB_SKIPPED, &row);
        assert_non_null(strstr(row.detail, "batch-too-large"));
        gw_pub_row_clear(&row);
        uint8_t id[CUSTOS_HASH_LEN];
        custos_account_id(GWF_FEED, REFS[i], id);
        assert_int_equal(pubf_chain_sequence(&F, 0, id), i == FROZEN ? 3 : 2);
    }
    pubf_wait_metric(&F, "custos_publisher_batches_too_large_total", 1);
    pubf_wait_metric(&F, "custos_publisher_decisions_total{reason=\"batch-too-large\"}",
                     N_ACCOUNTS);
    char *status = pubf_get(&F, "/status");
    assert_non_null(strstr(status, "\"batches_too_large\": 1"));
    free(status);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_reaches_each_lender),
        cmocka_unit_test(test_batch_beyond_the_cap_in_parts),
        cmocka_unit_test(test_batch_not_sent_without_calls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
