/* Client of custos.v1.AttestationGateway over the gRPC core C API. Every call runs on
 * its own completion queue and is driven to the end before returning. */
#include "custos/client.h"

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

#define DEFAULT_TIMEOUT_MS 10000

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

static const char *const method_paths[H_COUNT] = {
    [H_SUBMIT] = "/custos.v1.AttestationGateway/Submit",
    [H_SUBMIT_STREAM] = "/custos.v1.AttestationGateway/SubmitStream",
    [H_GET_LATEST] = "/custos.v1.AttestationGateway/GetLatest",
    [H_GET_PLEDGE] = "/custos.v1.AttestationGateway/GetPledge",
    [H_SUBMIT_NOTICE] = "/custos.v1.AttestationGateway/SubmitNotice",
    [H_LIST_NOTICES] = "/custos.v1.AttestationGateway/ListNotices",
    [H_SUBMIT_BATCH] = "/custos.v1.AttestationGateway/SubmitBatch",
    [H_WATCH] = "/custos.v1.AttestationGateway/Watch",
    [H_LIST_SIGNERS] = "/custos.v1.AttestationGateway/ListSigners",
    [H_GET_CHAIN_HEAD] = "/custos.v1.AttestationGateway/GetChainHead",
    [H_LIST_AUDIT] = "/custos.v1.GatewayAdmin/ListAudit",
    [H_ADD_SIGNER] = "/custos.v1.GatewayAdmin/AddSigner",
    [H_REVOKE_SIGNER] = "/custos.v1.GatewayAdmin/RevokeSigner",
    [H_REGISTER_ACCOUNT] = "/custos.v1.GatewayAdmin/RegisterAccount",
    [H_LIST_ACCOUNTS] = "/custos.v1.GatewayAdmin/ListAccounts",
    [H_ROTATE_SIGNER] = "/custos.v1.GatewayAdmin/RotateSigner",
    [H_SET_FEED_POLICY] = "/custos.v1.GatewayAdmin/SetFeedPolicy",
    [H_RELEASE_HELD] = "/custos.v1.GatewayAdmin/ReleaseHeld",
    [H_HEALTH] = "/grpc.health.v1.Health/Check",
    [H_POSITION_PROOF] = "/custos.v1.AttestationGateway/GetPositionProof",
    [H_SUBMIT_RESERVES] = "/custos.v1.AttestationGateway/SubmitReserves",
    [H_GET_RESERVES] = "/custos.v1.AttestationGateway/GetReserves",
    [H_RESERVES_PROOF] = "/custos.v1.AttestationGateway/GetReservesProof",
    [H_LIST_HELD] = "/custos.v1.AttestationGateway/ListHeld",
};

struct custos_client {
    char target[256];
    int timeout_ms;
    grpc_channel *channel;
    void *handles[H_COUNT];
    char request_id[CUSTOS_REQUEST_ID_MAX + 1]; /* "" when none is sent */
    grpc_metadata id_md;
};

/* Sets op (a SEND_INITIAL_METADATA) to carry the client's x-request-id, if it has one. */
static void send_request_id(custos_client *c, grpc_op *op)
{
    if (c->request_id[0] == '\0')
        return;
    c->id_md.key = grpc_slice_from_static_string("x-request-id");
    c->id_md.value = grpc_slice_from_static_string(c->request_id);
    op->data.send_initial_metadata.count = 1;
    op->data.send_initial_metadata.metadata = &c->id_md;
}

custos_rc custos_client_set_request_id(custos_client *c, const char *request_id,
                                       custos_error *err)
{
    if (request_id == NULL || request_id[0] == '\0') {
        c->request_id[0] = '\0';
        return CUSTOS_OK;
    }
    size_t len = strlen(request_id);
    bool ok = len <= CUSTOS_REQUEST_ID_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char ch = request_id[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == ':' || ch == '-';
    }
    if (!ok)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "request id: 1 to %d characters of [A-Za-z0-9._:-]",
                                CUSTOS_REQUEST_ID_MAX);
    memcpy(c->request_id, request_id, len + 1);
    return CUSTOS_OK;
}

/* How one call ended, copied out of the call before it is released. */
typedef struct outcome {
    grpc_status_code status;
    char details[256];
    custos_reason reason;
} outcome;

/* Channel credentials per opts; the PEM texts are wiped once gRPC has its copies. */
static custos_rc client_credentials(const custos_client_options *o,
                                    grpc_channel_credentials **out, custos_error *err)
{
    *out = NULL;
    bool has_cert = o->cert_file != NULL, has_key = o->key_file != NULL;
    if (o->insecure) {
        if (o->ca_file != NULL || has_cert || has_key)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "insecure (plaintext) excludes a CA, certificate or key file");
        *out = grpc_insecure_credentials_create();
        return CUSTOS_OK;
    }
    if (has_cert != has_key)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "a client certificate needs its key and the key its certificate "
                                "(give both, or neither)");
    char *ca = NULL, *cert = NULL, *key = NULL;
    custos_rc rc = CUSTOS_OK;
    if (o->ca_file != NULL)
        rc = custos_pem_read(o->ca_file, false, &ca, err);
    if (rc == CUSTOS_OK && has_cert)
        rc = custos_pem_read(o->cert_file, false, &cert, err);
    if (rc == CUSTOS_OK && has_key)
        rc = custos_pem_read(o->key_file, true, &key, err);
    if (rc == CUSTOS_OK) {
        grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
        *out = grpc_ssl_credentials_create(ca, has_cert ? &pair : NULL, NULL, NULL);
        if (*out == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "gRPC refused the TLS files");
    }
    custos_pem_free(ca);
    custos_pem_free(cert);
    custos_pem_free(key);
    return rc;
}

