/* A quorum of price sources (price_source.h) for one account: every source is fetched once,
 * and a source that fails, lacks an instrument, quotes it stale or in another form, or
 * lies too far from the others is dropped and reported, not fatal.
 *
 * Per instrument of the account: the quotes of the sources that answered, priced it, and
 * whose quote is fresh by the policy's price-age limit are grouped by form (a price or a
 * discount yield, with the same index ratio and accrual rate: a median across forms means
 * nothing); the largest group counts, the others are dropped ("form"). Each quote of it
 * more than max_price_disagreement_bps of the group's median away from that median is an
 * outlier and dropped. The instrument is priced at the median of the remaining quotes,
 * dated by the oldest of them, when at least price_quorum sources remain (all sources when
 * the policy sets none); otherwise the account is refused, naming the instrument. */
#ifndef AT_PRICE_QUORUM_H
#define AT_PRICE_QUORUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "holdings.h"
#include "policy.h"
#include "price_source.h"
#include "prices.h"

/* What every source answered at one fetch. */
typedef struct at_price_fetch {
    size_t n;
    const char *urls[AT_PRICE_SOURCES_MAX]; /* borrowed from the caller */
    bool answered[AT_PRICE_SOURCES_MAX];
    at_prices answers[AT_PRICE_SOURCES_MAX]; /* empty when not answered */
    char failure[AT_PRICE_SOURCES_MAX][256]; /* why not, when not answered */
} at_price_fetch;

/* Fetches every url, all at once (the policy's timeouts and retries; ca_file may be NULL).
 * A source that fails is recorded in *f, not returned: only 0 or more than
 * AT_PRICE_SOURCES_MAX urls are refused. urls must outlive *f. */
custos_rc at_price_fetch_all(const char *const *urls, size_t n, const char *ca_file,
                             const at_policy *policy, at_price_fetch *f, custos_error *err);
void at_price_fetch_free(at_price_fetch *f);

typedef enum at_drop_reason {
    AT_DROP_MISSING, /* the source answered without this instrument */
    AT_DROP_STALE,   /* older than the policy allows, or dated after now */
    AT_DROP_FORM,    /* quoted in another form than the sources that count */
    AT_DROP_OUTLIER, /* too far from the median */
    AT_DROP_REASONS
} at_drop_reason;

/* "missing", "stale", "form", "outlier". */
const char *at_drop_reason_name(at_drop_reason r);

/* One quote that did not count. */
typedef struct at_price_drop {
    size_t source; /* index into the fetch's urls */
    char asset[CUSTOS_ASSET_ID_MAX + 1];
    at_drop_reason reason;
    char detail[200];
} at_price_drop;

typedef struct at_price_report {
    at_price_drop *drops;
    size_t n_drops, cap;
} at_price_report;

void at_price_report_free(at_price_report *r);

/* The account's instruments priced from the fetch by the policy's quorum at `now`; *report
 * lists every dropped quote, also when the account is refused (CUSTOS_ERR_INVALID: fewer
 * than the quorum agree on an instrument, or price_quorum exceeds the number of sources). */
custos_rc at_price_merge(const at_price_fetch *f, const at_account *account,
                         const at_policy *policy, uint64_t now, at_prices *out,
                         at_price_report *report, custos_error *err);

#endif
