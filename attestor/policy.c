#include "policy.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fileio.h"
#include "jsonin.h"

static custos_rc parse_haircuts(const char *file, const json_t *m, at_policy *out,
                                custos_error *err)
{
    custos_rc rc = at_json_expect_object(file, "haircuts_bps", m, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t n = json_object_size(m);
    if (n == 0)
        return at_json_fail(err, file, "haircuts_bps", "no asset classes");
    out->haircuts = calloc(n, sizeof *out->haircuts);
    if (out->haircuts == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", file);
    const char *cls;
    json_t *v;
    json_object_foreach((json_t *)m, cls, v) {
        char p[AT_JPATH_MAX];
        at_jpath_key(p, "haircuts_bps", cls);
        if (strlen(cls) == 0 || strlen(cls) > AT_CLASS_MAX)
            return at_json_fail(err, file, p, "an asset class has 1 to %d characters",
                                AT_CLASS_MAX);
        uint64_t bps;
        rc = at_json_uint(file, p, v, 0, 10000, &bps, err);
        if (rc != CUSTOS_OK)
            return rc;
        at_haircut *h = &out->haircuts[out->n_haircuts++];
        strcpy(h->asset_class, cls);
        h->bps = (uint32_t)bps;
    }
    return CUSTOS_OK;
}

static custos_rc parse_document(const char *file, const json_t *root, at_policy *out,
                                custos_error *err)
{
    static const char *const keys[] = {"haircuts_bps", "ttl_seconds", "max_price_age_seconds",
                                       NULL};
    json_t *m;
    custos_rc rc = at_json_only_keys(file, "", root, keys, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, "", root, "haircuts_bps", &m, err);
    if (rc == CUSTOS_OK)
        rc = parse_haircuts(file, m, out, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, "", root, "ttl_seconds", &m, err);
    if (rc == CUSTOS_OK)
        rc = at_json_uint(file, "ttl_seconds", m, 1, AT_POLICY_SECONDS_MAX, &out->ttl_seconds,
                          err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, "", root, "max_price_age_seconds", &m, err);
    if (rc == CUSTOS_OK)
        rc = at_json_uint(file, "max_price_age_seconds", m, 0, AT_POLICY_SECONDS_MAX,
                          &out->max_price_age_seconds, err);
    return rc;
}

custos_rc at_policy_parse(const char *file, const char *text, size_t len, at_policy *out,
                          custos_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root;
    custos_rc rc = at_json_parse(file, text, len, &root, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = parse_document(file, root, out, err);
    json_decref(root);
    if (rc != CUSTOS_OK)
        at_policy_free(out);
    return rc;
}

custos_rc at_policy_load(const char *path, at_policy *out, custos_error *err)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    custos_rc rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_policy_parse(path, text, len, out, err);
    free(text);
    return rc;
}

void at_policy_free(at_policy *p)
{
    free(p->haircuts);
    memset(p, 0, sizeof *p);
}

bool at_policy_haircut(const at_policy *p, const char *asset_class, uint32_t *bps)
{
    for (size_t i = 0; i < p->n_haircuts; i++)
        if (strcmp(p->haircuts[i].asset_class, asset_class) == 0) {
            *bps = p->haircuts[i].bps;
            return true;
        }
    return false;
}
