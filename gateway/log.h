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

/* Request ids: a client's x-request-id is kept when it is 1 to GW_REQUEST_ID_MAX
 * characters of [A-Za-z0-9._:-] (so it can go into logs and headers as it is); otherwise
 * the gateway makes one. */
#define GW_REQUEST_ID_MAX 64
bool gw_request_id_valid(const char *s, size_t len);
/* A new id, unique within the process and unlikely to repeat across processes:
 * 16 hex digits drawn at start, '-', a counter in hex. */
void gw_request_id_new(char out[GW_REQUEST_ID_MAX + 1]);

#endif
