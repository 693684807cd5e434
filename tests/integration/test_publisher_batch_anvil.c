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
 * batch_max_accounts is reported (metric, /status) and not sent. */
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

#include "custos/batch.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "pubfixture.h"

#define N_ACCOUNTS 4
#define OUT_CAP 65536
/* The account frozen while the batch waits. */
#define FROZEN 2

static pubf F;
static const char *const REFS[N_ACCOUNTS] = {"BATCHED-1", "BATCHED-2", "BATCHED-3",
                                            "BATCHED-4"};
static char k1[1200], k2[1200], state_path[1200], holdings[1200], prices[1200], policy[1200];
static char contract[CUSTOS_ADDRESS_HEX_LEN];
static char out[OUT_CAP];

static void check(custos_rc rc, const custos_error *err)
{
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", custos_rc_name(rc), err->message);
}

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.gw.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static int run_attestor(const char *const args[])
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = CUSTOS_ATTESTOR_BIN;
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < 47);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos-attestor %s ... -> %d\n%s\n", args[0], status, out);
    return status;
}

static json_t *load_example(const char *name)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/deploy/examples/%s", CUSTOS_SOURCE_DIR, name);
    json_error_t jerr;
    json_t *root = json_load_file(src, 0, &jerr);
    if (root == NULL)
        fail_msg("%s: %s (line %d)", src, jerr.text, jerr.line);
    return root;
}

/* The sample book's first account under each of REFS, pledged to PUBF_LENDER; the sample
 * prices observed now; the sample policy. */
static void write_book(void)
{
    json_t *h = load_example("holdings.json");
    json_t *accounts = json_object_get(h, "accounts");
    json_t *first = json_deep_copy(json_array_get(accounts, 0));
    assert_non_null(first);
    assert_string_equal(json_string_value(json_object_get(h, "custodian")), GWF_FEED);
    assert_int_equal(json_array_clear(accounts), 0);
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        json_t *copy = json_deep_copy(first);
        assert_int_equal(json_object_set_new(copy, "ref", json_string(REFS[i])), 0);
        assert_int_equal(json_object_set_new(copy, "beneficiary", json_string(PUBF_LENDER)), 0);
        assert_int_equal(json_array_append_new(accounts, copy), 0);
    }
    json_decref(first);
    assert_int_equal(json_dump_file(h, holdings, JSON_INDENT(2)), 0);
    json_decref(h);
    json_t *p = load_example("prices.json");
    const char *key;
    json_t *entry;
    json_object_foreach(json_object_get(p, "prices"), key, entry)
        assert_int_equal(json_object_set_new(entry, "as_of", json_integer((json_int_t)gwf_now())),
                         0);
    assert_int_equal(json_dump_file(p, prices, JSON_INDENT(2)), 0);
    json_decref(p);
    json_t *pol = load_example("policy.json");
    assert_int_equal(json_dump_file(pol, policy, JSON_INDENT(2)), 0);
    json_decref(pol);
}

static int group_setup(void **state)
{
    (void)state;
    pubf_init(&F, 1, GWF_MAX_AGE, REFS, N_ACCOUNTS);
    path_in(k1, sizeof k1, "custodian.key");
    path_in(k2, sizeof k2, "agent.key");
    path_in(state_path, sizeof state_path, "attestor-state.json");
    path_in(holdings, sizeof holdings, "holdings.json");
    path_in(prices, sizeof prices, "prices.json");
    path_in(policy, sizeof policy, "policy.json");
    custos_error err;
    check(custos_keyfile_write(k1, F.gw.keys[GWF_KEY_CUSTODIAN].seckey, &err), &err);
    check(custos_keyfile_write(k2, F.gw.keys[GWF_KEY_AGENT].seckey, &err), &err);
    custos_address_to_hex(F.adapter, contract);
    write_book();
    pubf_write_config(&F, NULL, NULL);
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        gwf_register(&F.gw, GWF_FEED, GWF_FEED, REFS[i]);
    pubf_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pubf_cleanup(&F);
    return 0;
}

/* attest --batch into dir with the custodian's key, then cosign by the valuation agent
 * into dir2: the batch with its quorum. */
static void sign_batch(const char *dir, const char *dir2)
{
    const char *attest[] = {"attest", "--batch", "--holdings", holdings, "--prices", prices,
                            "--policy", policy, "--key", k1, "--feed", GWF_FEED, "--chain-id",
                            "31337", "--contract", contract, "--state", state_path,
                            "--export", dir, NULL};
    assert_int_equal(run_attestor(attest), 0);
    const char *cosign[] = {"cosign", "--in", dir, "--key", k2, "--export", dir2, NULL};
    assert_int_equal(run_attestor(cosign), 0);
}

/* The batch of dir through the gateway's SubmitBatch (custos-attestor submit-batch): every
 * account accepted. */
static void submit_batch_dir(const char *dir)
{
    const char *submit[] = {"submit-batch", "--dir", dir, "--gateway", F.gw.target,
                            "--insecure", NULL};
    assert_int_equal(run_attestor(submit), 0);
}

