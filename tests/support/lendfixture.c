/* The lending fixture on anvil (lendfixture.h). */
#include "lendfixture.h"

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

#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"

lendf LF = {.ref2_shares = "100000"};
char lf_out[LF_OUT_MAX];

/* ------------------------------------------------------------------ processes */

/* Drops lf_out's final newlines. */
static void lf_trim(void)
{
    size_t len = strlen(lf_out);
    while (len > 0 && lf_out[len - 1] == '\n')
        lf_out[--len] = '\0';
}

/* Runs argv (NULL-terminated), output (stdout and stderr) into `lf_out` without its final
 * newline. */
int lf_run(const char *const argv[])
{
    int rc = tu_run(argv, lf_out, sizeof lf_out, 1);
    lf_trim();
    return rc;
}

/* As lf_run, but lf_out holds stdout alone when the command succeeds, so a JSON answer
 * stays parseable when cast also warns on stderr (it does under load); the warning goes
 * to the test's stderr. A failure keeps stderr after stdout for its message. */
static int lf_run_stdout(const char *const argv[])
{
    static char err[8192];
    int rc = tu_run_split(argv, lf_out, sizeof lf_out, err, sizeof err);
    size_t len = strlen(lf_out);
    if (rc != 0 && err[0] != '\0')
        snprintf(lf_out + len, sizeof lf_out - len, "%s%s", len > 0 ? "\n" : "", err);
    else if (err[0] != '\0')
        fprintf(stderr, "%s: %s", argv[0], err);
    lf_trim();
    return rc;
}

/* cast with the words of ap, against the test's node. */
static int lf_cast_v(bool stdout_only, const char *first, va_list ap)
{
    const char *argv[32] = {CAST_BIN, first};
    size_t n = 2;
    for (const char *w = va_arg(ap, const char *); w != NULL; w = va_arg(ap, const char *)) {
        assert_true(n < 28);
        argv[n++] = w;
    }
    argv[n++] = "--rpc-url";
    argv[n++] = LF.url;
    argv[n] = NULL;
    return stdout_only ? lf_run_stdout(argv) : lf_run(argv);
}

/* cast with the words given (NULL ends them), against the test's node. */
int lf_cast(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = lf_cast_v(false, first, ap);
    va_end(ap);
    return rc;
}

/* As lf_cast, for a JSON answer: lf_run_stdout. */
static int lf_cast_json(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = lf_cast_v(true, first, ap);
    va_end(ap);
    return rc;
}

/* The Morpho market params tuple of pledge i, as cast takes it. */
const char *lf_market_params(int i)
{
    static char mp[2][256];
    snprintf(mp[i], sizeof mp[i], "(%s,%s,%s,%s,%s)", LF.loan, LF.receipt[i], LF.oracle[i], LF.irm,
             LLTV);
    return mp[i];
}

/* cast call with --json: the decoded results (caller frees). */
json_t *lf_call_json(const char *to, const char *sig, const char *a1, const char *a2,
                         const char *a3)
{
    int64_t started = tu_now_ms();
    if (lf_cast_json("call", to, sig, "--json", a1, a2, a3, NULL) != 0) {
        fprintf(stderr, "cast call %s failed after %lld ms\n", sig,
                (long long)(tu_now_ms() - started));
        lf_dump_anvil_log();
        fail_msg("cast call %s: %s", sig, lf_out);
    }
    json_error_t jerr;
    json_t *j = json_loads(lf_out, 0, &jerr);
    if (!json_is_array(j))
        fail_msg("cast call %s: not a JSON array: %s", sig, lf_out);
    return j;
}

/* A number of a cast --json answer as a decimal string. */
const char *lf_number_at(json_t *array, size_t i)
{
    static char buf[96];
    json_t *v = json_array_get(array, i);
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(buf, sizeof buf, "%s", json_string_value(v));
    else
        fail_msg("expected a number at %zu", i);
    return buf;
}

/* One uint256 view result as a decimal string (copied into dst). */
void lf_call_number(const char *to, const char *sig, const char *a1, const char *a2,
                        char *dst, size_t cap)
{
    json_t *j = lf_call_json(to, sig, a1, a2, NULL);
    snprintf(dst, cap, "%s", lf_number_at(j, 0));
    json_decref(j);
}

void lf_expect_number(const char *to, const char *sig, const char *a1, const char *a2,
                          const char *want)
{
    char got[96];
    lf_call_number(to, sig, a1, a2, got, sizeof got);
    if (strcmp(got, want) != 0)
        fail_msg("%s: %s, expected %s", sig, got, want);
}

