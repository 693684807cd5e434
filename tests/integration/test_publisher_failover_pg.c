/* Publisher failover between two gateway replicas over one PostgreSQL database (a real
 * server started by this test), both with [evm] against one anvil (the adapter deployed by
 * deploy/scripts/deploy.mjs): exactly one replica becomes the leader (its log says so)
 * and publishes what the other accepted; it is killed with SIGKILL; the
 * other takes over and publishes the next attestation within a bounded time, with the
 * relayer's nonces on-chain contiguous (every stored transaction mined, none twice). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "anvil.h"
#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "gwfixture.h"
#include "pgserver.h"

#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define BUILD_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
#define ARTIFACT CUSTOS_SOURCE_DIR "/deploy/contracts/out/CustosAdapter.sol/CustosAdapter.json"
/* anvil's well-known development keys 0 (owner) and 1 (relayer): public test keys. */
#define OWNER_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define LENDER "0xbebebebebebebebebebebebebebebebebebebebe" /* gwf_make's beneficiary */
#define WAIT_MS 30000
/* The promise tested: another replica publishes within this long after the leader died
 * (leader_retry_ms 500 below, plus one publication). */
#define FAILOVER_MS 15000
#define N_REPLICAS 2

static struct {
    tu_pg pg;
    char uri[256];
    gwf gw[N_REPLICAS];
    tu_proc anvil;
    char url[64];
    evm_rpc *rpc;
    uint8_t adapter[CUSTOS_ADDRESS_LEN];
    uint8_t relayer[CUSTOS_ADDRESS_LEN];
} T;

static void check(custos_rc rc, const custos_error *err)
{
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", custos_rc_name(rc), err->message);
}

static void write_key(const char *path, const char *hex)
{
    uint8_t key[CUSTOS_SECKEY_LEN];
    custos_error err;
    check(custos_hex_decode(hex, key, sizeof key, &err), &err);
    check(custos_keyfile_write(path, key, &err), &err);
}

/* deploy.mjs: setFeed acme-custody (2 distinct roles), addSigner custodian and valuation
 * agent, registerAccount PUB-1 for LENDER. */
static void deploy(void)
{
    gwf *f = &T.gw[0];
    if (access(ARTIFACT, R_OK) != 0) {
        const char *build[] = {"/bin/bash", BUILD_SCRIPT, NULL};
        static char out[16384];
        if (tu_run(build, out, sizeof out, 1) != 0)
            fail_msg("building the contracts failed:\n%s", out);
    }
    char owner_key[1200], config[1200], deployed[1200];
    snprintf(owner_key, sizeof owner_key, "%s/owner.key", f->dir);
    snprintf(config, sizeof config, "%s/deploy.json", f->dir);
    snprintf(deployed, sizeof deployed, "%s/deployed.json", f->dir);
    write_key(owner_key, OWNER_KEY);
    char text[4096];
    snprintf(text, sizeof text,
             "{\"chainId\": %d, \"feeds\": [{\"name\": \"%s\", \"threshold\": %d, "
             "\"distinctRoles\": true, \"maxAge\": %d, \"maxSkew\": %d, \"maxTtl\": %d, "
             "\"signers\": [{\"address\": \"%s\", \"role\": \"custodian\"}, "
             "{\"address\": \"%s\", \"role\": \"valuation_agent\"}], "
             "\"accounts\": [{\"custodian\": \"%s\", \"ref\": \"PUB-1\", "
             "\"lenders\": [\"%s\"]}]}]}",
             GWF_CHAIN_ID, GWF_FEED, GWF_THRESHOLD, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL,
             f->keys[GWF_KEY_CUSTODIAN].hex, f->keys[GWF_KEY_AGENT].hex, GWF_FEED, LENDER);
    tu_write_file(config, text);
    const char *argv[] = {CUSTOS_NODE, DEPLOY_SCRIPT, "--rpc", T.url, "--key-file", owner_key,
                          "--config", config, "--out", deployed, NULL};
    static char out[16384];
    if (tu_run(argv, out, sizeof out, 1) != 0)
        fail_msg("deploy.mjs failed:\n%s", out);
    json_error_t jerr;
    json_t *j = json_load_file(deployed, 0, &jerr);
    if (j == NULL)
        fail_msg("%s: %s", deployed, jerr.text);
    const char *adapter = json_string_value(json_object_get(j, "adapter"));
    if (adapter == NULL)
        fail_msg("deployed.json lacks the adapter");
    custos_error err;
    check(custos_address_from_hex(adapter, T.adapter, &err), &err);
    json_decref(j);
}

/* Replica i: the shared store, [evm] against anvil (no state key: the state is in the
 * database), metrics on a free port. */
