/* Batches in the committer (internal.h, docs/rules.md rule 20): the batch's sequence and
 * quorum once, then every account through the rules of a single attestation
 * (gw_eng_apply) with the batch's signers, and the batch stored with the accounts it
 * brought, in the same group. */
#include "engine/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"

#include "metrics.h"

void gw_eng_batch_free(eng_batch *b)
{
    if (b == NULL)
        return;
    gw_batch_submission_clear(&b->bs);
    free(b->members);
    free(b->outs);
    free(b->details);
    free(b);
}

/* Account i's outcome from o, the outcome of a single attestation: its detail kept when it
 * was refused. */
static void eng_batch_take(eng_batch *b, size_t i, const gw_submit_outcome *o)
{
    gw_batch_account_outcome *a = &b->outs[i];
    a->reason = o->reason;
    a->state = o->state;
    a->duplicate = o->duplicate;
    memcpy(a->digest, o->digest, sizeof a->digest);
    a->signatures = o->signatures;
    a->threshold = o->threshold;
    a->cursor = o->cursor;
    if (o->reason != CUSTOS_REASON_NONE)
        snprintf(b->details[i], sizeof b->details[i], "%s", o->detail);
}

/* The very batch again (its digest stored): each account answered from what was stored,
 * nothing written. */
static custos_rc eng_batch_again(gw_engine *e, eng_item *it, bool *found, custos_error *err)
{
    eng_batch *b = it->batch;
    gw_store_batch stored;
    custos_rc rc = gw_store_get_batch(&e->store, it->ver.digest, &stored, err);
    *found = rc == CUSTOS_OK;
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return CUSTOS_OK;
    if (rc != CUSTOS_OK)
        return rc;
    b->duplicate = true;
    gw_submit_outcome one;
    for (size_t i = 0; i < b->bs.n_accounts; i++) {
        gw_submit_outcome *o = &one;
        memset(o, 0, sizeof *o);
        const custos_attestation *a = &b->bs.accounts[i].att;
        memcpy(o->digest, b->members[i].digest, CUSTOS_HASH_LEN);
        o->threshold = it->ver.feed->threshold;
        o->signatures = (uint32_t)stored.n_sigs;
        const gw_store_batch_member *m = NULL;
        for (size_t k = 0; k < stored.n_members && m == NULL; k++)
            if (memcmp(stored.members[k].acct.att.account, a->account, CUSTOS_HASH_LEN) == 0)
                m = &stored.members[k];
        if (m == NULL) {
            gw_eng_refuse(o, CUSTOS_REASON_INTERNAL, "the stored batch lacks this account");
        } else if (m->state == CUSTOS_STATE_ACCEPTED || m->state == CUSTOS_STATE_HELD) {
            o->state = m->state;
            o->cursor = m->cursor;
            o->duplicate = true;
        } else {
            gw_eng_refuse(o, m->reason,
                          "refused when this batch was first submitted (%s); nothing changed",
                          custos_reason_name(m->reason));
        }
        eng_batch_take(b, i, o);
    }
    gw_store_batch_clear(&stored);
    return CUSTOS_OK;
}

/* A batch's account as a submission of its own on the batch's feed and domain, shallow
 * (the batch keeps its positions), without touching the signature array: a batch's
 * accounts carry none, and the array is most of the struct, which showed in a batch's
 * profile when copied per account. */
static void eng_member_sub(custos_submission *dst, const gw_batch_submission *bs, size_t i)
{
    memcpy(dst->feed, bs->feed, sizeof dst->feed);
    dst->domain = bs->domain;
    dst->att = bs->accounts[i].att;
    dst->n_sigs = 0;
    dst->positions = bs->accounts[i].positions;
    dst->n_positions = bs->accounts[i].n_positions;
}

