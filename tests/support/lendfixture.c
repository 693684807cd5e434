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
#include "custos/u256.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/evm_view.h"

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
static int lf_cast_v(const char *first, va_list ap)
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
    return lf_run(argv);
}

/* cast with the words given (NULL ends them), against the test's node. */
int lf_cast(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    int rc = lf_cast_v(first, ap);
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

/* The comma-separated types between the parentheses at *p (which it leaves past them) into
 * types; their count. Flat lists only: the views these tests read take and return no
 * tuples. */
static size_t lf_types(const char **p, char types[][16], size_t cap, const char *sig)
{
    if (**p != '(')
        fail_msg("%s: '(' expected at '%s'", sig, *p);
    const char *end = strchr(*p, ')');
    if (end == NULL)
        fail_msg("%s: no ')'", sig);
    size_t n = 0;
    for (const char *t = *p + 1; t < end;) {
        size_t len = strcspn(t, ",)");
        if (n == cap || len == 0 || len >= sizeof types[0])
            fail_msg("%s: cannot read its types", sig);
        memcpy(types[n], t, len);
        types[n++][len] = '\0';
        t += len + (t[len] == ',');
    }
    *p = end + 1;
    return n;
}

/* eth_call of "name(args)(returns)" with the arguments a1..a3 (bytes32 and address as hex,
 * integers in decimal), the results decoded as cast --json gives them (numbers and
 * addresses as strings, bools as JSON booleans; caller frees). Through the project's own
 * JSON-RPC client rather than `cast call`: cast asks anvil_nodeInfo first, and anvil 1.7.1
 * was seen to stop answering for good when that request met a block being mined for
 * another client's transaction, which the test's gateway sends at any moment. */
json_t *lf_call_json(const char *to, const char *sig, const char *a1, const char *a2,
                         const char *a3)
{
    char call[256], args_t[3][16], rets_t[8][16];
    const char *p = strchr(sig, '(');
    if (p == NULL)
        fail_msg("%s: not name(args)(returns)", sig);
    size_t n_args = lf_types(&p, args_t, 3, sig);
    snprintf(call, sizeof call, "%.*s", (int)(p - sig), sig);
    size_t n_rets = lf_types(&p, rets_t, 8, sig);
    const char *vals[3] = {a1, a2, a3};
    evm_abi_value args[3];
    uint8_t words[3][32];
    custos_error err;
    for (size_t i = 0; i < n_args; i++) {
        if (vals[i] == NULL)
            fail_msg("%s: argument %zu missing", sig, i);
        custos_u256 u;
        if (strcmp(args_t[i], "bytes32") == 0 &&
            custos_hex_decode(vals[i], words[i], 32, &err) == CUSTOS_OK)
            args[i] = evm_abi_bytes32(words[i]);
        else if (strcmp(args_t[i], "address") == 0 &&
                 custos_address_from_hex(vals[i], words[i], &err) == CUSTOS_OK)
            args[i] = evm_abi_address(words[i]);
        else if (strncmp(args_t[i], "uint", 4) == 0 &&
                 custos_u256_from_dec(&u, vals[i], strlen(vals[i]), &err) == CUSTOS_OK)
            args[i] = evm_abi_u256(&u);
        else
            fail_msg("%s: argument %zu '%s' is not a %s", sig, i, vals[i], args_t[i]);
    }
    uint8_t target[CUSTOS_ADDRESS_LEN];
    if (custos_address_from_hex(to, target, &err) != CUSTOS_OK)
        fail_msg("%s: %s", to, err.message);
    evm_rpc_options opt = {.url = LF.url, .connect_timeout_ms = 5000, .timeout_ms = 30000};
    evm_rpc *rpc = NULL;
    if (evm_rpc_new(&opt, &rpc, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
    uint8_t *ret = NULL;
    size_t len = 0;
    int64_t started = tu_now_ms();
    custos_rc rc = evm_view_call(rpc, target, call, args, n_args, &ret, &len, NULL, &err);
    evm_rpc_free(rpc);
    if (rc != CUSTOS_OK) {
        fprintf(stderr, "eth_call %s failed after %lld ms\n", sig,
                (long long)(tu_now_ms() - started));
        lf_dump_anvil_log();
        fail_msg("eth_call %s: %s", sig, err.message);
    }
    json_t *j = json_array();
    for (size_t k = 0; rc == CUSTOS_OK && k < n_rets; k++) {
        json_t *v = NULL;
        if (strcmp(rets_t[k], "bool") == 0) {
            bool b = false;
            if ((rc = evm_abi_get_bool(ret, len, k, &b, &err)) == CUSTOS_OK)
                v = json_boolean(b);
        } else if (strcmp(rets_t[k], "address") == 0) {
            uint8_t a[CUSTOS_ADDRESS_LEN];
            char hex[CUSTOS_ADDRESS_HEX_LEN];
            if ((rc = evm_abi_get_address(ret, len, k, a, &err)) == CUSTOS_OK) {
                custos_address_to_hex(a, hex);
                v = json_string(hex);
            }
        } else if (strncmp(rets_t[k], "uint", 4) == 0) {
            unsigned bits = (unsigned)atoi(rets_t[k] + 4);
            custos_u256 u;
            char dec[CUSTOS_U256_DEC_MAX];
            if ((rc = evm_abi_get_uint(ret, len, k, bits == 0 ? 256 : bits, &u, &err)) ==
                    CUSTOS_OK &&
                custos_u256_to_dec(&u, dec, sizeof dec) == CUSTOS_OK)
                v = json_string(dec);
        } else {
            fail_msg("%s: cannot decode a %s", sig, rets_t[k]);
        }
        if (rc == CUSTOS_OK && (v == NULL || json_array_append_new(j, v) != 0))
            fail_msg("%s: out of memory", sig);
    }
    free(ret);
    if (rc != CUSTOS_OK)
        fail_msg("eth_call %s: %s", sig, err.message);
    return j;
}

/* A number of an lf_call_json answer as a decimal string. */
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
