/* Signing with a key in a PKCS#11 token, against a real SoftHSM2 token made for the test:
 * the custodian's key file is imported into the token (same address), another key is
 * generated inside it; HSM signatures are canonical, recover to the key's address, verify
 * with ethers and are accepted by a real gateway exactly as file-key ones, from cosign,
 * freeze and the daemon alike; a batch signed in the token verifies with ethers; every way
 * the token can be wrong gives a clear error, no signature, and never the PIN. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/eip712.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "custos/typeddata.h"

#include "gwfixture.h"
#include "runconf.h"
#include "signer.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define SOFTHSM_UTIL "/usr/bin/softhsm2-util"
#define PKCS11_TOOL "/usr/bin/pkcs11-tool"
#define TOKEN "custos-test"
#define PIN "462918"
#define WRONG_PIN "735104"
#define SO_PIN "90817263"
#define OUT_CAP 65536

static gwf F;
static char keyfile[1200], pinfile[1200], wrong_pinfile[1200], loose_pinfile[1200];
static char generated_hex[CUSTOS_ADDRESS_HEX_LEN];
static char out[OUT_CAP];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* Runs argv (NULL-terminated, argv[0] a path); stdout and stderr land in `out`. */
static int run(const char *const argv[])
{
    int status = tu_run(argv, out, sizeof out, 1);
    fprintf(stderr, "$ %s %s ... -> %d\n%s\n", strrchr(argv[0], '/') + 1, argv[1], status, out);
    return status;
}

static void write_mode(const char *path, const char *text, mode_t mode)
{
    tu_write_file(path, text);
    assert_int_equal(chmod(path, mode), 0);
}

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    char conf[1200], tokens[1200], text[2600];
    path_in(conf, sizeof conf, "softhsm2.conf");
    path_in(tokens, sizeof tokens, "tokens");
    assert_int_equal(mkdir(tokens, 0700), 0);
    snprintf(text, sizeof text,
             "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens);
    tu_write_file(conf, text);
    assert_int_equal(setenv("SOFTHSM2_CONF", conf, 1), 0);
    assert_int_equal(unsetenv(P11_PIN_ENV), 0);
    const char *init[] = {SOFTHSM_UTIL, "--init-token", "--free", "--label", TOKEN,
                          "--so-pin", SO_PIN, "--pin", PIN, NULL};
    assert_int_equal(run(init), 0);

    path_in(keyfile, sizeof keyfile, "custodian.key");
    custos_error err;
    assert_int_equal(custos_keyfile_write(keyfile, F.keys[GWF_KEY_CUSTODIAN].seckey, &err),
                     CUSTOS_OK);
    path_in(pinfile, sizeof pinfile, "pin");
    write_mode(pinfile, PIN "\n", 0600);
    path_in(wrong_pinfile, sizeof wrong_pinfile, "wrong-pin");
    write_mode(wrong_pinfile, WRONG_PIN "\n", 0600);
    path_in(loose_pinfile, sizeof loose_pinfile, "loose-pin");
    write_mode(loose_pinfile, PIN "\n", 0644);

    gwf_write_config(&F);
    gwf_register(&F, GWF_OTHER_FEED, GWF_OTHER_FEED, "HSM-DAEMON");
    gwf_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status <= 0 ? 0 : -1;
}

/* The address on the last line of `out`. */
static void last_address(uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    const char *line = strrchr(out, '\n');
    line = line != NULL ? line + 1 : out;
    custos_error err;
    if (custos_address_from_hex(line, addr, &err) != CUSTOS_OK)
        fail_msg("no address printed: '%s' (%s)", line, err.message);
}

static void test_import_keeps_the_file_key_address(void **state)
{
    (void)state;
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--pkcs11-module", SOFTHSM_MODULE,
                          "--pkcs11-token", TOKEN, "--pkcs11-key", "custodian",
                          "--pkcs11-pin-file", pinfile, "--import", keyfile, NULL};
    assert_int_equal(run(argv), 0);
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    last_address(addr);
    assert_memory_equal(addr, F.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN);

    /* The label now names a key: a second import is refused, nothing is added. */
    assert_int_equal(run(argv), 1);
    assert_non_null(strstr(out, "already has a key labelled 'custodian'"));
}