custos_rc custos_client_open(const custos_client_options *opts, custos_client **out,
                             custos_error *err)
{
    *out = NULL;
    if (opts == NULL || opts->target == NULL || opts->target[0] == '\0')
        return custos_error_set(err, CUSTOS_ERR_INVALID, "no gateway address given");
    custos_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    int n = snprintf(c->target, sizeof c->target, "%s", opts->target);
    if (n < 0 || (size_t)n >= sizeof c->target) {
        free(c);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "gateway address too long");
    }
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    grpc_init();
    grpc_channel_credentials *creds = NULL;
    custos_rc rc = client_credentials(opts, &creds, err);
    if (rc != CUSTOS_OK) {
        free(c);
        grpc_shutdown();
        return rc;
    }
    c->channel = grpc_channel_create(c->target, creds, NULL);
    grpc_channel_credentials_release(creds);
    for (int i = 0; i < H_COUNT; i++) {
        c->handles[i] = grpc_channel_register_call(c->channel, method_paths[i], NULL, NULL);
        if (c->handles[i] == NULL) {
            custos_client_free(c);
            return custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot register %s",
                                    method_paths[i]);
        }
    }
    *out = c;
    return CUSTOS_OK;
}

custos_rc custos_client_new_insecure(const char *target, int timeout_ms, custos_client **out,
                                     custos_error *err)
{
    custos_client_options o = {.target = target, .timeout_ms = timeout_ms, .insecure = true};
    return custos_client_open(&o, out, err);
}

void custos_client_free(custos_client *c)
{
    if (c == NULL)
        return;
    grpc_channel_destroy(c->channel);
    free(c);
    grpc_shutdown();
}

/* ---- helpers ---- */

static gpr_timespec deadline_in(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static grpc_byte_buffer *pack_message(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

static ProtobufCMessage *unpack_message(const ProtobufCMessageDescriptor *desc,
                                        grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader reader;
    if (bb == NULL || !grpc_byte_buffer_reader_init(&reader, bb))
        return NULL;
    grpc_slice slice = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    return m;
}

static void copy_slice(char *dst, size_t cap, grpc_slice s)
{
    size_t len = GRPC_SLICE_LENGTH(s);
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, GRPC_SLICE_START_PTR(s), len);
    dst[len] = '\0';
}

/* Copies status, details and the custos-reason trailer out of the call's storage. */
static void outcome_fill(outcome *o, grpc_status_code status, grpc_slice details,
                         const grpc_metadata_array *trailer)
{
    o->status = status;
    copy_slice(o->details, sizeof o->details, details);
    o->reason = CUSTOS_REASON_NONE;
    for (size_t i = 0; i < trailer->count; i++) {
        const grpc_metadata *md = &trailer->metadata[i];
        if (grpc_slice_str_cmp(md->key, "custos-reason") == 0) {
            char name[64];
            copy_slice(name, sizeof name, md->value);
            o->reason = custos_reason_from_name(name);
        }
    }
}

/* How a call that did not end with OK reaches the caller (custos/client.h): "not now"
 * (transport or a transient reason), "not there", or a refusal. */
static custos_rc client_rc(grpc_status_code status, custos_reason reason)
{
    if (status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED ||
        custos_reason_is_transient(reason))
        return CUSTOS_ERR_UNAVAILABLE;
    if (status == GRPC_STATUS_NOT_FOUND)
        return CUSTOS_ERR_NOT_FOUND;
    return CUSTOS_ERR_REFUSED;
}

/* Fills err with rc, reason and "gateway T: method: detail (reason R)". */
static custos_rc client_refusal(const custos_client *c, const char *method, custos_rc rc,
                                custos_reason reason, const char *detail, custos_error *err)
{
    if (detail[0] == '\0')
        detail = rc == CUSTOS_ERR_UNAVAILABLE ? "unreachable or timed out"
                 : rc == CUSTOS_ERR_NOT_FOUND ? "not found"
                                              : "refused";
    custos_rc set = reason == CUSTOS_REASON_NONE
                        ? custos_error_set(err, rc, "gateway %s: %s: %s", c->target, method,
                                           detail)
                        : custos_error_set(err, rc, "gateway %s: %s: %s (reason %s)", c->target,
                                           method, detail, custos_reason_name(reason));
    if (err != NULL)
        err->reason = reason;
    return set;
}

/* The error for a call that did not end with OK. */
static custos_rc outcome_error(const custos_client *c, const char *method, const outcome *o,
                               custos_error *err)
{
    return client_refusal(c, method, client_rc(o->status, o->reason), o->reason, o->details,
                          err);
}

/* Waits for one of the call's tags; the queue only ever holds this call's batches. */
static grpc_event wait_event(grpc_completion_queue *cq, gpr_timespec until)
{
    return grpc_completion_queue_next(cq, until, NULL);
}

static void cq_destroy(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

/* One unary call: sends req, fills *o, and *reply with the response (NULL unless OK).
 * Returns CUSTOS_OK when the call completed, whatever its status. */
static custos_rc unary_call(custos_client *c, int h, const ProtobufCMessage *req,
                            const ProtobufCMessageDescriptor *reply_desc,
                            ProtobufCMessage **reply, outcome *o, custos_error *err)
{
    *reply = NULL;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_call *call = grpc_channel_create_registered_call(
        c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, c->handles[h],
        deadline_in(c->timeout_ms), NULL);
    grpc_byte_buffer *send = pack_message(req);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array initial, trailer;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailer);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    send_request_id(c, &ops[0]);
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trailer;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;

    custos_rc rc = CUSTOS_OK;
    int tag;
    grpc_call_error e = grpc_call_start_batch(call, ops, 6, &tag, NULL);
    if (e != GRPC_CALL_OK) {
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "gateway %s: %s: %s", c->target,
                              method_paths[h], grpc_call_error_to_string(e));
    } else {
        /* RECV_STATUS_ON_CLIENT always completes, at the latest at the deadline. */
        wait_event(cq, gpr_inf_future(GPR_CLOCK_REALTIME));
        outcome_fill(o, status, details, &trailer);
        if (status == GRPC_STATUS_OK) {
            *reply = unpack_message(reply_desc, recv);
            if (*reply == NULL)
                rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                      "gateway %s: %s: the response is not a %s", c->target,
                                      method_paths[h], reply_desc->name);
        }
    }
    grpc_byte_buffer_destroy(send);
    if (recv != NULL)
        grpc_byte_buffer_destroy(recv);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailer);
    grpc_call_unref(call);
    cq_destroy(cq);
    return rc;
}

