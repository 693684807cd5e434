/* gRPC transport of custos-gateway.
 *
 * Threads: `workers` threads each block on their own completion queue and keep one
 * request posted per method on it, so a call lives on the worker whose queue matched it.
 * Engine callbacks arrive from the committer thread and the Watch waker thread runs
 * wake-ups after commits; both touch a call only under its mutex, which also serialises
 * every grpc_call_start_batch on that call.
 *
 * Lifetime: a call is reference counted. The posted request holds one reference (handed
 * to the handler once a client arrives); every started batch, every pending engine
 * submission and membership of the stream list hold one more. The last unref frees it.
 *
 * Abuse limits (limiter.c): every submission takes a token from its client's bucket, and
 * every stream holds one of its client's stream places from admission until it leaves
 * the stream list, whichever way it ends. */
#include "server.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/status.h>
#include <grpc/support/time.h>

#include "custos/hex.h"
#include "custos/v1/admin.pb-c.h"
#include "custos/merkle.h"
#include "custos/v1/gateway.pb-c.h"

#include "health.h"
#include "limiter.h"
#include "metrics.h"
#include "log.h"
#include "monotonic.h"
#include "pb_convert.h"
#include "pb_status.h"
#include "reserves.h"
#include "reserves_trees.h"
#include "tls.h"

/* gRPC itself rejects anything above max_message_bytes + this, without our reason code;
 * the slack lets us answer a slightly oversized message with TOO_LARGE ourselves. */
#define MESSAGE_MARGIN (64u * 1024u)
/* SubmitStream requests read but not yet answered, per call. Large enough that the next
 * commit group is read and verified while the previous one is being made durable: with a
 * window no larger than a group, verification and fsync take turns instead of overlapping. */
#define STREAM_WINDOW 2048
/* Records fetched from the engine per Watch refill. */
#define WATCH_BATCH 32
/* A TLS handshake or HTTP/2 preface that has not completed by then is dropped, so that
 * connections which never speak gRPC do not accumulate (gRPC's default is 120 s). */
#define HANDSHAKE_TIMEOUT_MS 10000
/* How often the waker looks for SubmitStreams idle beyond [limits] stream_idle_seconds. */
#define IDLE_SWEEP_MS 1000

typedef enum method {
    M_SUBMIT,
    M_SUBMIT_STREAM,
    M_GET_LATEST,
    M_WATCH,
    M_LIST_SIGNERS,
    M_GET_CHAIN_HEAD,
    M_LIST_AUDIT,
    M_ADD_SIGNER,
    M_REVOKE_SIGNER,
    M_ROTATE_SIGNER,
    M_SET_FEED_POLICY,
    M_RELEASE_HELD,
    M_HEALTH_CHECK,
    M_HEALTH_WATCH,
    M_POSITION_PROOF,
    M_SUBMIT_RESERVES,
    M_GET_RESERVES,
    M_RESERVES_PROOF,
    M_LIST_HELD,
    M_REGISTERED, /* count of the registered methods above */
    M_UNKNOWN = M_REGISTERED,
    M_COUNT
} method;

static const struct {
    const char *path;
    grpc_server_register_method_payload_handling payload;
} method_table[M_REGISTERED] = {
    [M_SUBMIT] = {"/custos.v1.AttestationGateway/Submit",
                  GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_SUBMIT_STREAM] = {"/custos.v1.AttestationGateway/SubmitStream", GRPC_SRM_PAYLOAD_NONE},
    [M_GET_LATEST] = {"/custos.v1.AttestationGateway/GetLatest",
                      GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_WATCH] = {"/custos.v1.AttestationGateway/Watch", GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_LIST_SIGNERS] = {"/custos.v1.AttestationGateway/ListSigners",
                        GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_GET_CHAIN_HEAD] = {"/custos.v1.AttestationGateway/GetChainHead",
                          GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_LIST_AUDIT] = {"/custos.v1.GatewayAdmin/ListAudit",
                      GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_ADD_SIGNER] = {"/custos.v1.GatewayAdmin/AddSigner",
                      GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_REVOKE_SIGNER] = {"/custos.v1.GatewayAdmin/RevokeSigner",
                         GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_ROTATE_SIGNER] = {"/custos.v1.GatewayAdmin/RotateSigner",
                         GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_SET_FEED_POLICY] = {"/custos.v1.GatewayAdmin/SetFeedPolicy",
                           GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_RELEASE_HELD] = {"/custos.v1.GatewayAdmin/ReleaseHeld",
                        GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_HEALTH_CHECK] = {"/grpc.health.v1.Health/Check", GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_HEALTH_WATCH] = {"/grpc.health.v1.Health/Watch", GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_POSITION_PROOF] = {"/custos.v1.AttestationGateway/GetPositionProof",
                          GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_SUBMIT_RESERVES] = {"/custos.v1.AttestationGateway/SubmitReserves",
                           GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_GET_RESERVES] = {"/custos.v1.AttestationGateway/GetReserves",
                        GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_RESERVES_PROOF] = {"/custos.v1.AttestationGateway/GetReservesProof",
                          GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
    [M_LIST_HELD] = {"/custos.v1.AttestationGateway/ListHeld",
                     GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER},
};

typedef enum call_state {
    CALL_REQUESTED, /* posted, waiting for a client */
    CALL_ACTIVE,    /* serving */
    CALL_ENDING,    /* the server wants to end it: status goes out once nothing is pending */
    CALL_FINISHED,  /* status batch started: no more batches */
    CALL_CLOSED     /* the call is over (done or cancelled): no more batches */
} call_state;

typedef enum op_kind { OP_REQUEST, OP_RECV, OP_SEND, OP_CLOSE, OP_FINISH } op_kind;

typedef struct call call;

/* Completion tag: which batch of which call completed. */
typedef struct call_op {
    call *c;
    op_kind kind;
} call_op;

/* One SubmitStream request awaiting its answer. */
typedef struct slot {
    call *c;
    uint64_t request_id;
    bool done;
    grpc_byte_buffer *reply;
} slot;

typedef struct worker {
    gw_server *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool started;
} worker;

struct call {
    gw_server *srv;
    worker *w;
    method m;
    call_state state;
    atomic_int refs;
    pthread_mutex_t mu;
    call_op req_op, recv_op, send_op, close_op, finish_op;

    grpc_call *gc;
    gpr_timespec deadline;
    grpc_metadata_array req_md;
    grpc_call_details details;  /* unknown methods only */
    grpc_byte_buffer *payload;  /* the request of unary and server-streaming methods */

    grpc_metadata trailer;      /* custos-reason of a refusal */
    char request_id[GW_REQUEST_ID_MAX + 1]; /* the client's x-request-id, or one made here */
    grpc_metadata id_md;        /* x-request-id, sent back in the initial metadata */
    grpc_byte_buffer *final_reply;
    int cancelled;
    bool sent_initial;
    grpc_status_code end_status;
    const char *end_detail;

    /* streaming */
    grpc_byte_buffer *recv_buf;
    grpc_byte_buffer *send_buf;
    bool recv_busy, send_busy, half_closed;

    slot *slots;                /* SubmitStream: STREAM_WINDOW entries, by sequence */
    uint64_t head, tail;        /* next to answer, next to assign */

    uint64_t cursor;            /* Watch: last record queued */
    bool parked;                /* Watch: caught up, waiting for a commit */
    grpc_byte_buffer *outq[WATCH_BATCH];
    size_t outq_i, outq_n;

    call *prev, *next;          /* the server's list of long-lived streams */
    bool listed;

    char client[GW_LIMITER_NAME_MAX + 1]; /* who the limits count it under */
    bool holds_stream;          /* counted in the limiter's open streams */
    uint64_t last_recv_ns;      /* SubmitStream: when the last message (or the call) came */
};

struct gw_server {
    const gw_config *cfg;
    gw_engine *engine;
    gw_admin *admin;
    gw_limiter *limiter;
    gw_reserves_trees *reserves_trees; /* GetReservesProof's trees, one per feed */
    grpc_server *server;
    void *handles[M_REGISTERED];
    worker *workers;
    size_t n_workers;
    grpc_completion_queue *shutdown_cq; /* only the shutdown notification lands here */
    int port;
    atomic_bool stopping;
    bool shut;

    pthread_mutex_t mu;          /* live calls */
    pthread_cond_t idle;
    size_t live;

    pthread_mutex_t wmu;         /* streams list, commit generation, waker */
    pthread_cond_t wake;
    uint64_t gen;
    call *streams;
    size_t n_streams;
    bool waker_stop;
    bool waker_started;
    pthread_t waker;
};

static void call_ref(call *c)
{
    atomic_fetch_add(&c->refs, 1);
}

static void call_destroy(call *c)
{
    gw_server *srv = c->srv;
    if (c->gc != NULL)
        grpc_call_unref(c->gc);
    grpc_metadata_array_destroy(&c->req_md);
    if (c->m == M_UNKNOWN)
        grpc_call_details_destroy(&c->details);
    grpc_byte_buffer *bufs[] = {c->payload, c->final_reply, c->recv_buf, c->send_buf};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i] != NULL)
            grpc_byte_buffer_destroy(bufs[i]);
    for (size_t i = c->outq_i; i < c->outq_n; i++)
        grpc_byte_buffer_destroy(c->outq[i]);
    if (c->slots != NULL) {
        for (size_t i = 0; i < STREAM_WINDOW; i++)
            if (c->slots[i].reply != NULL)
                grpc_byte_buffer_destroy(c->slots[i].reply);
        free(c->slots);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);

    pthread_mutex_lock(&srv->mu);
    if (--srv->live == 0)
        pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
}

/* Never call with c->mu held: the last reference frees the mutex. */
static void call_unref(call *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        call_destroy(c);
}

/* Starts a batch; the batch holds a reference until its completion. The caller holds a
 * reference too, so a failed start never drops the last one. */
