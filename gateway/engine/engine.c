/* The rule engine (engine.h).
 *
 * Submissions enter one ring in submission order, each with a ticket. A pool of verifier
 * threads, one per core, runs the stateless checks (verify.c: the public-key recovery is
 * most of a submission's cost) on whichever tickets are next, in parallel; a refusal is
 * answered at once. One committer thread owns every piece of mutable rule state: it takes
 * the longest run of finished tickets from the front of the ring, so submissions reach
 * it in the order they were submitted (per-account order survives parallel
 * verification), applies replay and quorum rules to each in order inside one store
 * transaction, commits, and only then answers them (rule 8). Because only the
 * committer writes, the rules need no locking beyond the ring itself.
 *
 * The committer caches each account's last accepted sequence, feed and pledge (the
 * beneficiary of rule 5). Changes made while a group is open go to a small overlay
 * that is merged into the cache only once the commit succeeded, so a failed group leaves
 * the cache exactly as the store is.
 *
 * Over a shared store (PostgreSQL, several replicas) other processes write too: a group
 * begins under the store's write lock, re-reads the head and the rows of the accounts it
 * touches (pledge included) into the overlay, and so decides on the state every replica's
 * commits left, not on this process's cache. The pending tables are read inside the lock
 * as always, so signatures sent to different replicas add up. When idle, the committer
 * polls the head now and then so that Watch streams learn of other replicas' commits.
 *
 * Reserves attestations (gw_engine_put_reserves) are rare and touch no rule state of the
 * committer: they are written on the caller's thread, in a transaction of their own, with
 * store_lock held, which the committer also holds for each of its groups, so the store's
 * write side is used by one thread at a time as store.h requires. */
#include "engine/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "custos/batch.h"
#include "custos/hex.h"
#include "monotonic.h"

uint64_t gw_eng_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec;
}

void gw_eng_hex(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (custos_hex_encode(data, len, out, cap) != CUSTOS_OK)
        snprintf(out, cap, "?");
}

/* One verifier per core: verification is CPU-bound, more threads only add switches. */
static size_t eng_verifier_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

static void eng_release(gw_engine *e)
{
    gw_store_close(&e->store);
    gw_pledges_free(e->pledges);
    gw_verifier_free(e->verifier);
    gw_registry_free(e->registry);
    free(e->queue);
    free(e->stage);
    free(e->verifiers);
    free(e->cache);
    free(e->cache_slot);
    free(e->feed_names);
    free(e->overlay);
    free(e->overlay_at);
    free(e->overlay_slot);
    free(e->group);
    free(e->collected);
    free(e->collected_party);
    free(e->take);
    free(e->group_batches);
    free(e);
}

/* The lock and the conditions; the committer's waits are timed on the monotonic clock. */
static bool eng_sync_init(gw_engine *e)
{
    if (gw_cond_init_monotonic(&e->not_empty) != 0)
        return false;
    if (pthread_cond_init(&e->not_full, NULL) != 0)
        goto no_not_full;
    if (pthread_cond_init(&e->work, NULL) != 0)
        goto no_work;
    if (pthread_mutex_init(&e->lock, NULL) != 0)
        goto no_lock;
    if (pthread_mutex_init(&e->chain_lock, NULL) != 0)
        goto no_chain_lock;
    if (pthread_mutex_init(&e->store_lock, NULL) != 0)
        goto no_store_lock;
    return true;
no_store_lock:
    pthread_mutex_destroy(&e->chain_lock);
no_chain_lock:
    pthread_mutex_destroy(&e->lock);
no_lock:
    pthread_cond_destroy(&e->work);
no_work:
    pthread_cond_destroy(&e->not_full);
no_not_full:
    pthread_cond_destroy(&e->not_empty);
    return false;
}

/* Stops the threads that were started (verifiers drain what was submitted, the committer
 * answers it), then frees everything. */
static void eng_stop(gw_engine *e, size_t verifiers, bool committer)
{
    pthread_mutex_lock(&e->lock);
    e->stopping = true;
    pthread_cond_broadcast(&e->work);
    pthread_cond_broadcast(&e->not_empty);
    pthread_cond_broadcast(&e->not_full);
    pthread_mutex_unlock(&e->lock);
    for (size_t i = 0; i < verifiers; i++)
        pthread_join(e->verifiers[i], NULL);
    if (committer)
        pthread_join(e->committer, NULL);
    pthread_mutex_destroy(&e->lock);
    pthread_mutex_destroy(&e->chain_lock);
    pthread_mutex_destroy(&e->store_lock);
    pthread_cond_destroy(&e->not_empty);
    pthread_cond_destroy(&e->not_full);
    pthread_cond_destroy(&e->work);
    eng_release(e);
}

