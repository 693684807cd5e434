/* The publisher never makes the adapter's circuit breaker refuse a value the gateway
 * accepted (rule 10, docs/publishing.md §3), through the real gateway and publisher and
 * the adapter on anvil (pubfixture.h), both sides with a 1000 bps breaker and the
 * publisher with deviation_bps 500: valuations 100, 104, 112 (in units of 98 USD), each
 * within 10% of the one before, are accepted by the gateway; 104 is below the deviation but a rise, so it is
 * published, and 112 (12% over 100, 7.7% over 104) is taken on-chain with no failed
 * publication. A fall below the deviation is still skipped. The same values reaching the
 * publisher in one batch: the rise is published first, not skipped as superseded; and a
 * rise then a freeze in one batch: the rise goes before the freeze. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pubfixture.h"

#define RISE_BPS 1000
#define RELEASE_THRESHOLD 3 /* above the feed's threshold of 2 roles, at most 4 */

/* The shortest expiry lead: gwf_make's values, valid an hour, never come near it. */
#define EVM_EXTRA "confirmations = 1\ndeviation_bps = 500\nexpiry_lead_seconds = 60\n"

static pubf F;

static int group_setup(void **state)
{
    const char *refs[] = {"BRK-1", "BRK-2", "BRK-3"};
    pubf_init_breaker(&F, 1, GWF_MAX_AGE, refs, 3, RISE_BPS, RELEASE_THRESHOLD);
    pubf_write_config(&F, NULL, EVM_EXTRA);
    return pubf_group_start(state, &F, NULL, 0);
}

/* Returns once the publisher decided the record at cursor (sequence seq) and, when it was
 * sent, the chain's receipt is final. */
static uint64_t wait_decided(uint64_t cursor, uint64_t seq)
{
    gw_pub_row row;
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS;; tu_sleep_ms(100)) {
        bool known = pubf_fate(&F, cursor, &row);
        bool decided = known && row.fate != GW_PUB_SENT;
        if (known)
            gw_pub_row_clear(&row);
        if (decided)
            return cursor;
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&F.gw);
            fail_msg("seq %llu: no final fate within %d s", (unsigned long long)seq,
                     PUBF_WAIT_MS / 1000);
        }
    }
}

/* A valuation of ref worth usd dollars at seq (collateral 98% of it, gwf_make), accepted
 * by the gateway; returns its cursor once decided (wait_decided). */
static uint64_t submit_decided(const char *ref, uint64_t seq, uint64_t usd,
                               custos_submission *s)
{
    gwf_make(&F.gw, s, ref, seq, usd);
    return wait_decided(pubf_submit(&F, s), seq);
}

/* The reason the publisher gave for sending the record at cursor (sequence seq), from its
 * log line (a confirmation replaces the fate's detail). */
static void expect_sent_as(uint64_t cursor, uint64_t seq, const char *why)
{
    char log_path[1200], needle[96];
    snprintf(log_path, sizeof log_path, "%s/gateway.log", F.gw.dir);
    snprintf(needle, sizeof needle, "\"cursor %llu account ", (unsigned long long)cursor);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    char want[64];
    snprintf(want, sizeof want, "sequence %llu (%s)", (unsigned long long)seq, why);
    bool found = false;
    for (const char *line = strstr(log, needle); line != NULL && !found;
         line = strstr(line + 1, needle)) {
        const char *end = strchr(line, '\n');
        const char *hit = strstr(line, want);
        found = hit != NULL && (end == NULL || hit < end);
    }
    free(log);
    if (!found) {
        gwf_dump_log(&F.gw);
        fail_msg("cursor %llu was not sent as %s", (unsigned long long)cursor, why);
    }
}

static void expect_fate(uint64_t cursor, gw_pub_fate want, const char *detail)
{
    gw_pub_row row;
    assert_true(pubf_fate(&F, cursor, &row));
    if (row.fate != want || (detail != NULL && strcmp(row.detail, detail) != 0)) {
        gwf_dump_log(&F.gw);
        fail_msg("record %llu: %s (%s), want %s%s%s", (unsigned long long)cursor,
                 gw_pub_fate_name(row.fate), row.detail, gw_pub_fate_name(want),
                 detail != NULL ? " " : "", detail != NULL ? detail : "");
    }
    gw_pub_row_clear(&row);
}

static void test_rise_below_deviation_published(void **state)
{
    (void)state;
    custos_submission s100, s104, s112, s108;
    uint64_t c100 = submit_decided("BRK-1", 1, 10000, &s100);
    expect_fate(c100, GW_PUB_CONFIRMED, NULL);
    /* 4%: below deviation_bps, skipped as unchanged without the breaker. */
    uint64_t c104 = submit_decided("BRK-1", 2, 10400, &s104);
    /* 12% over 100, which the adapter refuses (BreakerHeld) had 104 been skipped; 7.7%
     * over 104. */
    uint64_t c112 = submit_decided("BRK-1", 3, 11200, &s112);
    expect_fate(c112, GW_PUB_CONFIRMED, NULL);
    expect_fate(c104, GW_PUB_CONFIRMED, NULL);
    expect_sent_as(c104, 2, "rise");
    expect_sent_as(c112, 3, "deviation");
    assert_int_equal(pubf_chain_sequence(&F, 0, s112.att.account), 3);
    custos_u256 answer;
    pubf_chain_answer(&F, 0, s112.att.account, &answer);
    assert_int_equal(custos_u256_cmp(&answer, &s112.att.collateral_value), 0);
    /* A fall below the deviation is skipped as before: nothing to bound on-chain. */
    uint64_t c108 = submit_decided("BRK-1", 4, 10800, &s108);
    expect_fate(c108, GW_PUB_SKIPPED, "unchanged");
    assert_int_equal(pubf_chain_sequence(&F, 0, s108.att.account), 3);
    pubf_wait_metric(&F, "custos_publisher_failed_total", 0);
    pubf_wait_metric(&F, "custos_publisher_published_total", 3);
    /* The decisions by reason, since the gateway started. */
    pubf_wait_metric(&F, "custos_publisher_decisions_total{reason=\"first\"}", 1);
    pubf_wait_metric(&F, "custos_publisher_decisions_total{reason=\"rise\"}", 1);
    pubf_wait_metric(&F, "custos_publisher_decisions_total{reason=\"deviation\"}", 1);
    pubf_wait_metric(&F, "custos_publisher_decisions_total{reason=\"unchanged\"}", 1);
    custos_submission_clear(&s100);
    custos_submission_clear(&s104);
    custos_submission_clear(&s112);
    custos_submission_clear(&s108);
}

