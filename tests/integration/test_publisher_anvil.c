/* The EVM publisher end to end: anvil from node_modules, the adapter deployed and
 * configured by deploy/scripts/deploy.mjs (owner: anvil account 0), the real
 * custos-gateway with [evm] (relayer: anvil account 1, key file mode 0600), attestations
 * submitted and cosigned through the gateway, and the chain read back: latest(account),
 * the account's Chainlink feed, skipped and refused records in the publisher state, a
 * SIGKILL between storing and mining a transaction (exactly one event, one nonce), and
 * the contract's own refusals (Stale, UnknownSigner). */
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

#include "anvil.h"
#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/publisher.h"
#include "gwfixture.h"
#include "store/pubstate.h"

#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define BUILD_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
#define ARTIFACT CUSTOS_SOURCE_DIR "/deploy/contracts/out/CustosAdapter.sol/CustosAdapter.json"
/* anvil's well-known development keys 0 (owner) and 1 (relayer): public test keys. */
#define OWNER_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define LENDER "0xbebebebebebebebebebebebebebebebebebebebe" /* gwf_make's beneficiary */
#define WAIT_MS 30000
#define USD 1000000

static struct {
    gwf gw;
    tu_proc anvil;
    char url[64];
    evm_rpc *rpc;
    uint8_t adapter[CUSTOS_ADDRESS_LEN];
    uint8_t feed[CUSTOS_ADDRESS_LEN]; /* CustosAccountFeed of (PUB-1, LENDER) */
    uint8_t relayer[CUSTOS_ADDRESS_LEN];
    char state_path[1200];
    uint64_t seq; /* last sequence submitted for PUB-1 */
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
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void address_of(const char *hex, uint8_t out[CUSTOS_ADDRESS_LEN])
{
    custos_error err;
    check(custos_address_from_hex(hex, out, &err), &err);
}

/* deploy.mjs: setFeed acme-custody (2 distinct roles), addSigner custodian and valuation
 * agent, registerAccount PUB-1 (and not PUB-UNREGISTERED), createAccountFeed for LENDER. */
static void deploy(void)
{
    if (access(ARTIFACT, R_OK) != 0) {
        const char *build[] = {"/bin/bash", BUILD_SCRIPT, NULL};
        static char out[16384];
        if (tu_run(build, out, sizeof out, 1) != 0)
            fail_msg("building the contracts failed:\n%s", out);
    }
    char owner_key[1200], config[1200], deployed[1200];
    snprintf(owner_key, sizeof owner_key, "%s/owner.key", T.gw.dir);
    snprintf(config, sizeof config, "%s/deploy.json", T.gw.dir);
    snprintf(deployed, sizeof deployed, "%s/deployed.json", T.gw.dir);
    write_key(owner_key, OWNER_KEY);
    char text[4096];
    snprintf(text, sizeof text,
             "{\"chainId\": %d, \"feeds\": [{\"name\": \"%s\", \"threshold\": %d, "
             "\"distinctRoles\": true, \"maxAge\": %d, \"maxSkew\": %d, \"maxTtl\": %d, "
             "\"signers\": [{\"address\": \"%s\", \"role\": \"custodian\"}, "
             "{\"address\": \"%s\", \"role\": \"valuation_agent\"}], "
             "\"accounts\": [{\"custodian\": \"%s\", \"ref\": \"PUB-1\", \"lenders\": [\"%s\"]}]}]}",
             GWF_CHAIN_ID, GWF_FEED, GWF_THRESHOLD, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL,
             T.gw.keys[GWF_KEY_CUSTODIAN].hex, T.gw.keys[GWF_KEY_AGENT].hex, GWF_FEED, LENDER);
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
    json_t *acct = json_array_get(json_object_get(j, "accounts"), 0);
    json_t *feeds = json_object_get(acct, "feeds");
    const char *feed = NULL;
    const char *lender;
    json_t *v;
    json_object_foreach(feeds, lender, v) feed = json_string_value(v);
    if (adapter == NULL || feed == NULL)
        fail_msg("deployed.json lacks the adapter or the account feed");
    address_of(adapter, T.adapter);
    address_of(feed, T.feed);
    json_decref(j);
}

/* The gateway config: the fixture's policy and keys, the deployed adapter, and [evm]. */
static void write_gateway_config(void)
{
    char relayer_key[1200];
    snprintf(relayer_key, sizeof relayer_key, "%s/relayer.key", T.gw.dir);
    write_key(relayer_key, RELAYER_KEY);
    snprintf(T.state_path, sizeof T.state_path, "%s/publisher.db", T.gw.dir);
    char adapter[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(T.adapter, adapter);
    char text[8192];
    snprintf(text, sizeof text,
             "[gateway]\nlisten = 127.0.0.1:0\nstore = %s/custos.db\nchain_id = %d\n"
             "verifying_contract = %s\n\n"
             "[tls]\ninsecure = true\n\n"
             "[feed %s]\nmax_age = %d\nmax_skew = %d\nmax_ttl = %d\nthreshold = %d\n"
             "distinct_roles = true\n\n"
             "[signer custodian]\naddress = %s\nfeed = %s\nrole = custodian\n\n"
             "[signer valuer]\naddress = %s\nfeed = %s\nrole = valuation_agent\n\n"
             "[evm]\nrpc_url = %s\nrelayer_key = %s\nadapter = %s\nconfirmations = 1\n"
             "poll_interval_ms = 100\nstate = %s\n",
             T.gw.dir, GWF_CHAIN_ID, adapter, GWF_FEED, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL,
             GWF_THRESHOLD, T.gw.keys[GWF_KEY_CUSTODIAN].hex, GWF_FEED,
             T.gw.keys[GWF_KEY_AGENT].hex, GWF_FEED, T.url, relayer_key, adapter,
             T.state_path);
    tu_write_file(T.gw.config_path, text);
    uint8_t key[CUSTOS_SECKEY_LEN];
    custos_error err;
    check(custos_hex_decode(RELAYER_KEY, key, sizeof key, &err), &err);
    check(custos_address_from_seckey(T.gw.secp, key, T.relayer, &err), &err);
}

static void start_anvil(void)
{
    if (tu_anvil_start(&T.anvil, T.gw.dir, T.url, sizeof T.url) != 0)
        fail_msg("anvil did not start");
    evm_rpc_options opt = {.url = T.url, .connect_timeout_ms = 2000, .timeout_ms = 5000};
    custos_error err;
    check(evm_rpc_new(&opt, &T.rpc, &err), &err);
}

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&T.gw);
    start_anvil();
    deploy();
    T.gw.domain.chain_id = GWF_CHAIN_ID;
    memcpy(T.gw.domain.verifying_contract, T.adapter, CUSTOS_ADDRESS_LEN);
    write_gateway_config();
    gwf_start(&T.gw);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&T.gw);
    if (status != 0)
        gwf_dump_log(&T.gw);
    evm_rpc_free(T.rpc);
    if (T.anvil.pid > 0)
        tu_stop(&T.anvil, SIGTERM, 5000);
    gwf_cleanup(&T.gw);
    return status == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ helpers */

