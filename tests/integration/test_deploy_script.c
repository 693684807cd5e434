/* deploy/scripts/deploy.mjs against a real anvil: what it deploys and configures is read
 * back with cast (independently of the script's ethers), ids are checked against
 * libcustos, and its refusals leave nothing behind. Pledges are made on a real Morpho Blue
 * (the unmodified 0.8.19 build of deploy/contracts/out-morpho) and read back through it. */
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
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/reserves.h"
#include "custos/sig.h"
#include "anvil.h"
#include "testutil.h"

#define CAST_BIN TU_FOUNDRY_DIR "/cast-linux-amd64/bin/cast"
#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define PUBLISH_RESERVES CUSTOS_SOURCE_DIR "/deploy/scripts/publish-reserves.mjs"
/* The custodian's key (CUSTODIAN_ADDR) and the agent's, anvil's third account (AGENT_ADDR). */
#define CUSTODIAN_KEY "0x1111111111111111111111111111111111111111111111111111111111111111"
#define AGENT_KEY "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
#define BUILD_CONTRACTS CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
#define RUN_FORGE CUSTOS_SOURCE_DIR "/tests/contract/run-forge.sh"
#define CONTRACTS_DIR CUSTOS_SOURCE_DIR "/deploy/contracts"
/* anvil's first well-known development account (public test key, funded on start). */
#define DEV_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DEV_ADDR "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define OWNER_ADDR "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define CUSTODIAN_ADDR "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
#define AGENT_ADDR "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
#define LENDER_A "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
#define LENDER_B "0x00000000000000000000000000000000000A11cE"
#define BORROWER_ADDR "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
#define PLEDGE_LENDER "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
#define AGENT_LIQ "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"

#define CONFIG_TEMPLATE                                                                    \
    "{\"chainId\": %d, \"owner\": \"" OWNER_ADDR "\",\n"                                    \
    " \"reserves\": {\"maxAge\": 172800, \"maxSkew\": 300},\n"                                \
    " \"feeds\": [{\"name\": \"acme-custody\", \"threshold\": 2, \"distinctRoles\": true,\n" \
    "   \"maxAge\": 345600, \"maxSkew\": 300, \"maxTtl\": 604800,\n"                        \
    "   \"breakerRiseBps\": 2500, \"breakerReleaseThreshold\": 3, \"maxSequenceStep\": 5000,\n" \
    "   \"signers\": [{\"address\": \"" CUSTODIAN_ADDR "\", \"role\": \"custodian\"},\n"     \
    "               {\"address\": \"" AGENT_ADDR "\", \"role\": \"%s\"}],\n"                 \
    "   \"accounts\": [{\"custodian\": \"acme-custody\", \"ref\": \"ACME-FUND-001\",\n"      \
    "                 \"lenders\": [\"" LENDER_A "\", \"" LENDER_B "\"]}]}]}\n"

typedef struct fixture {
    char dir[4096];
    tu_proc anvil;
    char url[64];
    char key[4200];
    char out[4200];
} fixture;

static char output[65536];

/* cast with the fixture's node; output trimmed of its final newline. */
static int cast(fixture *f, const char *const args[])
{
    const char *argv[16] = {CAST_BIN};
    size_t n = 1;
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < 13);
        argv[n++] = args[i];
    }
    argv[n++] = "--rpc-url";
    argv[n++] = f->url;
    argv[n] = NULL;
    int rc = tu_run(argv, output, sizeof output, 1);
    size_t len = strlen(output);
    while (len > 0 && output[len - 1] == '\n')
        output[--len] = '\0';
    return rc;
}

