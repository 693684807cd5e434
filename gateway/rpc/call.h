/* The gRPC call machinery shared by the files of rpc/ (nothing outside rpc/ includes it):
 * the server and call structs, the call's lifetime, byte buffers, request ids, finishing
 * a call, the list of long-lived streams and the abuse limits.
 *
 * Threads: `workers` threads each block on their own completion queue and keep one
 * request posted per method on it, so a call lives on the worker whose queue matched it.
 * Engine callbacks arrive from the committer thread and the waker thread runs wake-ups
 * after commits; both touch a call only under its mutex, which also serialises every
 * grpc_call_start_batch on that call.
 *
 * Lifetime: a call is reference counted. The posted request holds one reference (handed
 * to the handler once a client arrives); every started batch, every pending engine
 * submission and membership of the stream list hold one more. The last unref frees it.
 *
 * Abuse limits (limiter.c): every submission takes a token from its client's bucket, and
 * every stream holds one of its client's stream places from admission until it leaves
 * the stream list, whichever way it ends. */
#ifndef GATEWAY_RPC_CALL_H
#define GATEWAY_RPC_CALL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>

#include "custos/hex.h"
#include "custos/reason.h"
#include "custos/v1/gateway.pb-c.h"

#include "admin.h"
#include "config/config.h"
#include "engine/engine.h"
#include "health.h"
#include "limiter.h"
#include "log.h"
#include "reserves_trees.h"
#include "rpc/descriptors.h"
#include "rpc/server.h"

/* SubmitStream requests read but not yet answered, per call. Large enough that the next
 * commit group is read and verified while the previous one is being made durable: with a
 * window no larger than a group, verification and fsync take turns instead of overlapping. */
#define GW_RPC_STREAM_WINDOW 2048
/* Records fetched from the engine per Watch refill. */
#define GW_RPC_WATCH_BATCH 32
/* The registered methods (gw_rpc_methods); the row after them answers unknown methods. */
#define GW_RPC_METHODS 27

typedef enum gw_rpc_state {
    CALL_REQUESTED, /* posted, waiting for a client */
    CALL_ACTIVE,    /* serving */
    CALL_ENDING,    /* the server wants to end it: status goes out once nothing is pending */
    CALL_FINISHED,  /* status batch started: no more batches */
    CALL_CLOSED     /* the call is over (done or cancelled): no more batches */
} gw_rpc_state;

typedef enum gw_rpc_op_kind { OP_REQUEST, OP_RECV, OP_SEND, OP_CLOSE, OP_FINISH } gw_rpc_op_kind;

typedef struct gw_rpc_call gw_rpc_call;

/* Completion tag: which batch of which call completed. */
typedef struct gw_rpc_op {
    gw_rpc_call *c;
    gw_rpc_op_kind kind;
} gw_rpc_op;

/* What a long-lived stream does besides the call machinery. Every function is called with
 * the call's mutex held except on_recv, on_commit and on_sweep, which take it. */
typedef struct gw_rpc_stream_ops {
    /* What comes next: the next write, or the end once nothing is pending. Runs after
     * every completed write and when the server ends the stream. */
    void (*pump)(gw_rpc_call *c);
    /* Client streaming: a read completed (ok false or no message: the client's half ended). */
    void (*on_recv)(gw_rpc_call *c, bool ok);
    /* Optional: the engine committed (the waker thread). */
    void (*on_commit)(gw_rpc_call *c);
    /* Optional: every idle sweep of the waker, with the time it began. */
    void (*on_sweep)(gw_rpc_call *c, uint64_t now_ns);
    /* A shutdown ends the stream UNAVAILABLE (the client may have more to send) instead of
     * with the status it would end with anyway. */
    bool unavailable_on_stop;
} gw_rpc_stream_ops;

/* One row of the method table (methods.c): the path a client calls, how gRPC hands over
 * its request, and the handler that serves it. */
typedef struct gw_rpc_method {
    const char *path; /* NULL: the row of unknown methods */
    grpc_server_register_method_payload_handling payload;
    /* A client called: the call is ACTIVE (see handlers.h). */
    void (*handler)(gw_rpc_call *c);
    const gw_rpc_stream_ops *stream; /* NULL for unary methods */
} gw_rpc_method;

