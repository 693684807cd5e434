/* A batch built and encoded by the gateway's code reaches the adapter on anvil
 * (pubfixture.h): three accounts valued by lib/core's batch tree, the batch digest signed
 * by the feed's custodian and valuation agent, submitBatch's calldata from
 * gw_pub_batch_encode sent as a transaction; every account then has its attestation
 * on-chain. A batch whose signed root its accounts do not give reverts. A batch with one
 * account the adapter refuses (a replayed sequence) writes the others, and the gateway's
 * receipt reader (evm_rpc_receipt_logs) finds that account's AccountRefused event with
 * the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/batch.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "evm/publish_batch.h"
#include "pubfixture.h"

#define N_ACCOUNTS 3

static pubf F;
static const char *const REFS[N_ACCOUNTS] = {"BATCH-1", "BATCH-2", "BATCH-3"};

static int group_setup(void **state)
{
    (void)state;
    pubf_init(&F, 1, GWF_MAX_AGE, REFS, N_ACCOUNTS);
    /* No gateway here: the accounts are registered on-chain by pubf_init (rule 9), and the
     * attestations go to the adapter straight from this test. */
    F.gw.no_auto_register = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pubf_cleanup(&F);
    return 0;
}

/* Sends data to the adapter from anvil's unlocked account 2 and waits for its receipt
 * (the transaction's hash in hash). */
static bool send_and_wait(const uint8_t *data, size_t len, uint8_t hash[CUSTOS_HASH_LEN])
{
    char *data_hex = malloc(2 * len + 3);
    assert_non_null(data_hex);
    assert_int_equal(custos_hex_encode(data, len, data_hex, 2 * len + 3), CUSTOS_OK);
    char to[2 * CUSTOS_ADDRESS_LEN + 3];
    assert_int_equal(custos_hex_encode(F.adapter, CUSTOS_ADDRESS_LEN, to, sizeof to), CUSTOS_OK);
    json_t *tx = json_pack("[{s:s, s:s, s:s, s:s}]", "from", PUBF_OUTSIDER, "to", to, "data",
                           data_hex, "gas", "0x1000000");
    free(data_hex);
    json_t *hash_json = pubf_rpc(&F, 0, "eth_sendTransaction", tx);
    custos_error err;
    assert_true(json_is_string(hash_json));
    if (custos_hex_decode(json_string_value(hash_json), hash, CUSTOS_HASH_LEN, &err) != CUSTOS_OK)
        fail_msg("transaction hash: %s", err.message);
    json_decref(hash_json);
    bool success = false;
    uint64_t block = 0;
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; !pubf_receipt(&F, 0, hash, &success, &block);
         tu_sleep_ms(100)) {
        if (tu_now_ms() > deadline)
            fail_msg("no receipt within %d ms", PUBF_WAIT_MS);
    }
    return success;
}

/* Three valuations of one batch's times (account i with sequence seqs[i]), the batch over
 * them with the given batch sequence, and its quorum. */
static void make_batch(uint64_t sequence, const uint64_t seqs[N_ACCOUNTS],
                       custos_submission s[N_ACCOUNTS],
                       custos_attestation atts[N_ACCOUNTS], custos_batch *batch,
                       custos_signature sigs[2], uint8_t signers[2][CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        gwf_make(&F.gw, &s[i], REFS[i], seqs[i], PUBF_USD * (i + 1));
        gwf_set_times(&s[i], s[0].att.as_of, s[0].att.valid_until);
        atts[i] = s[i].att;
    }
    custos_batch_tree *tree = NULL;
    custos_error err;
    if (custos_batch_tree_new(GWF_FEED, atts, N_ACCOUNTS, sequence, batch, &tree, &err) !=
        CUSTOS_OK)
        fail_msg("custos_batch_tree_new: %s", err.message);
    custos_batch_tree_free(tree);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(&s[0].domain, batch, digest);
    const gwf_key_id keys[2] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT};
    for (size_t k = 0; k < 2; k++) {
        if (custos_sign_digest(F.gw.secp, F.gw.keys[keys[k]].seckey, digest, &sigs[k], &err) !=
            CUSTOS_OK)
            fail_msg("custos_sign_digest: %s", err.message);
        memcpy(signers[k], F.gw.keys[keys[k]].address, CUSTOS_ADDRESS_LEN);
    }
}

