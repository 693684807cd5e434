/* Reserves through a real gateway: custos-attestor reserves --gateway signs with the feed's
 * custodian key and submits; `custos get-reserves-proof` then writes, for an account, the
 * very proof file the attestor wrote, which custos verify-reserves-proof and node (ethers,
 * StandardMerkleTree) accept. SubmitReserves refuses each bad input with its reason and
 * stores nothing; the most leaves an attestation may carry go through and one more does
 * not; the same attestation again is an idempotent success; the latest
 * reserves survive a restart; a gateway not serving proofs without client certificates
 * refuses the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/client.h"
#include "custos/hex.h"
#include "custos/keyfile.h"
#include "custos/reason.h"
#include "custos/reserves.h"

#include "gwfixture.h"
#include "pb_convert.h"

#define REF "ACME-FUND-001" /* an account of deploy/examples/holdings.json */

static gwf F;
static char holdings[1200], prices[1200], policy[1200], state_path[1200], out_dir[1200],
    key_path[1200], agent_key_path[1200], fetched[1200], now_text[32];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}


/* The sample prices observed a minute ago, so the gateway finds the reserves fresh. */
static void write_fresh_prices(uint64_t now)
{
    tu_copy_example("prices.json", prices);
    json_error_t jerr;
    json_t *root = json_load_file(prices, 0, &jerr);
    assert_non_null(root);
    const char *k;
    json_t *e;
    json_object_foreach(json_object_get(root, "prices"), k, e)
        assert_int_equal(json_object_set_new(e, "as_of", json_integer((json_int_t)(now - 60))),
                         0);
    assert_int_equal(json_dump_file(root, prices, JSON_INDENT(2)), 0);
    json_decref(root);
}

/* The gateway config, with public_proofs = true (the fixture's default) or without. */
static void write_config(bool public_proofs)
{
    F.private_positions = !public_proofs;
    /* Room for the most leaves one attestation may carry: 100000 leaves are about 7 MB. */
    F.max_message_bytes = 16u << 20;
    gwf_write_config(&F);
}

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    path_in(holdings, sizeof holdings, "holdings.json");
    path_in(prices, sizeof prices, "prices.json");
    path_in(policy, sizeof policy, "policy.json");
    path_in(state_path, sizeof state_path, "state.json");
    path_in(out_dir, sizeof out_dir, ".");
    path_in(key_path, sizeof key_path, "custodian.key");
    path_in(agent_key_path, sizeof agent_key_path, "agent.key");
    path_in(fetched, sizeof fetched, "fetched.json");
    tu_copy_example("holdings.json", holdings);
    tu_copy_example("policy.json", policy);
    uint64_t now = gwf_now();
    write_fresh_prices(now);
    snprintf(now_text, sizeof now_text, "%llu", (unsigned long long)now);
    custos_error err;
    assert_int_equal(custos_keyfile_write(key_path, F.keys[GWF_KEY_CUSTODIAN].seckey, &err),
                     CUSTOS_OK);
    assert_int_equal(custos_keyfile_write(agent_key_path, F.keys[GWF_KEY_AGENT].seckey, &err),
                     CUSTOS_OK);
    write_config(true);
    gwf_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gwf_cleanup(&F);
    return 0;
}

static int run_attestor(const char *key, char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "reserves", "--holdings", holdings, "--prices",
                          prices, "--policy", policy, "--key", key, "--feed", GWF_FEED,
                          "--chain-id", "31337", "--contract", GWF_CONTRACT, "--state",
                          state_path, "--out-dir", out_dir, "--now", now_text, "--gateway",
                          F.target, "--insecure", NULL};
    return tu_run(argv, out, cap, 1);
}

/* `custos get-reserves-proof` for REF into fetched; returns its exit status. */
static int get_proof(char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "get-reserves-proof", "--gateway", F.target,
                          "--insecure", "--feed", GWF_FEED, "--custodian", GWF_FEED, "--ref",
                          REF, NULL};
    int rc = tu_run(argv, out, cap, 0);
    if (rc == 0)
        tu_write_file(fetched, out);
    return rc;
}

