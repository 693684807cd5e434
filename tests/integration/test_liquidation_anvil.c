/* A liquidation by the collateral manager through crashes and reverts (docs/lending.md §5,
 * §10 to §12), on anvil with Morpho Blue (its unmodified 0.8.19 build), the real gateway and the
 * real custos-attestor. Each scenario is its own CTest entry (`test_liquidation_anvil
 * SCENARIO`, tests/CMakeLists.txt) with its own anvil, gateway and directory, so they run in
 * parallel; without an argument the program builds the contracts they deploy (the entries'
 * fixture).
 *
 * Every scenario starts the same: one account pledged to Morpho, valued $980,000, a borrow
 * of 784,000 units of a 6-decimal loan token, then half the account's fund gone, so the
 * loan is at 160% and the manager (margin call 70%, liquidation 90%) liquidates it.
 *
 * kill_hook_STEP: the manager kills itself (SIGKILL, the test-only hook) right after it
 * wrote STEP and before it acted on it; kill_signal_STEP: the manager runs as a daemon and
 * the test SIGKILLs it as soon as its state file shows STEP (or a later step, when a pass
 * went past it between two looks), wherever it is in acting on it.
 * Then a restart finishes the liquidation. Every time: the agent's loan-token balance drops
 * once, by the debt (two transactions: one approve, one repay), exactly one release is
 * accepted, and while the borrower still owes anything no release is signed. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "anvil.h"
#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "gwfixture.h"

#define CAST_BIN TU_FOUNDRY_DIR "/cast-linux-amd64/bin/cast"
#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define BUILD_CONTRACTS CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
#define RUN_FORGE CUSTOS_SOURCE_DIR "/tests/contract/run-forge.sh"
#define CONTRACTS_DIR CUSTOS_SOURCE_DIR "/deploy/contracts"
#define POLICY_EXAMPLE CUSTOS_SOURCE_DIR "/deploy/examples/policy.json"
/* The variable of the manager's crash hook (attestor/manage_state.h). */
#define KILL_ENV "CUSTOS_TEST_LIQ_KILL_AT"

/* anvil's development accounts (public test keys, funded on anvil only). */
#define OWNER_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define OWNER_ADDR "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define LENDER_KEY "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
#define LENDER_ADDR "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
#define BORROWER_KEY "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
#define BORROWER_ADDR "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
#define AGENT_KEY "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
#define AGENT_ADDR "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
#define OUTSIDER_KEY "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"

#define REF "LIQ-1"
#define LLTV "800000000000000000"
#define MAX_UINT "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define AGENT_FUNDS "1000000000000"
#define WAIT_MS 60000
/* Passes of the manager a liquidation takes at most: the notice and decision, the repay
 * sent, mined, the release signed and accepted, with room for a resend. */
#define MAX_PASSES 12

static struct {
    gwf gw;
    tu_proc anvil;
    char url[64];
    char morpho[43], irm[43], loan[43], adapter[43], receipt[43], oracle[43], market_id[67],
        account[67];
    char key[1200], holdings[1200], prices[1200], policy[1200], pledges[1200], state[1200],
        agent_key[1200], manager_state[1200], journal[1200];
    bool book; /* the manager records the sale in the book */
} T;

static char out[65536];

/* ------------------------------------------------------------------ processes */

static int run(const char *const argv[])
{
    int rc = tu_run(argv, out, sizeof out, 1);
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '\n')
        out[--len] = '\0';
    return rc;
}

/* cast with the words given (NULL ends them), against the test's node. */
static int cast(const char *first, ...)
{
    const char *argv[32] = {CAST_BIN, first};
    size_t n = 2;
    va_list ap;
    va_start(ap, first);
    for (const char *w = va_arg(ap, const char *); w != NULL; w = va_arg(ap, const char *)) {
        assert_true(n < 28);
        argv[n++] = w;
    }
    va_end(ap);
    argv[n++] = "--rpc-url";
    argv[n++] = T.url;
    argv[n] = NULL;
    return run(argv);
}

#define MP_TYPE "(address,address,address,address,uint256)"

static const char *market_params(void)
{
    static char mp[256];
    snprintf(mp, sizeof mp, "(%s,%s,%s,%s,%s)", T.loan, T.receipt, T.oracle, T.irm, LLTV);
    return mp;
}

#define SEND(key, to, sig, ...)                                                             \
    do {                                                                                    \
        if (cast("send", "--private-key", key, to, sig, __VA_ARGS__, NULL) != 0)            \
            fail_msg("cast send %s: %s", sig, out);                                         \
    } while (0)

