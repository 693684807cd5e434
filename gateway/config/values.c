/* One configuration value checked and reported (parser.h). */
#include "config/parser.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "custos/sig.h"

/* Records the first error only: later ones are usually consequences of it. */
void gw_cfg_fail(cfg_parser *p, int line, const char *key, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (key != NULL)
        custos_error_set(p->err, CUSTOS_ERR_INVALID, "%s:%d: [%s] %s: %s", p->path, line,
                         p->section, key, what);
    else
        custos_error_set(p->err, CUSTOS_ERR_INVALID, "%s:%d: [%s]: %s", p->path, line,
                         p->section, what);
}

/* Digits only, no sign, no blanks, no trailing text, within [min, max]. */
bool gw_cfg_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    uint64_t v = 0;
    for (const char *c = text; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return false;
        unsigned d = (unsigned)(*c - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool gw_cfg_uint_key(cfg_parser *p, const char *key, const char *value, uint64_t min,
                     uint64_t max, uint64_t *out)
{
    if (gw_cfg_parse_uint(value, min, max, out))
        return true;
    gw_cfg_fail(p, p->line, key, "must be an integer from %" PRIu64 " to %" PRIu64 ", got '%s'",
                min, max, value);
    return false;
}

bool gw_cfg_copy_key(cfg_parser *p, const char *key, const char *value, char *dst,
                     size_t cap, bool allow_empty)
{
    size_t len = strlen(value);
    if (len == 0 && !allow_empty) {
        gw_cfg_fail(p, p->line, key, "must not be empty");
        return false;
    }
    if (len >= cap) {
        gw_cfg_fail(p, p->line, key, "longer than %zu bytes", cap - 1);
        return false;
    }
    memcpy(dst, value, len + 1);
    return true;
}

bool gw_cfg_address_key(cfg_parser *p, const char *key, const char *value,
                        uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    custos_error e;
    custos_error_clear(&e);
    if (custos_address_from_hex(value, addr, &e) == CUSTOS_OK)
        return true;
    gw_cfg_fail(p, p->line, key, "must be a 0x-prefixed 20-byte address (EIP-55 or lowercase), "
                "got '%s' (%s)", value, e.message);
    return false;
}

/* Feed names travel on the wire and in logs: printable ASCII without blanks. */
bool gw_cfg_valid_feed_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > CUSTOS_FEED_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isgraph((unsigned char)name[i]))
            return false;
    return true;
}