/* Waits until the view answers want (the gateway's publisher lands a transaction). */
void lf_wait_number(const char *to, const char *sig, const char *a1, const char *a2,
                        const char *want)
{
    char got[96] = "";
    for (int waited = 0; waited < WAIT_MS; waited += 200) {
        lf_call_number(to, sig, a1, a2, got, sizeof got);
        if (strcmp(got, want) == 0)
            return;
        usleep(200 * 1000);
    }
    gwf_dump_log(&LF.gw);
    fail_msg("%s stayed %s, expected %s", sig, got, want);
}

/* ------------------------------------------------------------------ set-up */

void lf_deploy_artifact(const char *artifact, const char *sig, const char *arg,
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
    /* --create takes the rest of the line: the node's URL goes before it. */
    const char *argv[] = {CAST_BIN, "send", "--private-key", OWNER_KEY, "--json", "--rpc-url",
                          LF.url, "--create", code, sig, arg, NULL};
    int rc = lf_run_stdout(argv);
    json_decref(a);
    if (rc != 0)
        fail_msg("deploying %s: %s", artifact, lf_out);
    json_t *r = json_loads(lf_out, 0, &jerr);
    if (r == NULL)
        fail_msg("cast send --create %s: not JSON: %s", artifact, lf_out);
    snprintf(address, 43, "%s", json_string_value(json_object_get(r, "contractAddress")));
    json_decref(r);
    assert_int_equal(strlen(address), 42);
}

#define LF_ANVIL_LOG_TAIL 60

void lf_dump_anvil_log(void)
{
    char path[1300];
    /* The node's state ('R' running, 'S' waiting, 'T' stopped, ...) and CPU ticks so far
     * (utime, stime): whether it hung, spun or died. */
    snprintf(path, sizeof path, "/proc/%d/stat", (int)LF.anvil.pid);
    char *stat = LF.anvil.pid > 0 ? tu_read_file(path) : NULL;
    const char *after = stat != NULL ? strrchr(stat, ')') : NULL;
    char state = '?';
    unsigned long utime = 0, stime = 0;
    if (after == NULL ||
        sscanf(after, ") %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &state, &utime,
               &stime) != 3)
        fprintf(stderr, "anvil (pid %d): no state readable\n", (int)LF.anvil.pid);
    else
        fprintf(stderr, "anvil (pid %d): state %c, utime %lu, stime %lu ticks\n",
                (int)LF.anvil.pid, state, utime, stime);
    free(stat);
    snprintf(path, sizeof path, "%s/anvil.log", LF.gw.dir);
    char *log = tu_read_file(path);
    if (log == NULL) {
        fprintf(stderr, "(no anvil log at %s)\n", path);
        return;
    }
    const char *from = log + strlen(log);
    for (int lines = 0; from > log && lines <= LF_ANVIL_LOG_TAIL;)
        if (*--from == '\n')
            lines++;
    fprintf(stderr, "--- the last %d lines of %s ---\n%s\n---\n", LF_ANVIL_LOG_TAIL, path, from);
    free(log);
}

void lf_write_key(const char *path, const char *hex)
{
    uint8_t k[CUSTOS_SECKEY_LEN];
    custos_error err;
    assert_int_equal(custos_hex_decode(hex, k, sizeof k, &err), CUSTOS_OK);
    assert_int_equal(custos_keyfile_write(path, k, &err), CUSTOS_OK);
}

const char *lf_str_of(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL) {
        fail_msg("deployed.json: no string '%s'", key);
        return ""; /* fail_msg jumps out; the compiler cannot know */
    }
    return s;
}

/* Morpho, its IRM and the loan token; then deploy.mjs: the adapter, the custodian's feed
 * (one custodian signature suffices), both accounts, CustosPledges and two pledges to
 * Morpho, each with its market created. */
