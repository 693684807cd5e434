/* A liquidation by the collateral manager through crashes and reverts (docs/lending.md §5,
 * §10 to §12), on anvil with Morpho Blue (its unmodified 0.8.19 build), the real gateway and the
 * real custos-attestor. Each scenario is its own CTest entry (`test_liquidation_anvil
 * SCENARIO`, tests/CMakeLists.txt) with its own anvil, gateway and directory, so they run in
 * parallel; without an argument the program builds the contracts they deploy (the entries'
 * fixture).
 *
 * Every scenario starts the same, on the lending fixture (lendfixture.h): its first
 * account pledged to Morpho, valued $980,000, a borrow of 784,000 units of a 6-decimal loan
 * token, then half the account's fund gone, so the loan is at 160% and the manager (margin
 * call 70%, liquidation 90%) liquidates it.
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

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "lendfixture.h"

/* The variable of the manager's crash hook (attestor/manage_state.h). */
#define KILL_ENV "CUSTOS_TEST_LIQ_KILL_AT"
/* The fixture's first pledge is the one liquidated. */
#define REF REF1
#define AGENT_FUNDS "1000000000000"
/* Passes of the manager a liquidation takes at most: the notice and decision, the repay
 * sent, mined, the release signed and accepted, with room for a resend. */
#define MAX_PASSES 12

/* The manager's files, beside the fixture's (lendfixture.h). */
static struct {
    char agent_key[1200], manager_state[1200], journal[1200];
    bool book; /* the manager records the sale in the book */
} T;

/* ------------------------------------------------------------------ the chain */

static unsigned long long view_u64(const char *to, const char *sig, const char *a1,
                                   const char *a2)
{
    char n[96];
    lf_call_number(to, sig, a1, a2, n, sizeof n);
    return strtoull(n, NULL, 10);
}

static unsigned long long borrow_shares(void)
{
    json_t *j = lf_call_json(LF.morpho, "position(bytes32,address)(uint256,uint128,uint128)",
                             LF.market_id[0], BORROWER_ADDR, NULL);
    unsigned long long shares = strtoull(lf_number_at(j, 1), NULL, 10);
    json_decref(j);
    return shares;
}

static unsigned long long agent_balance(void)
{
    return view_u64(LF.loan, "balanceOf(address)(uint256)", AGENT_ADDR, NULL);
}

static unsigned long long agent_nonce(void)
{
    if (lf_cast("nonce", AGENT_ADDR, NULL) != 0)
        fail_msg("cast nonce: %s", lf_out);
    return strtoull(lf_out, NULL, 10);
}

/* ------------------------------------------------------------------ set-up */

static int attest(void)
{
    return lf_attestor("attest", REF);
}

/* The attestor's last sequence for the account (its state file). */
static uint64_t last_sequence(void)
{
    json_error_t jerr;
    json_t *s = json_load_file(LF.state, 0, &jerr);
    if (s == NULL)
        fail_msg("%s: %s", LF.state, jerr.text);
    json_t *v = NULL;
    const char *k;
    json_t *x;
    json_object_foreach(s, k, x) if (strcasecmp(k, LF.account[0]) == 0) v = x;
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
    if (custos_client_get_latest(LF.gw.client, account, &rec, &err) != CUSTOS_OK) {
        fail_msg("GetLatest: %s", err.message);
        return 0;
    }
    uint8_t kind = rec.sub.att.kind;
    custos_record_clear(&rec);
    return kind;
}

typedef struct release_count {
    uint8_t account[CUSTOS_HASH_LEN];
    unsigned n;
} release_count;

static bool count_release(void *ctx, const custos_record *rec)
{
    release_count *c = ctx;
    if (memcmp(rec->sub.att.account, c->account, CUSTOS_HASH_LEN) == 0 &&
        rec->sub.att.kind == CUSTOS_KIND_RELEASE)
        c->n++;
    return true;
}

/* How many releases of the account the gateway accepted: its whole log, replayed. */
static unsigned releases_accepted(void)
{
    release_count c = {.n = 0};
    custos_account_id(GWF_FEED, REF, c.account);
    custos_error err;
    if (custos_client_watch(LF.gw.client, 0, 500, count_release, &c, &err) != CUSTOS_OK)
        fail_msg("Watch: %s", err.message);
    return c.n;
}

/* Pledge, value, lend, borrow 784,000 (80% of $980,000), then the fund falls to `shares`
 * (Morpho's oracle then answers `price`): past the manager's liquidation threshold. */
