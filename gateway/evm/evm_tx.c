#include "evm/evm_tx.h"

#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"
#include "evm/evm_rlp.h"

/* Room for everything but data: 9 fields, 3 signature values and list headers each fit
 * in well under 40 bytes. */
#define TX_OVERHEAD 512u

/* Writes 0x02 || rlp([fields..., (yParity, r, s) if sig]) into buf. */
static custos_rc encode(const evm_tx *tx, const custos_signature *sig, uint8_t *buf, size_t cap,
                        size_t *len, custos_error *err)
{
    evm_rlp w;
    buf[0] = EVM_TX_TYPE_EIP1559;
    evm_rlp_init(&w, buf + 1, cap - 1);
    evm_rlp_list_begin(&w);
    evm_rlp_put_uint64(&w, tx->chain_id);
    evm_rlp_put_uint64(&w, tx->nonce);
    evm_rlp_put_u256(&w, &tx->max_priority_fee_per_gas);
    evm_rlp_put_u256(&w, &tx->max_fee_per_gas);
    evm_rlp_put_uint64(&w, tx->gas_limit);
    evm_rlp_put_bytes(&w, tx->to, sizeof tx->to);
    evm_rlp_put_u256(&w, &tx->value);
    evm_rlp_put_bytes(&w, tx->data, tx->data_len);
    evm_rlp_list_begin(&w); /* accessList */
    evm_rlp_list_end(&w);
    if (sig != NULL) {
        evm_rlp_put_uint64(&w, (uint64_t)(sig->bytes[64] - 27));
        evm_rlp_put_uint_be(&w, sig->bytes, 32);
        evm_rlp_put_uint_be(&w, sig->bytes + 32, 32);
    }
    evm_rlp_list_end(&w);
    size_t n;
    custos_rc rc = evm_rlp_finish(&w, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    *len = n + 1;
    return CUSTOS_OK;
}

static custos_rc alloc_buffer(const evm_tx *tx, uint8_t **buf, size_t *cap, custos_error *err)
{
    *buf = NULL;
    *cap = 0;
    if (tx->data_len > EVM_TX_MAX_DATA)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "transaction data is %zu bytes, more than the %u accepted",
                                tx->data_len, EVM_TX_MAX_DATA);
    if (tx->data_len > 0 && tx->data == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "transaction data is NULL");
    *cap = tx->data_len + TX_OVERHEAD;
    *buf = malloc(*cap);
    if (*buf == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "transaction encoding: out of memory");
    return CUSTOS_OK;
}

custos_rc evm_tx_signing_hash(const evm_tx *tx, uint8_t out[CUSTOS_HASH_LEN], custos_error *err)
{
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    custos_rc rc = alloc_buffer(tx, &buf, &cap, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = encode(tx, NULL, buf, cap, &len, err);
    if (rc == CUSTOS_OK)
        custos_keccak256(buf, len, out);
    free(buf);
    return rc;
}

custos_rc evm_tx_encode_signed(const evm_tx *tx, const custos_signature *sig,
                               evm_signed_tx *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (sig->bytes[64] != 27 && sig->bytes[64] != 28)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "transaction signature has v = %u, expected 27 or 28",
                                sig->bytes[64]);
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    custos_rc rc = alloc_buffer(tx, &buf, &cap, err);
    if (rc != CUSTOS_OK)
        return rc;
    if ((rc = encode(tx, sig, buf, cap, &len, err)) != CUSTOS_OK) {
        free(buf);
        return rc;
    }
    out->raw = buf;
    out->raw_len = len;
    custos_keccak256(buf, len, out->hash);
    return CUSTOS_OK;
}

custos_rc evm_tx_sign(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                      const evm_tx *tx, evm_signed_tx *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_signature sig;
    custos_rc rc = evm_tx_signing_hash(tx, digest, err);
    if (rc != CUSTOS_OK || (rc = custos_sign_digest(ctx, seckey, digest, &sig, err)) != CUSTOS_OK)
        return rc;
    return evm_tx_encode_signed(tx, &sig, out, err);
}

void evm_signed_tx_clear(evm_signed_tx *out)
{
    free(out->raw);
    memset(out, 0, sizeof *out);
}