/* A valuation of `ref`, cosigned by custodian and valuation agent through the gateway;
 * returns its cursor. */
static uint64_t submit_cosigned(const char *ref, uint64_t seq, uint64_t usd,
                                custos_submission *keep)
{
    custos_submission s;
    gwf_make(&T.gw, &s, ref, seq, usd);
    gwf_answer res;
    gwf_sign(&T.gw, &s, GWF_KEY_CUSTODIAN);
    gwf_submit_answer(&T.gw, &s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_PENDING)
        fail_msg("first signature: %s state %d: %s", custos_rc_name(res.rc), res.res.state,
                 res.err.message);
    gwf_clear_sigs(&s);
    gwf_sign(&T.gw, &s, GWF_KEY_AGENT);
    gwf_submit_answer(&T.gw, &s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("cosignature: %s state %d: %s", custos_rc_name(res.rc), res.res.state,
                 res.err.message);
    if (keep != NULL)
        *keep = s;
    else
        custos_submission_clear(&s);
    return res.res.cursor;
}

/* The publisher's stored fate of a record; false while it has none. */
static bool read_fate(uint64_t cursor, gw_pub_row *row)
{
    gw_pubstate *st = NULL;
    custos_error err;
    check(gw_pubstate_open_sqlite(T.state_path, &st, &err), &err);
    custos_rc rc = gw_pubstate_get(st, cursor, row, &err);
    gw_pubstate_close(st);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return false;
    check(rc, &err);
    return true;
}

static void wait_fate(uint64_t cursor, gw_pub_fate want, gw_pub_row *row)
{
    for (int64_t deadline = tu_now_ms() + WAIT_MS; tu_now_ms() < deadline; tu_sleep_ms(100)) {
        if (read_fate(cursor, row)) {
            if (row->fate == want)
                return;
            if (row->fate != GW_PUB_SENT) {
                gwf_dump_log(&T.gw);
                fail_msg("record %llu: %s (%s), expected %s", (unsigned long long)cursor,
                         gw_pub_fate_name(row->fate), row->detail, gw_pub_fate_name(want));
            }
            gw_pub_row_clear(row);
        }
    }
    gwf_dump_log(&T.gw);
    fail_msg("record %llu: not %s within %d s", (unsigned long long)cursor,
             gw_pub_fate_name(want), WAIT_MS / 1000);
}

/* eth_call of `signature` with one bytes32 argument (or none) on `to`. */
static custos_rc view(const uint8_t to[CUSTOS_ADDRESS_LEN], const char *signature,
                      const uint8_t *arg32, uint8_t **out, size_t *len, custos_error *err)
{
    evm_abi_value arg = arg32 != NULL ? evm_abi_bytes32(arg32) : evm_abi_uint64(0);
    uint8_t *data = NULL;
    size_t data_len = 0;
    check(evm_abi_encode(signature, &arg, arg32 != NULL ? 1 : 0, &data, &data_len, err), err);
    evm_call call = {.data = data, .data_len = data_len};
    memcpy(call.to, to, CUSTOS_ADDRESS_LEN);
    custos_rc rc = evm_rpc_call(T.rpc, &call, out, len, err);
    free(data);
    return rc;
}

/* latest(account).sequence, 0 while the account has no attestation on-chain. */
static uint64_t chain_sequence(const uint8_t account[32])
{
    uint8_t *out = NULL;
    size_t len = 0;
    custos_error err;
    custos_rc rc = view(T.adapter, "latest(bytes32)", account, &out, &len, &err);
    if (rc == CUSTOS_ERR_REFUSED)
        return 0; /* NoAttestation */
    check(rc, &err);
    uint64_t seq = 0;
    check(evm_abi_get_uint64(out, len, 7, 64, &seq, &err), &err);
    free(out);
    return seq;
}

static uint64_t relayer_nonce(evm_block_tag tag)
{
    uint64_t n = 0;
    custos_error err;
    check(evm_rpc_get_transaction_count(T.rpc, T.relayer, tag, &n, &err), &err);
    return n;
}

static void rpc_void(const char *method, json_t *params)
{
    json_t *result = NULL;
    custos_error err;
    check(evm_rpc_request(T.rpc, method, params, &result, &err), &err);
    json_decref(result);
}

/* ------------------------------------------------------------------ tests */

static void test_publish_cosigned(void **state)
{
    (void)state;
    custos_submission s;
    T.seq = 1;
    uint64_t cursor = submit_cosigned("PUB-1", T.seq, USD, &s);
    for (int64_t deadline = tu_now_ms() + WAIT_MS; chain_sequence(s.att.account) != T.seq;
         tu_sleep_ms(100)) {
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&T.gw);
            fail_msg("latest(account) did not reach sequence 1 within %d s", WAIT_MS / 1000);
        }
    }
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_CONFIRMED, &row);
    assert_true(row.has_tx);
    assert_int_equal(row.tx.nonce, 0);
    gw_pub_row_clear(&row);

    /* The lender's Chainlink feed: answer = collateral value, updatedAt = asOf. */
    uint8_t *out = NULL;
    size_t len = 0;
    custos_error err;
    check(view(T.feed, "latestRoundData()", NULL, &out, &len, &err), &err);
    uint64_t round = 0, updated_at = 0;
    bool negative = true;
    custos_u256 answer;
    check(evm_abi_get_uint64(out, len, 0, 64, &round, &err), &err);
    check(evm_abi_get_int(out, len, 1, 256, &negative, &answer, &err), &err);
    check(evm_abi_get_uint64(out, len, 3, 64, &updated_at, &err), &err);
    free(out);
    assert_int_equal(round, T.seq);
    assert_false(negative);
    assert_int_equal(custos_u256_cmp(&answer, &s.att.collateral_value), 0);
    assert_int_equal(updated_at, s.att.as_of);
    custos_submission_clear(&s);
}

