/* Typed-data JSON: export/import round trip, and a table of malformed documents each
 * refused with a message naming the offending field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "custos/typeddata.h"
#include "custos/u256.h"

#define KEY_A "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define KEY_B "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

static void decode(const char *hex, uint8_t *out, size_t len)
{
    custos_error err;
    if (custos_hex_decode(hex, out, len, &err) != CUSTOS_OK)
        fail_msg("test data %s: %s", hex, err.message);
}

static void u256(const char *dec, custos_u256 *out)
{
    custos_error err;
    if (custos_u256_from_dec(out, dec, strlen(dec), &err) != CUSTOS_OK)
        fail_msg("test data %s: %s", dec, err.message);
}

/* A two-signer valuation with three positions. */
static void sample(custos_submission *s)
{
    memset(s, 0, sizeof *s);
    custos_error err;
    snprintf(s->feed, sizeof s->feed, "ust-bills-anchorage");
    s->domain.chain_id = 11155111;
    assert_int_equal(custos_address_from_hex("0x5FbDB2315678afecb367f032d93F642f64180aa3",
                                             s->domain.verifying_contract, &err),
                     CUSTOS_OK);
    custos_attestation *a = &s->att;
    custos_account_id("anchorage", "acct-0001", a->account);
    assert_int_equal(custos_address_from_hex("0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                                             a->beneficiary, &err),
                     CUSTOS_OK);
    a->kind = CUSTOS_KIND_VALUATION;
    u256("25000000000000000000000000", &a->gross_value);
    u256("24875000000000000000000000", &a->collateral_value);
    decode("0x8f3b5e2c6a1d4e7f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607",
           a->positions_root, 32);
    a->as_of = 1767225600;
    a->valid_until = 1767484800;
    a->sequence = UINT64_MAX;

    static const struct {
        const char *id, *qty, *price, *value;
        uint32_t haircut;
    } ps[] = {
        {"US912797KX47", "10000000000000000000000000", "995000000000000000",
         "9950000000000000000000000", 50},
        {"US91282CJL54", "15000000000000000000000000", "1003400000000000000",
         "15051000000000000000000000", 0},
        {"MMF-GOVT-0123456789ABCDEFGHIJKL", "0", "0", "0", 10000},
    };
    s->n_positions = sizeof ps / sizeof ps[0];
    s->positions = calloc(s->n_positions, sizeof *s->positions);
    assert_non_null(s->positions);
    for (size_t i = 0; i < s->n_positions; i++) {
        snprintf(s->positions[i].asset_id, sizeof s->positions[i].asset_id, "%s", ps[i].id);
        u256(ps[i].qty, &s->positions[i].quantity);
        u256(ps[i].price, &s->positions[i].price);
        u256(ps[i].value, &s->positions[i].value);
        s->positions[i].haircut_bps = ps[i].haircut;
    }

    custos_secp *ctx = custos_secp_new();
    assert_non_null(ctx);
    uint8_t digest[32], sk[32];
    custos_attestation_digest(&s->domain, a, digest);
    const char *keys[] = {KEY_A, KEY_B};
    for (size_t i = 0; i < 2; i++) {
        decode(keys[i], sk, 32);
        assert_int_equal(custos_sign_digest(ctx, sk, digest, &s->sigs[i], &err), CUSTOS_OK);
    }
    s->n_sigs = 2;
    custos_secp_free(ctx);
}

static void assert_same_submission(const custos_submission *x, const custos_submission *y)
{
    assert_string_equal(x->feed, y->feed);
    assert_int_equal(x->domain.chain_id, y->domain.chain_id);
    assert_memory_equal(x->domain.verifying_contract, y->domain.verifying_contract, 20);
    const custos_attestation *a = &x->att, *b = &y->att;
    assert_memory_equal(a->account, b->account, 32);
    assert_memory_equal(a->beneficiary, b->beneficiary, 20);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(custos_u256_cmp(&a->gross_value, &b->gross_value), 0);
    assert_int_equal(custos_u256_cmp(&a->collateral_value, &b->collateral_value), 0);
    assert_memory_equal(a->positions_root, b->positions_root, 32);
    assert_int_equal(a->as_of, b->as_of);
    assert_int_equal(a->valid_until, b->valid_until);
    assert_int_equal(a->sequence, b->sequence);
    assert_int_equal(x->n_sigs, y->n_sigs);
    for (size_t i = 0; i < x->n_sigs; i++)
        assert_memory_equal(x->sigs[i].bytes, y->sigs[i].bytes, 65);
    assert_int_equal(x->n_positions, y->n_positions);
    for (size_t i = 0; i < x->n_positions; i++) {
        const custos_position *p = &x->positions[i], *q = &y->positions[i];
        assert_string_equal(p->asset_id, q->asset_id);
        assert_int_equal(custos_u256_cmp(&p->quantity, &q->quantity), 0);
        assert_int_equal(custos_u256_cmp(&p->price, &q->price), 0);
        assert_int_equal(custos_u256_cmp(&p->value, &q->value), 0);
        assert_int_equal(p->haircut_bps, q->haircut_bps);
    }
}

static char *export_sample(custos_submission *s)
{
    sample(s);
    char *json = NULL;
    custos_error err;
    assert_int_equal(custos_typeddata_export(s, &json, &err), CUSTOS_OK);
    return json;
}

static void test_round_trip(void **state)
{
    (void)state;
    custos_submission s, back;
    char *json = export_sample(&s);
    custos_error err;
    if (custos_typeddata_import(json, strlen(json), &back, &err) != CUSTOS_OK)
        fail_msg("import of our own export: %s", err.message);
    assert_same_submission(&s, &back);

    /* The export is canonical: exporting the import reproduces it byte for byte. */
    char *again = NULL;
    assert_int_equal(custos_typeddata_export(&back, &again, &err), CUSTOS_OK);
    assert_string_equal(json, again);

    /* No positions and no signatures are a valid document too (a freeze being cosigned). */
    custos_submission_clear(&back);
    free(s.positions);
    s.positions = NULL;
    s.n_positions = 0;
    s.n_sigs = 0;
    free(again);
    assert_int_equal(custos_typeddata_export(&s, &again, &err), CUSTOS_OK);
    assert_int_equal(custos_typeddata_import(again, strlen(again), &back, &err), CUSTOS_OK);
    assert_same_submission(&s, &back);
    assert_null(back.positions);

    free(again);
    free(json);
    custos_submission_clear(&back);
    custos_submission_clear(&s);
}

/* An imported submission owns its positions; a copy must own its own. */
static void test_copy_is_deep(void **state)
{
    (void)state;
    custos_submission s, copy;
    sample(&s);
    custos_error err;
    assert_int_equal(custos_submission_copy(&copy, &s, &err), CUSTOS_OK);
    assert_ptr_not_equal(copy.positions, s.positions);
    custos_submission tmp;
    assert_int_equal(custos_submission_copy(&tmp, &s, &err), CUSTOS_OK);
    custos_submission_clear(&s);
    assert_null(s.positions);
    assert_same_submission(&copy, &tmp);
    custos_submission_clear(&tmp);

    copy.n_positions = CUSTOS_MAX_POSITIONS + 1;
    assert_int_equal(custos_submission_copy(&tmp, &copy, &err), CUSTOS_ERR_TOO_LARGE);
    assert_null(tmp.positions);
    copy.n_positions = 3;
    custos_submission_clear(&copy);
    custos_submission_clear(&copy);
}

static void test_hex_helpers(void **state)
{
    (void)state;
    static const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff};
    char out[11];
    assert_int_equal(custos_hex_encode(bytes, 4, out, sizeof out), CUSTOS_OK);
    assert_string_equal(out, "0x0001abff");
    assert_int_equal(custos_hex_encode(bytes, 4, out, sizeof out - 1), CUSTOS_ERR_TOO_LARGE);

    static const struct {
        const char *text;
        custos_rc rc;
    } cases[] = {
        {"0x0001abff", CUSTOS_OK}, {"0001ABFF", CUSTOS_OK},   {"0X0001aBfF", CUSTOS_OK},
        {"0x0001abf", CUSTOS_ERR_INVALID},  {"0x0001abff00", CUSTOS_ERR_INVALID},
        {"0x0001abfg", CUSTOS_ERR_INVALID}, {"", CUSTOS_ERR_INVALID},
        {"0x 001abff", CUSTOS_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t got[4] = {0x55, 0x55, 0x55, 0x55};
        custos_error err;
        custos_rc rc = custos_hex_decode(cases[i].text, got, sizeof got, &err);
        if (rc != cases[i].rc)
            fail_msg("hex \"%s\": got %s", cases[i].text, custos_rc_name(rc));
        if (rc == CUSTOS_OK)
            assert_memory_equal(got, bytes, 4);
        else
            assert_memory_equal(got, "\x55\x55\x55\x55", 4); /* untouched on refusal */
    }
}

/* The forms docs/attestation.md §12 and typeddata.h promise wallets and ethers. */
static void test_export_forms(void **state)
{
    (void)state;
    custos_submission s;
    char *json = export_sample(&s);
    json_error_t jerr;
    json_t *doc = json_loads(json, 0, &jerr);
    assert_non_null(doc);
    json_t *td = json_object_get(doc, "typedData");
    json_t *dom = json_object_get(td, "domain"), *msg = json_object_get(td, "message");
    assert_string_equal(json_string_value(json_object_get(td, "primaryType")),
                        "CollateralAttestation");
    assert_string_equal(json_string_value(json_object_get(dom, "name")), CUSTOS_EIP712_NAME);
    assert_true(json_is_integer(json_object_get(dom, "chainId")));
    assert_string_equal(json_string_value(json_object_get(dom, "verifyingContract")),
                        "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert_string_equal(json_string_value(json_object_get(msg, "beneficiary")),
                        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    assert_true(json_is_integer(json_object_get(msg, "kind")));
    assert_string_equal(json_string_value(json_object_get(msg, "grossValue")),
                        "25000000000000000000000000");
    assert_string_equal(json_string_value(json_object_get(msg, "sequence")),
                        "18446744073709551615");
    assert_string_equal(json_string_value(json_object_get(msg, "asOf")), "1767225600");
    assert_int_equal(json_string_length(json_object_get(msg, "account")), 66);
    json_t *sigs = json_object_get(doc, "signatures");
    assert_int_equal(json_array_size(sigs), 2);
    assert_int_equal(json_string_length(json_array_get(sigs, 0)), 132);
    json_t *p0 = json_array_get(json_object_get(doc, "positions"), 0);
    assert_string_equal(json_string_value(json_object_get(p0, "assetId")), "US912797KX47");
    assert_string_equal(json_string_value(json_object_get(p0, "price")), "995000000000000000");
    assert_int_equal(json_integer_value(json_object_get(p0, "haircutBps")), 50);

    uint8_t digest[32];
    char hex[67];
    custos_attestation_digest(&s.domain, &s.att, digest);
    assert_int_equal(custos_hex_encode(digest, 32, hex, sizeof hex), CUSTOS_OK);
    assert_string_equal(json_string_value(json_object_get(doc, "digest")), hex);
    json_decref(doc);
    free(json);
    custos_submission_clear(&s);
}

static void test_export_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *field;
    } cases[] = {
        {"kind 3", "kind"},
        {"chain id beyond 2^53-1", "chainId"},
        {"haircut above 100%", "positions[1].haircutBps"},
        {"empty feed", "feed"},
        {"empty asset id", "positions[0].assetId"},
        {"asset id with a tab", "positions[2].assetId"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_submission s;
        sample(&s);
        switch (i) {
        case 0: s.att.kind = 3; break;
        case 1: s.domain.chain_id = 9007199254740992ULL; break;
        case 2: s.positions[1].haircut_bps = 10001; break;
        case 3: s.feed[0] = '\0'; break;
        case 4: s.positions[0].asset_id[0] = '\0'; break;
        case 5: s.positions[2].asset_id[3] = '\t'; break;
        }
        char *json = NULL;
        custos_error err;
        assert_int_equal(custos_typeddata_export(&s, &json, &err), CUSTOS_ERR_INVALID);
        assert_null(json);
        if (strstr(err.message, cases[i].field) == NULL)
            fail_msg("%s: message does not name %s: %s", cases[i].name, cases[i].field,
                     err.message);
        custos_submission_clear(&s);
    }
}

typedef enum { SET, DEL, MANY_SIGS, MANY_POSITIONS } action;

typedef struct mutation {
    action what;
    const char *path;  /* dot-separated; numbers index arrays */
    const char *value; /* JSON text for SET */
} mutation;

typedef struct bad_doc {
    const char *name;
    mutation m[2];
    custos_rc rc;
    const char *field; /* must appear in the message */
} bad_doc;

#define ATT "typedData.types.CollateralAttestation"
#define MSG "typedData.message"
#define DOM "typedData.domain"

static const bad_doc bad_docs[] = {
    {"unknown top-level field", {{SET, "extra", "1"}}, CUSTOS_ERR_INVALID, "extra"},
    {"digest missing", {{DEL, "digest", NULL}}, CUSTOS_ERR_INVALID, "digest"},
    {"typedData missing", {{DEL, "typedData", NULL}}, CUSTOS_ERR_INVALID, "typedData"},
    {"typedData not an object", {{SET, "typedData", "[]"}}, CUSTOS_ERR_INVALID, "typedData"},
    {"primaryType", {{SET, "typedData.primaryType", "\"Mail\""}}, CUSTOS_ERR_INVALID,
     "typedData.primaryType"},
    {"unknown type", {{SET, "typedData.types.Extra", "[]"}}, CUSTOS_ERR_INVALID, "Extra"},
    {"domain type missing", {{DEL, "typedData.types.EIP712Domain", NULL}}, CUSTOS_ERR_INVALID,
     "EIP712Domain"},
    {"type field missing", {{DEL, ATT ".8", NULL}}, CUSTOS_ERR_INVALID, ATT},
    {"type field added",
     {{SET, ATT ".9", "{\"name\":\"memo\",\"type\":\"string\"}"}},
     CUSTOS_ERR_INVALID, ATT},
    {"type fields reordered",
     {{SET, ATT ".0", "{\"name\":\"beneficiary\",\"type\":\"address\"}"},
      {SET, ATT ".1", "{\"name\":\"account\",\"type\":\"bytes32\"}"}},
     CUSTOS_ERR_INVALID, ATT "[0]"},
    {"type field retyped", {{SET, ATT ".2.type", "\"uint16\""}}, CUSTOS_ERR_INVALID,
     ATT "[2].type"},
    {"type entry extra key", {{SET, ATT ".3.indexed", "true"}}, CUSTOS_ERR_INVALID, "indexed"},
    {"domain field retyped", {{SET, "typedData.types.EIP712Domain.2.type", "\"uint64\""}},
     CUSTOS_ERR_INVALID, "EIP712Domain[2].type"},
    {"domain name", {{SET, DOM ".name", "\"Custos\""}}, CUSTOS_ERR_INVALID, DOM ".name"},
    {"domain version", {{SET, DOM ".version", "\"2\""}}, CUSTOS_ERR_INVALID, DOM ".version"},
    {"domain salt", {{SET, DOM ".salt", "\"0x00\""}}, CUSTOS_ERR_INVALID, "salt"},
    {"chainId string", {{SET, DOM ".chainId", "\"1\""}}, CUSTOS_ERR_INVALID, DOM ".chainId"},
    {"chainId real", {{SET, DOM ".chainId", "1.5"}}, CUSTOS_ERR_INVALID, DOM ".chainId"},
    {"chainId negative", {{SET, DOM ".chainId", "-1"}}, CUSTOS_ERR_INVALID, DOM ".chainId"},
    {"chainId 2^53", {{SET, DOM ".chainId", "9007199254740992"}}, CUSTOS_ERR_INVALID,
     DOM ".chainId"},
    {"contract checksum",
     {{SET, DOM ".verifyingContract", "\"0x5FbDB2315678afecb367f032d93F642f64180aA3\""}},
     CUSTOS_ERR_INVALID, DOM ".verifyingContract"},
    {"contract without 0x",
     {{SET, DOM ".verifyingContract", "\"5fbdb2315678afecb367f032d93f642f64180aa3\""}},
     CUSTOS_ERR_INVALID, DOM ".verifyingContract"},
    {"contract missing", {{DEL, DOM ".verifyingContract", NULL}}, CUSTOS_ERR_INVALID,
     DOM ".verifyingContract"},
    {"account short",
     {{SET, MSG ".account",
       "\"0x8f3b5e2c6a1d4e7f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6\""}},
     CUSTOS_ERR_INVALID, MSG ".account"},
    {"beneficiary number", {{SET, MSG ".beneficiary", "0"}}, CUSTOS_ERR_INVALID,
     MSG ".beneficiary"},
    {"kind 3", {{SET, MSG ".kind", "3"}}, CUSTOS_ERR_INVALID, MSG ".kind"},
    {"kind string", {{SET, MSG ".kind", "\"0\""}}, CUSTOS_ERR_INVALID, MSG ".kind"},
    {"grossValue number", {{SET, MSG ".grossValue", "5"}}, CUSTOS_ERR_INVALID,
     MSG ".grossValue"},
    {"grossValue negative", {{SET, MSG ".grossValue", "\"-1\""}}, CUSTOS_ERR_INVALID,
     MSG ".grossValue"},
    {"grossValue exponent", {{SET, MSG ".grossValue", "\"1e18\""}}, CUSTOS_ERR_INVALID,
     MSG ".grossValue"},
    {"grossValue empty", {{SET, MSG ".grossValue", "\"\""}}, CUSTOS_ERR_INVALID,
     MSG ".grossValue"},
    {"grossValue 2^256",
     {{SET, MSG ".grossValue",
       "\"115792089237316195423570985008687907853269984665640564039457584007913129639936\""}},
     CUSTOS_ERR_INVALID, MSG ".grossValue"},
    {"collateralValue fraction", {{SET, MSG ".collateralValue", "\"12.5\""}},
     CUSTOS_ERR_INVALID, MSG ".collateralValue"},
    {"positionsRoot without 0x",
     {{SET, MSG ".positionsRoot",
       "\"008f3b5e2c6a1d4e7f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607\""}},
     CUSTOS_ERR_INVALID, MSG ".positionsRoot"},
    {"asOf 2^64", {{SET, MSG ".asOf", "\"18446744073709551616\""}}, CUSTOS_ERR_INVALID,
     MSG ".asOf"},
    {"asOf number", {{SET, MSG ".asOf", "1767225600"}}, CUSTOS_ERR_INVALID, MSG ".asOf"},
    {"validUntil missing", {{DEL, MSG ".validUntil", NULL}}, CUSTOS_ERR_INVALID, MSG ".validUntil"},
    {"sequence with space", {{SET, MSG ".sequence", "\" 1\""}}, CUSTOS_ERR_INVALID,
     MSG ".sequence"},
    {"message extra field", {{SET, MSG ".memo", "\"hi\""}}, CUSTOS_ERR_INVALID, "memo"},
    {"value changed under the signatures", {{SET, MSG ".collateralValue", "\"1\""}},
     CUSTOS_ERR_INVALID, "digest"},
    {"digest altered",
     {{SET, "digest", "\"0x0000000000000000000000000000000000000000000000000000000000000001\""}},
     CUSTOS_ERR_INVALID, "digest"},
    {"digest short", {{SET, "digest", "\"0x00\""}}, CUSTOS_ERR_INVALID, "digest"},
    {"feed empty", {{SET, "feed", "\"\""}}, CUSTOS_ERR_INVALID, "feed"},
    {"feed too long",
     {{SET, "feed", "\"0123456789012345678901234567890123456789012345678901234567890123x\""}},
     CUSTOS_ERR_INVALID, "feed"},
    {"feed number", {{SET, "feed", "7"}}, CUSTOS_ERR_INVALID, "feed"},
    {"signatures object", {{SET, "signatures", "{}"}}, CUSTOS_ERR_INVALID, "signatures"},
    {"signature 64 bytes",
     {{SET, "signatures.1",
       "\"0x00000000000000000000000000000000000000000000000000000000000000010000000000000000"
       "000000000000000000000000000000000000000000000001\""}},
     CUSTOS_ERR_INVALID, "signatures[1]"},
    {"signature not hex",
     {{SET, "signatures.0",
       "\"0xzz000000000000000000000000000000000000000000000000000000000000010000000000000000"
       "00000000000000000000000000000000000000000000000101\""}},
     CUSTOS_ERR_INVALID, "signatures[0]"},
    {"17 signatures", {{MANY_SIGS, "signatures", NULL}}, CUSTOS_ERR_TOO_LARGE, "signatures"},
    {"positions missing", {{DEL, "positions", NULL}}, CUSTOS_ERR_INVALID, "positions"},
    {"4097 positions", {{MANY_POSITIONS, "positions", NULL}}, CUSTOS_ERR_TOO_LARGE, "positions"},
    {"haircut above 100%", {{SET, "positions.0.haircutBps", "10001"}}, CUSTOS_ERR_INVALID,
     "positions[0].haircutBps"},
    {"haircut string", {{SET, "positions.2.haircutBps", "\"50\""}}, CUSTOS_ERR_INVALID,
     "positions[2].haircutBps"},
    {"asset id 32 bytes", {{SET, "positions.1.assetId", "\"0123456789abcdef0123456789abcdef\""}},
     CUSTOS_ERR_INVALID, "positions[1].assetId"},
    {"asset id empty", {{SET, "positions.0.assetId", "\"\""}}, CUSTOS_ERR_INVALID,
     "positions[0].assetId"},
    {"asset id non-ASCII", {{SET, "positions.0.assetId", "\"US\\u00e9\""}}, CUSTOS_ERR_INVALID,
     "positions[0].assetId"},
    {"asset id with space", {{SET, "positions.0.assetId", "\"US 912\""}}, CUSTOS_ERR_INVALID,
     "positions[0].assetId"},
    {"position value missing", {{DEL, "positions.1.value", NULL}}, CUSTOS_ERR_INVALID,
     "positions[1].value"},
    {"position quantity fraction", {{SET, "positions.2.quantity", "\"1.0\""}},
     CUSTOS_ERR_INVALID, "positions[2].quantity"},
    {"position extra field", {{SET, "positions.0.isin", "\"x\""}}, CUSTOS_ERR_INVALID, "isin"},
    {"position not an object", {{SET, "positions.0", "\"US912797KX47\""}}, CUSTOS_ERR_INVALID,
     "positions[0]"},
};

/* The container holding the last path segment, and that segment. */
static json_t *walk(json_t *doc, const char *path, char *last, size_t cap)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = doc;
    char *save = NULL, *seg = strtok_r(buf, ".", &save), *next;
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(seg, NULL, 10))
                                 : json_object_get(cur, seg);
        assert_non_null(cur);
        seg = next;
    }
    snprintf(last, cap, "%s", seg);
    return cur;
}

