/* The adapter's circuit breaker read from the chain (breaker_reads.h). */
#include "evm/breaker_reads.h"

#include <stdlib.h>
#include <string.h>

#include "evm/evm_abi.h"
#include "evm/evm_view.h"

custos_rc evm_breaker_read(evm_rpc *rpc, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                           const uint8_t feed_id[CUSTOS_HASH_LEN],
                           const uint8_t account[CUSTOS_HASH_LEN], evm_breaker_view *out,
                           custos_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t unknown_feed[EVM_ABI_SELECTOR_LEN], reverted[EVM_ABI_SELECTOR_LEN];
    evm_abi_selector("UnknownFeed(bytes32)", unknown_feed);
    evm_abi_value arg = evm_abi_bytes32(feed_id);
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc = evm_view_call(rpc, adapter, "feed(bytes32)", &arg, 1, &ret, &len, reverted,
                                 err);
    if (rc == CUSTOS_ERR_REFUSED && memcmp(reverted, unknown_feed, sizeof reverted) == 0) {
        custos_error_clear(err);
        return CUSTOS_OK; /* feed_known false: no breaker of its own to meet */
    }
    /* (threshold, distinctRoles, maxAge, maxSkew, maxTtl, breakerRiseBps,
     * breakerReleaseThreshold, maxSequenceStep) */
    uint64_t bps = 0, threshold = 0;
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint64(ret, len, 5, 32, &bps, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint64(ret, len, 6, 8, &threshold, err);
    free(ret);
    ret = NULL;
    if (rc != CUSTOS_OK)
        return rc;
    out->feed_known = true;
    out->rise_bps = (uint32_t)bps;
    out->release_threshold = (uint32_t)threshold;
    /* lastValuation(account) returns (bool has, uint256 value, bytes32 released). */
    arg = evm_abi_bytes32(account);
    rc = evm_view_call(rpc, adapter, "lastValuation(bytes32)", &arg, 1, &ret, &len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_bool(ret, len, 0, &out->has_base, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint(ret, len, 1, 256, &out->base, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_word(ret, len, 2, out->released, err);
    free(ret);
    return rc;
}
