/* The real binaries end to end: custos-attestor makes two keys, a gateway allow-lists
 * them, the custodian values and signs the sample book (PENDING), the valuation agent
 * cosigns (ACCEPTED), and `custos` reads and verifies the result. */
#include <ctype.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "custos/typeddata.h"
#include "custos/u256.h"

#include "gwfixture.h"

#define ACCOUNT_REF "ACME-FUND-001"
#define OUT_CAP 65536

static gwf F;
static char k1[1200], k2[1200], state_path[1200], holdings[1200], prices[1200], policy[1200];
static char addr1[CUSTOS_ADDRESS_HEX_LEN], addr2[CUSTOS_ADDRESS_HEX_LEN];
static char custodian_id[129];
static char stale_asset[64];
static bool gateway_up;
static bool accepted_first; /* a.json was accepted by the gateway */
static char out[OUT_CAP];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

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
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status <= 0 ? 0 : -1;
}

/* Runs a binary; stdout and stderr land in `out`. */
static int run(const char *bin, const char *const args[])
{
    return tu_run_cmd(bin, args, out, sizeof out);
}

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p != '\0'; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return false;
}

/* keygen --out path (with --json when json): the address it prints into addr. */
static void keygen(const char *path, bool json, char addr[CUSTOS_ADDRESS_HEX_LEN])
{
    const char *args[] = {"keygen", "--out", path, json ? "--json" : NULL, NULL};
    assert_int_equal(run(CUSTOS_ATTESTOR_BIN, args), 0);
    trim(out);
    /* The address is the last line printed, or the JSON object's "address" beside the
     * file's path. */
    char line[CUSTOS_ADDRESS_HEX_LEN + 8] = "";
    if (json) {
        json_error_t jerr;
        json_t *j = json_loads(out, 0, &jerr);
        if (j == NULL)
            fail_msg("keygen --json printed no JSON: '%s' (%s)", out, jerr.text);
        assert_string_equal(json_string_value(json_object_get(j, "keyFile")), path);
        const char *a = json_string_value(json_object_get(j, "address"));
        snprintf(line, sizeof line, "%s", a != NULL ? a : "");
        json_decref(j);
    } else {
        const char *last = strrchr(out, '\n');
        snprintf(line, sizeof line, "%s", last != NULL ? last + 1 : out);
    }
    uint8_t printed[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_address_from_hex(line, printed, &err) != CUSTOS_OK)
        fail_msg("keygen printed no address: '%s' (%s)", line, err.message);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* The printed address is the key's own. */
    uint8_t sk[CUSTOS_SECKEY_LEN], derived[CUSTOS_ADDRESS_LEN];
    if (custos_keyfile_read(path, sk, &err) != CUSTOS_OK)
        fail_msg("custos_keyfile_read(%s): %s", path, err.message);
    assert_int_equal(custos_address_from_seckey(F.secp, sk, derived, &err), CUSTOS_OK);
    memset(sk, 0, sizeof sk);
    assert_memory_equal(printed, derived, CUSTOS_ADDRESS_LEN);
    custos_address_to_hex(printed, addr);
}

static void test_keygen(void **state)
{
    (void)state;
    keygen(k1, false, addr1);
    keygen(k2, true, addr2);
    assert_string_not_equal(addr1, addr2);

    /* An existing key file is never overwritten. */
    char *before = tu_read_file(k1);
    assert_non_null(before);
    const char *args[] = {"keygen", "--out", k1, NULL};
    assert_int_not_equal(run(CUSTOS_ATTESTOR_BIN, args), 0);
    char *after = tu_read_file(k1);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
}


/* Writes the sample prices with every as_of set to now, except `stale` (if not NULL)
 * which is made 30 days old. */
static void write_prices(const char *dst, const char *stale)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/deploy/examples/prices.json", CUSTOS_SOURCE_DIR);
    json_error_t jerr;
    json_t *root = json_load_file(src, 0, &jerr);
    if (root == NULL)
        fail_msg("%s: %s (line %d)", src, jerr.text, jerr.line);
    json_t *map = json_object_get(root, "prices");
    assert_true(json_is_object(map));
    json_int_t now = (json_int_t)gwf_now();
    const char *key;
    json_t *entry;
    size_t n = 0;
    json_object_foreach(map, key, entry) {
        assert_true(json_is_object(entry));
        json_int_t t = now;
        if (stale != NULL && strcmp(key, stale) == 0)
            t = now - 30 * 86400;
        assert_int_equal(json_object_set_new(entry, "as_of", json_integer(t)), 0);
        n++;
    }
    assert_true(n > 0);
    assert_int_equal(json_dump_file(root, dst, JSON_INDENT(2)), 0);
    json_decref(root);
}

