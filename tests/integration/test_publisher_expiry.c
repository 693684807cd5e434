/* The publisher keeps the chain's value alive (docs/publishing.md §3), through the real
 * gateway and the adapter on anvil (pubfixture.h): an unchanged attestation is skipped
 * when it arrives, and published all the same once the value on-chain would expire within
 * expiry_lead_seconds, so the lender's answer never drops to 0 while a valid attestation
 * waits; the per-feed figures behind the stale-soon alert (valuations on-chain, when the
 * first of them reads 0, how many read 0) follow the chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pubfixture.h"

/* The shortest lead the configuration allows. */
#define LEAD 60
#define FEED_LABEL "{feed=\"" GWF_FEED "\"}"

static pubf F;

static int group_setup(void **state)
{
    const char *refs[] = {"EXP-1", "EXP-2"};
    pubf_init(&F, 1, GWF_MAX_AGE, refs, 2);
    char extra[128];
    snprintf(extra, sizeof extra, "confirmations = 1\nexpiry_lead_seconds = %d\n", LEAD);
    pubf_write_config(&F, NULL, extra);
    return pubf_group_start(state, &F, NULL, 0);
}

/* A valuation of ref worth PUBF_USD, with the given times, accepted; returns its cursor. */
static uint64_t submit(const char *ref, uint64_t seq, uint64_t as_of, uint64_t valid_until,
                       custos_submission *s)
{
    gwf_make(&F.gw, s, ref, seq, PUBF_USD);
    gwf_set_times(s, as_of, valid_until);
    return pubf_submit(&F, s);
}

static uint64_t VALID_UNTIL_2; /* the kept-alive value's end, for the gauges */

/* The case compressed in time: the value on-chain ends in 90 s; an unchanged
 * attestation valid for an hour arrives and is skipped (heartbeat not due, no deviation);
 * 60 s before the end it is published, and the lender's answer never reads 0. */
static void test_waiting_record_published_before_expiry(void **state)
{
    (void)state;
    uint64_t now = gwf_now();
    custos_submission first, second;
    uint64_t end = now + 75;
    uint64_t c1 = submit("EXP-1", 1, now - 60, end, &first);
    gw_pub_row row;
    pubf_wait_fate(&F, c1, GW_PUB_CONFIRMED, &row);
    gw_pub_row_clear(&row);
    VALID_UNTIL_2 = now + 3600;
    uint64_t c2 = submit("EXP-1", 2, now - 30, VALID_UNTIL_2, &second);
    /* Decided on arrival, when the first value still had more than the lead to run. */
    pubf_wait_fate(&F, c2, GW_PUB_SKIPPED, &row);
    assert_string_equal(row.detail, "unchanged");
    gw_pub_row_clear(&row);
    assert_true(gwf_now() + LEAD < end);
    assert_int_equal(pubf_chain_sequence(&F, 0, first.att.account), 1);

    /* Within the lead of the end, the waiting record goes out, before the end. */
    for (;;) {
        if (pubf_fate(&F, c2, &row) && row.fate == GW_PUB_CONFIRMED)
            break;
        gw_pub_row_clear(&row);
        if (gwf_now() >= end) {
            gwf_dump_log(&F.gw);
            fail_msg("the waiting record was not published before the value on-chain ended");
        }
        tu_sleep_ms(200);
    }
    assert_true(gwf_now() < end);
    assert_true(gwf_now() + LEAD + 5 >= end);
    gw_pub_row_clear(&row);
    assert_int_equal(pubf_chain_sequence(&F, 0, first.att.account), 2);
    /* The log says why. */
    char log_path[1200];
    snprintf(log_path, sizeof log_path, "%s/gateway.log", F.gw.dir);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"publisher.expiry\""));
    free(log);

    /* Past the first value's end, the lender still counts the collateral. */
    while (gwf_now() <= end + 1)
        tu_sleep_ms(250);
    pubf_rpc_void(&F, 0, "evm_mine", NULL);
    custos_u256 answer;
    pubf_chain_answer(&F, 0, first.att.account, &answer);
    assert_int_equal(custos_u256_cmp(&answer, &second.att.collateral_value), 0);
    custos_submission_clear(&first);
    custos_submission_clear(&second);
}

/* The figures of the stale-soon alert: one valuation on-chain ending at VALID_UNTIL_2;
 * then a second account whose only value ends in seconds, with nothing waiting: the
 * earliest end moves to it, and once passed it is counted as reading 0. */
static void test_chain_expiry_gauges(void **state)
{
    (void)state;
    pubf_wait_metric(&F, "custos_publisher_expiry_lead_seconds", LEAD);
    pubf_wait_metric(&F, "custos_publisher_chain_valuations" FEED_LABEL, 1);
    pubf_wait_metric(&F, "custos_publisher_chain_expires_at_seconds" FEED_LABEL,
                     (double)VALID_UNTIL_2);
    pubf_wait_metric(&F, "custos_publisher_chain_expired_accounts" FEED_LABEL, 0);

    uint64_t now = gwf_now();
    custos_submission s;
    uint64_t end = now + 8;
    uint64_t c = submit("EXP-2", 1, now - 60, end, &s);
    gw_pub_row row;
    pubf_wait_fate(&F, c, GW_PUB_CONFIRMED, &row);
    gw_pub_row_clear(&row);
    pubf_wait_metric(&F, "custos_publisher_chain_valuations" FEED_LABEL, 2);
    pubf_wait_metric(&F, "custos_publisher_chain_expires_at_seconds" FEED_LABEL, (double)end);
    while (gwf_now() <= end)
        tu_sleep_ms(250);
    pubf_wait_metric(&F, "custos_publisher_chain_expired_accounts" FEED_LABEL, 1);
    /* Its lender reads 0 now, as the gauge says. */
    pubf_rpc_void(&F, 0, "evm_mine", NULL);
    custos_u256 answer;
    pubf_chain_answer(&F, 0, s.att.account, &answer);
    assert_true(custos_u256_is_zero(&answer));
    custos_submission_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_waiting_record_published_before_expiry),
        cmocka_unit_test(test_chain_expiry_gauges),
    };
    return cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
}
