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

static uint64_t keccak_rotl(uint64_t x, unsigned n)
{
    return (x << n) | (x >> (64 - n));
}

/* x86-64 hosts with AVX2 and BMI (x86-64-v3) run a build of the rounds that uses ANDN
 * and three-operand instructions, picked when the program loads (an ifunc, which glibc's
 * loader resolves): a quarter faster, and the gateway hashes about seven blocks per
 * account of a batch. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__GLIBC__)
#define KECCAK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define KECCAK_CLONES
#endif

/* The rounds written out lane by lane (no index arithmetic, no rotation table): the
 * gateway hashes five blocks per verified attestation, so this is on its hot path.
 * Lane (x, y) is a[x + 5y]; rho and pi send it to (y, 2x + 3y) rotated by its offset. */
KECCAK_CLONES
static void keccak_permute(uint64_t a[25])
{
    for (int round = 0; round < KECCAK_ROUNDS; round++) {
        /* theta */
        uint64_t c0 = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
        uint64_t c1 = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
        uint64_t c2 = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
        uint64_t c3 = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
        uint64_t c4 = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
        uint64_t d0 = c4 ^ keccak_rotl(c1, 1);
        uint64_t d1 = c0 ^ keccak_rotl(c2, 1);
        uint64_t d2 = c1 ^ keccak_rotl(c3, 1);
        uint64_t d3 = c2 ^ keccak_rotl(c4, 1);
        uint64_t d4 = c3 ^ keccak_rotl(c0, 1);
        /* rho and pi: every lane to its new place, rotated */
        uint64_t b[25];
        b[0] = a[0] ^ d0;
        b[10] = keccak_rotl(a[1] ^ d1, 1);
        b[20] = keccak_rotl(a[2] ^ d2, 62);
        b[5] = keccak_rotl(a[3] ^ d3, 28);
        b[15] = keccak_rotl(a[4] ^ d4, 27);
        b[16] = keccak_rotl(a[5] ^ d0, 36);
        b[1] = keccak_rotl(a[6] ^ d1, 44);
        b[11] = keccak_rotl(a[7] ^ d2, 6);
        b[21] = keccak_rotl(a[8] ^ d3, 55);
        b[6] = keccak_rotl(a[9] ^ d4, 20);
        b[7] = keccak_rotl(a[10] ^ d0, 3);
        b[17] = keccak_rotl(a[11] ^ d1, 10);
        b[2] = keccak_rotl(a[12] ^ d2, 43);
        b[12] = keccak_rotl(a[13] ^ d3, 25);
        b[22] = keccak_rotl(a[14] ^ d4, 39);
        b[23] = keccak_rotl(a[15] ^ d0, 41);
        b[8] = keccak_rotl(a[16] ^ d1, 45);
        b[18] = keccak_rotl(a[17] ^ d2, 15);
        b[3] = keccak_rotl(a[18] ^ d3, 21);
        b[13] = keccak_rotl(a[19] ^ d4, 8);
        b[14] = keccak_rotl(a[20] ^ d0, 18);
        b[24] = keccak_rotl(a[21] ^ d1, 2);
        b[9] = keccak_rotl(a[22] ^ d2, 61);
        b[19] = keccak_rotl(a[23] ^ d3, 56);
        b[4] = keccak_rotl(a[24] ^ d4, 14);
        /* chi */
        a[0] = b[0] ^ (~b[1] & b[2]);
        a[1] = b[1] ^ (~b[2] & b[3]);
        a[2] = b[2] ^ (~b[3] & b[4]);
        a[3] = b[3] ^ (~b[4] & b[0]);
        a[4] = b[4] ^ (~b[0] & b[1]);
        a[5] = b[5] ^ (~b[6] & b[7]);
        a[6] = b[6] ^ (~b[7] & b[8]);
        a[7] = b[7] ^ (~b[8] & b[9]);
        a[8] = b[8] ^ (~b[9] & b[5]);
        a[9] = b[9] ^ (~b[5] & b[6]);
        a[10] = b[10] ^ (~b[11] & b[12]);
        a[11] = b[11] ^ (~b[12] & b[13]);
        a[12] = b[12] ^ (~b[13] & b[14]);
        a[13] = b[13] ^ (~b[14] & b[10]);
        a[14] = b[14] ^ (~b[10] & b[11]);
        a[15] = b[15] ^ (~b[16] & b[17]);
        a[16] = b[16] ^ (~b[17] & b[18]);
        a[17] = b[17] ^ (~b[18] & b[19]);
        a[18] = b[18] ^ (~b[19] & b[15]);
        a[19] = b[19] ^ (~b[15] & b[16]);
        a[20] = b[20] ^ (~b[21] & b[22]);
        a[21] = b[21] ^ (~b[22] & b[23]);
        a[22] = b[22] ^ (~b[23] & b[24]);
        a[23] = b[23] ^ (~b[24] & b[20]);
        a[24] = b[24] ^ (~b[20] & b[21]);
        /* iota */
        a[0] ^= keccak_round_constants[round];
    }
}

/* Lanes are little-endian whatever the host byte order. */
static void keccak_absorb_block(uint64_t state[25], const uint8_t block[KECCAK_RATE])
{
    for (int i = 0; i < KECCAK_RATE / 8; i++) {
        uint64_t lane;
        memcpy(&lane, block + 8 * i, sizeof lane);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
        lane = __builtin_bswap64(lane);
#endif
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