static void lend_and_drop_to(const char *shares, const char *price)
{
    lf_deploy();
    LF.gw.domain.chain_id = GWF_CHAIN_ID;
    custos_error err;
    assert_int_equal(custos_address_from_hex(LF.adapter, LF.gw.domain.verifying_contract, &err),
                     CUSTOS_OK);
    lf_write_gateway_config();
    gwf_start(&LF.gw);
    lf_write_attestor_files();
    snprintf(T.agent_key, sizeof T.agent_key, "%s/agent.key", LF.gw.dir);
    snprintf(T.manager_state, sizeof T.manager_state, "%s/manager.json", LF.gw.dir);
    snprintf(T.journal, sizeof T.journal, "%s/sales.jsonl", LF.gw.dir);
    lf_write_key(T.agent_key, AGENT_KEY);
    const char *pledge[] = {CUSTOS_ATTESTOR_BIN, "pledge", "--account", REF, "--beneficiary",
                            LF.morpho, "--registry", LF.pledges, NULL};
    if (lf_run(pledge) != 0)
        fail_msg("custos-attestor pledge: %s", lf_out);
    assert_int_equal(attest(), 0);
    lf_wait_number(LF.oracle[0], "price()(uint256)", NULL, NULL,
                   "980000000000000000000000000000");
    SEND(LENDER_KEY, LF.loan, "setBalance(address,uint256)", LENDER_ADDR, "2000000000000");
    SEND(LENDER_KEY, LF.loan, "approve(address,uint256)", LF.morpho, MAX_UINT);
    SEND(LENDER_KEY, LF.morpho, "supply(" MP_TYPE ",uint256,uint256,address,bytes)",
         lf_market_params(0), "2000000000000", "0", LENDER_ADDR, "0x");
    SEND(BORROWER_KEY, LF.receipt[0], "approve(address,uint256)", LF.morpho,
         "1000000000000000000");
    SEND(BORROWER_KEY, LF.morpho, "supplyCollateral(" MP_TYPE ",uint256,address,bytes)",
         lf_market_params(0), "1000000000000000000", BORROWER_ADDR, "0x");
    SEND(BORROWER_KEY, LF.morpho, "borrow(" MP_TYPE ",uint256,uint256,address,address)",
         lf_market_params(0), "784000000000", "0", BORROWER_ADDR, BORROWER_ADDR);
    lf_write_holdings(shares);
    assert_int_equal(attest(), 0);
    lf_wait_number(LF.oracle[0], "price()(uint256)", NULL, NULL, price);
    SEND(AGENT_KEY, LF.loan, "setBalance(address,uint256)", AGENT_ADDR, AGENT_FUNDS);
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
    snprintf(metrics, sizeof metrics, "%s/manager.prom", LF.gw.dir);
    const char *const words[] = {
        CUSTOS_ATTESTOR_BIN, "manage", "--account-id", LF.account[0], "--lender", LF.morpho,
        "--loan-decimals", "6", "--loan-price-usd", "1", "--margin-return-ltv", "4000",
        "--margin-call-ltv", "7000", "--liquidation-ltv", "9000", "--hysteresis", "100",
        "--cure-seconds", "86400", "--state", T.manager_state, "--chain-id", "31337",
        "--contract", LF.adapter, "--key", LF.key, "--gateway", LF.gw.target, "--insecure",
        "--metrics-textfile", metrics, "--agent-key", T.agent_key, "--rpc", LF.url, "--feed",
        GWF_FEED, "--attestor-state", LF.state, once ? "--once" : "--interval-ms",
        once ? NULL : "50"};
    size_t n = 0;
    for (; n < sizeof words / sizeof words[0] && words[n] != NULL; n++)
        argv[n] = words[n];
    if (T.book) {
        const char *const book[] = {"--holdings", LF.holdings, "--prices", LF.prices, "--policy",
                                    LF.policy, "--sales-journal", T.journal};
        for (size_t i = 0; i < sizeof book / sizeof book[0]; i++)
            argv[n++] = book[i];
    }
    assert_true(n < MANAGE_ARGV);
    argv[n] = NULL;
}

/* One pass; its exit status (-1: killed by a signal), its output in lf_out. */
static int manage_once(void)
{
    const char *argv[MANAGE_ARGV];
    manage_argv(true, argv);
    int rc = lf_run(argv);
    fprintf(stderr, "$ custos-attestor manage --once -> %d\n%s\n", rc, lf_out);
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
    /* One release accepted. Its sequence may be one further on: a kill between reserving
     * the sequence and logging the signed release skips a number, never reuses one
     * (docs/lending.md §5). */
    unsigned releases = releases_accepted();
    if (releases != 1)
        fail_msg("%u releases accepted; expected one", releases);
    uint64_t released_at = last_sequence();
    if (released_at <= before_liquidation || released_at > before_liquidation + 2)
        fail_msg("the release took sequence %llu after %llu",
                 (unsigned long long)released_at, (unsigned long long)before_liquidation);
    assert_int_equal(latest_kind(), CUSTOS_KIND_RELEASE);
    /* A further pass does nothing more. */
    assert_int_equal(manage_once(), 0);
    assert_non_null(strstr(lf_out, "released after liquidation"));
    assert_true(agent_nonce() == nonce0 + 2);
    assert_true(last_sequence() == released_at);
    assert_true(releases_accepted() == 1);
}