/* GW_RPC_METHODS registered rows, then the row of unknown methods. */
extern const gw_rpc_method gw_rpc_methods[GW_RPC_METHODS + 1];

/* One SubmitStream request awaiting its answer. */
typedef struct gw_rpc_slot {
    gw_rpc_call *c;
    uint64_t request_id;
    bool done;
    grpc_byte_buffer *reply;
} gw_rpc_slot;

typedef struct gw_rpc_worker {
    gw_server *srv;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool started;
} gw_rpc_worker;

struct gw_rpc_call {
    gw_server *srv;
    gw_rpc_worker *w;
    const gw_rpc_method *method;
    gw_rpc_state state;
    atomic_int refs;
    pthread_mutex_t mu;
    gw_rpc_op req_op, recv_op, send_op, close_op, finish_op;

    grpc_call *gc;
    gpr_timespec deadline;
    grpc_metadata_array req_md;
    grpc_call_details details;  /* unknown methods only */
    grpc_byte_buffer *payload;  /* the request of unary and server-streaming methods */

    grpc_metadata trailer[2];   /* a refusal's custos-reason and grpc-status-details-bin */
    grpc_slice status_details;  /* the latter's value (a google.rpc.Status), owned here */
    bool has_status_details;
    /* What a refusal's ErrorInfo names, when the handler knows it ("" otherwise). */
    char err_feed[CUSTOS_FEED_MAX + 1];
    char err_account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
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

    gw_rpc_slot *slots;         /* SubmitStream: GW_RPC_STREAM_WINDOW entries, by sequence */
    uint64_t head, tail;        /* next to answer, next to assign */

    uint64_t cursor;            /* Watch: last entry queued */
    bool parked;                /* Watch: caught up, waiting for a commit */
    bool notices;               /* Watch: the log's collateral notices too */
    grpc_byte_buffer *outq[GW_RPC_WATCH_BATCH];
    size_t outq_i, outq_n;

    char health_service[GW_HEALTH_SERVICE_MAX + 1]; /* Health/Watch: the service followed */
    int health_sent;            /* Health/Watch: the status last sent; -1 before the first */

    gw_rpc_call *prev, *next;   /* the server's list of long-lived streams */
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
    gw_descriptors *descriptors;   /* what server reflection answers from */
    grpc_server *server;
    void *handles[GW_RPC_METHODS];
    gw_rpc_worker *workers;
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
    gw_rpc_call *streams;
    size_t n_streams;
    size_t n_commit_streams; /* of them, those with an on_commit */
    bool waker_stop;
    bool waker_started;
    pthread_t waker;
};

/* ---- call lifetime (call.c) ---- */

/* A call posted on w for the method at `index` of gw_rpc_methods, with one reference, or
 * NULL when out of memory. */
gw_rpc_call *gw_rpc_call_new(gw_rpc_worker *w, size_t index);
void gw_rpc_call_ref(gw_rpc_call *c);
/* Never call with c->mu held: the last reference frees the mutex. */
void gw_rpc_call_unref(gw_rpc_call *c);
/* The method's path for log lines. */
const char *gw_rpc_call_path(const gw_rpc_call *c);
/* Starts a batch; the batch holds a reference until its completion. The caller holds a
 * reference too, so a failed start never drops the last one. */
bool gw_rpc_call_batch(gw_rpc_call *c, const grpc_op *ops, size_t n, gw_rpc_op *tag);
/* The client's x-request-id when well-formed, else a new one. */
void gw_rpc_call_take_request_id(gw_rpc_call *c);

/* ---- byte buffers (call.c) ---- */

grpc_byte_buffer *gw_rpc_pack(const ProtobufCMessage *m);
/* Flattens a received message (decompressing if needed). false if it cannot be read. */
bool gw_rpc_read(grpc_byte_buffer *bb, grpc_slice *out);
/* Unpacks the request of a unary method, or answers INVALID_ARGUMENT and returns NULL. */
void *gw_rpc_unpack_request(gw_rpc_call *c, const ProtobufCMessageDescriptor *desc);

