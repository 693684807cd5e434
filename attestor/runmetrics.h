/* The daemon's metrics, written as a Prometheus text file for node_exporter's textfile
 * collector (custos-attestor serves no HTTP): after every valuation cycle, atomically, to
 * the path the run config's "metrics_textfile" names.
 *
 *   custos_attestor_price_source_up{source,host}              1 if it answered the last fetch
 *   custos_attestor_price_source_failures_total{source,host}  fetches it failed
 *   custos_attestor_price_quotes_dropped_total{source,host,reason}
 *                                     quotes that did not count (missing, stale, form, outlier)
 *   custos_attestor_calendar_covered_until_seconds  where the policy's bond-market calendar ends
 *   custos_attestor_last_cycle_seconds               when the last valuation cycle ended
 * source is the position of the URL in "price_sources" (0 first), host its host[:port]: the
 * URL's path and query may hold credentials, so they are never exported. Counters start at
 * zero with the daemon. */
#ifndef AT_RUNMETRICS_H
#define AT_RUNMETRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/calendar.h"
#include "custos/error.h"
#include "price_quorum.h"

typedef struct at_run_metrics {
    size_t n_sources;
    char host[AT_PRICE_SOURCES_MAX][128]; /* label value, escaped */
    bool fetched, up[AT_PRICE_SOURCES_MAX];
    uint64_t failures[AT_PRICE_SOURCES_MAX];
    uint64_t dropped[AT_PRICE_SOURCES_MAX][AT_DROP_REASONS];
    uint64_t calendar_covered_until; /* 0: unknown */
    uint64_t last_cycle;
} at_run_metrics;

void at_run_metrics_init(at_run_metrics *m, const char *const *urls, size_t n);
/* A fetch of every source: which answered. */
void at_run_metrics_fetch(at_run_metrics *m, const at_price_fetch *f);
/* The quotes one account's merge dropped. */
void at_run_metrics_drops(at_run_metrics *m, const at_price_report *r);
void at_run_metrics_calendar(at_run_metrics *m, const custos_calendar *c);
/* Renders and atomically replaces path (mode 0644). */
custos_rc at_run_metrics_write(at_run_metrics *m, const char *path, uint64_t now,
                               custos_error *err);

/* The host[:port] of an https:// URL, without user info, path or query ("?" if none). */
void at_url_host(const char *url, char *out, size_t cap);

#endif
