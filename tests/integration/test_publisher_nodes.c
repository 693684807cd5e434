/* The relayer as oracle operators run it (docs/publishing.md §8, §13), through the real
 * gateway and two anvils of the same chain id with the adapter at the same address
 * (pubfixture.h): [evm] rpc_url names both, each URL carrying an API key in its query;
 * - both nodes are up (custos_publisher_node_up per node) and the first is used;
 * - the relayer's balance gauge is what the node says, and follows it below the
 *   configured low-balance threshold;
 * - with the first node stopped mid-run, publication fails over to the second, the
 *   publisher's health (custos.v1.Publisher) stays SERVING, and the gauges say which node
 *   is down;
 * - with both stopped, the publisher's health turns NOT_SERVING while the gateway's
 *   readiness (service "") stays SERVING;
 * - no URL's API key ever appears in the log, the metrics or /status, and no node's
 *   address in the log or the metrics (/status names host and port alone). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pubfixture.h"

#define SECRET_1 "KEY-OF-NODE-ONE"
#define SECRET_2 "KEY-OF-NODE-TWO"
/* 0.2 ether: the relayer balance below which the alert fires. */
#define LOW_GWEI "200000000"

static pubf F;

static int group_setup(void **state)
{
    const char *refs[] = {"NODE-1"};
    pubf_init(&F, 2, GWF_MAX_AGE, refs, 1);
    char urls[256];
    snprintf(urls, sizeof urls, "%s/?apikey=" SECRET_1 " %s/?apikey=" SECRET_2, F.url[0],
             F.url[1]);
    pubf_write_config(&F, urls,
                      "confirmations = 1\nunreachable_after_ms = 1000\nlow_balance_gwei = " LOW_GWEI
                      "\n");
    return pubf_group_start(state, &F, NULL, 0);
}

/* The relayer's balance on anvil i, as a double (what the gauge exposes). */
static double balance_on(size_t i)
{
    custos_u256 b;
    custos_error err;
    if (evm_rpc_get_balance(F.rpc[i], F.relayer, &b, &err) != CUSTOS_OK)
        fail_msg("eth_getBalance: %s", err.message);
    double d = 0;
    for (int l = 3; l >= 0; l--)
        d = d * 18446744073709551616.0 + (double)b.limb[l];
    return d;
}

static void wait_health(bool serving)
{
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; tu_now_ms() < deadline;
         tu_sleep_ms(100)) {
        bool now = !serving;
        custos_error err;
        if (custos_client_health_service(F.gw.client, "custos.v1.Publisher", &now, &err) ==
                CUSTOS_OK &&
            now == serving)
            return;
    }
    gwf_dump_log(&F.gw);
    fail_msg("publisher health did not turn %s", serving ? "SERVING" : "NOT_SERVING");
}

static void test_both_nodes_up(void **state)
{
    (void)state;
    pubf_wait_metric(&F, "custos_publisher_node_up{node=\"1\"}", 1);
    pubf_wait_metric(&F, "custos_publisher_node_up{node=\"2\"}", 1);
    pubf_wait_metric(&F, "custos_publisher_node_current", 1);
}

/* The gauge is the node's answer; lowered under the threshold, it follows. */
static void test_balance_gauge(void **state)
{
    (void)state;
    pubf_wait_metric(&F, "custos_publisher_relayer_low_balance_wei", 2e17);
    pubf_wait_metric(&F, "custos_publisher_relayer_balance_wei", balance_on(0));
    char relayer[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(F.relayer, relayer);
    /* 0.1 ether, below the threshold (a few hundred submits at anvil's fees). */
    pubf_rpc_void(&F, 0, "anvil_setBalance", json_pack("[s, s]", relayer, "0x16345785d8a0000"));
    pubf_wait_metric(&F, "custos_publisher_relayer_balance_wei", 1e17);
}

static void test_publishes_through_the_first_node(void **state)
{
    (void)state;
    custos_submission s;
    gwf_make(&F.gw, &s, "NODE-1", 1, PUBF_USD);
    uint64_t cursor = pubf_submit(&F, &s);
    gw_pub_row row;
    pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
    gw_pub_row_clear(&row);
    assert_int_equal(pubf_chain_sequence(&F, 0, s.att.account), 1);
    assert_int_equal(pubf_chain_sequence(&F, 1, s.att.account), 0);
    custos_submission_clear(&s);
}

/* Node 1 stops: the next publication goes through node 2; health stays SERVING. */
static void test_first_node_stopped(void **state)
{
    (void)state;
    (void)tu_stop(&F.anvil[0], SIGTERM, 5000);
    custos_submission s;
    gwf_make(&F.gw, &s, "NODE-1", 2, 2 * PUBF_USD);
    uint64_t cursor = pubf_submit(&F, &s);
    gw_pub_row row;
    pubf_wait_fate(&F, cursor, GW_PUB_CONFIRMED, &row);
    gw_pub_row_clear(&row);
    assert_int_equal(pubf_chain_sequence(&F, 1, s.att.account), 2);
    pubf_wait_metric(&F, "custos_publisher_node_up{node=\"1\"}", 0);
    pubf_wait_metric(&F, "custos_publisher_node_up{node=\"2\"}", 1);
    pubf_wait_metric(&F, "custos_publisher_node_current", 2);
    /* The balance is read through the node in use. */
    pubf_wait_metric(&F, "custos_publisher_relayer_balance_wei", balance_on(1));
    wait_health(true);
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.gw.dir);
    char *log = tu_read_file(path);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"publisher.failover\""));
    free(log);
    custos_submission_clear(&s);
}

/* Every node down: the publisher's health NOT_SERVING, the gateway still ready. */
static void test_all_nodes_down(void **state)
{
    (void)state;
    (void)tu_stop(&F.anvil[1], SIGTERM, 5000);
    wait_health(false);
    pubf_wait_metric(&F, "custos_publisher_node_up{node=\"2\"}", 0);
    bool serving = false;
    custos_error err;
    assert_int_equal(custos_client_health(F.gw.client, &serving, &err), CUSTOS_OK);
    assert_true(serving);
}

/* Neither URL, nor its API key, nor the node's address, in the log or the metrics. */
static void test_urls_never_shown(void **state)
{
    (void)state;
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.gw.dir);
    char *log = tu_read_file(path);
    char *metrics = pubf_metrics(&F);
    assert_non_null(log);
    const char *texts[] = {log, metrics};
    for (size_t t = 0; t < 2; t++) {
        const char *what = t == 0 ? "log" : "metrics";
        if (strstr(texts[t], SECRET_1) != NULL || strstr(texts[t], SECRET_2) != NULL)
            fail_msg("the %s shows a node's API key", what);
        for (size_t i = 0; i < F.n_anvils; i++)
            if (strstr(texts[t], F.url[i] + strlen("http://")) != NULL)
                fail_msg("the %s shows node %zu's address", what, i + 1);
    }
    free(log);
    free(metrics);
    char *status = pubf_get(&F, "/status");
    if (strstr(status, SECRET_1) != NULL || strstr(status, SECRET_2) != NULL)
        fail_msg("/status shows a node's API key:\n%s", status);
    free(status);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_nodes_up),
        cmocka_unit_test(test_balance_gauge),
        cmocka_unit_test(test_publishes_through_the_first_node),
        cmocka_unit_test(test_first_node_stopped),
        cmocka_unit_test(test_all_nodes_down),
        cmocka_unit_test(test_urls_never_shown),
    };
    return cmocka_run_group_tests(tests, group_setup, pubf_group_teardown);
}