static bool call_batch(call *c, const grpc_op *ops, size_t n, call_op *tag)
{
    call_ref(c);
    grpc_call_error e = grpc_call_start_batch(c->gc, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        atomic_fetch_sub(&c->refs, 1);
        gw_log_req(GW_LOG_ERROR, "grpc_batch", c->request_id, "%s: cannot start a batch: %s",
                   c->m == M_UNKNOWN ? "unknown method" : method_table[c->m].path,
                   grpc_call_error_to_string(e));
        return false;
    }
    return true;
}

/* ---- byte buffers ---- */

static grpc_byte_buffer *pack_message(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    grpc_slice slice = grpc_slice_malloc(len);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(slice));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

/* Flattens a received message (decompressing if needed). false if it cannot be read. */
static bool read_message(grpc_byte_buffer *bb, grpc_slice *out)
{
    grpc_byte_buffer_reader reader;
    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return false;
    *out = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    return true;
}

/* ---- request ids ---- */

/* The client's x-request-id when well-formed, else a new one. */
static void take_request_id(call *c)
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
static void set_initial_metadata(call *c, grpc_op *op)
{
    c->id_md.key = grpc_slice_from_static_string("x-request-id");
    c->id_md.value = grpc_slice_from_static_buffer(c->request_id, strlen(c->request_id));
    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op->data.send_initial_metadata.count = 1;
    op->data.send_initial_metadata.metadata = &c->id_md;
}

/* ---- finishing calls ---- */

/* The one batch of a unary call: metadata, the reply (none on error), the status with
 * the refusal reason as trailing metadata, and the close. Takes ownership of reply. */
static void unary_finish(call *c, grpc_status_code status, const char *detail,
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
        c->trailer.key = grpc_slice_from_static_string("custos-reason");
        c->trailer.value = grpc_slice_from_static_string(custos_reason_name(reason));
        ops[n].data.send_status_from_server.trailing_metadata = &c->trailer;
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
    }
    n++;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;

    pthread_mutex_lock(&c->mu);
    c->final_reply = reply;
    c->state = CALL_FINISHED;
    call_batch(c, ops, n, &c->finish_op);
    pthread_mutex_unlock(&c->mu);
    grpc_slice_unref(details);
}

/* Locked. Ends a stream with c->end_status (its RECV_CLOSE is already posted). */
static void stream_end(call *c)
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
    call_batch(c, ops, n, &c->finish_op);
    grpc_slice_unref(details);
}

/* Locked. Starts the one SEND_MESSAGE a stream may have in flight; takes bb. */
static void stream_send(call *c, grpc_byte_buffer *bb)
{
    grpc_op ops[2];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    if (!c->sent_initial)
        set_initial_metadata(c, &ops[n++]);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = bb;
    c->send_buf = bb;
    if (call_batch(c, ops, n, &c->send_op)) {
        c->sent_initial = true;
        c->send_busy = true;
        return;
    }
    c->send_buf = NULL;
    grpc_byte_buffer_destroy(bb);
    c->end_status = GRPC_STATUS_INTERNAL;
    c->end_detail = "cannot write to the stream";
    stream_end(c);
}

/* ---- the stream list (Watch, Health/Watch, SubmitStream) ---- */

static void unlist(call *c)
{
    gw_server *srv = c->srv;
    bool was = false;
    pthread_mutex_lock(&srv->wmu);
    if (c->listed) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            srv->streams = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        c->listed = false;
        srv->n_streams--;
        was = true;
    }
    pthread_mutex_unlock(&srv->wmu);
    if (was && c->holds_stream) {
        c->holds_stream = false;
        gw_limiter_stream_close(srv->limiter, c->client);
    }
    if (was)
        call_unref(c);
}

/* Counts the stream against its client's [limits] max_streams_per_client; when it is one
 * too many, ends it at once with TOO_MANY_STREAMS and returns false. A stream admitted here
 * gives its place back when it leaves the stream list (unlist), on every path. */
static bool stream_admit(call *c)
{
    gw_server *srv = c->srv;
    gw_tls_client_name(srv->cfg, c->gc, c->client, sizeof c->client);
    if (gw_limiter_stream_open(srv->limiter, c->client, gw_mono_ns())) {
        c->holds_stream = true;
        return true;
    }
    char detail[192];
    uint32_t open = gw_limiter_streams(srv->limiter, c->client);
    if (open < srv->cfg->limits.max_streams_per_client)
        snprintf(detail, sizeof detail, "[limits] max_clients (%u) clients are active at "
                 "once: retry later", (unsigned)srv->cfg->limits.max_clients);
    else
        snprintf(detail, sizeof detail, "client '%s' already has %u open streams, the most "
                 "[limits] max_streams_per_client allows: close one first", c->client,
                 (unsigned)open);
    if (c->m == M_SUBMIT_STREAM)
        gw_metrics_count_refusal(CUSTOS_REASON_TOO_MANY_STREAMS);
    unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, detail, CUSTOS_REASON_TOO_MANY_STREAMS,
                 NULL);
    return false;
}

/* Takes a token from the caller's bucket; false with detail filled when it has none. */
static bool submit_admit(call *c, char *detail, size_t cap)
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

/* Lists the call (so shutdown and the waker find it) and posts its RECV_CLOSE, which
 * completes when the call is over, cancelled or not. */
static bool stream_begin(call *c)
{
    gw_server *srv = c->srv;
    call_ref(c);
    pthread_mutex_lock(&srv->wmu);
    c->listed = true;
    c->prev = NULL;
    c->next = srv->streams;
    if (srv->streams != NULL)
        srv->streams->prev = c;
    srv->streams = c;
    srv->n_streams++;
    /* Shutdown sets stopping under wmu before it walks the list: a stream that missed
     * the walk sees the flag here. */
    if (atomic_load(&srv->stopping)) {
        c->state = CALL_ENDING;
        c->end_status = GRPC_STATUS_UNAVAILABLE;
        c->end_detail = "the gateway is shutting down";
    }
    pthread_mutex_unlock(&srv->wmu);

    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    pthread_mutex_lock(&c->mu);
    bool ok = call_batch(c, &op, 1, &c->close_op);
    if (!ok)
        c->state = CALL_CLOSED;
    pthread_mutex_unlock(&c->mu);
    if (!ok)
        unlist(c);
    return ok;
}

static void on_close(call *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->cancelled && c->state != CALL_FINISHED)
        gw_log_req(GW_LOG_DEBUG, "stream_cancelled", c->request_id,
                   "%s: the client went away", method_table[c->m].path);
    c->state = CALL_CLOSED;
    pthread_mutex_unlock(&c->mu);
    unlist(c);
}

/* ---- Submit and SubmitStream ---- */

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
    if (!read_message(bb, &slice)) {
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
    Custos__V1__SubmitRequest *req =
        custos__v1__submit_request__unpack(NULL, len, GRPC_SLICE_START_PTR(slice));
    grpc_slice_unref(slice);
    if (req == NULL) {
        snprintf(detail, cap, "the message is not a custos.v1.SubmitRequest");
        return false;
    }
    *request_id = req->request_id;
    bool ok = false;
    if (req->attestation == NULL) {
        snprintf(detail, cap, "SubmitRequest.attestation is missing");
    } else {
        custos_error err;
        custos_error_clear(&err);
        custos_rc rc = pb_to_submission(req->attestation, sub, &err);
        if (rc == CUSTOS_OK)
            ok = true;
        else {
            if (rc == CUSTOS_ERR_TOO_LARGE)
                *reason = CUSTOS_REASON_TOO_LARGE;
            snprintf(detail, cap, "%s", err.message);
        }
    }
    custos__v1__submit_request__free_unpacked(req, NULL);
    return ok;
}

/* The request_id of a SubmitRequest that is refused before it is checked, so that the
 * client can match the refusal; 0 when the message cannot be read. */
static uint64_t peek_request_id(gw_server *srv, grpc_byte_buffer *bb)
{
    grpc_slice slice;
    if (!read_message(bb, &slice))
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
    return pack_message(&r.base);
}

static void unary_submit_done(void *ctx, const gw_submit_outcome *o)
{
    call *c = ctx;
    if (o->reason != CUSTOS_REASON_NONE)
        unary_finish(c, pb_reason_status(o->reason), o->detail, o->reason, NULL);
    else
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, pack_submit_response(0, o));
    call_unref(c);
}

static void handle_submit(call *c)
{
    custos_submission sub;
    memset(&sub, 0, sizeof sub);
    uint64_t request_id;
    custos_reason reason;
    char detail[256];
    /* The limit comes before decoding: a flood costs the gateway as little as possible. */
    bool ok = submit_admit(c, detail, sizeof detail);
    if (!ok)
        reason = CUSTOS_REASON_RATE_LIMITED;
    else
        ok = decode_submit(c->srv, c->payload, &sub, &request_id, &reason, detail,
                           sizeof detail);
    if (ok && !gw_tls_may_submit(c->srv->cfg, c->gc, sub.feed, detail, sizeof detail)) {
        custos_submission_clear(&sub);
        reason = CUSTOS_REASON_UNAUTHORIZED_CLIENT;
        ok = false;
    }
    if (!ok) {
        gw_metrics_count_refusal(reason); /* the engine counts what reaches it */
        gw_log_req(GW_LOG_DEBUG, "refused", c->request_id, "reason=%s detail=%s",
                   custos_reason_name(reason), detail);
        unary_finish(c, pb_reason_status(reason), detail, reason, NULL);
        return;
    }
    call_ref(c);
    gw_engine_submit_one(c->srv->engine, &sub, c->request_id, unary_submit_done, c);
}

/* Locked. Keeps a read posted while under the window, writes finished answers in request
 * order, and ends the stream once everything read has been answered. */
