/* The reserves attestation end to end through the real binaries: custos-attestor reserves
 * values the sample book, signs the total and writes one inclusion proof per account;
 * custos verify-reserves-proof accepts each with the custodian's address, an independent
 * verifier in JavaScript (ethers for keccak, ABI and EIP-712 only) agrees, and tampered
 * files or another signer are refused saying why; custos-attestor cosign-reserves adds a
 * second key's signature to every file, which verify-reserves-proof counts for a quorum. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"

#include "testutil.h"

static char dir[512], out_dir[600], key[600], holdings[600], prices[600], policy[600],
    state_path[600], now_text[32], signer[64];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}


static int group_setup(void **state)
{
    (void)state;
    tu_mkdtemp(dir, sizeof dir);
    path_in(out_dir, sizeof out_dir, "out");
    assert_int_equal(mkdir(out_dir, 0700), 0);
    path_in(key, sizeof key, "custodian.key");
    path_in(holdings, sizeof holdings, "holdings.json");
    path_in(prices, sizeof prices, "prices.json");
    path_in(policy, sizeof policy, "policy.json");
    path_in(state_path, sizeof state_path, "state.json");
    tu_copy_example("holdings.json", holdings);
    tu_copy_example("prices.json", prices);
    tu_copy_example("policy.json", policy);

    /* The clock: a minute after the newest sample price. */
    json_error_t jerr;
    json_t *root = json_load_file(prices, 0, &jerr);
    assert_non_null(root);
    const char *k;
    json_t *e;
    json_int_t newest = 0;
    json_object_foreach(json_object_get(root, "prices"), k, e) {
        json_int_t t = json_integer_value(json_object_get(e, "as_of"));
        if (t > newest)
            newest = t;
    }
    json_decref(root);
    assert_true(newest > 0);
    snprintf(now_text, sizeof now_text, "%lld", (long long)newest + 60);

    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--out", key, NULL};
    char out[1024];
    assert_int_equal(tu_run(argv, out, sizeof out, 0), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(strlen(out), 42);
    snprintf(signer, sizeof signer, "%s", out);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rmtree(dir);
    return 0;
}

static int run_reserves(char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "reserves", "--holdings", holdings, "--prices",
                          prices, "--policy", policy, "--key", key, "--feed", "acme-custody",
                          "--chain-id", "31337", "--contract",
                          "0x5FbDB2315678afecb367f032d93F642f64180aa3", "--state", state_path,
                          "--out-dir", out_dir, "--now", now_text, NULL};
    return tu_run(argv, out, cap, 1);
}

static int verify(const char *path, const char *who, char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "verify-reserves-proof", path, "--signer", who, NULL};
    return tu_run(argv, out, cap, 1);
}

/* The proof files in out_dir (not reserves.json); returns how many, paths in files. */
static size_t proof_files(char files[][700], size_t cap)
{
    DIR *d = opendir(out_dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL)
        if (strncmp(ent->d_name, "0x", 2) == 0 && n < cap) {
            int w = snprintf(files[n++], 700, "%s/%.90s", out_dir, ent->d_name);
            assert_true(w > 0 && w < 700);
        }
    closedir(d);
    return n;
}

static void test_every_account_verifies_in_c_and_js(void **state)
{
    (void)state;
    char out[8192];
    int rc = run_reserves(out, sizeof out);
    if (rc != 0)
        fail_msg("custos-attestor reserves exited %d: %s", rc, out);
    assert_non_null(strstr(out, "sequence     1"));
    char files[16][700];
    size_t n = proof_files(files, 16);
    assert_int_equal(n, 2); /* the sample book's two accounts */
    for (size_t i = 0; i < n; i++) {
        rc = verify(files[i], signer, out, sizeof out);
        if (rc != 0)
            fail_msg("verify-reserves-proof %s exited %d: %s", files[i], rc, out);
        assert_non_null(strstr(out, " of 2, in feed"));
        const char *args[] = {files[i], NULL};
        rc = tu_node("reserves_proof_verify.mjs", args, out, sizeof out);
        if (rc != 0)
            fail_msg("node refused %s (%d): %s", files[i], rc, out);
        char want[80];
        snprintf(want, sizeof want, "signer %s", signer);
        assert_non_null(strstr(out, want));
    }
    /* A second run takes the next sequence. */
    assert_int_equal(run_reserves(out, sizeof out), 0);
    assert_non_null(strstr(out, "sequence     2"));
}

/* Sets member key of the JSON file at path to the string value. */
static void set_member(const char *path, const char *member, json_t *value)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    assert_int_equal(json_object_set_new(root, member, value), 0);
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
    json_decref(root);
}

