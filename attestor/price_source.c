#include "price_source.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

typedef struct answer {
    char *data;
    size_t len;
    bool too_large;
} answer;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    answer *a = userdata;
    size_t n = size * nmemb;
    if (n > AT_PRICE_ANSWER_MAX_BYTES - a->len) {
        a->too_large = true;
        return 0; /* aborts the transfer */
    }
    char *grown = realloc(a->data, a->len + n + 1);
    if (grown == NULL)
        return 0;
    a->data = grown;
    memcpy(a->data + a->len, ptr, n);
    a->len += n;
    a->data[a->len] = '\0';
    return n;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

typedef enum attempt_result { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FAIL } attempt_result;

static attempt_result attempt(CURL *curl, const char *url, answer *a, custos_error *err)
{
    free(a->data);
    memset(a, 0, sizeof *a);
    char errbuf[CURL_ERROR_SIZE] = "";
    if (curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, a) != CURLE_OK) {
        custos_error_set(err, CUSTOS_ERR_INTERNAL, "price source %s: cannot set up libcurl", url);
        return ATTEMPT_FAIL;
    }
    CURLcode cc = curl_easy_perform(curl);
    if (a->too_large) {
        custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "price source %s: answer over %u bytes", url,
                         AT_PRICE_ANSWER_MAX_BYTES);
        return ATTEMPT_FAIL;
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
        cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SSL_CERTPROBLEM) {
        /* Not retried: a certificate does not become trustworthy by asking again. */
        custos_error_set(err, CUSTOS_ERR_CRYPTO,
                         "price source %s: TLS verification failed: %.120s", url,
                         errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return ATTEMPT_FAIL;
    }
    if (cc != CURLE_OK) {
        custos_error_set(err, CUSTOS_ERR_UNAVAILABLE, "price source %s: %.120s", url,
                         errbuf[0] ? errbuf : curl_easy_strerror(cc));
        return ATTEMPT_RETRY;
    }
    long status = 0;
    if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        custos_error_set(err, CUSTOS_ERR_INTERNAL, "price source %s: no HTTP status", url);
        return ATTEMPT_FAIL;
    }
    if (status >= 500) {
        custos_error_set(err, CUSTOS_ERR_UNAVAILABLE, "price source %s: HTTP %ld", url, status);
        return ATTEMPT_RETRY;
    }
    if (status != 200) {
        custos_error_set(err, CUSTOS_ERR_REFUSED, "price source %s: HTTP %ld", url, status);
        return ATTEMPT_FAIL;
    }
    return ATTEMPT_OK;
}

static custos_rc configure(CURL *curl, const char *url, const at_price_source_opts *opts,
                           custos_error *err)
{
    bool ok = curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                               (long)opts->connect_timeout_ms) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)opts->timeout_ms) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
              (opts->ca_file == NULL ||
               curl_easy_setopt(curl, CURLOPT_CAINFO, opts->ca_file) == CURLE_OK);
    if (!ok)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "price source %s: libcurl refused the settings (https only)",
                                url);
    return CUSTOS_OK;
}

custos_rc at_price_source_fetch(const char *url, const at_price_source_opts *opts,
                                at_prices *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (strncmp(url, "https://", 8) != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "price source %.200s: only https:// URLs are used", url);
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "price source %s: libcurl init failed",
                                url);
    answer a;
    memset(&a, 0, sizeof a);
    custos_rc rc = configure(curl, url, opts, err);
    uint32_t attempts = 0;
    attempt_result r = ATTEMPT_FAIL;
    uint64_t wait = opts->backoff_ms;
    while (rc == CUSTOS_OK) {
        attempts++;
        r = attempt(curl, url, &a, err);
        if (r != ATTEMPT_RETRY || attempts > opts->retries)
            break;
        sleep_ms(wait);
        wait *= 2;
    }
    curl_easy_cleanup(curl);
    if (rc == CUSTOS_OK && r == ATTEMPT_RETRY) {
        custos_error last = *err;
        rc = custos_error_set(err, last.code, "%s (gave up after %u attempts)", last.message,
                              attempts);
    } else if (rc == CUSTOS_OK && r == ATTEMPT_FAIL) {
        rc = err->code;
    } else if (rc == CUSTOS_OK) {
        rc = at_prices_parse(url, a.data != NULL ? a.data : "", a.len, out, err);
    }
    free(a.data);
    return rc;
}

static int cmp_u256(const void *x, const void *y)
{
    return custos_u256_cmp(x, y);
}

