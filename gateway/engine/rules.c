/* The rules the committer applies to each verified submission inside its group
 * (internal.h): replay (rule 4), bounded sequence steps (rule 12), one lender at a time
 * (rule 5), the quorum of distinct signing parties and roles (rules 2 and 7), the circuit
 * breaker on rises (rule 6) and an operator's release of a held rise. Each is the rule the
 * adapter applies on-chain to the same bytes (rule 10). */
#include "engine/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/sig.h"

#include "audit.h"

void gw_eng_refuse(gw_submit_outcome *o, custos_reason r, const char *fmt, ...)
{
    o->reason = r;
    o->state = CUSTOS_STATE_UNSPECIFIED;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->detail, sizeof o->detail, fmt, ap);
    va_end(ap);
}

static const uint8_t eng_no_beneficiary[CUSTOS_ADDRESS_LEN];

/* Rule 5, one lender at a time. A valuation pledges the account to its beneficiary;
 * while pledged, a valuation to anyone else is refused until a release is accepted. A
 * release names exactly the pledge it ends: the current beneficiary, or the zero address
 * when there is none (the adapter's rule: a release naming the zero address while pledged
 * to A would end A's pledge at the gateway only, and let B's valuations through while A
 * still counts the value on-chain). A freeze never changes the pledge: voiding the value
 * is not a release. Checked again each time a pending digest is signed, so a quorum cannot
 * complete for a beneficiary the account was pledged away from meanwhile. Fills next, the
 * pledge after a. */
static bool eng_pledge_allows(const eng_account *acct, const custos_attestation *a,
                              uint8_t next[CUSTOS_ADDRESS_LEN], gw_submit_outcome *o)
{
    const uint8_t *cur = acct != NULL ? acct->beneficiary : eng_no_beneficiary;
    bool pledged = memcmp(cur, eng_no_beneficiary, CUSTOS_ADDRESS_LEN) != 0;
    bool same = memcmp(cur, a->beneficiary, CUSTOS_ADDRESS_LEN) == 0;
    memcpy(next, cur, CUSTOS_ADDRESS_LEN);
    if (a->kind == CUSTOS_KIND_FREEZE)
        return true;
    /* Formatted for a refusal only: an EIP-55 address costs a keccak each. */
    char hex[CUSTOS_ADDRESS_HEX_LEN], named[CUSTOS_ADDRESS_HEX_LEN];
    if (!same && (pledged || a->kind == CUSTOS_KIND_RELEASE)) {
        custos_address_to_hex(cur, hex);
        custos_address_to_hex(a->beneficiary, named);
    }
    if (a->kind == CUSTOS_KIND_RELEASE) {
        if (!same) {
            if (pledged)
                gw_eng_refuse(o, CUSTOS_REASON_PLEDGED_ELSEWHERE,
                              "this account is pledged to %s; a release must name that "
                              "beneficiary, not %s", hex, named);
            else
                gw_eng_refuse(o, CUSTOS_REASON_PLEDGED_ELSEWHERE,
                              "this account is not pledged; a release must name the zero "
                              "address, not %s", named);
            return false;
        }
        memset(next, 0, CUSTOS_ADDRESS_LEN);
        return true;
    }
    if (pledged && !same) {
        gw_eng_refuse(o, CUSTOS_REASON_PLEDGED_ELSEWHERE,
                      "this account is pledged to %s; a release for it must be accepted "
                      "before the account is attested to another beneficiary (%s)", hex,
                      named);
        return false;
    }
    memcpy(next, a->beneficiary, CUSTOS_ADDRESS_LEN);
    return true;
}

/* Rule 12: an account's first sequence, and each one after, at most the feed's step above
 * its last (0 before the first), so that no key can push the account's sequence out of
 * reach of the attestations after it (a freeze at 2^64-1 would end the account). Called
 * after rule 4, so sequence is above the last. */
static bool eng_sequence_allows(const gw_feed *feed, const eng_account *acct,
                                const custos_attestation *a, gw_submit_outcome *o)
{
    uint64_t last = acct != NULL ? acct->last_sequence : 0;
    uint32_t step = gw_feed_max_sequence_step(feed);
    if (a->sequence - last <= step)
        return true;
    gw_eng_refuse(o, CUSTOS_REASON_SEQUENCE_JUMP,
                  "sequence %" PRIu64 " is %" PRIu64 " above %s (%" PRIu64 "); feed '%s' "
                  "allows steps of at most %" PRIu32,
                  a->sequence, a->sequence - last,
                  acct != NULL ? "the account's last sequence" : "0, for an account's first",
                  last, feed->name, step);
    return false;
}

