/* The gateway's rule engine: verifies submissions (docs/rules.md rules 1-8, and 9 in part),
 * accumulates quorum, and makes accepted attestations durable through the store.
 * The gRPC services (rpc/) only move bytes between clients and this API. */
#ifndef GATEWAY_ENGINE_H
#define GATEWAY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/audit.h"
#include "custos/record.h"
#include "custos/error.h"
#include "custos/reason.h"

#include "config/config.h"
#include "evm/pledges.h"
#include "registry.h"
#include "store/store.h"
#include "verify_batch.h"

typedef struct gw_engine gw_engine;

/* What an operator's release of a held attestation came to (gw_engine_release_held). */
typedef enum gw_release_status {
    GW_RELEASE_DONE = 0,     /* published: cursor set, audit_seq recorded */
    GW_RELEASE_NOT_FOUND,    /* no held attestation has this digest */
    GW_RELEASE_SUPERSEDED,   /* a later attestation of the account superseded it */
    GW_RELEASE_REFUSED,      /* a rule refuses it now (reason and detail say which) */
    GW_RELEASE_UNAVAILABLE   /* nothing was recorded: the store failed or shutdown */
} gw_release_status;

/* The outcome of one submission, valid only during the completion callback. */
typedef struct gw_submit_outcome {
    custos_reason reason;     /* CUSTOS_REASON_NONE when not refused */
    char detail[256];         /* why it was refused, for the client and the log */
    custos_state state;       /* PENDING, ACCEPTED or HELD when not refused */
    bool duplicate;           /* nothing new: the same attestation/signatures were known */
    uint8_t digest[32];
    uint32_t signatures;      /* distinct valid signers known for the digest */
    uint32_t threshold;
    uint64_t cursor;          /* set when ACCEPTED */
    gw_release_status release; /* gw_engine_release_held only */
    uint64_t audit_seq;        /* gw_engine_release_held: its audit entry, when DONE */
} gw_submit_outcome;

/* Called exactly once per gw_engine_submit: from one of the engine's verifier threads
 * when verification refuses it, from the engine's committer thread after the commit,
 * or from the calling thread when the engine is out of memory or shutting down (and,
 * with gw_engine_submit_one, when it verified the submission and refused it).
 * Must not block for long and must not call gw_engine_submit itself. */
typedef void (*gw_submit_done_fn)(void *ctx, const gw_submit_outcome *out);

/* Called from the committer thread after each commit that accepted at least one
 * attestation, with the new head cursor. */
typedef void (*gw_commit_fn)(void *ctx, uint64_t head);

/* Opens the store named in cfg (creating it if absent) and starts the verifiers and the
 * committer.
 * cfg must outlive the engine. */
CUSTOS_MUST_USE
custos_rc gw_engine_new(const gw_config *cfg, gw_engine **out, custos_error *err);
/* Waits for every submission to be verified and committed (their callbacks run), then
 * closes the store. */
void gw_engine_free(gw_engine *e);

/* Thread-safe, and returns without verifying: the submission takes the next ticket in
 * the engine's ring (waiting only while the ring is full), a pool of verifier threads
 * (one per core) checks signatures, allow-list, domain and freshness in parallel, and
 * the committer applies the state change (replay, quorum) in a grouped commit, in ticket
 * order: submissions made one after another (one stream's items) are applied in that
 * order whatever thread verified them. Answers may arrive out of submission order (a
 * refusal before an earlier acceptance); callers that need order restore it.
 * Takes ownership of s's contents: s is left cleared. Decoding (MALFORMED, TOO_LARGE) is
 * the caller's job, with pb_to_submission / custos_submission_decode. request_id (may be
 * NULL) names the call in the engine's log lines about this submission. */
void gw_engine_submit(gw_engine *e, custos_submission *s, const char *request_id,
                      gw_submit_done_fn done, void *ctx);

/* Rule 6, an operator's release: publishes the held attestation with this digest
 * (the next cursor, its chain link, Watch and the publisher see it) and appends the audit
 * entry (actor, action "release_held", payload) in the same transaction, through the
 * committer in ticket order like a submission. done is called exactly once, as for
 * gw_engine_submit, with out->release saying what happened. payload is copied. */
/* The longest release note an operator may give (it goes into the payload). */
#define GW_RELEASE_NOTE_MAX 256
void gw_engine_release_held(gw_engine *e, const uint8_t digest[32], const char *actor,
                            const char *payload, gw_submit_done_fn done, void *ctx);
