/* The collateral manager's notices: notices, an account's accepted notices as the gateway
 * stores them (docs/rules.md rule 19), each verified here: its digest recomputed from its
 * fields on the gateway's domain, and its signature recovered to the signer the gateway
 * names. Each carries its typed data, which ethers' verifyTypedData checks as well. */
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

typedef struct notices_args {
    cli_account acct;
    uint64_t limit;
    clopt_gateway gw;
} notices_args;

static const clopt notices_options[] = {
    {"limit", "N", CLOPT_U64, offsetof(notices_args, limit),
     "at most N notices, newest first (1 to 1000; default 100)"},
    {0}};
static const clopt_set notices_sets[] = {{cli_account_options, offsetof(notices_args, acct)},
                                         {notices_options, 0},
                                         {clopt_gateway_options, offsetof(notices_args, gw)}};
static const clopt_rule notices_rules[] = {CLI_ACCOUNT_RULES, CLI_GATEWAY_RULE};
static const clopt_command notices_cmd = {
    .name = "notices",
    .usage = "usage: custos notices --gateway H:P (--account 0xHEX | --custodian ID --ref REF)\n"
             "                      [--limit N]",
    .summary = "an account's collateral notices (margin calls, liquidation, ...), newest "
               "first, each verified against its signer, as JSON",
    .sets = notices_sets,
    .n_sets = CLOPT_N(notices_sets),
    .rules = notices_rules,
    .n_rules = CLOPT_N(notices_rules)};

/* Whether the notice's digest and signature are what the gateway says. */
static bool notice_verified(custos_secp *ctx, const custos_domain *d,
                            const custos_stored_notice *s)
{
    uint8_t digest[CUSTOS_HASH_LEN], signer[CUSTOS_ADDRESS_LEN];
    custos_error err;
    custos_notice_digest(d, &s->notice, digest);
    return memcmp(digest, s->digest, sizeof digest) == 0 &&
           custos_recover_address(ctx, digest, &s->sig, signer, &err) == CUSTOS_OK &&
           memcmp(signer, s->signer, sizeof signer) == 0;
}

static json_t *notice_json(custos_secp *ctx, const custos_domain *d,
                           const custos_stored_notice *s, bool *verified)
{
    const custos_notice *n = &s->notice;
    *verified = notice_verified(ctx, d, s);
    char *td = NULL;
    custos_error err;
    json_t *typed = NULL;
    if (custos_notice_typeddata_export(d, n, &s->sig, &td, &err) == CUSTOS_OK) {
        typed = json_loads(td, 0, NULL);
        free(td);
    }
    json_t *o = json_object();
    bool ok = o != NULL && typed != NULL && jo_put(o, "feed", json_string(s->feed)) &&
              jo_put(o, "account", jo_hex(n->account, CUSTOS_HASH_LEN)) &&
              jo_put(o, "lender", jo_address(n->lender)) &&
              jo_put(o, "state", json_string(custos_loan_state_name(
                                     (custos_loan_state)n->state))) &&
              jo_put(o, "ltvBps", jo_u64(n->ltv_bps)) &&
              jo_put(o, "exposure", jo_usd(&n->exposure)) &&
              jo_put(o, "collateralValue", jo_usd(&n->collateral_value)) &&
              jo_put(o, "deadline", n->deadline != 0 ? jo_iso_time(n->deadline) : json_null()) &&
              jo_put(o, "sequence", jo_u64(n->sequence)) &&
              jo_put(o, "signer", jo_address(s->signer)) &&
              jo_put(o, "acceptedAt", jo_iso_time(s->accepted_at)) &&
              jo_put(o, "verified", json_boolean(*verified));
    if (ok) {
        ok = json_object_set_new(o, "signed", typed) == 0;
        typed = NULL;
    }
    json_decref(typed);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
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
    uint8_t id[CUSTOS_HASH_LEN];
    if (!cli_account_id(&a.acct, id))
        return EXIT_FAIL;
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL) {
        cli_fail("out of memory");
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK) {
        custos_secp_free(ctx);
        return status;
    }
    custos_stored_notice *list = NULL;
    size_t n = 0;
    custos_domain domain;
    custos_error err;
    custos_rc rc = custos_client_list_notices(client, id, (uint32_t)a.limit, &domain, &list, &n,
                                              &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        custos_secp_free(ctx);
        cli_fail("%s", err.message);
        return cli_exit_for(rc);
    }
    json_t *arr = json_array();
    bool all_verified = true;
    for (size_t i = 0; arr != NULL && i < n; i++) {
        bool verified = false;
        if (json_array_append_new(arr, notice_json(ctx, &domain, &list[i], &verified)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
        all_verified = all_verified && verified;
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
    free(list);
    custos_secp_free(ctx);
    if (!jo_emit(doc, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (!all_verified) {
        cli_fail("a notice does not verify against the signer the gateway names");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
