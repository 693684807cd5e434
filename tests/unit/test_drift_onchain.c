/* The adapter's keys and accounts found in its logs (gateway/evm/drift_onchain.h), against
 * a JSON-RPC node on loopback that this test plays: it answers eth_blockNumber with block
 * 20000 and eth_getLogs with the logs of the range asked for, and refuses a range wider
 * than its limit as providers do. The read halves its chunk until the node takes it, reads
 * every block up to the head once, keeps each key and account once, and says so when the
 * node refuses even one block; a node that cannot be reached is UNAVAILABLE. */
#include <stdbool.h>
#include <pthread.h>
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
#include "custos/keccak.h"
#include "evm/drift_onchain.h"
#include "httpstub.h"

#define HEAD 20000u
/* Where the node has its logs: a key added, the same key added again (another feed's
 * event would differ; this one repeats), an account registered twice. */
#define KEY_BLOCK 12345u
#define ACCOUNT_BLOCK 15000u

static httpstub *node_stub;
static const char *url;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t range_limit; /* widest eth_getLogs range the node takes; 0: none */
static bool refuse_all;      /* the node refuses every eth_getLogs */
static unsigned get_logs_calls;

static const uint8_t ADAPTER[CUSTOS_ADDRESS_LEN] = {0xad};
static const uint8_t FEED_ID[CUSTOS_HASH_LEN] = {0xfe, 0xed};
static const uint8_t KEY[CUSTOS_ADDRESS_LEN] = {0x5a, 0x5a, 0x5a};
static const uint8_t ACCOUNT[CUSTOS_HASH_LEN] = {0xac, 0xc0};

static void hex_of(const uint8_t *b, size_t n, char *out, size_t cap)
{
    assert_int_equal(custos_hex_encode(b, n, out, cap), CUSTOS_OK);
}

static json_t *topic_of_signature(const char *sig)
{
    uint8_t h[CUSTOS_HASH_LEN];
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    custos_keccak256((const uint8_t *)sig, strlen(sig), h);
    hex_of(h, sizeof h, hex, sizeof hex);
    return json_string(hex);
}

static json_t *topic_of(const uint8_t *b, size_t n)
{
    uint8_t word[CUSTOS_HASH_LEN] = {0};
    memcpy(word + CUSTOS_HASH_LEN - n, b, n);
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    hex_of(word, sizeof word, hex, sizeof hex);
    return json_string(hex);
}

static json_t *log_at(uint64_t block, json_t *topics)
{
    char number[24];
    snprintf(number, sizeof number, "0x%llx", (unsigned long long)block);
    return json_pack("{s:o, s:s, s:s}", "topics", topics, "blockNumber", number, "data",
                     "0x");
}

/* The node's answer to one request (a JSON-RPC object). */
static json_t *answer(const json_t *req)
{
    json_t *id = json_object_get(req, "id");
    const char *method = json_string_value(json_object_get(req, "method"));
    if (method != NULL && strcmp(method, "eth_blockNumber") == 0)
        return json_pack("{s:s, s:O, s:s}", "jsonrpc", "2.0", "id", id, "result", "0x4e20");
    const json_t *filter = json_array_get(json_object_get(req, "params"), 0);
    const char *from_s = json_string_value(json_object_get(filter, "fromBlock"));
    const char *to_s = json_string_value(json_object_get(filter, "toBlock"));
    if (method == NULL || strcmp(method, "eth_getLogs") != 0 || from_s == NULL || to_s == NULL)
        return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error",
                         "code", -32601, "message", "method not found");
    uint64_t from = strtoull(from_s, NULL, 16), to = strtoull(to_s, NULL, 16);
    pthread_mutex_lock(&mu);
    get_logs_calls++;
    uint64_t limit = range_limit;
    bool refuse = refuse_all;
    pthread_mutex_unlock(&mu);
    if (refuse || to < from || (limit > 0 && to - from + 1 > limit))
        return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id, "error",
                         "code", -32005, "message", "block range too large");
    json_t *logs = json_array();
    if (from <= KEY_BLOCK && KEY_BLOCK <= to)
        for (int i = 0; i < 2; i++)
            json_array_append_new(
                logs, log_at(KEY_BLOCK,
                             json_pack("[o, o, o]",
                                       topic_of_signature(
                                           "SignerAdded(bytes32,address,uint8,uint8)"),
                                       topic_of(FEED_ID, CUSTOS_HASH_LEN),
                                       topic_of(KEY, CUSTOS_ADDRESS_LEN))));
    if (from <= ACCOUNT_BLOCK && ACCOUNT_BLOCK <= to)
        for (int i = 0; i < 2; i++)
            json_array_append_new(
                logs, log_at(ACCOUNT_BLOCK,
                             json_pack("[o, o, o]",
                                       topic_of_signature("AccountRegistered(bytes32,bytes32)"),
                                       topic_of(ACCOUNT, CUSTOS_HASH_LEN),
                                       topic_of(FEED_ID, CUSTOS_HASH_LEN))));
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", logs);
}