static void stream_pump(call *c)
{
    if (c->state != CALL_ACTIVE && c->state != CALL_ENDING)
        return;
    if (c->state == CALL_ACTIVE && !c->recv_busy && !c->half_closed &&
        c->tail - c->head < STREAM_WINDOW) {
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &c->recv_buf;
        if (call_batch(c, &op, 1, &c->recv_op)) {
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
        slot *s = &c->slots[c->head % STREAM_WINDOW];
        if (!s->done)
            return;
        grpc_byte_buffer *bb = s->reply;
        s->reply = NULL;
        s->done = false;
        c->head++;
        stream_send(c, bb);
        return;
    }
    if (c->half_closed || c->state == CALL_ENDING)
        stream_end(c);
}

static void stream_submit_done(void *ctx, const gw_submit_outcome *o)
{
    slot *s = ctx;
    call *c = s->c;
    grpc_byte_buffer *bb = pack_submit_response(s->request_id, o);
    pthread_mutex_lock(&c->mu);
    if (c->state == CALL_ACTIVE || c->state == CALL_ENDING) {
        s->reply = bb;
        s->done = true;
        stream_pump(c);
    } else {
        grpc_byte_buffer_destroy(bb);
    }
    pthread_mutex_unlock(&c->mu);
    call_unref(c);
}

static void stream_on_recv(call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    c->recv_busy = false;
    grpc_byte_buffer *bb = c->recv_buf;
    c->recv_buf = NULL;
    bool live = c->state == CALL_ACTIVE || c->state == CALL_ENDING;
    if (!live || !ok || bb == NULL) {
        /* End of the client's half (or of the call). */
        c->half_closed = true;
        stream_pump(c);
        pthread_mutex_unlock(&c->mu);
        if (bb != NULL)
            grpc_byte_buffer_destroy(bb);
        return;
    }
    c->last_recv_ns = gw_mono_ns();
    pthread_mutex_unlock(&c->mu);

    custos_submission sub;
    memset(&sub, 0, sizeof sub);
    uint64_t request_id;
    gw_submit_outcome refusal;
    memset(&refusal, 0, sizeof refusal);
    bool decoded;
    if (submit_admit(c, refusal.detail, sizeof refusal.detail)) {
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
        gw_log_req(GW_LOG_DEBUG, "refused", c->request_id, "reason=%s detail=%s",
                   custos_reason_name(refusal.reason), refusal.detail);
    }

    /* Answers are written in the order requests are read: reserve this one's place, and
     * read the next before this one is verified and committed. */
    pthread_mutex_lock(&c->mu);
    slot *s = &c->slots[c->tail % STREAM_WINDOW];
    c->tail++;
    s->c = c;
    s->request_id = request_id;
    s->done = false;
    stream_pump(c);
    pthread_mutex_unlock(&c->mu);

    call_ref(c);
    if (decoded)
        gw_engine_submit(c->srv->engine, &sub, c->request_id, stream_submit_done, s);
    else
        stream_submit_done(s, &refusal);
}

static void stream_on_sent(call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    c->send_busy = false;
    if (c->send_buf != NULL)
        grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
    if (!ok) {
        c->end_status = GRPC_STATUS_UNAVAILABLE;
        c->end_detail = "write failed";
        stream_end(c);
    } else {
        stream_pump(c);
    }
    pthread_mutex_unlock(&c->mu);
}

static void handle_submit_stream(call *c)
{
    if (!stream_admit(c))
        return;
    c->last_recv_ns = gw_mono_ns();
    c->slots = calloc(STREAM_WINDOW, sizeof *c->slots);
    if (c->slots == NULL) {
        c->holds_stream = false;
        gw_limiter_stream_close(c->srv->limiter, c->client);
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                     NULL);
        return;
    }
    if (!stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    stream_pump(c);
    pthread_mutex_unlock(&c->mu);
}

/* ---- GetLatest, ListSigners, Health/Check, unknown methods ---- */

/* Unpacks the request of a unary method, or answers INVALID_ARGUMENT and returns NULL. */
static void *unpack_request(call *c, const ProtobufCMessageDescriptor *desc)
{
    grpc_slice slice;
    void *m = NULL;
    if (c->payload != NULL && read_message(c->payload, &slice)) {
        size_t len = GRPC_SLICE_LENGTH(slice);
        if (len <= c->srv->cfg->max_message_bytes)
            m = protobuf_c_message_unpack(desc, NULL, len, GRPC_SLICE_START_PTR(slice));
        grpc_slice_unref(slice);
    }
    if (m == NULL) {
        char detail[160];
        snprintf(detail, sizeof detail, "the message is not a %s", desc->name);
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    }
    return m;
}

/* Positions are confidential (README, "Proofs"): a record goes to a caller with its
 * positions only when that caller may read the feed's positions; others get the signed
 * fields, whose positionsRoot commits to them. */
static custos_rc record_to_pb_for(const call *c, const custos_record *rec,
                                  Custos__V1__Record **m, custos_error *err)
{
    char detail[256];
    if (rec->sub.n_positions == 0 ||
        gw_tls_may_read_positions(c->srv->cfg, c->gc, rec->sub.feed, detail, sizeof detail))
        return pb_from_record(rec, m, err);
    custos_record bare = *rec; /* shallow: pb_from_record only reads it */
    bare.sub.n_positions = 0;
    bare.sub.positions = NULL;
    return pb_from_record(&bare, m, err);
}

/* A record as a packed message of type `wrapper` whose only field is the record:
 * GetLatestResponse and WatchEvent have the same shape. NULL if it cannot be converted. */
static grpc_byte_buffer *pack_record(const call *c, const custos_record *rec, bool watch_event)
{
    Custos__V1__Record *m = NULL;
    custos_error err;
    custos_error_clear(&err);
    if (record_to_pb_for(c, rec, &m, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "record_convert", "cursor %llu: %s",
               (unsigned long long)rec->cursor, err.message);
        return NULL;
    }
    grpc_byte_buffer *bb;
    if (watch_event) {
        Custos__V1__WatchEvent ev = CUSTOS__V1__WATCH_EVENT__INIT;
        ev.record = m;
        bb = pack_message(&ev.base);
    } else {
        Custos__V1__GetLatestResponse r = CUSTOS__V1__GET_LATEST_RESPONSE__INIT;
        r.record = m;
        bb = pack_message(&r.base);
    }
    pb_record_free(m);
    return bb;
}

/* ListHeld answers at most this many records. */
#define LIST_HELD_MAX 1000

static void handle_list_held(call *c)
{
    Custos__V1__ListHeldRequest *req =
        unpack_request(c, &custos__v1__list_held_request__descriptor);
    if (req == NULL)
        return;
    if (req->account.len != 0 && req->account.len != CUSTOS_HASH_LEN) {
        char detail[96];
        snprintf(detail, sizeof detail, "account must be 32 bytes (or empty: all), got %zu",
                 req->account.len);
        custos__v1__list_held_request__free_unpacked(req, NULL);
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    uint8_t account[CUSTOS_HASH_LEN];
    bool one = req->account.len == CUSTOS_HASH_LEN;
    if (one)
        memcpy(account, req->account.data, sizeof account);
    custos__v1__list_held_request__free_unpacked(req, NULL);

    custos_record *recs = calloc(LIST_HELD_MAX, sizeof *recs);
    Custos__V1__Record **ms = calloc(LIST_HELD_MAX, sizeof *ms);
    if (recs == NULL || ms == NULL) {
        free(recs);
        free(ms);
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "the gateway is out of memory",
                     CUSTOS_REASON_INTERNAL, NULL);
        return;
    }
    size_t n = 0, packed = 0;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_list_held(c->srv->engine, one ? account : NULL, recs,
                                       LIST_HELD_MAX, &n, &err);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        rc = record_to_pb_for(c, &recs[i], &ms[i], &err);
        if (rc == CUSTOS_OK)
            packed++;
    }
    grpc_byte_buffer *bb = NULL;
    if (rc == CUSTOS_OK) {
        Custos__V1__ListHeldResponse r = CUSTOS__V1__LIST_HELD_RESPONSE__INIT;
        r.records = ms;
        r.n_records = packed;
        bb = pack_message(&r.base);
    }
    for (size_t i = 0; i < packed; i++)
        pb_record_free(ms[i]);
    for (size_t i = 0; i < n; i++)
        custos_record_clear(&recs[i]);
    free(ms);
    free(recs);
    if (rc != CUSTOS_OK)
        unary_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    else if (bb == NULL)
        unary_finish(c, GRPC_STATUS_INTERNAL, "the held records cannot be encoded",
                     CUSTOS_REASON_INTERNAL, NULL);
    else
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

static void handle_get_latest(call *c)
{
    Custos__V1__GetLatestRequest *req =
        unpack_request(c, &custos__v1__get_latest_request__descriptor);
    if (req == NULL)
        return;
    if (req->account.len != CUSTOS_HASH_LEN) {
        char detail[96];
        snprintf(detail, sizeof detail, "account must be 32 bytes, got %zu", req->account.len);
        custos__v1__get_latest_request__free_unpacked(req, NULL);
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    uint8_t account[CUSTOS_HASH_LEN];
    memcpy(account, req->account.data, sizeof account);
    custos__v1__get_latest_request__free_unpacked(req, NULL);

    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_get_latest(c->srv->engine, account, &rec, &err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        unary_finish(c, GRPC_STATUS_NOT_FOUND, "no accepted attestation for this account",
                     CUSTOS_REASON_NONE, NULL);
        return;
    }
    if (rc != CUSTOS_OK) {
        unary_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
        return;
    }
    grpc_byte_buffer *bb = pack_record(c, &rec, false);
    custos_record_clear(&rec);
    if (bb == NULL)
        unary_finish(c, GRPC_STATUS_INTERNAL, "the stored record cannot be encoded",
                     CUSTOS_REASON_INTERNAL, NULL);
    else
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* The answer borrows from p: packed before p goes away. */
static grpc_byte_buffer *pack_position_proof(const custos_position_proof *p)
{
    uint8_t q[32], pr[32], v[32];
    custos_u256_to_be(&p->position.quantity, q);
    custos_u256_to_be(&p->position.price, pr);
    custos_u256_to_be(&p->position.value, v);
    Custos__V1__Position pos = CUSTOS__V1__POSITION__INIT;
    pos.asset_id = (char *)p->position.asset_id;
    pos.quantity = (ProtobufCBinaryData){sizeof q, q};
    pos.price = (ProtobufCBinaryData){sizeof pr, pr};
    pos.value = (ProtobufCBinaryData){sizeof v, v};
    pos.haircut_bps = p->position.haircut_bps;
    ProtobufCBinaryData proof[CUSTOS_MERKLE_PROOF_MAX];
    for (size_t i = 0; i < p->n_proof; i++)
        proof[i] = (ProtobufCBinaryData){32, (uint8_t *)p->proof[i]};
    Custos__V1__GetPositionProofResponse r = CUSTOS__V1__GET_POSITION_PROOF_RESPONSE__INIT;
    r.account = (ProtobufCBinaryData){sizeof p->account, (uint8_t *)p->account};
    r.feed = (char *)p->feed;
    r.position = &pos;
    r.leaf = (ProtobufCBinaryData){sizeof p->leaf, (uint8_t *)p->leaf};
    r.n_proof = p->n_proof;
    r.proof = proof;
    r.root = (ProtobufCBinaryData){sizeof p->root, (uint8_t *)p->root};
    r.digest = (ProtobufCBinaryData){sizeof p->digest, (uint8_t *)p->digest};
    r.sequence = p->sequence;
    r.as_of = p->as_of;
    return pack_message(&r.base);
}

static void handle_position_proof(call *c)
{
    Custos__V1__GetPositionProofRequest *req =
        unpack_request(c, &custos__v1__get_position_proof_request__descriptor);
    if (req == NULL)
        return;
    char detail[256];
    bool ok = false;
    if (req->account.len != CUSTOS_HASH_LEN)
        snprintf(detail, sizeof detail, "account must be 32 bytes, got %zu", req->account.len);
    else if (req->asset_id == NULL || req->asset_id[0] == '\0' ||
             strlen(req->asset_id) > CUSTOS_ASSET_ID_MAX)
        snprintf(detail, sizeof detail, "asset_id must be 1 to %d bytes", CUSTOS_ASSET_ID_MAX);
    else
        ok = true;
    if (!ok) {
        custos__v1__get_position_proof_request__free_unpacked(req, NULL);
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    uint8_t account[CUSTOS_HASH_LEN];
    memcpy(account, req->account.data, sizeof account);
    char asset_id[CUSTOS_ASSET_ID_MAX + 1];
    memcpy(asset_id, req->asset_id, strlen(req->asset_id) + 1);
    custos__v1__get_position_proof_request__free_unpacked(req, NULL);

    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_get_latest(c->srv->engine, account, &rec, &err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        unary_finish(c, GRPC_STATUS_NOT_FOUND, "no accepted attestation for this account",
                     CUSTOS_REASON_NONE, NULL);
        return;
    }
    if (rc != CUSTOS_OK) {
        unary_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
        return;
    }
    /* Authorised by the account's feed, which only the stored record knows; an unknown
     * account answers NOT_FOUND to anyone, which tells nothing about its positions. */
    if (!gw_tls_may_read_positions(c->srv->cfg, c->gc, rec.sub.feed, detail, sizeof detail)) {
        custos_record_clear(&rec);
        gw_metrics_count_refusal(CUSTOS_REASON_UNAUTHORIZED_CLIENT);
        unary_finish(c, pb_reason_status(CUSTOS_REASON_UNAUTHORIZED_CLIENT), detail,
                     CUSTOS_REASON_UNAUTHORIZED_CLIENT, NULL);
        return;
    }
    custos_position_proof *p = calloc(1, sizeof *p);
    if (p == NULL) {
        custos_record_clear(&rec);
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                     NULL);
        return;
    }
    grpc_status_code status = GRPC_STATUS_OK;
    if (rec.sub.n_positions == 0) {
        status = GRPC_STATUS_NOT_FOUND;
        snprintf(detail, sizeof detail, "the latest attestation of this account (sequence "
                 "%llu) carries no positions", (unsigned long long)rec.sub.att.sequence);
    } else {
        rc = custos_position_proof_build(rec.sub.positions, rec.sub.n_positions, asset_id, p,
                                         &err);
        if (rc == CUSTOS_ERR_NOT_FOUND) {
            status = GRPC_STATUS_NOT_FOUND;
            snprintf(detail, sizeof detail, "the latest attestation of this account (sequence "
                     "%llu) has %.180s", (unsigned long long)rec.sub.att.sequence, err.message);
        } else if (rc != CUSTOS_OK ||
                   memcmp(p->root, rec.sub.att.positions_root, sizeof p->root) != 0) {
            /* Accepted positions always hash to the signed root: a mismatch is a bug or a
             * damaged store, never something to serve. */
            status = GRPC_STATUS_INTERNAL;
            snprintf(detail, sizeof detail, "the stored positions do not yield the signed "
                     "positionsRoot");
            gw_log(GW_LOG_ERROR, "position_proof", "sequence %llu: %s",
                   (unsigned long long)rec.sub.att.sequence,
                   rc != CUSTOS_OK ? err.message : detail);
        }
    }
    grpc_byte_buffer *bb = NULL;
    if (status == GRPC_STATUS_OK) {
        memcpy(p->account, account, sizeof account);
        memcpy(p->feed, rec.sub.feed, sizeof p->feed);
        memcpy(p->digest, rec.digest, sizeof p->digest);
        p->sequence = rec.sub.att.sequence;
        p->as_of = rec.sub.att.as_of;
        bb = pack_position_proof(p);
        if (bb == NULL) {
            status = GRPC_STATUS_RESOURCE_EXHAUSTED;
            snprintf(detail, sizeof detail, "out of memory");
        }
    }
    free(p);
    custos_record_clear(&rec);
    if (status == GRPC_STATUS_OK)
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
    else
        unary_finish(c, status, detail,
                     status == GRPC_STATUS_INTERNAL ? CUSTOS_REASON_INTERNAL : CUSTOS_REASON_NONE,
                     NULL);
}

/* ---- SubmitReserves, GetReserves, GetReservesProof ---- */

static void reserves_refuse(call *c, custos_reason reason, const char *detail)
{
    gw_metrics_count_refusal(reason);
    gw_log_req(GW_LOG_DEBUG, "refused", c->request_id, "reason=%s detail=%s",
               custos_reason_name(reason), detail);
    unary_finish(c, pb_reason_status(reason), detail, reason, NULL);
}

static void handle_submit_reserves(call *c)
{
    char detail[256];
    if (!submit_admit(c, detail, sizeof detail)) {
        reserves_refuse(c, CUSTOS_REASON_RATE_LIMITED, detail);
        return;
    }
    Custos__V1__SubmitReservesRequest *req =
        unpack_request(c, &custos__v1__submit_reserves_request__descriptor);
    if (req == NULL)
        return;
    gw_reserves_submission *s = malloc(sizeof *s);
    if (s == NULL) {
        custos__v1__submit_reserves_request__free_unpacked(req, NULL);
        reserves_refuse(c, CUSTOS_REASON_INTERNAL, "the gateway is out of memory");
        return;
    }
    custos_reason reason = gw_reserves_decode(req, s, detail, sizeof detail);
    custos__v1__submit_reserves_request__free_unpacked(req, NULL);
    if (reason == CUSTOS_REASON_NONE &&
        !gw_tls_may_submit(c->srv->cfg, c->gc, s->res.feed, detail, sizeof detail))
        reason = CUSTOS_REASON_UNAUTHORIZED_CLIENT;
    if (reason == CUSTOS_REASON_NONE)
        reason = gw_reserves_verify(c->srv->cfg, gw_engine_registry(c->srv->engine), s,
                                    (uint64_t)time(NULL), detail, sizeof detail);
    bool duplicate = false;
    if (reason == CUSTOS_REASON_NONE) {
        s->res.accepted_at = (uint64_t)time(NULL);
        reason = gw_engine_put_reserves(c->srv->engine, &s->res, &duplicate, detail,
                                        sizeof detail);
    }
    if (reason != CUSTOS_REASON_NONE) {
        gw_reserves_submission_clear(s);
        free(s);
        reserves_refuse(c, reason, detail);
        return;
    }
    char total[CUSTOS_U256_DEC_MAX];
    if (custos_u256_to_dec(&s->res.r.total_collateral, total, sizeof total) != CUSTOS_OK)
        snprintf(total, sizeof total, "?");
    gw_log_req(GW_LOG_INFO, "reserves", c->request_id,
               "feed=%s sequence=%llu accounts=%llu total=%s duplicate=%s", s->res.feed,
               (unsigned long long)s->res.r.sequence, (unsigned long long)s->res.r.accounts,
               total, duplicate ? "true" : "false");
    Custos__V1__SubmitReservesResponse r = CUSTOS__V1__SUBMIT_RESERVES_RESPONSE__INIT;
    r.digest = (ProtobufCBinaryData){CUSTOS_HASH_LEN, s->res.digest};
    r.duplicate = duplicate;
    r.signer = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, s->res.signer};
    grpc_byte_buffer *bb = pack_message(&r.base);
    gw_reserves_submission_clear(s);
    free(s);
    if (bb == NULL)
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                     NULL);
    else
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* The summary of res as a GetReservesResponse borrowing from res, cfg and buf. */
typedef struct reserves_summary_buf {
    Custos__V1__Domain domain;
    Custos__V1__Reserves reserves;
    uint8_t total[32];
} reserves_summary_buf;

static void reserves_summary(const gw_config *cfg, gw_store_reserves *res,
                             reserves_summary_buf *buf, Custos__V1__GetReservesResponse *out)
{
    custos__v1__get_reserves_response__init(out);
    custos__v1__domain__init(&buf->domain);
    custos__v1__reserves__init(&buf->reserves);
    buf->domain.chain_id = cfg->domain.chain_id;
    buf->domain.verifying_contract =
        (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)cfg->domain.verifying_contract};
    custos_u256_to_be(&res->r.total_collateral, buf->total);
    buf->reserves.total_collateral = (ProtobufCBinaryData){sizeof buf->total, buf->total};
    buf->reserves.accounts = res->r.accounts;
    buf->reserves.accounts_root = (ProtobufCBinaryData){CUSTOS_HASH_LEN, res->r.accounts_root};
    buf->reserves.as_of = res->r.as_of;
    buf->reserves.sequence = res->r.sequence;
    out->feed = res->feed;
    out->domain = &buf->domain;
    out->reserves = &buf->reserves;
    out->digest = (ProtobufCBinaryData){CUSTOS_HASH_LEN, res->digest};
    out->signature = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, res->sig.bytes};
    out->signer = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, res->signer};
    out->accepted_at = res->accepted_at;
}