/* The first number cast prints for a view (a uint256 as decimal), into dst. */
static void call_number(const char *to, const char *sig, const char *a1, const char *a2,
                        char *dst, size_t cap)
{
    if (cast("call", to, sig, "--json", a1, a2, NULL) != 0)
        fail_msg("cast call %s: %s", sig, out);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    json_t *v = json_array_get(j, 0);
    if (json_is_integer(v))
        snprintf(dst, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(dst, cap, "%s", json_string_value(v));
    else
        fail_msg("cast call %s: no number in %s", sig, out);
    json_decref(j);
}

static unsigned long long view_u64(const char *to, const char *sig, const char *a1,
                                   const char *a2)
{
    char n[96];
    call_number(to, sig, a1, a2, n, sizeof n);
    return strtoull(n, NULL, 10);
}

static void wait_number(const char *to, const char *sig, const char *want)
{
    char got[96] = "";
    for (int waited = 0; waited < WAIT_MS; waited += 200) {
        call_number(to, sig, NULL, NULL, got, sizeof got);
        if (strcmp(got, want) == 0)
            return;
        usleep(200 * 1000);
    }
    gwf_dump_log(&T.gw);
    fail_msg("%s stayed %s, expected %s", sig, got, want);
}

static unsigned long long borrow_shares(void)
{
    if (cast("call", T.morpho, "position(bytes32,address)(uint256,uint128,uint128)", "--json",
             T.market_id, BORROWER_ADDR, NULL) != 0)
        fail_msg("position: %s", out);
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    json_t *v = json_array_get(j, 1);
    unsigned long long shares = json_is_integer(v)  ? (unsigned long long)json_integer_value(v)
                                : json_is_string(v) ? strtoull(json_string_value(v), NULL, 10)
                                                    : ~0ull;
    json_decref(j);
    if (shares == ~0ull)
        fail_msg("position: %s", out);
    return shares;
}

static unsigned long long agent_balance(void)
{
    return view_u64(T.loan, "balanceOf(address)(uint256)", AGENT_ADDR, NULL);
}

static unsigned long long agent_nonce(void)
{
    if (cast("nonce", AGENT_ADDR, NULL) != 0)
        fail_msg("cast nonce: %s", out);
    return strtoull(out, NULL, 10);
}

/* ------------------------------------------------------------------ set-up */

static void write_key(const char *path, const char *hex)
{
    uint8_t k[CUSTOS_SECKEY_LEN];
    custos_error err;
    assert_int_equal(custos_hex_decode(hex, k, sizeof k, &err), CUSTOS_OK);
    assert_int_equal(custos_keyfile_write(path, k, &err), CUSTOS_OK);
}

static void deploy_artifact(const char *artifact, const char *sig, const char *arg,
                            char address[43])
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", CONTRACTS_DIR, artifact);
    json_error_t jerr;
    json_t *a = json_load_file(path, 0, &jerr);
    if (a == NULL)
        fail_msg("%s: %s", path, jerr.text);
    const char *code = json_string_value(json_object_get(json_object_get(a, "bytecode"), "object"));
    assert_non_null(code);
    const char *argv[] = {CAST_BIN, "send", "--private-key", OWNER_KEY, "--json", "--rpc-url",
                          T.url, "--create", code, sig, arg, NULL};
    int rc = run(argv);
    json_decref(a);
    if (rc != 0)
        fail_msg("deploying %s: %s", artifact, out);
    json_t *r = json_loads(out, 0, &jerr);
    if (r == NULL)
        fail_msg("cast send --create %s: not JSON: %s", artifact, out);
    snprintf(address, 43, "%s", json_string_value(json_object_get(r, "contractAddress")));
    json_decref(r);
    assert_int_equal(strlen(address), 42);
}

static const char *str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        fail_msg("no string '%s'", key);
        return "";
    }
    return s;
}

/* Morpho, its IRM, the loan token, then deploy.mjs: the adapter, the feed and one pledge
 * of the account to Morpho with its market. */
