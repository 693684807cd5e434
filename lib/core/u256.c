/* Exact unsigned 256-bit arithmetic on four 64-bit limbs (least significant first).
 * Limb products use the compiler's unsigned __int128, so no operation ever rounds. */
#include "custos/u256.h"

#include <string.h>

typedef unsigned __int128 u256_u128;

/* 10^18 fits a single limb. */
#define U256_MONEY_SCALE 1000000000000000000ULL
#define U256_BPS_SCALE 10000U
/* 10^77 < 2^256 <= 10^78: the largest power of ten a u256 holds. */
#define U256_MAX_DECIMALS 77U

void custos_u256_from_u64(custos_u256 *r, uint64_t v)
{
    r->limb[0] = v;
    r->limb[1] = 0;
    r->limb[2] = 0;
    r->limb[3] = 0;
}

bool custos_u256_is_zero(const custos_u256 *a)
{
    return (a->limb[0] | a->limb[1] | a->limb[2] | a->limb[3]) == 0;
}

int custos_u256_cmp(const custos_u256 *a, const custos_u256 *b)
{
    for (int i = 3; i >= 0; i--) {
        if (a->limb[i] != b->limb[i])
            return a->limb[i] < b->limb[i] ? -1 : 1;
    }
    return 0;
}

/* r = a + b mod 2^256; returns the carry out of the top limb. Aliasing is allowed. */
static uint64_t u256_add_carry(custos_u256 *r, const custos_u256 *a, const custos_u256 *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a->limb[i] + carry;
        uint64_t c1 = s < carry;
        uint64_t t = s + b->limb[i];
        uint64_t c2 = t < s;
        r->limb[i] = t;
        carry = c1 | c2;
    }
    return carry;
}

/* r = a - b mod 2^256; returns the borrow out of the top limb. Aliasing is allowed. */
static uint64_t u256_sub_borrow(custos_u256 *r, const custos_u256 *a, const custos_u256 *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t ai = a->limb[i];
        uint64_t d = ai - b->limb[i];
        uint64_t b1 = d > ai;
        uint64_t t = d - borrow;
        uint64_t b2 = t > d;
        r->limb[i] = t;
        borrow = b1 | b2;
    }
    return borrow;
}

custos_rc custos_u256_add(custos_u256 *r, const custos_u256 *a, const custos_u256 *b)
{
    custos_u256 t;
    if (u256_add_carry(&t, a, b) != 0)
        return CUSTOS_ERR_OVERFLOW;
    *r = t;
    return CUSTOS_OK;
}

custos_rc custos_u256_sub(custos_u256 *r, const custos_u256 *a, const custos_u256 *b)
{
    custos_u256 t;
    if (u256_sub_borrow(&t, a, b) != 0)
        return CUSTOS_ERR_OVERFLOW;
    *r = t;
    return CUSTOS_OK;
}

/* Full 512-bit product, out[0] least significant. */
static void u256_mul_wide(uint64_t out[8], const custos_u256 *a, const custos_u256 *b)
{
    memset(out, 0, 8 * sizeof out[0]);
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 4; j++) {
            /* a*b + out + carry <= (2^64-1)^2 + 2*(2^64-1) = 2^128-1: never wraps. */
            u256_u128 t = (u256_u128)a->limb[i] * b->limb[j] + out[i + j] + carry;
            out[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        out[i + 4] = carry;
    }
}

custos_rc custos_u256_mul(custos_u256 *r, const custos_u256 *a, const custos_u256 *b)
{
    uint64_t w[8];
    u256_mul_wide(w, a, b);
    if ((w[4] | w[5] | w[6] | w[7]) != 0)
        return CUSTOS_ERR_OVERFLOW;
    memcpy(r->limb, w, sizeof r->limb);
    return CUSTOS_OK;
}

