/* Position proofs: get-proof fetches one position of an account's latest attestation with
 * its Merkle proof, verify-proof checks such a file offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "connect.h"
#include "custos/hex.h"
#include "custos/merkle.h"
#include "jsonin.h"
#include "jsonout.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* ---- get-proof ---- */

typedef struct get_proof_args {
    cli_account acct;
    const char *asset;
    clopt_gateway gw;
} get_proof_args;

#define ASSET_MESSAGE                                                                       \
    "--asset ID (1 to " STRINGIFY(CUSTOS_ASSET_ID_MAX) " characters, e.g. an ISIN) is required"

static const clopt get_proof_options[] = {
    {"asset", "ID", CLOPT_STR, offsetof(get_proof_args, asset), "the position's asset id"},
    {0}};
static const clopt_set get_proof_sets[] = {
    {cli_account_options, offsetof(get_proof_args, acct)},
    {get_proof_options, 0},
    {clopt_gateway_options, offsetof(get_proof_args, gw)}};
static const clopt_rule get_proof_rules[] = {
    CLI_ACCOUNT_RULES, {CLOPT_REQUIRED, {"asset"}, ASSET_MESSAGE}, CLI_GATEWAY_RULE};
static const clopt_command get_proof_cmd = {
    .name = "get-proof",
    .usage = "usage: custos get-proof --gateway H:P (--account 0xHEX | --custodian ID --ref REF)"
             " --asset ID",
    .summary = "one position of the account's latest attestation with its Merkle proof, as "
               "JSON (the input of verify-proof)",
    .sets = get_proof_sets,
    .n_sets = CLOPT_N(get_proof_sets),
    .rules = get_proof_rules,
    .n_rules = CLOPT_N(get_proof_rules)};

/* The position proof as JSON: field names and encodings are those of the attestation
 * export, and position + leafTypes are the StandardMerkleTree value and types. */
