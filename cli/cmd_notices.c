/* The collateral manager's notices: notices, an account's accepted notices as the gateway
 * stores them (docs/rules.md rule 19), each verified here: its digest recomputed from its
 * fields on the gateway's domain, and its signature recovered to the signer the gateway
 * names. Each carries its typed data, which ethers' verifyTypedData checks as well. With
 * --follow, the account's new notices as the gateway accepts them, from Watch
 * (docs/attestation.md §19). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "connect.h"
#include "custos/ltv.h"
#include "custos/notice.h"
#include "custos/sig.h"
#include "jsonout.h"
#include "notice_json.h"

typedef struct notices_args {
    cli_account acct;
    uint64_t limit, count, idle;
    bool follow;
    clopt_gateway gw;
} notices_args;

static const clopt notices_options[] = {
    {"limit", "N", CLOPT_U64, offsetof(notices_args, limit),
     "at most N notices, newest first (1 to 1000; default 100)"},
    {"follow", NULL, CLOPT_FLAG, offsetof(notices_args, follow),
     "one JSON line per notice, oldest first, then each new one as the gateway accepts it"},
    {"count", "N", CLOPT_U64, offsetof(notices_args, count),
     "with --follow: stop after N new notices (default 0: no limit)"},
    {"idle-timeout-ms", "N", CLOPT_U64, offsetof(notices_args, idle),
     "with --follow: stop after N ms without a new entry in the log (default 0: wait for "
     "ever)"},
    {0}};
static const clopt_set notices_sets[] = {{cli_account_options, offsetof(notices_args, acct)},
                                         {notices_options, 0},
                                         {clopt_gateway_options, offsetof(notices_args, gw)}};
static const clopt_rule notices_rules[] = {CLI_ACCOUNT_RULES, CLI_GATEWAY_RULE};
static const clopt_command notices_cmd = {
    .name = "notices",
    .usage = "usage: custos notices --gateway H:P (--account 0xHEX | --custodian ID --ref REF)\n"
             "                      [--limit N] [--follow [--count N] [--idle-timeout-ms N]]",
    .summary = "an account's collateral notices (margin calls, liquidation, ...), newest "
               "first, each verified against its signer, as JSON",
    .sets = notices_sets,
    .n_sets = CLOPT_N(notices_sets),
    .rules = notices_rules,
    .n_rules = CLOPT_N(notices_rules)};

/* --follow: the account's new notices from Watch, after those already printed. */
typedef struct follow_ctx {
    custos_secp *secp;
    uint8_t account[CUSTOS_HASH_LEN];
    uint64_t printed_up_to; /* the highest cursor already printed */
    uint64_t remaining;     /* 0: no limit */
    bool failed, unverified;
} follow_ctx;

/* Prints one notice as a JSON line; false when it does not verify or stdout failed. */
static bool follow_print(follow_ctx *f, const custos_domain *d, const custos_stored_notice *n)
{
    bool verified = false;
    if (!jo_emit(cli_notice_json(f->secp, d, n, &verified), JSON_COMPACT))
        f->failed = true;
    else if (!verified)
        f->unverified = true;
    return !f->failed && !f->unverified;
}

static bool on_follow_event(void *arg, const custos_watch_event *ev)
{
    follow_ctx *f = arg;
    if (ev->kind != CUSTOS_CHAIN_NOTICE || ev->cursor <= f->printed_up_to ||
        memcmp(ev->notice->notice.account, f->account, CUSTOS_HASH_LEN) != 0)
        return true;
    if (!follow_print(f, &ev->domain, ev->notice))
        return false;
    return f->remaining == 0 || --f->remaining > 0;
}

/* The list printed as one document, newest first; false when it could not be printed. */
static bool print_list(custos_secp *ctx, const custos_domain *domain,
                       const custos_stored_notice *list, size_t n, bool *all_verified)
{
    json_t *arr = json_array();
    *all_verified = true;
    for (size_t i = 0; arr != NULL && i < n; i++) {
        bool verified = false;
        if (json_array_append_new(arr, cli_notice_json(ctx, domain, &list[i], &verified)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
        *all_verified = *all_verified && verified;
    }
    json_t *doc = json_object();
    bool ok = false;
    if (doc != NULL && arr != NULL && jo_put(doc, "count", jo_u64(n))) {
        ok = json_object_set_new(doc, "notices", arr) == 0;
        arr = NULL;
    }
    json_decref(arr);
    if (!ok) {
        json_decref(doc);
        doc = NULL;
    }
    return jo_emit(doc, JSON_INDENT(2));
}

int cli_notices(int argc, char **argv)
{
    notices_args a = {0};
    int status;
    if (!cli_args(&notices_cmd, argc, argv, &a, NULL, &status))
        return status;
    if (a.limit > 1000) {
        cli_fail("--limit: %llu is above 1000", (unsigned long long)a.limit);
        return EXIT_FAIL;
    }
    if (!a.follow && (a.count != 0 || a.idle != 0))
        return cli_usage_error(&notices_cmd, "--count and --idle-timeout-ms need --follow");
    if (a.idle > INT32_MAX) {
        cli_fail("--idle-timeout-ms: at most %d", INT32_MAX);
        return EXIT_FAIL;
    }
    follow_ctx f;
    memset(&f, 0, sizeof f);
    f.remaining = a.count;
    if (!cli_account_id(&a.acct, f.account))
        return EXIT_FAIL;
    f.secp = custos_secp_new();
    if (f.secp == NULL) {
        cli_fail("out of memory");
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK) {
        custos_secp_free(f.secp);
        return status;
    }
    custos_stored_notice *list = NULL;
    size_t n = 0;
    custos_domain domain;
    custos_error err;
    /* The head first: a notice accepted after it is streamed, and one also listed is
     * skipped by its cursor. */
    uint64_t head = 0;
    uint8_t head_hash[CUSTOS_HASH_LEN];
    custos_rc rc = a.follow ? custos_client_get_chain_head(client, &head, head_hash, &err)
                            : CUSTOS_OK;
    if (rc == CUSTOS_OK)
        rc = custos_client_list_notices(client, f.account, (uint32_t)a.limit, &domain, &list,
                                        &n, &err);
    bool all_verified = true, printed = rc == CUSTOS_OK;
    if (rc == CUSTOS_OK && !a.follow) {
        printed = print_list(f.secp, &domain, list, n, &all_verified);
    } else if (rc == CUSTOS_OK) {
        /* Oldest first; a notice that does not verify, or a failed write, stops here. */
        bool more = true;
        for (size_t i = n; i > 0 && more; i--) {
            more = follow_print(&f, &domain, &list[i - 1]);
            if (list[i - 1].cursor > f.printed_up_to)
                f.printed_up_to = list[i - 1].cursor;
        }
        if (more)
            rc = custos_client_watch_log(client, head, (int)a.idle, on_follow_event, &f, &err);
        printed = !f.failed;
        all_verified = !f.unverified;
    }
    custos_client_free(client);
    free(list);
    custos_secp_free(f.secp);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    if (!printed)
        return EXIT_FAIL;
    if (!all_verified) {
        cli_fail("a notice does not verify against the signer the gateway names");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