static int start_anvil(fixture *f)
{
    if (tu_anvil_start(&f->anvil, f->dir, f->url, sizeof f->url) != 0)
        return -1;
    const char *args[] = {"chain-id", NULL};
    if (cast(f, args) != 0 || strcmp(output, "31337") != 0) {
        fprintf(stderr, "cast chain-id against anvil: %s\n", output);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    const char *build[] = {"/bin/bash", BUILD_CONTRACTS, NULL};
    if (tu_run(build, output, sizeof output, 1) != 0) {
        fprintf(stderr, "build-contracts.sh failed:\n%s\n", output);
        return -1;
    }
    /* The tests' build too: the pledges' loan token is the tests' LoanToken. */
    const char *build_tests[] = {"/bin/bash", RUN_FORGE, "build", NULL};
    if (tu_run(build_tests, output, sizeof output, 1) != 0) {
        fprintf(stderr, "run-forge.sh build failed:\n%s\n", output);
        return -1;
    }
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_mkdtemp(f->dir, sizeof f->dir);
    if (start_anvil(f) != 0) {
        tu_rmtree(f->dir);
        free(f);
        return -1;
    }
    snprintf(f->key, sizeof f->key, "%s/deployer.key", f->dir);
    tu_write_file(f->key, DEV_KEY "\n");
    assert_int_equal(chmod(f->key, 0600), 0);
    snprintf(f->out, sizeof f->out, "%s/deployed.json", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_stop(&f->anvil, SIGTERM, 5000);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void write_config(fixture *f, const char *name, int chain_id, const char *agent_role)
{
    char path[4300], text[2048];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    snprintf(text, sizeof text, CONFIG_TEMPLATE, chain_id, agent_role);
    tu_write_file(path, text);
}

/* Runs deploy.mjs from the fixture's directory with its own arguments; stdout and stderr
 * go to `output`. */
static int deploy(fixture *f, const char *key, const char *config, const char *out)
{
    char config_path[4300];
    if (config[0] == '/')
        snprintf(config_path, sizeof config_path, "%s", config);
    else
        snprintf(config_path, sizeof config_path, "%s/%s", f->dir, config);
    const char *argv[] = {CUSTOS_NODE, DEPLOY_SCRIPT, "--rpc", f->url, "--key-file", key,
                          "--config", config_path, "--out", out, NULL};
    return tu_run(argv, output, sizeof output, 1);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("expected \"%s\" in:\n%s", needle, haystack);
}

static const char *json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("deployed.json: %s: expected a string", key);
    return json_string_value(v);
}

static void hex32(const uint8_t h[32], char out[67])
{
    assert_int_equal(custos_hex_encode(h, 32, out, 67), CUSTOS_OK);
}

static void test_deploys_and_configures(void **state)
{
    fixture *f = *state;
    write_config(f, "deploy.json", 31337, "valuation_agent");
    if (deploy(f, f->key, "deploy.json", f->out) != 0)
        fail_msg("deploy.mjs failed:\n%s", output);
    assert_contains(output, OWNER_ADDR " must call acceptOwnership()");
    assert_true(strstr(output, &DEV_KEY[2]) == NULL); /* the key is never printed */

    json_error_t jerr;
    json_t *d = json_load_file(f->out, 0, &jerr);
    if (d == NULL)
        fail_msg("deployed.json: %s", jerr.text);
    assert_int_equal(json_integer_value(json_object_get(d, "chainId")), 31337);
    assert_true(json_integer_value(json_object_get(d, "deployBlock")) >= 1);
    char adapter[64];
    snprintf(adapter, sizeof adapter, "%s", json_str(d, "adapter"));

    uint8_t id[32];
    char feed_id[67], account_id[67];
    custos_keccak256((const uint8_t *)"acme-custody", strlen("acme-custody"), id);
    hex32(id, feed_id);
    assert_string_equal(json_str(json_object_get(d, "feeds"), "acme-custody"), feed_id);
    custos_account_id("acme-custody", "ACME-FUND-001", id);
    hex32(id, account_id);
    json_t *acct = json_array_get(json_object_get(d, "accounts"), 0);
    assert_non_null(acct);
    assert_string_equal(json_str(acct, "account"), account_id);
    assert_string_equal(json_str(acct, "ref"), "ACME-FUND-001");
    json_t *feeds = json_object_get(acct, "feeds");
    assert_int_equal(json_object_size(feeds), 2);

    /* On-chain, read with cast. */
    const char *policy[] = {"call", adapter,
                            "feed(bytes32)(uint8,bool,uint32,uint32,uint32,uint32,uint8,uint32)",
                            feed_id, "--json", NULL};
    assert_int_equal(cast(f, policy), 0);
    json_t *p = json_loads(output, 0, &jerr);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_array_get(p, 0)), 2);
    assert_true(json_is_true(json_array_get(p, 1)));
    assert_int_equal(json_integer_value(json_array_get(p, 2)), 345600);
    assert_int_equal(json_integer_value(json_array_get(p, 3)), 300);
    assert_int_equal(json_integer_value(json_array_get(p, 4)), 604800);
    /* The circuit breaker and the sequence step (rules 6 and 12). */
    assert_int_equal(json_integer_value(json_array_get(p, 5)), 2500);
    assert_int_equal(json_integer_value(json_array_get(p, 6)), 3);
    assert_int_equal(json_integer_value(json_array_get(p, 7)), 5000);
    json_decref(p);
    const char *custodian[] = {"call", adapter, "signer(bytes32,address)(uint8,uint8,uint64)",
                               feed_id, CUSTODIAN_ADDR, NULL};
    assert_int_equal(cast(f, custodian), 0);
    assert_string_equal(output, "1\n0\n0"); /* active, custodian */
    const char *agent[] = {"call", adapter, "signer(bytes32,address)(uint8,uint8,uint64)",
                           feed_id, AGENT_ADDR, NULL};
    assert_int_equal(cast(f, agent), 0);
    assert_string_equal(output, "1\n1\n0"); /* active, valuation agent */
    const char *bound[] = {"call", adapter, "accountFeedId(bytes32)(bytes32)", account_id, NULL};
    assert_int_equal(cast(f, bound), 0);
    assert_string_equal(output, feed_id);
    const char *lenders[] = {LENDER_A, LENDER_B};
    for (size_t i = 0; i < 2; i++) {
        const char *q[] = {"call", adapter, "accountFeed(bytes32,address)(address)", account_id,
                           lenders[i], NULL};
        assert_int_equal(cast(f, q), 0);
        assert_string_equal(output, json_str(feeds, lenders[i]));
        const char *r[] = {"call", json_str(feeds, lenders[i]),
                           "latestRoundData()(uint80,int256,uint256,uint256,uint80)", NULL};
        assert_int_equal(cast(f, r), 0);
        assert_string_equal(output, "0\n0\n0\n0\n0"); /* no attestation yet */
    }
    const char *owner[] = {"call", adapter, "owner()(address)", NULL};
    assert_int_equal(cast(f, owner), 0);
    assert_string_equal(output, DEV_ADDR);
    const char *pending[] = {"call", adapter, "pendingOwner()(address)", NULL};
    assert_int_equal(cast(f, pending), 0);
    assert_string_equal(output, OWNER_ADDR);
    assert_string_equal(json_str(d, "pendingOwner"), OWNER_ADDR);
    /* CustosReserves beside the adapter, reading it, with its ages; nothing pledged yet,
     * no reserves published: reservesOk fails closed. */
    const char *res = json_str(d, "reserves");
    const char *res_adapter[] = {"call", res, "adapter()(address)", NULL};
    assert_int_equal(cast(f, res_adapter), 0);
    assert_int_equal(strcasecmp(output, adapter), 0);
    const char *res_age[] = {"call", res, "maxAge()(uint64)", NULL};
    assert_int_equal(cast(f, res_age), 0);
    assert_int_equal(strtoull(output, NULL, 10), 172800); /* cast adds " [1.728e5]" */
    const char *res_ok[] = {"call", res, "reservesOk(bytes32)(bool)", feed_id, NULL};
    assert_int_equal(cast(f, res_ok), 0);
    assert_string_equal(output, "false");
    json_decref(d);

    /* A second run never overwrites the record of the first. */
    char *before = tu_read_file(f->out);
    assert_int_equal(deploy(f, f->key, "deploy.json", f->out), 1);
    assert_contains(output, "already exists");
    char *after = tu_read_file(f->out);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* A reserves attestation of two accounts, sequence seq, signed by the given keys, written
 * as custos-attestor reserves and cosign-reserves write reserves.json. */
static void write_reserves(fixture *f, const char *path, const char *adapter, uint64_t seq,
                           const char *const *keys, size_t n_keys)
{
    custos_reserves_entry es[2];
    memset(es, 0, sizeof es);
    custos_account_id("acme-custody", "ACME-FUND-001", es[0].account);
    custos_account_id("acme-custody", "ACME-FUND-002", es[1].account);
    custos_u256_from_u64(&es[0].collateral_value, 600);
    custos_u256_from_u64(&es[1].collateral_value, 400);
    custos_reserves r;
    memset(&r, 0, sizeof r);
    custos_error err;
    assert_int_equal(custos_reserves_summarise(es, 2, &r, &err), CUSTOS_OK);
    custos_feed_id("acme-custody", r.feed_id);
    r.as_of = (uint64_t)time(NULL) - 30;
    r.sequence = seq;
    custos_domain d = {.chain_id = 31337};
    assert_int_equal(custos_hex_decode(adapter, d.verifying_contract, 20, &err), CUSTOS_OK);
    uint8_t digest[32];
    custos_reserves_digest(&d, &r, digest);
    char root[67], dig[67], sigs[600] = "";
    hex32(r.sum_root, root);
    hex32(digest, dig);
    custos_secp *ctx = custos_secp_new();
    assert_non_null(ctx);
    for (size_t i = 0; i < n_keys; i++) {
        uint8_t sk[32];
        custos_signature sig;
        char hex[2 + 130 + 1];
        assert_int_equal(custos_hex_decode(keys[i], sk, sizeof sk, &err), CUSTOS_OK);
        assert_int_equal(custos_sign_digest(ctx, sk, digest, &sig, &err), CUSTOS_OK);
        assert_int_equal(custos_hex_encode(sig.bytes, sizeof sig.bytes, hex, sizeof hex),
                         CUSTOS_OK);
        size_t len = strlen(sigs);
        snprintf(sigs + len, sizeof sigs - len, "%s\"%s\"", i ? ", " : "", hex);
    }
    custos_secp_free(ctx);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"feed\": \"acme-custody\", \"chainId\": 31337, \"verifyingContract\": \"%s\",\n"
             " \"totalCollateral\": \"1000\", \"accounts\": 2, \"sumRoot\": \"%s\",\n"
             " \"asOf\": %llu, \"sequence\": %llu, \"digest\": \"%s\", \"signatures\": [%s]}\n",
             adapter, root, (unsigned long long)r.as_of, (unsigned long long)seq, dig, sigs);
    (void)f;
    tu_write_file(path, text);
}

