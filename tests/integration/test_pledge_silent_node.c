/* GetPledge reads the chain on the pledges' own thread, never on a gRPC thread (rule 11's
 * read; docs/operations.md, threads): the real custos-gateway, with one completion-queue
 * thread, and an [evm] node that takes connections and never answers (a loopback socket
 * that listens and never accepts). While one GetPledge waits on that node, a second is told
 * at once that a pledge is being read, a submission is accepted and GetLatest answers; then
 * the node goes away and the first is answered UNAVAILABLE. With the read on the thread
 * serving the call, the second GetPledge and the submission would have waited for the
 * first. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/client.h"

#include "gwfixture.h"

/* anvil's well-known development key 1: a public test key, never used to send here. */
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define REF "SILENT-NODE-1"
/* Far longer than everything the test does while the first read waits, on a loaded
 * machine whose fdatasync may take seconds: the test ends the read itself by closing the
 * node, so the timeout is never waited for. */
#define EXPOSURE_TIMEOUT_MS 60000
/* How long the second GetPledge may take to be told a read is under way. */
#define SEEN_WITHIN_MS 10000

static gwf F;
static int NODE = -1;

static int setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    /* Not inherited by the gateway: closing it here resets what waits on it. */
    int node_port = 0;
    NODE = tu_silent_listener(&node_port);
    char key_path[1200];
    gwf_write_relayer_key(&F, RELAYER_KEY, key_path, sizeof key_path);

    /* One completion-queue thread, and the silent node as [evm]'s only node. */
    char edit[4096];
    int n = snprintf(edit, sizeof edit,
                     "[evm]\nrpc_url = http://127.0.0.1:%d\nrelayer_key = %s\n"
                     "exposure_timeout_ms = %d\n\n[gateway]\nworkers = 1\n",
                     node_port, key_path, EXPOSURE_TIMEOUT_MS);
    assert_true(n > 0 && (size_t)n < sizeof edit);
    tu_edit_file(F.config_path, "[gateway]\n", edit);
    gwf_start(&F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* Closing the node resets what waits on it, the publisher's reads included. */
    if (NODE >= 0)
        close(NODE);
    NODE = -1;
    int status = gwf_stop(&F);
    if (status != 0)
        gwf_dump_log(&F);
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* One GetPledge on a client of its own, from a thread of its own. */
typedef struct pledge_call {
    const uint8_t *account;
    custos_rc rc;
    char message[512];
    atomic_bool done;
} pledge_call;

static void *call_pledge(void *arg)
{
    pledge_call *r = arg;
    custos_client *c = NULL;
    custos_error err;
    custos_error_clear(&err);
    r->rc = custos_client_new_insecure(F.target, 4 * EXPOSURE_TIMEOUT_MS, &c, &err);
    if (r->rc == CUSTOS_OK) {
        custos_pledge *p = NULL;
        r->rc = custos_client_get_pledge(c, r->account, NULL, &p, &err);
        custos_pledge_free(p);
    }
    snprintf(r->message, sizeof r->message, "%s", err.message);
    custos_client_free(c);
    atomic_store(&r->done, true);
    return NULL;
}

static void submit_accepted(uint64_t sequence)
{
    custos_submission s;
    gwf_make(&F, &s, REF, sequence, 1000000 + sequence);
    memset(s.att.beneficiary, 0xaa, CUSTOS_ADDRESS_LEN);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    custos_submit_result r;
    custos_error err;
    if (gwf_submit(&F, &s, &r, &err) != CUSTOS_OK) {
        gwf_dump_log(&F);
        fail_msg("submission %llu refused: %s", (unsigned long long)sequence, err.message);
    }
    assert_int_equal(r.state, CUSTOS_STATE_ACCEPTED);
    custos_submission_clear(&s);
}

static bool told_busy(const pledge_call *r)
{
    /* The reason alone: no read of the chain was tried for this call. */
    return atomic_load(&r->done) && r->rc == CUSTOS_ERR_UNAVAILABLE &&
           strstr(r->message, "another pledge is being read") != NULL &&
           strstr(r->message, "could not be read") == NULL;
}

static void test_silent_node_holds_no_call(void **state)
{
    (void)state;
    /* The gateway knows a lender for the account: GetPledge goes to the chain. */
    submit_accepted(1);
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REF, account);
    /* Two at once: one reads, the other is told so at once. */
    pledge_call calls[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        memset(&calls[i], 0, sizeof calls[i]);
        calls[i].account = account;
        assert_int_equal(pthread_create(&threads[i], NULL, call_pledge, &calls[i]), 0);
    }
    int64_t start = tu_now_ms();
    int busy = -1;
    while (busy < 0 && tu_now_ms() - start < SEEN_WITHIN_MS) {
        for (int i = 0; i < 2 && busy < 0; i++)
            if (told_busy(&calls[i]))
                busy = i;
        if (busy < 0)
            tu_sleep_ms(10);
    }
    if (busy < 0)
        fail_msg("neither GetPledge was told of the other's read within %d ms (done: %d, %d)",
                 SEEN_WITHIN_MS, (int)atomic_load(&calls[0].done),
                 (int)atomic_load(&calls[1].done));
    pledge_call *reading = &calls[1 - busy];
    if (atomic_load(&reading->done))
        fail_msg("the GetPledge reading the silent node has ended already: %s: %s",
                 custos_rc_name(reading->rc), reading->message);

    /* The rest of the gateway serves on while the read waits. */
    submit_accepted(2);
    custos_record rec;
    custos_error err;
    assert_int_equal(custos_client_get_latest(F.client, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, 2);
    custos_record_clear(&rec);
    if (atomic_load(&reading->done))
        fail_msg("the read ended before the submission and GetLatest were served: they "
                 "waited for it");

    /* The node goes away: the connection the read waits on is reset, and the read ends. */
    close(NODE);
    NODE = -1;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    if (reading->rc != CUSTOS_ERR_UNAVAILABLE ||
        strstr(reading->message, "could not be read") == NULL)
        fail_msg("the GetPledge that read: want UNAVAILABLE, the pledge could not be read; got "
                 "%s: %s", custos_rc_name(reading->rc), reading->message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_silent_node_holds_no_call, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
