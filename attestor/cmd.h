/* The custos-attestor commands. Each takes the arguments after the command name (argv[0]
 * is the command) and returns the process exit status. */
#ifndef AT_CMD_H
#define AT_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "clopt.h"
#include "custos/error.h"

enum {
    AT_EXIT_OK = 0,
    AT_EXIT_INPUT = 1,       /* bad input or local failure: nothing was submitted */
    AT_EXIT_REFUSED = 2,     /* the gateway refused the attestation */
    AT_EXIT_UNREACHABLE = 3  /* the gateway could not be reached */
};

int at_cmd_keygen(int argc, char **argv);
int at_cmd_attest(int argc, char **argv);
int at_cmd_cosign(int argc, char **argv);
int at_cmd_freeze(int argc, char **argv);
int at_cmd_pledge(int argc, char **argv);
int at_cmd_release(int argc, char **argv);
int at_cmd_run(int argc, char **argv);
int at_cmd_reserves(int argc, char **argv);
int at_cmd_cosign_reserves(int argc, char **argv);
int at_cmd_notice(int argc, char **argv);
int at_cmd_manage(int argc, char **argv);
int at_cmd_submit_batch(int argc, char **argv);

/* Prints "custos-attestor: message" on stderr. */
void at_cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses the command line into args (and operands, NULL when it takes none); true (and
 * *status AT_EXIT_OK) when the command should run, else *status is the exit status after
 * printing its help, or its error followed by its usage. */
bool at_cmd_args(const clopt_command *cmd, int argc, char **argv, void *args,
                 clopt_list *operands, int *status) CLOPT_MUST_USE;

/* Decimal unsigned 64-bit flag value; err names the flag. */
custos_rc at_cmd_parse_u64(const char *flag, const char *text, uint64_t *out, custos_error *err);

#endif