static int publish(fixture *f, const char *reserves)
{
    const char *argv[] = {CUSTOS_NODE, PUBLISH_RESERVES, "--rpc", f->url, "--key-file", f->key,
                          "--deployed", f->out, "--reserves", reserves, NULL};
    return tu_run(argv, output, sizeof output, 1);
}

/* publish-reserves.mjs against the deployment of test_deploys_and_configures: the feed's
 * quorum (custodian and agent, two roles) is published and read back with cast; the same
 * sequence again and the custodian alone are refused, naming the contract's error. */
static void test_publish_reserves(void **state)
{
    fixture *f = *state;
    json_error_t jerr;
    json_t *d = json_load_file(f->out, 0, &jerr);
    if (d == NULL)
        fail_msg("deployed.json (from test_deploys_and_configures): %s", jerr.text);
    char adapter[64], reserves[64], path[4300];
    snprintf(adapter, sizeof adapter, "%s", json_str(d, "adapter"));
    snprintf(reserves, sizeof reserves, "%s", json_str(d, "reserves"));
    json_decref(d);
    snprintf(path, sizeof path, "%s/reserves.json", f->dir);
    const char *quorum[] = {CUSTODIAN_KEY, AGENT_KEY};
    write_reserves(f, path, adapter, 1, quorum, 2);
    if (publish(f, path) != 0)
        fail_msg("publish-reserves.mjs failed:\n%s", output);
    assert_contains(output, "reservesOk true");
    assert_contains(output, "signer " CUSTODIAN_ADDR);

    uint8_t id[32];
    char feed_id[67];
    custos_keccak256((const uint8_t *)"acme-custody", strlen("acme-custody"), id);
    hex32(id, feed_id);
    const char *stored[] = {"call", reserves, "reserves(bytes32)((uint256,bytes32,uint64,uint64,uint64))",
                            feed_id, NULL};
    assert_int_equal(cast(f, stored), 0);
    assert_contains(output, "(1000, 0x");
    const char *ok[] = {"call", reserves, "reservesOk(bytes32)(bool)", feed_id, NULL};
    assert_int_equal(cast(f, ok), 0);
    assert_string_equal(output, "true");

    assert_int_equal(publish(f, path), 1);
    assert_contains(output, "ReservesReplay");
    const char *alone[] = {CUSTODIAN_KEY};
    write_reserves(f, path, adapter, 2, alone, 1);
    assert_int_equal(publish(f, path), 1);
    assert_contains(output, "TooFewRoles");
}