/* Starts collecting the signatures that count for one digest under policy at now. */
static custos_rc eng_collect_begin(gw_engine *e, const gw_policy *policy, const gw_feed *feed,
                                   uint64_t now, custos_error *err);

/* Collects a stored signature if its signer still counts (rule 2): a signer revoked,
 * rotated out past its window or removed from the allow-list since it signed no longer
 * contributes, and one signing party counts once (the other key of a rotation that signed
 * too is passed over). */
static custos_rc eng_collect_stored(gw_engine *e, const uint8_t address[CUSTOS_ADDRESS_LEN],
                                    const custos_signature *sig, custos_error *err)
{
    const gw_signer *s = gw_policy_find_signer(e->collect_policy, e->collect_feed->name, address);
    if (s == NULL || !gw_signer_valid_at(s, e->collect_now))
        return CUSTOS_OK;
    for (size_t i = 0; i < e->n_collected; i++)
        if (e->collected_party[i] == s->party ||
            memcmp(e->collected[i].address, address, CUSTOS_ADDRESS_LEN) == 0)
            return CUSTOS_OK;
    if (e->n_collected >= e->collected_cap)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "engine: more pending signers than allow-listed ones");
    gw_store_signer *dst = &e->collected[e->n_collected];
    memcpy(dst->address, address, CUSTOS_ADDRESS_LEN);
    dst->role = s->role;
    dst->sig = *sig;
    e->collected_party[e->n_collected++] = s->party;
    return CUSTOS_OK;
}

static custos_rc eng_collect(void *ctx, const gw_store_signer *sg, custos_error *err)
{
    return eng_collect_stored(ctx, sg->address, &sg->sig, err);
}

/* Adds the submission's signers (verified under collect_policy) to those collected. A
 * signer whose signature is already there changes nothing (a retry); the other key of a
 * party already counted is refused, as the adapter refuses the two together
 * (DuplicateSignerSlot, rule 2). */
static bool eng_collect_new(gw_engine *e, eng_item *it)
{
    for (size_t i = 0; i < it->ver.n_signers; i++) {
        bool known = false;
        for (size_t j = 0; j < e->n_collected && !known; j++) {
            if (memcmp(e->collected[j].address, it->ver.signers[i], CUSTOS_ADDRESS_LEN) == 0) {
                known = true;
            } else if (e->collected_party[j] == it->ver.parties[i]) {
                char hex[CUSTOS_ADDRESS_HEX_LEN], other[CUSTOS_ADDRESS_HEX_LEN];
                custos_address_to_hex(it->ver.signers[i], hex);
                custos_address_to_hex(e->collected[j].address, other);
                gw_eng_refuse(&it->out, CUSTOS_REASON_DUPLICATE_SIGNER,
                              "%s and %s, which signed this attestation already, are an old "
                              "and a new key of one signing party (a rotation): they count "
                              "as one signer", hex, other);
                return false;
            }
        }
        if (known)
            continue;
        gw_store_signer *sg = &e->collected[e->n_collected];
        memcpy(sg->address, it->ver.signers[i], CUSTOS_ADDRESS_LEN);
        sg->role = it->ver.roles[i];
        sg->sig = it->sub.sigs[i];
        e->collected_party[e->n_collected++] = it->ver.parties[i];
    }
    return true;
}

/* What the collected signatures weigh by the feed's count (rules 6, 7): their signing
 * parties, or their distinct roles on a distinct_roles feed. */
static uint32_t eng_weight(const gw_engine *e, const gw_feed *feed, bool *custodian)
{
    bool roles[GW_ROLE_COUNT] = {false};
    uint32_t distinct = 0;
    for (size_t i = 0; i < e->n_collected; i++) {
        if (!roles[e->collected[i].role]) {
            roles[e->collected[i].role] = true;
            distinct++;
        }
    }
    if (custodian != NULL)
        *custodian = roles[GW_ROLE_CUSTODIAN];
    return feed->distinct_roles ? distinct : (uint32_t)e->n_collected;
}

/* Whether the collected signatures make a quorum for the attestation (rule 7): a freeze
 * on a custodian's signature alone, which it needs; anything else at the threshold. */