static void test_unchanged_value_skipped(void **state)
{
    (void)state;
    custos_submission s;
    T.seq++;
    uint64_t cursor = submit_cosigned("PUB-1", T.seq, USD, &s);
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_SKIPPED, &row);
    assert_string_equal(row.detail, "unchanged");
    gw_pub_row_clear(&row);
    assert_int_equal(chain_sequence(s.att.account), T.seq - 1);
    custos_submission_clear(&s);
}

static void test_chain_refusal_recorded(void **state)
{
    (void)state;
    /* The gateway accepts it; the adapter does not know the account. */
    uint64_t cursor = submit_cosigned("PUB-UNREGISTERED", 1, USD, NULL);
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_FAILED, &row);
    if (strstr(row.detail, "UnknownAccount(bytes32)") == NULL)
        fail_msg("detail lacks the revert: %s", row.detail);
    assert_false(row.has_tx);
    gw_pub_row_clear(&row);
}

static void count_events(const uint8_t account_id[32], uint64_t seq, size_t want)
{
    char adapter[CUSTOS_ADDRESS_HEX_LEN], account[67], seq_topic[67];
    custos_address_to_hex(T.adapter, adapter);
    assert_int_equal(custos_hex_encode(account_id, 32, account, sizeof account), CUSTOS_OK);
    uint8_t seq_word[32] = {0};
    for (int i = 0; i < 8; i++)
        seq_word[31 - i] = (uint8_t)(seq >> (8 * i));
    assert_int_equal(custos_hex_encode(seq_word, 32, seq_topic, sizeof seq_topic), CUSTOS_OK);
    json_t *filter = json_pack(
        "[{s:s, s:s, s:s, s:[s, s, n, s]}]", "address", adapter, "fromBlock", "0x0", "toBlock",
        "latest", "topics", "0x504696036e562372e8adfc5c456e31797a73cd482d28d3f1d6b63a20517cc974",
        account, seq_topic);
    json_t *logs = NULL;
    custos_error err;
    check(evm_rpc_request(T.rpc, "eth_getLogs", filter, &logs, &err), &err);
    if (json_array_size(logs) != want)
        fail_msg("%zu AttestationAccepted events for sequence %llu, want %zu",
                 json_array_size(logs), (unsigned long long)seq, want);
    json_decref(logs);
}

