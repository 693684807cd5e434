/* The stateless rules of docs/rules.md (1: domain and form, 2: signatures and allow-list,
 * 3: freshness), checked on the submitting thread before anything is queued.
 * Replay and quorum need the store's state and belong to the engine's committer.
 *
 * Each check returns CUSTOS_REASON_NONE when the rule holds, otherwise the refusal reason
 * with a detail text (NUL-terminated, cut to cap) saying what to fix. */
#ifndef GATEWAY_VERIFY_H
#define GATEWAY_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/reason.h"

#include "config/config.h"
#include "registry.h"

/* What verification learned about a good submission: signer i signed sigs[i]. feed
 * points into policy, the allow-list snapshot it was judged by, whose reference the
 * holder of a good submission releases with gw_policy_release. */
typedef struct gw_verified {
    gw_policy *policy;
    const gw_feed *feed;
    uint8_t digest[CUSTOS_HASH_LEN];
    size_t n_signers;
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    gw_role roles[CUSTOS_MAX_SIGNATURES];
    /* Each signer's party in policy (gw_signer.party): one per signer, never twice. */
    uint32_t parties[CUSTOS_MAX_SIGNATURES];
} gw_verified;

typedef struct gw_verifier gw_verifier;

/* cfg and reg must outlive the verifier; the domain separator is computed here, once.
 * Feeds and signers come from reg's snapshot of the moment, the domain from cfg. */
CUSTOS_MUST_USE
custos_rc gw_verifier_new(const gw_config *cfg, gw_registry *reg, gw_verifier **out,
                          custos_error *err);
void gw_verifier_free(gw_verifier *v);
/* What the verifier judges by, for the batch rules (verify_batch.h): the configuration, the
 * registry and the domain separator computed once. */
const gw_config *gw_verifier_config(const gw_verifier *v);
gw_registry *gw_verifier_registry(const gw_verifier *v);
const uint8_t *gw_verifier_separator(const gw_verifier *v);

/* All the rules, in this order: kind, collateralValue at most type(uint128).max, signature
 * count, domain, feed, the account registered to the feed (rule 9), freshness (at `now`,
 * unix seconds), signatures, a freeze's
 * custodian (FREEZE_NEEDS_CUSTODIAN), positions. Thread-safe. On success out->policy holds
 * a reference to the snapshot used; on a refusal it is NULL. */
custos_reason gw_verify_submission(const gw_verifier *v, const custos_submission *s,
                                   uint64_t now, gw_verified *out, char *detail, size_t cap);

/* Rule 1's bound on collateralValue: MALFORMED beyond what the adapter stores and lenders
 * read. One place for single attestations and each account of a batch. */
custos_reason gw_verify_value(const custos_attestation *a, char *detail, size_t cap);

/* MALFORMED when positions are sent and do not hash to the signed positionsRoot: the
 * gateway stores them and serves proofs from them, so they must be the committed ones.
 * Checked after the signatures, so only allow-listed signers can make it hash. */
custos_reason gw_verify_positions(const custos_attestation *a, const custos_position *ps,
                                  size_t n, char *detail, size_t cap);

/* Rule 9: UNREGISTERED_ACCOUNT, or ACCOUNT_OF_OTHER_FEED when a's account is registered
 * to another feed than feed in policy. */
custos_reason gw_verify_account_feed(const gw_policy *policy, const gw_feed *feed,
                                     const custos_attestation *a, char *detail, size_t cap);

/* WRONG_DOMAIN unless got is exactly the configured domain. */
custos_reason gw_verify_domain(const custos_domain *want, const custos_domain *got,
                               char *detail, size_t cap);

/* In this order:
 *   MALFORMED     validUntil <= asOf (an empty validity window is not a long TTL);
 *   TTL_TOO_LONG  validUntil - asOf > max_ttl;
 *   FUTURE        asOf > now + max_skew;
 *   STALE         now - asOf > max_age, or with max_age_business_days, more bond-market
 *                 business days than that between asOf's and now's New York dates (or
 *                 either date outside the calendar's years);
 *   EXPIRED       validUntil <= now. */
custos_reason gw_verify_freshness(const gw_feed *feed, const custos_attestation *a,
                                  uint64_t now, char *detail, size_t cap);

/* Recovers each signature over digest and checks it against feed's allow-list in policy
 * at `now`: NON_CANONICAL_SIGNATURE, BAD_SIGNATURE, UNKNOWN_SIGNER, UNAUTHORIZED_SIGNER
 * (listed only for other feeds), REVOKED_SIGNER (revoked, or a rotated-out key past its
 * not_after), DUPLICATE_SIGNER (an address twice, or the old and new key of one signing
 * party); MALFORMED when n is 0, TOO_LARGE above CUSTOS_MAX_SIGNATURES. Fills out's
 * signers, roles and parties. */
custos_reason gw_verify_signatures(const gw_policy *policy, const gw_feed *feed,
                                   const uint8_t digest[CUSTOS_HASH_LEN],
                                   const custos_signature *sigs, size_t n, uint64_t now,
                                   gw_verified *out, char *detail, size_t cap);

#endif