static void apply(json_t *doc, const mutation *m)
{
    char key[64];
    json_t *parent = walk(doc, m->path, key, sizeof key);
    json_t *v = NULL;
    switch (m->what) {
    case SET: {
        json_error_t jerr;
        v = json_loads(m->value, JSON_DECODE_ANY, &jerr);
        assert_non_null(v);
        break;
    }
    case DEL:
        if (json_is_array(parent))
            assert_int_equal(json_array_remove(parent, strtoul(key, NULL, 10)), 0);
        else
            assert_int_equal(json_object_del(parent, key), 0);
        return;
    case MANY_SIGS:
    case MANY_POSITIONS: {
        json_t *one = json_array_get(json_object_get(parent, key), 0);
        size_t n = m->what == MANY_SIGS ? CUSTOS_MAX_SIGNATURES + 1 : CUSTOS_MAX_POSITIONS + 1;
        v = json_array();
        for (size_t i = 0; i < n; i++)
            assert_int_equal(json_array_append(v, one), 0);
        break;
    }
    }
    if (json_is_array(parent)) {
        size_t i = strtoul(key, NULL, 10);
        if (i == json_array_size(parent))
            assert_int_equal(json_array_append_new(parent, v), 0);
        else
            assert_int_equal(json_array_set_new(parent, i, v), 0);
    } else {
        assert_int_equal(json_object_set_new(parent, key, v), 0);
    }
}