static void expect_refusal(fixture *f, const char *key, const char *config, const char *message)
{
    char out[4300];
    snprintf(out, sizeof out, "%s/refused.json", f->dir);
    assert_int_equal(deploy(f, key, config, out), 1);
    assert_contains(output, message);
    assert_int_equal(access(out, F_OK), -1);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    write_config(f, "ok.json", 31337, "valuation_agent");
    write_config(f, "other-chain.json", 1, "valuation_agent");
    write_config(f, "bad-role.json", 31337, "valuer");

    expect_refusal(f, f->key, "other-chain.json", "chainId: 1, but the node at");
    expect_refusal(f, f->key, "bad-role.json",
                   "bad-role.json: feeds[0].signers[1].role: expected one of custodian, "
                   "valuation_agent, fund_administrator, auditor");
    expect_refusal(f, f->key, CUSTOS_SOURCE_DIR "/deploy/examples/deploy.json",
                   "owner: 0xREPLACE_WITH_OWNER_MULTISIG_ADDRESS is a placeholder");
    /* The breaker's two settings go together, and a held rise needs more than the quorum. */
    char path[4300];
    snprintf(path, sizeof path, "%s/no-release.json", f->dir);
    tu_write_file(path, "{\"chainId\": 31337, \"feeds\": [{\"name\": \"f\", \"threshold\": 2,"
                        " \"distinctRoles\": false, \"maxAge\": 1, \"maxSkew\": 0, \"maxTtl\": 1,"
                        " \"breakerRiseBps\": 100,"
                        " \"signers\": [{\"address\": \"" CUSTODIAN_ADDR "\", \"role\": \"custodian\"},"
                        " {\"address\": \"" AGENT_ADDR "\", \"role\": \"auditor\"}]}]}\n");
    expect_refusal(f, f->key, "no-release.json",
                   "feeds[0].breakerRiseBps: needs breakerReleaseThreshold");
    snprintf(path, sizeof path, "%s/low-release.json", f->dir);
    tu_write_file(path, "{\"chainId\": 31337, \"feeds\": [{\"name\": \"f\", \"threshold\": 2,"
                        " \"distinctRoles\": false, \"maxAge\": 1, \"maxSkew\": 0, \"maxTtl\": 1,"
                        " \"breakerRiseBps\": 100, \"breakerReleaseThreshold\": 2,"
                        " \"signers\": [{\"address\": \"" CUSTODIAN_ADDR "\", \"role\": \"custodian\"},"
                        " {\"address\": \"" AGENT_ADDR "\", \"role\": \"auditor\"}]}]}\n");
    expect_refusal(f, f->key, "low-release.json",
                   "feeds[0].breakerReleaseThreshold: expected an integer from 3 to 16");

    char loose[4300];
    snprintf(loose, sizeof loose, "%s/loose.key", f->dir);
    tu_write_file(loose, DEV_KEY "\n");
    assert_int_equal(chmod(loose, 0640), 0);
    expect_refusal(f, loose, "ok.json", "has mode 0640: group or others may access it");
    assert_true(strstr(output, &DEV_KEY[2]) == NULL);

    char garbled[4300];
    snprintf(garbled, sizeof garbled, "%s/garbled.key", f->dir);
    tu_write_file(garbled, "0x1234\n");
    assert_int_equal(chmod(garbled, 0600), 0);
    expect_refusal(f, garbled, "ok.json", "must hold exactly one key");
}

