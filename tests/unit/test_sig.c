/* Signatures and addresses: known keys, EIP-55 vectors, sign/recover round trips and
 * every way a signature must be refused. Signatures are cross-checked against ethers
 * byte for byte in test_eip712. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/sig.h"

static const uint8_t order_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

static int setup(void **state)
{
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL)
        return -1;
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    custos_secp_free(*state);
    return 0;
}

static void decode(const char *hex, uint8_t *out, size_t len)
{
    custos_error err;
    if (custos_hex_decode(hex, out, len, &err) != CUSTOS_OK)
        fail_msg("test vector %s: %s", hex, err.message);
}

/* out = a - b over 32-byte big-endian numbers, a >= b. */
static void sub_be(const uint8_t a[32], const uint8_t b[32], uint8_t out[32])
{
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = a[i] - b[i] - borrow;
        borrow = d < 0;
        out[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void test_known_addresses(void **state)
{
    custos_secp *ctx = *state;
    static const struct {
        const char *seckey;
        const char *address;
    } cases[] = {
        {"0x0000000000000000000000000000000000000000000000000000000000000001",
         "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"},
        {"0x0000000000000000000000000000000000000000000000000000000000000002",
         "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"},
        /* The first development account of Hardhat and Anvil. */
        {"0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
         "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t sk[32], addr[20];
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_error err;
        decode(cases[i].seckey, sk, sizeof sk);
        assert_int_equal(custos_address_from_seckey(ctx, sk, addr, &err), CUSTOS_OK);
        custos_address_to_hex(addr, hex);
        assert_string_equal(hex, cases[i].address);
    }
}

static void test_invalid_seckeys(void **state)
{
    custos_secp *ctx = *state;
    uint8_t zero[32] = {0}, addr[20], digest[32] = {1};
    custos_signature sig;
    custos_error err;
    const uint8_t *bad[] = {zero, order_n};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(custos_address_from_seckey(ctx, bad[i], addr, &err), CUSTOS_ERR_CRYPTO);
        assert_int_equal(custos_sign_digest(ctx, bad[i], digest, &sig, &err), CUSTOS_ERR_CRYPTO);
    }
}

/* The test vectors of the EIP-55 specification. */
static const char *const eip55_vectors[] = {
    "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
};

static void test_eip55(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof eip55_vectors / sizeof eip55_vectors[0]; i++) {
        const char *v = eip55_vectors[i];
        uint8_t addr[20], again[20];
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_error err;
        assert_int_equal(custos_address_from_hex(v, addr, &err), CUSTOS_OK);
        custos_address_to_hex(addr, hex);
        assert_string_equal(hex, v);

        /* Single-case spellings carry no checksum and are accepted. */
        char lower[43], upper[43];
        for (int j = 0; j < 43; j++) {
            lower[j] = (j < 2) ? v[j] : (char)((v[j] >= 'A' && v[j] <= 'F') ? v[j] + 32 : v[j]);
            upper[j] = (j < 2) ? v[j] : (char)((v[j] >= 'a' && v[j] <= 'f') ? v[j] - 32 : v[j]);
        }
        assert_int_equal(custos_address_from_hex(lower, again, &err), CUSTOS_OK);
        assert_memory_equal(again, addr, 20);
        assert_int_equal(custos_address_from_hex(upper, again, &err), CUSTOS_OK);
        assert_memory_equal(again, addr, 20);

        /* Flipping the case of any one letter of a mixed-case address breaks its checksum. */
        bool mixed = strcmp(v, lower) != 0 && strcmp(v, upper) != 0;
        for (int j = 2; mixed && j < 42; j++) {
            char typo[43];
            memcpy(typo, v, sizeof typo);
            if (typo[j] >= 'a' && typo[j] <= 'f')
                typo[j] = (char)(typo[j] - 32);
            else if (typo[j] >= 'A' && typo[j] <= 'F')
                typo[j] = (char)(typo[j] + 32);
            else
                continue;
            assert_int_equal(custos_address_from_hex(typo, again, &err), CUSTOS_ERR_INVALID);
            assert_non_null(strstr(err.message, "checksum"));
        }
    }
}

static void test_address_text_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "0x",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",   /* 39 digits */
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed0", /* 41 digits */
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg",  /* not hex */
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea d",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD",  /* wrong checksum */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t addr[20];
        custos_error err;
        if (custos_address_from_hex(bad[i], addr, &err) != CUSTOS_ERR_INVALID)
            fail_msg("address \"%s\" was accepted", bad[i]);
        assert_non_null(strstr(err.message, "address"));
    }
}

