/* The daemon's log (custos-attestor run): one JSON object per line on stderr, as the
 * gateway writes its own, so that one log pipeline reads both:
 *   {"ts":"...","level":"info","event":"acknowledged","request_id":"...","account":"...",
 *    "sequence":"3",...,"msg":"..."}
 * Never key material. */
#ifndef AT_RUNLOG_H
#define AT_RUNLOG_H

#include <stddef.h>

/* A member of its own; NULL or "" values are left out. */
typedef struct at_log_field {
    const char *key;
    const char *value;
} at_log_field;

typedef enum at_log_level { AT_LOG_INFO, AT_LOG_WARN, AT_LOG_ERROR } at_log_level;

/* Writes one line: ts, level, event, request_id (when not NULL or ""), the fields, msg. */
void at_runlog(at_log_level level, const char *event, const char *request_id,
               const at_log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
