#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchsign.h"
#include "cmd.h"
#include "context.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "holdings.h"
#include "pledge.h"
#include "policy.h"
#include "price_quorum.h"
#include "prices.h"
#include "publish.h"
#include "report.h"
#include "seqstate.h"
#include "signopts.h"
#include "signer.h"
#include "valuation.h"

typedef struct attest_args {
    at_sign_opts o;
    at_report_opts out;
    const char *prices, *price_ca, *registry;
    clopt_list sources;
    bool batch;
} attest_args;

_Static_assert(AT_PRICE_SOURCES_MAX == CLOPT_LIST_MAX,
               "--price-source takes as many values as a clopt_list holds");

static const clopt attest_options[] = {
    {"prices", "F", CLOPT_STR, offsetof(attest_args, prices), "prices file (JSON)"},
    {"price-source", "URL", CLOPT_LIST, offsetof(attest_args, sources),
     "an HTTPS price source, instead of --prices"},
    {"price-ca", "CAFILE", CLOPT_STR, offsetof(attest_args, price_ca),
     "CA of the price sources' certificates (default: the system's roots)"},
    {"registry", "PLEDGES.json", CLOPT_STR, offsetof(attest_args, registry),
     "the pledge registry: the beneficiary must be the account's registered lender"},
    {"batch", NULL, CLOPT_FLAG, offsetof(attest_args, batch),
     "every account of the holdings as one batch (one signature); --export names a "
     "directory"},
    {0}};
static const clopt_set attest_sets[] = {{attest_options, 0}, AT_SIGN_SETS(attest_args, o),
                                        {at_report_options, offsetof(attest_args, out)}};
/* AT_SIGN_RULES, but --account or --batch; a batch is exported (rule 20). */
static const clopt_rule attest_rules[] = {
    {CLOPT_REQUIRED, {"holdings"}, NULL},
    {CLOPT_ONE, {"account", "batch"}, "--account REF or --batch is required (not both)"},
    {CLOPT_REQUIRED, {"feed"}, NULL},
    {CLOPT_REQUIRED, {"chain-id"}, NULL},
    {CLOPT_REQUIRED, {"contract"}, NULL},
    {CLOPT_REQUIRED, {"state"}, NULL},
    AT_KEY_RULE,
    {CLOPT_NEEDS, {"batch", "export"}, "--batch writes the batch to --export DIR"},
    {CLOPT_CONFLICT, {"batch", "gateway"},
     "--batch exports the batch; it is not submitted through --gateway"},
    {CLOPT_REQUIRED, {"policy"}, NULL},
    {CLOPT_ONE, {"prices", "price-source"}, NULL},
    {CLOPT_NEEDS, {"price-ca", "price-source"}, NULL},
    {CLOPT_ANY, {"gateway", "export"}, NULL}};
static const clopt_command attest_cmd = {
    .name = "attest",
    .usage = "usage: custos-attestor attest --holdings F (--prices F | --price-source URL...)\n"
             "         [--price-ca CAFILE] --policy F (--account REF | --batch)\n"
             "         " AT_KEY_USAGE "\n"
             "         --feed NAME --chain-id N --contract 0xADDR --state F\n"
             "         [--gateway HOST:PORT " AT_GATEWAY_USAGE "] [--export OUT.json] "
             "[--now UNIXSECONDS]\n"
             "         [--registry PLEDGES.json] [--json]\n"
             "       (at least one of --gateway and --export; --batch: --export DIR)",
    .summary = "values the account, takes the next sequence, signs, and submits and/or "
               "exports the attestation",
    .sets = attest_sets,
    .n_sets = CLOPT_N(attest_sets),
    .rules = attest_rules,
    .n_rules = CLOPT_N(attest_rules)};

/* What the price sources answered and which quotes did not count, for the report. */
typedef struct attest_prices {
    at_price_fetch fetch;
    at_price_report report;
} attest_prices;

/* The account's prices: from the file, or from the sources by the policy's quorum. */
static custos_rc account_prices(const attest_args *a, const at_policy *policy,
                                const at_account *account, uint64_t now, at_prices *prices,
                                attest_prices *ap, custos_error *err)
{
    if (a->prices != NULL)
        return at_prices_load(a->prices, prices, err);
    custos_rc rc = at_price_fetch_all(a->sources.items, a->sources.n, a->price_ca, policy,
                                      &ap->fetch, err);
    if (rc == CUSTOS_OK)
        rc = at_price_merge(&ap->fetch, account, policy, now, prices, &ap->report, err);
    return rc;
}