static bool eng_quorum(const gw_engine *e, const gw_feed *feed, uint8_t kind)
{
    bool custodian = false;
    uint32_t weight = eng_weight(e, feed, &custodian);
    if (kind == CUSTOS_KIND_FREEZE)
        return custodian;
    return weight >= feed->threshold;
}

/* The record carries every collected signature, or, past CUSTOS_MAX_SIGNATURES, one
 * signer of each role first (that keeps a distinct-roles quorum and a freeze's custodian)
 * and then the earliest others, in collection order. */
static void eng_fill_signatures(gw_engine *e, custos_record *rec)
{
    size_t n = e->n_collected, picked = 0;
    bool role_taken[GW_ROLE_COUNT] = {false};
    for (size_t i = 0; i < n; i++)
        e->take[i] = n <= CUSTOS_MAX_SIGNATURES;
    if (n > CUSTOS_MAX_SIGNATURES) {
        for (size_t i = 0; i < n; i++) {
            if (!role_taken[e->collected[i].role]) {
                role_taken[e->collected[i].role] = true;
                e->take[i] = true;
                picked++;
            }
        }
        for (size_t i = 0; i < n && picked < CUSTOS_MAX_SIGNATURES; i++) {
            if (!e->take[i]) {
                e->take[i] = true;
                picked++;
            }
        }
    }
    rec->sub.n_sigs = 0;
    for (size_t i = 0; i < n; i++) {
        if (!e->take[i])
            continue;
        rec->sub.sigs[rec->sub.n_sigs] = e->collected[i].sig;
        memcpy(rec->signers[rec->sub.n_sigs], e->collected[i].address, CUSTOS_ADDRESS_LEN);
        rec->sub.n_sigs++;
    }
    rec->n_signers = rec->sub.n_sigs;
}

/* Room for every distinct signer a digest can collect under policy: its allow-list
 * (reloads may grow it) plus one submission's worth. */
static custos_rc eng_collected_reserve(gw_engine *e, const gw_policy *policy,
                                       custos_error *err)
{
    size_t need = policy->n_signers + CUSTOS_MAX_SIGNATURES;
    if (need <= e->collected_cap)
        return CUSTOS_OK;
    gw_store_signer *collected = realloc(e->collected, need * sizeof *collected);
    if (collected != NULL)
        e->collected = collected;
    uint32_t *party = collected != NULL ? realloc(e->collected_party, need * sizeof *party)
                                        : NULL;
    if (party != NULL)
        e->collected_party = party;
    bool *take = party != NULL ? realloc(e->take, need * sizeof *take) : NULL;
    if (take == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    e->take = take;
    e->collected_cap = need;
    return CUSTOS_OK;
}

static custos_rc eng_collect_begin(gw_engine *e, const gw_policy *policy, const gw_feed *feed,
                                   uint64_t now, custos_error *err)
{
    e->n_collected = 0;
    e->collect_policy = policy;
    e->collect_feed = feed;
    e->collect_now = now;
    return eng_collected_reserve(e, policy, err);
}

/* Rule 6's base: the collateralValue of the account's latest published valuation, from
 * the cache when this committer knows it, else from the store (committed data is the
 * truth here: this group's own publications are in the overlay with the base known, and
 * over a shared store the write lock is held). */
static custos_rc eng_base_of(gw_engine *e, const eng_account *acct, eng_base *out,
                             custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (acct == NULL)
        return CUSTOS_OK;
    if (acct->base_known) {
        *out = acct->base;
        return CUSTOS_OK;
    }
    custos_rc rc = gw_store_latest_valuation(&e->store, acct->account, &out->value, err);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return CUSTOS_OK;
    out->has = rc == CUSTOS_OK;
    return rc;
}

/* Rule 6: value - base > floor(base * bps / 10000), exactly: that holds exactly when
 * (value - base) * 10000 > base * bps. A bound beyond uint256 is beyond any rise. */
custos_rc gw_eng_beyond_bound(const custos_u256 *base, const custos_u256 *value,
                              uint32_t bps_value, bool *beyond, custos_error *err)
{
    *beyond = false;
    if (custos_u256_cmp(value, base) <= 0)
        return CUSTOS_OK;
    custos_u256 rise, bound, bps, scale;
    custos_rc rc = custos_u256_sub(&rise, value, base);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "engine: breaker arithmetic");
    custos_u256_from_u64(&bps, bps_value);
    custos_u256_from_u64(&scale, 10000);
    rc = custos_u256_mul_div(&bound, base, &bps, &scale);
    if (rc == CUSTOS_ERR_OVERFLOW)
        return CUSTOS_OK;
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "engine: breaker arithmetic");
    *beyond = custos_u256_cmp(&rise, &bound) > 0;
    return CUSTOS_OK;
}

