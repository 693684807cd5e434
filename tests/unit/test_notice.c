/* The CollateralNotice (docs/attestation.md §17) checked byte for byte against ethers v6
 * (tests/js/notice_check.mjs): domain separator, struct hash, digest, the signer ethers'
 * verifyTypedData recovers from our signature and RFC 6979 signatures, over a table of
 * notices in every state with zero and extreme values; and the notices that are refused. */
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
#include "custos/notice.h"
#include "custos/sig.h"
#include "custos/u256.h"
#include "testutil.h"

#define MAX_U256                                                                           \
    "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define ZERO_ADDR "0x0000000000000000000000000000000000000000"
#define KEY_ONE "0x0000000000000000000000000000000000000000000000000000000000000001"
#define KEY_ANVIL "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define KEY_MAX "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140"

typedef struct notice_case {
    const char *name;
    uint64_t chain_id;
    const char *contract;
    const char *account_ref;
    const char *lender;
    uint8_t state;
    uint32_t ltv;
    const char *exposure, *collateral;
    uint64_t deadline, sequence;
    const char *key;
} notice_case;

static const notice_case cases[] = {
    {"margin call on anvil", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3", "acct-0001",
     "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", CUSTOS_LOAN_MARGIN_CALL, 8000,
     "80000000000000000000000", "100000000000000000000000", 1767715200, 2, KEY_ANVIL},
    {"healthy on mainnet", 1, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", "acct-0002",
     "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", CUSTOS_LOAN_HEALTHY, 6000,
     "60000000000000000000000", "100000000000000000000000", 0, 1, KEY_ONE},
    {"margin return, no debt", 8453, "0x0000000000000000000000000000000000000001", "",
     ZERO_ADDR, CUSTOS_LOAN_MARGIN_RETURN, 0, "0", "0", 0, 18446744073709551614ULL, KEY_MAX},
    {"liquidation against no value", 9007199254740991ULL,
     "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF", "r",
     "0xFFfFfFffFFfffFFfFFfFFFFFffFFFffffFfFFFfF", CUSTOS_LOAN_LIQUIDATION,
     CUSTOS_LTV_UNBOUNDED, MAX_U256, "0", 0, UINT64_MAX, KEY_ANVIL},
    {"margin call with extreme values", 0, ZERO_ADDR, "x", ZERO_ADDR, CUSTOS_LOAN_MARGIN_CALL,
     CUSTOS_LTV_UNBOUNDED - 1, MAX_U256, MAX_U256, UINT64_MAX, 1, KEY_ONE},
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

static void build(const notice_case *c, custos_domain *d, custos_notice *n)
{
    custos_error err;
    memset(d, 0, sizeof *d);
    memset(n, 0, sizeof *n);
    d->chain_id = c->chain_id;
    assert_int_equal(custos_address_from_hex(c->contract, d->verifying_contract, &err),
                     CUSTOS_OK);
    custos_account_id("anchorage", c->account_ref, n->account);
    assert_int_equal(custos_address_from_hex(c->lender, n->lender, &err), CUSTOS_OK);
    n->state = c->state;
    n->ltv_bps = c->ltv;
    u256(c->exposure, &n->exposure);
    u256(c->collateral, &n->collateral_value);
    n->deadline = c->deadline;
    n->sequence = c->sequence;
}

/* The value of the "name value" line in the script's output. */
static void value_of(const char *out, const char *name, char *buf, size_t cap)
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
            return;
        }
        line = end ? end + 1 : NULL;
    }
    fail_msg("notice_check.mjs printed no %s; its output:\n%s", name, out);
}

static void expect_same(const notice_case *c, const char *what, const char *ours,
                        const char *out)
{
    char theirs[160];
    value_of(out, what, theirs, sizeof theirs);
    if (strcmp(ours, theirs) != 0)
        fail_msg("%s: %s differs: libcustos %s, ethers %s", c->name, what, ours, theirs);
}

