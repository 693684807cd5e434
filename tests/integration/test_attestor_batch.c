/* The real custos-attestor signs a book of several accounts as one batch (attest --batch
 * --export DIR): one file per account and the batch file; every account file verifies with
 * ethers and @openzeppelin/merkle-tree alone (tests/js/batch_account_verify.mjs); a cosign
 * of the directory adds the second signer to the batch and every account; sequences move
 * on per account and per feed; `custos verify` checks an account alone; bad command lines
 * and tampered directories and files are refused; submit-batch sends a cosigned directory
 * to the real gateway, which takes the registered accounts with their positions and refuses
 * the one that is not (and a directory with one signature, short of the quorum, whole). One
 * account of the book holds nothing (sold out, docs/custodian.md §2): it goes in the batch
 * at 0 with the all-zero positions root, and the gateway takes it. The largest book a batch
 * holds goes the whole way through the binaries; one account more is refused. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/merkle.h"
#include "custos/sig.h"

#include "gwfixture.h"

#define N_ACCOUNTS 5
#define OUT_CAP 65536

static gwf F;
static char k1[1200], k2[1200], state_path[1200], holdings[1200], prices[1200], policy[1200];
static char out[OUT_CAP];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static int run(const char *const args[])
{
    return tu_run_cmd(CUSTOS_ATTESTOR_BIN, args, out, sizeof out);
}


/* The sample book grown to N_ACCOUNTS accounts (copies of its first, under new refs; the
 * last but one, ACME-BATCH-003, with nothing left), the sample prices observed now, the
 * sample policy. */
static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    path_in(k1, sizeof k1, "custodian.key");
    path_in(k2, sizeof k2, "agent.key");
    path_in(state_path, sizeof state_path, "attestor-state.json");
    path_in(holdings, sizeof holdings, "holdings.json");
    path_in(prices, sizeof prices, "prices.json");
    path_in(policy, sizeof policy, "policy.json");
    custos_error err;
    assert_int_equal(custos_keyfile_write(k1, F.keys[GWF_KEY_CUSTODIAN].seckey, &err), CUSTOS_OK);
    assert_int_equal(custos_keyfile_write(k2, F.keys[GWF_KEY_AGENT].seckey, &err), CUSTOS_OK);

    json_t *h = tu_load_example("holdings.json");
    json_t *accounts = json_object_get(h, "accounts");
    json_t *first = json_array_get(accounts, 0);
    assert_non_null(first);
    for (size_t i = json_array_size(accounts); i < N_ACCOUNTS; i++) {
        json_t *copy = json_deep_copy(first);
        char ref[32];
        snprintf(ref, sizeof ref, "ACME-BATCH-%03zu", i);
        assert_int_equal(json_object_set_new(copy, "ref", json_string(ref)), 0);
        if (i == 3)
            assert_int_equal(json_object_set_new(copy, "positions", json_array()), 0);
        assert_int_equal(json_array_append_new(accounts, copy), 0);
    }
    assert_int_equal(json_dump_file(h, holdings, JSON_INDENT(2)), 0);
    json_decref(h);

    tu_write_example_prices(prices, gwf_now());

    json_t *pol = tu_load_example("policy.json");
    assert_int_equal(json_dump_file(pol, policy, JSON_INDENT(2)), 0);
    json_decref(pol);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gwf_cleanup(&F);
    return 0;
}

static int attest_batch(const char *export_dir)
{
    const char *args[] = {"attest", "--batch", "--holdings", holdings, "--prices", prices,
                          "--policy", policy, "--key", k1, "--feed", GWF_FEED, "--chain-id",
                          "31337", "--contract", GWF_CONTRACT, "--state", state_path,
                          "--export", export_dir, NULL};
    return run(args);
}

/* The account files of a batch directory (0x<account id>.json), into names[]. */
static size_t account_files(const char *dir, char names[][80], size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "0x", 2) != 0 || strstr(e->d_name, ".json") == NULL)
            continue;
        assert_true(n < cap && strlen(e->d_name) < 80);
        memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
    }
    closedir(d);
    return n;
}