static void write_replica_config(gwf *f)
{
    char relayer_key[1200];
    snprintf(relayer_key, sizeof relayer_key, "%s/relayer.key", f->dir);
    write_key(relayer_key, RELAYER_KEY);
    char adapter[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(T.adapter, adapter);
    char text[8192], accounts[1300];
    gwf_accounts_line(f, GWF_FEED, accounts, sizeof accounts);
    snprintf(text, sizeof text,
             "[gateway]\nlisten = 127.0.0.1:0\nstore = %s\nchain_id = %d\n"
             "verifying_contract = %s\nreplica_poll_ms = 100\n\n"
             "[tls]\ninsecure = true\n\n"
             "[feed %s]\nmax_age = %d\nmax_skew = %d\nmax_ttl = %d\nthreshold = %d\n"
             "distinct_roles = true\n%s\n"
             "[signer custodian]\naddress = %s\nfeed = %s\nrole = custodian\n\n"
             "[signer valuer]\naddress = %s\nfeed = %s\nrole = valuation_agent\n\n"
             "[evm]\nrpc_url = %s\nrelayer_key = %s\nadapter = %s\nconfirmations = 1\n"
             "poll_interval_ms = 100\nleader_retry_ms = 500\n",
             T.uri, GWF_CHAIN_ID, adapter, GWF_FEED, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL,
             GWF_THRESHOLD, accounts, f->keys[GWF_KEY_CUSTODIAN].hex, GWF_FEED,
             f->keys[GWF_KEY_AGENT].hex, GWF_FEED, T.url, relayer_key, adapter);
    tu_write_file(f->config_path, text);
}

static void start_anvil(void)
{
    if (tu_anvil_start(&T.anvil, T.gw[0].dir, T.url, sizeof T.url) != 0)
        fail_msg("anvil did not start");
    evm_rpc_options opt = {.url = T.url, .connect_timeout_ms = 2000, .timeout_ms = 5000};
    custos_error err;
    check(evm_rpc_new(&opt, &T.rpc, &err), &err);
}

static int group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&T.pg) != 0) {
        fprintf(stderr, "test_publisher_failover_pg: PostgreSQL did not start (reason above)\n");
        return -1;
    }
    tu_pg_new_db(&T.pg, T.uri, sizeof T.uri);
    for (int i = 0; i < N_REPLICAS; i++)
        gwf_init(&T.gw[i]);
    start_anvil();
    deploy();
    uint8_t key[CUSTOS_SECKEY_LEN];
    custos_error err;
    check(custos_hex_decode(RELAYER_KEY, key, sizeof key, &err), &err);
    check(custos_address_from_seckey(T.gw[0].secp, key, T.relayer, &err), &err);
    for (int i = 0; i < N_REPLICAS; i++) {
        T.gw[i].domain.chain_id = GWF_CHAIN_ID;
        memcpy(T.gw[i].domain.verifying_contract, T.adapter, CUSTOS_ADDRESS_LEN);
        write_replica_config(&T.gw[i]);
        gwf_start(&T.gw[i]);
    }
    return 0;
}

/* The replica still running must stop cleanly (exit 0 on SIGTERM). */
static int group_teardown(void **state)
{
    (void)state;
    int failed = 0;
    for (int i = 0; i < N_REPLICAS; i++) {
        if (T.gw[i].proc.pid <= 0)
            continue;
        int status = gwf_stop(&T.gw[i]);
        if (status != 0) {
            fprintf(stderr, "replica %d exited with %d after SIGTERM\n", i, status);
            gwf_dump_log(&T.gw[i]);
            failed = -1;
        }
    }
    evm_rpc_free(T.rpc);
    if (T.anvil.pid > 0)
        tu_stop(&T.anvil, SIGTERM, 5000);
    for (int i = 0; i < N_REPLICAS; i++)
        gwf_cleanup(&T.gw[i]);
    tu_pg_stop(&T.pg);
    return failed;
}

static void dump_logs(void)
{
    for (int i = 0; i < N_REPLICAS; i++)
        gwf_dump_log(&T.gw[i]);
}

/* Whether replica i's log says it became the leader. */
static bool logged_leader(int i)
{
    char path[1200];
    int n = snprintf(path, sizeof path, "%s/gateway.log", T.gw[i].dir);
    if (n < 0 || (size_t)n >= sizeof path)
        fail_msg("replica %d: log path too long", i);
    char *log = tu_read_file(path);
    bool yes = log != NULL && strstr(log, "publisher.leader") != NULL;
    free(log);
    return yes;
}

/* The one replica that logged its leadership, waiting for it; fails on two. */
static int wait_leader(void)
{
    for (int64_t deadline = tu_now_ms() + WAIT_MS; tu_now_ms() < deadline; tu_sleep_ms(100)) {
        int leader = -1, n = 0;
        for (int i = 0; i < N_REPLICAS; i++) {
            if (T.gw[i].proc.pid > 0 && logged_leader(i)) {
                leader = i;
                n++;
            }
        }
        if (n > 1) {
            dump_logs();
            fail_msg("%d replicas claim to publish", n);
        }
        if (n == 1)
            return leader;
    }
    dump_logs();
    fail_msg("no replica became the publisher within %d s", WAIT_MS / 1000);
    return -1;
}

