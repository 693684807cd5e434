/* The custos commands: one run function per command (argv[0] is its last word), the exit
 * statuses they return, and how they read their command line and report errors. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>

#include "clopt.h"
#include "custos/error.h"

enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,        /* bad input, failed verification, local error */
    EXIT_NEGATIVE = 2,    /* no attestation for the account, or the gateway is not serving */
    EXIT_UNREACHABLE = 3  /* the gateway could not be reached */
};

/* The whole usage (main.c), printed after a usage error. */
extern const char cli_usage[];

/* The option every gateway command requires, and the message today's users know. */
#define CLI_GATEWAY_RULE {CLOPT_REQUIRED, {"gateway"}, "--gateway HOST:PORT is required"}

/* Prints "custos: message" on stderr. */
void cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status of a failed gateway call. */
int cli_exit_for(custos_rc rc) CLOPT_MUST_USE;

/* Parses the command line into args (and operands, NULL when it takes none); true (and
 * *status EXIT_OK) when the command should run, else *status is the exit status after
 * printing its help or error. */
bool cli_args(const clopt_command *cmd, int argc, char **argv, void *args,
              clopt_list *operands, int *status) CLOPT_MUST_USE;

/* A usage error found after parsing: "custos: COMMAND: message" and the usage. */
int cli_usage_error(const clopt_command *cmd, const char *message) CLOPT_MUST_USE;

/* cmd_query.c */
int cli_get_latest(int argc, char **argv);
int cli_pledge(int argc, char **argv);
int cli_notices(int argc, char **argv);
int cli_watch(int argc, char **argv);
int cli_held(int argc, char **argv);
int cli_signers(int argc, char **argv);
int cli_health(int argc, char **argv);
int cli_chain_head(int argc, char **argv);
/* cmd_proof.c */
int cli_get_proof(int argc, char **argv);
int cli_verify_proof(int argc, char **argv);
/* cmd_reserves.c */
int cli_get_reserves(int argc, char **argv);
int cli_get_reserves_proof(int argc, char **argv);
int cli_verify_reserves_proof(int argc, char **argv);
/* cmd_verify.c */
int cli_verify(int argc, char **argv);
/* cmd_audit.c: audit list | verify | verify-log */
int cli_audit(int argc, char **argv);
/* cmd_admin.c: admin add-signer | revoke-signer | rotate-signer | set-feed-policy |
 * release-held */
int cli_admin(int argc, char **argv);

#endif
