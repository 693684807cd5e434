/* libcustos against the adapter contract's known-answer vector
 * (deploy/contracts/test/vectors/digest.json, computed with ethers). The forge test
 * CustosDigest.t.sol checks the contract's digest against the same file, so together they
 * show that libcustos and the contract hash an attestation identically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "custos/u256.h"

#define VECTOR_PATH CUSTOS_SOURCE_DIR "/deploy/contracts/test/vectors/digest.json"

typedef struct vector {
    json_t *root;
    custos_domain domain;
    custos_attestation att;
} vector;

static const char *field_string(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("digest.json: %s: expected a string", key);
    return json_string_value(v);
}

static uint64_t field_u64(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        fail_msg("digest.json: %s: expected a non-negative integer", key);
    return (uint64_t)json_integer_value(v);
}

static void field_bytes(json_t *obj, const char *key, uint8_t *out, size_t len)
{
    custos_error err = {0};
    if (custos_hex_decode(field_string(obj, key), out, len, &err) != CUSTOS_OK)
        fail_msg("digest.json: %s: %s", key, err.message);
}

static void field_u256(json_t *obj, const char *key, custos_u256 *out)
{
    custos_error err = {0};
    const char *text = field_string(obj, key);
    if (custos_u256_from_dec(out, text, strlen(text), &err) != CUSTOS_OK)
        fail_msg("digest.json: %s: %s", key, err.message);
}

static json_t *field_object(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_object(v))
        fail_msg("digest.json: %s: expected an object", key);
    return v;
}

static int setup(void **state)
{
    static vector v;
    json_error_t jerr;
    memset(&v, 0, sizeof v);
    v.root = json_load_file(VECTOR_PATH, 0, &jerr);
    if (v.root == NULL)
        fail_msg("%s:%d: %s", VECTOR_PATH, jerr.line, jerr.text);

    json_t *dom = field_object(v.root, "domain");
    v.domain.chain_id = field_u64(dom, "chainId");
    field_bytes(dom, "verifyingContract", v.domain.verifying_contract, CUSTOS_ADDRESS_LEN);

    json_t *a = field_object(v.root, "attestation");
    field_bytes(a, "account", v.att.account, CUSTOS_HASH_LEN);
    field_bytes(a, "beneficiary", v.att.beneficiary, CUSTOS_ADDRESS_LEN);
    uint64_t kind = field_u64(a, "kind");
    assert_true(kind <= CUSTOS_KIND_FREEZE);
    v.att.kind = (uint8_t)kind;
    field_u256(a, "grossValue", &v.att.gross_value);
    field_u256(a, "collateralValue", &v.att.collateral_value);
    field_bytes(a, "positionsRoot", v.att.positions_root, CUSTOS_HASH_LEN);
    v.att.as_of = field_u64(a, "asOf");
    v.att.valid_until = field_u64(a, "validUntil");
    v.att.sequence = field_u64(a, "sequence");
    *state = &v;
    return 0;
}

static int teardown(void **state)
{
    vector *v = *state;
    json_decref(v->root);
    return 0;
}

static void expect_hash(json_t *root, const char *key, const uint8_t got[32])
{
    uint8_t want[32];
    field_bytes(root, key, want, sizeof want);
    char got_hex[2 + 64 + 1];
    assert_int_equal(custos_hex_encode(got, 32, got_hex, sizeof got_hex), CUSTOS_OK);
    if (memcmp(got, want, 32) != 0)
        fail_msg("%s: libcustos computes %s, the vector says %s", key, got_hex,
                 field_string(root, key));
}

/* The vector is for the type and domain strings libcustos hashes. */
static void test_type_and_domain_names(void **state)
{
    vector *v = *state;
    assert_string_equal(field_string(v->root, "typeString"), CUSTOS_ATTESTATION_TYPE);
    json_t *dom = field_object(v->root, "domain");
    assert_string_equal(field_string(dom, "name"), CUSTOS_EIP712_NAME);
    assert_string_equal(field_string(dom, "version"), CUSTOS_EIP712_VERSION);
}

static void test_domain_separator(void **state)
{
    vector *v = *state;
    uint8_t sep[32];
    custos_eip712_domain_separator(&v->domain, sep);
    expect_hash(v->root, "domainSeparator", sep);
}

static void test_struct_hash(void **state)
{
    vector *v = *state;
    uint8_t h[32];
    custos_attestation_struct_hash(&v->att, h);
    expect_hash(v->root, "structHash", h);
}

static void test_digest(void **state)
{
    vector *v = *state;
    uint8_t d[32];
    custos_attestation_digest(&v->domain, &v->att, d);
    expect_hash(v->root, "digest", d);

    uint8_t sep[32], d2[32];
    custos_eip712_domain_separator(&v->domain, sep);
    custos_attestation_digest_with_separator(sep, &v->att, d2);
    assert_memory_equal(d2, d, 32);
}

/* libcustos signs the vector's digest with the vector's key exactly as ethers did (both
 * RFC 6979, low-s), and recovers the vector's signer from the vector's signature. */
static void test_signature(void **state)
{
    vector *v = *state;
    json_t *s = field_object(v->root, "signature");
    uint8_t seckey[CUSTOS_SECKEY_LEN], want_addr[CUSTOS_ADDRESS_LEN], got_addr[CUSTOS_ADDRESS_LEN];
    custos_signature want_sig, got_sig;
    field_bytes(s, "privateKey", seckey, sizeof seckey);
    field_bytes(s, "address", want_addr, sizeof want_addr);
    field_bytes(s, "rsv", want_sig.bytes, sizeof want_sig.bytes);

    uint8_t d[32];
    custos_attestation_digest(&v->domain, &v->att, d);
    custos_secp *ctx = custos_secp_new();
    assert_non_null(ctx);
    custos_error err = {0};
    assert_int_equal(custos_sign_digest(ctx, seckey, d, &got_sig, &err), CUSTOS_OK);
    assert_memory_equal(got_sig.bytes, want_sig.bytes, CUSTOS_SIGNATURE_LEN);
    assert_int_equal(custos_recover_address(ctx, d, &want_sig, got_addr, &err), CUSTOS_OK);
    assert_memory_equal(got_addr, want_addr, CUSTOS_ADDRESS_LEN);
    custos_secp_free(ctx);
}

/* Each field of the attestation is part of the digest: changing any one of them moves it
 * off the vector. */
static void test_every_field_matters(void **state)
{
    vector *v = *state;
    uint8_t want[32];
    field_bytes(v->root, "digest", want, sizeof want);
    for (int field = 0; field < 9; field++) {
        custos_attestation a = v->att;
        switch (field) {
        case 0: a.account[31] ^= 1; break;
        case 1: a.beneficiary[19] ^= 1; break;
        case 2: a.kind ^= 1; break;
        case 3: a.gross_value.limb[0] ^= 1; break;
        case 4: a.collateral_value.limb[0] ^= 1; break;
        case 5: a.positions_root[0] ^= 1; break;
        case 6: a.as_of ^= 1; break;
        case 7: a.valid_until ^= 1; break;
        default: a.sequence ^= 1; break;
        }
        uint8_t d[32];
        custos_attestation_digest(&v->domain, &a, d);
        if (memcmp(d, want, 32) == 0)
            fail_msg("field %d changed but the digest did not", field);
    }
    custos_domain other = v->domain;
    other.chain_id ^= 1;
    uint8_t d[32];
    custos_attestation_digest(&other, &v->att, d);
    assert_memory_not_equal(d, want, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_and_domain_names),
        cmocka_unit_test(test_domain_separator),
        cmocka_unit_test(test_struct_hash),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_every_field_matters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