/* Runs the independent verifier on every account file of dir; each must be valid and name
 * exactly the signers given. */
static void verify_all(const char *dir, const gwf_key_id *signers, size_t n_signers)
{
    char names[N_ACCOUNTS + 2][80];
    size_t n = account_files(dir, names, N_ACCOUNTS + 2);
    assert_int_equal(n, N_ACCOUNTS);
    for (size_t i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        const char *args[] = {path, NULL};
        char js[2048] = {0};
        int status = tu_node("batch_account_verify.mjs", args, js, sizeof js);
        if (status != 0) {
            fail_msg("%s: %s", names[i], js);
            return;
        }
        size_t lines = 0;
        for (const char *p = strstr(js, "signer "); p != NULL; p = strstr(p + 1, "signer "))
            lines++;
        assert_int_equal(lines, n_signers);
        for (size_t k = 0; k < n_signers; k++)
            assert_non_null(strstr(js, F.keys[signers[k]].hex));
    }
}

static void read_batch(const char *dir, custos_batch *b, size_t *n_sigs)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/batch.json", dir);
    char *text = tu_read_file(path);
    assert_non_null(text);
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain d;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    custos_error err;
    custos_rc rc = custos_batch_import(text, strlen(text), feed, &d, b, sigs, n_sigs, &err);
    free(text);
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", path, err.message);
}

static void test_batch_exported_and_verified_independently(void **state)
{
    (void)state;
    char dir[1200];
    path_in(dir, sizeof dir, "batch-1");
    assert_int_equal(attest_batch(dir), 0);
    assert_non_null(strstr(out, "accounts     5"));
    assert_non_null(strstr(out, F.keys[GWF_KEY_CUSTODIAN].hex));
    static const gwf_key_id one[] = {GWF_KEY_CUSTODIAN};
    verify_all(dir, one, 1);
    custos_batch b;
    size_t n_sigs = 0;
    read_batch(dir, &b, &n_sigs);
    assert_int_equal(b.count, N_ACCOUNTS);
    assert_int_equal(b.sequence, 1);
    assert_int_equal(n_sigs, 1);

    /* The next batch: the feed's batch sequence and every account's move on. */
    char dir2[1200];
    path_in(dir2, sizeof dir2, "batch-2");
    assert_int_equal(attest_batch(dir2), 0);
    read_batch(dir2, &b, &n_sigs);
    assert_int_equal(b.sequence, 2);
    assert_non_null(strstr(out, "sequence 2 collateral"));
    assert_null(strstr(out, "sequence 1 collateral"));
}

static void test_cosign_adds_the_second_signer_everywhere(void **state)
{
    (void)state;
    char dir[1200], cosigned[1200];
    path_in(dir, sizeof dir, "batch-c");
    path_in(cosigned, sizeof cosigned, "batch-c-cosigned");
    assert_int_equal(attest_batch(dir), 0);
    const char *args[] = {"cosign", "--in", dir, "--key", k2, "--export", cosigned, NULL};
    assert_int_equal(run(args), 0);
    assert_non_null(strstr(out, "signatures   2"));
    static const gwf_key_id two[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT};
    verify_all(cosigned, two, 2);

    /* The same key again is refused, and nothing is written. */
    char again[1200];
    path_in(again, sizeof again, "batch-c-again");
    const char *twice[] = {"cosign", "--in", cosigned, "--key", k2, "--export", again, NULL};
    assert_int_equal(run(twice), 1);
    assert_non_null(strstr(out, "already signed"));
    DIR *d = opendir(again);
    assert_null(d);
}

