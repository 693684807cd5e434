/* The ring of tickets (internal.h): submissions and releases take the next ticket in
 * submission order; verifier threads check them in parallel, and the committer takes
 * them in ticket order. */
#include "engine/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* One line per submission, its facts as JSON members (docs/operations.md §8): an
 * acceptance (or a pending, held) at info, what an operator follows; a refusal at debug,
 * since refusals are counted by reason anyway and a flood of them must not flood the log. */
static void eng_log_outcome(const eng_item *it)
{
    const gw_submit_outcome *o = &it->out;
    bool refused = o->reason != CUSTOS_REASON_NONE;
    gw_log_level level = refused ? GW_LOG_DEBUG : GW_LOG_INFO;
    /* Every submission passes here: build nothing the level drops. */
    if (!gw_log_enabled(level))
        return;
    char account[2 + 2 * CUSTOS_HASH_LEN + 1], digest[2 + 2 * CUSTOS_HASH_LEN + 1];
    char sequence[24], cursor[24], signatures[24];
    gw_eng_hex(it->sub.att.account, CUSTOS_HASH_LEN, account, sizeof account);
    gw_eng_hex(o->digest, CUSTOS_HASH_LEN, digest, sizeof digest);
    snprintf(sequence, sizeof sequence, "%" PRIu64, it->sub.att.sequence);
    snprintf(cursor, sizeof cursor, "%" PRIu64, o->cursor);
    snprintf(signatures, sizeof signatures, "%" PRIu32 "/%" PRIu32, o->signatures,
             o->threshold);
    const char *state = o->state == CUSTOS_STATE_ACCEPTED ? "accepted"
                        : o->state == CUSTOS_STATE_HELD   ? "held"
                                                          : "pending";
    if (refused) {
        const gw_log_field f[] = {{"feed", it->sub.feed},
                                  {"account", account},
                                  {"sequence", sequence},
                                  {"reason", custos_reason_name(o->reason)}};
        gw_log_fields(level, "refused", it->request_id, f, sizeof f / sizeof f[0], "%s",
                      o->detail);
        return;
    }
    const gw_log_field f[] = {{"feed", it->sub.feed},
                              {"account", account},
                              {"sequence", sequence},
                              {"digest", digest},
                              {"cursor", o->state == CUSTOS_STATE_ACCEPTED ? cursor : NULL},
                              {"signatures", signatures},
                              {"duplicate", o->duplicate ? "true" : NULL}};
    gw_log_fields(level, state, it->request_id, f, sizeof f / sizeof f[0], "%s %s sequence %s",
                  state, it->sub.feed, sequence);
}

void gw_eng_answer(eng_item *it)
{
    if (it->batch != NULL) {
        gw_eng_batch_answer(it);
        gw_policy_release(it->ver.policy);
        gw_eng_batch_free(it->batch);
        free(it);
        return;
    }
    if (!it->release) {
        eng_log_outcome(it);
        gw_metrics_observe_outcome(it->sub.feed, it->sub.att.as_of, &it->out);
    }
    it->done(it->ctx, &it->out);
    gw_policy_release(it->ver.policy);
    custos_submission_clear(&it->sub);
    free(it);
}

/* Locked. Moves `ready` past every ticket that left verification, and wakes the
 * committer when that reached the ticket it waits for. */
static void eng_advance_ready(gw_engine *e)
{
    uint64_t before = e->t_ready;
    while (e->t_ready < e->t_claimed &&
           e->stage[e->t_ready % e->queue_cap] != ENG_VERIFYING)
        e->t_ready++;
    if (e->t_ready != before && e->t_ready >= e->t_wake)
        pthread_cond_signal(&e->not_empty);
}

/* Locked on entry and on return. Verifies the claimed ticket in `slot` outside the lock,
 * then hands it to the committer if it passed, or answers it if it was refused. */
