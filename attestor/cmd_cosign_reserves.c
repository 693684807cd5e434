/* custos-attestor cosign-reserves: adds this key's signature to the reserves attestation
 * that custos-attestor reserves wrote into a directory, so that the feed's quorum signs it
 * (attestation.md §15; on-chain, CustosReserves needs the quorum: adapter.md §13). The
 * fields of reserves.json are read, the EIP-712 digest is recomputed from them and must be
 * the one written, and every signature already there must recover, to signers other than
 * this key; then reserves.json and every proof file of the same digest get the signatures
 * as "signatures". With --gateway, the attestation is submitted with every signature and
 * the leaves read back from the proof files (all of them must be there). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "custos/reserves.h"
#include "custos/sig.h"
#include "fileio.h"
#include "gwconn.h"
#include "signer.h"
#include "signopts.h"

typedef struct cosign_reserves_args {
    const char *dir;
    at_key_spec key;
    at_gateway gw;
} cosign_reserves_args;

static const clopt cosign_reserves_options[] = {
    {"dir", "DIR", CLOPT_STR, offsetof(cosign_reserves_args, dir),
     "the --out-dir of custos-attestor reserves: reserves.json and the proof files"},
    {0}};
static const clopt_set cosign_reserves_sets[] = {
    {cosign_reserves_options, 0},
    {at_key_options, offsetof(cosign_reserves_args, key)},
    {at_p11_options, offsetof(cosign_reserves_args, key)},
    {clopt_gateway_options, offsetof(cosign_reserves_args, gw)}};
static const clopt_rule cosign_reserves_rules[] = {{CLOPT_REQUIRED, {"dir"}, NULL}, AT_KEY_RULE};
static const clopt_command cosign_reserves_cmd = {
    .name = "cosign-reserves",
    .usage = "usage: custos-attestor cosign-reserves --dir DIR\n"
             "         " AT_KEY_USAGE "\n"
             "         [--gateway HOST:PORT " AT_GATEWAY_USAGE "]",
    .summary = "checks the reserves attestation in DIR, adds this key's signature to it and "
               "its proof files; with --gateway, submits it with every leaf",
    .sets = cosign_reserves_sets,
    .n_sets = CLOPT_N(cosign_reserves_sets),
    .rules = cosign_reserves_rules,
    .n_rules = CLOPT_N(cosign_reserves_rules)};

typedef struct cr_doc {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain d;
    custos_reserves r;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
} cr_doc;

static custos_rc cr_hex(json_t *o, const char *key, uint8_t *out, size_t len, const char *file,
                        custos_error *err)
{
    const char *t = json_string_value(json_object_get(o, key));
    custos_error herr;
    if (t == NULL || custos_hex_decode(t, out, len, &herr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: \"%s\" must be %zu bytes of hex",
                                file, key, len);
    return CUSTOS_OK;
}

static custos_rc cr_u64(json_t *o, const char *key, uint64_t *out, const char *file,
                        custos_error *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: \"%s\" must be an unsigned integer",
                                file, key);
    *out = (uint64_t)json_integer_value(v);
    return CUSTOS_OK;
}

static custos_rc cr_dec(json_t *o, const char *key, custos_u256 *out, const char *file,
                        custos_error *err)
{
    const char *t = json_string_value(json_object_get(o, key));
    custos_error derr;
    if (t == NULL || custos_u256_from_dec(out, t, strlen(t), &derr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: \"%s\" must be a decimal string",
                                file, key);
    return CUSTOS_OK;
}

/* The signed fields and signatures of reserves.json ("signatures", or the first form's one
 * "signature"); the digest recomputed must be the one written. */
