/* The collateral manager's gauges for node_exporter's textfile collector (docs/lending.md
 * §4): one series per pledge, labelled account and lender. */
#ifndef AT_MANAGE_METRICS_H
#define AT_MANAGE_METRICS_H

#include <stddef.h>

#include "custos/error.h"
#include "manage_pass.h"

/* Replaces path atomically with the gauges of the n pledges ms. */
CUSTOS_MUST_USE
custos_rc at_manage_metrics_write(const at_manager *const *ms, size_t n, const char *path,
                                  custos_error *err);

#endif
