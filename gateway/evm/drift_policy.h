/* A feed's policy at the gateway compared with the adapter's (docs/rules.md rule 10, the
 * table of fields and verdicts there). The adapter's feed(feedId) view returns its whole
 * policy in one eth_call; each field is set beside the gateway's [feed] value in force,
 * converted to the adapter's unit, and judged:
 *
 * - every field but max_age on a business-day feed must be equal: a difference either way
 *   lets one side accept what the other refuses, holds or leaves pending;
 * - max_age on a feed counted in business days: the adapter's maxAge in seconds must
 *   cover the longest span the gateway accepts from now on (an asOf at 00:00 New York
 *   time, seen at 23:59:59 of the last business day that is still fresh); a shorter one
 *   is drift (the adapter refuses what the gateway accepts), a longer one is the
 *   documented looser side.
 *
 * A feed the adapter does not know (UnknownFeed) drifts on "feed_id" alone. */
#ifndef GATEWAY_EVM_DRIFT_POLICY_H
#define GATEWAY_EVM_DRIFT_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/error.h"

#include "config/config.h"
#include "evm/evm_rpc.h"

typedef enum gw_policy_field {
    GW_POLICY_FEED_ID,           /* the adapter knows the feed */
    GW_POLICY_THRESHOLD,
    GW_POLICY_DISTINCT_ROLES,
    GW_POLICY_MAX_AGE,
    GW_POLICY_MAX_SKEW,
    GW_POLICY_MAX_TTL,
    GW_POLICY_BREAKER_RISE_BPS,
    GW_POLICY_BREAKER_RELEASE_THRESHOLD,
    GW_POLICY_MAX_SEQUENCE_STEP,
    GW_POLICY_FIELDS
} gw_policy_field;

/* One field as both sides say it, in the adapter's unit (seconds, basis points, 0/1). */
typedef struct gw_policy_value {
    uint64_t gateway;
    uint64_t adapter;
    bool drift;
} gw_policy_value;

/* The label of a field in metrics, /status and logs: "threshold", "max_age", ... */
const char *gw_policy_field_name(gw_policy_field f);

/* Reads the adapter's policy for feed through rpc and compares it with the gateway's,
 * at Unix time now (business-day spans count from now's New York date). out[f].drift
 * says which fields differ. A revert other than UnknownFeed, or an unreadable answer,
 * fails with the node's error. */
CUSTOS_MUST_USE
custos_rc gw_drift_policy_check(evm_rpc *rpc, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                                const gw_feed *feed, uint64_t now,
                                gw_policy_value out[GW_POLICY_FIELDS], custos_error *err);

/* The longest time, in seconds, between an asOf the gateway accepts on a feed of
 * max_age_business_days days and the last second it is still fresh, over asOf dates from
 * a few weeks before now to the end of the calendar's covered years. */
CUSTOS_MUST_USE
custos_rc gw_drift_business_span(const custos_calendar *cal, uint32_t days, uint64_t now,
                                 uint64_t *out, custos_error *err);

#endif
