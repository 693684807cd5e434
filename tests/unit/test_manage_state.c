/* The collateral manager's state file (attestor/manage_state.c, docs/lending.md §3): a
 * missing file is the start (healthy, sequence 0, nothing pending); what is saved, a
 * pending signed notice with extreme values included, loads back the same; a damaged or
 * doctored file is refused with its path, never read as a fresh start; the liquidation's
 * step log (docs/lending.md §5) loads back every step with its signed transactions; the
 * publication record (§7) loads back with and without its signed transaction, and a file
 * written before it existed reads as nothing to publish. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manage_state.h"
#include "testutil.h"

static char dir[512], path[700];

static int setup(void **state)
{
    (void)state;
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/manager.json", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    return 0;
}

static void test_missing_is_the_start(void **state)
{
    (void)state;
    at_manage_state s;
    custos_error err;
    memset(&s, 0x5a, sizeof s);
    assert_int_equal(at_manage_state_load(path, &s, &err), CUSTOS_OK);
    assert_int_equal(s.status.state, CUSTOS_LOAN_HEALTHY);
    assert_int_equal(s.status.deadline, 0);
    assert_int_equal(s.sequence, 0);
    assert_false(s.has_pending);
}

static void test_round_trip(void **state)
{
    (void)state;
    at_manage_state s, got;
    custos_error err;
    memset(&s, 0, sizeof s);
    s.status.state = CUSTOS_LOAN_MARGIN_CALL;
    s.status.deadline = UINT64_MAX;
    s.sequence = UINT64_MAX - 1;
    s.has_pending = true;
    memset(s.pending.account, 0xa1, sizeof s.pending.account);
    memset(s.pending.lender, 0xfe, sizeof s.pending.lender);
    s.pending.state = CUSTOS_LOAN_MARGIN_CALL;
    s.pending.ltv_bps = CUSTOS_LTV_UNBOUNDED;
    memset(s.pending.exposure.limb, 0xff, sizeof s.pending.exposure.limb);
    s.pending.collateral_value.limb[2] = 7;
    s.pending.deadline = UINT64_MAX;
    s.pending.sequence = UINT64_MAX - 1;
    for (size_t i = 0; i < CUSTOS_SIGNATURE_LEN; i++)
        s.pending_sig.bytes[i] = (uint8_t)i;
    assert_int_equal(at_manage_state_save(path, &s, &err), CUSTOS_OK);
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_int_equal(got.status.state, s.status.state);
    assert_true(got.status.deadline == s.status.deadline);
    assert_true(got.sequence == s.sequence);
    assert_true(got.has_pending);
    assert_memory_equal(&got.pending, &s.pending, sizeof s.pending);
    assert_memory_equal(&got.pending_sig, &s.pending_sig, sizeof s.pending_sig);

    /* Delivered: nothing pending any more. */
    s.has_pending = false;
    s.status.state = CUSTOS_LOAN_LIQUIDATION;
    s.status.deadline = 0;
    assert_int_equal(at_manage_state_save(path, &s, &err), CUSTOS_OK);
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_int_equal(got.status.state, CUSTOS_LOAN_LIQUIDATION);
    assert_false(got.has_pending);
}