/* ---- Submit ---- */

static custos_rc encode_request(const custos_submission *s, uint64_t request_id,
                                grpc_byte_buffer **out, custos_error *err)
{
    Custos__V1__SignedAttestation *m = NULL;
    custos_rc rc = pb_from_submission(s, &m, err);
    if (rc != CUSTOS_OK)
        return rc;
    Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
    req.attestation = m;
    req.request_id = request_id;
    *out = pack_message(&req.base);
    pb_submission_free(m);
    return CUSTOS_OK;
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
        return client_refusal(c, method, client_rc(pb_reason_status(reason), reason), reason,
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
    Custos__V1__SignedAttestation *m = NULL;
    custos_rc rc = pb_from_submission(s, &m, err);
    if (rc != CUSTOS_OK)
        return rc;
    Custos__V1__SubmitRequest req = CUSTOS__V1__SUBMIT_REQUEST__INIT;
    req.attestation = m;
    ProtobufCMessage *reply = NULL;
    outcome o;
    rc = unary_call(c, H_SUBMIT, &req.base, &custos__v1__submit_response__descriptor, &reply,
                    &o, err);
    pb_submission_free(m);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "Submit", &o, err);
    rc = answer_from_response(c, "Submit", (const Custos__V1__SubmitResponse *)reply, res, err);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

/* ---- SubmitBatch ---- */

custos_rc custos_client_submit_batch(custos_client *c, const char *feed, const custos_domain *d,
                                     const custos_batch *b, const custos_signature *sigs,
                                     size_t n_sigs, const custos_submission *accounts, size_t n,
                                     custos_submit_result *results, custos_error *errors,
                                     bool *duplicate, custos_error *err)
{
    *duplicate = false;
    memset(results, 0, n * sizeof *results);
    Custos__V1__SubmitBatchRequest *req = NULL;
    custos_rc rc = pb_batch_request_new(feed, d, b, sigs, n_sigs, accounts, n, &req, err);
    ProtobufCMessage *reply = NULL;
    outcome o;
    if (rc == CUSTOS_OK)
        rc = unary_call(c, H_SUBMIT_BATCH, &req->base,
                        &custos__v1__submit_batch_response__descriptor, &reply, &o, err);
    pb_batch_request_free(req);
    if (rc == CUSTOS_OK && o.status != GRPC_STATUS_OK)
        rc = outcome_error(c, "SubmitBatch", &o, err);
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
                                                  deadline_in(c->timeout_ms), NULL);
    grpc_metadata_array_init(&st.initial);
    grpc_metadata_array_init(&st.trailer);
    st.status = GRPC_STATUS_UNKNOWN;
    st.details = grpc_empty_slice();

    custos_rc rc = CUSTOS_OK;
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    send_request_id(c, &ops[0]);
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
        grpc_event ev = wait_event(st.cq, gpr_inf_future(GPR_CLOCK_REALTIME));
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
                ProtobufCMessage *m = unpack_message(&custos__v1__submit_response__descriptor, bb);
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
        outcome_fill(&o, st.status, st.details, &st.trailer);
        if (o.status == GRPC_STATUS_OK)
            o.status = GRPC_STATUS_INTERNAL;
        custos_error why;
        rc = outcome_error(c, "SubmitStream", &o, &why);
        rc = custos_error_set(&call_err, rc, "%s; %zu of %zu answered", why.message, answered,
                              n);
        call_err.reason = why.reason;
    } else if (rc == CUSTOS_OK && st.status != GRPC_STATUS_OK) {
        outcome o;
        outcome_fill(&o, st.status, st.details, &st.trailer);
        rc = outcome_error(c, "SubmitStream", &o, &call_err);
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
    cq_destroy(st.cq);
    return rc;
}

/* ---- reads ---- */

