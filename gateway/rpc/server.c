/* The gRPC server (server.h): a pool of completion-queue worker threads, each with one
 * request posted per method (methods.c), and the server's start and graceful stop. */
#include "rpc/call.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "rpc/channel_args.h"
#include "tls.h"

/* gRPC itself rejects anything above max_message_bytes + this, without our reason code;
 * the slack lets us answer a slightly oversized message with TOO_LARGE ourselves. */
#define MESSAGE_MARGIN (64u * 1024u)
/* A TLS handshake or HTTP/2 preface that has not completed by then is dropped, so that
 * connections which never speak gRPC do not accumulate (gRPC's default is 120 s). */
#define HANDSHAKE_TIMEOUT_MS 10000

/* ---- workers ---- */

void gw_rpc_post_request(gw_rpc_worker *w, size_t index)
{
    gw_server *srv = w->srv;
    if (atomic_load(&srv->stopping))
        return;
    gw_rpc_call *c = gw_rpc_call_new(w, index);
    if (c == NULL) {
        gw_log(GW_LOG_ERROR, "grpc_request", "out of memory posting a request");
        return;
    }
    grpc_call_error e;
    if (c->method->path == NULL) {
        e = grpc_server_request_call(srv->server, &c->gc, &c->details, &c->req_md, w->cq, w->cq,
                                     &c->req_op);
    } else {
        bool payload = c->method->payload == GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER;
        e = grpc_server_request_registered_call(srv->server, srv->handles[index], &c->gc,
                                                &c->deadline, &c->req_md,
                                                payload ? &c->payload : NULL, w->cq, w->cq,
                                                &c->req_op);
    }
    if (e != GRPC_CALL_OK) {
        gw_log(GW_LOG_ERROR, "grpc_request", "cannot post a request: %s",
               grpc_call_error_to_string(e));
        gw_rpc_call_unref(c);
    }
}

static void *worker_main(void *arg)
{
    gw_rpc_worker *w = arg;
    (void)pthread_setname_np(pthread_self(), "custos-grpc");
    for (size_t m = 0; m <= GW_RPC_METHODS; m++)
        gw_rpc_post_request(w, m);
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            gw_rpc_dispatch(ev.tag, ev.success != 0);
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

custos_rc gw_server_new(const gw_config *cfg, gw_engine *engine, gw_admin *admin,
                        gw_server **out, custos_error *err)
{
    *out = NULL;
    gw_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory creating the server");
    s->n_workers = gw_config_workers(cfg, sysconf(_SC_NPROCESSORS_ONLN));
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
        gw_reserves_trees_new(&s->reserves_trees, err) != CUSTOS_OK ||
        gw_descriptors_new(&s->descriptors, err) != CUSTOS_OK)
        goto fail_early;

    gw_channel_args *args = NULL;
    if (gw_channel_args_new(cfg, cfg->max_message_bytes + MESSAGE_MARGIN, HANDSHAKE_TIMEOUT_MS,
                            &args, err) != CUSTOS_OK)
        goto fail_early;
    s->server = grpc_server_create(gw_channel_args_get(args), NULL);
    gw_channel_args_free(args);
    for (size_t m = 0; m < GW_RPC_METHODS; m++) {
        s->handles[m] = grpc_server_register_method(s->server, gw_rpc_methods[m].path, NULL,
                                                    gw_rpc_methods[m].payload, 0);
        if (s->handles[m] == NULL) {
            custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot register %s",
                             gw_rpc_methods[m].path);
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
    bool waker = gw_rpc_streams_start(s);
    for (size_t i = 0; i < s->n_workers; i++)
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) == 0)
            s->workers[i].started = true;
    if (!waker || !s->workers[0].started) {
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
    gw_descriptors_free(s->descriptors);
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

void gw_server_shutdown(gw_server *s, int drain_ms)
{
    if (s == NULL || s->shut)
        return;
    s->shut = true;
    int shutdown_tag;
    grpc_server_shutdown_and_notify(s->server, s->shutdown_cq, &shutdown_tag);
    gw_rpc_streams_end(s);

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

    gw_rpc_streams_stop(s);

    for (size_t i = 0; i < s->n_workers; i++) {
        gw_rpc_worker *w = &s->workers[i];
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
    gw_descriptors_free(s->descriptors);
    gw_reserves_trees_free(s->reserves_trees);
    gw_limiter_free(s->limiter);
    free(s->workers);
    free(s);
    grpc_shutdown();
}
