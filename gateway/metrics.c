/* The Prometheus registry (metrics.h).
 *
 * Every series is a fixed slot allocated at start-up from the configuration, so the hot
 * path is a feed lookup and a relaxed atomic increment. Histogram buckets are stored
 * non-cumulative and summed at render time; the rendered _count is the sum of the
 * buckets read, so one scrape is always self-consistent even while observations land. */
#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/attestation.h"
#include "custos/version.h"

#include "monotonic.h"
#include "textbuf.h"

/* A scrape larger than this is a bug (thousands of feeds would stay far below it). */
#define MX_RENDER_MAX (64u * 1024u * 1024u)
#define MX_MAX_BUCKETS 16

typedef struct mx_hist_def {
    const char *name;
    const char *help;
    double unit;                     /* raw observation units per exposed unit */
    size_t n;
    uint64_t bounds[MX_MAX_BUCKETS]; /* raw upper bounds (inclusive), increasing */
} mx_hist_def;

typedef struct mx_hist {
    const mx_hist_def *def;
    _Atomic uint64_t bucket[MX_MAX_BUCKETS + 1]; /* last: above every bound (+Inf) */
    _Atomic uint64_t sum;                        /* raw units */
} mx_hist;

/* Verification is dominated by public-key recovery (tens of microseconds per signature). */
static const mx_hist_def VERIFY_DEF = {
    "custos_verify_seconds",
    "Time to verify one submission (signatures, allow-list, domain, freshness).",
    1e9, 11,
    {50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
     50000000, 100000000}};
/* A commit group ends with an fsync: milliseconds on disks, up to seconds when stalled. */
static const mx_hist_def COMMIT_DEF = {
    "custos_commit_seconds",
    "Time to apply and commit one group of submissions in one store transaction.",
    1e9, 12,
    {500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000, 250000000,
     500000000, 1000000000, 2500000000}};
static const mx_hist_def GROUP_DEF = {
    "custos_commit_group_size", "Submissions grouped in one store transaction.", 1.0, 11,
    {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};

typedef struct mx_feed {
    char label[2 * CUSTOS_FEED_MAX + 1]; /* the escaped name ("" for unconfigured) */
    char name[CUSTOS_FEED_MAX + 1];
    /* Set at init, then by gw_metrics_set_feed_limits after a reload or an admin change. */
    _Atomic uint64_t max_age;
    _Atomic uint32_t max_age_business_days; /* when not 0, replaces max_age */
    _Atomic uint64_t accepted, duplicate, pending, held;
    _Atomic uint64_t refused[CUSTOS_REASON_COUNT];
    _Atomic uint64_t latest_as_of; /* 0: nothing accepted since start */
} mx_feed;

typedef struct mx_registry {
    uint64_t start_time;
    /* A copy of the bond-market calendar in force (first_year 0 when no feed counts
     * business days), so that a reload cannot free it under a scrape; replaced when a
     * reload brings another one, under calendar_lock. */
    pthread_mutex_t calendar_lock;
    custos_calendar calendar;
    size_t n_feeds;  /* configured; feeds[n_feeds] counts everything else */
    mx_feed *feeds;
    mx_hist verify, commit, group;
    _Atomic uint64_t pending_expired; /* pending digests dropped by age */
} mx_registry;

static _Atomic(mx_registry *) g_registry;

/* Refused reads and admin calls: for the process's life, whatever reloads do. */
static _Atomic uint64_t g_requests_refused[GW_REQUEST_KINDS][CUSTOS_REASON_COUNT];
static const char *const request_kind_names[GW_REQUEST_KINDS] = {"read", "admin"};

static mx_registry *mx_get(void)
{
    return atomic_load_explicit(&g_registry, memory_order_acquire);
}

static uint64_t mx_wall_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec;
}

bool gw_metrics_escape_label(const char *value, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = value; *p != '\0'; p++) {
        const char *rep = NULL;
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '"')
            rep = "\\\"";
        else if (*p == '\n')
            rep = "\\n";
        size_t need = rep != NULL ? 2 : 1;
        if (n + need >= cap)
            return false;
        if (rep != NULL) {
            out[n++] = rep[0];
            out[n++] = rep[1];
        } else {
            out[n++] = *p;
        }
    }
    if (n >= cap)
        return false;
    out[n] = '\0';
    return true;
}

static void mx_registry_free(mx_registry *r)
{
    pthread_mutex_destroy(&r->calendar_lock);
    custos_calendar_free(&r->calendar);
    free(r->feeds);
    free(r);
}