static void deploy(void)
{
    deploy_artifact("out-morpho/Morpho.sol/Morpho.json", "constructor(address)", OWNER_ADDR,
                    T.morpho);
    deploy_artifact("out-morpho/IrmMock.sol/IrmMock.json", NULL, NULL, T.irm);
    deploy_artifact("out/LendingFixture.sol/LoanToken.json", "constructor(uint8)", "6", T.loan);
    SEND(OWNER_KEY, T.morpho, "enableIrm(address)", T.irm);
    SEND(OWNER_KEY, T.morpho, "enableLltv(uint256)", LLTV);
    char owner_key[1200], config[1200], deployed[1200], text[4096];
    snprintf(owner_key, sizeof owner_key, "%s/owner.key", T.gw.dir);
    snprintf(config, sizeof config, "%s/deploy.json", T.gw.dir);
    snprintf(deployed, sizeof deployed, "%s/deployed.json", T.gw.dir);
    write_key(owner_key, OWNER_KEY);
    snprintf(text, sizeof text,
             "{\"chainId\": %d, \"feeds\": [{\"name\": \"%s\", \"threshold\": 1, "
             "\"distinctRoles\": false, \"maxAge\": 345600, \"maxSkew\": 300, "
             "\"maxTtl\": 604800, \"signers\": [{\"address\": \"%s\", \"role\": \"custodian\"}], "
             "\"accounts\": [{\"custodian\": \"%s\", \"ref\": \"%s\", \"lenders\": []}]}], "
             "\"pledges\": [{\"custodian\": \"%s\", \"ref\": \"%s\", \"beneficiary\": \"%s\", "
             "\"borrower\": \"%s\", \"lender\": \"%s\", \"agent\": \"%s\", "
             "\"morpho\": {\"loanToken\": \"%s\", \"irm\": \"%s\", \"lltv\": \"0.8\", "
             "\"createMarket\": true}}]}",
             GWF_CHAIN_ID, GWF_FEED, T.gw.keys[GWF_KEY_CUSTODIAN].hex, GWF_FEED, REF, GWF_FEED,
             REF, T.morpho, BORROWER_ADDR, LENDER_ADDR, AGENT_ADDR, T.loan, T.irm);
    tu_write_file(config, text);
    const char *argv[] = {CUSTOS_NODE, DEPLOY_SCRIPT, "--rpc", T.url, "--key-file", owner_key,
                          "--config", config, "--out", deployed, NULL};
    if (run(argv) != 0)
        fail_msg("deploy.mjs failed:\n%s", out);
    json_error_t jerr;
    json_t *d = json_load_file(deployed, 0, &jerr);
    if (d == NULL)
        fail_msg("%s: %s", deployed, jerr.text);
    snprintf(T.adapter, sizeof T.adapter, "%s", str_of(d, "adapter"));
    json_t *p = json_array_get(json_object_get(d, "pledges"), 0);
    if (p == NULL)
        fail_msg("deployed.json: no pledge");
    snprintf(T.receipt, sizeof T.receipt, "%s", str_of(p, "receipt"));
    snprintf(T.oracle, sizeof T.oracle, "%s", str_of(p, "morphoOracle"));
    snprintf(T.market_id, sizeof T.market_id, "%s", str_of(p, "morphoMarketId"));
    snprintf(T.account, sizeof T.account, "%s", str_of(p, "account"));
    json_decref(d);
}

static void start_gateway(void)
{
    char relayer_key[1200], text[8192], accounts[1300];
    snprintf(relayer_key, sizeof relayer_key, "%s/relayer.key", T.gw.dir);
    write_key(relayer_key, RELAYER_KEY);
    gwf_accounts_line(&T.gw, GWF_FEED, accounts, sizeof accounts);
    gwf_register(&T.gw, GWF_FEED, GWF_FEED, REF);
    snprintf(text, sizeof text,
             "[gateway]\nlisten = 127.0.0.1:0\nstore = %s/custos.db\nchain_id = %d\n"
             "verifying_contract = %s\n\n[tls]\ninsecure = true\n\n"
             "[feed %s]\nmax_age = 345600\nmax_skew = 300\nmax_ttl = 604800\nthreshold = 1\n%s\n"
             "[signer custodian]\naddress = %s\nfeed = %s\nrole = custodian\n\n"
             "[evm]\nrpc_url = %s\nrelayer_key = %s\nconfirmations = 1\n"
             "poll_interval_ms = 100\ndeviation_bps = 0\nexposure_timeout_ms = 5000\n",
             T.gw.dir, GWF_CHAIN_ID, T.adapter, GWF_FEED, accounts,
             T.gw.keys[GWF_KEY_CUSTODIAN].hex, GWF_FEED, T.url, relayer_key);
    tu_write_file(T.gw.config_path, text);
    T.gw.domain.chain_id = GWF_CHAIN_ID;
    custos_error err;
    assert_int_equal(custos_address_from_hex(T.adapter, T.gw.domain.verifying_contract, &err),
                     CUSTOS_OK);
    gwf_start(&T.gw);
}

/* The custody ledger: the account holds `shares` of a money-market fund at $1. */
static void write_holdings(const char *shares)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"custodian\": \"%s\", \"accounts\": [{\"ref\": \"%s\", \"beneficiary\": \"%s\", "
             "\"positions\": [{\"asset\": \"MMF-GOVT-INST\", \"class\": \"mmf\", "
             "\"quantity\": \"%s\"}]}]}",
             GWF_FEED, REF, T.morpho, shares);
    tu_write_file(T.holdings, text);
}