/* The same rise and the value above it reach the publisher in one batch (accepted while
 * its node is unreachable, then the gateway restarted with the node): the rise is not
 * skipped as superseded but published first, then the later value, in sequence order. */
static void test_superseded_rise_published_first(void **state)
{
    (void)state;
    custos_submission s100, s104, s112;
    uint64_t c100 = submit_decided("BRK-2", 1, 10000, &s100);
    expect_fate(c100, GW_PUB_CONFIRMED, NULL);
    assert_int_equal(gwf_stop(&F.gw), 0);
    /* Port 1 on loopback: nothing listens, so nothing is sent and nothing decided that
     * needs the chain. */
    pubf_write_config(&F, "http://127.0.0.1:1", EVM_EXTRA);
    pubf_start(&F);
    gwf_make(&F.gw, &s104, "BRK-2", 2, 10400);
    uint64_t c104 = pubf_submit(&F, &s104);
    gwf_make(&F.gw, &s112, "BRK-2", 3, 11200);
    uint64_t c112 = pubf_submit(&F, &s112);
    assert_int_equal(gwf_stop(&F.gw), 0);
    pubf_write_config(&F, NULL, EVM_EXTRA);
    pubf_start(&F);
    wait_decided(c104, 2);
    wait_decided(c112, 3);
    expect_fate(c104, GW_PUB_CONFIRMED, NULL);
    expect_fate(c112, GW_PUB_CONFIRMED, NULL);
    expect_sent_as(c104, 2, "rise");
    assert_int_equal(pubf_chain_sequence(&F, 0, s112.att.account), 3);
    custos_u256 answer;
    pubf_chain_answer(&F, 0, s112.att.account, &answer);
    assert_int_equal(custos_u256_cmp(&answer, &s112.att.collateral_value), 0);
    custos_submission_clear(&s100);
    custos_submission_clear(&s104);
    custos_submission_clear(&s112);
}

/* A freeze by the custodian alone (rule 7), accepted; returns its cursor. */
static uint64_t submit_freeze(const char *ref, uint64_t seq, custos_submission *s)
{
    gwf_make(&F.gw, s, ref, seq, 0);
    free(s->positions);
    s->positions = NULL;
    s->n_positions = 0;
    s->att.kind = CUSTOS_KIND_FREEZE;
    memset(s->att.positions_root, 0, sizeof s->att.positions_root);
    gwf_sign(&F.gw, s, GWF_KEY_CUSTODIAN);
    gwf_answer res;
    gwf_submit_answer(&F.gw, s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("freeze: %s state %d: %s", custos_rc_name(res.rc), res.res.state,
                 res.err.message);
    return res.res.cursor;
}

/* A batch with a rise then a freeze of the account, then a valuation above the rise:
 * freezes go first in a batch, but on a breaker feed not before the account's earlier
 * rise, or the rise would be older than the chain's sequence, and the adapter (which
 * passes freezes over for the base) would bound the last valuation by 100. */
static void test_rise_before_freeze_in_a_batch(void **state)
{
    (void)state;
    custos_submission s100, s104, fz, s112;
    uint64_t c100 = submit_decided("BRK-3", 1, 10000, &s100);
    expect_fate(c100, GW_PUB_CONFIRMED, NULL);
    assert_int_equal(gwf_stop(&F.gw), 0);
    pubf_write_config(&F, "http://127.0.0.1:1", EVM_EXTRA);
    pubf_start(&F);
    gwf_make(&F.gw, &s104, "BRK-3", 2, 10400);
    uint64_t c104 = pubf_submit(&F, &s104);
    uint64_t cfz = submit_freeze("BRK-3", 3, &fz);
    assert_int_equal(gwf_stop(&F.gw), 0);
    pubf_write_config(&F, NULL, EVM_EXTRA);
    pubf_start(&F);
    wait_decided(c104, 2);
    wait_decided(cfz, 3);
    expect_fate(c104, GW_PUB_CONFIRMED, NULL);
    expect_fate(cfz, GW_PUB_CONFIRMED, NULL);
    expect_sent_as(c104, 2, "rise");
    expect_sent_as(cfz, 3, "freeze");
    /* The valuation lifting the freeze, 7.7% over 104 and 12% over 100. */
    uint64_t c112 = submit_decided("BRK-3", 4, 11200, &s112);
    expect_fate(c112, GW_PUB_CONFIRMED, NULL);
    assert_int_equal(pubf_chain_sequence(&F, 0, s112.att.account), 4);
    custos_submission_clear(&s100);
    custos_submission_clear(&s104);
    custos_submission_clear(&fz);
    custos_submission_clear(&s112);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rise_below_deviation_published),
        cmocka_unit_test(test_superseded_rise_published_first),
        cmocka_unit_test(test_rise_before_freeze_in_a_batch),
    };
    return cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
}
