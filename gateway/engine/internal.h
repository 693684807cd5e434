/* The engine's parts (engine.h) shared by its files: engine.c (start, stop, reads and
 * reserves), ring.c (the ring of tickets, submitting and verifying), committer.c (the
 * committer thread and its groups), rules.c (replay, quorum, pledge and breaker rules),
 * accounts.c (the committer's account cache and the group's overlay) and chain.c (the
 * accepted chain's head), notices.c (the collateral notices of rule 19). See engine.c for the design. */
#ifndef GATEWAY_ENGINE_INTERNAL_H
#define GATEWAY_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/chain.h"
#include "custos/u256.h"

#include "engine/engine.h"
#include "evm/pledges.h"
#include "log.h"
#include "registry.h"
#include "store/store.h"
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

/* A batch in the ring (rule 20): what it carries, what the verifier found per account,
 * and each account's outcome. */
typedef struct eng_batch {
    gw_batch_submission bs;
    gw_batch_member *members;
    gw_batch_account_outcome *outs;
    /* details[i]: why account i was refused, by the verifier or the committer; written for
     * refused accounts alone, and allocated without zeroing, so its pages are touched only
     * where an account was refused. */
    char (*details)[GW_BATCH_DETAIL_MAX];
    gw_batch_done_fn done;
    bool duplicate;
} eng_batch;

typedef struct eng_item {
    /* An operator's release of a held digest (ver.digest) rather than a submission: not
     * verified, and applied by eng_apply_release. */
    bool release;
    /* A batch rather than a submission: ver is the batch's (its digest the batch
     * digest), out its whole-batch outcome; applied by gw_eng_apply_batch. */
    eng_batch *batch;
    char actor[CUSTOS_AUDIT_ACTOR_MAX + 1];
    char payload[ENG_RELEASE_PAYLOAD_MAX + 1];
    custos_submission sub;
    char request_id[GW_REQUEST_ID_MAX + 1];
    gw_verified ver;
    gw_submit_done_fn done;
    void *ctx;
    gw_submit_outcome out;
} eng_item;

/* The circuit breaker's base (rule 6): the collateralValue of the account's latest
 * published valuation; freezes and releases leave it as it is. */
typedef struct eng_base {
    bool has;           /* the account has a published valuation */
    custos_u256 value;  /* its collateralValue */
} eng_base;

/* One per stored account, so kept small: the feed is an index into the engine's table of
 * feed names (gw_eng_feed_name), not the name itself. */
typedef struct eng_account {
    uint8_t account[CUSTOS_HASH_LEN];
    uint64_t last_sequence;
    /* The breaker's base, when known without a store read: set by this committer's own
     * publications, cleared by a reload, so other replicas' publications are read from the
     * store instead. */
    eng_base base;
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN]; /* pledged to; all zero: not pledged */
    uint16_t feed;
    bool base_known;
} eng_account;

struct gw_engine {
    const gw_config *cfg;
    gw_registry *registry;
    gw_verifier *verifier;
    gw_store store;
    gw_pledges *pledges; /* rule 11's chain reads; NULL without [evm] */

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
    /* The `ready` ticket the committer waits for: the next one when idle, a full group
     * while it gathers one. Waking it sooner only to wait again cost a context switch per
     * verified submission, each one taken from a verifier's core. */
    uint64_t t_wake;
    bool stopping;
    gw_commit_fn listener;
    void *listener_ctx;
    pthread_t committer;
    pthread_t *verifiers;
    size_t n_verifiers;

    _Atomic uint64_t head;
    /* The newest record's cursor: head passes over the collateral notices after it (the
     * publisher follows records alone, docs/publishing.md §2). */
    _Atomic uint64_t record_head;
    atomic_bool healthy; /* the last group's commit succeeded */
    /* The accepted chain's committed head: chain_lock keeps cursor and hash together. */
    pthread_mutex_t chain_lock;
    /* The store's write side: the committer's groups and reserves writes take turns. */
    pthread_mutex_t store_lock;
    uint64_t chain_cursor;
    uint8_t chain_hash[CUSTOS_CHAIN_HASH_LEN];

    unsigned follow_ms; /* shared store: how often an idle committer polls the head */