static custos_rc cr_read(json_t *o, const char *file, cr_doc *doc, custos_error *err)
{
    memset(doc, 0, sizeof *doc);
    const char *feed = json_string_value(json_object_get(o, "feed"));
    if (feed == NULL || feed[0] == '\0' || strlen(feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: \"feed\" must be 1 to %d bytes",
                                file, CUSTOS_FEED_MAX);
    strcpy(doc->feed, feed);
    custos_feed_id(doc->feed, doc->r.feed_id);
    custos_rc rc = cr_u64(o, "chainId", &doc->d.chain_id, file, err);
    if (rc == CUSTOS_OK)
        rc = cr_hex(o, "verifyingContract", doc->d.verifying_contract, CUSTOS_ADDRESS_LEN, file,
                    err);
    if (rc == CUSTOS_OK)
        rc = cr_dec(o, "totalCollateral", &doc->r.total_collateral, file, err);
    if (rc == CUSTOS_OK)
        rc = cr_u64(o, "accounts", &doc->r.accounts, file, err);
    if (rc == CUSTOS_OK)
        rc = cr_hex(o, "sumRoot", doc->r.sum_root, CUSTOS_HASH_LEN, file, err);
    if (rc == CUSTOS_OK)
        rc = cr_u64(o, "asOf", &doc->r.as_of, file, err);
    if (rc == CUSTOS_OK)
        rc = cr_u64(o, "sequence", &doc->r.sequence, file, err);
    uint8_t written[CUSTOS_HASH_LEN];
    if (rc == CUSTOS_OK)
        rc = cr_hex(o, "digest", written, CUSTOS_HASH_LEN, file, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_reserves_digest(&doc->d, &doc->r, doc->digest);
    if (memcmp(written, doc->digest, CUSTOS_HASH_LEN) != 0)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO, "%s: \"digest\" is not the EIP-712 "
                                "digest of its fields: refusing to cosign", file);
    json_t *arr = json_object_get(o, "signatures");
    json_t *one = json_object_get(o, "signature");
    size_t n = json_is_array(arr) ? json_array_size(arr) : one != NULL ? 1 : 0;
    if (n == 0 || n >= CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: needs 1 to %d signatures to cosign",
                                file, CUSTOS_MAX_SIGNATURES - 1);
    for (size_t i = 0; i < n; i++) {
        const char *t = json_string_value(json_is_array(arr) ? json_array_get(arr, i) : one);
        custos_error herr;
        if (t == NULL || custos_hex_decode(t, doc->sigs[i].bytes, CUSTOS_SIGNATURE_LEN, &herr) !=
                             CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: signature %zu is not 65 bytes "
                                    "of hex", file, i);
    }
    doc->n_sigs = n;
    return CUSTOS_OK;
}

/* Every signature recovers, to distinct signers, none of them self. */
static custos_rc cr_check_signers(const cr_doc *doc, const uint8_t self[CUSTOS_ADDRESS_LEN],
                                  const char *file, custos_error *err)
{
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "cannot create a secp256k1 context");
    uint8_t seen[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < doc->n_sigs; i++) {
        custos_error rerr;
        if (custos_recover_address(ctx, doc->digest, &doc->sigs[i], seen[i], &rerr) != CUSTOS_OK)
            rc = custos_error_set(err, CUSTOS_ERR_CRYPTO, "%s: signature %zu does not verify "
                                  "(%s): refusing to cosign", file, i, rerr.message);
        else if (memcmp(seen[i], self, CUSTOS_ADDRESS_LEN) == 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: this key signed it already", file);
        for (size_t k = 0; rc == CUSTOS_OK && k < i; k++)
            if (memcmp(seen[k], seen[i], CUSTOS_ADDRESS_LEN) == 0)
                rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: signatures %zu and %zu are "
                                      "of one signer", file, k, i);
    }
    custos_secp_free(ctx);
    return rc;
}

