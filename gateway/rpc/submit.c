/* Submit and SubmitStream: attestations in, the engine's verdicts out.
 *
 * A SubmitStream keeps reading while earlier requests are verified and committed, up to
 * GW_RPC_STREAM_WINDOW unanswered ones, and writes the answers in the order the requests
 * came, each carrying its request_id. */
#include "rpc/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

#include "metrics.h"
#include "monotonic.h"
#include "pb_arena.h"
#include "pb_convert.h"
#include "pb_status.h"
#include "rpc/handlers.h"
#include "tls.h"

/* Fills sub from a decoded SubmitRequest; on refusal fills *reason and detail. */
static bool submission_from_request(const Custos__V1__SubmitRequest *req, custos_submission *sub,
                                    uint64_t *request_id, custos_reason *reason, char *detail,
                                    size_t cap)
{
    *request_id = req->request_id;
    if (req->attestation == NULL) {
        snprintf(detail, cap, "SubmitRequest.attestation is missing");
        return false;
    }
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = pb_to_submission(req->attestation, sub, &err);
    if (rc == CUSTOS_OK)
        return true;
    if (rc == CUSTOS_ERR_TOO_LARGE)
        *reason = CUSTOS_REASON_TOO_LARGE;
    snprintf(detail, cap, "%s", err.message);
    return false;
}

