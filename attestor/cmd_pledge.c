/* pledge and release: the attestor's side of "one lender per collateral" (rule 5).
 * pledge records an account's lender in the registry (pledge.h); release signs a kind-1
 * attestation for the current lender (zero values, asOf now) with this key, submits it and
 * clears the pledge once the gateway has ACCEPTED it: a release still waiting for a quorum
 * (PENDING) keeps the account pledged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "context.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "pledge.h"
#include "publish.h"
#include "report.h"
#include "seqstate.h"
#include "signer.h"
#include "signopts.h"
#include "zeroatt.h"

typedef struct pledge_args {
    const char *account, *beneficiary, *registry;
    at_report_opts out;
} pledge_args;

static const clopt pledge_options[] = {
    {"account", "REF", CLOPT_STR, offsetof(pledge_args, account),
     "the account's reference in the holdings file"},
    {"beneficiary", "0xADDR", CLOPT_STR, offsetof(pledge_args, beneficiary),
     "the lender the account's collateral is pledged to"},
    {"registry", "F", CLOPT_STR, offsetof(pledge_args, registry), "the pledge registry file"},
    {0}};
static const clopt_set pledge_sets[] = {{pledge_options, 0},
                                        {at_report_options, offsetof(pledge_args, out)}};
static const clopt_rule pledge_rules[] = {
    {CLOPT_REQUIRED, {"account", "beneficiary", "registry"},
     "--account, --beneficiary and --registry are required"}};
static const clopt_command pledge_cmd = {
    .name = "pledge",
    .usage = "usage: custos-attestor pledge --account REF --beneficiary 0xADDR --registry F\n"
             "         [--json]",
    .summary = "records the account's one lender in the pledge registry",
    .sets = pledge_sets,
    .n_sets = CLOPT_N(pledge_sets),
    .rules = pledge_rules,
    .n_rules = CLOPT_N(pledge_rules)};

int at_cmd_pledge(int argc, char **argv)
{
    pledge_args a = {0};
    int status;
    if (!at_cmd_args(&pledge_cmd, argc, argv, &a, NULL, &status))
        return status;
    uint8_t ben[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_address_from_hex(a.beneficiary, ben, &err) != CUSTOS_OK) {
        at_cmd_error("pledge: --beneficiary: '%.60s': %s", a.beneficiary, err.message);
        return AT_EXIT_INPUT;
    }
    if (at_pledge_set(a.registry, a.account, ben, &err) != CUSTOS_OK) {
        at_cmd_error("pledge: %s", err.message);
        return AT_EXIT_INPUT;
    }
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(ben, hex);
    at_report r;
    if (!at_report_open(&r, stdout, a.out.json))
        at_cmd_error("pledge: out of memory for --json; reporting as text");
    at_report_line(&r, "reference", "reference", "%s", a.account);
    at_report_line(&r, "pledged to", "pledgedTo", "%s", hex);
    return at_report_close(&r, AT_EXIT_OK);
}

typedef struct release_args {
    at_sign_opts o;
    const char *registry, *valid_until;
    at_report_opts out;
} release_args;

static const clopt release_options[] = {
    {"registry", "F", CLOPT_STR, offsetof(release_args, registry),
     "the pledge registry file: the release names its lender, and clears it once accepted"},
    {"valid-until", "UNIXSECONDS", CLOPT_STR, offsetof(release_args, valid_until),
     "the release's validUntil, instead of the policy's validity"},
    {0}};
static const clopt_set release_sets[] = {{release_options, 0}, AT_SIGN_SETS(release_args, o),
                                         {at_report_options, offsetof(release_args, out)}};
/* The gateway is required: only its acknowledgement ends the pledge. */
static const clopt_rule release_rules[] = {AT_SIGN_RULES,
                                           {CLOPT_REQUIRED, {"registry"}, NULL},
                                           {CLOPT_REQUIRED, {"gateway"}, NULL},
                                           {CLOPT_ONE, {"policy", "valid-until"}, NULL}};