    /* Committer-only state from here on. */
    /* Every stored account, in order of first storing (cache_room entries allocated), found
     * through an open-addressed index (cache_slot: entry + 1, 0 empty; cache_slots a power
     * of two, at least twice cache_count). */
    eng_account *cache;
    size_t cache_count, cache_room;
    uint32_t *cache_slot;
    size_t cache_slots;
    /* The feed names accounts are stored under, each once: a name keeps its index. */
    char (*feed_names)[CUSTOS_FEED_MAX + 1];
    size_t n_feed_names, feed_names_room;
    /* The accounts the open group changed, in order of first change, found through an
     * open-addressed index (overlay_slot: entry + 1, 0 empty; overlay_at: each entry's
     * slot, so that a group's end empties only what it used). The committer bounds a
     * group's accounts by overlay_cap (gw_eng_item_accounts). */
    eng_account *overlay;
    uint32_t *overlay_slot;
    uint32_t *overlay_at;
    size_t overlay_count, overlay_cap, overlay_slots;
    eng_item **group;
    size_t last_group; /* how many submissions the last group committed */
    gw_store_signer *collected;
    uint32_t *collected_party; /* each collected signer's party in collect_policy */
    bool *take;
    size_t collected_cap, n_collected;
    const gw_policy *collect_policy;
    const gw_feed *collect_feed;
    uint64_t collect_now;
    uint8_t group_chain[CUSTOS_CHAIN_HASH_LEN]; /* the chain's tip inside the open group */
    /* The batches the open group stored (their digests), not yet committed: the same batch
     * again in the group is not yet readable as stored. */
    uint8_t (*group_batches)[CUSTOS_HASH_LEN];
    size_t n_group_batches, group_batches_cap;
    uint64_t pending_swept_at; /* the last second pending digests were expired in */
};

/* ---- pending.c (committer) ---- */

/* Whether a new pending digest for it, first signed by creator, fits the bounds of
 * [limits] max_pending_* (counted inside the open transaction): *bytes gets what it will
 * store; on a refusal it->out says which bound. A store error is returned. */
CUSTOS_MUST_USE
custos_rc gw_eng_pending_allows(gw_engine *e, eng_item *it,
                                const uint8_t creator[CUSTOS_ADDRESS_LEN], uint64_t *bytes,
                                bool *allowed, custos_error *err);
/* Drops, inside the open transaction and at most once a second, the pending digests first
 * seen more than [limits] pending_max_age_seconds before now. */
CUSTOS_MUST_USE
custos_rc gw_eng_pending_sweep(gw_engine *e, uint64_t now, custos_error *err);

/* ---- engine.c ---- */

/* Wall-clock unix seconds (0 if the clock fails). */
uint64_t gw_eng_now(void);
/* data as 0x-hex into out, or "?" when it does not fit. */
void gw_eng_hex(const uint8_t *data, size_t len, char *out, size_t cap);

/* ---- exposure.c (verifier threads) ---- */

/* Rule 11: whether a verified release (kind 1) may go on to the committer, given the
 * lender's exposure read from the chain. CUSTOS_REASON_NONE, or the refusal with its
 * detail (cut to cap). Reads the network: never called on the committer thread. */
custos_reason gw_eng_release_exposure(gw_engine *e, const custos_submission *s, char *detail,
                                      size_t cap);

/* ---- release_chain.c (verifier threads) ---- */

/* Whether the adapter, in the state v, refuses BreakerHeld a valuation of value signed by
 * n_signers signers with this digest (its _held and its releaseHeld exception, counting
 * signers as at most that many parties): false for a feed it does not know, a breaker
 * that is off, an account without a valuation on-chain, enough signers, the digest its
 * owner released, or a rise within the bound (pure: any thread). */
CUSTOS_MUST_USE
custos_rc gw_eng_adapter_holds(const evm_breaker_view *v, const custos_u256 *value,
                               size_t n_signers, const uint8_t digest[CUSTOS_HASH_LEN],
                               bool *holds, custos_error *err);

/* Rule 6 on-chain: whether an operator's release of the held digest it->ver.digest may go
 * on to the committer, given the adapter's own breaker read from the chain. True, or
 * false with it->out filled (HELD_ON_CHAIN, or UNAVAILABLE when the chain or the store
 * cannot be read). Reads the network: never called on the committer thread. */
bool gw_eng_release_on_chain(gw_engine *e, eng_item *it);

/* ---- ring.c ---- */

/* Answers a submission (or release) and frees it: logs and counts the outcome, calls its
 * callback. */
void gw_eng_answer(eng_item *it);
/* A verifier thread. */
void *gw_eng_verifier(void *arg);

/* ---- committer.c ---- */

/* The committer thread. */
void *gw_eng_committer(void *arg);
/* Whether a group short of commit_batch_max waits commit_delay_us for company
 * (docs/storage.md §6): only while in_flight submissions are still being verified, or when
 * the last group held more than one. */
bool gw_eng_group_waits(uint64_t in_flight, size_t last_group);
/* Tells the listener (Watch streams, the publisher) that the log's head moved to head. */
void gw_eng_notify(gw_engine *e, uint64_t head);
/* Reads the newest record's cursor from the store into record_head (store_lock held); a
 * failure leaves the last known, and is logged. */
void gw_eng_read_record_head(gw_engine *e);

/* ---- rules.c (committer thread only) ---- */