/* Deploys a forge artifact with cast (constructor arguments ABI-encoded by cast from
 * `signature` and `args`); `address` gets the new contract's address. */
static void deploy_artifact(fixture *f, const char *artifact, const char *signature,
                            const char *const args[], char address[43])
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
    const char *argv[16] = {CAST_BIN, "send",    "--private-key", DEV_KEY, "--json",
                            "--rpc-url", f->url, "--create",      code};
    size_t n = 9;
    if (signature != NULL) {
        argv[n++] = signature;
        for (size_t i = 0; args[i] != NULL; i++) {
            assert_true(n < 15);
            argv[n++] = args[i];
        }
    }
    argv[n] = NULL;
    if (tu_run(argv, output, sizeof output, 0) != 0)
        fail_msg("deploying %s: %s", artifact, output);
    json_decref(a);
    json_t *rc = json_loads(output, 0, &jerr);
    if (rc == NULL)
        fail_msg("cast send --create %s: not JSON: %s", artifact, output);
    snprintf(address, 43, "%s", json_string_value(json_object_get(rc, "contractAddress")));
    json_decref(rc);
    assert_int_equal(strlen(address), 42);
}

static void send_tx(fixture *f, const char *to, const char *signature, const char *arg)
{
    const char *argv[] = {"send", "--private-key", DEV_KEY, "--json", to, signature, arg, NULL};
    /* cast exits 0 on a mined revert: the receipt's status says. */
    if (cast(f, argv) != 0 || strstr(output, "\"status\":\"0x1\"") == NULL)
        fail_msg("cast send %s %s: not mined successfully: %s", to, signature, output);
}

