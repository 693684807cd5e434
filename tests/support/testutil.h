/* Shared helpers for the cmocka tests: temporary directories, files, child processes
 * (node cross-checks, the real gateway binary). Every helper fails the test on error. */
#ifndef CUSTOS_TESTUTIL_H
#define CUSTOS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Milliseconds on the monotonic clock. */
int64_t tu_now_ms(void);
void tu_sleep_ms(int ms);
/* A loopback TCP port that was free when probed (a server may still lose the race for
 * it: callers that start one retry on failure); -1 when none could be probed. */
int tu_free_port(void);
/* A loopback socket that listens and never accepts, close-on-exec (a child does not keep it):
 * connections to it complete in the kernel's backlog and nothing ever reads or answers
 * them, until the caller closes it. Its port into *port. */
int tu_silent_listener(int *port);

/* Creates a fresh directory under $TMPDIR (or /tmp); out gets its path. */
void tu_mkdtemp(char *out, size_t cap);
/* Removes a directory tree made by tu_mkdtemp. */
void tu_rmtree(const char *dir);
void tu_write_file(const char *path, const char *text);
/* Returns a malloc'd NUL-terminated copy of the file, or NULL if it cannot be read. */
char *tu_read_file(const char *path);
/* Replaces the first `from` in the file at path with `to`; fails the test when the file
 * cannot be read or holds no `from`. */
void tu_edit_file(const char *path, const char *from, const char *to);
/* out = the path of deploy/examples/<name>, the sample files the tests start from. */
void tu_example_path(const char *name, char *out, size_t cap);
/* Copies deploy/examples/<name> to dst. */
void tu_copy_example(const char *name, const char *dst);
/* The JSON file at path (the caller releases it); fails the test naming what is wrong. */
json_t *tu_load_json(const char *path);
/* deploy/examples/<name> parsed as JSON (the caller releases it). */
json_t *tu_load_example(const char *name);
/* The sample prices (deploy/examples/prices.json) with every quote observed at as_of,
 * written to dst. */
void tu_write_example_prices(const char *dst, uint64_t as_of);

/* Runs argv (argv[0] is a path), captures stdout (and stderr when merge_stderr) into out;
 * returns the exit status, or -1 if the child died from a signal. */
int tu_run(const char *const argv[], char *out, size_t cap, int merge_stderr);
/* Runs bin with args (NULL-terminated, at most 46), stdout and stderr into out, and echoes
 * the command, its status and its output on stderr for the test's log; returns as tu_run. */
int tu_run_cmd(const char *bin, const char *const args[], char *out, size_t cap);
/* Runs argv, stdout into out and stderr into err, each cut to its cap; returns as tu_run. */
int tu_run_split(const char *const argv[], char *out, size_t out_cap, char *err,
                 size_t err_cap);
/* Runs `node tests/js/<script> args...` with the project's node_modules; returns its
 * exit status; stdout goes to out. */
int tu_node(const char *script, const char *const args[], char *out, size_t cap);

/* A child process started in the background. */
typedef struct tu_proc {
    pid_t pid;
} tu_proc;

/* Starts argv with stdout/stderr appended to log_path. */
void tu_spawn(tu_proc *p, const char *const argv[], const char *log_path);
/* Sends sig and waits up to timeout_ms; SIGKILLs after that. Returns the exit status,
 * 128+signal if it was killed by a signal. */
int tu_stop(tu_proc *p, int sig, int timeout_ms);

/* Starts the real custos-gateway with `--config config_path --port-file <dir>/port`,
 * waits until it is listening and returns the bound port. */
int tu_gateway_start(tu_proc *p, const char *config_path, const char *dir);

/* Polls until path exists and is non-empty, up to timeout_ms; returns 0 when it does. */
int tu_wait_file(const char *path, int timeout_ms);

#endif
