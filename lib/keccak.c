/* Keccak-256 (the pre-standard Keccak Ethereum uses): Keccak-f[1600], rate 136 bytes,
 * capacity 512 bits, padding 0x01 ... 0x80. */
#include "custos/keccak.h"

#include <string.h>

#include <openssl/crypto.h>

#define KECCAK_RATE 136
#define KECCAK_ROUNDS 24

static const uint64_t keccak_round_constants[KECCAK_ROUNDS] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
    0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
    0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
    0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
    0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
    0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
    0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Rotation offsets and lane order of the combined rho and pi steps, walking the
 * permutation cycle that starts at lane 1. */
static const unsigned keccak_rho[24] = {
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
};
static const unsigned keccak_pi[24] = {
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
};

static uint64_t keccak_rotl(uint64_t x, unsigned n)
{
    return (x << n) | (x >> (64 - n));
}

static void keccak_permute(uint64_t a[25])
{
    for (int round = 0; round < KECCAK_ROUNDS; round++) {
        /* theta */
        uint64_t c[5];
        for (int x = 0; x < 5; x++)
            c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
        for (int x = 0; x < 5; x++) {
            uint64_t d = c[(x + 4) % 5] ^ keccak_rotl(c[(x + 1) % 5], 1);
            for (int y = 0; y < 25; y += 5)
                a[y + x] ^= d;
        }
        /* rho and pi */
        uint64_t carry = a[1];
        for (int i = 0; i < 24; i++) {
            unsigned j = keccak_pi[i];
            uint64_t tmp = a[j];
            a[j] = keccak_rotl(carry, keccak_rho[i]);
            carry = tmp;
        }
        /* chi */
        for (int y = 0; y < 25; y += 5) {
            uint64_t row[5];
            for (int x = 0; x < 5; x++)
                row[x] = a[y + x];
            for (int x = 0; x < 5; x++)
                a[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
        }
        /* iota */
        a[0] ^= keccak_round_constants[round];
    }
}

/* Lanes are little-endian whatever the host byte order. */
static void keccak_absorb_block(uint64_t state[25], const uint8_t block[KECCAK_RATE])
{
    for (int i = 0; i < KECCAK_RATE / 8; i++) {
        uint64_t lane = 0;
        for (int b = 7; b >= 0; b--)
            lane = (lane << 8) | block[i * 8 + b];
        state[i] ^= lane;
    }
    keccak_permute(state);
}

void custos_keccak_init(custos_keccak *k)
{
    memset(k, 0, sizeof *k);
}

void custos_keccak_update(custos_keccak *k, const uint8_t *data, size_t len)
{
    if (len == 0)
        return;
    if (k->buf_len > 0) {
        size_t take = KECCAK_RATE - k->buf_len;
        if (take > len)
            take = len;
        memcpy(k->buf + k->buf_len, data, take);
        k->buf_len += take;
        data += take;
        len -= take;
        if (k->buf_len < KECCAK_RATE)
            return;
        keccak_absorb_block(k->state, k->buf);
        k->buf_len = 0;
    }
    while (len >= KECCAK_RATE) {
        keccak_absorb_block(k->state, data);
        data += KECCAK_RATE;
        len -= KECCAK_RATE;
    }
    if (len > 0) {
        memcpy(k->buf, data, len);
        k->buf_len = len;
    }
}

void custos_keccak_final(custos_keccak *k, uint8_t out[CUSTOS_KECCAK256_LEN])
{
    memset(k->buf + k->buf_len, 0, KECCAK_RATE - k->buf_len);
    k->buf[k->buf_len] ^= 0x01;
    k->buf[KECCAK_RATE - 1] ^= 0x80;
    keccak_absorb_block(k->state, k->buf);
    for (int i = 0; i < CUSTOS_KECCAK256_LEN; i++)
        out[i] = (uint8_t)(k->state[i / 8] >> (8 * (i % 8)));
    /* Leave nothing of the input behind: callers may hash secrets. */
    OPENSSL_cleanse(k, sizeof *k);
}

void custos_keccak256(const uint8_t *data, size_t len, uint8_t out[CUSTOS_KECCAK256_LEN])
{
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, data, len);
    custos_keccak_final(&k, out);
}
