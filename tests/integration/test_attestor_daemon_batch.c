/* custos-attestor run with "batch": true against the real gateway (its single-signer feed,
 * so that the daemon's one key is the feed's quorum): on start the daemon values the whole
 * book of three accounts and signs it as one batch, which the gateway accepts account by
 * account (GetLatest serves each as batch-signed, all in one batch, with its position); a
 * change of one account's holdings signs the whole book again as the next batch; while the
 * gateway is down the batch is spooled as a directory, and delivered once the gateway is
 * back on the same port, the spool then empty. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/keyfile.h"

#include "gwfixture.h"

#define N_ACCOUNTS 3
#define WAIT_MS 20000

static gwf F;
static tu_proc daemon_proc;
static char holdings[1200], spool[1200], log_path[1200], config[1200];
static const char *const REFS[N_ACCOUNTS] = {"DAEMON-B1", "DAEMON-B2", "DAEMON-B3"};
static uint8_t accounts[N_ACCOUNTS][32];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* Three accounts of one money-market position each; the first holds `first` shares. */
static void write_holdings(const char *first)
{
    char text[2048];
    size_t used = (size_t)snprintf(text, sizeof text,
                                   "{\"custodian\":\"" GWF_OTHER_FEED "\",\"accounts\":[");
    for (size_t i = 0; i < N_ACCOUNTS; i++)
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "%s{\"ref\":\"%s\",\"beneficiary\":\"0x0\",\"positions\":["
                                 "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\","
                                 "\"quantity\":\"%s\"}]}",
                                 i > 0 ? "," : "", REFS[i], i == 0 ? first : "1000");
    snprintf(text + used, sizeof text - used, "]}");
    tu_write_file(holdings, text);
}

static void dump_daemon_log(void)
{
    char *log = tu_read_file(log_path);
    fprintf(stderr, "--- daemon log ---\n%s\n------------------\n", log ? log : "(none)");
    free(log);
}

/* Waits until every account's latest accepted attestation has sequence `want`, each signed
 * in the same batch of batch sequence `batch_seq`. */
static void wait_batch(uint64_t want, uint64_t batch_seq)
{
    bool done = false;
    for (int waited = 0; waited < WAIT_MS && !done; waited += 100) {
        done = true;
        for (size_t i = 0; i < N_ACCOUNTS && done; i++) {
            custos_record rec;
            memset(&rec, 0, sizeof rec);
            custos_error err;
            done = custos_client_get_latest(F.client, accounts[i], &rec, &err) == CUSTOS_OK &&
                   rec.sub.att.sequence == want;
            custos_record_clear(&rec);
        }
        if (!done)
            usleep(100 * 1000);
    }
    if (!done) {
        dump_daemon_log();
        gwf_dump_log(&F);
        fail_msg("not every account reached sequence %llu", (unsigned long long)want);
    }
    uint8_t digest[32];
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        custos_error err;
        assert_int_equal(custos_client_get_latest(F.client, accounts[i], &rec, &err), CUSTOS_OK);
        assert_true(rec.batched);
        /* Sent with its one position, read back from the spooled account file. */
        assert_int_equal(rec.sub.n_positions, 1);
        assert_int_equal(rec.batch.batch.sequence, batch_seq);
        assert_int_equal(rec.batch.batch.count, N_ACCOUNTS);
        if (i == 0)
            memcpy(digest, rec.batch.digest, sizeof digest);
        else
            assert_memory_equal(rec.batch.digest, digest, sizeof digest);
        custos_record_clear(&rec);
    }
}