/* cast call with --json: the decoded results as a JSON array (caller frees). */
static json_t *call_json(fixture *f, const char *to, const char *signature, const char *a1,
                         const char *a2)
{
    /* a1 or a2 NULL ends the list early. */
    const char *argv[] = {"call", to, signature, "--json", a1, a2, NULL};
    if (cast(f, argv) != 0)
        fail_msg("cast call %s %s: %s", to, signature, output);
    json_error_t jerr;
    json_t *j = json_loads(output, 0, &jerr);
    if (!json_is_array(j))
        fail_msg("cast call %s %s: expected a JSON array, got %s", to, signature, output);
    return j;
}

static const char *at(json_t *array, size_t i)
{
    json_t *v = json_array_get(array, i);
    if (!json_is_string(v))
        fail_msg("expected a string at index %zu", i);
    return json_string_value(v);
}

/* A decoded number, whether cast wrote it as a JSON number or a string. */
static void assert_number(json_t *array, size_t i, const char *want)
{
    json_t *v = json_array_get(array, i);
    char got[96];
    if (json_is_integer(v))
        snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(got, sizeof got, "%s", json_string_value(v));
    else
        fail_msg("expected a number at index %zu", i);
    assert_string_equal(got, want);
}

static void assert_same_address(const char *got, const char *want)
{
    if (strcasecmp(got, want) != 0)
        fail_msg("address %s, expected %s", got, want);
}

#define PLEDGE_CONFIG                                                                      \
    "{\"chainId\": 31337,\n"                                                                \
    " \"feeds\": [{\"name\": \"acme-custody\", \"threshold\": 1, \"distinctRoles\": false,\n" \
    "   \"maxAge\": 345600, \"maxSkew\": 300, \"maxTtl\": 604800,\n"                        \
    "   \"breakerRiseBps\": 2500, \"breakerReleaseThreshold\": 3, \"maxSequenceStep\": 5000,\n" \
    "   \"signers\": [{\"address\": \"" CUSTODIAN_ADDR "\", \"role\": \"custodian\"}],\n"    \
    "   \"accounts\": [{\"custodian\": \"acme-custody\", \"ref\": \"ACME-FUND-001\",\n"      \
    "                 \"lenders\": []}]}],\n"                                                \
    " \"pledges\": [{\"custodian\": \"acme-custody\", \"ref\": \"%s\",\n"                   \
    "   \"beneficiary\": \"%s\", \"borrower\": \"" BORROWER_ADDR "\",\n"                     \
    "   \"lender\": \"" PLEDGE_LENDER "\", \"agent\": \"" AGENT_LIQ "\",\n"                  \
    "   \"morpho\": {\"loanToken\": \"%s\", \"irm\": \"%s\", \"lltv\": \"%s\",\n"             \
    "              \"createMarket\": true},\n"                                               \
    "   \"aaveSource\": true}]}\n"

static void write_pledge_config(fixture *f, const char *name, const char *ref, const char *morpho,
                                const char *loan, const char *irm, const char *lltv)
{
    char path[4300], text[4096];
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    snprintf(text, sizeof text, PLEDGE_CONFIG, ref, morpho, loan, irm, lltv);
    tu_write_file(path, text);
}

