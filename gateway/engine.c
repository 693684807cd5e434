/* The rule engine (engine.h).
 *
 * Submissions enter one ring in submission order, each with a ticket. A pool of verifier
 * threads, one per core, runs the stateless checks (verify.c: the public-key recovery is
 * most of a submission's cost) on whichever tickets are next, in parallel; a refusal is
 * answered at once. One committer thread owns every piece of mutable rule state: it takes
 * the longest run of finished tickets from the front of the ring, so submissions reach
 * it in the order they were submitted (per-account order survives parallel
 * verification), applies replay and quorum rules to each in order inside one store
 * transaction, commits, and only then answers them (DESIGN rule 8). Because only the
 * committer writes, the rules need no locking beyond the ring itself.
 *
 * The committer caches each account's last accepted sequence, feed and pledge (the
 * beneficiary of DESIGN rule 5). Changes made while a group is open go to a small overlay
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
#include "engine.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "custos/hex.h"
#include "custos/sig.h"
#include "custos/chain.h"
#include "custos/u256.h"

#include "audit.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "registry.h"
#include "store.h"
#include "verify.h"

/* Ring slots per grouped commit: room for a few groups to wait while one commits. */
#define ENG_QUEUE_GROUPS 4
#define ENG_QUEUE_MIN 1024
/* How often an idle, unhealthy engine checks whether its store is back. */
#define ENG_PROBE_US 1000000u

/* Where a ticket is: verifiers move it from VERIFYING to READY (queued for the
 * committer) or DONE (refused and answered: the committer skips it). */
typedef enum eng_stage { ENG_VERIFYING, ENG_READY, ENG_DONE } eng_stage;

/* Longest audit payload of an operator's release ("release 0xDIGEST note=..."). */
#define ENG_RELEASE_PAYLOAD_MAX 512

typedef struct eng_item {
    /* An operator's release of a held digest (ver.digest) rather than a submission: not
     * verified, and applied by eng_apply_release. */
    bool release;
    char actor[CUSTOS_AUDIT_ACTOR_MAX + 1];
    char payload[ENG_RELEASE_PAYLOAD_MAX + 1];
    custos_submission sub;
    char request_id[GW_REQUEST_ID_MAX + 1];
    gw_verified ver;
    gw_submit_done_fn done;
    void *ctx;
    gw_submit_outcome out;
} eng_item;

typedef struct eng_account {
    uint8_t account[CUSTOS_HASH_LEN];
    bool used;
    uint64_t last_sequence;
    char feed[CUSTOS_FEED_MAX + 1];
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN]; /* pledged to; all zero: not pledged */
    /* collateralValue of the latest published record, when known without a store read
     * (the breaker's base, rule 6): set by this committer's own publications, cleared by
     * a reload, so other replicas' publications are read from the store instead. */
    bool value_known;
    custos_u256 value;
} eng_account;

struct gw_engine {
    const gw_config *cfg;
    gw_registry *registry;
    gw_verifier *verifier;
    gw_store store;

    /* lock guards the ring (items, stages, tickets), stopping and the listener.
     * Tickets only grow: committed <= ready <= claimed <= next, next - committed <= cap;
     * ticket t lives in slot t % queue_cap. Tickets below `ready` are all past
     * verification; [claimed, next) wait for a verifier. */
    pthread_mutex_t lock;
    pthread_cond_t not_empty; /* the committer: tickets became ready, or stopping */
    pthread_cond_t not_full;  /* submitters: the committer freed slots */
    pthread_cond_t work;      /* verifiers: tickets to claim, or stopping */
    eng_item **queue;
    eng_stage *stage;
    size_t queue_cap;
    uint64_t t_committed, t_ready, t_claimed, t_next;
    bool stopping;
    gw_commit_fn listener;
    void *listener_ctx;
    pthread_t committer;
    pthread_t *verifiers;
    size_t n_verifiers;

    _Atomic uint64_t head;
    atomic_bool healthy; /* the last group's commit succeeded */
    /* The accepted chain's committed head: chain_lock keeps cursor and hash together. */
    pthread_mutex_t chain_lock;
    /* The store's write side: the committer's groups and reserves writes take turns. */
    pthread_mutex_t store_lock;
    uint64_t chain_cursor;
    uint8_t chain_hash[CUSTOS_CHAIN_HASH_LEN];

    unsigned follow_ms; /* shared store: how often an idle committer polls the head */

    /* Committer-only state from here on. */
    eng_account *cache;
    size_t cache_cap, cache_count;
    eng_account *overlay;
    size_t overlay_count;
    eng_item **group;
    gw_store_signer *collected;
    bool *take;
    size_t collected_cap, n_collected;
    const gw_policy *collect_policy;
    const gw_feed *collect_feed;
    uint64_t collect_now;
    uint8_t group_chain[CUSTOS_CHAIN_HASH_LEN]; /* the chain's tip inside the open group */
};

static uint64_t eng_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec;
}

static void eng_hex(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (custos_hex_encode(data, len, out, cap) != CUSTOS_OK)
        snprintf(out, cap, "?");
}

/* FNV-1a: accounts are usually keccak outputs, but nothing forces a client to send
 * well-spread ones. */
static size_t eng_hash(const uint8_t account[CUSTOS_HASH_LEN])
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < CUSTOS_HASH_LEN; i++) {
        h ^= account[i];
        h *= 1099511628211u;
    }
    return (size_t)h;
}

static eng_account *eng_cache_slot(eng_account *table, size_t cap,
                                   const uint8_t account[CUSTOS_HASH_LEN])
{
    size_t i = eng_hash(account) & (cap - 1);
    while (table[i].used && memcmp(table[i].account, account, CUSTOS_HASH_LEN) != 0)
        i = (i + 1) & (cap - 1);
    return &table[i];
}

