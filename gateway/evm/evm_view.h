/* A contract's view called by its Solidity signature: the ABI encoding and the eth_call in
 * one step, for every reader of the chain (the publisher, the drift check, the pledge
 * registry's views, the collateral manager). */
#ifndef GATEWAY_EVM_VIEW_H
#define GATEWAY_EVM_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"

/* eth_call of `signature` with args on `to` at the latest block; *ret malloc'd (the caller
 * frees it). A revert is CUSTOS_ERR_REFUSED (its data in evm_rpc_last_fault) and
 * *reverted_with (may be NULL) gets the first 4 bytes of its data (zero when none). */
CUSTOS_MUST_USE
custos_rc evm_view_call(evm_rpc *rpc, const uint8_t to[CUSTOS_ADDRESS_LEN],
                        const char *signature, const evm_abi_value *args, size_t n,
                        uint8_t **ret, size_t *ret_len,
                        uint8_t reverted_with[EVM_ABI_SELECTOR_LEN], custos_error *err);

#endif
