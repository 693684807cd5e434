/* The gateway queries: get-latest, watch, held, signers, health, chain-head. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "connect.h"
#include "custos/hex.h"
#include "custos/chain.h"
#include "jsonout.h"
#include "notice_json.h"

/* ---- get-latest ---- */

typedef struct get_latest_args {
    cli_account acct;
    clopt_gateway gw;
} get_latest_args;

static const clopt_set get_latest_sets[] = {
    {cli_account_options, offsetof(get_latest_args, acct)},
    {clopt_gateway_options, offsetof(get_latest_args, gw)}};
static const clopt_rule get_latest_rules[] = {CLI_ACCOUNT_RULES, CLI_GATEWAY_RULE};
static const clopt_command get_latest_cmd = {
    .name = "get-latest",
    .usage = "usage: custos get-latest --gateway H:P (--account 0xHEX | --custodian ID --ref REF)",
    .summary = "the latest accepted attestation of an account, as JSON",
    .sets = get_latest_sets,
    .n_sets = CLOPT_N(get_latest_sets),
    .rules = get_latest_rules,
    .n_rules = CLOPT_N(get_latest_rules)};

int cli_get_latest(int argc, char **argv)
{
    get_latest_args a = {0};
    int status;
    if (!cli_args(&get_latest_cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t id[CUSTOS_HASH_LEN];
    if (!cli_account_id(&a.acct, id))
        return EXIT_FAIL;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_error err;
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_rc rc = custos_client_get_latest(client, id, &rec, &err);
    custos_client_free(client);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        cli_fail("%s", err.message);
        return EXIT_NEGATIVE;
    }
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    bool ok = jo_emit(jo_record(&rec), JSON_INDENT(2));
    custos_record_clear(&rec);
    return ok ? EXIT_OK : EXIT_FAIL;
}

/* ---- held ---- */

typedef struct held_args {
    const char *account;
    clopt_gateway gw;
} held_args;

static const clopt held_options[] = {
    {"account", "0xHEX", CLOPT_STR, offsetof(held_args, account),
     "only this account's held attestations"},
    {0}};
static const clopt_set held_sets[] = {{held_options, 0},
                                      {clopt_gateway_options, offsetof(held_args, gw)}};
static const clopt_rule held_rules[] = {CLI_GATEWAY_RULE};
static const clopt_command held_cmd = {
    .name = "held",
    .usage = "usage: custos held --gateway H:P [--account 0xHEX]",
    .summary = "the attestations the circuit breaker holds, oldest first, every page, one JSON line each",
    .sets = held_sets,
    .n_sets = CLOPT_N(held_sets),
    .rules = held_rules,
    .n_rules = CLOPT_N(held_rules)};

int cli_held(int argc, char **argv)
{
    held_args a = {0};
    int status;
    if (!cli_args(&held_cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t id[CUSTOS_HASH_LEN];
    custos_error err;
    if (a.account != NULL && custos_hex_decode(a.account, id, sizeof id, &err) != CUSTOS_OK) {
        cli_fail("--account: '%.80s': %s", a.account, err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_record *recs = NULL;
    size_t n = 0;
    custos_rc rc =
        custos_client_list_held(client, a.account != NULL ? id : NULL, &recs, &n, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = ok && jo_emit(jo_record(&recs[i]), JSON_COMPACT);
    custos_record_list_free(recs, n);
    return ok ? EXIT_OK : EXIT_FAIL;
}

/* ---- watch ---- */

typedef struct watch_args {
    uint64_t after, count, idle;
    bool notices;
    clopt_gateway gw;
} watch_args;

static const clopt watch_options[] = {
    {"after", "N", CLOPT_U64, offsetof(watch_args, after),
     "start after this cursor (default 0: from the first)"},
    {"count", "N", CLOPT_U64, offsetof(watch_args, count),
     "stop after N attestations (default 0: no limit)"},
    {"idle-timeout-ms", "N", CLOPT_U64, offsetof(watch_args, idle),
     "stop after N ms without a new one (default 0: wait for ever)"},
    {"notices", NULL, CLOPT_FLAG, offsetof(watch_args, notices),
     "the log's collateral notices too, in cursor order, each as {\"notice\": {...}}"},
    {0}};
static const clopt_set watch_sets[] = {{watch_options, 0},
                                       {clopt_gateway_options, offsetof(watch_args, gw)}};
static const clopt_rule watch_rules[] = {CLI_GATEWAY_RULE};
static const clopt_command watch_cmd = {
    .name = "watch",
    .usage = "usage: custos watch --gateway H:P [--after N] [--count N] [--idle-timeout-ms N]\n"
             "                    [--notices]",
    .summary = "accepted attestations (and with --notices collateral notices) in order, one "
               "JSON line each",
    .sets = watch_sets,
    .n_sets = CLOPT_N(watch_sets),
    .rules = watch_rules,
    .n_rules = CLOPT_N(watch_rules)};

typedef struct watch_ctx {
    uint64_t remaining; /* 0: no limit */
    bool failed, unverified;
    custos_secp *secp;  /* --notices: to verify each notice as it is printed */
} watch_ctx;

static bool on_record(void *arg, const custos_record *rec)
{
    watch_ctx *w = arg;
    if (!jo_emit(jo_record(rec), JSON_COMPACT)) {
        w->failed = true;
        return false;
    }
    if (w->remaining == 0)
        return true;
    return --w->remaining > 0;
}

/* --notices: a record as before, a notice as {"notice": {...}} (notice_json.h). */
static bool on_entry(void *arg, const custos_watch_event *ev)
{
    watch_ctx *w = arg;
    if (ev->kind == CUSTOS_CHAIN_RECORD)
        return on_record(arg, ev->record);
    bool verified = false;
    json_t *o = json_object();
    json_t *n = cli_notice_json(w->secp, &ev->domain, ev->notice, &verified);
    if (o == NULL || !jo_put(o, "notice", n)) {
        json_decref(o);
        o = NULL;
    }
    if (!jo_emit(o, JSON_COMPACT)) {
        w->failed = true;
        return false;
    }
    w->unverified = w->unverified || !verified;
    if (w->remaining == 0)
        return true;
    return --w->remaining > 0;
}

int cli_watch(int argc, char **argv)
{
    watch_args a = {0};
    int status;
    if (!cli_args(&watch_cmd, argc, argv, &a, NULL, &status))
        return status;
    if (a.idle > INT32_MAX) {
        cli_fail("--idle-timeout-ms: at most %d", INT32_MAX);
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    watch_ctx w = {a.count, false, false, NULL};
    custos_error err;
    custos_rc rc;
    if (!a.notices) {
        rc = custos_client_watch(client, a.after, (int)a.idle, on_record, &w, &err);
    } else if ((w.secp = custos_secp_new()) == NULL) {
        rc = custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory");
    } else {
        rc = custos_client_watch_log(client, a.after, (int)a.idle, on_entry, &w, &err);
        custos_secp_free(w.secp);
    }
    custos_client_free(client);
    if (w.failed)
        return EXIT_FAIL;
    if (w.unverified) {
        cli_fail("a notice does not verify against the signer the gateway names");
        return EXIT_FAIL;
    }
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    return EXIT_OK;
}

/* ---- signers, health, chain-head: the gateway options alone ---- */

static const clopt_set gateway_only_sets[] = {{clopt_gateway_options, 0}};
static const clopt_rule gateway_only_rules[] = {CLI_GATEWAY_RULE};
#define GATEWAY_ONLY_COMMAND(word, what)                                                    \
    {.name = word,                                                                          \
     .usage = "usage: custos " word " --gateway H:P",                                       \
     .summary = what,                                                                       \
     .sets = gateway_only_sets,                                                             \
     .n_sets = CLOPT_N(gateway_only_sets),                                                  \
     .rules = gateway_only_rules,                                                           \
     .n_rules = CLOPT_N(gateway_only_rules)}

static const clopt_command signers_cmd =
    GATEWAY_ONLY_COMMAND("signers", "the signer allow-list in force (notAfter on a rotated-out "
                                    "key), as JSON");

typedef struct health_args {
    const char *service;
    clopt_gateway gw;
} health_args;

static const clopt health_options[] = {
    {"service", "NAME", CLOPT_STR, offsetof(health_args, service),
     "the health service: \"\" (default) or custos.v1.AttestationGateway for readiness, "
     "custos.v1.Publisher for the publisher"},
    {0}};
static const clopt_set health_sets[] = {{health_options, 0},
                                        {clopt_gateway_options, offsetof(health_args, gw)}};
static const clopt_command health_cmd = {
    .name = "health",
    .usage = "usage: custos health --gateway H:P [--service NAME]",
    .summary = "prints SERVING, exit status 0, when the gateway (or the service named) is "
               "serving",
    .sets = health_sets,
    .n_sets = CLOPT_N(health_sets),
    .rules = gateway_only_rules,
    .n_rules = CLOPT_N(gateway_only_rules)};
static const clopt_command chain_head_cmd =
    GATEWAY_ONLY_COMMAND("chain-head", "the head (cursor, hash) of the accepted chain, as JSON");

/* Parses a gateway-only command line and connects; true with *client open, else *status
 * is the exit status (0 after --help). */
static bool gateway_only(const clopt_command *cmd, int argc, char **argv,
                         custos_client **client, int *status)
{
    clopt_gateway gw = {0};
    if (!cli_args(cmd, argc, argv, &gw, NULL, status))
        return false;
    *status = cli_connect(&gw, client);
    return *status == EXIT_OK;
}

int cli_signers(int argc, char **argv)
{
    custos_client *client;
    int status;
    if (!gateway_only(&signers_cmd, argc, argv, &client, &status))
        return status;
    custos_signer_info *signers;
    size_t n;
    custos_error err;
    custos_rc rc = custos_client_list_signers(client, &signers, &n, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *o = json_object();
        ok = o != NULL && jo_put(o, "address", jo_address(signers[i].address)) &&
             jo_put(o, "feed", json_string(signers[i].feed)) &&
             jo_put(o, "role", json_string(signers[i].role)) &&
             jo_put(o, "active", json_boolean(signers[i].active)) &&
             (signers[i].not_after == 0 ||
              jo_put(o, "notAfter", jo_u64(signers[i].not_after))) &&
             (!signers[i].rotated ||
              jo_put(o, "replacedBy", jo_address(signers[i].replaced_by))) &&
             json_array_append(arr, o) == 0;
        json_decref(o);
    }
    custos_signer_list_free(signers, n);
    if (!ok) {
        json_decref(arr);
        arr = NULL;
    }
    return jo_emit(arr, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}

int cli_health(int argc, char **argv)
{
    health_args a = {.service = ""};
    int status;
    if (!cli_args(&health_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    bool serving = false;
    custos_error err;
    custos_rc rc = custos_client_health_service(client, a.service, &serving, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    puts(serving ? "SERVING" : "NOT_SERVING");
    return serving ? EXIT_OK : EXIT_NEGATIVE;
}

int cli_chain_head(int argc, char **argv)
{
    custos_client *client;
    int status;
    if (!gateway_only(&chain_head_cmd, argc, argv, &client, &status))
        return status;
    uint64_t cursor;
    uint8_t hash[CUSTOS_CHAIN_HASH_LEN];
    custos_error err;
    custos_rc rc = custos_client_get_chain_head(client, &cursor, hash, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    json_t *o = json_object();
    if (o != NULL && !(jo_put(o, "cursor", jo_u64(cursor)) &&
                       jo_put(o, "chainHash", jo_hex(hash, CUSTOS_CHAIN_HASH_LEN)))) {
        json_decref(o);
        o = NULL;
    }
    return jo_emit(o, JSON_INDENT(2)) ? EXIT_OK : EXIT_FAIL;
}