/* Makes room for `more` new accounts at a load factor of at most 1/2. */
static custos_rc eng_cache_reserve(gw_engine *e, size_t more, custos_error *err)
{
    if ((e->cache_count + more) * 2 <= e->cache_cap)
        return CUSTOS_OK;
    size_t cap = e->cache_cap == 0 ? 64 : e->cache_cap;
    while ((e->cache_count + more) * 2 > cap)
        cap *= 2;
    eng_account *t = calloc(cap, sizeof *t);
    if (t == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory for %zu accounts",
                                e->cache_count + more);
    for (size_t i = 0; i < e->cache_cap; i++)
        if (e->cache[i].used)
            *eng_cache_slot(t, cap, e->cache[i].account) = e->cache[i];
    free(e->cache);
    e->cache = t;
    e->cache_cap = cap;
    return CUSTOS_OK;
}

/* Caller reserved room first. */
static void eng_cache_put(gw_engine *e, const eng_account *a)
{
    eng_account *slot = eng_cache_slot(e->cache, e->cache_cap, a->account);
    if (!slot->used)
        e->cache_count++;
    *slot = *a;
    slot->used = true;
}

static custos_rc eng_load_account(void *ctx, const gw_store_account *a, custos_error *err)
{
    gw_engine *e = ctx;
    custos_rc rc = eng_cache_reserve(e, 1, err);
    if (rc != CUSTOS_OK)
        return rc;
    eng_account acct;
    memset(&acct, 0, sizeof acct);
    memcpy(acct.account, a->account, CUSTOS_HASH_LEN);
    acct.last_sequence = a->last_sequence;
    memcpy(acct.feed, a->feed, sizeof acct.feed);
    memcpy(acct.beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN);
    eng_cache_put(e, &acct);
    return CUSTOS_OK;
}

/* The account as the open group sees it: the overlay first, then the cache. */
static const eng_account *eng_account_find(const gw_engine *e,
                                           const uint8_t account[CUSTOS_HASH_LEN])
{
    for (size_t i = 0; i < e->overlay_count; i++)
        if (memcmp(e->overlay[i].account, account, CUSTOS_HASH_LEN) == 0)
            return &e->overlay[i];
    if (e->cache_cap == 0)
        return NULL;
    const eng_account *slot = eng_cache_slot(e->cache, e->cache_cap, account);
    return slot->used ? slot : NULL;
}

/* The overlay holds one entry per account touched by the group, so at most
 * commit_batch_max. */
static void eng_overlay_set(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN],
                            uint64_t sequence, const char *feed,
                            const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                            const custos_u256 *value)
{
    eng_account *a = NULL;
    for (size_t i = 0; i < e->overlay_count && a == NULL; i++)
        if (memcmp(e->overlay[i].account, account, CUSTOS_HASH_LEN) == 0)
            a = &e->overlay[i];
    if (a == NULL) {
        a = &e->overlay[e->overlay_count++];
        memset(a, 0, sizeof *a);
        memcpy(a->account, account, CUSTOS_HASH_LEN);
        a->used = true;
    }
    a->last_sequence = sequence;
    snprintf(a->feed, sizeof a->feed, "%s", feed);
    memcpy(a->beneficiary, beneficiary, CUSTOS_ADDRESS_LEN);
    a->value_known = value != NULL;
    if (value != NULL)
        a->value = *value;
}

static void eng_refuse(gw_submit_outcome *o, custos_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eng_refuse(gw_submit_outcome *o, custos_reason r, const char *fmt, ...)
{
    o->reason = r;
    o->state = CUSTOS_STATE_UNSPECIFIED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
}

static const uint8_t eng_no_beneficiary[CUSTOS_ADDRESS_LEN];

/* DESIGN rule 5, one lender at a time. A valuation pledges the account to its beneficiary;
 * while pledged, a valuation to anyone else is refused until a release is accepted. A
 * release names the pledge it ends (or the zero address); one naming another beneficiary
 * is refused. A freeze never changes the pledge: voiding the value is not a release.
 * Checked again each time a pending digest is signed, so a quorum cannot complete for a
 * beneficiary the account was pledged away from meanwhile. Fills next, the pledge after a. */
static bool eng_pledge_allows(const eng_account *acct, const custos_attestation *a,
                              uint8_t next[CUSTOS_ADDRESS_LEN], gw_submit_outcome *o)
{
    const uint8_t *cur = acct != NULL ? acct->beneficiary : eng_no_beneficiary;
    bool pledged = memcmp(cur, eng_no_beneficiary, CUSTOS_ADDRESS_LEN) != 0;
    bool same = memcmp(cur, a->beneficiary, CUSTOS_ADDRESS_LEN) == 0;
    bool zero = memcmp(a->beneficiary, eng_no_beneficiary, CUSTOS_ADDRESS_LEN) == 0;
    memcpy(next, cur, CUSTOS_ADDRESS_LEN);
    if (a->kind == CUSTOS_KIND_FREEZE)
        return true;
    if (pledged && !same && !(a->kind == CUSTOS_KIND_RELEASE && zero)) {
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(cur, hex);
        if (a->kind == CUSTOS_KIND_RELEASE)
            eng_refuse(o, CUSTOS_REASON_PLEDGED_ELSEWHERE,
                       "this account is pledged to %s; a release must name that beneficiary "
                       "(or the zero address)", hex);
        else
            eng_refuse(o, CUSTOS_REASON_PLEDGED_ELSEWHERE,
                       "this account is pledged to %s; a release for it must be accepted "
                       "before the account is attested to another beneficiary", hex);
        return false;
    }
    if (a->kind == CUSTOS_KIND_RELEASE)
        memset(next, 0, CUSTOS_ADDRESS_LEN);
    else
        memcpy(next, a->beneficiary, CUSTOS_ADDRESS_LEN);
    return true;
}

/* Collects a stored signature if its signer still counts: a signer revoked, rotated out
 * past its window or removed from the allow-list since it signed no longer contributes
 * to a quorum. */
static custos_rc eng_collect(void *ctx, const gw_store_signer *sg, custos_error *err)
{
    gw_engine *e = ctx;
    const gw_signer *s =
        gw_policy_find_signer(e->collect_policy, e->collect_feed->name, sg->address);
    if (s == NULL || !gw_signer_valid_at(s, e->collect_now))
        return CUSTOS_OK;
    if (e->n_collected >= e->collected_cap)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "engine: more pending signers than allow-listed ones");
    gw_store_signer *dst = &e->collected[e->n_collected++];
    *dst = *sg;
    dst->role = s->role;
    return CUSTOS_OK;
}