static void test_round_trip(void **state)
{
    custos_secp *ctx = *state;
    for (int i = 0; i < 32; i++) {
        uint8_t sk[32], addr[20], rec[20], digest[32], msg[8] = {(uint8_t)i};
        custos_signature sig, again;
        custos_error err;
        assert_int_equal(custos_seckey_generate(ctx, sk, &err), CUSTOS_OK);
        assert_int_equal(custos_address_from_seckey(ctx, sk, addr, &err), CUSTOS_OK);
        custos_keccak256(msg, sizeof msg, digest);
        assert_int_equal(custos_sign_digest(ctx, sk, digest, &sig, &err), CUSTOS_OK);
        assert_true(sig.bytes[64] == 27 || sig.bytes[64] == 28);
        assert_int_equal(custos_recover_address(ctx, digest, &sig, rec, &err), CUSTOS_OK);
        assert_memory_equal(rec, addr, 20);
        /* RFC 6979: the same key and digest always give the same signature. */
        assert_int_equal(custos_sign_digest(ctx, sk, digest, &again, &err), CUSTOS_OK);
        assert_memory_equal(again.bytes, sig.bytes, 65);
        /* Another digest does not recover to the signer. */
        digest[0] ^= 1;
        if (custos_recover_address(ctx, digest, &sig, rec, &err) == CUSTOS_OK)
            assert_memory_not_equal(rec, addr, 20);
    }
}

/* A plain ECDSA r||s as a token returns it (either s, no v) becomes the canonical
 * signature; the public key gives the same address as the secret key. */
static void test_signature_from_ecdsa(void **state)
{
    custos_secp *ctx = *state;
    bool saw27 = false, saw28 = false;
    for (int i = 0; i < 32; i++) {
        uint8_t sk[32], addr[20], from_pub[20], pub[CUSTOS_PUBKEY_LEN], digest[32],
            msg[8] = {(uint8_t)i}, rs[64];
        custos_signature want, got;
        custos_error err;
        assert_int_equal(custos_seckey_generate(ctx, sk, &err), CUSTOS_OK);
        assert_int_equal(custos_address_from_seckey(ctx, sk, addr, &err), CUSTOS_OK);
        assert_int_equal(custos_pubkey_from_seckey(ctx, sk, pub, &err), CUSTOS_OK);
        assert_int_equal(pub[0], 0x04);
        assert_int_equal(custos_address_from_pubkey(ctx, pub, from_pub, &err), CUSTOS_OK);
        assert_memory_equal(from_pub, addr, 20);
        custos_keccak256(msg, sizeof msg, digest);
        assert_int_equal(custos_sign_digest(ctx, sk, digest, &want, &err), CUSTOS_OK);
        saw27 |= want.bytes[64] == 27;
        saw28 |= want.bytes[64] == 28;

        memcpy(rs, want.bytes, 64);
        assert_int_equal(custos_signature_from_ecdsa(ctx, digest, rs, addr, &got, &err),
                         CUSTOS_OK);
        assert_memory_equal(got.bytes, want.bytes, 65);
        /* The high-s twin is as valid to plain ECDSA; it comes back low, same v. */
        sub_be(order_n, want.bytes + 32, rs + 32);
        assert_int_equal(custos_signature_from_ecdsa(ctx, digest, rs, addr, &got, &err),
                         CUSTOS_OK);
        assert_memory_equal(got.bytes, want.bytes, 65);
        /* Another key's address or another digest: neither recovery id fits. */
        uint8_t other[20];
        memcpy(other, addr, 20);
        other[0] ^= 1;
        assert_int_equal(custos_signature_from_ecdsa(ctx, digest, rs, other, &got, &err),
                         CUSTOS_ERR_CRYPTO);
        digest[0] ^= 1;
        assert_int_equal(custos_signature_from_ecdsa(ctx, digest, rs, addr, &got, &err),
                         CUSTOS_ERR_CRYPTO);
    }
    assert_true(saw27 && saw28);

    uint8_t rs[64], addr[20] = {0}, digest[32] = {1}, pub[CUSTOS_PUBKEY_LEN] = {0x04};
    custos_signature sig;
    custos_error err;
    memcpy(rs, order_n, 32); /* r = n */
    memset(rs + 32, 1, 32);
    assert_int_equal(custos_signature_from_ecdsa(ctx, digest, rs, addr, &sig, &err),
                     CUSTOS_ERR_CRYPTO);
    /* (0, 0) is not on the curve. */
    assert_int_equal(custos_address_from_pubkey(ctx, pub, addr, &err), CUSTOS_ERR_CRYPTO);
}

typedef enum { MUT_V, MUT_HIGH_S, MUT_R, MUT_S } mutation;