custos_rc custos_client_list_held(custos_client *c, const uint8_t *account,
                                  custos_record **out, size_t *n, custos_error *err)
{
    *out = NULL;
    *n = 0;
    Custos__V1__ListHeldRequest req = CUSTOS__V1__LIST_HELD_REQUEST__INIT;
    if (account != NULL) {
        req.account.len = CUSTOS_HASH_LEN;
        req.account.data = (uint8_t *)account;
    }
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_LIST_HELD, &req.base,
                              &custos__v1__list_held_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "ListHeld", &o, err);
    const Custos__V1__ListHeldResponse *r = (const Custos__V1__ListHeldResponse *)reply;
    custos_record *recs = r->n_records > 0 ? calloc(r->n_records, sizeof *recs) : NULL;
    if (r->n_records > 0 && recs == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    size_t got = 0;
    for (size_t i = 0; rc == CUSTOS_OK && i < r->n_records; i++) {
        rc = r->records[i] != NULL
                 ? pb_to_record(r->records[i], &recs[i], err)
                 : custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "gateway %s: ListHeld: an empty record", c->target);
        if (rc == CUSTOS_OK)
            got++;
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    if (rc != CUSTOS_OK) {
        custos_record_list_free(recs, got);
        return rc;
    }
    *out = recs;
    *n = got;
    return CUSTOS_OK;
}

custos_rc custos_client_get_latest(custos_client *c, const uint8_t account[CUSTOS_HASH_LEN],
                                   custos_record *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    Custos__V1__GetLatestRequest req = CUSTOS__V1__GET_LATEST_REQUEST__INIT;
    req.account.len = CUSTOS_HASH_LEN;
    req.account.data = (uint8_t *)account;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_GET_LATEST, &req.base,
                              &custos__v1__get_latest_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "GetLatest", &o, err);
    const Custos__V1__GetLatestResponse *r = (const Custos__V1__GetLatestResponse *)reply;
    if (r->record == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "gateway %s: GetLatest: no record",
                              c->target);
    else
        rc = pb_to_record(r->record, out, err);
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

void custos_pledge_free(custos_pledge *p)
{
    free(p);
}

/* A pledge's address field: 20 bytes, or empty for none. */
static bool pledge_address(const ProtobufCBinaryData *b, uint8_t out[CUSTOS_ADDRESS_LEN])
{
    if (b->len == 0)
        return true;
    if (b->len != CUSTOS_ADDRESS_LEN)
        return false;
    memcpy(out, b->data, CUSTOS_ADDRESS_LEN);
    return true;
}

static bool pledge_word(const ProtobufCBinaryData *b, uint8_t out[32])
{
    if (b->len != 32)
        return false;
    memcpy(out, b->data, 32);
    return true;
}

static custos_rc pledge_from_pb(const Custos__V1__Pledge *m, custos_pledge *p)
{
    uint8_t debt[32], elsewhere[32];
    bool ok = m->account.len == CUSTOS_HASH_LEN && pledge_word(&m->morpho_market_id,
                                                               p->morpho_market_id) &&
              pledge_address(&m->beneficiary, p->beneficiary) &&
              pledge_address(&m->registry, p->registry) &&
              pledge_address(&m->receipt, p->receipt) &&
              pledge_address(&m->morpho_oracle, p->morpho_oracle) &&
              pledge_address(&m->receipt_feed, p->receipt_feed) &&
              pledge_address(&m->borrower, p->borrower) &&
              pledge_address(&m->lender, p->lender) && pledge_address(&m->agent, p->agent) &&
              pledge_word(&m->debt, debt) && pledge_word(&m->receipts_elsewhere, elsewhere);
    if (!ok)
        return CUSTOS_ERR_INVALID;
    memcpy(p->account, m->account.data, CUSTOS_HASH_LEN);
    p->ended = m->ended;
    p->consented_sequence = m->consented_sequence;
    p->release_blocked = m->release_blocked;
    custos_u256_from_be(&p->debt, debt);
    custos_u256_from_be(&p->receipts_elsewhere, elsewhere);
    p->exposure_readable = m->exposure_readable;
    return CUSTOS_OK;
}

custos_rc custos_client_get_pledge(custos_client *c, const uint8_t account[CUSTOS_HASH_LEN],
                                   const uint8_t *beneficiary, custos_pledge **out,
                                   custos_error *err)
{
    *out = NULL;
    Custos__V1__GetPledgeRequest req = CUSTOS__V1__GET_PLEDGE_REQUEST__INIT;
    req.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)account};
    if (beneficiary != NULL)
        req.beneficiary = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)beneficiary};
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_GET_PLEDGE, &req.base,
                              &custos__v1__get_pledge_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "GetPledge", &o, err);
    const Custos__V1__GetPledgeResponse *r = (const Custos__V1__GetPledgeResponse *)reply;
    custos_pledge *p = calloc(1, sizeof *p);
    if (p == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "GetPledge: out of memory");
    else if (r->pledge == NULL || pledge_from_pb(r->pledge, p) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "gateway %s: GetPledge: the pledge is missing or a field has the "
                              "wrong length",
                              c->target);
    protobuf_c_message_free_unpacked(reply, NULL);
    if (rc != CUSTOS_OK) {
        free(p);
        return rc;
    }
    *out = p;
    return CUSTOS_OK;
}

