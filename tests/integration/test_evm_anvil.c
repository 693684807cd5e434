/* The EVM building blocks against a real node: anvil from node_modules runs as a child,
 * our code builds, signs and sends an EIP-1559 transfer and reads it back; the error paths
 * use anvil's own refusals, a closed port, a silent listener and a canned-answer server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "anvil.h"
#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/evm_tx.h"
#include "httpstub.h"
#include "testutil.h"

/* anvil's first well-known development account (public test key, funded on start). */
#define DEV_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define ANVIL_CHAIN_ID 31337

typedef struct fixture {
    char dir[4096];
    tu_proc anvil;
    char url[64];
    evm_rpc *rpc;
    custos_secp *secp;
    uint8_t key[CUSTOS_SECKEY_LEN];
    uint8_t from[CUSTOS_ADDRESS_LEN];
} fixture;

/* A loopback socket bound to a port the kernel picked; listening if asked. */
static int bound_socket(int *port, int listening)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (listening)
        assert_int_equal(listen(fd, 1), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static evm_rpc *client(const char *url, long timeout_ms, size_t max_response)
{
    evm_rpc_options opt = {.url = url, .connect_timeout_ms = timeout_ms,
                           .timeout_ms = timeout_ms, .max_response_bytes = max_response};
    custos_u256_from_u64(&opt.fallback_priority_fee, 1500000000);
    evm_rpc *c;
    custos_error err;
    if (evm_rpc_new(&opt, &c, &err) != CUSTOS_OK)
        fail_msg("evm_rpc_new: %s", err.message);
    return c;
}

static int start_anvil(fixture *f)
{
    if (tu_anvil_start(&f->anvil, f->dir, f->url, sizeof f->url) != 0)
        return -1;
    f->rpc = client(f->url, 2000, 0);
    return 0;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof f->dir);
    if (start_anvil(f) != 0) {
        tu_rmtree(f->dir);
        free(f);
        return -1;
    }
    f->secp = custos_secp_new();
    assert_non_null(f->secp);
    assert_int_equal(custos_hex_decode(DEV_KEY, f->key, sizeof f->key, NULL), CUSTOS_OK);
    assert_int_equal(custos_address_from_seckey(f->secp, f->key, f->from, NULL), CUSTOS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    evm_rpc_free(f->rpc);
    custos_secp_free(f->secp);
    tu_stop(&f->anvil, SIGTERM, 5000);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void check(custos_rc rc, const custos_error *err)
{
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", custos_rc_name(rc), err->message);
}

/* Fees as a wallet sets them: twice the latest base fee (room for six full blocks of
 * increases) plus the tip. */
static void fill_fees(fixture *f, evm_tx *tx)
{
    custos_error err;
    custos_u256 base, doubled;
    bool fallback = true;
    check(evm_rpc_base_fee(f->rpc, &base, &err), &err);
    assert_false(custos_u256_is_zero(&base));
    check(evm_rpc_max_priority_fee(f->rpc, &tx->max_priority_fee_per_gas, &fallback, &err),
          &err);
    assert_false(fallback);
    assert_int_equal(custos_u256_add(&doubled, &base, &base), CUSTOS_OK);
    assert_int_equal(custos_u256_add(&tx->max_fee_per_gas, &doubled,
                                     &tx->max_priority_fee_per_gas),
                     CUSTOS_OK);
}

static void wait_receipt(fixture *f, const uint8_t hash[32], evm_receipt *r)
{
    custos_error err;
    for (int64_t deadline = tu_now_ms() + 15000; tu_now_ms() < deadline; tu_sleep_ms(50)) {
        bool found = false;
        check(evm_rpc_get_receipt(f->rpc, hash, r, &found, &err), &err);
        if (found)
            return;
    }
    fail_msg("no receipt within 15 s");
}

static void test_chain(void **state)
{
    fixture *f = *state;
    custos_error err;
    uint64_t chain_id = 0, block = UINT64_MAX;
    check(evm_rpc_chain_id(f->rpc, &chain_id, &err), &err);
    assert_int_equal(chain_id, ANVIL_CHAIN_ID);
    check(evm_rpc_block_number(f->rpc, &block, &err), &err);
    assert_true(block < 1000);
    custos_u256 balance;
    check(evm_rpc_get_balance(f->rpc, f->from, &balance, &err), &err);
    assert_false(custos_u256_is_zero(&balance));

    uint8_t unknown[32];
    memset(unknown, 0x5a, sizeof unknown);
    evm_receipt r;
    bool found = true;
    check(evm_rpc_get_receipt(f->rpc, unknown, &r, &found, &err), &err);
    assert_false(found);
}

static void test_transfer(void **state)
{
    fixture *f = *state;
    custos_error err;
    uint8_t to[CUSTOS_ADDRESS_LEN];
    memset(to, 0xc5, sizeof to);
    custos_u256 before, after, diff, value;
    check(evm_rpc_get_balance(f->rpc, to, &before, &err), &err);

    evm_tx tx = {.chain_id = ANVIL_CHAIN_ID};
    memcpy(tx.to, to, sizeof to);
    assert_int_equal(custos_u256_from_dec(&value, "1234567890123456789", 19, NULL), CUSTOS_OK);
    tx.value = value;
    uint64_t latest;
    check(evm_rpc_get_transaction_count(f->rpc, f->from, EVM_BLOCK_PENDING, &tx.nonce, &err),
          &err);
    check(evm_rpc_get_transaction_count(f->rpc, f->from, EVM_BLOCK_LATEST, &latest, &err),
          &err);
    assert_int_equal(tx.nonce, latest);
    fill_fees(f, &tx);
    evm_call call = {.from = f->from, .value = value};
    memcpy(call.to, to, sizeof to);
    check(evm_rpc_estimate_gas(f->rpc, &call, &tx.gas_limit, &err), &err);
    assert_int_equal(tx.gas_limit, 21000);

    evm_signed_tx s;
    check(evm_tx_sign(f->secp, f->key, &tx, &s, &err), &err);
    uint8_t node_hash[32];
    check(evm_rpc_send_raw_transaction(f->rpc, s.raw, s.raw_len, node_hash, &err), &err);
    assert_memory_equal(node_hash, s.hash, 32);

    evm_receipt r;
    wait_receipt(f, s.hash, &r);
    assert_true(r.success);
    assert_true(r.block_number > 0);
    assert_int_equal(r.gas_used, 21000);
    assert_true(custos_u256_cmp(&r.effective_gas_price, &tx.max_fee_per_gas) <= 0);
    assert_false(custos_u256_is_zero(&r.effective_gas_price));
    /* The receipt names its block, which is the canonical one at that height; there is no
     * block beyond the head. */
    uint8_t block_hash[32];
    bool found = false;
    check(evm_rpc_block_hash(f->rpc, r.block_number, block_hash, &found, &err), &err);
    assert_true(found);
    assert_memory_equal(block_hash, r.block_hash, 32);
    check(evm_rpc_block_hash(f->rpc, r.block_number + 1000, block_hash, &found, &err), &err);
    assert_false(found);

    check(evm_rpc_get_balance(f->rpc, to, &after, &err), &err);
    assert_int_equal(custos_u256_sub(&diff, &after, &before), CUSTOS_OK);
    assert_int_equal(custos_u256_cmp(&diff, &value), 0);
    check(evm_rpc_get_transaction_count(f->rpc, f->from, EVM_BLOCK_LATEST, &latest, &err),
          &err);
    assert_int_equal(latest, tx.nonce + 1);

    /* The same nonce again: the node refuses it and says why. */
    tx.value = (custos_u256){{1, 0, 0, 0}};
    evm_signed_tx again;
    check(evm_tx_sign(f->secp, f->key, &tx, &again, &err), &err);
    custos_rc rc = evm_rpc_send_raw_transaction(f->rpc, again.raw, again.raw_len, node_hash, &err);
    assert_int_equal(rc, CUSTOS_ERR_REFUSED);
    const evm_rpc_fault *fault = evm_rpc_last_fault(f->rpc);
    assert_non_null(fault);
    assert_non_null(strstr(fault->message, "nonce"));
    assert_non_null(strstr(err.message, "eth_sendRawTransaction"));
    assert_non_null(strstr(err.message, fault->message));
    evm_signed_tx_clear(&again);
    evm_signed_tx_clear(&s);

    /* A later successful call clears the fault. */
    uint64_t chain_id;
    check(evm_rpc_chain_id(f->rpc, &chain_id, &err), &err);
    assert_null(evm_rpc_last_fault(f->rpc));
}

static void set_code(fixture *f, const uint8_t addr[20], const char *code_hex)
{
    char a[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(addr, a);
    json_t *res;
    custos_error err;
    check(evm_rpc_request(f->rpc, "anvil_setCode", json_pack("[s, s]", a, code_hex), &res, &err),
          &err);
    json_decref(res);
}

static void test_call_and_revert(void **state)
{
    fixture *f = *state;
    custos_error err;
    /* Runtime code: PUSH1 42 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN */
    uint8_t answer[20];
    memset(answer, 0xa1, sizeof answer);
    set_code(f, answer, "0x602a60005260206000f3");
    /* Runtime code: PUSH4 0xdeadbeef PUSH1 0 MSTORE PUSH1 4 PUSH1 28 REVERT */
    uint8_t reverter[20];
    memset(reverter, 0xa2, sizeof reverter);
    set_code(f, reverter, "0x63deadbeef6000526004601cfd");

    uint8_t sel[4];
    evm_abi_selector("latestAnswer()", sel);
    evm_call call = {.from = f->from, .data = sel, .data_len = sizeof sel};
    memcpy(call.to, answer, sizeof answer);
    uint8_t *out = NULL;
    size_t len = 0;
    check(evm_rpc_call(f->rpc, &call, &out, &len, &err), &err);
    uint64_t v = 0;
    check(evm_abi_get_uint64(out, len, 0, 64, &v, &err), &err);
    assert_int_equal(v, 42);
    free(out);

    memcpy(call.to, reverter, sizeof reverter);
    assert_int_equal(evm_rpc_call(f->rpc, &call, &out, &len, &err), CUSTOS_ERR_REFUSED);
    const evm_rpc_fault *fault = evm_rpc_last_fault(f->rpc);
    assert_non_null(fault);
    assert_true(fault->has_data);
    assert_int_equal(fault->data_len, 4);
    assert_memory_equal(fault->data, "\xde\xad\xbe\xef", 4);
    assert_non_null(strstr(err.message, "eth_call"));
    assert_non_null(strstr(err.message, "0xdeadbeef"));

    uint64_t gas;
    assert_int_equal(evm_rpc_estimate_gas(f->rpc, &call, &gas, &err), CUSTOS_ERR_REFUSED);
    fault = evm_rpc_last_fault(f->rpc);
    assert_non_null(fault);
    assert_true(fault->has_data);
    assert_memory_equal(fault->data, "\xde\xad\xbe\xef", 4);

    json_t *res;
    assert_int_equal(evm_rpc_request(f->rpc, "eth_noSuchMethod", NULL, &res, &err),
                     CUSTOS_ERR_REFUSED);
    assert_non_null(evm_rpc_last_fault(f->rpc));
    assert_int_equal(evm_rpc_last_fault(f->rpc)->code, -32601);
}

static void test_unreachable(void **state)
{
    (void)state;
    int port;
    close(bound_socket(&port, 0));
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    evm_rpc *c = client(url, 1000, 0);
    custos_error err;
    uint64_t chain_id;
    int64_t t0 = tu_now_ms();
    assert_int_equal(evm_rpc_chain_id(c, &chain_id, &err), CUSTOS_ERR_UNAVAILABLE);
    assert_true(tu_now_ms() - t0 < 1500);
    assert_non_null(strstr(err.message, "eth_chainId"));
    assert_null(evm_rpc_last_fault(c));
    evm_rpc_free(c);
}

static void test_silent_node_times_out(void **state)
{
    (void)state;
    /* The kernel completes the handshake from the backlog; nobody ever answers. */
    int port;
    int fd = bound_socket(&port, 1);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    evm_rpc *c = client(url, 500, 0);
    custos_error err;
    uint64_t block;
    int64_t t0 = tu_now_ms();
    assert_int_equal(evm_rpc_block_number(c, &block, &err), CUSTOS_ERR_UNAVAILABLE);
    int64_t took = tu_now_ms() - t0;
    assert_true(took >= 450 && took < 3000);
    assert_non_null(strstr(err.message, "timed out"));
    evm_rpc_free(c);
    close(fd);
}

/* Runs one call of a fresh client against a loopback node answering body with HTTP
 * status, framed by Content-Length unless the client caps answers (max_response != 0):
 * then the end of the connection delimits the body. Uncapped, the node must have written
 * its one answer whole. */
static custos_rc against_canned_status(int status, const char *body, size_t max_response,
                                       custos_rc (*call)(evm_rpc *, custos_error *),
                                       custos_error *err)
{
    httpstub *node = NULL;
    custos_error stub_err;
    if (httpstub_new(NULL, NULL, &node, &stub_err) != CUSTOS_OK ||
        httpstub_set_canned(node, status, body, strlen(body), max_response == 0, &stub_err) !=
            CUSTOS_OK) {
        httpstub_free(node);
        fail_msg("%s", stub_err.message);
        return CUSTOS_ERR_INTERNAL;
    }
    evm_rpc *c = client(httpstub_url(node), 5000, max_response);
    custos_rc rc = call(c, err);
    evm_rpc_free(c);
    httpstub_stop(node);
    size_t answered = httpstub_answered(node);
    httpstub_free(node);
    if (max_response == 0)
        assert_int_equal(answered, 1);
    return rc;
}

static custos_rc against_canned(const char *body, size_t max_response,
                                custos_rc (*call)(evm_rpc *, custos_error *),
                                custos_error *err)
{
    return against_canned_status(200, body, max_response, call, err);
}

/* An estimate that must be refused with revert data 0x12345678. */
static custos_rc call_estimate_revert(evm_rpc *c, custos_error *err)
{
    evm_call call = {.data = NULL, .data_len = 0};
    uint64_t gas = 0;
    custos_rc rc = evm_rpc_estimate_gas(c, &call, &gas, err);
    const evm_rpc_fault *f = evm_rpc_last_fault(c);
    static const uint8_t want[4] = {0x12, 0x34, 0x56, 0x78};
    if (rc == CUSTOS_ERR_REFUSED &&
        (f == NULL || !f->has_data || f->data_len != 4 || memcmp(f->data, want, 4) != 0))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "revert data not kept");
    return rc;
}

static custos_rc call_block_hash(evm_rpc *c, custos_error *err)
{
    uint8_t hash[32];
    bool found = true;
    custos_rc rc = evm_rpc_block_hash(c, 5, hash, &found, err);
    if (rc == CUSTOS_OK && found && hash[31] != 0xab)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "wrong block hash");
    if (rc == CUSTOS_OK && !found)
        return CUSTOS_ERR_NOT_FOUND;
    return rc;
}

static custos_rc call_tip(evm_rpc *c, custos_error *err)
{
    custos_u256 tip;
    bool fallback = false;
    custos_rc rc = evm_rpc_max_priority_fee(c, &tip, &fallback, err);
    if (rc == CUSTOS_OK &&
        (!fallback || tip.limb[0] != 1500000000 || evm_rpc_last_fault(c) != NULL))
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "fallback tip not used");
    return rc;
}

