/* JSON-RPC 2.0 client of an Ethereum node over HTTP(S) (libcurl, jansson).
 *
 * One client owns one curl easy handle and reuses its connection: it is not thread-safe,
 * use one client per thread. Every call is bounded by the connect and total timeouts and
 * by the response size cap. Failures:
 *   CUSTOS_ERR_UNAVAILABLE  the node could not be reached, timed out, or answered HTTP 5xx
 *                           or 429 (a provider's rate limit: it serves nobody for now)
 *   CUSTOS_ERR_REFUSED      the node answered a JSON-RPC error (see evm_rpc_last_fault)
 *                           or another HTTP 4xx
 *   CUSTOS_ERR_INVALID      the answer is not what the method returns (names the field)
 *   CUSTOS_ERR_TOO_LARGE    the answer exceeds max_response_bytes
 * Error messages name the RPC method; they never contain the node URL, which often
 * carries an API key. */
#ifndef GATEWAY_EVM_RPC_H
#define GATEWAY_EVM_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"

#define EVM_RPC_MAX_RESPONSE (4u * 1024u * 1024u)
#define EVM_RPC_CONNECT_TIMEOUT_MS 5000L
#define EVM_RPC_TIMEOUT_MS 30000L

typedef struct evm_rpc evm_rpc;

typedef struct evm_rpc_options {
    const char *url;                    /* http:// or https:// */
    long connect_timeout_ms;            /* 0 = EVM_RPC_CONNECT_TIMEOUT_MS */
    long timeout_ms;                    /* whole request; 0 = EVM_RPC_TIMEOUT_MS */
    size_t max_response_bytes;          /* 0 = EVM_RPC_MAX_RESPONSE */
    custos_u256 fallback_priority_fee;  /* wei; when the node lacks eth_maxPriorityFeePerGas */
} evm_rpc_options;

/* The JSON-RPC error of the last call that failed with it; owned by the client and
 * valid until its next call. */
typedef struct evm_rpc_fault {
    int64_t code;
    const char *message;
    const uint8_t *data;    /* error.data decoded, when the node sent hex (revert data) */
    size_t data_len;
    bool has_data;
} evm_rpc_fault;

typedef enum evm_block_tag { EVM_BLOCK_LATEST, EVM_BLOCK_PENDING } evm_block_tag;

/* A message call (eth_call, eth_estimateGas). Pointers are borrowed. */
typedef struct evm_call {
    const uint8_t *from;    /* NULL: no sender */
    uint8_t to[CUSTOS_ADDRESS_LEN];
    custos_u256 value;
    const uint8_t *data;
    size_t data_len;
} evm_call;

typedef struct evm_receipt {
    bool success;           /* status 1; false: the transaction reverted (status 0) */
    uint64_t block_number;
    uint8_t block_hash[CUSTOS_HASH_LEN];
    uint64_t gas_used;
    custos_u256 effective_gas_price;
} evm_receipt;

/* Copies the options (and the URL); the client does not touch the network until a call. */
CUSTOS_MUST_USE
custos_rc evm_rpc_new(const evm_rpc_options *opt, evm_rpc **out, custos_error *err);
void evm_rpc_free(evm_rpc *c);

/* NULL unless the last call failed with a JSON-RPC error. */
const evm_rpc_fault *evm_rpc_last_fault(const evm_rpc *c);

/* Any method: params (an array, or NULL for none) is consumed; on CUSTOS_OK *result is
 * the "result" member (may be JSON null), a new reference the caller releases. */
CUSTOS_MUST_USE
custos_rc evm_rpc_request(evm_rpc *c, const char *method, json_t *params, json_t **result,
                          custos_error *err);

