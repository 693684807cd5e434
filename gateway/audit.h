/* Writing the audit log (custos/audit.h) through the store: each entry is chained to the
 * newest one stored, inside the caller's transaction, so a change and its entry commit
 * together or not at all. */
#ifndef GATEWAY_AUDIT_H
#define GATEWAY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "custos/audit.h"
#include "custos/error.h"

#include "config/config.h"
#include "store/store.h"

/* Appends (actor, action, payload) at `now` after the newest entry; the store's
 * transaction must be open. actor and action are cut to their maximum lengths. *seq (if
 * not NULL) gets the entry's number. */
CUSTOS_MUST_USE
custos_rc gw_audit_append(gw_store *s, const char *actor, const char *action,
                          const uint8_t *payload, size_t len, uint64_t now, uint64_t *seq,
                          custos_error *err);

/* The canonical text of cfg's feed policies and signer allow-list, the payload of a
 * "reload" entry: one line per [feed] then per [signer], in file order,
 *   feed NAME max_age=N max_skew=N max_ttl=N threshold=N distinct_roles=true|false
 *        breaker_rise_bps=N breaker_release_threshold=N max_sequence_step=N
 *   signer 0xADDRESS feed=NAME role=ROLE status=active|revoked not_after=N
 *          replaced_by=0xADDRESS|none
 * (each on one line). *out is malloc'd (caller frees), *len excludes the terminating NUL. */
CUSTOS_MUST_USE
custos_rc gw_audit_policy_text(const gw_config *cfg, char **out, size_t *len,
                               custos_error *err);

#endif
