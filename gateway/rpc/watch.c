/* Watch: the accepted log from a cursor on, then each entry as it is committed: the
 * records, and the collateral notices too when the client asks (WatchRequest.notices,
 * docs/attestation.md §19), merged in cursor order.
 *
 * A Watch sends queued entries one at a time, refills its queue from the engine, and
 * parks when caught up; the waker runs watch_on_commit after each commit, which un-parks
 * it. */
#include "rpc/call.h"

#include <stdlib.h>

#include <grpc/byte_buffer.h>

#include "rpc/handlers.h"

/* Locked. Queues the next records and notices after c->cursor, in cursor order; false if
 * the engine cannot answer. Records and notices are two reads: both stop at the head read
 * before them (every entry up to it is committed, in cursor order), and at the last entry
 * of a full read, so an entry committed between the two reads is not passed over. */
static bool watch_refill_log(gw_rpc_call *c)
{
    uint64_t head = gw_engine_head(c->srv->engine);
    if (head <= c->cursor)
        return true;
    custos_record *recs = calloc(GW_RPC_WATCH_BATCH, sizeof *recs);
    gw_store_notice *notes = calloc(GW_RPC_WATCH_BATCH, sizeof *notes);
    size_t nr = 0, nn = 0;
    custos_error err;
    custos_error_clear(&err);
    bool ok = recs != NULL && notes != NULL &&
              gw_engine_read_from(c->srv->engine, c->cursor, recs, GW_RPC_WATCH_BATCH, &nr,
                                  &err) == CUSTOS_OK &&
              gw_engine_read_notices_from(c->srv->engine, c->cursor, notes, GW_RPC_WATCH_BATCH,
                                          &nn, &err) == CUSTOS_OK;
    if (!ok && recs != NULL && notes != NULL)
        gw_log_req(GW_LOG_ERROR, "watch_read", c->request_id, "after cursor %llu: %s",
                   (unsigned long long)c->cursor, err.message);
    uint64_t limit = head;
    if (nr == GW_RPC_WATCH_BATCH && recs[nr - 1].cursor < limit)
        limit = recs[nr - 1].cursor;
    if (nn == GW_RPC_WATCH_BATCH && notes[nn - 1].cursor < limit)
        limit = notes[nn - 1].cursor;
    size_t i = 0, j = 0;
    while (ok && c->outq_n < GW_RPC_WATCH_BATCH) {
        bool rec_next = i < nr && recs[i].cursor <= limit &&
                        (j >= nn || recs[i].cursor < notes[j].cursor);
        bool note_next = !rec_next && j < nn && notes[j].cursor <= limit;
        if (!rec_next && !note_next)
            break;
        uint64_t cursor = rec_next ? recs[i].cursor : notes[j].cursor;
        grpc_byte_buffer *bb = rec_next ? gw_rpc_pack_record(c, &recs[i++], true)
                                        : gw_rpc_pack_notice_event(c, &notes[j++]);
        if (bb == NULL) {
            ok = false;
        } else {
            c->outq[c->outq_n++] = bb;
            c->cursor = cursor;
        }
    }
    for (size_t k = 0; k < nr; k++)
        custos_record_clear(&recs[k]);
    free(notes);
    free(recs);
    return ok;
}

/* Locked. Queues the next records after c->cursor; false if the engine cannot answer. */
static bool watch_refill(gw_rpc_call *c)
{
    if (c->notices)
        return watch_refill_log(c);
    custos_record *recs = calloc(GW_RPC_WATCH_BATCH, sizeof *recs);
    if (recs == NULL)
        return false;
    size_t n = 0;
    custos_error err;
    custos_error_clear(&err);
    bool ok = gw_engine_read_from(c->srv->engine, c->cursor, recs, GW_RPC_WATCH_BATCH, &n,
                                  &err) == CUSTOS_OK;
    if (!ok)
        gw_log_req(GW_LOG_ERROR, "watch_read", c->request_id, "after cursor %llu: %s",
                   (unsigned long long)c->cursor, err.message);
    for (size_t i = 0; i < n; i++) {
        if (ok) {
            grpc_byte_buffer *bb = gw_rpc_pack_record(c, &recs[i], true);
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
static void watch_pump(gw_rpc_call *c)
{
    gw_server *srv = c->srv;
    for (;;) {
        if (c->state != CALL_ACTIVE && c->state != CALL_ENDING)
            return;
        if (c->send_busy)
            return;
        if (c->state == CALL_ENDING) {
            gw_rpc_stream_end(c);
            return;
        }
        if (c->outq_i < c->outq_n) {
            grpc_byte_buffer *bb = c->outq[c->outq_i];
            c->outq[c->outq_i++] = NULL;
            /* Queued entries go out together: each but the last queued carries the hint,
             * since the next is sent once its send completes (docs/operations.md §14).
             * Only the queue, never the log's head, says another follows: an entry read
             * later might never come (the store failing, the call ending). */
            gw_rpc_stream_send_more(c, bb, c->outq_i < c->outq_n);
            return;
        }
        c->outq_i = c->outq_n = 0;
        uint64_t gen = gw_rpc_streams_generation(srv);
        if (!watch_refill(c)) {
            c->state = CALL_ENDING;
            c->end_status = GRPC_STATUS_UNAVAILABLE;
            c->end_detail = "the store cannot be read";
            continue;
        }
        if (c->outq_n > 0)
            continue;
        c->parked = true;
        if (gw_rpc_streams_generation(srv) == gen)
            return;
        c->parked = false;
    }
}

static void watch_on_commit(gw_rpc_call *c)
{
    pthread_mutex_lock(&c->mu);
    if (c->parked) {
        c->parked = false;
        watch_pump(c);
    }
    pthread_mutex_unlock(&c->mu);
}

const gw_rpc_stream_ops gw_rpc_watch_ops = {
    .pump = watch_pump,
    .on_commit = watch_on_commit,
};

void gw_rpc_watch(gw_rpc_call *c)
{
    Custos__V1__WatchRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__watch_request__descriptor);
    if (req == NULL)
        return;
    c->cursor = req->after_cursor;
    c->notices = req->notices;
    custos__v1__watch_request__free_unpacked(req, NULL);
    if (!gw_rpc_stream_admit(c, false))
        return;
    c->end_status = GRPC_STATUS_OK;
    if (!gw_rpc_stream_begin(c))
        return;
    pthread_mutex_lock(&c->mu);
    watch_pump(c);
    pthread_mutex_unlock(&c->mu);
}
