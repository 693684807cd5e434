/* Receipts tracked to finality through reorganisations (docs/publishing.md §6), through the
 * real gateway (confirmations = 3) and the adapter on anvil (pubfixture.h), with anvil's
 * anvil_reorg replacing mined blocks:
 * - a publication mined, then dropped by a reorganisation, is broadcast again as the very
 *   same transaction (its nonce is free) and confirmed once 3 blocks deep;
 * - a receipt that reverted is not final before 3 blocks either: when a reorganisation
 *   takes away the transaction that made it revert, the publication goes through;
 * - a nonce taken by a transaction the publisher did not send (the relayer key used
 *   elsewhere, in the pool or by a reorganisation) re-queues the publication under a new
 *   nonce once that transaction is final, and the record reaches the chain once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/hex.h"
#include "evm/publisher.h"
#include "pubfixture.h"

#define CONFIRMATIONS 3

static pubf F;

static int group_setup(void **state)
{
    const char *refs[] = {"REORG-1", "REORG-2", "REORG-3", "REORG-4"};
    pubf_init(&F, 1, GWF_MAX_AGE, refs, 4);
    char extra[64];
    snprintf(extra, sizeof extra, "confirmations = %d\n", CONFIRMATIONS);
    pubf_write_config(&F, NULL, extra);
    return pubf_group_start(state, &F, NULL, 0);
}

/* A valuation of ref accepted; returns its cursor, and waits until its transaction is
 * stored as sent. */
static uint64_t submit_and_wait_sent(const char *ref, custos_submission *s, gw_pub_row *row)
{
    gwf_make(&F.gw, s, ref, 1, PUBF_USD);
    uint64_t cursor = pubf_submit(&F, s);
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS;; tu_sleep_ms(50)) {
        if (pubf_fate(&F, cursor, row) && row->fate == GW_PUB_SENT)
            return cursor;
        if (pubf_fate(&F, cursor, row) && row->fate != GW_PUB_SENT) {
            gwf_dump_log(&F.gw);
            fail_msg("record %llu: %s (%s)", (unsigned long long)cursor,
                     gw_pub_fate_name(row->fate), row->detail);
        }
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&F.gw);
            fail_msg("record %llu was not sent", (unsigned long long)cursor);
        }
    }
}

/* Mined at depth 1 of 3, then dropped by a reorganisation: not final before, broadcast
 * again after (the same bytes, its nonce being free), confirmed at depth 3, once. */
static void test_reorg_resends_the_same_transaction(void **state)
{
    (void)state;
    uint64_t nonce = pubf_nonce(&F, 0, EVM_BLOCK_LATEST);
    custos_submission s;
    gw_pub_row sent, row;
    uint64_t cursor = submit_and_wait_sent("REORG-1", &s, &sent);
    bool ok = false;
    uint64_t block = pubf_wait_receipt(&F, sent.tx.hash, &ok);
    assert_true(ok);
    /* Several passes see the receipt at depth 1: still sent. */
    tu_sleep_ms(800);
    assert_true(pubf_fate(&F, cursor, &row));
    assert_int_equal(row.fate, GW_PUB_SENT);
    gw_pub_row_clear(&row);

    pubf_reorg(&F, json_array());
    pubf_wait_log(&F, "\"publisher.reorg\"", 1);
    uint64_t again = pubf_wait_receipt(&F, sent.tx.hash, &ok);
    assert_true(ok);
    assert_true(again > block);
    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
    assert_memory_equal(row.tx.hash, sent.tx.hash, 32);
    gw_pub_row_clear(&row);
    gw_pub_row_clear(&sent);
    assert_int_equal(pubf_chain_sequence(&F, 0, s.att.account), 1);
    assert_int_equal(pubf_count_events(&F, 0, s.att.account, 1), 1);
    assert_int_equal(pubf_nonce(&F, 0, EVM_BLOCK_LATEST), nonce + 1);
    assert_true(pubf_metric_now(&F, "custos_publisher_reorged_total") >= 1);
    custos_submission_clear(&s);
}

/* The publication reverts because an outsider's freeze (sequence 2) was mined before it in
 * the same block; a reorganisation then takes the freeze away. A reverted receipt is not
 * final before 3 blocks, so the publication is sent again and confirmed. */
static void test_reverted_receipt_is_final_only_at_depth(void **state)
{
    (void)state;
    pubf_automine(&F, false);
    custos_submission s;
    gw_pub_row sent, row;
    uint64_t cursor = submit_and_wait_sent("REORG-2", &s, &sent);
    pubf_wait_pooled(&F);
    /* The outsider's freeze: the custodian's signature alone, sent with a higher tip. */
    custos_submission freeze;
    gwf_make(&F.gw, &freeze, "REORG-2", 2, PUBF_USD);
    freeze.att.kind = CUSTOS_KIND_FREEZE;
    gwf_sign(&F.gw, &freeze, GWF_KEY_CUSTODIAN);
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    rec.sub = freeze;
    memcpy(rec.signers[0], F.gw.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN);
    rec.n_signers = 1;
    uint8_t *data = NULL;
    size_t len = 0;
    custos_error err;
    assert_int_equal(gw_publisher_encode_submit(&rec, &data, &len, &err), CUSTOS_OK);
    char *hex = malloc(2 * len + 3);
    assert_non_null(hex);
    assert_int_equal(custos_hex_encode(data, len, hex, 2 * len + 3), CUSTOS_OK);
    char adapter[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(F.adapter, adapter);
    pubf_rpc_void(&F, 0, "eth_sendTransaction",
                  json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s}]", "from", PUBF_OUTSIDER, "to",
                            adapter, "data", hex, "gas", "0x927c0", "maxFeePerGas",
                            "0x174876e800", "maxPriorityFeePerGas", "0xba43b7400"));
    free(hex);
    free(data);
    pubf_mine(&F, 1);
    bool ok = true;
    pubf_wait_receipt(&F, sent.tx.hash, &ok);
    assert_false(ok); /* Replay(2, 1): the freeze came first */
    assert_int_equal(pubf_chain_sequence(&F, 0, s.att.account), 2);
    /* Several passes see the reverted receipt at depth 1: not final. */
    tu_sleep_ms(800);
    assert_true(pubf_fate(&F, cursor, &row));
    if (row.fate != GW_PUB_SENT)
        fail_msg("a receipt 1 block deep is final: %s (%s)", gw_pub_fate_name(row.fate),
                 row.detail);
    gw_pub_row_clear(&row);

    pubf_automine(&F, true);
    pubf_reorg(&F, json_array());
    pubf_wait_fate(&F, cursor, GW_PUB_SENT, &row);
    gw_pub_row_clear(&row);
    pubf_wait_receipt(&F, sent.tx.hash, &ok);
    assert_true(ok);
    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
    assert_memory_equal(row.tx.hash, sent.tx.hash, 32);
    gw_pub_row_clear(&row);
    gw_pub_row_clear(&sent);
    assert_int_equal(pubf_chain_sequence(&F, 0, s.att.account), 1);
    custos_submission_clear(&s);
    custos_submission_clear(&freeze);
}

