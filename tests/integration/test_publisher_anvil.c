/* The EVM publisher end to end (pubfixture.h): anvil from node_modules, the adapter
 * deployed and configured by deploy/scripts/deploy.mjs (owner: anvil account 0), the real
 * custos-gateway with [evm] (relayer: anvil account 1, key file mode 0600), attestations
 * submitted and cosigned through the gateway, and the chain read back: latest(account),
 * the account's Chainlink feed, skipped and refused records in the publisher state, a
 * SIGKILL between storing and mining a transaction (exactly one event, one nonce), and
 * the contract's own refusals (Stale, UnknownSigner); a collateral notice in the log is no
 * lag of the publisher's (docs/publishing.md §2). */
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/notice.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/publisher.h"
#include "pubfixture.h"
#include "store/pubstate.h"

#define USD PUBF_USD
#define WAIT_MS PUBF_WAIT_MS

static struct {
    pubf f;
    uint64_t seq; /* last sequence submitted for PUB-1 */
} T;

static void check(custos_rc rc, const custos_error *err)
{
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", custos_rc_name(rc), err->message);
}

/* deploy.mjs: setFeed acme-custody (2 distinct roles), addSigner custodian and valuation
 * agent, registerAccount PUB-1 (and not PUB-UNREGISTERED), createAccountFeed for LENDER;
 * the gateway publishing with confirmations = 1 (attestations are valid for an hour: the
 * expiry lead is shorter, so an unchanged value is skipped). */
static int group_setup(void **state)
{
    const char *refs[] = {"PUB-1"};
    pubf_init(&T.f, 1, GWF_MAX_AGE, refs, 1);
    pubf_write_config(&T.f, NULL, "confirmations = 1\nexpiry_lead_seconds = 60\n");
    return pubf_group_start(state, &T.f, NULL, 0);
}

/* ------------------------------------------------------------------ helpers */

/* A valuation of `ref`, cosigned by custodian and valuation agent through the gateway;
 * returns its cursor. */
static uint64_t submit_cosigned(const char *ref, uint64_t seq, uint64_t usd,
                                custos_submission *keep)
{
    custos_submission s;
    gwf_make(&T.f.gw, &s, ref, seq, usd);
    uint64_t cursor = pubf_submit(&T.f, &s);
    if (keep != NULL)
        *keep = s;
    else
        custos_submission_clear(&s);
    return cursor;
}

static bool read_fate(uint64_t cursor, gw_pub_row *row)
{
    return pubf_fate(&T.f, cursor, row);
}

static void wait_fate(uint64_t cursor, gw_pub_fate want, gw_pub_row *row)
{
    pubf_wait_fate(&T.f, cursor, want, row);
}

static uint64_t chain_sequence(const uint8_t account[32])
{
    return pubf_chain_sequence(&T.f, 0, account);
}

static uint64_t relayer_nonce(evm_block_tag tag)
{
    return pubf_nonce(&T.f, 0, tag);
}

static void rpc_void(const char *method, json_t *params)
{
    pubf_rpc_void(&T.f, 0, method, params);
}

/* eth_call of `signature` with one bytes32 argument (or none) on `to`. */
static custos_rc view(const uint8_t to[CUSTOS_ADDRESS_LEN], const char *signature,
                      const uint8_t *arg32, uint8_t **out, size_t *len, custos_error *err)
{
    evm_abi_value arg = arg32 != NULL ? evm_abi_bytes32(arg32) : evm_abi_uint64(0);
    uint8_t *data = NULL;
    size_t data_len = 0;
    check(evm_abi_encode(signature, &arg, arg32 != NULL ? 1 : 0, &data, &data_len, err), err);
    evm_call call = {.data = data, .data_len = data_len};
    memcpy(call.to, to, CUSTOS_ADDRESS_LEN);
    custos_rc rc = evm_rpc_call(T.f.rpc[0], &call, out, len, err);
    free(data);
    return rc;
}

/* ------------------------------------------------------------------ tests */

