/* A feed's policy at the gateway compared with the adapter's (drift_policy.h). */
#include "evm/drift_policy.h"

#include <stdlib.h>
#include <string.h>

#include "custos/calendar.h"

#include "evm/evm_abi.h"
#include "evm/evm_view.h"
#include "evm/publisher.h"

/* How far before now's New York date an asOf may lie and still be fresh on a business-day
 * feed: max_age_business_days is at most 31, and 31 business days span under 50 calendar
 * days with the calendar's longest runs of holidays. */
#define DRIFT_SPAN_BACK_DAYS 64

static const char *const field_names[GW_POLICY_FIELDS] = {
    [GW_POLICY_FEED_ID] = "feed_id",
    [GW_POLICY_THRESHOLD] = "threshold",
    [GW_POLICY_DISTINCT_ROLES] = "distinct_roles",
    [GW_POLICY_MAX_AGE] = "max_age",
    [GW_POLICY_MAX_SKEW] = "max_skew",
    [GW_POLICY_MAX_TTL] = "max_ttl",
    [GW_POLICY_BREAKER_RISE_BPS] = "breaker_rise_bps",
    [GW_POLICY_BREAKER_RELEASE_THRESHOLD] = "breaker_release_threshold",
    [GW_POLICY_MAX_SEQUENCE_STEP] = "max_sequence_step",
};

const char *gw_policy_field_name(gw_policy_field f)
{
    return (unsigned)f < GW_POLICY_FIELDS ? field_names[f] : "unknown";
}

custos_rc gw_drift_business_span(const custos_calendar *cal, uint32_t days, uint64_t now,
                                 uint64_t *out, custos_error *err)
{
    *out = 0;
    custos_day today = 0, first = 0;
    custos_rc rc = custos_ny_day(now, &today, err);
    if (rc == CUSTOS_OK)
        rc = custos_day_from_civil(cal->first_year, 1, 1, &first, err);
    if (rc != CUSTOS_OK)
        return rc;
    bool any = false;
    for (custos_day d = today - DRIFT_SPAN_BACK_DAYS > first ? today - DRIFT_SPAN_BACK_DAYS
                                                           : first;
         ; d++) {
        custos_error coverage;
        custos_day stale = 0;
        /* The first date it cannot answer ends the calendar's covered years. */
        if (custos_calendar_add_business_days(cal, d, days + 1, &stale, &coverage) != CUSTOS_OK)
            break;
        /* asOf at 00:00 on d (one second after the eve's end), fresh through 23:59:59 of
         * the day before the stale one: the adapter accepts it while
         * block.timestamp - asOf <= maxAge. */
        uint64_t eve_end = 0, last_end = 0;
        rc = custos_ny_end_of_day(d - 1, &eve_end, err);
        if (rc == CUSTOS_OK)
            rc = custos_ny_end_of_day(stale - 1, &last_end, err);
        if (rc != CUSTOS_OK)
            return rc;
        uint64_t span = last_end - (eve_end + 1);
        if (span > *out)
            *out = span;
        any = true;
    }
    if (!any)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "the calendar %s covers no date from now on", cal->source);
    return CUSTOS_OK;
}

/* The gateway's side of each field, in the adapter's unit. */
static custos_rc drift_gateway_values(const gw_feed *feed, uint64_t now,
                                      gw_policy_value out[GW_POLICY_FIELDS],
                                      custos_error *err)
{
    out[GW_POLICY_FEED_ID].gateway = 1;
    out[GW_POLICY_THRESHOLD].gateway = feed->threshold;
    out[GW_POLICY_DISTINCT_ROLES].gateway = feed->distinct_roles ? 1 : 0;
    out[GW_POLICY_MAX_AGE].gateway = feed->max_age;
    out[GW_POLICY_MAX_SKEW].gateway = feed->max_skew;
    out[GW_POLICY_MAX_TTL].gateway = feed->max_ttl;
    out[GW_POLICY_BREAKER_RISE_BPS].gateway = feed->breaker_rise_bps;
    out[GW_POLICY_BREAKER_RELEASE_THRESHOLD].gateway = feed->breaker_release_threshold;
    out[GW_POLICY_MAX_SEQUENCE_STEP].gateway = gw_feed_max_sequence_step(feed);
    if (feed->max_age_business_days == 0)
        return CUSTOS_OK;
    if (feed->calendar == NULL)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "feed %s counts business days without a calendar", feed->name);
    return gw_drift_business_span(feed->calendar, feed->max_age_business_days, now,
                                  &out[GW_POLICY_MAX_AGE].gateway, err);
}