static void test_pledges(void **state)
{
    fixture *f = *state;
    char morpho[43], irm[43], loan[43];
    const char *owner_arg[] = {DEV_ADDR, NULL};
    deploy_artifact(f, "out-morpho/Morpho.sol/Morpho.json", "constructor(address)", owner_arg,
                    morpho);
    deploy_artifact(f, "out-morpho/IrmMock.sol/IrmMock.json", NULL, NULL, irm);
    const char *six[] = {"6", NULL};
    deploy_artifact(f, "out/LendingFixture.sol/LoanToken.json", "constructor(uint8)", six, loan);
    send_tx(f, morpho, "enableIrm(address)", irm);
    send_tx(f, morpho, "enableLltv(uint256)", "800000000000000000");

    write_pledge_config(f, "unlisted.json", "NOT-LISTED", morpho, loan, irm, "0.8");
    expect_refusal(f, f->key, "unlisted.json",
                   "unlisted.json: pledges[0]: account acme-custody/NOT-LISTED is not listed in "
                   "any feed's accounts");
    write_pledge_config(f, "lltv.json", "ACME-FUND-001", morpho, loan, irm, "1.2");
    expect_refusal(f, f->key, "lltv.json",
                   "lltv.json: pledges[0].morpho.lltv: expected a decimal string below 1");

    char out[4300];
    snprintf(out, sizeof out, "%s/pledged.json", f->dir);
    write_pledge_config(f, "pledge.json", "ACME-FUND-001", morpho, loan, irm, "0.8");
    if (deploy(f, f->key, "pledge.json", out) != 0)
        fail_msg("deploy.mjs with a pledge failed:\n%s", output);
    json_error_t jerr;
    json_t *d = json_load_file(out, 0, &jerr);
    if (d == NULL)
        fail_msg("pledged.json: %s", jerr.text);
    char adapter[43], registry[43], receipt[43], oracle[43], market_id[67], source[43];
    snprintf(adapter, sizeof adapter, "%s", json_str(d, "adapter"));
    snprintf(registry, sizeof registry, "%s", json_str(d, "pledgeRegistry"));
    json_t *p = json_array_get(json_object_get(d, "pledges"), 0);
    assert_non_null(p);
    snprintf(receipt, sizeof receipt, "%s", json_str(p, "receipt"));
    snprintf(oracle, sizeof oracle, "%s", json_str(p, "morphoOracle"));
    snprintf(market_id, sizeof market_id, "%s", json_str(p, "morphoMarketId"));
    snprintf(source, sizeof source, "%s", json_str(p, "aaveSource"));
    uint8_t id[32];
    char account_id[67];
    custos_account_id("acme-custody", "ACME-FUND-001", id);
    hex32(id, account_id);
    assert_string_equal(json_str(p, "account"), account_id);
    json_decref(d);

    /* The adapter asks the registry about every release. */
    json_t *j = call_json(f, adapter, "pledges()(address)", NULL, NULL);
    assert_same_address(at(j, 0), registry);
    json_decref(j);
    /* The pledge, as the registry records it. */
    j = call_json(f, registry,
                  "pledge(bytes32,address)((address,address,address,bytes32,address,address,"
                  "address,bool,uint64))",
                  account_id, morpho);
    json_t *t = json_array_get(j, 0);
    if (!json_is_array(t) || json_array_size(t) != 9)
        fail_msg("pledge: expected a 9-field tuple, got %s", output);
    assert_same_address(at(t, 0), receipt);
    assert_same_address(at(t, 1), oracle);
    assert_same_address(at(t, 2), source);
    assert_string_equal(at(t, 3), market_id);
    assert_same_address(at(t, 4), BORROWER_ADDR);
    assert_same_address(at(t, 5), PLEDGE_LENDER);
    assert_same_address(at(t, 6), AGENT_LIQ);
    assert_true(json_is_false(json_array_get(t, 7))); /* live */
    assert_number(t, 8, "0"); /* no consent yet */
    json_decref(j);
    /* Morpho itself knows the market by that id, with the receipt and its oracle. */
    j = call_json(f, morpho, "idToMarketParams(bytes32)(address,address,address,address,uint256)",
                  market_id, NULL);
    assert_same_address(at(j, 0), loan);
    assert_same_address(at(j, 1), receipt);
    assert_same_address(at(j, 2), oracle);
    assert_same_address(at(j, 3), irm);
    assert_number(j, 4, "800000000000000000");
    json_decref(j);
    /* The whole receipt is the borrower's; nothing attested yet, so both prices are 0. */
    j = call_json(f, receipt, "balanceOf(address)(uint256)", BORROWER_ADDR, NULL);
    assert_number(j, 0, "1000000000000000000");
    json_decref(j);
    j = call_json(f, oracle, "price()(uint256)", NULL, NULL);
    assert_number(j, 0, "0");
    json_decref(j);
    j = call_json(f, source, "decimals()(uint8)", NULL, NULL);
    assert_number(j, 0, "8");
    json_decref(j);
    j = call_json(f, source, "latestAnswer()(int256)", NULL, NULL);
    assert_number(j, 0, "0");
    json_decref(j);
}

