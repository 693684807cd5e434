/* Following the accepted log (publisher_internal.h): each record after the persisted
 * follow cursor gets a fate before the cursor moves past it. The policy, per account and
 * Chainlink-style (gw_publisher_decide, docs/publishing.md §3): publish the first record,
 * every release and freeze, a valuation after a release or freeze, a new beneficiary, a
 * value moved by deviation_bps or more of the last published value, an asOf
 * heartbeat_seconds or more after the last published one, or any record that keeps alive
 * an on-chain value ending within expiry_lead_seconds, and on a feed with a circuit
 * breaker every valuation above the last published value; skip the rest. Within a batch
 * an account's newest record counts (with, on a breaker feed, the rises before it), and
 * freezes go first. */
#include "evm/publisher_internal.h"

#include "registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const reason_names[] = {
    [GW_PUB_FIRST] = "first",           [GW_PUB_FREEZE] = "freeze",
    [GW_PUB_RELEASE] = "release",       [GW_PUB_AFTER_HOLD] = "after-release-or-freeze",
    [GW_PUB_BENEFICIARY] = "beneficiary", [GW_PUB_DEVIATION] = "deviation",
    [GW_PUB_HEARTBEAT] = "heartbeat",   [GW_PUB_EXPIRY] = "expiry",
    [GW_PUB_RISE] = "rise",
    [GW_PUB_UNCHANGED] = "unchanged",
    [GW_PUB_NOT_NEWER] = "not-newer",   [GW_PUB_SUPERSEDED] = "superseded",
    [GW_PUB_BATCH_TOO_LARGE] = "batch-too-large",
};

const char *gw_pub_reason_name(gw_pub_reason r)
{
    if ((unsigned)r > GW_PUB_BATCH_TOO_LARGE)
        return "unknown";
    return reason_names[r];
}

bool gw_pub_reason_publishes(gw_pub_reason r)
{
    return r <= GW_PUB_RISE;
}

/* |new - old| >= bps/10000 * old, exactly: floor(diff * 10000 / old) >= bps holds
 * exactly when diff * 10000 / old >= bps, bps being an integer. */
static bool pub_deviates(const custos_u256 *old, const custos_u256 *now, uint32_t bps)
{
    if (bps == 0)
        return true;
    if (custos_u256_is_zero(old))
        return !custos_u256_is_zero(now);
    custos_u256 diff, scale, q, threshold;
    bool up = custos_u256_cmp(now, old) >= 0;
    if (custos_u256_sub(&diff, up ? now : old, up ? old : now) != CUSTOS_OK)
        return true; /* the larger minus the smaller cannot underflow */
    custos_u256_from_u64(&scale, 10000);
    if (custos_u256_mul_div(&q, &diff, &scale, old) != CUSTOS_OK)
        return true; /* the quotient overflowed: far beyond any threshold */
    custos_u256_from_u64(&threshold, bps);
    return custos_u256_cmp(&q, &threshold) >= 0;
}

uint64_t gw_publisher_zero_at(uint64_t as_of, uint64_t valid_until, uint64_t max_age)
{
    /* The adapter answers 0 from block.timestamp >= validUntil, and from
     * block.timestamp > asOf + maxAge. */
    if (max_age == 0 || as_of >= UINT64_MAX - max_age)
        return valid_until;
    uint64_t stale = as_of + max_age + 1;
    return stale < valid_until ? stale : valid_until;
}

bool gw_publisher_expiry_due(const gw_pub_policy *pol, uint64_t last_zero_at,
                             uint64_t next_zero_at, uint64_t now)
{
    uint64_t horizon = now > UINT64_MAX - pol->expiry_lead_seconds
                           ? UINT64_MAX
                           : now + pol->expiry_lead_seconds;
    return last_zero_at <= horizon && next_zero_at > last_zero_at && next_zero_at > now;
}

bool gw_publisher_breaker_rise(const gw_pub_last *last, const custos_attestation *att,
                               bool breaker)
{
    return breaker && last != NULL && last->has && last->kind == CUSTOS_KIND_VALUATION &&
           att->kind == CUSTOS_KIND_VALUATION && att->sequence > last->sequence &&
           custos_u256_cmp(&att->collateral_value, &last->value) > 0;
}

