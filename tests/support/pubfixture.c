#include "pubfixture.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "anvil.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "pki.h"

#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define BUILD_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
#define ARTIFACT CUSTOS_SOURCE_DIR "/deploy/contracts/out/CustosAdapter.sol/CustosAdapter.json"
/* keccak256("AttestationAccepted(bytes32,bytes32,uint64,uint8,uint256,uint64,bytes32)") */
#define ACCEPTED_TOPIC "0x504696036e562372e8adfc5c456e31797a73cd482d28d3f1d6b63a20517cc974"

static void pf_check(custos_rc rc, const custos_error *err)
{
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", custos_rc_name(rc), err->message);
}

static void pf_write_key(const char *path, const char *hex)
{
    uint8_t key[CUSTOS_SECKEY_LEN];
    custos_error err;
    pf_check(custos_hex_decode(hex, key, sizeof key, &err), &err);
    pf_check(custos_keyfile_write(path, key, &err), &err);
}

/* deploy.mjs on anvil i; returns the adapter's address. */
static void pf_deploy(pubf *f, size_t i, uint64_t max_age, const char *const *refs,
                      size_t n_refs, uint8_t adapter[CUSTOS_ADDRESS_LEN])
{
    char owner_key[1200], config[1200], deployed[1200];
    snprintf(owner_key, sizeof owner_key, "%s/owner.key", f->gw.dir);
    snprintf(config, sizeof config, "%s/deploy.json", f->gw.dir);
    snprintf(deployed, sizeof deployed, "%s/deployed-%zu.json", f->gw.dir, i);
    if (access(owner_key, R_OK) != 0)
        pf_write_key(owner_key, PUBF_OWNER_KEY);
    char accounts[4096] = "";
    size_t used = 0;
    for (size_t r = 0; r < n_refs; r++) {
        int n = snprintf(accounts + used, sizeof accounts - used,
                         "%s{\"custodian\": \"%s\", \"ref\": \"%s\", \"lenders\": [\"%s\"]}",
                         r > 0 ? ", " : "", GWF_FEED, refs[r], PUBF_LENDER);
        assert_true(n > 0 && (size_t)n < sizeof accounts - used);
        used += (size_t)n;
    }
    char breaker[96] = "";
    if (f->breaker_rise_bps != 0)
        snprintf(breaker, sizeof breaker,
                 "\"breakerRiseBps\": %u, \"breakerReleaseThreshold\": %u, ",
                 (unsigned)f->breaker_rise_bps, (unsigned)f->breaker_release_threshold);
    char text[8192];
    snprintf(text, sizeof text,
             "{\"chainId\": %d, \"feeds\": [{\"name\": \"%s\", \"threshold\": %d, "
             "\"distinctRoles\": true, \"maxAge\": %llu, \"maxSkew\": %d, \"maxTtl\": %d, %s"
             "\"signers\": [{\"address\": \"%s\", \"role\": \"custodian\"}, "
             "{\"address\": \"%s\", \"role\": \"valuation_agent\"}], "
             "\"accounts\": [%s]}]}",
             GWF_CHAIN_ID, GWF_FEED, GWF_THRESHOLD, (unsigned long long)max_age, GWF_MAX_SKEW,
             GWF_MAX_TTL, breaker, f->gw.keys[GWF_KEY_CUSTODIAN].hex,
             f->gw.keys[GWF_KEY_AGENT].hex, accounts);
    tu_write_file(config, text);
    const char *argv[] = {CUSTOS_NODE, DEPLOY_SCRIPT, "--rpc", f->url[i], "--key-file",
                          owner_key, "--config", config, "--out", deployed, NULL};
    static char out[16384];
    if (tu_run(argv, out, sizeof out, 1) != 0)
        fail_msg("deploy.mjs failed:\n%s", out);
    json_error_t jerr;
    json_t *j = json_load_file(deployed, 0, &jerr);
    if (j == NULL)
        fail_msg("%s: %s", deployed, jerr.text);
    const char *hex = json_string_value(json_object_get(j, "adapter"));
    if (hex == NULL)
        fail_msg("deployed.json lacks the adapter");
    custos_error err;
    pf_check(custos_address_from_hex(hex, adapter, &err), &err);
    json_decref(j);
}

void pubf_init(pubf *f, size_t n_anvils, uint64_t max_age, const char *const *refs,
               size_t n_refs)
{
    pubf_init_breaker(f, n_anvils, max_age, refs, n_refs, 0, 0);
}