/* gw_engine_submit for a caller with one submission that waits for its answer (unary
 * Submit): when no other submission waits for or is in verification, it verifies on the
 * calling thread, sparing the hand-off to a verifier (a wake-up and two thread switches,
 * more than the verification costs when submissions arrive one at a time). Otherwise,
 * and for streams, whose reading thread must keep reading, gw_engine_submit. */
void gw_engine_submit_one(gw_engine *e, custos_submission *s, const char *request_id,
                          gw_submit_done_fn done, void *ctx);

/* One account's outcome in a batch: a gw_submit_outcome without the fields a batch's
 * account never uses, and without its detail, which only a refused account has
 * (gw_batch_outcome.details). */
typedef struct gw_batch_account_outcome {
    custos_reason reason;  /* CUSTOS_REASON_NONE when not refused */
    custos_state state;    /* ACCEPTED or HELD when not refused */
    bool duplicate;        /* nothing new: the account had this attestation already */
    uint8_t digest[32];
    uint32_t signatures;
    uint32_t threshold;
    uint64_t cursor;       /* set when ACCEPTED */
} gw_batch_account_outcome;

/* The outcome of a batch (gw_engine_submit_batch), valid only during the callback. */
typedef struct gw_batch_outcome {
    custos_reason reason;  /* the whole batch refused; CUSTOS_REASON_NONE otherwise */
    char detail[256];
    uint8_t digest[32];    /* the batch's digest */
    uint32_t signatures;   /* the batch's valid signers */
    uint32_t threshold;
    bool duplicate;        /* the batch was stored before: nothing changed */
    /* When not refused: one per account, in the order submitted, each refused alone
     * (reason, and details[i] says why) or PENDING-free: ACCEPTED (cursor) or HELD. */
    const gw_batch_account_outcome *accounts;
    const char (*details)[GW_BATCH_DETAIL_MAX];
    size_t n_accounts;
} gw_batch_outcome;

/* Called exactly once per gw_engine_submit_batch, from the same threads as
 * gw_submit_done_fn and under the same constraints. */
typedef void (*gw_batch_done_fn)(void *ctx, const gw_batch_outcome *out);

/* Rule 20: a batch through the ring like a submission. A verifier checks it whole
 * (gw_verify_batch: the signatures once) and each account's stateless rules; the
 * committer then, inside one group, refuses a batch whose sequence is not above its
 * feed's last stored batch (REPLAY; the very batch again is a duplicate, answered from
 * what was stored) or whose signers are short of the quorum (BATCH_BELOW_QUORUM), and
 * applies every stateful rule to each account (sequence, pledge, breaker, as
 * gw_engine_submit's) with the batch's signers; the accepted and held accounts and the
 * batch (store.h put_batch) commit together. Takes ownership of bs's contents (its
 * accounts and their positions): bs is left cleared. */
void gw_engine_submit_batch(gw_engine *e, gw_batch_submission *bs, const char *request_id,
                            gw_batch_done_fn done, void *ctx);

/* Registers the single commit listener (the Watch fan-out). */
void gw_engine_set_commit_listener(gw_engine *e, gw_commit_fn fn, void *ctx);

/* Thread-safe reads. CUSTOS_ERR_NOT_FOUND when the account has no accepted attestation. */
CUSTOS_MUST_USE
custos_rc gw_engine_get_latest(gw_engine *e, const uint8_t account[32], custos_record *out,
                               custos_error *err);
/* Up to max accepted records with cursor > after, in cursor order; *n set to the count.
 * Each out[i] must be released with custos_record_clear. */
CUSTOS_MUST_USE
custos_rc gw_engine_read_from(gw_engine *e, uint64_t after, custos_record *out, size_t max,
                              size_t *n, custos_error *err);
/* Batch digest with every account of it (store.h get_batch: members in the tree's leaf
 * order, with their states and cursors); CUSTOS_ERR_NOT_FOUND when no such batch was
 * stored. out must be released with gw_store_batch_clear. */
CUSTOS_MUST_USE
custos_rc gw_engine_get_batch(gw_engine *e, const uint8_t digest[32], gw_store_batch *out,
                              custos_error *err);
/* Up to max held records (rule 6) not superseded, of account (NULL: every account), oldest
 * first, after `after` in that order (NULL: from the oldest); *n set to the count. Each
 * out[i] must be released with custos_record_clear. */