static void test_batch_reaches_every_account(void **state)
{
    (void)state;
    custos_submission s[N_ACCOUNTS];
    custos_attestation atts[N_ACCOUNTS];
    custos_batch batch;
    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    const uint64_t seqs[N_ACCOUNTS] = {1, 1, 1};
    make_batch(1, seqs, s, atts, &batch, sigs, signers);

    /* A root the accounts do not give: the adapter reverts the whole batch. */
    custos_batch wrong = batch;
    wrong.accounts_root[0] ^= 1;
    gw_pub_batch bad = {wrong, atts, N_ACCOUNTS, sigs, signers, 2};
    uint8_t *data = NULL;
    size_t len = 0;
    custos_error err;
    if (gw_pub_batch_encode(&bad, &data, &len, &err) != CUSTOS_OK)
        fail_msg("gw_pub_batch_encode: %s", err.message);
    uint8_t hash[CUSTOS_HASH_LEN];
    assert_false(send_and_wait(data, len, hash));
    free(data);
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        assert_int_equal(pubf_chain_sequence(&F, 0, atts[i].account), 0);

    gw_pub_batch b = {batch, atts, N_ACCOUNTS, sigs, signers, 2};
    if (gw_pub_batch_encode(&b, &data, &len, &err) != CUSTOS_OK)
        fail_msg("gw_pub_batch_encode: %s", err.message);
    assert_true(send_and_wait(data, len, hash));
    free(data);
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        assert_int_equal(pubf_chain_sequence(&F, 0, atts[i].account), 1);
        custos_submission_clear(&s[i]);
    }
}

/* Batch 2 repeats the second account's sequence 1: the adapter writes the two others and
 * names the second in an AccountRefused event, whose reason is Replay(1, 1). */
static void test_refused_account_read_from_the_receipt(void **state)
{
    (void)state;
    custos_submission s[N_ACCOUNTS];
    custos_attestation atts[N_ACCOUNTS];
    custos_batch batch;
    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    const uint64_t seqs[N_ACCOUNTS] = {2, 1, 2};
    make_batch(2, seqs, s, atts, &batch, sigs, signers);
    gw_pub_batch b = {batch, atts, N_ACCOUNTS, sigs, signers, 2};
    uint8_t *data = NULL, hash[CUSTOS_HASH_LEN];
    size_t len = 0;
    custos_error err;
    if (gw_pub_batch_encode(&b, &data, &len, &err) != CUSTOS_OK)
        fail_msg("gw_pub_batch_encode: %s", err.message);
    assert_true(send_and_wait(data, len, hash));
    free(data);
    assert_int_equal(pubf_chain_sequence(&F, 0, atts[0].account), 2);
    assert_int_equal(pubf_chain_sequence(&F, 0, atts[1].account), 1);
    assert_int_equal(pubf_chain_sequence(&F, 0, atts[2].account), 2);

    static const char event[] = "AccountRefused(bytes32,bytes32,uint64,bytes)";
    uint8_t topic0[CUSTOS_HASH_LEN];
    custos_keccak256((const uint8_t *)event, strlen(event), topic0);
    evm_log logs[4];
    size_t n = 0;
    bool found = false;
    if (evm_rpc_receipt_logs(F.rpc[0], hash, F.adapter, topic0, logs, 4, &n, &found, &err) !=
        CUSTOS_OK)
        fail_msg("evm_rpc_receipt_logs: %s", err.message);
    assert_true(found);
    assert_int_equal(n, 1);
    assert_memory_equal(logs[0].topic1, atts[1].account, CUSTOS_HASH_LEN);
    /* abi.encode(bytes reason): offset, length, then Replay(uint64,uint64)'s selector and
     * its two words. */
    uint8_t replay[EVM_ABI_SELECTOR_LEN];
    evm_abi_selector("Replay(uint64,uint64)", replay);
    assert_true(logs[0].data_len >= 2 * EVM_ABI_WORD + EVM_ABI_SELECTOR_LEN);
    assert_memory_equal(logs[0].data + 2 * EVM_ABI_WORD, replay, EVM_ABI_SELECTOR_LEN);
    /* Another event signature, or another emitter: none. */
    uint8_t other[CUSTOS_HASH_LEN];
    memset(other, 0x11, sizeof other);
    if (evm_rpc_receipt_logs(F.rpc[0], hash, F.adapter, other, logs, 4, &n, &found, &err) !=
        CUSTOS_OK)
        fail_msg("evm_rpc_receipt_logs: %s", err.message);
    assert_int_equal(n, 0);
    uint64_t gas_limit = 0;
    if (evm_rpc_block_gas_limit(F.rpc[0], &gas_limit, &err) != CUSTOS_OK)
        fail_msg("evm_rpc_block_gas_limit: %s", err.message);
    assert_true(gas_limit >= 1000000);
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        custos_submission_clear(&s[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_reaches_every_account),
        cmocka_unit_test(test_refused_account_read_from_the_receipt),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
