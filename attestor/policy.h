/* The valuation policy:
 *   {"haircuts_bps": {"bill": 50, "note": 200, "bond": 800, "mmf": 200},
 *    "ttl_business_days": 1, "max_price_age_business_days": 1,
 *    "calendar": "us-bond-market.txt"}
 * A haircut is the share of an asset class's value a lender may not count, in basis points.
 *
 * Validity: exactly one of "ttl_seconds" (validUntil = asOf + ttl_seconds) and
 * "ttl_business_days" (validUntil = 23:59:59 New York time on the N-th bond-market business
 * day after asOf's New York date: a Friday close with 1 stays valid through Monday).
 * Price age: exactly one of "max_price_age_seconds" and "max_price_age_business_days" (a
 * price is too old when more than N business days lie after its New York date, up to and
 * including today's: a Tuesday close is stale on Thursday with 1, a Friday close is fresh
 * on Monday). "calendar" is the bond-market calendar file (custos/calendar.h), relative to
 * the policy file's directory; without it the calendar built into the attestor is used. It
 * is always loaded: Treasuries settle T+1 on it, and accrue interest to that date.
 * "long_bond_years" (optional): a note or bond with more than that many years to maturity
 * takes the haircut of class "long_bond" (which haircuts_bps must then have).
 * Price sources over HTTPS (price_source.h, price_quorum.h), all optional:
 * "price_quorum" (1 to 8: how many sources must answer and agree on an instrument; absent:
 * all of them), "max_price_disagreement_bps" (default 50: how far from the median a quote
 * may lie and still agree), "price_connect_timeout_ms" (3000), "price_timeout_ms" (10000),
 * "price_retries" (2), "price_backoff_ms" (250). */
#ifndef AT_POLICY_H
#define AT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/calendar.h"
#include "custos/error.h"
#include "holdings.h"

/* A year: attestations and prices older than that are policy errors. */
#define AT_POLICY_SECONDS_MAX 31536000u
#define AT_POLICY_BUSINESS_DAYS_MAX 250u

typedef struct at_haircut {
    char asset_class[AT_CLASS_MAX + 1];
    uint32_t bps; /* 0..10000 */
} at_haircut;

typedef struct at_policy {
    at_haircut *haircuts;
    size_t n_haircuts;
    bool ttl_in_business_days;
    uint64_t ttl_seconds;           /* when !ttl_in_business_days */
    uint32_t ttl_business_days;     /* when ttl_in_business_days */
    bool age_in_business_days;
    uint64_t max_price_age_seconds; /* when !age_in_business_days */
    uint32_t max_price_age_business_days;
    custos_calendar calendar;       /* business days, settlement dates */
    uint32_t long_bond_years;       /* 0: no long-bond class */
    uint32_t max_price_disagreement_bps;
    uint32_t price_quorum;          /* 0: every source */
    uint32_t price_connect_timeout_ms, price_timeout_ms, price_retries, price_backoff_ms;
} at_policy;

/* file labels the messages and locates a relative "calendar". */
custos_rc at_policy_parse(const char *file, const char *text, size_t len, at_policy *out,
                          custos_error *err);
custos_rc at_policy_load(const char *path, at_policy *out, custos_error *err);
void at_policy_free(at_policy *p);
/* false when the policy has no haircut for the class. */
bool at_policy_haircut(const at_policy *p, const char *asset_class, uint32_t *bps);

/* The end of validity of an attestation observed at as_of. */
custos_rc at_policy_valid_until(const at_policy *p, uint64_t as_of, uint64_t *out,
                                custos_error *err);
/* Refuses (CUSTOS_ERR_INVALID, the message names the instrument and the limit) a price
 * observed at as_of that is too old at now, or dated after now. */
custos_rc at_policy_check_price_age(const at_policy *p, const char *asset, uint64_t as_of,
                                    uint64_t now, custos_error *err);

#endif