custos_rc custos_client_get_position_proof(custos_client *c, const uint8_t account[CUSTOS_HASH_LEN],
                                           const char *asset_id, custos_position_proof *out,
                                           custos_error *err)
{
    memset(out, 0, sizeof *out);
    Custos__V1__GetPositionProofRequest req = CUSTOS__V1__GET_POSITION_PROOF_REQUEST__INIT;
    req.account.len = CUSTOS_HASH_LEN;
    req.account.data = (uint8_t *)account;
    req.asset_id = (char *)asset_id;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_POSITION_PROOF, &req.base,
                              &custos__v1__get_position_proof_response__descriptor, &reply, &o,
                              err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "GetPositionProof", &o, err);
    rc = pb_to_position_proof((const Custos__V1__GetPositionProofResponse *)reply, out, err);
    protobuf_c_message_free_unpacked(reply, NULL);
    if (rc != CUSTOS_OK && err != NULL) {
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        custos_error_set(err, rc, "gateway %s: GetPositionProof answer: %s", c->target, why);
    }
    return rc;
}

/* Rewrites err as "gateway T: method answer: <why>" after a failed decoding. */
static void answer_error(const custos_client *c, const char *method, custos_rc rc,
                         custos_error *err)
{
    if (rc == CUSTOS_OK || err == NULL)
        return;
    char why[sizeof err->message];
    memcpy(why, err->message, sizeof why);
    custos_error_set(err, rc, "gateway %s: %s answer: %s", c->target, method, why);
}

custos_rc custos_client_submit_reserves(custos_client *c, const char *feed,
                                        const custos_domain *d, const custos_reserves *r,
                                        const custos_signature *sigs, size_t n_sigs,
                                        const custos_reserves_entry *es, size_t n,
                                        bool *duplicate, uint8_t signer[CUSTOS_ADDRESS_LEN],
                                        custos_error *err)
{
    *duplicate = false;
    pb_reserves_request req;
    custos_rc rc = pb_reserves_request_init(&req, feed, d, r, sigs, n_sigs, es, n, err);
    ProtobufCMessage *reply = NULL;
    outcome o;
    if (rc == CUSTOS_OK)
        rc = unary_call(c, H_SUBMIT_RESERVES, &req.msg.base,
                        &custos__v1__submit_reserves_response__descriptor, &reply, &o, err);
    pb_reserves_request_clear(&req);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "SubmitReserves", &o, err);
    const Custos__V1__SubmitReservesResponse *m = (const Custos__V1__SubmitReservesResponse *)reply;
    *duplicate = m->duplicate;
    if (signer != NULL) {
        if (m->signer.len == CUSTOS_ADDRESS_LEN)
            memcpy(signer, m->signer.data, CUSTOS_ADDRESS_LEN);
        else
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "gateway %s: SubmitReserves answer: signer is not %d bytes",
                                  c->target, CUSTOS_ADDRESS_LEN);
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

custos_rc custos_client_get_reserves(custos_client *c, const char *feed,
                                     custos_reserves_summary *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    Custos__V1__GetReservesRequest req = CUSTOS__V1__GET_RESERVES_REQUEST__INIT;
    req.feed = (char *)feed;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_GET_RESERVES, &req.base,
                              &custos__v1__get_reserves_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "GetReserves", &o, err);
    rc = pb_to_reserves_summary((const Custos__V1__GetReservesResponse *)reply, out, err);
    protobuf_c_message_free_unpacked(reply, NULL);
    answer_error(c, "GetReserves", rc, err);
    return rc;
}

custos_rc custos_client_get_reserves_proof(custos_client *c, const char *feed,
                                           const uint8_t account[CUSTOS_HASH_LEN],
                                           custos_reserves_inclusion *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    Custos__V1__GetReservesProofRequest req = CUSTOS__V1__GET_RESERVES_PROOF_REQUEST__INIT;
    req.feed = (char *)feed;
    req.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)account};
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_RESERVES_PROOF, &req.base,
                              &custos__v1__get_reserves_proof_response__descriptor, &reply, &o,
                              err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "GetReservesProof", &o, err);
    rc = pb_to_reserves_inclusion((const Custos__V1__GetReservesProofResponse *)reply, out,
                                  err);
    protobuf_c_message_free_unpacked(reply, NULL);
    answer_error(c, "GetReservesProof", rc, err);
    return rc;
}

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
    grpc_byte_buffer *send = pack_message(&req.base);
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
    send_request_id(c, &ops[0]);
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
    gpr_timespec idle_until = idle_timeout_ms > 0 ? deadline_in(idle_timeout_ms)
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
        grpc_event ev = wait_event(cq, ended ? gpr_inf_future(GPR_CLOCK_REALTIME) : idle_until);
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
            (Custos__V1__WatchEvent *)unpack_message(&custos__v1__watch_event__descriptor, bb);
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
                    idle_until = deadline_in(idle_timeout_ms);
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
        outcome_fill(&o, status, details, &trailer);
        rc = outcome_error(c, "Watch", &o, err);
    }
    grpc_byte_buffer_destroy(send);
    if (recv != NULL)
        grpc_byte_buffer_destroy(recv);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&initial);
    grpc_metadata_array_destroy(&trailer);
    grpc_call_unref(call);
    cq_destroy(cq);
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

