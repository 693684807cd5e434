/* RLP (Ethereum's Recursive Length Prefix) encoding into a caller-provided buffer. */
#ifndef GATEWAY_EVM_RLP_H
#define GATEWAY_EVM_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"
#include "custos/u256.h"

/* Deepest list nesting a writer tracks; transactions need 2. */
#define EVM_RLP_MAX_DEPTH 8

/* A writer over out[0..cap). Public only so callers can keep it on the stack.
 * Errors are sticky: the first failure (buffer too small, lists nested too deep or
 * closed without being opened) is kept, later puts do nothing, and evm_rlp_finish
 * reports it. So a caller writes a whole structure and checks once. */
typedef struct evm_rlp {
    uint8_t *out;
    size_t cap;
    size_t len;
    size_t open[EVM_RLP_MAX_DEPTH]; /* payload start of each open list */
    size_t depth;
    custos_rc rc;
} evm_rlp;

void evm_rlp_init(evm_rlp *w, uint8_t *out, size_t cap);
/* A byte string (a single byte below 0x80 is its own encoding). */
void evm_rlp_put_bytes(evm_rlp *w, const uint8_t *data, size_t len);
/* Integers: minimal big-endian byte strings; zero is the empty string. */
void evm_rlp_put_uint64(evm_rlp *w, uint64_t v);
void evm_rlp_put_u256(evm_rlp *w, const custos_u256 *v);
/* Integer given as big-endian bytes of any width (leading zeros are dropped). */
void evm_rlp_put_uint_be(evm_rlp *w, const uint8_t *be, size_t len);
/* Items put between begin and end form one list. */
void evm_rlp_list_begin(evm_rlp *w);
void evm_rlp_list_end(evm_rlp *w);
/* CUSTOS_OK and the encoded length when every put succeeded and every list is closed;
 * CUSTOS_ERR_TOO_LARGE when out was too small; CUSTOS_ERR_INVALID for unbalanced lists. */
CUSTOS_MUST_USE
custos_rc evm_rlp_finish(const evm_rlp *w, size_t *len, custos_error *err);

#endif