static void test_step_log(void **state)
{
    (void)state;
    at_manage_state s, got;
    custos_error err;
    memset(&s, 0, sizeof s);
    s.status.state = CUSTOS_LOAN_LIQUIDATION;
    s.sequence = 2;
    s.liq.nonce = UINT64_MAX;
    memset(s.liq.repay_hash, 0xc3, sizeof s.liq.repay_hash);
    s.liq.approve_len = 1;
    s.liq.approve_raw[0] = 0x02;
    s.liq.repay_len = AT_LIQ_RAW_MAX;
    for (size_t i = 0; i < AT_LIQ_RAW_MAX; i++)
        s.liq.repay_raw[i] = (uint8_t)(i * 7);
    s.liq.release_sequence = UINT64_MAX;
    s.liq.release_as_of = 1;
    s.liq.release_valid_until = UINT64_MAX - 1;
    memset(s.liq.release_sig.bytes, 0x1b, CUSTOS_SIGNATURE_LEN);
    s.liq.reverts = 3;
    s.liq.revert_block = UINT64_MAX - 2;
    memset(s.liq.revert_hash, 0x5e, sizeof s.liq.revert_hash);
    memset(&s.liq.repaid_assets, 0xff, sizeof s.liq.repaid_assets);
    s.liq.book_recorded = true;
    for (unsigned step = AT_LIQ_DECIDED; step <= AT_LIQ_STEP_MAX; step++) {
        s.liq.step = (at_liq_step)step;
        s.liq.repay_block = step;
        assert_int_equal(at_manage_state_save(path, &s, &err), CUSTOS_OK);
        assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
        assert_int_equal(got.liq.step, step);
        assert_true(got.liq.nonce == UINT64_MAX);
        assert_true(got.liq.repay_block == step);
        assert_memory_equal(got.liq.repay_hash, s.liq.repay_hash, CUSTOS_HASH_LEN);
        assert_int_equal(got.liq.approve_len, 1);
        assert_int_equal(got.liq.approve_raw[0], 0x02);
        assert_int_equal(got.liq.repay_len, AT_LIQ_RAW_MAX);
        assert_memory_equal(got.liq.repay_raw, s.liq.repay_raw, AT_LIQ_RAW_MAX);
        assert_true(got.liq.release_sequence == UINT64_MAX);
        assert_true(got.liq.release_as_of == 1);
        assert_true(got.liq.release_valid_until == UINT64_MAX - 1);
        assert_memory_equal(&got.liq.release_sig, &s.liq.release_sig, sizeof s.liq.release_sig);
        assert_true(got.liq.reverts == 3);
        assert_true(got.liq.revert_block == UINT64_MAX - 2);
        assert_memory_equal(got.liq.revert_hash, s.liq.revert_hash, CUSTOS_HASH_LEN);
        assert_memory_equal(&got.liq.repaid_assets, &s.liq.repaid_assets,
                            sizeof s.liq.repaid_assets);
        assert_true(got.liq.book_recorded);
    }
    /* A log written before reverts were kept reads as none. */
    char *text = tu_read_file(path);
    assert_non_null(text);
    char *cut = strstr(text, ",\n    \"reverts\"");
    assert_non_null(cut);
    strcpy(cut, "\n  }\n}\n");
    tu_write_file(path, text);
    free(text);
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_int_equal(got.liq.step, AT_LIQ_STEP_MAX);
    assert_true(got.liq.reverts == 0 && got.liq.revert_block == 0);
    assert_true(custos_u256_is_zero(&got.liq.repaid_assets) && !got.liq.book_recorded);
    /* No liquidation under way: nothing in the file, nothing loaded. */
    memset(&s.liq, 0, sizeof s.liq);
    assert_int_equal(at_manage_state_save(path, &s, &err), CUSTOS_OK);
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_int_equal(got.liq.step, AT_LIQ_NONE);
}

static void test_publication(void **state)
{
    (void)state;
    at_manage_state s, got;
    custos_error err;
    memset(&s, 0, sizeof s);
    s.status.state = CUSTOS_LOAN_MARGIN_CALL;
    s.status.deadline = 99;
    s.sequence = 3;
    s.pub.published = 2;
    s.pub.has_notice = true;
    memset(s.pub.notice.account, 0x11, sizeof s.pub.notice.account);
    memset(s.pub.notice.lender, 0x22, sizeof s.pub.notice.lender);
    s.pub.notice.state = CUSTOS_LOAN_MARGIN_CALL;
    s.pub.notice.ltv_bps = 7500;
    s.pub.notice.exposure.limb[0] = 75;
    s.pub.notice.collateral_value.limb[0] = 100;
    s.pub.notice.deadline = 99;
    s.pub.notice.sequence = 3;
    for (size_t i = 0; i < CUSTOS_SIGNATURE_LEN; i++)
        s.pub.sig.bytes[i] = (uint8_t)(i * 3);
    /* Queued, no transaction signed yet. */
    assert_int_equal(at_manage_state_save(path, &s, &err), CUSTOS_OK);
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_true(got.pub.has_notice);
    assert_true(got.pub.published == 2);
    assert_int_equal(got.pub.tx_len, 0);
    assert_memory_equal(&got.pub.notice, &s.pub.notice, sizeof s.pub.notice);
    assert_memory_equal(&got.pub.sig, &s.pub.sig, sizeof s.pub.sig);
    /* Signed: the very bytes, hash and nonce come back. */
    s.pub.nonce = UINT64_MAX;
    memset(s.pub.tx_hash, 0xab, sizeof s.pub.tx_hash);
    s.pub.tx_len = AT_LIQ_RAW_MAX;
    for (size_t i = 0; i < AT_LIQ_RAW_MAX; i++)
        s.pub.tx_raw[i] = (uint8_t)(i * 7);
    assert_int_equal(at_manage_state_save(path, &s, &err), CUSTOS_OK);
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_true(got.pub.nonce == UINT64_MAX);
    assert_memory_equal(got.pub.tx_hash, s.pub.tx_hash, sizeof s.pub.tx_hash);
    assert_int_equal(got.pub.tx_len, AT_LIQ_RAW_MAX);
    assert_memory_equal(got.pub.tx_raw, s.pub.tx_raw, AT_LIQ_RAW_MAX);
    /* Published: no record left, the sequence kept. */
    s.pub.has_notice = false;
    s.pub.published = 3;
    assert_int_equal(at_manage_state_save(path, &s, &err), CUSTOS_OK);
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_false(got.pub.has_notice);
    assert_true(got.pub.published == 3);
    /* A file from before publication: nothing to publish, nothing published. */
    tu_write_file(path, "{\"state\": \"healthy\", \"deadline\": \"0\", \"sequence\": \"1\", "
                        "\"pending\": null, \"liquidation\": null}");
    assert_int_equal(at_manage_state_load(path, &got, &err), CUSTOS_OK);
    assert_false(got.pub.has_notice);
    assert_true(got.pub.published == 0);
}