static uint64_t latest_sequence(void)
{
    custos_reserves_summary s;
    custos_error err;
    custos_rc rc = custos_client_get_reserves(F.client, GWF_FEED, &s, &err);
    if (rc != CUSTOS_OK)
        fail_msg("GetReserves: %s", err.message);
    return s.r.sequence;
}

static void test_attestor_submits_and_proof_verifies(void **state)
{
    (void)state;
    char out[16384];
    int rc = run_attestor(key_path, out, sizeof out);
    if (rc != 0) {
        gwf_dump_log(&F);
        fail_msg("custos-attestor reserves --gateway exited %d: %s", rc, out);
    }
    assert_non_null(strstr(out, "gateway      ACCEPTED"));
    assert_int_equal(latest_sequence(), 1);

    const char *summary[] = {CUSTOS_CLI_BIN, "get-reserves", "--gateway", F.target,
                             "--insecure", "--feed", GWF_FEED, NULL};
    assert_int_equal(tu_run(summary, out, sizeof out, 0), 0);
    assert_non_null(strstr(out, "\"accounts\": 2"));
    char want[96];
    snprintf(want, sizeof want, "\"signer\": \"%s\"", F.keys[GWF_KEY_CUSTODIAN].hex);
    if (strstr(out, want) == NULL)
        fail_msg("get-reserves: expected %s in %s", want, out);

    rc = get_proof(out, sizeof out);
    if (rc != 0)
        fail_msg("get-reserves-proof exited %d: %s", rc, out);
    /* Field for field the file the attestor wrote for the account. */
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REF, id);
    char hex[2 + 64 + 1], written[1300];
    assert_int_equal(custos_hex_encode(id, sizeof id, hex, sizeof hex), CUSTOS_OK);
    snprintf(written, sizeof written, "%s/%s.json", out_dir, hex);
    json_error_t jerr;
    json_t *a = json_load_file(written, 0, &jerr), *b = json_load_file(fetched, 0, &jerr);
    assert_non_null(a);
    assert_non_null(b);
    if (!json_equal(a, b))
        fail_msg("the gateway's proof differs from the attestor's:\n%s", out);
    json_decref(a);
    json_decref(b);

    const char *verify[] = {CUSTOS_CLI_BIN, "verify-reserves-proof", fetched, "--signer",
                            F.keys[GWF_KEY_CUSTODIAN].hex, NULL};
    rc = tu_run(verify, out, sizeof out, 1);
    if (rc != 0)
        fail_msg("verify-reserves-proof exited %d: %s", rc, out);
    assert_non_null(strstr(out, " of 2, in feed"));
    const char *args[] = {fetched, NULL};
    rc = tu_node("reserves_proof_verify.mjs", args, out, sizeof out);
    if (rc != 0)
        fail_msg("node refused the fetched proof (%d): %s", rc, out);
    snprintf(want, sizeof want, "signer %s", F.keys[GWF_KEY_CUSTODIAN].hex);
    assert_non_null(strstr(out, want));

    /* An account that is not counted. */
    const char *absent[] = {CUSTOS_CLI_BIN, "get-reserves-proof", "--gateway", F.target,
                            "--insecure", "--feed", GWF_FEED, "--custodian", GWF_FEED, "--ref",
                            "NO-SUCH-ACCOUNT", NULL};
    assert_int_equal(tu_run(absent, out, sizeof out, 1), 2);
    assert_non_null(strstr(out, "not counted"));
    /* The valuation agent's key may not sign reserves: refused, nothing stored. */
    assert_int_equal(run_attestor(agent_key_path, out, sizeof out), 2);
    assert_non_null(strstr(out, "UNAUTHORIZED_SIGNER"));
    assert_int_equal(latest_sequence(), 1);
}

/* Three accounts worth 1000, 2000 and 3000 USD, summarised, signed by key. */
typedef struct built {
    custos_reserves_entry es[3];
    size_t n;
    custos_reserves r;
    custos_domain d;
    custos_signature sig;
} built;

static void sign_built(built *b, gwf_key_id key)
{
    uint8_t digest[32];
    custos_reserves_digest(&b->d, &b->r, digest);
    custos_error err;
    assert_int_equal(custos_sign_digest(F.secp, F.keys[key].seckey, digest, &b->sig, &err),
                     CUSTOS_OK);
}

