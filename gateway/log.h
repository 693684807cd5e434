/* Structured logs: one JSON object per line on stderr, never key material. */
#ifndef GATEWAY_LOG_H
#define GATEWAY_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum gw_log_level { GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR } gw_log_level;

/* Messages below level are dropped (default GW_LOG_INFO). Set once, before threads start. */
void gw_log_set_level(gw_log_level level);
/* Whether a message at level would be written: lets a hot path skip building one. */
bool gw_log_enabled(gw_log_level level);
/* {"ts":"2026-11-21T16:00:00.123Z","level":"info","event":"<event>","msg":"<formatted>"} */
void gw_log(gw_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same about one call: a "request_id" member follows "event" (none when request_id
 * is NULL or empty). */
void gw_log_req(gw_log_level level, const char *event, const char *request_id,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A structured field of a log line: a JSON member "key":"value" of its own, so that log
 * tools filter on it (feed, account, reason, ...) without parsing "msg". */
typedef struct gw_log_field {
    const char *key;   /* a fixed name: [a-z_]+ */
    const char *value; /* NULL or "": the member is left out */
} gw_log_field;

/* Most fields of one line. */
#define GW_LOG_FIELDS_MAX 12

/* The same as gw_log_req, with fields[0..n) as members between "request_id" and "msg"
 * (at most GW_LOG_FIELDS_MAX; more are dropped). */
void gw_log_fields(gw_log_level level, const char *event, const char *request_id,
                   const gw_log_field *fields, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Between gw_log_hold and gw_log_release the calling thread's lines are kept in a buffer
 * of its own (GW_LOG_HOLD_MAX bytes) and written whole lines at a time: one write(2) for
 * the answers of a commit group rather than one per attestation. A line that does not fit
 * writes what is held first; release writes the rest. Held lines are only late by the
 * group's answers; they are log lines, not records, and a crash between the group's
 * commit and its release loses them with the answers. */
#define GW_LOG_HOLD_MAX 16384
void gw_log_hold(void);
void gw_log_release(void);

/* Request ids: a client's x-request-id is kept when it is 1 to GW_REQUEST_ID_MAX
 * characters of [A-Za-z0-9._:-] (so it can go into logs and headers as it is); otherwise
 * the gateway makes one. */
#define GW_REQUEST_ID_MAX 64
bool gw_request_id_valid(const char *s, size_t len);
/* A new id, unique within the process and unlikely to repeat across processes:
 * 16 hex digits drawn at start, '-', a counter in hex. */
void gw_request_id_new(char out[GW_REQUEST_ID_MAX + 1]);

#endif
