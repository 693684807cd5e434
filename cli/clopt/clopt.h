/* The command-line parser custos and custos-attestor share. A command declares its options
 * as data (name, value, help text, where the value goes), the rules between them (required,
 * one of, conflicts) and how many operands it takes; clopt_parse fills the command's argument
 * struct and says what is wrong in the words of those declarations, clopt_help prints the
 * command's help from them, and clopt_main / clopt_group pick the command from its words. */
#ifndef CLOPT_H
#define CLOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "custos/error.h"

#define CLOPT_MUST_USE __attribute__((warn_unused_result))

/* The number of elements of a declaration array. */
#define CLOPT_N(a) (sizeof(a) / sizeof((a)[0]))

typedef enum clopt_kind {
    CLOPT_FLAG,   /* takes no value: sets a bool */
    CLOPT_STR,    /* const char *, pointing into argv */
    CLOPT_U64,    /* uint64_t, unsigned decimal */
    CLOPT_LIST,   /* appends to a clopt_list; may be given up to CLOPT_LIST_MAX times */
    CLOPT_REFUSE  /* takes a value and is refused with its help text, which says why (an
                   * option of a sibling command, named to point the user there) */
} clopt_kind;

/* Most values of a CLOPT_LIST option, and most operands. */
#define CLOPT_LIST_MAX 8

typedef struct clopt_list {
    const char *items[CLOPT_LIST_MAX];
    size_t n;
} clopt_list;

typedef struct clopt {
    const char *name;  /* "gateway" for --gateway; NULL ends a table */
    const char *value; /* the value's name in help ("HOST:PORT"); NULL for a flag */
    clopt_kind kind;
    size_t offset;     /* where the value goes, from the start of the table's struct */
    const char *help;  /* one line */
} clopt;

/* A table of options and where its struct lies in the command's argument struct. */
typedef struct clopt_set {
    const clopt *opts;
    size_t base;
} clopt_set;

typedef enum clopt_rule_kind {
    CLOPT_REQUIRED, /* every option named is given */
    CLOPT_ANY,      /* at least one is given */
    CLOPT_ONE,      /* exactly one is given */
    CLOPT_CONFLICT, /* the first, when given, goes with none of the others */
    CLOPT_TOGETHER, /* all or none are given */
    CLOPT_NEEDS     /* the first, when given, needs one of the others */
} clopt_rule_kind;

#define CLOPT_RULE_NAMES 6

typedef struct clopt_rule {
    clopt_rule_kind kind;
    const char *names[CLOPT_RULE_NAMES]; /* option names without "--"; unused slots NULL */
    const char *message;                 /* what is wrong when broken; NULL: made from names */
} clopt_rule;

typedef struct clopt_command {
    const char *name;    /* the words after the program: "get-latest", "audit verify-log" */
    const char *usage;   /* "usage: PROGRAM NAME ...", printed by --help (and after errors) */
    const char *summary; /* what the command does, one line */
    const clopt_set *sets;
    size_t n_sets;
    const clopt_rule *rules; /* checked in order; the first broken one is reported */
    size_t n_rules;
    size_t min_operands, max_operands; /* max at most CLOPT_LIST_MAX */
    const char *operand_message;       /* said when their number is wrong; NULL: "unexpected
                                        * argument '...'" (or "missing argument") */
} clopt_command;

/* Most options a command declares, over all its sets. */
#define CLOPT_OPTIONS_MAX 48

typedef enum clopt_status {
    CLOPT_RUN,       /* parsed: run the command */
    CLOPT_HELP,      /* --help or -h: print clopt_help */
    CLOPT_BAD_USAGE, /* err says what is wrong; the usage belongs after it */
    CLOPT_BAD_VALUE  /* err says which value is wrong and why */
} clopt_status;

/* Parses argv[1..argc-1] (argv[0] is the command's last word) into args, whose fields keep
 * the caller's defaults unless given (on the command line, else through an option's
 * environment variable: the command line wins), and the operands into operands (NULL when the command
 * takes none). Options are --name VALUE or --name=VALUE, in any order with the operands, a
 * unique prefix of a name standing for it; "--" ends them; a value given twice keeps the last.
 * Messages are prefixed with the command's name, except those about one value, which start
 * with the option ("--after: not an unsigned integer: 'x'"). A declaration the parser cannot
 * honour (a rule naming no option, too many options) is CLOPT_BAD_USAGE with
 * CUSTOS_ERR_INTERNAL. */
clopt_status clopt_parse(const clopt_command *cmd, int argc, char **argv, void *args,
                         clopt_list *operands, custos_error *err) CLOPT_MUST_USE;

/* An unsigned decimal that fits 64 bits (no sign, no space), as CLOPT_U64 reads it. */
bool clopt_u64(const char *text, uint64_t *out) CLOPT_MUST_USE;