void pubf_init_breaker(pubf *f, size_t n_anvils, uint64_t max_age, const char *const *refs,
                       size_t n_refs, uint32_t rise_bps, uint32_t release_threshold)
{
    memset(f, 0, sizeof *f);
    f->breaker_rise_bps = rise_bps;
    f->breaker_release_threshold = release_threshold;
    assert_true(n_anvils >= 1 && n_anvils <= PUBF_MAX_ANVILS);
    gwf_init(&f->gw);
    f->n_anvils = n_anvils;
    if (access(ARTIFACT, R_OK) != 0) {
        const char *build[] = {"/bin/bash", BUILD_SCRIPT, NULL};
        static char out[16384];
        if (tu_run(build, out, sizeof out, 1) != 0)
            fail_msg("building the contracts failed:\n%s", out);
    }
    for (size_t i = 0; i < n_anvils; i++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/anvil-%zu", f->gw.dir, i);
        assert_int_equal(mkdir(dir, 0700), 0);
        if (tu_anvil_start(&f->anvil[i], dir, f->url[i], sizeof f->url[i]) != 0)
            fail_msg("anvil %zu did not start", i);
        evm_rpc_options opt = {.url = f->url[i], .connect_timeout_ms = 2000,
                               .timeout_ms = 5000};
        custos_error err;
        pf_check(evm_rpc_new(&opt, &f->rpc[i], &err), &err);
        uint8_t adapter[CUSTOS_ADDRESS_LEN];
        pf_deploy(f, i, max_age, refs, n_refs, adapter);
        /* One deployer, the same transactions from nonce 0: the same address everywhere. */
        if (i == 0)
            memcpy(f->adapter, adapter, CUSTOS_ADDRESS_LEN);
        else
            assert_memory_equal(adapter, f->adapter, CUSTOS_ADDRESS_LEN);
    }
    f->gw.domain.chain_id = GWF_CHAIN_ID;
    memcpy(f->gw.domain.verifying_contract, f->adapter, CUSTOS_ADDRESS_LEN);
    snprintf(f->relayer_key, sizeof f->relayer_key, "%s/relayer.key", f->gw.dir);
    pf_write_key(f->relayer_key, PUBF_RELAYER_KEY);
    snprintf(f->relayer_config, sizeof f->relayer_config, "relayer_key = %s\n", f->relayer_key);
    uint8_t key[CUSTOS_SECKEY_LEN];
    custos_error err;
    pf_check(custos_hex_decode(PUBF_RELAYER_KEY, key, sizeof key, &err), &err);
    pf_check(custos_address_from_seckey(f->gw.secp, key, f->relayer, &err), &err);
    snprintf(f->state_path, sizeof f->state_path, "%s/publisher.db", f->gw.dir);
}

