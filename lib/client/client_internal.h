/* What the client's files share (client.c, client_submit.c, client_watch.c,
 * client_admin.c): the connection, its method handles, and the steps of one call.
 * Internal to lib/client. */
#ifndef CUSTOS_CLIENT_INTERNAL_H
#define CUSTOS_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "custos/client.h"

enum {
    H_SUBMIT,
    H_SUBMIT_STREAM,
    H_GET_LATEST,
    H_WATCH,
    H_LIST_SIGNERS,
    H_GET_CHAIN_HEAD,
    H_LIST_AUDIT,
    H_ADD_SIGNER,
    H_REVOKE_SIGNER,
    H_REGISTER_ACCOUNT,
    H_LIST_ACCOUNTS,
    H_ROTATE_SIGNER,
    H_SET_FEED_POLICY,
    H_RELEASE_HELD,
    H_HEALTH,
    H_POSITION_PROOF,
    H_SUBMIT_RESERVES,
    H_GET_RESERVES,
    H_RESERVES_PROOF,
    H_LIST_HELD,
    H_GET_PLEDGE,
    H_SUBMIT_NOTICE,
    H_LIST_NOTICES,
    H_SUBMIT_BATCH,
    H_COUNT
};

struct custos_client {
    char target[256];
    int timeout_ms;
    grpc_channel *channel;
    void *handles[H_COUNT];
    char request_id[CUSTOS_REQUEST_ID_MAX + 1]; /* "" when none is sent */
    grpc_metadata id_md;
};

/* How one call ended, copied out of the call before it is released. */
typedef struct outcome {
    grpc_status_code status;
    char details[256];
    custos_reason reason;
} outcome;

/* Sets op (a SEND_INITIAL_METADATA) to carry the client's x-request-id, if it has one. */
void cl_send_request_id(custos_client *c, grpc_op *op);
gpr_timespec cl_deadline_in(int ms);
grpc_byte_buffer *cl_pack_message(const ProtobufCMessage *m);
ProtobufCMessage *cl_unpack_message(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb);
void cl_copy_slice(char *dst, size_t cap, grpc_slice s);
/* Copies status, details and the custos-reason trailer out of the call's storage. */
void cl_outcome_fill(outcome *o, grpc_status_code status, grpc_slice details,
                     const grpc_metadata_array *trailer);
/* How a call that did not end with OK reaches the caller (custos/client.h): "not now"
 * (transport or a transient reason), "not there", or a refusal. */
custos_rc cl_rc(grpc_status_code status, custos_reason reason);
/* Fills err with rc, reason and "gateway T: method: detail (reason R)". */
custos_rc cl_refusal(const custos_client *c, const char *method, custos_rc rc, custos_reason reason,
                     const char *detail, custos_error *err);
/* The error for a call that did not end with OK. */
custos_rc cl_outcome_error(const custos_client *c, const char *method, const outcome *o,
                           custos_error *err);
/* Waits for one of the call's tags; the queue only ever holds this call's batches. */
grpc_event cl_wait_event(grpc_completion_queue *cq, gpr_timespec until);
void cl_cq_destroy(grpc_completion_queue *cq);
/* One unary call: sends req, fills *o, and *reply with the response (NULL unless OK).
 * Returns CUSTOS_OK when the call completed, whatever its status. */
custos_rc cl_unary_call(custos_client *c, int h, const ProtobufCMessage *req,
                        const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                        outcome *o, custos_error *err);
/* Rewrites err as "gateway T: method answer: <why>" after a failed decoding. */
void cl_answer_error(const custos_client *c, const char *method, custos_rc rc, custos_error *err);

#endif