/* Decodes a SubmitRequest. On refusal fills *reason and detail and returns false. */
static bool decode_submit(gw_server *srv, grpc_byte_buffer *bb, custos_submission *sub,
                          uint64_t *request_id, custos_reason *reason, char *detail, size_t cap)
{
    *request_id = 0;
    *reason = CUSTOS_REASON_MALFORMED;
    if (bb == NULL) {
        snprintf(detail, cap, "the call carried no SubmitRequest");
        return false;
    }
    grpc_slice slice;
    if (!gw_rpc_read(bb, &slice)) {
        snprintf(detail, cap, "the message cannot be read (unsupported compression?)");
        return false;
    }
    size_t len = GRPC_SLICE_LENGTH(slice);
    if (len > srv->cfg->max_message_bytes) {
        grpc_slice_unref(slice);
        *reason = CUSTOS_REASON_TOO_LARGE;
        snprintf(detail, cap, "message of %zu bytes exceeds the limit of %zu bytes", len,
                 srv->cfg->max_message_bytes);
        return false;
    }
    pb_arena arena;
    pb_arena_init(&arena);
    Custos__V1__SubmitRequest *req =
        custos__v1__submit_request__unpack(&arena.allocator, len, GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    bool ok = false;
    if (req == NULL)
        snprintf(detail, cap, "the message is not a custos.v1.SubmitRequest");
    else
        ok = submission_from_request(req, sub, request_id, reason, detail, cap);
    pb_arena_release(&arena);
    return ok;
}

/* The request_id of a SubmitRequest that is refused before it is checked, so that the
 * client can match the refusal; 0 when the message cannot be read. */
static uint64_t peek_request_id(gw_server *srv, grpc_byte_buffer *bb)
{
    grpc_slice slice;
    if (!gw_rpc_read(bb, &slice))
        return 0;
    uint64_t id = 0;
    size_t len = GRPC_SLICE_LENGTH(slice);
    if (len <= srv->cfg->max_message_bytes) {
        Custos__V1__SubmitRequest *req =
            custos__v1__submit_request__unpack(NULL, len, GRPC_SLICE_START_PTR(slice));
        if (req != NULL) {
            id = req->request_id;
            custos__v1__submit_request__free_unpacked(req, NULL);
        }
    }
    grpc_slice_unref(slice);
    return id;
}

static grpc_byte_buffer *pack_submit_response(uint64_t request_id, const gw_submit_outcome *o)
{
    Custos__V1__SubmitResponse r = CUSTOS__V1__SUBMIT_RESPONSE__INIT;
    r.request_id = request_id;
    if (o->reason != CUSTOS_REASON_NONE) {
        r.reason = (Custos__V1__Reason)o->reason;
        r.detail = (char *)o->detail;
    } else {
        r.state = (Custos__V1__State)o->state;
        r.duplicate = o->duplicate;
        r.digest.len = sizeof o->digest;
        r.digest.data = (uint8_t *)o->digest;
        r.signatures = o->signatures;
        r.threshold = o->threshold;
        r.cursor = o->cursor;
    }
    return gw_rpc_pack(&r.base);
}

/* ---- Submit ---- */

static void submit_done(void *ctx, const gw_submit_outcome *o)
{
    gw_rpc_call *c = ctx;
    if (o->reason != CUSTOS_REASON_NONE)
        gw_rpc_finish(c, pb_reason_status(o->reason), o->detail,
                      o->reason, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, pack_submit_response(0, o));
    gw_rpc_call_unref(c);
}

void gw_rpc_submit(gw_rpc_call *c)
{
    custos_submission sub;
    memset(&sub, 0, sizeof sub);
    uint64_t request_id;
    custos_reason reason;
    char detail[256];
    /* The limit comes before decoding: a flood costs the gateway as little as possible. */
    bool ok = gw_rpc_admit_submission(c, detail, sizeof detail);
    if (!ok)
        reason = CUSTOS_REASON_RATE_LIMITED;
    else
        ok = decode_submit(c->srv, c->payload, &sub, &request_id, &reason, detail,
                           sizeof detail);
    if (ok) {
        /* A refusal from here on names the feed and account in its ErrorInfo. */
        snprintf(c->err_feed, sizeof c->err_feed, "%s", sub.feed);
        if (custos_hex_encode(sub.att.account, CUSTOS_HASH_LEN, c->err_account,
                              sizeof c->err_account) != CUSTOS_OK)
            c->err_account[0] = '\0';
    }
    if (ok && !gw_tls_may_submit(c->srv->cfg, c->gc, sub.feed, detail, sizeof detail)) {
        custos_submission_clear(&sub);
        reason = CUSTOS_REASON_UNAUTHORIZED_CLIENT;
        ok = false;
    }
    if (!ok) {
        gw_rpc_refuse(c, reason, detail); /* the engine counts what reaches it */
        return;
    }
    gw_rpc_call_ref(c);
    gw_engine_submit_one(c->srv->engine, &sub, c->request_id, submit_done, c);
}

/* ---- SubmitStream ---- */

/* Locked. Keeps a read posted while under the window, writes finished answers in request
 * order, and ends the stream once everything read has been answered. */
static void submit_stream_pump(gw_rpc_call *c)
{
    if (c->state != CALL_ACTIVE && c->state != CALL_ENDING)
        return;
    if (c->state == CALL_ACTIVE && !c->recv_busy && !c->half_closed &&
        c->tail - c->head < GW_RPC_STREAM_WINDOW) {
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &c->recv_buf;
        if (gw_rpc_call_batch(c, &op, 1, &c->recv_op)) {
            c->recv_busy = true;
        } else {
            c->state = CALL_ENDING;
            c->end_status = GRPC_STATUS_INTERNAL;
            c->end_detail = "cannot read from the stream";
        }
    }
    if (c->send_busy)
        return;
    if (c->head < c->tail) {
        gw_rpc_slot *s = &c->slots[c->head % GW_RPC_STREAM_WINDOW];
        if (!s->done)
            return;
        grpc_byte_buffer *bb = s->reply;
        s->reply = NULL;
        s->done = false;
        c->head++;
        /* Answers finished together (a commit's group) go out in one write: each but the
         * last one ready carries the hint, and its send's completion sends the next
         * (docs/operations.md §14). */
        bool more = c->head < c->tail && c->slots[c->head % GW_RPC_STREAM_WINDOW].done;
        gw_rpc_stream_send_more(c, bb, more);
        return;
    }
    if (c->half_closed || c->state == CALL_ENDING)
        gw_rpc_stream_end(c);
}

static void submit_stream_done(void *ctx, const gw_submit_outcome *o)
{
    gw_rpc_slot *s = ctx;
    gw_rpc_call *c = s->c;
    grpc_byte_buffer *bb = pack_submit_response(s->request_id, o);
    pthread_mutex_lock(&c->mu);
    if (c->state == CALL_ACTIVE || c->state == CALL_ENDING) {
        s->reply = bb;
        s->done = true;
        submit_stream_pump(c);
    } else {
        grpc_byte_buffer_destroy(bb);
    }
    pthread_mutex_unlock(&c->mu);
    gw_rpc_call_unref(c);
}

/* recv_busy stays set until this message is in the engine: a read posted earlier (by an
 * answer's pump on another thread) could complete first, take the place after this one
 * and reach the engine before it, and the window would admit one message too many. */
static void submit_stream_on_recv(gw_rpc_call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    grpc_byte_buffer *bb = c->recv_buf;
    c->recv_buf = NULL;
    bool live = c->state == CALL_ACTIVE || c->state == CALL_ENDING;
    if (!live || !ok || bb == NULL) {
        /* End of the client's half (or of the call). */
        c->recv_busy = false;
        c->half_closed = true;
        submit_stream_pump(c);
        pthread_mutex_unlock(&c->mu);
        if (bb != NULL)
            grpc_byte_buffer_destroy(bb);
        return;
    }
    c->last_recv_ns = gw_mono_ns();
    /* Answers are written in the order requests are read: this one's place is taken now. */
    gw_rpc_slot *s = &c->slots[c->tail % GW_RPC_STREAM_WINDOW];
    c->tail++;
    s->c = c;
    s->done = false;
    pthread_mutex_unlock(&c->mu);

    custos_submission sub;
    memset(&sub, 0, sizeof sub);
    uint64_t request_id;
    gw_submit_outcome refusal;
    memset(&refusal, 0, sizeof refusal);
    bool decoded;
    if (gw_rpc_admit_submission(c, refusal.detail, sizeof refusal.detail)) {
        decoded = decode_submit(c->srv, bb, &sub, &request_id, &refusal.reason, refusal.detail,
                                sizeof refusal.detail);
    } else {
        /* Only the request id is read, so that the client can match the refusal. */
        request_id = peek_request_id(c->srv, bb);
        refusal.reason = CUSTOS_REASON_RATE_LIMITED;
        decoded = false;
    }
    grpc_byte_buffer_destroy(bb);
    if (decoded && !gw_tls_may_submit(c->srv->cfg, c->gc, sub.feed, refusal.detail,
                                      sizeof refusal.detail)) {
        custos_submission_clear(&sub);
        refusal.reason = CUSTOS_REASON_UNAUTHORIZED_CLIENT;
        decoded = false;
    }
    if (!decoded) {
        gw_metrics_count_refusal(refusal.reason);
        const gw_log_field f[] = {{"reason", custos_reason_name(refusal.reason)},
                                  {"method", gw_rpc_call_path(c)}};
        gw_log_fields(GW_LOG_DEBUG, "refused", c->request_id, f, sizeof f / sizeof f[0], "%s",
                      refusal.detail);
    }

    s->request_id = request_id; /* read only by this request's answer, which comes after */
    gw_rpc_call_ref(c);
    if (decoded)
        gw_engine_submit(c->srv->engine, &sub, c->request_id, submit_stream_done, s);
    else
        submit_stream_done(s, &refusal);

    /* The next is read before this one is verified and committed. */
    pthread_mutex_lock(&c->mu);
    c->recv_busy = false;
    submit_stream_pump(c);
    pthread_mutex_unlock(&c->mu);
}

/* Ends a SubmitStream whose client has sent nothing for [limits] stream_idle_seconds
 * while every request it sent is answered: a connection that opens streams and never
 * sends would otherwise hold them, and its stream places, for ever. */
static void submit_stream_sweep(gw_rpc_call *c, uint64_t now_ns)
{
    uint64_t idle_ns = (uint64_t)c->srv->cfg->limits.stream_idle_seconds * 1000000000u;
    pthread_mutex_lock(&c->mu);
    /* now_ns was sampled before the lock: a message may have come since. */
    if (c->state == CALL_ACTIVE && !c->half_closed && c->head == c->tail &&
        now_ns > c->last_recv_ns && now_ns - c->last_recv_ns >= idle_ns) {
        c->state = CALL_ENDING;
        c->end_status = GRPC_STATUS_DEADLINE_EXCEEDED;
        c->end_detail = "no message within [limits] stream_idle_seconds: stream closed";
        submit_stream_pump(c);
    }
    pthread_mutex_unlock(&c->mu);
}

const gw_rpc_stream_ops gw_rpc_submit_stream_ops = {
    .pump = submit_stream_pump,
    .on_recv = submit_stream_on_recv,
    .on_sweep = submit_stream_sweep,
    .unavailable_on_stop = true,
};

void gw_rpc_submit_stream(gw_rpc_call *c)
{
    if (!gw_rpc_stream_admit(c, true))
        return;
    c->last_recv_ns = gw_mono_ns();
    c->slots = calloc(GW_RPC_STREAM_WINDOW, sizeof *c->slots);
    if (c->slots == NULL) {
        c->holds_stream = false;
        gw_limiter_stream_close(c->srv->limiter, c->client);
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
        return;
    }
    if (!gw_rpc_stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    submit_stream_pump(c);
    pthread_mutex_unlock(&c->mu);
}
