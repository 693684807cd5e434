/* One table of cases for the gateway and the adapter (docs/rules.md rule 10):
 * tests/rules/cases.json is deployed to a CustosAdapter on anvil by deploy.mjs, every step
 * is signed by ethers and submitted to the adapter (tests/js/rules_table.mjs), and the very
 * same bytes are then submitted to the real custos-gateway configured from the same table.
 * Each step must get the table's verdict from both: accepted, pending, held, duplicate, or
 * refused with the gateway's reason and the adapter's custom error. A signer revoked in
 * the middle of a case is revoked on both sides at that step (the adapter's owner; the
 * gateway's config file and a reload). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "custos/sig.h"

#include "anvil.h"
#include "gwfixture.h"
#include "testutil.h"

#define TABLE CUSTOS_SOURCE_DIR "/tests/rules/cases.json"
#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define BUILD_CONTRACTS CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
/* anvil's first two development accounts (public test keys, funded on start): the
 * deployer, who stays the adapter's owner, and the account that submits, anyone's. */
#define OWNER_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define SUBMITTER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
/* How long a reload may take to be in force. */
#define RELOAD_MS 10000

static gwf F;
static tu_proc ANVIL;
static char RPC[64];
static json_t *RUN; /* run.json: the signed steps with the adapter's verdicts */
static char output[1 << 20];

static void run_or_fail(const char *what, const char *const argv[])
{
    if (tu_run(argv, output, sizeof output, 1) != 0)
        fail_msg("%s failed:\n%s", what, output);
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (s == NULL)
        fail_msg("run.json: %s: expected a string", key);
    return s;
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("run.json: %s: expected an integer", key);
    return json_integer_value(v);
}

/* The gateway's config: the table's feeds and signers as the adapter has them now. */
static void write_config(void)
{
    size_t cap = 65536, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
#define ADD(...)                                                                           \
    do {                                                                                   \
        int n_ = snprintf(text + len, cap - len, __VA_ARGS__);                             \
        assert_true(n_ >= 0 && (size_t)n_ < cap - len);                                    \
        len += (size_t)n_;                                                                 \
    } while (0)
    /* No lending market holds the table's accounts (no pledge in the registry on-chain), so
     * rule 11 has no exposure to read: the gateway without [evm] says so explicitly. */
    ADD("[gateway]\nlisten = 127.0.0.1:0\nstore = %s/custos.db\nchain_id = %lld\n"
        "verifying_contract = %s\n"
        "release_without_exposure_check = true\n\n[tls]\ninsecure = true\n\n",
        F.dir, (long long)jint(RUN, "chainId"), jstr(RUN, "adapter"));
    json_t *feeds = json_object_get(RUN, "feeds"), *feed;
    size_t i;
    json_array_foreach(feeds, i, feed) {
        ADD("[feed %s]\nmax_age = %lld\nmax_skew = %lld\nmax_ttl = %lld\nthreshold = %lld\n"
            "distinct_roles = %s\n",
            jstr(feed, "name"), (long long)jint(feed, "maxAge"), (long long)jint(feed, "maxSkew"),
            (long long)jint(feed, "maxTtl"), (long long)jint(feed, "threshold"),
            json_is_true(json_object_get(feed, "distinctRoles")) ? "true" : "false");
        if (jint(feed, "breakerRiseBps") != 0)
            ADD("breaker_rise_bps = %lld\nbreaker_release_threshold = %lld\n",
                (long long)jint(feed, "breakerRiseBps"),
                (long long)jint(feed, "breakerReleaseThreshold"));
        if (jint(feed, "maxSequenceStep") != 0)
            ADD("max_sequence_step = %lld\n", (long long)jint(feed, "maxSequenceStep"));
        /* Rule 9: the accounts the adapter has registered to this feed. */
        json_t *c;
        size_t k;
        json_array_foreach(json_object_get(RUN, "cases"), k, c) {
            json_t *to = json_object_get(c, "registeredTo");
            if (json_is_string(to) && strcmp(json_string_value(to), jstr(feed, "name")) == 0)
                ADD("accounts = %s\n", jstr(c, "account"));
        }
        ADD("\n");
    }
    json_array_foreach(feeds, i, feed) {
        json_t *s;
        size_t j;
        json_array_foreach(json_object_get(feed, "signers"), j, s) {
            ADD("[signer %s]\naddress = %s\nfeed = %s\nrole = %s\nstatus = %s\n",
                jstr(s, "name"), jstr(s, "address"), jstr(feed, "name"), jstr(s, "role"),
                jstr(s, "status"));
            /* A rotated-out key: its window, and the key of its party now. */
            json_t *successor = json_object_get(s, "replacedBy");
            if (json_is_string(successor))
                ADD("not_after = %lld\nreplaced_by = %s\n", (long long)jint(s, "notAfter"),
                    json_string_value(successor));
            ADD("\n");
        }
    }
#undef ADD
    tu_write_file(F.config_path, text);
    free(text);
}

