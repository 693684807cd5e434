/* Lending end to end (rule 11), through the real binaries on anvil: Morpho Blue deployed
 * from its unmodified 0.8.19 build (deploy/contracts/out-morpho) with its IrmMock and a
 * 6-decimal loan token; deploy.mjs makes two pledges of custodian accounts to it, each with
 * its receipt, oracle and market; custos-gateway with [evm] publishes what custos-attestor
 * values and signs; the lender, the borrower, an outsider and the custodian's agent act
 * with cast (anvil's development accounts). The story: a borrow up to the LLTV against the
 * gateway-published value (one unit more reverts), a lower value making the position
 * unhealthy, a third party's liquidation reverting, a freeze stopping borrowing and
 * collateral withdrawal, a release refused by the gateway while the debt is outstanding
 * (the registry says the adapter would refuse it too), the manager's liquidation agent
 * repaying on the borrower's behalf exactly once (after the manager was SIGKILLed with
 * the repay sent, the node lost it, and other transactions took its nonces) and the manager's release then accepted and ending the pledge on-chain,
 * the receipt priced 0; and on the second pledge, the lender's consent letting a release through while
 * the debt remains. custos pledge shows each pledge as the gateway reads it. The
 * collateral manager (custos-attestor manage) calls a margin at the borrow and declares the
 * liquidation after the drop; custos notices lists both, verified, ethers recovers the
 * custodian from each, and each is relayed on-chain to CustosNotices (deploy.mjs deploys
 * it), which accepts it. On the second pledge, a manager reading the chain itself (--rpc)
 * and publishing its notices to CustosNotices itself (--notices-contract) follows a borrow
 * at 60% LTV, a valuation drop into margin call and a cure by repayment, each at its block
 * or valuation (its interval is 10 minutes); each notice's event matches the one the
 * gateway serves, which ethers verifies; a restart publishes nothing twice. */
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "gwfixture.h"
#include "lendfixture.h"

/* The fixture's names, as this test has always spelled them. */
#define T LF
#define out lf_out
#define run lf_run
#define cast lf_cast
#define market_params lf_market_params
#define call_json lf_call_json
#define number_at lf_number_at
#define call_number lf_call_number
#define expect_number lf_expect_number
#define wait_number lf_wait_number
#define write_key lf_write_key
#define str_of lf_str_of
#define deploy lf_deploy
#define write_gateway_config lf_write_gateway_config
#define write_holdings lf_write_holdings
#define write_attestor_files lf_write_attestor_files
#define group_setup lf_group_setup
#define group_teardown lf_group_teardown
#define attestor lf_attestor


/* The attestor's last sequence for pledge i's account (its state file). */
static uint64_t last_sequence(int i)
{
    json_error_t jerr;
    json_t *s = json_load_file(T.state, 0, &jerr);
    if (s == NULL)
        fail_msg("%s: %s", T.state, jerr.text);
    json_t *v = NULL;
    const char *k;
    json_t *x;
    json_object_foreach(s, k, x) if (strcasecmp(k, T.account[i]) == 0) v = x;
    uint64_t last = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
    json_decref(s);
    return last;
}

/* custos pledge for ref: the JSON document it prints (caller frees). */
static json_t *cli_pledge(const char *ref)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "pledge", "--gateway", T.gw.target, "--insecure",
                          "--custodian", GWF_FEED, "--ref", ref, NULL};
    char doc[8192];
    int rc = tu_run(argv, doc, sizeof doc, 0);
    if (rc != 0)
        fail_msg("custos pledge %s exited %d: %s", ref, rc, doc);
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    if (!json_is_object(j))
        fail_msg("custos pledge %s: not JSON: %s", ref, doc);
    return j;
}

static void assert_same(const char *got, const char *want)
{
    if (got == NULL || strcasecmp(got, want) != 0)
        fail_msg("got %s, expected %s", got != NULL ? got : "(null)", want);
}

static const char *exposure_of(json_t *p, const char *key)
{
    return json_string_value(json_object_get(json_object_get(p, "exposure"), key));
}

/* The borrower's debt shares in market i (Morpho's position). */
static void borrow_shares(int i, char *dst, size_t cap)
{
    json_t *j = call_json(T.morpho, "position(bytes32,address)(uint256,uint128,uint128)",
                          T.market_id[i], BORROWER_ADDR, NULL);
    snprintf(dst, cap, "%s", number_at(j, 1));
    json_decref(j);
}

/* releaseBlocked(account i, Morpho, sequence): the registry's own answer, which the
 * adapter applies when the release lands. */
static json_t *release_blocked(int i, uint64_t sequence)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)sequence);
    return call_json(T.registry, "releaseBlocked(bytes32,address,uint64)(bool,uint256,uint256,bool)",
                     T.account[i], T.morpho, seq);
}

/* custos-attestor manage --once for pledge 0 (the collateral manager, docs/lending.md
 * §3): margin call at 70% LTV, liquidation at 90%, a day to cure; with agent_key, its
 * liquidation agent too (§5); returns its exit status, its output in out. */
static char manager_state[1300];

/* Its argv: one pass with --once, a daemon passing every 100 ms without. */
#define MANAGE_ARGV 64

static void manage_argv(const char *agent_key, bool once, const char *argv[MANAGE_ARGV])
{
    static char metrics[1300];
    snprintf(manager_state, sizeof manager_state, "%s/manager.json", T.gw.dir);
    snprintf(metrics, sizeof metrics, "%s/manager.prom", T.gw.dir);
    const char *const words[] = {
        CUSTOS_ATTESTOR_BIN, "manage", "--account-id", T.account[0], "--lender", T.morpho,
        "--loan-decimals", "6", "--loan-price-usd", "1", "--margin-return-ltv", "4000",
        "--margin-call-ltv", "7000", "--liquidation-ltv", "9000", "--hysteresis", "100",
        "--cure-seconds", "86400", "--state", manager_state, "--chain-id", "31337",
        "--contract", T.adapter, "--key", T.key, "--gateway", T.gw.target, "--insecure",
        "--metrics-textfile", metrics, once ? "--once" : "--interval-ms", once ? NULL : "100"};
    size_t n = 0;
    for (; n < sizeof words / sizeof words[0] && words[n] != NULL; n++)
        argv[n] = words[n];
    if (agent_key != NULL) {
        const char *const agent[] = {"--agent-key", agent_key, "--rpc", T.url, "--feed",
                                     GWF_FEED, "--attestor-state", T.state};
        for (size_t i = 0; i < sizeof agent / sizeof agent[0]; i++)
            argv[n++] = agent[i];
    }
    assert_true(n < MANAGE_ARGV);
    argv[n] = NULL;
}