static const clopt_command release_cmd = {
    .name = "release",
    .usage = "usage: custos-attestor release --account REF --registry F --holdings F\n"
             "         " AT_KEY_USAGE "\n"
             "         --feed NAME --chain-id N --contract 0xADDR --state F\n"
             "         (--policy F | --valid-until UNIXSECONDS) [--now UNIXSECONDS]\n"
             "         --gateway HOST:PORT " AT_GATEWAY_USAGE " [--export OUT.json] [--json]",
    .summary = "signs and submits a release of the account's pledge (kind 1), and clears the "
               "pledge once the gateway has accepted it",
    .sets = release_sets,
    .n_sets = CLOPT_N(release_sets),
    .rules = release_rules,
    .n_rules = CLOPT_N(release_rules)};

/* Everything but the sequence and the signature; *ben gets the pledge being released. */
static custos_rc build_release(const release_args *a, custos_submission *s,
                               uint8_t ben[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    bool pledged;
    custos_rc rc = at_pledge_get(a->registry, a->o.account, &pledged, ben, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (!pledged)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                "%s: account '%.128s' is not pledged: nothing to release",
                                a->registry, a->o.account);
    uint64_t now;
    rc = at_context_parse(a->o.feed, a->o.chain_id, a->o.contract, a->o.now, s, &now, err);
    if (rc == CUSTOS_OK)
        rc = at_zeroatt_build(a->o.holdings, a->o.account, a->o.policy, a->valid_until, now,
                              CUSTOS_KIND_RELEASE, s, err);
    /* The release names the lender whose pledge ends, whatever the ledger says now. */
    if (rc == CUSTOS_OK)
        memcpy(s->att.beneficiary, ben, CUSTOS_ADDRESS_LEN);
    return rc;
}

int at_cmd_release(int argc, char **argv)
{
    release_args a = {0};
    int status;
    if (!at_cmd_args(&release_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_submission s;
    memset(&s, 0, sizeof s);
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    custos_error err;
    uint8_t ben[CUSTOS_ADDRESS_LEN];
    custos_rc rc = build_release(&a, &s, ben, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &a.o.key, &err);
    if (rc == CUSTOS_OK)
        rc = at_seqstate_next(a.o.state, s.att.account, &s.att.sequence, &err);
    uint8_t digest[32];
    if (rc == CUSTOS_OK) {
        custos_attestation_digest(&s.domain, &s.att, digest);
        rc = at_signer_sign(&signer, digest, &s.sigs[0], &err);
    }
    at_signer_close(&signer);
    if (rc != CUSTOS_OK) {
        at_cmd_error("release: %s", err.message);
        custos_submission_clear(&s);
        return AT_EXIT_INPUT;
    }
    s.n_sigs = 1;
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    at_report r;
    if (!at_report_open(&r, stdout, a.out.json))
        at_cmd_error("release: out of memory for --json; reporting as text");
    at_report_line(&r, "reference", "reference", "%s", a.o.account);
    custos_address_to_hex(ben, hex);
    at_report_line(&r, "kind", NULL, "RELEASE of the pledge to %s", hex);
    at_report_member(&r, "kind", json_string("release"));
    at_report_member(&r, "beneficiary", json_string(hex));
    at_report_attestation(&r, &s, digest);
    custos_address_to_hex(signer.address, hex);
    at_report_line(&r, "signer", "signer", "%s", hex);
    custos_submit_result res;
    status = at_publish_answer(&s, a.o.export_path, &a.o.gw, &r, &res);
    custos_submission_clear(&s);
    if (status != AT_EXIT_OK)
        return at_report_close(&r, status);
    if (res.state != CUSTOS_STATE_ACCEPTED) {
        at_report_line(&r, "pledge", NULL, "kept: the release is pending a quorum at the "
                       "gateway, and only an accepted release ends the pledge");
        at_report_member(&r, "pledge", json_string("kept"));
        return at_report_close(&r, AT_EXIT_OK);
    }
    if (at_pledge_clear(a.registry, a.o.account, ben, &err) != CUSTOS_OK) {
        at_cmd_error("release: accepted by the gateway, but the registry was not updated: %s",
                     err.message);
        return at_report_close(&r, AT_EXIT_INPUT);
    }
    at_report_line(&r, "pledge", "pledge", "released");
    return at_report_close(&r, AT_EXIT_OK);
}