static bool eng_collected_has(const gw_engine *e, const uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < e->n_collected; i++)
        if (memcmp(e->collected[i].address, addr, CUSTOS_ADDRESS_LEN) == 0)
            return true;
    return false;
}

/* Whether the collected signatures make a quorum for the attestation. */
static bool eng_quorum(const gw_engine *e, const gw_feed *feed, uint8_t kind)
{
    bool roles[GW_ROLE_COUNT] = {false};
    uint32_t distinct = 0;
    for (size_t i = 0; i < e->n_collected; i++) {
        if (!roles[e->collected[i].role]) {
            roles[e->collected[i].role] = true;
            distinct++;
        }
    }
    /* DESIGN rule 7: stopping a loan must be easy. */
    if (kind == CUSTOS_KIND_FREEZE && roles[GW_ROLE_CUSTODIAN])
        return true;
    uint32_t count = feed->distinct_roles ? distinct : (uint32_t)e->n_collected;
    return count >= feed->threshold;
}

/* The record carries every collected signature, or, past CUSTOS_MAX_SIGNATURES, one
 * signer of each role first (that keeps a distinct-roles quorum and a freeze's custodian)
 * and then the earliest others, in collection order. */
static void eng_fill_signatures(gw_engine *e, custos_record *rec)
{
    size_t n = e->n_collected, picked = 0;
    bool role_taken[GW_ROLE_COUNT] = {false};
    for (size_t i = 0; i < n; i++)
        e->take[i] = n <= CUSTOS_MAX_SIGNATURES;
    if (n > CUSTOS_MAX_SIGNATURES) {
        for (size_t i = 0; i < n; i++) {
            if (!role_taken[e->collected[i].role]) {
                role_taken[e->collected[i].role] = true;
                e->take[i] = true;
                picked++;
            }
        }
        for (size_t i = 0; i < n && picked < CUSTOS_MAX_SIGNATURES; i++) {
            if (!e->take[i]) {
                e->take[i] = true;
                picked++;
            }
        }
    }
    rec->sub.n_sigs = 0;
    for (size_t i = 0; i < n; i++) {
        if (!e->take[i])
            continue;
        rec->sub.sigs[rec->sub.n_sigs] = e->collected[i].sig;
        memcpy(rec->signers[rec->sub.n_sigs], e->collected[i].address, CUSTOS_ADDRESS_LEN);
        rec->sub.n_sigs++;
    }
    rec->n_signers = rec->sub.n_sigs;
}

/* Room for every distinct signer a digest can collect under policy: its allow-list
 * (reloads may grow it) plus one submission's worth. */
static custos_rc eng_collected_reserve(gw_engine *e, const gw_policy *policy,
                                       custos_error *err)
{
    size_t need = policy->n_signers + CUSTOS_MAX_SIGNATURES;
    if (need <= e->collected_cap)
        return CUSTOS_OK;
    gw_store_signer *collected = realloc(e->collected, need * sizeof *collected);
    if (collected != NULL)
        e->collected = collected;
    bool *take = collected != NULL ? realloc(e->take, need * sizeof *take) : NULL;
    if (take == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    e->take = take;
    e->collected_cap = need;
    return CUSTOS_OK;
}

/* DESIGN rule 6: whether a valuation that reached quorum is held rather than published.
 * It is when its collateralValue exceeds the account's last published one by more than
 * breaker_rise_bps, computed exactly: value - last > floor(last * bps / 10000) holds
 * exactly when (value - last) * 10000 > last * bps. Falls, equal values, releases,
 * freezes and an account's first record always flow. */
static custos_rc eng_breaker_holds(gw_engine *e, const gw_feed *feed, const eng_account *acct,
                                   const custos_attestation *a, bool *hold, custos_error *err)
{
    *hold = false;
    if (feed->breaker_rise_bps == 0 || a->kind != CUSTOS_KIND_VALUATION || acct == NULL)
        return CUSTOS_OK;
    custos_u256 last;
    if (acct->value_known) {
        last = acct->value;
    } else {
        /* Committed data is the truth here: this group's own publications are in the
         * overlay with value_known, and over a shared store the write lock is held. */
        custos_record latest;
        custos_rc rc = gw_store_get_latest(&e->store, a->account, &latest, err);
        if (rc == CUSTOS_ERR_NOT_FOUND)
            return CUSTOS_OK;
        if (rc != CUSTOS_OK)
            return rc;
        last = latest.sub.att.collateral_value;
        custos_record_clear(&latest);
    }
    if (custos_u256_cmp(&a->collateral_value, &last) <= 0)
        return CUSTOS_OK;
    custos_u256 rise, bound, bps, scale;
    custos_rc rc = custos_u256_sub(&rise, &a->collateral_value, &last);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "engine: breaker arithmetic");
    custos_u256_from_u64(&bps, feed->breaker_rise_bps);
    custos_u256_from_u64(&scale, 10000);
    rc = custos_u256_mul_div(&bound, &last, &bps, &scale);
    if (rc == CUSTOS_ERR_OVERFLOW)
        return CUSTOS_OK; /* the bound is beyond any uint256 rise */
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "engine: breaker arithmetic");
    *hold = custos_u256_cmp(&rise, &bound) > 0;
    return CUSTOS_OK;
}

/* Publishes a held record now (rule 6 release): it gets the next cursor and its chain
 * link, leaves the held table, and becomes its account's latest. The pledge rule is
 * checked again against the account as it is now; a refusal is left in o. */
