/* Structured logs: one JSON object per line on stderr, never key material. */
#ifndef GATEWAY_LOG_H
#define GATEWAY_LOG_H

#include <stdbool.h>

typedef enum gw_log_level { GW_LOG_DEBUG, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR } gw_log_level;

/* Messages below level are dropped (default GW_LOG_INFO). Set once, before threads start. */
void gw_log_set_level(gw_log_level level);
/* Whether a message at level would be written: lets a hot path skip building one. */
bool gw_log_enabled(gw_log_level level);
/* {"ts":"2026-11-21T16:00:00.123Z","level":"info","event":"<event>","msg":"<formatted>"} */
void gw_log(gw_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