static custos_rc call_chain_id(evm_rpc *c, custos_error *err)
{
    uint64_t id;
    return evm_rpc_chain_id(c, &id, err);
}

static custos_rc call_receipt(evm_rpc *c, custos_error *err)
{
    uint8_t hash[32] = {0};
    evm_receipt r;
    bool found;
    return evm_rpc_get_receipt(c, hash, &r, &found, err);
}

static void test_node_answers(void **state)
{
    (void)state;
    custos_error err;
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,"
                                     "\"message\":\"method not found\"}}",
                                     0, call_tip, &err),
                     CUSTOS_OK);
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,"
                                     "\"message\":\"backend overloaded\"}}",
                                     0, call_tip, &err),
                     CUSTOS_ERR_REFUSED);
    assert_non_null(strstr(err.message, "backend overloaded"));

    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}", 0,
                                    call_chain_id, &err),
                     CUSTOS_OK);
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0xzz\"}", 0,
                                    call_chain_id, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "eth_chainId"));
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"0x1\"}", 0,
                                    call_chain_id, &err),
                     CUSTOS_ERR_INVALID);
    assert_int_equal(against_canned("not json", 0, call_chain_id, &err), CUSTOS_ERR_INVALID);
    /* Capped answers come without a Content-Length: the cap holds while receiving. */
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}", 64,
                                    call_chain_id, &err),
                     CUSTOS_OK);
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x7a69\"}", 16,
                                    call_chain_id, &err),
                     CUSTOS_ERR_TOO_LARGE);
    assert_non_null(strstr(err.message, "exceeds 16 bytes"));
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"status\":\"0x1\","
                                    "\"blockNumber\":\"0x5\",\"gasUsed\":\"0x5208\"}}",
                                    0, call_receipt, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "eth_getTransactionReceipt"));
    assert_non_null(strstr(err.message, "effectiveGasPrice"));
    /* A revert whose message carries the raw bytes, NULs included (anvil's), is still the
     * node's refusal with its data, never an answer that is not JSON. */
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,"
                                    "\"message\":\"execution reverted: \\u0000\\u0012\","
                                    "\"data\":\"0x12345678\"}}",
                                    0, call_estimate_revert, &err),
                     CUSTOS_ERR_REFUSED);
    /* A provider's rate limit serves nobody for a while: unreachable (another node is
     * used); other 4xx refuse the request. */
    assert_int_equal(against_canned_status(429, "{}", 0, call_chain_id, &err),
                     CUSTOS_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "HTTP 429"));
    assert_int_equal(against_canned_status(403, "{}", 0, call_chain_id, &err),
                     CUSTOS_ERR_REFUSED);
    assert_int_equal(against_canned_status(503, "{}", 0, call_chain_id, &err),
                     CUSTOS_ERR_UNAVAILABLE);
    /* eth_getBlockByNumber: a block's hash, or none beyond the head. */
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"hash\":\"0x"
                                    "00000000000000000000000000000000"
                                    "000000000000000000000000000000ab\"}}",
                                    0, call_block_hash, &err),
                     CUSTOS_OK);
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":null}", 0,
                                    call_block_hash, &err),
                     CUSTOS_ERR_NOT_FOUND);
    assert_int_equal(against_canned("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"hash\":\"0x12\"}}",
                                    0, call_block_hash, &err),
                     CUSTOS_ERR_INVALID);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_call_and_revert),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_silent_node_times_out),
        cmocka_unit_test(test_node_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