static void write_attestor_files(void)
{
    snprintf(T.key, sizeof T.key, "%s/custodian.key", T.gw.dir);
    snprintf(T.holdings, sizeof T.holdings, "%s/holdings.json", T.gw.dir);
    snprintf(T.prices, sizeof T.prices, "%s/prices.json", T.gw.dir);
    snprintf(T.policy, sizeof T.policy, "%s/policy.json", T.gw.dir);
    snprintf(T.pledges, sizeof T.pledges, "%s/pledges.json", T.gw.dir);
    snprintf(T.state, sizeof T.state, "%s/state.json", T.gw.dir);
    snprintf(T.agent_key, sizeof T.agent_key, "%s/agent.key", T.gw.dir);
    snprintf(T.manager_state, sizeof T.manager_state, "%s/manager.json", T.gw.dir);
    snprintf(T.journal, sizeof T.journal, "%s/sales.jsonl", T.gw.dir);
    custos_error err;
    assert_int_equal(custos_keyfile_write(T.key, T.gw.keys[GWF_KEY_CUSTODIAN].seckey, &err),
                     CUSTOS_OK);
    write_key(T.agent_key, AGENT_KEY);
    char text[512];
    snprintf(text, sizeof text,
             "{\"prices\": {\"MMF-GOVT-INST\": {\"price\": \"1.00\", \"as_of\": %llu}}}",
             (unsigned long long)gwf_now() - 60);
    tu_write_file(T.prices, text);
    char *policy = tu_read_file(POLICY_EXAMPLE);
    assert_non_null(policy);
    tu_write_file(T.policy, policy);
    free(policy);
    write_holdings("1000000");
}

static int attest(void)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "attest", "--account", REF, "--holdings",
                          T.holdings, "--key", T.key, "--feed", GWF_FEED, "--chain-id",
                          "31337", "--contract", T.adapter, "--state", T.state, "--policy",
                          T.policy, "--gateway", T.gw.target, "--insecure", "--prices",
                          T.prices, "--registry", T.pledges, NULL};
    int rc = run(argv);
    fprintf(stderr, "$ custos-attestor attest %s -> %d\n%s\n", REF, rc, out);
    return rc;
}

/* The attestor's last sequence for the account (its state file). */
static uint64_t last_sequence(void)
{
    json_error_t jerr;
    json_t *s = json_load_file(T.state, 0, &jerr);
    if (s == NULL)
        fail_msg("%s: %s", T.state, jerr.text);
    json_t *v = NULL;
    const char *k;
    json_t *x;
    json_object_foreach(s, k, x) if (strcasecmp(k, T.account) == 0) v = x;
    uint64_t last = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
    json_decref(s);
    return last;
}

/* The kind of the account's latest accepted record at the gateway. */
static uint8_t latest_kind(void)
{
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REF, account);
    custos_record rec;
    custos_error err;
    if (custos_client_get_latest(T.gw.client, account, &rec, &err) != CUSTOS_OK) {
        fail_msg("GetLatest: %s", err.message);
        return 0;
    }
    uint8_t kind = rec.sub.att.kind;
    custos_record_clear(&rec);
    return kind;
}

/* Pledge, value, lend, borrow 784,000 (80% of $980,000), then the fund falls to `shares`
 * (Morpho's oracle then answers `price`): past the manager's liquidation threshold. */
static void lend_and_drop_to(const char *shares, const char *price)
{
    deploy();
    start_gateway();
    write_attestor_files();
    const char *pledge[] = {CUSTOS_ATTESTOR_BIN, "pledge", "--account", REF, "--beneficiary",
                            T.morpho, "--registry", T.pledges, NULL};
    if (run(pledge) != 0)
        fail_msg("custos-attestor pledge: %s", out);
    assert_int_equal(attest(), 0);
    wait_number(T.oracle, "price()(uint256)", "980000000000000000000000000000");
    SEND(LENDER_KEY, T.loan, "setBalance(address,uint256)", LENDER_ADDR, "2000000000000");
    SEND(LENDER_KEY, T.loan, "approve(address,uint256)", T.morpho, MAX_UINT);
    SEND(LENDER_KEY, T.morpho, "supply(" MP_TYPE ",uint256,uint256,address,bytes)",
         market_params(), "2000000000000", "0", LENDER_ADDR, "0x");
    SEND(BORROWER_KEY, T.receipt, "approve(address,uint256)", T.morpho, "1000000000000000000");
    SEND(BORROWER_KEY, T.morpho, "supplyCollateral(" MP_TYPE ",uint256,address,bytes)",
         market_params(), "1000000000000000000", BORROWER_ADDR, "0x");
    SEND(BORROWER_KEY, T.morpho, "borrow(" MP_TYPE ",uint256,uint256,address,address)",
         market_params(), "784000000000", "0", BORROWER_ADDR, BORROWER_ADDR);
    write_holdings(shares);
    assert_int_equal(attest(), 0);
    wait_number(T.oracle, "price()(uint256)", price);
    SEND(AGENT_KEY, T.loan, "setBalance(address,uint256)", AGENT_ADDR, AGENT_FUNDS);
}

/* The fund halves: the loan is at 160%. */
static void lend_and_drop(void)
{
    lend_and_drop_to("500000", "490000000000000000000000000000");
}

/* ------------------------------------------------------------------ the manager */

#define MANAGE_ARGV 64

/* custos-attestor manage for the pledge with its liquidation agent: one pass with --once,
 * otherwise a daemon passing every 50 ms. */
