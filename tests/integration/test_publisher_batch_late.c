/* A batch account accepted after its batch was published reaches the chain (docs/
 * publishing.md §14), through the real binaries on anvil with the circuit breaker on both
 * sides (rule 6: rises over 10% need 3 roles; the batch has 2) and the gateway on mTLS
 * (pubf_use_tls), whose admin releases the held rise:
 * - batch 1 values three accounts; it goes on-chain whole (submitBatch);
 * - batch 2 raises two of them 6% and the third 50%: the gateway holds the 50% rise,
 *   the publisher sends batch 2 whole, and the adapter's own breaker refuses its leaf
 *   alone (AccountRefused) while it writes the two others;
 * - the gateway's admin releasing it first is refused HELD_ON_CHAIN, naming the owner's
 *   call, and changes nothing; the adapter's owner releases that attestation on-chain
 *   (releaseHeld), then the gateway's admin releases it (ReleaseHeld): accepted late, when batch 2's
 *   sequence is used up on-chain. The publisher sends it alone in a submitBatchPart with
 *   its multiproof, and the lender's feed answers the raised value.
 * Then, with batch_max_accounts 2, fee_bump_after_seconds 1 and a chain that mines
 * nothing, a batch of three fresh accounts goes in two parts, each replaced under its
 * nonce with higher fees (built again from the stored batch and the call's records); once
 * blocks come, every account lands with its part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/client.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "pki.h"
#include "pubbatch.h"

#define N_ACCOUNTS 3
#define RAISED 1 /* the account whose rise is held */
#define N_PARTED 3
#define BUMP_LOG "\"publisher.bump\""
#define RISE_BPS 1000
#define RELEASE_THRESHOLD 3

static pubf F;
static pubb B;
static const char *const REFS[N_ACCOUNTS + N_PARTED] = {"LATE-1", "LATE-2", "LATE-3",
                                                        "PART-1", "PART-2", "PART-3"};
static const char *const *const PARTED = REFS + N_ACCOUNTS;

static int group_setup(void **state)
{
    pubf_init_breaker(&F, 1, GWF_MAX_AGE, REFS, N_ACCOUNTS + N_PARTED, RISE_BPS,
                      RELEASE_THRESHOLD);
    pubf_use_tls(&F);
    pubb_init(&B, &F);
    pubb_write_book(&B, REFS, N_ACCOUNTS);
    pubf_write_config(&F, NULL, "deviation_bps = 500\n");
    return pubf_group_start(state, &F, REFS, N_ACCOUNTS + N_PARTED);
}

/* The adapter's owner (the fixture's deployer, unlocked on anvil) lets the attestation of
 * digest through the adapter's breaker: releaseHeld(account, digest), mined. */
