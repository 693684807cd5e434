/* Internal to the client and the gateway's RPC layer: the gRPC status a refusal travels
 * with beside its custos-reason trailer, the one table both ends read. */
#ifndef CUSTOS_PB_STATUS_H
#define CUSTOS_PB_STATUS_H

#include <grpc/status.h>

#include "custos/reason.h"

/* The status of a unary call the gateway refuses for r; INTERNAL outside the enum. */
grpc_status_code pb_reason_status(custos_reason r);

#endif
