/* Prices fetched over HTTPS (libcurl) from a price source answering
 *   {"prices": {"ISIN": {"price": "99.53125", "as_of": 1795208400}, ...}}
 * (the price file's format, prices.h). TLS peer and host verification are always on, with
 * the system's CA store or a given CA file. Transport failures and HTTP 5xx are retried with
 * exponential back-off; a TLS failure, HTTP 4xx, an oversized or malformed answer is not.
 * Several sources are combined by a quorum (price_quorum.h). */
#ifndef AT_PRICE_SOURCE_H
#define AT_PRICE_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
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

#endif