custos_rc gw_metrics_init(const gw_config *cfg, custos_error *err)
{
    mx_registry *r = calloc(1, sizeof *r);
    if (r == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "metrics: out of memory");
    r->feeds = calloc(cfg->n_feeds + 1, sizeof *r->feeds);
    if (r->feeds == NULL) {
        free(r);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "metrics: out of memory");
    }
    r->n_feeds = cfg->n_feeds;
    if (pthread_mutex_init(&r->calendar_lock, NULL) != 0) {
        free(r->feeds);
        free(r);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "metrics: cannot create a lock");
    }
    if (cfg->calendar != NULL) {
        custos_rc rc = custos_calendar_copy(cfg->calendar, &r->calendar, err);
        if (rc != CUSTOS_OK) {
            mx_registry_free(r);
            return rc;
        }
    }
    for (size_t i = 0; i < cfg->n_feeds; i++) {
        mx_feed *f = &r->feeds[i];
        memcpy(f->name, cfg->feeds[i].name, sizeof f->name);
        atomic_store(&f->max_age, cfg->feeds[i].max_age);
        atomic_store(&f->max_age_business_days, cfg->feeds[i].max_age_business_days);
        /* A feed name is at most CUSTOS_FEED_MAX bytes: escaped, at most twice that. */
        if (!gw_metrics_escape_label(f->name, f->label, sizeof f->label)) {
            mx_registry_free(r);
            return custos_error_set(err, CUSTOS_ERR_INVALID, "metrics: feed name too long");
        }
    }
    r->verify.def = &VERIFY_DEF;
    r->commit.def = &COMMIT_DEF;
    r->group.def = &GROUP_DEF;
    r->start_time = mx_wall_seconds();
    mx_registry *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&g_registry, &none, r, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        mx_registry_free(r);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "metrics: already initialised");
    }
    return CUSTOS_OK;
}

/* A reload may bring a newer calendar (the yearly update): stale_at and the coverage gauge
 * follow it. Without memory the previous copy stays, and the gauge keeps warning. */
static void mx_follow_calendar(mx_registry *r, const gw_feed *feeds, size_t n)
{
    const custos_calendar *cal = NULL;
    for (size_t i = 0; i < n && cal == NULL; i++)
        cal = feeds[i].calendar;
    if (cal == NULL)
        return;
    custos_calendar copy;
    custos_error err;
    if (custos_calendar_copy(cal, &copy, &err) != CUSTOS_OK)
        return;
    pthread_mutex_lock(&r->calendar_lock);
    custos_calendar old = r->calendar;
    r->calendar = copy;
    pthread_mutex_unlock(&r->calendar_lock);
    custos_calendar_free(&old);
}

void gw_metrics_set_feed_limits(const gw_feed *feeds, size_t n)
{
    mx_registry *r = mx_get();
    if (r == NULL)
        return;
    mx_follow_calendar(r, feeds, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < r->n_feeds; j++)
            if (strcmp(r->feeds[j].name, feeds[i].name) == 0) {
                atomic_store(&r->feeds[j].max_age, feeds[i].max_age);
                atomic_store(&r->feeds[j].max_age_business_days,
                             feeds[i].max_age_business_days);
            }
}

void gw_metrics_shutdown(void)
{
    mx_registry *r = atomic_exchange_explicit(&g_registry, NULL, memory_order_acq_rel);
    if (r == NULL)
        return;
    mx_registry_free(r);
}

uint64_t gw_metrics_clock(void)
{
    return gw_mono_ns();
}

