/* The client's submissions: Submit, SubmitBatch and SubmitStream (custos/client.h). */
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

/* ---- Submit ---- */

static custos_rc encode_request(const custos_submission *s, uint64_t request_id,
                                grpc_byte_buffer **out, custos_error *err)
{
    pb_submission_view v;
    custos_rc rc = pb_submission_view_init(&v, s, err);
    if (rc == CUSTOS_OK) {
        Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
        req.attestation = &v.msg;
        req.request_id = request_id;
        *out = cl_pack_message(&req.base);
    }
    pb_submission_view_clear(&v);
    return rc;
}

/* One SubmitResponse into *res, or into err when it is a refusal: the rule of a unary
 * refusal, the status being the one the reason travels with. */
static custos_rc answer_from_response(const custos_client *c, const char *method,
                                      const Custos__V1__SubmitResponse *r,
                                      custos_submit_result *res, custos_error *err)
{
    memset(res, 0, sizeof *res);
    custos_reason reason = (custos_reason)r->reason;
    if (reason != CUSTOS_REASON_NONE)
        return cl_refusal(c, method, cl_rc(pb_reason_status(reason), reason), reason,
                              r->detail != NULL ? r->detail : "", err);
    if (r->digest.len != sizeof res->digest)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "gateway %s: %s answer: the digest has %zu bytes, not %zu",
                                c->target, method, r->digest.len, sizeof res->digest);
    if (r->state != CUSTOS__V1__STATE__PENDING && r->state != CUSTOS__V1__STATE__ACCEPTED &&
        r->state != CUSTOS__V1__STATE__HELD)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "gateway %s: %s answer: state %d is not PENDING, ACCEPTED or "
                                "HELD", c->target, method, (int)r->state);
    res->state = (custos_state)r->state;
    res->duplicate = r->duplicate;
    memcpy(res->digest, r->digest.data, sizeof res->digest);
    res->signatures = r->signatures;
    res->threshold = r->threshold;
    res->cursor = r->cursor;
    return CUSTOS_OK;
}

custos_rc custos_client_submit(custos_client *c, const custos_submission *s,
                               custos_submit_result *res, custos_error *err)
{
    memset(res, 0, sizeof *res);
    pb_submission_view v;
    custos_rc rc = pb_submission_view_init(&v, s, err);
    if (rc != CUSTOS_OK) {
        pb_submission_view_clear(&v);
        return rc;
    }
    Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
    req.attestation = &v.msg;
    ProtobufCMessage *reply = NULL;
    outcome o;
    rc = cl_unary_call(c, H_SUBMIT, &req.base, &custos__v1__submit_response__descriptor, &reply,
                       &o, err);
    pb_submission_view_clear(&v);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "Submit", &o, err);
    rc = answer_from_response(c, "Submit", (const Custos__V1__SubmitResponse *)reply, res, err);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

/* ---- SubmitBatch ---- */

custos_rc custos_client_submit_batch(custos_client *c, const char *feed, const custos_domain *d,
                                     const custos_batch *b, const custos_signature *sigs,
                                     size_t n_sigs, const custos_batch_member *accounts,
                                     size_t n, custos_submit_result *results,
                                     custos_error *errors, bool *duplicate, custos_error *err)
{
    *duplicate = false;
    memset(results, 0, n * sizeof *results);
    Custos__V1__SubmitBatchRequest *req = NULL;
    custos_rc rc = pb_batch_request_new(feed, d, b, sigs, n_sigs, accounts, n, &req, err);
    ProtobufCMessage *reply = NULL;
    outcome o;
    if (rc == CUSTOS_OK)
        rc = cl_unary_call(c, H_SUBMIT_BATCH, &req->base,
                        &custos__v1__submit_batch_response__descriptor, &reply, &o, err);
    pb_batch_request_free(req);
    if (rc == CUSTOS_OK && o.status != GRPC_STATUS_OK)
        rc = cl_outcome_error(c, "SubmitBatch", &o, err);
    const Custos__V1__SubmitBatchResponse *m = (const Custos__V1__SubmitBatchResponse *)reply;
    if (rc == CUSTOS_OK && m->n_accounts != n)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "gateway %s: SubmitBatch answer: %zu accounts answered, %zu sent",
                              c->target, m->n_accounts, n);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        custos_error_clear(&errors[i]);
        if (m->accounts[i] == NULL || m->accounts[i]->request_id != i)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "gateway %s: SubmitBatch answer: account %zu answered out of "
                                  "order", c->target, i);
        else
            (void)answer_from_response(c, "SubmitBatch", m->accounts[i], &results[i],
                                       &errors[i]);
    }
    if (rc == CUSTOS_OK)
        *duplicate = m->duplicate;
    for (size_t i = 0; rc != CUSTOS_OK && i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        if (err != NULL)
            errors[i] = *err;
        else
            custos_error_set(&errors[i], rc, "gateway %s: SubmitBatch failed", c->target);
    }
    if (reply != NULL)
        protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

/* ---- SubmitStream ---- */

/* State of one SubmitStream call: one write and one read in flight at a time, so memory
 * stays bounded by a single encoded request whatever n is. */
typedef struct stream {
    grpc_call *call;
    grpc_completion_queue *cq;
    int outstanding;
    grpc_byte_buffer *send_buf, *recv_buf;
    int tag_start, tag_send, tag_recv, tag_status;
    grpc_metadata_array initial, trailer;
    grpc_status_code status;
    grpc_slice details;
} stream;