custos_rc at_price_sources_merge(const at_prices *sources, const char *const *urls, size_t n,
                                 const at_account *account, uint32_t max_disagreement_bps,
                                 at_prices *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (n == 0 || n > AT_PRICE_SOURCES_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "1 to %d price sources",
                                AT_PRICE_SOURCES_MAX);
    out->items = calloc(account->n_holdings, sizeof *out->items);
    if (out->items == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < account->n_holdings && rc == CUSTOS_OK; i++) {
        const char *asset = account->holdings[i].asset;
        custos_u256 values[AT_PRICE_SOURCES_MAX];
        uint64_t oldest = UINT64_MAX;
        for (size_t s = 0; s < n && rc == CUSTOS_OK; s++) {
            const at_price *p = at_prices_find(&sources[s], asset);
            if (p == NULL) {
                rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                      "account %s: price source %s has no price for instrument "
                                      "%s: nothing signed",
                                      account->ref, urls[s], asset);
                break;
            }
            values[s] = p->price;
            if (p->as_of < oldest)
                oldest = p->as_of;
            const at_price *first = at_prices_find(&sources[0], asset);
            /* A median of a price and a yield, or of two index ratios, means nothing. */
            if (p->kind != first->kind || p->has_index_ratio != first->has_index_ratio ||
                p->has_accrual_rate != first->has_accrual_rate ||
                (p->has_index_ratio &&
                 custos_u256_cmp(&p->index_ratio, &first->index_ratio) != 0) ||
                (p->has_accrual_rate &&
                 custos_u256_cmp(&p->accrual_rate, &first->accrual_rate) != 0))
                rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                      "account %s: price sources %s and %s quote %s differently "
                                      "(a price or a discount yield, the index ratio or the "
                                      "accrual rate): nothing signed",
                                      account->ref, urls[0], urls[s], asset);
        }
        if (rc != CUSTOS_OK)
            break;
        qsort(values, n, sizeof values[0], cmp_u256);
        at_price *m = &out->items[out->n];
        *m = *at_prices_find(&sources[0], asset);
        strcpy(m->asset, asset);
        m->as_of = oldest;
        custos_u256 two, spread, limit, bps, scale;
        custos_u256_from_u64(&two, 2);
        custos_u256_from_u64(&bps, max_disagreement_bps);
        custos_u256_from_u64(&scale, 10000);
        if (n % 2 == 1) {
            m->price = values[n / 2];
        } else {
            /* Even count: the floored mean of the two middle prices. */
            custos_u256 sum, one;
            custos_u256_from_u64(&one, 1);
            if (custos_u256_add(&sum, &values[n / 2 - 1], &values[n / 2]) != CUSTOS_OK ||
                custos_u256_mul_div(&m->price, &sum, &one, &two) != CUSTOS_OK)
                rc = custos_error_set(err, CUSTOS_ERR_OVERFLOW, "price of %s overflows", asset);
        }
        if (rc == CUSTOS_OK &&
            (custos_u256_sub(&spread, &values[n - 1], &values[0]) != CUSTOS_OK ||
             custos_u256_mul_div(&limit, &m->price, &bps, &scale) != CUSTOS_OK))
            rc = custos_error_set(err, CUSTOS_ERR_OVERFLOW, "price of %s overflows", asset);
        if (rc == CUSTOS_OK && custos_u256_cmp(&spread, &limit) > 0) {
            char lo[CUSTOS_U256_DEC_MAX], hi[CUSTOS_U256_DEC_MAX];
            if (custos_fixed_format(&values[0], 18, lo, sizeof lo) != CUSTOS_OK ||
                custos_fixed_format(&values[n - 1], 18, hi, sizeof hi) != CUSTOS_OK) {
                snprintf(lo, sizeof lo, "?");
                snprintf(hi, sizeof hi, "?");
            }
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "account %s: price sources disagree on %s: %.40s to %.40s, "
                                  "over the policy's max_price_disagreement_bps %u of the "
                                  "median: nothing signed",
                                  account->ref, asset, lo, hi, max_disagreement_bps);
        }
        if (rc == CUSTOS_OK)
            out->n++;
    }
    if (rc != CUSTOS_OK)
        at_prices_free(out);
    return rc;
}

custos_rc at_price_sources_collect(const char *const *urls, size_t n, const char *ca_file,
                                   const at_policy *policy, const at_account *account,
                                   at_prices *out, custos_error *err)
{
    at_price_source_opts opts = {ca_file, policy->price_connect_timeout_ms,
                                 policy->price_timeout_ms, policy->price_retries,
                                 policy->price_backoff_ms};
    at_prices fetched[AT_PRICE_SOURCES_MAX];
    memset(fetched, 0, sizeof fetched);
    if (n > AT_PRICE_SOURCES_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "at most %d price sources",
                                AT_PRICE_SOURCES_MAX);
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++)
        rc = at_price_source_fetch(urls[i], &opts, &fetched[i], err);
    if (rc == CUSTOS_OK)
        rc = at_price_sources_merge(fetched, urls, n, account, policy->max_price_disagreement_bps,
                                    out, err);
    for (size_t i = 0; i < n; i++)
        at_prices_free(&fetched[i]);
    return rc;
}
