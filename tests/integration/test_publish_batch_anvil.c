/* A batch built and encoded by the gateway's code reaches the adapter on anvil
 * (pubfixture.h): three accounts valued by lib/core's batch tree, the batch digest signed
 * by the feed's custodian and valuation agent, submitBatch's calldata from
 * gw_pub_batch_encode sent as a transaction; every account then has its attestation
 * on-chain. A batch whose signed root its accounts do not give reverts. */
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
#include "custos/sig.h"
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

/* Sends data to the adapter from anvil's unlocked account 2 and waits for its receipt. */
static bool send_and_wait(const uint8_t *data, size_t len)
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
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_error err;
    assert_true(json_is_string(hash_json));
    if (custos_hex_decode(json_string_value(hash_json), hash, sizeof hash, &err) != CUSTOS_OK)
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

/* Three valuations of one batch's times, the batch over them, and its quorum. */
static void make_batch(uint64_t sequence, custos_submission s[N_ACCOUNTS],
                       custos_attestation atts[N_ACCOUNTS], custos_batch *batch,
                       custos_signature sigs[2], uint8_t signers[2][CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        gwf_make(&F.gw, &s[i], REFS[i], sequence, PUBF_USD * (i + 1));
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
    make_batch(1, s, atts, &batch, sigs, signers);

    /* A root the accounts do not give: the adapter reverts the whole batch. */
    custos_batch wrong = batch;
    wrong.accounts_root[0] ^= 1;
    gw_pub_batch bad = {wrong, atts, N_ACCOUNTS, sigs, signers, 2};
    uint8_t *data = NULL;
    size_t len = 0;
    custos_error err;
    if (gw_pub_batch_encode(&bad, &data, &len, &err) != CUSTOS_OK)
        fail_msg("gw_pub_batch_encode: %s", err.message);
    assert_false(send_and_wait(data, len));
    free(data);
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        assert_int_equal(pubf_chain_sequence(&F, 0, atts[i].account), 0);

    gw_pub_batch b = {batch, atts, N_ACCOUNTS, sigs, signers, 2};
    if (gw_pub_batch_encode(&b, &data, &len, &err) != CUSTOS_OK)
        fail_msg("gw_pub_batch_encode: %s", err.message);
    assert_true(send_and_wait(data, len));
    free(data);
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        assert_int_equal(pubf_chain_sequence(&F, 0, atts[i].account), 1);
        custos_submission_clear(&s[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_reaches_every_account),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