custos_rc custos_u256_mul_div(custos_u256 *r, const custos_u256 *a, const custos_u256 *b,
                              const custos_u256 *d)
{
    if (custos_u256_is_zero(d))
        return CUSTOS_ERR_INVALID;
    uint64_t w[8];
    u256_mul_wide(w, a, b);

    /* The quotient fits 256 bits exactly when the high half of the product is below d;
     * that high half is then the initial remainder of a schoolbook binary division. */
    custos_u256 rem, lo, q;
    memcpy(rem.limb, w + 4, sizeof rem.limb);
    memcpy(lo.limb, w, sizeof lo.limb);
    if (custos_u256_cmp(&rem, d) >= 0)
        return CUSTOS_ERR_OVERFLOW;
    memset(&q, 0, sizeof q);

    for (int bit = 255; bit >= 0; bit--) {
        uint64_t next = (lo.limb[bit / 64] >> (bit % 64)) & 1;
        /* rem < d, so 2*rem + next < 2*d: the bit shifted out is the only extra state. */
        uint64_t top = rem.limb[3] >> 63;
        rem.limb[3] = (rem.limb[3] << 1) | (rem.limb[2] >> 63);
        rem.limb[2] = (rem.limb[2] << 1) | (rem.limb[1] >> 63);
        rem.limb[1] = (rem.limb[1] << 1) | (rem.limb[0] >> 63);
        rem.limb[0] = (rem.limb[0] << 1) | next;
        if (top != 0 || custos_u256_cmp(&rem, d) >= 0) {
            /* Wraps modulo 2^256 when top is set, landing on the true remainder < d. */
            u256_sub_borrow(&rem, &rem, d);
            q.limb[bit / 64] |= (uint64_t)1 << (bit % 64);
        }
    }
    *r = q;
    return CUSTOS_OK;
}

void custos_u256_to_be(const custos_u256 *a, uint8_t out[CUSTOS_U256_LEN])
{
    for (int i = 0; i < 32; i++)
        out[31 - i] = (uint8_t)(a->limb[i / 8] >> (8 * (i % 8)));
}

void custos_u256_from_be(custos_u256 *r, const uint8_t in[CUSTOS_U256_LEN])
{
    custos_u256 t = {{0, 0, 0, 0}};
    for (int i = 0; i < 32; i++)
        t.limb[i / 8] |= (uint64_t)in[31 - i] << (8 * (i % 8));
    *r = t;
}

/* r = r * m + add; returns the limb that did not fit (non-zero means overflow). */
static uint64_t u256_mul_small_add(custos_u256 *r, uint64_t m, uint64_t add)
{
    uint64_t carry = add;
    for (int i = 0; i < 4; i++) {
        u256_u128 t = (u256_u128)r->limb[i] * m + carry;
        r->limb[i] = (uint64_t)t;
        carry = (uint64_t)(t >> 64);
    }
    return carry;
}

/* q = a / d, returns a % d; d must be non-zero. */
static uint64_t u256_divmod_small(custos_u256 *q, const custos_u256 *a, uint64_t d)
{
    uint64_t rem = 0;
    for (int i = 3; i >= 0; i--) {
        u256_u128 cur = ((u256_u128)rem << 64) | a->limb[i];
        q->limb[i] = (uint64_t)(cur / d);
        rem = (uint64_t)(cur % d);
    }
    return rem;
}

/* Digits of s[0..len) appended to *r in base 10; the caller has checked they are digits. */
static custos_rc u256_push_digits(custos_u256 *r, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (u256_mul_small_add(r, 10, (uint64_t)(s[i] - '0')) != 0)
            return CUSTOS_ERR_OVERFLOW;
    }
    return CUSTOS_OK;
}

static bool u256_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Index of the first non-digit in s[0..len), or len. */
static size_t u256_span_digits(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && u256_is_digit(s[i]))
        i++;
    return i;
}

custos_rc custos_u256_from_dec(custos_u256 *r, const char *s, size_t len, custos_error *err)
{
    if (s == NULL || len == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "decimal integer is empty");
    size_t n = u256_span_digits(s, len);
    if (n != len)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "decimal integer has a non-digit character at offset %zu "
                                "(only 0-9 allowed)", n);
    custos_u256 t = {{0, 0, 0, 0}};
    if (u256_push_digits(&t, s, len) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                "decimal integer of %zu digits exceeds 2^256-1", len);
    *r = t;
    return CUSTOS_OK;
}

/* Writes the digits of a, most significant first, into buf (at least 78 bytes); returns
 * how many. */
static size_t u256_write_digits(const custos_u256 *a, char buf[78])
{
    /* Nineteen digits at a time: one 256-bit division by 10^19 per chunk (a 128-bit
     * division per limb), then the chunk's digits with 64-bit ones, instead of the 256-bit
     * division for every digit that made formatting a large share of writing proofs. */
    static const uint64_t chunk = UINT64_C(10000000000000000000);
    char rev[80];
    size_t n = 0;
    custos_u256 t = *a;
    do {
        uint64_t part = u256_divmod_small(&t, &t, chunk);
        bool last = custos_u256_is_zero(&t);
        for (int k = 0; k < 19 && (!last || part != 0 || k == 0); k++) {
            rev[n++] = (char)('0' + part % 10);
            part /= 10;
        }
    } while (!custos_u256_is_zero(&t));
    for (size_t i = 0; i < n; i++)
        buf[i] = rev[n - 1 - i];
    return n;
}