static void owner_release(const uint8_t account[CUSTOS_HASH_LEN],
                          const uint8_t digest[CUSTOS_HASH_LEN])
{
    custos_error err;
    uint8_t key[32], owner[CUSTOS_ADDRESS_LEN];
    assert_int_equal(custos_hex_decode(PUBF_OWNER_KEY, key, sizeof key, &err), CUSTOS_OK);
    custos_secp *secp = custos_secp_new();
    assert_non_null(secp);
    assert_int_equal(custos_address_from_seckey(secp, key, owner, &err), CUSTOS_OK);
    custos_secp_free(secp);
    evm_abi_value args[2] = {evm_abi_bytes32(account), evm_abi_bytes32(digest)};
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(evm_abi_encode("releaseHeld(bytes32,bytes32)", args, 2, &data, &len, &err),
                     CUSTOS_OK);
    char from[CUSTOS_ADDRESS_HEX_LEN], to[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(owner, from);
    custos_address_to_hex(F.adapter, to);
    char *hex = malloc(2 * len + 3);
    assert_non_null(hex);
    assert_int_equal(custos_hex_encode(data, len, hex, 2 * len + 3), CUSTOS_OK);
    free(data);
    json_t *hash = pubf_rpc(&F, 0, "eth_sendTransaction",
                            json_pack("[{s:s, s:s, s:s}]", "from", from, "to", to, "data", hex));
    free(hex);
    uint8_t h[CUSTOS_HASH_LEN];
    assert_int_equal(custos_hex_decode(json_string_value(hash), h, sizeof h, &err), CUSTOS_OK);
    json_decref(hash);
    bool success = false;
    pubf_wait_receipt(&F, h, &success);
    assert_true(success);
}

/* The gateway's admin (client certificate PUBF_TLS_ADMIN) releases the held digest: the
 * outcome, with err filled on a refusal. */
static custos_rc admin_release(const uint8_t digest[CUSTOS_HASH_LEN], custos_error *err)
{
    char ca[1200], cert[1200], key[1200];
    pki_path(F.gw.tls_dir, "ca", ".pem", ca, sizeof ca);
    pki_path(F.gw.tls_dir, PUBF_TLS_ADMIN, ".pem", cert, sizeof cert);
    pki_path(F.gw.tls_dir, PUBF_TLS_ADMIN, ".key", key, sizeof key);
    custos_client_options o = {.target = F.gw.target, .timeout_ms = 5000, .ca_file = ca,
                               .cert_file = cert, .key_file = key};
    custos_client *admin = NULL;
    assert_int_equal(custos_client_open(&o, &admin, err), CUSTOS_OK);
    uint64_t audit_seq = 0;
    custos_rc rc = custos_client_release_held(admin, digest, "rise checked by the custodian",
                                              &audit_seq, err);
    custos_client_free(admin);
    return rc;
}

static void test_late_account_goes_in_a_part(void **state)
{
    (void)state;
    char dir2[1200];
    pubb_sign_submit(&B, "batch-1", dir2, sizeof dir2);
    gw_pub_row row;
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        pubf_wait_fate(&F, pubb_latest_cursor(&F, REFS[i], 1), GW_PUB_CONFIRMED, &row);
        assert_false(row.part);
        gw_pub_row_clear(&row);
        pubb_expect_on_chain(&F, dir2, REFS[i], 1);
    }

    /* Batch 2: 6% more for two accounts (published: over the 5% deviation, under the
     * breaker's 10%), 50% more for RAISED (held). */
    const unsigned pct[N_ACCOUNTS] = {106, 150, 106};
    pubb_write_book_scaled(&B, REFS, pct, N_ACCOUNTS);
    char next[1200];
    pubb_sign_submit(&B, "batch-2", next, sizeof next);
    uint8_t raised[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REFS[RAISED], raised);
    custos_record *held = NULL;
    size_t n_held = 0;
    custos_error err;
    assert_int_equal(custos_client_list_held(F.gw.client, raised, &held, &n_held, &err),
                     CUSTOS_OK);
    assert_int_equal(n_held, 1);
    assert_true(held[0].batched);
    uint8_t digest[CUSTOS_HASH_LEN];
    memcpy(digest, held[0].digest, CUSTOS_HASH_LEN);
    custos_record_list_free(held, n_held);

    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        if (i == RAISED)
            continue;
        pubf_wait_fate(&F, pubb_latest_cursor(&F, REFS[i], 2), GW_PUB_CONFIRMED, &row);
        assert_true(row.batched);
        assert_false(row.part);
        gw_pub_row_clear(&row);
        pubb_expect_on_chain(&F, next, REFS[i], 2);
    }
    /* The whole call carried RAISED's leaf too; the adapter's breaker refused it alone. */
    uint32_t refused = 0;
    uint64_t batch2 = pubb_batch_sequence(next);
    assert_int_equal(pubb_batch_events(&F, batch2, &refused), 1);
    assert_int_equal(refused, 1);
    pubb_expect_on_chain(&F, dir2, REFS[RAISED], 1);

    /* Released at the gateway first: refused, since the adapter's breaker would refuse the
     * part the publisher then sends; the rise stays held. */
    if (admin_release(digest, &err) == CUSTOS_OK || err.reason != CUSTOS_REASON_HELD_ON_CHAIN ||
        strstr(err.message, "releaseHeld(0x") == NULL)
        fail_msg("ReleaseHeld before the owner's: %s", err.message);
    assert_int_equal(custos_client_list_held(F.gw.client, raised, &held, &n_held, &err),
                     CUSTOS_OK);
    assert_int_equal(n_held, 1);
    custos_record_list_free(held, n_held);
    /* Released on both sides: on-chain first, so that the part the publisher sends once
     * the gateway accepts the rise is not refused by the adapter's breaker. */
    owner_release(raised, digest);
    if (admin_release(digest, &err) != CUSTOS_OK)
        fail_msg("ReleaseHeld: %s", err.message);
    pubf_wait_fate(&F, pubb_latest_cursor(&F, REFS[RAISED], 2), GW_PUB_CONFIRMED, &row);
    assert_true(row.batched);
    assert_true(row.part);
    assert_true(row.has_tx);
    assert_int_equal(row.call, 0);
    gw_pub_row_clear(&row);
    pubb_expect_on_chain(&F, next, REFS[RAISED], 2);
    assert_int_equal(pubb_part_events(&F, batch2, &refused), 1);
    assert_int_equal(refused, 0);
    pubf_wait_metric(&F, "custos_publisher_batches_sent_total", 3);
}