static void mx_hist_observe(mx_hist *h, uint64_t v)
{
    size_t i = 0;
    while (i < h->def->n && v > h->def->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

static uint64_t mx_since(uint64_t start_ns)
{
    uint64_t now = gw_metrics_clock();
    return now > start_ns ? now - start_ns : 0;
}

void gw_metrics_observe_verify(uint64_t start_ns)
{
    mx_registry *r = mx_get();
    if (r != NULL)
        mx_hist_observe(&r->verify, mx_since(start_ns));
}

void gw_metrics_observe_commit(uint64_t start_ns, size_t group)
{
    mx_registry *r = mx_get();
    if (r == NULL)
        return;
    mx_hist_observe(&r->commit, mx_since(start_ns));
    mx_hist_observe(&r->group, (uint64_t)group);
}

/* Linear: feeds are few (one per custodian), and strcmp stops at the first byte that
 * differs. */
static mx_feed *mx_feed_find(mx_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n_feeds; i++)
        if (strcmp(r->feeds[i].name, name) == 0)
            return &r->feeds[i];
    return &r->feeds[r->n_feeds];
}

static void mx_count_refusal(mx_feed *f, custos_reason reason)
{
    size_t idx = (size_t)reason < CUSTOS_REASON_COUNT ? (size_t)reason : CUSTOS_REASON_INTERNAL;
    atomic_fetch_add_explicit(&f->refused[idx], 1, memory_order_relaxed);
}

void gw_metrics_observe_outcome(const char *feed, uint64_t as_of, const gw_submit_outcome *o)
{
    gw_metrics_observe_result(feed, as_of, o->reason, o->state, o->duplicate);
}

void gw_metrics_observe_result(const char *feed, uint64_t as_of, custos_reason reason,
                               custos_state state, bool duplicate)
{
    mx_registry *r = mx_get();
    if (r == NULL)
        return;
    mx_feed *f = mx_feed_find(r, feed);
    if (reason != CUSTOS_REASON_NONE) {
        mx_count_refusal(f, reason);
        return;
    }
    if (state == CUSTOS_STATE_HELD) {
        if (!duplicate)
            atomic_fetch_add_explicit(&f->held, 1, memory_order_relaxed);
        return;
    }
    if (state != CUSTOS_STATE_ACCEPTED) {
        atomic_fetch_add_explicit(&f->pending, 1, memory_order_relaxed);
        return;
    }
    if (duplicate) {
        atomic_fetch_add_explicit(&f->duplicate, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_add_explicit(&f->accepted, 1, memory_order_relaxed);
    /* Freshness follows the newest asOf accepted, whichever account it was for. */
    uint64_t seen = atomic_load_explicit(&f->latest_as_of, memory_order_relaxed);
    while (as_of > seen &&
           !atomic_compare_exchange_weak_explicit(&f->latest_as_of, &seen, as_of,
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void gw_metrics_count_refusal(custos_reason reason)
{
    mx_registry *r = mx_get();
    if (r != NULL)
        mx_count_refusal(&r->feeds[r->n_feeds], reason);
}

void gw_metrics_count_pending_expired(uint64_t n)
{
    mx_registry *r = mx_get();
    if (r != NULL)
        atomic_fetch_add_explicit(&r->pending_expired, n, memory_order_relaxed);
}

void gw_metrics_count_request_refusal(gw_request_kind kind, custos_reason reason)
{
    if ((unsigned)kind >= GW_REQUEST_KINDS)
        return;
    size_t idx = (size_t)reason < CUSTOS_REASON_COUNT ? (size_t)reason : CUSTOS_REASON_INTERNAL;
    atomic_fetch_add_explicit(&g_requests_refused[kind][idx], 1, memory_order_relaxed);
}

/* ---- Rendering ---- */

static void mx_header(gw_textbuf *b, const char *name, const char *type, const char *help)
{
    gw_textbuf_add(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t mx_load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

static void mx_render_hist(gw_textbuf *b, mx_hist *h)
{
    const mx_hist_def *d = h->def;
    mx_header(b, d->name, "histogram", d->help);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < d->n; i++) {
        cumulative += mx_load(&h->bucket[i]);
        gw_textbuf_add(b, "%s_bucket{le=\"%.9g\"} %" PRIu64 "\n", d->name,
                  (double)d->bounds[i] / d->unit, cumulative);
    }
    cumulative += mx_load(&h->bucket[d->n]);
    gw_textbuf_add(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", d->name, cumulative);
    gw_textbuf_add(b, "%s_sum %.9f\n", d->name, (double)mx_load(&h->sum) / d->unit);
    gw_textbuf_add(b, "%s_count %" PRIu64 "\n", d->name, cumulative);
}

/* One line per feed slot (configured feeds, then feed=""). */
static void mx_render_feed_counter(gw_textbuf *b, mx_registry *r, const char *name,
                                   const char *help, size_t offset)
{
    mx_header(b, name, "counter", help);
    for (size_t i = 0; i <= r->n_feeds; i++) {
        _Atomic uint64_t *v = (_Atomic uint64_t *)((char *)&r->feeds[i] + offset);
        gw_textbuf_add(b, "%s{feed=\"%s\"} %" PRIu64 "\n", name, r->feeds[i].label, mx_load(v));
    }
}

static double mx_u256_double(const custos_u256 *v)
{
    double d = 0;
    for (int i = 3; i >= 0; i--)
        d = d * 18446744073709551616.0 + (double)v->limb[i];
    return d;
}

static void mx_render_publisher(gw_textbuf *b, const gw_metrics_live *live)
{
    const gw_pub_status *p = &live->publisher;
    uint64_t lag = live->record_head > p->cursor ? live->record_head - p->cursor : 0;
    mx_header(b, "custos_publisher_leader", "gauge",
              "1 while this replica publishes on-chain (holds the publisher lock), else 0.");
    gw_textbuf_add(b, "custos_publisher_leader %d\n", p->leader ? 1 : 0);
    mx_header(b, "custos_publisher_serving", "gauge",
              "1 while the publisher's health is SERVING (a chain node answers, the lag is "
              "within max_lag_records), else 0.");
    gw_textbuf_add(b, "custos_publisher_serving %d\n", p->serving ? 1 : 0);
    mx_header(b, "custos_publisher_lag_records", "gauge",
              "Accepted records the EVM publisher has not yet decided on (the newest "
              "record's cursor - cursor; collateral notices are not counted).");
    gw_textbuf_add(b, "custos_publisher_lag_records %" PRIu64 "\n", lag);
    mx_header(b, "custos_publisher_cursor", "gauge",
              "The publisher's follow cursor: every record up to it has a fate.");
    gw_textbuf_add(b, "custos_publisher_cursor %" PRIu64 "\n", p->cursor);
    mx_header(b, "custos_publisher_last_published_cursor", "gauge",
              "Newest record confirmed on-chain (0: none yet).");
    gw_textbuf_add(b, "custos_publisher_last_published_cursor %" PRIu64 "\n",
              p->last_published_cursor);
    mx_header(b, "custos_publisher_pending_transactions", "gauge",
              "Transactions sent and not yet confirmed or failed.");
    gw_textbuf_add(b, "custos_publisher_pending_transactions %zu\n", p->pending);
    mx_header(b, "custos_publisher_relayer_nonce", "gauge",
              "The relayer account's next nonce (0 until the node answered).");
    gw_textbuf_add(b, "custos_publisher_relayer_nonce %" PRIu64 "\n", p->nonce);
    mx_header(b, "custos_publisher_published_total", "counter",
              "Attestations confirmed on-chain since start.");
    gw_textbuf_add(b, "custos_publisher_published_total %" PRIu64 "\n", p->published);
    mx_header(b, "custos_publisher_skipped_total", "counter",
              "Accepted records not published by policy since start.");
    gw_textbuf_add(b, "custos_publisher_skipped_total %" PRIu64 "\n", p->skipped);
    mx_header(b, "custos_publisher_decisions_total", "counter",
              "Accepted records the publisher sent or skipped since start, by reason "
              "(docs/publishing.md §3).");
    for (int r = 0; r < GW_PUB_REASONS; r++)
        gw_textbuf_add(b, "custos_publisher_decisions_total{reason=\"%s\"} %" PRIu64 "\n",
                       gw_pub_reason_name((gw_pub_reason)r), p->decisions[r]);
    mx_header(b, "custos_publisher_batches_sent_total", "counter",
              "submitBatch calls stored and broadcast since start (docs/publishing.md §14).");
    gw_textbuf_add(b, "custos_publisher_batches_sent_total %" PRIu64 "\n", p->batches_sent);
    mx_header(b, "custos_publisher_batches_too_large_total", "counter",
              "Batches not sent since start: beyond [evm] batch_max_accounts or the block's "
              "gas limit (their records skipped as batch-too-large).");
    gw_textbuf_add(b, "custos_publisher_batches_too_large_total %" PRIu64 "\n",
                   p->batches_too_large);
    mx_header(b, "custos_publisher_batch_accounts_refused_total", "counter",
              "Accounts of final submitBatch calls the adapter refused (AccountRefused) "
              "since start.");
    gw_textbuf_add(b, "custos_publisher_batch_accounts_refused_total %" PRIu64 "\n",
                   p->accounts_refused);
    mx_header(b, "custos_publisher_failed_total", "counter",
              "Publications that failed on-chain since start.");
    gw_textbuf_add(b, "custos_publisher_failed_total %" PRIu64 "\n", p->failed);
    mx_header(b, "custos_publisher_gas_spent_wei_total", "counter",
              "gasUsed * effectiveGasPrice of the receipts since start, in wei.");
    gw_textbuf_add(b, "custos_publisher_gas_spent_wei_total %.17g\n",
              mx_u256_double(&p->gas_spent_wei));
    mx_header(b, "custos_publisher_node_errors_total", "counter",
              "Failed calls to the Ethereum nodes since start.");
    gw_textbuf_add(b, "custos_publisher_node_errors_total %" PRIu64 "\n", p->node_errors);
    mx_header(b, "custos_publisher_requeued_total", "counter",
              "Publications built again under a new nonce (another transaction took theirs) "
              "since start.");
    gw_textbuf_add(b, "custos_publisher_requeued_total %" PRIu64 "\n", p->requeued);
    mx_header(b, "custos_publisher_fee_bumps_total", "counter",
              "Stuck transactions replaced under their nonce with higher fees since start.");
    gw_textbuf_add(b, "custos_publisher_fee_bumps_total %" PRIu64 "\n", p->fee_bumps);
    mx_header(b, "custos_publisher_reorged_total", "counter",
              "Receipts of publications a chain reorganisation took away before they were final, "
              "since start.");
    gw_textbuf_add(b, "custos_publisher_reorged_total %" PRIu64 "\n", p->reorged);
    /* One series per [evm] rpc_url entry, named by position: URLs may hold API keys. */
    mx_header(b, "custos_publisher_node_up", "gauge",
              "1 while the node (by position in [evm] rpc_url) answers and is on the configured "
              "chain, else 0.");
    for (size_t i = 0; i < p->n_nodes; i++)
        gw_textbuf_add(b, "custos_publisher_node_up{node=\"%zu\"} %d\n", i + 1,
                       p->node_up[i] ? 1 : 0);
    mx_header(b, "custos_publisher_node_current", "gauge",
              "The position in [evm] rpc_url of the node the publisher uses.");
    gw_textbuf_add(b, "custos_publisher_node_current %zu\n", p->node_current + 1);
    mx_header(b, "custos_publisher_relayer_low_balance_wei", "gauge",
              "[evm] low_balance_gwei in wei: the relayer balance below which to alert (0: none).");
    gw_textbuf_add(b, "custos_publisher_relayer_low_balance_wei %.17g\n",
                   mx_u256_double(&p->low_balance_wei));
    if (p->balance_known) {
        mx_header(b, "custos_publisher_relayer_balance_wei", "gauge",
                  "The relayer account's balance, in wei, as a node last answered.");
        gw_textbuf_add(b, "custos_publisher_relayer_balance_wei %.17g\n",
                       mx_u256_double(&p->balance_wei));
    }
    mx_header(b, "custos_publisher_expiry_lead_seconds", "gauge",
              "[evm] expiry_lead_seconds: how long before an on-chain value expires a waiting "
              "attestation is published.");
    gw_textbuf_add(b, "custos_publisher_expiry_lead_seconds %" PRIu64 "\n",
                   p->expiry_lead_seconds);
    if (!p->chain_known)
        return;
    /* The leader's view of the chain (docs/publishing.md §3); label values are the feed
     * names of accepted records, which the configuration names. */
    char label[2 * CUSTOS_FEED_MAX + 1];
    mx_header(b, "custos_publisher_chain_valuations", "gauge",
              "Accounts of the feed whose value on-chain is a published valuation.");
    for (size_t i = 0; i < p->n_feeds; i++)
        if (gw_metrics_escape_label(p->feeds[i].feed, label, sizeof label))
            gw_textbuf_add(b, "custos_publisher_chain_valuations{feed=\"%s\"} %" PRIu64 "\n",
                           label, p->feeds[i].valuations);
    mx_header(b, "custos_publisher_chain_expires_at_seconds", "gauge",
              "Unix time from which the first of the feed's valuations on-chain reads 0 "
              "(its validUntil, or past asOf + the adapter's maxAge).");
    for (size_t i = 0; i < p->n_feeds; i++)
        if (p->feeds[i].valuations > 0 &&
            gw_metrics_escape_label(p->feeds[i].feed, label, sizeof label))
            gw_textbuf_add(b,
                           "custos_publisher_chain_expires_at_seconds{feed=\"%s\"} %" PRIu64
                           "\n",
                           label, p->feeds[i].zero_at);
    mx_header(b, "custos_publisher_chain_expired_accounts", "gauge",
              "Accounts of the feed whose published valuation reads 0 on-chain now (expired "
              "or stale).");
    for (size_t i = 0; i < p->n_feeds; i++)
        if (gw_metrics_escape_label(p->feeds[i].feed, label, sizeof label))
            gw_textbuf_add(b,
                           "custos_publisher_chain_expired_accounts{feed=\"%s\"} %" PRIu64 "\n",
                           label, p->feeds[i].expired);
}

/* The allow-list comparison with the adapter (evm/drift.h): nothing until a first check
 * completed; label values are the configuration's feed names. */
static void mx_render_drift(gw_textbuf *b, const gw_drift_report *d)
{
    mx_header(b, "custos_allowlist_drift_checked_at_seconds", "gauge",
              "Unix time of the last complete comparison of the gateway's signers, "
              "accounts and feed policies with the adapter's; 0 before the first.");
    gw_textbuf_add(b, "custos_allowlist_drift_checked_at_seconds %" PRIu64 "\n",
                   d->checked_at);
    mx_header(b, "custos_allowlist_drift_check_failing", "gauge",
              "1 while the last attempt to read the adapter's signers, accounts and feed "
              "policies failed.");
    gw_textbuf_add(b, "custos_allowlist_drift_check_failing %d\n", d->failing ? 1 : 0);
    if (d->checked_at == 0)
        return;
    mx_header(b, "custos_allowlist_drift_logs_unread", "gauge",
              "1 while the adapter's logs, where the keys and accounts only it lists are "
              "found, could not be read up to the last block deep enough at the last check "
              "(/status drift.logs_error says why).");
    gw_textbuf_add(b, "custos_allowlist_drift_logs_unread %d\n",
                   d->logs_error[0] != '\0' ? 1 : 0);
    char label[2 * CUSTOS_FEED_MAX + 1];
    mx_header(b, "custos_allowlist_drift", "gauge",
              "Differences between the gateway and the adapter at the last check: signers "
              "that count on one side only or with another role, accounts registered to "
              "another feed or none on-chain.");
    for (size_t i = 0; i < d->n_feeds; i++) {
        if (!gw_metrics_escape_label(d->feeds[i].feed, label, sizeof label))
            continue;
        gw_textbuf_add(b, "custos_allowlist_drift{feed=\"%s\",kind=\"signers\"} %" PRIu64 "\n",
                       label, d->feeds[i].signers);
        gw_textbuf_add(b, "custos_allowlist_drift{feed=\"%s\",kind=\"accounts\"} %" PRIu64 "\n",
                       label, d->feeds[i].accounts);
    }
    mx_header(b, "custos_policy_drift", "gauge",
              "1 where a field of the feed's policy differs from the adapter's at the last "
              "check (docs/rules.md rule 10: max_age of a business-day feed only when the "
              "adapter's is shorter than the longest span the gateway accepts).");
    for (size_t i = 0; i < d->n_feeds; i++) {
        if (!gw_metrics_escape_label(d->feeds[i].feed, label, sizeof label))
            continue;
        for (int f = 0; f < GW_POLICY_FIELDS; f++)
            gw_textbuf_add(b, "custos_policy_drift{feed=\"%s\",field=\"%s\"} %d\n", label,
                           gw_policy_field_name((gw_policy_field)f),
                           d->feeds[i].policy[f].drift ? 1 : 0);
    }
    mx_header(b, "custos_policy_drift_unchecked", "gauge",
              "1 where the feed's policy could not be compared with the adapter's at the last "
              "check (a revert other than UnknownFeed, an unreadable answer, a calendar that "
              "does not cover now); its custos_policy_drift fields say 0 meanwhile.");
    for (size_t i = 0; i < d->n_feeds; i++) {
        if (!gw_metrics_escape_label(d->feeds[i].feed, label, sizeof label))
            continue;
        gw_textbuf_add(b, "custos_policy_drift_unchecked{feed=\"%s\"} %d\n", label,
                       d->feeds[i].policy_error[0] != '\0' ? 1 : 0);
    }
}

/* The first second at which the gateway would refuse an attestation with this asOf as
 * STALE, by the rule of gw_verify_freshness. In business days: stale from 00:00 New York
 * on the (max_age_business_days + 1)-th business day after asOf's date. When the calendar
 * cannot answer (no calendar, a date it does not cover) the gateway refuses the asOf
 * already, and so it is reported stale from asOf itself. */
static uint64_t mx_stale_at(const mx_registry *r, const mx_feed *f, uint64_t as_of)
{
    uint32_t days = atomic_load(&f->max_age_business_days);
    uint64_t max_age = atomic_load(&f->max_age);
    if (days == 0)
        return as_of >= UINT64_MAX - max_age ? UINT64_MAX : as_of + max_age + 1;
    custos_error e;
    custos_day from = 0, stale_day = 0;
    uint64_t eve = 0;
    if (r->calendar.first_year == 0 || custos_ny_day(as_of, &from, &e) != CUSTOS_OK ||
        custos_calendar_add_business_days(&r->calendar, from, days + 1,
                                          &stale_day, &e) != CUSTOS_OK ||
        custos_ny_end_of_day(stale_day - 1, &eve, &e) != CUSTOS_OK)
        return as_of;
    return eve + 1;
}

custos_rc gw_metrics_render(const gw_metrics_live *live, uint64_t now, char **out,
                            size_t *len, custos_error *err)
{
    *out = NULL;
    *len = 0;
    mx_registry *r = mx_get();
    if (r == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "metrics: not initialised");
    gw_textbuf b;
    if (!gw_textbuf_init(&b, 16384, MX_RENDER_MAX))
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "metrics: out of memory");

    mx_header(&b, "custos_build_info", "gauge", "The gateway's version (value always 1).");
    gw_textbuf_add(&b, "custos_build_info{version=\"%s\"} 1\n", custos_version());
    mx_header(&b, "custos_start_time_seconds", "gauge", "When the gateway started (Unix time).");
    gw_textbuf_add(&b, "custos_start_time_seconds %" PRIu64 "\n", r->start_time);

    mx_render_feed_counter(&b, r, "custos_attestations_accepted_total",
                           "Attestations accepted (quorum reached and committed), by feed.",
                           offsetof(mx_feed, accepted));
    mx_render_feed_counter(&b, r, "custos_attestations_duplicate_total",
                           "Submissions of attestations already accepted, by feed.",
                           offsetof(mx_feed, duplicate));
    mx_render_feed_counter(&b, r, "custos_attestations_pending_total",
                           "Submissions answered PENDING (stored, quorum not reached), by feed.",
                           offsetof(mx_feed, pending));
    mx_render_feed_counter(&b, r, "custos_attestations_held_total",
                           "Attestations held by the circuit breaker (rule 6), by feed.",
                           offsetof(mx_feed, held));
    mx_header(&b, "custos_attestations_refused_total", "counter",
              "Submissions refused, by feed and reason (feed=\"\": unknown or undecodable).");
    for (size_t i = 0; i <= r->n_feeds; i++)
        for (int reason = 1; reason < CUSTOS_REASON_COUNT; reason++)
            if (strcmp(custos_reason_name((custos_reason)reason), "UNKNOWN") != 0)
                gw_textbuf_add(&b, "custos_attestations_refused_total{feed=\"%s\",reason=\"%s\"} %" PRIu64
                      "\n", r->feeds[i].label, custos_reason_name((custos_reason)reason),
                      mx_load(&r->feeds[i].refused[reason]));
    mx_header(&b, "custos_requests_refused_total", "counter",
              "Reads and admin calls refused, by kind (read, admin) and reason.");
    for (int kind = 0; kind < GW_REQUEST_KINDS; kind++)
        for (int reason = 1; reason < CUSTOS_REASON_COUNT; reason++)
            if (strcmp(custos_reason_name((custos_reason)reason), "UNKNOWN") != 0)
                gw_textbuf_add(&b, "custos_requests_refused_total{kind=\"%s\",reason=\"%s\"} %" PRIu64
                      "\n", request_kind_names[kind], custos_reason_name((custos_reason)reason),
                      mx_load(&g_requests_refused[kind][reason]));

    mx_render_hist(&b, &r->verify);
    mx_render_hist(&b, &r->commit);
    mx_render_hist(&b, &r->group);

    mx_header(&b, "custos_feed_max_age_seconds", "gauge",
              "The feed's configured max_age: staleness above it means attestations are refused.");
    for (size_t i = 0; i < r->n_feeds; i++)
        if (atomic_load(&r->feeds[i].max_age_business_days) == 0)
            gw_textbuf_add(&b, "custos_feed_max_age_seconds{feed=\"%s\"} %" PRIu64 "\n",
                      r->feeds[i].label, atomic_load(&r->feeds[i].max_age));
    mx_header(&b, "custos_feed_max_age_business_days", "gauge",
              "The feed's configured max_age_business_days (bond-market calendar), for feeds "
              "that count staleness in business days.");
    for (size_t i = 0; i < r->n_feeds; i++) {
        uint32_t days = atomic_load(&r->feeds[i].max_age_business_days);
        if (days != 0)
            gw_textbuf_add(&b, "custos_feed_max_age_business_days{feed=\"%s\"} %" PRIu32 "\n",
                      r->feeds[i].label, days);
    }
    /* Feeds with no acceptance since start have no freshness series rather than a fake
     * one: alerts use custos_start_time_seconds for them. */
    mx_header(&b, "custos_feed_latest_asof_seconds", "gauge",
              "asOf (Unix time) of the newest attestation accepted since start, by feed.");
    for (size_t i = 0; i < r->n_feeds; i++) {
        uint64_t as_of = mx_load(&r->feeds[i].latest_as_of);
        if (as_of != 0)
            gw_textbuf_add(&b, "custos_feed_latest_asof_seconds{feed=\"%s\"} %" PRIu64 "\n",
                      r->feeds[i].label, as_of);
    }
    mx_header(&b, "custos_feed_staleness_seconds", "gauge",
              "Now minus the asOf of the newest accepted attestation, by feed.");
    for (size_t i = 0; i < r->n_feeds; i++) {
        uint64_t as_of = mx_load(&r->feeds[i].latest_as_of);
        if (as_of != 0)
            gw_textbuf_add(&b, "custos_feed_staleness_seconds{feed=\"%s\"} %" PRIu64 "\n",
                      r->feeds[i].label, now > as_of ? now - as_of : 0);
    }
    pthread_mutex_lock(&r->calendar_lock);
    mx_header(&b, "custos_feed_stale_at_seconds", "gauge",
              "Unix time from which the newest accepted attestation is refused STALE, by feed "
              "(from max_age, or max_age_business_days and the bond-market calendar).");
    for (size_t i = 0; i < r->n_feeds; i++) {
        uint64_t as_of = mx_load(&r->feeds[i].latest_as_of);
        if (as_of != 0)
            gw_textbuf_add(&b, "custos_feed_stale_at_seconds{feed=\"%s\"} %" PRIu64 "\n",
                      r->feeds[i].label, mx_stale_at(r, &r->feeds[i], as_of));
    }
    /* Only when a feed counts business days: past this time every such feed is refused
     * STALE, so the alert fires months ahead (deploy/prometheus/alerts.yaml). */
    uint64_t covered_until = 0;
    custos_error cerr;
    if (r->calendar.first_year != 0 &&
        custos_calendar_covered_until(&r->calendar, &covered_until, &cerr) == CUSTOS_OK) {
        mx_header(&b, "custos_calendar_covered_until_seconds", "gauge",
                  "Unix time at which the bond-market calendar in force ends (00:00 New York "
                  "on 1 January after its last covered year): business-day freshness is "
                  "refused from then on.");
        gw_textbuf_add(&b, "custos_calendar_covered_until_seconds %" PRIu64 "\n",
                       covered_until);
    }
    pthread_mutex_unlock(&r->calendar_lock);

    mx_header(&b, "custos_store_healthy", "gauge",
              "1 while the store accepts writes, 0 after a failed commit until it recovers.");
    gw_textbuf_add(&b, "custos_store_healthy %d\n", live->store_healthy ? 1 : 0);
    mx_header(&b, "custos_store_head_cursor", "gauge", "Cursor of the newest accepted record.");
    gw_textbuf_add(&b, "custos_store_head_cursor %" PRIu64 "\n", live->head);
    mx_header(&b, "custos_held", "gauge",
              "Attestations the circuit breaker holds, not superseded (rule 6).");
    gw_textbuf_add(&b, "custos_held %" PRIu64 "\n", live->held);
    mx_header(&b, "custos_pending", "gauge",
              "Pending attestations (below their quorum) stored, all feeds.");
    gw_textbuf_add(&b, "custos_pending %" PRIu64 "\n", live->pending_rows);
    mx_header(&b, "custos_pending_bytes", "gauge",
              "Bytes of the attestations stored for pending digests ([limits] max_pending_*).");
    gw_textbuf_add(&b, "custos_pending_bytes %" PRIu64 "\n", live->pending_bytes);
    mx_header(&b, "custos_pending_expired_total", "counter",
              "Pending attestations dropped after [limits] pending_max_age_seconds.");
    gw_textbuf_add(&b, "custos_pending_expired_total %" PRIu64 "\n",
                   atomic_load_explicit(&r->pending_expired, memory_order_relaxed));
    if (live->has_publisher)
        mx_render_publisher(&b, live);
    if (live->drift != NULL)
        mx_render_drift(&b, live->drift);

    if (b.failed) {
        free(b.data);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "metrics: cannot render the exposition");
    }
    *out = b.data;
    *len = b.len;
    return CUSTOS_OK;
}
