/* What the gateway checks before it starts anything, without side effects, shared by
 * start and --check-config so that the check refuses what start would (docs/operations.md
 * §12): the transport ([tls] configured, its files readable, PEM, the key owner-only), the
 * relayer key ([evm]: the key file read, or the token logged in to and its key found, as
 * the publisher does), the SQLite files' directories (the store and the publisher's
 * state: writable by this user; nothing is created), and the metrics address (numeric).
 * What needs a server (PostgreSQL, a chain node) or a port is left to start. */
#ifndef GATEWAY_PREFLIGHT_H
#define GATEWAY_PREFLIGHT_H

#include "custos/error.h"

#include "config/config.h"

/* CUSTOS_OK when start would get past these checks; otherwise the first failure, in the
 * words start would use. */
CUSTOS_MUST_USE
custos_rc gw_preflight(const gw_config *cfg, custos_error *err);

#endif
