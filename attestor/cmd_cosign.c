#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "batchcosign.h"
#include "cmd.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "custos/typeddata.h"
#include "fileio.h"
#include "publish.h"
#include "report.h"
#include "signer.h"
#include "signopts.h"

typedef struct cosign_args {
    const char *in, *export_path;
    at_key_spec key;
    at_gateway gw;
    at_report_opts out;
} cosign_args;

static const clopt cosign_options[] = {
    {"in", "FILE.json", CLOPT_STR, offsetof(cosign_args, in),
     "the exported attestation (or batch directory) to add this key's signature to"},
    {"export", "OUT.json", CLOPT_STR, offsetof(cosign_args, export_path),
     "write the cosigned attestation to this file"},
    {0}};
static const clopt_set cosign_sets[] = {{cosign_options, 0},
                                        {at_key_options, offsetof(cosign_args, key)},
                                        {at_p11_options, offsetof(cosign_args, key)},
                                        {clopt_gateway_options, offsetof(cosign_args, gw)},
                                        {at_report_options, offsetof(cosign_args, out)}};
static const clopt_rule cosign_rules[] = {{CLOPT_REQUIRED, {"in"}, NULL},
                                          AT_KEY_RULE,
                                          {CLOPT_ANY, {"gateway", "export"}, NULL}};
static const clopt_command cosign_cmd = {
    .name = "cosign",
    .usage = "usage: custos-attestor cosign --in FILE.json\n"
             "         " AT_KEY_USAGE "\n"
             "         [--gateway HOST:PORT " AT_GATEWAY_USAGE "] "
             "[--export OUT.json] [--json]\n"
             "       (at least one of --gateway and --export)",
    .summary = "checks the signatures already on an exported attestation, adds this key's, "
               "and submits and/or exports it",
    .sets = cosign_sets,
    .n_sets = CLOPT_N(cosign_sets),
    .rules = cosign_rules,
    .n_rules = CLOPT_N(cosign_rules)};

/* Every signature already on the file must recover, to distinct signers other than us. */
static custos_rc check_signatures(custos_secp *ctx, const custos_submission *s,
                                  const uint8_t digest[32], const uint8_t self[CUSTOS_ADDRESS_LEN],
                                  const char *file, custos_error *err)
{
    uint8_t seen[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    for (size_t i = 0; i < s->n_sigs; i++) {
        custos_error rerr;
        if (custos_recover_address(ctx, digest, &s->sigs[i], seen[i], &rerr) != CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                    "%s: signatures[%zu] does not verify (%s): refusing to "
                                    "cosign",
                                    file, i, rerr.message);
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(seen[i], hex);
        if (memcmp(seen[i], self, CUSTOS_ADDRESS_LEN) == 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "%s: this key (%s) already signed it (signatures[%zu])", file,
                                    hex, i);
        for (size_t j = 0; j < i; j++)
            if (memcmp(seen[j], seen[i], CUSTOS_ADDRESS_LEN) == 0)
                return custos_error_set(err, CUSTOS_ERR_INVALID,
                                        "%s: signatures[%zu] and [%zu] are both by %s", file, j,
                                        i, hex);
    }
    return CUSTOS_OK;
}

static custos_rc load_submission(const char *path, custos_submission *s, custos_error *err)
{
    char *text;
    size_t len;
    custos_rc rc = at_file_read(path, CUSTOS_TYPEDDATA_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_error ierr;
    rc = custos_typeddata_import(text, len, s, &ierr);
    free(text);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "%s: %s", path, ierr.message);
    return CUSTOS_OK;
}

int at_cmd_cosign(int argc, char **argv)
{
    cosign_args a = {0};
    int status;
    if (!at_cmd_args(&cosign_cmd, argc, argv, &a, NULL, &status))
        return status;
    struct stat st;
    if (stat(a.in, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (a.export_path == NULL || a.gw.target != NULL) {
            at_cmd_error("cosign: a batch directory is cosigned into --export DIR, not "
                         "submitted through --gateway");
            return AT_EXIT_INPUT;
        }
        return at_cosign_batch(a.in, a.export_path, &a.key);
    }
    custos_submission s;
    memset(&s, 0, sizeof s);
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    custos_error err;
    uint8_t digest[32];
    custos_rc rc = load_submission(a.in, &s, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &a.key, &err);
    if (rc == CUSTOS_OK) {
        custos_attestation_digest(&s.domain, &s.att, digest);
        rc = check_signatures(signer.ctx, &s, digest, signer.address, a.in, &err);
    }
    if (rc == CUSTOS_OK && s.n_sigs >= CUSTOS_MAX_SIGNATURES)
        rc = custos_error_set(&err, CUSTOS_ERR_TOO_LARGE, "%s: already %d signatures, the most "
                              "a submission may carry", a.in, CUSTOS_MAX_SIGNATURES);
    if (rc == CUSTOS_OK)
        rc = at_signer_sign(&signer, digest, &s.sigs[s.n_sigs], &err);
    at_signer_close(&signer);
    if (rc != CUSTOS_OK) {
        at_cmd_error("cosign: %s", err.message);
        custos_submission_clear(&s);
        return AT_EXIT_INPUT;
    }
    s.n_sigs++;
    char signer_hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(signer.address, signer_hex);
    at_report r;
    if (!at_report_open(&r, stdout, a.out.json))
        at_cmd_error("cosign: out of memory for --json; reporting as text");
    at_report_attestation(&r, &s, digest);
    at_report_line(&r, "signer", "signer", "%s", signer_hex);
    status = at_publish(&s, a.export_path, &a.gw, &r);
    custos_submission_clear(&s);
    return at_report_close(&r, status);
}
