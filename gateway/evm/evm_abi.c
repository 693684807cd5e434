#include "evm/evm_abi.h"

#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

evm_abi_value evm_abi_uint64(uint64_t v)
{
    evm_abi_value a = {.kind = EVM_ABI_STATIC};
    for (int i = 0; i < 8; i++)
        a.word[31 - i] = (uint8_t)(v >> (8 * i));
    return a;
}

evm_abi_value evm_abi_u256(const custos_u256 *v)
{
    evm_abi_value a = {.kind = EVM_ABI_STATIC};
    custos_u256_to_be(v, a.word);
    return a;
}

evm_abi_value evm_abi_address(const uint8_t addr[20])
{
    evm_abi_value a = {.kind = EVM_ABI_STATIC};
    memcpy(a.word + 12, addr, 20);
    return a;
}

evm_abi_value evm_abi_bool(bool v)
{
    return evm_abi_uint64(v ? 1 : 0);
}

evm_abi_value evm_abi_bytes32(const uint8_t b[32])
{
    evm_abi_value a = {.kind = EVM_ABI_STATIC};
    memcpy(a.word, b, 32);
    return a;
}

evm_abi_value evm_abi_dynamic_bytes(const uint8_t *data, size_t len)
{
    evm_abi_value a = {.kind = EVM_ABI_BYTES, .bytes = {data, len}};
    return a;
}

evm_abi_value evm_abi_bytes_array(const evm_abi_bytes *items, size_t n)
{
    evm_abi_value a = {.kind = EVM_ABI_BYTES_ARRAY, .items = items, .n_items = n};
    return a;
}

evm_abi_value evm_abi_tuple(const evm_abi_value *fields, size_t n)
{
    evm_abi_value a = {.kind = EVM_ABI_TUPLE, .fields = fields, .n_fields = n};
    return a;
}

evm_abi_value evm_abi_tuple_array(const evm_abi_value *elements, size_t n)
{
    evm_abi_value a = {.kind = EVM_ABI_TUPLE_ARRAY, .fields = elements, .n_fields = n};
    return a;
}

void evm_abi_selector(const char *signature, uint8_t out[EVM_ABI_SELECTOR_LEN])
{
    uint8_t h[CUSTOS_KECCAK256_LEN];
    custos_keccak256((const uint8_t *)signature, strlen(signature), h);
    memcpy(out, h, EVM_ABI_SELECTOR_LEN);
}

static bool is_dynamic(const evm_abi_value *v)
{
    return v->kind == EVM_ABI_BYTES || v->kind == EVM_ABI_BYTES_ARRAY ||
           v->kind == EVM_ABI_TUPLE_ARRAY;
}

static custos_rc too_large(custos_error *err)
{
    return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "ABI encoding exceeds %u bytes",
                            EVM_ABI_MAX_BYTES);
}

/* Adds n to *total, failing once the sum passes EVM_ABI_MAX_BYTES (which also keeps every
 * later size computation far from overflow). */
static custos_rc add_size(size_t *total, size_t n, custos_error *err)
{
    if (n > EVM_ABI_MAX_BYTES || *total + n > EVM_ABI_MAX_BYTES)
        return too_large(err);
    *total += n;
    return CUSTOS_OK;
}

static size_t padded(size_t len)
{
    return (len + EVM_ABI_WORD - 1) / EVM_ABI_WORD * EVM_ABI_WORD;
}

static custos_rc add_bytes_size(size_t *total, const evm_abi_bytes *b, custos_error *err)
{
    if (b->len > EVM_ABI_MAX_BYTES)
        return too_large(err);
    return add_size(total, EVM_ABI_WORD + padded(b->len), err);
}

/* Checks v (tuples hold static fields only) and adds the bytes it occupies in its own
 * encoding, head and tail together, to *total. */
