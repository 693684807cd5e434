/* notice: the custodian, as collateral manager (docs/lending.md), signs a CollateralNotice
 * (docs/attestation.md §17) about an account's loan to its lender with its key (a file or
 * an HSM) and submits it to the gateway (rule 19) and/or exports it as typed data for
 * ethers. The LTV is computed here from the exposure and the collateral value, exactly. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "custos/hex.h"
#include "custos/ltv.h"
#include "custos/notice.h"
#include "custos/sig.h"
#include "fileio.h"
#include "signer.h"
#include "signopts.h"

typedef struct notice_args {
    const char *account_id, *lender, *state, *exposure, *collateral, *deadline, *sequence,
        *chain_id, *contract, *export_path;
    at_key_spec key;
    at_gateway gw;
} notice_args;

static const clopt notice_options[] = {
    {"account-id", "0xHEX", CLOPT_STR, offsetof(notice_args, account_id),
     "the pledged account's 32-byte id"},
    {"lender", "0xADDR", CLOPT_STR, offsetof(notice_args, lender),
     "the lending market the account is pledged to"},
    {"state", "NAME", CLOPT_STR, offsetof(notice_args, state),
     "healthy, margin_return, margin_call or liquidation"},
    {"exposure", "USD", CLOPT_STR, offsetof(notice_args, exposure),
     "the borrower's debt in USD (decimal, up to 18 fractional digits)"},
    {"collateral-value", "USD", CLOPT_STR, offsetof(notice_args, collateral),
     "the accepted collateral value the LTV is computed against, in USD"},
    {"deadline", "UNIXSECONDS", CLOPT_STR, offsetof(notice_args, deadline),
     "a margin call's cure deadline (margin_call only)"},
    {"sequence", "N", CLOPT_STR, offsetof(notice_args, sequence),
     "above the last notice of this account and lender"},
    {"chain-id", "N", CLOPT_STR, offsetof(notice_args, chain_id), "the EIP-712 chain id"},
    {"contract", "0xADDR", CLOPT_STR, offsetof(notice_args, contract),
     "the adapter's address (the EIP-712 verifying contract)"},
    {"export", "OUT.json", CLOPT_STR, offsetof(notice_args, export_path),
     "write the signed notice as typed data (ethers' verifyTypedData reads it)"},
    {0}};
static const clopt_set notice_sets[] = {{notice_options, 0},
                                        {at_key_options, offsetof(notice_args, key)},
                                        {at_p11_options, offsetof(notice_args, key)},
                                        {clopt_gateway_options, offsetof(notice_args, gw)}};
static const clopt_rule notice_rules[] = {
    {CLOPT_REQUIRED, {"account-id"}, NULL},       {CLOPT_REQUIRED, {"lender"}, NULL},
    {CLOPT_REQUIRED, {"state"}, NULL},            {CLOPT_REQUIRED, {"exposure"}, NULL},
    {CLOPT_REQUIRED, {"collateral-value"}, NULL}, {CLOPT_REQUIRED, {"sequence"}, NULL},
    {CLOPT_REQUIRED, {"chain-id"}, NULL},         {CLOPT_REQUIRED, {"contract"}, NULL},
    AT_KEY_RULE,
    {CLOPT_ANY, {"gateway", "export"}, NULL}};
static const clopt_command notice_cmd = {
    .name = "notice",
    .usage = "usage: custos-attestor notice --account-id 0xHEX --lender 0xADDR --state NAME\n"
             "         --exposure USD --collateral-value USD [--deadline UNIXSECONDS]\n"
             "         --sequence N --chain-id N --contract 0xADDR " AT_KEY_USAGE "\n"
             "         [--gateway HOST:PORT " AT_GATEWAY_USAGE "] [--export OUT.json]\n"
             "       (at least one of --gateway and --export)",
    .summary = "signs a collateral notice (margin call, liquidation, ...) with the "
               "custodian's key, and submits and/or exports it",
    .sets = notice_sets,
    .n_sets = CLOPT_N(notice_sets),
    .rules = notice_rules,
    .n_rules = CLOPT_N(notice_rules)};

static custos_rc parse_state(const char *name, uint8_t *out, custos_error *err)
{
    for (unsigned s = 0; s <= CUSTOS_LOAN_STATE_MAX; s++)
        if (strcmp(name, custos_loan_state_name((custos_loan_state)s)) == 0) {
            *out = (uint8_t)s;
            return CUSTOS_OK;
        }
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "--state: '%.40s' is not healthy, margin_return, margin_call or "
                            "liquidation",
                            name);
}

static custos_rc parse_usd(const char *flag, const char *text, custos_u256 *out,
                           custos_error *err)
{
    custos_error perr;
    if (custos_fixed_parse(out, text, strlen(text), CUSTOS_MONEY_DECIMALS, &perr) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: '%.60s': %s", flag, text,
                                perr.message);
    return CUSTOS_OK;
}

/* The notice and its domain from the command line; custos_notice_check has the last word. */
static custos_rc build(const notice_args *a, custos_domain *d, custos_notice *n,
                       custos_error *err)
{
    custos_error herr;
    memset(d, 0, sizeof *d);
    memset(n, 0, sizeof *n);
    custos_rc rc = at_cmd_parse_u64("--chain-id", a->chain_id, &d->chain_id, err);
    if (rc == CUSTOS_OK && custos_address_from_hex(a->contract, d->verifying_contract, &herr) !=
                               CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--contract: %s", herr.message);
    if (rc == CUSTOS_OK && custos_hex_decode(a->account_id, n->account, CUSTOS_HASH_LEN,
                                             &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--account-id: %s", herr.message);
    if (rc == CUSTOS_OK && custos_address_from_hex(a->lender, n->lender, &herr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--lender: %s", herr.message);
    if (rc == CUSTOS_OK)
        rc = parse_state(a->state, &n->state, err);
    if (rc == CUSTOS_OK)
        rc = parse_usd("--exposure", a->exposure, &n->exposure, err);
    if (rc == CUSTOS_OK)
        rc = parse_usd("--collateral-value", a->collateral, &n->collateral_value, err);
    if (rc == CUSTOS_OK)
        rc = custos_ltv_bps(&n->exposure, &n->collateral_value, &n->ltv_bps, err);
    if (rc == CUSTOS_OK && a->deadline != NULL)
        rc = at_cmd_parse_u64("--deadline", a->deadline, &n->deadline, err);
    if (rc == CUSTOS_OK)
        rc = at_cmd_parse_u64("--sequence", a->sequence, &n->sequence, err);
    if (rc == CUSTOS_OK)
        rc = custos_notice_check(n, err);
    return rc;
}

static int submit(const notice_args *a, const custos_domain *d, const custos_notice *n,
                  const custos_signature *sig)
{
    custos_client *client = NULL;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = at_gateway_connect(&a->gw, 0, &client, &err);
    bool duplicate = false;
    uint64_t cursor = 0;
    if (rc == CUSTOS_OK)
        rc = custos_client_submit_notice(client, d, n, sig, &duplicate, NULL, &cursor, &err);
    custos_client_free(client);
    if (rc == CUSTOS_OK) {
        printf("%-12s %s\n", "gateway", duplicate ? "ACCEPTED (duplicate)" : "ACCEPTED");
        printf("%-12s %" PRIu64 "\n", "cursor", cursor);
        return AT_EXIT_OK;
    }
    at_cmd_error("notice: %s", err.message);
    return rc == CUSTOS_ERR_UNAVAILABLE ? AT_EXIT_UNREACHABLE
           : rc == CUSTOS_ERR_REFUSED   ? AT_EXIT_REFUSED
                                        : AT_EXIT_INPUT;
}

int at_cmd_notice(int argc, char **argv)
{
    notice_args a = {0};
    int status;
    if (!at_cmd_args(&notice_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_domain d;
    custos_notice n;
    custos_signature sig;
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    uint8_t digest[CUSTOS_HASH_LEN];
    char *json = NULL;
    custos_error err;
    custos_rc rc = build(&a, &d, &n, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &a.key, &err);
    if (rc == CUSTOS_OK) {
        custos_notice_digest(&d, &n, digest);
        rc = at_signer_sign(&signer, digest, &sig, &err);
    }
    at_signer_close(&signer);
    if (rc == CUSTOS_OK && a.export_path != NULL) {
        rc = custos_notice_typeddata_export(&d, &n, &sig, &json, &err);
        if (rc == CUSTOS_OK)
            rc = at_file_write_atomic(a.export_path, json, strlen(json), 0644, &err);
        free(json);
    }
    if (rc != CUSTOS_OK) {
        at_cmd_error("notice: %s", err.message);
        return AT_EXIT_INPUT;
    }
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], signer_hex[CUSTOS_ADDRESS_HEX_LEN];
    if (custos_hex_encode(digest, sizeof digest, hex, sizeof hex) != CUSTOS_OK)
        snprintf(hex, sizeof hex, "?");
    custos_address_to_hex(signer.address, signer_hex);
    printf("%-12s %s\n", "state", custos_loan_state_name((custos_loan_state)n.state));
    printf("%-12s %u\n", "ltv_bps", n.ltv_bps);
    printf("%-12s %llu\n", "sequence", (unsigned long long)n.sequence);
    printf("%-12s %s\n", "digest", hex);
    printf("%-12s %s\n", "signer", signer_hex);
    return a.gw.target != NULL ? submit(&a, &d, &n, &sig) : AT_EXIT_OK;
}
