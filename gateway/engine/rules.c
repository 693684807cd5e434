/* The rules the committer applies to each verified submission inside its group
 * (internal.h): replay (rule 4), quorum of distinct signers and roles (rule 2), one
 * lender at a time (rule 5), the circuit breaker on rises (rule 6) and an operator's
 * release of a held rise. */
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
 * release names the pledge it ends (or the zero address); one naming another beneficiary
 * is refused. A freeze never changes the pledge: voiding the value is not a release.
 * Checked again each time a pending digest is signed, so a quorum cannot complete for a
 * beneficiary the account was pledged away from meanwhile. Fills next, the pledge after a. */
static bool eng_pledge_allows(const eng_account *acct, const custos_attestation *a,
                              uint8_t next[CUSTOS_ADDRESS_LEN], gw_submit_outcome *o)
{
    const uint8_t *cur = acct != NULL ? acct->beneficiary : eng_no_beneficiary;
    bool pledged = memcmp(cur, eng_no_beneficiary, CUSTOS_ADDRESS_LEN) != 0;
    bool same = memcmp(cur, a->beneficiary, CUSTOS_ADDRESS_LEN) == 0;
    bool zero = memcmp(a->beneficiary, eng_no_beneficiary, CUSTOS_ADDRESS_LEN) == 0;
    memcpy(next, cur, CUSTOS_ADDRESS_LEN);
    if (a->kind == CUSTOS_KIND_FREEZE)
        return true;
    if (pledged && !same && !(a->kind == CUSTOS_KIND_RELEASE && zero)) {
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(cur, hex);
        if (a->kind == CUSTOS_KIND_RELEASE)
            gw_eng_refuse(o, CUSTOS_REASON_PLEDGED_ELSEWHERE,
                          "this account is pledged to %s; a release must name that beneficiary "
                          "(or the zero address)", hex);
        else
            gw_eng_refuse(o, CUSTOS_REASON_PLEDGED_ELSEWHERE,
                          "this account is pledged to %s; a release for it must be accepted "
                          "before the account is attested to another beneficiary", hex);
        return false;
    }
    if (a->kind == CUSTOS_KIND_RELEASE)
        memset(next, 0, CUSTOS_ADDRESS_LEN);
    else
        memcpy(next, a->beneficiary, CUSTOS_ADDRESS_LEN);
    return true;
}

/* Collects a stored signature if its signer still counts: a signer revoked, rotated out
 * past its window or removed from the allow-list since it signed no longer contributes
 * to a quorum. */
static custos_rc eng_collect(void *ctx, const gw_store_signer *sg, custos_error *err)
{
    gw_engine *e = ctx;
    const gw_signer *s =
        gw_policy_find_signer(e->collect_policy, e->collect_feed->name, sg->address);
    if (s == NULL || !gw_signer_valid_at(s, e->collect_now))
        return CUSTOS_OK;
    if (e->n_collected >= e->collected_cap)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "engine: more pending signers than allow-listed ones");
    gw_store_signer *dst = &e->collected[e->n_collected++];
    *dst = *sg;
    dst->role = s->role;
    return CUSTOS_OK;
}

static bool eng_collected_has(const gw_engine *e, const uint8_t addr[CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < e->n_collected; i++)
        if (memcmp(e->collected[i].address, addr, CUSTOS_ADDRESS_LEN) == 0)
            return true;
    return false;
}

