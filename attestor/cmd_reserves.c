/* custos-attestor reserves: values every account of the holdings file with the same
 * prices, policy and valuation engine as attest, and signs with the custodian's key a
 * ReservesAttestation of their total collateral value and the root of the accounts' sum tree.
 * Writes, into --out-dir, reserves.json (the signed summary) and one inclusion proof per
 * account, 0x<account id>.json, for its borrower to check with custos verify-reserves-proof.
 * The sequence comes from the same state file as attest, keyed by the feed id. With
 * --gateway, the signed attestation and every leaf are then submitted (SubmitReserves), so
 * borrowers can also fetch their proof from the gateway (custos get-reserves-proof). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cmd.h"
#include "context.h"
#include "custos/hex.h"
#include "custos/reserves.h"
#include "custos/sig.h"
#include "fileio.h"
#include "gwconn.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"
#include "report.h"
#include "seqstate.h"
#include "signer.h"
#include "signopts.h"
#include "valuation.h"

typedef struct reserves_args {
    at_sign_opts o; /* without account and export */
    const char *prices, *out_dir;
    at_report_opts out;
} reserves_args;

static const clopt reserves_options[] = {
    {"prices", "F", CLOPT_STR, offsetof(reserves_args, prices), "prices file (JSON)"},
    {"out-dir", "DIR", CLOPT_STR, offsetof(reserves_args, out_dir),
     "where reserves.json and the accounts' proof files are written"},
    {0}};
static const clopt_set reserves_sets[] = {
    {reserves_options, 0},
    {at_sign_options, offsetof(reserves_args, o)},
    {at_key_options, offsetof(reserves_args, o.key)},
    {at_p11_options, offsetof(reserves_args, o.key)},
    {clopt_gateway_options, offsetof(reserves_args, o.gw)},
    {at_report_options, offsetof(reserves_args, out)}};
static const clopt_rule reserves_rules[] = {
    {CLOPT_REQUIRED, {"holdings"}, NULL},
    {CLOPT_REQUIRED, {"prices"}, NULL},
    {CLOPT_REQUIRED, {"policy"}, NULL},
    {CLOPT_REQUIRED, {"feed"}, NULL},
    {CLOPT_REQUIRED, {"chain-id"}, NULL},
    {CLOPT_REQUIRED, {"contract"}, NULL},
    {CLOPT_REQUIRED, {"state"}, NULL},
    {CLOPT_REQUIRED, {"out-dir"}, NULL},
    {CLOPT_ANY,
     {"key", "pkcs11-module", "pkcs11-token", "pkcs11-key", "pkcs11-pin-file"},
     "--key or --pkcs11-module/--pkcs11-token/--pkcs11-key is required"}};
static const clopt_command reserves_cmd = {
    .name = "reserves",
    .usage = "usage: custos-attestor reserves --holdings F --prices F --policy F\n"
             "         " AT_KEY_USAGE "\n"
             "         --feed NAME --chain-id N --contract 0xADDR --state F --out-dir DIR\n"
             "         [--now UNIXSECONDS] [--gateway HOST:PORT " AT_GATEWAY_USAGE "]\n"
             "         [--json]",
    .summary = "signs the feed's total collateral over every account and writes one "
               "inclusion proof per account; with --gateway, submits them",
    .sets = reserves_sets,
    .n_sets = CLOPT_N(reserves_sets),
    .rules = reserves_rules,
    .n_rules = CLOPT_N(reserves_rules)};

/* Values every account into es (n = h->n_accounts) and the oldest price time into as_of. */
static custos_rc value_all(const at_holdings *h, const at_prices *prices,
                           const at_policy *policy, uint64_t now, custos_reserves_entry *es,
                           uint64_t *as_of, custos_error *err)
{
    *as_of = UINT64_MAX;
    for (size_t i = 0; i < h->n_accounts; i++) {
        at_valuation v;
        memset(&v, 0, sizeof v);
        /* Its messages name the account. */
        custos_rc rc = at_valuation_compute(&h->accounts[i], prices, policy, now, &v, err);
        if (rc != CUSTOS_OK)
            return rc;
        custos_account_id(h->custodian, h->accounts[i].ref, es[i].account);
        es[i].collateral_value = v.collateral;
        if (v.as_of < *as_of)
            *as_of = v.as_of;
        at_valuation_clear(&v);
    }
    return CUSTOS_OK;
}

