/* cosign of a batch directory (batchcosign.h). Nothing is written unless every account
 * file belongs to the batch and the signature is made. */
#include "batchcosign.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cmd.h"
#include "custos/batch.h"
#include "custos/hex.h"
#include "custos/typeddata.h"
#include "fileio.h"

#define BC_PATH_MAX 4096
/* Account files in a batch directory: at most one per account of the batch. */
#define BC_NAME_LEN (2 + 2 * CUSTOS_HASH_LEN + 5)

typedef struct bc_batch {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain domain;
    custos_batch batch;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
    uint8_t digest[CUSTOS_HASH_LEN];
} bc_batch;

static custos_rc bc_path(char out[BC_PATH_MAX], const char *dir, const char *name,
                         custos_error *err)
{
    int n = snprintf(out, BC_PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= BC_PATH_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", dir);
    return CUSTOS_OK;
}

static custos_rc bc_load(const char *dir, bc_batch *b, custos_error *err)
{
    char path[BC_PATH_MAX];
    custos_rc rc = bc_path(path, dir, "batch.json", err);
    char *text = NULL;
    size_t len = 0;
    if (rc == CUSTOS_OK)
        rc = at_file_read(path, CUSTOS_TYPEDDATA_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_error ierr;
    rc = custos_batch_import(text, len, b->feed, &b->domain, &b->batch, b->sigs, &b->n_sigs,
                             &ierr);
    free(text);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "%s: %s", path, ierr.message);
    custos_batch_digest(&b->domain, &b->batch, b->digest);
    return CUSTOS_OK;
}

/* Every signature already there recovers, to distinct signers other than this key. */
static custos_rc bc_check(custos_secp *ctx, const bc_batch *b,
                          const uint8_t self[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    uint8_t seen[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    for (size_t i = 0; i < b->n_sigs; i++) {
        custos_error rerr;
        if (custos_recover_address(ctx, b->digest, &b->sigs[i], seen[i], &rerr) != CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_CRYPTO,
                                    "batch.json: signatures[%zu] does not verify (%s): refusing "
                                    "to cosign", i, rerr.message);
        if (memcmp(seen[i], self, CUSTOS_ADDRESS_LEN) == 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "batch.json: this key already signed it (signatures[%zu])",
                                    i);
        for (size_t j = 0; j < i; j++)
            if (memcmp(seen[j], seen[i], CUSTOS_ADDRESS_LEN) == 0)
                return custos_error_set(err, CUSTOS_ERR_INVALID,
                                        "batch.json: signatures[%zu] and [%zu] are by one signer",
                                        j, i);
    }
    if (b->n_sigs >= CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "batch.json: already %d signatures", CUSTOS_MAX_SIGNATURES);
    return CUSTOS_OK;
}

bool at_batch_is_account_file(const char *name)
{
    if (strlen(name) != BC_NAME_LEN || strncmp(name, "0x", 2) != 0 ||
        strcmp(name + BC_NAME_LEN - 5, ".json") != 0)
        return false;
    for (size_t i = 2; i < BC_NAME_LEN - 5; i++)
        if (strchr("0123456789abcdef", name[i]) == NULL)
            return false;
    return true;
}

/* The account file with the batch's new signatures, after checking it is of this batch. */
static custos_rc bc_account(const char *in_dir, const char *name, const bc_batch *b,
                            const char *digest_hex, char **json, custos_error *err)
{
    char path[BC_PATH_MAX];
    custos_rc rc = bc_path(path, in_dir, name, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: line %d: %s", path, jerr.line,
                                jerr.text);
    json_t *batch = json_object_get(doc, "batch");
    const char *digest = json_string_value(json_object_get(batch, "digest"));
    json_t *sigs = json_array();
    if (digest == NULL || strcmp(digest, digest_hex) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "%s: not an account of this batch (its batch.digest differs)",
                              path);
    else if (sigs == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == CUSTOS_OK && i < b->n_sigs; i++) {
        char hex[CUSTOS_HEX_LEN(CUSTOS_SIGNATURE_LEN)];
        if (custos_hex_encode(b->sigs[i].bytes, CUSTOS_SIGNATURE_LEN, hex, sizeof hex) !=
                CUSTOS_OK ||
            json_array_append_new(sigs, json_string(hex)) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    if (rc == CUSTOS_OK) {
        rc = json_object_set(batch, "signatures", sigs) == 0
                 ? CUSTOS_OK
                 : custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    if (rc == CUSTOS_OK) {
        *json = json_dumps(doc, JSON_INDENT(2));
        if (*json == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    json_decref(sigs);
    json_decref(doc);
    return rc;
}

/* The account files' new contents, all made before any is written. */
typedef struct bc_out {
    char name[BC_NAME_LEN + 1];
    char *json;
} bc_out;

static custos_rc bc_collect(const char *in_dir, const bc_batch *b, bc_out **outs, size_t *n,
                            custos_error *err)
{
    char digest_hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    if (custos_hex_encode(b->digest, CUSTOS_HASH_LEN, digest_hex, sizeof digest_hex) !=
        CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "digest to hex");
    DIR *d = opendir(in_dir);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: %s", in_dir, strerror(errno));
    *outs = calloc(b->batch.count, sizeof **outs);
    *n = 0;
    custos_rc rc = *outs != NULL ? CUSTOS_OK
                                 : custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    struct dirent *e;
    while (rc == CUSTOS_OK && (e = readdir(d)) != NULL) {
        if (!at_batch_is_account_file(e->d_name))
            continue;
        if (*n == b->batch.count) {
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "%s: more account files than the batch's %u accounts",
                                  in_dir, (unsigned)b->batch.count);
            break;
        }
        memcpy((*outs)[*n].name, e->d_name, BC_NAME_LEN + 1);
        rc = bc_account(in_dir, e->d_name, b, digest_hex, &(*outs)[*n].json, err);
        if (rc == CUSTOS_OK)
            (*n)++;
    }
    closedir(d);
    return rc;
}

int at_cosign_batch(const char *in_dir, const char *out_dir, const at_key_spec *key)
{
    bc_batch b;
    memset(&b, 0, sizeof b);
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    custos_error err;
    custos_rc rc = bc_load(in_dir, &b, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, key, &err);
    if (rc == CUSTOS_OK)
        rc = bc_check(signer.ctx, &b, signer.address, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_sign(&signer, b.digest, &b.sigs[b.n_sigs], &err);
    at_signer_close(&signer);
    if (rc == CUSTOS_OK)
        b.n_sigs++;
    bc_out *outs = NULL;
    size_t n = 0;
    if (rc == CUSTOS_OK)
        rc = bc_collect(in_dir, &b, &outs, &n, &err);
    if (rc == CUSTOS_OK && mkdir(out_dir, 0755) != 0 && errno != EEXIST)
        rc = custos_error_set(&err, CUSTOS_ERR_IO, "--export %s: cannot create: %s", out_dir,
                              strerror(errno));
    at_files *files = NULL;
    if (rc == CUSTOS_OK)
        rc = at_files_new(out_dir, &files, &err);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++)
        rc = at_files_add(files, outs[i].name, outs[i].json, strlen(outs[i].json), 0644, &err);
    /* The batch file last: its signature count says the directory is complete. */
    char *json = NULL;
    if (rc == CUSTOS_OK)
        rc = custos_batch_export(b.feed, &b.domain, &b.batch, b.sigs, b.n_sigs, &json, &err);
    if (rc == CUSTOS_OK)
        rc = at_files_add(files, "batch.json", json, strlen(json), 0644, &err);
    if (rc == CUSTOS_OK)
        rc = at_files_commit(files, &err);
    at_files_free(files);
    free(json);
    for (size_t i = 0; i < n; i++)
        free(outs[i].json);
    free(outs);
    if (rc != CUSTOS_OK) {
        at_cmd_error("cosign: %s", err.message);
        return AT_EXIT_INPUT;
    }
    char addr[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(signer.address, addr);
    printf("%-12s %s\n", "signer", addr);
    printf("%-12s %zu\n", "signatures", b.n_sigs);
    printf("%-12s %s (batch.json and %zu account files)\n", "exported", out_dir, n);
    return AT_EXIT_OK;
}