/* Whether the collected signatures make a quorum for the attestation. */
static bool eng_quorum(const gw_engine *e, const gw_feed *feed, uint8_t kind)
{
    bool roles[GW_ROLE_COUNT] = {false};
    uint32_t distinct = 0;
    for (size_t i = 0; i < e->n_collected; i++) {
        if (!roles[e->collected[i].role]) {
            roles[e->collected[i].role] = true;
            distinct++;
        }
    }
    /* Rule 7: stopping a loan must be easy. */
    if (kind == CUSTOS_KIND_FREEZE && roles[GW_ROLE_CUSTODIAN])
        return true;
    uint32_t count = feed->distinct_roles ? distinct : (uint32_t)e->n_collected;
    return count >= feed->threshold;
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
    bool *take = collected != NULL ? realloc(e->take, need * sizeof *take) : NULL;
    if (take == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    e->take = take;
    e->collected_cap = need;
    return CUSTOS_OK;
}

/* Rule 6: whether a valuation that reached quorum is held rather than published.
 * It is when its collateralValue exceeds the account's last published one by more than
 * breaker_rise_bps, computed exactly: value - last > floor(last * bps / 10000) holds
 * exactly when (value - last) * 10000 > last * bps. Falls, equal values, releases,
 * freezes and an account's first record always flow. */
static custos_rc eng_breaker_holds(gw_engine *e, const gw_feed *feed, const eng_account *acct,
                                   const custos_attestation *a, bool *hold, custos_error *err)
{
    *hold = false;
    if (feed->breaker_rise_bps == 0 || a->kind != CUSTOS_KIND_VALUATION || acct == NULL)
        return CUSTOS_OK;
    custos_u256 last;
    if (acct->value_known) {
        last = acct->value;
    } else {
        /* Committed data is the truth here: this group's own publications are in the
         * overlay with value_known, and over a shared store the write lock is held. */
        custos_record latest;
        custos_rc rc = gw_store_get_latest(&e->store, a->account, &latest, err);
        if (rc == CUSTOS_ERR_NOT_FOUND)
            return CUSTOS_OK;
        if (rc != CUSTOS_OK)
            return rc;
        last = latest.sub.att.collateral_value;
        custos_record_clear(&latest);
    }
    if (custos_u256_cmp(&a->collateral_value, &last) <= 0)
        return CUSTOS_OK;
    custos_u256 rise, bound, bps, scale;
    custos_rc rc = custos_u256_sub(&rise, &a->collateral_value, &last);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "engine: breaker arithmetic");
    custos_u256_from_u64(&bps, feed->breaker_rise_bps);
    custos_u256_from_u64(&scale, 10000);
    rc = custos_u256_mul_div(&bound, &last, &bps, &scale);
    if (rc == CUSTOS_ERR_OVERFLOW)
        return CUSTOS_OK; /* the bound is beyond any uint256 rise */
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "engine: breaker arithmetic");
    *hold = custos_u256_cmp(&rise, &bound) > 0;
    return CUSTOS_OK;
}

/* Publishes a held record now (rule 6 release): it gets the next cursor and its chain
 * link, leaves the held table, and becomes its account's latest. The pledge rule is
 * checked again against the account as it is now; a refusal is left in o. */
static custos_rc eng_publish_held(gw_engine *e, const eng_account *acct, custos_record *held,
                                  uint64_t now, uint64_t *head, gw_submit_outcome *o,
                                  custos_error *err)
{
    uint8_t next_beneficiary[CUSTOS_ADDRESS_LEN];
    if (!eng_pledge_allows(acct, &held->sub.att, next_beneficiary, o))
        return CUSTOS_OK;
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
    gw_eng_overlay_set(e, held->sub.att.account, held->sub.att.sequence, held->sub.feed,
                       next_beneficiary, &held->sub.att.collateral_value);
    o->state = CUSTOS_STATE_ACCEPTED;
    o->cursor = held->cursor;
    o->signatures = (uint32_t)held->n_signers;
    return CUSTOS_OK;
}

/* Rule 6, release by a larger quorum: signatures sent for a held digest add up, and at the
 * feed's breaker_release_threshold distinct signers it is published. Only the newest held
 * record of an account can be here: a later one, held or published, supersedes it. */
