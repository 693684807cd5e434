/* The daemon's spool of batches (batchspool.h). */
#include "batchspool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "jsonin.h"

#define BATCHES "batches"

static custos_rc join(char *out, size_t cap, const char *dir, const char *name,
                      custos_error *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", dir);
    return CUSTOS_OK;
}

/* Removes dir's files (no subdirectories are expected), then dir. */
static custos_rc remove_dir(const char *dir, custos_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? CUSTOS_OK
                               : custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s",
                                                  dir, strerror(errno));
    custos_rc rc = CUSTOS_OK;
    struct dirent *e;
    while (rc == CUSTOS_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        rc = join(path, sizeof path, dir, e->d_name, err);
        if (rc == CUSTOS_OK && unlink(path) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot remove: %s", path,
                                  strerror(errno));
    }
    closedir(d);
    if (rc == CUSTOS_OK && rmdir(dir) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
    return rc;
}

custos_rc at_batch_spool_open(const char *spool, custos_error *err)
{
    char dir[4096];
    custos_rc rc = join(dir, sizeof dir, spool, BATCHES, err);
    if (rc == CUSTOS_OK)
        rc = at_dir_make(dir, err);
    if (rc == CUSTOS_OK)
        rc = join(dir, sizeof dir, spool, "refused", err);
    if (rc == CUSTOS_OK)
        rc = at_dir_make(dir, err);
    return rc;
}

custos_rc at_batch_spool_path(const char *spool, const char *name, char *out, size_t cap,
                              custos_error *err)
{
    char dir[4096];
    custos_rc rc = join(dir, sizeof dir, spool, BATCHES, err);
    return rc == CUSTOS_OK ? join(out, cap, dir, name, err) : rc;
}

custos_rc at_batch_spool_put(const char *spool, const at_batch_book *b,
                             const custos_submission *ctx, custos_error *err)
{
    char dir[4096], name[AT_BATCH_SPOOL_NAME_LEN + 8], tmp[4096], final[4096];
    snprintf(name, sizeof name, "%020llu", (unsigned long long)b->batch.sequence);
    custos_rc rc = join(dir, sizeof dir, spool, BATCHES, err);
    if (rc == CUSTOS_OK)
        rc = join(final, sizeof final, dir, name, err);
    if (rc == CUSTOS_OK) {
        int n = snprintf(tmp, sizeof tmp, "%s/.tmp-%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof tmp)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", dir);
    }
    /* What an interrupted write left under the temporary name is written again. */
    if (rc == CUSTOS_OK)
        rc = remove_dir(tmp, err);
    if (rc == CUSTOS_OK)
        rc = at_batch_book_export(b, ctx, tmp, err);
    if (rc == CUSTOS_OK)
        rc = at_file_fsync(tmp, err);
    if (rc == CUSTOS_OK && rename(tmp, final) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot move to %s: %s", tmp, final,
                              strerror(errno));
    if (rc == CUSTOS_OK)
        rc = at_file_fsync(dir, err);
    return rc;
}

static bool is_batch_name(const char *name)
{
    if (strlen(name) != AT_BATCH_SPOOL_NAME_LEN - 1)
        return false;
    for (const char *p = name; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

custos_rc at_batch_spool_list(const char *spool, char (**names)[AT_BATCH_SPOOL_NAME_LEN],
                              size_t *n, custos_error *err)
{
    *names = NULL;
    *n = 0;
    char dir[4096];
    custos_rc rc = join(dir, sizeof dir, spool, BATCHES, err);
    if (rc != CUSTOS_OK)
        return rc;
    DIR *d = opendir(dir);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    char(*out)[AT_BATCH_SPOOL_NAME_LEN] = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_batch_name(e->d_name))
            continue;
        if (len == cap) {
            size_t ncap = cap == 0 ? 8 : cap * 2;
            char(*grown)[AT_BATCH_SPOOL_NAME_LEN] = realloc(out, ncap * sizeof *out);
            if (grown == NULL) {
                rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch spool: out of memory");
                break;
            }
            out = grown;
            cap = ncap;
        }
        memcpy(out[len++], e->d_name, AT_BATCH_SPOOL_NAME_LEN);
    }
    closedir(d);
    if (rc != CUSTOS_OK) {
        free(out);
        return rc;
    }
    if (len > 1)
        qsort(out, len, sizeof *out, name_cmp);
    *names = out;
    *n = len;
    return CUSTOS_OK;
}

void at_batch_spooled_free(at_batch_spooled *b)
{
    for (size_t i = 0; b->accounts != NULL && i < b->n; i++)
        custos_batch_member_clear(&b->accounts[i]);
    free(b->accounts);
    memset(b, 0, sizeof *b);
}