/* Someone else uses the relayer key: their transaction replaces the publication's in the
 * pool and is mined with its nonce. Once 3 blocks deep, the publication is built again
 * under the next nonce, and confirmed. */
static void test_nonce_taken_in_the_pool_is_requeued(void **state)
{
    (void)state;
    pubf_automine(&F, false);
    custos_submission s;
    gw_pub_row sent, row;
    uint64_t cursor = submit_and_wait_sent("REORG-3", &s, &sent);
    pubf_wait_pooled(&F);
    double requeued = pubf_metric_now(&F, "custos_publisher_requeued_total");
    /* The earlier tests' reorganisations may have logged both lines already: count from
     * here. */
    char *log = pubf_log(&F);
    size_t taken = pubf_count(log, "was used by a transaction not sent by this publisher");
    size_t requeues = pubf_count(log, "\"publisher.requeue\"");
    free(log);
    pubf_rpc_void(&F, 0, "eth_sendTransaction",
                  json_pack("[o]", pubf_relayer_self_transfer(&F, sent.tx.nonce)));
    pubf_mine(&F, 1);
    bool ok = false;
    uint64_t block = 0;
    assert_false(pubf_receipt(&F, 0, sent.tx.hash, &ok, &block));
    assert_int_equal(pubf_nonce(&F, 0, EVM_BLOCK_LATEST), sent.tx.nonce + 1);
    pubf_wait_log(&F, "was used by a transaction not sent by this publisher", taken + 1);
    assert_true(pubf_fate(&F, cursor, &row));
    assert_int_equal(row.fate, GW_PUB_SENT);
    gw_pub_row_clear(&row);

    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_log(&F, "\"publisher.requeue\"", requeues + 1);
    assert_true(pubf_fate(&F, cursor, &row));
    assert_int_equal(row.fate, GW_PUB_SENT);
    assert_int_equal(row.tx.nonce, sent.tx.nonce + 1);
    gw_pub_row_clear(&row);
    pubf_automine(&F, true);
    pubf_mine(&F, 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
    assert_int_equal(row.tx.nonce, sent.tx.nonce + 1);
    gw_pub_row_clear(&row);
    gw_pub_row_clear(&sent);
    assert_int_equal(pubf_chain_sequence(&F, 0, s.att.account), 1);
    assert_int_equal(pubf_count_events(&F, 0, s.att.account, 1), 1);
    assert_true(pubf_metric_now(&F, "custos_publisher_requeued_total") >= requeued + 1);
    custos_submission_clear(&s);
}

/* A reorganisation replaces the block holding the publication with one where another
 * transaction of the relayer key has its nonce: re-queued under a new nonce, confirmed. */
static void test_reorg_gives_the_nonce_away(void **state)
{
    (void)state;
    custos_submission s;
    gw_pub_row sent, row;
    uint64_t cursor = submit_and_wait_sent("REORG-4", &s, &sent);
    bool ok = false;
    pubf_wait_receipt(&F, sent.tx.hash, &ok);
    assert_true(ok);
    tu_sleep_ms(800);
    char *log = pubf_log(&F);
    size_t taken = pubf_count(log, "was used by a transaction not sent by this publisher");
    size_t requeues = pubf_count(log, "\"publisher.requeue\"");
    free(log);
    pubf_reorg(&F, json_pack("[[o, i]]", pubf_relayer_self_transfer(&F, sent.tx.nonce), 0));
    assert_false(pubf_receipt(&F, 0, sent.tx.hash, &ok, &(uint64_t){0}));
    pubf_wait_log(&F, "was used by a transaction not sent by this publisher", taken + 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_log(&F, "\"publisher.requeue\"", requeues + 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
    assert_int_equal(row.tx.nonce, sent.tx.nonce + 1);
    gw_pub_row_clear(&row);
    gw_pub_row_clear(&sent);
    assert_int_equal(pubf_chain_sequence(&F, 0, s.att.account), 1);
    assert_int_equal(pubf_count_events(&F, 0, s.att.account, 1), 1);
    custos_submission_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reorg_resends_the_same_transaction),
        cmocka_unit_test(test_reverted_receipt_is_final_only_at_depth),
        cmocka_unit_test(test_nonce_taken_in_the_pool_is_requeued),
        cmocka_unit_test(test_reorg_gives_the_nonce_away),
    };
    return cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
}
