#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

int64_t tu_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int tu_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int tu_silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

void tu_mkdtemp(char *out, size_t cap)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int n = snprintf(out, cap, "%s/custos-test-XXXXXX", base);
    assert_true(n > 0 && (size_t)n < cap);
    assert_non_null(mkdtemp(out));
}

void tu_rmtree(const char *dir)
{
    const char *argv[] = {"/bin/rm", "-rf", dir, NULL};
    char out[256];
    assert_int_equal(tu_run(argv, out, sizeof out, 1), 0);
}

void tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    size_t len = strlen(text);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

void tu_edit_file(const char *path, const char *from, const char *to)
{
    char *text = tu_read_file(path);
    if (text == NULL)
        fail_msg("%s cannot be read", path);
    const char *at = strstr(text, from);
    if (at == NULL)
        fail_msg("%s holds no \"%s\" to replace", path, from);
    size_t cap = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    tu_write_file(path, out);
    free(out);
    free(text);
}

void tu_example_path(const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/deploy/examples/%s", CUSTOS_SOURCE_DIR, name);
    assert_true(n > 0 && (size_t)n < cap);
}

json_t *tu_load_json(const char *path)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL)
        fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    return root;
}

json_t *tu_load_example(const char *name)
{
    char src[4096];
    tu_example_path(name, src, sizeof src);
    return tu_load_json(src);
}

void tu_write_example_prices(const char *dst, uint64_t as_of)
{
    json_t *p = tu_load_example("prices.json");
    const char *key;
    json_t *entry;
    json_object_foreach(json_object_get(p, "prices"), key, entry)
        assert_int_equal(json_object_set_new(entry, "as_of", json_integer((json_int_t)as_of)), 0);
    assert_int_equal(json_dump_file(p, dst, JSON_INDENT(2)), 0);
    json_decref(p);
}

void tu_copy_example(const char *name, const char *dst)
{
    char src[4096];
    tu_example_path(name, src, sizeof src);
    char *text = tu_read_file(src);
    if (text == NULL)
        fail_msg("sample file %s is missing", src);
    tu_write_file(dst, text);
    free(text);
}

/* Runs argv with stdout into out; stderr goes to err_fd, or to stdout's pipe when err_fd is
 * RUN_MERGE, or stays the test's when it is RUN_INHERIT. */
enum { RUN_INHERIT = -1, RUN_MERGE = -2 };

static int run_capture(const char *const argv[], char *out, size_t cap, int err_fd)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        if (err_fd == RUN_MERGE)
            dup2(fds[1], STDERR_FILENO);
        else if (err_fd >= 0)
            dup2(err_fd, STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(fds[0], tmp, sizeof tmp);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r;
        if (cap > 0 && len + take > cap - 1)
            take = cap - 1 - len;
        memcpy(out + len, tmp, take);
        len += take;
    }
    close(fds[0]);
    if (cap > 0)
        out[len] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int tu_run(const char *const argv[], char *out, size_t cap, int merge_stderr)
{
    return run_capture(argv, out, cap, merge_stderr ? RUN_MERGE : RUN_INHERIT);
}

int tu_run_cmd(const char *bin, const char *const args[], char *out, size_t cap)
{
    const char *argv[48];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(n < 47);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    int status = tu_run(argv, out, cap, 1);
    const char *name = strrchr(bin, '/');
    fprintf(stderr, "$ %s %s ... -> %d\n%s\n", name != NULL ? name + 1 : bin,
            args[0] != NULL ? args[0] : "", status, out);
    return status;
}

int tu_run_split(const char *const argv[], char *out, size_t out_cap, char *err,
                 size_t err_cap)
{
    /* A file, not a second pipe: a child filling one pipe while the other is read would
     * block. */
    FILE *f = tmpfile();
    assert_non_null(f);
    int status = run_capture(argv, out, out_cap, fileno(f));
    rewind(f);
    size_t n = fread(err, 1, err_cap - 1, f);
    assert_false(ferror(f));
    err[n] = '\0';
    fclose(f);
    return status;
}

int tu_node(const char *script, const char *const args[], char *out, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/js/%s", CUSTOS_SOURCE_DIR, script);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = CUSTOS_NODE;
    argv[n++] = path;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
        assert_true(n < 31);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    return tu_run(argv, out, cap, 0);
}

void tu_spawn(tu_proc *p, const char *const argv[], const char *log_path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
}

int tu_stop(tu_proc *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int status = 0;
    for (int waited = 0;; waited += 10) {
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (waited >= timeout_ms) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
            break;
        }
        tu_sleep_ms(10);
    }
    p->pid = 0;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

int tu_wait_file(const char *path, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > 0)
            return 0;
        tu_sleep_ms(20);
    }
    return -1;
}

int tu_gateway_start(tu_proc *p, const char *config_path, const char *dir)
{
    char port_file[4096], log_path[4096];
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    snprintf(log_path, sizeof log_path, "%s/gateway.log", dir);
    unlink(port_file);
    const char *argv[] = {CUSTOS_GATEWAY_BIN, "--config", config_path, "--port-file", port_file,
                          NULL};
    tu_spawn(p, argv, log_path);
    if (tu_wait_file(port_file, 15000) != 0) {
        char *log = tu_read_file(log_path);
        fprintf(stderr, "gateway did not start; its log:\n%s\n", log ? log : "(none)");
        free(log);
        fail_msg("custos-gateway did not report a port within 15 s");
    }
    char *text = tu_read_file(port_file);
    assert_non_null(text);
    int port = atoi(text);
    free(text);
    assert_true(port > 0 && port < 65536);
    return port;
}