static void expect_refused(const char *name, const char *text, size_t len, custos_rc rc,
                           const char *field)
{
    custos_submission out;
    custos_error err = {0};
    custos_rc got = custos_typeddata_import(text, len, &out, &err);
    if (got != rc)
        fail_msg("%s: got %s (%s), expected %s", name, custos_rc_name(got), err.message,
                 custos_rc_name(rc));
    if (strstr(err.message, field) == NULL)
        fail_msg("%s: message does not name %s: %s", name, field, err.message);
    /* A refused import leaves nothing behind. */
    assert_null(out.positions);
    assert_int_equal(out.n_positions, 0);
    assert_int_equal(out.n_sigs, 0);
}

static void test_malformed_documents(void **state)
{
    (void)state;
    custos_submission s;
    char *json = export_sample(&s);
    custos_submission_clear(&s);
    for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
        const bad_doc *b = &bad_docs[i];
        json_error_t jerr;
        json_t *doc = json_loads(json, 0, &jerr);
        assert_non_null(doc);
        for (size_t j = 0; j < 2 && b->m[j].path != NULL; j++)
            apply(doc, &b->m[j]);
        char *text = json_dumps(doc, JSON_COMPACT);
        assert_non_null(text);
        json_decref(doc);
        expect_refused(b->name, text, strlen(text), b->rc, b->field);
        free(text);
    }
    free(json);
}