/* The custodian id and the first asset of ACCOUNT_REF from the copied holdings. */
static void read_holdings(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(holdings, 0, &jerr);
    if (root == NULL)
        fail_msg("%s: %s", holdings, jerr.text);
    const char *cust = json_string_value(json_object_get(root, "custodian"));
    assert_non_null(cust);
    snprintf(custodian_id, sizeof custodian_id, "%s", cust);
    json_t *accounts = json_object_get(root, "accounts");
    size_t i;
    json_t *acc;
    json_array_foreach(accounts, i, acc) {
        const char *ref = json_string_value(json_object_get(acc, "ref"));
        if (ref == NULL || strcmp(ref, ACCOUNT_REF) != 0)
            continue;
        json_t *pos = json_array_get(json_object_get(acc, "positions"), 0);
        const char *asset = json_string_value(json_object_get(pos, "asset"));
        assert_non_null(asset);
        snprintf(stale_asset, sizeof stale_asset, "%s", asset);
    }
    json_decref(root);
    if (stale_asset[0] == '\0')
        fail_msg("account %s not in the sample holdings", ACCOUNT_REF);
}

static void test_gateway_allow_lists_generated_keys(void **state)
{
    (void)state;
    assert_true(addr1[0] != '\0' && addr2[0] != '\0');
    tu_copy_example("holdings.json", holdings);
    tu_copy_example("policy.json", policy);
    write_prices(prices, NULL);
    read_holdings();
    /* Rule 9: the operator registers the account to its feed. */
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(custodian_id, ACCOUNT_REF, account);
    char account_hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    assert_int_equal(custos_hex_encode(account, CUSTOS_HASH_LEN, account_hex, sizeof account_hex),
                     CUSTOS_OK);
    char text[4096];
    /* max_age covers a weekend on the bond-market calendar, as in deployment. */
    int n = snprintf(text, sizeof text,
                     "[gateway]\nlisten = 127.0.0.1:0\nstore = %s/custos.db\nchain_id = %d\n"
                     "verifying_contract = %s\nmax_message_bytes = 1048576\n\n"
                     "[tls]\ninsecure = true\n\n"
                     "[feed acme-custody]\nmax_age = 345600\nmax_skew = 300\n"
                     "max_ttl = 604800\nthreshold = 2\ndistinct_roles = true\n"
                     "accounts = %s\n\n"
                     "[signer acme-custodian]\naddress = %s\nfeed = acme-custody\n"
                     "role = custodian\nstatus = active\n\n"
                     "[signer acme-valuation-agent]\naddress = %s\nfeed = acme-custody\n"
                     "role = valuation_agent\nstatus = active\n",
                     F.dir, GWF_CHAIN_ID, GWF_CONTRACT, account_hex, addr1, addr2);
    assert_true(n > 0 && (size_t)n < sizeof text);
    tu_write_file(F.config_path, text);
    gwf_start(&F);
    gateway_up = true;
}

static const char *attest_args(const char *prices_path, const char *export_path,
                               const char *gateway, const char *chain_id, const char **args)
{
    size_t n = 0;
    args[n++] = "attest";
    args[n++] = "--holdings"; args[n++] = holdings;
    args[n++] = "--prices"; args[n++] = prices_path;
    args[n++] = "--policy"; args[n++] = policy;
    args[n++] = "--key"; args[n++] = k1;
    args[n++] = "--account"; args[n++] = ACCOUNT_REF;
    args[n++] = "--feed"; args[n++] = GWF_FEED;
    args[n++] = "--chain-id"; args[n++] = chain_id;
    args[n++] = "--contract"; args[n++] = GWF_CONTRACT;
    args[n++] = "--state"; args[n++] = state_path;
    args[n++] = "--gateway"; args[n++] = gateway;
    args[n++] = "--insecure"; /* the test gateway serves plaintext */
    if (export_path != NULL) {
        args[n++] = "--export";
        args[n++] = export_path;
    }
    args[n] = NULL;
    return args[0];
}