/* Fills o as a refusal with reason r and a printf-style detail. */
void gw_eng_refuse(gw_submit_outcome *o, custos_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Applies a verified submission inside the open group: replay, quorum, pledge and breaker
 * rules; an acceptance takes the next cursor (*head) and links the chain. With batch (an
 * account of that batch, it->ver the batch's signers and the account's digest), nothing
 * goes pending: short of the quorum it is refused, and the record refers to the batch
 * instead of carrying signatures; a held digest sent again is a duplicate. */
CUSTOS_MUST_USE
custos_rc gw_eng_apply(gw_engine *e, eng_item *it, const custos_record_batch *batch,
                       uint64_t now, uint64_t *head, custos_error *err);
/* Rule 6's bound: whether value - base > floor(base * bps / 10000), exactly (pure: any
 * thread). */
CUSTOS_MUST_USE
custos_rc gw_eng_beyond_bound(const custos_u256 *base, const custos_u256 *value,
                              uint32_t bps_value, bool *beyond, custos_error *err);
/* Whether the signers in it->ver (under it->ver.policy, at now) make the feed's quorum for
 * a valuation (rule 7), counted as for a single attestation. */
CUSTOS_MUST_USE
custos_rc gw_eng_batch_quorum(gw_engine *e, eng_item *it, uint64_t now, bool *quorum,
                              custos_error *err);

/* ---- batch.c (committer thread only, but gw_eng_batch_answer) ---- */

/* Applies a verified batch inside the open group (gw_engine_submit_batch). */
CUSTOS_MUST_USE
custos_rc gw_eng_apply_batch(gw_engine *e, eng_item *it, uint64_t now, uint64_t *head,
                             custos_error *err);
/* Answers a batch item: logs and counts each account, calls its callback. Frees nothing. */
void gw_eng_batch_answer(eng_item *it);
/* Frees a batch item's batch. */
void gw_eng_batch_free(eng_batch *b);
/* Applies an operator's release of a held digest inside the open group. */
CUSTOS_MUST_USE
custos_rc gw_eng_apply_release(gw_engine *e, eng_item *it, uint64_t now, uint64_t *head,
                               custos_error *err);

/* ---- accounts.c (committer thread only) ---- */

/* Makes room for `more` new accounts in the cache. */
CUSTOS_MUST_USE
custos_rc gw_eng_cache_reserve(gw_engine *e, size_t more, custos_error *err);
/* Puts an account into the cache; room was reserved first. */
void gw_eng_cache_put(gw_engine *e, const eng_account *a);
/* gw_store_load_accounts' callback at start: every stored account into the cache. */
CUSTOS_MUST_USE
custos_rc gw_eng_load_account(void *ctx, const gw_store_account *a, custos_error *err);
/* Asks the CPU for the cache lines that finding each of accounts[0..n) will read;
 * changes nothing. */
void gw_eng_accounts_prefetch(const gw_engine *e, const custos_batch_member *accounts, size_t n);
/* The account as the open group sees it: the overlay first, then the cache. */
const eng_account *gw_eng_account_find(const gw_engine *e,
                                       const uint8_t account[CUSTOS_HASH_LEN]);
/* The open group's entry of the account, or NULL when the group has not changed it. */
const eng_account *gw_eng_overlay_find(const gw_engine *e,
                                       const uint8_t account[CUSTOS_HASH_LEN]);
/* Records the account's state after a change in the open group (base NULL: unknown).
 * CUSTOS_ERR_INTERNAL when the group already holds overlay_cap accounts, which the
 * committer's bound on a group (gw_eng_item_accounts) rules out. */
CUSTOS_MUST_USE
custos_rc gw_eng_overlay_set(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN],
                             uint64_t sequence, const char *feed,
                             const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                             const eng_base *base, custos_error *err);
/* Empties the overlay for the next group. */
void gw_eng_overlay_reset(gw_engine *e);
/* The name of an account's feed (eng_account.feed). */
const char *gw_eng_feed_name(const gw_engine *e, uint16_t feed);
/* How many accounts an item can change: a batch's accounts, otherwise one. */
size_t gw_eng_item_accounts(const eng_item *it);

/* ---- chain.c ---- */

/* The chain hash stored with the entry at cursor head, a record or a notice (zeros for an
 * empty log); *linked false when that record predates the chain. */
CUSTOS_MUST_USE
custos_rc gw_eng_chain_at(gw_engine *e, uint64_t head, uint8_t hash[CUSTOS_CHAIN_HASH_LEN],
                          bool *linked, custos_error *err);
/* At start: the chain's head, linking the records accepted before the chain existed. */
CUSTOS_MUST_USE
custos_rc gw_eng_chain_load(gw_engine *e, uint64_t head, custos_error *err);

#endif
