/* The pledge registry's views (pledge_reads.h). */
#include "evm/pledge_reads.h"

#include <stdlib.h>
#include <string.h>

#include "custos/sig.h"
#include "evm/evm_view.h"

custos_rc evm_pledge_registry(evm_rpc *rpc, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                              uint8_t out[CUSTOS_ADDRESS_LEN], bool *installed,
                              custos_error *err)
{
    static const uint8_t zero[CUSTOS_ADDRESS_LEN];
    uint8_t *ret = NULL;
    size_t len = 0;
    *installed = false;
    memset(out, 0, CUSTOS_ADDRESS_LEN);
    custos_rc rc = evm_view_call(rpc, adapter, "pledges()", NULL, 0, &ret, &len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_address(ret, len, 0, out, err);
    free(ret);
    if (rc == CUSTOS_OK)
        *installed = memcmp(out, zero, CUSTOS_ADDRESS_LEN) != 0;
    return rc;
}

custos_rc evm_pledge_exposure(evm_rpc *rpc, const uint8_t registry[CUSTOS_ADDRESS_LEN],
                              const uint8_t account[CUSTOS_HASH_LEN],
                              const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], uint64_t sequence,
                              evm_exposure *out, custos_error *err)
{
    evm_abi_value args[3] = {evm_abi_bytes32(account), evm_abi_address(beneficiary),
                             evm_abi_uint64(sequence)};
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc = evm_view_call(rpc, registry, "releaseBlocked(bytes32,address,uint64)",
                                   args, 3, &ret, &len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_bool(ret, len, 0, &out->blocked, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint(ret, len, 1, 256, &out->debt, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint(ret, len, 2, 256, &out->elsewhere, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_bool(ret, len, 3, &out->readable, err);
    free(ret);
    return rc;
}

custos_rc evm_pledge_view_read(evm_rpc *rpc, const uint8_t registry[CUSTOS_ADDRESS_LEN],
                               const uint8_t account[CUSTOS_HASH_LEN],
                               const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                               evm_pledge_view *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    evm_abi_value args[2] = {evm_abi_bytes32(account), evm_abi_address(beneficiary)};
    uint8_t reverted[EVM_ABI_SELECTOR_LEN], no_pledge[EVM_ABI_SELECTOR_LEN];
    evm_abi_selector("NoPledge(bytes32,address)", no_pledge);
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc = evm_view_call(rpc, registry, "pledge(bytes32,address)", args, 2, &ret,
                                   &len, reverted, err);
    if (rc == CUSTOS_ERR_REFUSED && memcmp(reverted, no_pledge, sizeof no_pledge) == 0) {
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(beneficiary, hex);
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "the registry has no pledge of this account to %s", hex);
    }
    /* PledgeView: nine static words. */
    uint8_t *addrs[7] = {out->receipt, out->oracle, out->feed, NULL,
                         out->borrower, out->lender, out->agent};
    for (size_t i = 0; rc == CUSTOS_OK && i < 7; i++)
        if (addrs[i] != NULL)
            rc = evm_abi_get_address(ret, len, i, addrs[i], err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_word(ret, len, 3, out->market_id, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_bool(ret, len, 7, &out->ended, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint64(ret, len, 8, 64, &out->consented_sequence, err);
    free(ret);
    return rc;
}

bool evm_pledge_blocked_now(const evm_pledge_view *v, const evm_exposure *x)
{
    return !v->ended && (!x->readable || !custos_u256_is_zero(&x->debt) ||
                         !custos_u256_is_zero(&x->elsewhere));
}
