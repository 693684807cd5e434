/* The committer thread (internal.h): takes the longest run of verified tickets from the
 * front of the ring, applies the rules to each inside one store transaction, commits, and
 * only then answers them. When idle it probes an unavailable store, and over a shared
 * store follows the other replicas' commits. */
#include "engine/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "monotonic.h"

/* After a commit that moved the head: the newest record's cursor. A group's own cursors are
 * all records; over a shared store the head may also be other replicas' records or notices,
 * so it is read from the store. */
static void eng_record_head(gw_engine *e, uint64_t head)
{
    if (gw_store_shared(&e->store))
        gw_eng_read_record_head(e);
    else
        atomic_store(&e->record_head, head);
}

void gw_eng_read_record_head(gw_engine *e)
{
    uint64_t records = 0;
    custos_error err;
    custos_error_clear(&err);
    if (gw_store_record_head(&e->store, &records, &err) == CUSTOS_OK)
        atomic_store(&e->record_head, records);
    else
        gw_log(GW_LOG_WARN, "store_error", "cannot read the newest record's cursor: %s",
               err.message);
}

/* Shared store: one account's row into the overlay, unless the group has it already. */
static custos_rc eng_reload_account(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN],
                                    custos_error *err)
{
    if (gw_eng_overlay_find(e, account) != NULL)
        return CUSTOS_OK;
    gw_store_account row;
    custos_rc rc = gw_store_get_account(&e->store, account, &row, err);
    if (rc == CUSTOS_OK)
        rc = gw_eng_overlay_set(e, account, row.last_sequence, row.feed, row.beneficiary, NULL,
                                err);
    return rc == CUSTOS_ERR_NOT_FOUND ? CUSTOS_OK : rc;
}

/* Shared store, inside the open group: the head and the rows of the group's accounts as
 * the other writers left them. An account absent from the store is absent from the cache
 * too (the cache only ever holds committed rows), so only found rows need the overlay. */
static custos_rc eng_reload(gw_engine *e, eng_item **items, size_t n, uint64_t *head,
                            custos_error *err)
{
    custos_rc rc = gw_store_head(&e->store, head, err);
    /* Other replicas extend the accepted chain too: link on from the stored tip. */
    bool linked = true;
    if (rc == CUSTOS_OK)
        rc = gw_eng_chain_at(e, *head, e->group_chain, &linked, err);
    if (rc == CUSTOS_OK && !linked)
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                              "store: record %llu has no chain hash", (unsigned long long)*head);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        if (items[i]->release)
            continue; /* gw_eng_apply_release reads its account's row itself */
        if (items[i]->batch == NULL) {
            rc = eng_reload_account(e, items[i]->sub.att.account, err);
            continue;
        }
        const gw_batch_submission *bs = &items[i]->batch->bs;
        for (size_t k = 0; rc == CUSTOS_OK && k < bs->n_accounts; k++)
            rc = eng_reload_account(e, bs->accounts[k].att.account, err);
    }
    return rc;
}

void gw_eng_notify(gw_engine *e, uint64_t head)
{
    pthread_mutex_lock(&e->lock);
    gw_commit_fn fn = e->listener;
    void *ctx = e->listener_ctx;
    pthread_mutex_unlock(&e->lock);
    if (fn != NULL)
        fn(ctx, head);
}

