/* The metrics port's GET /status: one JSON object an operator reads at a glance
 * (docs/operations.md §9), built from a table of sections so that a module adds its own
 * in one line of status.c. Each section is an object, or null when this gateway has no
 * such part (no [evm]: no chain, publisher or relayer). */
#ifndef GATEWAY_STATUS_H
#define GATEWAY_STATUS_H

#include <stddef.h>

#include "custos/error.h"

#include "config/config.h"
#include "engine/engine.h"
#include "evm/drift.h"
#include "evm/publisher.h"

/* What the sections read; publisher is NULL without [evm], drift NULL without its check
 * ([evm] drift_check_seconds = 0). */
typedef struct gw_status_src {
    const gw_config *cfg;
    gw_engine *engine;
    gw_publisher *publisher;
    gw_drift *drift;
} gw_status_src;

/* Renders the page: *out is malloc'd JSON of *len bytes, NUL-terminated. */
CUSTOS_MUST_USE
custos_rc gw_status_render(const gw_status_src *src, char **out, size_t *len,
                           custos_error *err);

/* A node URL fit to show: scheme, host and port only, without user, password, path or
 * query, any of which may carry an API key ("https://h:8545/..." when something was cut).
 * Writes at most cap bytes, NUL-terminated; a URL it cannot parse shows as "(hidden)". */
void gw_status_redact_url(const char *url, char *out, size_t cap);

#endif
