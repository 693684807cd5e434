#include "runmetrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

/* Far above what 8 sources and 4 reasons render. */
#define AT_METRICS_MAX_BYTES 16384

void at_url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at != NULL) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n == 0 || cap == 0) {
        snprintf(out, cap, "?");
        return;
    }
    /* Label values escape backslash, quote and newline; a host has none of them, but the
     * text comes from a config file. */
    size_t k = 0;
    for (size_t i = 0; i < n && k + 2 < cap; i++) {
        char c = p[i];
        if (c == '\\' || c == '"')
            out[k++] = '\\';
        out[k++] = c == '\n' ? '?' : c;
    }
    out[k] = '\0';
}

void at_run_metrics_init(at_run_metrics *m, const char *const *urls, size_t n)
{
    memset(m, 0, sizeof *m);
    m->n_sources = n > AT_PRICE_SOURCES_MAX ? AT_PRICE_SOURCES_MAX : n;
    for (size_t i = 0; i < m->n_sources; i++)
        at_url_host(urls[i], m->host[i], sizeof m->host[i]);
}

void at_run_metrics_fetch(at_run_metrics *m, const at_price_fetch *f)
{
    m->fetched = true;
    for (size_t i = 0; i < f->n && i < m->n_sources; i++) {
        m->up[i] = f->answered[i];
        m->failures[i] += !f->answered[i];
    }
}

void at_run_metrics_drops(at_run_metrics *m, const at_price_report *r)
{
    for (size_t i = 0; i < r->n_drops; i++)
        if (r->drops[i].source < m->n_sources && r->drops[i].reason < AT_DROP_REASONS)
            m->dropped[r->drops[i].source][r->drops[i].reason]++;
}

void at_run_metrics_calendar(at_run_metrics *m, const custos_calendar *c)
{
    uint64_t until = 0;
    custos_error err;
    if (custos_calendar_covered_until(c, &until, &err) == CUSTOS_OK)
        m->calendar_covered_until = until;
}

typedef struct text {
    char data[AT_METRICS_MAX_BYTES];
    size_t len;
    bool full;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(text *t, const char *fmt, ...)
{
    if (t->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->data + t->len, sizeof t->data - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof t->data - t->len)
        t->full = true;
    else
        t->len += (size_t)n;
}

static void header(text *t, const char *name, const char *type, const char *help)
{
    add(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

custos_rc at_run_metrics_write(at_run_metrics *m, const char *path, uint64_t now,
                               custos_error *err)
{
    m->last_cycle = now;
    text *t = calloc(1, sizeof *t);
    if (t == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "metrics: out of memory");
    if (m->n_sources > 0 && m->fetched) {
        header(t, "custos_attestor_price_source_up", "gauge",
               "1 if the price source answered the daemon's last fetch, else 0.");
        for (size_t i = 0; i < m->n_sources; i++)
            add(t, "custos_attestor_price_source_up{source=\"%zu\",host=\"%s\"} %d\n", i,
                m->host[i], m->up[i] ? 1 : 0);
    }
    if (m->n_sources > 0) {
        header(t, "custos_attestor_price_source_failures_total", "counter",
               "Fetches of the price source that failed (after retries), since start.");
        for (size_t i = 0; i < m->n_sources; i++)
            add(t, "custos_attestor_price_source_failures_total{source=\"%zu\",host=\"%s\"} "
                   "%" PRIu64 "\n", i, m->host[i], m->failures[i]);
        header(t, "custos_attestor_price_quotes_dropped_total", "counter",
               "Quotes of the price source that did not count, by reason, since start.");
        for (size_t i = 0; i < m->n_sources; i++)
            for (int r = 0; r < AT_DROP_REASONS; r++)
                add(t, "custos_attestor_price_quotes_dropped_total{source=\"%zu\",host=\"%s\","
                       "reason=\"%s\"} %" PRIu64 "\n", i, m->host[i],
                    at_drop_reason_name((at_drop_reason)r), m->dropped[i][r]);
    }
    if (m->calendar_covered_until != 0) {
        header(t, "custos_attestor_calendar_covered_until_seconds", "gauge",
               "Unix time at which the policy's bond-market calendar ends: from then on "
               "nothing is valued.");
        add(t, "custos_attestor_calendar_covered_until_seconds %" PRIu64 "\n",
            m->calendar_covered_until);
    }
    header(t, "custos_attestor_last_cycle_seconds", "gauge",
           "Unix time at which the daemon's last valuation cycle ended.");
    add(t, "custos_attestor_last_cycle_seconds %" PRIu64 "\n", m->last_cycle);
    custos_rc rc = t->full ? custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                              "metrics: over %u bytes", AT_METRICS_MAX_BYTES)
                           : at_file_write_atomic(path, t->data, t->len, 0644, err);
    free(t);
    return rc;
}