/* feed(feedId): threshold, distinctRoles, maxAge, maxSkew, maxTtl, breakerRiseBps,
 * breakerReleaseThreshold, maxSequenceStep, in its ABI widths. */
static const struct {
    gw_policy_field field;
    unsigned bits;
} adapter_words[] = {
    {GW_POLICY_THRESHOLD, 8},
    {GW_POLICY_DISTINCT_ROLES, 8},
    {GW_POLICY_MAX_AGE, 32},
    {GW_POLICY_MAX_SKEW, 32},
    {GW_POLICY_MAX_TTL, 32},
    {GW_POLICY_BREAKER_RISE_BPS, 32},
    {GW_POLICY_BREAKER_RELEASE_THRESHOLD, 8},
    {GW_POLICY_MAX_SEQUENCE_STEP, 32},
};

static custos_rc drift_adapter_values(evm_rpc *rpc, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                                      const char *name, gw_policy_value out[GW_POLICY_FIELDS],
                                      custos_error *err)
{
    uint8_t feed_id[CUSTOS_HASH_LEN];
    gw_publisher_feed_id(name, feed_id);
    evm_abi_value arg = evm_abi_bytes32(feed_id);
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc = evm_view_call(rpc, adapter, "feed(bytes32)", &arg, 1, &ret, &len, NULL, err);
    if (rc == CUSTOS_ERR_REFUSED) {
        uint8_t unknown[EVM_ABI_SELECTOR_LEN];
        evm_abi_selector("UnknownFeed(bytes32)", unknown);
        const evm_rpc_fault *fault = evm_rpc_last_fault(rpc);
        if (fault != NULL && fault->has_data && fault->data_len >= EVM_ABI_SELECTOR_LEN &&
            memcmp(fault->data, unknown, EVM_ABI_SELECTOR_LEN) == 0) {
            out[GW_POLICY_FEED_ID].adapter = 0;
            return CUSTOS_OK;
        }
        return rc;
    }
    out[GW_POLICY_FEED_ID].adapter = 1;
    for (size_t i = 0; rc == CUSTOS_OK && i < sizeof adapter_words / sizeof adapter_words[0];
         i++)
        rc = evm_abi_get_uint64(ret, len, i, adapter_words[i].bits,
                                &out[adapter_words[i].field].adapter, err);
    free(ret);
    return rc;
}

custos_rc gw_drift_policy_check(evm_rpc *rpc, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                                const gw_feed *feed, uint64_t now,
                                gw_policy_value out[GW_POLICY_FIELDS], custos_error *err)
{
    memset(out, 0, GW_POLICY_FIELDS * sizeof *out);
    custos_rc rc = drift_gateway_values(feed, now, out, err);
    if (rc == CUSTOS_OK)
        rc = drift_adapter_values(rpc, adapter, feed->name, out, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (out[GW_POLICY_FEED_ID].adapter == 0) {
        /* Nothing else to compare: the adapter refuses every attestation of the feed. */
        out[GW_POLICY_FEED_ID].drift = true;
        return CUSTOS_OK;
    }
    for (int f = 0; f < GW_POLICY_FIELDS; f++)
        out[f].drift = out[f].gateway != out[f].adapter;
    if (feed->max_age_business_days != 0)
        out[GW_POLICY_MAX_AGE].drift =
            out[GW_POLICY_MAX_AGE].adapter < out[GW_POLICY_MAX_AGE].gateway;
    return CUSTOS_OK;
}
