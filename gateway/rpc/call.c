/* A call's lifetime, its byte buffers and request id, finishing it, and the submission
 * limit (call.h). */
#include "rpc/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "metrics.h"
#include "monotonic.h"
#include "pb_status.h"
#include "rpc/proxy_identity.h"
#include "tls.h"

gw_rpc_call *gw_rpc_call_new(gw_rpc_worker *w, size_t index)
{
    gw_rpc_call *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->srv = w->srv;
    c->w = w;
    c->method = &gw_rpc_methods[index];
    c->state = CALL_REQUESTED;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    gw_rpc_op *ops[] = {&c->req_op, &c->recv_op, &c->send_op, &c->close_op, &c->finish_op};
    for (int k = OP_REQUEST; k <= OP_FINISH; k++) {
        ops[k]->c = c;
        ops[k]->kind = (gw_rpc_op_kind)k;
    }
    grpc_metadata_array_init(&c->req_md);
    if (c->method->path == NULL)
        grpc_call_details_init(&c->details);
    pthread_mutex_lock(&c->srv->mu);
    c->srv->live++;
    pthread_mutex_unlock(&c->srv->mu);
    return c;
}

void gw_rpc_call_ref(gw_rpc_call *c)
{
    atomic_fetch_add(&c->refs, 1);
}

static void call_destroy(gw_rpc_call *c)
{
    gw_server *srv = c->srv;
    if (c->gc != NULL) {
        gw_proxy_identity_unbind(c->gc);
        grpc_call_unref(c->gc);
    }
    grpc_metadata_array_destroy(&c->req_md);
    if (c->method->path == NULL)
        grpc_call_details_destroy(&c->details);
    grpc_byte_buffer *bufs[] = {c->payload, c->final_reply, c->recv_buf, c->send_buf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i] != NULL)
            grpc_byte_buffer_destroy(bufs[i]);
    for (size_t i = c->outq_i; i < c->outq_n; i++)
        grpc_byte_buffer_destroy(c->outq[i]);
    if (c->slots != NULL) {
        for (size_t i = 0; i < GW_RPC_STREAM_WINDOW; i++)
            if (c->slots[i].reply != NULL)
                grpc_byte_buffer_destroy(c->slots[i].reply);
        free(c->slots);
    }
    if (c->has_status_details)
        grpc_slice_unref(c->status_details);
    pthread_mutex_destroy(&c->mu);
    free(c);

    pthread_mutex_lock(&srv->mu);
    if (--srv->live == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
}

void gw_rpc_call_unref(gw_rpc_call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        call_destroy(c);
}

const char *gw_rpc_call_path(const gw_rpc_call *c)
{
    return c->method->path != NULL ? c->method->path : "unknown method";
}

bool gw_rpc_call_batch(gw_rpc_call *c, const grpc_op *ops, size_t n, gw_rpc_op *tag)
{
    gw_rpc_call_ref(c);
    grpc_call_error e = grpc_call_start_batch(c->gc, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        atomic_fetch_sub(&c->refs, 1);
        gw_log_req(GW_LOG_ERROR, "grpc_batch", c->request_id, "%s: cannot start a batch: %s",
                   gw_rpc_call_path(c), grpc_call_error_to_string(e));
        return false;
    }
    return true;
}

/* ---- byte buffers ---- */

grpc_byte_buffer *gw_rpc_pack(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

bool gw_rpc_read(grpc_byte_buffer *bb, grpc_slice *out)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return false;
    *out = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    return true;
}

void *gw_rpc_unpack_request(gw_rpc_call *c, const ProtobufCMessageDescriptor *desc)
{
    grpc_slice slice;
    void *m = NULL;
    if (c->payload != NULL && gw_rpc_read(c->payload, &slice)) {
        size_t len = GRPC_SLICE_LENGTH(slice);
        if (len <= c->srv->cfg->max_message_bytes)
            m = protobuf_c_message_unpack(desc, NULL, len, GRPC_SLICE_START_PTR(slice));
        grpc_slice_unref(slice);
    }
    if (m == NULL) {
        char detail[160];
        snprintf(detail, sizeof detail, "the message is not a %s", desc->name);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    }
    return m;
}

/* ---- request ids ---- */

void gw_rpc_call_take_request_id(gw_rpc_call *c)
{
    for (size_t i = 0; i < c->req_md.count; i++) {
        const grpc_metadata *m = &c->req_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "x-request-id") != 0)
            continue;
        const char *v = (const char *)GRPC_SLICE_START_PTR(m->value);
        size_t len = GRPC_SLICE_LENGTH(m->value);
        if (gw_request_id_valid(v, len)) {
            memcpy(c->request_id, v, len);
            c->request_id[len] = '\0';
            return;
        }
    }
    gw_request_id_new(c->request_id);
}

/* Every call answers with its request id in the initial metadata. The value points into
 * the call, which outlives its batches. */
static void set_initial_metadata(gw_rpc_call *c, grpc_op *op)
{
    c->id_md.key = grpc_slice_from_static_string("x-request-id");
    c->id_md.value = grpc_slice_from_static_buffer(c->request_id, strlen(c->request_id));
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op->data.send_initial_metadata.count = 1;
    op->data.send_initial_metadata.metadata = &c->id_md;
}

/* ---- finishing calls ---- */

