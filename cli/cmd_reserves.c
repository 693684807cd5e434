/* Reserves: get-reserves fetches a feed's latest reserves attestation, get-reserves-proof an
 * account's inclusion proof in it, verify-reserves-proof checks such a file offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "connect.h"
#include "custos/hex.h"
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
              jo_put(o, "sumRoot", jo_hex(s->r.sum_root, 32)) &&
              jo_put(o, "asOf", jo_u64(s->r.as_of)) &&
              jo_put(o, "sequence", jo_u64(s->r.sequence)) &&
              jo_put(o, "digest", jo_hex(s->digest, 32));
    /* As custos-attestor writes it: the one "signature", or, once cosigned by the feed's
     * quorum, "signatures" (cosign-reserves). */
    if (ok && s->n_sigs <= 1) {
        ok = jo_put(o, "signature", jo_hex(s->sig.bytes, CUSTOS_SIGNATURE_LEN));
    } else if (ok) {
        json_t *arr = json_array();
        ok = arr != NULL && json_object_set_new(o, "signatures", arr) == 0;
        for (size_t i = 0; ok && i < s->n_sigs; i++)
            ok = json_array_append_new(arr, jo_hex(s->sigs[i].bytes, CUSTOS_SIGNATURE_LEN)) == 0;
    }
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
    const custos_reserves_proof *rp = &p->proof;
    json_t *o = reserves_summary_json(&p->summary);
    json_t *arr = json_array();
    bool ok = o != NULL && arr != NULL;
    for (size_t i = 0; ok && i < rp->n_siblings; i++) {
        json_t *sib = json_object();
        ok = sib != NULL && jo_put(sib, "hash", jo_hex(rp->siblings[i].hash, 32)) &&
             jo_put(sib, "sum", jo_raw(&rp->siblings[i].sum)) &&
             json_array_append(arr, sib) == 0;
        json_decref(sib);
    }
    ok = ok && jo_put(o, "account", jo_hex(rp->entry.account, 32)) &&
         (a.acct.account != NULL || jo_put(o, "accountRef", json_string(a.acct.ref))) &&
         jo_put(o, "collateralValue", jo_raw(&rp->entry.collateral_value)) &&
         jo_put(o, "leaf", jo_hex(p->leaf, 32)) && jo_put(o, "index", jo_u64(rp->index)) &&
         jo_put(o, "proof", json_incref(arr));
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
    clopt_list signers;
    uint64_t threshold;
} verify_reserves_proof_args;

#define VERIFY_RESERVES_MESSAGE                                                             \
    "one FILE.json and --signer 0xADDR (an allow-listed signer of the feed; repeat it for a " \
    "quorum with --threshold N)"

static const clopt verify_reserves_proof_options[] = {
    {"signer", "0xADDR", CLOPT_LIST, offsetof(verify_reserves_proof_args, signers),
     "an allow-listed signer of the feed you trust (repeatable)"},
    {"threshold", "N", CLOPT_U64, offsetof(verify_reserves_proof_args, threshold),
     "how many of the --signer addresses must have signed (default 1)"},
    {0}};
static const clopt_set verify_reserves_proof_sets[] = {{verify_reserves_proof_options, 0}};
static const clopt_rule verify_reserves_proof_rules[] = {
    {CLOPT_REQUIRED, {"signer"}, VERIFY_RESERVES_MESSAGE}};
static const clopt_command verify_reserves_proof_cmd = {
    .name = "verify-reserves-proof",
    .usage = "usage: custos verify-reserves-proof FILE.json --signer 0xADDR [--signer 0xADDR "
             "...]\n"
             "                             [--threshold N]",
    .summary = "offline: the account is counted in a reserves attestation whose partial sums "
               "add up to the total its signers signed",
    .sets = verify_reserves_proof_sets,
    .n_sets = CLOPT_N(verify_reserves_proof_sets),
    .rules = verify_reserves_proof_rules,
    .n_rules = CLOPT_N(verify_reserves_proof_rules),
    .min_operands = 1,
    .max_operands = 1,
    .operand_message = VERIFY_RESERVES_MESSAGE};

