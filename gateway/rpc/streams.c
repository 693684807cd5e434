/* The server's list of long-lived streams (SubmitStream, Watch, Health/Watch) and the
 * waker thread that serves them between completions: after each commit it runs the
 * streams' on_commit (parked Watch streams read on), and every IDLE_SWEEP_MS their
 * on_sweep (idle SubmitStreams are closed). Shutdown walks the same list. */
#include "rpc/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "monotonic.h"
#include "tls.h"

/* How often the waker looks for SubmitStreams idle beyond [limits] stream_idle_seconds. */
#define IDLE_SWEEP_MS 1000

static void unlist(gw_rpc_call *c)
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
        if (c->method->stream->on_commit != NULL)
            srv->n_commit_streams--;
        was = true;
    }
    pthread_mutex_unlock(&srv->wmu);
    if (was && c->holds_stream) {
        c->holds_stream = false;
        gw_limiter_stream_close(srv->limiter, c->client);
    }
    if (was)
        gw_rpc_call_unref(c);
}

bool gw_rpc_stream_admit(gw_rpc_call *c, bool count_refusal)
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
    if (count_refusal)
        gw_metrics_count_refusal(CUSTOS_REASON_TOO_MANY_STREAMS);
    gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, detail, CUSTOS_REASON_TOO_MANY_STREAMS,
                  NULL);
    return false;
}

bool gw_rpc_stream_begin(gw_rpc_call *c)
{
    gw_server *srv = c->srv;
    gw_rpc_call_ref(c);
    pthread_mutex_lock(&srv->wmu);
    c->listed = true;
    c->prev = NULL;
    c->next = srv->streams;
    if (srv->streams != NULL)
        srv->streams->prev = c;
    srv->streams = c;
    srv->n_streams++;
    if (c->method->stream->on_commit != NULL)
        srv->n_commit_streams++;
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
    bool ok = gw_rpc_call_batch(c, &op, 1, &c->close_op);
    if (!ok)
        c->state = CALL_CLOSED;
    pthread_mutex_unlock(&c->mu);
    if (!ok)
        unlist(c);
    return ok;
}

void gw_rpc_stream_on_close(gw_rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->cancelled && c->state != CALL_FINISHED)
        gw_log_req(GW_LOG_DEBUG, "stream_cancelled", c->request_id,
                   "%s: the client went away", gw_rpc_call_path(c));
    c->state = CALL_CLOSED;
    pthread_mutex_unlock(&c->mu);
    unlist(c);
}

uint64_t gw_rpc_streams_generation(gw_server *srv)
{
    pthread_mutex_lock(&srv->wmu);
    uint64_t gen = srv->gen;
    pthread_mutex_unlock(&srv->wmu);
    return gen;
}

/* Committer thread: only bump the generation; the waker does the work. It is woken only
 * when a listed stream wants commits: a wake-up per commit for none cost the gateway about
 * 2% of its CPU in batches. A stream listed later still sees every commit after its own
 * sample of the generation (watch_pump). */
static void on_commit(void *ctx, uint64_t head)
{
    gw_server *srv = ctx;
    pthread_mutex_lock(&srv->wmu);
    srv->gen++;
    if (srv->n_commit_streams > 0)
        pthread_cond_signal(&srv->wake);
    pthread_mutex_unlock(&srv->wmu);
}

/* Takes a referenced snapshot of the stream list (NULL with *n = 0 when empty or out of
 * memory). Called with wmu held. */
static gw_rpc_call **snapshot_streams(gw_server *srv, size_t *n)
{
    *n = 0;
    if (srv->n_streams == 0)
        return NULL;
    gw_rpc_call **v = malloc(srv->n_streams * sizeof *v);
    if (v == NULL) {
        gw_log(GW_LOG_ERROR, "streams", "out of memory listing %zu streams", srv->n_streams);
        return NULL;
    }
    for (gw_rpc_call *c = srv->streams; c != NULL; c = c->next) {
        gw_rpc_call_ref(c);
        v[(*n)++] = c;
    }
    return v;
}

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
        gw_rpc_call **v = snapshot_streams(srv, &n);
        pthread_mutex_unlock(&srv->wmu);
        for (size_t i = 0; i < n; i++) {
            gw_rpc_call *c = v[i];
            const gw_rpc_stream_ops *ops = c->method->stream;
            if (sweep && ops->on_sweep != NULL)
                ops->on_sweep(c, now);
            if (committed && ops->on_commit != NULL)
                ops->on_commit(c);
            gw_rpc_call_unref(c);
        }
        free(v);
        pthread_mutex_lock(&srv->wmu);
    }
    pthread_mutex_unlock(&srv->wmu);
    return NULL;
}

bool gw_rpc_streams_start(gw_server *srv)
{
    gw_engine_set_commit_listener(srv->engine, on_commit, srv);
    srv->waker_started = pthread_create(&srv->waker, NULL, waker_main, srv) == 0;
    return srv->waker_started;
}

void gw_rpc_streams_end(gw_server *srv)
{
    pthread_mutex_lock(&srv->wmu);
    atomic_store(&srv->stopping, true);
    size_t n;
    gw_rpc_call **v = snapshot_streams(srv, &n);
    pthread_mutex_unlock(&srv->wmu);
    for (size_t i = 0; i < n; i++) {
        gw_rpc_call *c = v[i];
        pthread_mutex_lock(&c->mu);
        if (c->state == CALL_ACTIVE) {
            c->state = CALL_ENDING;
            c->parked = false; /* a parked Watch no longer waits for a commit */
            if (c->method->stream->unavailable_on_stop) {
                c->end_status = GRPC_STATUS_UNAVAILABLE;
                c->end_detail = "the gateway is shutting down";
            }
            c->method->stream->pump(c);
        }
        pthread_mutex_unlock(&c->mu);
        gw_rpc_call_unref(c);
    }
    free(v);
}

void gw_rpc_streams_stop(gw_server *srv)
{
    gw_engine_set_commit_listener(srv->engine, NULL, NULL);
    pthread_mutex_lock(&srv->wmu);
    srv->waker_stop = true;
    pthread_cond_signal(&srv->wake);
    pthread_mutex_unlock(&srv->wmu);
    if (srv->waker_started)
        pthread_join(srv->waker, NULL);
    srv->waker_started = false;
}
