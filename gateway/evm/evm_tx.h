/* EIP-1559 (type 2) transactions: signing hash, local signing, raw encoding, hash. */
#ifndef GATEWAY_EVM_TX_H
#define GATEWAY_EVM_TX_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sig.h"
#include "custos/u256.h"

#define EVM_TX_TYPE_EIP1559 0x02
/* Largest data field accepted: nodes refuse transactions above 128 KiB anyway. */
#define EVM_TX_MAX_DATA (128u * 1024u)

/* The fields of a call or transfer; the access list is always empty. data is borrowed. */
typedef struct evm_tx {
    uint64_t chain_id;
    uint64_t nonce;
    custos_u256 max_priority_fee_per_gas;
    custos_u256 max_fee_per_gas;
    uint64_t gas_limit;
    uint8_t to[CUSTOS_ADDRESS_LEN];
    custos_u256 value;
    const uint8_t *data;
    size_t data_len;
} evm_tx;

/* A signed transaction: raw is what eth_sendRawTransaction takes (malloc'd). */
typedef struct evm_signed_tx {
    uint8_t *raw;
    size_t raw_len;
    uint8_t hash[CUSTOS_HASH_LEN]; /* keccak256(raw): the transaction's id */
} evm_signed_tx;

/* keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit,
 * to, value, data, accessList])). */
CUSTOS_MUST_USE
custos_rc evm_tx_signing_hash(const evm_tx *tx, uint8_t out[CUSTOS_HASH_LEN],
                              custos_error *err);
/* Signs with seckey (RFC 6979, low s) and builds
 * 0x02 || rlp([...fields, yParity, r, s]). out is overwritten; release it with
 * evm_signed_tx_clear. */
CUSTOS_MUST_USE
custos_rc evm_tx_sign(custos_secp *ctx, const uint8_t seckey[CUSTOS_SECKEY_LEN],
                      const evm_tx *tx, evm_signed_tx *out, custos_error *err);
/* The same from a signature made elsewhere (a key in a token) over evm_tx_signing_hash:
 * canonical, v 27 or 28. */
CUSTOS_MUST_USE
custos_rc evm_tx_encode_signed(const evm_tx *tx, const custos_signature *sig,
                               evm_signed_tx *out, custos_error *err);
/* Frees raw and zeroes out; safe on a zeroed one. */
void evm_signed_tx_clear(evm_signed_tx *out);

#endif