static void build(built *b, uint64_t sequence)
{
    memset(b, 0, sizeof *b);
    b->n = 3;
    for (size_t i = 0; i < b->n; i++) {
        memset(b->es[i].account, (int)(0xa0 + i), CUSTOS_HASH_LEN);
        gwf_usd(&b->es[i].collateral_value, 1000 * (i + 1));
    }
    custos_error err;
    assert_int_equal(custos_reserves_summarise(b->es, b->n, &b->r, &err), CUSTOS_OK);
    custos_feed_id(GWF_FEED, b->r.feed_id);
    b->r.as_of = gwf_now() - 60;
    b->r.sequence = sequence;
    b->d = F.domain;
    sign_built(b, GWF_KEY_CUSTODIAN);
}

static custos_rc submit(const built *b, bool *duplicate, custos_error *err)
{
    return custos_client_submit_reserves(F.client, GWF_FEED, &b->d, &b->r, &b->sig, 1, b->es,
                                         b->n, duplicate, NULL, err);
}

typedef enum doctor {
    D_AGENT,
    D_UNKNOWN,
    D_REVOKED,
    D_OTHER_FEED_SIGNER,
    D_TOTAL,
    D_LEAF,
    D_DUPLICATE_ACCOUNT,
    D_COUNT,
    D_REPLAY,
    D_DOMAIN,
    D_STALE,
    D_FUTURE
} doctor;