static int manage_run(const char *agent_key)
{
    const char *argv[MANAGE_ARGV];
    manage_argv(agent_key, true, argv);
    int rc = run(argv);
    fprintf(stderr, "$ custos-attestor manage --once -> %d\n%s\n", rc, out);
    return rc;
}

/* Relays REF1's newest notice, as custos notices serves it, to CustosNotices (anyone may:
 * the outsider does), which checks it against the adapter and emits it. */
static void relay_newest_notice(void)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "notices", "--gateway", T.gw.target, "--insecure",
                          "--custodian", GWF_FEED, "--ref", REF1, "--limit", "1", NULL};
    char doc[16384];
    if (tu_run(argv, doc, sizeof doc, 0) != 0)
        fail_msg("custos notices: %s", doc);
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    json_t *signed_ = json_object_get(json_array_get(json_object_get(j, "notices"), 0), "signed");
    json_t *m = json_object_get(json_object_get(signed_, "typedData"), "message");
    if (m == NULL)
        fail_msg("custos notices: no signed notice:\n%s", doc);
    char tuple[1024], sig[160];
    snprintf(tuple, sizeof tuple, "(%s,%s,%lld,%lld,%s,%s,%s,%s)", str_of(m, "account"),
             str_of(m, "lender"), (long long)json_integer_value(json_object_get(m, "state")),
             (long long)json_integer_value(json_object_get(m, "ltvBps")), str_of(m, "exposure"),
             str_of(m, "collateralValue"), str_of(m, "deadline"), str_of(m, "sequence"));
    snprintf(sig, sizeof sig, "%s", str_of(signed_, "signature"));
    json_decref(j);
    SEND(OUTSIDER_KEY, T.notices,
         "publish((bytes32,address,uint8,uint32,uint256,uint256,uint64,uint64),bytes)", tuple,
         sig);
}

/* The manager's pass printed an LTV in [lo, hi] and then rest. */
static void expect_ltv(unsigned lo, unsigned hi, const char *rest)
{
    const char *at = strstr(out, "ltv_bps ");
    unsigned ltv = 0;
    char tail[128] = "";
    if (at == NULL || sscanf(at, "ltv_bps %u %127[^\n]", &ltv, tail) != 2 || ltv < lo ||
        ltv > hi || strcmp(tail, rest) != 0)
        fail_msg("want ltv_bps %u..%u %s; the manager printed:\n%s", lo, hi, rest, out);
}

/* custos notices for REF1: each notice's state, newest first, each verified by custos and
 * by ethers' verifyTypedData against the custodian's key. */
static void expect_notices_of(const char *ref, const char *const *states, size_t n)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "notices", "--gateway", T.gw.target, "--insecure",
                          "--custodian", GWF_FEED, "--ref", ref, NULL};
    char doc[32768];
    int rc = tu_run(argv, doc, sizeof doc, 0);
    if (rc != 0)
        fail_msg("custos notices exited %d: %s", rc, doc);
    json_error_t jerr;
    json_t *j = json_loads(doc, 0, &jerr);
    json_t *list = json_object_get(j, "notices");
    if (json_array_size(list) != n)
        fail_msg("want %zu notices, got:\n%s", n, doc);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(list, i);
        assert_string_equal(str_of(e, "state"), states[i]);
        assert_true(json_is_true(json_object_get(e, "verified")));
        char path[1300];
        snprintf(path, sizeof path, "%s/notice-%zu.json", T.gw.dir, i);
        char *text = json_dumps(json_object_get(e, "signed"), 0);
        assert_non_null(text);
        tu_write_file(path, text);
        free(text);
        const char *args[] = {path, NULL};
        char check[4096], want[128];
        if (tu_node("notice_check.mjs", args, check, sizeof check) != 0)
            fail_msg("notice_check.mjs: %s", check);
        snprintf(want, sizeof want, "recovered %s", T.gw.keys[GWF_KEY_CUSTODIAN].hex);
        if (strstr(check, want) == NULL)
            fail_msg("ethers does not recover the custodian: %s", check);
    }
    json_decref(j);
}

static void expect_notices(const char *const *states, size_t n)
{
    expect_notices_of(REF1, states, n);
}

/* ------------------------------------------------------------------ the second pledge's
 * manager: reading the chain itself, publishing its notices itself */

/* Its daemon: reads the debt from the chain (--rpc), publishes to CustosNotices from its
 * own relayer key, and passes only on a new block or valuation (its interval is 10
 * minutes, far beyond the test). */
static void manage2_argv_to(bool once, const char *notices, const char *argv[MANAGE_ARGV])
{
    static char state2[1300], metrics2[1300], relayer[1300];
    snprintf(state2, sizeof state2, "%s/manager2.json", T.gw.dir);
    snprintf(metrics2, sizeof metrics2, "%s/manager2.prom", T.gw.dir);
    snprintf(relayer, sizeof relayer, "%s/notice-relayer.key", T.gw.dir);
    if (access(relayer, F_OK) != 0)
        write_key(relayer, NOTICE_RELAYER_KEY);
    const char *const words[] = {
        CUSTOS_ATTESTOR_BIN, "manage", "--account-id", T.account[1], "--lender", T.morpho,
        "--loan-decimals", "6", "--loan-price-usd", "1", "--margin-return-ltv", "4000",
        "--margin-call-ltv", "7000", "--liquidation-ltv", "9000", "--hysteresis", "100",
        "--cure-seconds", "86400", "--state", state2, "--chain-id", "31337", "--contract",
        T.adapter, "--key", T.key, "--gateway", T.gw.target, "--insecure",
        "--metrics-textfile", metrics2, "--rpc", T.url, "--notices-contract", notices,
        "--relayer-key", relayer, "--poll-ms", "50", once ? "--once" : "--interval-ms",
        once ? NULL : "600000", NULL};
    size_t n = 0;
    for (; words[n] != NULL; n++)
        argv[n] = words[n];
    argv[n] = NULL;
}

static void manage2_argv(bool once, const char *argv[MANAGE_ARGV])
{
    manage2_argv_to(once, T.notices, argv);
}

/* Waits until CustosNotices holds sequence `want` of REF2's pledge. */
static void wait_published(const char *want, const char *log)
{
    char got[96] = "";
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        call_number(T.notices, "lastSequence(bytes32,address)(uint64)", T.account[1], T.morpho,
                    got, sizeof got);
        if (strcmp(got, want) == 0)
            return;
        usleep(100 * 1000);
    }
    char *text = tu_read_file(log);
    fail_msg("CustosNotices stayed at sequence %s, expected %s; the manager:\n%s", got, want,
             text != NULL ? text : "(no log)");
}

/* The newest CollateralNotice event of REF2's pledge: its notice matches the newest one
 * custos notices serves (whose signature ethers verified, expect_notices_of), its signer
 * is the custodian, and the manager's relayer sent it. */
