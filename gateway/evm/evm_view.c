/* A contract's view by its signature (evm_view.h). */
#include "evm/evm_view.h"

#include <stdlib.h>
#include <string.h>

custos_rc evm_view_call(evm_rpc *rpc, const uint8_t to[CUSTOS_ADDRESS_LEN],
                        const char *signature, const evm_abi_value *args, size_t n,
                        uint8_t **ret, size_t *ret_len,
                        uint8_t reverted_with[EVM_ABI_SELECTOR_LEN], custos_error *err)
{
    if (reverted_with != NULL)
        memset(reverted_with, 0, EVM_ABI_SELECTOR_LEN);
    uint8_t *data = NULL;
    size_t len = 0;
    custos_rc rc = evm_abi_encode(signature, args, n, &data, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    evm_call call;
    memset(&call, 0, sizeof call);
    memcpy(call.to, to, CUSTOS_ADDRESS_LEN);
    call.data = data;
    call.data_len = len;
    rc = evm_rpc_call(rpc, &call, ret, ret_len, err);
    free(data);
    const evm_rpc_fault *f = rc == CUSTOS_ERR_REFUSED ? evm_rpc_last_fault(rpc) : NULL;
    if (reverted_with != NULL && f != NULL && f->has_data &&
        f->data_len >= EVM_ABI_SELECTOR_LEN)
        memcpy(reverted_with, f->data, EVM_ABI_SELECTOR_LEN);
    return rc;
}