/* With timelockDelay, the configured adapter is handed to a CustosTimelock owned by the
 * deployer, which offers it to "owner": the deployer's key no longer adds a signer
 * directly, the timelock's delay is the configured one. */
static void test_deploys_behind_timelock(void **state)
{
    fixture *f = *state;
    char path[4300], text[2048], out[4300];
    snprintf(path, sizeof path, "%s/timelock.json", f->dir);
    int n = snprintf(text, sizeof text, "{\"timelockDelay\": 86400, ");
    snprintf(text + n, sizeof text - (size_t)n, &CONFIG_TEMPLATE[1], 31337, "valuation_agent");
    tu_write_file(path, text);
    snprintf(out, sizeof out, "%s/timelock-deployed.json", f->dir);
    if (deploy(f, f->key, "timelock.json", out) != 0)
        fail_msg("deploy.mjs failed:\n%s", output);
    assert_contains(output, OWNER_ADDR " must call acceptOwnership() on the timelock");

    json_error_t jerr;
    json_t *d = json_load_file(out, 0, &jerr);
    if (d == NULL)
        fail_msg("deployed.json: %s", jerr.text);
    char adapter[64], timelock[64];
    snprintf(adapter, sizeof adapter, "%s", json_str(d, "adapter"));
    snprintf(timelock, sizeof timelock, "%s", json_str(d, "timelock"));
    assert_string_equal(json_str(d, "owner"), timelock);
    assert_string_equal(json_str(d, "pendingOwner"), OWNER_ADDR);
    assert_int_equal(json_integer_value(json_object_get(d, "timelockDelay")), 86400);
    json_decref(d);

    const char *owner[] = {"call", adapter, "owner()(address)", NULL};
    assert_int_equal(cast(f, owner), 0);
    assert_string_equal(output, timelock);
    const char *delay[] = {"call", timelock, "delay()(uint64)", NULL};
    assert_int_equal(cast(f, delay), 0);
    assert_string_equal(output, "86400 [8.64e4]"); /* as cast prints it */
    const char *pending[] = {"call", timelock, "pendingOwner()(address)", NULL};
    assert_int_equal(cast(f, pending), 0);
    assert_string_equal(output, OWNER_ADDR);
    const char *adapter_owner[] = {"call", timelock, "adapter()(address)", NULL};
    assert_int_equal(cast(f, adapter_owner), 0);
    assert_string_equal(output, adapter);
    /* The deployer's key reaches the adapter only through the timelock now. */
    uint8_t id[32];
    char feed_id[67];
    custos_keccak256((const uint8_t *)"acme-custody", strlen("acme-custody"), id);
    hex32(id, feed_id);
    const char *add[] = {"send", "--private-key", DEV_KEY, adapter,
                         "addSigner(bytes32,address,uint8)", feed_id, BORROWER_ADDR, "0", NULL};
    assert_true(cast(f, add) != 0);
    assert_contains(output, "OwnableUnauthorizedAccount");

    snprintf(path, sizeof path, "%s/short-delay.json", f->dir);
    n = snprintf(text, sizeof text, "{\"timelockDelay\": 60, ");
    snprintf(text + n, sizeof text - (size_t)n, &CONFIG_TEMPLATE[1], 31337, "valuation_agent");
    tu_write_file(path, text);
    expect_refusal(f, f->key, "short-delay.json",
                   "timelockDelay: expected an integer from 3600 to 2592000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deploys_and_configures),
        cmocka_unit_test(test_publish_reserves),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_pledges),
        cmocka_unit_test(test_deploys_behind_timelock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