/* The batch's row: its fields and signatures, and every account with what became of it. */
static custos_rc eng_batch_store(gw_engine *e, eng_item *it, uint64_t now, custos_error *err)
{
    eng_batch *b = it->batch;
    gw_store_batch sb;
    memset(&sb, 0, sizeof sb);
    snprintf(sb.feed, sizeof sb.feed, "%s", b->bs.feed);
    sb.domain = b->bs.domain;
    memcpy(sb.digest, it->ver.digest, CUSTOS_HASH_LEN);
    sb.batch = b->bs.batch;
    memcpy(sb.sigs, b->bs.sigs, sizeof sb.sigs);
    memcpy(sb.signers, it->ver.signers, sizeof sb.signers);
    sb.n_sigs = it->ver.n_signers;
    sb.accepted_at = now;
    sb.n_members = b->bs.n_accounts;
    sb.members = calloc(sb.n_members, sizeof *sb.members);
    uint8_t *leaves = malloc(sb.n_members * CUSTOS_HASH_LEN);
    if (sb.members == NULL || leaves == NULL) {
        free(sb.members);
        free(leaves);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    }
    sb.leaves = leaves;
    for (size_t i = 0; i < sb.n_members; i++) {
        memcpy(leaves + i * CUSTOS_HASH_LEN, b->members[i].leaf, CUSTOS_HASH_LEN);
        sb.members[i].acct = b->bs.accounts[i]; /* shallow: read only */
        /* An account known already (accepted or held before) keeps its own row. */
        bool kept_here = b->outs[i].reason == CUSTOS_REASON_NONE && !b->outs[i].duplicate;
        sb.members[i].state = kept_here ? b->outs[i].state : CUSTOS_STATE_UNSPECIFIED;
        sb.members[i].cursor = b->outs[i].cursor;
        sb.members[i].reason = b->outs[i].reason;
    }
    custos_rc rc = gw_store_put_batch(&e->store, &sb, err);
    free(sb.members);
    free(leaves);
    if (rc == CUSTOS_OK && e->n_group_batches == e->group_batches_cap) {
        size_t cap = e->group_batches_cap > 0 ? 2 * e->group_batches_cap : 8;
        uint8_t(*grown)[CUSTOS_HASH_LEN] = realloc(e->group_batches, cap * sizeof *grown);
        if (grown == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
        e->group_batches = grown;
        e->group_batches_cap = cap;
    }
    if (rc == CUSTOS_OK)
        memcpy(e->group_batches[e->n_group_batches++], it->ver.digest, CUSTOS_HASH_LEN);
    return rc;
}

custos_rc gw_eng_apply_batch(gw_engine *e, eng_item *it, uint64_t now, uint64_t *head,
                             custos_error *err)
{
    eng_batch *b = it->batch;
    const gw_batch_submission *bs = &b->bs;
    gw_submit_outcome *o = &it->out;
    memcpy(o->digest, it->ver.digest, CUSTOS_HASH_LEN);
    o->threshold = it->ver.feed->threshold;
    o->signatures = (uint32_t)it->ver.n_signers;

    /* The same batch twice in one group (a retry while the first is being committed): the
     * first's row is not readable before the commit, so the retry is told to come back. */
    for (size_t i = 0; i < e->n_group_batches; i++)
        if (memcmp(e->group_batches[i], it->ver.digest, CUSTOS_HASH_LEN) == 0) {
            gw_eng_refuse(o, CUSTOS_REASON_UNAVAILABLE,
                          "this batch is being committed by an earlier call; retry to read "
                          "what became of each account");
            return CUSTOS_OK;
        }
    /* The feed's batch sequence strictly increases (attestation.md §16), as the adapter
     * checks (BatchReplay). */
    uint64_t last = 0;
    custos_rc rc = gw_store_last_batch_sequence(&e->store, bs->feed, &last, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (bs->batch.sequence <= last) {
        bool found = false;
        rc = eng_batch_again(e, it, &found, err);
        if (rc == CUSTOS_OK && !found)
            gw_eng_refuse(o, CUSTOS_REASON_REPLAY,
                          "batch sequence %" PRIu64 " is not above %" PRIu64
                          ", the last batch sequence of feed '%s'",
                          bs->batch.sequence, last, bs->feed);
        return rc;
    }
    /* Rule 7 for the batch as a whole: it collects no signatures at the gateway. */
    bool quorum = false;
    rc = gw_eng_batch_quorum(e, it, now, &quorum, err);
    if (rc != CUSTOS_OK || o->reason != CUSTOS_REASON_NONE)
        return rc;
    if (!quorum) {
        gw_eng_refuse(o, CUSTOS_REASON_BATCH_BELOW_QUORUM,
                      "the batch's %zu signers are short of the quorum of feed '%s' (%" PRIu32
                      "%s); collect its signatures first (custos-attestor cosign), nothing was "
                      "kept", it->ver.n_signers, bs->feed, it->ver.feed->threshold,
                      it->ver.feed->distinct_roles ? " distinct roles" : " signers");
        return CUSTOS_OK;
    }

    custos_record_batch ref;
    memset(&ref, 0, sizeof ref);
    memcpy(ref.digest, it->ver.digest, CUSTOS_HASH_LEN);
    ref.batch = bs->batch;
    memcpy(ref.sigs, bs->sigs, sizeof ref.sigs);
    ref.n_sigs = bs->n_sigs;

    gw_eng_accounts_prefetch(e, bs->accounts, bs->n_accounts);
    gw_store_prefetch_accounts(&e->store, bs->accounts, bs->n_accounts);
    /* Each account as a submission of its own, with the batch's signers. */
    eng_item *one = calloc(1, sizeof *one);
    if (one == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    one->ver = it->ver;
    size_t kept = 0;
    for (size_t i = 0; rc == CUSTOS_OK && i < bs->n_accounts; i++) {
        gw_batch_account_outcome *out = &b->outs[i];
        memcpy(out->digest, b->members[i].digest, CUSTOS_HASH_LEN);
        if (b->members[i].reason != CUSTOS_REASON_NONE) {
            out->reason = b->members[i].reason; /* details[i] is the verifier's */
            continue;
        }
        /* gw_eng_apply reads sub and ver and writes out alone. */
        eng_member_sub(&one->sub, bs, i);
        memcpy(one->ver.digest, out->digest, CUSTOS_HASH_LEN);
        memset(&one->out, 0, sizeof one->out);
        rc = gw_eng_apply(e, one, &ref, now, head, err);
        eng_batch_take(b, i, &one->out);
        if (rc == CUSTOS_OK && out->reason == CUSTOS_REASON_NONE && !out->duplicate)
            kept++;
    }
    free(one);
    /* Nothing new (every account refused or known already): the batch is not stored, and
     * its sequence stays free. */
    if (rc == CUSTOS_OK && kept > 0)
        rc = eng_batch_store(e, it, now, err);
    return rc;
}

void gw_eng_batch_answer(eng_item *it)
{
    eng_batch *b = it->batch;
    gw_batch_outcome o;
    memset(&o, 0, sizeof o);
    o.reason = it->out.reason;
    snprintf(o.detail, sizeof o.detail, "%s", it->out.detail);
    memcpy(o.digest, it->out.digest, sizeof o.digest);
    o.signatures = it->out.signatures;
    o.threshold = it->out.threshold;
    o.duplicate = b->duplicate;
    char count[24];
    snprintf(count, sizeof count, "%zu", b->bs.n_accounts);
    if (o.reason != CUSTOS_REASON_NONE) {
        const gw_log_field f[] = {{"feed", b->bs.feed},
                                  {"accounts", count},
                                  {"reason", custos_reason_name(o.reason)}};
        gw_log_fields(GW_LOG_DEBUG, "batch_refused", it->request_id, f, sizeof f / sizeof f[0],
                      "%s", o.detail);
    } else {
        o.accounts = b->outs;
        o.details = (const char (*)[GW_BATCH_DETAIL_MAX])b->details;
        o.n_accounts = b->bs.n_accounts;
        size_t accepted = 0;
        for (size_t i = 0; i < b->bs.n_accounts; i++) {
            const gw_batch_account_outcome *a = &b->outs[i];
            gw_metrics_observe_result(b->bs.feed, b->bs.accounts[i].att.as_of, a->reason,
                                      a->state, a->duplicate);
            accepted += b->outs[i].reason == CUSTOS_REASON_NONE &&
                        b->outs[i].state == CUSTOS_STATE_ACCEPTED;
        }
        char taken[24];
        snprintf(taken, sizeof taken, "%zu", accepted);
        const gw_log_field f[] = {{"feed", b->bs.feed},
                                  {"accounts", count},
                                  {"accepted", taken},
                                  {"duplicate", b->duplicate ? "true" : NULL}};
        gw_log_fields(GW_LOG_INFO, "batch", it->request_id, f, sizeof f / sizeof f[0],
                      "batch of %s accounts of %s: %s accepted", count, b->bs.feed, taken);
    }
    b->done(it->ctx, &o);
}
