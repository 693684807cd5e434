/* How a custos command reads its command line and reports errors. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

void cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("custos: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_exit_for(custos_rc rc)
{
    return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_FAIL;
}

bool cli_args(const clopt_command *cmd, int argc, char **argv, void *args,
              clopt_list *operands, int *status)
{
    custos_error err;
    clopt_status st = clopt_parse(cmd, argc, argv, args, operands, &err);
    if (st == CLOPT_RUN) {
        *status = EXIT_OK;
        return true;
    }
    *status = clopt_finish("custos", cmd, st, &err, cli_usage);
    return false;
}

int cli_usage_error(const clopt_command *cmd, const char *message)
{
    cli_fail("%s: %s", cmd->name, message);
    fputs(cli_usage, stderr);
    return EXIT_FAIL;
}