/* The feed's latest reserves into res, or answers the call and returns false. */
static bool reserves_load(call *c, const char *feed, gw_store_reserves *res)
{
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_get_reserves(c->srv->engine, feed, res, &err);
    if (rc == CUSTOS_OK)
        return true;
    if (rc == CUSTOS_ERR_NOT_FOUND)
        unary_finish(c, GRPC_STATUS_NOT_FOUND, "no reserves attestation for this feed",
                     CUSTOS_REASON_NONE, NULL);
    else
        unary_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    return false;
}

static void handle_get_reserves(call *c)
{
    Custos__V1__GetReservesRequest *req =
        unpack_request(c, &custos__v1__get_reserves_request__descriptor);
    if (req == NULL)
        return;
    char feed[CUSTOS_FEED_MAX + 1];
    bool ok = req->feed != NULL && req->feed[0] != '\0' && strlen(req->feed) <= CUSTOS_FEED_MAX;
    if (ok)
        strcpy(feed, req->feed);
    custos__v1__get_reserves_request__free_unpacked(req, NULL);
    if (!ok) {
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "feed must be 1 to 64 bytes",
                     CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    gw_store_reserves res;
    if (!reserves_load(c, feed, &res))
        return;
    reserves_summary_buf buf;
    Custos__V1__GetReservesResponse r;
    reserves_summary(c->srv->cfg, &res, &buf, &r);
    grpc_byte_buffer *bb = pack_message(&r.base);
    gw_store_reserves_clear(&res);
    if (bb == NULL)
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                     NULL);
    else
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

static void handle_reserves_proof(call *c)
{
    Custos__V1__GetReservesProofRequest *req =
        unpack_request(c, &custos__v1__get_reserves_proof_request__descriptor);
    if (req == NULL)
        return;
    char feed[CUSTOS_FEED_MAX + 1], detail[256];
    uint8_t account[CUSTOS_HASH_LEN];
    bool ok = false;
    if (req->feed == NULL || req->feed[0] == '\0' || strlen(req->feed) > CUSTOS_FEED_MAX)
        snprintf(detail, sizeof detail, "feed must be 1 to %d bytes", CUSTOS_FEED_MAX);
    else if (req->account.len != CUSTOS_HASH_LEN)
        snprintf(detail, sizeof detail, "account must be 32 bytes, got %zu", req->account.len);
    else
        ok = true;
    if (ok) {
        strcpy(feed, req->feed);
        memcpy(account, req->account.data, sizeof account);
    }
    custos__v1__get_reserves_proof_request__free_unpacked(req, NULL);
    if (!ok) {
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    /* The same readers as the feed's positions: a leaf is one account's collateral. */
    if (!gw_tls_may_read_positions(c->srv->cfg, c->gc, feed, detail, sizeof detail)) {
        gw_metrics_count_refusal(CUSTOS_REASON_UNAUTHORIZED_CLIENT);
        unary_finish(c, pb_reason_status(CUSTOS_REASON_UNAUTHORIZED_CLIENT), detail,
                     CUSTOS_REASON_UNAUTHORIZED_CLIENT, NULL);
        return;
    }
    gw_store_reserves res;
    if (!reserves_load(c, feed, &res))
        return;
    custos_error err;
    custos_error_clear(&err);
    size_t at = 0, n_entries = (size_t)res.r.accounts;
    while (at < n_entries && memcmp(res.entries[at].account, account, CUSTOS_HASH_LEN) != 0)
        at++;
    custos_reserves_entry e;
    uint8_t proof[CUSTOS_MERKLE_PROOF_MAX][32], leaf[32];
    size_t np = 0;
    custos_rc rc = CUSTOS_ERR_NOT_FOUND;
    if (at < n_entries) {
        e = res.entries[at];
        custos_reserves_leaf(&e, leaf);
        rc = gw_reserves_trees_proof(c->srv->reserves_trees, &res, leaf, proof,
                                     CUSTOS_MERKLE_PROOF_MAX, &np, &err);
    }
    if (rc != CUSTOS_OK) {
        gw_store_reserves_clear(&res);
        if (rc == CUSTOS_ERR_NOT_FOUND) {
            unary_finish(c, GRPC_STATUS_NOT_FOUND,
                         "the account is not counted in the feed's latest reserves",
                         CUSTOS_REASON_NONE, NULL);
        } else {
            gw_log(GW_LOG_ERROR, "reserves_proof", "feed %s: %s", feed, err.message);
            unary_finish(c, GRPC_STATUS_INTERNAL, "the stored reserves yield no proof",
                         CUSTOS_REASON_INTERNAL, NULL);
        }
        return;
    }
    reserves_summary_buf buf;
    Custos__V1__GetReservesResponse summary;
    reserves_summary(c->srv->cfg, &res, &buf, &summary);
    uint8_t value[32];
    custos_u256_to_be(&e.collateral_value, value);
    Custos__V1__ReservesLeaf l = CUSTOS__V1__RESERVES_LEAF__INIT;
    l.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, e.account};
    l.collateral_value = (ProtobufCBinaryData){sizeof value, value};
    ProtobufCBinaryData siblings[CUSTOS_MERKLE_PROOF_MAX];
    for (size_t i = 0; i < np; i++)
        siblings[i] = (ProtobufCBinaryData){32, proof[i]};
    Custos__V1__GetReservesProofResponse r = CUSTOS__V1__GET_RESERVES_PROOF_RESPONSE__INIT;
    r.summary = &summary;
    r.leaf = &l;
    r.leaf_hash = (ProtobufCBinaryData){sizeof leaf, leaf};
    r.n_proof = np;
    r.proof = siblings;
    grpc_byte_buffer *bb = pack_message(&r.base);
    gw_store_reserves_clear(&res);
    if (bb == NULL)
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                     NULL);
    else
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

static void handle_list_signers(call *c)
{
    Custos__V1__ListSignersRequest *req =
        unpack_request(c, &custos__v1__list_signers_request__descriptor);
    if (req == NULL)
        return;
    custos__v1__list_signers_request__free_unpacked(req, NULL);

    /* The snapshot of the moment: a reload during the call does not mix two lists. */
    gw_policy *policy = gw_registry_acquire(gw_engine_registry(c->srv->engine));
    size_t n = policy->n_signers;
    Custos__V1__Signer *items = calloc(n ? n : 1, sizeof *items);
    Custos__V1__Signer **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        gw_policy_release(policy);
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                     NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const gw_signer *sg = &policy->signers[i];
        custos__v1__signer__init(&items[i]);
        items[i].address.len = CUSTOS_ADDRESS_LEN;
        items[i].address.data = (uint8_t *)sg->address;
        items[i].feed = (char *)sg->feed;
        items[i].role = (char *)gw_role_name(sg->role);
        items[i].active = sg->active;
        items[i].not_after = sg->not_after;
        ptrs[i] = &items[i];
    }
    Custos__V1__ListSignersResponse r = CUSTOS__V1__LIST_SIGNERS_RESPONSE__INIT;
    r.n_signers = n;
    r.signers = ptrs;
    grpc_byte_buffer *bb = pack_message(&r.base);
    free(items);
    free(ptrs);
    gw_policy_release(policy);
    unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

static void handle_get_chain_head(call *c)
{
    Custos__V1__GetChainHeadRequest *req =
        unpack_request(c, &custos__v1__get_chain_head_request__descriptor);
    if (req == NULL)
        return;
    custos__v1__get_chain_head_request__free_unpacked(req, NULL);
    uint8_t hash[CUSTOS_HASH_LEN];
    Custos__V1__GetChainHeadResponse r = CUSTOS__V1__GET_CHAIN_HEAD_RESPONSE__INIT;
    gw_engine_chain_head(c->srv->engine, &r.cursor, hash);
    r.chain_hash.data = hash;
    r.chain_hash.len = sizeof hash;
    unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, pack_message(&r.base));
}