void lf_deploy(void)
{
    lf_deploy_artifact("out-morpho/Morpho.sol/Morpho.json", "constructor(address)", OWNER_ADDR,
                    LF.morpho);
    lf_deploy_artifact("out-morpho/IrmMock.sol/IrmMock.json", NULL, NULL, LF.irm);
    lf_deploy_artifact("out/LendingFixture.sol/LoanToken.json", "constructor(uint8)", "6", LF.loan);
    SEND(OWNER_KEY, LF.morpho, "enableIrm(address)", LF.irm);
    SEND(OWNER_KEY, LF.morpho, "enableLltv(uint256)", LLTV);

    char owner_key[1200], config[1200], deployed[1200], text[4096];
    snprintf(owner_key, sizeof owner_key, "%s/owner.key", LF.gw.dir);
    snprintf(config, sizeof config, "%s/deploy.json", LF.gw.dir);
    snprintf(deployed, sizeof deployed, "%s/deployed.json", LF.gw.dir);
    lf_write_key(owner_key, OWNER_KEY);
    char pledge[2][1024];
    for (int i = 0; i < 2; i++)
        snprintf(pledge[i], sizeof pledge[i],
                 "{\"custodian\": \"%s\", \"ref\": \"%s\", \"beneficiary\": \"%s\", "
                 "\"borrower\": \"%s\", \"lender\": \"%s\", \"agent\": \"%s\", "
                 "\"morpho\": {\"loanToken\": \"%s\", \"irm\": \"%s\", \"lltv\": \"0.8\", "
                 "\"createMarket\": true}}",
                 GWF_FEED, i == 0 ? REF1 : REF2, LF.morpho, BORROWER_ADDR, LENDER_ADDR,
                 AGENT_ADDR, LF.loan, LF.irm);
    snprintf(text, sizeof text,
             "{\"chainId\": %d, \"feeds\": [{\"name\": \"%s\", \"threshold\": 1, "
             "\"distinctRoles\": false, \"maxAge\": 345600, \"maxSkew\": 300, "
             "\"maxTtl\": 604800, \"signers\": [{\"address\": \"%s\", \"role\": \"custodian\"}], "
             "\"accounts\": [{\"custodian\": \"%s\", \"ref\": \"%s\", \"lenders\": []}, "
             "{\"custodian\": \"%s\", \"ref\": \"%s\", \"lenders\": []}]}], "
             "\"pledges\": [%s, %s]}",
             GWF_CHAIN_ID, GWF_FEED, LF.gw.keys[GWF_KEY_CUSTODIAN].hex, GWF_FEED, REF1, GWF_FEED,
             REF2, pledge[0], pledge[1]);
    tu_write_file(config, text);
    const char *argv[] = {CUSTOS_NODE, DEPLOY_SCRIPT, "--rpc", LF.url, "--key-file", owner_key,
                          "--config", config, "--out", deployed, NULL};
    if (lf_run(argv) != 0)
        fail_msg("deploy.mjs failed:\n%s", lf_out);
    json_error_t jerr;
    json_t *d = json_load_file(deployed, 0, &jerr);
    if (d == NULL)
        fail_msg("%s: %s", deployed, jerr.text);
    snprintf(LF.adapter, sizeof LF.adapter, "%s", lf_str_of(d, "adapter"));
    snprintf(LF.registry, sizeof LF.registry, "%s", lf_str_of(d, "pledgeRegistry"));
    snprintf(LF.notices, sizeof LF.notices, "%s", lf_str_of(d, "notices"));
    for (int i = 0; i < 2; i++) {
        json_t *p = json_array_get(json_object_get(d, "pledges"), (size_t)i);
        if (p == NULL)
            fail_msg("deployed.json: pledge %d missing", i);
        snprintf(LF.receipt[i], sizeof LF.receipt[i], "%s", lf_str_of(p, "receipt"));
        snprintf(LF.oracle[i], sizeof LF.oracle[i], "%s", lf_str_of(p, "morphoOracle"));
        snprintf(LF.market_id[i], sizeof LF.market_id[i], "%s", lf_str_of(p, "morphoMarketId"));
        snprintf(LF.account[i], sizeof LF.account[i], "%s", lf_str_of(p, "account"));
    }
    json_decref(d);
}

/* The gateway: the feed as on-chain, and [evm] publishing every record (relayer: anvil
 * account 1). */
void lf_write_gateway_config(void)
{
    char relayer_key[1200], text[8192], accounts[1300];
    snprintf(relayer_key, sizeof relayer_key, "%s/relayer.key", LF.gw.dir);
    lf_write_key(relayer_key, RELAYER_KEY);
    gwf_accounts_line(&LF.gw, GWF_FEED, accounts, sizeof accounts);
    gwf_register(&LF.gw, GWF_FEED, GWF_FEED, REF1);
    gwf_register(&LF.gw, GWF_FEED, GWF_FEED, REF2);
    snprintf(text, sizeof text,
             "[gateway]\nlisten = 127.0.0.1:0\nstore = %s/custos.db\nchain_id = %d\n"
             "verifying_contract = %s\n\n[tls]\ninsecure = true\n\n"
             "[feed %s]\nmax_age = 345600\nmax_skew = 300\nmax_ttl = 604800\nthreshold = 1\n%s\n"
             "[signer custodian]\naddress = %s\nfeed = %s\nrole = custodian\n\n"
             "[evm]\nrpc_url = %s\nrelayer_key = %s\nconfirmations = 1\n"
             "poll_interval_ms = 100\ndeviation_bps = 0\nexposure_timeout_ms = 5000\n",
             LF.gw.dir, GWF_CHAIN_ID, LF.adapter, GWF_FEED, accounts, LF.gw.keys[GWF_KEY_CUSTODIAN].hex,
             GWF_FEED, LF.url, relayer_key);
    tu_write_file(LF.gw.config_path, text);
}