static bool stream_batch(stream *st, const grpc_op *ops, size_t n, void *tag)
{
    if (grpc_call_start_batch(st->call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return false;
    st->outstanding++;
    return true;
}

custos_rc custos_client_submit_stream(custos_client *c, const custos_submission *subs, size_t n,
                                      custos_submit_result *results, custos_error *errors,
                                      custos_error *err)
{
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        custos_error_clear(&errors[i]);
    }
    /* The stream's own failure, copied to err and to every unanswered errors[i]. */
    custos_error call_err;
    custos_error_clear(&call_err);
    stream st;
    memset(&st, 0, sizeof st);
    st.cq = grpc_completion_queue_create_for_next(NULL);
    st.call = grpc_channel_create_registered_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
                                                  st.cq, c->handles[H_SUBMIT_STREAM],
                                                  cl_deadline_in(c->timeout_ms), NULL);
    grpc_metadata_array_init(&st.initial);
    grpc_metadata_array_init(&st.trailer);
    st.status = GRPC_STATUS_UNKNOWN;
    st.details = grpc_empty_slice();

    custos_rc rc = CUSTOS_OK;
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    cl_send_request_id(c, &ops[0]);
    ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &st.initial;
    bool started = stream_batch(&st, ops, 2, &st.tag_start);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &st.trailer;
    ops[0].data.recv_status_on_client.status = &st.status;
    ops[0].data.recv_status_on_client.status_details = &st.details;
    started = started && stream_batch(&st, ops, 1, &st.tag_status);
    if (!started) {
        grpc_call_cancel(st.call, NULL);
        rc = custos_error_set(&call_err, CUSTOS_ERR_INTERNAL,
                              "gateway %s: cannot start SubmitStream", c->target);
    }

    size_t sent = 0, answered = 0;
    bool sending = false, receiving = false, closed = false, broken = !started;
    while (st.outstanding > 0) {
        if (!broken && !sending && !closed) {
            memset(ops, 0, sizeof ops);
            void *tag = &st.tag_send;
            if (sent < n) {
                rc = encode_request(&subs[sent], sent, &st.send_buf, &call_err);
                if (rc != CUSTOS_OK) {
                    broken = true;
                    grpc_call_cancel(st.call, NULL);
                    continue;
                }
                ops[0].op = GRPC_OP_SEND_MESSAGE;
                ops[0].data.send_message.send_message = st.send_buf;
            } else {
                ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
                closed = true;
            }
            sending = stream_batch(&st, ops, 1, tag);
            if (!sending)
                broken = true;
        }
        if (!broken && !receiving && answered < n) {
            memset(ops, 0, sizeof ops);
            ops[0].op = GRPC_OP_RECV_MESSAGE;
            ops[0].data.recv_message.recv_message = &st.recv_buf;
            receiving = stream_batch(&st, ops, 1, &st.tag_recv);
            if (!receiving)
                broken = true;
        }
        grpc_event ev = cl_wait_event(st.cq, gpr_inf_future(GPR_CLOCK_REALTIME));
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        st.outstanding--;
        if (ev.tag == &st.tag_send) {
            sending = false;
            if (st.send_buf != NULL) {
                grpc_byte_buffer_destroy(st.send_buf);
                st.send_buf = NULL;
                sent++;
            }
            if (!ev.success)
                broken = true;
        } else if (ev.tag == &st.tag_recv) {
            receiving = false;
            grpc_byte_buffer *bb = st.recv_buf;
            st.recv_buf = NULL;
            if (!ev.success || bb == NULL) {
                broken = true;
            } else {
                ProtobufCMessage *m =
                    cl_unpack_message(&custos__v1__submit_response__descriptor, bb);
                grpc_byte_buffer_destroy(bb);
                if (m == NULL) {
                    broken = true;
                    grpc_call_cancel(st.call, NULL);
                    rc = custos_error_set(&call_err, CUSTOS_ERR_INVALID,
                                          "gateway %s: SubmitStream: answer %zu is not a "
                                          "SubmitResponse", c->target, answered);
                } else {
                    if (answer_from_response(c, "SubmitStream",
                                             (const Custos__V1__SubmitResponse *)m,
                                             &results[answered], &errors[answered]) ==
                        CUSTOS_OK)
                        custos_error_clear(&errors[answered]);
                    answered++;
                    protobuf_c_message_free_unpacked(m, NULL);
                }
            }
        }
    }

    if (rc == CUSTOS_OK && answered < n) {
        outcome o;
        cl_outcome_fill(&o, st.status, st.details, &st.trailer);
        if (o.status == GRPC_STATUS_OK)
            o.status = GRPC_STATUS_INTERNAL;
        custos_error why;
        rc = cl_outcome_error(c, "SubmitStream", &o, &why);
        rc = custos_error_set(&call_err, rc, "%s; %zu of %zu answered", why.message, answered,
                              n);
        call_err.reason = why.reason;
    } else if (rc == CUSTOS_OK && st.status != GRPC_STATUS_OK) {
        outcome o;
        cl_outcome_fill(&o, st.status, st.details, &st.trailer);
        rc = cl_outcome_error(c, "SubmitStream", &o, &call_err);
    }
    for (size_t i = answered; rc != CUSTOS_OK && i < n; i++)
        errors[i] = call_err;
    if (err != NULL)
        *err = call_err;
    if (st.send_buf != NULL)
        grpc_byte_buffer_destroy(st.send_buf);
    grpc_slice_unref(st.details);
    grpc_metadata_array_destroy(&st.initial);
    grpc_metadata_array_destroy(&st.trailer);
    grpc_call_unref(st.call);
    cl_cq_destroy(st.cq);
    return rc;
}