static custos_rc add_value_size(size_t *total, const evm_abi_value *v, custos_error *err)
{
    custos_rc rc;
    switch (v->kind) {
    case EVM_ABI_STATIC:
        return add_size(total, EVM_ABI_WORD, err);
    case EVM_ABI_BYTES:
        return add_bytes_size(total, &v->bytes, err);
    case EVM_ABI_BYTES_ARRAY:
        if (v->n_items > EVM_ABI_MAX_BYTES / EVM_ABI_WORD)
            return too_large(err);
        if ((rc = add_size(total, EVM_ABI_WORD * (1 + v->n_items), err)) != CUSTOS_OK)
            return rc;
        for (size_t i = 0; i < v->n_items; i++) {
            if ((rc = add_bytes_size(total, &v->items[i], err)) != CUSTOS_OK)
                return rc;
        }
        return CUSTOS_OK;
    case EVM_ABI_TUPLE_ARRAY:
        if (v->n_fields > EVM_ABI_MAX_BYTES / EVM_ABI_WORD)
            return too_large(err);
        if ((rc = add_size(total, EVM_ABI_WORD, err)) != CUSTOS_OK)
            return rc;
        for (size_t i = 0; i < v->n_fields; i++) {
            const evm_abi_value *e = &v->fields[i];
            if (e->kind != EVM_ABI_STATIC && e->kind != EVM_ABI_TUPLE)
                return custos_error_set(err, CUSTOS_ERR_INVALID,
                                        "ABI array element %zu is dynamic; only static "
                                        "elements are supported", i);
            if ((rc = add_value_size(total, e, err)) != CUSTOS_OK)
                return rc;
        }
        return CUSTOS_OK;
    case EVM_ABI_TUPLE:
        for (size_t i = 0; i < v->n_fields; i++) {
            const evm_abi_value *f = &v->fields[i];
            if (f->kind != EVM_ABI_STATIC && f->kind != EVM_ABI_TUPLE)
                return custos_error_set(err, CUSTOS_ERR_INVALID,
                                        "ABI tuple field %zu is dynamic; only static tuples "
                                        "are supported", i);
            if ((rc = add_value_size(total, f, err)) != CUSTOS_OK)
                return rc;
        }
        return CUSTOS_OK;
    }
    return custos_error_set(err, CUSTOS_ERR_INVALID, "unknown ABI value kind %d", (int)v->kind);
}

/* Bytes a validated value takes in the head of its enclosing tuple: an offset word for
 * dynamic values, the value itself for static ones. */
static size_t head_size(const evm_abi_value *v)
{
    if (v->kind == EVM_ABI_TUPLE) {
        size_t n = 0;
        for (size_t i = 0; i < v->n_fields; i++)
            n += head_size(&v->fields[i]);
        return n;
    }
    return EVM_ABI_WORD;
}

static void put_length_word(uint8_t *dst, size_t n)
{
    memset(dst, 0, EVM_ABI_WORD);
    for (size_t i = 0; i < sizeof n; i++)
        dst[EVM_ABI_WORD - 1 - i] = (uint8_t)(n >> (8 * i));
}

/* Sizes were validated by add_value_size before any write, so writes cannot fail. */
static size_t write_bytes(uint8_t *dst, const evm_abi_bytes *b)
{
    put_length_word(dst, b->len);
    if (b->len > 0)
        memcpy(dst + EVM_ABI_WORD, b->data, b->len);
    size_t p = padded(b->len);
    memset(dst + EVM_ABI_WORD + b->len, 0, p - b->len);
    return EVM_ABI_WORD + p;
}

static size_t write_value(uint8_t *dst, const evm_abi_value *v);

/* A sequence of values: heads first (offsets for dynamic ones, relative to dst), then
 * the tails in order. */
static size_t write_sequence(uint8_t *dst, const evm_abi_value *vals, size_t n)
{
    size_t head = 0;
    for (size_t i = 0; i < n; i++)
        head += head_size(&vals[i]);
    size_t h = 0, t = head;
    for (size_t i = 0; i < n; i++) {
        if (is_dynamic(&vals[i])) {
            put_length_word(dst + h, t);
            h += EVM_ABI_WORD;
            t += write_value(dst + t, &vals[i]);
        } else {
            h += write_value(dst + h, &vals[i]);
        }
    }
    return t;
}

static size_t write_value(uint8_t *dst, const evm_abi_value *v)
{
    switch (v->kind) {
    case EVM_ABI_STATIC:
        memcpy(dst, v->word, EVM_ABI_WORD);
        return EVM_ABI_WORD;
    case EVM_ABI_BYTES:
        return write_bytes(dst, &v->bytes);
    case EVM_ABI_BYTES_ARRAY: {
        put_length_word(dst, v->n_items);
        uint8_t *body = dst + EVM_ABI_WORD;
        size_t t = EVM_ABI_WORD * v->n_items;
        for (size_t i = 0; i < v->n_items; i++) {
            put_length_word(body + EVM_ABI_WORD * i, t);
            t += write_bytes(body + t, &v->items[i]);
        }
        return EVM_ABI_WORD + t;
    }
    case EVM_ABI_TUPLE:
        return write_sequence(dst, v->fields, v->n_fields);
    case EVM_ABI_TUPLE_ARRAY: {
        /* Static elements follow the length back to back, without offsets. */
        put_length_word(dst, v->n_fields);
        size_t t = EVM_ABI_WORD;
        for (size_t i = 0; i < v->n_fields; i++)
            t += write_value(dst + t, &v->fields[i]);
        return t;
    }
    }
    return 0;
}

