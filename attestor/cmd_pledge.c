/* pledge and release: the attestor's side of "one lender per collateral" (DESIGN rule 5).
 * pledge records an account's lender in the registry (pledge.h); release signs a kind-1
 * attestation for the current lender (zero values, asOf now) with this key, submits it and
 * clears the pledge once the gateway has ACCEPTED it: a release still waiting for a quorum
 * (PENDING) keeps the account pledged. */
#include <getopt.h>
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

static const char pledge_usage[] =
    "usage: custos-attestor pledge --account REF --beneficiary 0xADDR --registry F";

int at_cmd_pledge(int argc, char **argv)
{
    static const struct option opts[] = {
        {"account", required_argument, NULL, 'a'}, {"beneficiary", required_argument, NULL, 'b'},
        {"registry", required_argument, NULL, 'r'}, {0, 0, 0, 0}};
    const char *account = NULL, *beneficiary = NULL, *registry = NULL;
    int c;
    optind = 0; /* glibc: rescan from the start, as each command parses its own argv */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': account = optarg; break;
        case 'b': beneficiary = optarg; break;
        case 'r': registry = optarg; break;
        default: at_cmd_error("%s", pledge_usage); return AT_EXIT_INPUT;
        }
    }
    if (account == NULL || beneficiary == NULL || registry == NULL || optind != argc) {
        at_cmd_error("pledge: --account, --beneficiary and --registry, nothing else\n%s",
                     pledge_usage);
        return AT_EXIT_INPUT;
    }
    uint8_t ben[CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (custos_address_from_hex(beneficiary, ben, &err) != CUSTOS_OK) {
        at_cmd_error("pledge: --beneficiary: '%.60s': %s", beneficiary, err.message);
        return AT_EXIT_INPUT;
    }
    if (at_pledge_set(registry, account, ben, &err) != CUSTOS_OK) {
        at_cmd_error("pledge: %s", err.message);
        return AT_EXIT_INPUT;
    }
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(ben, hex);
    printf("%-12s %s\n%-12s %s\n", "reference", account, "pledged to", hex);
    return AT_EXIT_OK;
}

static const char release_usage[] =
    "usage: custos-attestor release --account REF --registry F --holdings F\n"
    "         " AT_KEY_USAGE "\n"
    "         --feed NAME --chain-id N --contract 0xADDR --state F\n"
    "         (--policy F | --valid-until UNIXSECONDS) [--now UNIXSECONDS]\n"
    "         --gateway HOST:PORT " AT_GATEWAY_USAGE " [--export OUT.json]";

typedef struct release_args {
    at_sign_opts o;
    const char *registry, *valid_until;
} release_args;

static int parse_release_args(int argc, char **argv, release_args *a)
{
    static const struct option opts[] = {
        {"registry", required_argument, NULL, 'r'}, {"valid-until", required_argument, NULL, 'v'},
        AT_SIGN_OPTIONS, {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    int c;
    optind = 0; /* glibc: rescan from the start, as each command parses its own argv */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r': a->registry = optarg; break;
        case 'v': a->valid_until = optarg; break;
        default:
            if (at_sign_take_option(&a->o, c, optarg))
                break;
            at_cmd_error("%s", release_usage);
            return AT_EXIT_INPUT;
        }
    }
    const char *missing = at_sign_missing(&a->o);
    if (missing == NULL && a->registry == NULL)
        missing = "--registry";
    /* The gateway is required: only its acknowledgement ends the pledge. */
    if (missing == NULL && a->o.gw.target == NULL)
        missing = "--gateway";
    if (missing != NULL) {
        at_cmd_error("release: %s is required\n%s", missing, release_usage);
        return AT_EXIT_INPUT;
    }
    if ((a->o.policy == NULL) == (a->valid_until == NULL)) {
        at_cmd_error("release: give --policy or --valid-until, not both\n%s", release_usage);
        return AT_EXIT_INPUT;
    }
    if (optind != argc) {
        at_cmd_error("release: unexpected argument '%s'\n%s", argv[optind], release_usage);
        return AT_EXIT_INPUT;
    }
    return AT_EXIT_OK;
}

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
    release_args a;
    int status = parse_release_args(argc, argv, &a);
    if (status != AT_EXIT_OK)
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
    printf("%-12s %s\n", "reference", a.o.account);
    custos_address_to_hex(ben, hex);
    printf("%-12s RELEASE of the pledge to %s\n", "kind", hex);
    at_report_attestation(stdout, &s, digest);
    custos_address_to_hex(signer.address, hex);
    printf("%-12s %s\n", "signer", hex);
    custos_submit_result res;
    status = at_publish_answer(&s, a.o.export_path, &a.o.gw, stdout, &res);
    custos_submission_clear(&s);
    if (status != AT_EXIT_OK)
        return status;
    if (res.state != CUSTOS_STATE_ACCEPTED) {
        printf("%-12s kept: the release is pending a quorum at the gateway, and only an "
               "accepted release ends the pledge\n", "pledge");
        return AT_EXIT_OK;
    }
    if (at_pledge_clear(a.registry, a.o.account, ben, &err) != CUSTOS_OK) {
        at_cmd_error("release: accepted by the gateway, but the registry was not updated: %s",
                     err.message);
        return AT_EXIT_INPUT;
    }
    printf("%-12s released\n", "pledge");
    return AT_EXIT_OK;
}
