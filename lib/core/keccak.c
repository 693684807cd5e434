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
 * gateway hashes five blocks per verified attestation, so this is on its hot path. */
KECCAK_CLONES
static void keccak_permute(uint64_t a[25])
{
#define KECCAK_T uint64_t
#define KECCAK_ROTL keccak_rotl
#include "keccak_rounds.inc"
#undef KECCAK_ROTL
#undef KECCAK_T
}

/* Lane i of a block: little-endian whatever the host byte order. */
static uint64_t keccak_lane(const uint8_t block[KECCAK_RATE], int i)
{
    uint64_t lane;
    memcpy(&lane, block + 8 * i, sizeof lane);
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    lane = __builtin_bswap64(lane);
#endif
    return lane;
}

static void keccak_absorb_block(uint64_t state[25], const uint8_t block[KECCAK_RATE])
{
    for (int i = 0; i < KECCAK_RATE / 8; i++)
        state[i] ^= keccak_lane(block, i);
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

/* Several messages at once: KECCAK_LANES states side by side, lane w of message j at
 * st[w][j], so that each step of the rounds runs on one vector per lane: four 64-bit
 * lanes fill an AVX2 register. The gateway hashes about seven blocks per account of a
 * batch, each of one length across the batch's accounts. Four lanes hash four messages in
 * the time of about one and a half with AVX2 and of about 1.2 with AVX-512 (which adds
 * rotations and three-input logic); eight would gain a tenth more with AVX-512 but spill
 * AVX2's sixteen registers and gain nothing there (bench/README.md, "Batch
 * verification"). */
#define KECCAK_LANES 4
typedef uint64_t keccak_vec __attribute__((vector_size(8 * KECCAK_LANES)));

/* A macro, not a function: a vector argument's ABI depends on the clone's target. The
 * argument is pure, so naming it twice costs nothing. */
#define KECCAK_VROTL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/* Without AVX2 the vectors are split into what the host has (SSE2 on any x86-64): still
 * correct, and a quarter faster than one message at a time for full groups. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__GLIBC__)
#define KECCAK_MANY_CLONES                                                                   \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KECCAK_MANY_CLONES
#endif

KECCAK_MANY_CLONES
static void keccak_permute_many(uint64_t st[25][KECCAK_LANES])
{
    keccak_vec a[25];
    memcpy(a, st, sizeof a);
#define KECCAK_T keccak_vec
#define KECCAK_ROTL KECCAK_VROTL
#include "keccak_rounds.inc"
#undef KECCAK_ROTL
#undef KECCAK_T
    memcpy(st, a, sizeof a);
}

/* XORs one block of message j into its lanes. */
static void keccak_absorb_lane(uint64_t st[25][KECCAK_LANES], size_t j,
                               const uint8_t block[KECCAK_RATE])
{
    for (int i = 0; i < KECCAK_RATE / 8; i++)
        st[i][j] ^= keccak_lane(block, i);
}

void custos_keccak256_many(const uint8_t *data, size_t len, size_t stride, size_t n,
                           uint8_t (*out)[CUSTOS_KECCAK256_LEN])
{
    uint64_t st[25][KECCAK_LANES];
    for (size_t first = 0; first < n; first += KECCAK_LANES) {
        size_t m = n - first < KECCAK_LANES ? n - first : KECCAK_LANES;
        if (m == 1) {
            custos_keccak256(data + first * stride, len, out[first]);
            continue;
        }
        memset(st, 0, sizeof st);
        for (size_t off = 0;; off += KECCAK_RATE) {
            size_t take = len - off < KECCAK_RATE ? len - off : KECCAK_RATE;
            for (size_t j = 0; j < m; j++) {
                const uint8_t *p = data + (first + j) * stride + off;
                if (take == KECCAK_RATE) {
                    keccak_absorb_lane(st, j, p);
                } else {
                    uint8_t last[KECCAK_RATE] = {0};
                    memcpy(last, p, take);
                    last[take] ^= 0x01;
                    last[KECCAK_RATE - 1] ^= 0x80;
                    keccak_absorb_lane(st, j, last);
                }
            }
            keccak_permute_many(st);
            if (take < KECCAK_RATE)
                break;
        }
        for (size_t j = 0; j < m; j++)
            for (int i = 0; i < CUSTOS_KECCAK256_LEN; i++)
                out[first + j][i] = (uint8_t)(st[i / 8][j] >> (8 * (i % 8)));
    }
    /* Leave nothing of the inputs behind, as custos_keccak_final does. */
    OPENSSL_cleanse(st, sizeof st);
}