static void expect_event_matches_gateway(const char *state_name)
{
    const char *keccak[] = {CAST_BIN, "keccak",
                            "CollateralNotice(bytes32,address,(bytes32,address,uint8,uint32,"
                            "uint256,uint256,uint64,uint64),address)",
                            NULL};
    assert_int_equal(run(keccak), 0);
    char topic0[67];
    assert_int_equal(strlen(out), 66);
    memcpy(topic0, out, sizeof topic0);
    if (cast("logs", "--json", "--from-block", "0", "--address", T.notices, topic0,
             T.account[1], NULL) != 0)
        fail_msg("cast logs: %s", out);
    json_error_t jerr;
    json_t *logs = json_loads(out, 0, &jerr);
    if (json_array_size(logs) == 0)
        fail_msg("no CollateralNotice event of the pledge: %s", out);
    json_t *last = json_array_get(logs, json_array_size(logs) - 1);
    const char *data = str_of(last, "data");
    char tx[67];
    snprintf(tx, sizeof tx, "%s", str_of(last, "transactionHash"));
    /* data: the notice's eight words, then the signer. */
    assert_int_equal(strlen(data), 2 + 9 * 64);
    char words[9][65];
    for (int i = 0; i < 9; i++) {
        memcpy(words[i], data + 2 + 64 * i, 64);
        words[i][64] = '\0';
    }
    json_decref(logs);
    const char *argv[] = {CUSTOS_CLI_BIN, "notices", "--gateway", T.gw.target, "--insecure",
                          "--custodian", GWF_FEED, "--ref", REF2, "--limit", "1", NULL};
    char doc[16384];
    if (tu_run(argv, doc, sizeof doc, 0) != 0)
        fail_msg("custos notices: %s", doc);
    json_t *j = json_loads(doc, 0, &jerr);
    json_t *e = json_array_get(json_object_get(j, "notices"), 0);
    assert_string_equal(str_of(e, "state"), state_name);
    json_t *m = json_object_get(json_object_get(json_object_get(e, "signed"), "typedData"),
                                "message");
    static const char *const fields[8] = {"account", "lender", "state", "ltvBps",
                                          "exposure", "collateralValue", "deadline",
                                          "sequence"};
    for (int i = 0; i < 8; i++) {
        json_t *v = json_object_get(m, fields[i]);
        char want[96];
        if (json_is_integer(v))
            snprintf(want, sizeof want, "%lld", (long long)json_integer_value(v));
        else
            snprintf(want, sizeof want, "%s", json_string_value(v));
        char word[67] = "0x";
        memcpy(word + 2, words[i], 65);
        if (i < 2) {
            /* bytes32 and address: compared as hex, the address right-aligned. */
            const char *hex = want + 2;
            size_t len = strlen(hex);
            if (strncasecmp(words[i] + 64 - len, hex, len) != 0)
                fail_msg("event %s %s, the gateway's %s", fields[i], word, want);
        } else {
            const char *to_dec[] = {CAST_BIN, "to-dec", word, NULL};
            assert_int_equal(run(to_dec), 0);
            if (strcmp(out, want) != 0)
                fail_msg("event %s %s, the gateway's %s", fields[i], out, want);
        }
    }
    json_decref(j);
    if (strncasecmp(words[8] + 24, T.gw.keys[GWF_KEY_CUSTODIAN].hex + 2, 40) != 0)
        fail_msg("the event's signer is %s, not the custodian", words[8]);
    assert_int_equal(cast("tx", tx, "from", NULL), 0);
    assert_same(out, NOTICE_RELAYER_ADDR);
}

/* Watch from the start of the log (custos watch --notices): ethers checks every notice's
 * signature and every chain link (tests/js/watch_notice_check.mjs), and REF2's notice of
 * state `state` and sequence `seq` is among them. */
static void expect_on_watch(int state, const char *seq)
{
    static char doc[262144];
    const char *argv[] = {CUSTOS_CLI_BIN, "watch", "--gateway", T.gw.target, "--insecure",
                          "--notices", "--after", "0", "--idle-timeout-ms", "700", NULL};
    int rc = tu_run(argv, doc, sizeof doc, 0);
    if (rc != 0)
        fail_msg("custos watch --notices exited %d:\n%s", rc, doc);
    char path[1300];
    snprintf(path, sizeof path, "%s/watch.jsonl", T.gw.dir);
    tu_write_file(path, doc);
    const char *args[] = {path, T.gw.keys[GWF_KEY_CUSTODIAN].hex, NULL};
    char res[16384];
    if (tu_node("watch_notice_check.mjs", args, res, sizeof res) != 0)
        fail_msg("ethers does not accept what Watch sent:\n%s", res);
    bool found = false;
    for (char *line = strtok(doc, "\n"); line != NULL && !found; line = strtok(NULL, "\n")) {
        json_error_t jerr;
        json_t *ev = json_loads(line, 0, &jerr);
        json_t *m = json_object_get(
            json_object_get(json_object_get(json_object_get(ev, "notice"), "signed"),
                            "typedData"),
            "message");
        const char *account = json_string_value(json_object_get(m, "account"));
        found = m != NULL && account != NULL && strcasecmp(account, T.account[1]) == 0 &&
                json_integer_value(json_object_get(m, "state")) == state &&
                strcmp(str_of(m, "sequence"), seq) == 0;
        json_decref(ev);
    }
    if (!found)
        fail_msg("Watch has no notice of state %d sequence %s of the pledge", state, seq);
}

/* The gauge `name` of manager2.prom, or -1 while it is not there. */
static long long manage2_gauge(const char *name)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/manager2.prom", T.gw.dir);
    char *text = tu_read_file(path);
    const char *at = text != NULL ? strstr(text, name) : NULL;
    const char *value = at != NULL ? strstr(at, "} ") : NULL;
    long long v = value != NULL ? strtoll(value + 2, NULL, 10) : -1;
    free(text);
    return v;
}

/* A publication sent, then lost by the node (as after a crash right after the send): a
 * further repayment to 36.7% (margin return, notice 5) with blocks mined by hand; the pass
 * that signs the notice sends its publication and exits; the node drops it; the next pass
 * sends the very same transaction (the hash the state file logged). Lost again and its
 * nonce taken by another transaction of the relayer, it is replaced by a new one. That one
 * is mined and reverts (CustosNotices' code swapped for a bare revert for that block): a
 * pass says so and clears it, the next sends a third, and the notice lands once. */
