/* Rule 6 on both sides: an operator's release of a held rise (ReleaseHeld) goes on to the
 * committer only when the adapter's own breaker would take it. The adapter holds a rise
 * by its own bound over its own last value, and lets a held one through only once its
 * owner released that digest (releaseHeld, docs/adapter.md §9). Released at the gateway
 * first, the publication that follows is refused BreakerHeld and the record ends failed,
 * while the account's value on-chain runs towards its end; so the gateway refuses the
 * release (HELD_ON_CHAIN) and says which call the adapter's owner makes first.
 *
 * The read runs on a verifier thread, bounded by [evm] exposure_timeout_ms, as rule 11's
 * (exposure.c); without [evm] nothing is read. The check is conservative: a feed the
 * adapter does not know, a breaker that is off, an account without a valuation on-chain,
 * a rise within the adapter's bound, or signers as many as its release threshold let the
 * release go on (the publication then fails, if it does, for a reason of its own). */
#include "engine/internal.h"

#include <stdio.h>
#include <string.h>

#include "custos/reserves.h"

static bool release_unavailable(eng_item *it, const char *what, const custos_error *err)
{
    it->out.release = GW_RELEASE_UNAVAILABLE;
    it->out.reason = CUSTOS_REASON_UNAVAILABLE;
    snprintf(it->out.detail, sizeof it->out.detail,
             "%s (%.160s); nothing was recorded, retry", what, err->message);
    return false;
}

custos_rc gw_eng_adapter_holds(const evm_breaker_view *v, const custos_u256 *value,
                               size_t n_signers, const uint8_t digest[CUSTOS_HASH_LEN],
                               bool *holds, custos_error *err)
{
    *holds = false;
    if (!v->feed_known || v->rise_bps == 0 || !v->has_base ||
        n_signers >= v->release_threshold ||
        memcmp(v->released, digest, CUSTOS_HASH_LEN) == 0)
        return CUSTOS_OK;
    return gw_eng_beyond_bound(&v->base, value, v->rise_bps, holds, err);
}

bool gw_eng_release_on_chain(gw_engine *e, eng_item *it)
{
    custos_record held;
    bool superseded = false;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_store_read_held(&e->store, it->ver.digest, &held, &superseded, &err);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return true; /* the committer answers NOT_FOUND */
    if (rc != CUSTOS_OK)
        return release_unavailable(it, "the held record cannot be read from the store", &err);
    if (superseded) {
        custos_record_clear(&held);
        return true; /* the committer answers FAILED_PRECONDITION */
    }
    evm_breaker_view v;
    uint8_t feed_id[CUSTOS_HASH_LEN];
    custos_feed_id(held.sub.feed, feed_id);
    bool holds = false, go_on = true;
    rc = gw_pledges_breaker(e->pledges, feed_id, held.sub.att.account, &v, &err);
    if (rc != CUSTOS_OK)
        go_on = release_unavailable(it, "the adapter's breaker cannot be read from the chain",
                                    &err);
    else if (gw_eng_adapter_holds(&v, &held.sub.att.collateral_value, held.n_signers,
                                  held.digest, &holds, &err) != CUSTOS_OK)
        go_on = release_unavailable(it, "the adapter's bound cannot be applied", &err);
    if (go_on && holds) {
        char account[2 + 2 * CUSTOS_HASH_LEN + 1];
        gw_eng_hex(held.sub.att.account, CUSTOS_HASH_LEN, account, sizeof account);
        it->out.release = GW_RELEASE_REFUSED;
        it->out.reason = CUSTOS_REASON_HELD_ON_CHAIN;
        snprintf(it->out.detail, sizeof it->out.detail,
                 "the adapter's own breaker holds this rise too: its owner first calls "
                 "releaseHeld(%s, this digest), then release it here; nothing changed",
                 account);
        go_on = false;
    }
    custos_record_clear(&held);
    return go_on;
}
