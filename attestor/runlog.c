#include "runlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *const level_names[] = {"info", "warn", "error"};

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

static void put_member(FILE *out, const char *key, const char *value)
{
    fputs(",\"", out);
    put_json_string(out, key);
    fputs("\":\"", out);
    put_json_string(out, value);
    fputc('"', out);
}

void at_runlog(at_log_level level, const char *event, const char *request_id,
               const at_log_field *fields, size_t n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    /* The daemon is one thread: whole lines need no lock, one flush ends each. */
    fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\"", when, ts.tv_nsec / 1000000L,
            level_names[level]);
    put_member(stderr, "event", event);
    if (request_id != NULL && request_id[0] != '\0')
        put_member(stderr, "request_id", request_id);
    for (size_t i = 0; i < n; i++)
        if (fields[i].value != NULL && fields[i].value[0] != '\0')
            put_member(stderr, fields[i].key, fields[i].value);
    put_member(stderr, "msg", msg);
    fputs("}\n", stderr);
    fflush(stderr);
}