static custos_rc eng_cosign_held(gw_engine *e, eng_item *it, const eng_account *acct,
                                 custos_record *held, uint64_t now, uint64_t *head,
                                 custos_error *err)
{
    const gw_feed *feed = it->ver.feed;
    gw_submit_outcome *o = &it->out;
    if (strcmp(held->sub.feed, it->sub.feed) != 0) {
        gw_eng_refuse(o, CUSTOS_REASON_UNAUTHORIZED_SIGNER,
                      "this attestation is held under feed '%s', not '%s'", held->sub.feed,
                      it->sub.feed);
        return CUSTOS_OK;
    }
    size_t known = held->n_signers;
    for (size_t i = 0; i < it->ver.n_signers && held->n_signers < CUSTOS_MAX_SIGNATURES; i++) {
        bool have = false;
        for (size_t j = 0; j < held->n_signers && !have; j++)
            have = memcmp(held->signers[j], it->ver.signers[i], CUSTOS_ADDRESS_LEN) == 0;
        if (have)
            continue;
        memcpy(held->signers[held->n_signers], it->ver.signers[i], CUSTOS_ADDRESS_LEN);
        held->sub.sigs[held->n_signers] = it->sub.sigs[i];
        held->n_signers++;
        held->sub.n_sigs = held->n_signers;
    }
    o->signatures = (uint32_t)held->n_signers;
    o->threshold = feed->breaker_release_threshold;
    /* A feed whose breaker was switched off since keeps its held records for an operator. */
    if (feed->breaker_release_threshold != 0 &&
        held->n_signers >= feed->breaker_release_threshold)
        return eng_publish_held(e, acct, held, now, head, o, err);
    o->state = CUSTOS_STATE_HELD;
    o->duplicate = held->n_signers == known;
    if (o->duplicate)
        return CUSTOS_OK;
    custos_rc rc = gw_store_drop_held(&e->store, held->digest, err);
    return rc == CUSTOS_OK ? gw_store_put_held(&e->store, held, err) : rc;
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
        bool seen = false;
        for (size_t j = 0; j < e->overlay_count && !seen; j++)
            seen = memcmp(e->overlay[j].account, account, CUSTOS_HASH_LEN) == 0;
        gw_store_account row;
        rc = seen ? CUSTOS_OK : gw_store_get_account(&e->store, account, &row, err);
        if (!seen && rc == CUSTOS_OK)
            gw_eng_overlay_set(e, account, row.last_sequence, row.feed, row.beneficiary, NULL);
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
    rc = eng_publish_held(e, acct, &held, now, head, o, err);
    if (rc == CUSTOS_OK && o->reason != CUSTOS_REASON_NONE)
        o->release = GW_RELEASE_REFUSED;
    else if (rc == CUSTOS_OK)
        rc = gw_audit_append(&e->store, it->actor, "release_held",
                             (const uint8_t *)it->payload, strlen(it->payload), now,
                             &o->audit_seq, err);
    custos_record_clear(&held);
    return rc;
}

/* Applies one verified submission inside the open transaction. Returns a store error
 * (which fails the whole group); a refusal is an outcome, not an error. */
