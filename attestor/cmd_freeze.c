/* freeze: the custodian voids an account's value at once (legal hold, error, default). The
 * kind-2 attestation carries zero values and a zero positions root, asOf = now, and is
 * signed by this key alone: the gateway and the adapter accept a custodian's freeze without
 * a quorum (rule 7). The reason is for the operator's records: the signed message
 * has no field for it, so it is printed with the attestation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "context.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "publish.h"
#include "report.h"
#include "seqstate.h"
#include "signer.h"
#include "signopts.h"
#include "zeroatt.h"

#define AT_REASON_MAX 200

typedef struct freeze_args {
    at_sign_opts o;
    const char *reason, *valid_until;
    at_report_opts out;
} freeze_args;

static const clopt freeze_options[] = {
    {"reason", "TEXT", CLOPT_STR, offsetof(freeze_args, reason),
     "why the account is frozen, one line for the operator's records"},
    {"valid-until", "UNIXSECONDS", CLOPT_STR, offsetof(freeze_args, valid_until),
     "the freeze's validUntil, instead of the policy's validity"},
    {0}};
static const clopt_set freeze_sets[] = {{freeze_options, 0}, AT_SIGN_SETS(freeze_args, o),
                                        {at_report_options, offsetof(freeze_args, out)}};
static const clopt_rule freeze_rules[] = {
    AT_SIGN_RULES,
    {CLOPT_REQUIRED, {"reason"}, NULL},
    {CLOPT_ONE, {"policy", "valid-until"}, NULL},
    {CLOPT_ANY, {"gateway", "export"}, NULL}};
static const clopt_command freeze_cmd = {
    .name = "freeze",
    .usage = "usage: custos-attestor freeze --holdings F --account REF --reason TEXT\n"
             "         " AT_KEY_USAGE "\n"
             "         --feed NAME --chain-id N --contract 0xADDR --state F\n"
             "         (--policy F | --valid-until UNIXSECONDS) [--now UNIXSECONDS]\n"
             "         [--gateway HOST:PORT " AT_GATEWAY_USAGE "] [--export OUT.json] [--json]\n"
             "       (at least one of --gateway and --export)",
    .summary = "voids the account's value at once (kind 2, signed by the custodian's key "
               "alone), and submits and/or exports the freeze",
    .sets = freeze_sets,
    .n_sets = CLOPT_N(freeze_sets),
    .rules = freeze_rules,
    .n_rules = CLOPT_N(freeze_rules)};

static custos_rc check_reason(const char *reason, custos_error *err)
{
    size_t len = strlen(reason);
    if (len == 0 || len > AT_REASON_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "--reason: 1 to %d characters",
                                AT_REASON_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)reason[i] < ' ' || (unsigned char)reason[i] == 0x7f)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "--reason: no control characters (one line of text)");
    return CUSTOS_OK;
}

/* Everything but the sequence and the signature. */
static custos_rc build(const freeze_args *a, custos_submission *s, custos_error *err)
{
    custos_rc rc = check_reason(a->reason, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint64_t now;
    rc = at_context_parse(a->o.feed, a->o.chain_id, a->o.contract, a->o.now, s, &now, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* A freeze names the beneficiary the account is pledged to: it never moves the pledge. */
    return at_zeroatt_build(a->o.holdings, a->o.account, a->o.policy, a->valid_until, now,
                            CUSTOS_KIND_FREEZE, s, err);
}

int at_cmd_freeze(int argc, char **argv)
{
    freeze_args a = {0};
    int status;
    if (!at_cmd_args(&freeze_cmd, argc, argv, &a, NULL, &status))
        return status;
    custos_submission s;
    memset(&s, 0, sizeof s);
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    custos_error err;
    custos_rc rc = build(&a, &s, &err);
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
        at_cmd_error("freeze: %s", err.message);
        custos_submission_clear(&s);
        return AT_EXIT_INPUT;
    }
    s.n_sigs = 1;
    char signer_hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(signer.address, signer_hex);
    at_report r;
    if (!at_report_open(&r, stdout, a.out.json))
        at_cmd_error("freeze: out of memory for --json; reporting as text");
    at_report_line(&r, "reference", "reference", "%s", a.o.account);
    at_report_line(&r, "kind", NULL, "FREEZE: %s", a.reason);
    at_report_member(&r, "kind", json_string("freeze"));
    at_report_member(&r, "freezeReason", json_string(a.reason));
    at_report_attestation(&r, &s, digest);
    at_report_line(&r, "signer", "signer", "%s", signer_hex);
    status = at_publish(&s, a.o.export_path, &a.o.gw, &r);
    custos_submission_clear(&s);
    return at_report_close(&r, status);
}
