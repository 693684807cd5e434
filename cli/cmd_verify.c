/* verify: an exported attestation checked offline, its digest recomputed and its signers
 * recovered. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "custos/typeddata.h"
#include "jsonin.h"
#include "jsonout.h"

static const clopt_command verify_cmd = {
    .name = "verify",
    .usage = "usage: custos verify FILE.json",
    .summary = "offline: the digest and recovered signers of an exported attestation",
    .min_operands = 1,
    .max_operands = 1,
    .operand_message = "one FILE.json"};

int cli_verify(int argc, char **argv)
{
    clopt_list files = {0};
    int status;
    if (!cli_args(&verify_cmd, argc, argv, NULL, &files, &status))
        return status;
    const char *path = files.items[0];
    char *text;
    size_t len;
    if (!ji_read_file(path, &text, &len))
        return EXIT_FAIL;
    custos_submission s;
    memset(&s, 0, sizeof s);
    custos_error err;
    custos_rc rc = custos_typeddata_import(text, len, &s, &err);
    free(text);
    if (rc != CUSTOS_OK) {
        cli_fail("%s: %s", path, err.message);
        return EXIT_FAIL;
    }
    custos_secp *ctx = custos_secp_new();
    if (ctx == NULL) {
        custos_submission_clear(&s);
        cli_fail("cannot create a secp256k1 context");
        return EXIT_FAIL;
    }
    uint8_t digest[32];
    custos_attestation_digest(&s.domain, &s.att, digest);
    size_t n_sigs = s.n_sigs;
    json_t *o = json_object();
    json_t *sigs = json_array();
    bool ok = o != NULL && sigs != NULL;
    bool all_recover = s.n_sigs > 0;
    for (size_t i = 0; ok && i < s.n_sigs; i++) {
        uint8_t addr[CUSTOS_ADDRESS_LEN];
        json_t *e = json_object();
        ok = e != NULL && jo_put(e, "signature", jo_hex(s.sigs[i].bytes, CUSTOS_SIGNATURE_LEN));
        if (ok && custos_recover_address(ctx, digest, &s.sigs[i], addr, &err) == CUSTOS_OK) {
            ok = jo_put(e, "signer", jo_address(addr));
        } else if (ok) {
            all_recover = false;
            ok = jo_put(e, "error", json_string(err.message));
        }
        ok = ok && json_array_append(sigs, e) == 0;
        json_decref(e);
    }
    ok = ok && jo_put(o, "file", json_string(path)) && jo_put(o, "digest", jo_hex(digest, 32)) &&
         jo_put_submission(o, &s) && jo_put(o, "signatures", json_incref(sigs)) &&
         jo_put(o, "valid", json_boolean(all_recover));
    json_decref(sigs);
    custos_secp_free(ctx);
    custos_submission_clear(&s);
    if (!ok) {
        json_decref(o);
        o = NULL;
    }
    if (!jo_emit(o, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (!all_recover) {
        cli_fail("%s: %s", path, n_sigs == 0 ? "no signatures" : "a signature does not recover");
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
