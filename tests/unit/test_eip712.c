/* EIP-712 hashing, account ids and signatures checked byte for byte against ethers v6
 * (tests/js/eip712_check.mjs) over a table of attestations covering every kind, zero and
 * extreme values, several chains and contracts, and several signers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "custos/typeddata.h"
#include "custos/u256.h"
#include "testutil.h"

#define MAX_U256                                                                           \
    "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define ZERO_ADDR "0x0000000000000000000000000000000000000000"
#define ZERO_HASH "0x0000000000000000000000000000000000000000000000000000000000000000"

/* Fixed test keys: 1, the first Anvil account, an arbitrary one, and n - 1 (the largest). */
#define KEY_ONE "0x0000000000000000000000000000000000000000000000000000000000000001"
#define KEY_ANVIL "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define KEY_OTHER "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
#define KEY_MAX "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"

typedef struct eip_case {
    const char *name;
    uint64_t chain_id;
    const char *contract;
    const char *custodian;
    const char *account_ref;
    const char *beneficiary;
    uint8_t kind;
    const char *gross;
    const char *collateral;
    const char *root;
    uint64_t as_of, valid_until, sequence;
    const char *keys[4];
} eip_case;

static const eip_case cases[] = {
    {"valuation on mainnet", 1, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "anchorage",
     "acct-0001", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 0,
     "25000000000000000000000000", "24875000000000000000000000",
     "0x8f3b5e2c6a1d4e7f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607", 1767225600,
     1767484800, 1, {KEY_ANVIL, NULL}},
    {"release, zero beneficiary", 11155111, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
     "anchorage", "acct-0001", ZERO_ADDR, 1, "0", "0", ZERO_HASH, 1767312000, 1767571200, 2,
     {KEY_ANVIL, KEY_OTHER, NULL}},
    {"freeze on anvil", 31337, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0", "custodian-x",
     "", "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", 2, "1", "0", ZERO_HASH, 0, 1,
     UINT64_MAX, {KEY_ONE, NULL}},
    {"maximum values", 9007199254740991ULL, "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF",
     "c", "r", "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF", 0, MAX_U256, MAX_U256,
     "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", UINT64_MAX,
     UINT64_MAX, UINT64_MAX, {KEY_MAX, KEY_ONE, KEY_ANVIL, NULL}},
    {"chain 0, zero contract", 0, ZERO_ADDR, "", "", ZERO_ADDR, 0, "0", "0", ZERO_HASH, 0, 0, 0,
     {KEY_OTHER, NULL}},
    /* Strings of 31, 32 and 33 bytes and multi-byte UTF-8 exercise the ABI padding. */
    {"long and UTF-8 account strings", 8453, "0x0000000000000000000000000000000000000001",
     "0123456789abcdefghijklmnopqrstu", "0123456789abcdefghijklmnopqrstuvw", ZERO_ADDR, 0,
     "340282366920938463463374607431768211456", "18446744073709551616",
     "0x0102030405060708091011121314151617181920212223242526272829303132", 4294967296,
     4294967297, 18446744073709551614ULL, {KEY_ONE, NULL}},
    {"UTF-8 custodian", 137, "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
     "Banque G\xc3\xa9n\xc3\xa9rale \xe2\x82\xac", "0123456789abcdefghijklmnopqrstuv",
     "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb", 0, "999999999999999999", "1",
     "0xa000000000000000000000000000000000000000000000000000000000000005", 1700000000,
     1700086400, 42, {KEY_OTHER, KEY_MAX, NULL}},
};

typedef struct fixture {
    custos_secp *ctx;
    char dir[512];
} fixture;

static int setup(void **state)
{
    static fixture f;
    f.ctx = custos_secp_new();
    if (f.ctx == NULL)
        return -1;
    tu_mkdtemp(f.dir, sizeof f.dir);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    custos_secp_free(f->ctx);
    tu_rmtree(f->dir);
    return 0;
}

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

static void hex32(const uint8_t b[32], char out[67])
{
    assert_int_equal(custos_hex_encode(b, 32, out, 67), CUSTOS_OK);
}

static void build(const fixture *f, const eip_case *c, custos_submission *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "ust-bills");
    s->domain.chain_id = c->chain_id;
    custos_error err;
    assert_int_equal(custos_address_from_hex(c->contract, s->domain.verifying_contract, &err),
                     CUSTOS_OK);
    custos_attestation *a = &s->att;
    custos_account_id(c->custodian, c->account_ref, a->account);
    assert_int_equal(custos_address_from_hex(c->beneficiary, a->beneficiary, &err), CUSTOS_OK);
    a->kind = c->kind;
    u256(c->gross, &a->gross_value);
    u256(c->collateral, &a->collateral_value);
    decode(c->root, a->positions_root, 32);
    a->as_of = c->as_of;
    a->valid_until = c->valid_until;
    a->sequence = c->sequence;

    uint8_t digest[32];
    custos_attestation_digest(&s->domain, a, digest);
    for (size_t i = 0; c->keys[i] != NULL; i++) {
        uint8_t sk[32];
        decode(c->keys[i], sk, 32);
        assert_int_equal(custos_sign_digest(f->ctx, sk, digest, &s->sigs[i], &err), CUSTOS_OK);
        s->n_sigs++;
    }
}

