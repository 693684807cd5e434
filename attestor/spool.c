#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "custos/hex.h"
#include "custos/typeddata.h"
#include "fileio.h"
#include "jsonin.h"

static custos_rc join(char *out, size_t cap, const char *dir, const char *name,
                      custos_error *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", dir);
    return CUSTOS_OK;
}

custos_rc at_spool_open(const char *dir, custos_error *err)
{
    char refused[4096];
    custos_rc rc = at_dir_make(dir, err);
    if (rc == CUSTOS_OK)
        rc = join(refused, sizeof refused, dir, "refused", err);
    if (rc == CUSTOS_OK)
        rc = at_dir_make(refused, err);
    return rc;
}

static custos_rc entry_name(const uint8_t account[CUSTOS_HASH_LEN], uint64_t sequence,
                            char out[AT_SPOOL_NAME_LEN], custos_error *err)
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    if (custos_hex_encode(account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "spool: no account to name an entry");
    snprintf(out, AT_SPOOL_NAME_LEN, "%s-%020llu.json", hex, (unsigned long long)sequence);
    return CUSTOS_OK;
}

/* Only names in the exact form entry_name writes are entries: anything else in the
 * directory (temporary files of an interrupted write, refused/) is left alone. */
static bool is_entry(const char *name)
{
    if (strlen(name) != AT_SPOOL_NAME_LEN - 1 || name[0] != '0' || name[1] != 'x' ||
        name[66] != '-' || strcmp(name + 87, ".json") != 0)
        return false;
    for (size_t i = 2; i < 87; i++) {
        char c = name[i];
        if (i == 66)
            continue;
        bool ok = (c >= '0' && c <= '9') || (i < 66 && c >= 'a' && c <= 'f');
        if (!ok)
            return false;
    }
    return true;
}

custos_rc at_spool_put(const char *dir, const custos_submission *s, custos_error *err)
{
    char name[AT_SPOOL_NAME_LEN], path[4096];
    custos_rc rc = entry_name(s->att.account, s->att.sequence, name, err);
    if (rc == CUSTOS_OK)
        rc = join(path, sizeof path, dir, name, err);
    if (rc != CUSTOS_OK)
        return rc;
    char *json;
    rc = custos_typeddata_export(s, &json, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_file_write_atomic(path, json, strlen(json), 0600, err);
    free(json);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

custos_rc at_spool_list(const char *dir, char (**names)[AT_SPOOL_NAME_LEN], size_t *n,
                        custos_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    size_t cap = 0;
    custos_rc rc = CUSTOS_OK;
    struct dirent *e;
    errno = 0;
    while (rc == CUSTOS_OK && (e = readdir(d)) != NULL) {
        if (!is_entry(e->d_name))
            continue;
        if (*n == cap) {
            size_t ncap = cap == 0 ? 16 : cap * 2;
            char(*grown)[AT_SPOOL_NAME_LEN] = realloc(*names, ncap * sizeof **names);
            if (grown == NULL) {
                rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", dir);
                break;
            }
            *names = grown;
            cap = ncap;
        }
        memcpy((*names)[(*n)++], e->d_name, AT_SPOOL_NAME_LEN);
        errno = 0;
    }
    if (rc == CUSTOS_OK && errno != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
    closedir(d);
    if (rc != CUSTOS_OK) {
        free(*names);
        *names = NULL;
        *n = 0;
        return rc;
    }
    if (*n > 1)
        qsort(*names, *n, sizeof **names, cmp_names);
    return CUSTOS_OK;
}

custos_rc at_spool_has_account(const char *dir, const uint8_t account[CUSTOS_HASH_LEN],
                               bool *has, custos_error *err)
{
    char(*names)[AT_SPOOL_NAME_LEN];
    size_t n;
    char prefix[AT_SPOOL_NAME_LEN];
    *has = false;
    custos_rc rc = entry_name(account, 0, prefix, err);
    if (rc == CUSTOS_OK)
        rc = at_spool_list(dir, &names, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    for (size_t i = 0; i < n && !*has; i++)
        *has = memcmp(names[i], prefix, 67) == 0; /* "0x<64 hex>-" */
    free(names);
    return CUSTOS_OK;
}

custos_rc at_spool_get(const char *dir, const char *name, custos_submission *s,
                       custos_error *err)
{
    char path[4096];
    custos_rc rc = join(path, sizeof path, dir, name, err);
    if (rc != CUSTOS_OK)
        return rc;
    char *text;
    size_t len;
    rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = custos_typeddata_import(text, len, s, err);
    free(text);
    return rc;
}

custos_rc at_spool_remove(const char *dir, const char *name, custos_error *err)
{
    char path[4096];
    custos_rc rc = join(path, sizeof path, dir, name, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (unlink(path) != 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot remove: %s", path,
                                strerror(errno));
    return at_file_fsync(dir, err);
}

custos_rc at_spool_refuse(const char *dir, const char *name, const char *reason,
                          custos_error *err)
{
    char from[4096], refused[4096], to[4096], why[4096];
    custos_rc rc = join(from, sizeof from, dir, name, err);
    if (rc == CUSTOS_OK)
        rc = join(refused, sizeof refused, dir, "refused", err);
    if (rc == CUSTOS_OK)
        rc = join(to, sizeof to, refused, name, err);
    if (rc == CUSTOS_OK) {
        int n = snprintf(why, sizeof why, "%s.reason", to);
        if (n < 0 || (size_t)n >= sizeof why)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", to);
    }
    if (rc != CUSTOS_OK)
        return rc;
    /* The reason first: a crash in between leaves the entry in the spool, to be retried. */
    char line[600];
    int n = snprintf(line, sizeof line, "%s\n", reason);
    if (n < 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot format the reason");
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    rc = at_file_write_atomic(why, line, len, 0600, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (rename(from, to) != 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot move to %s: %s", from, refused,
                                strerror(errno));
    rc = at_file_fsync(refused, err);
    if (rc == CUSTOS_OK)
        rc = at_file_fsync(dir, err);
    return rc;
}
