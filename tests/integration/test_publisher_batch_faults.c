/* A batch call under the faults the single path is tested for (docs/publishing.md §6, §7,
 * §14), through the real binaries on anvil (pubbatch.h: custos-attestor attest --batch and
 * cosign, the gateway's SubmitBatch, the publisher's submitBatch to the adapter deployed by
 * deploy.mjs), with confirmations = 3. Each test signs a batch of three fresh accounts, so
 * each is published as `first`:
 * - mined, then dropped by a reorganisation (anvil_reorg): broadcast again as the very
 *   same transaction and confirmed at depth 3;
 * - its nonce taken by another use of the relayer key: re-queued under the next nonce once
 *   that transaction is final, built again from the stored batch, and confirmed;
 * - left unmined (automine off) with fee_bump_after_seconds 1: replaced under the same
 *   nonce with higher fees, every attempt stored; one of the replacements is mined.
 * Each time every member of the call ends confirmed with it, the adapter takes the batch
 * once (one BatchAccepted, no account refused) and each account's lender's Chainlink-style
 * feed answers the value its exported attestation says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/hex.h"
#include "pubbatch.h"

#define CONFIRMATIONS 3
#define PER_BATCH 3
#define N_BATCHES 3
#define REORGED 0
#define REQUEUED 1
#define BUMPED 2
#define DROPPED_LOG "a reorganisation dropped the transaction"
#define TAKEN_LOG "was used by a transaction not sent by this publisher"
#define REQUEUE_LOG "\"publisher.requeue\""
#define BUMP_LOG "\"publisher.bump\""

static pubf F;
static pubb B;
static const char *const REFS[N_BATCHES * PER_BATCH] = {
    "BF-REORG-1", "BF-REORG-2", "BF-REORG-3", "BF-REQUEUE-1", "BF-REQUEUE-2",
    "BF-REQUEUE-3", "BF-BUMP-1", "BF-BUMP-2", "BF-BUMP-3"};

/* One batch call as the test sees it: its accounts' cursors and exported files, the row
 * holding the call's transaction as first stored. */
typedef struct call {
    size_t batch;
    char dir[1200];
    uint64_t cursors[PER_BATCH];
    gw_pub_row sent;
} call;

static void write_config(uint64_t fee_bump_after)
{
    char extra[128];
    int n = snprintf(extra, sizeof extra, "confirmations = %d\nfee_bump_after_seconds = %llu\n",
                     CONFIRMATIONS, (unsigned long long)fee_bump_after);
    assert_true(n > 0 && (size_t)n < sizeof extra);
    pubf_write_config(&F, NULL, extra);
}

static int group_setup(void **state)
{
    (void)state;
    pubf_init(&F, 1, GWF_MAX_AGE, REFS, N_BATCHES * PER_BATCH);
    pubb_init(&B, &F);
    /* Bumps far off: the reorganisation and the re-queue want the first transaction. */
    write_config(3600);
    for (size_t i = 0; i < N_BATCHES * PER_BATCH; i++)
        gwf_register(&F.gw, GWF_FEED, GWF_FEED, REFS[i]);
    pubf_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F.gw);
    if (status != 0)
        gwf_dump_log(&F.gw);
    pubf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

static size_t logged(const char *needle)
{
    char *log = pubf_log(&F);
    size_t n = pubf_count(log, needle);
    free(log);
    return n;
}

/* Batch `batch` signed, cosigned and accepted; waits until the publisher stored its call:
 * one row SENT with the transaction, every other a member pointing at it. */