custos_rc custos_client_list_signers(custos_client *c, custos_signer_info **out, size_t *n,
                                     custos_error *err)
{
    *out = NULL;
    *n = 0;
    Custos__V1__ListSignersRequest req = CUSTOS__V1__LIST_SIGNERS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_LIST_SIGNERS, &req.base,
                              &custos__v1__list_signers_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "ListSigners", &o, err);
    const Custos__V1__ListSignersResponse *r = (const Custos__V1__ListSignersResponse *)reply;
    custos_signer_info *v = calloc(r->n_signers ? r->n_signers : 1, sizeof *v);
    if (v == NULL) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_signers; i++) {
        const Custos__V1__Signer *s = r->signers[i];
        if (s->address.len != CUSTOS_ADDRESS_LEN ||
            (s->replaced_by.len != 0 && s->replaced_by.len != CUSTOS_ADDRESS_LEN)) {
            size_t len = s->address.len != CUSTOS_ADDRESS_LEN ? s->address.len
                                                               : s->replaced_by.len;
            const char *what = s->address.len != CUSTOS_ADDRESS_LEN ? "address" : "replaced_by";
            free(v);
            protobuf_c_message_free_unpacked(reply, NULL);
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "gateway %s: ListSigners: signer %zu has a %zu-byte %s",
                                    c->target, i, len, what);
        }
        memcpy(v[i].address, s->address.data, CUSTOS_ADDRESS_LEN);
        snprintf(v[i].feed, sizeof v[i].feed, "%s", s->feed != NULL ? s->feed : "");
        snprintf(v[i].role, sizeof v[i].role, "%s", s->role != NULL ? s->role : "");
        v[i].active = s->active;
        v[i].not_after = s->not_after;
        v[i].rotated = s->replaced_by.len == CUSTOS_ADDRESS_LEN;
        if (v[i].rotated)
            memcpy(v[i].replaced_by, s->replaced_by.data, CUSTOS_ADDRESS_LEN);
    }
    *out = v;
    *n = r->n_signers;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

void custos_signer_list_free(custos_signer_info *list, size_t n)
{
    /* Nothing inside a signer_info is allocated today; n keeps the call the same should
     * that change. */
    (void)n;
    free(list);
}

custos_rc custos_client_get_chain_head(custos_client *c, uint64_t *cursor,
                                       uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    *cursor = 0;
    memset(hash, 0, CUSTOS_HASH_LEN);
    Custos__V1__GetChainHeadRequest req = CUSTOS__V1__GET_CHAIN_HEAD_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_GET_CHAIN_HEAD, &req.base,
                              &custos__v1__get_chain_head_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "GetChainHead", &o, err);
    const Custos__V1__GetChainHeadResponse *r = (const Custos__V1__GetChainHeadResponse *)reply;
    if (r->chain_hash.len != CUSTOS_HASH_LEN) {
        size_t len = r->chain_hash.len;
        protobuf_c_message_free_unpacked(reply, NULL);
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "gateway %s: GetChainHead: chain_hash has %zu bytes, not %d",
                                c->target, len, CUSTOS_HASH_LEN);
    }
    *cursor = r->cursor;
    memcpy(hash, r->chain_hash.data, CUSTOS_HASH_LEN);
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

/* Copies one received entry; false when a field has the wrong size. */
static bool audit_from_pb(const Custos__V1__AuditEntry *m, custos_audit_entry *e)
{
    memset(e, 0, sizeof *e);
    size_t actor = m->actor != NULL ? strlen(m->actor) : 0;
    size_t action = m->action != NULL ? strlen(m->action) : 0;
    if (m->prev_hash.len != CUSTOS_AUDIT_HASH_LEN || m->hash.len != CUSTOS_AUDIT_HASH_LEN ||
        actor > CUSTOS_AUDIT_ACTOR_MAX || action > CUSTOS_AUDIT_ACTION_MAX)
        return false;
    e->payload = malloc(m->payload.len > 0 ? m->payload.len : 1);
    if (e->payload == NULL)
        return false;
    if (m->payload.len > 0)
        memcpy(e->payload, m->payload.data, m->payload.len);
    e->payload_len = m->payload.len;
    e->seq = m->seq;
    e->time = m->time;
    memcpy(e->actor, m->actor != NULL ? m->actor : "", actor);
    memcpy(e->action, m->action != NULL ? m->action : "", action);
    memcpy(e->prev_hash, m->prev_hash.data, CUSTOS_AUDIT_HASH_LEN);
    memcpy(e->hash, m->hash.data, CUSTOS_AUDIT_HASH_LEN);
    return true;
}

custos_rc custos_client_list_audit(custos_client *c, uint64_t after_seq, uint32_t limit,
                                   custos_audit_entry **out, size_t *n, custos_error *err)
{
    *out = NULL;
    *n = 0;
    Custos__V1__ListAuditRequest req = CUSTOS__V1__LIST_AUDIT_REQUEST__INIT;
    req.after_seq = after_seq;
    req.limit = limit;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_LIST_AUDIT, &req.base,
                              &custos__v1__list_audit_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "ListAudit", &o, err);
    const Custos__V1__ListAuditResponse *r = (const Custos__V1__ListAuditResponse *)reply;
    custos_audit_entry *v = calloc(r->n_entries ? r->n_entries : 1, sizeof *v);
    if (v == NULL) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_entries; i++) {
        if (!audit_from_pb(r->entries[i], &v[i])) {
            custos_audit_entry_list_free(v, i + 1);
            protobuf_c_message_free_unpacked(reply, NULL);
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "gateway %s: ListAudit: entry %zu is malformed (field "
                                    "sizes) or out of memory", c->target, i);
        }
    }
    *out = v;
    *n = r->n_entries;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

