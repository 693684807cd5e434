/* Solidity ABI encoding of calls and decoding of static return data. */
#ifndef GATEWAY_EVM_ABI_H
#define GATEWAY_EVM_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "custos/u256.h"

#define EVM_ABI_WORD 32
#define EVM_ABI_SELECTOR_LEN 4
/* Largest encoding evm_abi_encode builds: well above any transaction a node accepts. */
#define EVM_ABI_MAX_BYTES (1024u * 1024u)

typedef enum evm_abi_kind {
    EVM_ABI_STATIC,      /* one 32-byte word: uintN, intN, address, bool, bytes32 */
    EVM_ABI_BYTES,       /* dynamic bytes */
    EVM_ABI_BYTES_ARRAY, /* bytes[] */
    EVM_ABI_TUPLE,       /* a tuple whose fields are all static (words or such tuples) */
    EVM_ABI_TUPLE_ARRAY  /* T[] of such static tuples (or of words) */
} evm_abi_kind;

typedef struct evm_abi_bytes {
    const uint8_t *data;
    size_t len;
} evm_abi_bytes;

/* One argument. Only the members of its kind are read; nothing is copied or owned. */
typedef struct evm_abi_value {
    evm_abi_kind kind;
    uint8_t word[EVM_ABI_WORD];             /* STATIC */
    evm_abi_bytes bytes;                    /* BYTES */
    const evm_abi_bytes *items;             /* BYTES_ARRAY */
    size_t n_items;
    const struct evm_abi_value *fields;     /* TUPLE; TUPLE_ARRAY: the elements */
    size_t n_fields;
} evm_abi_value;

/* Static values, ready to be passed as arguments. */
evm_abi_value evm_abi_uint64(uint64_t v);
evm_abi_value evm_abi_u256(const custos_u256 *v);
evm_abi_value evm_abi_address(const uint8_t addr[20]);
evm_abi_value evm_abi_bool(bool v);
evm_abi_value evm_abi_bytes32(const uint8_t b[32]);
evm_abi_value evm_abi_dynamic_bytes(const uint8_t *data, size_t len);
evm_abi_value evm_abi_bytes_array(const evm_abi_bytes *items, size_t n);
evm_abi_value evm_abi_tuple(const evm_abi_value *fields, size_t n);
/* A dynamic array of n static values (tuples of static fields, or words). */
evm_abi_value evm_abi_tuple_array(const evm_abi_value *elements, size_t n);

/* First 4 bytes of keccak256 of a canonical signature such as "transfer(address,uint256)". */
void evm_abi_selector(const char *signature, uint8_t out[EVM_ABI_SELECTOR_LEN]);

/* abi.encode(args...), preceded by the selector of signature unless it is NULL.
 * *out is malloc'd (the caller frees it). The signature is hashed, not parsed: the
 * caller keeps it consistent with args. CUSTOS_ERR_INVALID for a tuple with a dynamic
 * field, CUSTOS_ERR_TOO_LARGE beyond EVM_ABI_MAX_BYTES. */
CUSTOS_MUST_USE
custos_rc evm_abi_encode(const char *signature, const evm_abi_value *args, size_t n,
                         uint8_t **out, size_t *len, custos_error *err);

/* Decoding reads word `index` of the head of return data (a tuple of static fields is
 * laid out as consecutive words) and refuses what Solidity's abi.decode refuses:
 * data too short, or a value outside its type. */
CUSTOS_MUST_USE
custos_rc evm_abi_get_word(const uint8_t *data, size_t len, size_t index,
                           uint8_t word[EVM_ABI_WORD], custos_error *err);
/* uintN, 8 <= bits <= 256, bits a multiple of 8. */
CUSTOS_MUST_USE
custos_rc evm_abi_get_uint(const uint8_t *data, size_t len, size_t index, unsigned bits,
                           custos_u256 *out, custos_error *err);
/* uintN with N <= 64. */
CUSTOS_MUST_USE
custos_rc evm_abi_get_uint64(const uint8_t *data, size_t len, size_t index, unsigned bits,
                             uint64_t *out, custos_error *err);
/* intN as sign and magnitude (two's complement undone). */
CUSTOS_MUST_USE
custos_rc evm_abi_get_int(const uint8_t *data, size_t len, size_t index, unsigned bits,
                          bool *negative, custos_u256 *magnitude, custos_error *err);
CUSTOS_MUST_USE
custos_rc evm_abi_get_address(const uint8_t *data, size_t len, size_t index, uint8_t addr[20],
                              custos_error *err);
CUSTOS_MUST_USE
custos_rc evm_abi_get_bool(const uint8_t *data, size_t len, size_t index, bool *out,
                           custos_error *err);

#endif