custos_rc evm_abi_encode(const char *signature, const evm_abi_value *args, size_t n,
                         uint8_t **out, size_t *len, custos_error *err)
{
    size_t total = signature != NULL ? EVM_ABI_SELECTOR_LEN : 0;
    for (size_t i = 0; i < n; i++) {
        custos_rc rc = add_value_size(&total, &args[i], err);
        if (rc == CUSTOS_OK && is_dynamic(&args[i]))
            rc = add_size(&total, EVM_ABI_WORD, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    uint8_t *buf = malloc(total > 0 ? total : 1);
    if (buf == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "ABI encoding: out of memory");
    size_t off = 0;
    if (signature != NULL) {
        evm_abi_selector(signature, buf);
        off = EVM_ABI_SELECTOR_LEN;
    }
    size_t wrote = write_sequence(buf + off, args, n);
    if (off + wrote != total) {
        free(buf);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "ABI encoding wrote %zu bytes, expected %zu", off + wrote, total);
    }
    *out = buf;
    *len = total;
    return CUSTOS_OK;
}

custos_rc evm_abi_get_word(const uint8_t *data, size_t len, size_t index,
                           uint8_t word[EVM_ABI_WORD], custos_error *err)
{
    if (index >= len / EVM_ABI_WORD)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "ABI return data has %zu bytes, word %zu is missing", len, index);
    memcpy(word, data + EVM_ABI_WORD * index, EVM_ABI_WORD);
    return CUSTOS_OK;
}

static custos_rc check_bits(unsigned bits, unsigned max, custos_error *err)
{
    if (bits < 8 || bits > max || bits % 8 != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "ABI integer width %u is not valid",
                                bits);
    return CUSTOS_OK;
}

custos_rc evm_abi_get_uint(const uint8_t *data, size_t len, size_t index, unsigned bits,
                           custos_u256 *out, custos_error *err)
{
    uint8_t w[EVM_ABI_WORD];
    custos_rc rc = check_bits(bits, 256, err);
    if (rc != CUSTOS_OK || (rc = evm_abi_get_word(data, len, index, w, err)) != CUSTOS_OK)
        return rc;
    for (size_t i = 0; i < EVM_ABI_WORD - bits / 8; i++) {
        if (w[i] != 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "ABI word %zu does not fit in uint%u", index, bits);
    }
    custos_u256_from_be(out, w);
    return CUSTOS_OK;
}

custos_rc evm_abi_get_uint64(const uint8_t *data, size_t len, size_t index, unsigned bits,
                             uint64_t *out, custos_error *err)
{
    custos_u256 v;
    custos_rc rc = check_bits(bits, 64, err);
    if (rc != CUSTOS_OK || (rc = evm_abi_get_uint(data, len, index, bits, &v, err)) != CUSTOS_OK)
        return rc;
    *out = v.limb[0];
    return CUSTOS_OK;
}

custos_rc evm_abi_get_int(const uint8_t *data, size_t len, size_t index, unsigned bits,
                          bool *negative, custos_u256 *magnitude, custos_error *err)
{
    uint8_t w[EVM_ABI_WORD];
    custos_rc rc = check_bits(bits, 256, err);
    if (rc != CUSTOS_OK || (rc = evm_abi_get_word(data, len, index, w, err)) != CUSTOS_OK)
        return rc;
    /* intN is sign-extended: every byte above the value equals the sign byte. */
    size_t first = EVM_ABI_WORD - bits / 8;
    bool neg = (w[first] & 0x80) != 0;
    for (size_t i = 0; i < first; i++) {
        if (w[i] != (neg ? 0xff : 0x00))
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "ABI word %zu does not fit in int%u", index, bits);
    }
    if (neg) {
        /* Two's complement: magnitude = ~w + 1. */
        unsigned carry = 1;
        for (size_t i = EVM_ABI_WORD; i-- > 0;) {
            unsigned b = (uint8_t)~w[i] + carry;
            w[i] = (uint8_t)b;
            carry = b >> 8;
        }
    }
    custos_u256_from_be(magnitude, w);
    *negative = neg;
    return CUSTOS_OK;
}

custos_rc evm_abi_get_address(const uint8_t *data, size_t len, size_t index, uint8_t addr[20],
                              custos_error *err)
{
    custos_u256 v;
    custos_rc rc = evm_abi_get_uint(data, len, index, 160, &v, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t w[EVM_ABI_WORD];
    custos_u256_to_be(&v, w);
    memcpy(addr, w + 12, 20);
    return CUSTOS_OK;
}

custos_rc evm_abi_get_bool(const uint8_t *data, size_t len, size_t index, bool *out,
                           custos_error *err)
{
    custos_u256 v;
    custos_rc rc = evm_abi_get_uint(data, len, index, 8, &v, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (v.limb[0] > 1)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "ABI word %zu is not a bool", index);
    *out = v.limb[0] == 1;
    return CUSTOS_OK;
}