/* One account file of the batch in dir into out->accounts[out->n]. */
static custos_rc get_account(const char *dir, const char *name, at_batch_spooled *out,
                             custos_batch_account *a, custos_error *err)
{
    char path[4096];
    custos_rc rc = join(path, sizeof path, dir, name, err);
    char *text = NULL;
    size_t len = 0;
    if (rc == CUSTOS_OK)
        rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    custos_position *ps = NULL;
    size_t n_ps = 0;
    if (rc == CUSTOS_OK)
        rc = custos_batch_account_import(text, len, a, err);
    if (rc == CUSTOS_OK)
        rc = custos_batch_account_positions(text, len, &ps, &n_ps, err);
    free(text);
    if (rc != CUSTOS_OK)
        return rc;
    if (out->n == out->batch.count) {
        free(ps);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: more account files than the "
                                "batch's %u accounts", dir, (unsigned)out->batch.count);
    }
    const custos_batch *x = &a->batch, *y = &out->batch;
    if (memcmp(x->feed_id, y->feed_id, CUSTOS_HASH_LEN) != 0 ||
        memcmp(x->accounts_root, y->accounts_root, CUSTOS_HASH_LEN) != 0 ||
        x->count != y->count || x->as_of != y->as_of || x->valid_until != y->valid_until ||
        x->sequence != y->sequence || strcmp(a->feed, out->feed) != 0) {
        free(ps);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: of another batch", path);
    }
    custos_batch_member *s = &out->accounts[out->n++];
    s->att = a->att;
    s->positions = ps; /* the gateway checks them against positionsRoot */
    s->n_positions = n_ps;
    return CUSTOS_OK;
}

custos_rc at_batch_spool_get(const char *spool, const char *name, at_batch_spooled *out,
                             custos_error *err)
{
    memset(out, 0, sizeof *out);
    char dir[4096], path[4096];
    custos_rc rc = at_batch_spool_path(spool, name, dir, sizeof dir, err);
    if (rc == CUSTOS_OK)
        rc = join(path, sizeof path, dir, "batch.json", err);
    char *text = NULL;
    size_t len = 0;
    if (rc == CUSTOS_OK)
        rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    if (rc == CUSTOS_OK)
        rc = custos_batch_import(text, len, out->feed, &out->domain, &out->batch, out->sigs,
                                 &out->n_sigs, err);
    free(text);
    if (rc == CUSTOS_OK && (out->batch.count == 0 ||
                            out->batch.count > CUSTOS_BATCH_MAX_ACCOUNTS))
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %u accounts", path,
                              (unsigned)out->batch.count);
    if (rc == CUSTOS_OK &&
        (out->accounts = calloc(out->batch.count, sizeof *out->accounts)) == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch spool: out of memory");
    custos_batch_account *a = rc == CUSTOS_OK ? calloc(1, sizeof *a) : NULL;
    if (rc == CUSTOS_OK && a == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch spool: out of memory");
    DIR *d = rc == CUSTOS_OK ? opendir(dir) : NULL;
    if (rc == CUSTOS_OK && d == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    struct dirent *e;
    while (rc == CUSTOS_OK && (e = readdir(d)) != NULL) {
        size_t nlen = strlen(e->d_name);
        if (strncmp(e->d_name, "0x", 2) == 0 && nlen > 5 &&
            strcmp(e->d_name + nlen - 5, ".json") == 0)
            rc = get_account(dir, e->d_name, out, a, err);
    }
    if (d != NULL)
        closedir(d);
    free(a);
    if (rc == CUSTOS_OK && out->n != out->batch.count)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %zu account files for a batch of %u",
                              dir, out->n, (unsigned)out->batch.count);
    if (rc != CUSTOS_OK)
        at_batch_spooled_free(out);
    return rc;
}

custos_rc at_batch_spool_remove(const char *spool, const char *name, custos_error *err)
{
    char dir[4096], path[4096];
    custos_rc rc = join(dir, sizeof dir, spool, BATCHES, err);
    if (rc == CUSTOS_OK)
        rc = join(path, sizeof path, dir, name, err);
    if (rc == CUSTOS_OK)
        rc = remove_dir(path, err);
    return rc == CUSTOS_OK ? at_file_fsync(dir, err) : rc;
}

custos_rc at_batch_spool_refuse(const char *spool, const char *name, const char *reason,
                                custos_error *err)
{
    char from[4096], refused[4096], to[4096], why[4096];
    custos_rc rc = at_batch_spool_path(spool, name, from, sizeof from, err);
    if (rc == CUSTOS_OK)
        rc = join(refused, sizeof refused, spool, "refused", err);
    if (rc == CUSTOS_OK) {
        int n = snprintf(to, sizeof to, "%s/batch-%s", refused, name);
        int m = snprintf(why, sizeof why, "%s/batch-%s.reason", refused, name);
        if (n < 0 || (size_t)n >= sizeof to || m < 0 || (size_t)m >= sizeof why)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", refused);
    }
    if (rc != CUSTOS_OK)
        return rc;
    /* The reason first: a crash in between leaves the batch in the spool, to be retried. */
    char line[600];
    int n = snprintf(line, sizeof line, "%s\n", reason);
    if (n < 0)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "cannot format the reason");
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    rc = at_file_write_atomic(why, line, len, 0600, err);
    if (rc == CUSTOS_OK && rename(from, to) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot move to %s: %s", from, refused,
                              strerror(errno));
    if (rc == CUSTOS_OK)
        rc = at_file_fsync(refused, err);
    return rc;
}