static bool put(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

static json_t *j_hex(const uint8_t *data, size_t len)
{
    char buf[2 + 2 * CUSTOS_SIGNATURE_LEN + 1];
    if (len > CUSTOS_SIGNATURE_LEN || custos_hex_encode(data, len, buf, sizeof buf) != CUSTOS_OK)
        return NULL;
    return json_string(buf);
}

static json_t *j_dec(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX];
    return custos_u256_to_dec(v, buf, sizeof buf) == CUSTOS_OK ? json_string(buf) : NULL;
}

/* The signed summary, shared by reserves.json and every proof file. */
static json_t *summary_json(const char *feed, const custos_domain *d, const custos_reserves *r,
                            const uint8_t digest[32], const custos_signature *sig)
{
    char contract[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(d->verifying_contract, contract);
    json_t *o = json_object();
    bool ok = o != NULL && put(o, "type", json_string(CUSTOS_RESERVES_TYPE)) &&
              put(o, "feed", json_string(feed)) &&
              put(o, "feedId", j_hex(r->feed_id, 32)) &&
              put(o, "chainId", json_integer((json_int_t)d->chain_id)) &&
              put(o, "verifyingContract", json_string(contract)) &&
              put(o, "totalCollateral", j_dec(&r->total_collateral)) &&
              put(o, "accounts", json_integer((json_int_t)r->accounts)) &&
              put(o, "sumRoot", j_hex(r->sum_root, 32)) &&
              put(o, "asOf", json_integer((json_int_t)r->as_of)) &&
              put(o, "sequence", json_integer((json_int_t)r->sequence)) &&
              put(o, "digest", j_hex(digest, 32)) &&
              put(o, "signature", j_hex(sig->bytes, CUSTOS_SIGNATURE_LEN));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* o (taken) as the file name of the out dir, in place at at_files_commit. */
static custos_rc write_json(at_files *files, const char *name, json_t *o, custos_error *err)
{
    if (o == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    custos_rc rc = at_files_add(files, name, text, strlen(text), 0644, err);
    free(text);
    return rc;
}

/* One account's proof file: the summary plus its leaf, its index and the siblings with their
 * sums (attestation.md §18). */
static custos_rc write_proof(const reserves_args *a, at_files *files, const custos_domain *d,
                             const custos_reserves *r, const uint8_t digest[32],
                             const custos_signature *sig, const custos_reserves_tree *t,
                             const uint8_t account[32], const char *ref, custos_error *err)
{
    custos_reserves_proof p;
    uint8_t leaf[32];
    custos_rc rc = custos_reserves_tree_proof(t, account, &p, err);
    if (rc != CUSTOS_OK)
        return rc;
    const custos_reserves_entry e = p.entry;
    custos_reserves_leaf(&e, leaf);
    json_t *o = summary_json(a->o.feed, d, r, digest, sig);
    json_t *arr = json_array();
    bool ok = o != NULL && arr != NULL;
    for (size_t k = 0; ok && k < p.n_siblings; k++) {
        json_t *sib = json_object();
        ok = sib != NULL && put(sib, "hash", j_hex(p.siblings[k].hash, 32)) &&
             put(sib, "sum", j_dec(&p.siblings[k].sum)) && json_array_append(arr, sib) == 0;
        json_decref(sib);
    }
    ok = ok && put(o, "account", j_hex(e.account, 32)) &&
         put(o, "accountRef", json_string(ref)) &&
         put(o, "collateralValue", j_dec(&e.collateral_value)) &&
         put(o, "leaf", j_hex(leaf, 32)) &&
         put(o, "index", json_integer((json_int_t)p.index)) &&
         put(o, "proof", json_incref(arr));
    json_decref(arr);
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    char name[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN) + 5];
    if (custos_hex_encode(e.account, CUSTOS_HASH_LEN, name, sizeof name) != CUSTOS_OK) {
        json_decref(o);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot name the proof file");
    }
    strcat(name, ".json");
    return write_json(files, name, o, err);
}

/* SubmitReserves; the files are written already, so a refusal leaves them for a retry. */
static int submit(const reserves_args *a, const custos_domain *d, const custos_reserves *r,
                  const custos_signature *sig, const custos_reserves_entry *es, size_t n,
                  at_report *rep)
{
    custos_client *client = NULL;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = at_gateway_connect(&a->o.gw, 0, &client, &err);
    bool duplicate = false;
    if (rc == CUSTOS_OK)
        rc = custos_client_submit_reserves(client, a->o.feed, d, r, sig, 1, es, n, &duplicate,
                                           NULL, &err);
    custos_client_free(client);
    if (rc == CUSTOS_OK) {
        at_report_line(rep, "gateway", NULL, "%s",
                       duplicate ? "ACCEPTED (duplicate)" : "ACCEPTED");
        at_report_member(rep, "gateway", json_pack("{s:s, s:b}", "state", "ACCEPTED",
                                                   "duplicate", duplicate));
        return AT_EXIT_OK;
    }
    at_cmd_error("reserves: %s", err.message);
    if (rc == CUSTOS_ERR_UNAVAILABLE)
        at_report_unavailable(rep, &err);
    else if (rc == CUSTOS_ERR_REFUSED || rc == CUSTOS_ERR_NOT_FOUND)
        at_report_member(rep, "gateway",
                         json_pack("{s:s, s:s, s:s}", "state", "REFUSED", "reason",
                                   custos_reason_name(err.reason), "message", err.message));
    return rc == CUSTOS_ERR_UNAVAILABLE ? AT_EXIT_UNREACHABLE
           : rc == CUSTOS_ERR_REFUSED   ? AT_EXIT_REFUSED
                                        : AT_EXIT_INPUT;
}

int at_cmd_reserves(int argc, char **argv)
{
    reserves_args a = {0};
    int status;
    if (!at_cmd_args(&reserves_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_submission ctx;
    memset(&ctx, 0, sizeof ctx);
    custos_error err;
    uint64_t now;
    at_holdings h;
    at_prices prices;
    at_policy policy;
    at_signer signer;
    memset(&h, 0, sizeof h);
    memset(&prices, 0, sizeof prices);
    memset(&policy, 0, sizeof policy);
    memset(&signer, 0, sizeof signer);
    custos_reserves_entry *es = NULL;
    custos_reserves r;
    memset(&r, 0, sizeof r);
    custos_rc rc =
        at_context_parse(a.o.feed, a.o.chain_id, a.o.contract, a.o.now, &ctx, &now, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &a.o.key, &err);
    if (rc == CUSTOS_OK)
        rc = at_holdings_load(a.o.holdings, &h, &err);
    if (rc == CUSTOS_OK)
        rc = at_prices_load(a.prices, &prices, &err);
    if (rc == CUSTOS_OK)
        rc = at_policy_load(a.o.policy, &policy, &err);
    if (rc == CUSTOS_OK && h.n_accounts == 0)
        rc = custos_error_set(&err, CUSTOS_ERR_INVALID, "%s: no accounts", a.o.holdings);
    if (rc == CUSTOS_OK) {
        es = calloc(h.n_accounts, sizeof *es);
        if (es == NULL)
            rc = custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    if (rc == CUSTOS_OK)
        rc = value_all(&h, &prices, &policy, now, es, &r.as_of, &err);
    if (rc == CUSTOS_OK)
        rc = custos_reserves_summarise(es, h.n_accounts, &r, &err);
    struct stat st;
    if (rc == CUSTOS_OK && (stat(a.out_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = custos_error_set(&err, CUSTOS_ERR_IO, "--out-dir %s: not a directory", a.out_dir);
    /* Every input is checked before a sequence number is taken. */
    custos_feed_id(a.o.feed, r.feed_id);
    if (rc == CUSTOS_OK)
        rc = at_seqstate_next(a.o.state, r.feed_id, &r.sequence, &err);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_signature sig;
    if (rc == CUSTOS_OK) {
        custos_reserves_digest(&ctx.domain, &r, digest);
        rc = at_signer_sign(&signer, digest, &sig, &err);
    }
    custos_reserves_tree *tree = NULL;
    if (rc == CUSTOS_OK)
        rc = custos_reserves_tree_new(es, h.n_accounts, &tree, &err);
    /* The proofs, then the summary: durable together, the summary in place last. */
    at_files *files = NULL;
    if (rc == CUSTOS_OK)
        rc = at_files_new(a.out_dir, &files, &err);
    for (size_t i = 0; rc == CUSTOS_OK && i < h.n_accounts; i++)
        rc = write_proof(&a, files, &ctx.domain, &r, digest, &sig, tree, es[i].account,
                         h.accounts[i].ref, &err);
    custos_reserves_tree_free(tree);
    if (rc == CUSTOS_OK)
        rc = write_json(files, "reserves.json",
                        summary_json(a.o.feed, &ctx.domain, &r, digest, &sig), &err);
    if (rc == CUSTOS_OK)
        rc = at_files_commit(files, &err);
    at_files_free(files);
    char total[CUSTOS_U256_DEC_MAX], root[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    char dig[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], addr[CUSTOS_ADDRESS_HEX_LEN];
    if (rc == CUSTOS_OK &&
        (custos_u256_to_dec(&r.total_collateral, total, sizeof total) != CUSTOS_OK ||
         custos_hex_encode(r.sum_root, CUSTOS_HASH_LEN, root, sizeof root) != CUSTOS_OK ||
         custos_hex_encode(digest, CUSTOS_HASH_LEN, dig, sizeof dig) != CUSTOS_OK))
        rc = custos_error_set(&err, CUSTOS_ERR_INTERNAL, "cannot format the summary");
    at_report rep = {stdout, NULL};
    if (rc == CUSTOS_OK) {
        if (!at_report_open(&rep, stdout, a.out.json))
            at_cmd_error("reserves: out of memory for --json; reporting as text");
        custos_address_to_hex(signer.address, addr);
        at_report_line(&rep, "feed", "feed", "%s", a.o.feed);
        at_report_line(&rep, "total", "totalCollateral", "%s", total);
        at_report_line(&rep, "accounts", NULL, "%llu", (unsigned long long)r.accounts);
        at_report_member(&rep, "accounts", json_integer((json_int_t)r.accounts));
        at_report_line(&rep, "root", "sumRoot", "%s", root);
        at_report_line(&rep, "asOf", NULL, "%llu", (unsigned long long)r.as_of);
        at_report_member(&rep, "asOf", json_integer((json_int_t)r.as_of));
        at_report_line(&rep, "sequence", NULL, "%llu", (unsigned long long)r.sequence);
        at_report_member(&rep, "sequence", json_integer((json_int_t)r.sequence));
        at_report_line(&rep, "digest", "digest", "%s", dig);
        at_report_line(&rep, "signer", "signer", "%s", addr);
    }
    if (rc == CUSTOS_OK && a.o.gw.target != NULL)
        status = submit(&a, &ctx.domain, &r, &sig, es, h.n_accounts, &rep);
    at_signer_close(&signer);
    free(es);
    at_policy_free(&policy);
    at_prices_free(&prices);
    at_holdings_free(&h);
    custos_submission_clear(&ctx);
    if (rc != CUSTOS_OK) {
        at_cmd_error("reserves: %s", err.message);
        return at_report_close(&rep, AT_EXIT_INPUT);
    }
    return at_report_close(&rep, status);
}
