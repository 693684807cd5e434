#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "context.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "holdings.h"
#include "pledge.h"
#include "policy.h"
#include "price_source.h"
#include "prices.h"
#include "publish.h"
#include "report.h"
#include "seqstate.h"
#include "signer.h"
#include "valuation.h"

static const char usage[] =
    "usage: custos-attestor attest --holdings F (--prices F | --price-source URL...)\n"
    "         [--price-ca CAFILE] --policy F --key F --account REF\n"
    "         --feed NAME --chain-id N --contract 0xADDR --state F\n"
    "         [--gateway HOST:PORT " AT_GATEWAY_USAGE "] [--export OUT.json] [--now UNIXSECONDS]\n"
    "         [--registry PLEDGES.json]\n"
    "       (at least one of --gateway and --export)";

typedef struct attest_args {
    const char *holdings, *prices, *policy, *key, *account, *feed, *chain_id, *contract,
        *state, *export_path, *now, *price_ca, *registry;
    const char *sources[AT_PRICE_SOURCES_MAX];
    size_t n_sources;
    at_gateway gw;
} attest_args;

static int parse_args(int argc, char **argv, attest_args *a)
{
    static const struct option opts[] = {
        {"holdings", required_argument, NULL, 'h'}, {"prices", required_argument, NULL, 'p'},
        {"policy", required_argument, NULL, 'P'},   {"key", required_argument, NULL, 'k'},
        {"account", required_argument, NULL, 'a'},  {"feed", required_argument, NULL, 'f'},
        {"chain-id", required_argument, NULL, 'c'}, {"contract", required_argument, NULL, 'C'},
        {"state", required_argument, NULL, 's'},    {"gateway", required_argument, NULL, 'g'},
        {"export", required_argument, NULL, 'e'},   {"now", required_argument, NULL, 'n'},
        {"price-source", required_argument, NULL, 'u'},
        {"price-ca", required_argument, NULL, 'A'}, {"registry", required_argument, NULL, 'R'},
        AT_GATEWAY_OPTIONS, {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    int c;
    optind = 0; /* glibc: rescan from the start, as each command parses its own argv */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'h': a->holdings = optarg; break;
        case 'p': a->prices = optarg; break;
        case 'P': a->policy = optarg; break;
        case 'k': a->key = optarg; break;
        case 'a': a->account = optarg; break;
        case 'f': a->feed = optarg; break;
        case 'c': a->chain_id = optarg; break;
        case 'C': a->contract = optarg; break;
        case 's': a->state = optarg; break;
        case 'g': a->gw.target = optarg; break;
        case 'e': a->export_path = optarg; break;
        case 'n': a->now = optarg; break;
        case 'A': a->price_ca = optarg; break;
        case 'R': a->registry = optarg; break;
        case 'u':
            if (a->n_sources == AT_PRICE_SOURCES_MAX) {
                at_cmd_error("attest: at most %d --price-source", AT_PRICE_SOURCES_MAX);
                return AT_EXIT_INPUT;
            }
            a->sources[a->n_sources++] = optarg;
            break;
        default:
            if (at_gateway_take_option(&a->gw, c, optarg))
                break;
            at_cmd_error("%s", usage); return AT_EXIT_INPUT;
        }
    }
    const struct { const char *value, *flag; } required[] = {
        {a->holdings, "--holdings"}, {a->policy, "--policy"},
        {a->key, "--key"},           {a->account, "--account"},   {a->feed, "--feed"},
        {a->chain_id, "--chain-id"}, {a->contract, "--contract"}, {a->state, "--state"}};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (required[i].value == NULL) {
            at_cmd_error("attest: %s is required\n%s", required[i].flag, usage);
            return AT_EXIT_INPUT;
        }
    if ((a->prices == NULL) == (a->n_sources == 0)) {
        at_cmd_error("attest: give --prices or --price-source, not both\n%s", usage);
        return AT_EXIT_INPUT;
    }
    if (a->price_ca != NULL && a->n_sources == 0) {
        at_cmd_error("attest: --price-ca is for --price-source\n%s", usage);
        return AT_EXIT_INPUT;
    }
    if (a->gw.target == NULL && a->export_path == NULL) {
        at_cmd_error("attest: give --gateway, --export or both\n%s", usage);
        return AT_EXIT_INPUT;
    }
    if (optind != argc) {
        at_cmd_error("attest: unexpected argument '%s'\n%s", argv[optind], usage);
        return AT_EXIT_INPUT;
    }
    return AT_EXIT_OK;
}

