/* One handler per RPC, named after it, in the file of its service area; methods.c maps
 * each path to its handler. A handler finishes the call (or starts its stream) on every
 * path; the dispatcher's reference lasts until it returns, so whatever keeps the call
 * longer (a batch, an engine submission, the stream list) takes a reference of its own. */
#ifndef GATEWAY_RPC_HANDLERS_H
#define GATEWAY_RPC_HANDLERS_H

#include "rpc/call.h"

/* submit.c: custos.v1.AttestationGateway Submit and SubmitStream */
void gw_rpc_submit(gw_rpc_call *c);
void gw_rpc_submit_stream(gw_rpc_call *c);
extern const gw_rpc_stream_ops gw_rpc_submit_stream_ops;

/* submit_batch.c: custos.v1.AttestationGateway SubmitBatch (rule 20) */
void gw_rpc_submit_batch(gw_rpc_call *c);

/* watch.c: custos.v1.AttestationGateway Watch */
void gw_rpc_watch(gw_rpc_call *c);
extern const gw_rpc_stream_ops gw_rpc_watch_ops;

/* queries.c: custos.v1.AttestationGateway reads */
void gw_rpc_get_latest(gw_rpc_call *c);
void gw_rpc_list_signers(gw_rpc_call *c);
void gw_rpc_get_chain_head(gw_rpc_call *c);
void gw_rpc_list_held(gw_rpc_call *c);
void gw_rpc_get_position_proof(gw_rpc_call *c);
void gw_rpc_get_pledge(gw_rpc_call *c);

/* reserves.c: custos.v1.AttestationGateway proof of reserves */
void gw_rpc_submit_reserves(gw_rpc_call *c);
void gw_rpc_get_reserves(gw_rpc_call *c);
void gw_rpc_get_reserves_proof(gw_rpc_call *c);

/* notices.c: custos.v1.AttestationGateway collateral notices (rule 19) */
void gw_rpc_submit_notice(gw_rpc_call *c);
void gw_rpc_list_notices(gw_rpc_call *c);

/* admin.c: custos.v1.GatewayAdmin (admin mTLS clients only) */
void gw_rpc_list_audit(gw_rpc_call *c);
void gw_rpc_add_signer(gw_rpc_call *c);
void gw_rpc_revoke_signer(gw_rpc_call *c);
void gw_rpc_rotate_signer(gw_rpc_call *c);
void gw_rpc_set_feed_policy(gw_rpc_call *c);
void gw_rpc_release_held(gw_rpc_call *c);
void gw_rpc_register_account(gw_rpc_call *c);
/* admin and auditor clients */
void gw_rpc_list_accounts(gw_rpc_call *c);

/* health.c: grpc.health.v1.Health Check and Watch */
void gw_rpc_health_check(gw_rpc_call *c);
void gw_rpc_health_watch(gw_rpc_call *c);
extern const gw_rpc_stream_ops gw_rpc_health_watch_ops;

/* reflection.c: grpc.reflection.v1alpha and grpc.reflection.v1 ServerReflectionInfo */
void gw_rpc_reflection(gw_rpc_call *c);
extern const gw_rpc_stream_ops gw_rpc_reflection_ops;

/* methods.c: any method nobody registered */
void gw_rpc_unimplemented(gw_rpc_call *c);

#endif
