/* eth_signTypedData_v4 JSON of a submission. Export writes the one canonical form;
 * import accepts only that form and names the offending field in every refusal. */
#include "custos/hex.h"
#include "custos/typeddata.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/eip712.h"
#include "custos/sig.h"
#include "custos/u256.h"
#include "json_typed.h"

#define TD_PRIMARY_TYPE "CollateralAttestation"
#define TD_MAX_HAIRCUT_BPS 10000

static const char *const td_top_keys[] = {"typedData", "digest", "feed", "signatures",
                                          "positions"};
static const char *const td_typed_keys[] = {"types", "primaryType", "domain", "message"};
static const char *const td_types_keys[] = {"EIP712Domain", TD_PRIMARY_TYPE};
static const char *const td_domain_keys[] = {"name", "version", "chainId", "verifyingContract"};
static const char *const td_message_keys[] = {"account",       "beneficiary", "kind",
                                              "grossValue",    "collateralValue",
                                              "positionsRoot", "asOf",        "validUntil",
                                              "sequence"};
static const char *const td_position_keys[] = {"assetId", "quantity", "price", "value",
                                               "haircutBps"};

/* ---- export ---- */

static void td_dec64(uint64_t v, char out[CUSTOS_U256_DEC_MAX])
{
    snprintf(out, CUSTOS_U256_DEC_MAX, "%" PRIu64, v);
}

/* 1 to 31 printable ASCII bytes: the id becomes a bytes32 on-chain and must read the
 * same everywhere. */
static custos_rc td_check_asset_id(const char *id, size_t len, size_t index, custos_error *err)
{
    if (len == 0 || len > CUSTOS_ASSET_ID_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "positions[%zu].assetId: must be 1 to %d bytes, has %zu", index,
                                CUSTOS_ASSET_ID_MAX, len);
    for (size_t i = 0; i < len; i++)
        if (id[i] < 0x21 || id[i] > 0x7e)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "positions[%zu].assetId: byte %zu is not printable ASCII",
                                    index, i + 1);
    return CUSTOS_OK;
}

/* The same limits import enforces, so an export always imports. */
static custos_rc td_check_exportable(const custos_submission *s, custos_error *err)
{
    size_t feed_len = strnlen(s->feed, sizeof s->feed);
    if (feed_len == 0 || feed_len > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "feed: must be 1 to %d bytes",
                                CUSTOS_FEED_MAX);
    if (s->domain.chain_id > JT_MAX_SAFE_INTEGER)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "typedData.domain.chainId: %" PRIu64 " exceeds 2^53-1",
                                s->domain.chain_id);
    if (s->att.kind > CUSTOS_KIND_FREEZE)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "typedData.message.kind: %u is not 0, 1 or 2",
                                (unsigned)s->att.kind);
    if (s->n_sigs > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "signatures: %zu exceeds the limit of %d", s->n_sigs,
                                CUSTOS_MAX_SIGNATURES);
    if (s->n_positions > CUSTOS_MAX_POSITIONS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "positions: %zu exceeds the limit of %d", s->n_positions,
                                CUSTOS_MAX_POSITIONS);
    if (s->n_positions > 0 && s->positions == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "positions: count %zu but no array",
                                s->n_positions);
    for (size_t i = 0; i < s->n_positions; i++) {
        const custos_position *p = &s->positions[i];
        custos_rc rc = td_check_asset_id(p->asset_id, strnlen(p->asset_id, sizeof p->asset_id),
                                         i, err);
        if (rc != CUSTOS_OK)
            return rc;
        if (p->haircut_bps > TD_MAX_HAIRCUT_BPS)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "positions[%zu].haircutBps: %u exceeds %d", i,
                                    (unsigned)p->haircut_bps, TD_MAX_HAIRCUT_BPS);
    }
    return CUSTOS_OK;
}