static void manage_argv(bool once, const char *argv[MANAGE_ARGV])
{
    static char metrics[1300];
    snprintf(metrics, sizeof metrics, "%s/manager.prom", T.gw.dir);
    const char *const words[] = {
        CUSTOS_ATTESTOR_BIN, "manage", "--account-id", T.account, "--lender", T.morpho,
        "--loan-decimals", "6", "--loan-price-usd", "1", "--margin-return-ltv", "4000",
        "--margin-call-ltv", "7000", "--liquidation-ltv", "9000", "--hysteresis", "100",
        "--cure-seconds", "86400", "--state", T.manager_state, "--chain-id", "31337",
        "--contract", T.adapter, "--key", T.key, "--gateway", T.gw.target, "--insecure",
        "--metrics-textfile", metrics, "--agent-key", T.agent_key, "--rpc", T.url, "--feed",
        GWF_FEED, "--attestor-state", T.state, once ? "--once" : "--interval-ms",
        once ? NULL : "50"};
    size_t n = 0;
    for (; n < sizeof words / sizeof words[0] && words[n] != NULL; n++)
        argv[n] = words[n];
    if (T.book) {
        const char *const book[] = {"--holdings", T.holdings, "--prices", T.prices, "--policy",
                                    T.policy, "--sales-journal", T.journal};
        for (size_t i = 0; i < sizeof book / sizeof book[0]; i++)
            argv[n++] = book[i];
    }
    assert_true(n < MANAGE_ARGV);
    argv[n] = NULL;
}

/* One pass; its exit status (-1: killed by a signal), its output in out. */
static int manage_once(void)
{
    const char *argv[MANAGE_ARGV];
    manage_argv(true, argv);
    int rc = run(argv);
    fprintf(stderr, "$ custos-attestor manage --once -> %d\n%s\n", rc, out);
    return rc;
}

/* The step the manager's state file records ("none" before a liquidation). */
static void logged_step(char *dst, size_t cap)
{
    json_error_t jerr;
    json_t *s = json_load_file(T.manager_state, 0, &jerr);
    const char *step =
        json_string_value(json_object_get(json_object_get(s, "liquidation"), "step"));
    snprintf(dst, cap, "%s", step != NULL ? step : "none");
    json_decref(s);
}

/* What must hold whenever the manager stops, whatever it was doing: no release is signed
 * while the borrower owes anything. */
static void check_no_early_release(uint64_t before_liquidation)
{
    if (borrow_shares() != 0 && last_sequence() != before_liquidation)
        fail_msg("a release was signed (sequence %llu) while the debt is there",
                 (unsigned long long)last_sequence());
    if (borrow_shares() != 0 && latest_kind() == CUSTOS_KIND_RELEASE)
        fail_msg("the gateway holds a release while the debt is there");
}

/* Restarts the manager (one pass at a time) until the liquidation is over. */
static void finish(uint64_t before_liquidation)
{
    for (int pass = 0;; pass++) {
        if (pass == MAX_PASSES)
            fail_msg("the liquidation did not end in %d passes", MAX_PASSES);
        int rc = manage_once();
        if (rc != 0)
            fail_msg("manage --once exited %d", rc);
        check_no_early_release(before_liquidation);
        char step[32];
        logged_step(step, sizeof step);
        if (strcmp(step, "release_accepted") == 0)
            break;
    }
}

/* The liquidation happened once: two transactions of the agent (approve, repay), the
 * agent's balance down by the debt (interest of a few blocks at most 1% more), the debt
 * zero, one release accepted, the last thing the gateway holds for the account. */
static void check_once(unsigned long long nonce0, unsigned long long debt,
                       uint64_t before_liquidation)
{
    assert_true(borrow_shares() == 0);
    unsigned long long paid = strtoull(AGENT_FUNDS, NULL, 10) - agent_balance();
    if (paid < debt || paid > debt + debt / 100 + 1)
        fail_msg("the agent paid %llu for a debt of %llu", paid, debt);
    unsigned long long nonce = agent_nonce();
    if (nonce != nonce0 + 2)
        fail_msg("the agent sent %llu transactions; expected an approve and a repay",
                 nonce - nonce0);
    if (last_sequence() != before_liquidation + 1)
        fail_msg("%llu releases signed; expected one",
                 (unsigned long long)(last_sequence() - before_liquidation));
    assert_int_equal(latest_kind(), CUSTOS_KIND_RELEASE);
    /* A further pass does nothing more. */
    assert_int_equal(manage_once(), 0);
    assert_non_null(strstr(out, "released after liquidation"));
    assert_true(agent_nonce() == nonce0 + 2);
    assert_true(last_sequence() == before_liquidation + 1);
}

