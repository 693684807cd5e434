#include "accrual.h"

#include <stdio.h>
#include <string.h>

#define UNIT 1000000000000000000ull /* 1.0 with 18 decimals */

/* The period of interest that ends on `end`. In a first period `start` is the dated date
 * and `quasi` the regular coupon date one period before `end`, `quasi0` the one before that
 * (a long first period spans two quasi-periods); in a regular period all three are `start`. */
typedef struct period {
    custos_day start, end, quasi, quasi0;
} period;

/* Coupon date number k: the maturity stepped back k periods (k = 0 is the maturity). */
static custos_rc coupon_date(const at_coupon_terms *t, int k, custos_day *out,
                             custos_error *err)
{
    int y, m, d, next_y, next_m, next_d;
    custos_day_to_civil(t->maturity, &y, &m, &d);
    custos_day_to_civil(t->maturity + 1, &next_y, &next_m, &next_d);
    bool month_end = next_d == 1;
    int months = y * 12 + (m - 1) - t->months * k;
    int cy = months / 12, cm = months % 12 + 1;
    int cd = month_end ? 31 : d;
    custos_error derr;
    while (cd > 28 && custos_day_from_civil(cy, cm, cd, out, &derr) != CUSTOS_OK)
        cd--;
    if (custos_day_from_civil(cy, cm, cd, out, &derr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: coupon date %d before maturity: %s",
                                t->asset, k, derr.message);
    return CUSTOS_OK;
}

/* 100 years of coupons: a longer walk is a data error. */
static int max_coupons(const at_coupon_terms *t)
{
    return 1200 / t->months;
}

static void iso(custos_day d, char out[CUSTOS_ISO_DATE_LEN])
{
    custos_day_format(d, out);
}

/* The number k of the coupon date on `d`; refused when d is not on the schedule. */
static custos_rc coupon_number(const at_coupon_terms *t, custos_day d, const char *what, int *k,
                               custos_error *err)
{
    for (int i = 0; i <= max_coupons(t); i++) {
        custos_day c;
        custos_rc rc = coupon_date(t, i, &c, err);
        if (rc != CUSTOS_OK)
            return rc;
        if (c == d) {
            *k = i;
            return CUSTOS_OK;
        }
        if (c < d)
            break;
    }
    char a[CUSTOS_ISO_DATE_LEN], b[CUSTOS_ISO_DATE_LEN];
    iso(d, a);
    iso(t->maturity, b);
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "%s: %s %s is not a coupon date of a security maturing %s "
                            "(every %d months back from maturity)",
                            t->asset, what, a, b, t->months);
}

/* The first coupon: given, or the first coupon date after the dated date. *known is false
 * when the holdings give neither. */
static custos_rc first_coupon(const at_coupon_terms *t, bool *known, int *k_first,
                              custos_error *err)
{
    *known = t->has_first_coupon || t->has_dated_date;
    if (!*known)
        return CUSTOS_OK;
    if (t->has_first_coupon) {
        custos_rc rc = coupon_number(t, t->first_coupon, "first_coupon", k_first, err);
        if (rc == CUSTOS_OK && t->has_dated_date && t->dated_date >= t->first_coupon) {
            char a[CUSTOS_ISO_DATE_LEN], b[CUSTOS_ISO_DATE_LEN];
            iso(t->dated_date, a);
            iso(t->first_coupon, b);
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "%s: dated_date %s is not before first_coupon %s", t->asset,
                                  a, b);
        }
        return rc;
    }
    for (int i = 1; i <= max_coupons(t) + 1; i++) {
        custos_day c;
        custos_rc rc = coupon_date(t, i, &c, err);
        if (rc != CUSTOS_OK)
            return rc;
        if (c <= t->dated_date) {
            *k_first = i - 1;
            return CUSTOS_OK;
        }
    }
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "%s: maturity more than 100 years after the dated date", t->asset);
}

/* The first period, ending at coupon number k_first. */
static custos_rc first_period(const at_coupon_terms *t, int k_first, period *p,
                              custos_error *err)
{
    custos_rc rc = coupon_date(t, k_first, &p->end, err);
    if (rc == CUSTOS_OK)
        rc = coupon_date(t, k_first + 1, &p->quasi, err);
    if (rc == CUSTOS_OK)
        rc = coupon_date(t, k_first + 2, &p->quasi0, err);
    if (rc != CUSTOS_OK)
        return rc;
    p->start = t->dated_date;
    if (p->start < p->quasi0) {
        char a[CUSTOS_ISO_DATE_LEN], b[CUSTOS_ISO_DATE_LEN];
        iso(t->dated_date, a);
        iso(p->end, b);
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: a first coupon period from %s to %s is longer than two "
                                "regular periods",
                                t->asset, a, b);
    }
    if (p->start >= p->quasi)
        p->quasi0 = p->quasi;
    return CUSTOS_OK;
}