/* The pledge of REF to Morpho as the gateway reads it (GetPledge); the caller frees it. */
static custos_pledge *gateway_pledge(void)
{
    uint8_t account[CUSTOS_HASH_LEN], lender[CUSTOS_ADDRESS_LEN];
    custos_account_id(GWF_FEED, REF, account);
    custos_error err;
    assert_int_equal(custos_address_from_hex(LF.morpho, lender, &err), CUSTOS_OK);
    custos_pledge *p = NULL;
    if (custos_client_get_pledge(LF.gw.client, account, lender, &p, &err) != CUSTOS_OK)
        fail_msg("GetPledge: %s", err.message);
    return p;
}

/* The debt as the gateway reads it (loan-token units). */
static unsigned long long gateway_debt(void)
{
    custos_pledge *p = gateway_pledge();
    unsigned long long debt = (unsigned long long)p->debt.limb[0];
    custos_pledge_free(p);
    return debt;
}

/* The same for a loan that is open: not 0. When it is, the failure says what the gateway
 * saw and what Morpho holds for the borrower. */
static unsigned long long open_debt(void)
{
    custos_pledge *p = gateway_pledge();
    unsigned long long debt = (unsigned long long)p->debt.limb[0];
    bool readable = p->exposure_readable, ended = p->ended, blocked = p->release_blocked;
    custos_pledge_free(p);
    if (debt == 0) {
        int rc = lf_cast("call", LF.morpho, "position(bytes32,address)(uint256,uint128,uint128)",
                         LF.market_id[0], BORROWER_ADDR, NULL);
        fail_msg("the gateway reads no debt for the open loan (exposure readable %d, ended %d, "
                 "release blocked %d); Morpho's position (status %d): %s",
                 readable, ended, blocked, rc, lf_out);
    }
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
    snprintf(log_path, sizeof log_path, "%s/manager.log", LF.gw.dir);
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
    unsigned long long nonce0 = agent_nonce(), debt = open_debt();
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
    snprintf(path, sizeof path, "%s/manager.prom", LF.gw.dir);
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
    SEND(BORROWER_KEY, LF.loan, "approve(address,uint256)", LF.morpho, MAX_UINT);
    SEND(BORROWER_KEY, LF.morpho, "repay(" MP_TYPE ",uint256,uint256,address,bytes)",
         lf_market_params(0), "0", half, BORROWER_ADDR, "0x");
    unsigned long long debt_left = gateway_debt();
    /* The restart sends the logged approve and repay; the repay reverts. */
    assert_int_equal(manage_once(), 0);
    check_no_early_release(before_liquidation);
    assert_true(agent_nonce() == nonce0 + 2);
    assert_true(agent_balance() == strtoull(AGENT_FUNDS, NULL, 10));
    assert_int_equal(manage_once(), 0);
    if (strstr(lf_out, "reverted in block") == NULL || strstr(lf_out, "repaid nothing") == NULL)
        fail_msg("the revert is not said:\n%s", lf_out);
    assert_non_null(strstr(lf_out, "liquidation decided"));
    check_no_early_release(before_liquidation);
    assert_true(metric("custos_loan_liquidation_repay_reverts_total") == 1);
    char *log = tu_read_file(T.manager_state);
    assert_non_null(log);
    assert_non_null(strstr(log, "\"reverts\": \"1\""));
    free(log);
    /* The agent's tokens gone: nothing is sent, the manager says why and waits. */
    SEND(OUTSIDER_KEY, LF.loan, "setBalance(address,uint256)", AGENT_ADDR, "0");
    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(manage_once(), 0);
        assert_non_null(strstr(lf_out, "less than the debt"));
        assert_true(agent_nonce() == nonce0 + 2);
        assert_true(metric("custos_loan_liquidation_waiting") == 1);
        check_no_early_release(before_liquidation);
    }
    /* The cause fixed: the shares left are repaid, once, and the release follows. */
    SEND(OUTSIDER_KEY, LF.loan, "setBalance(address,uint256)", AGENT_ADDR, AGENT_FUNDS);
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