static void publication_survives_restarts(void)
{
    assert_int_equal(cast("rpc", "evm_setAutomine", "false", NULL), 0);
    /* A fixed gas limit, as SEND's: mined a second after it is estimated, the repayment
     * also accrues Morpho's interest. */
    assert_int_equal(cast("send", "--async", "--private-key", BORROWER_KEY, "--gas-limit",
                          SEND_GAS, T.morpho, "repay(" MP_TYPE ",uint256,uint256,address,bytes)",
                          market_params(1), "10000000000", "0", BORROWER_ADDR, "0x", NULL),
                     0);
    char repay_tx[67];
    assert_int_equal(strlen(out), 66);
    memcpy(repay_tx, out, sizeof repay_tx);
    assert_int_equal(cast("rpc", "evm_mine", NULL), 0);
    assert_int_equal(cast("receipt", repay_tx, "status", NULL), 0);
    assert_string_equal(out, "true");
    const char *once[MANAGE_ARGV];
    manage2_argv(true, once);
    assert_int_equal(run(once), 0);
    fprintf(stderr, "$ custos-attestor manage --once (no automine) -> 0\n%s\n", out);
    assert_non_null(strstr(out, "notice margin_return sequence 5 ACCEPTED"));
    assert_null(strstr(out, "ON-CHAIN"));
    char state2[1300];
    snprintf(state2, sizeof state2, "%s/manager2.json", T.gw.dir);
    json_error_t jerr;
    json_t *st = json_load_file(state2, 0, &jerr);
    char hash[67];
    snprintf(hash, sizeof hash, "%s",
             str_of(json_object_get(st, "publication"), "txHash"));
    json_decref(st);
    assert_int_equal(cast("rpc", "eth_getTransactionByHash", hash, NULL), 0);
    assert_string_not_equal(out, "null");
    assert_int_equal(cast("rpc", "anvil_dropAllTransactions", NULL), 0);
    assert_int_equal(cast("rpc", "eth_getTransactionByHash", hash, NULL), 0);
    assert_string_equal(out, "null");
    assert_int_equal(run(once), 0);
    assert_null(strstr(out, "ON-CHAIN"));
    assert_null(strstr(out, "publication"));
    assert_int_equal(cast("rpc", "eth_getTransactionByHash", hash, NULL), 0);
    assert_string_not_equal(out, "null");
    /* Lost again, and the relayer's key spends its nonce on another transaction: the logged
     * publication can never be mined, so a pass clears it and the next signs a new one. */
    assert_int_equal(cast("rpc", "anvil_dropAllTransactions", NULL), 0);
    assert_int_equal(cast("send", "--async", "--private-key", NOTICE_RELAYER_KEY,
                          NOTICE_RELAYER_ADDR, "--value", "0", NULL),
                     0);
    assert_int_equal(cast("rpc", "evm_mine", NULL), 0);
    assert_int_equal(run(once), 0);
    assert_null(strstr(out, "ON-CHAIN"));
    assert_int_equal(run(once), 0);
    assert_null(strstr(out, "ON-CHAIN"));
    st = json_load_file(state2, 0, &jerr);
    char again[67];
    snprintf(again, sizeof again, "%s", str_of(json_object_get(st, "publication"), "txHash"));
    assert_string_not_equal(again, hash);
    json_decref(st);
    /* Mined in a block where CustosNotices reverts whatever it is sent (PUSH1 0 PUSH1 0
     * REVERT), its own code back right after. */
    assert_int_equal(cast("code", T.notices, NULL), 0);
    char *code = strdup(out);
    assert_non_null(code);
    assert_int_equal(cast("rpc", "anvil_setCode", T.notices, "0x60006000fd", NULL), 0);
    assert_int_equal(cast("rpc", "evm_mine", NULL), 0);
    assert_int_equal(cast("rpc", "anvil_setCode", T.notices, code, NULL), 0);
    free(code);
    assert_int_equal(run(once), 0);
    assert_non_null(strstr(out, "publication of notice margin_return sequence 5 reverted in "
                                "block"));
    assert_null(strstr(out, "ON-CHAIN"));
    assert_int_equal(manage2_gauge("custos_loan_notice_publish_failures_total{") > 0, 1);
    assert_int_equal(run(once), 0);
    assert_null(strstr(out, "ON-CHAIN"));
    st = json_load_file(state2, 0, &jerr);
    const char *third = str_of(json_object_get(st, "publication"), "txHash");
    assert_string_not_equal(third, hash);
    assert_string_not_equal(third, again);
    json_decref(st);
    assert_int_equal(cast("rpc", "evm_mine", NULL), 0);
    assert_int_equal(cast("rpc", "evm_setAutomine", "true", NULL), 0);
    assert_int_equal(run(once), 0);
    assert_non_null(strstr(out, "notice margin_return sequence 5 ON-CHAIN"));
    expect_number(T.notices, "lastSequence(bytes32,address)(uint64)", T.account[1], T.morpho,
                  "5");
    /* Four publications before, the transaction that took the nonce, the reverted one and
     * the one that landed. */
    assert_int_equal(cast("nonce", NOTICE_RELAYER_ADDR, NULL), 0);
    assert_string_equal(out, "7");
}

/* Waits until the gauge `name` of manager2.prom is in [lo, hi]: the manager writes its
 * metrics after the pass, a moment after the notice lands. */
static void manage2_wait_gauge(const char *name, long long lo, long long hi)
{
    long long v = -1;
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        v = manage2_gauge(name);
        if (v >= lo && v <= hi)
            return;
        usleep(50 * 1000);
    }
    fail_msg("%s stayed %lld, expected %lld..%lld", name, v, lo, hi);
}

/* Scenario 1 of the collateral manager on the second pledge ($98,000): a borrow at 60% LTV
 * read from the chain at its block, a valuation drop into margin call (the notice on-chain,
 * published by the manager, on the gateway and on Watch, verified by ethers), a cure by
 * repayment back to healthy, all followed by a manager whose interval is 10 minutes: it
 * reads on every new block and valuation. A publication that cannot be made is said,
 * counted and made by a later pass; one lost by the node is sent again as the same
 * transaction; a restart publishes nothing twice. */