custos_rc gw_eng_apply(gw_engine *e, eng_item *it, uint64_t now, uint64_t *head,
                       custos_error *err)
{
    const custos_attestation *a = &it->sub.att;
    const gw_feed *feed = it->ver.feed;
    gw_submit_outcome *o = &it->out;
    memcpy(o->digest, it->ver.digest, CUSTOS_HASH_LEN);
    o->threshold = feed->threshold;

    const eng_account *acct = gw_eng_account_find(e, a->account);
    if (acct != NULL && a->sequence <= acct->last_sequence) {
        uint64_t cursor = 0;
        uint32_t n_signers = 0;
        custos_rc rc = gw_store_find_accepted(&e->store, a->account, a->sequence,
                                              it->ver.digest, &cursor, &n_signers, err);
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
    /* An account belongs to the feed (custodian) of its first accepted attestation. */
    if (acct != NULL && strcmp(acct->feed, it->sub.feed) != 0) {
        gw_eng_refuse(o, CUSTOS_REASON_UNAUTHORIZED_SIGNER,
                      "this account belongs to feed '%s'; signers of feed '%s' cannot attest it",
                      acct->feed, it->sub.feed);
        return CUSTOS_OK;
    }

    uint8_t next_beneficiary[CUSTOS_ADDRESS_LEN];
    if (!eng_pledge_allows(acct, a, next_beneficiary, o))
        return CUSTOS_OK;

    custos_submission stored;
    custos_rc rc = gw_store_get_pending(&e->store, it->ver.digest, &stored, err);
    if (rc != CUSTOS_OK && rc != CUSTOS_ERR_NOT_FOUND)
        return rc;
    bool pending = rc == CUSTOS_OK;
    if (pending && strcmp(stored.feed, it->sub.feed) != 0) {
        gw_eng_refuse(o, CUSTOS_REASON_UNAUTHORIZED_SIGNER,
                      "this attestation is already pending under feed '%s', not '%s'",
                      stored.feed, it->sub.feed);
        custos_submission_clear(&stored);
        return CUSTOS_OK;
    }

    e->n_collected = 0;
    e->collect_policy = it->ver.policy;
    e->collect_feed = feed;
    e->collect_now = now;
    rc = eng_collected_reserve(e, it->ver.policy, err);
    if (rc != CUSTOS_OK) {
        if (pending)
            custos_submission_clear(&stored);
        return rc;
    }
    rc = pending ? gw_store_list_pending_signers(&e->store, it->ver.digest, eng_collect, e, err)
                 : CUSTOS_OK;
    size_t known = e->n_collected;
    for (size_t i = 0; rc == CUSTOS_OK && i < it->ver.n_signers; i++) {
        if (eng_collected_has(e, it->ver.signers[i]))
            continue;
        gw_store_signer *sg = &e->collected[e->n_collected++];
        memcpy(sg->address, it->ver.signers[i], CUSTOS_ADDRESS_LEN);
        sg->role = it->ver.roles[i];
        sg->sig = it->sub.sigs[i];
    }
    if (rc != CUSTOS_OK) {
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
        eng_fill_signatures(e, &rec);
        bool hold = false;
        rc = eng_breaker_holds(e, feed, acct, a, &hold, err);
        if (rc == CUSTOS_OK && hold) {
            /* Not published: no cursor, no chain link, the pledge and the breaker's base
             * stay those of the last published record. */
            rec.cursor = 0;
            rec.state = CUSTOS_STATE_HELD;
            rc = gw_store_put_held(&e->store, &rec, err);
            if (rc == CUSTOS_OK) {
                eng_account kept = *acct; /* acct may be the overlay entry being set */
                gw_eng_overlay_set(e, a->account, a->sequence, it->sub.feed, kept.beneficiary,
                                   kept.value_known ? &kept.value : NULL);
                o->state = CUSTOS_STATE_HELD;
            }
        } else if (rc == CUSTOS_OK) {
            custos_chain_link(e->group_chain, rec.cursor, rec.digest, rec.chain_hash);
            rc = gw_store_put_accepted(&e->store, &rec, next_beneficiary, err);
        }
        if (rc == CUSTOS_OK && !hold) {
            memcpy(e->group_chain, rec.chain_hash, CUSTOS_CHAIN_HASH_LEN);
            *head = rec.cursor;
            gw_eng_overlay_set(e, a->account, a->sequence, it->sub.feed, next_beneficiary,
                               &a->collateral_value);
            o->state = CUSTOS_STATE_ACCEPTED;
            o->cursor = rec.cursor;
        }
    } else {
        if (!pending)
            rc = gw_store_put_pending(&e->store, it->ver.digest, &it->sub, now, err);
        for (size_t i = known; rc == CUSTOS_OK && i < e->n_collected; i++)
            rc = gw_store_put_pending_signer(&e->store, it->ver.digest, &e->collected[i], err);
        o->state = CUSTOS_STATE_PENDING;
        o->duplicate = e->n_collected == known;
    }
    if (pending)
        custos_submission_clear(&stored);
    return rc;
}