/* The proof's siblings: [{"hash": "0x..", "sum": "decimal"}, ...] into p. */
static bool reserves_siblings_from_json(const char *path, json_t *arr, custos_reserves_proof *p)
{
    size_t n = json_array_size(arr);
    if (n > CUSTOS_SUMTREE_PROOF_MAX) {
        cli_fail("%s: \"proof\" has %zu siblings, at most %d", path, n,
                 CUSTOS_SUMTREE_PROOF_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *sib = json_array_get(arr, i);
        if (!json_is_object(sib) || !ji_hash(path, sib, "hash", p->siblings[i].hash) ||
            !ji_dec(path, sib, "sum", &p->siblings[i].sum)) {
            cli_fail("%s: \"proof\"[%zu] needs a 32-byte \"hash\" and a decimal \"sum\"", path,
                     i);
            return false;
        }
    }
    p->n_siblings = n;
    return true;
}

/* The signatures of the file: "signatures" (every signer's) or, in a file from get-reserves-
 * proof, the one "signature" the gateway holds. */
static bool reserves_signatures_from_json(const char *path, json_t *o, custos_signature *sigs,
                                          size_t *n)
{
    json_t *arr = json_object_get(o, "signatures");
    json_t *one = json_object_get(o, "signature");
    size_t count = json_is_array(arr) ? json_array_size(arr) : one != NULL ? 1 : 0;
    if (count == 0 || count > CUSTOS_MAX_SIGNATURES) {
        cli_fail("%s: needs \"signatures\" (1 to %d) or \"signature\"", path,
                 CUSTOS_MAX_SIGNATURES);
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        const char *text = json_string_value(json_is_array(arr) ? json_array_get(arr, i) : one);
        custos_error err;
        if (text == NULL ||
            custos_hex_decode(text, sigs[i].bytes, CUSTOS_SIGNATURE_LEN, &err) != CUSTOS_OK) {
            cli_fail("%s: signature %zu is not 65 bytes of hex", path, i);
            return false;
        }
    }
    *n = count;
    return true;
}

/* How many distinct addresses of trusted[] the signatures over digest recover to; NULL, or
 * the reason when a signature does not recover. */
static const char *reserves_count_signers(const uint8_t digest[32], const custos_signature *sigs,
                                          size_t n_sigs,
                                          const uint8_t (*trusted)[CUSTOS_ADDRESS_LEN],
                                          size_t n_trusted, size_t *signed_by)
{
    bool seen[CLOPT_LIST_MAX] = {false};
    *signed_by = 0;
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL)
        return "cannot create a secp256k1 context";
    const char *why = NULL;
    for (size_t i = 0; why == NULL && i < n_sigs; i++) {
        uint8_t got[CUSTOS_ADDRESS_LEN];
        custos_error err;
        if (custos_recover_address(ctx, digest, &sigs[i], got, &err) != CUSTOS_OK) {
            why = "a signature does not recover";
            break;
        }
        for (size_t k = 0; k < n_trusted; k++)
            if (!seen[k] && memcmp(got, trusted[k], CUSTOS_ADDRESS_LEN) == 0) {
                seen[k] = true;
                (*signed_by)++;
            }
    }
    custos_secp_free(ctx);
    return why;
}

/* Checks a reserves inclusion proof written by custos-attestor reserves (or get-reserves-
 * proof): every value is recomputed from the fields (feed id, leaf, the sum tree from the
 * leaf up with each partial sum, the EIP-712 digest) and at least --threshold of the
 * --signer addresses the user trusts must have signed (attestation.md §18). */
