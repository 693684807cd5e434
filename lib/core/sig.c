/* secp256k1 keys, EIP-2 canonical r||s||v signatures and Ethereum addresses. */
#include "custos/sig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include "custos/keccak.h"

#include "custos/hex.h"

struct custos_secp {
    secp256k1_context *ctx;
};

/* The group order n and floor(n / 2), big-endian. */
static const uint8_t sig_order[CUSTOS_SECKEY_LEN] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t sig_half_order[CUSTOS_SECKEY_LEN] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};

/* Attempts before giving up on drawing a valid secret key; a random 32-byte string is
 * out of range with probability about 2^-128, so reaching this means a broken RNG. */
#define SIG_KEYGEN_ATTEMPTS 8

custos_secp *custos_secp_new(void)
{
    custos_secp *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (s->ctx == NULL) {
        free(s);
        return NULL;
    }
    /* Blinding against side channels on the signing path. */
    uint8_t seed[CUSTOS_SECKEY_LEN];
    int ok = RAND_priv_bytes(seed, sizeof seed) == 1 &&
             secp256k1_context_randomize(s->ctx, seed) == 1;
    OPENSSL_cleanse(seed, sizeof seed);
    if (!ok) {
        custos_secp_free(s);
        return NULL;
    }
    return s;
}

void custos_secp_free(custos_secp *ctx)
{
    if (ctx == NULL)
        return;
    secp256k1_context_destroy(ctx->ctx);
    free(ctx);
}

custos_rc custos_seckey_generate(custos_secp *ctx, uint8_t seckey[CUSTOS_SECKEY_LEN],
                                 custos_error *err)
{
    if (ctx == NULL || seckey == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "key generation: NULL argument");
    for (int attempt = 0; attempt < SIG_KEYGEN_ATTEMPTS; attempt++) {
        if (RAND_priv_bytes(seckey, CUSTOS_SECKEY_LEN) != 1)
            break;
        if (secp256k1_ec_seckey_verify(ctx->ctx, seckey) == 1)
            return CUSTOS_OK;
    }
    OPENSSL_cleanse(seckey, CUSTOS_SECKEY_LEN);
    return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                            "key generation: the system random generator failed");
}

static void sig_address_from_pubkey(const secp256k1_context *c, const secp256k1_pubkey *pk,
                                    uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    uint8_t raw[CUSTOS_PUBKEY_LEN];
    size_t raw_len = sizeof raw;
    /* Cannot fail with a 65-byte buffer and the uncompressed flag. */
    (void)secp256k1_ec_pubkey_serialize(c, raw, &raw_len, pk, SECP256K1_EC_UNCOMPRESSED);
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_keccak256(raw + 1, CUSTOS_PUBKEY_LEN - 1, hash);
    memcpy(addr, hash + CUSTOS_HASH_LEN - CUSTOS_ADDRESS_LEN, CUSTOS_ADDRESS_LEN);
}

custos_rc custos_address_from_seckey(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                                     uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    if (ctx == NULL || seckey == NULL || addr == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "address from key: NULL argument");
    secp256k1_pubkey pk;
    if (secp256k1_ec_pubkey_create(ctx->ctx, &pk, seckey) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "secret key is not valid: it must be in 1..n-1 of secp256k1");
    sig_address_from_pubkey(ctx->ctx, &pk, addr);
    return CUSTOS_OK;
}

custos_rc custos_sign_digest(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                             const uint8_t digest[CUSTOS_HASH_LEN], custos_signature *sig,
                             custos_error *err)
{
    if (ctx == NULL || seckey == NULL || digest == NULL || sig == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "sign: NULL argument");
    secp256k1_ecdsa_recoverable_signature rs;
    /* NULL nonce function: RFC 6979; libsecp256k1 always produces low s. */
    if (secp256k1_ecdsa_sign_recoverable(ctx->ctx, &rs, digest, seckey, NULL, NULL) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "sign: secret key is not valid: it must be in 1..n-1 of "
                                "secp256k1");
    int recid = 0;
    (void)secp256k1_ecdsa_recoverable_signature_serialize_compact(ctx->ctx, sig->bytes, &recid,
                                                                  &rs);
    sig->bytes[64] = (uint8_t)(27 + recid);
    return CUSTOS_OK;
}