void pubf_write_config(pubf *f, const char *rpc_url, const char *evm_extra)
{
    char urls[PUBF_MAX_ANVILS * 70] = "";
    size_t used = 0;
    for (size_t i = 0; rpc_url == NULL && i < f->n_anvils; i++)
        used += (size_t)snprintf(urls + used, sizeof urls - used, "%s%s", i > 0 ? " " : "",
                                 f->url[i]);
    char adapter[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(f->adapter, adapter);
    char accounts[1300];
    gwf_accounts_line(&f->gw, GWF_FEED, accounts, sizeof accounts);
    char breaker[128] = "";
    if (f->breaker_rise_bps != 0)
        snprintf(breaker, sizeof breaker,
                 "breaker_rise_bps = %u\nbreaker_release_threshold = %u\n",
                 (unsigned)f->breaker_rise_bps, (unsigned)f->breaker_release_threshold);
    char store[1300], state[1300] = "";
    if (f->store_uri[0] != '\0') {
        snprintf(store, sizeof store, "%s\nreplica_poll_ms = 100", f->store_uri);
    } else {
        snprintf(store, sizeof store, "%s/custos.db", f->gw.dir);
        snprintf(state, sizeof state, "state = %s\n", f->state_path);
    }
    char tls[4096] = "[tls]\ninsecure = true\n\n";
    if (f->gw.tls_dir[0] != '\0') {
        const char *d = f->gw.tls_dir;
        int t = snprintf(tls, sizeof tls,
                         "[tls]\ncert = %s/server.pem\nkey = %s/server.key\n"
                         "client_ca = %s/ca.pem\n\n"
                         "[client " PUBF_TLS_ATTESTOR "]\nrole = attestor\nfeeds = " GWF_FEED "\n\n"
                         "[client " PUBF_TLS_ADMIN "]\nrole = admin\n\n",
                         d, d, d);
        assert_true(t > 0 && (size_t)t < sizeof tls);
    }
    char text[20480];
    int n = snprintf(
        text, sizeof text,
        "[gateway]\nlisten = 127.0.0.1:0\nstore = %s\nchain_id = %d\n"
        "verifying_contract = %s\n\n"
        "%s"
        "[metrics]\nlisten = 127.0.0.1:0\nport_file = %s/metrics.port\n\n"
        "[feed %s]\nmax_age = %d\nmax_skew = %d\nmax_ttl = %d\nthreshold = %d\n"
        "distinct_roles = true\n%s%s\n"
        "[signer custodian]\naddress = %s\nfeed = %s\nrole = custodian\n\n"
        "[signer valuer]\naddress = %s\nfeed = %s\nrole = valuation_agent\n\n"
        "[evm]\nrpc_url = %s\n%s%spoll_interval_ms = 100\n%s",
        store, GWF_CHAIN_ID, adapter, tls, f->gw.dir, GWF_FEED, GWF_MAX_AGE, GWF_MAX_SKEW,
        GWF_MAX_TTL, GWF_THRESHOLD, breaker, accounts, f->gw.keys[GWF_KEY_CUSTODIAN].hex, GWF_FEED,
        f->gw.keys[GWF_KEY_AGENT].hex, GWF_FEED, rpc_url != NULL ? rpc_url : urls,
        f->relayer_config, state, evm_extra != NULL ? evm_extra : "");
    assert_true(n > 0 && (size_t)n < sizeof text);
    tu_write_file(f->gw.config_path, text);
}

void pubf_use_tls(pubf *f)
{
    int n = snprintf(f->gw.tls_dir, sizeof f->gw.tls_dir, "%s/pki", f->gw.dir);
    assert_true(n > 0 && (size_t)n < sizeof f->gw.tls_dir);
    assert_int_equal(mkdir(f->gw.tls_dir, 0700), 0);
    pki_make_ca(f->gw.tls_dir, "ca", "Custos Test CA");
    pki_make_cert(f->gw.tls_dir, "server", "localhost", "ca", PKI_SERVER_EXT);
    pki_make_cert(f->gw.tls_dir, PUBF_TLS_ATTESTOR, PUBF_TLS_ATTESTOR, "ca", PKI_CLIENT_EXT);
    pki_make_cert(f->gw.tls_dir, PUBF_TLS_ADMIN, PUBF_TLS_ADMIN, "ca", PKI_CLIENT_EXT);
    snprintf(f->gw.tls_client, sizeof f->gw.tls_client, "%s", PUBF_TLS_ATTESTOR);
}

void pubf_start(pubf *f)
{
    char port_file[1200];
    snprintf(port_file, sizeof port_file, "%s/metrics.port", f->gw.dir);
    (void)unlink(port_file);
    gwf_start(&f->gw);
    assert_int_equal(tu_wait_file(port_file, 10000), 0);
    char *text = tu_read_file(port_file);
    assert_non_null(text);
    f->metrics_port = atoi(text);
    free(text);
    assert_true(f->metrics_port > 0);
}

void pubf_start_registered(pubf *f, const char *const *refs, size_t n_refs)
{
    for (size_t i = 0; i < n_refs; i++)
        gwf_register(&f->gw, GWF_FEED, GWF_FEED, refs[i]);
    pubf_start(f);
}

int pubf_group_start(void **state, pubf *f, const char *const *refs, size_t n_refs)
{
    pubf_start_registered(f, refs, n_refs);
    *state = f;
    return 0;
}

int pubf_group_teardown(void **state)
{
    return pubf_finish(*state);
}

int pubf_finish(pubf *f)
{
    int status = gwf_stop(&f->gw);
    if (status != 0)
        gwf_dump_log(&f->gw);
    pubf_cleanup(f);
    return status == 0 ? 0 : -1;
}

void pubf_cleanup(pubf *f)
{
    gwf_stop(&f->gw);
    for (size_t i = 0; i < f->n_anvils; i++) {
        evm_rpc_free(f->rpc[i]);
        f->rpc[i] = NULL;
        if (f->anvil[i].pid > 0)
            tu_stop(&f->anvil[i], SIGTERM, 5000);
    }
    gwf_cleanup(&f->gw);
}

uint64_t pubf_submit(pubf *f, custos_submission *s)
{
    gwf_answer res;
    gwf_clear_sigs(s);
    gwf_sign(&f->gw, s, GWF_KEY_CUSTODIAN);
    gwf_submit_answer(&f->gw, s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_PENDING)
        fail_msg("first signature: %s state %d: %s", custos_rc_name(res.rc), res.res.state,
                 res.err.message);
    custos_signature first = s->sigs[0];
    gwf_clear_sigs(s);
    gwf_sign(&f->gw, s, GWF_KEY_AGENT);
    gwf_submit_answer(&f->gw, s, &res);
    if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("cosignature: %s state %d: %s", custos_rc_name(res.rc), res.res.state,
                 res.err.message);
    s->sigs[1] = s->sigs[0];
    s->sigs[0] = first;
    s->n_sigs = 2;
    return res.res.cursor;
}

/* The publisher's state as the gateway keeps it (store_uri). */
static gw_pubstate *pf_open_state(pubf *f)
{
    gw_pubstate *st = NULL;
    custos_error err;
    if (f->store_uri[0] != '\0')
        pf_check(gw_pubstate_open_pg(f->store_uri, &st, &err), &err);
    else
        pf_check(gw_pubstate_open_sqlite(f->state_path, &st, &err), &err);
    return st;
}

void pubf_write_replica_config(pubf *f, gwf *r)
{
    assert_true(f->store_uri[0] != '\0');
    char *text = tu_read_file(f->gw.config_path);
    assert_non_null(text);
    char from[1200], to[1200];
    snprintf(from, sizeof from, "port_file = %s/metrics.port\n", f->gw.dir);
    snprintf(to, sizeof to, "port_file = %s/metrics.port\n", r->dir);
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t head = (size_t)(at - text), cap = strlen(text) + strlen(to) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s%s%s", (int)head, text, to, at + strlen(from));
    tu_write_file(r->config_path, out);
    free(out);
    free(text);
}

bool pubf_fate(pubf *f, uint64_t cursor, gw_pub_row *row)
{
    gw_pubstate *st = pf_open_state(f);
    custos_error err;
    custos_rc rc = gw_pubstate_get(st, cursor, row, &err);
    gw_pubstate_close(st);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return false;
    pf_check(rc, &err);
    return true;
}

void pubf_wait_fate(pubf *f, uint64_t cursor, gw_pub_fate want, gw_pub_row *row)
{
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; tu_now_ms() < deadline;
         tu_sleep_ms(100)) {
        if (pubf_fate(f, cursor, row)) {
            if (row->fate == want)
                return;
            if (row->fate != GW_PUB_SENT && row->fate != GW_PUB_SKIPPED) {
                gwf_dump_log(&f->gw);
                fail_msg("record %llu: %s (%s), expected %s", (unsigned long long)cursor,
                         gw_pub_fate_name(row->fate), row->detail, gw_pub_fate_name(want));
            }
            gw_pub_row_clear(row);
        }
    }
    gwf_dump_log(&f->gw);
    fail_msg("record %llu: not %s within %d s", (unsigned long long)cursor,
             gw_pub_fate_name(want), PUBF_WAIT_MS / 1000);
}

