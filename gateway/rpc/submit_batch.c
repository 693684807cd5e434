/* SubmitBatch (docs/rules.md rule 20): a batch signed by the feed's quorum in, the engine's
 * verdict on the batch and on each of its accounts out. */
#include "rpc/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

#include "pb_status.h"
#include "rpc/batch_decode.h"
#include "rpc/handlers.h"
#include "tls.h"

/* Reads the call's message and decodes it (batch_decode.c). */
static bool decode_batch(gw_server *srv, grpc_byte_buffer *bb, gw_batch_submission *bs,
                         custos_reason *reason, char *detail, size_t cap)
{
    *reason = CUSTOS_REASON_MALFORMED;
    if (bb == NULL) {
        snprintf(detail, cap, "the call carried no SubmitBatchRequest");
        return false;
    }
    grpc_slice slice;
    if (!gw_rpc_read(bb, &slice)) {
        snprintf(detail, cap, "the message cannot be read (unsupported compression?)");
        return false;
    }
    bool ok = gw_rpc_batch_decode(GRPC_SLICE_START_PTR(slice), GRPC_SLICE_LENGTH(slice),
                                  srv->cfg->max_message_bytes, bs, reason, detail, cap);
    grpc_slice_unref(slice);
    return ok;
}

static grpc_byte_buffer *pack_batch_response(const gw_batch_outcome *o)
{
    Custos__V1__SubmitBatchResponse r = CUSTOS__V1__SUBMIT_BATCH_RESPONSE__INIT;
    r.digest.len = sizeof o->digest;
    r.digest.data = (uint8_t *)o->digest;
    r.signatures = o->signatures;
    r.threshold = o->threshold;
    r.duplicate = o->duplicate;
    Custos__V1__SubmitResponse *accts = calloc(o->n_accounts, sizeof *accts);
    Custos__V1__SubmitResponse **ptrs = calloc(o->n_accounts, sizeof *ptrs);
    if (o->n_accounts > 0 && (accts == NULL || ptrs == NULL)) {
        free(accts);
        free(ptrs);
        return NULL;
    }
    for (size_t i = 0; i < o->n_accounts; i++) {
        const gw_batch_account_outcome *a = &o->accounts[i];
        Custos__V1__SubmitResponse *m = &accts[i];
        custos__v1__submit_response__init(m);
        m->request_id = i; /* the account's place in the request */
        m->digest.len = sizeof a->digest;
        m->digest.data = (uint8_t *)a->digest;
        if (a->reason != CUSTOS_REASON_NONE) {
            m->reason = (Custos__V1__Reason)a->reason;
            m->detail = (char *)o->details[i];
            r.refused++;
        } else {
            m->state = (Custos__V1__State)a->state;
            m->duplicate = a->duplicate;
            m->signatures = a->signatures;
            m->threshold = a->threshold;
            m->cursor = a->cursor;
            r.accepted += a->state == CUSTOS_STATE_ACCEPTED;
            r.held += a->state == CUSTOS_STATE_HELD;
        }
        ptrs[i] = m;
    }
    r.n_accounts = o->n_accounts;
    r.accounts = ptrs;
    grpc_byte_buffer *bb = gw_rpc_pack(&r.base);
    free(ptrs);
    free(accts);
    return bb;
}

static void submit_batch_done(void *ctx, const gw_batch_outcome *o)
{
    gw_rpc_call *c = ctx;
    grpc_byte_buffer *bb = o->reason == CUSTOS_REASON_NONE ? pack_batch_response(o) : NULL;
    if (o->reason != CUSTOS_REASON_NONE)
        gw_rpc_finish(c, pb_reason_status(o->reason), o->detail, o->reason, NULL);
    else if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_INTERNAL, "the gateway is out of memory",
                      CUSTOS_REASON_INTERNAL, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
    gw_rpc_call_unref(c);
}

void gw_rpc_submit_batch(gw_rpc_call *c)
{
    gw_batch_submission bs;
    memset(&bs, 0, sizeof bs);
    custos_reason reason = CUSTOS_REASON_NONE;
    char detail[256];
    /* The limit comes before decoding, as for Submit: one batch counts as one call. */
    bool ok = gw_rpc_admit_submission(c, detail, sizeof detail);
    if (!ok)
        reason = CUSTOS_REASON_RATE_LIMITED;
    else
        ok = decode_batch(c->srv, c->payload, &bs, &reason, detail, sizeof detail);
    if (ok) {
        snprintf(c->err_feed, sizeof c->err_feed, "%s", bs.feed);
        if (!gw_tls_may_submit(c->srv->cfg, c->gc, bs.feed, detail, sizeof detail)) {
            gw_batch_submission_clear(&bs);
            reason = CUSTOS_REASON_UNAUTHORIZED_CLIENT;
            ok = false;
        }
    }
    if (!ok) {
        gw_rpc_refuse(c, reason, detail);
        return;
    }
    gw_rpc_call_ref(c);
    gw_engine_submit_batch(c->srv->engine, &bs, c->request_id, submit_batch_done, c);
}
