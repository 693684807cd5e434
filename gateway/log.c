#include "log.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

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

/* Writes s as the body of a JSON string (RFC 8259 escapes). */
static void put_json_string(FILE *out, const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
}

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
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":\"", when,
            ts.tv_nsec / 1000000L, level_names[level]);
    put_json_string(stderr, event);
    if (request_id != NULL && request_id[0] != '\0') {
        fputs("\",\"request_id\":\"", stderr);
        put_json_string(stderr, request_id);
    }
    for (size_t i = 0; i < n_fields && i < GW_LOG_FIELDS_MAX; i++) {
        if (fields[i].value == NULL || fields[i].value[0] == '\0')
            continue;
        fputs("\",\"", stderr);
        put_json_string(stderr, fields[i].key);
        fputs("\":\"", stderr);
        put_json_string(stderr, fields[i].value);
    }
    fputs("\",\"msg\":\"", stderr);
    put_json_string(stderr, msg);
    fputs("\"}\n", stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
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
