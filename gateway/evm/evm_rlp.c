#include "evm/evm_rlp.h"

#include <string.h>

void evm_rlp_init(evm_rlp *w, uint8_t *out, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->cap = cap;
    w->rc = CUSTOS_OK;
}

/* Bytes needed for len as a minimal big-endian number (len > 0). */
static size_t length_of_length(size_t len)
{
    size_t n = 0;
    for (; len > 0; len >>= 8)
        n++;
    return n;
}

/* Writes the prefix for a payload of len bytes at dst: short form offset + len below
 * 56 bytes, long form (offset + 55 + length-of-length) then the length otherwise. */
static void write_header(uint8_t *dst, size_t len, uint8_t offset)
{
    if (len < 56) {
        dst[0] = (uint8_t)(offset + len);
        return;
    }
    size_t ll = length_of_length(len);
    dst[0] = (uint8_t)(offset + 55 + ll);
    for (size_t i = 0; i < ll; i++)
        dst[ll - i] = (uint8_t)(len >> (8 * i));
}

static size_t header_size(size_t len)
{
    return len < 56 ? 1 : 1 + length_of_length(len);
}

static int reserve(evm_rlp *w, size_t n)
{
    if (w->rc != CUSTOS_OK)
        return 0;
    if (n > w->cap - w->len) {
        w->rc = CUSTOS_ERR_TOO_LARGE;
        return 0;
    }
    return 1;
}

void evm_rlp_put_bytes(evm_rlp *w, const uint8_t *data, size_t len)
{
    if (len == 1 && data[0] < 0x80) {
        if (reserve(w, 1))
            w->out[w->len++] = data[0];
        return;
    }
    size_t h = header_size(len);
    if (len > SIZE_MAX - h || !reserve(w, h + len))
        return;
    write_header(w->out + w->len, len, 0x80);
    w->len += h;
    if (len > 0)
        memcpy(w->out + w->len, data, len);
    w->len += len;
}

void evm_rlp_put_uint_be(evm_rlp *w, const uint8_t *be, size_t len)
{
    while (len > 0 && be[0] == 0) {
        be++;
        len--;
    }
    evm_rlp_put_bytes(w, be, len);
}

void evm_rlp_put_uint64(evm_rlp *w, uint64_t v)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(v >> (56 - 8 * i));
    evm_rlp_put_uint_be(w, be, sizeof be);
}

void evm_rlp_put_u256(evm_rlp *w, const custos_u256 *v)
{
    uint8_t be[32];
    custos_u256_to_be(v, be);
    evm_rlp_put_uint_be(w, be, sizeof be);
}

void evm_rlp_list_begin(evm_rlp *w)
{
    if (w->rc != CUSTOS_OK)
        return;
    if (w->depth == EVM_RLP_MAX_DEPTH) {
        w->rc = CUSTOS_ERR_INVALID;
        return;
    }
    w->open[w->depth++] = w->len;
}

/* The payload is written first, so its length is known here; the header is then
 * inserted in front of it by moving the payload up. */
void evm_rlp_list_end(evm_rlp *w)
{
    if (w->rc != CUSTOS_OK)
        return;
    if (w->depth == 0) {
        w->rc = CUSTOS_ERR_INVALID;
        return;
    }
    size_t start = w->open[--w->depth];
    size_t payload = w->len - start;
    size_t h = header_size(payload);
    if (!reserve(w, h))
        return;
    memmove(w->out + start + h, w->out + start, payload);
    write_header(w->out + start, payload, 0xc0);
    w->len += h;
}

custos_rc evm_rlp_finish(const evm_rlp *w, size_t *len, custos_error *err)
{
    if (w->rc == CUSTOS_ERR_TOO_LARGE)
        return custos_error_set(err, w->rc, "RLP encoding does not fit in %zu bytes", w->cap);
    if (w->rc != CUSTOS_OK)
        return custos_error_set(err, w->rc, "RLP lists unbalanced or nested deeper than %d",
                                EVM_RLP_MAX_DEPTH);
    if (w->depth != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "RLP encoding has %zu unclosed list(s)",
                                w->depth);
    *len = w->len;
    return CUSTOS_OK;
}