CUSTOS_MUST_USE
custos_rc gw_engine_list_held(gw_engine *e, const uint8_t *account, const gw_held_key *after,
                              custos_record *out, size_t max, size_t *n, custos_error *err);
/* How many held records are not superseded (the custos_held gauge). */
CUSTOS_MUST_USE
custos_rc gw_engine_count_held(gw_engine *e, uint64_t *count, custos_error *err);
/* How many digests wait for their quorum and the oldest one's first_seen (unix seconds,
 * 0 when none waits): the status page's pending section. */
CUSTOS_MUST_USE
custos_rc gw_engine_pending_summary(gw_engine *e, uint64_t *count, uint64_t *oldest,
                                    custos_error *err);
/* How many pending digests are stored, and their bytes (the custos_pending gauges). */
CUSTOS_MUST_USE
custos_rc gw_engine_pending_totals(gw_engine *e, uint64_t *rows, uint64_t *bytes,
                                   custos_error *err);
/* The newest cursor (0 when nothing accepted yet), of a record or a collateral notice. */
uint64_t gw_engine_head(gw_engine *e);
/* The newest record's cursor (0 when none): the head without the notices after it. */
uint64_t gw_engine_record_head(gw_engine *e);
/* true while the store answers. */
bool gw_engine_healthy(gw_engine *e);
/* The accepted chain's head (custos/chain.h): the newest committed cursor and its chain
 * hash, read together (0 and zeros when nothing was accepted). Thread-safe. */
void gw_engine_chain_head(gw_engine *e, uint64_t *cursor, uint8_t hash[32]);
/* Up to max audit log entries with seq > after, in order (store.h read_audit). Thread-safe. */
CUSTOS_MUST_USE
custos_rc gw_engine_read_audit(gw_engine *e, uint64_t after, custos_audit_entry *out,
                               size_t max, size_t *n, custos_error *err);
/* Stores a reserves attestation whose signature, feed and leaves the caller verified
 * (reserves.c), in a transaction of its own. CUSTOS_REASON_NONE when stored, or with
 * *duplicate when the feed's latest is this very attestation (nothing written);
 * REPLAY when its sequence is not above the feed's latest; UNAVAILABLE or INTERNAL when
 * the store failed (nothing written). detail (cut to cap) says why. Thread-safe. */
custos_reason gw_engine_put_reserves(gw_engine *e, const gw_store_reserves *res,
                                     bool *duplicate, char *detail, size_t cap);
/* The feed's latest reserves attestation (store.h get_reserves). Thread-safe. */
CUSTOS_MUST_USE
custos_rc gw_engine_get_reserves(gw_engine *e, const char *feed, gw_store_reserves *out,
                                 custos_error *err);
/* Stores a collateral notice whose signature, account and lender the caller verified
 * (notices.c, rule 19), with its audit log entry (actor, "collateral_notice"), in a
 * transaction of its own, as the accepted log's next entry: n->cursor and n->chain_hash
 * get its place and link (docs/attestation.md §19). CUSTOS_REASON_NONE when stored, or
 * with *duplicate when the latest notice of (account, lender) is this very notice (nothing
 * written; n gets that notice's cursor and link); REPLAY when its sequence is not above
 * that notice's; UNAVAILABLE or INTERNAL when the store failed (nothing written).
 * *audit_seq gets the entry's number. Thread-safe. */
custos_reason gw_engine_put_notice(gw_engine *e, gw_store_notice *n, const char *actor,
                                   bool *duplicate, uint64_t *audit_seq, char *detail,
                                   size_t cap);
/* Up to max notices of account, newest first (store.h list_notices). Thread-safe. */
CUSTOS_MUST_USE
custos_rc gw_engine_list_notices(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN],
                                 gw_store_notice *out, size_t max, size_t *n,
                                 custos_error *err);
/* Up to max notices of the accepted log with cursor > after, in cursor order (store.h
 * read_notices_from). Thread-safe. */
CUSTOS_MUST_USE
custos_rc gw_engine_read_notices_from(gw_engine *e, uint64_t after, gw_store_notice *out,
                                      size_t max, size_t *n, custos_error *err);
/* The pledge registry's reads (rule 11); NULL without [evm]. */
gw_pledges *gw_engine_pledges(gw_engine *e);
/* The signer allow-list and feed policy the engine judges by (SIGHUP replaces it). */
gw_registry *gw_engine_registry(gw_engine *e);

#endif
