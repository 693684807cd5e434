/* The gateway's Prometheus metrics: one process-wide registry of counters, gauges and
 * fixed-bucket histograms, updated with relaxed atomics so the submission path never
 * takes a lock, and rendered in the text exposition format 0.0.4.
 *
 * Label values come from the configuration only (feed names, reason names): a
 * submission naming an unconfigured feed is counted under feed="", so clients cannot
 * create series. Until gw_metrics_init (and after gw_metrics_shutdown) every observe
 * call does nothing, which keeps the engine usable without metrics (unit tests). */
#ifndef GATEWAY_METRICS_H
#define GATEWAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "custos/reason.h"

#include "config/config.h"
#include "engine/engine.h"
#include "evm/drift.h"
#include "evm/publisher.h"

/* Creates the registry with one series set per configured feed. cfg need not outlive it.
 * At most one registry exists: CUSTOS_ERR_INVALID if one is already installed. */
CUSTOS_MUST_USE
custos_rc gw_metrics_init(const gw_config *cfg, custos_error *err);
/* Removes and frees the registry. Call only once no thread can observe any more
 * (the engine and the server are gone). Safe when none is installed. */
void gw_metrics_shutdown(void);

/* The feeds' age limits after a reload or an admin change, for the limit gauges and
 * custos_feed_stale_at_seconds, and the bond-market calendar they point to (a reload may
 * bring a newer one), for stale_at and custos_calendar_covered_until_seconds. A feed
 * configured only after start has no series of its own (it is counted under feed=""). */
void gw_metrics_set_feed_limits(const gw_feed *feeds, size_t n);

/* Monotonic nanoseconds: the start mark of a latency observation. */
uint64_t gw_metrics_clock(void);
/* One submission's verification took from start_ns until now. */
void gw_metrics_observe_verify(uint64_t start_ns);
/* A group of `group` submissions was committed (or failed) from start_ns until now. */
void gw_metrics_observe_commit(uint64_t start_ns, size_t group);
/* The engine's answer to one submission of `feed` whose attestation has asOf `as_of`:
 * accepted, duplicate, pending or refused (by reason), and the feed's freshness. */
void gw_metrics_observe_outcome(const char *feed, uint64_t as_of, const gw_submit_outcome *o);
/* The same from an outcome's parts (a batch's account, gw_batch_account_outcome). */
void gw_metrics_observe_result(const char *feed, uint64_t as_of, custos_reason reason,
                               custos_state state, bool duplicate);
/* A refusal the transport gave before the engine saw the submission (MALFORMED,
 * TOO_LARGE): counted under feed="". */
void gw_metrics_count_refusal(custos_reason reason);
/* n pending digests were dropped by age ([limits] pending_max_age_seconds). */
void gw_metrics_count_pending_expired(uint64_t n);

/* Calls that are no submission: their refusals are counted apart, so that a read or an
 * admin call refused (a client without the right certificate, a rate limit) never looks
 * like a submission for an unknown feed (custos_attestations_refused_total{feed=""}). */
typedef enum gw_request_kind {
    GW_REQUEST_READ,  /* proofs, pledges and other reads */
    GW_REQUEST_ADMIN, /* custos.v1.GatewayAdmin */
    GW_REQUEST_KINDS
} gw_request_kind;

/* custos_requests_refused_total{kind, reason}. */
void gw_metrics_count_request_refusal(gw_request_kind kind, custos_reason reason);

/* What is read at scrape time rather than counted. */
typedef struct gw_metrics_live {
    bool store_healthy;
    uint64_t head;               /* the accepted log's newest cursor */
    uint64_t record_head;        /* its newest record's (the publisher's lag counts from it) */
    uint64_t held;               /* held attestations not superseded (rule 6) */
    uint64_t pending_rows;       /* pending digests stored, and their bytes */
    uint64_t pending_bytes;
    bool has_publisher;
    gw_pub_status publisher;     /* meaningful when has_publisher */
    const gw_drift_report *drift; /* the allow-list comparison's last report; NULL: none */
} gw_metrics_live;

/* The exposition text for the current state, as of wall-clock `now` (Unix seconds):
 * *out is malloc'd (NUL-terminated), *len its length. */
CUSTOS_MUST_USE
custos_rc gw_metrics_render(const gw_metrics_live *live, uint64_t now, char **out,
                            size_t *len, custos_error *err);

/* Escapes a label value for the exposition format (backslash, double quote, newline);
 * false when it does not fit in cap bytes with its NUL. */
bool gw_metrics_escape_label(const char *value, char *out, size_t cap);

#endif