static void eng_commit_group(gw_engine *e, eng_item **items, size_t n)
{
    uint64_t started = gw_metrics_clock();
    uint64_t now = gw_eng_now();
    uint64_t old_head = atomic_load(&e->head), head = old_head;
    custos_error err;
    custos_error_clear(&err);
    gw_eng_overlay_reset(e);
    e->n_group_batches = 0;

    pthread_mutex_lock(&e->chain_lock);
    memcpy(e->group_chain, e->chain_hash, CUSTOS_CHAIN_HASH_LEN);
    pthread_mutex_unlock(&e->chain_lock);
    custos_rc rc = gw_store_begin(&e->store, &err);
    if (rc == CUSTOS_OK && gw_store_shared(&e->store))
        rc = eng_reload(e, items, n, &head, &err);
    if (rc == CUSTOS_OK)
        rc = gw_eng_pending_sweep(e, now, &err);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++)
        rc = items[i]->release  ? gw_eng_apply_release(e, items[i], now, &head, &err)
             : items[i]->batch ? gw_eng_apply_batch(e, items[i], now, &head, &err)
                               : gw_eng_apply(e, items[i], NULL, now, &head, &err);
    /* Room in the cache is made before the commit, so merging after it cannot fail. */
    if (rc == CUSTOS_OK)
        rc = gw_eng_cache_reserve(e, e->overlay_count, &err);
    if (rc == CUSTOS_OK)
        rc = gw_store_commit(&e->store, &err);
    else
        gw_store_rollback(&e->store);

    if (rc != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "store_error", "a group of %zu submissions was not committed: %s",
               n, err.message);
        atomic_store(&e->healthy, false);
        custos_reason reason = rc == CUSTOS_ERR_UNAVAILABLE || rc == CUSTOS_ERR_IO
                                   ? CUSTOS_REASON_UNAVAILABLE
                                   : CUSTOS_REASON_INTERNAL;
        for (size_t i = 0; i < n; i++) {
            gw_submit_outcome *o = &items[i]->out;
            memset(o, 0, sizeof *o);
            memcpy(o->digest, items[i]->ver.digest, CUSTOS_HASH_LEN);
            o->release = GW_RELEASE_UNAVAILABLE;
            gw_eng_refuse(o, reason, "nothing was recorded, retry later: %s", err.message);
        }
    } else {
        atomic_store(&e->healthy, true);
        for (size_t i = 0; i < e->overlay_count; i++)
            gw_eng_cache_put(e, &e->overlay[i]);
        pthread_mutex_lock(&e->chain_lock);
        e->chain_cursor = head;
        memcpy(e->chain_hash, e->group_chain, CUSTOS_CHAIN_HASH_LEN);
        pthread_mutex_unlock(&e->chain_lock);
        atomic_store(&e->head, head);
        if (head != old_head)
            eng_record_head(e, head);
    }
    gw_eng_overlay_reset(e);
    gw_metrics_observe_commit(started, n);

    /* One write for the group's log lines (log.h). */
    gw_log_hold();
    for (size_t i = 0; i < n; i++)
        gw_eng_answer(items[i]);
    gw_log_release();

    /* Over a shared store the head may also have moved by other replicas' commits. */
    if (head != old_head && rc == CUSTOS_OK)
        gw_eng_notify(e, head);
}

/* The store is writable again once a write transaction can be opened. */
static void eng_probe(gw_engine *e)
{
    custos_error err;
    custos_error_clear(&err);
    if (gw_store_begin(&e->store, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_WARN, "store_probe", "store still unavailable: %s", err.message);
        return;
    }
    gw_store_rollback(&e->store);
    atomic_store(&e->healthy, true);
    gw_log(GW_LOG_INFO, "store_probe", "store available again");
}

/* Shared store, idle committer: tells the listener about other replicas' commits. */
static void eng_follow(gw_engine *e)
{
    custos_error err;
    custos_error_clear(&err);
    uint64_t head = 0;
    if (gw_store_head(&e->store, &head, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "store_error", "cannot read the head of the log: %s",
               err.message);
        atomic_store(&e->healthy, false);
        return;
    }
    if (head > atomic_load(&e->head)) {
        uint8_t hash[CUSTOS_CHAIN_HASH_LEN];
        bool linked = true;
        if (gw_eng_chain_at(e, head, hash, &linked, &err) == CUSTOS_OK && linked) {
            pthread_mutex_lock(&e->chain_lock);
            e->chain_cursor = head;
            memcpy(e->chain_hash, hash, CUSTOS_CHAIN_HASH_LEN);
            pthread_mutex_unlock(&e->chain_lock);
        }
        atomic_store(&e->head, head);
        eng_record_head(e, head);
        gw_eng_notify(e, head);
    }
}

