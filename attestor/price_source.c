#include "price_source.h"

#include <errno.h>
#include <pthread.h>
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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_global_rc = CURLE_OK;

/* libcurl's process-wide set-up, once, before any handle (sources are fetched from
 * several threads at once, price_quorum.c); kept until the process ends. */
static void curl_init_once(void)
{
    curl_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

custos_rc at_price_source_fetch(const char *url, const at_price_source_opts *opts,
                                at_prices *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (pthread_once(&curl_once, curl_init_once) != 0 || curl_global_rc != CURLE_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "price source %s: libcurl cannot "
                                "be set up", url);
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