/* Refusals that cannot be produced by editing a parsed document. */
static void test_malformed_text(void **state)
{
    (void)state;
    custos_submission s;
    char *json = export_sample(&s);
    custos_submission_clear(&s);

    expect_refused("empty", "", 0, CUSTOS_ERR_INVALID, "JSON");
    expect_refused("truncated", json, strlen(json) - 2, CUSTOS_ERR_INVALID, "JSON");
    expect_refused("array", "[]", 2, CUSTOS_ERR_INVALID, "document");
    expect_refused("trailing garbage", "{} x", 4, CUSTOS_ERR_INVALID, "JSON");

    /* A duplicate key could smuggle a second value past a checker that reads the first. */
    size_t head = 0, json_len = strlen(json);
    while (head < json_len && strncmp(json + head, "\"feed\"", 6) != 0)
        head++;
    assert_true(head < json_len);
    const char *dup = "\"feed\": \"other\",\n  ";
    char *twice = malloc(strlen(json) + strlen(dup) + 1);
    assert_non_null(twice);
    memcpy(twice, json, head);
    strcpy(twice + head, dup);
    strcat(twice, json + head);
    expect_refused("duplicate key", twice, strlen(twice), CUSTOS_ERR_INVALID, "feed");
    free(twice);

    /* Size is checked before parsing: a huge document is not even looked at. */
    size_t big = CUSTOS_TYPEDDATA_MAX_BYTES + 1;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    memcpy(huge, json, strlen(json));
    expect_refused("too large", huge, big, CUSTOS_ERR_TOO_LARGE, "bytes");
    free(huge);
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_export_forms),
        cmocka_unit_test(test_copy_is_deep),
        cmocka_unit_test(test_hex_helpers),
        cmocka_unit_test(test_export_refusals),
        cmocka_unit_test(test_malformed_documents),
        cmocka_unit_test(test_malformed_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