/* book_sale (docs/custodian.md §15): the fund falls to 850,000 shares ($833,000 after the
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
    assert_string_equal(lf_str_of(e, "repaidAssets"), want);
    json_t *st = json_load_file(T.manager_state, 0, &jerr);
    assert_non_null(st);
    json_t *liq = json_object_get(st, "liquidation");
    assert_true(strcasecmp(lf_str_of(e, "repayTx"), lf_str_of(liq, "repayHash")) == 0);
    assert_true(json_is_true(json_object_get(liq, "bookRecorded")));
    assert_string_equal(lf_str_of(e, "ref"), REF);
    assert_true(strcasecmp(lf_str_of(e, "account"), LF.account[0]) == 0);
    /* Whole shares at $1 covering the repaid USD (784,000 and a few blocks' interest). */
    unsigned long long sold_shares = (paid + 999999) / 1000000;
    json_t *sold = json_object_get(e, "sold");
    assert_int_equal(json_array_size(sold), 1);
    json_t *s0 = json_array_get(sold, 0);
    assert_string_equal(lf_str_of(s0, "asset"), "MMF-GOVT-INST");
    snprintf(want, sizeof want, "%llu", sold_shares);
    assert_string_equal(lf_str_of(s0, "quantity"), want);
    assert_string_equal(lf_str_of(s0, "proceedsUsd"), want);
    assert_string_equal(lf_str_of(e, "proceedsUsd"), want);
    assert_string_equal(lf_str_of(e, "shortfallUsd"), "0");
    char left[64];
    snprintf(left, sizeof left, "%llu", 850000ull - sold_shares);
    json_t *remaining = json_object_get(e, "remaining");
    assert_int_equal(json_array_size(remaining), 1);
    assert_string_equal(lf_str_of(json_array_get(remaining, 0), "quantity"), left);
    json_decref(st);
    json_decref(e);
    /* The book: the account holds what is left. */
    json_t *book = json_load_file(LF.holdings, 0, &jerr);
    assert_non_null(book);
    json_t *acc = json_array_get(json_object_get(book, "accounts"), 0);
    json_t *pos = json_object_get(acc, "positions");
    assert_int_equal(json_array_size(pos), 1);
    assert_string_equal(lf_str_of(json_array_get(pos, 0), "quantity"), left);
    json_decref(book);
    /* The next valuation values what is left: 65,999 shares at $1. */
    char export_path[1300];
    snprintf(export_path, sizeof export_path, "%s/next.json", LF.gw.dir);
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "attest", "--account", REF, "--holdings",
                          LF.holdings, "--key", LF.key, "--feed", GWF_FEED, "--chain-id", "31337",
                          "--contract", LF.adapter, "--state", LF.state, "--policy", LF.policy,
                          "--prices", LF.prices, "--registry", LF.pledges, "--export",
                          export_path, NULL};
    if (lf_run(argv) != 0)
        fail_msg("attest --export: %s", lf_out);
    char gross[96];
    snprintf(gross, sizeof gross, "gross        %s USD", left);
    if (strstr(lf_out, gross) == NULL)
        fail_msg("the next valuation is not of what is left (%s):\n%s", gross, lf_out);
}

/* ------------------------------------------------------------------ main */

/* lf_group_setup but the build: the entry without a scenario built the contracts. */
static int group_setup(void **state)
{
    (void)state;
    gwf_init(&LF.gw);
    if (tu_anvil_start(&LF.anvil, LF.gw.dir, LF.url, sizeof LF.url) != 0)
        return -1;
    return 0;
}

/* The fixture of the scenario entries: the contracts they deploy, built once. */
static void test_build_contracts(void **state)
{
    (void)state;
    const char *build[] = {"/bin/bash", BUILD_CONTRACTS, NULL};
    if (lf_run(build) != 0)
        fail_msg("build-contracts.sh failed:\n%s", lf_out);
    /* The loan token is the forge tests' LoanToken (Morpho's ERC20Mock with decimals). */
    const char *build_tests[] = {"/bin/bash", RUN_FORGE, "build", NULL};
    if (lf_run(build_tests) != 0)
        fail_msg("run-forge.sh build failed:\n%s", lf_out);
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
            return cmocka_run_group_tests(tests, group_setup, lf_group_teardown);
        }
    if (strcmp(argv[1], "book_sale") == 0) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_book_sale)};
        return cmocka_run_group_tests(tests, group_setup, lf_group_teardown);
    }
    if (strcmp(argv[1], "repay_reverts") == 0) {
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_repay_reverts)};
        return cmocka_run_group_tests(tests, group_setup, lf_group_teardown);
    }
    fprintf(stderr, "test_liquidation_anvil: unknown scenario %s\n", argv[1]);
    return 2;
}