static custos_rc admin_change(custos_client *c, int handle, const char *method,
                              const ProtobufCMessage *req, uint64_t *audit_seq,
                              custos_error *err)
{
    *audit_seq = 0;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, handle, req, &custos__v1__admin_change_response__descriptor,
                              &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, method, &o, err);
    *audit_seq = ((const Custos__V1__AdminChangeResponse *)reply)->audit_seq;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

custos_rc custos_client_add_signer(custos_client *c, const uint8_t address[CUSTOS_ADDRESS_LEN],
                                   const char *feed, const char *role, uint64_t *audit_seq,
                                   custos_error *err)
{
    Custos__V1__AddSignerRequest req = CUSTOS__V1__ADD_SIGNER_REQUEST__INIT;
    req.address.data = (uint8_t *)address;
    req.address.len = CUSTOS_ADDRESS_LEN;
    req.feed = (char *)feed;
    req.role = (char *)role;
    return admin_change(c, H_ADD_SIGNER, "AddSigner", &req.base, audit_seq, err);
}

custos_rc custos_client_revoke_signer(custos_client *c,
                                      const uint8_t address[CUSTOS_ADDRESS_LEN],
                                      const char *feed, uint64_t *audit_seq,
                                      custos_error *err)
{
    Custos__V1__RevokeSignerRequest req = CUSTOS__V1__REVOKE_SIGNER_REQUEST__INIT;
    req.address.data = (uint8_t *)address;
    req.address.len = CUSTOS_ADDRESS_LEN;
    req.feed = (char *)feed;
    return admin_change(c, H_REVOKE_SIGNER, "RevokeSigner", &req.base, audit_seq, err);
}

custos_rc custos_client_rotate_signer(custos_client *c,
                                      const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                                      const uint8_t new_address[CUSTOS_ADDRESS_LEN],
                                      const char *feed, uint64_t overlap_seconds,
                                      uint64_t *audit_seq, custos_error *err)
{
    Custos__V1__RotateSignerRequest req = CUSTOS__V1__ROTATE_SIGNER_REQUEST__INIT;
    req.old_address.data = (uint8_t *)old_address;
    req.old_address.len = CUSTOS_ADDRESS_LEN;
    req.new_address.data = (uint8_t *)new_address;
    req.new_address.len = CUSTOS_ADDRESS_LEN;
    req.feed = (char *)feed;
    req.overlap_seconds = overlap_seconds;
    return admin_change(c, H_ROTATE_SIGNER, "RotateSigner", &req.base, audit_seq, err);
}

custos_rc custos_client_set_feed_policy(custos_client *c, const char *feed,
                                        const custos_feed_policy *policy, uint64_t *audit_seq,
                                        custos_error *err)
{
    Custos__V1__SetFeedPolicyRequest req = CUSTOS__V1__SET_FEED_POLICY_REQUEST__INIT;
    req.feed = (char *)feed;
    req.max_age = policy->max_age;
    req.max_skew = policy->max_skew;
    req.max_ttl = policy->max_ttl;
    req.threshold = policy->threshold;
    req.distinct_roles = policy->distinct_roles;
    return admin_change(c, H_SET_FEED_POLICY, "SetFeedPolicy", &req.base, audit_seq, err);
}

custos_rc custos_client_release_held(custos_client *c, const uint8_t digest[CUSTOS_HASH_LEN],
                                     const char *note, uint64_t *audit_seq, custos_error *err)
{
    Custos__V1__ReleaseHeldRequest req = CUSTOS__V1__RELEASE_HELD_REQUEST__INIT;
    req.digest.data = (uint8_t *)digest;
    req.digest.len = CUSTOS_HASH_LEN;
    req.note = (char *)note;
    return admin_change(c, H_RELEASE_HELD, "ReleaseHeld", &req.base, audit_seq, err);
}

custos_rc custos_client_health(custos_client *c, bool *serving, custos_error *err)
{
    return custos_client_health_service(c, "", serving, err);
}

custos_rc custos_client_health_service(custos_client *c, const char *service, bool *serving,
                                       custos_error *err)
{
    *serving = false;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = (char *)service;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_HEALTH, &req.base,
                              &grpc__health__v1__health_check_response__descriptor, &reply, &o,
                              err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "Health/Check", &o, err);
    *serving = ((const Grpc__Health__V1__HealthCheckResponse *)reply)->status ==
               GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

custos_rc custos_client_register_account(custos_client *c,
                                         const uint8_t account[CUSTOS_HASH_LEN],
                                         const char *feed, uint64_t *audit_seq,
                                         custos_error *err)
{
    Custos__V1__RegisterAccountRequest req = CUSTOS__V1__REGISTER_ACCOUNT_REQUEST__INIT;
    req.account.data = (uint8_t *)account;
    req.account.len = CUSTOS_HASH_LEN;
    req.feed = (char *)feed;
    return admin_change(c, H_REGISTER_ACCOUNT, "RegisterAccount", &req.base, audit_seq, err);
}

