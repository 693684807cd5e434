/* Keeping on-chain values alive (publisher_internal.h, docs/publishing.md §3). The adapter
 * answers 0 for an account from its record's validUntil, or once asOf + maxAge has passed
 * (docs/adapter.md §7), and lenders take 0 as no collateral. A record judged unchanged is
 * skipped, so an account's value on-chain may end while a newer valid attestation waits:
 * for every account whose last publication, a valuation, ends within expiry_lead_seconds,
 * the newest record of it skipped since is published after all (if it ends later and the
 * adapter would take it now). The same scan counts, per feed, the valuations on-chain,
 * the earliest moment one of them reads 0, and how many read 0 already (the status and
 * its metrics, for the stale-soon alert). */
#include "evm/publisher_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evm/evm_abi.h"
#include "evm/evm_view.h"
#include "log.h"

/* The adapter's maxAge is read again after this long: the owner may change it. */
#define PUB_MAX_AGE_TTL_MS 60000
/* The scan runs at most this often: its queries are indexed, but there is no need to
 * repeat them every poll. */
#define PUB_EXPIRY_EVERY_MS 1000
/* Accounts published per feed and scan, and old rows labelled per scan: bounded work. */
#define PUB_EXPIRING_BATCH 64
#define PUB_LABEL_BATCH 64

/* The cache entry of a feed: found, or the slot to fill (a free one, else the oldest). */
static pub_feed *pub_feed_slot(gw_publisher *p, const char *feed, bool *found)
{
    pub_feed *oldest = NULL;
    for (size_t i = 0; i < p->n_feeds; i++) {
        if (strcmp(p->feeds[i].name, feed) == 0) {
            *found = true;
            return &p->feeds[i];
        }
        if (oldest == NULL || p->feeds[i].read_ms < oldest->read_ms)
            oldest = &p->feeds[i];
    }
    *found = false;
    if (p->n_feeds < PUB_MAX_FEEDS)
        return &p->feeds[p->n_feeds++];
    return oldest;
}

custos_rc gw_pub_max_age(gw_publisher *p, const char *feed, uint64_t *max_age,
                         custos_error *err)
{
    int64_t now = gw_pub_mono_ms();
    bool found = false;
    pub_feed *f = pub_feed_slot(p, feed, &found);
    if (found && now - f->read_ms < PUB_MAX_AGE_TTL_MS) {
        *max_age = f->max_age;
        return CUSTOS_OK;
    }
    uint8_t feed_id[CUSTOS_HASH_LEN];
    gw_publisher_feed_id(feed, feed_id);
    evm_abi_value arg = evm_abi_bytes32(feed_id);
    uint8_t *out = NULL;
    size_t len = 0;
    custos_rc rc =
        evm_view_call(p->rpc, p->cfg->evm.adapter, "feed(bytes32)", &arg, 1, &out, &len, NULL, err);
    uint64_t value = 0;
    const evm_rpc_fault *fault = rc == CUSTOS_ERR_REFUSED ? evm_rpc_last_fault(p->rpc) : NULL;
    if (fault != NULL && (fault->has_data || fault->code == 3)) {
        /* UnknownFeed: the adapter has no policy for it (its publications fail too). */
        custos_error_clear(err);
        rc = gw_pub_node(p, CUSTOS_OK);
    } else if ((rc = gw_pub_node(p, rc)) == CUSTOS_OK) {
        /* feed() returns (threshold, distinctRoles, maxAge, maxSkew, maxTtl). */
        rc = evm_abi_get_uint64(out, len, 2, 32, &value, err);
    }
    free(out);
    if (rc != CUSTOS_OK)
        return rc;
    if (!found || f->max_age != value)
        gw_log(GW_LOG_INFO, "publisher.feed", "feed %s: the adapter's maxAge is %" PRIu64 "%s",
               feed, value, value == 0 ? " (the adapter does not know the feed)" : " s");
    snprintf(f->name, sizeof f->name, "%s", feed);
    f->max_age = value;
    f->read_ms = now;
    *max_age = value;
    return CUSTOS_OK;
}

/* Publications stored before the state kept feed and validUntil get them from the log. */
static custos_rc pub_label_old(gw_publisher *p, custos_error *err)
{
    uint64_t cursors[PUB_LABEL_BATCH];
    size_t n = 0;
    custos_rc rc = gw_pubstate_unlabelled(p->state, cursors, PUB_LABEL_BATCH, &n, err);
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        if ((rc = gw_pub_read_record(p, cursors[i], &rec, err)) != CUSTOS_OK)
            break;
        rc = gw_pubstate_label(p->state, cursors[i], rec.sub.feed, rec.sub.att.valid_until,
                               err);
        custos_record_clear(&rec);
    }
    return rc;
}