static void send_batch(size_t batch, call *c)
{
    memset(c, 0, sizeof *c);
    c->batch = batch;
    const char *const *refs = REFS + batch * PER_BATCH;
    char dir[1200], name[64];
    snprintf(name, sizeof name, "batch-%zu", batch);
    pubb_path(&B, dir, sizeof dir, name);
    snprintf(name, sizeof name, "batch-%zu-cosigned", batch);
    pubb_path(&B, c->dir, sizeof c->dir, name);
    pubb_write_book(&B, refs, PER_BATCH);
    pubb_sign(&B, dir, c->dir);
    pubb_submit(&B, c->dir);
    for (size_t i = 0; i < PER_BATCH; i++)
        c->cursors[i] = pubb_latest_cursor(&F, refs[i], 1);
    gw_pub_row row;
    pubf_wait_fate(&F, c->cursors[0], GW_PUB_SENT, &row);
    uint64_t lead = row.has_tx ? row.cursor : row.call;
    gw_pub_row_clear(&row);
    assert_int_not_equal(lead, 0);
    for (size_t i = 0; i < PER_BATCH; i++) {
        assert_true(pubf_fate(&F, c->cursors[i], &row));
        assert_int_equal(row.fate, GW_PUB_SENT);
        assert_true(row.batched);
        if (row.cursor == lead) {
            assert_true(row.has_tx);
            c->sent = row;
            continue;
        }
        assert_false(row.has_tx);
        assert_int_equal(row.call, lead);
        gw_pub_row_clear(&row);
    }
    assert_true(c->sent.has_tx);
}

/* Every record of the call still SENT (nothing final before its depth). */
static void assert_all_sent(const call *c)
{
    for (size_t i = 0; i < PER_BATCH; i++) {
        gw_pub_row row;
        assert_true(pubf_fate(&F, c->cursors[i], &row));
        if (row.fate != GW_PUB_SENT)
            fail_msg("record %llu is %s (%s) before its call is final",
                     (unsigned long long)row.cursor, gw_pub_fate_name(row.fate), row.detail);
        gw_pub_row_clear(&row);
    }
}

/* Every record of the call confirmed (the members with it); each account on-chain once,
 * its lender's feed answering the exported value. *lead gets the row with the call's
 * (latest) transaction. */
static void wait_confirmed(const call *c, gw_pub_row *lead)
{
    const char *const *refs = REFS + c->batch * PER_BATCH;
    memset(lead, 0, sizeof *lead);
    for (size_t i = 0; i < PER_BATCH; i++) {
        gw_pub_row row;
        pubf_wait_fate(&F, c->cursors[i], GW_PUB_CONFIRMED, &row);
        assert_non_null(strstr(row.detail, "(batch call)"));
        if (row.cursor == c->sent.cursor) {
            assert_true(row.has_tx);
            *lead = row;
            continue;
        }
        assert_int_equal(row.call, c->sent.cursor);
        gw_pub_row_clear(&row);
    }
    assert_int_equal(lead->cursor, c->sent.cursor);
    for (size_t i = 0; i < PER_BATCH; i++) {
        uint8_t id[CUSTOS_HASH_LEN];
        custos_account_id(GWF_FEED, refs[i], id);
        custos_u256 want, got;
        pubb_exported_value(c->dir, refs[i], &want);
        pubb_lender_answer(&F, id, &got);
        assert_int_equal(custos_u256_cmp(&got, &want), 0);
        assert_int_equal(pubf_chain_sequence(&F, 0, id), 1);
    }
    /* The adapter took the batch once, refusing none of its accounts. */
    uint32_t refused = 1;
    assert_int_equal(pubb_batch_events(&F, pubb_batch_sequence(c->dir), &refused), 1);
    assert_int_equal(refused, 0);
}

/* Mined at depth 1 of 3, then dropped by a reorganisation: not final before, broadcast
 * again after (the same bytes, its nonce being free), confirmed at depth 3, once. */
