/* The valuation policy:
 *   {"haircuts_bps": {"bill": 50, "note": 200, "bond": 800, "mmf": 200},
 *    "ttl_seconds": 259200, "max_price_age_seconds": 345600}
 * A haircut is the share of an asset class's value a lender may not count, in basis points. */
#ifndef AT_POLICY_H
#define AT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "holdings.h"

/* A year: attestations and prices older than that are policy errors. */
#define AT_POLICY_SECONDS_MAX 31536000u

typedef struct at_haircut {
    char asset_class[AT_CLASS_MAX + 1];
    uint32_t bps; /* 0..10000 */
} at_haircut;

typedef struct at_policy {
    at_haircut *haircuts;
    size_t n_haircuts;
    uint64_t ttl_seconds;           /* validUntil = asOf + ttl_seconds */
    uint64_t max_price_age_seconds; /* older prices are refused */
} at_policy;

custos_rc at_policy_parse(const char *file, const char *text, size_t len, at_policy *out,
                          custos_error *err);
custos_rc at_policy_load(const char *path, at_policy *out, custos_error *err);
void at_policy_free(at_policy *p);
/* false when the policy has no haircut for the class. */
bool at_policy_haircut(const at_policy *p, const char *asset_class, uint32_t *bps);

#endif