/* as_of_by for "asOf + maxAge + 1 <= t": asOf <= t - maxAge - 1; 0 (no asOf matches,
 * every accepted asOf being later) when maxAge is not known or t is too early. */
static uint64_t pub_as_of_by(uint64_t t, uint64_t max_age)
{
    return max_age == 0 || t <= max_age + 1 ? 0 : t - max_age - 1;
}

/* Publishes the waiting records of the accounts of `feed` whose value ends soon. */
static custos_rc pub_keep_alive(gw_publisher *p, const char *feed, uint64_t max_age,
                                uint64_t now, custos_error *err)
{
    uint64_t horizon = now + p->policy.expiry_lead_seconds;
    gw_pub_expiring e[PUB_EXPIRING_BATCH];
    size_t n = 0;
    custos_rc rc = gw_pubstate_expiring(p->state, feed, horizon, pub_as_of_by(horizon, max_age),
                                        now, e, PUB_EXPIRING_BATCH, &n, err);
    for (size_t i = 0; i < n && rc == CUSTOS_OK && !gw_pub_stopping(p); i++) {
        uint64_t last = gw_publisher_zero_at(e[i].last_as_of, e[i].last_valid_until, max_age);
        uint64_t next = gw_publisher_zero_at(e[i].next_as_of, e[i].next_valid_until, max_age);
        if (!gw_publisher_expiry_due(&p->policy, last, next, now))
            continue;
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        if ((rc = gw_pub_read_record(p, e[i].next_cursor, &rec, err)) != CUSTOS_OK)
            break;
        gw_log(GW_LOG_INFO, "publisher.expiry",
               "cursor %" PRIu64 ": the value on-chain (cursor %" PRIu64 ") reads 0 from %" PRIu64
               "; publishing the waiting record, which holds until %" PRIu64,
               e[i].next_cursor, e[i].last_cursor, last, next);
        rc = gw_pub_send(p, &rec, GW_PUB_EXPIRY, true, err);
        custos_record_clear(&rec);
    }
    return rc;
}

/* The feed's figures for the status: valuations on-chain, the earliest zero, expired. */
static custos_rc pub_feed_figures(gw_publisher *p, const char *feed, uint64_t max_age,
                                  uint64_t now, gw_pub_feed_status *out, custos_error *err)
{
    gw_pub_chain_summary sum;
    custos_rc rc =
        gw_pubstate_chain_summary(p->state, feed, now, pub_as_of_by(now, max_age), &sum, err);
    if (rc != CUSTOS_OK)
        return rc;
    memset(out, 0, sizeof *out);
    snprintf(out->feed, sizeof out->feed, "%.*s", CUSTOS_FEED_MAX, feed);
    out->valuations = sum.accounts;
    out->expired = sum.matching;
    out->max_age = max_age;
    if (sum.accounts > 0) {
        uint64_t stale = gw_publisher_zero_at(sum.min_as_of, UINT64_MAX, max_age);
        out->zero_at = stale < sum.min_valid_until ? stale : sum.min_valid_until;
    }
    return CUSTOS_OK;
}

custos_rc gw_pub_expiry(gw_publisher *p, custos_error *err)
{
    int64_t now_ms = gw_pub_mono_ms();
    if (p->expiry_ms != 0 && now_ms - p->expiry_ms < PUB_EXPIRY_EVERY_MS)
        return CUSTOS_OK;
    char feeds[PUB_MAX_FEEDS][CUSTOS_FEED_MAX + 1];
    size_t n = 0;
    custos_rc rc = pub_label_old(p, err);
    if (rc == CUSTOS_OK)
        rc = gw_pubstate_chain_feeds(p->state, feeds, PUB_MAX_FEEDS, &n, err);
    gw_pub_feed_status figures[GW_PUB_STATUS_FEEDS];
    size_t n_figures = 0;
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
        if (feeds[i][0] == '\0')
            continue; /* not yet labelled: the next scans fill it in */
        uint64_t max_age = 0;
        uint64_t now = gw_pub_now();
        if ((rc = gw_pub_max_age(p, feeds[i], &max_age, err)) != CUSTOS_OK ||
            (rc = pub_keep_alive(p, feeds[i], max_age, now, err)) != CUSTOS_OK)
            break;
        if (n_figures < GW_PUB_STATUS_FEEDS &&
            (rc = pub_feed_figures(p, feeds[i], max_age, now, &figures[n_figures], err)) ==
                CUSTOS_OK)
            n_figures++;
    }
    if (rc != CUSTOS_OK)
        return rc;
    p->expiry_ms = now_ms;
    pthread_mutex_lock(&p->lock);
    memcpy(p->status.feeds, figures, n_figures * sizeof figures[0]);
    p->status.n_feeds = n_figures;
    p->status.chain_known = true;
    pthread_mutex_unlock(&p->lock);
    return CUSTOS_OK;
}
