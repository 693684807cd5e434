/* The gateway's allow-list and account registry compared with the adapter's (docs/rules.md
 * rule 10: the two sides are configured apart and must say the same). Every [evm]
 * drift_check_seconds a thread of its own reads, with eth_call at the latest block through
 * [evm] rpc_url's nodes in order (failover, docs/publishing.md §8), the adapter's
 * signer(feedId, key) of every signer of the gateway's list in force and
 * accountFeedId(account) of every registered account, and counts the differences per feed:
 *
 * - kind "signers": a key whose signatures count at the gateway and not on-chain or the
 *   other way round (revoked, rotated out, unknown), or that counts on both with another
 *   role;
 * - kind "accounts": an account registered to a feed at the gateway and to no feed, or
 *   another one, on-chain;
 * - and each feed's policy, field by field, against the adapter's feed(feedId) view
 *   (evm/drift_policy.h).
 *
 * The keys and accounts the adapter lists and the gateway does not are found in the
 * adapter's logs (evm/drift_onchain.h) and count to their feed's "signers" and "accounts"
 * while the adapter's views say they count: a key it takes signatures from, an account it
 * registers to a feed the gateway configures.
 *
 * A node that cannot be reached ends the check there (the next node is tried); a feed
 * whose policy cannot be compared otherwise (a revert other than UnknownFeed, an unreadable
 * answer, a business-day span the calendar does not cover) is reported for that feed
 * alone, and the rest is compared all the same; logs that cannot be read are said in
 * the report and read again from there at the next check. The counts go to
 * custos_allowlist_drift{feed,kind}, the policy fields to custos_policy_drift{feed,field}
 * (and custos_policy_drift_unchecked{feed}); /status reads gw_drift_snapshot. */
#ifndef GATEWAY_EVM_DRIFT_H
#define GATEWAY_EVM_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

#include "config/config.h"
#include "evm/drift_onchain.h"
#include "evm/drift_policy.h"
#include "registry.h"

typedef struct gw_drift gw_drift;

/* One feed's differences at the last check. */
typedef struct gw_drift_feed {
    char feed[CUSTOS_FEED_MAX + 1];
    uint64_t signers;
    uint64_t accounts;
    gw_policy_value policy[GW_POLICY_FIELDS]; /* both sides of each field, and the verdict */
    /* Why the feed's policy could not be compared at the last check (its fields then all
     * zero); empty when it was. The signers and accounts are compared all the same. */
    char policy_error[256]; /* as custos_error.message */
} gw_drift_feed;

/* What the last check found. */
typedef struct gw_drift_report {
    uint64_t checked_at;   /* Unix seconds of the last complete check; 0: none yet */
    bool failing;          /* the last attempt could not read the chain (error says why) */
    char error[256];
    gw_drift_feed *feeds;  /* one per feed of the list checked, in its order */
    size_t n_feeds;
    uint64_t logs_read_to; /* the adapter's logs are read up to this block */
    char logs_error[256];  /* why they stopped short of it at the last check; "" if not */
} gw_drift_report;

/* evm must be enabled and drift_check_seconds above 0; reg must outlive it. Starts the
 * thread, whose first check runs at once. */
CUSTOS_MUST_USE
custos_rc gw_drift_new(const gw_evm_config *evm, gw_registry *reg, gw_drift **out,
                       custos_error *err);
/* Stops the thread (a check under way ends within its reads' timeout) and frees. NULL ok. */
void gw_drift_free(gw_drift *d);

/* A copy of the last report; release it with gw_drift_report_clear. CUSTOS_ERR_NOMEM. */
CUSTOS_MUST_USE
custos_rc gw_drift_snapshot(gw_drift *d, gw_drift_report *out, custos_error *err);
void gw_drift_report_clear(gw_drift_report *r);

/* One check of policy against the adapter, on the nodes of evm in order, at Unix time
 * now: the differences per feed into out (n_feeds = policy's); seen (NULL: not looked
 * for) holds what the adapter's logs listed so far and is read on. What the thread runs. */
CUSTOS_MUST_USE
custos_rc gw_drift_check(const gw_evm_config *evm, const gw_policy *policy, uint64_t now,
                         gw_drift_seen *seen, gw_drift_report *out, custos_error *err);

#endif