json_t *pubf_rpc(pubf *f, size_t i, const char *method, json_t *params)
{
    json_t *result = NULL;
    custos_error err;
    custos_rc rc = evm_rpc_request(f->rpc[i], method, params, &result, &err);
    if (rc != CUSTOS_OK)
        fail_msg("%s on anvil %zu: %s", method, i, err.message);
    return result;
}

void pubf_rpc_void(pubf *f, size_t i, const char *method, json_t *params)
{
    json_decref(pubf_rpc(f, i, method, params));
}

/* eth_call of signature(args) on the adapter of anvil i. */
static custos_rc pf_view(pubf *f, size_t i, const char *signature, const evm_abi_value *args,
                         size_t n, uint8_t **out, size_t *len, custos_error *err)
{
    uint8_t *data = NULL;
    size_t data_len = 0;
    pf_check(evm_abi_encode(signature, args, n, &data, &data_len, err), err);
    evm_call call = {.data = data, .data_len = data_len};
    memcpy(call.to, f->adapter, CUSTOS_ADDRESS_LEN);
    custos_rc rc = evm_rpc_call(f->rpc[i], &call, out, len, err);
    free(data);
    return rc;
}

uint64_t pubf_chain_sequence(pubf *f, size_t i, const uint8_t account[CUSTOS_HASH_LEN])
{
    uint8_t *out = NULL;
    size_t len = 0;
    custos_error err;
    evm_abi_value arg = evm_abi_bytes32(account);
    custos_rc rc = pf_view(f, i, "latest(bytes32)", &arg, 1, &out, &len, &err);
    if (rc == CUSTOS_ERR_REFUSED)
        return 0; /* NoAttestation */
    pf_check(rc, &err);
    uint64_t seq = 0;
    /* StoredAttestation: feedId, beneficiary, kind, collateralValue, asOf, validUntil, sequence */
    pf_check(evm_abi_get_uint64(out, len, 6, 64, &seq, &err), &err);
    free(out);
    return seq;
}