/* An account file of another batch in the directory: the cosign refuses, naming it. */
static void test_cosign_refuses_a_foreign_account_file(void **state)
{
    (void)state;
    char a[1200], b[1200], dst[1200];
    path_in(a, sizeof a, "batch-fa");
    path_in(b, sizeof b, "batch-fb");
    path_in(dst, sizeof dst, "batch-fa-cosigned");
    assert_int_equal(attest_batch(a), 0);
    assert_int_equal(attest_batch(b), 0);
    char names[N_ACCOUNTS + 2][80];
    assert_int_equal(account_files(b, names, N_ACCOUNTS + 2), N_ACCOUNTS);
    char from[2048], to[2048];
    snprintf(from, sizeof from, "%s/%s", b, names[0]);
    snprintf(to, sizeof to, "%s/%s", a, names[0]);
    char *text = tu_read_file(from);
    assert_non_null(text);
    tu_write_file(to, text);
    free(text);
    const char *args[] = {"cosign", "--in", a, "--key", k2, "--export", dst, NULL};
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(out, "not an account of this batch"));
}

/* `custos verify` on an account of a cosigned batch: valid, both signers named; the same
 * file with a proof hash changed: exit 1, saying the proof does not lead to the root. */
static void test_cli_verifies_an_account(void **state)
{
    (void)state;
    char dir[1200], cosigned[1200];
    path_in(dir, sizeof dir, "batch-v");
    path_in(cosigned, sizeof cosigned, "batch-v-cosigned");
    assert_int_equal(attest_batch(dir), 0);
    const char *args[] = {"cosign", "--in", dir, "--key", k2, "--export", cosigned, NULL};
    assert_int_equal(run(args), 0);
    char names[N_ACCOUNTS + 2][80];
    assert_int_equal(account_files(cosigned, names, N_ACCOUNTS + 2), N_ACCOUNTS);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", cosigned, names[2]);
    const char *argv[] = {CUSTOS_CLI_BIN, "verify", path, NULL};
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos verify -> %d\n%s\n", status, out);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "\"valid\": true"));
    assert_non_null(strstr(out, F.keys[GWF_KEY_CUSTODIAN].hex));
    assert_non_null(strstr(out, F.keys[GWF_KEY_AGENT].hex));

    char *text = tu_read_file(path);
    assert_non_null(text);
    char *proof = strstr(text, "\"proof\": [");
    assert_non_null(proof);
    char *hex = strstr(proof, "\"0x");
    assert_non_null(hex);
    hex[3] = hex[3] == 'a' ? 'b' : 'a';
    tu_write_file(path, text);
    free(text);
    status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ custos verify -> %d\n%s\n", status, out);
    assert_int_equal(status, 1);
    assert_non_null(strstr(out, "does not lead"));
}

/* --registry: one account of the book pledged to another lender refuses the whole batch
 * before any sequence is taken; nothing is written. */
static void test_registry_refuses_before_sequences(void **state)
{
    (void)state;
    char registry[1200], dir[1200];
    path_in(registry, sizeof registry, "pledges.json");
    path_in(dir, sizeof dir, "batch-pledged");
    /* Every account pledged to the lender its holdings name, but ACME-BATCH-003 to another. */
    json_error_t jerr;
    json_t *h = json_load_file(holdings, 0, &jerr);
    assert_non_null(h);
    json_t *pledges = json_object();
    size_t i;
    json_t *acc;
    json_array_foreach(json_object_get(h, "accounts"), i, acc) {
        const char *ref = json_string_value(json_object_get(acc, "ref"));
        const char *ben = json_string_value(json_object_get(acc, "beneficiary"));
        assert_true(ref != NULL && ben != NULL);
        if (strcmp(ref, "ACME-BATCH-003") == 0)
            ben = "0x00000000000000000000000000000000000000b7";
        uint8_t addr[CUSTOS_ADDRESS_LEN], zero[CUSTOS_ADDRESS_LEN] = {0};
        /* An account without a lender ("0x0" in the holdings) has no entry. */
        if (strcmp(ben, "0x0") == 0)
            continue;
        assert_int_equal(custos_address_from_hex(ben, addr, NULL), CUSTOS_OK);
        assert_memory_not_equal(addr, zero, sizeof zero);
        assert_int_equal(json_object_set_new(pledges, ref, json_string(ben)), 0);
    }
    json_t *doc = json_pack("{s:o}", "pledges", pledges);
    assert_non_null(doc);
    assert_int_equal(json_dump_file(doc, registry, 0), 0);
    json_decref(doc);
    json_decref(h);
    char *before = tu_read_file(state_path);
    assert_non_null(before);
    const char *args[] = {"attest", "--batch", "--holdings", holdings, "--prices", prices,
                          "--policy", policy, "--key", k1, "--feed", GWF_FEED, "--chain-id",
                          "31337", "--contract", GWF_CONTRACT, "--state", state_path,
                          "--export", dir, "--registry", registry, NULL};
    assert_int_equal(run(args), 1);
    assert_non_null(strstr(out, "ACME-BATCH-003"));
    char *after = tu_read_file(state_path);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
    DIR *d = opendir(dir);
    assert_null(d);
}