/* Rule 6: whether a valuation that reached its quorum is held rather than published: its
 * collateralValue exceeds the account's latest published valuation's by more than the
 * feed's bound, and its signers do not weigh breaker_release_threshold (counted as the
 * quorum is). Falls, equal values, freezes, releases and an account's first valuation
 * always flow; what a freeze or a release carries is never a base. The adapter applies
 * the same rule on-chain (BreakerHeld). */
static custos_rc eng_breaker_holds(gw_engine *e, const gw_feed *feed, const eng_account *acct,
                                   const custos_attestation *a, bool *hold, custos_error *err)
{
    *hold = false;
    if (feed->breaker_rise_bps == 0 || a->kind != CUSTOS_KIND_VALUATION ||
        eng_weight(e, feed, NULL) >= feed->breaker_release_threshold)
        return CUSTOS_OK;
    eng_base base;
    custos_rc rc = eng_base_of(e, acct, &base, err);
    if (rc != CUSTOS_OK || !base.has)
        return rc;
    return gw_eng_beyond_bound(&base.value, &a->collateral_value, feed->breaker_rise_bps, hold,
                               err);
}

/* The base an account keeps after publishing a, which acct described before (NULL
 * result: unknown, read from the store when next needed). */
static const eng_base *eng_base_after(const eng_account *acct, const custos_attestation *a,
                                      eng_base *out)
{
    if (a->kind == CUSTOS_KIND_VALUATION) {
        out->has = true;
        out->value = a->collateral_value;
        return out;
    }
    if (acct == NULL) {
        memset(out, 0, sizeof *out);
        return out;
    }
    if (!acct->base_known)
        return NULL;
    *out = acct->base;
    return out;
}

/* Publishes a held record now (rule 6 release) with the signatures collected for it (the
 * ones valid now): it gets the next cursor and its chain link, leaves the held table, and
 * becomes its account's latest. The pledge rule is checked again against the account as
 * it is now; a refusal is left in o. */
static custos_rc eng_publish_held(gw_engine *e, const eng_account *acct, custos_record *held,
                                  uint64_t now, uint64_t *head, gw_submit_outcome *o,
                                  custos_error *err)
{
    uint8_t next_beneficiary[CUSTOS_ADDRESS_LEN];
    if (!eng_pledge_allows(acct, &held->sub.att, next_beneficiary, o))
        return CUSTOS_OK;
    eng_base base;
    const eng_base *kept = eng_base_after(acct, &held->sub.att, &base);
    /* An account of a batch has no signature of its own: its batch's stay in the batch's
     * row (docs/attestation.md §12), and the record keeps the batch's signers. */
    if (!held->batched)
        eng_fill_signatures(e, held);
    held->cursor = *head + 1;
    held->state = CUSTOS_STATE_ACCEPTED;
    held->accepted_at = now;
    custos_chain_link(e->group_chain, held->cursor, held->digest, held->chain_hash);
    custos_rc rc = gw_store_drop_held(&e->store, held->digest, err);
    if (rc == CUSTOS_OK)
        rc = gw_store_put_accepted(&e->store, held, next_beneficiary, err);
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(e->group_chain, held->chain_hash, CUSTOS_CHAIN_HASH_LEN);
    *head = held->cursor;
    rc = gw_eng_overlay_set(e, held->sub.att.account, held->sub.att.sequence, held->sub.feed,
                            next_beneficiary, kept, err);
    if (rc != CUSTOS_OK)
        return rc;
    o->state = CUSTOS_STATE_ACCEPTED;
    o->cursor = held->cursor;
    o->signatures = (uint32_t)held->n_signers;
    return CUSTOS_OK;
}

/* Rule 6, release by a larger quorum: signatures sent for a held digest add up, and once
 * the signers valid now weigh the feed's breaker_release_threshold (counted as the quorum
 * is: parties, or distinct roles) it is published with their signatures. A signer revoked
 * or rotated out after it signed no longer counts. Only the newest held record of an
 * account can be here: a later one, held or published, supersedes it. */