static int setup(void **state)
{
    (void)state;
    const char *build[] = {"/bin/bash", BUILD_CONTRACTS, NULL};
    if (tu_run(build, output, sizeof output, 1) != 0) {
        fprintf(stderr, "build-contracts.sh failed:\n%s\n", output);
        return -1;
    }
    gwf_init(&F);
    if (tu_anvil_start(&ANVIL, F.dir, RPC, sizeof RPC) != 0)
        return -1;
    char deploy_json[1200], deployed[1200], key[1200], run[1200];
    snprintf(deploy_json, sizeof deploy_json, "%s/deploy.json", F.dir);
    snprintf(deployed, sizeof deployed, "%s/deployed.json", F.dir);
    snprintf(key, sizeof key, "%s/owner.key", F.dir);
    snprintf(run, sizeof run, "%s/run.json", F.dir);
    tu_write_file(key, OWNER_KEY "\n");
    assert_int_equal(chmod(key, 0600), 0);
    const char *config[] = {"deploy-config", "--table", TABLE, "--out", deploy_json, NULL};
    if (tu_node("rules_table.mjs", config, output, sizeof output) != 0)
        fail_msg("rules_table.mjs deploy-config failed:\n%s", output);
    const char *deploy[] = {CUSTOS_NODE, DEPLOY_SCRIPT, "--rpc", RPC, "--key-file", key,
                            "--config", deploy_json, "--out", deployed, NULL};
    run_or_fail("deploy.mjs", deploy);
    const char *chain[] = {"run", "--table", TABLE, "--rpc", RPC, "--deployed", deployed,
                           "--owner-key-file", key, "--submitter-key", SUBMITTER_KEY,
                           "--out", run, NULL};
    if (tu_node("rules_table.mjs", chain, output, sizeof output) != 0)
        fail_msg("rules_table.mjs run failed:\n%s", output);
    json_error_t jerr;
    RUN = json_load_file(run, 0, &jerr);
    if (RUN == NULL)
        fail_msg("run.json: %s", jerr.text);
    write_config();
    gwf_start(&F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    tu_stop(&ANVIL, SIGTERM, 5000);
    json_decref(RUN);
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* Revokes a signer on the gateway's side as the table's step does on the adapter's: in the
 * config file, then a reload, in force once ListSigners says so. */
static void revoke_signer(json_t *step)
{
    const char *name = jstr(step, "signer");
    json_t *feed, *s;
    size_t i, j;
    json_array_foreach(json_object_get(RUN, "feeds"), i, feed)
        json_array_foreach(json_object_get(feed, "signers"), j, s)
            if (strcmp(jstr(s, "name"), name) == 0)
                json_object_set_new(s, "status", json_string("revoked"));
    write_config();
    uint8_t address[CUSTOS_ADDRESS_LEN];
    custos_error err;
    assert_int_equal(custos_address_from_hex(jstr(step, "address"), address, &err), CUSTOS_OK);
    assert_int_equal(kill(F.proc.pid, SIGHUP), 0);
    for (int64_t deadline = tu_now_ms() + RELOAD_MS; tu_now_ms() < deadline; tu_sleep_ms(50)) {
        custos_signer_info *list = NULL;
        size_t n = 0;
        assert_int_equal(custos_client_list_signers(F.client, &list, &n, &err), CUSTOS_OK);
        bool revoked = false;
        for (size_t k = 0; k < n; k++)
            revoked |= memcmp(list[k].address, address, CUSTOS_ADDRESS_LEN) == 0 &&
                       strcmp(list[k].feed, jstr(step, "feed")) == 0 && !list[k].active;
        custos_signer_list_free(list, n);
        if (revoked)
            return;
    }
    gwf_dump_log(&F);
    fail_msg("the reload revoking %s did not take effect", name);
}

static void u256_field(json_t *att, const char *key, custos_u256 *out)
{
    const char *text = jstr(att, key);
    custos_error err;
    if (custos_u256_from_dec(out, text, strlen(text), &err) != CUSTOS_OK)
        fail_msg("run.json: %s: %s", key, err.message);
}

static void hex_field(const char *text, uint8_t *out, size_t len)
{
    custos_error err;
    if (custos_hex_decode(text, out, len, &err) != CUSTOS_OK)
        fail_msg("run.json: %s: %s", text, err.message);
}

/* The step's attestation with its signatures, as the adapter got it; *n_sigs says how many
 * the step carries (more than a submission can hold: the first one only is kept). */
static void build_submission(const char *feed, json_t *step, custos_submission *s,
                             size_t *n_sigs)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "%s", feed);
    s->domain.chain_id = (uint64_t)jint(step, "chainId");
    custos_error err;
    assert_int_equal(custos_address_from_hex(jstr(RUN, "adapter"), s->domain.verifying_contract,
                                             &err),
                     CUSTOS_OK);
    json_t *att = json_object_get(step, "attestation");
    hex_field(jstr(att, "account"), s->att.account, CUSTOS_HASH_LEN);
    hex_field(jstr(att, "beneficiary"), s->att.beneficiary, CUSTOS_ADDRESS_LEN);
    s->att.kind = (uint8_t)jint(att, "kind");
    u256_field(att, "grossValue", &s->att.gross_value);
    u256_field(att, "collateralValue", &s->att.collateral_value);
    hex_field(jstr(att, "positionsRoot"), s->att.positions_root, CUSTOS_HASH_LEN);
    s->att.as_of = (uint64_t)jint(att, "asOf");
    s->att.valid_until = (uint64_t)jint(att, "validUntil");
    const char *seq = jstr(att, "sequence");
    char *end = NULL;
    s->att.sequence = strtoull(seq, &end, 10);
    assert_true(end != seq && *end == '\0');
    json_t *sigs = json_object_get(step, "signatures");
    *n_sigs = json_array_size(sigs);
    for (size_t i = 0; i < *n_sigs && i < CUSTOS_MAX_SIGNATURES; i++)
        hex_field(json_string_value(json_array_get(sigs, i)), s->sigs[i].bytes,
                  CUSTOS_SIGNATURE_LEN);
    s->n_sigs = *n_sigs < CUSTOS_MAX_SIGNATURES ? *n_sigs : CUSTOS_MAX_SIGNATURES;
}