static void check_case(fixture *f, const notice_case *c, size_t index)
{
    custos_domain d;
    custos_notice n;
    custos_error err;
    build(c, &d, &n);
    assert_int_equal(custos_notice_check(&n, &err), CUSTOS_OK);

    uint8_t sk[32], digest[32], sep[32], sh[32], addr[20], rec[20];
    decode(c->key, sk, 32);
    custos_notice_digest(&d, &n, digest);
    custos_signature sig;
    assert_int_equal(custos_sign_digest(f->ctx, sk, digest, &sig, &err), CUSTOS_OK);
    assert_int_equal(custos_recover_address(f->ctx, digest, &sig, rec, &err), CUSTOS_OK);
    assert_int_equal(custos_address_from_seckey(f->ctx, sk, addr, &err), CUSTOS_OK);
    assert_memory_equal(rec, addr, 20);

    char *json = NULL;
    assert_int_equal(custos_notice_typeddata_export(&d, &n, &sig, &json, &err), CUSTOS_OK);
    char path[1024];
    snprintf(path, sizeof path, "%s/notice-%zu.json", f->dir, index);
    tu_write_file(path, json);
    free(json);

    const char *args[] = {path, c->key, NULL};
    char out[4096];
    if (tu_node("notice_check.mjs", args, out, sizeof out) != 0)
        fail_msg("%s: notice_check.mjs failed; output:\n%s", c->name, out);

    char ours[160];
    custos_eip712_domain_separator(&d, sep);
    custos_notice_struct_hash(&n, sh);
    assert_int_equal(custos_hex_encode(sep, 32, ours, sizeof ours), CUSTOS_OK);
    expect_same(c, "domainSeparator", ours, out);
    assert_int_equal(custos_hex_encode(sh, 32, ours, sizeof ours), CUSTOS_OK);
    expect_same(c, "structHash", ours, out);
    assert_int_equal(custos_hex_encode(digest, 32, ours, sizeof ours), CUSTOS_OK);
    expect_same(c, "digest", ours, out);
    custos_address_to_hex(addr, ours);
    expect_same(c, "address", ours, out);
    expect_same(c, "recovered", ours, out);
    assert_int_equal(custos_hex_encode(sig.bytes, 65, ours, sizeof ours), CUSTOS_OK);
    expect_same(c, "signature", ours, out);
}

static void test_against_ethers(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(f, &cases[i], i);
}

/* A notice of one state is never the notice of another, nor an attestation. */
static void test_digest_binds_every_member(void **state)
{
    (void)state;
    custos_domain d;
    custos_notice base;
    build(&cases[0], &d, &base);
    uint8_t h0[32];
    custos_notice_digest(&d, &base, h0);
    for (int m = 0; m < 8; m++) {
        custos_notice n = base;
        switch (m) {
        case 0: n.account[31] ^= 1; break;
        case 1: n.lender[0] ^= 1; break;
        case 2: n.state = CUSTOS_LOAN_LIQUIDATION; break;
        case 3: n.ltv_bps++; break;
        case 4: n.exposure.limb[0]++; break;
        case 5: n.collateral_value.limb[3]++; break;
        case 6: n.deadline++; break;
        default: n.sequence++; break;
        }
        uint8_t h[32];
        custos_notice_digest(&d, &n, h);
        if (memcmp(h, h0, 32) == 0)
            fail_msg("member %d does not change the digest", m);
    }
}

static void test_refused(void **state)
{
    (void)state;
    custos_domain d;
    custos_notice n;
    custos_error err;
    build(&cases[0], &d, &n);
    n.state = 4;
    assert_int_equal(custos_notice_check(&n, &err), CUSTOS_ERR_INVALID);
    build(&cases[0], &d, &n);
    n.deadline = 0;
    assert_int_equal(custos_notice_check(&n, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "deadline"));
    build(&cases[1], &d, &n);
    n.deadline = 5;
    assert_int_equal(custos_notice_check(&n, &err), CUSTOS_ERR_INVALID);
    build(&cases[1], &d, &n);
    n.sequence = 0;
    assert_int_equal(custos_notice_check(&n, &err), CUSTOS_ERR_INVALID);

    build(&cases[1], &d, &n);
    d.chain_id = 9007199254740992ULL;
    custos_signature sig = {{0}};
    char *json = NULL;
    assert_int_equal(custos_notice_typeddata_export(&d, &n, &sig, &json, &err),
                     CUSTOS_ERR_INVALID);
    assert_null(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_ethers),
        cmocka_unit_test(test_digest_binds_every_member),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