/* Imports an exported attestation; the caller clears s. */
static void import(const char *path, custos_submission *s)
{
    char *json = tu_read_file(path);
    if (json == NULL)
        fail_msg("%s was not written", path);
    custos_error err;
    custos_rc rc = custos_typeddata_import(json, strlen(json), s, &err);
    free(json);
    if (rc != CUSTOS_OK)
        fail_msg("import %s: %s", path, err.message);
}

static void assert_signed_by(const custos_submission *s, size_t i, const char *addr_hex)
{
    uint8_t digest[32], got[CUSTOS_ADDRESS_LEN], want[CUSTOS_ADDRESS_LEN];
    custos_attestation_digest(&s->domain, &s->att, digest);
    custos_error err;
    assert_true(i < s->n_sigs);
    assert_int_equal(custos_recover_address(F.secp, digest, &s->sigs[i], got, &err), CUSTOS_OK);
    assert_int_equal(custos_address_from_hex(addr_hex, want, &err), CUSTOS_OK);
    assert_memory_equal(got, want, CUSTOS_ADDRESS_LEN);
}

static custos_rc latest(custos_record *rec)
{
    uint8_t account[32];
    custos_account_id(custodian_id, ACCOUNT_REF, account);
    memset(rec, 0, sizeof *rec);
    custos_error err;
    custos_rc rc = custos_client_get_latest(F.client, account, rec, &err);
    if (rc != CUSTOS_OK && rc != CUSTOS_ERR_NOT_FOUND)
        fail_msg("GetLatest: %s (%s)", custos_rc_name(rc), err.message);
    return rc;
}

static char a_json[1200];

static void test_attest_is_pending(void **state)
{
    (void)state;
    assert_true(gateway_up);
    path_in(a_json, sizeof a_json, "a.json");
    const char *args[32];
    attest_args(prices, a_json, F.target, "31337", args);
    assert_int_equal(run(CUSTOS_ATTESTOR_BIN, args), 0);
    assert_non_null(strstr(out, "PENDING"));

    custos_submission s;
    import(a_json, &s);
    assert_int_equal(s.att.sequence, 1);
    assert_int_equal(s.n_sigs, 1);
    assert_string_equal(s.feed, GWF_FEED);
    assert_int_equal(s.domain.chain_id, GWF_CHAIN_ID);
    uint8_t account[32];
    custos_account_id(custodian_id, ACCOUNT_REF, account);
    assert_memory_equal(s.att.account, account, 32);
    assert_true(s.n_positions > 0);
    assert_false(custos_u256_is_zero(&s.att.collateral_value));
    assert_true(custos_u256_cmp(&s.att.collateral_value, &s.att.gross_value) <= 0);
    assert_signed_by(&s, 0, addr1);
    custos_submission_clear(&s);

    /* Pending is not published. */
    custos_record rec;
    assert_int_equal(latest(&rec), CUSTOS_ERR_NOT_FOUND);
}

static void test_cosign_is_accepted(void **state)
{
    (void)state;
    assert_true(gateway_up);
    char cosigned[1200];
    path_in(cosigned, sizeof cosigned, "a-cosigned.json");
    const char *args[] = {"cosign", "--in", a_json, "--key", k2, "--gateway", F.target,
                          "--insecure", "--export", cosigned, NULL};
    assert_int_equal(run(CUSTOS_ATTESTOR_BIN, args), 0);
    assert_non_null(strstr(out, "ACCEPTED"));
    accepted_first = true;

    custos_submission s;
    import(cosigned, &s);
    assert_int_equal(s.n_sigs, 2);
    assert_signed_by(&s, 0, addr1);
    assert_signed_by(&s, 1, addr2);
    uint8_t digest[32];
    custos_attestation_digest(&s.domain, &s.att, digest);
    custos_submission_clear(&s);

    custos_record rec;
    assert_int_equal(latest(&rec), CUSTOS_OK);
    assert_int_equal(rec.state, CUSTOS_STATE_ACCEPTED);
    assert_memory_equal(rec.digest, digest, 32);
    assert_int_equal(rec.n_signers, 2);
    custos_record_clear(&rec);
}