/* Submits the next valuation of PUB-1 (+10% each time: past the 0.5% deviation) with
 * automine off, and waits until its transaction is stored as sent and in the node's pool. */
static uint64_t submit_until_pooled(custos_submission *s, gw_pub_row *row)
{
    rpc_void("evm_setAutomine", json_pack("[b]", 0));
    T.seq++;
    uint64_t cursor = submit_cosigned("PUB-1", T.seq, USD + T.seq * (USD / 10), s);
    memset(row, 0, sizeof *row);
    bool in_pool = false;
    for (int64_t deadline = tu_now_ms() + WAIT_MS; !in_pool; tu_sleep_ms(50)) {
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&T.gw);
            fail_msg("the transaction never reached the node's pool within %d s",
                     WAIT_MS / 1000);
        }
        gw_pub_row_clear(row);
        in_pool = read_fate(cursor, row) && row->fate == GW_PUB_SENT &&
                  relayer_nonce(EVM_BLOCK_PENDING) > relayer_nonce(EVM_BLOCK_LATEST);
    }
    return cursor;
}

static void kill_gateway(void)
{
    custos_client_free(T.gw.client);
    T.gw.client = NULL;
    tu_stop(&T.gw.proc, SIGKILL, 5000);
}

/* Mines with automine back on, gives the publisher a few passes (anything it rebuilt
 * would be sent by then), mines again. */
static void settle(void)
{
    rpc_void("evm_setAutomine", json_pack("[b]", 1));
    rpc_void("evm_mine", NULL);
    tu_sleep_ms(500);
    rpc_void("evm_mine", NULL);
}

static void test_crash_between_store_and_mining(void **state)
{
    (void)state;
    uint64_t nonce_before = relayer_nonce(EVM_BLOCK_LATEST);
    custos_submission s;
    gw_pub_row row;
    uint64_t cursor = submit_until_pooled(&s, &row);
    assert_int_equal(row.tx.nonce, nonce_before);
    gw_pub_row_clear(&row);

    kill_gateway();
    rpc_void("evm_mine", NULL);
    gwf_start(&T.gw);
    wait_fate(cursor, GW_PUB_CONFIRMED, &row);
    gw_pub_row_clear(&row);
    settle();

    assert_int_equal(chain_sequence(s.att.account), T.seq);
    assert_int_equal(relayer_nonce(EVM_BLOCK_LATEST), nonce_before + 1);
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before + 1);
    count_events(s.att.account, T.seq, 1);
    custos_submission_clear(&s);
}

/* The node forgets the pool while the gateway is down: the restart broadcasts the very
 * same raw transaction (same hash, same nonce) instead of building a new one. */
