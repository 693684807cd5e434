/* Exact unsigned 256-bit integers and 18-decimal fixed-point money.
 * No floating point anywhere: every operation is exact or fails with CUSTOS_ERR_OVERFLOW. */
#ifndef CUSTOS_U256_H
#define CUSTOS_U256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Value = limb[0] + limb[1]*2^64 + limb[2]*2^128 + limb[3]*2^192. */
typedef struct custos_u256 {
    uint64_t limb[4];
} custos_u256;

/* Bytes of a uint256 in ABI encoding (big-endian). */
#define CUSTOS_U256_LEN 32
/* Decimals of every money amount in Custos (matches the on-chain uint256 values). */
#define CUSTOS_MONEY_DECIMALS 18
/* Longest decimal rendering of a u256 (78 digits), a '.', and the terminating NUL. */
#define CUSTOS_U256_DEC_MAX 80

void custos_u256_from_u64(custos_u256 *r, uint64_t v);
bool custos_u256_is_zero(const custos_u256 *a);
/* -1, 0 or 1 as a <, ==, > b. */
int custos_u256_cmp(const custos_u256 *a, const custos_u256 *b);

CUSTOS_MUST_USE
custos_rc custos_u256_add(custos_u256 *r, const custos_u256 *a, const custos_u256 *b);
/* CUSTOS_ERR_OVERFLOW when b > a. */
CUSTOS_MUST_USE
custos_rc custos_u256_sub(custos_u256 *r, const custos_u256 *a, const custos_u256 *b);
CUSTOS_MUST_USE
custos_rc custos_u256_mul(custos_u256 *r, const custos_u256 *a, const custos_u256 *b);
/* floor(a * b / d) with a 512-bit intermediate; CUSTOS_ERR_INVALID when d is zero,
 * CUSTOS_ERR_OVERFLOW when the quotient does not fit. */
CUSTOS_MUST_USE
custos_rc custos_u256_mul_div(custos_u256 *r, const custos_u256 *a, const custos_u256 *b,
                              const custos_u256 *d);

/* 32-byte big-endian, the ABI encoding of uint256. */
void custos_u256_to_be(const custos_u256 *a, uint8_t out[CUSTOS_U256_LEN]);
void custos_u256_from_be(custos_u256 *r, const uint8_t in[CUSTOS_U256_LEN]);

/* Plain decimal integer, digits only. */
CUSTOS_MUST_USE
custos_rc custos_u256_from_dec(custos_u256 *r, const char *s, size_t len, custos_error *err);
/* Writes NUL-terminated digits; returns CUSTOS_ERR_TOO_LARGE if cap is too small. */
CUSTOS_MUST_USE
custos_rc custos_u256_to_dec(const custos_u256 *a, char *buf, size_t cap);

/* Fixed point: "1234.5" with decimals=18 -> 1234500000000000000000. Refuses signs,
 * exponents, empty parts, and more fractional digits than `decimals`. */
CUSTOS_MUST_USE
custos_rc custos_fixed_parse(custos_u256 *r, const char *s, size_t len, unsigned decimals,
                             custos_error *err);
/* Inverse of custos_fixed_parse; trailing fractional zeros and a bare '.' are dropped. */
CUSTOS_MUST_USE
custos_rc custos_fixed_format(const custos_u256 *a, unsigned decimals, char *buf, size_t cap);

/* a * b / 10^18, floored: price (18 dec) times quantity (18 dec) -> value (18 dec). */
CUSTOS_MUST_USE
custos_rc custos_money_mul(custos_u256 *r, const custos_u256 *a, const custos_u256 *b);
/* v * (10000 - haircut_bps) / 10000, floored; haircut_bps must be <= 10000. */
CUSTOS_MUST_USE
custos_rc custos_money_apply_haircut(custos_u256 *r, const custos_u256 *v, uint32_t haircut_bps);

#ifdef __cplusplus
}
#endif
#endif