gw_pub_reason gw_publisher_decide(const gw_pub_policy *pol, const gw_pub_last *last,
                                  const custos_attestation *att, uint64_t max_age,
                                  bool breaker, uint64_t now)
{
    if (last == NULL || !last->has)
        return GW_PUB_FIRST;
    if (att->sequence <= last->sequence)
        return GW_PUB_NOT_NEWER;
    if (att->kind == CUSTOS_KIND_FREEZE)
        return GW_PUB_FREEZE;
    if (att->kind == CUSTOS_KIND_RELEASE)
        return GW_PUB_RELEASE;
    if (last->kind != CUSTOS_KIND_VALUATION)
        return GW_PUB_AFTER_HOLD;
    if (memcmp(att->beneficiary, last->beneficiary, CUSTOS_ADDRESS_LEN) != 0)
        return GW_PUB_BENEFICIARY;
    if (pub_deviates(&last->value, &att->collateral_value, pol->deviation_bps))
        return GW_PUB_DEVIATION;
    if (att->as_of >= last->as_of && att->as_of - last->as_of >= pol->heartbeat_seconds)
        return GW_PUB_HEARTBEAT;
    /* docs/publishing.md §3: an unchanged value is still published before the one on-chain
     * expires, or lenders read 0 while a valid attestation waits. */
    if (gw_publisher_expiry_due(pol, gw_publisher_zero_at(last->as_of, last->valid_until, max_age),
                                gw_publisher_zero_at(att->as_of, att->valid_until, max_age), now))
        return GW_PUB_EXPIRY;
    /* Rule 10: the adapter bounds a rise by its last valuation, the gateway by its last
     * accepted one. Skipping only values at most the last published one keeps the
     * gateway's base at or below the adapter's, so what the gateway accepted the adapter
     * accepts (docs/publishing.md §3). */
    if (gw_publisher_breaker_rise(last, att, breaker))
        return GW_PUB_RISE;
    return GW_PUB_UNCHANGED;
}

void gw_pub_row_from_att(const custos_attestation *a, uint64_t cursor, const char *feed,
                         const uint8_t *batch_digest, gw_pub_row *row)
{
    memset(row, 0, sizeof *row);
    row->cursor = cursor;
    memcpy(row->account, a->account, CUSTOS_HASH_LEN);
    row->sequence = a->sequence;
    row->kind = a->kind;
    memcpy(row->beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN);
    row->value = a->collateral_value;
    row->as_of = a->as_of;
    row->valid_until = a->valid_until;
    snprintf(row->feed, sizeof row->feed, "%s", feed);
    row->batched = batch_digest != NULL;
    if (batch_digest != NULL)
        memcpy(row->batch_digest, batch_digest, CUSTOS_HASH_LEN);
}

void gw_pub_row_from_record(const custos_record *rec, gw_pub_row *row)
{
    gw_pub_row_from_att(&rec->sub.att, rec->cursor, rec->sub.feed,
                        rec->batched ? rec->batch.digest : NULL, row);
}

custos_rc gw_pub_last_of(gw_publisher *p, const uint8_t account[CUSTOS_HASH_LEN],
                         gw_pub_last *last, custos_error *err)
{
    memset(last, 0, sizeof *last);
    gw_pub_row row;
    custos_rc rc = gw_pubstate_last_published(p->state, account, &row, err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        custos_error_clear(err);
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK)
        return rc;
    last->has = true;
    last->kind = row.kind;
    memcpy(last->beneficiary, row.beneficiary, CUSTOS_ADDRESS_LEN);
    last->value = row.value;
    last->as_of = row.as_of;
    last->valid_until = row.valid_until;
    last->sequence = row.sequence;
    gw_pub_row_clear(&row);
    return CUSTOS_OK;
}

/* Whether the record's feed has its circuit breaker on (rule 6), in the feed policy the
 * engine judges by now (a reload may have changed it). */
bool gw_pub_breaker(gw_publisher *p, const char *feed)
{
    gw_policy *pol = gw_registry_acquire(gw_engine_registry(p->engine));
    const gw_feed *f = gw_policy_find_feed(pol, feed);
    bool on = f != NULL && f->breaker_rise_bps != 0;
    gw_policy_release(pol);
    return on;
}

custos_rc gw_pub_skip(gw_publisher *p, gw_pub_row *row, gw_pub_reason why,
                      const char *detail, custos_error *err)
{
    custos_rc rc = gw_pub_put_plain(p, row, GW_PUB_SKIPPED, detail, false, err);
    if (rc == CUSTOS_OK) {
        pthread_mutex_lock(&p->lock);
        p->status.decisions[why]++;
        pthread_mutex_unlock(&p->lock);
    }
    return rc;
}