static void test_crash_and_node_lost_the_transaction(void **state)
{
    (void)state;
    uint64_t nonce_before = relayer_nonce(EVM_BLOCK_LATEST);
    custos_submission s;
    gw_pub_row sent;
    uint64_t cursor = submit_until_pooled(&s, &sent);

    kill_gateway();
    rpc_void("anvil_dropAllTransactions", NULL);
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before);
    gwf_start(&T.gw);
    char hash[67];
    assert_int_equal(custos_hex_encode(sent.tx.hash, 32, hash, sizeof hash), CUSTOS_OK);
    custos_error err;
    for (int64_t deadline = tu_now_ms() + WAIT_MS;; tu_sleep_ms(100)) {
        json_t *tx = NULL;
        check(evm_rpc_request(T.rpc, "eth_getTransactionByHash", json_pack("[s]", hash), &tx,
                              &err), &err);
        bool known = json_is_object(tx);
        json_decref(tx);
        if (known)
            break;
        if (tu_now_ms() > deadline) {
            gwf_dump_log(&T.gw);
            fail_msg("tx %s was not broadcast again within %d s", hash, WAIT_MS / 1000);
        }
    }
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before + 1);
    rpc_void("evm_mine", NULL);
    gw_pub_row row;
    wait_fate(cursor, GW_PUB_CONFIRMED, &row);
    assert_memory_equal(row.tx.hash, sent.tx.hash, 32);
    gw_pub_row_clear(&row);
    gw_pub_row_clear(&sent);
    settle();

    assert_int_equal(chain_sequence(s.att.account), T.seq);
    assert_int_equal(relayer_nonce(EVM_BLOCK_LATEST), nonce_before + 1);
    assert_int_equal(relayer_nonce(EVM_BLOCK_PENDING), nonce_before + 1);
    count_events(s.att.account, T.seq, 1);
    custos_submission_clear(&s);
}

/* submit() refused by the contract itself, whoever sends it: revert data starts with the
 * selector of the error. */
static void expect_revert(const custos_submission *s, gwf_key_id k1, gwf_key_id k2,
                          const char *error_signature)
{
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    rec.sub = *s;
    rec.sub.positions = NULL;
    rec.sub.n_positions = 0;
    const gwf_key_id keys[2] = {k1, k2};
    for (size_t i = 0; i < 2; i++)
        memcpy(rec.signers[i], T.gw.keys[keys[i]].address, CUSTOS_ADDRESS_LEN);
    rec.n_signers = 2;
    uint8_t *data = NULL;
    size_t len = 0;
    custos_error err;
    check(gw_publisher_encode_submit(&rec, &data, &len, &err), &err);
    evm_call call = {.data = data, .data_len = len};
    memcpy(call.to, T.adapter, CUSTOS_ADDRESS_LEN);
    uint64_t gas = 0;
    assert_int_equal(evm_rpc_estimate_gas(T.rpc, &call, &gas, &err), CUSTOS_ERR_REFUSED);
    const evm_rpc_fault *f = evm_rpc_last_fault(T.rpc);
    assert_non_null(f);
    assert_true(f->has_data);
    uint8_t sel[4];
    evm_abi_selector(error_signature, sel);
    assert_true(f->data_len >= 4);
    assert_memory_equal(f->data, sel, 4);
    if (strcmp(error_signature, "UnknownSigner(address)") == 0) {
        uint8_t who[CUSTOS_ADDRESS_LEN];
        check(evm_abi_get_address(f->data + 4, f->data_len - 4, 0, who, &err), &err);
        assert_memory_equal(who, T.gw.keys[GWF_KEY_UNKNOWN].address, CUSTOS_ADDRESS_LEN);
    }
    free(data);
}

static void test_contract_refusals(void **state)
{
    (void)state;
    custos_submission s;
    uint64_t now = gwf_now();
    gwf_make(&T.gw, &s, "PUB-1", 1000, USD);
    gwf_set_times(&s, now - 2 * GWF_MAX_AGE, now + 3600);
    gwf_sign(&T.gw, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&T.gw, &s, GWF_KEY_AGENT);
    expect_revert(&s, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, "Stale(uint64,uint256)");
    custos_submission_clear(&s);

    gwf_make(&T.gw, &s, "PUB-1", 1001, USD);
    gwf_sign(&T.gw, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&T.gw, &s, GWF_KEY_UNKNOWN);
    expect_revert(&s, GWF_KEY_CUSTODIAN, GWF_KEY_UNKNOWN, "UnknownSigner(address)");
    custos_submission_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_cosigned),
        cmocka_unit_test(test_unchanged_value_skipped),
        cmocka_unit_test(test_chain_refusal_recorded),
        cmocka_unit_test(test_crash_between_store_and_mining),
        cmocka_unit_test(test_crash_and_node_lost_the_transaction),
        cmocka_unit_test(test_contract_refusals),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