void gw_rpc_finish(gw_rpc_call *c, grpc_status_code status, const char *detail,
                   custos_reason reason, grpc_byte_buffer *reply)
{
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    set_initial_metadata(c, &ops[n++]);
    if (reply != NULL) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = reply;
    }
    grpc_slice details = grpc_slice_from_copied_string(detail != NULL ? detail : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = status;
    ops[n].data.send_status_from_server.status_details = detail != NULL ? &details : NULL;
    if (reason != CUSTOS_REASON_NONE) {
        size_t n_md = 0;
        c->trailer[n_md].key = grpc_slice_from_static_string("custos-reason");
        c->trailer[n_md++].value = grpc_slice_from_static_string(custos_reason_name(reason));
        /* The same reason in the standard form (google.rpc.Status with an ErrorInfo), for
         * clients that read gRPC's rich error model rather than our trailer. */
        uint8_t bin[PB_STATUS_DETAILS_MAX];
        size_t len = pb_status_details(status, detail, reason, c->err_feed, c->err_account,
                                       bin, sizeof bin);
        if (len > 0 && !c->has_status_details) {
            c->status_details = grpc_slice_from_copied_buffer((const char *)bin, len);
            c->has_status_details = true;
            c->trailer[n_md].key = grpc_slice_from_static_string("grpc-status-details-bin");
            c->trailer[n_md++].value = c->status_details;
        }
        ops[n].data.send_status_from_server.trailing_metadata = c->trailer;
        ops[n].data.send_status_from_server.trailing_metadata_count = n_md;
    }
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;

    pthread_mutex_lock(&c->mu);
    c->final_reply = reply;
    c->state = CALL_FINISHED;
    gw_rpc_call_batch(c, ops, n, &c->finish_op);
    pthread_mutex_unlock(&c->mu);
    grpc_slice_unref(details);
}

void gw_rpc_refuse(gw_rpc_call *c, custos_reason reason, const char *detail)
{
    gw_metrics_count_refusal(reason);
    const gw_log_field f[] = {{"feed", c->err_feed},
                              {"account", c->err_account},
                              {"reason", custos_reason_name(reason)},
                              {"method", gw_rpc_call_path(c)}};
    gw_log_fields(GW_LOG_DEBUG, "refused", c->request_id, f, sizeof f / sizeof f[0], "%s",
                  detail);
    gw_rpc_finish(c, pb_reason_status(reason), detail, reason, NULL);
}

void gw_rpc_stream_end(gw_rpc_call *c)
{
    if (c->state == CALL_FINISHED || c->state == CALL_CLOSED)
        return;
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    if (!c->sent_initial)
        set_initial_metadata(c, &ops[n++]);
    c->sent_initial = true;
    grpc_slice details = grpc_slice_from_copied_string(c->end_detail != NULL ? c->end_detail : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = c->end_status;
    ops[n++].data.send_status_from_server.status_details = c->end_detail != NULL ? &details : NULL;
    c->state = CALL_FINISHED;
    gw_rpc_call_batch(c, ops, n, &c->finish_op);
    grpc_slice_unref(details);
}

void gw_rpc_stream_send(gw_rpc_call *c, grpc_byte_buffer *bb)
{
    gw_rpc_stream_send_more(c, bb, false);
}

void gw_rpc_stream_send_more(gw_rpc_call *c, grpc_byte_buffer *bb, bool more)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    /* The transport holds a hinted message until a message without the hint, the status,
     * or its write buffer's size (64 KiB) makes it write; the hinted send completes at once,
     * so the next message never waits for that write. Not so the initial metadata: its send
     * completes once written, and a hint beside it held the whole batch, and so every later
     * message, until something else wrote on the connection. */
    bool hint = more && c->sent_initial;
    if (!c->sent_initial)
        set_initial_metadata(c, &ops[n++]);
    ops[n].flags = hint ? GRPC_WRITE_BUFFER_HINT : 0;
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    c->send_buf = bb;
    if (gw_rpc_call_batch(c, ops, n, &c->send_op)) {
        c->sent_initial = true;
        c->send_busy = true;
        return;
    }
    c->send_buf = NULL;
    grpc_byte_buffer_destroy(bb);
    c->end_status = GRPC_STATUS_INTERNAL;
    c->end_detail = "cannot write to the stream";
    gw_rpc_stream_end(c);
}

void gw_rpc_stream_on_sent(gw_rpc_call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    c->send_busy = false;
    if (c->send_buf != NULL)
        grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
    if (!ok) {
        /* The client is gone: straight to the status. */
        c->end_status = GRPC_STATUS_UNAVAILABLE;
        c->end_detail = "write failed";
        gw_rpc_stream_end(c);
    } else {
        c->method->stream->pump(c);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ---- abuse limits ---- */

bool gw_rpc_admit_submission(gw_rpc_call *c, char *detail, size_t cap)
{
    gw_server *srv = c->srv;
    if (c->client[0] == '\0')
        gw_tls_client_name(srv->cfg, c->gc, c->client, sizeof c->client);
    if (gw_limiter_take(srv->limiter, c->client, gw_mono_ns()))
        return true;
    snprintf(detail, cap, "client '%s' submits faster than [limits] allows (%llu per "
             "second, bursts of %llu): retry later", c->client,
             (unsigned long long)srv->cfg->limits.rate_per_second,
             (unsigned long long)srv->cfg->limits.burst);
    return false;
}