/* Decides and records the fate of batch[i]. */
static custos_rc pub_handle(gw_publisher *p, const custos_record *batch, size_t n, size_t i,
                            custos_error *err)
{
    const custos_record *rec = &batch[i];
    gw_pub_row known;
    custos_rc rc = gw_pubstate_get(p->state, rec->cursor, &known, err);
    if (rc == CUSTOS_OK) {
        gw_pub_row_clear(&known); /* decided before a restart */
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_ERR_NOT_FOUND)
        return rc;
    custos_error_clear(err);
    /* A batch-signed record goes with its whole batch, decided together
     * (publish_batchcall.c). */
    if (rec->batched)
        return gw_pub_batch_send(p, rec, GW_PUB_FIRST, false, err);
    gw_pub_row row;
    gw_pub_row_from_record(rec, &row);
    gw_pub_last last;
    if ((rc = gw_pub_last_of(p, rec->sub.att.account, &last, err)) != CUSTOS_OK)
        return rc;
    bool breaker = gw_pub_breaker(p, rec->sub.feed);
    /* A rise on a breaker feed is published before the record that supersedes it, or the
     * adapter would bound that record by an older, lower value (rule 10). */
    if (!gw_publisher_breaker_rise(&last, &rec->sub.att, breaker)) {
        for (size_t j = i + 1; j < n; j++) {
            if (memcmp(batch[j].sub.att.account, rec->sub.att.account, CUSTOS_HASH_LEN) == 0) {
                char detail[64];
                snprintf(detail, sizeof detail, "%s by cursor %" PRIu64,
                         gw_pub_reason_name(GW_PUB_SUPERSEDED), batch[j].cursor);
                return gw_pub_skip(p, &row, GW_PUB_SUPERSEDED, detail, err);
            }
        }
    }
    uint64_t max_age = 0;
    if (last.has && (rc = gw_pub_max_age(p, rec->sub.feed, &max_age, err)) != CUSTOS_OK)
        return rc;
    gw_pub_reason why =
        gw_publisher_decide(&p->policy, &last, &rec->sub.att, max_age, breaker, gw_pub_now());
    if (!gw_pub_reason_publishes(why))
        return gw_pub_skip(p, &row, why, gw_pub_reason_name(why), err);
    return gw_pub_send(p, rec, why, false, err);
}

custos_rc gw_pub_follow(gw_publisher *p, custos_error *err)
{
    uint64_t cursor;
    custos_rc rc = gw_pubstate_cursor(p->state, &cursor, err);
    if (rc != CUSTOS_OK)
        return rc;
    pthread_mutex_lock(&p->lock);
    p->status.cursor = cursor;
    pthread_mutex_unlock(&p->lock);
    /* The records' head: collateral notices in the log are not the publisher's. */
    if (gw_engine_record_head(p->engine) <= cursor)
        return CUSTOS_OK;
    size_t n = 0;
    if ((rc = gw_engine_read_from(p->engine, cursor, p->batch, PUB_BATCH, &n, err)) != CUSTOS_OK)
        return rc;
    /* Freezes first (stopping a loan is urgent), then everything else in log order. On a
     * breaker feed a freeze comes after the account's earlier records of the batch: a rise
     * among them must reach the chain before it, since the adapter passes freezes over
     * when it finds the base of the next valuation (rule 6). */
    for (int pass = 0; pass < 2 && rc == CUSTOS_OK; pass++) {
        for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
            const custos_record *rec = &p->batch[i];
            bool freeze = rec->sub.att.kind == CUSTOS_KIND_FREEZE;
            if (freeze != (pass == 0))
                continue;
            bool before = freeze && gw_pub_breaker(p, rec->sub.feed);
            for (size_t j = 0; before && j < i && rc == CUSTOS_OK; j++) {
                if (p->batch[j].sub.att.kind != CUSTOS_KIND_FREEZE &&
                    memcmp(p->batch[j].sub.att.account, rec->sub.att.account,
                           CUSTOS_HASH_LEN) == 0)
                    rc = gw_pub_stopping(p) ? CUSTOS_ERR_UNAVAILABLE
                                            : pub_handle(p, p->batch, n, j, err);
            }
            if (rc != CUSTOS_OK)
                break;
            if (gw_pub_stopping(p))
                rc = CUSTOS_ERR_UNAVAILABLE;
            else
                rc = pub_handle(p, p->batch, n, i, err);
        }
    }
    uint64_t last = n > 0 ? p->batch[n - 1].cursor : cursor;
    for (size_t i = 0; i < n; i++)
        custos_record_clear(&p->batch[i]);
    if (rc == CUSTOS_ERR_UNAVAILABLE && gw_pub_stopping(p)) {
        custos_error_clear(err);
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK || n == 0)
        return rc;
    if ((rc = gw_pubstate_advance(p->state, last, err)) != CUSTOS_OK)
        return rc;
    pthread_mutex_lock(&p->lock);
    p->status.cursor = last;
    pthread_mutex_unlock(&p->lock);
    return CUSTOS_OK;
}