custos_rc custos_u256_to_dec(const custos_u256 *a, char *buf, size_t cap)
{
    char digits[78];
    size_t n = u256_write_digits(a, digits);
    if (buf == NULL || cap < n + 1)
        return CUSTOS_ERR_TOO_LARGE;
    memcpy(buf, digits, n);
    buf[n] = '\0';
    return CUSTOS_OK;
}

custos_rc custos_fixed_parse(custos_u256 *r, const char *s, size_t len, unsigned decimals,
                             custos_error *err)
{
    if (decimals > U256_MAX_DECIMALS)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "fixed-point decimals %u exceed the maximum of %u", decimals,
                                U256_MAX_DECIMALS);
    if (s == NULL || len == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "fixed-point number is empty");

    size_t int_len = u256_span_digits(s, len);
    if (int_len == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "fixed-point number must start with a digit (no sign, space "
                                "or bare '.')");
    size_t frac_len = 0;
    if (int_len < len) {
        if (s[int_len] != '.')
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "fixed-point number has an unexpected character at offset "
                                    "%zu (only digits and one '.')", int_len);
        const char *frac = s + int_len + 1;
        size_t rest = len - int_len - 1;
        frac_len = u256_span_digits(frac, rest);
        if (frac_len == 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "fixed-point number needs digits after '.'");
        if (frac_len != rest)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "fixed-point number has an unexpected character at offset "
                                    "%zu (only digits and one '.')", int_len + 1 + frac_len);
        if (frac_len > decimals)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "fixed-point number has %zu fractional digits, at most %u "
                                    "allowed", frac_len, decimals);
    }

    /* Reading every digit as one integer and then scaling by the missing fractional
     * places gives int * 10^decimals + frac * 10^(decimals - frac_len) exactly. */
    custos_u256 t = {{0, 0, 0, 0}};
    bool overflow = u256_push_digits(&t, s, int_len) != CUSTOS_OK;
    if (!overflow && frac_len > 0)
        overflow = u256_push_digits(&t, s + int_len + 1, frac_len) != CUSTOS_OK;
    for (size_t i = frac_len; !overflow && i < decimals; i++)
        overflow = u256_mul_small_add(&t, 10, 0) != 0;
    if (overflow)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                "fixed-point number exceeds 2^256-1 at %u decimals", decimals);
    *r = t;
    return CUSTOS_OK;
}

custos_rc custos_fixed_format(const custos_u256 *a, unsigned decimals, char *buf, size_t cap)
{
    if (decimals > U256_MAX_DECIMALS)
        return CUSTOS_ERR_INVALID;
    char digits[78];
    size_t n = u256_write_digits(a, digits);

    /* Left-pad with zeros so there is at least one integer digit: at most
     * max(decimals + 1, n) <= 78 characters. */
    char padded[78];
    size_t pad = n <= decimals ? decimals + 1 - n : 0;
    memset(padded, '0', pad);
    memcpy(padded + pad, digits, n);
    size_t total = pad + n;
    size_t int_len = total - decimals;
    size_t frac_len = decimals;
    while (frac_len > 0 && padded[int_len + frac_len - 1] == '0')
        frac_len--;

    size_t need = int_len + (frac_len > 0 ? 1 + frac_len : 0) + 1;
    if (buf == NULL || cap < need)
        return CUSTOS_ERR_TOO_LARGE;
    memcpy(buf, padded, int_len);
    size_t o = int_len;
    if (frac_len > 0) {
        buf[o++] = '.';
        memcpy(buf + o, padded + int_len, frac_len);
        o += frac_len;
    }
    buf[o] = '\0';
    return CUSTOS_OK;
}

custos_rc custos_money_mul(custos_u256 *r, const custos_u256 *a, const custos_u256 *b)
{
    custos_u256 scale;
    custos_u256_from_u64(&scale, U256_MONEY_SCALE);
    return custos_u256_mul_div(r, a, b, &scale);
}

custos_rc custos_money_apply_haircut(custos_u256 *r, const custos_u256 *v, uint32_t haircut_bps)
{
    if (haircut_bps > U256_BPS_SCALE)
        return CUSTOS_ERR_INVALID;
    custos_u256 keep, scale;
    custos_u256_from_u64(&keep, U256_BPS_SCALE - haircut_bps);
    custos_u256_from_u64(&scale, U256_BPS_SCALE);
    return custos_u256_mul_div(r, v, &keep, &scale);
}
