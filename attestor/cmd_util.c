#include "cmd.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void at_cmd_error(const char *fmt, ...)
{
    va_list ap;
    fputs("custos-attestor: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

custos_rc at_cmd_parse_u64(const char *flag, const char *text, uint64_t *out, custos_error *err)
{
    if (text[0] < '0' || text[0] > '9')
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: not an unsigned integer: '%.40s'",
                                flag, text);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: not an unsigned 64-bit integer: "
                                "'%.40s'", flag, text);
    *out = v;
    return CUSTOS_OK;
}