static int setup(void **st)
{
    (void)st;
    gwf_init(&F);
    gwf_write_config(&F);
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        gwf_register(&F, GWF_OTHER_FEED, GWF_OTHER_FEED, REFS[i]);
        custos_account_id(GWF_OTHER_FEED, REFS[i], accounts[i]);
    }
    gwf_start(&F);
    char key[1200], prices[1200], policy[1200];
    path_in(key, sizeof key, "other.key");
    custos_error err;
    if (custos_keyfile_write(key, F.keys[GWF_KEY_OTHER].seckey, &err) != CUSTOS_OK)
        return -1;
    path_in(holdings, sizeof holdings, "holdings.json");
    path_in(prices, sizeof prices, "prices.json");
    path_in(policy, sizeof policy, "policy.json");
    path_in(spool, sizeof spool, "spool");
    path_in(log_path, sizeof log_path, "daemon.log");
    path_in(config, sizeof config, "attestor.json");
    write_holdings("1000");
    char text[2048];
    snprintf(text, sizeof text,
             "{\"prices\":{\"MMF-GOVT-INST\":{\"price\":\"1.00\",\"as_of\":%llu}}}",
             (unsigned long long)gwf_now() - 60);
    tu_write_file(prices, text);
    char src[600];
    snprintf(src, sizeof src, "%s/deploy/examples/policy.json", CUSTOS_SOURCE_DIR);
    char *p = tu_read_file(src);
    assert_non_null(p);
    tu_write_file(policy, p);
    free(p);
    snprintf(text, sizeof text,
             "{\"holdings\": \"holdings.json\", \"prices\": \"prices.json\", "
             "\"policy\": \"policy.json\", \"key\": \"other.key\", \"feed\": \"%s\", "
             "\"chain_id\": %d, \"contract\": \"%s\", \"state\": \"state.json\", "
             "\"gateway\": \"%s\", \"spool\": \"spool\", \"interval_seconds\": 3600, "
             "\"heartbeat_seconds\": 3600, \"retry_max_seconds\": 1, \"insecure\": true, "
             "\"batch\": true}",
             GWF_OTHER_FEED, GWF_CHAIN_ID, GWF_CONTRACT, F.target);
    tu_write_file(config, text);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    if (daemon_proc.pid > 0)
        tu_stop(&daemon_proc, SIGKILL, 5000);
    gwf_cleanup(&F);
    return 0;
}

static void test_daemon_signs_the_book_as_one_batch(void **st)
{
    (void)st;
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "run", "--config", config, NULL};
    tu_spawn(&daemon_proc, argv, log_path);
    wait_batch(1, 1);

    /* One account changes: the whole book is signed again as the next batch. */
    write_holdings("2000");
    wait_batch(2, 2);

    /* The gateway goes away; the next change is signed and spooled as a directory. */
    int port = F.port;
    assert_int_equal(gwf_stop(&F), 0);
    write_holdings("3000");
    char entry[1400];
    int n = snprintf(entry, sizeof entry, "%s/batches/%020d/batch.json", spool, 3);
    assert_true(n > 0 && (size_t)n < sizeof entry);
    if (tu_wait_file(entry, WAIT_MS) != 0) {
        dump_daemon_log();
        fail_msg("no spooled batch %s", entry);
    }

    /* Back on the same port and store: the spooled batch is delivered and leaves the spool. */
    char *cfg = tu_read_file(F.config_path);
    assert_non_null(cfg);
    char *listen = strstr(cfg, "listen = 127.0.0.1:0\n");
    assert_non_null(listen);
    char fixed[8192];
    snprintf(fixed, sizeof fixed, "%.*slisten = 127.0.0.1:%d\n%s", (int)(listen - cfg), cfg,
             port, listen + strlen("listen = 127.0.0.1:0\n"));
    free(cfg);
    tu_write_file(F.config_path, fixed);
    gwf_start(&F);
    assert_int_equal(F.port, port);
    wait_batch(3, 3);
    for (int waited = 0; waited < WAIT_MS && access(entry, F_OK) == 0; waited += 100)
        usleep(100 * 1000);
    assert_int_equal(access(entry, F_OK), -1);

    assert_int_equal(tu_stop(&daemon_proc, SIGTERM, 10000), 0);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "signed batch sequence=1 accounts=3 cause=start"));
    assert_non_null(strstr(log, "signed batch sequence=2 accounts=3 cause=change"));
    assert_non_null(strstr(log, "acknowledged batch sequence=3"));
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_daemon_signs_the_book_as_one_batch, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