static custos_rc eng_cosign_held(gw_engine *e, eng_item *it, const eng_account *acct,
                                 custos_record *held, uint64_t now, uint64_t *head,
                                 custos_error *err)
{
    const gw_feed *feed = it->ver.feed;
    gw_submit_outcome *o = &it->out;
    if (strcmp(held->sub.feed, it->sub.feed) != 0) {
        gw_eng_refuse(o, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED,
                      "this attestation is held under feed '%s', not '%s'", held->sub.feed,
                      it->sub.feed);
        return CUSTOS_OK;
    }
    custos_rc rc = eng_collect_begin(e, it->ver.policy, feed, now, err);
    for (size_t j = 0; rc == CUSTOS_OK && j < held->n_signers; j++)
        rc = eng_collect_stored(e, held->signers[j],
                                held->batched ? &held->batch.sigs[j] : &held->sub.sigs[j], err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t valid = e->n_collected;
    if (!eng_collect_new(e, it))
        return CUSTOS_OK;
    /* An account of a batch is stored with its batch's signatures only (docs/storage.md
     * §10): a signature over its own digest has no place beside them (rule 20). */
    if (held->batched && e->n_collected > valid) {
        gw_eng_refuse(o, CUSTOS_REASON_BATCH_MEMBER_MISMATCH,
                      "this attestation is held as an account of a batch, whose signatures "
                      "are the batch's: it takes no signature of its own; an operator "
                      "releases it (ReleaseHeld)");
        return CUSTOS_OK;
    }
    /* The stored record keeps what it had and gains the new signers; what counts is
     * decided afresh each time. */
    for (size_t i = valid; i < e->n_collected && held->n_signers < CUSTOS_MAX_SIGNATURES; i++) {
        memcpy(held->signers[held->n_signers], e->collected[i].address, CUSTOS_ADDRESS_LEN);
        held->sub.sigs[held->n_signers] = e->collected[i].sig;
        held->n_signers++;
        held->sub.n_sigs = held->n_signers;
    }
    o->signatures = (uint32_t)e->n_collected;
    o->threshold = feed->breaker_release_threshold;
    /* A feed whose breaker was switched off since keeps its held records for an operator. */
    if (feed->breaker_release_threshold != 0 &&
        eng_weight(e, feed, NULL) >= feed->breaker_release_threshold)
        return eng_publish_held(e, acct, held, now, head, o, err);
    o->state = CUSTOS_STATE_HELD;
    o->duplicate = e->n_collected == valid;
    if (o->duplicate)
        return CUSTOS_OK;
    rc = gw_store_drop_held(&e->store, held->digest, err);
    return rc == CUSTOS_OK ? gw_store_put_held(&e->store, held, err) : rc;
}

/* An operator's release: what must still hold for the held record to be published, as it
 * would be for a submission now and as the adapter will check it (rule 6): its feed, its
 * freshness (rule 3), and its quorum (rule 7) from the signers valid now, whose signatures
 * alone it is published with. Rule 5 is checked by eng_publish_held. A refusal is left in
 * o; collected holds the signatures on success. */
static custos_rc eng_release_allows(gw_engine *e, const gw_policy *policy,
                                    const custos_record *held, uint64_t now,
                                    gw_submit_outcome *o, custos_error *err)
{
    const gw_feed *feed = gw_policy_find_feed(policy, held->sub.feed);
    if (feed == NULL) {
        gw_eng_refuse(o, CUSTOS_REASON_UNKNOWN_FEED,
                      "feed '%s' of the held attestation is no longer configured",
                      held->sub.feed);
        return CUSTOS_OK;
    }
    char why[sizeof o->detail - 64];
    custos_reason r = gw_verify_freshness(feed, &held->sub.att, now, why, sizeof why);
    if (r != CUSTOS_REASON_NONE) {
        gw_eng_refuse(o, r, "the held attestation is no longer fresh: %s", why);
        return CUSTOS_OK;
    }
    custos_rc rc = eng_collect_begin(e, policy, feed, now, err);
    for (size_t j = 0; rc == CUSTOS_OK && j < held->n_signers; j++)
        rc = eng_collect_stored(e, held->signers[j], &held->sub.sigs[j], err);
    if (rc == CUSTOS_OK && !eng_quorum(e, feed, held->sub.att.kind))
        gw_eng_refuse(o, CUSTOS_REASON_REVOKED_SIGNER,
                      "of the held attestation's %zu signers, %zu are still valid for feed "
                      "'%s': short of its quorum of %" PRIu32 "%s",
                      held->n_signers, e->n_collected, feed->name, feed->threshold,
                      feed->distinct_roles ? " distinct roles" : "");
    return rc;
}

/* An operator's release (gw_engine_release_held) inside the open transaction: the held
 * record is published and the audit entry appended in the same commit, or neither. */
custos_rc gw_eng_apply_release(gw_engine *e, eng_item *it, uint64_t now, uint64_t *head,
                               custos_error *err)
{
    gw_submit_outcome *o = &it->out;
    memcpy(o->digest, it->ver.digest, CUSTOS_HASH_LEN);
    custos_record held;
    bool superseded = false;
    custos_rc rc = gw_store_get_held(&e->store, it->ver.digest, &held, &superseded, err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        o->release = GW_RELEASE_NOT_FOUND;
        snprintf(o->detail, sizeof o->detail,
                 "no held attestation has this digest (never held, or already published)");
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK)
        return rc;
    const uint8_t *account = held.sub.att.account;
    const eng_account *acct = gw_eng_account_find(e, account);
    if (gw_store_shared(&e->store)) {
        /* Other replicas may have moved the account: decide on its stored row. */
        bool seen = gw_eng_overlay_find(e, account) != NULL;
        gw_store_account row;
        rc = seen ? CUSTOS_OK : gw_store_get_account(&e->store, account, &row, err);
        if (!seen && rc == CUSTOS_OK)
            rc = gw_eng_overlay_set(e, account, row.last_sequence, row.feed, row.beneficiary,
                                    NULL, err);
        if (rc != CUSTOS_OK) {
            custos_record_clear(&held);
            return rc;
        }
        acct = gw_eng_account_find(e, account);
    }
    if (superseded) {
        o->release = GW_RELEASE_SUPERSEDED;
        snprintf(o->detail, sizeof o->detail,
                 "superseded by a later attestation of the account (sequence %" PRIu64
                 "); a superseded attestation is never published",
                 acct != NULL ? acct->last_sequence : 0);
        custos_record_clear(&held);
        return CUSTOS_OK;
    }
    gw_policy *policy = gw_registry_acquire(e->registry);
    rc = eng_release_allows(e, policy, &held, now, o, err);
    if (rc == CUSTOS_OK && o->reason == CUSTOS_REASON_NONE)
        rc = eng_publish_held(e, acct, &held, now, head, o, err);
    if (rc == CUSTOS_OK && o->reason != CUSTOS_REASON_NONE)
        o->release = GW_RELEASE_REFUSED;
    else if (rc == CUSTOS_OK)
        rc = gw_audit_append(&e->store, it->actor, "release_held",
                             (const uint8_t *)it->payload, strlen(it->payload), now,
                             &o->audit_seq, err);
    gw_policy_release(policy);
    custos_record_clear(&held);
    return rc;
}

/* Rule 4 for a sequence at or below the account's last: a duplicate of the accepted
 * record, more signatures for a held one (an account of a batch brings none of its own:
 * the same held digest again is a duplicate), or a replay. */
static custos_rc eng_apply_old_sequence(gw_engine *e, eng_item *it, const eng_account *acct,
                                        bool batched, uint64_t now, uint64_t *head,
                                        custos_error *err)
{
    const custos_attestation *a = &it->sub.att;
    gw_submit_outcome *o = &it->out;
    uint64_t cursor = 0;
    uint32_t n_signers = 0;
    custos_rc rc = gw_store_find_accepted(&e->store, a->account, a->sequence, it->ver.digest,
                                          &cursor, &n_signers, err);
    if (rc == CUSTOS_OK) {
        /* Rule 4: a retry of an accepted attestation is a success. */
        o->state = CUSTOS_STATE_ACCEPTED;
        o->duplicate = true;
        o->cursor = cursor;
        o->signatures = n_signers;
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_ERR_NOT_FOUND)
        return rc;
    custos_record held;
    bool superseded = false;
    rc = gw_store_get_held(&e->store, it->ver.digest, &held, &superseded, err);
    if (rc == CUSTOS_OK && batched && !superseded) {
        o->state = CUSTOS_STATE_HELD;
        o->duplicate = true;
        o->signatures = (uint32_t)held.n_signers;
        custos_record_clear(&held);
        return CUSTOS_OK;
    }
    if (rc == CUSTOS_OK) {
        rc = superseded ? CUSTOS_OK : eng_cosign_held(e, it, acct, &held, now, head, err);
        if (superseded)
            gw_eng_refuse(o, CUSTOS_REASON_REPLAY,
                          "this attestation was held by the circuit breaker and superseded "
                          "by a later one of the account (sequence %" PRIu64
                          "); it is never published",
                          acct->last_sequence);
        custos_record_clear(&held);
        return rc;
    }
    if (rc != CUSTOS_ERR_NOT_FOUND)
        return rc;
    gw_eng_refuse(o, CUSTOS_REASON_REPLAY,
                  "sequence %" PRIu64 " is not above %" PRIu64
                  ", the last accepted sequence of this account",
                  a->sequence, acct->last_sequence);
    return CUSTOS_OK;
}

/* The quorum is there: publish rec, or hold it (rule 6). */
static custos_rc eng_publish_or_hold(gw_engine *e, eng_item *it, const eng_account *acct,
                                     custos_record *rec,
                                     const uint8_t next_beneficiary[CUSTOS_ADDRESS_LEN],
                                     uint64_t *head, custos_error *err)
{
    const custos_attestation *a = &it->sub.att;
    gw_submit_outcome *o = &it->out;
    bool hold = false;
    custos_rc rc = eng_breaker_holds(e, it->ver.feed, acct, a, &hold, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (hold) {
        /* Not published: no cursor, no chain link, the pledge and the breaker's base stay
         * those of the last published record. */
        rec->cursor = 0;
        rec->state = CUSTOS_STATE_HELD;
        rc = gw_store_put_held(&e->store, rec, err);
        if (rc == CUSTOS_OK) {
            eng_account kept = *acct; /* acct may be the overlay entry being set */
            rc = gw_eng_overlay_set(e, a->account, a->sequence, it->sub.feed, kept.beneficiary,
                                    kept.base_known ? &kept.base : NULL, err);
        }
        if (rc == CUSTOS_OK)
            o->state = CUSTOS_STATE_HELD;
        return rc;
    }
    eng_base base;
    const eng_base *next_base = eng_base_after(acct, a, &base);
    custos_chain_link(e->group_chain, rec->cursor, rec->digest, rec->chain_hash);
    rc = gw_store_put_accepted(&e->store, rec, next_beneficiary, err);
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(e->group_chain, rec->chain_hash, CUSTOS_CHAIN_HASH_LEN);
    *head = rec->cursor;
    rc = gw_eng_overlay_set(e, a->account, a->sequence, it->sub.feed, next_beneficiary,
                            next_base, err);
    if (rc != CUSTOS_OK)
        return rc;
    o->state = CUSTOS_STATE_ACCEPTED;
    o->cursor = rec->cursor;
    return CUSTOS_OK;
}

/* Applies one verified submission inside the open transaction. Returns a store error
 * (which fails the whole group); a refusal is an outcome, not an error. */
custos_rc gw_eng_apply(gw_engine *e, eng_item *it, const custos_record_batch *batch,
                       uint64_t now, uint64_t *head, custos_error *err)
{
    const custos_attestation *a = &it->sub.att;
    const gw_feed *feed = it->ver.feed;
    gw_submit_outcome *o = &it->out;
    memcpy(o->digest, it->ver.digest, CUSTOS_HASH_LEN);
    o->threshold = feed->threshold;

    const eng_account *acct = gw_eng_account_find(e, a->account);
    if (acct != NULL && a->sequence <= acct->last_sequence)
        return eng_apply_old_sequence(e, it, acct, batch != NULL, now, head, err);
    /* Rule 9: the verifier checked the registration; the records already stored say the
     * same, except for an account accepted before registrations existed and registered
     * since to another feed, whose records stay its first feed's. */
    const char *stored_feed = acct != NULL ? gw_eng_feed_name(e, acct->feed) : NULL;
    if (stored_feed != NULL && strcmp(stored_feed, it->sub.feed) != 0) {
        gw_eng_refuse(o, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED,
                      "this account belongs to feed '%s'; signers of feed '%s' cannot attest it",
                      stored_feed, it->sub.feed);
        return CUSTOS_OK;
    }
    if (!eng_sequence_allows(feed, acct, a, o))
        return CUSTOS_OK;

    uint8_t next_beneficiary[CUSTOS_ADDRESS_LEN];
    if (!eng_pledge_allows(acct, a, next_beneficiary, o))
        return CUSTOS_OK;

    /* An account of a batch never goes pending: its signatures are the batch's. */
    custos_submission stored;
    custos_rc rc = batch != NULL ? CUSTOS_ERR_NOT_FOUND
                                 : gw_store_get_pending(&e->store, it->ver.digest, &stored, err);
    if (rc != CUSTOS_OK && rc != CUSTOS_ERR_NOT_FOUND)
        return rc;
    bool pending = rc == CUSTOS_OK;
    if (pending && strcmp(stored.feed, it->sub.feed) != 0) {
        gw_eng_refuse(o, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED,
                      "this attestation is already pending under feed '%s', not '%s'",
                      stored.feed, it->sub.feed);
        custos_submission_clear(&stored);
        return CUSTOS_OK;
    }

    rc = eng_collect_begin(e, it->ver.policy, feed, now, err);
    if (rc == CUSTOS_OK && pending)
        rc = gw_store_list_pending_signers(&e->store, it->ver.digest, eng_collect, e, err);
    size_t known = e->n_collected;
    if (rc != CUSTOS_OK || !eng_collect_new(e, it)) {
        if (pending)
            custos_submission_clear(&stored);
        return rc;
    }
    o->signatures = (uint32_t)e->n_collected;

    if (eng_quorum(e, feed, a->kind)) {
        /* Keep the positions of whichever submission brought them. */
        const custos_submission *base =
            pending && (stored.n_positions > 0 || it->sub.n_positions == 0) ? &stored
                                                                             : &it->sub;
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        rec.cursor = *head + 1;
        rec.state = CUSTOS_STATE_ACCEPTED;
        memcpy(rec.digest, it->ver.digest, CUSTOS_HASH_LEN);
        rec.accepted_at = now;
        rec.sub = *base; /* shallow: rec is never cleared, base keeps its positions */
        if (batch != NULL) {
            /* Stored once, with the batch (store.h put_batch); the record refers to it. */
            rec.batched = true;
            rec.batch = *batch;
            rec.sub.n_sigs = 0;
            memcpy(rec.signers, it->ver.signers, sizeof rec.signers);
            rec.n_signers = it->ver.n_signers;
        } else {
            eng_fill_signatures(e, &rec);
        }
        rc = eng_publish_or_hold(e, it, acct, &rec, next_beneficiary, head, err);
    } else if (batch != NULL) {
        gw_eng_refuse(o, CUSTOS_REASON_BATCH_BELOW_QUORUM,
                      "the batch's signers weigh %" PRIu32 ", short of the quorum of feed "
                      "'%s' (%" PRIu32 "%s)", eng_weight(e, feed, NULL), feed->name,
                      feed->threshold, feed->distinct_roles ? " distinct roles" : " signers");
    } else {
        if (!pending) {
            /* A new pending digest is charged to its first signer and its feed. */
            const uint8_t *creator = e->collected[known].address;
            uint64_t bytes = 0;
            bool allowed = true;
            rc = gw_eng_pending_allows(e, it, creator, &bytes, &allowed, err);
            if (rc != CUSTOS_OK || !allowed)
                return rc;
            rc = gw_store_put_pending(&e->store, it->ver.digest, &it->sub, now, creator, bytes,
                                      err);
        }
        for (size_t i = known; rc == CUSTOS_OK && i < e->n_collected; i++)
            rc = gw_store_put_pending_signer(&e->store, it->ver.digest, &e->collected[i], err);
        o->state = CUSTOS_STATE_PENDING;
        o->duplicate = e->n_collected == known;
    }
    if (pending)
        custos_submission_clear(&stored);
    return rc;
}

custos_rc gw_eng_batch_quorum(gw_engine *e, eng_item *it, uint64_t now, bool *quorum,
                              custos_error *err)
{
    *quorum = false;
    custos_rc rc = eng_collect_begin(e, it->ver.policy, it->ver.feed, now, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* The verifier refused a party twice (DUPLICATE_SIGNER), so all of them are new. */
    if (!eng_collect_new(e, it))
        return CUSTOS_OK;
    it->out.signatures = (uint32_t)e->n_collected;
    it->out.threshold = it->ver.feed->threshold;
    *quorum = eng_quorum(e, it->ver.feed, CUSTOS_KIND_VALUATION);
    return CUSTOS_OK;
}