static void test_generate_in_token(void **state)
{
    (void)state;
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--pkcs11-module", SOFTHSM_MODULE,
                          "--pkcs11-token", TOKEN, "--pkcs11-key", "generated",
                          "--pkcs11-pin-file", pinfile, NULL};
    assert_int_equal(run(argv), 0);
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    last_address(addr);
    custos_address_to_hex(addr, generated_hex);
    assert_memory_not_equal(addr, F.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN);

    /* --json names the token and label beside the address: a second key, "generated-2". */
    const char *json[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--pkcs11-module", SOFTHSM_MODULE,
                          "--pkcs11-token", TOKEN, "--pkcs11-key", "generated-2",
                          "--pkcs11-pin-file", pinfile, "--json", NULL};
    assert_int_equal(run(json), 0);
    assert_non_null(strstr(out, "\"pkcs11Token\": \"" TOKEN "\""));
    assert_non_null(strstr(out, "\"pkcs11Key\": \"generated-2\""));
    assert_non_null(strstr(out, "\"imported\": false"));
    assert_non_null(strstr(out, "\"address\": \"0x"));
    assert_null(strstr(out, generated_hex));

    /* The private key can never leave the token. */
    const char *list[] = {PKCS11_TOOL, "--module", SOFTHSM_MODULE, "--token-label", TOKEN,
                          "--login", "--pin", PIN, "--list-objects", "--type", "privkey",
                          "--label", "generated", NULL};
    assert_int_equal(run(list), 0);
    assert_non_null(strstr(out, "sensitive"));
    assert_non_null(strstr(out, "never extractable"));
}

static at_key_spec hsm_key(const char *label, const char *pin_file)
{
    at_key_spec k = {0};
    k.p11.module = SOFTHSM_MODULE;
    k.p11.token = TOKEN;
    k.p11.key = label;
    k.p11.pin_file = pin_file;
    return k;
}

/* The token's ECDSA is randomised: what must hold is the signer, low s and v in {27, 28},
 * over many digests (about half of raw token signatures have a high s). */
static void test_signatures_are_canonical(void **state)
{
    (void)state;
    static const char *const labels[] = {"custodian", "generated"};
    for (size_t k = 0; k < 2; k++) {
        at_key_spec key = hsm_key(labels[k], pinfile);
        at_signer signer;
        custos_error err;
        if (at_signer_open(&signer, &key, &err) != CUSTOS_OK)
            fail_msg("open %s: %s", labels[k], err.message);
        uint8_t want[CUSTOS_ADDRESS_LEN];
        if (k == 0)
            memcpy(want, F.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN);
        else
            assert_int_equal(custos_address_from_hex(generated_hex, want, &err), CUSTOS_OK);
        assert_memory_equal(signer.address, want, CUSTOS_ADDRESS_LEN);
        bool v27 = false, v28 = false;
        for (uint64_t i = 1; i <= 32; i++) {
            custos_submission s;
            gwf_make(&F, &s, "HSM-CANON", i, 1000 + i);
            uint8_t digest[32], got[CUSTOS_ADDRESS_LEN];
            gwf_digest(&s, digest);
            custos_signature sig;
            assert_int_equal(at_signer_sign(&signer, digest, &sig, &err), CUSTOS_OK);
            /* custos_recover_address refuses high s and any v but 27 and 28. */
            if (custos_recover_address(F.secp, digest, &sig, got, &err) != CUSTOS_OK)
                fail_msg("signature %llu: %s", (unsigned long long)i, err.message);
            assert_memory_equal(got, want, CUSTOS_ADDRESS_LEN);
            v27 |= sig.bytes[64] == 27;
            v28 |= sig.bytes[64] == 28;
            custos_submission_clear(&s);
        }
        /* Both recovery ids occur: the choice is made, not assumed. */
        assert_true(v27 && v28);
        at_signer_close(&signer);
    }
}

/* The HSM custodian's signature next to the file-key agent's, checked by ethers and then
 * accepted by the gateway. */