static void scenario_margin_call_cured(void)
{
    /* A first pass publishing to a contract that is not CustosNotices (the adapter: its
     * lastSequence reverts): the notice is signed and delivered to the gateway, the failure
     * said and counted, nothing sent; the daemon below publishes that same notice. */
    const char *wrong[MANAGE_ARGV];
    manage2_argv_to(true, T.adapter, wrong);
    assert_int_equal(cast("nonce", NOTICE_RELAYER_ADDR, NULL), 0);
    assert_string_equal(out, "0");
    assert_int_equal(run(wrong), 0);
    fprintf(stderr, "$ custos-attestor manage --once (wrong contract) -> 0\n%s\n", out);
    assert_non_null(strstr(out, "notice margin_return sequence 1 ACCEPTED"));
    assert_non_null(strstr(out, "publication: CustosNotices' lastSequence cannot be read"));
    assert_non_null(strstr(out, "notice margin_return sequence 1 is published on a later pass"));
    assert_null(strstr(out, "ON-CHAIN"));
    assert_int_equal(manage2_gauge("custos_loan_notice_publish_failures_total{"), 1);
    assert_int_equal(cast("nonce", NOTICE_RELAYER_ADDR, NULL), 0);
    assert_string_equal(out, "0");
    const char *daemon[MANAGE_ARGV];
    manage2_argv(false, daemon);
    char log[1300];
    snprintf(log, sizeof log, "%s/manager2.log", T.gw.dir);
    tu_proc manager;
    tu_spawn(&manager, daemon, log);
    /* No debt yet: LTV 0 is below margin_return_ltv. */
    wait_published("1", log);
    SEND(BORROWER_KEY, T.morpho, "borrow(" MP_TYPE ",uint256,uint256,address,address)",
         market_params(1), "58800000000", "0", BORROWER_ADDR, BORROWER_ADDR);
    /* 58,800 against $98,000: 60%, back above margin return: healthy. */
    wait_published("2", log);
    manage2_wait_gauge("custos_loan_ltv_bps{", 6000, 6001);
    expect_event_matches_gateway("healthy");
    /* The fund's holding falls to 80,000 shares: $78,400; 58,800 is 75% of it. */
    T.ref2_shares = "80000";
    write_holdings("500000");
    assert_int_equal(attestor("attest", REF2), 0);
    wait_published("3", log);
    manage2_wait_gauge("custos_loan_state{", 2, 2);
    static const char *const called[] = {"margin_call", "healthy", "margin_return"};
    expect_notices_of(REF2, called, 3);
    expect_event_matches_gateway("margin_call");
    expect_on_watch(2, "3");
    wait_number(T.oracle[1], "price()(uint256)", NULL, NULL, "78400000000000000000000000000");
    /* The borrower repays 20,000 on Morpho: 38,800 of $78,400 is 49.5%, cured. */
    SEND(BORROWER_KEY, T.loan, "approve(address,uint256)", T.morpho, MAX_UINT);
    SEND(BORROWER_KEY, T.morpho, "repay(" MP_TYPE ",uint256,uint256,address,bytes)",
         market_params(1), "20000000000", "0", BORROWER_ADDR, "0x");
    wait_published("4", log);
    manage2_wait_gauge("custos_loan_ltv_bps{", 4949, 4950);
    manage2_wait_gauge("custos_loan_state{", 0, 0);
    static const char *const cured[] = {"healthy", "margin_call", "healthy", "margin_return"};
    expect_notices_of(REF2, cured, 4);
    expect_event_matches_gateway("healthy");
    assert_int_equal(tu_stop(&manager, SIGTERM, 5000), 0);
    publication_survives_restarts();
    /* A restart: everything is on-chain already, nothing is sent again. */
    assert_int_equal(cast("nonce", NOTICE_RELAYER_ADDR, NULL), 0);
    unsigned long long nonce = strtoull(out, NULL, 10);
    const char *once[MANAGE_ARGV];
    manage2_argv(true, once);
    assert_int_equal(run(once), 0);
    assert_null(strstr(out, "ON-CHAIN"));
    expect_ltv(3673, 3676, "state margin_return cause unchanged");
    /* One process for both pledges, from a config file (docs/lending.md §8), each with its
     * state file: the first released after its liquidation, the second healthy; each line
     * and gauge names its pledge, and nothing is published again. */
    char conf[1300], metrics[1300], relayer[1300];
    snprintf(conf, sizeof conf, "%s/manage.json", T.gw.dir);
    snprintf(metrics, sizeof metrics, "%s/manage-all.prom", T.gw.dir);
    snprintf(relayer, sizeof relayer, "%s/notice-relayer.key", T.gw.dir);
    char text[4096];
    snprintf(text, sizeof text,
             "{\"pledges\": [{\"account_id\": \"%s\", \"lender\": \"%s\", "
             "\"loan_decimals\": 6, \"loan_price_usd\": \"1\", \"margin_return_ltv\": 4000, "
             "\"margin_call_ltv\": 7000, \"liquidation_ltv\": 9000, \"hysteresis\": 100, "
             "\"cure_seconds\": 86400, \"state\": \"manager.json\"}, "
             "{\"account_id\": \"%s\", \"lender\": \"%s\", \"loan_decimals\": 6, "
             "\"loan_price_usd\": \"1\", \"margin_return_ltv\": 4000, "
             "\"margin_call_ltv\": 7000, \"liquidation_ltv\": 9000, \"hysteresis\": 100, "
             "\"cure_seconds\": 86400, \"state\": \"manager2.json\"}]}",
             T.account[0], T.morpho, T.account[1], T.morpho);
    tu_write_file(conf, text);
    const char *both[] = {CUSTOS_ATTESTOR_BIN, "manage", "--config", conf, "--chain-id", "31337",
                          "--contract", T.adapter, "--key", T.key, "--gateway", T.gw.target,
                          "--insecure", "--metrics-textfile", metrics, "--rpc", T.url,
                          "--notices-contract", T.notices, "--relayer-key", relayer, "--once",
                          NULL};
    int rc = run(both);
    fprintf(stderr, "$ custos-attestor manage --config --once -> %d\n%s\n", rc, out);
    assert_int_equal(rc, 0);
    char line[256];
    snprintf(line, sizeof line, "pledge %s: released after liquidation: nothing to manage",
             T.account[0]);
    assert_non_null(strstr(out, line));
    snprintf(line, sizeof line, "pledge %s: ltv_bps 367", T.account[1]);
    const char *at = strstr(out, line);
    assert_non_null(at);
    assert_non_null(strstr(at, " state margin_return cause unchanged"));
    assert_null(strstr(out, "ON-CHAIN"));
    char *prom = tu_read_file(metrics);
    assert_non_null(prom);
    for (int i = 0; i < 2; i++) {
        snprintf(line, sizeof line, "custos_loan_state{account=\"%s\"", T.account[i]);
        if (strcasestr(prom, line) == NULL)
            fail_msg("no gauge of pledge %d:\n%s", i, prom);
    }
    free(prom);
    /* The file is what node_exporter's textfile collector takes: promtool says so. */
    char cmd[1500], lint[4096];
    snprintf(cmd, sizeof cmd, "%s check metrics < %s", CUSTOS_PROMTOOL, metrics);
    const char *sh[] = {"/bin/sh", "-c", cmd, NULL};
    if (tu_run(sh, lint, sizeof lint, 1) != 0)
        fail_msg("promtool check metrics: %s", lint);
    /* A config file and one pledge's options together: a usage error. */
    const char *mixed[] = {CUSTOS_ATTESTOR_BIN, "manage", "--config", conf, "--account-id",
                           T.account[1], "--chain-id", "31337", "--contract", T.adapter,
                           "--key", T.key, "--gateway", T.gw.target, "--insecure", NULL};
    assert_int_not_equal(run(mixed), 0);
    assert_non_null(strstr(out, "give --config, or one pledge's --account-id"));
    assert_int_equal(cast("nonce", NOTICE_RELAYER_ADDR, NULL), 0);
    assert_true(strtoull(out, NULL, 10) == nonce);
    assert_true(nonce == 7);
}

