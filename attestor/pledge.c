#include "pledge.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/sig.h"
#include "fileio.h"
#include "holdings.h"
#include "jsonin.h"

#define AT_REGISTRY_MAX_BYTES (16u * 1024u * 1024u)
/* Resetting the registry would let an account be pledged twice. */
#define AT_REGISTRY_ADVICE "restore it from a backup"

static const uint8_t zero_address[CUSTOS_ADDRESS_LEN];

/* *root gets the document, *pledges its "pledges" object (borrowed). */
static custos_rc registry_load(const char *path, json_t **root, json_t **pledges,
                               custos_error *err)
{
    char *text;
    size_t len;
    custos_rc rc = at_file_read(path, AT_REGISTRY_MAX_BYTES, &text, &len, err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        *root = json_pack("{s:{}}", "pledges");
        if (*root == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
        *pledges = json_object_get(*root, "pledges");
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_json_parse(path, text, len, root, err);
    free(text);
    if (rc != CUSTOS_OK)
        return rc;
    static const char *const top[] = {"pledges", NULL};
    rc = at_json_only_keys(path, "", *root, top, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(path, "", *root, "pledges", pledges, err);
    if (rc == CUSTOS_OK)
        rc = at_json_expect_object(path, "pledges", *pledges, err);
    const char *ref;
    json_t *v;
    json_object_foreach(*pledges, ref, v) {
        if (rc != CUSTOS_OK)
            break;
        char jp[AT_JPATH_MAX];
        at_jpath_key(jp, "pledges", ref);
        const char *hex;
        uint8_t ben[CUSTOS_ADDRESS_LEN];
        custos_error aerr;
        rc = at_json_text(path, jp, v, CUSTOS_ADDRESS_HEX_LEN - 1, false, &hex, err);
        if (rc == CUSTOS_OK && (strlen(ref) == 0 || strlen(ref) > AT_REF_MAX))
            rc = at_json_fail(err, path, jp, "account reference of 1 to %d bytes", AT_REF_MAX);
        if (rc == CUSTOS_OK && (custos_address_from_hex(hex, ben, &aerr) != CUSTOS_OK ||
                                memcmp(ben, zero_address, sizeof ben) == 0))
            rc = at_json_fail(err, path, jp, "not a non-zero 0x address; " AT_REGISTRY_ADVICE);
    }
    if (rc != CUSTOS_OK)
        json_decref(*root);
    return rc;
}

static custos_rc registry_save(const char *path, json_t *root, custos_error *err)
{
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (line == NULL) {
        free(text);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    custos_rc rc = at_file_write_atomic(path, line, len + 1, 0600, err);
    free(line);
    return rc;
}

/* The pledge of ref in a loaded registry (validated by registry_load). */
static bool registry_find(const json_t *pledges, const char *ref, uint8_t ben[CUSTOS_ADDRESS_LEN])
{
    memset(ben, 0, CUSTOS_ADDRESS_LEN);
    const json_t *v = json_object_get(pledges, ref);
    custos_error aerr;
    return v != NULL && custos_address_from_hex(json_string_value(v), ben, &aerr) == CUSTOS_OK;
}

custos_rc at_pledge_get(const char *path, const char *ref, bool *pledged,
                        uint8_t ben[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    int fd;
    custos_rc rc = at_file_lock(path, &fd, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_t *root, *pledges;
    rc = registry_load(path, &root, &pledges, err);
    if (rc == CUSTOS_OK) {
        *pledged = registry_find(pledges, ref, ben);
        json_decref(root);
    }
    at_file_unlock(fd);
    return rc;
}

custos_rc at_pledge_set(const char *path, const char *ref, const uint8_t ben[CUSTOS_ADDRESS_LEN],
                        custos_error *err)
{
    if (memcmp(ben, zero_address, CUSTOS_ADDRESS_LEN) == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "the zero address is no beneficiary (use release to end a "
                                "pledge)");
    size_t ref_len = strlen(ref);
    if (ref_len == 0 || ref_len > AT_REF_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "account reference of 1 to %d bytes",
                                AT_REF_MAX);
    int fd;
    custos_rc rc = at_file_lock(path, &fd, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_t *root, *pledges;
    rc = registry_load(path, &root, &pledges, err);
    if (rc != CUSTOS_OK) {
        at_file_unlock(fd);
        return rc;
    }
    uint8_t current[CUSTOS_ADDRESS_LEN];
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    if (registry_find(pledges, ref, current)) {
        if (memcmp(current, ben, CUSTOS_ADDRESS_LEN) != 0) {
            custos_address_to_hex(current, hex);
            rc = custos_error_set(err, CUSTOS_ERR_REFUSED,
                                  "%s: account '%.128s' is pledged to %s: release it first "
                                  "(custos-attestor release), and wait for the gateway to "
                                  "accept the release", path, ref, hex);
        }
    } else {
        custos_address_to_hex(ben, hex);
        if (json_object_set_new(pledges, ref, json_string(hex)) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
        if (rc == CUSTOS_OK)
            rc = registry_save(path, root, err);
    }
    json_decref(root);
    at_file_unlock(fd);
    return rc;
}

custos_rc at_pledge_clear(const char *path, const char *ref,
                          const uint8_t ben[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    int fd;
    custos_rc rc = at_file_lock(path, &fd, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_t *root, *pledges;
    rc = registry_load(path, &root, &pledges, err);
    if (rc != CUSTOS_OK) {
        at_file_unlock(fd);
        return rc;
    }
    uint8_t current[CUSTOS_ADDRESS_LEN];
    /* Another process may have changed the pledge meanwhile: only this release's ends. */
    if (registry_find(pledges, ref, current) &&
        memcmp(current, ben, CUSTOS_ADDRESS_LEN) == 0) {
        if (json_object_del(pledges, ref) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "%s: cannot remove '%.128s'", path,
                                  ref);
        if (rc == CUSTOS_OK)
            rc = registry_save(path, root, err);
    }
    json_decref(root);
    at_file_unlock(fd);
    return rc;
}

custos_rc at_pledge_check(const char *path, const char *ref,
                          const uint8_t ben[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    bool pledged;
    uint8_t current[CUSTOS_ADDRESS_LEN];
    custos_rc rc = at_pledge_get(path, ref, &pledged, current, err);
    if (rc != CUSTOS_OK || memcmp(current, ben, CUSTOS_ADDRESS_LEN) == 0)
        return rc;
    char want[CUSTOS_ADDRESS_HEX_LEN], have[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(current, want);
    custos_address_to_hex(ben, have);
    if (!pledged)
        return custos_error_set(err, CUSTOS_ERR_REFUSED,
                                "account '%.64s': the holdings name %s, but it has no pledge "
                                "in %.80s: record it first (custos-attestor pledge)",
                                ref, have, path);
    return custos_error_set(err, CUSTOS_ERR_REFUSED,
                            "account '%.64s' is pledged to %s, the holdings name %s: one "
                            "lender per collateral; release the pledge first", ref, want, have);
}