/* The debt as the gateway reads it (loan-token units). */
static unsigned long long gateway_debt(void)
{
    uint8_t account[CUSTOS_HASH_LEN], lender[CUSTOS_ADDRESS_LEN];
    custos_account_id(GWF_FEED, REF, account);
    custos_error err;
    assert_int_equal(custos_address_from_hex(T.morpho, lender, &err), CUSTOS_OK);
    custos_pledge *p = NULL;
    if (custos_client_get_pledge(T.gw.client, account, lender, &p, &err) != CUSTOS_OK) {
        fail_msg("GetPledge: %s", err.message);
        return 0;
    }
    unsigned long long debt = (unsigned long long)p->debt.limb[0];
    custos_pledge_free(p);
    return debt;
}

/* ------------------------------------------------------------------ scenarios */

typedef enum kill_how { KILL_HOOK, KILL_SIGNAL } kill_how;

typedef struct kill_case {
    const char *name;
    const char *step;
    kill_how how;
} kill_case;

static const kill_case KILL_CASES[] = {
    {"kill_hook_decided", "decided", KILL_HOOK},
    {"kill_hook_repay_sent", "repay_sent", KILL_HOOK},
    {"kill_hook_repay_mined", "repay_mined", KILL_HOOK},
    {"kill_hook_release_signed", "release_signed", KILL_HOOK},
    {"kill_hook_release_accepted", "release_accepted", KILL_HOOK},
    {"kill_signal_decided", "decided", KILL_SIGNAL},
    {"kill_signal_repay_sent", "repay_sent", KILL_SIGNAL},
    {"kill_signal_repay_mined", "repay_mined", KILL_SIGNAL},
    {"kill_signal_release_signed", "release_signed", KILL_SIGNAL},
    {"kill_signal_release_accepted", "release_accepted", KILL_SIGNAL},
};
#define N_KILL_CASES (sizeof KILL_CASES / sizeof KILL_CASES[0])

static const kill_case *the_case;

/* The hook: passes with the hook set until one dies of it, at the step. */
static void kill_by_hook(const kill_case *c, uint64_t before_liquidation)
{
    setenv(KILL_ENV, c->step, 1);
    int rc = 0;
    for (int pass = 0; pass < MAX_PASSES && rc != -1; pass++) {
        rc = manage_once();
        check_no_early_release(before_liquidation);
    }
    unsetenv(KILL_ENV);
    if (rc != -1)
        fail_msg("the manager was never killed at %s", c->step);
}

/* The steps in their order, to tell an earlier one from a later one. */
static int step_rank(const char *step)
{
    static const char *const steps[] = {"none", "decided", "repay_sent", "repay_mined",
                                        "release_signed", "release_accepted"};
    for (int i = 0; i < (int)(sizeof steps / sizeof steps[0]); i++)
        if (strcmp(step, steps[i]) == 0)
            return i;
    fail_msg("unknown step %s", step);
    return -1;
}

/* A daemon, SIGKILLed at the first sight of the step, or of a later one when a pass went
 * past it between two looks, in its state file (it may be acting on it). */
static void kill_by_signal(const kill_case *c)
{
    const char *argv[MANAGE_ARGV];
    manage_argv(false, argv);
    char log_path[1300];
    snprintf(log_path, sizeof log_path, "%s/manager.log", T.gw.dir);
    tu_proc manager;
    tu_spawn(&manager, argv, log_path);
    for (int waited = 0;; waited += 5) {
        char step[32];
        logged_step(step, sizeof step);
        if (step_rank(step) >= step_rank(c->step))
            break;
        if (waited >= WAIT_MS) {
            tu_stop(&manager, SIGKILL, 0);
            fail_msg("the manager never logged %s (last %s)", c->step, step);
        }
        usleep(5 * 1000);
    }
    assert_int_equal(tu_stop(&manager, SIGKILL, 0), 128 + SIGKILL);
    char *log = tu_read_file(log_path);
    fprintf(stderr, "--- the daemon, killed at %s ---\n%s\n", c->step, log != NULL ? log : "");
    free(log);
}

static void test_kill_at_step(void **state)
{
    (void)state;
    const kill_case *c = the_case;
    lend_and_drop();
    unsigned long long nonce0 = agent_nonce(), debt = gateway_debt();
    assert_true(debt > 0);
    uint64_t before_liquidation = last_sequence();
    if (c->how == KILL_HOOK)
        kill_by_hook(c, before_liquidation);
    else
        kill_by_signal(c);
    char step[32];
    logged_step(step, sizeof step);
    if (c->how == KILL_HOOK && strcmp(step, c->step) != 0)
        fail_msg("killed at %s, the state file says %s", c->step, step);
    check_no_early_release(before_liquidation);
    finish(before_liquidation);
    check_once(nonce0, debt, before_liquidation);
}