static void test_publish_cosigned(void **state)
{
    (void)state;
    custos_submission s;
    T.seq = 1;
    uint64_t cursor = submit_cosigned("PUB-1", T.seq, USD, &s);
    for (int64_t deadline = tu_now_ms() + WAIT_MS; chain_sequence(s.att.account) != T.seq;
         tu_sleep_ms(100)) {
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&T.f.gw);
            fail_msg("latest(account) did not reach sequence 1 within %d s", WAIT_MS / 1000);
        }
    }
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_CONFIRMED, &row);
    assert_true(row.has_tx);
    assert_int_equal(row.tx.nonce, 0);
    gw_pub_row_clear(&row);

    /* The lender's Chainlink feed (the adapter's accountFeed of the account and lender):
     * answer = collateral value, updatedAt = asOf. */
    uint8_t lender[CUSTOS_ADDRESS_LEN], feed[CUSTOS_ADDRESS_LEN];
    custos_error err;
    check(custos_address_from_hex(PUBF_LENDER, lender, &err), &err);
    evm_abi_value args[2] = {evm_abi_bytes32(s.att.account), evm_abi_address(lender)};
    uint8_t *data = NULL, *out = NULL;
    size_t data_len = 0, len = 0;
    check(evm_abi_encode("accountFeed(bytes32,address)", args, 2, &data, &data_len, &err), &err);
    evm_call call = {.data = data, .data_len = data_len};
    memcpy(call.to, T.f.adapter, CUSTOS_ADDRESS_LEN);
    check(evm_rpc_call(T.f.rpc[0], &call, &out, &len, &err), &err);
    free(data);
    check(evm_abi_get_address(out, len, 0, feed, &err), &err);
    free(out);
    check(view(feed, "latestRoundData()", NULL, &out, &len, &err), &err);
    uint64_t round = 0, updated_at = 0;
    bool negative = true;
    custos_u256 answer;
    check(evm_abi_get_uint64(out, len, 0, 64, &round, &err), &err);
    check(evm_abi_get_int(out, len, 1, 256, &negative, &answer, &err), &err);
    check(evm_abi_get_uint64(out, len, 3, 64, &updated_at, &err), &err);
    free(out);
    assert_int_equal(round, T.seq);
    assert_false(negative);
    assert_int_equal(custos_u256_cmp(&answer, &s.att.collateral_value), 0);
    assert_int_equal(updated_at, s.att.as_of);
    custos_submission_clear(&s);
}

static void test_unchanged_value_skipped(void **state)
{
    (void)state;
    custos_submission s;
    T.seq++;
    uint64_t cursor = submit_cosigned("PUB-1", T.seq, USD, &s);
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_SKIPPED, &row);
    assert_string_equal(row.detail, "unchanged");
    gw_pub_row_clear(&row);
    assert_int_equal(chain_sequence(s.att.account), T.seq - 1);
    custos_submission_clear(&s);
}

/* A collateral notice takes a place in the log (docs/attestation.md §19) but is not the
 * publisher's: its cursor stays on the newest record, and no lag is counted. */
static void test_notice_passed_over(void **state)
{
    (void)state;
    custos_submission s;
    T.seq++;
    uint64_t cursor = submit_cosigned("PUB-1", T.seq, USD, &s);
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_SKIPPED, &row);
    gw_pub_row_clear(&row);
    custos_notice n;
    memset(&n, 0, sizeof n);
    memcpy(n.account, s.att.account, CUSTOS_HASH_LEN);
    memcpy(n.lender, s.att.beneficiary, CUSTOS_ADDRESS_LEN);
    n.state = CUSTOS_LOAN_HEALTHY;
    n.ltv_bps = 1000;
    gwf_usd(&n.exposure, USD / 10);
    n.collateral_value = s.att.collateral_value;
    n.sequence = 1;
    custos_submission_clear(&s);
    gwf *g = &T.f.gw;
    uint8_t digest[CUSTOS_HASH_LEN], head_hash[CUSTOS_HASH_LEN];
    custos_signature sig;
    custos_error err;
    bool dup = false;
    custos_notice_digest(&g->domain, &n, digest);
    check(custos_sign_digest(g->secp, g->keys[GWF_KEY_CUSTODIAN].seckey, digest, &sig, &err),
          &err);
    check(custos_client_submit_notice(g->client, &g->domain, &n, &sig, &dup, NULL, NULL, &err),
          &err);
    uint64_t head = 0;
    check(custos_client_get_chain_head(g->client, &head, head_hash, &err), &err);
    assert_int_equal(head, cursor + 1);
    pubf_wait_metric(&T.f, "custos_store_head_cursor", (double)head);
    pubf_wait_metric(&T.f, "custos_publisher_cursor", (double)cursor);
    pubf_wait_metric(&T.f, "custos_publisher_lag_records", 0);
}

