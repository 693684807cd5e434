#include "runconf.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/sig.h"
#include "fileio.h"
#include "jsonin.h"

/* A day: a longer interval would outlive the shortest validity a policy gives. */
#define AT_RUN_INTERVAL_MAX 86400u

static custos_rc text_member(const char *file, const json_t *root, const char *key, size_t max,
                             bool required, const char **out, custos_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(root, key);
    if (v == NULL)
        return required ? at_json_member(file, "", root, key, &v, err) : CUSTOS_OK;
    return at_json_text(file, key, v, max, true, out, err);
}

/* A path member, resolved against dir unless absolute; "" when absent and optional. */
static custos_rc path_member(const char *file, const char *dir, const json_t *root,
                             const char *key, bool required, char out[AT_RUNCONF_PATH_MAX],
                             custos_error *err)
{
    const char *v;
    out[0] = '\0';
    custos_rc rc = text_member(file, root, key, 1024, required, &v, err);
    if (rc != CUSTOS_OK || v == NULL)
        return rc;
    int n = v[0] == '/' ? snprintf(out, AT_RUNCONF_PATH_MAX, "%s", v)
                        : snprintf(out, AT_RUNCONF_PATH_MAX, "%s/%s", dir, v);
    if (n < 0 || n >= AT_RUNCONF_PATH_MAX)
        return at_json_fail(err, file, key, "path too long");
    return CUSTOS_OK;
}

static custos_rc uint_member(const char *file, const json_t *root, const char *key,
                             uint64_t min, uint64_t max, uint64_t dflt, uint64_t *out,
                             custos_error *err)
{
    json_t *v = json_object_get(root, key);
    if (v == NULL) {
        if (dflt == 0)
            return at_json_member(file, "", root, key, &v, err);
        *out = dflt;
        return CUSTOS_OK;
    }
    return at_json_uint(file, key, v, min, max, out, err);
}

/* The HSM key, the alternative to "key": module, token and key label, optional PIN file. */
static custos_rc pkcs11_members(const char *file, const char *dir, const json_t *root,
                                at_runconf *c, custos_error *err)
{
    const char *token = NULL, *key = NULL;
    custos_rc rc = path_member(file, dir, root, "pkcs11_module", false, c->pkcs11_module, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "pkcs11_pin_file", false, c->pkcs11_pin_file, err);
    if (rc == CUSTOS_OK)
        rc = text_member(file, root, "pkcs11_token", sizeof c->pkcs11_token - 1, false, &token,
                         err);
    if (rc == CUSTOS_OK)
        rc = text_member(file, root, "pkcs11_key", sizeof c->pkcs11_key - 1, false, &key, err);
    if (rc != CUSTOS_OK)
        return rc;
    bool hsm = c->pkcs11_module[0] != '\0';
    if (hsm == (c->key[0] != '\0'))
        return at_json_fail(err, file, "key", "give \"key\" or \"pkcs11_module\", not both");
    if (!hsm && (token != NULL || key != NULL || c->pkcs11_pin_file[0] != '\0'))
        return at_json_fail(err, file, "pkcs11_module",
                            "required with \"pkcs11_token\", \"pkcs11_key\" and "
                            "\"pkcs11_pin_file\"");
    if (hsm && token == NULL)
        return at_json_fail(err, file, "pkcs11_token", "required with \"pkcs11_module\"");
    if (hsm && key == NULL)
        return at_json_fail(err, file, "pkcs11_key", "required with \"pkcs11_module\"");
    if (hsm) {
        memcpy(c->pkcs11_token, token, strlen(token) + 1);
        memcpy(c->pkcs11_key, key, strlen(key) + 1);
    }
    return CUSTOS_OK;
}