static void test_unmined_parts_are_bumped(void **state)
{
    (void)state;
    assert_int_equal(gwf_stop(&F.gw), 0);
    pubf_write_config(&F, NULL,
                      "deviation_bps = 500\nbatch_max_accounts = 2\nfee_bump_after_seconds = 1\n");
    pubf_start(&F);
    pubf_automine(&F, false);
    char *log = pubf_log(&F);
    size_t bumps = pubf_count(log, BUMP_LOG);
    free(log);
    pubb_write_book(&B, PARTED, N_PARTED);
    char dir2[1200];
    pubb_sign_submit(&B, "batch-parted", dir2, sizeof dir2);
    uint64_t cursors[N_PARTED], leads[N_PARTED];
    size_t n_leads = 0;
    gw_pub_row row;
    for (size_t i = 0; i < N_PARTED; i++) {
        cursors[i] = pubb_latest_cursor(&F, PARTED[i], 1);
        pubf_wait_fate(&F, cursors[i], GW_PUB_SENT, &row);
        assert_true(row.part);
        if (row.has_tx)
            leads[n_leads++] = row.cursor;
        gw_pub_row_clear(&row);
    }
    assert_int_equal(n_leads, 2);
    /* Each part replaced at least once under its nonce. */
    pubf_wait_log(&F, BUMP_LOG, bumps + 2);
    for (size_t k = 0; k < n_leads; k++) {
        uint8_t hashes[GW_PUBSTATE_MAX_ATTEMPTS][CUSTOS_HASH_LEN];
        for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS;
             pubf_attempts(&F, leads[k], hashes, GW_PUBSTATE_MAX_ATTEMPTS) < 2;
             tu_sleep_ms(100))
            if (tu_now_ms() > deadline)
                fail_msg("the part of cursor %llu was not replaced",
                         (unsigned long long)leads[k]);
    }
    pubf_automine(&F, true);
    pubf_mine(&F, 1);
    for (size_t i = 0; i < N_PARTED; i++) {
        pubf_wait_fate(&F, cursors[i], GW_PUB_CONFIRMED, &row);
        assert_true(row.part);
        gw_pub_row_clear(&row);
        pubb_expect_on_chain(&F, dir2, PARTED[i], 1);
    }
    uint32_t refused = 1;
    assert_int_equal(pubb_part_events(&F, pubb_batch_sequence(dir2), &refused), 2);
    assert_int_equal(refused, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_account_goes_in_a_part),
        cmocka_unit_test(test_unmined_parts_are_bumped),
    };
    return cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
}