static void test_chain_refusal_recorded(void **state)
{
    (void)state;
    /* The gateway accepts it; the adapter does not know the account. */
    uint64_t cursor = submit_cosigned("PUB-UNREGISTERED", 1, USD, NULL);
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_FAILED, &row);
    if (strstr(row.detail, "UnknownAccount(bytes32)") == NULL)
        fail_msg("detail lacks the revert: %s", row.detail);
    assert_false(row.has_tx);
    gw_pub_row_clear(&row);
}

static void count_events(const uint8_t account_id[32], uint64_t seq, size_t want)
{
    size_t n = pubf_count_events(&T.f, 0, account_id, seq);
    if (n != want)
        fail_msg("%zu AttestationAccepted events for sequence %llu, want %zu", n,
                 (unsigned long long)seq, want);
}

/* Submits the next valuation of PUB-1 (+10% each time: past the 0.5% deviation) with
 * automine off, and waits until its transaction is stored as sent and in the node's pool. */
static uint64_t submit_until_pooled(custos_submission *s, gw_pub_row *row)
{
    rpc_void("evm_setAutomine", json_pack("[b]", 0));
    T.seq++;
    uint64_t cursor = submit_cosigned("PUB-1", T.seq, USD + T.seq * (USD / 10), s);
    memset(row, 0, sizeof *row);
    bool in_pool = false;
    for (int64_t deadline = tu_now_ms() + WAIT_MS; !in_pool; tu_sleep_ms(50)) {
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&T.f.gw);
            fail_msg("the transaction never reached the node's pool within %d s",
                     WAIT_MS / 1000);
        }
        gw_pub_row_clear(row);
        in_pool = read_fate(cursor, row) && row->fate == GW_PUB_SENT &&
                  relayer_nonce(EVM_BLOCK_PENDING) > relayer_nonce(EVM_BLOCK_LATEST);
    }
    return cursor;
}

static void kill_gateway(void)
{
    custos_client_free(T.f.gw.client);
    T.f.gw.client = NULL;
    tu_stop(&T.f.gw.proc, SIGKILL, 5000);
}

/* Mines with automine back on, gives the publisher a few passes (anything it rebuilt
 * would be sent by then), mines again. */
static void settle(void)
{
    rpc_void("evm_setAutomine", json_pack("[b]", 1));
    rpc_void("evm_mine", NULL);
    tu_sleep_ms(500);
    rpc_void("evm_mine", NULL);
}

static void test_crash_between_store_and_mining(void **state)
{
    (void)state;
    uint64_t nonce_before = relayer_nonce(EVM_BLOCK_LATEST);
    custos_submission s;
    gw_pub_row row;
    uint64_t cursor = submit_until_pooled(&s, &row);
    assert_int_equal(row.tx.nonce, nonce_before);
    gw_pub_row_clear(&row);

    kill_gateway();
    rpc_void("evm_mine", NULL);
    gwf_start(&T.f.gw);
    wait_fate(cursor, GW_PUB_CONFIRMED, &row);
    gw_pub_row_clear(&row);
    settle();

    assert_int_equal(chain_sequence(s.att.account), T.seq);
    assert_int_equal(relayer_nonce(EVM_BLOCK_LATEST), nonce_before + 1);
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before + 1);
    count_events(s.att.account, T.seq, 1);
    custos_submission_clear(&s);
}

/* The node forgets the pool while the gateway is down: the restart broadcasts the very
 * same raw transaction (same hash, same nonce) instead of building a new one. */