static void test_hsm_signature_verifies_with_ethers_and_gateway(void **state)
{
    (void)state;
    at_key_spec key = hsm_key("custodian", pinfile);
    at_signer signer;
    custos_error err;
    if (at_signer_open(&signer, &key, &err) != CUSTOS_OK)
        fail_msg("open: %s", err.message);
    custos_submission s;
    gwf_make(&F, &s, "HSM-ACCEPT", 1, 5000);
    uint8_t digest[32];
    gwf_digest(&s, digest);
    assert_int_equal(at_signer_sign(&signer, digest, &s.sigs[0], &err), CUSTOS_OK);
    s.n_sigs = 1;
    at_signer_close(&signer);
    gwf_sign(&F, &s, GWF_KEY_AGENT);

    char *json;
    assert_int_equal(custos_typeddata_export(&s, &json, &err), CUSTOS_OK);
    char doc[1200];
    path_in(doc, sizeof doc, "hsm-signed.json");
    tu_write_file(doc, json);
    free(json);
    const char *args[] = {doc, "custodian", "HSM-ACCEPT", NULL};
    assert_int_equal(tu_node("eip712_check.mjs", args, out, sizeof out), 0);
    char line[128];
    snprintf(line, sizeof line, "recovered0 %s\n", F.keys[GWF_KEY_CUSTODIAN].hex);
    assert_non_null(strstr(out, line));
    snprintf(line, sizeof line, "recovered1 %s\n", F.keys[GWF_KEY_AGENT].hex);
    assert_non_null(strstr(out, line));

    gwf_answer res;
    gwf_submit_answer(&F, &s, &res);
    if (res.rc != CUSTOS_OK)
        fail_msg("refused: %s", res.err.message);
    assert_int_equal(res.res.state, CUSTOS_STATE_ACCEPTED);
    assert_int_equal(res.res.signatures, 2);
    assert_memory_equal(res.res.digest, digest, 32);
    custos_submission_clear(&s);
}

/* An attestation signed by the agent's file key, exported to path, for cosign. */
static void export_agent_signed(const char *account, const char *path)
{
    custos_submission s;
    gwf_make(&F, &s, account, 1, 7000);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    char *json;
    custos_error err;
    assert_int_equal(custos_typeddata_export(&s, &json, &err), CUSTOS_OK);
    tu_write_file(path, json);
    free(json);
    custos_submission_clear(&s);
}

/* The command line end to end: cosign with the HSM key, PIN from the environment. */
static void test_cli_cosign_with_hsm_is_accepted(void **state)
{
    (void)state;
    char in[1200], cosigned[1200];
    path_in(in, sizeof in, "agent-signed.json");
    path_in(cosigned, sizeof cosigned, "cosigned.json");
    export_agent_signed("HSM-CLI", in);
    assert_int_equal(setenv(P11_PIN_ENV, PIN, 1), 0);
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", in, "--pkcs11-module",
                          SOFTHSM_MODULE, "--pkcs11-token", TOKEN, "--pkcs11-key", "custodian",
                          "--gateway", F.target, "--insecure", "--export", cosigned, NULL};
    int status = run(argv);
    assert_int_equal(unsetenv(P11_PIN_ENV), 0);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "ACCEPTED"));
    assert_non_null(strstr(out, F.keys[GWF_KEY_CUSTODIAN].hex));
    assert_null(strstr(out, PIN));

    char *json = tu_read_file(cosigned);
    assert_non_null(json);
    custos_submission s;
    custos_error err;
    assert_int_equal(custos_typeddata_import(json, strlen(json), &s, &err), CUSTOS_OK);
    free(json);
    assert_int_equal(s.n_sigs, 2);
    uint8_t digest[32], got[CUSTOS_ADDRESS_LEN];
    custos_attestation_digest(&s.domain, &s.att, digest);
    assert_int_equal(custos_recover_address(F.secp, digest, &s.sigs[1], got, &err), CUSTOS_OK);
    assert_memory_equal(got, F.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN);
    custos_submission_clear(&s);
}