/* ------------------------------------------------------------------ the story */

static void test_lend_against_custody(void **state)
{
    (void)state;
    deploy();
    T.gw.domain.chain_id = GWF_CHAIN_ID;
    custos_error err;
    assert_int_equal(custos_address_from_hex(T.adapter, T.gw.domain.verifying_contract, &err),
                     CUSTOS_OK);
    write_gateway_config();
    gwf_start(&T.gw);
    write_attestor_files();

    /* Value and pledge: $1,000,000 of the fund less its 2% haircut, $980,000; Morpho's
     * price for a 6-decimal loan token is V * 10^6 (36-decimal scale). */
    for (int i = 0; i < 2; i++) {
        const char *argv[] = {CUSTOS_ATTESTOR_BIN, "pledge", "--account", i == 0 ? REF1 : REF2,
                              "--beneficiary", T.morpho, "--registry", T.pledges, NULL};
        if (run(argv) != 0)
            fail_msg("custos-attestor pledge: %s", out);
        assert_int_equal(attestor("attest", i == 0 ? REF1 : REF2), 0);
        assert_non_null(strstr(out, "ACCEPTED"));
    }
    wait_number(T.oracle[0], "price()(uint256)", NULL, NULL, "980000000000000000000000000000");
    wait_number(T.oracle[1], "price()(uint256)", NULL, NULL, "98000000000000000000000000000");

    /* The gateway shows the pledge as the registry records it. */
    json_t *p = cli_pledge(REF1);
    assert_same(json_string_value(json_object_get(p, "receipt")), T.receipt[0]);
    assert_same(json_string_value(json_object_get(p, "morphoOracle")), T.oracle[0]);
    assert_same(json_string_value(json_object_get(p, "morphoMarketId")), T.market_id[0]);
    assert_same(json_string_value(json_object_get(p, "beneficiary")), T.morpho);
    assert_same(json_string_value(json_object_get(p, "registry")), T.registry);
    assert_same(json_string_value(json_object_get(p, "borrower")), BORROWER_ADDR);
    assert_same(json_string_value(json_object_get(p, "lender")), LENDER_ADDR);
    assert_same(json_string_value(json_object_get(p, "agent")), AGENT_ADDR);
    assert_true(json_is_false(json_object_get(p, "ended")));
    assert_string_equal(exposure_of(p, "debt"), "0");
    assert_true(json_is_false(json_object_get(json_object_get(p, "exposure"),
                                              "releaseNeedsConsent")));
    json_decref(p);
    /* A market the account is not pledged to: the registry has no such pledge (exit 2). */
    const char *elsewhere[] = {CUSTOS_CLI_BIN, "pledge", "--gateway", T.gw.target, "--insecure",
                               "--custodian", GWF_FEED, "--ref", REF1, "--beneficiary",
                               LENDER_ADDR, NULL};
    assert_int_equal(run(elsewhere), 2);
    assert_non_null(strstr(out, "no pledge of this account to"));

    /* The lender supplies 2,000,000 units of the loan token to each market. */
    for (int i = 0; i < 2; i++) {
        SEND(LENDER_KEY, T.loan, "setBalance(address,uint256)", LENDER_ADDR, "2000000000000");
        SEND(LENDER_KEY, T.loan, "approve(address,uint256)", T.morpho, MAX_UINT);
        SEND(LENDER_KEY, T.morpho, "supply(" MP_TYPE ",uint256,uint256,address,bytes)",
             market_params(i), "2000000000000", "0", LENDER_ADDR, "0x");
    }

    /* The borrower supplies the whole receipt and borrows up to the LLTV: 80% of $980,000
     * is 784,000 units of 10^6; one unit more is refused by Morpho. */
    for (int i = 0; i < 2; i++) {
        SEND(BORROWER_KEY, T.receipt[i], "approve(address,uint256)", T.morpho,
             "1000000000000000000");
        SEND(BORROWER_KEY, T.morpho, "supplyCollateral(" MP_TYPE ",uint256,address,bytes)",
             market_params(i), "1000000000000000000", BORROWER_ADDR, "0x");
    }
    REVERTS("insufficient collateral", BORROWER_KEY, T.morpho,
            "borrow(" MP_TYPE ",uint256,uint256,address,address)", market_params(0),
            "784000000001", "0", BORROWER_ADDR, BORROWER_ADDR);
    SEND(BORROWER_KEY, T.morpho, "borrow(" MP_TYPE ",uint256,uint256,address,address)",
         market_params(0), "784000000000", "0", BORROWER_ADDR, BORROWER_ADDR);
    expect_number(T.loan, "balanceOf(address)(uint256)", BORROWER_ADDR, NULL, "784000000000");
    p = cli_pledge(REF1);
    assert_string_equal(exposure_of(p, "debt"), "784000000000");
    assert_true(json_is_true(json_object_get(json_object_get(p, "exposure"),
                                             "releaseNeedsConsent")));
    json_decref(p);

    /* The collateral manager reads the debt (784,000 against $980,000: 80%) and calls a
     * margin; a second pass changes nothing. */
    assert_int_equal(manage_run(NULL), 0);
    /* Interest accrues from the borrow on (Morpho's IrmMock), so the LTV can be a basis
     * point above 80% (rounded up). */
    expect_ltv(8000, 8001, "state margin_call cause above_margin_call");
    assert_non_null(strstr(out, "notice margin_call sequence 1 ACCEPTED"));
    assert_int_equal(manage_run(NULL), 0);
    assert_null(strstr(out, "notice "));
    static const char *const called[] = {"margin_call"};
    expect_notices(called, 1);
    /* The margin call on-chain: relayed to CustosNotices, which accepts it once. */
    relay_newest_notice();
    expect_number(T.notices, "lastSequence(bytes32,address)(uint64)", T.account[0], T.morpho,
                  "1");
    char prom_path[1300];
    snprintf(prom_path, sizeof prom_path, "%s/manager.prom", T.gw.dir);
    char *prom = tu_read_file(prom_path);
    assert_non_null(prom);
    assert_non_null(strstr(prom, "custos_loan_state{account=\""));
    assert_non_null(strstr(prom, "\"} 2\n"));
    assert_non_null(strstr(prom, "custos_loan_exposure_read_failures_total{"));
    const char *dl = strstr(prom, "custos_loan_cure_deadline_seconds{");
    const char *value = dl != NULL ? strstr(dl, "} ") : NULL;
    unsigned long long deadline = value != NULL ? strtoull(value + 2, NULL, 10) : 0;
    if (deadline < (unsigned long long)gwf_now() + 86000)
        fail_msg("the margin call's deadline is not a day ahead:\n%s", prom);
    free(prom);

    /* A drop in value: half the fund, $490,000 attested and published; the debt is now
     * above 80% of it, and nothing more can be borrowed. */
    write_holdings("500000");
    assert_int_equal(attestor("attest", REF1), 0);
    wait_number(T.oracle[0], "price()(uint256)", NULL, NULL, "490000000000000000000000000000");
    /* Past the liquidation threshold (160%): the manager says so. */
    assert_int_equal(manage_run(NULL), 0);
    expect_ltv(16000, 16002, "state liquidation cause above_liquidation");
    static const char *const liquidated[] = {"liquidation", "margin_call"};
    expect_notices(liquidated, 2);
    relay_newest_notice();
    expect_number(T.notices, "lastSequence(bytes32,address)(uint64)", T.account[0], T.morpho,
                  "2");
    REVERTS("insufficient collateral", BORROWER_KEY, T.morpho,
            "borrow(" MP_TYPE ",uint256,uint256,address,address)", market_params(0), "1", "0",
            BORROWER_ADDR, BORROWER_ADDR);

    /* A third party with the loan token cannot liquidate the unhealthy position: the
     * receipt refuses to move to it. */
    SEND(OUTSIDER_KEY, T.loan, "setBalance(address,uint256)", OUTSIDER_ADDR, "1000000000000");
    SEND(OUTSIDER_KEY, T.loan, "approve(address,uint256)", T.morpho, MAX_UINT);
    REVERTS("transfer reverted", OUTSIDER_KEY, T.morpho,
            "liquidate(" MP_TYPE ",address,uint256,uint256,bytes)", market_params(0),
            BORROWER_ADDR, "100000000000000000", "0", "0x");

    /* A freeze: the price is 0 at once; borrowing and withdrawing collateral revert. */
    assert_int_equal(attestor("freeze", REF1), 0);
    assert_non_null(strstr(out, "ACCEPTED"));
    wait_number(T.oracle[0], "price()(uint256)", NULL, NULL, "0");
    REVERTS("insufficient collateral", BORROWER_KEY, T.morpho,
            "borrow(" MP_TYPE ",uint256,uint256,address,address)", market_params(0), "1", "0",
            BORROWER_ADDR, BORROWER_ADDR);
    REVERTS("insufficient collateral", BORROWER_KEY, T.morpho,
            "withdrawCollateral(" MP_TYPE ",uint256,address,address)", market_params(0), "1",
            BORROWER_ADDR, BORROWER_ADDR);

    /* A release while the debt is outstanding: the gateway refuses it, naming the debt,
     * and records nothing; the registry says the adapter would refuse it too. */
    uint64_t frozen_at = last_sequence(0);
    assert_int_not_equal(attestor("release", REF1), 0);
    assert_non_null(strstr(out, "EXPOSURE_OUTSTANDING"));
    assert_non_null(strstr(out, "the borrower owes 7840"));
    uint64_t refused = last_sequence(0);
    assert_true(refused > frozen_at);
    custos_record rec;
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REF1, account);
    assert_int_equal(custos_client_get_latest(T.gw.client, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.kind, CUSTOS_KIND_FREEZE);
    assert_int_equal(rec.sub.att.sequence, frozen_at);
    custos_record_clear(&rec);
    json_t *b = release_blocked(0, refused + 1);
    assert_true(json_is_true(json_array_get(b, 0)));
    assert_string_not_equal(number_at(b, 1), "0");
    json_decref(b);

    /* The manager's liquidation agent (docs/lending.md §5) repays the whole debt on the
     * borrower's behalf, by shares. First the manager, running as a daemon, is SIGKILLed
     * once its step log says the repay was sent (nothing is mined meanwhile), and the node
     * loses what it was sent (its pool dropped); the restart finds neither receipt nor used
     * nonce and sends the same two transactions again, so the debt is repaid once. */
    char shares[96], agent_key[1300], before[96], after[96];
    snprintf(agent_key, sizeof agent_key, "%s/agent.key", T.gw.dir);
    write_key(agent_key, AGENT_KEY);
    SEND(AGENT_KEY, T.loan, "setBalance(address,uint256)", AGENT_ADDR, "1000000000000");
    call_number(T.loan, "balanceOf(address)(uint256)", AGENT_ADDR, NULL, before,
                sizeof before);
    assert_int_equal(cast("nonce", AGENT_ADDR, NULL), 0);
    unsigned long long agent_nonce = strtoull(out, NULL, 10);
    p = cli_pledge(REF1);
    unsigned long long debt = strtoull(exposure_of(p, "debt"), NULL, 10);
    json_decref(p);
    assert_true(debt > 0);
    uint64_t before_liquidation = last_sequence(0);
    /* A key that is not the pledge's agent is refused, naming the agent, and sends nothing;
     * an agent key without the node, feed and sequence file is a usage error. */
    char outsider_key[1300];
    snprintf(outsider_key, sizeof outsider_key, "%s/outsider.key", T.gw.dir);
    write_key(outsider_key, OUTSIDER_KEY);
    assert_int_equal(cast("nonce", OUTSIDER_ADDR, NULL), 0);
    unsigned long long outsider_nonce = strtoull(out, NULL, 10);
    assert_int_not_equal(manage_run(outsider_key), 0);
    const char *named = strstr(out, "not the pledge's liquidation agent ");
    assert_non_null(named);
    assert_int_equal(strncasecmp(named + strlen("not the pledge's liquidation agent "),
                                 AGENT_ADDR, strlen(AGENT_ADDR)),
                     0);
    assert_int_equal(cast("nonce", OUTSIDER_ADDR, NULL), 0);
    assert_true(strtoull(out, NULL, 10) == outsider_nonce);
    const char *half[MANAGE_ARGV];
    manage_argv(NULL, true, half);
    size_t n_half = 0;
    while (half[n_half] != NULL)
        n_half++;
    half[n_half++] = "--agent-key";
    half[n_half++] = agent_key;
    half[n_half] = NULL;
    assert_int_not_equal(run(half), 0);
    assert_non_null(strstr(out, "--agent-key, --feed and --attestor-state go together"));
    assert_int_equal(cast("rpc", "evm_setAutomine", "false", NULL), 0);
    const char *daemon[MANAGE_ARGV];
    manage_argv(agent_key, false, daemon);
    char daemon_log[1300];
    snprintf(daemon_log, sizeof daemon_log, "%s/manager.log", T.gw.dir);
    tu_proc manager;
    tu_spawn(&manager, daemon, daemon_log);
    for (int waited = 0;; waited += 50) {
        char *text = tu_read_file(manager_state);
        bool sent = text != NULL && strstr(text, "\"repay_sent\"") != NULL;
        free(text);
        if (sent)
            break;
        if (waited >= WAIT_MS) {
            tu_stop(&manager, SIGKILL, 0);
            fail_msg("the manager never logged the repay as sent");
        }
        usleep(50 * 1000);
    }
    assert_int_equal(tu_stop(&manager, SIGKILL, 0), 128 + SIGKILL);
    assert_int_equal(cast("rpc", "anvil_dropAllTransactions", NULL), 0);
    borrow_shares(0, shares, sizeof shares);
    assert_string_not_equal(shares, "0");
    assert_int_equal(manage_run(agent_key), 0);
    assert_null(strstr(out, "liquidation repay"));
    assert_null(strstr(out, "liquidation release"));
    /* The node holds the logged repay again: the same bytes, under the logged hash. */
    char *log_text = tu_read_file(manager_state);
    assert_non_null(log_text);
    json_error_t jerr;
    json_t *log = json_loads(log_text, 0, &jerr);
    free(log_text);
    const char *hash = json_string_value(
        json_object_get(json_object_get(log, "liquidation"), "repayHash"));
    assert_non_null(hash);
    assert_int_equal(cast("rpc", "eth_getTransactionByHash", hash, NULL), 0);
    assert_string_not_equal(out, "null");
    json_decref(log);
    /* Lost again, and the agent's key spends the logged nonces on other transactions: the
     * logged repay can never be mined, so the manager decides again from the shares left,
     * and repays once. */
    assert_int_equal(cast("rpc", "anvil_dropAllTransactions", NULL), 0);
    assert_int_equal(cast("rpc", "evm_setAutomine", "true", NULL), 0);
    SEND(AGENT_KEY, T.loan, "setBalance(address,uint256)", AGENT_ADDR, before);
    SEND(AGENT_KEY, T.loan, "setBalance(address,uint256)", AGENT_ADDR, before);
    assert_int_equal(manage_run(agent_key), 0);
    assert_non_null(strstr(out, "liquidation decided"));
    assert_int_equal(manage_run(agent_key), 0);
    assert_non_null(strstr(out, "liquidation repay_sent"));
    /* Mined: the debt reads zero, so the custodian signs the release (the next sequence of
     * the attestor's state file) and the gateway accepts it, checking rule 11 itself. */
    uint64_t before_release = last_sequence(0);
    /* Nothing signed while the debt was there, through the crash and the restart. */
    assert_true(before_release == before_liquidation);
    uint8_t lender_addr[CUSTOS_ADDRESS_LEN];
    assert_int_equal(custos_address_from_hex(T.morpho, lender_addr, &err), CUSTOS_OK);
    assert_int_equal(manage_run(agent_key), 0);
    assert_non_null(strstr(out, "liquidation repay_mined"));
    assert_non_null(strstr(out, "liquidation release_signed"));
    assert_non_null(strstr(out, "liquidation release_accepted"));
    assert_true(last_sequence(0) == before_release + 1);
    custos_record released;
    assert_int_equal(custos_client_get_latest(T.gw.client, account, &released, &err),
                     CUSTOS_OK);
    assert_int_equal(released.sub.att.kind, CUSTOS_KIND_RELEASE);
    assert_true(released.sub.att.sequence == before_release + 1);
    assert_memory_equal(released.sub.att.beneficiary, lender_addr, CUSTOS_ADDRESS_LEN);
    custos_record_clear(&released);
    borrow_shares(0, shares, sizeof shares);
    assert_string_equal(shares, "0");
    p = cli_pledge(REF1);
    assert_string_equal(exposure_of(p, "debt"), "0");
    json_decref(p);
    /* Further passes repay and release nothing more: the agent paid the debt once,
     * interest of a few blocks included, and one release was signed. */
    assert_int_equal(manage_run(agent_key), 0);
    assert_null(strstr(out, "liquidation re"));
    char *liq_prom = tu_read_file(prom_path);
    assert_non_null(liq_prom);
    const char *ls = strstr(liq_prom, "custos_loan_liquidation_step{");
    assert_non_null(ls);
    assert_non_null(strstr(ls, "\"} 5\n"));
    free(liq_prom);
    assert_true(last_sequence(0) == before_release + 1);
    call_number(T.loan, "balanceOf(address)(uint256)", AGENT_ADDR, NULL, after, sizeof after);
    unsigned long long paid = strtoull(before, NULL, 10) - strtoull(after, NULL, 10);
    /* Four transactions of the agent in all: the two that took the logged nonces, one
     * approve, one repay. */
    assert_int_equal(cast("nonce", AGENT_ADDR, NULL), 0);
    if (strtoull(out, NULL, 10) != agent_nonce + 4)
        fail_msg("the agent's nonce went from %llu to %s; expected 4 transactions",
                 agent_nonce, out);
    if (paid < debt || paid > debt + debt / 100 + 1)
        fail_msg("the agent paid %llu for a debt of %llu", paid, debt);

    /* The release ends the pledge on-chain, and the receipt is worth 0. */
    for (int waited = 0;; waited += 200) {
        p = cli_pledge(REF1);
        bool ended = json_is_true(json_object_get(p, "ended"));
        json_decref(p);
        if (ended)
            break;
        if (waited >= WAIT_MS) {
            gwf_dump_log(&T.gw);
            fail_msg("the release never ended the pledge on-chain");
        }
        usleep(200 * 1000);
    }
    expect_number(T.oracle[0], "price()(uint256)", NULL, NULL, "0");

    scenario_margin_call_cured();

    /* The second pledge: a debt (what the cure left, and more), a release refused, the
     * lender's consent to the next release's sequence, and that release accepted while the
     * debt remains. */
    SEND(BORROWER_KEY, T.morpho, "borrow(" MP_TYPE ",uint256,uint256,address,address)",
         market_params(1), "1000000000", "0", BORROWER_ADDR, BORROWER_ADDR);
    assert_int_not_equal(attestor("release", REF2), 0);
    assert_non_null(strstr(out, "EXPOSURE_OUTSTANDING"));
    char next[24];
    snprintf(next, sizeof next, "%llu", (unsigned long long)last_sequence(1) + 1);
    SEND(LENDER_KEY, T.registry, "consentRelease(bytes32,address,uint64)", T.account[1],
         T.morpho, next);
    assert_int_equal(attestor("release", REF2), 0);
    assert_non_null(strstr(out, "ACCEPTED"));
    wait_number(T.oracle[1], "price()(uint256)", NULL, NULL, "0");
    p = cli_pledge(REF2);
    assert_true(json_is_true(json_object_get(p, "ended")));
    assert_int_equal(json_integer_value(json_object_get(p, "consentedSequence")),
                     strtoll(next, NULL, 10));
    json_decref(p);
    /* The loan stays the lender's business with the borrower: the debt is still there. */
    borrow_shares(1, shares, sizeof shares);
    assert_string_not_equal(shares, "0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lend_against_custody),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