/* Writes the command's help: usage, summary, options. False when out cannot be written. */
bool clopt_help(FILE *out, const clopt_command *cmd) CLOPT_MUST_USE;

/* Finishes a status other than CLOPT_RUN: the help on stdout (exit status 0), or
 * "PROGRAM: message" on stderr followed, for CLOPT_BAD_USAGE, by after_error (NULL: none),
 * exit status 1. Returns the exit status. */
int clopt_finish(const char *program, const clopt_command *cmd, clopt_status status,
                 const custos_error *err, const char *after_error) CLOPT_MUST_USE;

/* ---- picking the command ---- */

typedef int (*clopt_run_fn)(int argc, char **argv);

typedef struct clopt_entry {
    const char *word;         /* NULL ends a table */
    clopt_run_fn run;         /* gets argv from the word on */
    const clopt_command *cmd; /* its summary in a group's help; NULL at the top level */
} clopt_entry;

typedef struct clopt_program {
    const char *name;    /* "custos" */
    const char *version; /* printed by --version after the name */
    const char *usage;   /* the whole usage, ending in a newline */
    const clopt_entry *commands;
} clopt_program;

/* Runs the command argv[1] names. --help, -h and help print the usage (exit status 0),
 * "help COMMAND [SUBCOMMAND]" that command's help, --version the name and version; no
 * command prints the usage on stderr and an unknown one says so, exit status 1. */
int clopt_main(const clopt_program *p, int argc, char **argv) CLOPT_MUST_USE;

/* Writes a group's help: its usage and each subcommand's summary. False when out cannot be
 * written. */
bool clopt_group_help(FILE *out, const char *program, const char *group,
                      const clopt_entry *subs) CLOPT_MUST_USE;

/* Runs the subcommand argv[1] names in the group argv[0] ("audit list"). --help, -h and
 * help list the subcommands; none or an unknown one prints "PROGRAM: GROUP: expected 'a',
 * 'b' or 'c'" and after_error on stderr, exit status 1. */
int clopt_group(const char *program, const clopt_entry *subs, const char *after_error,
                int argc, char **argv) CLOPT_MUST_USE;

/* ---- the options every command that talks to a gateway takes ---- */

/* Where the gateway is and how the connection is secured: TLS unless insecure. */
typedef struct clopt_gateway {
    const char *target;   /* --gateway HOST:PORT; NULL when not given */
    const char *tls_ca;   /* --tls-ca: CA of the gateway's certificate; NULL: system roots */
    const char *tls_cert; /* --tls-cert: client certificate (mutual TLS), with tls_key */
    const char *tls_key;  /* --tls-key */
    bool insecure;        /* --insecure: plaintext, for a gateway run with [tls] insecure */
    uint64_t timeout_ms;  /* --timeout-ms: deadline of each call; 0: the client's default */
} clopt_gateway;

/* The environment variables the gateway options read when not given. */
#define CLOPT_ENV_GATEWAY "CUSTOS_GATEWAY"
#define CLOPT_ENV_CA "CUSTOS_CA"
#define CLOPT_ENV_CERT "CUSTOS_CERT"
#define CLOPT_ENV_KEY "CUSTOS_KEY"

/* Most milliseconds --timeout-ms takes (a day: a call's deadline, not a daemon's life). */
#define CLOPT_TIMEOUT_MS_MAX 86400000u

/* --gateway, --tls-ca, --tls-cert, --tls-key, --insecure, --timeout-ms, into a
 * clopt_gateway. */
extern const clopt clopt_gateway_options[];

/* An option of clopt_gateway_options that an environment variable gives when the command
 * line does not ("" counts as not set), unless the option `unless` is on the command line
 * (as --insecure, which takes no file, stops CUSTOS_CA). */
typedef struct clopt_env {
    const char *option; /* NULL ends the table */
    const char *env;
    const char *unless; /* NULL: none */
} clopt_env;

/* CUSTOS_GATEWAY, CUSTOS_CA, CUSTOS_CERT, CUSTOS_KEY; clopt_parse applies them to every
 * command that takes the gateway options. */
extern const clopt_env clopt_gateway_env[];

/* The entry of clopt_gateway_env that gives o, or NULL (o not one of those options). */
const clopt_env *clopt_env_of(const clopt *o);

/* The deadline of each call: --timeout-ms when given and not 0, else fallback_ms (0: the
 * client's default). False, with err saying so, when --timeout-ms is above
 * CLOPT_TIMEOUT_MS_MAX. */
bool clopt_gateway_timeout(const clopt_gateway *gw, int fallback_ms, int *timeout_ms,
                           custos_error *err) CLOPT_MUST_USE;

#endif
