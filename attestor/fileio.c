#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

custos_rc at_file_read(const char *path, size_t max, char **data, size_t *len, custos_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return custos_error_set(err, errno == ENOENT ? CUSTOS_ERR_NOT_FOUND : CUSTOS_ERR_IO,
                                "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "%s: %lld bytes, over the %zu-byte limit", path,
                                (long long)st.st_size, max);
    }
    size_t cap = (size_t)st.st_size;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    for (;;) {
        /* Read one byte past the size seen by fstat to notice a file that grew meanwhile. */
        char extra;
        char *dst = got < cap ? buf + got : &extra;
        size_t want = got < cap ? cap - got : 1;
        ssize_t n = read(fd, dst, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return custos_error_set(err, CUSTOS_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        if (got >= cap) {
            free(buf);
            close(fd);
            return custos_error_set(err, CUSTOS_ERR_IO, "%s: file changed while being read", path);
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return CUSTOS_OK;
}

static custos_rc write_all(int fd, const char *path, const unsigned char *p, size_t len,
                           custos_error *err)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return custos_error_set(err, CUSTOS_ERR_IO, "%s: write failed: %s", path,
                                    strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return CUSTOS_OK;
}

static custos_rc fsync_parent(const char *path, custos_error *err)
{
    char copy[4096];
    if (strlen(path) >= sizeof copy)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", path);
    strcpy(copy, path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open directory: %s", dir,
                                strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: fsync of directory failed: %s", dir,
                                strerror(e));
    return CUSTOS_OK;
}

/* Fills the temporary file fd (named tmp) with data at mode, fsyncs it when sync, and
 * closes it whatever happens. */
static custos_rc fill_temporary(int fd, const char *tmp, const void *data, size_t len,
                                mode_t mode, bool sync, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    if (fchmod(fd, mode) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: chmod failed: %s", tmp, strerror(errno));
    if (rc == CUSTOS_OK)
        rc = write_all(fd, tmp, data, len, err);
    if (rc == CUSTOS_OK && sync && fsync(fd) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    return rc;
}

custos_rc at_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                               custos_error *err)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot create temporary file: %s", path,
                                strerror(errno));
    custos_rc rc = fill_temporary(fd, tmp, data, len, mode, true, err);
    if (rc == CUSTOS_OK && rename(tmp, path) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot rename into place: %s", path,
                              strerror(errno));
    if (rc != CUSTOS_OK) {
        unlink(tmp);
        return rc;
    }
    return fsync_parent(path, err);
}

typedef struct at_file_entry {
    char *tmp, *path;
} at_file_entry;

struct at_files {
    char *dir;
    at_file_entry *e;
    size_t n, cap, renamed;
};

custos_rc at_files_new(const char *dir, at_files **out, custos_error *err)
{
    *out = NULL;
    at_files *f = calloc(1, sizeof *f);
    if (f == NULL || (f->dir = strdup(dir)) == NULL) {
        free(f);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", dir);
    }
    *out = f;
    return CUSTOS_OK;
}

/* dir/prefix + name + suffix, malloc'd, or NULL. */
static char *files_path(const char *dir, const char *prefix, const char *name,
                        const char *suffix)
{
    size_t len = strlen(dir) + strlen(prefix) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, "%s/%s%s%s", dir, prefix, name, suffix);
    return p;
}

custos_rc at_files_add(at_files *f, const char *name, const void *data, size_t len,
                       mode_t mode, custos_error *err)
{
    if (name[0] == '\0' || strchr(name, '/') != NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: '%s' is not a file name", f->dir,
                                name);
    if (f->n == f->cap) {
        size_t cap = f->cap == 0 ? 16 : 2 * f->cap;
        at_file_entry *grown = realloc(f->e, cap * sizeof *grown);
        if (grown == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", f->dir);
        f->e = grown;
        f->cap = cap;
    }
    at_file_entry e = {files_path(f->dir, ".", name, ".tmp-XXXXXX"),
                       files_path(f->dir, "", name, "")};
    if (e.tmp == NULL || e.path == NULL) {
        free(e.tmp);
        free(e.path);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", f->dir);
    }
    int fd = mkostemp(e.tmp, O_CLOEXEC);
    if (fd < 0) {
        custos_rc rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot create temporary file: "
                                        "%s", e.path, strerror(errno));
        free(e.tmp);
        free(e.path);
        return rc;
    }
    /* Listed before it is written, so that at_files_free removes it whatever happens; its
     * data reaches the disk with the others' at at_files_commit. */
    f->e[f->n++] = e;
    return fill_temporary(fd, e.tmp, data, len, mode, false, err);
}

custos_rc at_files_commit(at_files *f, custos_error *err)
{
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open directory: %s", f->dir,
                                strerror(errno));
    custos_rc rc = CUSTOS_OK;
    /* Every temporary's data on disk before any name points at it. */
    if (syncfs(dfd) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: syncfs failed: %s", f->dir,
                              strerror(errno));
    for (; rc == CUSTOS_OK && f->renamed < f->n; f->renamed++)
        if (rename(f->e[f->renamed].tmp, f->e[f->renamed].path) != 0)
            rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot rename into place: %s",
                                  f->e[f->renamed].path, strerror(errno));
    if (rc == CUSTOS_OK && fsync(dfd) != 0)
        rc = custos_error_set(err, CUSTOS_ERR_IO, "%s: fsync of directory failed: %s", f->dir,
                              strerror(errno));
    close(dfd);
    return rc;
}

void at_files_free(at_files *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++) {
        if (i >= f->renamed)
            unlink(f->e[i].tmp);
        free(f->e[i].tmp);
        free(f->e[i].path);
    }
    free(f->e);
    free(f->dir);
    free(f);
}

custos_rc at_file_lock(const char *path, int *fd, custos_error *err)
{
    char lock_path[4096];
    int n = snprintf(lock_path, sizeof lock_path, "%s.lock", path);
    if (n < 0 || (size_t)n >= sizeof lock_path)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: path too long", path);
    int lfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open lock file: %s", lock_path,
                                strerror(errno));
    int lrc;
    do
        lrc = flock(lfd, LOCK_EX);
    while (lrc != 0 && errno == EINTR);
    if (lrc != 0) {
        int e = errno;
        close(lfd);
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot lock: %s", lock_path, strerror(e));
    }
    *fd = lfd;
    return CUSTOS_OK;
}

void at_file_unlock(int fd)
{
    close(fd); /* releases the lock */
}

custos_rc at_file_fsync(const char *path, custos_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot open: %s", path,
                                strerror(errno));
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: fsync failed: %s", path, strerror(e));
    return CUSTOS_OK;
}

custos_rc at_dir_make(const char *dir, custos_error *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: cannot create: %s", dir,
                                strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return custos_error_set(err, CUSTOS_ERR_IO, "%s: not a directory", dir);
    return CUSTOS_OK;
}