static void test_damaged_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "{\"state\": \"frozen\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\": null}",
        "{\"state\": \"healthy\", \"deadline\": 0, \"sequence\": \"1\", \"pending\": null}",
        "{\"state\": \"healthy\", \"deadline\": \"0\", \"sequence\": \"18446744073709551616\","
        " \"pending\": null}",
        "{\"state\": \"healthy\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\": 3}",
        /* a pending margin call without a deadline fails custos_notice_check */
        "{\"state\": \"margin_call\", \"deadline\": \"5\", \"sequence\": \"1\", \"pending\":"
        " {\"state\": 2, \"ltvBps\": 8000, \"exposure\": \"8\", \"collateralValue\": \"10\","
        " \"deadline\": \"0\", \"sequence\": \"1\", \"account\": \"0x"
        "0000000000000000000000000000000000000000000000000000000000000001\", \"lender\":"
        " \"0x0000000000000000000000000000000000000002\", \"signature\": \"0x"
        "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "000000000000000000000000000000000000000000000000\"}}",
        "{\"state\": \"liquidation\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\":"
        " null, \"liquidation\": {\"step\": \"sold\", \"nonce\": \"1\", \"repayBlock\": \"0\","
        " \"repayHash\": \"0x" "0000000000000000000000000000000000000000000000000000000000000001"
        "\", \"approveTx\": \"0x02\", \"repayTx\": \"0x02\"}}",
        /* a repay sent without the signed repay: a restart could not resend the same bytes */
        "{\"state\": \"liquidation\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\":"
        " null, \"liquidation\": {\"step\": \"repay_sent\", \"nonce\": \"1\", \"repayBlock\":"
        " \"0\", \"repayHash\": \"0x"
        "0000000000000000000000000000000000000000000000000000000000000001"
        "\", \"approveTx\": \"0x02\", \"repayTx\": \"0x\"}}",
        "{\"state\": \"liquidation\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\":"
        " null, \"liquidation\": 7}",
        /* a publication without its notice, or not an object, or a published count that is
         * not a decimal string */
        "{\"state\": \"healthy\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\":"
        " null, \"publication\": {\"nonce\": \"1\", \"txHash\": \"0x"
        "0000000000000000000000000000000000000000000000000000000000000001\", \"tx\": \"0x\"}}",
        "{\"state\": \"healthy\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\":"
        " null, \"publication\": 5}",
        "{\"state\": \"healthy\", \"deadline\": \"0\", \"sequence\": \"1\", \"pending\":"
        " null, \"published\": 4}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_write_file(path, bad[i]);
        at_manage_state s;
        custos_error err;
        if (at_manage_state_load(path, &s, &err) == CUSTOS_OK)
            fail_msg("damaged state file %zu accepted", i);
        if (strstr(err.message, path) == NULL)
            fail_msg("state file %zu: the message does not name the file: %s", i, err.message);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_is_the_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publication, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
