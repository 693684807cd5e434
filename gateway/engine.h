/* The gateway's rule engine: verifies submissions (DESIGN.md rules 1-5, 7, 8),
 * accumulates quorum, and makes accepted attestations durable through the store.
 * The gRPC transport (server.c) only moves bytes between clients and this API. */
#ifndef GATEWAY_ENGINE_H
#define GATEWAY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/audit.h"
#include "custos/client.h"
#include "custos/error.h"
#include "custos/reason.h"

#include "config.h"
#include "registry.h"

typedef struct gw_engine gw_engine;

/* The outcome of one submission, valid only during the completion callback. */
typedef struct gw_submit_outcome {
    custos_reason reason;     /* CUSTOS_REASON_NONE when not refused */
    char detail[256];         /* why it was refused, for the client and the log */
    custos_state state;       /* PENDING or ACCEPTED when not refused */
    bool duplicate;           /* nothing new: the same attestation/signatures were known */
    uint8_t digest[32];
    uint32_t signatures;      /* distinct valid signers known for the digest */
    uint32_t threshold;
    uint64_t cursor;          /* set when ACCEPTED */
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

/* gw_engine_submit for a caller with one submission that waits for its answer (unary
 * Submit): when no other submission waits for or is in verification, it verifies on the
 * calling thread, sparing the hand-off to a verifier (a wake-up and two thread switches,
 * more than the verification costs when submissions arrive one at a time). Otherwise,
 * and for streams, whose reading thread must keep reading, gw_engine_submit. */
void gw_engine_submit_one(gw_engine *e, custos_submission *s, const char *request_id,
                          gw_submit_done_fn done, void *ctx);

/* Registers the single commit listener (the Watch fan-out). */
void gw_engine_set_commit_listener(gw_engine *e, gw_commit_fn fn, void *ctx);

/* Thread-safe reads. CUSTOS_ERR_NOT_FOUND when the account has no accepted attestation. */
custos_rc gw_engine_get_latest(gw_engine *e, const uint8_t account[32], custos_record *out,
                               custos_error *err);
/* Up to max accepted records with cursor > after, in cursor order; *n set to the count.
 * Each out[i] must be released with custos_record_clear. */
custos_rc gw_engine_read_from(gw_engine *e, uint64_t after, custos_record *out, size_t max,
                              size_t *n, custos_error *err);
/* The newest cursor (0 when nothing accepted yet). */
uint64_t gw_engine_head(gw_engine *e);
/* true while the store answers. */
bool gw_engine_healthy(gw_engine *e);
/* The accepted chain's head (custos/chain.h): the newest committed cursor and its chain
 * hash, read together (0 and zeros when nothing was accepted). Thread-safe. */
void gw_engine_chain_head(gw_engine *e, uint64_t *cursor, uint8_t hash[32]);
/* Up to max audit log entries with seq > after, in order (store.h read_audit). Thread-safe. */
custos_rc gw_engine_read_audit(gw_engine *e, uint64_t after, custos_audit_entry *out,
                               size_t max, size_t *n, custos_error *err);
/* The signer allow-list and feed policy the engine judges by (SIGHUP replaces it). */
gw_registry *gw_engine_registry(gw_engine *e);

#endif
