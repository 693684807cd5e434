/* grpc.health.v1 follows the chain node when [evm] is configured: the real gateway with
 * rpc_url on a loopback port nobody listens on reports NOT_SERVING once the node has been
 * unreachable for unreachable_after_ms, and SERVING again once anvil (from node_modules)
 * answers on that port. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/client.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "anvil.h"
#include "gwfixture.h"

/* anvil's well-known development key 1: a public test key. */
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
/* Bounds only: the publisher retries with a back-off of up to 30 s. */
#define WAIT_MS 60000

static gwf F;
static tu_proc ANVIL;
static int NODE_PORT;

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    char key_path[1200];
    snprintf(key_path, sizeof key_path, "%s/relayer.key", F.dir);
    uint8_t key[32];
    custos_error err;
    assert_int_equal(custos_hex_decode(RELAYER_KEY, key, sizeof key, &err), CUSTOS_OK);
    assert_int_equal(custos_keyfile_write(key_path, key, &err), CUSTOS_OK);
    NODE_PORT = tu_free_port();
    char *ini = tu_read_file(F.config_path);
    assert_non_null(ini);
    size_t cap = strlen(ini) + 2048;
    char *text = malloc(cap);
    assert_non_null(text);
    snprintf(text, cap,
             "%s[evm]\nrpc_url = http://127.0.0.1:%d\nrelayer_key = %s\n"
             "poll_interval_ms = 100\nunreachable_after_ms = 500\n",
             ini, NODE_PORT, key_path);
    tu_write_file(F.config_path, text);
    free(text);
    free(ini);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (ANVIL.pid > 0)
        tu_stop(&ANVIL, SIGTERM, 5000);
    gwf_cleanup(&F);
    return 0;
}

/* Polls Health/Check until it reports `serving`; fails after WAIT_MS. */
static void wait_health(custos_client *c, bool serving)
{
    for (int64_t deadline = tu_now_ms() + WAIT_MS; tu_now_ms() < deadline; tu_sleep_ms(100)) {
        bool now = !serving;
        custos_error err;
        if (custos_client_health(c, &now, &err) == CUSTOS_OK && now == serving)
            return;
    }
    gwf_dump_log(&F);
    fail_msg("health did not become %s within %d s", serving ? "SERVING" : "NOT_SERVING",
             WAIT_MS / 1000);
}

static void test_health_follows_the_node(void **state)
{
    (void)state;
    /* gwf_start waits for SERVING, which this gateway may already have left. */
    F.port = tu_gateway_start(&F.proc, F.config_path, F.dir);
    snprintf(F.target, sizeof F.target, "127.0.0.1:%d", F.port);
    custos_error err;
    assert_int_equal(custos_client_new_insecure(F.target, 5000, &F.client, &err), CUSTOS_OK);

    wait_health(F.client, false);
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.dir);
    char *log = tu_read_file(path);
    assert_non_null(log);
    assert_non_null(strstr(log, "publisher.node_down"));
    free(log);

    char port[16], anvil_log[1200];
    snprintf(port, sizeof port, "%d", NODE_PORT);
    snprintf(anvil_log, sizeof anvil_log, "%s/anvil.log", F.dir);
    const char *argv[] = {TU_ANVIL_BIN, "--host", "127.0.0.1", "--port", port, "--silent", NULL};
    tu_spawn(&ANVIL, argv, anvil_log);
    wait_health(F.client, true);

    tu_stop(&ANVIL, SIGTERM, 5000);
    wait_health(F.client, false);
    assert_int_equal(gwf_stop(&F), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_follows_the_node),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