static int sig_cmp_be(const uint8_t a[CUSTOS_SECKEY_LEN], const uint8_t b[CUSTOS_SECKEY_LEN])
{
    return memcmp(a, b, CUSTOS_SECKEY_LEN);
}

static bool sig_is_zero(const uint8_t a[CUSTOS_SECKEY_LEN])
{
    static const uint8_t zero[CUSTOS_SECKEY_LEN];
    return memcmp(a, zero, CUSTOS_SECKEY_LEN) == 0;
}

custos_rc custos_recover_address(custos_secp *ctx, const uint8_t digest[CUSTOS_HASH_LEN],
                                 const custos_signature *sig, uint8_t addr[CUSTOS_ADDRESS_LEN],
                                 custos_error *err)
{
    if (ctx == NULL || digest == NULL || sig == NULL || addr == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "recover: NULL argument");
    const uint8_t *r = sig->bytes, *s = sig->bytes + CUSTOS_SECKEY_LEN;
    uint8_t v = sig->bytes[64];
    if (v != 27 && v != 28)
        return custos_error_set(err, CUSTOS_ERR_NONCANONICAL,
                                "signature v is %u, must be 27 or 28", (unsigned)v);
    if (sig_is_zero(r) || sig_cmp_be(r, sig_order) >= 0)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "signature r is out of range (zero or >= curve order)");
    if (sig_is_zero(s) || sig_cmp_be(s, sig_order) >= 0)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "signature s is out of range (zero or >= curve order)");
    /* EIP-2: only the lower half of s, so a signature cannot be malleated into a second
     * valid one. */
    if (sig_cmp_be(s, sig_half_order) > 0)
        return custos_error_set(err, CUSTOS_ERR_NONCANONICAL,
                                "signature s is above n/2 (high-s, EIP-2 forbids it)");

    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_pubkey pk;
    if (secp256k1_ecdsa_recoverable_signature_parse_compact(ctx->ctx, &rs, sig->bytes,
                                                            v - 27) != 1 ||
        secp256k1_ecdsa_recover(ctx->ctx, &pk, &rs, digest) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "signature does not recover to any public key");
    sig_address_from_pubkey(ctx->ctx, &pk, addr);
    return CUSTOS_OK;
}

custos_rc custos_pubkey_from_seckey(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                                    uint8_t pubkey[CUSTOS_PUBKEY_LEN], custos_error *err)
{
    if (ctx == NULL || seckey == NULL || pubkey == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "public key: NULL argument");
    secp256k1_pubkey pk;
    if (secp256k1_ec_pubkey_create(ctx->ctx, &pk, seckey) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "secret key is not valid: it must be in 1..n-1 of secp256k1");
    size_t len = CUSTOS_PUBKEY_LEN;
    (void)secp256k1_ec_pubkey_serialize(ctx->ctx, pubkey, &len, &pk, SECP256K1_EC_UNCOMPRESSED);
    return CUSTOS_OK;
}