/* The node's HTTP answer: answer() of the request, "{}" to a request that is not JSON. */
static int node_answer(void *ctx, const char *body, size_t len, httpstub_reply *reply)
{
    (void)ctx;
    json_t *req = json_loadb(body, len, 0, NULL);
    json_t *resp = req != NULL ? answer(req) : NULL;
    char *out = resp != NULL ? json_dumps(resp, JSON_COMPACT) : strdup("{}");
    json_decref(req);
    json_decref(resp);
    if (out == NULL)
        return -1;
    *reply = (httpstub_reply){.status = 200, .body = out, .body_len = strlen(out),
                              .with_length = true};
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    custos_error err;
    if (httpstub_new(node_answer, NULL, &node_stub, &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    url = httpstub_url(node_stub);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    httpstub_free(node_stub);
    return 0;
}

static evm_rpc *node(const char *at)
{
    evm_rpc_options opt;
    memset(&opt, 0, sizeof opt);
    opt.url = at;
    opt.timeout_ms = 5000;
    opt.connect_timeout_ms = 2000;
    evm_rpc *rpc = NULL;
    custos_error err;
    if (evm_rpc_new(&opt, &rpc, &err) != CUSTOS_OK)
        fail_msg("evm_rpc_new: %s", err.message);
    return rpc;
}

static void set_node(uint64_t limit, bool refuse)
{
    pthread_mutex_lock(&mu);
    range_limit = limit;
    refuse_all = refuse;
    get_logs_calls = 0;
    pthread_mutex_unlock(&mu);
}

/* A node that takes 1,000 blocks at a time: the chunk halves to 625, every block up to the
 * head is read once, the key and the account are kept once each. Read again: nothing more
 * is asked of the node, nothing changes. */
static void test_halves_to_the_nodes_range(void **state)
{
    (void)state;
    set_node(1000, false);
    evm_rpc *rpc = node(url);
    gw_drift_seen s;
    gw_drift_seen_init(&s, 0);
    custos_error err;
    if (gw_drift_seen_scan(&s, rpc, ADAPTER, 1, &err) != CUSTOS_OK)
        fail_msg("scan: %s", err.message);
    assert_string_equal(s.error, "");
    assert_int_equal(s.next_block, HEAD + 1);
    assert_int_equal(s.chunk, GW_DRIFT_LOG_CHUNK / 16);
    assert_int_equal(s.n_keys, 1);
    assert_memory_equal(s.keys[0].feed_id, FEED_ID, CUSTOS_HASH_LEN);
    assert_memory_equal(s.keys[0].key, KEY, CUSTOS_ADDRESS_LEN);
    assert_int_equal(s.n_accounts, 1);
    assert_memory_equal(s.accounts[0], ACCOUNT, CUSTOS_HASH_LEN);

    set_node(1000, false);
    assert_int_equal(gw_drift_seen_scan(&s, rpc, ADAPTER, 1, &err), CUSTOS_OK);
    assert_int_equal(get_logs_calls, 0);
    assert_int_equal(s.n_keys, 1);
    assert_int_equal(s.n_accounts, 1);
    gw_drift_seen_clear(&s);
    evm_rpc_free(rpc);
}

/* Blocks within `confirmations` of the head wait: with 6000 of them, the key's block is
 * read and the account's is not yet. */
static void test_stops_at_depth(void **state)
{
    (void)state;
    set_node(0, false);
    evm_rpc *rpc = node(url);
    gw_drift_seen s;
    gw_drift_seen_init(&s, 10000);
    custos_error err;
    assert_int_equal(gw_drift_seen_scan(&s, rpc, ADAPTER, 6000, &err), CUSTOS_OK);
    assert_int_equal(s.next_block, HEAD + 1 - 6000 + 1);
    assert_int_equal(s.n_keys, 1);
    assert_int_equal(s.n_accounts, 0);
    gw_drift_seen_clear(&s);
    evm_rpc_free(rpc);
}

/* A node that refuses every range, one block too: the chunk halves down to one block,
 * then the refusal is said in s.error and nothing is skipped (the next read starts where
 * this one did). A node that cannot be reached: UNAVAILABLE, nothing read. */
static void test_refusal_kept_and_node_down(void **state)
{
    (void)state;
    set_node(0, true);
    evm_rpc *rpc = node(url);
    gw_drift_seen s;
    gw_drift_seen_init(&s, 5);
    custos_error err;
    assert_int_equal(gw_drift_seen_scan(&s, rpc, ADAPTER, 1, &err), CUSTOS_OK);
    assert_int_equal(s.next_block, 5);
    assert_int_equal(s.chunk, 1);
    assert_int_equal(get_logs_calls, 14); /* 10000, 5000, ..., 2, 1 blocks */
    if (strstr(s.error, "logs of blocks 5 to 5 cannot be read") == NULL ||
        strstr(s.error, "block range too large") == NULL)
        fail_msg("s.error: '%s'", s.error);
    set_node(0, false);
    assert_int_equal(gw_drift_seen_scan(&s, rpc, ADAPTER, 1, &err), CUSTOS_OK);
    assert_string_equal(s.error, "");
    assert_int_equal(s.next_block, HEAD + 1);
    assert_int_equal(s.n_keys, 1);
    gw_drift_seen_clear(&s);
    evm_rpc_free(rpc);

    evm_rpc *down = node("http://127.0.0.1:1/");
    gw_drift_seen_init(&s, 0);
    assert_int_equal(gw_drift_seen_scan(&s, down, ADAPTER, 1, &err), CUSTOS_ERR_UNAVAILABLE);
    assert_int_equal(s.next_block, 0);
    gw_drift_seen_clear(&s);
    evm_rpc_free(down);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_halves_to_the_nodes_range),
        cmocka_unit_test(test_stops_at_depth),
        cmocka_unit_test(test_refusal_kept_and_node_down),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
