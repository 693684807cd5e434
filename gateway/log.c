#include "log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static gw_log_level min_level = GW_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_names[] = {"debug", "info", "warn", "error"};

void gw_log_set_level(gw_log_level level)
{
    min_level = level;
}

bool gw_log_enabled(gw_log_level level)
{
    return level >= min_level;
}

/* One log line is built in memory and written with one write(2): stderr is unbuffered, so
 * writing it piece by piece made one system call per character (41% of the gateway's CPU
 * over a stream of single attestations, each logged at info). A line longer than the
 * buffer is cut inside its message or field, and still closed as JSON. */
#define LOG_LINE_MAX 16384
/* Room kept for what closes a line: the longest tail is "\",\"msg\":\"" + "\"}\n". */
#define LOG_LINE_TAIL 32

typedef struct log_line {
    char buf[LOG_LINE_MAX];
    size_t len;
} log_line;

static void line_put(log_line *l, const char *s, size_t n)
{
    size_t room = LOG_LINE_MAX - LOG_LINE_TAIL - l->len;
    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void line_puts(log_line *l, const char *s)
{
    line_put(l, s, strlen(s));
}

/* Appends s as the body of a JSON string (RFC 8259 escapes); an escape is never cut. Runs
 * that need no escape, nearly all of every line, are copied whole: copied byte by byte,
 * with a bound check each, they took a quarter of the time of an acceptance's line. */
static void line_put_json(log_line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const size_t end = LOG_LINE_MAX - LOG_LINE_TAIL;
    for (;;) {
        size_t run = 0;
        while (s[run] != '\0' && s[run] != '"' && s[run] != '\\' &&
               (unsigned char)s[run] >= 0x20)
            run++;
        line_put(l, s, run);
        s += run;
        if (*s == '\0' || l->len == end)
            return;
        unsigned char c = (unsigned char)*s++;
        char esc[6] = {'\\', (char)c};
        size_t n = 2;
        if (c < 0x20) {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            n = 6;
        }
        if (l->len + n > end)
            return;
        memcpy(l->buf + l->len, esc, n);
        l->len += n;
    }
}

/* The closing text, which the tail's room always holds. */
static void line_close(log_line *l, const char *s)
{
    size_t n = strlen(s);
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Whole lines, in one write(2) under the lock so that lines of different threads never
 * mix. */
static void log_out(const char *buf, size_t len)
{
    pthread_mutex_lock(&log_lock);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(STDERR_FILENO, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* nowhere to report a failed log write */
        off += (size_t)w;
    }
    pthread_mutex_unlock(&log_lock);
}

/* This thread's held lines (gw_log_hold). A line is at most LOG_LINE_MAX, which the
 * buffer holds, so a line always fits once what was held is written. */
_Static_assert(GW_LOG_HOLD_MAX >= LOG_LINE_MAX, "a held buffer takes any line");
static _Thread_local struct {
    bool on;
    size_t len;
    char buf[GW_LOG_HOLD_MAX];
} held;

__attribute__((format(printf, 6, 0))) static void log_write(gw_log_level level,
                                                              const char *event,
                                                              const char *request_id,
                                                              const gw_log_field *fields,
                                                              size_t n_fields,
                                                              const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* The date and time to the second change once a second: formatted then, not per line. */
    static _Thread_local time_t when_sec = -1;
    static _Thread_local char when[32];
    if (ts.tv_sec != when_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        when_sec = ts.tv_sec;
    }

    static _Thread_local log_line line;
    line.len = 0;
    char head[96];
    int n = snprintf(head, sizeof head, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":\"",
                     when, ts.tv_nsec / 1000000L, level_names[level]);
    line_put(&line, head, n > 0 ? (size_t)n : 0);
    line_put_json(&line, event);
    if (request_id != NULL && request_id[0] != '\0') {
        line_puts(&line, "\",\"request_id\":\"");
        line_put_json(&line, request_id);
    }
    for (size_t i = 0; i < n_fields && i < GW_LOG_FIELDS_MAX; i++) {
        if (fields[i].value == NULL || fields[i].value[0] == '\0')
            continue;
        line_puts(&line, "\",\"");
        line_put_json(&line, fields[i].key);
        line_puts(&line, "\":\"");
        line_put_json(&line, fields[i].value);
    }
    line_close(&line, "\",\"msg\":\"");
    line_put_json(&line, msg);
    line_close(&line, "\"}\n");

    if (!held.on) {
        log_out(line.buf, line.len);
        return;
    }
    if (held.len + line.len > sizeof held.buf) {
        log_out(held.buf, held.len);
        held.len = 0;
    }
    memcpy(held.buf + held.len, line.buf, line.len);
    held.len += line.len;
}

void gw_log_hold(void)
{
    held.on = true;
}

void gw_log_release(void)
{
    log_out(held.buf, held.len);
    held.len = 0;
    held.on = false;
}

void gw_log(gw_log_level level, const char *event, const char *fmt, ...)
{
    if (!gw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_write(level, event, NULL, NULL, 0, fmt, ap);
    va_end(ap);
}

void gw_log_req(gw_log_level level, const char *event, const char *request_id,
                const char *fmt, ...)
{
    if (!gw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_write(level, event, request_id, NULL, 0, fmt, ap);
    va_end(ap);
}

void gw_log_fields(gw_log_level level, const char *event, const char *request_id,
                   const gw_log_field *fields, size_t n, const char *fmt, ...)
{
    if (!gw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_write(level, event, request_id, fields, n, fmt, ap);
    va_end(ap);
}

bool gw_request_id_valid(const char *s, size_t len)
{
    if (len == 0 || len > GW_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static pthread_once_t id_once = PTHREAD_ONCE_INIT;
static uint64_t id_prefix;
static _Atomic uint64_t id_counter;

/* Without getrandom, the clock still tells processes apart in practice: ids only
 * correlate log lines, they protect nothing. */
static void id_init(void)
{
    if (getrandom(&id_prefix, sizeof id_prefix, 0) != (ssize_t)sizeof id_prefix) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        id_prefix = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
}

void gw_request_id_new(char out[GW_REQUEST_ID_MAX + 1])
{
    pthread_once(&id_once, id_init);
    uint64_t n = atomic_fetch_add(&id_counter, 1) + 1;
    snprintf(out, GW_REQUEST_ID_MAX + 1, "%016" PRIx64 "-%" PRIx64, id_prefix, n);
}
