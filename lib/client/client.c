/* Client of custos.v1.AttestationGateway over the gRPC core C API. Every call runs on
 * its own completion queue and is driven to the end before returning. This file: the
 * connection, one call's steps (client_internal.h), and the reads; submissions, Watch and
 * the admin calls have files of their own. */
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

#define DEFAULT_TIMEOUT_MS 10000

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


/* Sets op (a SEND_INITIAL_METADATA) to carry the client's x-request-id, if it has one. */
void cl_send_request_id(custos_client *c, grpc_op *op)
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

gpr_timespec cl_deadline_in(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

grpc_byte_buffer *cl_pack_message(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

ProtobufCMessage *cl_unpack_message(const ProtobufCMessageDescriptor *desc,
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

void cl_copy_slice(char *dst, size_t cap, grpc_slice s)
{
    size_t len = GRPC_SLICE_LENGTH(s);
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, GRPC_SLICE_START_PTR(s), len);
    dst[len] = '\0';
}

/* Copies status, details and the custos-reason trailer out of the call's storage. */
void cl_outcome_fill(outcome *o, grpc_status_code status, grpc_slice details,
                         const grpc_metadata_array *trailer)
{
    o->status = status;
    cl_copy_slice(o->details, sizeof o->details, details);
    o->reason = CUSTOS_REASON_NONE;
    for (size_t i = 0; i < trailer->count; i++) {
        const grpc_metadata *md = &trailer->metadata[i];
        if (grpc_slice_str_cmp(md->key, "custos-reason") == 0) {
            char name[64];
            cl_copy_slice(name, sizeof name, md->value);
            o->reason = custos_reason_from_name(name);
        }
    }
}

/* How a call that did not end with OK reaches the caller (custos/client.h): "not now"
 * (transport or a transient reason), "not there", or a refusal. */
custos_rc cl_rc(grpc_status_code status, custos_reason reason)
{
    if (status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED ||
        custos_reason_is_transient(reason))
        return CUSTOS_ERR_UNAVAILABLE;
    if (status == GRPC_STATUS_NOT_FOUND)
        return CUSTOS_ERR_NOT_FOUND;
    return CUSTOS_ERR_REFUSED;
}

/* Fills err with rc, reason and "gateway T: method: detail (reason R)". */
custos_rc cl_refusal(const custos_client *c, const char *method, custos_rc rc,
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
custos_rc cl_outcome_error(const custos_client *c, const char *method, const outcome *o,
                               custos_error *err)
{
    return cl_refusal(c, method, cl_rc(o->status, o->reason), o->reason, o->details,
                          err);
}

/* Waits for one of the call's tags; the queue only ever holds this call's batches. */
grpc_event cl_wait_event(grpc_completion_queue *cq, gpr_timespec until)
{
    return grpc_completion_queue_next(cq, until, NULL);
}

void cl_cq_destroy(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(cq);
}

/* One unary call: sends req, fills *o, and *reply with the response (NULL unless OK).
 * Returns CUSTOS_OK when the call completed, whatever its status. */
custos_rc cl_unary_call(custos_client *c, int h, const ProtobufCMessage *req,
                            const ProtobufCMessageDescriptor *reply_desc,
                            ProtobufCMessage **reply, outcome *o, custos_error *err)
{
    *reply = NULL;
    grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
    grpc_call *call = grpc_channel_create_registered_call(
        c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, c->handles[h],
        cl_deadline_in(c->timeout_ms), NULL);
    grpc_byte_buffer *send = cl_pack_message(req);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array initial, trailer;
    grpc_metadata_array_init(&initial);
    grpc_metadata_array_init(&trailer);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();

    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    cl_send_request_id(c, &ops[0]);
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
        cl_wait_event(cq, gpr_inf_future(GPR_CLOCK_REALTIME));
        cl_outcome_fill(o, status, details, &trailer);
        if (status == GRPC_STATUS_OK) {
            *reply = cl_unpack_message(reply_desc, recv);
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
    cl_cq_destroy(cq);
    return rc;
}

/* ---- reads ---- */

custos_rc custos_client_list_held_page(custos_client *c, const uint8_t *account,
                                       const uint8_t *token, size_t token_len,
                                       custos_record **out, size_t *n,
                                       uint8_t next[CUSTOS_HELD_PAGE_TOKEN_LEN],
                                       size_t *next_len, custos_error *err)
{
    *out = NULL;
    *n = 0;
    *next_len = 0;
    if (token_len != 0 && (token == NULL || token_len != CUSTOS_HELD_PAGE_TOKEN_LEN))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "ListHeld: a page token is %d bytes "
                                "from an earlier page, got %zu", CUSTOS_HELD_PAGE_TOKEN_LEN,
                                token_len);
    Custos__V1__ListHeldRequest req = CUSTOS__V1__LIST_HELD_REQUEST__INIT;
    if (account != NULL) {
        req.account.len = CUSTOS_HASH_LEN;
        req.account.data = (uint8_t *)account;
    }
    if (token_len != 0) {
        req.page_token.len = token_len;
        req.page_token.data = (uint8_t *)token;
    }
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = cl_unary_call(c, H_LIST_HELD, &req.base,
                              &custos__v1__list_held_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "ListHeld", &o, err);
    const Custos__V1__ListHeldResponse *r = (const Custos__V1__ListHeldResponse *)reply;
    if (r->next_page_token.len != 0 && r->next_page_token.len != CUSTOS_HELD_PAGE_TOKEN_LEN)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "gateway %s: ListHeld: a next page "
                              "token of %zu bytes, not %d", c->target, r->next_page_token.len,
                              CUSTOS_HELD_PAGE_TOKEN_LEN);
    custos_record *recs = r->n_records > 0 ? calloc(r->n_records, sizeof *recs) : NULL;
    if (rc == CUSTOS_OK && r->n_records > 0 && recs == NULL)
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
    if (rc == CUSTOS_OK && r->next_page_token.len != 0) {
        memcpy(next, r->next_page_token.data, CUSTOS_HELD_PAGE_TOKEN_LEN);
        *next_len = CUSTOS_HELD_PAGE_TOKEN_LEN;
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

custos_rc custos_client_list_held(custos_client *c, const uint8_t *account,
                                  custos_record **out, size_t *n, custos_error *err)
{
    *out = NULL;
    *n = 0;
    custos_record *all = NULL;
    size_t have = 0, cap = 0;
    uint8_t token[CUSTOS_HELD_PAGE_TOKEN_LEN];
    size_t token_len = 0;
    custos_rc rc = CUSTOS_OK;
    do {
        custos_record *page = NULL;
        size_t got = 0;
        rc = custos_client_list_held_page(c, account, token, token_len, &page, &got, token,
                                          &token_len, err);
        if (rc == CUSTOS_OK && have + got > CUSTOS_HELD_LIST_MAX)
            rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "gateway %s: ListHeld: more than "
                                  "%d held records; read them a page at a time",
                                  c->target, CUSTOS_HELD_LIST_MAX);
        if (rc == CUSTOS_OK && have + got > cap) {
            size_t grown_cap = cap == 0 ? got : cap * 2;
            if (grown_cap < have + got)
                grown_cap = have + got;
            custos_record *grown = realloc(all, grown_cap * sizeof *grown);
            if (grown == NULL)
                rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
            else {
                all = grown;
                cap = grown_cap;
            }
        }
        if (rc == CUSTOS_OK && got > 0) {
            memcpy(all + have, page, got * sizeof *page);
            have += got;
            free(page);
        } else {
            custos_record_list_free(page, got);
        }
    } while (rc == CUSTOS_OK && token_len != 0);
    if (rc != CUSTOS_OK) {
        custos_record_list_free(all, have);
        return rc;
    }
    *out = all;
    *n = have;
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
    custos_rc rc = cl_unary_call(c, H_GET_LATEST, &req.base,
                              &custos__v1__get_latest_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "GetLatest", &o, err);
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
    custos_rc rc = cl_unary_call(c, H_GET_PLEDGE, &req.base,
                              &custos__v1__get_pledge_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "GetPledge", &o, err);
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
    custos_rc rc = cl_unary_call(c, H_POSITION_PROOF, &req.base,
                              &custos__v1__get_position_proof_response__descriptor, &reply, &o,
                              err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "GetPositionProof", &o, err);
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
void cl_answer_error(const custos_client *c, const char *method, custos_rc rc,
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
        rc = cl_unary_call(c, H_SUBMIT_RESERVES, &req.msg.base,
                        &custos__v1__submit_reserves_response__descriptor, &reply, &o, err);
    pb_reserves_request_clear(&req);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "SubmitReserves", &o, err);
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
    custos_rc rc = cl_unary_call(c, H_GET_RESERVES, &req.base,
                              &custos__v1__get_reserves_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "GetReserves", &o, err);
    rc = pb_to_reserves_summary((const Custos__V1__GetReservesResponse *)reply, out, err);
    protobuf_c_message_free_unpacked(reply, NULL);
    cl_answer_error(c, "GetReserves", rc, err);
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
    custos_rc rc = cl_unary_call(c, H_RESERVES_PROOF, &req.base,
                              &custos__v1__get_reserves_proof_response__descriptor, &reply, &o,
                              err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "GetReservesProof", &o, err);
    rc = pb_to_reserves_inclusion((const Custos__V1__GetReservesProofResponse *)reply, out,
                                  err);
    protobuf_c_message_free_unpacked(reply, NULL);
    cl_answer_error(c, "GetReservesProof", rc, err);
    return rc;
}

custos_rc custos_client_list_signers(custos_client *c, custos_signer_info **out, size_t *n,
                                     custos_error *err)
{
    *out = NULL;
    *n = 0;
    Custos__V1__ListSignersRequest req = CUSTOS__V1__LIST_SIGNERS_REQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    outcome o;
    custos_rc rc = cl_unary_call(c, H_LIST_SIGNERS, &req.base,
                              &custos__v1__list_signers_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "ListSigners", &o, err);
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
    custos_rc rc = cl_unary_call(c, H_GET_CHAIN_HEAD, &req.base,
                              &custos__v1__get_chain_head_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "GetChainHead", &o, err);
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
    custos_rc rc = cl_unary_call(c, H_HEALTH, &req.base,
                              &grpc__health__v1__health_check_response__descriptor, &reply, &o,
                              err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "Health/Check", &o, err);
    *serving = ((const Grpc__Health__V1__HealthCheckResponse *)reply)->status ==
               GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    protobuf_c_message_free_unpacked(reply, NULL);
    return CUSTOS_OK;
}

custos_rc custos_client_submit_notice(custos_client *c, const custos_domain *d,
                                      const custos_notice *n, const custos_signature *sig,
                                      bool *duplicate, uint8_t signer[CUSTOS_ADDRESS_LEN],
                                      uint64_t *cursor, custos_error *err)
{
    *duplicate = false;
    if (cursor != NULL)
        *cursor = 0;
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
    custos_rc rc = cl_unary_call(c, H_SUBMIT_NOTICE, &req.base,
                              &custos__v1__submit_notice_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "SubmitNotice", &o, err);
    const Custos__V1__SubmitNoticeResponse *m = (const Custos__V1__SubmitNoticeResponse *)reply;
    *duplicate = m->duplicate;
    if (cursor != NULL)
        *cursor = m->cursor;
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
    custos_rc rc = cl_unary_call(c, H_LIST_NOTICES, &req.base,
                              &custos__v1__list_notices_response__descriptor, &reply, &o, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (o.status != GRPC_STATUS_OK)
        return cl_outcome_error(c, "ListNotices", &o, err);
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
    cl_answer_error(c, "ListNotices", rc, err);
    return rc;
}
