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

/* fsync of a file or a directory (after a rename in it), by its path. */
custos_rc at_file_fsync(const char *path, custos_error *err);

/* Creates dir (mode 0700) unless it exists; refuses a path that is not a directory. */
custos_rc at_dir_make(const char *dir, custos_error *err);

/* Takes an exclusive advisory lock on "<path>.lock" (created if missing), serialising the
 * read-modify-write of path between processes; *fd holds it until at_file_unlock. */
custos_rc at_file_lock(const char *path, int *fd, custos_error *err);
void at_file_unlock(int fd);

#endif