/* Each bad token setting: exit 1, a message naming what is wrong, no signed file, no PIN. */
static void test_bad_token_settings_refused(void **state)
{
    (void)state;
    const char *p256[] = {PKCS11_TOOL, "--module", SOFTHSM_MODULE, "--token-label", TOKEN,
                          "--login", "--pin", PIN, "--keypairgen", "--key-type",
                          "EC:prime256v1", "--label", "p256", NULL};
    assert_int_equal(run(p256), 0);
    char in[1200];
    path_in(in, sizeof in, "agent-signed-bad.json");
    export_agent_signed("HSM-BAD", in);

    static const struct {
        const char *name, *token, *key, *pin_file, *env_pin, *expect;
    } cases[] = {
        {"wrong PIN", TOKEN, "custodian", "wrong", NULL, "wrong PIN"},
        {"wrong PIN from env", TOKEN, "custodian", NULL, WRONG_PIN, "wrong PIN"},
        {"missing token", "no-such-token", "custodian", "good", NULL,
         "no initialised token labelled 'no-such-token'"},
        {"missing key", TOKEN, "no-such-key", "good", NULL,
         "no private key labelled 'no-such-key'"},
        {"P-256 key", TOKEN, "p256", "good", NULL, "not on the secp256k1 curve"},
        {"PIN file 0644", TOKEN, "custodian", "loose", NULL, "mode 0644"},
        {"no PIN", TOKEN, "custodian", NULL, NULL, "no PIN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char export_path[1200], name[64];
        snprintf(name, sizeof name, "bad-%zu.json", i);
        path_in(export_path, sizeof export_path, name);
        const char *pin_path = cases[i].pin_file == NULL               ? NULL
                               : strcmp(cases[i].pin_file, "wrong") == 0 ? wrong_pinfile
                               : strcmp(cases[i].pin_file, "loose") == 0 ? loose_pinfile
                                                                         : pinfile;
        if (cases[i].env_pin != NULL)
            assert_int_equal(setenv(P11_PIN_ENV, cases[i].env_pin, 1), 0);
        const char *argv[24] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", in, "--pkcs11-module",
                                SOFTHSM_MODULE, "--pkcs11-token", cases[i].token,
                                "--pkcs11-key", cases[i].key, "--export", export_path};
        size_t n = 12;
        if (pin_path != NULL) {
            argv[n++] = "--pkcs11-pin-file";
            argv[n++] = pin_path;
        }
        argv[n] = NULL;
        fprintf(stderr, "case: %s\n", cases[i].name);
        int status = run(argv);
        assert_int_equal(unsetenv(P11_PIN_ENV), 0);
        assert_int_equal(status, 1);
        if (strstr(out, cases[i].expect) == NULL)
            fail_msg("%s: expected '%s' in: %s", cases[i].name, cases[i].expect, out);
        assert_null(strstr(out, PIN));
        assert_null(strstr(out, WRONG_PIN));
        assert_int_equal(access(export_path, F_OK), -1);
    }
}

static void test_key_file_and_hsm_together_refused(void **state)
{
    (void)state;
    char in[1200];
    path_in(in, sizeof in, "agent-signed-both.json");
    export_agent_signed("HSM-BOTH", in);
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", in, "--key", keyfile,
                          "--pkcs11-module", SOFTHSM_MODULE, "--pkcs11-token", TOKEN,
                          "--pkcs11-key", "custodian", "--pkcs11-pin-file", pinfile,
                          "--export", in, NULL};
    assert_int_equal(run(argv), 1);
    assert_non_null(strstr(out, "not both"));
}