/* --json: one JSON object, the batch's fields and one entry per account. */
static void test_json_report(void **state)
{
    (void)state;
    char dir[1200];
    path_in(dir, sizeof dir, "batch-json");
    const char *args[] = {"attest", "--batch", "--json", "--holdings", holdings, "--prices",
                          prices, "--policy", policy, "--key", k1, "--feed", GWF_FEED,
                          "--chain-id", "31337", "--contract", GWF_CONTRACT, "--state",
                          state_path, "--export", dir, NULL};
    const char *argv[40];
    size_t n = 0;
    argv[n++] = CUSTOS_ATTESTOR_BIN;
    for (size_t i = 0; args[i] != NULL; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char err[4096];
    int status = tu_run_split(argv, out, sizeof out, err, sizeof err);
    fprintf(stderr, "$ custos-attestor attest --batch --json -> %d\n%s\n%s\n", status, out, err);
    assert_int_equal(status, 0);
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    if (doc == NULL) {
        fail_msg("not one JSON object: %s", jerr.text);
        return;
    }
    assert_string_equal(json_string_value(json_object_get(doc, "count")), "5");
    assert_string_equal(json_string_value(json_object_get(doc, "signer")),
                        F.keys[GWF_KEY_CUSTODIAN].hex);
    assert_string_equal(json_string_value(json_object_get(doc, "exported")), dir);
    json_t *accounts = json_object_get(doc, "accounts");
    assert_int_equal(json_array_size(accounts), N_ACCOUNTS);
    json_t *first = json_array_get(accounts, 0);
    assert_string_equal(json_string_value(json_object_get(first, "reference")),
                        "ACME-FUND-001");
    assert_non_null(json_string_value(json_object_get(first, "collateralValue")));
    json_decref(doc);
}

static void test_bad_command_lines_refused(void **state)
{
    (void)state;
    char dir[1200];
    path_in(dir, sizeof dir, "batch-bad");
    const char *no_export[] = {"attest", "--batch", "--holdings", holdings, "--prices", prices,
                               "--policy", policy, "--key", k1, "--feed", GWF_FEED,
                               "--chain-id", "31337", "--contract", GWF_CONTRACT, "--state",
                               state_path, "--gateway", "127.0.0.1:1", NULL};
    assert_int_not_equal(run(no_export), 0);
    assert_non_null(strstr(out, "--batch"));
    const char *both[] = {"attest", "--batch", "--account", "ACME-FUND-001", "--holdings",
                          holdings, "--prices", prices, "--policy", policy, "--key", k1,
                          "--feed", GWF_FEED, "--chain-id", "31337", "--contract",
                          GWF_CONTRACT, "--state", state_path, "--export", dir, NULL};
    assert_int_not_equal(run(both), 0);
    assert_non_null(strstr(out, "--account REF or --batch is required (not both)"));
    DIR *d = opendir(dir);
    assert_null(d);
}

static void test_submit_batch_to_the_gateway(void **state)
{
    (void)state;
    gwf_write_config(&F);
    /* Every account of the book but the last is registered to the feed (rule 9). */
    static const char *const refs[] = {"ACME-FUND-001", "ACME-TREASURY-002", "ACME-BATCH-002",
                                       "ACME-BATCH-003"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        gwf_register(&F, GWF_FEED, "acme-custody", refs[i]);
    gwf_start(&F);
    char dir[1200], cosigned[1200];
    path_in(dir, sizeof dir, "batch-s");
    path_in(cosigned, sizeof cosigned, "batch-s-cosigned");
    assert_int_equal(attest_batch(dir), 0);
    const char *cosign[] = {"cosign", "--in", dir, "--key", k2, "--export", cosigned, NULL};
    assert_int_equal(run(cosign), 0);

    /* One signature: short of the feed's quorum of two roles, the whole batch refused. */
    const char *alone[] = {"submit-batch", "--dir", dir, "--gateway", F.target, "--insecure",
                           NULL};
    assert_int_equal(run(alone), 2);
    assert_non_null(strstr(out, "BATCH_BELOW_QUORUM"));

    /* The cosigned batch: four accounts taken together, the unregistered one refused alone
     * (exit status 2: something was refused). */
    const char *both[] = {"submit-batch", "--dir", cosigned, "--gateway", F.target,
                          "--insecure", NULL};
    assert_int_equal(run(both), 2);
    assert_non_null(strstr(out, "4 of 5 accounts taken"));
    assert_non_null(strstr(out, "UNREGISTERED_ACCOUNT"));
    assert_int_equal(gwf_watch_head(&F, 0, 300, NULL), 4);
    /* Each account went with its positions, as the gateway serves them (GetLatest). */
    custos_record rec;
    custos_error err;
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id("acme-custody", "ACME-TREASURY-002", id);
    if (custos_client_get_latest(F.client, id, &rec, &err) != CUSTOS_OK)
        fail_msg("get latest: %s", err.message);
    assert_true(rec.batched);
    assert_true(rec.sub.n_positions > 0);
    uint8_t root[CUSTOS_HASH_LEN];
    assert_int_equal(custos_positions_root(rec.sub.positions, rec.sub.n_positions, root, &err),
                     CUSTOS_OK);
    assert_memory_equal(root, rec.sub.att.positions_root, CUSTOS_HASH_LEN);
    /* GetPositionProof serves a batch-signed account's position as any other's. */
    custos_position_proof proof;
    if (custos_client_get_position_proof(F.client, id, rec.sub.positions[0].asset_id, &proof,
                                         &err) != CUSTOS_OK)
        fail_msg("get position proof: %s", err.message);
    assert_int_equal(custos_position_proof_check(&proof, &err), CUSTOS_OK);
    assert_memory_equal(proof.root, rec.sub.att.positions_root, CUSTOS_HASH_LEN);
    assert_memory_equal(proof.digest, rec.digest, CUSTOS_HASH_LEN);
    custos_record_clear(&rec);
    /* The account that holds nothing: taken at 0, no positions, the all-zero root. */
    custos_account_id("acme-custody", "ACME-BATCH-003", id);
    if (custos_client_get_latest(F.client, id, &rec, &err) != CUSTOS_OK)
        fail_msg("get latest of the empty account: %s", err.message);
    assert_true(rec.batched);
    assert_int_equal(rec.sub.n_positions, 0);
    assert_true(custos_u256_is_zero(&rec.sub.att.collateral_value));
    assert_true(custos_u256_is_zero(&rec.sub.att.gross_value));
    static const uint8_t zero[CUSTOS_HASH_LEN] = {0};
    assert_memory_equal(rec.sub.att.positions_root, zero, CUSTOS_HASH_LEN);
    custos_record_clear(&rec);

    /* Again: the gateway knows the batch. */
    assert_int_equal(run(both), 2);
    assert_non_null(strstr(out, "duplicate"));
    assert_int_equal(gwf_watch_head(&F, 0, 300, NULL), 4);

    /* A directory missing an account file is refused before anything is sent. */
    char names[N_ACCOUNTS + 2][80];
    assert_int_equal(account_files(cosigned, names, N_ACCOUNTS + 2), N_ACCOUNTS);
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", cosigned, names[0]);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(run(both), 1);
    assert_non_null(strstr(out, "4 account files for the batch's 5 accounts"));
    assert_int_equal(gwf_stop(&F), 0);
}

/* The largest book a batch may hold (CUSTOS_BATCH_MAX_ACCOUNTS accounts of two positions
 * each) through the binaries: signed, cosigned, exported and sent with submit-batch to a
 * gateway whose max_message_bytes is raised as docs/custodian.md §12 says, which takes
 * and serves every account. A book of one account more is refused naming the bound, with
 * nothing written. */
#define LARGE_BOOK CUSTOS_BATCH_MAX_ACCOUNTS
#define LARGE_REF_FMT "ACME-LARGE-%04zu"

/* A holdings file of n copies of the sample's first account cut to two positions. */
static void write_large_book(const char *path, size_t n)
{
    json_t *h = tu_load_example("holdings.json");
    json_t *accounts = json_object_get(h, "accounts");
    json_t *first = json_deep_copy(json_array_get(accounts, 0));
    assert_non_null(first);
    json_t *positions = json_object_get(first, "positions");
    while (json_array_size(positions) > 2)
        assert_int_equal(json_array_remove(positions, json_array_size(positions) - 1), 0);
    assert_int_equal(json_array_clear(accounts), 0);
    for (size_t i = 0; i < n; i++) {
        json_t *copy = json_deep_copy(first);
        char ref[32];
        snprintf(ref, sizeof ref, LARGE_REF_FMT, i);
        assert_int_equal(json_object_set_new(copy, "ref", json_string(ref)), 0);
        assert_int_equal(json_array_append_new(accounts, copy), 0);
    }
    json_decref(first);
    assert_int_equal(json_dump_file(h, path, 0), 0);
    json_decref(h);
}

/* Runs custos-attestor with args into big (a line an account: more than `out` holds);
 * prints the output's end when the exit status is not `want`. */
#define BIG_CAP (2u << 20)
static char *big;

static int run_big(const char *const args[], int want)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = CUSTOS_ATTESTOR_BIN;
    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int status = tu_run(argv, big, BIG_CAP, 1);
    if (status != want) {
        size_t len = strlen(big);
        fprintf(stderr, "$ custos-attestor %s ... -> %d\n...%s\n", args[0], status,
                big + (len > 4096 ? len - 4096 : 0));
    }
    return status;
}

static int attest_book(const char *book, const char *export_dir, int want)
{
    const char *args[] = {"attest", "--batch", "--holdings", book, "--prices", prices,
                          "--policy", policy, "--key", k1, "--feed", GWF_FEED, "--chain-id",
                          "31337", "--contract", GWF_CONTRACT, "--state", state_path,
                          "--export", export_dir, NULL};
    return run_big(args, want);
}

static void test_largest_book_through_the_gateway(void **state)
{
    (void)state;
    char book[1200], over[1200], dir[1200], cosigned[1200], refused[1200];
    path_in(book, sizeof book, "holdings-largest.json");
    path_in(over, sizeof over, "holdings-over.json");
    path_in(dir, sizeof dir, "batch-largest");
    path_in(cosigned, sizeof cosigned, "batch-largest-cosigned");
    path_in(refused, sizeof refused, "batch-over");
    write_large_book(book, LARGE_BOOK);
    write_large_book(over, LARGE_BOOK + 1);
    big = malloc(BIG_CAP);
    assert_non_null(big);

    /* One account more than a batch holds: refused before any sequence is taken. */
    char *before = tu_read_file(state_path);
    assert_non_null(before);
    assert_int_equal(attest_book(over, refused, 1), 1);
    char want[128];
    snprintf(want, sizeof want, "%d accounts, a batch holds at most %d", LARGE_BOOK + 1,
             LARGE_BOOK);
    if (strstr(big, want) == NULL)
        fail_msg("expected \"%s\": %s", want, big);
    char *after = tu_read_file(state_path);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_null(opendir(refused));

    assert_int_equal(attest_book(book, dir, 0), 0);
    snprintf(want, sizeof want, "accounts     %d", LARGE_BOOK);
    assert_non_null(strstr(big, want));
    const char *cosign[] = {"cosign", "--in", dir, "--key", k2, "--export", cosigned, NULL};
    assert_int_equal(run_big(cosign, 0), 0);

    /* Rule 9: every account registered before the start (one reload, not 4,096). */
    F.max_message_bytes = 2u << 20;
    gwf_write_config(&F);
    uint8_t(*ids)[CUSTOS_HASH_LEN] = calloc(LARGE_BOOK, sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < LARGE_BOOK; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, LARGE_REF_FMT, i);
        custos_account_id("acme-custody", ref, ids[i]);
    }
    gwf_register_ids(&F, GWF_FEED, (const uint8_t(*)[CUSTOS_HASH_LEN])ids, LARGE_BOOK);
    free(ids);
    gwf_start(&F);
    uint64_t head = gwf_watch_head(&F, 0, 300, NULL);
    const char *submit[] = {"submit-batch", "--dir", cosigned, "--gateway", F.target,
                            "--insecure", NULL};
    if (run_big(submit, 0) != 0) {
        gwf_dump_log(&F);
        fail_msg("submit-batch of %d accounts refused", LARGE_BOOK);
    }
    snprintf(want, sizeof want, "%d of %d accounts taken", LARGE_BOOK, LARGE_BOOK);
    if (strstr(big, want) == NULL)
        fail_msg("expected \"%s\" at the end of submit-batch's report", want);
    size_t delivered = 0;
    assert_int_equal(gwf_watch_head(&F, head, 300, &delivered), head + LARGE_BOOK);
    assert_int_equal(delivered, LARGE_BOOK);
    /* Each account served with its two positions under the root it was signed with. */
    for (size_t i = 0; i < LARGE_BOOK; i++) {
        char ref[32];
        uint8_t id[CUSTOS_HASH_LEN], root[CUSTOS_HASH_LEN];
        snprintf(ref, sizeof ref, LARGE_REF_FMT, i);
        custos_account_id("acme-custody", ref, id);
        custos_record rec;
        custos_error err;
        if (custos_client_get_latest(F.client, id, &rec, &err) != CUSTOS_OK)
            fail_msg("GetLatest of %s: %s", ref, err.message);
        assert_true(rec.batched);
        assert_int_equal(rec.sub.n_positions, 2);
        assert_int_equal(custos_positions_root(rec.sub.positions, rec.sub.n_positions, root,
                                               &err),
                         CUSTOS_OK);
        assert_memory_equal(root, rec.sub.att.positions_root, CUSTOS_HASH_LEN);
        custos_record_clear(&rec);
    }
    assert_int_equal(gwf_stop(&F), 0);
    free(big);
    big = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_exported_and_verified_independently),
        cmocka_unit_test(test_cosign_adds_the_second_signer_everywhere),
        cmocka_unit_test(test_cosign_refuses_a_foreign_account_file),
        cmocka_unit_test(test_cli_verifies_an_account),
        cmocka_unit_test(test_registry_refuses_before_sequences),
        cmocka_unit_test(test_json_report),
        cmocka_unit_test(test_bad_command_lines_refused),
        cmocka_unit_test(test_submit_batch_to_the_gateway),
        cmocka_unit_test(test_largest_book_through_the_gateway),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