static void test_bad_input_refused_nothing_stored(void **state)
{
    (void)state;
    bool duplicate = false;
    custos_error err;
    uint64_t before = latest_sequence();
    built good;
    build(&good, before + 10);
    assert_int_equal(submit(&good, &duplicate, &err), CUSTOS_OK);
    assert_false(duplicate);
    assert_int_equal(latest_sequence(), before + 10);
    /* The same attestation again changes nothing and succeeds. */
    assert_int_equal(submit(&good, &duplicate, &err), CUSTOS_OK);
    assert_true(duplicate);

    static const struct {
        doctor d;
        const char *reason, *detail;
    } cases[] = {
        {D_AGENT, "UNAUTHORIZED_SIGNER", "custodian"},
        {D_UNKNOWN, "UNKNOWN_SIGNER", ""},
        {D_REVOKED, "REVOKED_SIGNER", ""},
        {D_OTHER_FEED_SIGNER, "UNAUTHORIZED_SIGNER", ""},
        {D_TOTAL, "MALFORMED", "not the sum of the leaves"},
        {D_LEAF, "MALFORMED", "sumRoot is not the root"},
        {D_DUPLICATE_ACCOUNT, "MALFORMED", "listed twice"},
        {D_COUNT, "MALFORMED", "leaves were sent"},
        {D_REPLAY, "REPLAY", "not above"},
        {D_DOMAIN, "WRONG_DOMAIN", ""},
        {D_STALE, "STALE", ""},
        {D_FUTURE, "FUTURE", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        built b;
        build(&b, before + 20 + i);
        switch (cases[i].d) {
        case D_AGENT: sign_built(&b, GWF_KEY_AGENT); break;
        case D_UNKNOWN: sign_built(&b, GWF_KEY_UNKNOWN); break;
        case D_REVOKED: sign_built(&b, GWF_KEY_REVOKED); break;
        case D_OTHER_FEED_SIGNER: sign_built(&b, GWF_KEY_OTHER); break;
        case D_TOTAL:
            gwf_usd(&b.r.total_collateral, 7000); /* signed, but not what the leaves add to */
            sign_built(&b, GWF_KEY_CUSTODIAN);
            break;
        case D_LEAF: /* the same total, other leaves */
            gwf_usd(&b.es[0].collateral_value, 2000);
            gwf_usd(&b.es[1].collateral_value, 1000);
            break;
        case D_DUPLICATE_ACCOUNT:
            memcpy(b.es[2].account, b.es[0].account, CUSTOS_HASH_LEN);
            break;
        case D_COUNT: b.n = 2; break;
        case D_REPLAY:
            b.r.sequence = before + 10; /* the stored one's, with another asOf */
            b.r.as_of = good.r.as_of - 1;
            sign_built(&b, GWF_KEY_CUSTODIAN);
            break;
        case D_DOMAIN:
            b.d.chain_id = 1;
            sign_built(&b, GWF_KEY_CUSTODIAN);
            break;
        case D_STALE:
            b.r.as_of = gwf_now() - GWF_MAX_AGE - 600;
            sign_built(&b, GWF_KEY_CUSTODIAN);
            break;
        case D_FUTURE:
            b.r.as_of = gwf_now() + GWF_MAX_SKEW + 600;
            sign_built(&b, GWF_KEY_CUSTODIAN);
            break;
        }
        custos_rc rc = submit(&b, &duplicate, &err);
        if (rc != CUSTOS_ERR_REFUSED || strstr(err.message, cases[i].reason) == NULL ||
            strstr(err.message, cases[i].detail) == NULL)
            fail_msg("case %zu: expected %s (%s), got rc %d: %s", i, cases[i].reason,
                     cases[i].detail, rc, err.message);
        assert_int_equal(latest_sequence(), before + 10);
    }
}

/* On a feed with reserves_quorum = true, reserves need the feed's quorum (2 distinct roles):
 * the custodian alone and two custodian keys (one role) are RESERVES_BELOW_QUORUM and
 * nothing is stored; the custodian with the valuation agent is accepted. */
static void test_reserves_quorum(void **state)
{
    (void)state;
    assert_int_equal(gwf_stop(&F), 0);
    F.reserves_quorum = true;
    write_config(true);
    gwf_start(&F);
    uint64_t before = latest_sequence();
    built b;
    build(&b, before + 1);
    bool duplicate = false;
    custos_error err;
    assert_int_equal(submit(&b, &duplicate, &err), CUSTOS_ERR_REFUSED);
    if (strstr(err.message, "RESERVES_BELOW_QUORUM") == NULL ||
        strstr(err.message, "1 distinct roles of 2") == NULL)
        fail_msg("the custodian alone: %s", err.message);
    uint8_t digest[32];
    custos_reserves_digest(&b.d, &b.r, digest);
    custos_signature sigs[2];
    sigs[0] = b.sig;
    assert_int_equal(custos_sign_digest(F.secp, F.keys[GWF_KEY_CUSTODIAN2].seckey, digest,
                                        &sigs[1], &err),
                     CUSTOS_OK);
    assert_int_equal(custos_client_submit_reserves(F.client, GWF_FEED, &b.d, &b.r, sigs, 2, b.es,
                                                   b.n, &duplicate, NULL, &err),
                     CUSTOS_ERR_REFUSED);
    assert_non_null(strstr(err.message, "RESERVES_BELOW_QUORUM"));
    assert_int_equal(latest_sequence(), before);
    assert_int_equal(custos_sign_digest(F.secp, F.keys[GWF_KEY_AGENT].seckey, digest, &sigs[1],
                                        &err),
                     CUSTOS_OK);
    assert_int_equal(custos_client_submit_reserves(F.client, GWF_FEED, &b.d, &b.r, sigs, 2, b.es,
                                                   b.n, &duplicate, NULL, &err),
                     CUSTOS_OK);
    assert_int_equal(latest_sequence(), before + 1);

    /* Through the binaries: the custodian's reserves alone are refused; the valuation
     * agent's cosign-reserves submits them with both signatures and every leaf. */
    uint8_t feed_id[32];
    char feed_hex[67], text[200];
    custos_feed_id(GWF_FEED, feed_id);
    assert_int_equal(custos_hex_encode(feed_id, 32, feed_hex, sizeof feed_hex), CUSTOS_OK);
    snprintf(text, sizeof text, "{\"%s\": %llu}", feed_hex,
             (unsigned long long)latest_sequence());
    tu_write_file(state_path, text);
    char out[8192];
    assert_int_equal(run_attestor(key_path, out, sizeof out), 2);
    assert_non_null(strstr(out, "RESERVES_BELOW_QUORUM"));
    const char *cosign[] = {CUSTOS_ATTESTOR_BIN, "cosign-reserves", "--dir", out_dir, "--key",
                            agent_key_path, "--gateway", F.target, "--insecure", NULL};
    int rc = tu_run(cosign, out, sizeof out, 1);
    if (rc != 0)
        fail_msg("cosign-reserves --gateway exited %d: %s", rc, out);
    assert_non_null(strstr(out, "ACCEPTED"));
    assert_int_equal(latest_sequence(), before + 2);
    /* The gateway keeps both signatures: the fetched proof is the cosigned file, field for
     * field, and verifies with both signers required. */
    rc = get_proof(out, sizeof out);
    if (rc != 0)
        fail_msg("get-reserves-proof exited %d: %s", rc, out);
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REF, id);
    char hex[2 + 64 + 1], written[1300];
    assert_int_equal(custos_hex_encode(id, sizeof id, hex, sizeof hex), CUSTOS_OK);
    snprintf(written, sizeof written, "%s/%s.json", out_dir, hex);
    json_error_t jerr;
    json_t *wa = json_load_file(written, 0, &jerr), *fb = json_load_file(fetched, 0, &jerr);
    assert_non_null(wa);
    assert_non_null(fb);
    assert_int_equal(json_array_size(json_object_get(fb, "signatures")), 2);
    if (!json_equal(wa, fb))
        fail_msg("the gateway's proof differs from the cosigned file:\n%s", out);
    json_decref(wa);
    json_decref(fb);
    const char *both[] = {CUSTOS_CLI_BIN, "verify-reserves-proof", fetched, "--signer",
                          F.keys[GWF_KEY_CUSTODIAN].hex, "--signer", F.keys[GWF_KEY_AGENT].hex,
                          "--threshold", "2", NULL};
    rc = tu_run(both, out, sizeof out, 1);
    if (rc != 0)
        fail_msg("verify-reserves-proof --threshold 2 exited %d: %s", rc, out);
    F.reserves_quorum = false;
}

