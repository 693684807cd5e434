/* The flags shared by the commands that sign an attestation of one account (attest,
 * freeze, release): where its data, key and sequence state are, its feed and domain, the
 * clock, and where the signed attestation goes. */
#ifndef AT_SIGNOPTS_H
#define AT_SIGNOPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "gwconn.h"
#include "signer.h"

typedef struct at_sign_opts {
    const char *holdings, *account, *feed, *chain_id, *contract, *state, *policy, *now,
        *export_path;
    at_key_spec key;
    at_gateway gw;
} at_sign_opts;

/* getopt_long values, above every short option and the gateway's transport options. */
enum {
    AT_OPT_HOLDINGS = 0x200,
    AT_OPT_ACCOUNT,
    AT_OPT_FEED,
    AT_OPT_CHAIN_ID,
    AT_OPT_CONTRACT,
    AT_OPT_STATE,
    AT_OPT_POLICY,
    AT_OPT_NOW,
    AT_OPT_GATEWAY,
    AT_OPT_EXPORT
};

/* The entries to put in a command's option table (before its terminating zero entry). */
#define AT_SIGN_OPTIONS                                                                     \
    {"holdings", required_argument, NULL, AT_OPT_HOLDINGS},                                 \
        {"account", required_argument, NULL, AT_OPT_ACCOUNT},                               \
        {"feed", required_argument, NULL, AT_OPT_FEED},                                     \
        {"chain-id", required_argument, NULL, AT_OPT_CHAIN_ID},                             \
        {"contract", required_argument, NULL, AT_OPT_CONTRACT},                             \
        {"state", required_argument, NULL, AT_OPT_STATE},                                   \
        {"policy", required_argument, NULL, AT_OPT_POLICY},                                 \
        {"now", required_argument, NULL, AT_OPT_NOW},                                       \
        {"gateway", required_argument, NULL, AT_OPT_GATEWAY},                               \
        {"export", required_argument, NULL, AT_OPT_EXPORT}, AT_KEY_OPTIONS, AT_GATEWAY_OPTIONS

/* Records one getopt_long result (the key and the gateway's transport options too); false
 * when it is none of these. */
bool at_sign_take_option(at_sign_opts *o, int opt, const char *arg);

/* The flag name of the first of holdings, account, feed, chain-id, contract, state and the
 * key (file or HSM) that was not given, or NULL when all were. */
const char *at_sign_missing(const at_sign_opts *o);

#endif