/* ---- finishing calls (call.c) ---- */

/* The one batch of a unary call: metadata, the reply (none on error), the status with
 * the refusal reason as trailing metadata, and the close. Takes ownership of reply. */
void gw_rpc_finish(gw_rpc_call *c, grpc_status_code status, const char *detail,
                   custos_reason reason, grpc_byte_buffer *reply);
/* gw_rpc_finish with reason's own status, after counting and logging the refusal. */
void gw_rpc_refuse(gw_rpc_call *c, custos_reason reason, const char *detail);
/* Locked. Ends a stream with c->end_status (its RECV_CLOSE is already posted). */
void gw_rpc_stream_end(gw_rpc_call *c);
/* Locked. Starts the one SEND_MESSAGE a stream may have in flight; takes bb. */
void gw_rpc_stream_send(gw_rpc_call *c, grpc_byte_buffer *bb);
/* The same, saying whether the caller has another message ready to send as soon as this
 * one's send completes (more): the transport may then hold this one and write both
 * together (GRPC_WRITE_BUFFER_HINT). Only a caller that will send that next message may
 * say more: a hinted message waits for a write that follows it. */
void gw_rpc_stream_send_more(gw_rpc_call *c, grpc_byte_buffer *bb, bool more);
/* The write of a stream completed: the one send completion of every streaming method. */
void gw_rpc_stream_on_sent(gw_rpc_call *c, bool ok);

/* ---- abuse limits (call.c) ---- */

/* Takes a token from the caller's bucket; false with detail filled when it has none. */
bool gw_rpc_admit_submission(gw_rpc_call *c, char *detail, size_t cap);

/* ---- the stream list (streams.c) ---- */

/* Counts the stream against its client's [limits] max_streams_per_client; when it is one
 * too many, ends it at once with TOO_MANY_STREAMS (counted as a refusal when
 * count_refusal) and returns false. A stream admitted here gives its place back when it
 * leaves the stream list, on every path. */
bool gw_rpc_stream_admit(gw_rpc_call *c, bool count_refusal);
/* Lists the call (so shutdown and the waker find it) and posts its RECV_CLOSE, which
 * completes when the call is over, cancelled or not. */
bool gw_rpc_stream_begin(gw_rpc_call *c);
/* The RECV_CLOSE of a stream completed: the call is over. */
void gw_rpc_stream_on_close(gw_rpc_call *c);
/* The commit generation: sampled before a read so that a commit landing between the
 * read and parking is not missed. */
uint64_t gw_rpc_streams_generation(gw_server *srv);
/* Starts the waker thread and registers it for the engine's commits. */
bool gw_rpc_streams_start(gw_server *srv);
/* Asks every long-lived stream to end (gw_rpc_stream_ops unavailable_on_stop). */
void gw_rpc_streams_end(gw_server *srv);
/* Stops the waker once no call is left. */
void gw_rpc_streams_stop(gw_server *srv);

/* ---- workers and dispatch (server.c, methods.c) ---- */

/* Posts the next request for the method at `index` of gw_rpc_methods on w. */
void gw_rpc_post_request(gw_rpc_worker *w, size_t index);
/* Routes one completion of a worker's queue. */
void gw_rpc_dispatch(gw_rpc_op *o, bool ok);

/* ---- records as the caller may see them (queries.c) ---- */

/* A record as a GetLatestResponse (watch_event false) or a WatchEvent, the positions left
 * out unless the caller may read them. NULL if it cannot be converted. */
grpc_byte_buffer *gw_rpc_pack_record(const gw_rpc_call *c, const custos_record *rec,
                                     bool watch_event);
/* The record as a Custos__V1__Record for this caller (see gw_rpc_pack_record). */
CUSTOS_MUST_USE
custos_rc gw_rpc_record_for(const gw_rpc_call *c, const custos_record *rec,
                            Custos__V1__Record **m, custos_error *err);

/* ---- notices (notices.c) ---- */

/* A notice of the accepted log as a WatchEvent, with the gateway's domain. NULL if it
 * cannot be packed. */
grpc_byte_buffer *gw_rpc_pack_notice_event(const gw_rpc_call *c, gw_store_notice *n);

#endif