/* ---- GatewayAdmin ---- */

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 1000

/* Answers PERMISSION_DENIED / UNAUTHORIZED_CLIENT and returns false unless the caller is
 * an admin. */
static bool admin_allowed(call *c, char name[GW_CLIENT_NAME_MAX + 1])
{
    char detail[256];
    if (gw_tls_may_administer(c->srv->cfg, c->gc, name, detail, sizeof detail))
        return true;
    unary_finish(c, GRPC_STATUS_PERMISSION_DENIED, detail, CUSTOS_REASON_UNAUTHORIZED_CLIENT,
                 NULL);
    return false;
}

static void handle_list_audit(call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__ListAuditRequest *req =
        unpack_request(c, &custos__v1__list_audit_request__descriptor);
    if (req == NULL)
        return;
    uint64_t after = req->after_seq;
    uint32_t limit = req->limit;
    custos__v1__list_audit_request__free_unpacked(req, NULL);
    if (limit > AUDIT_PAGE_MAX) {
        char detail[96];
        snprintf(detail, sizeof detail, "limit %u: at most %d entries per call", limit,
                 AUDIT_PAGE_MAX);
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    size_t max = limit == 0 ? AUDIT_PAGE_DEFAULT : limit;
    custos_audit_entry *entries = calloc(max, sizeof *entries);
    Custos__V1__AuditEntry *items = calloc(max, sizeof *items);
    Custos__V1__AuditEntry **ptrs = calloc(max, sizeof *ptrs);
    size_t n = 0;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = entries == NULL || items == NULL || ptrs == NULL
                       ? CUSTOS_ERR_NOMEM
                       : gw_engine_read_audit(c->srv->engine, after, entries, max, &n, &err);
    grpc_byte_buffer *bb = NULL;
    if (rc == CUSTOS_OK) {
        for (size_t i = 0; i < n; i++) {
            custos_audit_entry *e = &entries[i];
            custos__v1__audit_entry__init(&items[i]);
            items[i].seq = e->seq;
            items[i].time = e->time;
            items[i].actor = e->actor;
            items[i].action = e->action;
            items[i].payload.data = e->payload;
            items[i].payload.len = e->payload_len;
            items[i].prev_hash.data = e->prev_hash;
            items[i].prev_hash.len = CUSTOS_AUDIT_HASH_LEN;
            items[i].hash.data = e->hash;
            items[i].hash.len = CUSTOS_AUDIT_HASH_LEN;
            ptrs[i] = &items[i];
        }
        Custos__V1__ListAuditResponse r = CUSTOS__V1__LIST_AUDIT_RESPONSE__INIT;
        r.n_entries = n;
        r.entries = ptrs;
        bb = pack_message(&r.base);
    }
    for (size_t i = 0; i < n; i++)
        custos_audit_entry_clear(&entries[i]);
    free(entries);
    free(items);
    free(ptrs);
    if (rc == CUSTOS_ERR_NOMEM || (rc == CUSTOS_OK && bb == NULL))
        unary_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                     NULL);
    else if (rc != CUSTOS_OK)
        unary_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    else
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* Answers an admin change with its outcome. */
static void admin_finish(call *c, gw_admin_result r, uint64_t seq, const char *detail)
{
    static const grpc_status_code status[] = {
        [GW_ADMIN_DONE] = GRPC_STATUS_OK,
        [GW_ADMIN_INVALID] = GRPC_STATUS_INVALID_ARGUMENT,
        [GW_ADMIN_NOT_FOUND] = GRPC_STATUS_NOT_FOUND,
        [GW_ADMIN_EXISTS] = GRPC_STATUS_ALREADY_EXISTS,
        [GW_ADMIN_PRECONDITION] = GRPC_STATUS_FAILED_PRECONDITION,
        [GW_ADMIN_UNAVAILABLE] = GRPC_STATUS_UNAVAILABLE,
    };
    if (r != GW_ADMIN_DONE) {
        unary_finish(c, status[r], detail,
                     r == GW_ADMIN_INVALID ? CUSTOS_REASON_MALFORMED : CUSTOS_REASON_NONE, NULL);
        return;
    }
    Custos__V1__AdminChangeResponse resp = CUSTOS__V1__ADMIN_CHANGE_RESPONSE__INIT;
    resp.audit_seq = seq;
    unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, pack_message(&resp.base));
}