/* The README's ethers call (verifyTypedData with the export's types less EIP712Domain)
 * recovers both signers of the cosigned export; the types as exported are refused, as the
 * README says (tests/js/export_verify_ethers.mjs). */
static void test_export_verifies_with_ethers(void **state)
{
    (void)state;
    assert_true(accepted_first);
    char cosigned[1200], js[2048];
    path_in(cosigned, sizeof cosigned, "a-cosigned.json");
    const char *args[] = {cosigned, NULL};
    if (tu_node("export_verify_ethers.mjs", args, js, sizeof js) != 0)
        fail_msg("export_verify_ethers.mjs failed:\n%s", js);
    char want[2][64];
    snprintf(want[0], sizeof want[0], "signer0 %s\n", addr1);
    snprintf(want[1], sizeof want[1], "signer1 %s\n", addr2);
    /* Addresses compared whatever their EIP-55 letter case. */
    for (char *p = js; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < 2; i++) {
        for (char *p = want[i]; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        if (strstr(js, want[i]) == NULL)
            fail_msg("ethers recovered\n%s\nnot %s", js, want[i]);
    }
}

/* The first value under any of the keys, searched depth-first. */
static json_t *find_key(json_t *node, const char *const keys[])
{
    if (json_is_object(node)) {
        for (size_t i = 0; keys[i] != NULL; i++) {
            json_t *v = json_object_get(node, keys[i]);
            if (v != NULL)
                return v;
        }
        const char *k;
        json_t *v;
        json_object_foreach(node, k, v) {
            json_t *r = find_key(v, keys);
            if (r != NULL)
                return r;
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            json_t *r = find_key(v, keys);
            if (r != NULL)
                return r;
        }
    }
    return NULL;
}

static void test_get_latest_cli(void **state)
{
    (void)state;
    assert_true(accepted_first);
    custos_submission s;
    import(a_json, &s);
    char raw[CUSTOS_U256_DEC_MAX], usd[CUSTOS_U256_DEC_MAX];
    assert_int_equal(custos_u256_to_dec(&s.att.collateral_value, raw, sizeof raw), CUSTOS_OK);
    assert_int_equal(custos_fixed_format(&s.att.collateral_value, CUSTOS_MONEY_DECIMALS, usd,
                                         sizeof usd),
                     CUSTOS_OK);
    custos_submission_clear(&s);

    const char *args[] = {"get-latest", "--gateway", F.target, "--custodian", custodian_id,
                          "--ref", ACCOUNT_REF, "--insecure", NULL};
    char cmd_out[OUT_CAP];
    const char *argv[] = {CUSTOS_CLI_BIN, args[0], args[1], args[2], args[3], args[4], args[5],
                          args[6], args[7], NULL};
    /* stdout alone: it must be JSON. */
    int status = tu_run(argv, cmd_out, sizeof cmd_out, 0);
    fprintf(stderr, "$ custos get-latest -> %d\n%s\n", status, cmd_out);
    assert_int_equal(status, 0);
    json_error_t jerr;
    json_t *doc = json_loads(cmd_out, 0, &jerr);
    if (doc == NULL)
        fail_msg("get-latest printed no JSON: %s", jerr.text);
    /* The plaintext gateway keeps positions to itself: get-latest says they were
     * withheld, never a count of 0 beside a non-zero positionsRoot. */
    json_t *positions = json_object_get(doc, "positions");
    if (!json_is_string(positions) || strcmp(json_string_value(positions), "withheld") != 0) {
        json_decref(doc);
        fail_msg("get-latest positions: want \"withheld\":\n%s", cmd_out);
    }
    static const char *const keys[] = {"collateralValue", "collateral_value", NULL};
    json_t *v = find_key(doc, keys);
    if (v == NULL) {
        json_decref(doc);
        fail_msg("get-latest JSON has no collateral value");
    }
    char got[128];
    if (json_is_string(v))
        snprintf(got, sizeof got, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(got, sizeof got, "%lld", (long long)json_integer_value(v));
    else
        got[0] = '\0';
    json_decref(doc);
    /* Either the raw 18-decimal integer or its USD rendering. */
    if (strcmp(got, raw) != 0 && strcmp(got, usd) != 0)
        fail_msg("get-latest collateral value '%s', exported '%s' (%s USD)", got, raw, usd);
}

static void test_verify_cli(void **state)
{
    (void)state;
    assert_true(accepted_first);
    const char *args[] = {"verify", a_json, NULL};
    assert_int_equal(run(CUSTOS_CLI_BIN, args), 0);
    assert_true(contains_ci(out, addr1));

    /* A document whose value was changed after signing does not verify. */
    char *text = tu_read_file(a_json);
    assert_non_null(text);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    free(text);
    assert_non_null(doc);
    json_t *msg = json_object_get(json_object_get(doc, "typedData"), "message");
    assert_true(json_is_object(msg));
    assert_int_equal(json_object_set_new(msg, "collateralValue", json_string("1")), 0);
    char tampered[1200];
    path_in(tampered, sizeof tampered, "tampered.json");
    assert_int_equal(json_dump_file(doc, tampered, JSON_INDENT(2)), 0);
    json_decref(doc);
    const char *bad[] = {"verify", tampered, NULL};
    assert_int_not_equal(run(CUSTOS_CLI_BIN, bad), 0);
}

static void test_second_attest_takes_sequence_2(void **state)
{
    (void)state;
    assert_true(accepted_first);
    char a2[1200];
    path_in(a2, sizeof a2, "a2.json");
    const char *args[32];
    attest_args(prices, a2, F.target, "31337", args);
    assert_int_equal(run(CUSTOS_ATTESTOR_BIN, args), 0);
    assert_non_null(strstr(out, "PENDING"));
    custos_submission s;
    import(a2, &s);
    assert_int_equal(s.att.sequence, 2);
    custos_submission_clear(&s);
}

static void test_stale_price_refused_locally(void **state)
{
    (void)state;
    assert_true(accepted_first);
    custos_record before;
    assert_int_equal(latest(&before), CUSTOS_OK);

    char stale_prices[1200], a3[1200];
    path_in(stale_prices, sizeof stale_prices, "prices-stale.json");
    path_in(a3, sizeof a3, "a3.json");
    write_prices(stale_prices, stale_asset);
    const char *args[32];
    attest_args(stale_prices, a3, F.target, "31337", args);
    assert_int_not_equal(run(CUSTOS_ATTESTOR_BIN, args), 0);
    if (strstr(out, stale_asset) == NULL)
        fail_msg("the refusal does not name the stale instrument %s", stale_asset);

    custos_record after;
    assert_int_equal(latest(&after), CUSTOS_OK);
    assert_int_equal(after.cursor, before.cursor);
    assert_memory_equal(after.digest, before.digest, 32);
    custos_record_clear(&before);
    custos_record_clear(&after);
}

static void test_refused_exits_2(void **state)
{
    (void)state;
    assert_true(gateway_up);
    /* Signed for another chain: the gateway refuses it as WRONG_DOMAIN. */
    const char *args[32];
    attest_args(prices, NULL, F.target, "1", args);
    assert_int_equal(run(CUSTOS_ATTESTOR_BIN, args), 2);
    assert_non_null(strstr(out, "WRONG_DOMAIN"));
}

static void test_unreachable_exits_3(void **state)
{
    (void)state;
    assert_true(gateway_up);
    /* A loopback port nobody listens on: bound, then closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t slen = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
    close(fd);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", ntohs(sa.sin_port));
    const char *args[32];
    attest_args(prices, NULL, target, "31337", args);
    assert_int_equal(run(CUSTOS_ATTESTOR_BIN, args), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_gateway_allow_lists_generated_keys),
        cmocka_unit_test(test_attest_is_pending),
        cmocka_unit_test(test_cosign_is_accepted),
        cmocka_unit_test(test_export_verifies_with_ethers),
        cmocka_unit_test(test_get_latest_cli),
        cmocka_unit_test(test_verify_cli),
        cmocka_unit_test(test_second_attest_takes_sequence_2),
        cmocka_unit_test(test_stale_price_refused_locally),
        cmocka_unit_test(test_refused_exits_2),
        cmocka_unit_test(test_unreachable_exits_3),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    gwf_cleanup(&F);
    return failed;
}
