/* Bounded file reads and crash-safe file replacement. */
#ifndef AT_FILEIO_H
#define AT_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "custos/error.h"

/* Reads the whole file into a malloc'd NUL-terminated buffer; refuses files over max bytes. */
custos_rc at_file_read(const char *path, size_t max, char **data, size_t *len, custos_error *err);

/* Replaces path with data so that a crash leaves either the old or the new content:
 * temporary file in the same directory, fsync, rename, fsync of the directory. */
custos_rc at_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                               custos_error *err);

/* Many files into one directory, durable together (proof files, a batch's account files):
 * at_files_add writes each to a temporary name beside it, without an fsync of its own;
 * at_files_commit flushes them all with one syncfs of their file system, renames each
 * into place in the order added, and fsyncs the directory once. A crash leaves whole
 * files or temporaries (".NAME.tmp-XXXXXX"), never a part of one under its name; files
 * added later are in place only once the earlier ones are. One fsync per file made a
 * reserves attestation of 100,000 accounts take about 52 s. */
typedef struct at_files at_files;

CUSTOS_MUST_USE
custos_rc at_files_new(const char *dir, at_files **out, custos_error *err);
/* name: a file name in the directory (no '/'); data is copied to the file at once. */
CUSTOS_MUST_USE
custos_rc at_files_add(at_files *f, const char *name, const void *data, size_t len,
                       mode_t mode, custos_error *err);
CUSTOS_MUST_USE
custos_rc at_files_commit(at_files *f, custos_error *err);
/* Removes the temporaries of files not committed. Safe on NULL. */
void at_files_free(at_files *f);

/* fsync of a file or a directory (after a rename in it), by its path. */
custos_rc at_file_fsync(const char *path, custos_error *err);

/* Creates dir (mode 0700) unless it exists; refuses a path that is not a directory. */
custos_rc at_dir_make(const char *dir, custos_error *err);

/* Takes an exclusive advisory lock on "<path>.lock" (created if missing), serialising the
 * read-modify-write of path between processes; *fd holds it until at_file_unlock. */
custos_rc at_file_lock(const char *path, int *fd, custos_error *err);
void at_file_unlock(int fd);

#endif