/* The daemon's config takes the same key settings. */
static void test_daemon_config_takes_hsm_key(void **state)
{
    (void)state;
    static const struct {
        const char *key_json, *expect; /* NULL: loads */
    } cases[] = {
        {"\"pkcs11_module\": \"" SOFTHSM_MODULE "\", \"pkcs11_token\": \"" TOKEN
         "\", \"pkcs11_key\": \"custodian\", \"pkcs11_pin_file\": \"pin\"",
         NULL},
        {"\"key\": \"custodian.key\", \"pkcs11_module\": \"" SOFTHSM_MODULE "\"", "not both"},
        {"\"pkcs11_module\": \"" SOFTHSM_MODULE "\", \"pkcs11_key\": \"custodian\"",
         "pkcs11_token"},
        {"\"pkcs11_token\": \"" TOKEN "\"", "pkcs11_module"},
        {"\"insecure\": true", "give \"key\" or \"pkcs11_module\""},
    };
    char conf[1200];
    path_in(conf, sizeof conf, "run.json");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[4096];
        snprintf(text, sizeof text,
                 "{\"holdings\": \"h.json\", \"prices\": \"p.json\", \"policy\": \"pol.json\", "
                 "\"feed\": \"acme-custody\", \"chain_id\": 31337, \"contract\": \"%s\", "
                 "\"state\": \"s.json\", \"gateway\": \"127.0.0.1:1\", \"spool\": \"spool\", "
                 "\"interval_seconds\": 60, \"heartbeat_seconds\": 3600, %s}",
                 GWF_CONTRACT, cases[i].key_json);
        tu_write_file(conf, text);
        at_runconf *c = calloc(1, sizeof *c);
        assert_non_null(c);
        custos_error err;
        custos_rc rc = at_runconf_load(conf, c, &err);
        if (cases[i].expect == NULL) {
            if (rc != CUSTOS_OK)
                fail_msg("case %zu: %s", i, err.message);
            assert_string_equal(c->pkcs11_module, SOFTHSM_MODULE);
            assert_string_equal(c->pkcs11_token, TOKEN);
            assert_string_equal(c->pkcs11_key, "custodian");
            assert_string_equal(c->pkcs11_pin_file, pinfile);
            assert_string_equal(c->key, "");
        } else {
            assert_int_not_equal(rc, CUSTOS_OK);
            if (strstr(err.message, cases[i].expect) == NULL)
                fail_msg("case %zu: expected '%s' in: %s", i, cases[i].expect, err.message);
        }
        free(c);
    }
}

/* The daemon signs with the HSM key of its config: the attestation reaches the gateway,
 * signed by the imported key's address, and the daemon's log never holds the PIN. */
static void test_daemon_signs_with_hsm_key(void **state)
{
    (void)state;
    char keyfile_other[1200], holdings[1200], prices[1200], policy[1200], conf[1200],
        log_path[1200], text[4096];
    path_in(keyfile_other, sizeof keyfile_other, "other.key");
    custos_error err;
    assert_int_equal(custos_keyfile_write(keyfile_other, F.keys[GWF_KEY_OTHER].seckey, &err),
                     CUSTOS_OK);
    const char *import[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--pkcs11-module", SOFTHSM_MODULE,
                            "--pkcs11-token", TOKEN, "--pkcs11-key", "other",
                            "--pkcs11-pin-file", pinfile, "--import", keyfile_other, NULL};
    assert_int_equal(run(import), 0);

    path_in(holdings, sizeof holdings, "daemon-holdings.json");
    tu_write_file(holdings, "{\"custodian\":\"" GWF_OTHER_FEED "\",\"accounts\":["
                            "{\"ref\":\"HSM-DAEMON\",\"beneficiary\":\"0x0\",\"positions\":["
                            "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\","
                            "\"quantity\":\"1000\"}]}]}");
    path_in(prices, sizeof prices, "daemon-prices.json");
    snprintf(text, sizeof text,
             "{\"prices\":{\"MMF-GOVT-INST\":{\"price\":\"1.00\",\"as_of\":%llu}}}",
             (unsigned long long)gwf_now() - 60);
    tu_write_file(prices, text);
    path_in(policy, sizeof policy, "daemon-policy.json");
    snprintf(text, sizeof text, "%s/deploy/examples/policy.json", CUSTOS_SOURCE_DIR);
    char *p = tu_read_file(text);
    assert_non_null(p);
    tu_write_file(policy, p);
    free(p);
    path_in(conf, sizeof conf, "daemon.json");
    snprintf(text, sizeof text,
             "{\"holdings\": \"daemon-holdings.json\", \"prices\": \"daemon-prices.json\", "
             "\"policy\": \"daemon-policy.json\", \"pkcs11_module\": \"" SOFTHSM_MODULE "\", "
             "\"pkcs11_token\": \"" TOKEN "\", \"pkcs11_key\": \"other\", "
             "\"pkcs11_pin_file\": \"pin\", \"feed\": \"%s\", \"chain_id\": %d, "
             "\"contract\": \"%s\", \"state\": \"daemon-state.json\", \"gateway\": \"%s\", "
             "\"spool\": \"daemon-spool\", \"interval_seconds\": 3600, "
             "\"heartbeat_seconds\": 3600, \"retry_max_seconds\": 1, \"insecure\": true}",
             GWF_OTHER_FEED, GWF_CHAIN_ID, GWF_CONTRACT, F.target);
    tu_write_file(conf, text);
    path_in(log_path, sizeof log_path, "daemon.log");
    tu_proc daemon;
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "run", "--config", conf, NULL};
    tu_spawn(&daemon, argv, log_path);

    uint8_t account[32];
    custos_account_id(GWF_OTHER_FEED, "HSM-DAEMON", account);
    custos_record rec;
    custos_rc rc = CUSTOS_ERR_NOT_FOUND;
    for (int waited = 0; waited < 20000 && rc != CUSTOS_OK; waited += 100) {
        memset(&rec, 0, sizeof rec);
        rc = custos_client_get_latest(F.client, account, &rec, &err);
        if (rc != CUSTOS_OK)
            usleep(100 * 1000);
    }
    assert_int_equal(tu_stop(&daemon, SIGTERM, 5000), 0);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    fprintf(stderr, "--- daemon log ---\n%s\n", log);
    assert_null(strstr(log, PIN));
    free(log);
    if (rc != CUSTOS_OK)
        fail_msg("nothing from the daemon reached the gateway: %s", err.message);
    uint8_t digest[32], got[CUSTOS_ADDRESS_LEN];
    custos_attestation_digest(&rec.sub.domain, &rec.sub.att, digest);
    assert_int_equal(rec.sub.n_sigs, 1);
    assert_int_equal(custos_recover_address(F.secp, digest, &rec.sub.sigs[0], got, &err),
                     CUSTOS_OK);
    assert_memory_equal(got, F.keys[GWF_KEY_OTHER].address, CUSTOS_ADDRESS_LEN);
    custos_record_clear(&rec);
}