int cli_verify_reserves_proof(int argc, char **argv)
{
    verify_reserves_proof_args a = {0};
    clopt_list files = {0};
    int status;
    if (!cli_args(&verify_reserves_proof_cmd, argc, argv, &a, &files, &status))
        return status;
    const char *path = files.items[0];
    uint8_t trusted[CLOPT_LIST_MAX][CUSTOS_ADDRESS_LEN];
    custos_error err;
    for (size_t i = 0; i < a.signers.n; i++)
        if (custos_hex_decode(a.signers.items[i], trusted[i], CUSTOS_ADDRESS_LEN, &err) !=
            CUSTOS_OK) {
            cli_fail("--signer: '%.80s': %s", a.signers.items[i], err.message);
            return EXIT_FAIL;
        }
    uint64_t threshold = a.threshold == 0 ? 1 : a.threshold;
    if (threshold > a.signers.n) {
        cli_fail("--threshold %llu: only %zu --signer given", (unsigned long long)threshold,
                 a.signers.n);
        return EXIT_FAIL;
    }
    json_t *o;
    if (!ji_load(path, &o))
        return EXIT_FAIL;
    custos_reserves r;
    custos_reserves_proof p;
    custos_domain d;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs = 0;
    uint8_t feed_id[32], leaf[32], digest[32];
    memset(&r, 0, sizeof r);
    memset(&p, 0, sizeof p);
    memset(&d, 0, sizeof d);
    const char *feed = json_string_value(json_object_get(o, "feed"));
    const char *contract = json_string_value(json_object_get(o, "verifyingContract"));
    json_t *arr = json_object_get(o, "proof");
    bool ok = json_is_object(o) && feed != NULL && contract != NULL && json_is_array(arr);
    if (!ok)
        cli_fail("%s: not a reserves proof (needs feed, verifyingContract, signatures, proof; "
                 "custos-attestor reserves writes one per account)", path);
    ok = ok && ji_u64(path, o, "chainId", &d.chain_id) &&
         ji_u64(path, o, "accounts", &r.accounts) && ji_u64(path, o, "asOf", &r.as_of) &&
         ji_u64(path, o, "sequence", &r.sequence) && ji_u64(path, o, "index", &p.index) &&
         ji_dec(path, o, "totalCollateral", &r.total_collateral) &&
         ji_dec(path, o, "collateralValue", &p.entry.collateral_value) &&
         ji_hash(path, o, "sumRoot", r.sum_root) &&
         ji_hash(path, o, "account", p.entry.account) && ji_hash(path, o, "leaf", leaf) &&
         ji_hash(path, o, "digest", digest) && ji_hash(path, o, "feedId", feed_id) &&
         reserves_siblings_from_json(path, arr, &p) &&
         reserves_signatures_from_json(path, o, sigs, &n_sigs);
    if (ok && custos_hex_decode(contract, d.verifying_contract, CUSTOS_ADDRESS_LEN, &err) !=
                  CUSTOS_OK) {
        cli_fail("%s: \"verifyingContract\": %s", path, err.message);
        ok = false;
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
    custos_error_clear(&err);
    custos_reserves_leaf(&p.entry, want);
    if (memcmp(r.feed_id, feed_id, 32) != 0)
        why = "\"feedId\" is not keccak256 of \"feed\"";
    else if (memcmp(want, leaf, 32) != 0)
        why = "the leaf is not the hash of (account, collateralValue)";
    else if (custos_reserves_proof_verify(&r, &p, &err) != CUSTOS_OK)
        why = err.message;
    custos_reserves_digest(&d, &r, want);
    if (why == NULL && memcmp(want, digest, 32) != 0)
        why = "\"digest\" is not the EIP-712 digest of the reserves fields";
    size_t signed_by = 0;
    if (why == NULL)
        why = reserves_count_signers(want, sigs, n_sigs, (const uint8_t (*)[20])trusted,
                                     a.signers.n, &signed_by);
    if (why == NULL && signed_by < threshold)
        why = threshold == 1 ? "the reserves attestation is not signed by --signer"
                             : "fewer of the --signer addresses signed than --threshold";
    if (why != NULL) {
        cli_fail("%s: invalid: %s", path, why);
        return EXIT_FAIL;
    }
    char total[CUSTOS_U256_DEC_MAX], value[CUSTOS_U256_DEC_MAX];
    if (custos_fixed_format(&r.total_collateral, CUSTOS_MONEY_DECIMALS, total, sizeof total) !=
            CUSTOS_OK ||
        custos_fixed_format(&p.entry.collateral_value, CUSTOS_MONEY_DECIMALS, value,
                            sizeof value) != CUSTOS_OK) {
        cli_fail("%s: the amounts cannot be shown", path);
        return EXIT_FAIL;
    }
    printf("valid: the account is counted at %s USD, leaf %llu of %llu, in feed %s's reserves "
           "of %s USD; the partial sums add up to it (sequence %llu, asOf %llu), signed by "
           "%zu of the %zu trusted signers\n",
           value, (unsigned long long)p.index, (unsigned long long)r.accounts, feed_name, total,
           (unsigned long long)r.sequence, (unsigned long long)r.as_of, signed_by, a.signers.n);
    return EXIT_OK;
}
