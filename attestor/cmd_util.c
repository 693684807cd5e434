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

bool at_cmd_args(const clopt_command *cmd, int argc, char **argv, void *args,
                 clopt_list *operands, int *status)
{
    custos_error err;
    clopt_status st = clopt_parse(cmd, argc, argv, args, operands, &err);
    if (st == CLOPT_RUN) {
        *status = AT_EXIT_OK;
        return true;
    }
    *status = clopt_finish("custos-attestor", cmd, st, &err, cmd->usage);
    return false;
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