/* Copies a 20-byte address field; answers INVALID_ARGUMENT and returns false otherwise. */
static bool admin_address(call *c, const ProtobufCBinaryData *f, uint8_t out[CUSTOS_ADDRESS_LEN])
{
    if (f->len == CUSTOS_ADDRESS_LEN) {
        memcpy(out, f->data, CUSTOS_ADDRESS_LEN);
        return true;
    }
    char detail[96];
    snprintf(detail, sizeof detail, "address must be 20 bytes, got %zu", f->len);
    unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    return false;
}

static void handle_add_signer(call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__AddSignerRequest *req =
        unpack_request(c, &custos__v1__add_signer_request__descriptor);
    if (req == NULL)
        return;
    uint8_t address[CUSTOS_ADDRESS_LEN];
    if (admin_address(c, &req->address, address)) {
        char detail[512];
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_add_signer(c->srv->admin, name, address,
                                                req->feed != NULL ? req->feed : "",
                                                req->role != NULL ? req->role : "", &seq,
                                                detail, sizeof detail);
        admin_finish(c, r, seq, detail);
    }
    custos__v1__add_signer_request__free_unpacked(req, NULL);
}

static void handle_revoke_signer(call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__RevokeSignerRequest *req =
        unpack_request(c, &custos__v1__revoke_signer_request__descriptor);
    if (req == NULL)
        return;
    uint8_t address[CUSTOS_ADDRESS_LEN];
    if (admin_address(c, &req->address, address)) {
        char detail[512];
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_revoke_signer(c->srv->admin, name, address,
                                                   req->feed != NULL ? req->feed : "", &seq,
                                                   detail, sizeof detail);
        admin_finish(c, r, seq, detail);
    }
    custos__v1__revoke_signer_request__free_unpacked(req, NULL);
}

static void handle_rotate_signer(call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__RotateSignerRequest *req =
        unpack_request(c, &custos__v1__rotate_signer_request__descriptor);
    if (req == NULL)
        return;
    uint8_t old_address[CUSTOS_ADDRESS_LEN], new_address[CUSTOS_ADDRESS_LEN];
    if (admin_address(c, &req->old_address, old_address) &&
        admin_address(c, &req->new_address, new_address)) {
        char detail[512];
        uint64_t seq = 0;
        gw_admin_result r = gw_admin_rotate_signer(
            c->srv->admin, name, old_address, new_address, req->feed != NULL ? req->feed : "",
            req->overlap_seconds, &seq, detail, sizeof detail);
        admin_finish(c, r, seq, detail);
    }
    custos__v1__rotate_signer_request__free_unpacked(req, NULL);
}

static void handle_set_feed_policy(call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__SetFeedPolicyRequest *req =
        unpack_request(c, &custos__v1__set_feed_policy_request__descriptor);
    if (req == NULL)
        return;
    const char *feed = req->feed != NULL ? req->feed : "";
    char detail[512];
    uint64_t seq = 0;
    gw_admin_result r;
    gw_feed policy;
    memset(&policy, 0, sizeof policy);
    if (strlen(feed) > CUSTOS_FEED_MAX) {
        snprintf(detail, sizeof detail, "feed name longer than %d bytes", CUSTOS_FEED_MAX);
        r = GW_ADMIN_INVALID;
    } else {
        snprintf(policy.name, sizeof policy.name, "%s", feed);
        policy.max_age = req->max_age;
        policy.max_skew = req->max_skew;
        policy.max_ttl = req->max_ttl;
        policy.threshold = req->threshold;
        policy.distinct_roles = req->distinct_roles;
        r = gw_admin_set_feed_policy(c->srv->admin, name, &policy, &seq, detail,
                                     sizeof detail);
    }
    admin_finish(c, r, seq, detail);
    custos__v1__set_feed_policy_request__free_unpacked(req, NULL);
}

/* The committer's answer to an operator's release (rule 6). */
static void release_held_done(void *ctx, const gw_submit_outcome *o)
{
    call *c = ctx;
    switch (o->release) {
    case GW_RELEASE_DONE:
        gw_log(GW_LOG_INFO, "admin", "release_held (audit entry %" PRIu64
               "): published with cursor %" PRIu64, o->audit_seq, o->cursor);
        admin_finish(c, GW_ADMIN_DONE, o->audit_seq, NULL);
        break;
    case GW_RELEASE_NOT_FOUND:
        admin_finish(c, GW_ADMIN_NOT_FOUND, 0, o->detail);
        break;
    case GW_RELEASE_SUPERSEDED:
        admin_finish(c, GW_ADMIN_PRECONDITION, 0, o->detail);
        break;
    case GW_RELEASE_REFUSED:
        unary_finish(c, pb_reason_status(o->reason), o->detail, o->reason, NULL);
        break;
    case GW_RELEASE_UNAVAILABLE:
        admin_finish(c, GW_ADMIN_UNAVAILABLE, 0, o->detail);
        break;
    }
    call_unref(c);
}

static void handle_release_held(call *c)
{
    char name[GW_CLIENT_NAME_MAX + 1];
    if (!admin_allowed(c, name))
        return;
    Custos__V1__ReleaseHeldRequest *req =
        unpack_request(c, &custos__v1__release_held_request__descriptor);
    if (req == NULL)
        return;
    char detail[160];
    const char *note = req->note != NULL ? req->note : "";
    if (req->digest.len != CUSTOS_HASH_LEN) {
        snprintf(detail, sizeof detail, "digest must be 32 bytes, got %zu", req->digest.len);
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    } else if (strlen(note) > GW_RELEASE_NOTE_MAX || strpbrk(note, "\r\n") != NULL) {
        snprintf(detail, sizeof detail, "note must be one line of at most %d bytes",
                 GW_RELEASE_NOTE_MAX);
        unary_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
    } else {
        char hex[2 + 2 * CUSTOS_HASH_LEN + 1];
        char payload[sizeof hex + GW_RELEASE_NOTE_MAX + 32];
        if (custos_hex_encode(req->digest.data, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK) {
            unary_finish(c, GRPC_STATUS_INTERNAL, "digest could not be encoded",
                         CUSTOS_REASON_INTERNAL, NULL);
        } else {
            snprintf(payload, sizeof payload, "release %s note=%s", hex, note);
            call_ref(c);
            gw_engine_release_held(c->srv->engine, req->digest.data, name, payload,
                                   release_held_done, c);
        }
    }
    custos__v1__release_held_request__free_unpacked(req, NULL);
}

static grpc_byte_buffer *pack_health(Grpc__Health__V1__HealthCheckResponse__ServingStatus st)
{
    Grpc__Health__V1__HealthCheckResponse r = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    r.status = st;
    return pack_message(&r.base);
}

/* Evaluates a health request; answers and returns false when it is not OK. */
static bool health_evaluate(call *c, Grpc__Health__V1__HealthCheckResponse__ServingStatus *st)
{
    grpc_slice slice;
    int status = GRPC_STATUS_INVALID_ARGUMENT;
    if (c->payload != NULL && read_message(c->payload, &slice)) {
        size_t len = GRPC_SLICE_LENGTH(slice);
        if (len <= c->srv->cfg->max_message_bytes)
            status = gw_health_evaluate(c->srv->engine, GRPC_SLICE_START_PTR(slice), len, st);
        grpc_slice_unref(slice);
    }
    if (status == GRPC_STATUS_NOT_FOUND && c->m == M_HEALTH_WATCH) {
        /* Health/Watch reports an unknown service in-band and stays open. */
        *st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
        return true;
    }
    if (status == GRPC_STATUS_OK)
        return true;
    unary_finish(c, (grpc_status_code)status,
                 status == GRPC_STATUS_NOT_FOUND ? "unknown service"
                                                 : "the message is not a HealthCheckRequest",
                 CUSTOS_REASON_NONE, NULL);
    return false;
}

static void handle_health_check(call *c)
{
    Grpc__Health__V1__HealthCheckResponse__ServingStatus st;
    if (health_evaluate(c, &st))
        unary_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, pack_health(st));
}

