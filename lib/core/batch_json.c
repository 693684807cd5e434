/* JSON of batches (docs/attestation.md §12): the batch file a quorum signs and cosigns
 * (eth_signTypedData_v4 of a CollateralBatch) and the file of one account of a batch,
 * which ethers and @openzeppelin/merkle-tree verify with no Custos code. */
#include "custos/batch.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/typeddata.h"
#include "json_typed.h"

#define BJ_PRIMARY_TYPE "CollateralBatch"

/* Must list exactly the members of CUSTOS_BATCH_TYPE. */
static const jt_field bj_batch_fields[] = {
    {"feedId", "bytes32"}, {"accountsRoot", "bytes32"}, {"count", "uint32"},
    {"asOf", "uint64"},    {"validUntil", "uint64"},    {"sequence", "uint64"},
};

static json_t *bj_hash_array(const uint8_t (*hashes)[CUSTOS_HASH_LEN], size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++)
        if (json_array_append_new(arr, jt_hex(hashes[i], CUSTOS_HASH_LEN)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

/* The eth_signTypedData_v4 object of the batch. */
static json_t *bj_typed(const custos_domain *d, const custos_batch *b)
{
    char contract[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(d->verifying_contract, contract);
    /* "o" steals each reference, and json_pack releases them all if any is NULL. */
    return json_pack(
        "{s:{s:o, s:o}, s:s, s:{s:s, s:s, s:I, s:s}, s:{s:o, s:o, s:I, s:o, s:o, s:o}}",
        "types", "EIP712Domain", jt_type_array(jt_domain_fields, JT_COUNT(jt_domain_fields)),
        BJ_PRIMARY_TYPE, jt_type_array(bj_batch_fields, JT_COUNT(bj_batch_fields)),
        "primaryType", BJ_PRIMARY_TYPE,
        "domain", "name", CUSTOS_EIP712_NAME, "version", CUSTOS_EIP712_VERSION, "chainId",
        (json_int_t)d->chain_id, "verifyingContract", contract,
        "message", "feedId", jt_hex(b->feed_id, CUSTOS_HASH_LEN), "accountsRoot",
        jt_hex(b->accounts_root, CUSTOS_HASH_LEN), "count", (json_int_t)b->count, "asOf",
        jt_dec64(b->as_of), "validUntil", jt_dec64(b->valid_until), "sequence",
        jt_dec64(b->sequence));
}

static custos_rc bj_dump(json_t *doc, char **json, custos_error *err)
{
    if (doc == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch export: out of memory");
    *json = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (*json == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch export: out of memory");
    return CUSTOS_OK;
}

custos_rc custos_batch_export(const char *feed, const custos_domain *d, const custos_batch *b,
                              const custos_signature *sigs, size_t n_sigs, char **json,
                              custos_error *err)
{
    if (feed == NULL || d == NULL || b == NULL || json == NULL || (n_sigs > 0 && sigs == NULL))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch export: NULL argument");
    *json = NULL;
    if (d->chain_id > JT_MAX_SAFE_INTEGER)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "typedData.domain.chainId: %" PRIu64 " exceeds 2^53-1",
                                d->chain_id);
    if (n_sigs > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "signatures: %zu exceeds %d",
                                n_sigs, CUSTOS_MAX_SIGNATURES);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(d, b, digest);
    json_t *doc = json_pack("{s:o, s:o, s:s, s:o}", "typedData", bj_typed(d, b), "digest",
                            jt_hex(digest, sizeof digest), "feed", feed, "signatures",
                            jt_signatures(sigs, n_sigs));
    return bj_dump(doc, json, err);
}

custos_rc custos_batch_account_export(const custos_batch_account *a,
                                      const custos_position *ps, size_t n_ps, char **json,
                                      custos_error *err)
{
    if (a == NULL || json == NULL || (n_ps > 0 && ps == NULL))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch account export: NULL argument");
    *json = NULL;
    if (a->n_sigs > CUSTOS_MAX_SIGNATURES || a->n_proof > CUSTOS_MERKLE_PROOF_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "batch account export: %zu signatures, %zu proof hashes",
                                a->n_sigs, a->n_proof);
    /* The attestation's part is the single attestation's typed data without signatures
     * (they are the batch's): one writer for both forms. */
    custos_submission s = {0};
    memcpy(s.feed, a->feed, sizeof s.feed);
    s.domain = a->domain;
    s.att = a->att;
    s.positions = (custos_position *)ps;
    s.n_positions = n_ps;
    char *att_json = NULL;
    custos_rc rc = custos_typeddata_export(&s, &att_json, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_error_t jerr;
    json_t *doc = json_loads(att_json, 0, &jerr);
    free(att_json);
    if (doc == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch account export: out of memory");
    (void)json_object_del(doc, "signatures");
    (void)json_object_del(doc, "digest");

    uint8_t struct_hash[CUSTOS_HASH_LEN], leaf[CUSTOS_HASH_LEN], digest[CUSTOS_HASH_LEN];
    custos_attestation_struct_hash(&a->att, struct_hash);
    custos_batch_leaf(&a->att, leaf);
    custos_batch_digest(&a->domain, &a->batch, digest);
    json_t *batch = json_pack("{s:o, s:o, s:s, s:o, s:o, s:o}", "typedData",
                              bj_typed(&a->domain, &a->batch), "digest",
                              jt_hex(digest, sizeof digest), "leafTypes",
                              CUSTOS_BATCH_LEAF_TYPES, "leaf", jt_hex(leaf, sizeof leaf),
                              "proof",
                              bj_hash_array((const uint8_t (*)[CUSTOS_HASH_LEN])a->proof,
                                            a->n_proof),
                              "signatures", jt_signatures(a->sigs, a->n_sigs));
    if (json_object_set_new(doc, "structHash", jt_hex(struct_hash, sizeof struct_hash)) != 0 ||
        json_object_set_new(doc, "batch", batch) != 0) {
        json_decref(doc);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "batch account export: out of memory");
    }
    return bj_dump(doc, json, err);
}

/* ---- import of the batch file ---- */

/* A string without NUL bytes, when its length is not needed. */
static custos_rc bj_get_string(const json_t *obj, const char *path, const char *key,
                               const char **out, custos_error *err)
{
    size_t len;
    return jt_get_string(obj, path, key, out, &len, err);
}

/* A decimal string of a uint64, without sign, blank or leading zero. */
static custos_rc bj_get_u64(const json_t *obj, const char *path, const char *key, uint64_t *out,
                            custos_error *err)
{
    const char *s;
    custos_rc rc = bj_get_string(obj, path, key, &s, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t len = strlen(s);
    bool ok = len > 0 && len <= 20 && (len == 1 || s[0] != '0');
    uint64_t v = 0;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        ok = s[i] >= '0' && s[i] <= '9' && v <= (UINT64_MAX - d) / 10;
        v = ok ? v * 10 + d : v;
    }
    if (!ok)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s.%s: must be a decimal string of a uint64", path, key);
    *out = v;
    return CUSTOS_OK;
}

/* The typed data's frame: its members, the domain type and the primary type's fields
 * (named `primary`), the domain's values into *d. */
static custos_rc bj_import_frame(const json_t *typed, const char *primary,
                                 const jt_field *fields, size_t n_fields, custos_domain *d,
                                 custos_error *err)
{
    static const char *const typed_keys[] = {"types", "primaryType", "domain", "message"};
    static const char *const domain_keys[] = {"name", "version", "chainId",
                                              "verifyingContract"};
    const char *const types_keys[] = {"EIP712Domain", primary};
    const json_t *types = json_object_get(typed, "types");
    const json_t *domain = json_object_get(typed, "domain");
    custos_rc rc = jt_expect_object(typed, "typedData", typed_keys, JT_COUNT(typed_keys), err);
    if (rc == CUSTOS_OK)
        rc = jt_expect_object(types, "typedData.types", types_keys, JT_COUNT(types_keys), err);
    if (rc == CUSTOS_OK)
        rc = jt_import_type_list(types, "EIP712Domain", jt_domain_fields,
                             JT_COUNT(jt_domain_fields), err);
    if (rc == CUSTOS_OK)
        rc = jt_import_type_list(types, primary, fields, n_fields, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_exact(typed, "typedData", "primaryType", primary, err);
    if (rc == CUSTOS_OK)
        rc = jt_expect_object(domain, "typedData.domain", domain_keys, JT_COUNT(domain_keys),
                              err);
    if (rc == CUSTOS_OK)
        rc = jt_get_exact(domain, "typedData.domain", "name", CUSTOS_EIP712_NAME, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_exact(domain, "typedData.domain", "version", CUSTOS_EIP712_VERSION, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_uint(domain, "typedData.domain", "chainId", JT_MAX_SAFE_INTEGER,
                        &d->chain_id, err);
    const char *contract = "";
    if (rc == CUSTOS_OK)
        rc = bj_get_string(domain, "typedData.domain", "verifyingContract", &contract, err);
    if (rc == CUSTOS_OK && custos_address_from_hex(contract, d->verifying_contract, err) !=
                               CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "typedData.domain.verifyingContract: not an address");
    return rc;
}

static custos_rc bj_import_typed(const json_t *typed, custos_domain *d, custos_batch *b,
                                 custos_error *err)
{
    static const char *const message_keys[] = {"feedId", "accountsRoot", "count",
                                               "asOf",   "validUntil",   "sequence"};
    const json_t *msg = json_object_get(typed, "message");
    custos_rc rc = bj_import_frame(typed, BJ_PRIMARY_TYPE, bj_batch_fields,
                                   JT_COUNT(bj_batch_fields), d, err);
    const char *p = "typedData.message";
    if (rc == CUSTOS_OK)
        rc = jt_expect_object(msg, p, message_keys, JT_COUNT(message_keys), err);
    if (rc == CUSTOS_OK)
        rc = jt_get_hex(msg, p, "feedId", b->feed_id, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_hex(msg, p, "accountsRoot", b->accounts_root, CUSTOS_HASH_LEN, err);
    uint64_t count = 0;
    if (rc == CUSTOS_OK)
        rc = jt_get_uint(msg, p, "count", CUSTOS_BATCH_MAX_ACCOUNTS, &count, err);
    b->count = (uint32_t)count;
    if (rc == CUSTOS_OK)
        rc = bj_get_u64(msg, p, "asOf", &b->as_of, err);
    if (rc == CUSTOS_OK)
        rc = bj_get_u64(msg, p, "validUntil", &b->valid_until, err);
    if (rc == CUSTOS_OK)
        rc = bj_get_u64(msg, p, "sequence", &b->sequence, err);
    return rc;
}

static custos_rc bj_import_doc(const json_t *doc, char feed[CUSTOS_FEED_MAX + 1],
                               custos_domain *d, custos_batch *b, custos_signature *sigs,
                               size_t *n_sigs, custos_error *err)
{
    static const char *const top_keys[] = {"typedData", "digest", "feed", "signatures"};
    custos_rc rc = jt_expect_object(doc, "document", top_keys, JT_COUNT(top_keys), err);
    if (rc == CUSTOS_OK)
        rc = bj_import_typed(json_object_get(doc, "typedData"), d, b, err);
    const char *f = "";
    if (rc == CUSTOS_OK)
        rc = bj_get_string(doc, "document", "feed", &f, err);
    if (rc == CUSTOS_OK && (f[0] == '\0' || strlen(f) > CUSTOS_FEED_MAX))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "document.feed: must be 1 to %d bytes",
                              CUSTOS_FEED_MAX);
    uint8_t feed_id[CUSTOS_HASH_LEN];
    if (rc == CUSTOS_OK) {
        custos_feed_id(f, feed_id);
        if (memcmp(feed_id, b->feed_id, CUSTOS_HASH_LEN) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "typedData.message.feedId: is not keccak256 of feed '%s'", f);
    }
    uint8_t digest[CUSTOS_HASH_LEN], computed[CUSTOS_HASH_LEN];
    if (rc == CUSTOS_OK)
        rc = jt_get_hex(doc, "document", "digest", digest, sizeof digest, err);
    if (rc == CUSTOS_OK) {
        custos_batch_digest(d, b, computed);
        if (memcmp(digest, computed, sizeof digest) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "document.digest: is not the digest of the typed data");
    }
    const json_t *arr = json_object_get(doc, "signatures");
    if (rc == CUSTOS_OK && (!json_is_array(arr) || json_array_size(arr) > CUSTOS_MAX_SIGNATURES))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "document.signatures: must be an array of at most %d",
                              CUSTOS_MAX_SIGNATURES);
    for (size_t i = 0; rc == CUSTOS_OK && i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        char what[40];
        snprintf(what, sizeof what, "signatures[%zu]", i);
        rc = json_is_string(v) ? jt_hex_text(json_string_value(v), json_string_length(v),
                                             "document", what,
                                             sigs[i].bytes, CUSTOS_SIGNATURE_LEN, err)
                               : custos_error_set(err, CUSTOS_ERR_INVALID,
                                                  "document.%s: must be a string", what);
    }
    if (rc == CUSTOS_OK) {
        memcpy(feed, f, strlen(f) + 1);
        *n_sigs = json_array_size(arr);
    }
    return rc;
}

/* The document of a batch file or an account's file (`what` and `file` name them in
 * messages): at most CUSTOS_TYPEDDATA_MAX_BYTES, JSON without duplicate keys. */
static custos_rc bj_load(const char *json, size_t len, const char *what, const char *file,
                         json_t **doc, custos_error *err)
{
    if (len > CUSTOS_TYPEDDATA_MAX_BYTES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "%s: %zu bytes, at most %u", what,
                                len, CUSTOS_TYPEDDATA_MAX_BYTES);
    json_error_t jerr;
    *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (*doc == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: line %d: %s", file, jerr.line,
                                jerr.text);
    return CUSTOS_OK;
}

custos_rc custos_batch_import(const char *json, size_t len, char feed[CUSTOS_FEED_MAX + 1],
                              custos_domain *d, custos_batch *b, custos_signature *sigs,
                              size_t *n_sigs, custos_error *err)
{
    if (json == NULL || feed == NULL || d == NULL || b == NULL || sigs == NULL ||
        n_sigs == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch import: NULL argument");
    json_t *doc;
    custos_rc lrc = bj_load(json, len, "batch import", "batch file", &doc, err);
    if (lrc != CUSTOS_OK)
        return lrc;
    custos_domain dd = {0};
    custos_batch bb = {0};
    size_t n = 0;
    custos_rc rc = bj_import_doc(doc, feed, &dd, &bb, sigs, &n, err);
    json_decref(doc);
    if (rc == CUSTOS_OK) {
        *d = dd;
        *b = bb;
        *n_sigs = n;
    }
    return rc;
}

/* ---- import of one account's file ---- */

static custos_rc bj_import_attestation(const json_t *typed, custos_domain *d,
                                       custos_attestation *a, custos_error *err)
{
    static const char *const message_keys[] = {"account",       "beneficiary", "kind",
                                               "grossValue",    "collateralValue",
                                               "positionsRoot", "asOf",        "validUntil",
                                               "sequence"};
    const json_t *msg = json_object_get(typed, "message");
    const char *p = "typedData.message";
    custos_rc rc = bj_import_frame(typed, "CollateralAttestation", jt_attestation_fields,
                                   JT_COUNT(jt_attestation_fields), d, err);
    if (rc == CUSTOS_OK)
        rc = jt_expect_object(msg, p, message_keys, JT_COUNT(message_keys), err);
    if (rc == CUSTOS_OK)
        rc = jt_get_hex(msg, p, "account", a->account, CUSTOS_HASH_LEN, err);
    const char *ben = "";
    if (rc == CUSTOS_OK)
        rc = bj_get_string(msg, p, "beneficiary", &ben, err);
    if (rc == CUSTOS_OK && custos_address_from_hex(ben, a->beneficiary, err) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s.beneficiary: not an address", p);
    uint64_t kind = 0;
    if (rc == CUSTOS_OK)
        rc = jt_get_uint(msg, p, "kind", CUSTOS_KIND_FREEZE, &kind, err);
    a->kind = (uint8_t)kind;
    if (rc == CUSTOS_OK)
        rc = jt_get_u256(msg, p, "grossValue", &a->gross_value, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_u256(msg, p, "collateralValue", &a->collateral_value, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_hex(msg, p, "positionsRoot", a->positions_root, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = bj_get_u64(msg, p, "asOf", &a->as_of, err);
    if (rc == CUSTOS_OK)
        rc = bj_get_u64(msg, p, "validUntil", &a->valid_until, err);
    if (rc == CUSTOS_OK)
        rc = bj_get_u64(msg, p, "sequence", &a->sequence, err);
    return rc;
}

/* An array of at most max hex strings of len bytes each, into out (stride len). */
static custos_rc bj_get_hex_array(const json_t *obj, const char *path, const char *key,
                                  uint8_t *out, size_t len, size_t max, size_t *n,
                                  custos_error *err)
{
    const json_t *arr = json_object_get(obj, key);
    if (!json_is_array(arr) || json_array_size(arr) > max)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s.%s: must be an array of at most %zu", path, key, max);
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        char what[48];
        snprintf(what, sizeof what, "%s[%zu]", key, i);
        rc = json_is_string(v)
                 ? jt_hex_text(json_string_value(v), json_string_length(v), path, what,
                               out + i * len, len, err)
                 : custos_error_set(err, CUSTOS_ERR_INVALID, "%s.%s: must be a string", path,
                                    what);
    }
    *n = json_array_size(arr);
    return rc;
}

/* The fields the file states beside the typed data must be the ones they derive from. */
static custos_rc bj_check_hash(const json_t *obj, const char *path, const char *key,
                               const uint8_t want[CUSTOS_HASH_LEN], custos_error *err)
{
    uint8_t got[CUSTOS_HASH_LEN];
    custos_rc rc = jt_get_hex(obj, path, key, got, sizeof got, err);
    if (rc == CUSTOS_OK && memcmp(got, want, sizeof got) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "%s.%s: is not the one its typed data gives", path, key);
    return rc;
}

static custos_rc bj_import_account(const json_t *doc, custos_batch_account *a,
                                   custos_error *err)
{
    static const char *const top_keys[] = {"typedData", "structHash", "feed", "positions",
                                           "batch"};
    static const char *const batch_keys[] = {"typedData", "digest", "leafTypes", "leaf",
                                             "proof", "signatures"};
    const json_t *batch = json_object_get(doc, "batch");
    custos_rc rc = jt_expect_object(doc, "document", top_keys, JT_COUNT(top_keys), err);
    if (rc == CUSTOS_OK)
        rc = bj_import_attestation(json_object_get(doc, "typedData"), &a->domain, &a->att, err);
    const char *f = "";
    if (rc == CUSTOS_OK)
        rc = bj_get_string(doc, "document", "feed", &f, err);
    if (rc == CUSTOS_OK && (f[0] == '\0' || strlen(f) > CUSTOS_FEED_MAX))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "document.feed: must be 1 to %d bytes",
                              CUSTOS_FEED_MAX);
    if (rc == CUSTOS_OK)
        memcpy(a->feed, f, strlen(f) + 1);
    if (rc == CUSTOS_OK && !json_is_array(json_object_get(doc, "positions")))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "document.positions: must be an array");
    uint8_t hash[CUSTOS_HASH_LEN];
    if (rc == CUSTOS_OK) {
        custos_attestation_struct_hash(&a->att, hash);
        rc = bj_check_hash(doc, "document", "structHash", hash, err);
    }
    if (rc == CUSTOS_OK)
        rc = jt_expect_object(batch, "batch", batch_keys, JT_COUNT(batch_keys), err);
    custos_domain bd = {0};
    if (rc == CUSTOS_OK)
        rc = bj_import_typed(json_object_get(batch, "typedData"), &bd, &a->batch, err);
    if (rc == CUSTOS_OK && (bd.chain_id != a->domain.chain_id ||
                            memcmp(bd.verifying_contract, a->domain.verifying_contract,
                                   CUSTOS_ADDRESS_LEN) != 0))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "batch.typedData.domain: differs from the attestation's");
    if (rc == CUSTOS_OK) {
        custos_batch_digest(&a->domain, &a->batch, hash);
        rc = bj_check_hash(batch, "batch", "digest", hash, err);
    }
    if (rc == CUSTOS_OK)
        rc = jt_get_exact(batch, "batch", "leafTypes", CUSTOS_BATCH_LEAF_TYPES, err);
    if (rc == CUSTOS_OK) {
        custos_batch_leaf(&a->att, hash);
        rc = bj_check_hash(batch, "batch", "leaf", hash, err);
    }
    if (rc == CUSTOS_OK)
        rc = bj_get_hex_array(batch, "batch", "proof", &a->proof[0][0], CUSTOS_HASH_LEN,
                              CUSTOS_MERKLE_PROOF_MAX, &a->n_proof, err);
    if (rc == CUSTOS_OK)
        rc = bj_get_hex_array(batch, "batch", "signatures", a->sigs[0].bytes,
                              sizeof a->sigs[0], CUSTOS_MAX_SIGNATURES, &a->n_sigs, err);
    return rc;
}

custos_rc custos_batch_account_import(const char *json, size_t len, custos_batch_account *out,
                                      custos_error *err)
{
    if (json == NULL || out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch account import: NULL argument");
    json_t *doc;
    custos_rc lrc = bj_load(json, len, "batch account import", "account file", &doc, err);
    if (lrc != CUSTOS_OK)
        return lrc;
    custos_batch_account *a = calloc(1, sizeof *a);
    custos_rc rc = a != NULL ? bj_import_account(doc, a, err)
                             : custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    json_decref(doc);
    if (rc == CUSTOS_OK)
        *out = *a;
    free(a);
    return rc;
}

custos_rc custos_batch_account_positions(const char *json, size_t len, custos_position **ps,
                                         size_t *n, custos_error *err)
{
    if (json == NULL || ps == NULL || n == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch account positions: NULL argument");
    *ps = NULL;
    *n = 0;
    json_t *doc;
    custos_rc lrc = bj_load(json, len, "batch account positions", "account file", &doc, err);
    if (lrc != CUSTOS_OK)
        return lrc;
    custos_submission s;
    memset(&s, 0, sizeof s);
    custos_rc rc = jt_import_positions(json_object_get(doc, "positions"), &s, err);
    json_decref(doc);
    if (rc != CUSTOS_OK) {
        custos_submission_clear(&s);
        return rc;
    }
    *ps = s.positions;
    *n = s.n_positions;
    return CUSTOS_OK;
}