void pubf_chain_answer(pubf *f, size_t i, const uint8_t account[CUSTOS_HASH_LEN],
                       custos_u256 *answer)
{
    uint8_t lender[CUSTOS_ADDRESS_LEN];
    custos_error err;
    pf_check(custos_address_from_hex(PUBF_LENDER, lender, &err), &err);
    evm_abi_value args[2] = {evm_abi_bytes32(account), evm_abi_address(lender)};
    uint8_t *out = NULL;
    size_t len = 0;
    pf_check(pf_view(f, i, "accountRound(bytes32,address)", args, 2, &out, &len, &err), &err);
    pf_check(evm_abi_get_uint(out, len, 1, 256, answer, &err), &err);
    free(out);
}

uint64_t pubf_nonce(pubf *f, size_t i, evm_block_tag tag)
{
    uint64_t n = 0;
    custos_error err;
    pf_check(evm_rpc_get_transaction_count(f->rpc[i], f->relayer, tag, &n, &err), &err);
    return n;
}

bool pubf_receipt(pubf *f, size_t i, const uint8_t hash[CUSTOS_HASH_LEN], bool *success,
                  uint64_t *block)
{
    evm_receipt r;
    bool found = false;
    custos_error err;
    pf_check(evm_rpc_get_receipt(f->rpc[i], hash, &r, &found, &err), &err);
    if (found) {
        *success = r.success;
        *block = r.block_number;
    }
    return found;
}

size_t pubf_count_events(pubf *f, size_t i, const uint8_t account[CUSTOS_HASH_LEN],
                         uint64_t sequence)
{
    char adapter[CUSTOS_ADDRESS_HEX_LEN], acct[67], seq_topic[67];
    custos_address_to_hex(f->adapter, adapter);
    assert_int_equal(custos_hex_encode(account, 32, acct, sizeof acct), CUSTOS_OK);
    uint8_t word[32] = {0};
    for (int b = 0; b < 8; b++)
        word[31 - b] = (uint8_t)(sequence >> (8 * b));
    assert_int_equal(custos_hex_encode(word, 32, seq_topic, sizeof seq_topic), CUSTOS_OK);
    json_t *logs = pubf_rpc(f, i, "eth_getLogs",
                            json_pack("[{s:s, s:s, s:s, s:[s, s, n, s]}]", "address", adapter,
                                      "fromBlock", "0x0", "toBlock", "latest", "topics",
                                      ACCEPTED_TOPIC, acct, seq_topic));
    size_t n = json_array_size(logs);
    json_decref(logs);
    return n;
}

typedef struct pf_body {
    char *data;
    size_t len;
} pf_body;

static size_t pf_on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    pf_body *b = userdata;
    size_t n = size * nmemb;
    char *grown = realloc(b->data, b->len + n + 1);
    if (grown == NULL)
        return 0;
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

char *pubf_metrics(pubf *f)
{
    return pubf_get(f, "/metrics");
}