static void handle_health_watch(call *c)
{
    Grpc__Health__V1__HealthCheckResponse__ServingStatus st;
    if (!health_evaluate(c, &st) || !stream_admit(c))
        return;
    c->end_status = GRPC_STATUS_OK;
    if (!stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    if (c->state == CALL_ACTIVE)
        stream_send(c, pack_health(st));
    else
        stream_end(c);
    pthread_mutex_unlock(&c->mu);
}

static void health_watch_on_sent(call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    c->send_busy = false;
    if (c->send_buf != NULL)
        grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
    /* Otherwise idle until the client cancels or the server ends it. */
    if (!ok || c->state == CALL_ENDING)
        stream_end(c);
    pthread_mutex_unlock(&c->mu);
}

static void handle_unknown(call *c)
{
    char detail[256];
    size_t len = GRPC_SLICE_LENGTH(c->details.method);
    int shown = len > 160 ? 160 : (int)len;
    snprintf(detail, sizeof detail, "method %.*s is not implemented by custos-gateway", shown,
             (const char *)GRPC_SLICE_START_PTR(c->details.method));
    unary_finish(c, GRPC_STATUS_UNIMPLEMENTED, detail, CUSTOS_REASON_NONE, NULL);
}

/* ---- Watch ---- */

/* Locked. Queues the next records after c->cursor; false if the engine cannot answer. */
static bool watch_refill(call *c)
{
    custos_record *recs = calloc(WATCH_BATCH, sizeof *recs);
    if (recs == NULL)
        return false;
    size_t n = 0;
    custos_error err;
    custos_error_clear(&err);
    bool ok = gw_engine_read_from(c->srv->engine, c->cursor, recs, WATCH_BATCH, &n, &err) ==
              CUSTOS_OK;
    if (!ok)
        gw_log_req(GW_LOG_ERROR, "watch_read", c->request_id, "after cursor %llu: %s",
                   (unsigned long long)c->cursor, err.message);
    for (size_t i = 0; i < n; i++) {
        if (ok) {
            grpc_byte_buffer *bb = pack_record(c, &recs[i], true);
            if (bb != NULL) {
                c->outq[c->outq_n++] = bb;
                c->cursor = recs[i].cursor;
            } else {
                ok = false;
            }
        }
        custos_record_clear(&recs[i]);
    }
    free(recs);
    return ok;
}

/* Locked. Sends queued records one at a time, refills from the engine, parks when caught
 * up. The commit generation is sampled before reading so a commit that lands between the
 * read and the park is not missed. */
static void watch_pump(call *c)
{
    gw_server *srv = c->srv;
    for (;;) {
        if (c->state != CALL_ACTIVE && c->state != CALL_ENDING)
            return;
        if (c->send_busy)
            return;
        if (c->state == CALL_ENDING) {
            stream_end(c);
            return;
        }
        if (c->outq_i < c->outq_n) {
            grpc_byte_buffer *bb = c->outq[c->outq_i];
            c->outq[c->outq_i++] = NULL;
            stream_send(c, bb);
            return;
        }
        c->outq_i = c->outq_n = 0;
        pthread_mutex_lock(&srv->wmu);
        uint64_t gen = srv->gen;
        pthread_mutex_unlock(&srv->wmu);
        if (!watch_refill(c)) {
            c->state = CALL_ENDING;
            c->end_status = GRPC_STATUS_UNAVAILABLE;
            c->end_detail = "the store cannot be read";
            continue;
        }
        if (c->outq_n > 0)
            continue;
        c->parked = true;
        pthread_mutex_lock(&srv->wmu);
        bool moved = srv->gen != gen;
        pthread_mutex_unlock(&srv->wmu);
        if (!moved)
            return;
        c->parked = false;
    }
}

static void watch_on_sent(call *c, bool ok)
{
    pthread_mutex_lock(&c->mu);
    c->send_busy = false;
    if (c->send_buf != NULL)
        grpc_byte_buffer_destroy(c->send_buf);
    c->send_buf = NULL;
    if (!ok) {
        c->end_status = GRPC_STATUS_UNAVAILABLE;
        c->end_detail = "write failed";
        stream_end(c);
    } else {
        watch_pump(c);
    }
    pthread_mutex_unlock(&c->mu);
}

static void handle_watch(call *c)
{
    Custos__V1__WatchRequest *req = unpack_request(c, &custos__v1__watch_request__descriptor);
    if (req == NULL)
        return;
    c->cursor = req->after_cursor;
    custos__v1__watch_request__free_unpacked(req, NULL);
    if (!stream_admit(c))
        return;
    c->end_status = GRPC_STATUS_OK;
    if (!stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    watch_pump(c);
    pthread_mutex_unlock(&c->mu);
}

/* Committer thread: only bump the generation; the waker does the work. */
static void on_commit(void *ctx, uint64_t head)
{
    gw_server *srv = ctx;
    pthread_mutex_lock(&srv->wmu);
    srv->gen++;
    pthread_cond_signal(&srv->wake);
    pthread_mutex_unlock(&srv->wmu);
}

/* Takes a referenced snapshot of the stream list (NULL with *n = 0 when empty or out of
 * memory). Called with wmu held. */
static call **snapshot_streams(gw_server *srv, size_t *n)
{
    *n = 0;
    if (srv->n_streams == 0)
        return NULL;
    call **v = malloc(srv->n_streams * sizeof *v);
    if (v == NULL) {
        gw_log(GW_LOG_ERROR, "streams", "out of memory listing %zu streams", srv->n_streams);
        return NULL;
    }
    for (call *c = srv->streams; c != NULL; c = c->next) {
        call_ref(c);
        v[(*n)++] = c;
    }
    return v;
}

/* Ends a SubmitStream whose client has sent nothing for [limits] stream_idle_seconds
 * while every request it sent is answered: a connection that opens streams and never
 * sends would otherwise hold them, and its stream places, for ever. */
static void stream_end_if_idle(call *c, uint64_t now_ns)
{
    uint64_t idle_ns = (uint64_t)c->srv->cfg->limits.stream_idle_seconds * 1000000000u;
    pthread_mutex_lock(&c->mu);
    /* now_ns was sampled before the lock: a message may have come since. */
    if (c->state == CALL_ACTIVE && !c->half_closed && c->head == c->tail &&
        now_ns > c->last_recv_ns && now_ns - c->last_recv_ns >= idle_ns) {
        c->state = CALL_ENDING;
        c->end_status = GRPC_STATUS_DEADLINE_EXCEEDED;
        c->end_detail = "no message within [limits] stream_idle_seconds: stream closed";
        stream_pump(c);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Wakes parked Watch streams after commits, and sweeps idle SubmitStreams. */
static void *waker_main(void *arg)
{
    gw_server *srv = arg;
    (void)pthread_setname_np(pthread_self(), "custos-waker");
    uint64_t seen = 0;
    const uint64_t sweep_ns = IDLE_SWEEP_MS * 1000000ull;
    uint64_t next_sweep = gw_mono_ns() + sweep_ns;
    pthread_mutex_lock(&srv->wmu);
    for (;;) {
        while (srv->gen == seen && !srv->waker_stop && gw_mono_ns() < next_sweep) {
            struct timespec until;
            gw_mono_deadline(&until, IDLE_SWEEP_MS * 1000000ull);
            pthread_cond_timedwait(&srv->wake, &srv->wmu, &until);
        }
        if (srv->waker_stop)
            break;
        uint64_t now = gw_mono_ns();
        bool sweep = now >= next_sweep;
        if (sweep)
            next_sweep = now + sweep_ns;
        bool committed = srv->gen != seen;
        seen = srv->gen;
        size_t n;
        call **v = snapshot_streams(srv, &n);
        pthread_mutex_unlock(&srv->wmu);
        for (size_t i = 0; i < n; i++) {
            call *c = v[i];
            if (sweep && c->m == M_SUBMIT_STREAM)
                stream_end_if_idle(c, now);
            if (committed && c->m == M_WATCH) {
                pthread_mutex_lock(&c->mu);
                if (c->parked) {
                    c->parked = false;
                    watch_pump(c);
                }
                pthread_mutex_unlock(&c->mu);
            }
            call_unref(c);
        }
        free(v);
        pthread_mutex_lock(&srv->wmu);
    }
    pthread_mutex_unlock(&srv->wmu);
    return NULL;
}

/* ---- workers ---- */

static void post_request(worker *w, method m)
{
    gw_server *srv = w->srv;
    if (atomic_load(&srv->stopping))
        return;
    call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        gw_log(GW_LOG_ERROR, "grpc_request", "out of memory posting a request");
        return;
    }
    c->srv = srv;
    c->w = w;
    c->m = m;
    c->state = CALL_REQUESTED;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    call_op *ops[] = {&c->req_op, &c->recv_op, &c->send_op, &c->close_op, &c->finish_op};
    for (int k = OP_REQUEST; k <= OP_FINISH; k++) {
        ops[k]->c = c;
        ops[k]->kind = (op_kind)k;
    }
    grpc_metadata_array_init(&c->req_md);
    pthread_mutex_lock(&srv->mu);
    srv->live++;
    pthread_mutex_unlock(&srv->mu);

    grpc_call_error e;
    if (m == M_UNKNOWN) {
        grpc_call_details_init(&c->details);
        e = grpc_server_request_call(srv->server, &c->gc, &c->details, &c->req_md, w->cq, w->cq,
                                     &c->req_op);
    } else {
        bool payload = method_table[m].payload == GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
        e = grpc_server_request_registered_call(srv->server, srv->handles[m], &c->gc,
                                                &c->deadline, &c->req_md,
                                                payload ? &c->payload : NULL, w->cq, w->cq,
                                                &c->req_op);
    }
    if (e != GRPC_CALL_OK) {
        gw_log(GW_LOG_ERROR, "grpc_request", "cannot post a request: %s",
               grpc_call_error_to_string(e));
        call_unref(c);
    }
}

static void on_request(call *c, bool ok)
{
    if (!ok) {
        call_unref(c);
        return;
    }
    post_request(c->w, c->m);
    c->state = CALL_ACTIVE;
    take_request_id(c);
    switch (c->m) {
    case M_SUBMIT: handle_submit(c); break;
    case M_SUBMIT_STREAM: handle_submit_stream(c); break;
    case M_GET_LATEST: handle_get_latest(c); break;
    case M_LIST_HELD: handle_list_held(c); break;
    case M_WATCH: handle_watch(c); break;
    case M_LIST_SIGNERS: handle_list_signers(c); break;
    case M_GET_CHAIN_HEAD: handle_get_chain_head(c); break;
    case M_LIST_AUDIT: handle_list_audit(c); break;
    case M_ADD_SIGNER: handle_add_signer(c); break;
    case M_REVOKE_SIGNER: handle_revoke_signer(c); break;
    case M_ROTATE_SIGNER: handle_rotate_signer(c); break;
    case M_SET_FEED_POLICY: handle_set_feed_policy(c); break;
    case M_RELEASE_HELD: handle_release_held(c); break;
    case M_HEALTH_CHECK: handle_health_check(c); break;
    case M_HEALTH_WATCH: handle_health_watch(c); break;
    case M_POSITION_PROOF: handle_position_proof(c); break;
    case M_SUBMIT_RESERVES: handle_submit_reserves(c); break;
    case M_GET_RESERVES: handle_get_reserves(c); break;
    case M_RESERVES_PROOF: handle_reserves_proof(c); break;
    case M_UNKNOWN: handle_unknown(c); break;
    case M_COUNT: break;
    }
    call_unref(c);
}

static void dispatch(call_op *o, bool ok)
{
    call *c = o->c;
    switch (o->kind) {
    case OP_REQUEST:
        on_request(c, ok);
        return;
    case OP_RECV:
        stream_on_recv(c, ok);
        break;
    case OP_SEND:
        if (c->m == M_SUBMIT_STREAM)
            stream_on_sent(c, ok);
        else if (c->m == M_WATCH)
            watch_on_sent(c, ok);
        else
            health_watch_on_sent(c, ok);
        break;
    case OP_CLOSE:
        on_close(c);
        break;
    case OP_FINISH:
        break;
    }
    call_unref(c);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    (void)pthread_setname_np(pthread_self(), "custos-grpc");
    for (int m = 0; m < M_COUNT; m++)
        post_request(w, (method)m);
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            dispatch(ev.tag, ev.success != 0);
    }
    return NULL;
}

/* ---- lifecycle ---- */

static void cq_drain(grpc_completion_queue *cq)
{
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
}

static void cq_drain_destroy(grpc_completion_queue *cq)
{
    cq_drain(cq);
    grpc_completion_queue_destroy(cq);
}

static size_t worker_count(const gw_config *cfg)
{
    if (cfg->workers > 0)
        return cfg->workers;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

custos_rc gw_server_new(const gw_config *cfg, gw_engine *engine, gw_admin *admin,
                        gw_server **out,
                        custos_error *err)
{
    *out = NULL;
    gw_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory creating the server");
    s->n_workers = worker_count(cfg);
    s->workers = calloc(s->n_workers, sizeof *s->workers);
    if (s->workers == NULL) {
        size_t n = s->n_workers;
        free(s);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory for %zu workers", n);
    }
    grpc_init();
    s->cfg = cfg;
    s->admin = admin;
    s->engine = engine;
    atomic_init(&s->stopping, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    pthread_mutex_init(&s->wmu, NULL);
    pthread_condattr_t cattr;
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &cattr);
    pthread_condattr_destroy(&cattr);
    const gw_limits_config *lim = &cfg->limits;
    if (gw_limiter_new(lim->rate_per_second, lim->burst, lim->max_streams_per_client,
                       lim->max_clients, &s->limiter, err) != CUSTOS_OK ||
        gw_reserves_trees_new(&s->reserves_trees, err) != CUSTOS_OK)
        goto fail_early;

    size_t limit = cfg->max_message_bytes + MESSAGE_MARGIN;
    grpc_arg arg[2];
    memset(arg, 0, sizeof arg);
    arg[0].type = GRPC_ARG_INTEGER;
    arg[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    arg[0].value.integer = limit > INT_MAX ? INT_MAX : (int)limit;
    arg[1].type = GRPC_ARG_INTEGER;
    arg[1].key = GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS;
    arg[1].value.integer = HANDSHAKE_TIMEOUT_MS;
    grpc_channel_args args = {2, arg};
    s->server = grpc_server_create(&args, NULL);
    for (int m = 0; m < M_REGISTERED; m++) {
        s->handles[m] = grpc_server_register_method(s->server, method_table[m].path, NULL,
                                                    method_table[m].payload, 0);
        if (s->handles[m] == NULL) {
            custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot register %s",
                             method_table[m].path);
            goto fail;
        }
    }
    for (size_t i = 0; i < s->n_workers; i++) {
        s->workers[i].srv = s;
        s->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
        grpc_server_register_completion_queue(s->server, s->workers[i].cq, NULL);
    }
    s->shutdown_cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->shutdown_cq, NULL);
    grpc_server_credentials *creds = NULL;
    if (gw_tls_server_credentials(cfg, &creds, err) != CUSTOS_OK)
        goto fail;
    s->port = grpc_server_add_http2_port(s->server, cfg->listen, creds);
    grpc_server_credentials_release(creds);
    if (s->port == 0) {
        custos_error_set(err, CUSTOS_ERR_IO,
                         "cannot listen on %s: address in use, not local, or not host:port",
                         cfg->listen);
        goto fail;
    }
    grpc_server_start(s->server);
    gw_engine_set_commit_listener(engine, on_commit, s);
    if (pthread_create(&s->waker, NULL, waker_main, s) == 0)
        s->waker_started = true;
    for (size_t i = 0; i < s->n_workers; i++)
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) == 0)
            s->workers[i].started = true;
    if (!s->waker_started || !s->workers[0].started) {
        gw_server_free(s);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot start server threads");
    }
    *out = s;
    return CUSTOS_OK;

fail:
    grpc_server_destroy(s->server);
    for (size_t i = 0; i < s->n_workers; i++)
        if (s->workers[i].cq != NULL)
            cq_drain_destroy(s->workers[i].cq);
    if (s->shutdown_cq != NULL)
        cq_drain_destroy(s->shutdown_cq);
fail_early:
    gw_reserves_trees_free(s->reserves_trees);
    gw_limiter_free(s->limiter);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->wmu);
    pthread_cond_destroy(&s->wake);
    free(s->workers);
    free(s);
    grpc_shutdown();
    return err != NULL ? err->code : CUSTOS_ERR_INTERNAL;
}