static void eng_verify_slot(gw_engine *e, size_t slot, eng_item *it)
{
    pthread_mutex_unlock(&e->lock);
    custos_reason r = CUSTOS_REASON_NONE;
    if (it->batch != NULL) {
        /* Rule 20: the batch's signatures once, then each account's stateless rules. */
        uint64_t started = gw_metrics_clock();
        r = gw_verify_batch(e->verifier, &it->batch->bs, gw_eng_now(), &it->ver,
                            it->batch->members, it->batch->details, it->out.detail,
                            sizeof it->out.detail);
        gw_metrics_observe_verify(started);
    } else if (!it->release) { /* an operator's release carries no signatures to check */
        uint64_t started = gw_metrics_clock();
        r = gw_verify_submission(e->verifier, &it->sub, gw_eng_now(), &it->ver, it->out.detail,
                                 sizeof it->out.detail);
        gw_metrics_observe_verify(started);
        /* Rule 11 after the signatures: only an allow-listed quorum's release makes the
         * gateway read the chain. */
        if (r == CUSTOS_REASON_NONE && it->sub.att.kind == CUSTOS_KIND_RELEASE) {
            r = gw_eng_release_exposure(e, &it->sub, it->out.detail, sizeof it->out.detail);
            if (r != CUSTOS_REASON_NONE) {
                gw_policy_release(it->ver.policy);
                it->ver.policy = NULL;
            }
        }
    } else if (e->pledges != NULL && !gw_eng_release_on_chain(e, it)) {
        r = it->out.reason; /* an operator's release the adapter would refuse (rule 6) */
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
    gw_eng_answer(it);
    pthread_mutex_lock(&e->lock);
}

void *gw_eng_verifier(void *arg)
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
        gw_eng_refuse(&it->out, CUSTOS_REASON_UNAVAILABLE,
                      "the gateway is shutting down; nothing was recorded, retry");
        gw_eng_answer(it);
        return;
    }
    size_t slot = (size_t)(e->t_next++ % e->queue_cap);
    e->queue[slot] = it;
    e->stage[slot] = ENG_VERIFYING;
    /* A release reads the chain (rule 11): never on the caller's thread, which serves gRPC. */
    inline_ok = inline_ok && (it->release || it->batch != NULL ||
                              it->sub.att.kind != CUSTOS_KIND_RELEASE);
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

static void eng_submit(gw_engine *e, custos_submission *s, const char *request_id,
                       gw_submit_done_fn done, void *ctx, bool inline_ok)
{
    eng_item *it = calloc(1, sizeof *it);
    if (it == NULL) {
        gw_submit_outcome o;
        memset(&o, 0, sizeof o);
        gw_eng_refuse(&o, CUSTOS_REASON_INTERNAL, "the gateway is out of memory");
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
        gw_eng_refuse(&o, CUSTOS_REASON_INTERNAL, "the gateway is out of memory");
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

void gw_engine_submit_batch(gw_engine *e, gw_batch_submission *bs, const char *request_id,
                            gw_batch_done_fn done, void *ctx)
{
    eng_item *it = calloc(1, sizeof *it);
    eng_batch *b = it != NULL ? calloc(1, sizeof *b) : NULL;
    size_t n = bs->n_accounts > 0 ? bs->n_accounts : 1;
    if (b != NULL) {
        b->members = calloc(n, sizeof *b->members);
        b->outs = calloc(n, sizeof *b->outs);
        b->details = malloc(n * sizeof *b->details);
    }
    if (b == NULL || b->members == NULL || b->outs == NULL || b->details == NULL) {
        gw_batch_outcome o;
        memset(&o, 0, sizeof o);
        o.reason = CUSTOS_REASON_INTERNAL;
        snprintf(o.detail, sizeof o.detail, "the gateway is out of memory");
        gw_batch_submission_clear(bs);
        gw_eng_batch_free(b);
        free(it);
        done(ctx, &o);
        return;
    }
    b->bs = *bs; /* the item now owns bs's accounts */
    memset(bs, 0, sizeof *bs);
    b->done = done;
    it->batch = b;
    if (request_id != NULL)
        snprintf(it->request_id, sizeof it->request_id, "%s", request_id);
    it->ctx = ctx;
    /* A batch is verified by a verifier thread: its signatures are few, but each account's
     * tree leaf and positions are hashed, which the gRPC thread should not wait for. */
    eng_enqueue(e, it, false);
}
