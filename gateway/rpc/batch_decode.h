/* The SubmitBatch request decoder (docs/rules.md rule 20): a custos.v1.SubmitBatchRequest's
 * bytes into a gw_batch_submission, strictly, naming what was wrong. Apart from the call
 * machinery so the fuzz target can drive it alone. */
#ifndef GATEWAY_RPC_BATCH_DECODE_H
#define GATEWAY_RPC_BATCH_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/reason.h"

#include "verify_batch.h"

/* Decodes len bytes (at most max, else TOO_LARGE) into bs, which the caller zeroed. On a
 * refusal returns false with *reason (MALFORMED, TOO_LARGE, INTERNAL when memory is short)
 * and detail (cut to cap), bs left cleared; on success bs owns its accounts
 * (gw_batch_submission_clear). An empty account list decodes: gw_verify_batch refuses it. */
bool gw_rpc_batch_decode(const uint8_t *data, size_t len, size_t max, gw_batch_submission *bs,
                         custos_reason *reason, char *detail, size_t cap);

#endif