int gw_server_port(const gw_server *s)
{
    return s->port;
}

/* Asks every long-lived stream to end: Watch and Health/Watch with OK, SubmitStream with
 * UNAVAILABLE once the requests already read are answered. */
static void end_streams(gw_server *srv)
{
    pthread_mutex_lock(&srv->wmu);
    atomic_store(&srv->stopping, true);
    size_t n;
    call **v = snapshot_streams(srv, &n);
    pthread_mutex_unlock(&srv->wmu);
    for (size_t i = 0; i < n; i++) {
        call *c = v[i];
        pthread_mutex_lock(&c->mu);
        if (c->state == CALL_ACTIVE) {
            c->state = CALL_ENDING;
            if (c->m == M_SUBMIT_STREAM) {
                c->end_status = GRPC_STATUS_UNAVAILABLE;
                c->end_detail = "the gateway is shutting down";
                stream_pump(c);
            } else {
                c->parked = false;
                if (!c->send_busy)
                    stream_end(c);
            }
        }
        pthread_mutex_unlock(&c->mu);
        call_unref(c);
    }
    free(v);
}

void gw_server_shutdown(gw_server *s, int drain_ms)
{
    if (s == NULL || s->shut)
        return;
    s->shut = true;
    int shutdown_tag;
    grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, &shutdown_tag);
    end_streams(s);

    gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                      gpr_time_from_millis(drain_ms, GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(s->shutdown_cq, until, NULL);
    if (ev.type != GRPC_OP_COMPLETE) {
        gw_log(GW_LOG_WARN, "shutdown", "calls still open after %d ms: cancelling them",
               drain_ms);
        grpc_server_cancel_all_calls(s->server);
        grpc_completion_queue_next(s->shutdown_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    }
    cq_drain(s->shutdown_cq);

    /* Cancelled calls may still await the engine's callback: their batches need the
     * queues, so wait for every call to be gone before shutting the queues down. */
    pthread_mutex_lock(&s->mu);
    while (s->live > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);

    gw_engine_set_commit_listener(s->engine, NULL, NULL);
    pthread_mutex_lock(&s->wmu);
    s->waker_stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->wmu);
    if (s->waker_started)
        pthread_join(s->waker, NULL);
    s->waker_started = false;

    for (size_t i = 0; i < s->n_workers; i++) {
        worker *w = &s->workers[i];
        if (w->started) {
            grpc_completion_queue_shutdown(w->cq);
            pthread_join(w->thread, NULL);
            w->started = false;
        } else {
            cq_drain(w->cq);
        }
    }
}

void gw_server_free(gw_server *s)
{
    if (s == NULL)
        return;
    gw_server_shutdown(s, 0);
    grpc_server_destroy(s->server);
    for (size_t i = 0; i < s->n_workers; i++)
        grpc_completion_queue_destroy(s->workers[i].cq);
    grpc_completion_queue_destroy(s->shutdown_cq);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->wmu);
    pthread_cond_destroy(&s->wake);
    gw_reserves_trees_free(s->reserves_trees);
    gw_limiter_free(s->limiter);
    free(s->workers);
    free(s);
    grpc_shutdown();
}
