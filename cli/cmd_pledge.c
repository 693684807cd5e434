/* The lending query: pledge, an account's pledge to a lending market as the gateway reads
 * it from the chain (docs/rules.md rule 11). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "cli.h"
#include "connect.h"
#include "custos/sig.h"
#include "jsonout.h"

typedef struct pledge_args {
    cli_account acct;
    const char *beneficiary;
    clopt_gateway gw;
} pledge_args;

static const clopt pledge_options[] = {
    {"beneficiary", "0xADDR", CLOPT_STR, offsetof(pledge_args, beneficiary),
     "the lending market (default: the lender of the account's latest attestation)"},
    {0}};
static const clopt_set pledge_sets[] = {{cli_account_options, offsetof(pledge_args, acct)},
                                        {pledge_options, 0},
                                        {clopt_gateway_options, offsetof(pledge_args, gw)}};
static const clopt_rule pledge_rules[] = {CLI_ACCOUNT_RULES, CLI_GATEWAY_RULE};
static const clopt_command pledge_cmd = {
    .name = "pledge",
    .usage = "usage: custos pledge --gateway H:P (--account 0xHEX | --custodian ID --ref REF)\n"
             "                     [--beneficiary 0xADDR]",
    .summary = "an account's pledge: receipt, oracles, Morpho market, lender, liquidation "
               "agent and exposure, read from the chain by the gateway, as JSON",
    .sets = pledge_sets,
    .n_sets = CLOPT_N(pledge_sets),
    .rules = pledge_rules,
    .n_rules = CLOPT_N(pledge_rules)};

/* An address, or null for one the pledge does not have. */
static json_t *pledge_address(const uint8_t a[CUSTOS_ADDRESS_LEN])
{
    static const uint8_t zero[CUSTOS_ADDRESS_LEN];
    return memcmp(a, zero, sizeof zero) == 0 ? json_null() : jo_address(a);
}

static json_t *pledge_json(const custos_pledge *p)
{
    json_t *exposure = json_object();
    json_t *o = json_object();
    bool ok = exposure != NULL && o != NULL &&
              jo_put(exposure, "debt", jo_raw(&p->debt)) &&
              jo_put(exposure, "receiptsElsewhere", jo_raw(&p->receipts_elsewhere)) &&
              jo_put(exposure, "readable", json_boolean(p->exposure_readable)) &&
              jo_put(exposure, "releaseNeedsConsent", json_boolean(p->release_blocked)) &&
              jo_put(o, "account", jo_hex(p->account, CUSTOS_HASH_LEN)) &&
              jo_put(o, "beneficiary", jo_address(p->beneficiary)) &&
              jo_put(o, "registry", pledge_address(p->registry)) &&
              jo_put(o, "receipt", pledge_address(p->receipt)) &&
              jo_put(o, "morphoOracle", pledge_address(p->morpho_oracle)) &&
              jo_put(o, "receiptFeed", pledge_address(p->receipt_feed)) &&
              jo_put(o, "morphoMarketId", jo_hex(p->morpho_market_id, CUSTOS_HASH_LEN)) &&
              jo_put(o, "borrower", pledge_address(p->borrower)) &&
              jo_put(o, "lender", pledge_address(p->lender)) &&
              jo_put(o, "agent", pledge_address(p->agent)) &&
              jo_put(o, "ended", json_boolean(p->ended)) &&
              jo_put(o, "consentedSequence", jo_u64(p->consented_sequence));
    if (ok) {
        ok = json_object_set_new(o, "exposure", exposure) == 0;
        exposure = NULL;
    }
    json_decref(exposure);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int cli_pledge(int argc, char **argv)
{
    pledge_args a = {0};
    int status;
    if (!cli_args(&pledge_cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t id[CUSTOS_HASH_LEN], beneficiary[CUSTOS_ADDRESS_LEN];
    if (!cli_account_id(&a.acct, id))
        return EXIT_FAIL;
    custos_error err;
    if (a.beneficiary != NULL &&
        custos_address_from_hex(a.beneficiary, beneficiary, &err) != CUSTOS_OK) {
        cli_fail("--beneficiary: %s", err.message);
        return EXIT_FAIL;
    }
    custos_client *client;
    status = cli_connect(&a.gw, &client);
    if (status != EXIT_OK)
        return status;
    custos_pledge *p = NULL;
    custos_rc rc = custos_client_get_pledge(client, id, a.beneficiary != NULL ? beneficiary : NULL,
                                            &p, &err);
    custos_client_free(client);
    if (rc != CUSTOS_OK) {
        cli_fail("%s", err.message);
        return rc == CUSTOS_ERR_NOT_FOUND ? EXIT_NEGATIVE : cli_exit_for(rc);
    }
    bool ok = jo_emit(pledge_json(p), JSON_INDENT(2));
    custos_pledge_free(p);
    return ok ? EXIT_OK : EXIT_FAIL;
}