/* The most leaves one reserves attestation may carry (CUSTOS_RESERVES_MAX_ACCOUNTS):
 * accepted, and the last leaf served with a proof to the signed sum root; one more leaf is
 * refused TOO_LARGE by the client before sending and by the gateway when sent anyway, and
 * the stored reserves stay as they were. */
static void test_most_leaves(void **state)
{
    (void)state;
    const size_t max = CUSTOS_RESERVES_MAX_ACCOUNTS;
    custos_reserves_entry *es = calloc(max + 1, sizeof *es);
    assert_non_null(es);
    /* Accounts in ascending order, so the last entry is the last leaf. */
    for (size_t i = 0; i <= max; i++) {
        es[i].account[0] = 0xee;
        for (size_t b = 0; b < 4; b++)
            es[i].account[CUSTOS_HASH_LEN - 1 - b] = (uint8_t)(i >> (8 * b));
        gwf_usd(&es[i].collateral_value, i + 1);
    }
    uint64_t before = latest_sequence();
    custos_reserves r = {0};
    custos_error err;
    assert_int_equal(custos_reserves_summarise(es, max, &r, &err), CUSTOS_OK);
    custos_feed_id(GWF_FEED, r.feed_id);
    r.as_of = gwf_now() - 60;
    r.sequence = before + 1;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_reserves_digest(&F.domain, &r, digest);
    custos_signature sig;
    assert_int_equal(custos_sign_digest(F.secp, F.keys[GWF_KEY_CUSTODIAN].seckey, digest, &sig,
                                        &err),
                     CUSTOS_OK);
    bool duplicate = true;
    if (custos_client_submit_reserves(F.client, GWF_FEED, &F.domain, &r, &sig, 1, es, max,
                                      &duplicate, NULL, &err) != CUSTOS_OK) {
        gwf_dump_log(&F);
        fail_msg("%zu leaves: %s", max, err.message);
    }
    assert_false(duplicate);
    assert_int_equal(latest_sequence(), before + 1);

    custos_reserves_inclusion *in = malloc(sizeof *in);
    assert_non_null(in);
    if (custos_client_get_reserves_proof(F.client, GWF_FEED, es[max - 1].account, in, &err) !=
        CUSTOS_OK)
        fail_msg("proof of the last leaf: %s", err.message);
    assert_int_equal(in->summary.r.accounts, max);
    assert_memory_equal(in->summary.digest, digest, CUSTOS_HASH_LEN);
    assert_int_equal(in->proof.index, max - 1);
    assert_memory_equal(in->proof.entry.account, es[max - 1].account, CUSTOS_HASH_LEN);
    assert_int_equal(custos_u256_cmp(&in->proof.entry.collateral_value,
                                     &es[max - 1].collateral_value),
                     0);
    if (custos_reserves_proof_verify(&r, &in->proof, &err) != CUSTOS_OK)
        fail_msg("the last leaf's proof: %s", err.message);
    free(in);

    /* One leaf more: the library will not summarise it, so the signed fields say so with
     * the root of the others (the gateway bounds the count before any other check). */
    custos_reserves more = r;
    assert_int_equal(custos_reserves_summarise(es, max + 1, &more, &err), CUSTOS_ERR_TOO_LARGE);
    more = r;
    more.accounts = max + 1;
    more.sequence = before + 2;
    custos_reserves_digest(&F.domain, &more, digest);
    assert_int_equal(custos_sign_digest(F.secp, F.keys[GWF_KEY_CUSTODIAN].seckey, digest, &sig,
                                        &err),
                     CUSTOS_OK);
    assert_int_equal(custos_client_submit_reserves(F.client, GWF_FEED, &F.domain, &more, &sig, 1,
                                                   es, max + 1, &duplicate, NULL, &err),
                     CUSTOS_ERR_TOO_LARGE);
    /* The request the client would not send, built around the encoder's bound. */
    pb_reserves_request m;
    assert_int_equal(pb_reserves_request_init(&m, GWF_FEED, &F.domain, &more, &sig, 1, es, max,
                                              &err),
                     CUSTOS_OK);
    Custos__V1__ReservesLeaf **ptrs = calloc(max + 1, sizeof *ptrs);
    assert_non_null(ptrs);
    memcpy(ptrs, m.leaf_ptrs, max * sizeof *ptrs);
    uint8_t value[CUSTOS_U256_LEN];
    custos_u256_to_be(&es[max].collateral_value, value);
    Custos__V1__ReservesLeaf extra = CUSTOS__V1__RESERVES_LEAF__INIT;
    extra.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, es[max].account};
    extra.collateral_value = (ProtobufCBinaryData){CUSTOS_U256_LEN, value};
    ptrs[max] = &extra;
    m.msg.leaves = ptrs;
    m.msg.n_leaves = max + 1;
    size_t len = protobuf_c_message_get_packed_size(&m.msg.base);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(protobuf_c_message_pack(&m.msg.base, buf), len);
    gwf_raw_result res;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/SubmitReserves", buf, len, &res);
    free(buf);
    free(ptrs);
    pb_reserves_request_clear(&m);
    if (strcmp(res.reason, "TOO_LARGE") != 0 || strstr(res.details, "100001 leaves") == NULL)
        fail_msg("%zu leaves: status %d reason %s: %s", max + 1, res.grpc_status, res.reason,
                 res.details);
    assert_int_equal(latest_sequence(), before + 1);
    free(es);
}

