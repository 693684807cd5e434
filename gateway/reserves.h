/* SubmitReserves: decoding a custodian's signed reserves attestation with its leaves and
 * the stateless rules it must meet before the engine stores it (README, "Reserves").
 * The replay rule (sequence above the feed's latest) needs the store and belongs to
 * gw_engine_put_reserves. */
#ifndef GATEWAY_RESERVES_H
#define GATEWAY_RESERVES_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/reason.h"
#include "custos/v1/gateway.pb-c.h"

#include "config/config.h"
#include "registry.h"
#include "store/store.h"

typedef struct gw_reserves_submission {
    /* feed, r (feed_id computed from feed) and entries from the request; digest, signer
     * and sig (the custodian's) filled in by gw_reserves_verify. */
    gw_store_reserves res;
    custos_domain domain;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
    size_t n_leaves; /* entries sent; must equal res.r.accounts */
} gw_reserves_submission;

/* MALFORMED for a missing or wrongly sized field or no leaves, TOO_LARGE above
 * CUSTOS_RESERVES_MAX_ACCOUNTS leaves or CUSTOS_MAX_SIGNATURES signatures. out is
 * overwritten; release it with gw_reserves_submission_clear whatever the answer. */
custos_reason gw_reserves_decode(const Custos__V1__SubmitReservesRequest *m,
                                 gw_reserves_submission *out, char *detail, size_t cap);
void gw_reserves_submission_clear(gw_reserves_submission *s);

/* In this order: WRONG_DOMAIN unless cfg's domain; UNKNOWN_FEED; FUTURE or STALE by the
 * feed's max_skew and max age (or business days); the signatures as for attestations
 * (BAD_SIGNATURE, UNKNOWN_SIGNER, UNAUTHORIZED_SIGNER, REVOKED_SIGNER, ...), then
 * UNAUTHORIZED_SIGNER unless one of them is a custodian of the feed; MALFORMED when the
 * leaves list an account twice or do not give the signed count, total and root. now is
 * unix seconds. */
custos_reason gw_reserves_verify(const gw_config *cfg, gw_registry *reg,
                                 gw_reserves_submission *s, uint64_t now, char *detail,
                                 size_t cap);

#endif
