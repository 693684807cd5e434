#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
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

void gw_log(gw_log_level level, const char *event, const char *fmt, ...)
{
    if (!gw_log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

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
    fputs("\",\"msg\":\"", stderr);
    put_json_string(stderr, msg);
    fputs("\"}\n", stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}