custos_rc custos_client_list_accounts(custos_client *c, const char *feed, uint64_t offset,
                                      uint32_t limit, custos_registered_account **out,
                                      size_t *n, uint64_t *total, custos_error *err)
{
    *out = NULL;
    *n = 0;
    *total = 0;
    Custos__V1__ListAccountsRequest req = CUSTOS__V1__LIST_ACCOUNTS_REQUEST__INIT;
    req.feed = (char *)(feed != NULL ? feed : "");
    req.offset = offset;
    req.limit = limit;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_LIST_ACCOUNTS, &req.base,
                              &custos__v1__list_accounts_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "ListAccounts", &o, err);
    const Custos__V1__ListAccountsResponse *r = (const Custos__V1__ListAccountsResponse *)reply;
    custos_registered_account *v = calloc(r->n_accounts ? r->n_accounts : 1, sizeof *v);
    if (v == NULL) {
        protobuf_c_message_free_unpacked(reply, NULL);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_accounts; i++) {
        const Custos__V1__RegisteredAccount *a = r->accounts[i];
        const char *name = a->feed != NULL ? a->feed : "";
        if (a->account.len != CUSTOS_HASH_LEN || name[0] == '\0' ||
            strlen(name) > CUSTOS_FEED_MAX) {
            free(v);
            protobuf_c_message_free_unpacked(reply, NULL);
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "gateway %s: ListAccounts: entry %zu is malformed (an "
                                    "account of 32 bytes and a feed name expected)",
                                    c->target, i);
        }
        memcpy(v[i].account, a->account.data, CUSTOS_HASH_LEN);
        snprintf(v[i].feed, sizeof v[i].feed, "%s", name);
    }
    *out = v;
    *n = r->n_accounts;
    *total = r->total;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

custos_rc custos_client_submit_notice(custos_client *c, const custos_domain *d,
                                      const custos_notice *n, const custos_signature *sig,
                                      bool *duplicate, uint8_t signer[CUSTOS_ADDRESS_LEN],
                                      custos_error *err)
{
    *duplicate = false;
    uint8_t exposure[CUSTOS_U256_LEN], collateral[CUSTOS_U256_LEN];
    custos_u256_to_be(&n->exposure, exposure);
    custos_u256_to_be(&n->collateral_value, collateral);
    Custos__V1__Domain dom = CUSTOS__V1__DOMAIN__INIT;
    dom.chain_id = d->chain_id;
    dom.verifying_contract = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN,
                                                   (uint8_t *)d->verifying_contract};
    Custos__V1__CollateralNotice msg = CUSTOS__V1__COLLATERAL_NOTICE__INIT;
    msg.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)n->account};
    msg.lender = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)n->lender};
    msg.state = n->state;
    msg.ltv_bps = n->ltv_bps;
    msg.exposure = (ProtobufCBinaryData){sizeof exposure, exposure};
    msg.collateral_value = (ProtobufCBinaryData){sizeof collateral, collateral};
    msg.deadline = n->deadline;
    msg.sequence = n->sequence;
    Custos__V1__SubmitNoticeRequest req = CUSTOS__V1__SUBMIT_NOTICE_REQUEST__INIT;
    req.domain = &dom;
    req.notice = &msg;
    req.signature = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, (uint8_t *)sig->bytes};
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_SUBMIT_NOTICE, &req.base,
                              &custos__v1__submit_notice_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "SubmitNotice", &o, err);
    const Custos__V1__SubmitNoticeResponse *m = (const Custos__V1__SubmitNoticeResponse *)reply;
    *duplicate = m->duplicate;
    if (signer != NULL) {
        if (m->signer.len == CUSTOS_ADDRESS_LEN)
            memcpy(signer, m->signer.data, CUSTOS_ADDRESS_LEN);
        else
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "gateway %s: SubmitNotice answer: signer is not %d bytes",
                                  c->target, CUSTOS_ADDRESS_LEN);
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    return rc;
}

custos_rc custos_client_list_notices(custos_client *c, const uint8_t account[CUSTOS_HASH_LEN],
                                     uint32_t limit, custos_domain *domain,
                                     custos_stored_notice **out, size_t *n, custos_error *err)
{
    *out = NULL;
    *n = 0;
    memset(domain, 0, sizeof *domain);
    Custos__V1__ListNoticesRequest req = CUSTOS__V1__LIST_NOTICES_REQUEST__INIT;
    req.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)account};
    req.limit = limit;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = unary_call(c, H_LIST_NOTICES, &req.base,
                              &custos__v1__list_notices_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return outcome_error(c, "ListNotices", &o, err);
    const Custos__V1__ListNoticesResponse *m = (const Custos__V1__ListNoticesResponse *)reply;
    if (m->domain == NULL || m->domain->verifying_contract.len != CUSTOS_ADDRESS_LEN)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "no domain of 20 bytes");
    custos_stored_notice *list = NULL;
    if (rc == CUSTOS_OK && m->n_notices > 0) {
        list = calloc(m->n_notices, sizeof *list);
        if (list == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < m->n_notices; i++)
        rc = pb_to_stored_notice(m->notices[i], &list[i], err);
    if (rc == CUSTOS_OK) {
        domain->chain_id = m->domain->chain_id;
        memcpy(domain->verifying_contract, m->domain->verifying_contract.data,
               CUSTOS_ADDRESS_LEN);
        *out = list;
        *n = m->n_notices;
    } else {
        free(list);
    }
    protobuf_c_message_free_unpacked(reply, NULL);
    answer_error(c, "ListNotices", rc, err);
    return rc;
}

