#include "custos/hex.h"

#include <stdint.h>
#include <string.h>

/* 0..15 for [0-9a-fA-F], -1 for anything else. */
static int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

custos_rc custos_hex_encode(const uint8_t *data, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    if (out == NULL || (data == NULL && len > 0))
        return CUSTOS_ERR_INVALID;
    if (len > (SIZE_MAX - 3) / 2 || cap < CUSTOS_HEX_LEN(len))
        return CUSTOS_ERR_TOO_LARGE;
    out[0] = '0';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[data[i] >> 4];
        out[3 + 2 * i] = digits[data[i] & 0x0f];
    }
    out[2 + 2 * len] = '\0';
    return CUSTOS_OK;
}

custos_rc custos_hex_decode(const char *text, uint8_t *out, size_t len, custos_error *err)
{
    if (text == NULL || (out == NULL && len > 0))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "hex decode: NULL argument");
    const char *digits = text;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        digits += 2;
    size_t n = strlen(digits);
    if (len > SIZE_MAX / 2 || n != 2 * len)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "hex value has %zu digits, expected %zu (%zu bytes)", n,
                                2 * len, len);
    /* Validate everything before writing so a refusal leaves out untouched. */
    for (size_t i = 0; i < n; i++)
        if (hex_digit_value(digits[i]) < 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "hex value has a non-hex character at digit %zu", i + 1);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(hex_digit_value(digits[2 * i]) << 4 |
                           hex_digit_value(digits[2 * i + 1]));
    return CUSTOS_OK;
}