static custos_rc eng_publish_held(gw_engine *e, const eng_account *acct, custos_record *held,
                                  uint64_t now, uint64_t *head, gw_submit_outcome *o,
                                  custos_error *err)
{
    uint8_t next_beneficiary[CUSTOS_ADDRESS_LEN];
    if (!eng_pledge_allows(acct, &held->sub.att, next_beneficiary, o))
        return CUSTOS_OK;
    held->cursor = *head + 1;
    held->state = CUSTOS_STATE_ACCEPTED;
    held->accepted_at = now;
    custos_chain_link(e->group_chain, held->cursor, held->digest, held->chain_hash);
    custos_rc rc = gw_store_drop_held(&e->store, held->digest, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_put_accepted(&e->store, held, next_beneficiary, err);
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(e->group_chain, held->chain_hash, CUSTOS_CHAIN_HASH_LEN);
    *head = held->cursor;
    eng_overlay_set(e, held->sub.att.account, held->sub.att.sequence, held->sub.feed,
                    next_beneficiary, &held->sub.att.collateral_value);
    o->state = CUSTOS_STATE_ACCEPTED;
    o->cursor = held->cursor;
    o->signatures = (uint32_t)held->n_signers;
    return CUSTOS_OK;
}

/* Rule 6, release by a larger quorum: signatures sent for a held digest add up, and at the
 * feed's breaker_release_threshold distinct signers it is published. Only the newest held
 * record of an account can be here: a later one, held or published, supersedes it. */
static custos_rc eng_cosign_held(gw_engine *e, eng_item *it, const eng_account *acct,
                                 custos_record *held, uint64_t now, uint64_t *head,
                                 custos_error *err)
{
    const gw_feed *feed = it->ver.feed;
    gw_submit_outcome *o = &it->out;
    if (strcmp(held->sub.feed, it->sub.feed) != 0) {
        eng_refuse(o, CUSTOS_REASON_UNAUTHORIZED_SIGNER,
                   "this attestation is held under feed '%s', not '%s'", held->sub.feed,
                   it->sub.feed);
        return CUSTOS_OK;
    }
    size_t known = held->n_signers;
    for (size_t i = 0; i < it->ver.n_signers && held->n_signers < CUSTOS_MAX_SIGNATURES; i++) {
        bool have = false;
        for (size_t j = 0; j < held->n_signers && !have; j++)
            have = memcmp(held->signers[j], it->ver.signers[i], CUSTOS_ADDRESS_LEN) == 0;
        if (have)
            continue;
        memcpy(held->signers[held->n_signers], it->ver.signers[i], CUSTOS_ADDRESS_LEN);
        held->sub.sigs[held->n_signers] = it->sub.sigs[i];
        held->n_signers++;
        held->sub.n_sigs = held->n_signers;
    }
    o->signatures = (uint32_t)held->n_signers;
    o->threshold = feed->breaker_release_threshold;
    /* A feed whose breaker was switched off since keeps its held records for an operator. */
    if (feed->breaker_release_threshold != 0 &&
        held->n_signers >= feed->breaker_release_threshold)
        return eng_publish_held(e, acct, held, now, head, o, err);
    o->state = CUSTOS_STATE_HELD;
    o->duplicate = held->n_signers == known;
    if (o->duplicate)
        return CUSTOS_OK;
    custos_rc rc = gw_store_drop_held(&e->store, held->digest, err);
    return rc == CUSTOS_OK ? gw_store_put_held(&e->store, held, err) : rc;
}

/* An operator's release (gw_engine_release_held) inside the open transaction: the held
 * record is published and the audit entry appended in the same commit, or neither. */
static custos_rc eng_apply_release(gw_engine *e, eng_item *it, uint64_t now, uint64_t *head,
                                   custos_error *err)
{
    gw_submit_outcome *o = &it->out;
    memcpy(o->digest, it->ver.digest, CUSTOS_HASH_LEN);
    custos_record held;
    bool superseded = false;
    custos_rc rc = gw_store_get_held(&e->store, it->ver.digest, &held, &superseded, err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        o->release = GW_RELEASE_NOT_FOUND;
        snprintf(o->detail, sizeof o->detail,
                 "no held attestation has this digest (never held, or already published)");
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK)
        return rc;
    const uint8_t *account = held.sub.att.account;
    const eng_account *acct = eng_account_find(e, account);
    if (gw_store_shared(&e->store)) {
        /* Other replicas may have moved the account: decide on its stored row. */
        bool seen = false;
        for (size_t j = 0; j < e->overlay_count && !seen; j++)
            seen = memcmp(e->overlay[j].account, account, CUSTOS_HASH_LEN) == 0;
        gw_store_account row;
        rc = seen ? CUSTOS_OK : gw_store_get_account(&e->store, account, &row, err);
        if (!seen && rc == CUSTOS_OK)
            eng_overlay_set(e, account, row.last_sequence, row.feed, row.beneficiary, NULL);
        if (rc != CUSTOS_OK) {
            custos_record_clear(&held);
            return rc;
        }
        acct = eng_account_find(e, account);
    }
    if (superseded) {
        o->release = GW_RELEASE_SUPERSEDED;
        snprintf(o->detail, sizeof o->detail,
                 "superseded by a later attestation of the account (sequence %" PRIu64
                 "); a superseded attestation is never published",
                 acct != NULL ? acct->last_sequence : 0);
        custos_record_clear(&held);
        return CUSTOS_OK;
    }
    rc = eng_publish_held(e, acct, &held, now, head, o, err);
    if (rc == CUSTOS_OK && o->reason != CUSTOS_REASON_NONE)
        o->release = GW_RELEASE_REFUSED;
    else if (rc == CUSTOS_OK)
        rc = gw_audit_append(&e->store, it->actor, "release_held",
                             (const uint8_t *)it->payload, strlen(it->payload), now,
                             &o->audit_seq, err);
    custos_record_clear(&held);
    return rc;
}

/* Applies one verified submission inside the open transaction. Returns a store error
 * (which fails the whole group); a refusal is an outcome, not an error. */
static custos_rc eng_apply(gw_engine *e, eng_item *it, uint64_t now, uint64_t *head,
                           custos_error *err)
{
    const custos_attestation *a = &it->sub.att;
    const gw_feed *feed = it->ver.feed;
    gw_submit_outcome *o = &it->out;
    memcpy(o->digest, it->ver.digest, CUSTOS_HASH_LEN);
    o->threshold = feed->threshold;

    const eng_account *acct = eng_account_find(e, a->account);
    if (acct != NULL && a->sequence <= acct->last_sequence) {
        uint64_t cursor = 0;
        uint32_t n_signers = 0;
        custos_rc rc = gw_store_find_accepted(&e->store, a->account, a->sequence,
                                              it->ver.digest, &cursor, &n_signers, err);
        if (rc == CUSTOS_OK) {
            /* DESIGN rule 4: a retry of an accepted attestation is a success. */
            o->state = CUSTOS_STATE_ACCEPTED;
            o->duplicate = true;
            o->cursor = cursor;
            o->signatures = n_signers;
            return CUSTOS_OK;
        }
        if (rc != CUSTOS_ERR_NOT_FOUND)
            return rc;
        custos_record held;
        bool superseded = false;
        rc = gw_store_get_held(&e->store, it->ver.digest, &held, &superseded, err);
        if (rc == CUSTOS_OK) {
            rc = superseded ? CUSTOS_OK : eng_cosign_held(e, it, acct, &held, now, head, err);
            if (superseded)
                eng_refuse(o, CUSTOS_REASON_REPLAY,
                           "this attestation was held by the circuit breaker and superseded "
                           "by a later one of the account (sequence %" PRIu64
                           "); it is never published",
                           acct->last_sequence);
            custos_record_clear(&held);
            return rc;
        }
        if (rc != CUSTOS_ERR_NOT_FOUND)
            return rc;
        eng_refuse(o, CUSTOS_REASON_REPLAY,
                   "sequence %" PRIu64 " is not above %" PRIu64
                   ", the last accepted sequence of this account",
                   a->sequence, acct->last_sequence);
        return CUSTOS_OK;
    }
    /* An account belongs to the feed (custodian) of its first accepted attestation. */
    if (acct != NULL && strcmp(acct->feed, it->sub.feed) != 0) {
        eng_refuse(o, CUSTOS_REASON_UNAUTHORIZED_SIGNER,
                   "this account belongs to feed '%s'; signers of feed '%s' cannot attest it",
                   acct->feed, it->sub.feed);
        return CUSTOS_OK;
    }

    uint8_t next_beneficiary[CUSTOS_ADDRESS_LEN];
    if (!eng_pledge_allows(acct, a, next_beneficiary, o))
        return CUSTOS_OK;

    custos_submission stored;
    custos_rc rc = gw_store_get_pending(&e->store, it->ver.digest, &stored, err);
    if (rc != CUSTOS_OK && rc != CUSTOS_ERR_NOT_FOUND)
        return rc;
    bool pending = rc == CUSTOS_OK;
    if (pending && strcmp(stored.feed, it->sub.feed) != 0) {
        eng_refuse(o, CUSTOS_REASON_UNAUTHORIZED_SIGNER,
                   "this attestation is already pending under feed '%s', not '%s'",
                   stored.feed, it->sub.feed);
        custos_submission_clear(&stored);
        return CUSTOS_OK;
    }

    e->n_collected = 0;
    e->collect_policy = it->ver.policy;
    e->collect_feed = feed;
    e->collect_now = now;
    rc = eng_collected_reserve(e, it->ver.policy, err);
    if (rc != CUSTOS_OK) {
        if (pending)
            custos_submission_clear(&stored);
        return rc;
    }
    rc = pending ? gw_store_list_pending_signers(&e->store, it->ver.digest, eng_collect, e, err)
                 : CUSTOS_OK;
    size_t known = e->n_collected;
    for (size_t i = 0; rc == CUSTOS_OK && i < it->ver.n_signers; i++) {
        if (eng_collected_has(e, it->ver.signers[i]))
            continue;
        gw_store_signer *sg = &e->collected[e->n_collected++];
        memcpy(sg->address, it->ver.signers[i], CUSTOS_ADDRESS_LEN);
        sg->role = it->ver.roles[i];
        sg->sig = it->sub.sigs[i];
    }
    if (rc != CUSTOS_OK) {
        if (pending)
            custos_submission_clear(&stored);
        return rc;
    }
    o->signatures = (uint32_t)e->n_collected;

    if (eng_quorum(e, feed, a->kind)) {
        /* Keep the positions of whichever submission brought them. */
        const custos_submission *base =
            pending && (stored.n_positions > 0 || it->sub.n_positions == 0) ? &stored
                                                                             : &it->sub;
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        rec.cursor = *head + 1;
        rec.state = CUSTOS_STATE_ACCEPTED;
        memcpy(rec.digest, it->ver.digest, CUSTOS_HASH_LEN);
        rec.accepted_at = now;
        rec.sub = *base; /* shallow: rec is never cleared, base keeps its positions */
        eng_fill_signatures(e, &rec);
        bool hold = false;
        rc = eng_breaker_holds(e, feed, acct, a, &hold, err);
        if (rc == CUSTOS_OK && hold) {
            /* Not published: no cursor, no chain link, the pledge and the breaker's base
             * stay those of the last published record. */
            rec.cursor = 0;
            rec.state = CUSTOS_STATE_HELD;
            rc = gw_store_put_held(&e->store, &rec, err);
            if (rc == CUSTOS_OK) {
                eng_account kept = *acct; /* acct may be the overlay entry being set */
                eng_overlay_set(e, a->account, a->sequence, it->sub.feed, kept.beneficiary,
                                kept.value_known ? &kept.value : NULL);
                o->state = CUSTOS_STATE_HELD;
            }
        } else if (rc == CUSTOS_OK) {
            custos_chain_link(e->group_chain, rec.cursor, rec.digest, rec.chain_hash);
            rc = gw_store_put_accepted(&e->store, &rec, next_beneficiary, err);
        }
        if (rc == CUSTOS_OK && !hold) {
            memcpy(e->group_chain, rec.chain_hash, CUSTOS_CHAIN_HASH_LEN);
            *head = rec.cursor;
            eng_overlay_set(e, a->account, a->sequence, it->sub.feed, next_beneficiary,
                            &a->collateral_value);
            o->state = CUSTOS_STATE_ACCEPTED;
            o->cursor = rec.cursor;
        }
    } else {
        if (!pending)
            rc = gw_store_put_pending(&e->store, it->ver.digest, &it->sub, now, err);
        for (size_t i = known; rc == CUSTOS_OK && i < e->n_collected; i++)
            rc = gw_store_put_pending_signer(&e->store, it->ver.digest, &e->collected[i], err);
        o->state = CUSTOS_STATE_PENDING;
        o->duplicate = e->n_collected == known;
    }
    if (pending)
        custos_submission_clear(&stored);
    return rc;
}

static void eng_log_outcome(const eng_item *it)
{
    /* Every submission passes here: build nothing unless debug logging is on. */
    if (!gw_log_enabled(GW_LOG_DEBUG))
        return;
    const gw_submit_outcome *o = &it->out;
    char account[2 + 2 * CUSTOS_HASH_LEN + 1], digest[2 + 2 * CUSTOS_HASH_LEN + 1];
    eng_hex(it->sub.att.account, CUSTOS_HASH_LEN, account, sizeof account);
    eng_hex(o->digest, CUSTOS_HASH_LEN, digest, sizeof digest);
    if (o->reason != CUSTOS_REASON_NONE)
        gw_log_req(GW_LOG_DEBUG, "refused", it->request_id,
                   "feed=%.64s account=%s sequence=%" PRIu64 " reason=%s detail=%s",
                   it->sub.feed, account, it->sub.att.sequence, custos_reason_name(o->reason),
                   o->detail);
    else
        gw_log_req(GW_LOG_DEBUG, o->state == CUSTOS_STATE_ACCEPTED ? "accepted" : "pending",
                   it->request_id,
                   "feed=%.64s account=%s sequence=%" PRIu64 " digest=%s cursor=%" PRIu64
                   " signatures=%" PRIu32 "/%" PRIu32 " duplicate=%s",
                   it->sub.feed, account, it->sub.att.sequence, digest, o->cursor,
                   o->signatures, o->threshold, o->duplicate ? "true" : "false");
}

static void eng_answer(eng_item *it)
{
    if (!it->release) {
        eng_log_outcome(it);
        gw_metrics_observe_outcome(it->sub.feed, it->sub.att.as_of, &it->out);
    }
    it->done(it->ctx, &it->out);
    gw_policy_release(it->ver.policy);
    custos_submission_clear(&it->sub);
    free(it);
}

static custos_rc eng_chain_at(gw_engine *e, uint64_t head, uint8_t hash[CUSTOS_CHAIN_HASH_LEN],
                              bool *linked, custos_error *err);

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
        rc = eng_chain_at(e, *head, e->group_chain, &linked, err);
    if (rc == CUSTOS_OK && !linked)
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                              "store: record %llu has no chain hash", (unsigned long long)*head);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        if (items[i]->release)
            continue; /* eng_apply_release reads its account's row itself */
        const uint8_t *account = items[i]->sub.att.account;
        bool seen = false;
        for (size_t j = 0; j < e->overlay_count && !seen; j++)
            seen = memcmp(e->overlay[j].account, account, CUSTOS_HASH_LEN) == 0;
        if (seen)
            continue;
        gw_store_account row;
        rc = gw_store_get_account(&e->store, account, &row, err);
        if (rc == CUSTOS_OK)
            eng_overlay_set(e, account, row.last_sequence, row.feed, row.beneficiary, NULL);
        else if (rc == CUSTOS_ERR_NOT_FOUND)
            rc = CUSTOS_OK;
    }
    return rc;
}