static void test_reorg_resends_the_batch_call(void **state)
{
    (void)state;
    uint64_t nonce = pubf_nonce(&F, 0, EVM_BLOCK_LATEST);
    double reorged = pubf_metric_now(&F, "custos_publisher_reorged_total");
    size_t dropped = logged(DROPPED_LOG);
    call c;
    send_batch(REORGED, &c);
    bool ok = false;
    uint64_t block = pubf_wait_receipt(&F, c.sent.tx.hash, &ok);
    assert_true(ok);
    /* Several passes see the receipt at depth 1: still sent. */
    tu_sleep_ms(800);
    assert_all_sent(&c);

    pubf_reorg(&F, json_array());
    pubf_wait_log(&F, DROPPED_LOG, dropped + 1);
    uint64_t again = pubf_wait_receipt(&F, c.sent.tx.hash, &ok);
    assert_true(ok);
    assert_true(again > block);
    pubf_mine(&F, CONFIRMATIONS - 1);
    gw_pub_row lead;
    wait_confirmed(&c, &lead);
    assert_memory_equal(lead.tx.hash, c.sent.tx.hash, CUSTOS_HASH_LEN);
    gw_pub_row_clear(&lead);
    assert_int_equal(pubf_nonce(&F, 0, EVM_BLOCK_LATEST), nonce + 1);
    assert_true(pubf_metric_now(&F, "custos_publisher_reorged_total") >= reorged + 1);
    pubf_wait_metric(&F, "custos_publisher_pending_transactions", 0);
    gw_pub_row_clear(&c.sent);
}

/* Someone else uses the relayer key: their transaction replaces the batch call in the pool
 * and is mined with its nonce. Once 3 blocks deep, the call is built again from the stored
 * batch under the next nonce, and confirmed. */