/* The regular period ending on coupon number k. */
static custos_rc regular_period(const at_coupon_terms *t, int k, period *p, custos_error *err)
{
    custos_rc rc = coupon_date(t, k, &p->end, err);
    if (rc == CUSTOS_OK)
        rc = coupon_date(t, k + 1, &p->start, err);
    p->quasi = p->quasi0 = p->start;
    return rc;
}

/* The period holding `date` (start <= date < end); with at_end, the one ending on it. */
static custos_rc find_period(const at_coupon_terms *t, custos_day date, bool at_end, period *p,
                             custos_error *err)
{
    char a[CUSTOS_ISO_DATE_LEN], b[CUSTOS_ISO_DATE_LEN];
    if (t->has_dated_date && date < t->dated_date) {
        iso(date, a);
        iso(t->dated_date, b);
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: %s is before its dated date %s, when interest starts: a "
                                "when-issued position is not valued",
                                t->asset, a, b);
    }
    bool known = false;
    int k_first = 0;
    custos_rc rc = first_coupon(t, &known, &k_first, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_day first = 0;
    if (known)
        rc = coupon_date(t, k_first, &first, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (known && (date < first || (at_end && date == first))) {
        if (!t->has_dated_date) {
            iso(date, a);
            iso(first, b);
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "%s: %s lies in its first coupon period (first coupon %s) "
                                    "and the holdings give no dated_date, so where the period "
                                    "starts is unknown (a first coupon may be irregular): add "
                                    "the dated_date",
                                    t->asset, a, b);
        }
        return first_period(t, k_first, p, err);
    }
    for (int k = 1; k <= max_coupons(t); k++) {
        custos_day c;
        rc = coupon_date(t, k, &c, err);
        if (rc != CUSTOS_OK)
            return rc;
        if (at_end ? c < date : c <= date)
            return regular_period(t, k - 1, p, err);
    }
    iso(date, a);
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "%s: maturity more than 100 years after %s", t->asset, a);
}

static void u256(custos_u256 *r, uint64_t v)
{
    custos_u256_from_u64(r, v);
}

/* principal x rate x num / (den x 100): rate in percent, num / den the fraction of a year
 * (actual/360) or of a coupon (ICMA, with the 1/2 folded into den). */
static custos_rc accrue(const at_coupon_terms *t, const custos_u256 *principal, uint64_t num,
                        uint64_t den, custos_u256 *out, custos_error *err)
{
    custos_u256 n, d, scale, hundred_den;
    u256(&n, num);
    u256(&scale, UNIT);
    u256(&hundred_den, den * 100);
    if (custos_u256_mul(&n, &t->rate, &n) != CUSTOS_OK ||
        custos_u256_mul(&d, &scale, &hundred_den) != CUSTOS_OK ||
        custos_u256_mul_div(out, principal, &n, &d) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                "%s: accrued interest does not fit in 256 bits", t->asset);
    return CUSTOS_OK;
}

/* Interest of period p from its start up to `to` (start <= to <= end). */
static custos_rc accrue_period(const at_coupon_terms *t, const custos_u256 *principal,
                               const period *p, custos_day to, custos_u256 *out,
                               custos_error *err)
{
    if (t->actual_360)
        return accrue(t, principal, (uint64_t)(to - p->start), 360, out, err);
    if (p->start >= p->quasi) /* regular, or a short first period */
        return accrue(t, principal, (uint64_t)(to - p->start),
                      2 * (uint64_t)(p->end - p->quasi), out, err);
    /* A long first period: the days in each quasi-period over that quasi-period's length,
     * summed as one fraction a/P0 + b/P1 = (a x P1 + b x P0) / (P0 x P1). */
    uint64_t a = (uint64_t)((to < p->quasi ? to : p->quasi) - p->start);
    uint64_t b = to > p->quasi ? (uint64_t)(to - p->quasi) : 0;
    uint64_t p0 = (uint64_t)(p->quasi - p->quasi0), p1 = (uint64_t)(p->end - p->quasi);
    return accrue(t, principal, a * p1 + b * p0, 2 * p0 * p1, out, err);
}

custos_rc at_accrued_interest(const at_coupon_terms *t, const custos_u256 *principal,
                              custos_day date, custos_u256 *out, custos_error *err)
{
    if (date >= t->maturity) {
        char a[CUSTOS_ISO_DATE_LEN];
        iso(t->maturity, a);
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: no interest accrues at or after its maturity %s", t->asset,
                                a);
    }
    period p;
    custos_rc rc = find_period(t, date, false, &p, err);
    if (rc == CUSTOS_OK)
        rc = accrue_period(t, principal, &p, date, out, err);
    return rc;
}

custos_rc at_final_coupon(const at_coupon_terms *t, const custos_u256 *principal,
                          custos_u256 *out, custos_error *err)
{
    period p;
    custos_rc rc = find_period(t, t->maturity, true, &p, err);
    if (rc == CUSTOS_OK)
        rc = accrue_period(t, principal, &p, t->maturity, out, err);
    return rc;
}