/* The value of the "name value" line in the script's output. */
static const char *value_of(const char *out, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);
    for (const char *line = out; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncmp(line, name, n) == 0 && line[n] == ' ') {
            size_t vlen = len - n - 1;
            assert_true(vlen < cap);
            memcpy(buf, line + n + 1, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        line = end ? end + 1 : NULL;
    }
    fail_msg("eip712_check.mjs printed no %s; its output:\n%s", name, out);
    return NULL;
}

static void expect_same(const eip_case *c, const char *what, const char *ours,
                        const char *ethers)
{
    if (strcmp(ours, ethers) != 0)
        fail_msg("%s: %s differs: libcustos %s, ethers %s", c->name, what, ours, ethers);
}

static void check_case(fixture *f, const eip_case *c, size_t index)
{
    custos_submission s;
    build(f, c, &s);
    custos_error err;
    char *json = NULL;
    assert_int_equal(custos_typeddata_export(&s, &json, &err), CUSTOS_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/case-%zu.json", f->dir, index);
    tu_write_file(path, json);
    free(json);

    const char *args[8] = {path, c->custodian, c->account_ref};
    size_t n_keys = 0;
    for (; c->keys[n_keys] != NULL; n_keys++)
        args[3 + n_keys] = c->keys[n_keys];
    args[3 + n_keys] = NULL;
    char out[8192];
    if (tu_node("eip712_check.mjs", args, out, sizeof out) != 0)
        fail_msg("%s: eip712_check.mjs failed; output:\n%s", c->name, out);

    uint8_t sep[32], sh[32], digest[32], digest2[32];
    char ours[160], theirs[160];
    custos_eip712_domain_separator(&s.domain, sep);
    custos_attestation_struct_hash(&s.att, sh);
    custos_attestation_digest(&s.domain, &s.att, digest);
    custos_attestation_digest_with_separator(sep, &s.att, digest2);
    assert_memory_equal(digest, digest2, 32);

    hex32(sep, ours);
    expect_same(c, "domain separator", ours, value_of(out, "domainSeparator", theirs, 160));
    hex32(sh, ours);
    expect_same(c, "struct hash", ours, value_of(out, "structHash", theirs, 160));
    hex32(digest, ours);
    expect_same(c, "digest", ours, value_of(out, "digest", theirs, 160));
    hex32(s.att.account, ours);
    expect_same(c, "account id", ours, value_of(out, "accountId", theirs, 160));

    for (size_t i = 0; i < n_keys; i++) {
        char name[32];
        uint8_t sk[32], addr[20], rec[20];
        decode(c->keys[i], sk, 32);
        assert_int_equal(custos_address_from_seckey(f->ctx, sk, addr, &err), CUSTOS_OK);
        custos_address_to_hex(addr, ours);
        snprintf(name, sizeof name, "address%zu", i);
        expect_same(c, name, ours, value_of(out, name, theirs, 160));

        /* What ethers recovers from our signature is the signer, and so is what we do. */
        snprintf(name, sizeof name, "recovered%zu", i);
        expect_same(c, name, ours, value_of(out, name, theirs, 160));
        assert_int_equal(custos_recover_address(f->ctx, digest, &s.sigs[i], rec, &err),
                         CUSTOS_OK);
        assert_memory_equal(rec, addr, 20);

        /* RFC 6979 is deterministic: both libraries must produce the same 65 bytes. */
        assert_int_equal(custos_hex_encode(s.sigs[i].bytes, 65, ours, sizeof ours), CUSTOS_OK);
        snprintf(name, sizeof name, "signature%zu", i);
        expect_same(c, name, ours, value_of(out, name, theirs, 160));
    }
    custos_submission_clear(&s);
}

static void test_against_ethers(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(f, &cases[i], i);
}

/* The separator depends on every domain input; a cached one must not go stale silently. */
static void test_domain_binds_chain_and_contract(void **state)
{
    (void)state;
    custos_domain a = {.chain_id = 1}, b = a, c = a;
    b.chain_id = 2;
    c.verifying_contract[19] = 1;
    uint8_t ha[32], hb[32], hc[32];
    custos_eip712_domain_separator(&a, ha);
    custos_eip712_domain_separator(&b, hb);
    custos_eip712_domain_separator(&c, hc);
    assert_memory_not_equal(ha, hb, 32);
    assert_memory_not_equal(ha, hc, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_ethers),
        cmocka_unit_test(test_domain_binds_chain_and_contract),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