/* The commands sharing the signing flags (attest, freeze, release) take the HSM key too. */
/* A batch signed with the token key (attest --batch): its accounts verify with ethers and
 * @openzeppelin/merkle-tree alone, signed by the imported key's address; the token's other
 * key cosigns the directory. Uses the daemon test's policy file. */
static void test_batch_signed_with_hsm_key(void **state)
{
    (void)state;
    char holdings[1200], prices[1200], policy[1200], state_path[1200], dir[1200], text[4096];
    path_in(holdings, sizeof holdings, "batch-holdings.json");
    tu_write_file(holdings, "{\"custodian\":\"" GWF_FEED "\",\"accounts\":["
                            "{\"ref\":\"HSM-B1\",\"beneficiary\":\"0x0\",\"positions\":["
                            "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\","
                            "\"quantity\":\"1000\"}]},"
                            "{\"ref\":\"HSM-B2\",\"beneficiary\":\"0x0\",\"positions\":["
                            "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\","
                            "\"quantity\":\"2500\"}]}]}");
    path_in(prices, sizeof prices, "batch-prices.json");
    snprintf(text, sizeof text,
             "{\"prices\":{\"MMF-GOVT-INST\":{\"price\":\"1.00\",\"as_of\":%llu}}}",
             (unsigned long long)gwf_now() - 60);
    tu_write_file(prices, text);
    path_in(policy, sizeof policy, "daemon-policy.json");
    path_in(state_path, sizeof state_path, "batch-state.json");
    path_in(dir, sizeof dir, "hsm-batch");
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "attest", "--batch", "--holdings", holdings,
                          "--prices", prices, "--policy", policy, "--pkcs11-module",
                          SOFTHSM_MODULE, "--pkcs11-token", TOKEN, "--pkcs11-key", "custodian",
                          "--pkcs11-pin-file", pinfile, "--feed", GWF_FEED, "--chain-id",
                          "31337", "--contract", GWF_CONTRACT, "--state", state_path,
                          "--export", dir, NULL};
    assert_int_equal(run(argv), 0);
    assert_null(strstr(out, PIN));
    /* The account ids name the files: take them from the report. */
    size_t verified = 0;
    for (const char *p = strstr(out, "account      "); p != NULL;
         p = strstr(p + 1, "account      ")) {
        const char *id = strstr(p, " 0x");
        assert_non_null(id);
        char path[2048];
        snprintf(path, sizeof path, "%s/%.66s.json", dir, id + 1);
        const char *args[] = {path, NULL};
        char js[2048] = {0};
        if (tu_node("batch_account_verify.mjs", args, js, sizeof js) != 0) {
            fail_msg("%s: %s", path, js);
            return;
        }
        assert_non_null(strstr(js, F.keys[GWF_KEY_CUSTODIAN].hex));
        verified++;
    }
    assert_int_equal(verified, 2);

    /* The token's other key cosigns the batch directory: every account then names both. */
    char cosigned[1200];
    path_in(cosigned, sizeof cosigned, "hsm-batch-cosigned");
    const char *cosign[] = {CUSTOS_ATTESTOR_BIN, "cosign", "--in", dir, "--pkcs11-module",
                            SOFTHSM_MODULE, "--pkcs11-token", TOKEN, "--pkcs11-key",
                            "generated", "--pkcs11-pin-file", pinfile, "--export", cosigned,
                            NULL};
    assert_int_equal(run(cosign), 0);
    assert_non_null(strstr(out, generated_hex));
    char path[2048], js[2048] = {0};
    DIR *d = opendir(cosigned);
    assert_non_null(d);
    struct dirent *e;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "0x", 2) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", cosigned, e->d_name);
        const char *args[] = {path, NULL};
        if (tu_node("batch_account_verify.mjs", args, js, sizeof js) != 0) {
            closedir(d);
            fail_msg("%s: %s", path, js);
            return;
        }
        assert_non_null(strstr(js, F.keys[GWF_KEY_CUSTODIAN].hex));
        assert_non_null(strstr(js, generated_hex));
        n++;
    }
    closedir(d);
    assert_int_equal(n, 2);
}

