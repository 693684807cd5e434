/* admin: changes to the gateway's allow-list, account registry and held attestations
 * through GatewayAdmin (admin certificate); each prints the audit entry's seq; exit status
 * 2 when the gateway refuses. list-accounts reads the registry (admin or auditor). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "connect.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "jsonout.h"

/* The answer of an admin call: {"auditSeq": N}, or the gateway's refusal. */
static int admin_answer(custos_rc rc, uint64_t seq, const custos_error *err)
{
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err->message);
        return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_NEGATIVE;
    }
    json_t *o = json_object();
    if (o != NULL && !jo_put(o, "auditSeq", jo_u64(seq))) {
        json_decref(o);
        o = NULL;
    }
    return jo_emit(o, JSON_COMPACT) ? EXIT_OK : EXIT_FAIL;
}

/* ---- admin add-signer, admin revoke-signer ---- */

typedef struct signer_args {
    const char *address, *feed, *role;
    clopt_gateway gw;
} signer_args;

#define ADD_MESSAGE "--address and --feed and --role are required"
#define REVOKE_MESSAGE "--address and --feed are required (no --role)"

static const clopt add_signer_options[] = {
    {"address", "0xADDR", CLOPT_STR, offsetof(signer_args, address), "the signer's address"},
    {"feed", "NAME", CLOPT_STR, offsetof(signer_args, feed), "the feed it signs for"},
    {"role", "ROLE", CLOPT_STR, offsetof(signer_args, role),
     "its role in the feed's quorum (e.g. custodian, valuation-agent)"},
    {0}};
static const clopt revoke_signer_options[] = {
    {"address", "0xADDR", CLOPT_STR, offsetof(signer_args, address), "the signer's address"},
    {"feed", "NAME", CLOPT_STR, offsetof(signer_args, feed), "the feed it signs for"},
    {"role", "ROLE", CLOPT_REFUSE, 0, REVOKE_MESSAGE},
    {0}};
static const clopt_set add_signer_sets[] = {
    {add_signer_options, 0}, {clopt_gateway_options, offsetof(signer_args, gw)}};
static const clopt_set revoke_signer_sets[] = {
    {revoke_signer_options, 0}, {clopt_gateway_options, offsetof(signer_args, gw)}};
static const clopt_rule add_signer_rules[] = {
    {CLOPT_REQUIRED, {"address", "feed", "role"}, ADD_MESSAGE}, CLI_GATEWAY_RULE};
static const clopt_rule revoke_signer_rules[] = {
    {CLOPT_REQUIRED, {"address", "feed"}, REVOKE_MESSAGE}, CLI_GATEWAY_RULE};
static const clopt_command add_signer_cmd = {
    .name = "admin add-signer",
    .usage = "usage: custos admin add-signer --gateway H:P --address 0x.. --feed NAME --role ROLE",
    .summary = "allow-lists a signer for a feed",
    .sets = add_signer_sets,
    .n_sets = CLOPT_N(add_signer_sets),
    .rules = add_signer_rules,
    .n_rules = CLOPT_N(add_signer_rules)};
static const clopt_command revoke_signer_cmd = {
    .name = "admin revoke-signer",
    .usage = "usage: custos admin revoke-signer --gateway H:P --address 0x.. --feed NAME",
    .summary = "revokes a signer of a feed",
    .sets = revoke_signer_sets,
    .n_sets = CLOPT_N(revoke_signer_sets),
    .rules = revoke_signer_rules,
    .n_rules = CLOPT_N(revoke_signer_rules)};