/* The metric's value in the manager's textfile. */
static unsigned long long metric(const char *name)
{
    char path[1300], prefix[128];
    snprintf(path, sizeof path, "%s/manager.prom", T.gw.dir);
    snprintf(prefix, sizeof prefix, "\n%s{", name);
    char *text = tu_read_file(path);
    const char *at = text != NULL ? strstr(text, prefix) : NULL;
    const char *value = at != NULL ? strstr(at, "} ") : NULL;
    if (value == NULL)
        fail_msg("%s: no %s", path, name);
    unsigned long long v = strtoull(value + 2, NULL, 10);
    free(text);
    return v;
}

/* repay_reverts (docs/lending.md §11): the repay is signed, the borrower repays half of its
 * shares before it is sent, so the repay (for the whole shares read before) reverts. The
 * manager records the revert, says it, signs no release; with the agent's balance then
 * emptied it sends nothing (the repay would revert) until the balance is back, and then
 * repays the shares left, once. */
static void test_repay_reverts(void **state)
{
    (void)state;
    lend_and_drop();
    unsigned long long nonce0 = agent_nonce();
    uint64_t before_liquidation = last_sequence();
    setenv(KILL_ENV, "repay_sent", 1);
    assert_int_equal(manage_once(), -1);
    unsetenv(KILL_ENV);
    /* The borrower repays half of its shares from what it borrowed. */
    char half[32];
    snprintf(half, sizeof half, "%llu", borrow_shares() / 2);
    SEND(BORROWER_KEY, T.loan, "approve(address,uint256)", T.morpho, MAX_UINT);
    SEND(BORROWER_KEY, T.morpho, "repay(" MP_TYPE ",uint256,uint256,address,bytes)",
         market_params(), "0", half, BORROWER_ADDR, "0x");
    unsigned long long debt_left = gateway_debt();
    /* The restart sends the logged approve and repay; the repay reverts. */
    assert_int_equal(manage_once(), 0);
    check_no_early_release(before_liquidation);
    assert_true(agent_nonce() == nonce0 + 2);
    assert_true(agent_balance() == strtoull(AGENT_FUNDS, NULL, 10));
    assert_int_equal(manage_once(), 0);
    if (strstr(out, "reverted in block") == NULL || strstr(out, "repaid nothing") == NULL)
        fail_msg("the revert is not said:\n%s", out);
    assert_non_null(strstr(out, "liquidation decided"));
    check_no_early_release(before_liquidation);
    assert_true(metric("custos_loan_liquidation_repay_reverts_total") == 1);
    char *log = tu_read_file(T.manager_state);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"reverts\": \"1\""));
    free(log);
    /* The agent's tokens gone: nothing is sent, the manager says why and waits. */
    SEND(OUTSIDER_KEY, T.loan, "setBalance(address,uint256)", AGENT_ADDR, "0");
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(manage_once(), 0);
        assert_non_null(strstr(out, "less than the debt"));
        assert_true(agent_nonce() == nonce0 + 2);
        assert_true(metric("custos_loan_liquidation_waiting") == 1);
        check_no_early_release(before_liquidation);
    }
    /* The cause fixed: the shares left are repaid, once, and the release follows. */
    SEND(OUTSIDER_KEY, T.loan, "setBalance(address,uint256)", AGENT_ADDR, AGENT_FUNDS);
    finish(before_liquidation);
    assert_true(borrow_shares() == 0);
    assert_true(metric("custos_loan_liquidation_waiting") == 0);
    assert_true(metric("custos_loan_liquidation_repay_reverts_total") == 1);
    unsigned long long paid = strtoull(AGENT_FUNDS, NULL, 10) - agent_balance();
    if (paid < debt_left || paid > debt_left + debt_left / 100 + 1)
        fail_msg("the agent paid %llu for a debt of %llu", paid, debt_left);
    /* The reverted pair and one more approve and repay. */
    assert_true(agent_nonce() == nonce0 + 4);
    assert_true(last_sequence() == before_liquidation + 1);
    assert_int_equal(latest_kind(), CUSTOS_KIND_RELEASE);
}

/* book_sale (docs/custodian.md §14): the fund falls to 850,000 shares ($833,000 after the
 * haircut, LTV 94%); the agent repays about 784,000 units, so 784,001 shares are sold (whole
 * shares covering it at $1) and 65,999 remain. The sales journal says so, with the repay's
 * transaction and the assets its Repay event moved (the agent's balance drop, exactly); the
 * book holds what is left, and the next valuation values it. */