/* latest(account).sequence on-chain, 0 while the account has none. */
static uint64_t chain_sequence(const uint8_t account[32])
{
    evm_abi_value arg = evm_abi_bytes32(account);
    uint8_t *data = NULL, *out = NULL;
    size_t data_len = 0, len = 0;
    custos_error err;
    check(evm_abi_encode("latest(bytes32)", &arg, 1, &data, &data_len, &err), &err);
    evm_call call = {.data = data, .data_len = data_len};
    memcpy(call.to, T.adapter, CUSTOS_ADDRESS_LEN);
    custos_rc rc = evm_rpc_call(T.rpc, &call, &out, &len, &err);
    free(data);
    if (rc == CUSTOS_ERR_REFUSED)
        return 0; /* NoAttestation */
    check(rc, &err);
    uint64_t seq = 0;
    /* StoredAttestation: feedId, beneficiary, kind, collateralValue, asOf, validUntil, sequence */
    check(evm_abi_get_uint64(out, len, 6, 64, &seq, &err), &err);
    free(out);
    return seq;
}

/* Waits up to ms for latest(account) to reach seq; returns the time it took. */
static int64_t wait_on_chain(const uint8_t account[32], uint64_t seq, int64_t ms)
{
    int64_t start = tu_now_ms();
    while (chain_sequence(account) != seq) {
        if (tu_now_ms() - start > ms) {
            dump_logs();
            fail_msg("latest(account) did not reach sequence %llu within %lld ms",
                     (unsigned long long)seq, (long long)ms);
        }
        tu_sleep_ms(100);
    }
    return tu_now_ms() - start;
}

static void submit_to(int i, uint64_t seq, uint64_t usd, custos_submission *s)
{
    gwf_make(&T.gw[i], s, "PUB-1", seq, usd);
    gwf_sign(&T.gw[i], s, GWF_KEY_CUSTODIAN);
    gwf_sign(&T.gw[i], s, GWF_KEY_AGENT);
    gwf_answer r;
    gwf_submit_answer(&T.gw[i], s, &r);
    if (r.rc != CUSTOS_OK || r.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("replica %d: %s state %d: %s", i, custos_rc_name(r.rc), r.res.state,
                 r.err.message);
}

/* One integer from the shared database. */
static long long db_value(const char *sql)
{
    PGconn *c = PQconnectdb(T.uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    long long v = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return v;
}

static void test_leader_killed_other_publishes(void **state)
{
    (void)state;
    int leader = wait_leader();
    int other = 1 - leader;

    custos_submission s;
    submit_to(other, 1, 1000000, &s);
    /* Accepted at the follower, published by the leader. */
    wait_on_chain(s.att.account, 1, WAIT_MS);
    custos_submission_clear(&s);
    assert_false(logged_leader(other));

    assert_int_equal(tu_stop(&T.gw[leader].proc, SIGKILL, 5000), 128 + SIGKILL);
    T.gw[leader].proc.pid = 0;
    custos_client_free(T.gw[leader].client);
    T.gw[leader].client = NULL;

    /* Twice the value: the deviation policy publishes it. */
    submit_to(other, 2, 2000000, &s);
    int64_t took = wait_on_chain(s.att.account, 2, FAILOVER_MS);
    fprintf(stderr, "failover: sequence 2 on-chain %lld ms after the leader was killed\n",
            (long long)took);
    custos_submission_clear(&s);
    assert_true(logged_leader(other));

    /* Two publications, nonces 0 and 1, both mined: no gap, nothing sent twice. */
    uint64_t latest = 0, pending = 0;
    custos_error err;
    check(evm_rpc_get_transaction_count(T.rpc, T.relayer, EVM_BLOCK_LATEST, &latest, &err),
          &err);
    check(evm_rpc_get_transaction_count(T.rpc, T.relayer, EVM_BLOCK_PENDING, &pending, &err),
          &err);
    assert_int_equal(latest, 2);
    assert_int_equal(pending, 2);
    for (int64_t deadline = tu_now_ms() + WAIT_MS;
         db_value("SELECT count(*) FROM publisher_fates WHERE fate = 2") != 2;
         tu_sleep_ms(100)) {
        if (tu_now_ms() > deadline) {
            dump_logs();
            fail_msg("the shared publisher state does not record two confirmed publications");
        }
    }
    assert_int_equal(db_value("SELECT count(DISTINCT nonce) FROM publisher_fates "
                              "WHERE nonce IS NOT NULL"),
                     2);
    assert_int_equal(db_value("SELECT max(nonce) FROM publisher_fates"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_killed_other_publishes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