static void test_crash_and_node_lost_the_transaction(void **state)
{
    (void)state;
    uint64_t nonce_before = relayer_nonce(EVM_BLOCK_LATEST);
    custos_submission s;
    gw_pub_row sent;
    uint64_t cursor = submit_until_pooled(&s, &sent);

    kill_gateway();
    rpc_void("anvil_dropAllTransactions", NULL);
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before);
    gwf_start(&T.f.gw);
    char hash[67];
    assert_int_equal(custos_hex_encode(sent.tx.hash, 32, hash, sizeof hash), CUSTOS_OK);
    custos_error err;
    for (int64_t deadline = tu_now_ms() + WAIT_MS;; tu_sleep_ms(100)) {
        json_t *tx = NULL;
        check(evm_rpc_request(T.f.rpc[0], "eth_getTransactionByHash", json_pack("[s]", hash), &tx,
                              &err), &err);
        bool known = json_is_object(tx);
        json_decref(tx);
        if (known)
            break;
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&T.f.gw);
            fail_msg("tx %s was not broadcast again within %d s", hash, WAIT_MS / 1000);
        }
    }
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before + 1);
    rpc_void("evm_mine", NULL);
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_CONFIRMED, &row);
    assert_memory_equal(row.tx.hash, sent.tx.hash, 32);
    gw_pub_row_clear(&row);
    gw_pub_row_clear(&sent);
    settle();

    assert_int_equal(chain_sequence(s.att.account), T.seq);
    assert_int_equal(relayer_nonce(EVM_BLOCK_LATEST), nonce_before + 1);
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before + 1);
    count_events(s.att.account, T.seq, 1);
    custos_submission_clear(&s);
}

/* submit() refused by the contract itself, whoever sends it: revert data starts with the
 * selector of the error. */
static void expect_revert(const custos_submission *s, gwf_key_id k1, gwf_key_id k2,
                          const char *error_signature)
{
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    rec.sub = *s;
    rec.sub.positions = NULL;
    rec.sub.n_positions = 0;
    const gwf_key_id keys[2] = {k1, k2};
    for (size_t i = 0; i < 2; i++)
        memcpy(rec.signers[i], T.f.gw.keys[keys[i]].address, CUSTOS_ADDRESS_LEN);
    rec.n_signers = 2;
    uint8_t *data = NULL;
    size_t len = 0;
    custos_error err;
    check(gw_publisher_encode_submit(&rec, &data, &len, &err), &err);
    evm_call call = {.data = data, .data_len = len};
    memcpy(call.to, T.f.adapter, CUSTOS_ADDRESS_LEN);
    uint64_t gas = 0;
    assert_int_equal(evm_rpc_estimate_gas(T.f.rpc[0], &call, &gas, &err), CUSTOS_ERR_REFUSED);
    const evm_rpc_fault *f = evm_rpc_last_fault(T.f.rpc[0]);
    assert_non_null(f);
    assert_true(f->has_data);
    uint8_t sel[4];
    evm_abi_selector(error_signature, sel);
    assert_true(f->data_len >= 4);
    assert_memory_equal(f->data, sel, 4);
    if (strcmp(error_signature, "UnknownSigner(address)") == 0) {
        uint8_t who[CUSTOS_ADDRESS_LEN];
        check(evm_abi_get_address(f->data + 4, f->data_len - 4, 0, who, &err), &err);
        assert_memory_equal(who, T.f.gw.keys[GWF_KEY_UNKNOWN].address, CUSTOS_ADDRESS_LEN);
    }
    free(data);
}

static void test_contract_refusals(void **state)
{
    (void)state;
    custos_submission s;
    uint64_t now = gwf_now();
    gwf_make(&T.f.gw, &s, "PUB-1", 1000, USD);
    gwf_set_times(&s, now - 2 * GWF_MAX_AGE, now + 3600);
    gwf_sign(&T.f.gw, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&T.f.gw, &s, GWF_KEY_AGENT);
    expect_revert(&s, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, "Stale(uint64,uint256)");
    custos_submission_clear(&s);

    gwf_make(&T.f.gw, &s, "PUB-1", 1001, USD);
    gwf_sign(&T.f.gw, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&T.f.gw, &s, GWF_KEY_UNKNOWN);
    expect_revert(&s, GWF_KEY_CUSTODIAN, GWF_KEY_UNKNOWN, "UnknownSigner(address)");
    custos_submission_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_cosigned),
        cmocka_unit_test(test_unchanged_value_skipped),
        cmocka_unit_test(test_notice_passed_over),
        cmocka_unit_test(test_chain_refusal_recorded),
        cmocka_unit_test(test_crash_between_store_and_mining),
        cmocka_unit_test(test_crash_and_node_lost_the_transaction),
        cmocka_unit_test(test_contract_refusals),
    };
    return cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
}
