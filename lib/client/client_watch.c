/* The client's Watch: records, and notices for a caller that asks (custos/client.h). */
#include "client_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <grpc/support/time.h>

#include "custos/pemfile.h"
#include "custos/v1/admin.pb-c.h"
#include "custos/v1/gateway.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "pb_convert.h"
#include "pb_notice.h"
#include "pb_status.h"

/* One WatchEvent to the callback: *more gets its answer. */
static custos_rc watch_deliver(const Custos__V1__WatchEvent *m, custos_watch_event_fn on_event,
                               void *ctx, bool *more, custos_error *err)
{
    custos_record rec;
    custos_stored_notice notice;
    custos_watch_event ev;
    custos_rc rc = pb_to_watch_event(m, &rec, &notice, &ev, err);
    if (rc != CUSTOS_OK)
        return rc;
    *more = on_event(ctx, &ev);
    custos_record_clear(&rec);
    return CUSTOS_OK;
}

/* Watch with or without the log's notices (custos_client_watch_log). */
static custos_rc watch_run(custos_client *c, uint64_t after_cursor, int idle_timeout_ms,
                           bool notices, custos_watch_event_fn on_event, void *ctx,
                           custos_error *err)
{
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_call *call = grpc_channel_create_registered_call(
        c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, c->handles[H_WATCH],
        gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    Custos__V1__WatchRequest req = CUSTOS__V1__WATCH_REQUEST__INIT;
    req.after_cursor = after_cursor;
    req.notices = notices;
    grpc_byte_buffer *send = cl_pack_message(&req.base);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array initial, trailer;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailer);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    int tag_start, tag_recv, tag_status;
    int outstanding = 0;

    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    cl_send_request_id(c, &ops[0]);
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    bool ok = grpc_call_start_batch(call, ops, 4, &tag_start, NULL) == GRPC_CALL_OK;
    outstanding += ok;
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &trailer;
    ops[0].data.recv_status_on_client.status = &status;
    ops[0].data.recv_status_on_client.status_details = &details;
    if (ok && grpc_call_start_batch(call, ops, 1, &tag_status, NULL) == GRPC_CALL_OK)
        outstanding++;
    else
        ok = false;

    custos_rc rc = CUSTOS_OK;
    bool stopped = false, receiving = false, ended = !ok;
    if (!ok) {
        grpc_call_cancel(call, NULL);
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "gateway %s: cannot start Watch",
                              c->target);
    }
    gpr_timespec idle_until = idle_timeout_ms > 0 ? cl_deadline_in(idle_timeout_ms)
                                                  : gpr_inf_future(GPR_CLOCK_REALTIME);
    while (outstanding > 0) {
        if (!ended && !receiving) {
            memset(ops, 0, sizeof ops);
            ops[0].op = GRPC_OP_RECV_MESSAGE;
            ops[0].data.recv_message.recv_message = &recv;
            receiving = grpc_call_start_batch(call, ops, 1, &tag_recv, NULL) == GRPC_CALL_OK;
            outstanding += receiving;
            if (!receiving) {
                ended = true;
                grpc_call_cancel(call, NULL);
            }
        }
        grpc_event ev = cl_wait_event(cq, ended ? gpr_inf_future(GPR_CLOCK_REALTIME) : idle_until);
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            /* Idle: the caller asked to stop waiting; that is a normal end. */
            stopped = true;
            ended = true;
            grpc_call_cancel(call, NULL);
            continue;
        }
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        outstanding--;
        if (ev.tag != &tag_recv)
            continue;
        receiving = false;
        grpc_byte_buffer *bb = recv;
        recv = NULL;
        if (!ev.success || bb == NULL) {
            ended = true;
            continue;
        }
        Custos__V1__WatchEvent *m =
            (Custos__V1__WatchEvent *)cl_unpack_message(&custos__v1__watch_event__descriptor, bb);
        grpc_byte_buffer_destroy(bb);
        if (ended)
            goto drop;
        bool more = false;
        custos_error why;
        custos_error_clear(&why);
        if ((rc = watch_deliver(m, on_event, ctx, &more, &why)) != CUSTOS_OK) {
            rc = custos_error_set(err, rc, "gateway %s: Watch: %s", c->target, why.message);
        } else {
            if (more) {
                if (idle_timeout_ms > 0)
                    idle_until = cl_deadline_in(idle_timeout_ms);
                goto drop;
            }
            stopped = true;
        }
        ended = true;
        grpc_call_cancel(call, NULL);
    drop:
        if (m != NULL)
            protobuf_c_message_free_unpacked(&m->base, NULL);
    }
    if (rc == CUSTOS_OK && !stopped && status != GRPC_STATUS_OK) {
        outcome o;
        cl_outcome_fill(&o, status, details, &trailer);
        rc = cl_outcome_error(c, "Watch", &o, err);
    }
    grpc_byte_buffer_destroy(send);
    if (recv != NULL)
        grpc_byte_buffer_destroy(recv);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailer);
    grpc_call_unref(call);
    cl_cq_destroy(cq);
    return rc;
}

/* custos_client_watch's callback over watch_run's events: records alone are asked for. */
typedef struct watch_records {
    custos_watch_fn on_record;
    void *ctx;
} watch_records;

static bool watch_record_event(void *arg, const custos_watch_event *ev)
{
    const watch_records *w = arg;
    return ev->record != NULL ? w->on_record(w->ctx, ev->record) : true;
}

custos_rc custos_client_watch(custos_client *c, uint64_t after_cursor, int idle_timeout_ms,
                              custos_watch_fn on_record, void *ctx, custos_error *err)
{
    watch_records w = {on_record, ctx};
    return watch_run(c, after_cursor, idle_timeout_ms, false, watch_record_event, &w, err);
}

custos_rc custos_client_watch_log(custos_client *c, uint64_t after_cursor, int idle_timeout_ms,
                                  custos_watch_event_fn on_event, void *ctx, custos_error *err)
{
    return watch_run(c, after_cursor, idle_timeout_ms, true, on_event, ctx, err);
}