static void test_nonce_taken_requeues_the_batch_call(void **state)
{
    (void)state;
    pubf_automine(&F, false);
    size_t taken = logged(TAKEN_LOG), requeues = logged(REQUEUE_LOG);
    double requeued = pubf_metric_now(&F, "custos_publisher_requeued_total");
    call c;
    send_batch(REQUEUED, &c);
    pubf_wait_pooled(&F);
    pubf_rpc_void(&F, 0, "eth_sendTransaction",
                  json_pack("[o]", pubf_relayer_self_transfer(&F, c.sent.tx.nonce)));
    pubf_mine(&F, 1);
    bool ok = false;
    uint64_t block = 0;
    assert_false(pubf_receipt(&F, 0, c.sent.tx.hash, &ok, &block));
    assert_int_equal(pubf_nonce(&F, 0, EVM_BLOCK_LATEST), c.sent.tx.nonce + 1);
    pubf_wait_log(&F, TAKEN_LOG, taken + 1);
    assert_all_sent(&c);

    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_log(&F, REQUEUE_LOG, requeues + 1);
    gw_pub_row row;
    assert_true(pubf_fate(&F, c.sent.cursor, &row));
    assert_int_equal(row.fate, GW_PUB_SENT);
    assert_int_equal(row.tx.nonce, c.sent.tx.nonce + 1);
    gw_pub_row_clear(&row);
    assert_all_sent(&c);
    uint8_t hashes[4][CUSTOS_HASH_LEN];
    assert_int_equal(pubf_attempts(&F, c.sent.cursor, hashes, 4), 2);
    assert_memory_equal(hashes[1], c.sent.tx.hash, CUSTOS_HASH_LEN);

    pubf_automine(&F, true);
    pubf_mine(&F, 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    gw_pub_row lead;
    wait_confirmed(&c, &lead);
    assert_int_equal(lead.tx.nonce, c.sent.tx.nonce + 1);
    assert_memory_equal(lead.tx.hash, hashes[0], CUSTOS_HASH_LEN);
    gw_pub_row_clear(&lead);
    assert_false(pubf_receipt(&F, 0, c.sent.tx.hash, &ok, &block));
    assert_true(pubf_metric_now(&F, "custos_publisher_requeued_total") >= requeued + 1);
    pubf_wait_metric(&F, "custos_publisher_pending_transactions", 0);
    gw_pub_row_clear(&c.sent);
}

/* A hexadecimal quantity of a JSON-RPC answer. */
static uint64_t quantity(json_t *tx, const char *key)
{
    const char *hex = json_string_value(json_object_get(tx, key));
    if (hex == NULL)
        fail_msg("the transaction has no %s", key);
    return strtoull(hex, NULL, 16);
}

/* The gateway restarted with fee_bump_after_seconds 1 while the chain mines nothing: the
 * batch call is replaced under its nonce with higher fees, every attempt stored; once
 * blocks come, one replacement is mined and the whole call confirmed. */
static void test_unmined_batch_call_is_bumped(void **state)
{
    (void)state;
    assert_int_equal(gwf_stop(&F.gw), 0);
    write_config(1);
    pubf_start(&F);
    pubf_automine(&F, false);
    uint64_t nonce = pubf_nonce(&F, 0, EVM_BLOCK_LATEST);
    size_t bumps = logged(BUMP_LOG);
    call c;
    send_batch(BUMPED, &c);
    assert_int_equal(c.sent.tx.nonce, nonce);
    pubf_wait_pooled(&F);
    pubf_wait_log(&F, BUMP_LOG, bumps + 2);

    gw_pub_row row;
    assert_true(pubf_fate(&F, c.sent.cursor, &row));
    assert_int_equal(row.fate, GW_PUB_SENT);
    assert_int_equal(row.tx.nonce, nonce);
    assert_int_equal(row.tx.gas_limit, c.sent.tx.gas_limit);
    assert_true(custos_u256_cmp(&row.tx.max_fee, &c.sent.tx.max_fee) > 0);
    assert_true(custos_u256_cmp(&row.tx.priority_fee, &c.sent.tx.priority_fee) > 0);
    assert_memory_not_equal(row.tx.hash, c.sent.tx.hash, CUSTOS_HASH_LEN);
    gw_pub_row_clear(&row);
    assert_all_sent(&c);
    uint8_t hashes[16][CUSTOS_HASH_LEN];
    size_t n = pubf_attempts(&F, c.sent.cursor, hashes, 16);
    assert_true(n >= 3);
    assert_memory_equal(hashes[n - 1], c.sent.tx.hash, CUSTOS_HASH_LEN);

    pubf_automine(&F, true);
    pubf_mine(&F, 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    gw_pub_row lead;
    wait_confirmed(&c, &lead);
    gw_pub_row_clear(&lead);
    /* Exactly one attempt mined, a replacement: same nonce, higher max fee. */
    n = pubf_attempts(&F, c.sent.cursor, hashes, 16);
    size_t mined = 0, which = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        uint64_t block = 0;
        if (pubf_receipt(&F, 0, hashes[i], &ok, &block)) {
            assert_true(ok);
            mined++;
            which = i;
        }
    }
    assert_int_equal(mined, 1);
    assert_true(which < n - 1);
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    assert_int_equal(custos_hex_encode(hashes[which], CUSTOS_HASH_LEN, hex, sizeof hex),
                     CUSTOS_OK);
    json_t *tx = pubf_rpc(&F, 0, "eth_getTransactionByHash", json_pack("[s]", hex));
    assert_int_equal(quantity(tx, "nonce"), nonce);
    custos_u256 paid;
    custos_u256_from_u64(&paid, quantity(tx, "maxFeePerGas"));
    assert_true(custos_u256_cmp(&paid, &c.sent.tx.max_fee) > 0);
    json_decref(tx);
    assert_int_equal(pubf_nonce(&F, 0, EVM_BLOCK_LATEST), nonce + 1);
    pubf_wait_metric(&F, "custos_publisher_pending_transactions", 0);
    gw_pub_row_clear(&c.sent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reorg_resends_the_batch_call),
        cmocka_unit_test(test_nonce_taken_requeues_the_batch_call),
        cmocka_unit_test(test_unmined_batch_call_is_bumped),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
