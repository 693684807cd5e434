/* The adapter's circuit breaker as the chain has it now (rule 6, docs/adapter.md §3), read
 * through its views: the feed's bound (feed(feedId)) and the account's base and released
 * digest (lastValuation(account)). The gateway's ReleaseHeld asks it before publishing a
 * held rise, so that a rise the adapter would refuse BreakerHeld is not released at the
 * gateway first (docs/rules.md rule 6). Failures are evm_rpc's (evm_rpc.h). */
#ifndef GATEWAY_EVM_BREAKER_READS_H
#define GATEWAY_EVM_BREAKER_READS_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/error.h"
#include "custos/common.h"
#include "custos/u256.h"

#include "evm/evm_rpc.h"

typedef struct evm_breaker_view {
    bool feed_known;            /* false: the adapter reverts UnknownFeed for the feed */
    uint32_t rise_bps;          /* breakerRiseBps; 0: the breaker is off */
    uint32_t release_threshold; /* breakerReleaseThreshold */
    bool has_base;              /* the account has a valuation on-chain */
    custos_u256 base;           /* its value: the breaker's base */
    uint8_t released[CUSTOS_HASH_LEN]; /* the held rise the owner released (releaseHeld) */
} evm_breaker_view;

CUSTOS_MUST_USE
custos_rc evm_breaker_read(evm_rpc *rpc, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                           const uint8_t feed_id[CUSTOS_HASH_LEN],
                           const uint8_t account[CUSTOS_HASH_LEN], evm_breaker_view *out,
                           custos_error *err);

#endif