static void test_book_sale(void **state)
{
    (void)state;
    T.book = true;
    lend_and_drop_to("850000", "833000000000000000000000000000");
    uint64_t before_liquidation = last_sequence();
    finish(before_liquidation);
    unsigned long long paid = strtoull(AGENT_FUNDS, NULL, 10) - agent_balance();
    char *text = tu_read_file(T.journal);
    assert_non_null(text);
    json_error_t jerr;
    json_t *e = json_loads(text, JSON_DISABLE_EOF_CHECK, &jerr);
    if (e == NULL || strchr(text, '\n') != text + strlen(text) - 1)
        fail_msg("the journal is not one sale:\n%s", text);
    free(text);
    char want[64];
    snprintf(want, sizeof want, "%llu", paid);
    assert_string_equal(str_of(e, "repaidAssets"), want);
    json_t *st = json_load_file(T.manager_state, 0, &jerr);
    assert_non_null(st);
    json_t *liq = json_object_get(st, "liquidation");
    assert_true(strcasecmp(str_of(e, "repayTx"), str_of(liq, "repayHash")) == 0);
    assert_true(json_is_true(json_object_get(liq, "bookRecorded")));
    assert_string_equal(str_of(e, "ref"), REF);
    assert_true(strcasecmp(str_of(e, "account"), T.account) == 0);
    /* Whole shares at $1 covering the repaid USD (784,000 and a few blocks' interest). */
    unsigned long long sold_shares = (paid + 999999) / 1000000;
    json_t *sold = json_object_get(e, "sold");
    assert_int_equal(json_array_size(sold), 1);
    json_t *s0 = json_array_get(sold, 0);
    assert_string_equal(str_of(s0, "asset"), "MMF-GOVT-INST");
    snprintf(want, sizeof want, "%llu", sold_shares);
    assert_string_equal(str_of(s0, "quantity"), want);
    assert_string_equal(str_of(s0, "proceedsUsd"), want);
    assert_string_equal(str_of(e, "proceedsUsd"), want);
    assert_string_equal(str_of(e, "shortfallUsd"), "0");
    char left[64];
    snprintf(left, sizeof left, "%llu", 850000ull - sold_shares);
    json_t *remaining = json_object_get(e, "remaining");
    assert_int_equal(json_array_size(remaining), 1);
    assert_string_equal(str_of(json_array_get(remaining, 0), "quantity"), left);
    json_decref(st);
    json_decref(e);
    /* The book: the account holds what is left. */
    json_t *book = json_load_file(T.holdings, 0, &jerr);
    assert_non_null(book);
    json_t *acc = json_array_get(json_object_get(book, "accounts"), 0);
    json_t *pos = json_object_get(acc, "positions");
    assert_int_equal(json_array_size(pos), 1);
    assert_string_equal(str_of(json_array_get(pos, 0), "quantity"), left);
    json_decref(book);
    /* The next valuation values what is left: 65,999 shares at $1. */
    char export_path[1300];
    snprintf(export_path, sizeof export_path, "%s/next.json", T.gw.dir);
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "attest", "--account", REF, "--holdings",
                          T.holdings, "--key", T.key, "--feed", GWF_FEED, "--chain-id", "31337",
                          "--contract", T.adapter, "--state", T.state, "--policy", T.policy,
                          "--prices", T.prices, "--registry", T.pledges, "--export",
                          export_path, NULL};
    if (run(argv) != 0)
        fail_msg("attest --export: %s", out);
    char gross[96];
    snprintf(gross, sizeof gross, "gross        %s USD", left);
    if (strstr(out, gross) == NULL)
        fail_msg("the next valuation is not of what is left (%s):\n%s", gross, out);
}

/* ------------------------------------------------------------------ main */

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&T.gw);
    if (tu_anvil_start(&T.anvil, T.gw.dir, T.url, sizeof T.url) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&T.gw);
    if (status != 0)
        gwf_dump_log(&T.gw);
    if (T.anvil.pid > 0)
        tu_stop(&T.anvil, SIGTERM, 5000);
    gwf_cleanup(&T.gw);
    return status == 0 ? 0 : -1;
}

/* The fixture of the scenario entries: the contracts they deploy, built once. */
static void test_build_contracts(void **state)
{
    (void)state;
    const char *build[] = {"/bin/bash", BUILD_CONTRACTS, NULL};
    if (run(build) != 0)
        fail_msg("build-contracts.sh failed:\n%s", out);
    /* The loan token is the forge tests' LoanToken (Morpho's ERC20Mock with decimals). */
    const char *build_tests[] = {"/bin/bash", RUN_FORGE, "build", NULL};
    if (run(build_tests) != 0)
        fail_msg("run-forge.sh build failed:\n%s", out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        const struct CMUnitTest build[] = {cmocka_unit_test(test_build_contracts)};
        return cmocka_run_group_tests(build, NULL, NULL);
    }
    for (size_t i = 0; i < N_KILL_CASES; i++)
        if (strcmp(argv[1], KILL_CASES[i].name) == 0) {
            the_case = &KILL_CASES[i];
            const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_kill_at_step, NULL, NULL)};
            return cmocka_run_group_tests(tests, group_setup, group_teardown);
        }
    if (strcmp(argv[1], "book_sale") == 0) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_book_sale)};
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
    }
    if (strcmp(argv[1], "repay_reverts") == 0) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_repay_reverts)};
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
    }
    fprintf(stderr, "test_liquidation_anvil: unknown scenario %s\n", argv[1]);
    return 2;
}