static void eng_notify(gw_engine *e, uint64_t head)
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
    uint64_t now = eng_now();
    uint64_t old_head = atomic_load(&e->head), head = old_head;
    custos_error err;
    custos_error_clear(&err);
    e->overlay_count = 0;

    pthread_mutex_lock(&e->chain_lock);
    memcpy(e->group_chain, e->chain_hash, CUSTOS_CHAIN_HASH_LEN);
    pthread_mutex_unlock(&e->chain_lock);
    custos_rc rc = gw_store_begin(&e->store, &err);
    if (rc == CUSTOS_OK && gw_store_shared(&e->store))
        rc = eng_reload(e, items, n, &head, &err);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++)
        rc = items[i]->release ? eng_apply_release(e, items[i], now, &head, &err)
                               : eng_apply(e, items[i], now, &head, &err);
    /* Room in the cache is made before the commit, so merging after it cannot fail. */
    if (rc == CUSTOS_OK)
        rc = eng_cache_reserve(e, e->overlay_count, &err);
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
            eng_refuse(o, reason, "nothing was recorded, retry later: %s", err.message);
        }
    } else {
        atomic_store(&e->healthy, true);
        for (size_t i = 0; i < e->overlay_count; i++)
            eng_cache_put(e, &e->overlay[i]);
        pthread_mutex_lock(&e->chain_lock);
        e->chain_cursor = head;
        memcpy(e->chain_hash, e->group_chain, CUSTOS_CHAIN_HASH_LEN);
        pthread_mutex_unlock(&e->chain_lock);
        atomic_store(&e->head, head);
    }
    e->overlay_count = 0;
    gw_metrics_observe_commit(started, n);

    for (size_t i = 0; i < n; i++)
        eng_answer(items[i]);

    /* Over a shared store the head may also have moved by other replicas' commits. */
    if (head != old_head && rc == CUSTOS_OK)
        eng_notify(e, head);
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
        if (eng_chain_at(e, head, hash, &linked, &err) == CUSTOS_OK && linked) {
            pthread_mutex_lock(&e->chain_lock);
            e->chain_cursor = head;
            memcpy(e->chain_hash, hash, CUSTOS_CHAIN_HASH_LEN);
            pthread_mutex_unlock(&e->chain_lock);
        }
        atomic_store(&e->head, head);
        eng_notify(e, head);
    }
}

