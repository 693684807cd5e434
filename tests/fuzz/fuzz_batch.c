/* A batch file (what `cosign` of a batch directory reads) and an account file of a batch
 * (what `custos verify` reads), both from untrusted files. A document that imports must
 * export and import again to the same fields; an imported account is verified (any
 * verdict, never a crash). */
#include <stdlib.h>
#include <string.h>

#include "custos/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_batch_file(const char *text, size_t size)
{
    char feed[CUSTOS_FEED_MAX + 1], feed2[CUSTOS_FEED_MAX + 1];
    custos_domain d, d2;
    custos_batch b, b2;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES], sigs2[CUSTOS_MAX_SIGNATURES];
    size_t n = 0, n2 = 0;
    custos_error err;
    if (custos_batch_import(text, size, feed, &d, &b, sigs, &n, &err) != CUSTOS_OK)
        return;
    char *json = NULL;
    if (custos_batch_export(feed, &d, &b, sigs, n, &json, &err) != CUSTOS_OK ||
        custos_batch_import(json, strlen(json), feed2, &d2, &b2, sigs2, &n2, &err) != CUSTOS_OK ||
        strcmp(feed, feed2) != 0 || memcmp(&b, &b2, sizeof b) != 0 || n != n2 ||
        memcmp(sigs, sigs2, n * sizeof sigs[0]) != 0)
        abort();
    free(json);
}

static void fuzz_account_file(const char *text, size_t size)
{
    static custos_batch_account a, back;
    custos_error err;
    custos_position *ps = NULL;
    size_t n_ps = 0;
    /* Positions are read apart from the account: any verdict, and nothing left behind on a
     * refusal. */
    if (custos_batch_account_positions(text, size, &ps, &n_ps, &err) == CUSTOS_OK)
        free(ps);
    else if (ps != NULL || n_ps != 0)
        abort();
    if (custos_batch_account_import(text, size, &a, &err) != CUSTOS_OK)
        return;
    char *json = NULL;
    if (custos_batch_account_export(&a, NULL, 0, &json, &err) != CUSTOS_OK ||
        custos_batch_account_import(json, strlen(json), &back, &err) != CUSTOS_OK ||
        memcmp(&a.att, &back.att, sizeof a.att) != 0 ||
        memcmp(&a.batch, &back.batch, sizeof a.batch) != 0 || a.n_proof != back.n_proof ||
        a.n_sigs != back.n_sigs)
        abort();
    free(json);
    custos_secp *ctx = custos_secp_new();
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    /* Any verdict will do; a verified account must name a signer per signature. */
    if (ctx != NULL && custos_batch_account_verify(ctx, &a, signers, &err) == CUSTOS_OK &&
        a.n_sigs == 0)
        abort();
    custos_secp_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_batch_file((const char *)data, size);
    fuzz_account_file((const char *)data, size);
    return 0;
}