static custos_rc parse(const char *file, const char *dir, const json_t *root, at_runconf *c,
                       custos_error *err)
{
    static const char *const keys[] = {
        "holdings", "prices", "price_sources", "price_ca", "policy", "key", "feed", "chain_id",
        "contract", "state", "registry", "gateway", "spool", "interval_seconds",
        "heartbeat_seconds", "retry_max_seconds", "reserves_interval_seconds", "tls_ca",
        "tls_cert", "tls_key", "insecure", "metrics_textfile",
        "pkcs11_module", "pkcs11_token", "pkcs11_key", "pkcs11_pin_file", "batch", NULL};
    custos_rc rc = at_json_only_keys(file, "", root, keys, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "holdings", true, c->holdings, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "prices", false, c->prices, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "price_ca", false, c->price_ca, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "policy", true, c->policy, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "key", false, c->key, err);
    if (rc == CUSTOS_OK)
        rc = pkcs11_members(file, dir, root, c, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "state", true, c->state, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "spool", true, c->spool, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "registry", false, c->registry, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "tls_ca", false, c->tls_ca, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "tls_cert", false, c->tls_cert, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "tls_key", false, c->tls_key, err);
    if (rc == CUSTOS_OK)
        rc = path_member(file, dir, root, "metrics_textfile", false, c->metrics_textfile, err);
    if (rc != CUSTOS_OK)
        return rc;
    const json_t *insecure = json_object_get(root, "insecure");
    if (insecure != NULL && !json_is_boolean(insecure))
        return at_json_fail(err, file, "insecure", "expected true or false");
    c->insecure = insecure != NULL && json_is_true(insecure);
    const json_t *batch = json_object_get(root, "batch");
    if (batch != NULL && !json_is_boolean(batch))
        return at_json_fail(err, file, "batch", "expected true or false");
    c->batch = batch != NULL && json_is_true(batch);
    json_t *sources = json_object_get(root, "price_sources");
    if ((sources == NULL) == (c->prices[0] == '\0'))
        return at_json_fail(err, file, "prices", "give \"prices\" or \"price_sources\", not both");
    if (c->price_ca[0] != '\0' && sources == NULL)
        return at_json_fail(err, file, "price_ca", "is for \"price_sources\"");
    if (sources != NULL) {
        rc = at_json_expect_array(file, "price_sources", sources, err);
        if (rc != CUSTOS_OK)
            return rc;
        size_t n = json_array_size(sources);
        if (n == 0 || n > AT_PRICE_SOURCES_MAX)
            return at_json_fail(err, file, "price_sources", "1 to %d URLs",
                                AT_PRICE_SOURCES_MAX);
        for (size_t i = 0; i < n; i++) {
            char jp[AT_JPATH_MAX];
            at_jpath_index(jp, "price_sources", i);
            const char *url;
            rc = at_json_text(file, jp, json_array_get(sources, i), sizeof c->sources[0] - 1,
                              false, &url, err);
            if (rc != CUSTOS_OK)
                return rc;
            memcpy(c->sources[i], url, strlen(url) + 1);
        }
        c->n_sources = n;
    }
    const char *feed, *contract, *gateway;
    rc = text_member(file, root, "feed", CUSTOS_FEED_MAX, true, &feed, err);
    if (rc == CUSTOS_OK)
        rc = text_member(file, root, "contract", CUSTOS_ADDRESS_HEX_LEN - 1, true, &contract,
                         err);
    if (rc == CUSTOS_OK)
        rc = text_member(file, root, "gateway", sizeof c->gateway - 1, true, &gateway, err);
    if (rc == CUSTOS_OK)
        rc = uint_member(file, root, "chain_id", 1, UINT64_MAX, 0, &c->ctx.domain.chain_id,
                         err);
    if (rc == CUSTOS_OK)
        rc = uint_member(file, root, "interval_seconds", 1, AT_RUN_INTERVAL_MAX, 0,
                         &c->interval_seconds, err);
    if (rc == CUSTOS_OK)
        rc = uint_member(file, root, "heartbeat_seconds", 1, 31536000u, 0,
                         &c->heartbeat_seconds, err);
    if (rc == CUSTOS_OK)
        rc = uint_member(file, root, "retry_max_seconds", 1, 3600, 60, &c->retry_max_seconds,
                         err);
    /* Optional, and 0 (off) when absent. */
    json_t *reserves = json_object_get(root, "reserves_interval_seconds");
    c->reserves_interval_seconds = 0;
    if (rc == CUSTOS_OK && reserves != NULL)
        rc = at_json_uint(file, "reserves_interval_seconds", reserves, 0, AT_RUN_INTERVAL_MAX,
                          &c->reserves_interval_seconds, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_error aerr;
    if (custos_address_from_hex(contract, c->ctx.domain.verifying_contract, &aerr) != CUSTOS_OK)
        return at_json_fail(err, file, "contract", "%s", aerr.message);
    memcpy(c->ctx.feed, feed, strlen(feed) + 1);
    memcpy(c->gateway, gateway, strlen(gateway) + 1);
    return CUSTOS_OK;
}

custos_rc at_runconf_load(const char *path, at_runconf *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    char dir[AT_RUNCONF_PATH_MAX];
    if (strlen(path) >= sizeof dir)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", path);
    memcpy(dir, path, strlen(path) + 1);
    const char *d = dirname(dir);
    char *text;
    size_t len;
    custos_rc rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_t *root;
    rc = at_json_parse(path, text, len, &root, err);
    free(text);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_json_expect_object(path, "", root, err);
    if (rc == CUSTOS_OK)
        rc = parse(path, d, root, out, err);
    json_decref(root);
    return rc;
}