static void *eng_committer(void *arg)
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
            !e->stopping) {
            /* Under load, wait briefly so one fsync covers many submissions. */
            struct timespec deadline;
            gw_mono_deadline(&deadline, (uint64_t)e->cfg->commit_delay_us * 1000u);
            while (e->t_ready - e->t_committed < batch && !e->stopping)
                if (pthread_cond_timedwait(&e->not_empty, &e->lock, &deadline) == ETIMEDOUT)
                    break;
        }
        size_t n = 0;
        while (e->t_committed < e->t_ready && n < batch) {
            size_t slot = (size_t)(e->t_committed % e->queue_cap);
            if (e->stage[slot] == ENG_READY)
                e->group[n++] = e->queue[slot];
            e->queue[slot] = NULL;
            e->t_committed++;
        }
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

/* Locked. Moves `ready` past every ticket that left verification, and wakes the
 * committer when that made something new committable. */
static void eng_advance_ready(gw_engine *e)
{
    uint64_t before = e->t_ready;
    while (e->t_ready < e->t_claimed &&
           e->stage[e->t_ready % e->queue_cap] != ENG_VERIFYING)
        e->t_ready++;
    if (e->t_ready != before)
        pthread_cond_signal(&e->not_empty);
}

/* Locked on entry and on return. Verifies the claimed ticket in `slot` outside the lock,
 * then hands it to the committer if it passed, or answers it if it was refused. */
