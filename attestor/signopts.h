/* The options shared by the commands that sign (attest, freeze, release, reserves): where
 * the data, key and sequence state are, the feed and domain, the clock; for one account's
 * attestation also the account and where the signed attestation goes. Declared once for
 * the command-line parser (cli/clopt). */
#ifndef AT_SIGNOPTS_H
#define AT_SIGNOPTS_H

#include <stddef.h>

#include "clopt.h"
#include "gwconn.h"
#include "signer.h"

typedef struct at_sign_opts {
    const char *holdings, *account, *feed, *chain_id, *contract, *state, *policy, *now,
        *export_path;
    at_key_spec key;
    at_gateway gw;
} at_sign_opts;

/* --holdings, --feed, --chain-id, --contract, --state, --policy, --now: into at_sign_opts. */
extern const clopt at_sign_options[];
/* --account, --export: into at_sign_opts. */
extern const clopt at_account_options[];
/* --key: into at_key_spec. */
extern const clopt at_key_options[];
/* --pkcs11-module, --pkcs11-token, --pkcs11-key, --pkcs11-pin-file: into at_key_spec. */
extern const clopt at_p11_options[];

/* The sets of a command signing one account's attestation, whose argument struct type has
 * its at_sign_opts in member. */
#define AT_SIGN_SETS(type, member)                                                          \
    {at_sign_options, offsetof(type, member)}, {at_account_options, offsetof(type, member)}, \
        {at_key_options, offsetof(type, member.key)},                                       \
        {at_p11_options, offsetof(type, member.key)},                                       \
        {clopt_gateway_options, offsetof(type, member.gw)}

/* The key, as a file or in a token; at_signer_open refuses both. */
#define AT_KEY_RULE                                                                         \
    {CLOPT_ANY,                                                                             \
     {"key", "pkcs11-module", "pkcs11-token", "pkcs11-key", "pkcs11-pin-file"},             \
     "--key is required"}

/* What every command signing one account's attestation requires, in the order reported. */
#define AT_SIGN_RULES                                                                       \
    {CLOPT_REQUIRED, {"holdings"}, NULL}, {CLOPT_REQUIRED, {"account"}, NULL},              \
        {CLOPT_REQUIRED, {"feed"}, NULL}, {CLOPT_REQUIRED, {"chain-id"}, NULL},             \
        {CLOPT_REQUIRED, {"contract"}, NULL}, {CLOPT_REQUIRED, {"state"}, NULL}, AT_KEY_RULE

#endif