/* Parses the inputs and values the account into s (everything but the sequence). */
static custos_rc value_account(const attest_args *a, uint64_t now, custos_submission *s,
                               bool **matured, custos_error *err)
{
    at_holdings holdings;
    at_prices prices;
    at_policy policy;
    memset(&prices, 0, sizeof prices);
    memset(&policy, 0, sizeof policy);
    custos_rc rc = at_holdings_load(a->holdings, &holdings, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_policy_load(a->policy, &policy, err);
    const at_account *account = NULL;
    if (rc == CUSTOS_OK) {
        account = at_holdings_find(&holdings, a->account);
        if (account == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "%s: no account with ref '%.128s'",
                                  a->holdings, a->account);
    }
    if (rc == CUSTOS_OK)
        rc = a->prices != NULL ? at_prices_load(a->prices, &prices, err)
                               : at_price_sources_collect(a->sources, a->n_sources, a->price_ca,
                                                          &policy, account, &prices, err);
    if (rc == CUSTOS_OK)
        rc = at_valuation_attestation(holdings.custodian, account, &prices, &policy, now, s,
                                      matured, err);
    at_policy_free(&policy);
    at_prices_free(&prices);
    at_holdings_free(&holdings);
    return rc;
}

int at_cmd_attest(int argc, char **argv)
{
    attest_args a;
    int status = parse_args(argc, argv, &a);
    if (status != AT_EXIT_OK)
        return status;
    custos_submission s;
    memset(&s, 0, sizeof s);
    custos_error err;
    uint64_t now;
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    /* Everything that can fail on bad input runs before a sequence number is taken. */
    custos_rc rc = at_context_parse(a.feed, a.chain_id, a.contract, a.now, &s, &now, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, a.key, &err);
    bool *matured = NULL;
    if (rc == CUSTOS_OK)
        rc = value_account(&a, now, &s, &matured, &err);
    /* One lender per collateral: the ledger's beneficiary must be the registered pledge. */
    if (rc == CUSTOS_OK && a.registry != NULL)
        rc = at_pledge_check(a.registry, a.account, s.att.beneficiary, &err);
    if (rc == CUSTOS_OK)
        rc = at_seqstate_next(a.state, s.att.account, &s.att.sequence, &err);
    uint8_t digest[32];
    if (rc == CUSTOS_OK) {
        custos_attestation_digest(&s.domain, &s.att, digest);
        rc = at_signer_sign(&signer, digest, &s.sigs[0], &err);
    }
    at_signer_close(&signer);
    if (rc != CUSTOS_OK) {
        at_cmd_error("attest: %s", err.message);
        custos_submission_clear(&s);
        free(matured);
        return AT_EXIT_INPUT;
    }
    s.n_sigs = 1;
    char signer_hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(signer.address, signer_hex);
    printf("%-12s %s\n", "reference", a.account);
    at_report_attestation(stdout, &s, digest);
    printf("%-12s %s\n", "signer", signer_hex);
    /* Matured Treasuries count at par until redeemed: the custodian should know. */
    for (size_t i = 0; i < s.n_positions; i++)
        if (matured[i])
            printf("%-12s %s: at or past maturity, valued at par\n", "matured",
                   s.positions[i].asset_id);
    free(matured);
    status = at_publish(&s, a.export_path, &a.gw, stdout);
    custos_submission_clear(&s);
    return status;
}
