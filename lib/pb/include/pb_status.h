/* Internal to the client and the gateway's RPC layer: the gRPC status a refusal travels
 * with beside its custos-reason trailer, the one table both ends read. */
#ifndef CUSTOS_PB_STATUS_H
#define CUSTOS_PB_STATUS_H

#include <grpc/status.h>

#include "custos/reason.h"

#include <stddef.h>
#include <stdint.h>

/* The status of a unary call the gateway refuses for r; INTERNAL outside the enum. */
grpc_status_code pb_reason_status(custos_reason r);

/* The domain of the ErrorInfo of every refusal. */
#define PB_ERROR_DOMAIN "custos.dev"
/* The type URL of google.rpc.ErrorInfo inside a google.protobuf.Any. */
#define PB_ERROR_INFO_TYPE "type.googleapis.com/google.rpc.ErrorInfo"
/* Bytes pb_status_details needs at most: the message is cut to fit. */
#define PB_STATUS_DETAILS_MAX 1024

/* Encodes the standard google.rpc.Status of a refusal, the value of the
 * "grpc-status-details-bin" trailer: code, message, and one Any holding a
 * google.rpc.ErrorInfo {reason: the reason's name, domain: PB_ERROR_DOMAIN, metadata: "feed"
 * and "account" when not NULL or empty}. Field numbers from the public google/rpc protos
 * (proto/google/rpc). Returns the length written into out (cap at least
 * PB_STATUS_DETAILS_MAX), or 0 when it does not fit. */
size_t pb_status_details(grpc_status_code code, const char *message, custos_reason reason,
                         const char *feed, const char *account, uint8_t *out, size_t cap);

#endif