CUSTOS_MUST_USE
custos_rc evm_rpc_chain_id(evm_rpc *c, uint64_t *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc evm_rpc_block_number(evm_rpc *c, uint64_t *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc evm_rpc_get_transaction_count(evm_rpc *c, const uint8_t addr[CUSTOS_ADDRESS_LEN],
                                        evm_block_tag tag, uint64_t *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc evm_rpc_get_balance(evm_rpc *c, const uint8_t addr[CUSTOS_ADDRESS_LEN],
                              custos_u256 *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc evm_rpc_estimate_gas(evm_rpc *c, const evm_call *call, uint64_t *gas,
                               custos_error *err);
/* The node's suggested tip; the configured fallback when the node does not implement the
 * method (JSON-RPC -32601 or -32004). *fallback says which one was used (may be NULL). */
CUSTOS_MUST_USE
custos_rc evm_rpc_max_priority_fee(evm_rpc *c, custos_u256 *out, bool *fallback,
                                   custos_error *err);
/* baseFeePerGas of the latest block; CUSTOS_ERR_INVALID on a chain without EIP-1559. */
CUSTOS_MUST_USE
custos_rc evm_rpc_base_fee(evm_rpc *c, custos_u256 *out, custos_error *err);
/* The node's transaction hash in *hash. */
CUSTOS_MUST_USE
custos_rc evm_rpc_send_raw_transaction(evm_rpc *c, const uint8_t *raw, size_t len,
                                       uint8_t hash[CUSTOS_HASH_LEN], custos_error *err);
/* *found is false (and out untouched) while the transaction is pending or unknown. */
CUSTOS_MUST_USE
custos_rc evm_rpc_get_receipt(evm_rpc *c, const uint8_t hash[CUSTOS_HASH_LEN],
                              evm_receipt *out, bool *found, custos_error *err);
/* One event log of a receipt: its second topic (an indexed word) and its data, cut to
 * EVM_LOG_DATA_MAX bytes (data_len: the bytes kept). */
#define EVM_LOG_DATA_MAX 164
typedef struct evm_log {
    uint8_t topic1[CUSTOS_HASH_LEN];
    uint8_t data[EVM_LOG_DATA_MAX];
    size_t data_len;
} evm_log;
/* The logs of the transaction's receipt that `emitter` emitted with first topic topic0
 * (and a second one), in log order: the first max in out, *n all of them. *found is false
 * while the transaction is pending or unknown. */
CUSTOS_MUST_USE
custos_rc evm_rpc_receipt_logs(evm_rpc *c, const uint8_t hash[CUSTOS_HASH_LEN],
                               const uint8_t emitter[CUSTOS_ADDRESS_LEN],
                               const uint8_t topic0[CUSTOS_HASH_LEN], evm_log *out, size_t max,
                               size_t *n, bool *found, custos_error *err);
/* One log of eth_getLogs: its topics (the event's signature hash, then its indexed
 * words) and its block; its data is not kept. */
#define EVM_EVENT_TOPICS_MAX 4
typedef struct evm_event {
    uint8_t topics[EVM_EVENT_TOPICS_MAX][CUSTOS_HASH_LEN];
    size_t n_topics;
    uint64_t block;
} evm_event;
/* eth_getLogs: the logs `emitter` emitted in blocks from..to (inclusive) whose first topic
 * is one of topic0s[0..n_topic0), in the node's order. *out is malloc'd (NULL when *n is
 * 0); the caller frees it. A node's range or size limits come back as its error. */
CUSTOS_MUST_USE
custos_rc evm_rpc_get_logs(evm_rpc *c, const uint8_t emitter[CUSTOS_ADDRESS_LEN],
                           const uint8_t (*topic0s)[CUSTOS_HASH_LEN], size_t n_topic0,
                           uint64_t from, uint64_t to, evm_event **out, size_t *n,
                           custos_error *err);
/* gasLimit of the latest block. */
CUSTOS_MUST_USE
custos_rc evm_rpc_block_gas_limit(evm_rpc *c, uint64_t *out, custos_error *err);
/* The hash of the canonical block at `number` (eth_getBlockByNumber); *found is false
 * when the node has no block there. */
CUSTOS_MUST_USE
custos_rc evm_rpc_block_hash(evm_rpc *c, uint64_t number, uint8_t hash[CUSTOS_HASH_LEN],
                             bool *found, custos_error *err);
/* eth_call at the latest block; *out is malloc'd (NULL when len is 0), the caller frees it.
 * A revert is CUSTOS_ERR_REFUSED, its revert data in evm_rpc_last_fault. */
CUSTOS_MUST_USE
custos_rc evm_rpc_call(evm_rpc *c, const evm_call *call, uint8_t **out, size_t *len,
                       custos_error *err);

#endif