/* After a restart the latest reserves are still served; without public_proofs (and no
 * client certificates) no one may read proofs, while the summary stays readable. */
static void test_restart_keeps_reserves_and_readers_are_checked(void **state)
{
    (void)state;
    uint64_t before = latest_sequence();
    assert_int_equal(gwf_stop(&F), 0);
    write_config(false);
    gwf_start(&F);
    assert_int_equal(latest_sequence(), before);
    char out[8192];
    assert_int_not_equal(get_proof(out, sizeof out), 0);
    const char *argv[] = {CUSTOS_CLI_BIN, "get-reserves-proof", "--gateway", F.target,
                          "--insecure", "--feed", GWF_FEED, "--custodian", GWF_FEED, "--ref",
                          REF, NULL};
    assert_int_not_equal(tu_run(argv, out, sizeof out, 1), 0);
    if (strstr(out, "UNAUTHORIZED_CLIENT") == NULL)
        fail_msg("expected UNAUTHORIZED_CLIENT: %s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attestor_submits_and_proof_verifies),
        cmocka_unit_test(test_bad_input_refused_nothing_stored),
        cmocka_unit_test(test_most_leaves),
        cmocka_unit_test(test_reserves_quorum),
        cmocka_unit_test(test_restart_keeps_reserves_and_readers_are_checked),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
