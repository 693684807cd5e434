/* deploy/scripts/deploy.mjs against a real anvil: what it deploys and configures is read
 * back with cast (independently of the script's ethers), ids are checked against
 * libcustos, and its refusals leave nothing behind. */
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

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "anvil.h"
#include "testutil.h"

#define CAST_BIN TU_FOUNDRY_DIR "/cast-linux-amd64/bin/cast"
#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define BUILD_CONTRACTS CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
/* anvil's first well-known development account (public test key, funded on start). */
#define DEV_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define DEV_ADDR "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define OWNER_ADDR "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
#define CUSTODIAN_ADDR "0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A"
#define AGENT_ADDR "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
#define LENDER_A "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
#define LENDER_B "0x00000000000000000000000000000000000A11cE"

#define CONFIG_TEMPLATE                                                                    \
    "{\"chainId\": %d, \"owner\": \"" OWNER_ADDR "\",\n"                                    \
    " \"feeds\": [{\"name\": \"acme-custody\", \"threshold\": 2, \"distinctRoles\": true,\n" \
    "   \"maxAge\": 345600, \"maxSkew\": 300, \"maxTtl\": 604800,\n"                        \
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
    assert_true(strstr(output, DEV_KEY + 2) == NULL); /* the key is never printed */

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
    const char *policy[] = {"call", adapter, "feed(bytes32)(uint8,bool,uint32,uint32,uint32)",
                            feed_id, "--json", NULL};
    assert_int_equal(cast(f, policy), 0);
    json_t *p = json_loads(output, 0, &jerr);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_array_get(p, 0)), 2);
    assert_true(json_is_true(json_array_get(p, 1)));
    assert_int_equal(json_integer_value(json_array_get(p, 2)), 345600);
    assert_int_equal(json_integer_value(json_array_get(p, 3)), 300);
    assert_int_equal(json_integer_value(json_array_get(p, 4)), 604800);
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

    char loose[4300];
    snprintf(loose, sizeof loose, "%s/loose.key", f->dir);
    tu_write_file(loose, DEV_KEY "\n");
    assert_int_equal(chmod(loose, 0640), 0);
    expect_refusal(f, loose, "ok.json", "has mode 0640: group or others may access it");
    assert_true(strstr(output, DEV_KEY + 2) == NULL);

    char garbled[4300];
    snprintf(garbled, sizeof garbled, "%s/garbled.key", f->dir);
    tu_write_file(garbled, "0x1234\n");
    assert_int_equal(chmod(garbled, 0600), 0);
    expect_refusal(f, garbled, "ok.json", "must hold exactly one key");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deploys_and_configures),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