static int admin_signer(const clopt_command *cmd, int argc, char **argv, bool add)
{
    signer_args a = {0};
    int status;
    if (!cli_args(cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t addr[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_address_from_hex(a.address, addr, &err) != CUSTOS_OK) {
        cli_fail("--address: %s", err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_rc rc = add ? custos_client_add_signer(client, addr, a.feed, a.role, &seq, &err)
                       : custos_client_revoke_signer(client, addr, a.feed, &seq, &err);
    custos_client_free(client);
    return admin_answer(rc, seq, &err);
}

static int admin_add_signer(int argc, char **argv)
{
    return admin_signer(&add_signer_cmd, argc, argv, true);
}

static int admin_revoke_signer(int argc, char **argv)
{
    return admin_signer(&revoke_signer_cmd, argc, argv, false);
}

/* ---- admin rotate-signer ---- */

typedef struct rotate_args {
    const char *old_hex, *new_hex, *feed;
    uint64_t overlap;
    clopt_gateway gw;
} rotate_args;

#define ROTATE_MESSAGE "--old, --new, --feed and --overlap SECONDS are required"

static const clopt rotate_options[] = {
    {"old", "0xADDR", CLOPT_STR, offsetof(rotate_args, old_hex), "the key rotated out"},
    {"new", "0xADDR", CLOPT_STR, offsetof(rotate_args, new_hex),
     "the key rotated in, with the old one's role"},
    {"feed", "NAME", CLOPT_STR, offsetof(rotate_args, feed), "the feed"},
    {"overlap", "SECONDS", CLOPT_U64, offsetof(rotate_args, overlap),
     "how long the old key still counts (above 0)"},
    {0}};
static const clopt_set rotate_sets[] = {{rotate_options, 0},
                                        {clopt_gateway_options, offsetof(rotate_args, gw)}};
static const clopt_rule rotate_rules[] = {
    {CLOPT_REQUIRED, {"old", "new", "feed", "overlap"}, ROTATE_MESSAGE}, CLI_GATEWAY_RULE};
static const clopt_command rotate_cmd = {
    .name = "admin rotate-signer",
    .usage = "usage: custos admin rotate-signer --gateway H:P --old 0x.. --new 0x.. --feed NAME "
             "--overlap S",
    .summary = "rotates a signer's key: the old one counts S seconds more",
    .sets = rotate_sets,
    .n_sets = CLOPT_N(rotate_sets),
    .rules = rotate_rules,
    .n_rules = CLOPT_N(rotate_rules)};

static int admin_rotate(int argc, char **argv)
{
    rotate_args a = {0};
    int status;
    if (!cli_args(&rotate_cmd, argc, argv, &a, NULL, &status))
        return status;
    if (a.overlap == 0)
        return cli_usage_error(&rotate_cmd, ROTATE_MESSAGE);
    uint8_t old_address[CUSTOS_ADDRESS_LEN], new_address[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_address_from_hex(a.old_hex, old_address, &err) != CUSTOS_OK) {
        cli_fail("--old: %s", err.message);
        return EXIT_FAIL;
    }
    if (custos_address_from_hex(a.new_hex, new_address, &err) != CUSTOS_OK) {
        cli_fail("--new: %s", err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_rc rc = custos_client_rotate_signer(client, old_address, new_address, a.feed,
                                               a.overlap, &seq, &err);
    custos_client_free(client);
    return admin_answer(rc, seq, &err);
}

/* ---- admin set-feed-policy ---- */

typedef struct policy_args {
    const char *feed, *distinct_roles;
    uint64_t max_age, max_skew, max_ttl, threshold;
    clopt_gateway gw;
} policy_args;

#define POLICY_MESSAGE                                                                      \
    "--feed, --max-age, --max-skew, --max-ttl, --threshold and --distinct-roles true|false "  \
    "are all required"

static const clopt policy_options[] = {
    {"feed", "NAME", CLOPT_STR, offsetof(policy_args, feed), "the feed"},
    {"max-age", "S", CLOPT_U64, offsetof(policy_args, max_age),
     "oldest asOf accepted, in seconds"},
    {"max-skew", "S", CLOPT_U64, offsetof(policy_args, max_skew),
     "furthest asOf in the future accepted, in seconds"},
    {"max-ttl", "S", CLOPT_U64, offsetof(policy_args, max_ttl),
     "longest validity (validUntil - asOf) accepted, in seconds"},
    {"threshold", "N", CLOPT_U64, offsetof(policy_args, threshold),
     "signatures an attestation needs"},
    {"distinct-roles", "true|false", CLOPT_STR, offsetof(policy_args, distinct_roles),
     "whether the quorum's signers must hold distinct roles"},
    {0}};
static const clopt_set policy_sets[] = {{policy_options, 0},
                                        {clopt_gateway_options, offsetof(policy_args, gw)}};
static const clopt_rule policy_rules[] = {
    {CLOPT_REQUIRED,
     {"feed", "max-age", "max-skew", "max-ttl", "threshold", "distinct-roles"},
     POLICY_MESSAGE},
    CLI_GATEWAY_RULE};
static const clopt_command policy_cmd = {
    .name = "admin set-feed-policy",
    .usage = "usage: custos admin set-feed-policy --gateway H:P --feed NAME --max-age S "
             "--max-skew S\n"
             "                        --max-ttl S --threshold N --distinct-roles true|false",
    .summary = "replaces a feed's policy",
    .sets = policy_sets,
    .n_sets = CLOPT_N(policy_sets),
    .rules = policy_rules,
    .n_rules = CLOPT_N(policy_rules)};

static int admin_feed_policy(int argc, char **argv)
{
    policy_args a = {0};
    int status;
    if (!cli_args(&policy_cmd, argc, argv, &a, NULL, &status))
        return status;
    bool roles_true = strcmp(a.distinct_roles, "true") == 0;
    if ((!roles_true && strcmp(a.distinct_roles, "false") != 0) || a.threshold > UINT32_MAX)
        return cli_usage_error(&policy_cmd, POLICY_MESSAGE);
    custos_feed_policy policy = {.max_age = a.max_age, .max_skew = a.max_skew,
                                 .max_ttl = a.max_ttl, .threshold = (uint32_t)a.threshold,
                                 .distinct_roles = roles_true};
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_error err;
    custos_rc rc = custos_client_set_feed_policy(client, a.feed, &policy, &seq, &err);
    custos_client_free(client);
    return admin_answer(rc, seq, &err);
}

/* ---- admin release-held ---- */

typedef struct release_args {
    const char *digest_hex, *note;
    clopt_gateway gw;
} release_args;

#define RELEASE_MESSAGE "--digest 0x.. (32 bytes) and a non-empty --note are required"

static const clopt release_options[] = {
    {"digest", "0xHEX", CLOPT_STR, offsetof(release_args, digest_hex),
     "the held attestation's digest"},
    {"note", "TEXT", CLOPT_STR, offsetof(release_args, note),
     "why it is released, for the audit log"},
    {0}};
static const clopt_set release_sets[] = {{release_options, 0},
                                         {clopt_gateway_options, offsetof(release_args, gw)}};
static const clopt_rule release_rules[] = {
    {CLOPT_REQUIRED, {"digest", "note"}, RELEASE_MESSAGE}, CLI_GATEWAY_RULE};
static const clopt_command release_cmd = {
    .name = "admin release-held",
    .usage = "usage: custos admin release-held --gateway H:P --digest 0x.. --note TEXT",
    .summary = "publishes an attestation the circuit breaker holds, the note going to the "
               "audit log",
    .sets = release_sets,
    .n_sets = CLOPT_N(release_sets),
    .rules = release_rules,
    .n_rules = CLOPT_N(release_rules)};

static int admin_release_held(int argc, char **argv)
{
    release_args a = {0};
    int status;
    if (!cli_args(&release_cmd, argc, argv, &a, NULL, &status))
        return status;
    if (a.note[0] == '\0')
        return cli_usage_error(&release_cmd, RELEASE_MESSAGE);
    uint8_t digest[32];
    custos_error err;
    if (custos_hex_decode(a.digest_hex, digest, sizeof digest, &err) != CUSTOS_OK) {
        cli_fail("--digest: %s", err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_rc rc = custos_client_release_held(client, digest, a.note, &seq, &err);
    custos_client_free(client);
    return admin_answer(rc, seq, &err);
}

/* ---- admin register-account, admin list-accounts (rule 9) ---- */

typedef struct register_args {
    cli_account acct;
    const char *feed;
    clopt_gateway gw;
} register_args;

#define REGISTER_MESSAGE "--feed is required, with --account 0xHEX or --custodian ID --ref REF"

static const clopt register_options[] = {
    {"feed", "NAME", CLOPT_STR, offsetof(register_args, feed),
     "the feed the account belongs to, for good"},
    {0}};
static const clopt_set register_sets[] = {{cli_account_options, offsetof(register_args, acct)},
                                          {register_options, 0},
                                          {clopt_gateway_options, offsetof(register_args, gw)}};
static const clopt_rule register_rules[] = {
    {CLOPT_REQUIRED, {"feed"}, REGISTER_MESSAGE}, CLI_ACCOUNT_RULES, CLI_GATEWAY_RULE};
static const clopt_command register_cmd = {
    .name = "admin register-account",
    .usage = "usage: custos admin register-account --gateway H:P --feed NAME\n"
             "                                     (--account 0xHEX | --custodian ID --ref REF)",
    .summary = "registers an account to its feed for good (rule 9)",
    .sets = register_sets,
    .n_sets = CLOPT_N(register_sets),
    .rules = register_rules,
    .n_rules = CLOPT_N(register_rules)};

static int admin_register_account(int argc, char **argv)
{
    register_args a = {0};
    int status;
    if (!cli_args(&register_cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t id[CUSTOS_HASH_LEN];
    if (!cli_account_id(&a.acct, id))
        return EXIT_FAIL;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    uint64_t seq = 0;
    custos_error err;
    custos_rc rc = custos_client_register_account(client, id, a.feed, &seq, &err);
    custos_client_free(client);
    return admin_answer(rc, seq, &err);
}

typedef struct list_accounts_args {
    const char *feed;
    clopt_gateway gw;
} list_accounts_args;

/* Accounts asked for per call: ListAccounts' default page. */
#define LIST_ACCOUNTS_PAGE 1000

static const clopt list_accounts_options[] = {
    {"feed", "NAME", CLOPT_STR, offsetof(list_accounts_args, feed),
     "only this feed's accounts (default: every feed's)"},
    {0}};
static const clopt_set list_accounts_sets[] = {
    {list_accounts_options, 0}, {clopt_gateway_options, offsetof(list_accounts_args, gw)}};
static const clopt_rule list_accounts_rules[] = {CLI_GATEWAY_RULE};
static const clopt_command list_accounts_cmd = {
    .name = "admin list-accounts",
    .usage = "usage: custos admin list-accounts --gateway H:P [--feed NAME]",
    .summary = "the registered accounts, one JSON line each (admin or auditor certificate)",
    .sets = list_accounts_sets,
    .n_sets = CLOPT_N(list_accounts_sets),
    .rules = list_accounts_rules,
    .n_rules = CLOPT_N(list_accounts_rules)};

static int admin_list_accounts(int argc, char **argv)
{
    list_accounts_args a = {0};
    int status;
    if (!cli_args(&list_accounts_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_error err;
    custos_rc rc = CUSTOS_OK;
    status = EXIT_OK;
    for (uint64_t offset = 0; rc == CUSTOS_OK && status == EXIT_OK;) {
        custos_registered_account *list = NULL;
        size_t n = 0;
        uint64_t total = 0;
        rc = custos_client_list_accounts(client, a.feed, offset, LIST_ACCOUNTS_PAGE, &list, &n,
                                         &total, &err);
        for (size_t i = 0; rc == CUSTOS_OK && status == EXIT_OK && i < n; i++) {
            json_t *o = json_object();
            if (o != NULL && (!jo_put(o, "account", jo_hex(list[i].account, CUSTOS_HASH_LEN)) ||
                              !jo_put(o, "feed", json_string(list[i].feed)))) {
                json_decref(o);
                o = NULL;
            }
            if (!jo_emit(o, JSON_COMPACT))
                status = EXIT_FAIL;
        }
        free(list);
        offset += n;
        if (n == 0 || offset >= total)
            break;
    }
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return rc == CUSTOS_ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_NEGATIVE;
    }
    return status;
}

int cli_admin(int argc, char **argv)
{
    static const clopt_entry subs[] = {
        {"add-signer", admin_add_signer, &add_signer_cmd},
        {"revoke-signer", admin_revoke_signer, &revoke_signer_cmd},
        {"rotate-signer", admin_rotate, &rotate_cmd},
        {"set-feed-policy", admin_feed_policy, &policy_cmd},
        {"release-held", admin_release_held, &release_cmd},
        {"register-account", admin_register_account, &register_cmd},
        {"list-accounts", admin_list_accounts, &list_accounts_cmd},
        {NULL, NULL, NULL}};
    return clopt_group("custos", subs, cli_usage, argc, argv);
}