/* The collateral value of account ref as its exported file says (decimal text). */
static void exported_value(const char *dir, const char *ref, custos_u256 *value)
{
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, ref, id);
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], path[1400];
    assert_int_equal(custos_hex_encode(id, CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
    snprintf(path, sizeof path, "%s/%s.json", dir, hex);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (j == NULL)
        fail_msg("%s: %s", path, jerr.text);
    const char *dec = json_string_value(
        json_object_get(json_object_get(json_object_get(j, "typedData"), "message"),
                        "collateralValue"));
    assert_non_null(dec);
    custos_error err;
    check(custos_u256_from_dec(value, dec, strlen(dec), &err), &err);
    json_decref(j);
}

/* The lender's Chainlink-style feed of the account (the adapter's accountFeed for
 * PUBF_LENDER): its latestRoundData answer. */
static void lender_answer(const uint8_t account[CUSTOS_HASH_LEN], custos_u256 *answer)
{
    uint8_t lender[CUSTOS_ADDRESS_LEN], feed[CUSTOS_ADDRESS_LEN];
    custos_error err;
    check(custos_address_from_hex(PUBF_LENDER, lender, &err), &err);
    evm_abi_value args[2] = {evm_abi_bytes32(account), evm_abi_address(lender)};
    uint8_t *data = NULL, *res = NULL;
    size_t data_len = 0, len = 0;
    check(evm_abi_encode("accountFeed(bytes32,address)", args, 2, &data, &data_len, &err), &err);
    evm_call call = {.data = data, .data_len = data_len};
    memcpy(call.to, F.adapter, CUSTOS_ADDRESS_LEN);
    check(evm_rpc_call(F.rpc[0], &call, &res, &len, &err), &err);
    free(data);
    check(evm_abi_get_address(res, len, 0, feed, &err), &err);
    free(res);
    check(evm_abi_encode("latestRoundData()", NULL, 0, &data, &data_len, &err), &err);
    evm_call round = {.data = data, .data_len = data_len};
    memcpy(round.to, feed, CUSTOS_ADDRESS_LEN);
    check(evm_rpc_call(F.rpc[0], &round, &res, &len, &err), &err);
    free(data);
    bool negative = true;
    check(evm_abi_get_int(res, len, 1, 256, &negative, answer, &err), &err);
    assert_false(negative);
    free(res);
}

/* The cursor of the accepted record of account ref with this sequence (GetLatest). */
static uint64_t latest_cursor(const char *ref, uint64_t sequence)
{
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, ref, id);
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    check(custos_client_get_latest(F.gw.client, id, &rec, &err), &err);
    assert_int_equal(rec.sub.att.sequence, sequence);
    uint64_t cursor = rec.cursor;
    custos_record_clear(&rec);
    return cursor;
}

/* One batch of four accounts through attestor, gateway, publisher and adapter, with a
 * freeze of account FROZEN accepted after it: the freeze goes first, alone; the three
 * others reach their lenders' feeds in one call. */
static void test_batch_reaches_each_lender(void **state)
{
    (void)state;
    char dir[1200], dir2[1200];
    path_in(dir, sizeof dir, "batch-1");
    path_in(dir2, sizeof dir2, "batch-1-cosigned");
    sign_batch(dir, dir2);
    /* The gateway restarted while the chain is paused: its publisher's first pass waits
     * for the node's chain id, so it reads the log only once both records are accepted,
     * and one follow pass sees the batch and the freeze. */
    assert_int_equal(gwf_stop(&F.gw), 0);
    assert_int_equal(kill(F.anvil[0].pid, SIGSTOP), 0);
    pubf_start(&F);
    submit_batch_dir(dir2);
    const char *freeze[] = {"freeze", "--holdings", holdings, "--account", REFS[FROZEN],
                            "--reason", "collateral in dispute", "--key", k1, "--feed",
                            GWF_FEED, "--chain-id", "31337", "--contract", contract,
                            "--state", state_path, "--policy", policy, "--gateway",
                            F.gw.target, "--insecure", NULL};
    int frozen = run_attestor(freeze);
    assert_int_equal(kill(F.anvil[0].pid, SIGCONT), 0);
    assert_int_equal(frozen, 0);

    /* Sequences: 1 for every account in the batch, 2 for the freeze. */
    uint64_t cursors[N_ACCOUNTS];
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        cursors[i] = latest_cursor(REFS[i], i == FROZEN ? 2 : 1);
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

    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        uint8_t id[CUSTOS_HASH_LEN];
        custos_account_id(GWF_FEED, REFS[i], id);
        custos_u256 want, got;
        if (i == FROZEN)
            custos_u256_from_u64(&want, 0);
        else
            exported_value(dir2, REFS[i], &want);
        lender_answer(id, &got);
        assert_int_equal(custos_u256_cmp(&got, &want), 0);
        assert_int_equal(pubf_chain_sequence(&F, 0, id), i == FROZEN ? 2 : 1);
    }
    pubf_wait_metric(&F, "custos_publisher_batches_sent_total", 1);
}

/* The gateway restarted with batch_max_accounts 3: the next batch of four is not sent; its
 * records are skipped as batch-too-large and the batch is counted. */
static void test_batch_beyond_the_cap_not_sent(void **state)
{
    (void)state;
    assert_int_equal(gwf_stop(&F.gw), 0);
    pubf_write_config(&F, NULL, "batch_max_accounts = 3\n");
    pubf_start(&F);
    char dir[1200], dir2[1200];
    path_in(dir, sizeof dir, "batch-2");
    path_in(dir2, sizeof dir2, "batch-2-cosigned");
    sign_batch(dir, dir2);
    submit_batch_dir(dir2);
    gw_pub_row row;
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        /* The frozen account's third sequence: the batch came after its freeze. */
        uint64_t cursor = latest_cursor(REFS[i], i == FROZEN ? 3 : 2);
        pubf_wait_fate(&F, cursor, GW_PUB_SKIPPED, &row);
        assert_non_null(strstr(row.detail, "batch-too-large"));
        gw_pub_row_clear(&row);
        uint8_t id[CUSTOS_HASH_LEN];
        custos_account_id(GWF_FEED, REFS[i], id);
        assert_int_equal(pubf_chain_sequence(&F, 0, id), i == FROZEN ? 2 : 1);
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
        cmocka_unit_test(test_batch_beyond_the_cap_not_sent),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
