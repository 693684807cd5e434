/* A batch call under the faults the single path is tested for (docs/publishing.md §6, §7,
 * §14), through the real binaries on anvil (pubbatch.h: custos-attestor attest --batch and
 * cosign, the gateway's SubmitBatch, the publisher's submitBatch to the adapter deployed by
 * deploy.mjs), with confirmations = 3 (1 for the failover). Each test signs a batch of
 * three fresh accounts, so each is published as `first`:
 * - mined, then dropped by a reorganisation (anvil_reorg): broadcast again as the very
 *   same transaction and confirmed at depth 3;
 * - reverted (BatchReplay) because an outsider sent the same batch first in its block: not
 *   final before depth 3, and when a reorganisation takes the outsider's call away, the
 *   call goes through;
 * - its nonce taken by another use of the relayer key, in the pool or by a reorganisation
 *   that replaced its block: re-queued under the next nonce once that transaction is
 *   final, built again from the stored batch, and confirmed;
 * - left unmined (automine off) with fee_bump_after_seconds 1: replaced under the same
 *   nonce with higher fees, every attempt stored and counted
 *   (custos_publisher_fee_bumps_total); one of the replacements is mined;
 * - in the pool when the leader of two replicas over one PostgreSQL database is killed,
 *   then dropped from the pool: the other replica takes over and broadcasts the same
 *   transaction from the shared state.
 * Each time every member of the call ends confirmed with it, the adapter takes the batch
 * once (one BatchAccepted, no account refused) and each account's lender's Chainlink-style
 * feed answers the value its exported attestation says. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/hex.h"
#include "pgserver.h"
#include "pubbatch.h"

#define CONFIRMATIONS 3
#define PER_BATCH 3
#define N_BATCHES 5
#define REORGED 0
#define REQUEUED 1
#define BUMPED 2
#define REVERTED 3
#define GIVEN_AWAY 4
#define DROPPED_LOG "a reorganisation dropped the transaction"
#define TAKEN_LOG "was used by a transaction not sent by this publisher"
#define REQUEUE_LOG "\"publisher.requeue\""
#define BUMP_LOG "\"publisher.bump\""

static pubf F;
static pubb B;
static const char *const REFS[N_BATCHES * PER_BATCH] = {
    "BF-REORG-1", "BF-REORG-2", "BF-REORG-3", "BF-REQUEUE-1", "BF-REQUEUE-2",
    "BF-REQUEUE-3", "BF-BUMP-1", "BF-BUMP-2", "BF-BUMP-3", "BF-REVERT-1", "BF-REVERT-2",
    "BF-REVERT-3", "BF-GIVEN-1", "BF-GIVEN-2", "BF-GIVEN-3"};

/* One batch call as the test sees it: its accounts' cursors and exported files, the row
 * holding the call's transaction as first stored. */
typedef struct call {
    pubf *f;
    const char *const *refs; /* PER_BATCH of them */
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
    pubf_init(&F, 1, GWF_MAX_AGE, REFS, N_BATCHES * PER_BATCH);
    pubb_init(&B, &F);
    /* Bumps far off: the reorganisation and the re-queue want the first transaction. */
    write_config(3600);
    return pubf_group_start(state, &F, REFS, N_BATCHES * PER_BATCH);
}

static size_t logged(const char *needle)
{
    char *log = pubf_log(&F);
    size_t n = pubf_count(log, needle);
    free(log);
    return n;
}

/* A batch of the accounts refs (PER_BATCH) signed, cosigned and accepted through b's
 * gateway; waits until the publisher stored its call: one row SENT with the transaction,
 * every other a member pointing at it. */