bool gw_eng_group_waits(uint64_t in_flight, size_t last_group)
{
    /* A caller alone, one call at a time, has nobody to wait for: waiting added the whole
     * delay to each of its calls and a timed wake-up to each commit. Company is either on
     * its way (submitted, not yet verified) or was there in the last group. */
    return in_flight > 0 || last_group > 1;
}

void *gw_eng_committer(void *arg)
{
    gw_engine *e = arg;
    /* Named, like every thread of the gateway, for top -H and perf; a name is cosmetic,
     * so a failure to set it is ignored. */
    (void)pthread_setname_np(pthread_self(), "custos-commit");
    size_t batch = e->cfg->commit_batch_max;
    pthread_mutex_lock(&e->lock);
    for (;;) {
        /* Stopping ends the loop only once every submitted ticket was answered. */
        while (e->t_ready == e->t_committed && !(e->stopping && e->t_committed == e->t_next)) {
            e->t_wake = e->t_committed + 1;
            if (atomic_load(&e->healthy) && e->follow_ms == 0) {
                pthread_cond_wait(&e->not_empty, &e->lock);
                continue;
            }
            if (atomic_load(&e->healthy)) {
                struct timespec deadline;
                gw_mono_deadline(&deadline, (uint64_t)e->follow_ms * 1000000u);
                if (pthread_cond_timedwait(&e->not_empty, &e->lock, &deadline) == ETIMEDOUT &&
                    e->t_ready == e->t_committed && !e->stopping) {
                    pthread_mutex_unlock(&e->lock);
                    pthread_mutex_lock(&e->store_lock);
                    eng_follow(e);
                    pthread_mutex_unlock(&e->store_lock);
                    pthread_mutex_lock(&e->lock);
                }
                continue;
            }
            /* Unhealthy and idle: probe the store now and then, so health recovers
             * without waiting for a client to risk a submission. */
            struct timespec deadline;
            gw_mono_deadline(&deadline, (uint64_t)ENG_PROBE_US * 1000u);
            if (pthread_cond_timedwait(&e->not_empty, &e->lock, &deadline) == ETIMEDOUT &&
                e->t_ready == e->t_committed && !e->stopping) {
                pthread_mutex_unlock(&e->lock);
                pthread_mutex_lock(&e->store_lock);
                eng_probe(e);
                pthread_mutex_unlock(&e->store_lock);
                pthread_mutex_lock(&e->lock);
            }
        }
        if (e->t_ready == e->t_committed)
            break; /* stopping, and everything submitted has been answered */
        if (e->t_ready - e->t_committed < batch && e->cfg->commit_delay_us > 0 &&
            !e->stopping && gw_eng_group_waits(e->t_next - e->t_ready, e->last_group)) {
            /* Under load, wait briefly so one fsync covers many submissions. */
            struct timespec deadline;
            gw_mono_deadline(&deadline, (uint64_t)e->cfg->commit_delay_us * 1000u);
            e->t_wake = e->t_committed + batch;
            while (e->t_ready - e->t_committed < batch && !e->stopping)
                if (pthread_cond_timedwait(&e->not_empty, &e->lock, &deadline) == ETIMEDOUT)
                    break;
        }
        /* A group also ends before the accounts its items may change outgrow the overlay:
         * a batch counts each of its accounts. The first item always fits. */
        size_t n = 0, touched = 0;
        while (e->t_committed < e->t_ready && n < batch) {
            size_t slot = (size_t)(e->t_committed % e->queue_cap);
            if (e->stage[slot] == ENG_READY) {
                size_t accounts = gw_eng_item_accounts(e->queue[slot]);
                if (n > 0 && touched + accounts > e->overlay_cap)
                    break;
                touched += accounts;
                e->group[n++] = e->queue[slot];
            }
            e->queue[slot] = NULL;
            e->t_committed++;
        }
        e->last_group = n;
        pthread_cond_broadcast(&e->not_full);
        pthread_mutex_unlock(&e->lock);
        if (n > 0) {
            pthread_mutex_lock(&e->store_lock);
            eng_commit_group(e, e->group, n);
            pthread_mutex_unlock(&e->store_lock);
        }
        pthread_mutex_lock(&e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}