static json_t *cr_signatures_json(const cr_doc *doc)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < doc->n_sigs; i++) {
        char hex[CUSTOS_HEX_LEN(CUSTOS_SIGNATURE_LEN)];
        if (custos_hex_encode(doc->sigs[i].bytes, CUSTOS_SIGNATURE_LEN, hex, sizeof hex) !=
                CUSTOS_OK ||
            json_array_append_new(arr, json_string(hex)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

/* o with "signatures" set (and the first form's "signature" removed), written to path. */
static custos_rc cr_rewrite(json_t *o, const cr_doc *doc, const char *path, custos_error *err)
{
    json_t *arr = cr_signatures_json(doc);
    if (arr == NULL || json_object_set_new(o, "signatures", arr) != 0)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    (void)json_object_del(o, "signature"); /* absent in a file cosigned before */
    char *text = json_dumps(o, JSON_INDENT(2));
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    custos_rc rc = at_file_write_atomic(path, text, strlen(text), 0644, err);
    free(text);
    return rc;
}

/* Each proof file of the same digest in dir: its signatures replaced; with es, its leaf
 * taken (*n of them, at most cap). */
static custos_rc cr_proof_files(const char *dir, const cr_doc *doc, custos_reserves_entry *es,
                                size_t cap, size_t *n, custos_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_IO, "--dir %s: cannot open it", dir);
    custos_rc rc = CUSTOS_OK;
    *n = 0;
    struct dirent *ent;
    while (rc == CUSTOS_OK && (ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (strncmp(ent->d_name, "0x", 2) != 0 || len < 5 ||
            strcmp(ent->d_name + len - 5, ".json") != 0)
            continue;
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, ent->d_name) >= (int)sizeof path) {
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--dir: path too long");
            break;
        }
        json_error_t jerr;
        json_t *o = json_load_file(path, 0, &jerr);
        uint8_t digest[CUSTOS_HASH_LEN];
        if (o == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %s", path, jerr.text);
        else if (cr_hex(o, "digest", digest, CUSTOS_HASH_LEN, path, err) != CUSTOS_OK ||
                 memcmp(digest, doc->digest, CUSTOS_HASH_LEN) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "%s: a proof of another reserves attestation: refusing to "
                                  "mix them", path);
        if (rc == CUSTOS_OK && *n == cap)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--dir %s: more proof files than "
                                  "the %zu accounts", dir, cap);
        if (rc == CUSTOS_OK)
            rc = cr_hex(o, "account", es[*n].account, CUSTOS_HASH_LEN, path, err);
        if (rc == CUSTOS_OK)
            rc = cr_dec(o, "collateralValue", &es[*n].collateral_value, path, err);
        if (rc == CUSTOS_OK)
            rc = cr_rewrite(o, doc, path, err);
        if (rc == CUSTOS_OK)
            (*n)++;
        json_decref(o);
    }
    closedir(d);
    return rc;
}

static int cr_submit(const cosign_reserves_args *a, const cr_doc *doc,
                     const custos_reserves_entry *es, size_t n)
{
    custos_client *client = NULL;
    custos_error err;
    custos_error_clear(&err);
    bool duplicate = false;
    custos_rc rc = at_gateway_connect(&a->gw, 0, &client, &err);
    if (rc == CUSTOS_OK)
        rc = custos_client_submit_reserves(client, doc->feed, &doc->d, &doc->r, doc->sigs,
                                           doc->n_sigs, es, n, &duplicate, NULL, &err);
    custos_client_free(client);
    if (rc == CUSTOS_OK) {
        printf("%-12s %s\n", "gateway", duplicate ? "ACCEPTED (duplicate)" : "ACCEPTED");
        return AT_EXIT_OK;
    }
    at_cmd_error("cosign-reserves: %s", err.message);
    return rc == CUSTOS_ERR_UNAVAILABLE ? AT_EXIT_UNREACHABLE
           : rc == CUSTOS_ERR_REFUSED   ? AT_EXIT_REFUSED
                                        : AT_EXIT_INPUT;
}

int at_cmd_cosign_reserves(int argc, char **argv)
{
    cosign_reserves_args a = {0};
    int status;
    if (!at_cmd_args(&cosign_reserves_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_error err;
    custos_error_clear(&err);
    char summary[4096];
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    cr_doc doc;
    json_t *o = NULL;
    custos_reserves_entry *es = NULL;
    size_t n = 0;
    custos_rc rc = snprintf(summary, sizeof summary, "%s/reserves.json", a.dir) <
                           (int)sizeof summary
                       ? CUSTOS_OK
                       : custos_error_set(&err, CUSTOS_ERR_INVALID, "--dir: path too long");
    json_error_t jerr;
    if (rc == CUSTOS_OK && (o = json_load_file(summary, 0, &jerr)) == NULL)
        rc = custos_error_set(&err, CUSTOS_ERR_INVALID, "%s: %s", summary, jerr.text);
    if (rc == CUSTOS_OK)
        rc = cr_read(o, summary, &doc, &err);
    if (rc == CUSTOS_OK && doc.r.accounts > CUSTOS_RESERVES_MAX_ACCOUNTS)
        rc = custos_error_set(&err, CUSTOS_ERR_TOO_LARGE, "%s: more than %d accounts", summary,
                              CUSTOS_RESERVES_MAX_ACCOUNTS);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &a.key, &err);
    if (rc == CUSTOS_OK)
        rc = cr_check_signers(&doc, signer.address, summary, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_sign(&signer, doc.digest, &doc.sigs[doc.n_sigs], &err);
    if (rc == CUSTOS_OK) {
        doc.n_sigs++;
        es = calloc((size_t)doc.r.accounts, sizeof *es);
        if (es == NULL)
            rc = custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    /* The proof files first: reserves.json last, so that a failure leaves it as it was. */
    if (rc == CUSTOS_OK)
        rc = cr_proof_files(a.dir, &doc, es, (size_t)doc.r.accounts, &n, &err);
    if (rc == CUSTOS_OK)
        rc = cr_rewrite(o, &doc, summary, &err);
    json_decref(o);
    if (rc == CUSTOS_OK) {
        char addr[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(signer.address, addr);
        printf("%-12s %s\n%-12s %zu\n%-12s %zu\n", "cosigner", addr, "signatures", doc.n_sigs,
               "proof files", n);
    }
    at_signer_close(&signer);
    if (rc == CUSTOS_OK && a.gw.target != NULL) {
        if (n != doc.r.accounts) {
            at_cmd_error("cosign-reserves: %s holds %zu proof files for %llu accounts: the "
                         "gateway needs every leaf", a.dir, n,
                         (unsigned long long)doc.r.accounts);
            status = AT_EXIT_INPUT;
        } else {
            status = cr_submit(&a, &doc, es, n);
        }
    }
    free(es);
    if (rc != CUSTOS_OK) {
        at_cmd_error("cosign-reserves: %s", err.message);
        return AT_EXIT_INPUT;
    }
    return status;
}