static void test_refusals(void **state)
{
    custos_secp *ctx = *state;
    static const struct {
        const char *name;
        mutation what;
        int v;            /* MUT_V: the v byte */
        const char *word; /* MUT_R / MUT_S: the replacement 32-byte word */
        custos_rc rc;
    } cases[] = {
        {"v=0", MUT_V, 0, NULL, CUSTOS_ERR_NONCANONICAL},
        {"v=1", MUT_V, 1, NULL, CUSTOS_ERR_NONCANONICAL},
        {"v=26", MUT_V, 26, NULL, CUSTOS_ERR_NONCANONICAL},
        {"v=29", MUT_V, 29, NULL, CUSTOS_ERR_NONCANONICAL},
        {"v=255", MUT_V, 255, NULL, CUSTOS_ERR_NONCANONICAL},
        {"high-s twin", MUT_HIGH_S, 0, NULL, CUSTOS_ERR_NONCANONICAL},
        {"r=0", MUT_R, 0, "0000000000000000000000000000000000000000000000000000000000000000",
         CUSTOS_ERR_CRYPTO},
        {"r=n", MUT_R, 0, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
         CUSTOS_ERR_CRYPTO},
        {"r=2^256-1", MUT_R, 0,
         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", CUSTOS_ERR_CRYPTO},
        {"s=0", MUT_S, 0, "0000000000000000000000000000000000000000000000000000000000000000",
         CUSTOS_ERR_CRYPTO},
        {"s=n", MUT_S, 0, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
         CUSTOS_ERR_CRYPTO},
        {"s=n+1", MUT_S, 0, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142",
         CUSTOS_ERR_CRYPTO},
        {"s=n/2+1", MUT_S, 0, "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a1",
         CUSTOS_ERR_NONCANONICAL},
    };
    uint8_t sk[32], digest[32], addr[20];
    custos_signature good;
    custos_error err;
    decode("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", sk, 32);
    custos_keccak256((const uint8_t *)"custos", 6, digest);
    assert_int_equal(custos_sign_digest(ctx, sk, digest, &good, &err), CUSTOS_OK);
    assert_int_equal(custos_address_from_seckey(ctx, sk, addr, &err), CUSTOS_OK);

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        custos_signature sig = good;
        switch (cases[i].what) {
        case MUT_V:
            sig.bytes[64] = (uint8_t)cases[i].v;
            break;
        case MUT_HIGH_S:
            /* (r, n - s) with the other parity is the same signature, malleated. */
            sub_be(order_n, good.bytes + 32, sig.bytes + 32);
            sig.bytes[64] = good.bytes[64] == 27 ? 28 : 27;
            break;
        case MUT_R:
            decode(cases[i].word, sig.bytes, 32);
            break;
        case MUT_S:
            decode(cases[i].word, sig.bytes + 32, 32);
            break;
        }
        uint8_t rec[20];
        custos_rc rc = custos_recover_address(ctx, digest, &sig, rec, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: got %s (%s), expected %s", cases[i].name, custos_rc_name(rc),
                     err.message, custos_rc_name(cases[i].rc));
        assert_non_null(strstr(err.message, "signature"));
    }

    /* s exactly n/2 is still canonical: the bound is inclusive. */
    custos_signature edge = good;
    decode("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", edge.bytes + 32, 32);
    uint8_t rec[20];
    custos_rc rc = custos_recover_address(ctx, digest, &edge, rec, &err);
    assert_true(rc == CUSTOS_OK || rc == CUSTOS_ERR_CRYPTO);
    assert_int_not_equal(rc, CUSTOS_ERR_NONCANONICAL);
}

/* Damaged signatures either fail to recover or recover to someone else: a verifier
 * comparing addresses always notices. */
static void test_garbage_detected(void **state)
{
    custos_secp *ctx = *state;
    uint8_t sk[32], digest[32], addr[20];
    custos_signature good;
    custos_error err;
    decode("0x0000000000000000000000000000000000000000000000000000000000000001", sk, 32);
    custos_keccak256((const uint8_t *)"garbage", 7, digest);
    assert_int_equal(custos_sign_digest(ctx, sk, digest, &good, &err), CUSTOS_OK);
    assert_int_equal(custos_address_from_seckey(ctx, sk, addr, &err), CUSTOS_OK);

    int recovered_other = 0;
    for (int bit = 0; bit < 64 * 8; bit += 3) {
        custos_signature sig = good;
        sig.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        uint8_t rec[20];
        custos_rc rc = custos_recover_address(ctx, digest, &sig, rec, &err);
        if (rc == CUSTOS_OK) {
            assert_memory_not_equal(rec, addr, 20);
            recovered_other++;
        } else {
            assert_true(rc == CUSTOS_ERR_CRYPTO || rc == CUSTOS_ERR_NONCANONICAL);
        }
    }
    /* Most flips still give a valid point; make sure that path was exercised. */
    assert_true(recovered_other > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_addresses),
        cmocka_unit_test(test_invalid_seckeys),
        cmocka_unit_test(test_eip55),
        cmocka_unit_test(test_address_text_refusals),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_signature_from_ecdsa),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_garbage_detected),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