static void send_batch(pubb *b, const char *const *refs, const char *name, call *c)
{
    memset(c, 0, sizeof *c);
    c->f = b->f;
    c->refs = refs;
    pubb_write_book(b, refs, PER_BATCH);
    pubb_sign_submit(b, name, c->dir, sizeof c->dir);
    for (size_t i = 0; i < PER_BATCH; i++)
        c->cursors[i] = pubb_latest_cursor(c->f, refs[i], 1);
    gw_pub_row row;
    pubf_wait_fate(c->f, c->cursors[0], GW_PUB_SENT, &row);
    uint64_t lead = row.has_tx ? row.cursor : row.call;
    gw_pub_row_clear(&row);
    assert_int_not_equal(lead, 0);
    for (size_t i = 0; i < PER_BATCH; i++) {
        assert_true(pubf_fate(c->f, c->cursors[i], &row));
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
        assert_true(pubf_fate(c->f, c->cursors[i], &row));
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
    const char *const *refs = c->refs;
    memset(lead, 0, sizeof *lead);
    for (size_t i = 0; i < PER_BATCH; i++) {
        gw_pub_row row;
        pubf_wait_fate(c->f, c->cursors[i], GW_PUB_CONFIRMED, &row);
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
    for (size_t i = 0; i < PER_BATCH; i++)
        pubb_expect_on_chain(c->f, c->dir, refs[i], 1);
    /* The adapter took the batch once, refusing none of its accounts. */
    uint32_t refused = 1;
    assert_int_equal(pubb_batch_events(c->f, pubb_batch_sequence(c->dir), &refused), 1);
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
    send_batch(&B, REFS + REORGED * PER_BATCH, "batch-reorged", &c);
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

/* The batch call reverts because an outsider sent the same calldata with a higher tip,
 * mined first in the same block (BatchReplay); a reorganisation then takes both away. A
 * reverted receipt is not final before 3 blocks, so the call is sent again and confirmed,
 * the batch taken once. */
static void test_reverted_batch_call_is_final_only_at_depth(void **state)
{
    (void)state;
    pubf_automine(&F, false);
    call c;
    send_batch(&B, REFS + REVERTED * PER_BATCH, "batch-reverted", &c);
    pubf_wait_pooled(&F);
    char hash[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], adapter[CUSTOS_ADDRESS_HEX_LEN], gas[24];
    assert_int_equal(custos_hex_encode(c.sent.tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash),
                     CUSTOS_OK);
    custos_address_to_hex(F.adapter, adapter);
    snprintf(gas, sizeof gas, "0x%llx", (unsigned long long)c.sent.tx.gas_limit);
    json_t *pooled = pubf_rpc(&F, 0, "eth_getTransactionByHash", json_pack("[s]", hash));
    const char *input = json_string_value(json_object_get(pooled, "input"));
    assert_non_null(input);
    pubf_rpc_void(&F, 0, "eth_sendTransaction",
                  json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s}]", "from", PUBF_OUTSIDER, "to",
                            adapter, "data", input, "gas", gas, "maxFeePerGas", "0x174876e800",
                            "maxPriorityFeePerGas", "0xba43b7400"));
    json_decref(pooled);
    pubf_mine(&F, 1);
    bool ok = true;
    pubf_wait_receipt(&F, c.sent.tx.hash, &ok);
    assert_false(ok); /* BatchReplay: the outsider's call came first */
    uint32_t refused = 1;
    assert_int_equal(pubb_batch_events(&F, pubb_batch_sequence(c.dir), &refused), 1);
    /* Several passes see the reverted receipt at depth 1: not final. */
    tu_sleep_ms(800);
    assert_all_sent(&c);

    pubf_automine(&F, true);
    pubf_reorg(&F, json_array());
    pubf_wait_receipt(&F, c.sent.tx.hash, &ok);
    assert_true(ok);
    pubf_mine(&F, CONFIRMATIONS - 1);
    gw_pub_row lead;
    wait_confirmed(&c, &lead);
    assert_memory_equal(lead.tx.hash, c.sent.tx.hash, CUSTOS_HASH_LEN);
    gw_pub_row_clear(&lead);
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
    send_batch(&B, REFS + REQUEUED * PER_BATCH, "batch-requeued", &c);
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

/* A reorganisation replaces the block holding the batch call with one where another
 * transaction of the relayer key has its nonce: re-queued under a new nonce, confirmed. */
static void test_reorg_gives_the_batch_call_nonce_away(void **state)
{
    (void)state;
    size_t taken = logged(TAKEN_LOG), requeues = logged(REQUEUE_LOG);
    call c;
    send_batch(&B, REFS + GIVEN_AWAY * PER_BATCH, "batch-given-away", &c);
    bool ok = false;
    pubf_wait_receipt(&F, c.sent.tx.hash, &ok);
    assert_true(ok);
    tu_sleep_ms(800);
    assert_all_sent(&c);
    pubf_reorg(&F, json_pack("[[o, i]]", pubf_relayer_self_transfer(&F, c.sent.tx.nonce), 0));
    assert_false(pubf_receipt(&F, 0, c.sent.tx.hash, &ok, &(uint64_t){0}));
    pubf_wait_log(&F, TAKEN_LOG, taken + 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    pubf_wait_log(&F, REQUEUE_LOG, requeues + 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    gw_pub_row lead;
    wait_confirmed(&c, &lead);
    assert_int_equal(lead.tx.nonce, c.sent.tx.nonce + 1);
    gw_pub_row_clear(&lead);
    assert_false(pubf_receipt(&F, 0, c.sent.tx.hash, &ok, &(uint64_t){0}));
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
    pubf_wait_metric(&F, "custos_publisher_fee_bumps_total", 0); /* counted since start */
    call c;
    send_batch(&B, REFS + BUMPED * PER_BATCH, "batch-bumped", &c);
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
    uint8_t hashes[GW_PUBSTATE_MAX_ATTEMPTS][CUSTOS_HASH_LEN];
    size_t n = pubf_attempts(&F, c.sent.cursor, hashes, GW_PUBSTATE_MAX_ATTEMPTS);
    assert_true(n >= 3);
    /* Every replacement counted (more may come before the metric is read). */
    assert_true(pubf_metric_now(&F, "custos_publisher_fee_bumps_total") >= (double)(n - 1));
    /* The transaction first read may already be a replacement (a bump is due from the
     * next whole second on): it is one of the attempts, not the newest. */
    bool listed = false;
    for (size_t i = 1; i < n; i++)
        listed = listed || memcmp(hashes[i], c.sent.tx.hash, CUSTOS_HASH_LEN) == 0;
    assert_true(listed);

    pubf_automine(&F, true);
    pubf_mine(&F, 1);
    pubf_mine(&F, CONFIRMATIONS - 1);
    gw_pub_row lead;
    wait_confirmed(&c, &lead);
    gw_pub_row_clear(&lead);
    /* Exactly one attempt mined, a replacement: same nonce, higher max fee. */
    n = pubf_attempts(&F, c.sent.cursor, hashes, GW_PUBSTATE_MAX_ATTEMPTS);
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
    pubf_wait_metric(&F, "custos_publisher_fee_bumps_total", (double)(n - 1));
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

/* ---- Failover between two replicas over one PostgreSQL database (a real server started
 * here; docs/publishing.md §9) with a batch call in flight. */

#define N_REPLICAS 2

static struct {
    tu_pg pg;
    pubf f; /* anvil, the adapter and replica 0 */
    pubb b;
    gwf other; /* replica 1 */
} P;
static const char *const PG_REFS[PER_BATCH] = {"BF-FAILOVER-1", "BF-FAILOVER-2",
                                               "BF-FAILOVER-3"};

static gwf *replica(int i)
{
    return i == 0 ? &P.f.gw : &P.other;
}

static int pg_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&P.pg) != 0) {
        fprintf(stderr, "test_publisher_batch_faults: PostgreSQL did not start (reason above)\n");
        return -1;
    }
    pubf_init(&P.f, 1, GWF_MAX_AGE, PG_REFS, PER_BATCH);
    tu_pg_new_db(&P.pg, P.f.store_uri, sizeof P.f.store_uri);
    pubb_init(&P.b, &P.f);
    pubf_write_config(&P.f, NULL,
                      "confirmations = 1\nleader_retry_ms = 500\nfee_bump_after_seconds = 3600\n");
    gwf_init(&P.other);
    P.other.domain = P.f.gw.domain;
    pubf_write_replica_config(&P.f, &P.other);
    pubf_start_registered(&P.f, PG_REFS, PER_BATCH);
    gwf_start(&P.other);
    return 0;
}

/* The replica still running must stop cleanly (exit 0 on SIGTERM). */
static int pg_teardown(void **state)
{
    (void)state;
    int failed = 0;
    for (int i = 0; i < N_REPLICAS; i++) {
        if (replica(i)->proc.pid <= 0)
            continue;
        int status = gwf_stop(replica(i));
        if (status != 0) {
            fprintf(stderr, "replica %d exited with %d after SIGTERM\n", i, status);
            gwf_dump_log(replica(i));
            failed = -1;
        }
    }
    gwf_cleanup(&P.other);
    pubf_cleanup(&P.f);
    tu_pg_stop(&P.pg);
    return failed;
}

/* Whether replica i's log says it became the leader. */
static bool logged_leader(int i)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", replica(i)->dir);
    char *log = tu_read_file(path);
    bool yes = log != NULL && strstr(log, "\"publisher.leader\"") != NULL;
    free(log);
    return yes;
}