/* Parses the inputs and values the account into s (everything but the sequence). */
static custos_rc value_account(const attest_args *a, uint64_t now, custos_submission *s,
                               at_position_detail **details, attest_prices *ap,
                               custos_error *err)
{
    at_holdings holdings;
    at_prices prices;
    at_policy policy;
    memset(&prices, 0, sizeof prices);
    memset(&policy, 0, sizeof policy);
    custos_rc rc = at_holdings_load(a->o.holdings, &holdings, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_policy_load(a->o.policy, &policy, err);
    const at_account *account = NULL;
    if (rc == CUSTOS_OK) {
        account = at_holdings_find(&holdings, a->o.account);
        if (account == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "%s: no account with ref '%.128s'",
                                  a->o.holdings, a->o.account);
    }
    if (rc == CUSTOS_OK)
        rc = account_prices(a, &policy, account, now, &prices, ap, err);
    if (rc == CUSTOS_OK)
        rc = at_valuation_attestation(holdings.custodian, account, &prices, &policy, now, s,
                                      details, err);
    at_policy_free(&policy);
    at_prices_free(&prices);
    at_holdings_free(&holdings);
    return rc;
}

int at_cmd_attest(int argc, char **argv)
{
    attest_args a = {0};
    int status;
    if (!at_cmd_args(&attest_cmd, argc, argv, &a, NULL, &status))
        return status;
    if (a.batch)
        return at_attest_batch(&a.o, a.prices, &a.sources, a.price_ca, a.registry, a.out.json);
    custos_submission s;
    memset(&s, 0, sizeof s);
    custos_error err;
    uint64_t now;
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    /* Everything that can fail on bad input runs before a sequence number is taken. */
    custos_rc rc =
        at_context_parse(a.o.feed, a.o.chain_id, a.o.contract, a.o.now, &s, &now, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &a.o.key, &err);
    at_position_detail *details = NULL;
    attest_prices ap;
    memset(&ap, 0, sizeof ap);
    if (rc == CUSTOS_OK)
        rc = value_account(&a, now, &s, &details, &ap, &err);
    /* One lender per collateral: the ledger's beneficiary must be the registered pledge. */
    if (rc == CUSTOS_OK && a.registry != NULL)
        rc = at_pledge_check(a.registry, a.o.account, s.att.beneficiary, &err);
    if (rc == CUSTOS_OK)
        rc = at_seqstate_next(a.o.state, s.att.account, &s.att.sequence, &err);
    uint8_t digest[32];
    if (rc == CUSTOS_OK) {
        custos_attestation_digest(&s.domain, &s.att, digest);
        rc = at_signer_sign(&signer, digest, &s.sigs[0], &err);
    }
    at_signer_close(&signer);
    if (rc != CUSTOS_OK) {
        /* The sources that failed and the quotes dropped explain a refusal by the quorum. */
        at_report why = {stderr, NULL};
        at_report_prices(&why, &ap.fetch, &ap.report);
        at_cmd_error("attest: %s", err.message);
        custos_submission_clear(&s);
        free(details);
        at_price_report_free(&ap.report);
        at_price_fetch_free(&ap.fetch);
        return AT_EXIT_INPUT;
    }
    s.n_sigs = 1;
    char signer_hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(signer.address, signer_hex);
    at_report r;
    /* Out of memory for the JSON object: the text report still says what was signed. */
    if (!at_report_open(&r, stdout, a.out.json))
        at_cmd_error("attest: out of memory for --json; reporting as text");
    at_report_line(&r, "reference", "reference", "%s", a.o.account);
    at_report_attestation(&r, &s, digest);
    at_report_line(&r, "signer", "signer", "%s", signer_hex);
    at_report_positions(&r, &s, details);
    at_report_prices(&r, &ap.fetch, &ap.report);
    free(details);
    at_price_report_free(&ap.report);
    at_price_fetch_free(&ap.fetch);
    status = at_publish(&s, a.o.export_path, &a.o.gw, &r);
    custos_submission_clear(&s);
    return at_report_close(&r, status);
}
