/* Reserves: get-reserves fetches a feed's latest reserves attestation, get-reserves-proof an
 * account's inclusion proof in it, verify-reserves-proof checks such a file offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "connect.h"
#include "custos/hex.h"
#include "custos/merkle.h"
#include "custos/reserves.h"
#include "custos/sig.h"
#include "jsonin.h"
#include "jsonout.h"

/* The signed summary in the field names of custos-attestor reserves' reserves.json. */
static json_t *reserves_summary_json(const custos_reserves_summary *s)
{
    char contract[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(s->domain.verifying_contract, contract);
    json_t *o = json_object();
    bool ok = o != NULL && jo_put(o, "type", json_string(CUSTOS_RESERVES_TYPE)) &&
              jo_put(o, "feed", json_string(s->feed)) &&
              jo_put(o, "feedId", jo_hex(s->r.feed_id, 32)) &&
              jo_put(o, "chainId", jo_u64(s->domain.chain_id)) &&
              jo_put(o, "verifyingContract", json_string(contract)) &&
              jo_put(o, "totalCollateral", jo_raw(&s->r.total_collateral)) &&
              jo_put(o, "accounts", jo_u64(s->r.accounts)) &&
              jo_put(o, "accountsRoot", jo_hex(s->r.accounts_root, 32)) &&
              jo_put(o, "asOf", jo_u64(s->r.as_of)) &&
              jo_put(o, "sequence", jo_u64(s->r.sequence)) &&
              jo_put(o, "digest", jo_hex(s->digest, 32)) &&
              jo_put(o, "signature", jo_hex(s->sig.bytes, CUSTOS_SIGNATURE_LEN));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- get-reserves ---- */

typedef struct get_reserves_args {
    const char *feed;
    clopt_gateway gw;
} get_reserves_args;

static const clopt get_reserves_options[] = {
    {"feed", "NAME", CLOPT_STR, offsetof(get_reserves_args, feed), "the reserves feed"},
    {0}};
static const clopt_set get_reserves_sets[] = {
    {get_reserves_options, 0}, {clopt_gateway_options, offsetof(get_reserves_args, gw)}};
static const clopt_rule get_reserves_rules[] = {
    {CLOPT_REQUIRED, {"feed"}, "--feed NAME is required"}, CLI_GATEWAY_RULE};
static const clopt_command get_reserves_cmd = {
    .name = "get-reserves",
    .usage = "usage: custos get-reserves --gateway H:P --feed NAME",
    .summary = "the feed's latest reserves attestation held by the gateway, as JSON",
    .sets = get_reserves_sets,
    .n_sets = CLOPT_N(get_reserves_sets),
    .rules = get_reserves_rules,
    .n_rules = CLOPT_N(get_reserves_rules)};

int cli_get_reserves(int argc, char **argv)
{
    get_reserves_args a = {0};
    int status;
    if (!cli_args(&get_reserves_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_reserves_summary sum;
    custos_error err;
    custos_rc rc = custos_client_get_reserves(client, a.feed, &sum, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return rc == CUSTOS_ERR_NOT_FOUND ? EXIT_NEGATIVE : cli_exit_for(rc);
    }
    json_t *o = reserves_summary_json(&sum);
    bool ok = o != NULL && jo_put(o, "signer", jo_address(sum.signer)) &&
              jo_put(o, "acceptedAt", jo_u64(sum.accepted_at));
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return jo_emit(o, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

/* ---- get-reserves-proof ---- */

typedef struct get_reserves_proof_args {
    const char *feed;
    cli_account acct;
    clopt_gateway gw;
} get_reserves_proof_args;

static const clopt get_reserves_proof_options[] = {
    {"feed", "NAME", CLOPT_STR, offsetof(get_reserves_proof_args, feed), "the reserves feed"},
    {0}};
static const clopt_set get_reserves_proof_sets[] = {
    {get_reserves_proof_options, 0},
    {cli_account_options, offsetof(get_reserves_proof_args, acct)},
    {clopt_gateway_options, offsetof(get_reserves_proof_args, gw)}};
static const clopt_rule get_reserves_proof_rules[] = {
    {CLOPT_REQUIRED, {"feed"}, "give --feed NAME and the account"}, CLI_ACCOUNT_RULES,
    CLI_GATEWAY_RULE};
static const clopt_command get_reserves_proof_cmd = {
    .name = "get-reserves-proof",
    .usage = "usage: custos get-reserves-proof --gateway H:P --feed NAME\n"
             "                          (--account 0xHEX | --custodian ID --ref REF)",
    .summary = "the account's inclusion proof in the feed's latest reserves attestation, as "
               "JSON (the input of verify-reserves-proof)",
    .sets = get_reserves_proof_sets,
    .n_sets = CLOPT_N(get_reserves_proof_sets),
    .rules = get_reserves_proof_rules,
    .n_rules = CLOPT_N(get_reserves_proof_rules)};

/* Writes the same JSON as custos-attestor reserves' per-account proof file (accountRef
 * only when the account was named by --custodian/--ref). */
int cli_get_reserves_proof(int argc, char **argv)
{
    get_reserves_proof_args a = {0};
    int status;
    if (!cli_args(&get_reserves_proof_cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t id[CUSTOS_HASH_LEN];
    if (!cli_account_id(&a.acct, id))
        return EXIT_FAIL;
    custos_error err;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_reserves_inclusion *p = malloc(sizeof *p);
    if (p == NULL) {
        custos_client_free(client);
        cli_fail("out of memory");
        return EXIT_FAIL;
    }
    custos_rc rc = custos_client_get_reserves_proof(client, a.feed, id, p, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        free(p);
        cli_fail("%s", err.message);
        return rc == CUSTOS_ERR_NOT_FOUND ? EXIT_NEGATIVE : cli_exit_for(rc);
    }
    json_t *o = reserves_summary_json(&p->summary);
    json_t *arr = json_array();
    bool ok = o != NULL && arr != NULL;
    for (size_t i = 0; ok && i < p->n_proof; i++)
        ok = json_array_append_new(arr, jo_hex(p->proof[i], 32)) == 0;
    ok = ok && jo_put(o, "account", jo_hex(p->entry.account, 32)) &&
         (a.acct.account != NULL || jo_put(o, "accountRef", json_string(a.acct.ref))) &&
         jo_put(o, "collateralValue", jo_raw(&p->entry.collateral_value)) &&
         jo_put(o, "leafTypes", json_string(CUSTOS_RESERVES_LEAF_TYPES)) &&
         jo_put(o, "leaf", jo_hex(p->leaf, 32)) && jo_put(o, "proof", json_incref(arr));
    json_decref(arr);
    free(p);
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    return jo_emit(o, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

/* ---- verify-reserves-proof ---- */

typedef struct verify_reserves_proof_args {
    const char *signer;
} verify_reserves_proof_args;

#define VERIFY_RESERVES_MESSAGE                                                             \
    "one FILE.json and --signer 0xADDR (the custodian's allow-listed address)"

static const clopt verify_reserves_proof_options[] = {
    {"signer", "0xADDR", CLOPT_STR, offsetof(verify_reserves_proof_args, signer),
     "the custodian's allow-listed address the attestation must be signed by"},
    {0}};
static const clopt_set verify_reserves_proof_sets[] = {{verify_reserves_proof_options, 0}};
static const clopt_rule verify_reserves_proof_rules[] = {
    {CLOPT_REQUIRED, {"signer"}, VERIFY_RESERVES_MESSAGE}};
static const clopt_command verify_reserves_proof_cmd = {
    .name = "verify-reserves-proof",
    .usage = "usage: custos verify-reserves-proof FILE.json --signer 0xADDR",
    .summary = "offline: the account is counted in a reserves attestation signed by that "
               "custodian key",
    .sets = verify_reserves_proof_sets,
    .n_sets = CLOPT_N(verify_reserves_proof_sets),
    .rules = verify_reserves_proof_rules,
    .n_rules = CLOPT_N(verify_reserves_proof_rules),
    .min_operands = 1,
    .max_operands = 1,
    .operand_message = VERIFY_RESERVES_MESSAGE};

/* Checks a reserves inclusion proof written by custos-attestor reserves: every value is
 * recomputed from the fields (feed id, leaf, root by the proof, EIP-712 digest) and the
 * signature must recover to the signer the user trusts. */
int cli_verify_reserves_proof(int argc, char **argv)
{
    verify_reserves_proof_args a = {0};
    clopt_list files = {0};
    int status;
    if (!cli_args(&verify_reserves_proof_cmd, argc, argv, &a, &files, &status))
        return status;
    const char *path = files.items[0];
    uint8_t want_signer[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_hex_decode(a.signer, want_signer, sizeof want_signer, &err) != CUSTOS_OK) {
        cli_fail("--signer: '%.80s': %s", a.signer, err.message);
        return EXIT_FAIL;
    }
    json_t *o;
    if (!ji_load(path, &o))
        return EXIT_FAIL;
    custos_reserves r;
    custos_reserves_entry e;
    custos_domain d;
    custos_signature sig;
    uint8_t feed_id[32], leaf[32], digest[32], proof[CUSTOS_MERKLE_PROOF_MAX][32];
    memset(&r, 0, sizeof r);
    memset(&d, 0, sizeof d);
    const char *feed = json_string_value(json_object_get(o, "feed"));
    const char *contract = json_string_value(json_object_get(o, "verifyingContract"));
    const char *sig_text = json_string_value(json_object_get(o, "signature"));
    json_t *arr = json_object_get(o, "proof");
    bool ok = json_is_object(o) && feed != NULL && contract != NULL && sig_text != NULL &&
              json_is_array(arr);
    if (!ok)
        cli_fail("%s: not a reserves proof (needs feed, verifyingContract, signature, proof; "
                 "custos-attestor reserves writes one per account)", path);
    ok = ok && ji_u64(path, o, "chainId", &d.chain_id) &&
         ji_u64(path, o, "accounts", &r.accounts) && ji_u64(path, o, "asOf", &r.as_of) &&
         ji_u64(path, o, "sequence", &r.sequence) &&
         ji_dec(path, o, "totalCollateral", &r.total_collateral) &&
         ji_dec(path, o, "collateralValue", &e.collateral_value) &&
         ji_hash(path, o, "accountsRoot", r.accounts_root) &&
         ji_hash(path, o, "account", e.account) && ji_hash(path, o, "leaf", leaf) &&
         ji_hash(path, o, "digest", digest) && ji_hash(path, o, "feedId", feed_id);
    if (ok && custos_hex_decode(contract, d.verifying_contract, CUSTOS_ADDRESS_LEN, &err) !=
                  CUSTOS_OK) {
        cli_fail("%s: \"verifyingContract\": %s", path, err.message);
        ok = false;
    }
    if (ok && custos_hex_decode(sig_text, sig.bytes, sizeof sig.bytes, &err) != CUSTOS_OK) {
        cli_fail("%s: \"signature\": %s", path, err.message);
        ok = false;
    }
    size_t n = ok ? json_array_size(arr) : 0;
    if (n > CUSTOS_MERKLE_PROOF_MAX) {
        cli_fail("%s: \"proof\" has %zu hashes, at most %d", path, n, CUSTOS_MERKLE_PROOF_MAX);
        ok = false;
    }
    for (size_t i = 0; ok && i < n; i++) {
        const char *h = json_string_value(json_array_get(arr, i));
        if (h == NULL || custos_hex_decode(h, proof[i], 32, &err) != CUSTOS_OK) {
            cli_fail("%s: \"proof\"[%zu] is not a 32-byte hex hash", path, i);
            ok = false;
        }
    }
    char feed_name[CUSTOS_FEED_MAX + 1];
    if (ok && strlen(feed) > CUSTOS_FEED_MAX) {
        cli_fail("%s: \"feed\" is longer than %d bytes", path, CUSTOS_FEED_MAX);
        ok = false;
    }
    if (ok) {
        memcpy(feed_name, feed, strlen(feed) + 1);
        custos_feed_id(feed_name, r.feed_id);
    }
    json_decref(o);
    if (!ok)
        return EXIT_FAIL;

    uint8_t want[32];
    const char *why = NULL;
    custos_reserves_leaf(&e, want);
    if (memcmp(r.feed_id, feed_id, 32) != 0)
        why = "\"feedId\" is not keccak256 of \"feed\"";
    else if (memcmp(want, leaf, 32) != 0)
        why = "the leaf is not the hash of (account, collateralValue)";
    else if (!custos_merkle_verify(r.accounts_root, leaf, (const uint8_t (*)[32])proof, n))
        why = "the proof does not lead from the leaf to accountsRoot";
    custos_reserves_digest(&d, &r, want);
    if (why == NULL && memcmp(want, digest, 32) != 0)
        why = "\"digest\" is not the EIP-712 digest of the reserves fields";
    uint8_t got_signer[CUSTOS_ADDRESS_LEN];
    custos_secp *ctx = why == NULL ? custos_secp_new() : NULL;
    if (why == NULL && ctx == NULL)
        why = "cannot create a secp256k1 context";
    if (why == NULL && custos_recover_address(ctx, want, &sig, got_signer, &err) != CUSTOS_OK)
        why = "the signature does not recover";
    custos_secp_free(ctx);
    if (why == NULL && memcmp(got_signer, want_signer, CUSTOS_ADDRESS_LEN) != 0)
        why = "the reserves attestation is not signed by --signer";
    if (why != NULL) {
        cli_fail("%s: invalid: %s", path, why);
        return EXIT_FAIL;
    }
    char total[CUSTOS_U256_DEC_MAX];
    if (custos_fixed_format(&r.total_collateral, CUSTOS_MONEY_DECIMALS, total, sizeof total) !=
        CUSTOS_OK) {
        cli_fail("%s: the total collateral cannot be shown", path);
        return EXIT_FAIL;
    }
    printf("valid: the account is counted in feed %s's reserves of %s USD over %llu accounts "
           "(sequence %llu, asOf %llu), signed by %s\n",
           feed_name, total, (unsigned long long)r.accounts, (unsigned long long)r.sequence,
           (unsigned long long)r.as_of, a.signer);
    return EXIT_OK;
}