char *pubf_get(pubf *f, const char *path)
{
    char url[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->metrics_port, path);
    pf_body b = {NULL, 0};
    CURL *c = curl_easy_init();
    assert_non_null(c);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_URL, url), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, pf_on_body), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_WRITEDATA, &b), CURLE_OK);
    assert_int_equal(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L), CURLE_OK);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    if (cc == CURLE_OK)
        assert_int_equal(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), CURLE_OK);
    curl_easy_cleanup(c);
    if (cc != CURLE_OK || status != 200 || b.data == NULL)
        fail_msg("GET %s: %s, HTTP %ld", url, curl_easy_strerror(cc), status);
    return b.data;
}

bool pubf_metric(const char *text, const char *series, double *out)
{
    size_t n = strlen(series);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            *out = strtod(p + n + 1, NULL);
            return true;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return false;
}

void pubf_wait_metric(pubf *f, const char *series, double want)
{
    double got = 0;
    bool seen = false;
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; tu_now_ms() < deadline;
         tu_sleep_ms(100)) {
        char *text = pubf_metrics(f);
        seen = pubf_metric(text, series, &got);
        free(text);
        double diff = got > want ? got - want : want - got;
        double scale = want < 0 ? -want : want;
        if (seen && diff <= 1e-9 * (scale > 1 ? scale : 1))
            return;
    }
    gwf_dump_log(&f->gw);
    if (seen)
        fail_msg("%s is %.17g, expected %.17g", series, got, want);
    fail_msg("%s is not exported", series);
}

void pubf_automine(pubf *f, bool on)
{
    pubf_rpc_void(f, 0, "evm_setAutomine", json_pack("[b]", on ? 1 : 0));
}

void pubf_mine(pubf *f, int blocks)
{
    for (int i = 0; i < blocks; i++)
        pubf_rpc_void(f, 0, "evm_mine", NULL);
}

void pubf_reorg(pubf *f, json_t *txs)
{
    pubf_rpc_void(f, 0, "anvil_reorg", json_pack("[i, o]", 1, txs));
}

json_t *pubf_relayer_self_transfer(pubf *f, uint64_t nonce)
{
    char relayer[CUSTOS_ADDRESS_HEX_LEN], n[24];
    custos_address_to_hex(f->relayer, relayer);
    snprintf(n, sizeof n, "0x%llx", (unsigned long long)nonce);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "from", relayer, "to", relayer,
                     "value", "0x0", "nonce", n, "gas", "0x5208", "maxFeePerGas",
                     "0x174876e800", "maxPriorityFeePerGas", "0xba43b7400");
}

uint64_t pubf_wait_receipt(pubf *f, const uint8_t hash[CUSTOS_HASH_LEN], bool *success)
{
    uint64_t block = 0;
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; !pubf_receipt(f, 0, hash, success, &block);
         tu_sleep_ms(50))
        if (tu_now_ms() > deadline)
            fail_msg("the transaction was not mined");
    return block;
}

void pubf_wait_pooled(pubf *f)
{
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS;
         pubf_nonce(f, 0, EVM_BLOCK_PENDING) <= pubf_nonce(f, 0, EVM_BLOCK_LATEST);
         tu_sleep_ms(50))
        if (tu_now_ms() > deadline)
            fail_msg("no transaction reached the pool");
}

size_t pubf_attempts(pubf *f, uint64_t cursor, uint8_t hashes[][CUSTOS_HASH_LEN], size_t max)
{
    gw_pubstate *st = pf_open_state(f);
    custos_error err;
    size_t n = 0;
    custos_rc rc = gw_pubstate_attempts(st, cursor, hashes, max, &n, &err);
    gw_pubstate_close(st);
    pf_check(rc, &err);
    return n;
}

char *pubf_log(pubf *f)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", f->gw.dir);
    char *log = tu_read_file(path);
    assert_non_null(log);
    return log;
}

size_t pubf_count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

void pubf_wait_log(pubf *f, const char *needle, size_t times)
{
    for (int64_t deadline = tu_now_ms() + PUBF_WAIT_MS; tu_now_ms() < deadline;
         tu_sleep_ms(100)) {
        char *log = pubf_log(f);
        size_t n = pubf_count(log, needle);
        free(log);
        if (n >= times)
            return;
    }
    gwf_dump_log(&f->gw);
    fail_msg("the gateway did not log '%s' %zu times", needle, times);
}

double pubf_metric_now(pubf *f, const char *series)
{
    char *text = pubf_metrics(f);
    double v = -1;
    bool seen = pubf_metric(text, series, &v);
    free(text);
    if (!seen)
        fail_msg("%s is not exported", series);
    return v;
}