static void test_freeze_signed_with_hsm_key(void **state)
{
    (void)state;
    char holdings[1200], state_path[1200], export_path[1200], valid_until[32];
    path_in(holdings, sizeof holdings, "daemon-holdings.json");
    path_in(state_path, sizeof state_path, "freeze-state.json");
    path_in(export_path, sizeof export_path, "freeze.json");
    snprintf(valid_until, sizeof valid_until, "%llu", (unsigned long long)gwf_now() + 3600);
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "freeze", "--holdings", holdings, "--account",
                          "HSM-DAEMON", "--reason", "HSM test", "--pkcs11-module",
                          SOFTHSM_MODULE, "--pkcs11-token", TOKEN, "--pkcs11-key", "other",
                          "--pkcs11-pin-file", pinfile, "--feed", GWF_OTHER_FEED, "--chain-id",
                          "31337", "--contract", GWF_CONTRACT, "--state", state_path,
                          "--valid-until", valid_until, "--export", export_path, NULL};
    assert_int_equal(run(argv), 0);
    char *json = tu_read_file(export_path);
    assert_non_null(json);
    custos_submission s;
    custos_error err;
    assert_int_equal(custos_typeddata_import(json, strlen(json), &s, &err), CUSTOS_OK);
    free(json);
    assert_int_equal(s.n_sigs, 1);
    uint8_t digest[32], got[CUSTOS_ADDRESS_LEN];
    custos_attestation_digest(&s.domain, &s.att, digest);
    assert_int_equal(custos_recover_address(F.secp, digest, &s.sigs[0], got, &err), CUSTOS_OK);
    assert_memory_equal(got, F.keys[GWF_KEY_OTHER].address, CUSTOS_ADDRESS_LEN);
    custos_submission_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_keeps_the_file_key_address),
        cmocka_unit_test(test_generate_in_token),
        cmocka_unit_test(test_signatures_are_canonical),
        cmocka_unit_test(test_hsm_signature_verifies_with_ethers_and_gateway),
        cmocka_unit_test(test_cli_cosign_with_hsm_is_accepted),
        cmocka_unit_test(test_bad_token_settings_refused),
        cmocka_unit_test(test_key_file_and_hsm_together_refused),
        cmocka_unit_test(test_daemon_config_takes_hsm_key),
        cmocka_unit_test(test_daemon_signs_with_hsm_key),
        cmocka_unit_test(test_freeze_signed_with_hsm_key),
        cmocka_unit_test(test_batch_signed_with_hsm_key),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