static json_t *td_export_message(const custos_attestation *a)
{
    char beneficiary[CUSTOS_ADDRESS_HEX_LEN];
    char as_of[CUSTOS_U256_DEC_MAX], valid_until[CUSTOS_U256_DEC_MAX], seq[CUSTOS_U256_DEC_MAX];
    custos_address_to_hex(a->beneficiary, beneficiary);
    td_dec64(a->as_of, as_of);
    td_dec64(a->valid_until, valid_until);
    td_dec64(a->sequence, seq);
    /* "o" steals each reference, and json_pack releases them all if any is NULL. */
    return json_pack("{s:o, s:s, s:I, s:o, s:o, s:o, s:s, s:s, s:s}", "account",
                     jt_hex(a->account, CUSTOS_HASH_LEN), "beneficiary", beneficiary,
                     "kind", (json_int_t)a->kind, "grossValue", jt_dec(&a->gross_value),
                     "collateralValue", jt_dec(&a->collateral_value), "positionsRoot",
                     jt_hex(a->positions_root, CUSTOS_HASH_LEN), "asOf", as_of,
                     "validUntil", valid_until, "sequence", seq);
}

static json_t *td_export_positions(const custos_position *ps, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:I}", "assetId", ps[i].asset_id,
                              "quantity", jt_dec(&ps[i].quantity), "price",
                              jt_dec(&ps[i].price), "value", jt_dec(&ps[i].value),
                              "haircutBps", (json_int_t)ps[i].haircut_bps);
        if (json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

custos_rc custos_typeddata_export(const custos_submission *s, char **json, custos_error *err)
{
    if (s == NULL || json == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "typed data export: NULL argument");
    *json = NULL;
    custos_rc rc = td_check_exportable(s, err);
    if (rc != CUSTOS_OK)
        return rc;

    char contract[CUSTOS_ADDRESS_HEX_LEN];
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_address_to_hex(s->domain.verifying_contract, contract);
    custos_attestation_digest(&s->domain, &s->att, digest);

    /* "o" steals each reference, and json_pack releases them all if any is NULL. */
    json_t *doc = json_pack(
        "{s:{s:{s:o, s:o}, s:s, s:{s:s, s:s, s:I, s:s}, s:o}, s:o, s:s, s:o, s:o}",
        "typedData",
        "types", "EIP712Domain", jt_type_array(jt_domain_fields, JT_COUNT(jt_domain_fields)),
        TD_PRIMARY_TYPE, jt_type_array(jt_attestation_fields, JT_COUNT(jt_attestation_fields)),
        "primaryType", TD_PRIMARY_TYPE,
        "domain", "name", CUSTOS_EIP712_NAME, "version", CUSTOS_EIP712_VERSION, "chainId",
        (json_int_t)s->domain.chain_id, "verifyingContract", contract,
        "message", td_export_message(&s->att),
        "digest", jt_hex(digest, sizeof digest),
        "feed", s->feed,
        "signatures", jt_signatures(s->sigs, s->n_sigs),
        "positions", td_export_positions(s->positions, s->n_positions));
    if (doc == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "typed data export: out of memory");
    *json = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (*json == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "typed data export: out of memory");
    return CUSTOS_OK;
}

/* ---- import ---- */






static custos_rc td_get_u64_string(const json_t *obj, const char *path, const char *key,
                                   uint64_t *out, custos_error *err)
{
    custos_u256 v;
    custos_rc rc = jt_get_dec(obj, path, key, "uint64", &v, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (v.limb[1] != 0 || v.limb[2] != 0 || v.limb[3] != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%s%s: exceeds the uint64 range",
                                path, jt_sep(path), key);
    *out = v.limb[0];
    return CUSTOS_OK;
}


static custos_rc td_import_typed(const json_t *typed, custos_submission *out,
                                 custos_error *err)
{
    const char *p = "typedData";
    custos_rc rc = jt_expect_object(typed, p, td_typed_keys, JT_COUNT(td_typed_keys), err);
    if (rc != CUSTOS_OK)
        return rc;
    const json_t *types = json_object_get(typed, "types");
    rc = jt_expect_object(types, "typedData.types", td_types_keys, JT_COUNT(td_types_keys), err);
    if (rc == CUSTOS_OK)
        rc = jt_import_type_list(types, "EIP712Domain", jt_domain_fields,
                                 JT_COUNT(jt_domain_fields), err);
    if (rc == CUSTOS_OK)
        rc = jt_import_type_list(types, TD_PRIMARY_TYPE, jt_attestation_fields,
                                 JT_COUNT(jt_attestation_fields), err);
    if (rc == CUSTOS_OK)
        rc = jt_get_exact(typed, p, "primaryType", TD_PRIMARY_TYPE, err);
    if (rc != CUSTOS_OK)
        return rc;

    p = "typedData.domain";
    const json_t *dom = json_object_get(typed, "domain");
    rc = jt_expect_object(dom, p, td_domain_keys, JT_COUNT(td_domain_keys), err);
    if (rc == CUSTOS_OK)
        rc = jt_get_exact(dom, p, "name", CUSTOS_EIP712_NAME, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_exact(dom, p, "version", CUSTOS_EIP712_VERSION, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_uint(dom, p, "chainId", JT_MAX_SAFE_INTEGER, &out->domain.chain_id, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_address(dom, p, "verifyingContract", out->domain.verifying_contract, err);
    if (rc != CUSTOS_OK)
        return rc;

    p = "typedData.message";
    const json_t *msg = json_object_get(typed, "message");
    custos_attestation *a = &out->att;
    uint64_t kind = 0;
    rc = jt_expect_object(msg, p, td_message_keys, JT_COUNT(td_message_keys), err);
    if (rc == CUSTOS_OK)
        rc = jt_get_hex(msg, p, "account", a->account, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_address(msg, p, "beneficiary", a->beneficiary, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_uint(msg, p, "kind", CUSTOS_KIND_FREEZE, &kind, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_u256(msg, p, "grossValue", &a->gross_value, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_u256(msg, p, "collateralValue", &a->collateral_value, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_hex(msg, p, "positionsRoot", a->positions_root, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = td_get_u64_string(msg, p, "asOf", &a->as_of, err);
    if (rc == CUSTOS_OK)
        rc = td_get_u64_string(msg, p, "validUntil", &a->valid_until, err);
    if (rc == CUSTOS_OK)
        rc = td_get_u64_string(msg, p, "sequence", &a->sequence, err);
    a->kind = (uint8_t)kind;
    return rc;
}

static custos_rc td_import_signatures(const json_t *arr, custos_submission *out,
                                      custos_error *err)
{
    if (!json_is_array(arr))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "signatures: must be an array");
    size_t n = json_array_size(arr);
    if (n > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "signatures: %zu exceeds the limit of %d", n,
                                CUSTOS_MAX_SIGNATURES);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        const char *s = json_string_value(v);
        if (!json_is_string(v) || json_string_length(v) != 2 + 2 * CUSTOS_SIGNATURE_LEN ||
            s[0] != '0' || s[1] != 'x' ||
            custos_hex_decode(s, out->sigs[i].bytes, CUSTOS_SIGNATURE_LEN, NULL) != CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "signatures[%zu]: must be 0x followed by %d hex digits (65 "
                                    "bytes r||s||v)",
                                    i, 2 * CUSTOS_SIGNATURE_LEN);
    }
    out->n_sigs = n;
    return CUSTOS_OK;
}

static custos_rc td_import_position(const json_t *obj, size_t index, custos_position *pos,
                                    custos_error *err)
{
    char path[JT_PATH_MAX];
    snprintf(path, sizeof path, "positions[%zu]", index);
    custos_rc rc = jt_expect_object(obj, path, td_position_keys, JT_COUNT(td_position_keys),
                                    err);
    const char *id;
    size_t id_len;
    if (rc == CUSTOS_OK)
        rc = jt_get_string(obj, path, "assetId", &id, &id_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = td_check_asset_id(id, id_len, index, err);
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(pos->asset_id, id, id_len);
    pos->asset_id[id_len] = '\0';

    uint64_t haircut = 0;
    rc = jt_get_u256(obj, path, "quantity", &pos->quantity, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_u256(obj, path, "price", &pos->price, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_u256(obj, path, "value", &pos->value, err);
    if (rc == CUSTOS_OK)
        rc = jt_get_uint(obj, path, "haircutBps", TD_MAX_HAIRCUT_BPS, &haircut, err);
    pos->haircut_bps = (uint32_t)haircut;
    return rc;
}

custos_rc jt_import_positions(const json_t *arr, custos_submission *out, custos_error *err)
{
    if (!json_is_array(arr))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "positions: must be an array");
    size_t n = json_array_size(arr);
    if (n > CUSTOS_MAX_POSITIONS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "positions: %zu exceeds the limit of %d", n,
                                CUSTOS_MAX_POSITIONS);
    if (n == 0)
        return CUSTOS_OK;
    out->positions = calloc(n, sizeof *out->positions);
    if (out->positions == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "positions: cannot allocate %zu", n);
    out->n_positions = n;
    for (size_t i = 0; i < n; i++) {
        custos_rc rc = td_import_position(json_array_get(arr, i), i, &out->positions[i], err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    return CUSTOS_OK;
}

static custos_rc td_import_doc(const json_t *doc, custos_submission *out, custos_error *err)
{
    custos_rc rc = jt_expect_object(doc, "", td_top_keys, JT_COUNT(td_top_keys), err);
    if (rc == CUSTOS_OK)
        rc = td_import_typed(json_object_get(doc, "typedData"), out, err);
    if (rc != CUSTOS_OK)
        return rc;

    const char *feed;
    size_t feed_len;
    rc = jt_get_string(doc, "", "feed", &feed, &feed_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (feed_len == 0 || feed_len > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "feed: must be 1 to %d bytes, has %zu",
                                CUSTOS_FEED_MAX, feed_len);
    memcpy(out->feed, feed, feed_len);
    out->feed[feed_len] = '\0';

    rc = td_import_signatures(json_object_get(doc, "signatures"), out, err);
    if (rc == CUSTOS_OK)
        rc = jt_import_positions(json_object_get(doc, "positions"), out, err);
    if (rc != CUSTOS_OK)
        return rc;

    uint8_t claimed[CUSTOS_HASH_LEN], actual[CUSTOS_HASH_LEN];
    rc = jt_get_hex(doc, "", "digest", claimed, sizeof claimed, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_attestation_digest(&out->domain, &out->att, actual);
    if (memcmp(claimed, actual, sizeof actual) != 0) {
        char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        if (custos_hex_encode(actual, sizeof actual, hex, sizeof hex) != CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "digest: does not match the typed data");
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "digest: does not match the typed data, whose EIP-712 digest "
                                "is %s",
                                hex);
    }
    return CUSTOS_OK;
}

custos_rc custos_typeddata_import(const char *json, size_t len, custos_submission *out,
                                  custos_error *err)
{
    if (json == NULL || out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "typed data import: NULL argument");
    memset(out, 0, sizeof *out);
    if (len > CUSTOS_TYPEDDATA_MAX_BYTES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "typed data document is %zu bytes; the limit is %u", len,
                                CUSTOS_TYPEDDATA_MAX_BYTES);
    json_error_t jerr;
    json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "typed data is not valid JSON: line %d column %d: %s", jerr.line,
                                jerr.column, jerr.text);
    custos_rc rc = td_import_doc(doc, out, err);
    json_decref(doc);
    if (rc != CUSTOS_OK)
        custos_submission_clear(out);
    return rc;
}