custos_rc custos_address_from_pubkey(custos_secp *ctx, const uint8_t pubkey[CUSTOS_PUBKEY_LEN],
                                     uint8_t addr[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    if (ctx == NULL || pubkey == NULL || addr == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "address from public key: NULL argument");
    secp256k1_pubkey pk;
    if (pubkey[0] != 0x04 ||
        secp256k1_ec_pubkey_parse(ctx->ctx, &pk, pubkey, CUSTOS_PUBKEY_LEN) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "public key is not an uncompressed point of secp256k1");
    sig_address_from_pubkey(ctx->ctx, &pk, addr);
    return CUSTOS_OK;
}

custos_rc custos_signature_from_ecdsa(custos_secp *ctx, const uint8_t digest[CUSTOS_HASH_LEN],
                                      const uint8_t rs[CUSTOS_ECDSA_RS_LEN],
                                      const uint8_t addr[CUSTOS_ADDRESS_LEN], custos_signature *sig,
                                      custos_error *err)
{
    if (ctx == NULL || digest == NULL || rs == NULL || addr == NULL || sig == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "signature from ECDSA: NULL argument");
    secp256k1_ecdsa_signature plain;
    if (secp256k1_ecdsa_signature_parse_compact(ctx->ctx, &plain, rs) != 1)
        return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                "ECDSA signature r or s is out of range (>= curve order)");
    /* Plain ECDSA accepts s and n - s alike; EIP-2 keeps only the lower one. */
    (void)secp256k1_ecdsa_signature_normalize(ctx->ctx, &plain, &plain);
    uint8_t low[CUSTOS_ECDSA_RS_LEN];
    (void)secp256k1_ecdsa_signature_serialize_compact(ctx->ctx, low, &plain);
    custos_signature cand;
    memcpy(cand.bytes, low, sizeof low);
    for (uint8_t v = 27; v <= 28; v++) {
        cand.bytes[64] = v;
        uint8_t got[CUSTOS_ADDRESS_LEN];
        custos_error ignored;
        if (custos_recover_address(ctx, digest, &cand, got, &ignored) == CUSTOS_OK &&
            memcmp(got, addr, CUSTOS_ADDRESS_LEN) == 0) {
            *sig = cand;
            return CUSTOS_OK;
        }
    }
    return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                            "the ECDSA signature does not recover to the key's address with "
                            "either recovery id");
}

/* Digits of an address, without "0x". */
#define SIG_ADDRESS_DIGITS (2 * CUSTOS_ADDRESS_LEN)
_Static_assert(CUSTOS_ADDRESS_HEX_LEN == CUSTOS_HEX_LEN(CUSTOS_ADDRESS_LEN),
               "the text of an address is its hex text");

void custos_address_to_hex(const uint8_t addr[CUSTOS_ADDRESS_LEN], char out[CUSTOS_ADDRESS_HEX_LEN])
{
    if (custos_hex_encode(addr, CUSTOS_ADDRESS_LEN, out, CUSTOS_ADDRESS_HEX_LEN) != CUSTOS_OK) {
        /* Only a NULL addr gets here: an empty text rather than stale bytes. */
        out[0] = '\0';
        return;
    }
    /* EIP-55: a letter is capitalised when the same nibble of keccak256(lowercase digits)
     * is 8 or more. */
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_keccak256((const uint8_t *)out + 2, SIG_ADDRESS_DIGITS, hash);
    for (int i = 0; i < SIG_ADDRESS_DIGITS; i++) {
        unsigned nibble = (i % 2 == 0) ? hash[i / 2] >> 4 : hash[i / 2] & 0x0f;
        char *c = &out[2 + i];
        if (*c >= 'a' && nibble >= 8)
            *c = (char)(*c - 'a' + 'A');
    }
}

custos_rc custos_address_from_hex(const char *text, uint8_t addr[CUSTOS_ADDRESS_LEN],
                                  custos_error *err)
{
    if (text == NULL || addr == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "address: NULL argument");
    const char *digits = text;
    if (digits[0] == '0' && digits[1] == 'x')
        digits += 2;
    if (strnlen(digits, SIG_ADDRESS_DIGITS + 1) != SIG_ADDRESS_DIGITS)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "address must be 0x followed by exactly 40 hex digits");
    uint8_t tmp[CUSTOS_ADDRESS_LEN];
    custos_error why;
    if (custos_hex_decode(digits, tmp, CUSTOS_ADDRESS_LEN, &why) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "address: %s", why.message);
    bool has_lower = false, has_upper = false;
    for (int i = 0; i < SIG_ADDRESS_DIGITS; i++) {
        has_lower |= digits[i] >= 'a' && digits[i] <= 'f';
        has_upper |= digits[i] >= 'A' && digits[i] <= 'F';
    }
    /* Mixed case claims an EIP-55 checksum: it must be the right one (catches typos). */
    if (has_lower && has_upper) {
        char expect[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(tmp, expect);
        if (memcmp(expect + 2, digits, SIG_ADDRESS_DIGITS) != 0)
            /* The correct checksum is not shown: copying it would bless the typo. */
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "address has a wrong EIP-55 checksum; check it for typos "
                                    "against its source");
    }
    memcpy(addr, tmp, CUSTOS_ADDRESS_LEN);
    return CUSTOS_OK;
}
