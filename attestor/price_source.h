/* Prices fetched over HTTPS (libcurl) from one or more price sources, each answering
 *   {"prices": {"ISIN": {"price": "99.53125", "as_of": 1795208400}, ...}}
 * (the price file's format, prices.h). TLS peer and host verification are always on, with
 * the system's CA store or a given CA file. Transport failures and HTTP 5xx are retried with
 * exponential back-off; a TLS failure, HTTP 4xx, an oversized or malformed answer is not.
 * With several sources, every source must answer and price every instrument of the account;
 * the attestor uses the median per instrument, dated by the oldest of its observations, and
 * refuses an instrument whose prices lie further apart than the policy's bound. */
#ifndef AT_PRICE_SOURCE_H
#define AT_PRICE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"

#define AT_PRICE_SOURCES_MAX 8
/* Largest answer accepted from a price source. */
#define AT_PRICE_ANSWER_MAX_BYTES (4u * 1024u * 1024u)

typedef struct at_price_source_opts {
    const char *ca_file;         /* NULL: the system's CA store */
    uint32_t connect_timeout_ms; /* per attempt */
    uint32_t timeout_ms;         /* per attempt, whole transfer */
    uint32_t retries;            /* further attempts after the first */
    uint32_t backoff_ms;         /* wait before the first retry, doubled after each */
} at_price_source_opts;

/* Fetches and parses one source's prices (messages name the URL). */
custos_rc at_price_source_fetch(const char *url, const at_price_source_opts *opts,
                                at_prices *out, custos_error *err);

/* The account's instruments priced from n sources: the median of each, refused when an
 * instrument is missing from a source or when max - min exceeds max_disagreement_bps of the
 * median. urls label the messages. */
custos_rc at_price_sources_merge(const at_prices *sources, const char *const *urls, size_t n,
                                 const at_account *account, uint32_t max_disagreement_bps,
                                 at_prices *out, custos_error *err);

/* Fetches every url (with the policy's timeouts and retries; ca_file may be NULL) and merges
 * them for the account (at_price_sources_merge). */
custos_rc at_price_sources_collect(const char *const *urls, size_t n, const char *ca_file,
                                   const at_policy *policy, const at_account *account,
                                   at_prices *out, custos_error *err);

#endif
