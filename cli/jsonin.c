#include "jsonin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/hex.h"
#include "custos/attestation.h"
#include "custos/typeddata.h"

bool ji_read_file(const char *path, char **text, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cli_fail("%s: %s", path, strerror(errno));
        return false;
    }
    char *buf = malloc(CUSTOS_TYPEDDATA_MAX_BYTES + 1);
    size_t n = buf != NULL ? fread(buf, 1, CUSTOS_TYPEDDATA_MAX_BYTES + 1, f) : 0;
    bool ok = buf != NULL && !ferror(f) && n <= CUSTOS_TYPEDDATA_MAX_BYTES;
    if (!ok)
        cli_fail("%s: %s", path,
                 buf == NULL ? "out of memory"
                 : ferror(f) ? "read error"
                             : "larger than the typed-data size limit");
    fclose(f);
    if (!ok) {
        free(buf);
        return false;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return true;
}

bool ji_load(const char *path, json_t **out)
{
    char *text;
    size_t len;
    if (!ji_read_file(path, &text, &len))
        return false;
    json_error_t jerr;
    *out = json_loadb(text, len, 0, &jerr);
    free(text);
    if (*out == NULL) {
        cli_fail("%s: line %d: %s", path, jerr.line, jerr.text);
        return false;
    }
    return true;
}

bool ji_hash(const char *path, json_t *o, const char *key, uint8_t out[32])
{
    const char *text = json_string_value(json_object_get(o, key));
    custos_error err;
    if (text == NULL) {
        cli_fail("%s: \"%s\" is missing or not a string", path, key);
        return false;
    }
    if (custos_hex_decode(text, out, 32, &err) != CUSTOS_OK) {
        cli_fail("%s: \"%s\": %s", path, key, err.message);
        return false;
    }
    return true;
}

bool ji_u64(const char *path, json_t *o, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        cli_fail("%s: \"%s\" must be a non-negative integer", path, key);
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

bool ji_dec(const char *path, json_t *o, const char *key, custos_u256 *out)
{
    const char *text = json_string_value(json_object_get(o, key));
    custos_error err;
    if (text == NULL) {
        cli_fail("%s: \"%s\" is missing or not a decimal string", path, key);
        return false;
    }
    if (custos_u256_from_dec(out, text, strlen(text), &err) != CUSTOS_OK) {
        cli_fail("%s: \"%s\": %s", path, key, err.message);
        return false;
    }
    return true;
}