static json_t *proof_json(const custos_position_proof *p)
{
    json_t *o = json_object();
    json_t *pos = json_object();
    json_t *proof = json_array();
    bool ok = o != NULL && pos != NULL && proof != NULL;
    for (size_t i = 0; ok && i < p->n_proof; i++)
        ok = json_array_append_new(proof, jo_hex(p->proof[i], 32)) == 0;
    ok = ok && jo_put(pos, "assetId", json_string(p->position.asset_id)) &&
         jo_put(pos, "quantity", jo_raw(&p->position.quantity)) &&
         jo_put(pos, "price", jo_raw(&p->position.price)) &&
         jo_put(pos, "value", jo_raw(&p->position.value)) &&
         jo_put(pos, "haircutBps", json_integer(p->position.haircut_bps));
    ok = ok && jo_put(o, "account", jo_hex(p->account, CUSTOS_HASH_LEN)) &&
         jo_put(o, "feed", json_string(p->feed)) &&
         jo_put(o, "digest", jo_hex(p->digest, CUSTOS_HASH_LEN)) &&
         jo_put(o, "sequence", jo_u64(p->sequence)) && jo_put(o, "asOf", jo_u64(p->as_of)) &&
         jo_put(o, "leafTypes", json_string(CUSTOS_POSITION_LEAF_TYPES)) &&
         jo_put(o, "position", json_incref(pos)) && jo_put(o, "leaf", jo_hex(p->leaf, 32)) &&
         jo_put(o, "proof", json_incref(proof)) && jo_put(o, "root", jo_hex(p->root, 32));
    json_decref(pos);
    json_decref(proof);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int cli_get_proof(int argc, char **argv)
{
    get_proof_args a = {0};
    int status;
    if (!cli_args(&get_proof_cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t id[CUSTOS_HASH_LEN];
    if (!cli_account_id(&a.acct, id))
        return EXIT_FAIL;
    if (a.asset[0] == '\0' || strlen(a.asset) > CUSTOS_ASSET_ID_MAX) {
        cli_fail("get-proof: " ASSET_MESSAGE);
        return EXIT_FAIL;
    }
    custos_error err;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_position_proof *p = malloc(sizeof *p);
    if (p == NULL) {
        custos_client_free(client);
        cli_fail("out of memory");
        return EXIT_FAIL;
    }
    custos_rc rc = custos_client_get_position_proof(client, id, a.asset, p, &err);
    custos_client_free(client);
    bool ok = rc == CUSTOS_OK && jo_emit(proof_json(p), JSON_INDENT(2));
    free(p);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        cli_fail("%s", err.message);
        return EXIT_NEGATIVE;
    }
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    return ok ? EXIT_OK : EXIT_FAIL;
}

/* ---- verify-proof ---- */

typedef struct verify_proof_args {
    const char *root;
} verify_proof_args;

static const clopt verify_proof_options[] = {
    {"root", "0xHEX", CLOPT_STR, offsetof(verify_proof_args, root),
     "the positions root you trust (the attestation's signed positionsRoot)"},
    {0}};
static const clopt_set verify_proof_sets[] = {{verify_proof_options, 0}};
static const clopt_command verify_proof_cmd = {
    .name = "verify-proof",
    .usage = "usage: custos verify-proof FILE.json [--root 0xHEX]",
    .summary = "offline: the position hashes to the leaf and the proof leads to the root (and "
               "the root is the one you trust)",
    .sets = verify_proof_sets,
    .n_sets = CLOPT_N(verify_proof_sets),
    .min_operands = 1,
    .max_operands = 1,
    .operand_message = "one FILE.json"};

/* A decimal amount member "position.key". */
static bool proof_amount(const char *path, json_t *pos, const char *key, custos_u256 *out)
{
    const char *text = json_string_value(json_object_get(pos, key));
    custos_error err;
    if (text == NULL) {
        cli_fail("%s: \"position.%s\" is missing or not a decimal string", path, key);
        return false;
    }
    if (custos_u256_from_dec(out, text, strlen(text), &err) != CUSTOS_OK) {
        cli_fail("%s: \"position.%s\": %s", path, key, err.message);
        return false;
    }
    return true;
}

/* Reads what verify-proof checks: position, leaf, proof and root. */
static bool proof_from_json(const char *path, json_t *o, custos_position_proof *p)
{
    memset(p, 0, sizeof *p);
    json_t *pos = json_object_get(o, "position");
    json_t *proof = json_object_get(o, "proof");
    if (!json_is_object(o) || !json_is_object(pos) || !json_is_array(proof)) {
        cli_fail("%s: not a position proof (needs \"position\", \"leaf\", \"proof\", \"root\"; "
                 "custos get-proof writes one)", path);
        return false;
    }
    const char *types = json_string_value(json_object_get(o, "leafTypes"));
    if (types != NULL && strcmp(types, CUSTOS_POSITION_LEAF_TYPES) != 0) {
        cli_fail("%s: \"leafTypes\" is '%.80s', positions are %s", path, types,
                 CUSTOS_POSITION_LEAF_TYPES);
        return false;
    }
    const char *asset = json_string_value(json_object_get(pos, "assetId"));
    if (asset == NULL || asset[0] == '\0' || strlen(asset) > CUSTOS_ASSET_ID_MAX) {
        cli_fail("%s: \"position.assetId\" must be a string of 1 to %d characters", path,
                 CUSTOS_ASSET_ID_MAX);
        return false;
    }
    memcpy(p->position.asset_id, asset, strlen(asset) + 1);
    json_t *haircut = json_object_get(pos, "haircutBps");
    if (!json_is_integer(haircut) || json_integer_value(haircut) < 0 ||
        json_integer_value(haircut) > 10000) {
        cli_fail("%s: \"position.haircutBps\" must be an integer from 0 to 10000", path);
        return false;
    }
    p->position.haircut_bps = (uint32_t)json_integer_value(haircut);
    if (!proof_amount(path, pos, "quantity", &p->position.quantity) ||
        !proof_amount(path, pos, "price", &p->position.price) ||
        !proof_amount(path, pos, "value", &p->position.value) ||
        !ji_hash(path, o, "leaf", p->leaf) || !ji_hash(path, o, "root", p->root))
        return false;
    size_t n = json_array_size(proof);
    if (n > CUSTOS_MERKLE_PROOF_MAX) {
        cli_fail("%s: \"proof\" has %zu hashes, at most %d", path, n, CUSTOS_MERKLE_PROOF_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *text = json_string_value(json_array_get(proof, i));
        custos_error err;
        if (text == NULL || custos_hex_decode(text, p->proof[i], 32, &err) != CUSTOS_OK) {
            cli_fail("%s: \"proof\"[%zu] is not a 32-byte hex hash", path, i);
            return false;
        }
    }
    p->n_proof = n;
    return true;
}

int cli_verify_proof(int argc, char **argv)
{
    verify_proof_args a = {0};
    clopt_list files = {0};
    int status;
    if (!cli_args(&verify_proof_cmd, argc, argv, &a, &files, &status))
        return status;
    const char *path = files.items[0];
    uint8_t root[32];
    custos_error err;
    if (a.root != NULL && custos_hex_decode(a.root, root, 32, &err) != CUSTOS_OK) {
        cli_fail("--root: '%.80s': %s", a.root, err.message);
        return EXIT_FAIL;
    }
    json_t *o;
    if (!ji_load(path, &o))
        return EXIT_FAIL;
    custos_position_proof *p = malloc(sizeof *p);
    bool ok = p != NULL && proof_from_json(path, o, p);
    json_decref(o);
    if (p == NULL)
        cli_fail("out of memory");
    if (ok && custos_position_proof_check(p, &err) != CUSTOS_OK) {
        cli_fail("%s: invalid: %s", path, err.message);
        ok = false;
    }
    if (ok && a.root != NULL && memcmp(root, p->root, 32) != 0) {
        cli_fail("%s: invalid: the proof's root is not the --root you trust", path);
        ok = false;
    }
    free(p);
    if (!ok)
        return EXIT_FAIL;
    puts(a.root != NULL
             ? "valid: the position is included under the root you trust"
             : "valid: the position is included under the proof's root (compare the root "
               "with the attestation's signed positionsRoot)");
    return EXIT_OK;
}