static void eng_verify_slot(gw_engine *e, size_t slot, eng_item *it)
{
    pthread_mutex_unlock(&e->lock);
    custos_reason r = CUSTOS_REASON_NONE;
    if (!it->release) { /* an operator's release carries no signatures to check */
        uint64_t started = gw_metrics_clock();
        r = gw_verify_submission(e->verifier, &it->sub, eng_now(), &it->ver, it->out.detail,
                                 sizeof it->out.detail);
        gw_metrics_observe_verify(started);
    }
    pthread_mutex_lock(&e->lock);
    if (r == CUSTOS_REASON_NONE) {
        e->stage[slot] = ENG_READY;
        eng_advance_ready(e);
        return;
    }
    /* Refused: the committer skips the slot and never touches the item again, so it
     * can be answered outside the lock. */
    e->stage[slot] = ENG_DONE;
    e->queue[slot] = NULL;
    eng_advance_ready(e);
    pthread_mutex_unlock(&e->lock);
    it->out.reason = r;
    memcpy(it->out.digest, it->ver.digest, CUSTOS_HASH_LEN);
    eng_answer(it);
    pthread_mutex_lock(&e->lock);
}

static void *eng_verifier(void *arg)
{
    gw_engine *e = arg;
    (void)pthread_setname_np(pthread_self(), "custos-verify");
    pthread_mutex_lock(&e->lock);
    for (;;) {
        while (e->t_claimed == e->t_next && !e->stopping)
            pthread_cond_wait(&e->work, &e->lock);
        if (e->t_claimed == e->t_next)
            break; /* stopping, and nothing left to verify */
        size_t slot = (size_t)(e->t_claimed++ % e->queue_cap);
        eng_verify_slot(e, slot, e->queue[slot]);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
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
    gw_verifier_free(e->verifier);
    gw_registry_free(e->registry);
    free(e->queue);
    free(e->stage);
    free(e->verifiers);
    free(e->cache);
    free(e->overlay);
    free(e->group);
    free(e->collected);
    free(e->take);
    free(e);
}

/* Records read per step when filling in chain hashes. */
#define ENG_BACKFILL_BATCH 256

/* Links every record of the log, in cursor order, and stores the links: the log was
 * written before the chain existed (schema version 4). One transaction: all or none. */
static custos_rc eng_chain_backfill(gw_engine *e, uint64_t head, custos_error *err)
{
    custos_record *batch = calloc(ENG_BACKFILL_BATCH, sizeof *batch);
    if (batch == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    memset(e->chain_hash, 0, CUSTOS_CHAIN_HASH_LEN);
    uint64_t after = 0;
    custos_rc rc = gw_store_begin(&e->store, err);
    while (rc == CUSTOS_OK && after < head) {
        size_t n = 0;
        rc = gw_store_read_from(&e->store, after, batch, ENG_BACKFILL_BATCH, &n, err);
        for (size_t i = 0; i < n; i++) {
            custos_chain_link(e->chain_hash, batch[i].cursor, batch[i].digest, e->chain_hash);
            if (rc == CUSTOS_OK)
                rc = gw_store_set_chain_hash(&e->store, batch[i].cursor, e->chain_hash, err);
            after = batch[i].cursor;
            custos_record_clear(&batch[i]);
        }
        if (rc == CUSTOS_OK && n == 0)
            rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                  "store: the accepted log ends at %llu, below its head %llu",
                                  (unsigned long long)after, (unsigned long long)head);
    }
    free(batch);
    if (rc == CUSTOS_OK)
        rc = gw_store_commit(&e->store, err);
    else
        gw_store_rollback(&e->store);
    if (rc == CUSTOS_OK)
        gw_log(GW_LOG_INFO, "chain", "linked the %llu records accepted before the chain existed",
               (unsigned long long)head);
    return rc;
}

/* The chain's head from the store's head record. */
/* The chain hash stored with the record at cursor head (zeros for an empty log); *linked
 * false when that record predates the chain. */
static custos_rc eng_chain_at(gw_engine *e, uint64_t head, uint8_t hash[CUSTOS_CHAIN_HASH_LEN],
                              bool *linked, custos_error *err)
{
    static const uint8_t none[CUSTOS_CHAIN_HASH_LEN];
    memset(hash, 0, CUSTOS_CHAIN_HASH_LEN);
    *linked = true;
    if (head == 0)
        return CUSTOS_OK;
    custos_record rec;
    size_t n = 0;
    custos_rc rc = gw_store_read_from(&e->store, head - 1, &rec, 1, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (n != 1 || rec.cursor != head) {
        if (n == 1)
            custos_record_clear(&rec);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: head record %llu is missing",
                                (unsigned long long)head);
    }
    *linked = memcmp(rec.chain_hash, none, CUSTOS_CHAIN_HASH_LEN) != 0;
    memcpy(hash, rec.chain_hash, CUSTOS_CHAIN_HASH_LEN);
    custos_record_clear(&rec);
    return CUSTOS_OK;
}

static custos_rc eng_chain_load(gw_engine *e, uint64_t head, custos_error *err)
{
    bool linked = true;
    e->chain_cursor = head;
    custos_rc rc = eng_chain_at(e, head, e->chain_hash, &linked, err);
    if (rc != CUSTOS_OK)
        return rc;
    return linked ? CUSTOS_OK : eng_chain_backfill(e, head, err);
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
    e->overlay = calloc(batch, sizeof *e->overlay);
    e->collected = calloc(e->collected_cap, sizeof *e->collected);
    e->take = calloc(e->collected_cap, sizeof *e->take);
    if (e->queue == NULL || e->stage == NULL || e->verifiers == NULL || e->group == NULL || e->overlay == NULL || e->collected == NULL ||
        e->take == NULL) {
        eng_release(e);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    }
    custos_rc rc = gw_registry_new(cfg, &e->registry, err);
    if (rc == CUSTOS_OK)
        rc = gw_verifier_new(cfg, e->registry, &e->verifier, err);
    if (rc == CUSTOS_OK)
        rc = cfg->store_backend == GW_STORE_POSTGRESQL
                 ? gw_store_open_pg(cfg->store_path, &e->store, err)
                 : gw_store_open_sqlite(cfg->store_path, &e->store, err);
    uint64_t head = 0;
    if (rc == CUSTOS_OK)
        rc = gw_store_head(&e->store, &head, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_load_accounts(&e->store, eng_load_account, e, err);
    if (rc == CUSTOS_OK)
        rc = eng_chain_load(e, head, err);
    if (rc != CUSTOS_OK) {
        eng_release(e);
        return rc;
    }
    atomic_store(&e->head, head);
    e->follow_ms = gw_store_shared(&e->store) ? cfg->replica_poll_ms : 0;

    if (!eng_sync_init(e)) {
        eng_release(e);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "engine: cannot create a mutex or a condition");
    }
    size_t started = 0;
    while (started < e->n_verifiers &&
           pthread_create(&e->verifiers[started], NULL, eng_verifier, e) == 0)
        started++;
    bool committer = started == e->n_verifiers &&
                     pthread_create(&e->committer, NULL, eng_committer, e) == 0;
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

static void eng_enqueue(gw_engine *e, eng_item *it, bool inline_ok);

static void eng_submit(gw_engine *e, custos_submission *s, const char *request_id,
                       gw_submit_done_fn done, void *ctx, bool inline_ok)
{
    eng_item *it = calloc(1, sizeof *it);
    if (it == NULL) {
        gw_submit_outcome o;
        memset(&o, 0, sizeof o);
        eng_refuse(&o, CUSTOS_REASON_INTERNAL, "the gateway is out of memory");
        custos_submission_clear(s);
        done(ctx, &o);
        return;
    }
    it->sub = *s; /* the item now owns s's positions */
    memset(s, 0, sizeof *s);
    if (request_id != NULL)
        snprintf(it->request_id, sizeof it->request_id, "%s", request_id);
    it->done = done;
    it->ctx = ctx;
    eng_enqueue(e, it, inline_ok);
}

void gw_engine_release_held(gw_engine *e, const uint8_t digest[32], const char *actor,
                            const char *payload, gw_submit_done_fn done, void *ctx)
{
    eng_item *it = calloc(1, sizeof *it);
    if (it == NULL) {
        gw_submit_outcome o;
        memset(&o, 0, sizeof o);
        o.release = GW_RELEASE_UNAVAILABLE;
        eng_refuse(&o, CUSTOS_REASON_INTERNAL, "the gateway is out of memory");
        done(ctx, &o);
        return;
    }
    it->release = true;
    memcpy(it->ver.digest, digest, CUSTOS_HASH_LEN);
    snprintf(it->actor, sizeof it->actor, "%s", actor);
    snprintf(it->payload, sizeof it->payload, "%s", payload);
    it->done = done;
    it->ctx = ctx;
    eng_enqueue(e, it, false);
}

/* Gives it the next ticket, waiting while the ring is full; with inline_ok, verifies it on
 * this thread when verification is idle. */
static void eng_enqueue(gw_engine *e, eng_item *it, bool inline_ok)
{
    pthread_mutex_lock(&e->lock);
    while (e->t_next - e->t_committed == e->queue_cap && !e->stopping)
        pthread_cond_wait(&e->not_full, &e->lock);
    if (e->stopping) {
        pthread_mutex_unlock(&e->lock);
        it->out.release = GW_RELEASE_UNAVAILABLE;
        eng_refuse(&it->out, CUSTOS_REASON_UNAVAILABLE,
                   "the gateway is shutting down; nothing was recorded, retry");
        eng_answer(it);
        return;
    }
    size_t slot = (size_t)(e->t_next++ % e->queue_cap);
    e->queue[slot] = it;
    e->stage[slot] = ENG_VERIFYING;
    if (inline_ok && e->t_ready + 1 == e->t_next) {
        /* Verification is idle: nothing waits for a verifier or is being verified.
         * Tickets keep the order whichever thread verifies. */
        e->t_claimed++;
        eng_verify_slot(e, slot, it);
    } else {
        pthread_cond_signal(&e->work);
    }
    pthread_mutex_unlock(&e->lock);
}

void gw_engine_submit(gw_engine *e, custos_submission *s, const char *request_id,
                      gw_submit_done_fn done, void *ctx)
{
    eng_submit(e, s, request_id, done, ctx, false);
}

void gw_engine_submit_one(gw_engine *e, custos_submission *s, const char *request_id,
                          gw_submit_done_fn done, void *ctx)
{
    eng_submit(e, s, request_id, done, ctx, true);
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

custos_rc gw_engine_list_held(gw_engine *e, const uint8_t *account, custos_record *out,
                              size_t max, size_t *n, custos_error *err)
{
    return gw_store_list_held(&e->store, account, out, max, n, err);
}

custos_rc gw_engine_count_held(gw_engine *e, uint64_t *count, custos_error *err)
{
    return gw_store_count_held(&e->store, count, err);
}

uint64_t gw_engine_head(gw_engine *e)
{
    return atomic_load(&e->head);
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