/* The gateway's answer in the table's words. */
static void gateway_verdict(const char *feed, json_t *step, char *out, size_t cap)
{
    custos_submission s;
    size_t n_sigs = 0;
    build_submission(feed, step, &s, &n_sigs);
    if (n_sigs > CUSTOS_MAX_SIGNATURES) {
        /* More signatures than a submission holds: the request made by hand, each a copy
         * of the first, as the step's are. */
        s.n_sigs = 1;
        gwf_pb *pb = gwf_pb_new(&s);
        gwf_pb_set_sig_count(pb, n_sigs);
        uint8_t *req = NULL;
        size_t len = 0;
        gwf_pb_pack_request(pb, 0, &req, &len);
        gwf_raw_result raw;
        gwf_raw_call(&F, "/custos.v1.AttestationGateway/Submit", req, len, &raw);
        free(req);
        gwf_pb_free(pb);
        snprintf(out, cap, raw.grpc_status == 0 ? "accepted" : "refused:%s", raw.reason);
        return;
    }
    custos_submit_result res;
    custos_error err;
    custos_rc rc = gwf_submit(&F, &s, &res, &err);
    if (rc == CUSTOS_OK) {
        const char *v = res.state == CUSTOS_STATE_PENDING ? "pending"
                        : res.state == CUSTOS_STATE_HELD  ? "held"
                        : res.duplicate                   ? "duplicate"
                                                          : "accepted";
        snprintf(out, cap, "%s", v);
    } else if (err.reason != CUSTOS_REASON_NONE) {
        snprintf(out, cap, "refused:%s", custos_reason_name(err.reason));
    } else {
        snprintf(out, cap, "error:%s: %s", custos_rc_name(rc), err.message);
    }
}

static void test_one_table_both_sides(void **state)
{
    (void)state;
    json_t *cases = json_object_get(RUN, "cases"), *c;
    size_t i, steps = 0, mismatches = 0;
    json_array_foreach(cases, i, c) {
        json_t *step;
        size_t j;
        json_array_foreach(json_object_get(c, "steps"), j, step) {
            if (json_object_get(step, "action") != NULL) {
                revoke_signer(step);
                continue;
            }
            steps++;
            char got[512];
            gateway_verdict(jstr(c, "feed"), step, got, sizeof got);
            const char *want_gw = jstr(step, "expectGateway");
            const char *want_ad = jstr(step, "expectAdapter");
            const char *adapter = jstr(step, "adapter");
            bool gw_ok = strcmp(got, want_gw) == 0, ad_ok = strcmp(adapter, want_ad) == 0;
            fprintf(stderr, "%-40s %zu  gateway %-34s adapter %-30s %s\n", jstr(c, "name"), j,
                    got, adapter, jstr(step, "adapterDetail"));
            if (!gw_ok || !ad_ok) {
                mismatches++;
                fprintf(stderr, "case %s step %zu: gateway %s%s, adapter %s (%s)%s\n",
                        jstr(c, "name"), j, got, gw_ok ? "" : " (table: differs)", adapter,
                        jstr(step, "adapterDetail"), ad_ok ? "" : " (table: differs)");
                fprintf(stderr, "  the table says: gateway %s, adapter %s\n", want_gw, want_ad);
            }
        }
    }
    fprintf(stderr, "rule table: %zu cases, %zu steps, %zu not as the table says\n",
            json_array_size(cases), steps, mismatches);
    if (mismatches != 0) {
        gwf_dump_log(&F);
        fail_msg("%zu steps differ from the table (above)", mismatches);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_table_both_sides),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