/* The custody ledger: REF1 holds `shares` of a money-market fund, REF2 ref2_shares; both
 * pledged to Morpho. */
void lf_write_holdings(const char *shares)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"custodian\": \"%s\", \"accounts\": ["
             "{\"ref\": \"%s\", \"beneficiary\": \"%s\", \"positions\": [{\"asset\": "
             "\"MMF-GOVT-INST\", \"class\": \"mmf\", \"quantity\": \"%s\"}]},"
             "{\"ref\": \"%s\", \"beneficiary\": \"%s\", \"positions\": [{\"asset\": "
             "\"MMF-GOVT-INST\", \"class\": \"mmf\", \"quantity\": \"%s\"}]}]}",
             GWF_FEED, REF1, LF.morpho, shares, REF2, LF.morpho, LF.ref2_shares);
    tu_write_file(LF.holdings, text);
}

void lf_write_attestor_files(void)
{
    snprintf(LF.key, sizeof LF.key, "%s/custodian.key", LF.gw.dir);
    snprintf(LF.holdings, sizeof LF.holdings, "%s/holdings.json", LF.gw.dir);
    snprintf(LF.prices, sizeof LF.prices, "%s/prices.json", LF.gw.dir);
    snprintf(LF.policy, sizeof LF.policy, "%s/policy.json", LF.gw.dir);
    snprintf(LF.pledges, sizeof LF.pledges, "%s/pledges.json", LF.gw.dir);
    snprintf(LF.state, sizeof LF.state, "%s/state.json", LF.gw.dir);
    custos_error err;
    assert_int_equal(custos_keyfile_write(LF.key, LF.gw.keys[GWF_KEY_CUSTODIAN].seckey, &err),
                     CUSTOS_OK);
    char text[512];
    snprintf(text, sizeof text,
             "{\"prices\": {\"MMF-GOVT-INST\": {\"price\": \"1.00\", \"as_of\": %llu}}}",
             (unsigned long long)gwf_now() - 60);
    tu_write_file(LF.prices, text);
    char *policy = tu_read_file(POLICY_EXAMPLE);
    assert_non_null(policy);
    tu_write_file(LF.policy, policy);
    free(policy);
    lf_write_holdings("1000000");
}

int lf_group_setup(void **state)
{
    (void)state;
    const char *build[] = {"/bin/bash", BUILD_CONTRACTS, NULL};
    if (lf_run(build) != 0) {
        fprintf(stderr, "build-contracts.sh failed:\n%s\n", lf_out);
        return -1;
    }
    /* The loan token is the forge tests' LoanToken (Morpho's ERC20Mock with decimals). */
    const char *build_tests[] = {"/bin/bash", RUN_FORGE, "build", NULL};
    if (lf_run(build_tests) != 0) {
        fprintf(stderr, "run-forge.sh build failed:\n%s\n", lf_out);
        return -1;
    }
    gwf_init(&LF.gw);
    if (tu_anvil_start(&LF.anvil, LF.gw.dir, LF.url, sizeof LF.url) != 0)
        return -1;
    return 0;
}

int lf_group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&LF.gw);
    if (status != 0)
        gwf_dump_log(&LF.gw);
    if (LF.anvil.pid > 0)
        tu_stop(&LF.anvil, SIGTERM, 5000);
    gwf_cleanup(&LF.gw);
    return status == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ the actors */

/* custos-attestor COMMAND for account ref, through the gateway; returns its exit status. */
int lf_attestor(const char *command, const char *ref)
{
    const char *argv[40] = {CUSTOS_ATTESTOR_BIN, command, "--account", ref, "--holdings",
                            LF.holdings, "--key", LF.key, "--feed", GWF_FEED, "--chain-id",
                            "31337", "--contract", LF.adapter, "--state", LF.state, "--policy",
                            LF.policy, "--gateway", LF.gw.target, "--insecure"};
    size_t n = 21;
    if (strcmp(command, "attest") == 0) {
        argv[n++] = "--prices";
        argv[n++] = LF.prices;
    }
    if (strcmp(command, "attest") == 0 || strcmp(command, "release") == 0) {
        argv[n++] = "--registry";
        argv[n++] = LF.pledges;
    }
    if (strcmp(command, "freeze") == 0) {
        argv[n++] = "--reason";
        argv[n++] = "margin call not met";
    }
    argv[n] = NULL;
    int rc = lf_run(argv);
    fprintf(stderr, "$ custos-attestor %s %s -> %d\n%s\n", command, ref, rc, lf_out);
    return rc;
}
