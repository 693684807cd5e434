/* Hex text of bytes as Ethereum tools write it: "0x" and lowercase digits. The one hex
 * encoder and decoder of Custos. */
#ifndef CUSTOS_HEX_H
#define CUSTOS_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Characters the text of n bytes takes: "0x", two digits a byte, the NUL. */
#define CUSTOS_HEX_LEN(n) (2 + 2 * (n) + 1)

/* "0x" + lowercase hex of data, NUL-terminated. CUSTOS_ERR_TOO_LARGE when cap is below
 * CUSTOS_HEX_LEN(len), CUSTOS_ERR_INVALID for a NULL buffer; out is untouched then. */
CUSTOS_MUST_USE
custos_rc custos_hex_encode(const uint8_t *data, size_t len, char *out, size_t cap);
/* An optional "0x" (or "0X"), then exactly 2 * len hex digits of either case, then the end
 * of the string. On failure out is untouched and err says what is wrong. */
CUSTOS_MUST_USE
custos_rc custos_hex_decode(const char *text, uint8_t *out, size_t len, custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
