/* Every RPC the gateway serves: its path, how gRPC hands over its request, and the
 * handler that serves it (handlers.h); then the routing of a worker's completions. */
#include "rpc/call.h"

#include <stdio.h>

#include <grpc/slice.h>

#include "rpc/handlers.h"
#include "rpc/proxy_identity.h"

#define READ GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER
#define STREAMED GRPC_SRM_PAYLOAD_NONE

const gw_rpc_method gw_rpc_methods[GW_RPC_METHODS + 1] = {
    {"/custos.v1.AttestationGateway/Submit", READ, gw_rpc_submit, NULL},
    {"/custos.v1.AttestationGateway/SubmitStream", STREAMED, gw_rpc_submit_stream,
     &gw_rpc_submit_stream_ops},
    {"/custos.v1.AttestationGateway/Watch", READ, gw_rpc_watch, &gw_rpc_watch_ops},
    {"/custos.v1.AttestationGateway/GetLatest", READ, gw_rpc_get_latest, NULL},
    {"/custos.v1.AttestationGateway/ListSigners", READ, gw_rpc_list_signers, NULL},
    {"/custos.v1.AttestationGateway/GetChainHead", READ, gw_rpc_get_chain_head, NULL},
    {"/custos.v1.AttestationGateway/ListHeld", READ, gw_rpc_list_held, NULL},
    {"/custos.v1.AttestationGateway/GetPositionProof", READ, gw_rpc_get_position_proof, NULL},
    {"/custos.v1.AttestationGateway/GetPledge", READ, gw_rpc_get_pledge, NULL},
    {"/custos.v1.AttestationGateway/SubmitReserves", READ, gw_rpc_submit_reserves, NULL},
    {"/custos.v1.AttestationGateway/GetReserves", READ, gw_rpc_get_reserves, NULL},
    {"/custos.v1.AttestationGateway/GetReservesProof", READ, gw_rpc_get_reserves_proof, NULL},
    {"/custos.v1.AttestationGateway/SubmitNotice", READ, gw_rpc_submit_notice, NULL},
    {"/custos.v1.AttestationGateway/ListNotices", READ, gw_rpc_list_notices, NULL},
    {"/custos.v1.AttestationGateway/SubmitBatch", READ, gw_rpc_submit_batch, NULL},
    {"/custos.v1.GatewayAdmin/ListAudit", READ, gw_rpc_list_audit, NULL},
    {"/custos.v1.GatewayAdmin/AddSigner", READ, gw_rpc_add_signer, NULL},
    {"/custos.v1.GatewayAdmin/RevokeSigner", READ, gw_rpc_revoke_signer, NULL},
    {"/custos.v1.GatewayAdmin/RotateSigner", READ, gw_rpc_rotate_signer, NULL},
    {"/custos.v1.GatewayAdmin/SetFeedPolicy", READ, gw_rpc_set_feed_policy, NULL},
    {"/custos.v1.GatewayAdmin/ReleaseHeld", READ, gw_rpc_release_held, NULL},
    {"/custos.v1.GatewayAdmin/RegisterAccount", READ, gw_rpc_register_account, NULL},
    {"/custos.v1.GatewayAdmin/ListAccounts", READ, gw_rpc_list_accounts, NULL},
    {"/grpc.health.v1.Health/Check", READ, gw_rpc_health_check, NULL},
    {"/grpc.health.v1.Health/Watch", READ, gw_rpc_health_watch, &gw_rpc_health_watch_ops},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", STREAMED,
     gw_rpc_reflection, &gw_rpc_reflection_ops},
    {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", STREAMED, gw_rpc_reflection,
     &gw_rpc_reflection_ops},
    /* A call to a method nobody registered would wait for its deadline: answer it. */
    {NULL, STREAMED, gw_rpc_unimplemented, NULL},
};

void gw_rpc_unimplemented(gw_rpc_call *c)
{
    char detail[256];
    size_t len = GRPC_SLICE_LENGTH(c->details.method);
    int shown = len > 160 ? 160 : (int)len;
    snprintf(detail, sizeof detail, "method %.*s is not implemented by custos-gateway", shown,
             (const char *)GRPC_SLICE_START_PTR(c->details.method));
    gw_rpc_finish(c, GRPC_STATUS_UNIMPLEMENTED, detail, CUSTOS_REASON_NONE, NULL);
}

/* A client called: post the next request for the method first, then serve this one. */
static void on_request(gw_rpc_call *c, bool ok)
{
    if (!ok) {
        gw_rpc_call_unref(c);
        return;
    }
    gw_rpc_post_request(c->w, (size_t)(c->method - gw_rpc_methods));
    c->state = CALL_ACTIVE;
    gw_rpc_call_take_request_id(c);
    gw_proxy_identity_bind(c->srv->cfg, c->gc, &c->req_md);
    c->method->handler(c);
    gw_rpc_call_unref(c);
}

void gw_rpc_dispatch(gw_rpc_op *o, bool ok)
{
    gw_rpc_call *c = o->c;
    switch (o->kind) {
    case OP_REQUEST:
        on_request(c, ok);
        return;
    case OP_RECV:
        c->method->stream->on_recv(c, ok);
        break;
    case OP_SEND:
        gw_rpc_stream_on_sent(c, ok);
        break;
    case OP_CLOSE:
        gw_rpc_stream_on_close(c);
        break;
    case OP_FINISH:
        break;
    }
    gw_rpc_call_unref(c);
}