custos_rc gw_engine_new(const gw_config *cfg, gw_engine **out, custos_error *err)
{
    *out = NULL;
    if (cfg->commit_batch_max == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "engine: commit_batch_max must be >= 1");
    gw_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    e->cfg = cfg;
    atomic_init(&e->head, 0);
    atomic_init(&e->record_head, 0);
    atomic_init(&e->healthy, true);
    size_t batch = cfg->commit_batch_max;
    e->queue_cap = batch * ENG_QUEUE_GROUPS > ENG_QUEUE_MIN ? batch * ENG_QUEUE_GROUPS
                                                             : ENG_QUEUE_MIN;
    /* Distinct counted signers of a digest: the allow-list plus one submission's worth
     * (grown by eng_collected_reserve when a reload lengthens the list). */
    e->collected_cap = cfg->n_signers + CUSTOS_MAX_SIGNATURES;
    e->queue = calloc(e->queue_cap, sizeof *e->queue);
    e->stage = calloc(e->queue_cap, sizeof *e->stage);
    e->n_verifiers = eng_verifier_count();
    e->verifiers = calloc(e->n_verifiers, sizeof *e->verifiers);
    e->group = calloc(batch, sizeof *e->group);
    /* Room for a full group of single submissions and for the largest batch. */
    e->overlay_cap = batch + CUSTOS_BATCH_MAX_ACCOUNTS;
    for (e->overlay_slots = 1; e->overlay_slots < 2 * e->overlay_cap;)
        e->overlay_slots *= 2;
    e->overlay = calloc(e->overlay_cap, sizeof *e->overlay);
    e->overlay_at = calloc(e->overlay_cap, sizeof *e->overlay_at);
    e->overlay_slot = calloc(e->overlay_slots, sizeof *e->overlay_slot);
    e->collected = calloc(e->collected_cap, sizeof *e->collected);
    e->collected_party = calloc(e->collected_cap, sizeof *e->collected_party);
    e->take = calloc(e->collected_cap, sizeof *e->take);
    if (e->queue == NULL || e->stage == NULL || e->verifiers == NULL || e->group == NULL ||
        e->overlay == NULL || e->overlay_at == NULL || e->overlay_slot == NULL ||
        e->collected == NULL || e->collected_party == NULL ||
        e->take == NULL) {
        eng_release(e);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    }
    custos_rc rc = gw_registry_new(cfg, &e->registry, err);
    if (rc == CUSTOS_OK)
        rc = gw_verifier_new(cfg, e->registry, &e->verifier, err);
    if (rc == CUSTOS_OK && cfg->evm.enabled)
        rc = gw_pledges_new(&cfg->evm, &e->pledges, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_open(cfg, &e->store, err);
    uint64_t head = 0, record_head = 0;
    if (rc == CUSTOS_OK)
        rc = gw_store_head(&e->store, &head, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_record_head(&e->store, &record_head, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_load_accounts(&e->store, gw_eng_load_account, e, err);
    if (rc == CUSTOS_OK)
        rc = gw_eng_chain_load(e, head, err);
    if (rc != CUSTOS_OK) {
        eng_release(e);
        return rc;
    }
    atomic_store(&e->head, head);
    atomic_store(&e->record_head, record_head);
    e->follow_ms = gw_store_shared(&e->store) ? cfg->replica_poll_ms : 0;

    if (!eng_sync_init(e)) {
        eng_release(e);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "engine: cannot create a mutex or a condition");
    }
    size_t started = 0;
    while (started < e->n_verifiers &&
           pthread_create(&e->verifiers[started], NULL, gw_eng_verifier, e) == 0)
        started++;
    bool committer = started == e->n_verifiers &&
                     pthread_create(&e->committer, NULL, gw_eng_committer, e) == 0;
    if (!committer) {
        eng_stop(e, started, false);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "engine: cannot start its threads");
    }
    gw_log(GW_LOG_INFO, "store_open", "store %s: head cursor %" PRIu64 ", %zu accounts",
           cfg->store_path, head, e->cache_count);
    *out = e;
    return CUSTOS_OK;
}

void gw_engine_free(gw_engine *e)
{
    if (e != NULL)
        eng_stop(e, e->n_verifiers, true);
}

void gw_engine_set_commit_listener(gw_engine *e, gw_commit_fn fn, void *ctx)
{
    pthread_mutex_lock(&e->lock);
    e->listener = fn;
    e->listener_ctx = ctx;
    pthread_mutex_unlock(&e->lock);
}

custos_rc gw_engine_get_latest(gw_engine *e, const uint8_t account[32], custos_record *out,
                               custos_error *err)
{
    return gw_store_get_latest(&e->store, account, out, err);
}

custos_rc gw_engine_read_from(gw_engine *e, uint64_t after, custos_record *out, size_t max,
                              size_t *n, custos_error *err)
{
    return gw_store_read_from(&e->store, after, out, max, n, err);
}

custos_rc gw_engine_get_batch(gw_engine *e, const uint8_t digest[32], gw_store_batch *out,
                              custos_error *err)
{
    return gw_store_get_batch(&e->store, digest, out, err);
}

custos_rc gw_engine_list_held(gw_engine *e, const uint8_t *account, const gw_held_key *after,
                              custos_record *out, size_t max, size_t *n, custos_error *err)
{
    return gw_store_list_held(&e->store, account, after, out, max, n, err);
}

custos_rc gw_engine_count_held(gw_engine *e, uint64_t *count, custos_error *err)
{
    return gw_store_count_held(&e->store, count, err);
}

custos_rc gw_engine_pending_summary(gw_engine *e, uint64_t *count, uint64_t *oldest,
                                   custos_error *err)
{
    return gw_store_pending_summary(&e->store, count, oldest, err);
}

custos_rc gw_engine_pending_totals(gw_engine *e, uint64_t *rows, uint64_t *bytes,
                                   custos_error *err)
{
    return gw_store_pending_totals(&e->store, rows, bytes, err);
}

uint64_t gw_engine_head(gw_engine *e)
{
    return atomic_load(&e->head);
}

uint64_t gw_engine_record_head(gw_engine *e)
{
    return atomic_load(&e->record_head);
}

bool gw_engine_healthy(gw_engine *e)
{
    return atomic_load(&e->healthy);
}

custos_rc gw_engine_read_audit(gw_engine *e, uint64_t after, custos_audit_entry *out,
                               size_t max, size_t *n, custos_error *err)
{
    return gw_store_read_audit(&e->store, after, out, max, n, err);
}

void gw_engine_chain_head(gw_engine *e, uint64_t *cursor, uint8_t hash[32])
{
    pthread_mutex_lock(&e->chain_lock);
    *cursor = e->chain_cursor;
    memcpy(hash, e->chain_hash, CUSTOS_CHAIN_HASH_LEN);
    pthread_mutex_unlock(&e->chain_lock);
}

gw_pledges *gw_engine_pledges(gw_engine *e)
{
    return e->pledges;
}

gw_registry *gw_engine_registry(gw_engine *e)
{
    return e->registry;
}

custos_reason gw_engine_put_reserves(gw_engine *e, const gw_store_reserves *res,
                                     bool *duplicate, char *detail, size_t cap)
{
    *duplicate = false;
    custos_error err;
    custos_error_clear(&err);
    custos_reason reason = CUSTOS_REASON_NONE;
    pthread_mutex_lock(&e->store_lock);
    gw_store_reserves last;
    memset(&last, 0, sizeof last);
    bool have_last = false;
    custos_rc rc = gw_store_begin(&e->store, &err);
    /* Read after begin: over a shared store, begin waited for every other writer, so
     * this is the feed's latest of all replicas. */
    if (rc == CUSTOS_OK) {
        rc = gw_store_get_reserves(&e->store, res->feed, &last, &err);
        have_last = rc == CUSTOS_OK;
        if (rc == CUSTOS_ERR_NOT_FOUND)
            rc = CUSTOS_OK;
    }
    if (have_last && memcmp(last.digest, res->digest, CUSTOS_HASH_LEN) == 0) {
        *duplicate = true;
    } else if (have_last && res->r.sequence <= last.r.sequence) {
        reason = CUSTOS_REASON_REPLAY;
        snprintf(detail, cap,
                 "reserves sequence %" PRIu64 " of feed '%s' is not above the last accepted, "
                 "%" PRIu64,
                 res->r.sequence, res->feed, last.r.sequence);
    }
    gw_store_reserves_clear(&last);
    bool write = rc == CUSTOS_OK && reason == CUSTOS_REASON_NONE && !*duplicate;
    if (write)
        rc = gw_store_put_reserves(&e->store, res, &err);
    if (write && rc == CUSTOS_OK)
        rc = gw_store_commit(&e->store, &err);
    else
        gw_store_rollback(&e->store);
    pthread_mutex_unlock(&e->store_lock);
    if (rc != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "store_error", "reserves of feed %s were not stored: %s",
               res->feed, err.message);
        reason = rc == CUSTOS_ERR_UNAVAILABLE || rc == CUSTOS_ERR_IO ? CUSTOS_REASON_UNAVAILABLE
                                                                     : CUSTOS_REASON_INTERNAL;
        snprintf(detail, cap, "nothing was recorded, retry later: %s", err.message);
    }
    return reason;
}

custos_rc gw_engine_get_reserves(gw_engine *e, const char *feed, gw_store_reserves *out,
                                 custos_error *err)
{
    return gw_store_get_reserves(&e->store, feed, out, err);
}
