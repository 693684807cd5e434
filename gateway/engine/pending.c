/* Bounds on pending work (internal.h, operations.md §7): a pending digest is stored work
 * nobody has agreed to yet, so one allow-listed key must not be able to fill the disk
 * with them. Each new pending digest is charged to its first signer and its feed, counted
 * and summed in the store; beyond [limits] max_pending_* the submission is refused
 * PENDING_LIMIT and nothing is written. Pending digests also expire: one first seen more
 * than pending_max_age_seconds ago is dropped with its signatures (its attestation could
 * still gather a quorum if sent again). */
#include "engine/internal.h"

#include <inttypes.h>
#include <stdlib.h>

#include "custos/hex.h"

#include "metrics.h"
#include "store/codec.h"

custos_rc gw_eng_pending_allows(gw_engine *e, eng_item *it,
                                const uint8_t creator[CUSTOS_ADDRESS_LEN], uint64_t *bytes,
                                bool *allowed, custos_error *err)
{
    const gw_limits_config *l = &e->cfg->limits;
    *allowed = true;
    uint8_t *blob = NULL;
    size_t len = 0;
    custos_rc rc = gw_store_encode_submission(&it->sub, &blob, &len, err);
    free(blob);
    if (rc != CUSTOS_OK)
        return rc;
    *bytes = len;
    if (l->max_pending_per_signer == 0 && l->max_pending_bytes_per_signer == 0 &&
        l->max_pending_per_feed == 0 && l->max_pending_bytes_per_feed == 0)
        return CUSTOS_OK;
    gw_pending_usage u;
    rc = gw_store_pending_usage(&e->store, it->sub.feed, creator, &u, err);
    if (rc != CUSTOS_OK)
        return rc;
    char who[CUSTOS_HEX_LEN(CUSTOS_ADDRESS_LEN)];
    gw_eng_hex(creator, CUSTOS_ADDRESS_LEN, who, sizeof who);
    const char *bound = NULL;
    uint64_t max = 0;
    if (l->max_pending_per_signer > 0 && u.creator_rows >= l->max_pending_per_signer) {
        bound = "max_pending_per_signer";
        max = l->max_pending_per_signer;
    } else if (l->max_pending_bytes_per_signer > 0 &&
               u.creator_bytes + len > l->max_pending_bytes_per_signer) {
        bound = "max_pending_bytes_per_signer";
        max = l->max_pending_bytes_per_signer;
    }
    if (bound != NULL) {
        *allowed = false;
        gw_eng_refuse(&it->out, CUSTOS_REASON_PENDING_LIMIT,
                      "signer %s already started %" PRIu64 " pending attestations "
                      "(%" PRIu64 " bytes; %s is %" PRIu64 "): have the other signers "
                      "cosign them, or wait until they expire",
                      who, u.creator_rows, u.creator_bytes, bound, max);
        return CUSTOS_OK;
    }
    if (l->max_pending_per_feed > 0 && u.feed_rows >= l->max_pending_per_feed) {
        bound = "max_pending_per_feed";
        max = l->max_pending_per_feed;
    } else if (l->max_pending_bytes_per_feed > 0 &&
               u.feed_bytes + len > l->max_pending_bytes_per_feed) {
        bound = "max_pending_bytes_per_feed";
        max = l->max_pending_bytes_per_feed;
    }
    if (bound != NULL) {
        *allowed = false;
        gw_eng_refuse(&it->out, CUSTOS_REASON_PENDING_LIMIT,
                      "feed '%s' already holds %" PRIu64 " pending attestations (%" PRIu64
                      " bytes; %s is %" PRIu64 "): have them cosigned, or wait until they "
                      "expire",
                      it->sub.feed, u.feed_rows, u.feed_bytes, bound, max);
    }
    return CUSTOS_OK;
}

custos_rc gw_eng_pending_sweep(gw_engine *e, uint64_t now, custos_error *err)
{
    uint64_t age = e->cfg->limits.pending_max_age_seconds;
    if (age == 0 || now == e->pending_swept_at || now <= age)
        return CUSTOS_OK;
    uint64_t removed = 0;
    custos_rc rc = gw_store_expire_pending(&e->store, now - age, &removed, err);
    if (rc != CUSTOS_OK)
        return rc;
    e->pending_swept_at = now;
    if (removed > 0) {
        gw_metrics_count_pending_expired(removed);
        gw_log(GW_LOG_INFO, "pending_expired",
               "%" PRIu64 " pending attestations first seen more than %" PRIu64
               " s ago were dropped ([limits] pending_max_age_seconds)", removed, age);
    }
    return CUSTOS_OK;
}