/* Waits until replica i (running) logs its leadership, and no other does. */
static void wait_leader(int i)
{
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; !logged_leader(i); tu_sleep_ms(100)) {
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&P.f.gw);
            gwf_dump_log(&P.other);
            fail_msg("replica %d did not become the publisher within %d s", i,
                     PUBF_WAIT_MS / 1000);
        }
    }
}

/* The leader is killed (SIGKILL) while the batch call it stored and broadcast waits in the
 * pool, and the pool then forgets it: the other replica takes over, broadcasts the very
 * same transaction from the shared state, and the call is confirmed; the relayer's nonces
 * stay contiguous and the batch lands once. */
static void test_leader_killed_with_a_batch_call_in_flight(void **state)
{
    (void)state;
    int leader = -1;
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; leader < 0; tu_sleep_ms(100)) {
        if (tu_now_ms() > deadline)
            fail_msg("no replica became the publisher within %d s", PUBF_WAIT_MS / 1000);
        leader = logged_leader(0) ? 0 : logged_leader(1) ? 1 : -1;
    }
    int other = 1 - leader;
    assert_false(logged_leader(other));

    pubf_automine(&P.f, false);
    uint64_t nonce = pubf_nonce(&P.f, 0, EVM_BLOCK_LATEST);
    call c;
    send_batch(&P.b, PG_REFS, "batch-failover", &c);
    assert_int_equal(c.sent.tx.nonce, nonce);
    pubf_wait_pooled(&P.f);

    gwf *dead = replica(leader);
    assert_int_equal(tu_stop(&dead->proc, SIGKILL, 5000), 128 + SIGKILL);
    dead->proc.pid = 0;
    custos_client_free(dead->client);
    dead->client = NULL;
    pubf_rpc_void(&P.f, 0, "anvil_dropAllTransactions", NULL);
    assert_int_equal(pubf_nonce(&P.f, 0, EVM_BLOCK_PENDING), nonce);
    assert_all_sent(&c);
    pubf_automine(&P.f, true);

    wait_leader(other);
    gw_pub_row lead;
    wait_confirmed(&c, &lead);
    assert_memory_equal(lead.tx.hash, c.sent.tx.hash, CUSTOS_HASH_LEN);
    gw_pub_row_clear(&lead);
    uint8_t hashes[4][CUSTOS_HASH_LEN];
    assert_int_equal(pubf_attempts(&P.f, c.sent.cursor, hashes, 4), 1);
    assert_int_equal(pubf_nonce(&P.f, 0, EVM_BLOCK_LATEST), nonce + 1);
    assert_int_equal(pubf_nonce(&P.f, 0, EVM_BLOCK_PENDING), nonce + 1);
    gw_pub_row_clear(&c.sent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reorg_resends_the_batch_call),
        cmocka_unit_test(test_reverted_batch_call_is_final_only_at_depth),
        cmocka_unit_test(test_nonce_taken_requeues_the_batch_call),
        cmocka_unit_test(test_reorg_gives_the_batch_call_nonce_away),
        cmocka_unit_test(test_unmined_batch_call_is_bumped),
    };
    const struct CMUnitTest failover[] = {
        cmocka_unit_test(test_leader_killed_with_a_batch_call_in_flight),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
    return failed + cmocka_run_group_tests(failover, pg_setup, pg_teardown);
}