static void test_tampering_and_other_signer_refused(void **state)
{
    (void)state;
    static const struct {
        const char *member, *value, *why;
        int node_refuses; /* inclusion fails in node too */
    } cases[] = {
        {"collateralValue", "1", "the leaf is not the hash", 1},
        {"totalCollateral", "1", "exceeds the signed total", 1},
        {"sumRoot", "0x1111111111111111111111111111111111111111111111111111111111111111",
         "does not lead to the signed root", 1},
        {"feed", "other-custody", "\"feedId\" is not keccak256", 0},
        {"account", "0x2222222222222222222222222222222222222222222222222222222222222222",
         "the leaf is not the hash", 1},
    };
    char out[8192];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(run_reserves(out, sizeof out), 0);
        char files[16][700];
        assert_true(proof_files(files, 16) > 0);
        set_member(files[0], cases[i].member,
                   strcmp(cases[i].member, "accounts") == 0 ? json_integer(3)
                                                            : json_string(cases[i].value));
        assert_int_equal(verify(files[0], signer, out, sizeof out), 1);
        if (strstr(out, cases[i].why) == NULL)
            fail_msg("case %s: expected '%s' in: %s", cases[i].member, cases[i].why, out);
        if (cases[i].node_refuses) {
            const char *args[] = {files[0], NULL};
            assert_int_not_equal(tu_node("reserves_proof_verify.mjs", args, out, sizeof out),
                                 0);
        }
    }

    assert_int_equal(run_reserves(out, sizeof out), 0);
    char files[16][700];
    assert_true(proof_files(files, 16) > 0);
    assert_int_equal(verify(files[0], "0x0000000000000000000000000000000000000001", out,
                            sizeof out),
                     1);
    assert_non_null(strstr(out, "not signed by --signer"));
    assert_int_equal(verify(files[0], "0x1234", out, sizeof out), 1);
    assert_non_null(strstr(out, "--signer"));
}

/* A second key cosigns the directory: every proof file then carries both signatures,
 * verify-reserves-proof accepts two trusted signers with --threshold 2 and refuses it with
 * one, node recovers both; the same key again, and a changed reserves.json, are refused. */
static void test_cosign_reserves_quorum(void **state)
{
    (void)state;
    char out[8192], second[700], second_addr[64];
    snprintf(second, sizeof second, "%s/agent.key", dir);
    const char *gen[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--out", second, NULL};
    assert_int_equal(tu_run(gen, out, sizeof out, 0), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_int_equal(strlen(out), 42);
    memcpy(second_addr, out, 43);
    assert_int_equal(run_reserves(out, sizeof out), 0);
    const char *cosign[] = {CUSTOS_ATTESTOR_BIN, "cosign-reserves", "--dir", out_dir, "--key",
                            second, NULL};
    int rc = tu_run(cosign, out, sizeof out, 1);
    if (rc != 0)
        fail_msg("cosign-reserves exited %d: %s", rc, out);
    assert_non_null(strstr(out, "proof files  2"));
    char files[16][700];
    size_t n = proof_files(files, 16);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        const char *both[] = {CUSTOS_CLI_BIN, "verify-reserves-proof", files[i], "--signer",
                              signer, "--signer", second_addr, "--threshold", "2", NULL};
        rc = tu_run(both, out, sizeof out, 1);
        if (rc != 0)
            fail_msg("verify with both signers exited %d: %s", rc, out);
        assert_non_null(strstr(out, "signed by 2 of the 2 trusted signers"));
        const char *one[] = {CUSTOS_CLI_BIN, "verify-reserves-proof", files[i], "--signer",
                             signer, "--signer", "0x0000000000000000000000000000000000000001",
                             "--threshold", "2", NULL};
        assert_int_equal(tu_run(one, out, sizeof out, 1), 1);
        assert_non_null(strstr(out, "fewer of the --signer addresses signed than --threshold"));
        const char *args[] = {files[i], NULL};
        rc = tu_node("reserves_proof_verify.mjs", args, out, sizeof out);
        if (rc != 0)
            fail_msg("node refused %s (%d): %s", files[i], rc, out);
        char want[80];
        snprintf(want, sizeof want, "signer %s", signer);
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof want, "signer %s", second_addr);
        assert_non_null(strstr(out, want));
    }
    assert_int_equal(tu_run(cosign, out, sizeof out, 1), 1);
    assert_non_null(strstr(out, "this key signed it already"));
    char summary[700];
    snprintf(summary, sizeof summary, "%s/reserves.json", out_dir);
    set_member(summary, "totalCollateral", json_string("1"));
    assert_int_equal(tu_run(cosign, out, sizeof out, 1), 1);
    assert_non_null(strstr(out, "not the EIP-712 digest"));
}

static void test_bad_input_signs_nothing(void **state)
{
    (void)state;
    char out[8192], missing[700];
    snprintf(missing, sizeof missing, "%s/none", dir);
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "reserves", "--holdings", holdings, "--prices",
                          prices, "--policy", policy, "--key", key, "--feed", "acme-custody",
                          "--chain-id", "31337", "--contract",
                          "0x5FbDB2315678afecb367f032d93F642f64180aa3", "--state", state_path,
                          "--out-dir", missing, "--now", now_text, NULL};
    assert_int_equal(tu_run(argv, out, sizeof out, 1), 1);
    assert_non_null(strstr(out, "not a directory"));
    const char *no_key[] = {CUSTOS_ATTESTOR_BIN, "reserves", "--holdings", holdings, NULL};
    assert_int_equal(tu_run(no_key, out, sizeof out, 1), 1);
    assert_non_null(strstr(out, "is required"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_account_verifies_in_c_and_js),
        cmocka_unit_test(test_tampering_and_other_signer_refused),
        cmocka_unit_test(test_cosign_reserves_quorum),
        cmocka_unit_test(test_bad_input_signs_nothing),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
