/* verify: an exported attestation checked offline, its digest recomputed and its signers
 * recovered; or one account of a batch (docs/attestation.md §16): its leaf proof to the
 * batch root and the batch's signers. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "custos/batch.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "custos/typeddata.h"
#include "jsonin.h"
#include "jsonout.h"

static const clopt_command verify_cmd = {
    .name = "verify",
    .usage = "usage: custos verify FILE.json",
    .summary = "offline: the digest and recovered signers of an exported attestation, or of "
               "an exported account of a batch",
    .min_operands = 1,
    .max_operands = 1,
    .operand_message = "one FILE.json"};

/* An account file of a batch: verified alone by custos_batch_account_verify. */
static int verify_batch_account(const char *path, const char *text, size_t len)
{
    custos_batch_account *a = calloc(1, sizeof *a);
    custos_secp *ctx = custos_secp_new();
    custos_error err;
    custos_rc rc = a != NULL && ctx != NULL
                       ? custos_batch_account_import(text, len, a, &err)
                       : custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory");
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    bool imported = rc == CUSTOS_OK;
    if (imported)
        rc = custos_batch_account_verify(ctx, a, signers, &err);
    json_t *o = NULL;
    if (imported) {
        custos_submission s;
        memset(&s, 0, sizeof s);
        memcpy(s.feed, a->feed, sizeof s.feed);
        s.domain = a->domain;
        s.att = a->att;
        uint8_t digest[32], batch_digest[32];
        custos_attestation_digest(&a->domain, &a->att, digest);
        custos_batch_digest(&a->domain, &a->batch, batch_digest);
        o = json_object();
        json_t *b = json_object(), *addrs = json_array();
        bool ok = o != NULL && b != NULL && addrs != NULL;
        for (size_t i = 0; ok && rc == CUSTOS_OK && i < a->n_sigs; i++)
            ok = json_array_append_new(addrs, jo_address(signers[i])) == 0;
        ok = ok && jo_put(b, "digest", jo_hex(batch_digest, 32)) &&
             jo_put(b, "accountsRoot", jo_hex(a->batch.accounts_root, 32)) &&
             jo_put(b, "count", jo_u64(a->batch.count)) &&
             jo_put(b, "sequence", jo_u64(a->batch.sequence)) &&
             jo_put(b, "proofLength", jo_u64(a->n_proof)) &&
             jo_put(b, "signers", json_incref(addrs));
        ok = ok && jo_put(o, "file", json_string(path)) &&
             jo_put(o, "digest", jo_hex(digest, 32)) && jo_put_submission(o, &s) &&
             jo_put(o, "batch", json_incref(b)) &&
             jo_put(o, "valid", json_boolean(rc == CUSTOS_OK));
        json_decref(b);
        json_decref(addrs);
        if (!ok) {
            json_decref(o);
            o = NULL;
        }
    }
    free(a);
    custos_secp_free(ctx);
    if (imported && !jo_emit(o, JSON_INDENT(2)))
        return EXIT_FAIL;
    if (rc != CUSTOS_OK) {
        cli_fail("%s: %s", path, err.message);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Whether the document is an account file of a batch (it has a "batch" member). */
static bool is_batch_account(const char *text, size_t len)
{
    json_t *doc = json_loadb(text, len, 0, NULL);
    bool yes = json_is_object(doc) && json_object_get(doc, "batch") != NULL;
    json_decref(doc);
    return yes;
}

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
    if (is_batch_account(text, len)) {
        int st = verify_batch_account(path, text, len);
        free(text);
        return st;
    }
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
