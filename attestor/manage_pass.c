/* One pledge's pass of the collateral manager (manage_pass.h). */
#include "manage_pass.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "custos/notice.h"

/* One step of the newest notice's publication to CustosNotices; a failure is said and
 * counted, and the next pass tries again (manage_publish.h). */
static void manage_publish(at_manager *m, at_manage_state *st)
{
    custos_error err;
    if (m->pub == NULL || !st->pub.has_notice)
        return;
    if (at_publish_step(m->pub, m->state_path, m->label, st, &err) != CUSTOS_OK) {
        m->publish_failures++;
        at_cmd_error("manage: %spublication: %s", m->label, err.message);
    }
}

/* Delivers the pending notice; CUSTOS_OK once the gateway has it (new or duplicate). */
static custos_rc manage_deliver(at_manager *m, at_manage_state *st, custos_error *err)
{
    bool duplicate = false;
    uint64_t cursor = 0;
    custos_rc rc = custos_client_submit_notice(m->client, m->domain, &st->pending,
                                               &st->pending_sig, &duplicate, NULL, &cursor, err);
    if (rc != CUSTOS_OK)
        return rc;
    printf("%snotice %s sequence %" PRIu64 " ACCEPTED%s, cursor %" PRIu64 "\n", m->label,
           custos_loan_state_name((custos_loan_state)st->pending.state), st->pending.sequence,
           duplicate ? " (duplicate)" : "", cursor);
    st->has_pending = false;
    return at_manage_state_save(m->state_path, st, err);
}

/* The borrower's debt in loan-token units: read from the chain by the manager itself, or
 * as the gateway reads it (GetPledge); both are CustosPledges' releaseBlocked. */
static custos_rc manage_debt(at_manager *m, custos_u256 *debt, custos_error *err)
{
    if (m->chain != NULL)
        return at_chain_debt(m->chain, m->account, m->lender, debt, err);
    custos_pledge *p = NULL;
    custos_rc rc = custos_client_get_pledge(m->client, m->account, m->lender, &p, err);
    if (rc == CUSTOS_OK && !p->exposure_readable)
        rc = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                              "the market cannot report the pledge's exposure");
    if (rc == CUSTOS_OK)
        *debt = p->debt;
    custos_pledge_free(p);
    return rc;
}

/* The collateral value the LTV counts: the latest accepted valuation pledged to the
 * lender; 0 under a freeze. CUSTOS_ERR_NOT_FOUND when the account is not pledged to it. */
static custos_rc manage_collateral(at_manager *m, custos_u256 *out, custos_error *err)
{
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_rc rc = custos_client_get_latest(m->client, m->account, &rec, err);
    if (rc == CUSTOS_OK)
        m->cursor = rec.cursor;
    if (rc == CUSTOS_OK && (rec.sub.att.kind == CUSTOS_KIND_RELEASE ||
                            memcmp(rec.sub.att.beneficiary, m->lender, CUSTOS_ADDRESS_LEN) != 0))
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "the account's latest attestation does not pledge it to the "
                              "lender");
    if (rc == CUSTOS_OK && rec.sub.att.kind == CUSTOS_KIND_FREEZE)
        custos_u256_from_u64(out, 0);
    else if (rc == CUSTOS_OK)
        *out = rec.sub.att.collateral_value;
    custos_record_clear(&rec);
    return rc;
}

/* Liquidation by the agent (docs/lending.md §5): a pledge in liquidation is decided once;
 * each pass then advances the agent's repay by at most one step, and the release after it
 * as far as it goes (signed once the debt reads zero, then submitted). */
static custos_rc manage_liquidate(at_manager *m, at_manage_state *st, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    if (m->liq == NULL || st->status.state != CUSTOS_LOAN_LIQUIDATION)
        return CUSTOS_OK;
    if (st->liq.step == AT_LIQ_NONE) {
        st->liq.step = AT_LIQ_DECIDED;
        rc = at_manage_state_save(m->state_path, st, err);
    }
    at_liq_step before = st->liq.step;
    /* The pledge the agent acts on, read from the chain itself with --rpc. */
    custos_pledge *p = NULL, onchain;
    if (rc == CUSTOS_OK && before < AT_LIQ_REPAY_MINED && m->chain != NULL) {
        rc = at_chain_pledge(m->chain, m->account, m->lender, &onchain, err);
        p = rc == CUSTOS_OK ? &onchain : NULL;
    } else if (rc == CUSTOS_OK && before < AT_LIQ_REPAY_MINED) {
        rc = custos_client_get_pledge(m->client, m->account, m->lender, &p, err);
    }
    if (rc == CUSTOS_OK && p != NULL)
        rc = at_liquidate_step(m->liq, p, m->state_path, st, err);
    if (p != &onchain)
        custos_pledge_free(p);
    m->liq_waiting = st->liq.step == AT_LIQ_DECIDED && at_liquidator_waiting(m->liq);
    m->liq_reverts = st->liq.reverts;
    if (rc == CUSTOS_OK && st->liq.step != before)
        printf("%sliquidation %s\n", m->label, at_liq_step_name(st->liq.step));
    m->liq_step = st->liq.step;
    /* The sale that funded the agent's repay leaves the book before the release
     * (docs/custodian.md §15); a decision that found no debt sold nothing. */
    if (rc == CUSTOS_OK && m->book.holdings_path != NULL &&
        st->liq.step == AT_LIQ_REPAY_MINED && st->liq.repay_block != 0 &&
        !st->liq.book_recorded) {
        rc = at_book_record_sale(&m->book, &st->liq, (uint64_t)time(NULL), err);
        st->liq.book_recorded = rc == CUSTOS_OK;
        if (rc == CUSTOS_OK)
            rc = at_manage_state_save(m->state_path, st, err);
        if (rc == CUSTOS_OK)
            printf("%sliquidation sale recorded in the book\n", m->label);
    }
    /* The release, once the repay is mined: signed only when the debt reads zero. */
    for (int i = 0; rc == CUSTOS_OK && i < 2; i++) {
        before = st->liq.step;
        rc = at_manage_release_step(&m->release, st, err);
        if (rc == CUSTOS_OK && st->liq.step != before)
            printf("%sliquidation %s\n", m->label, at_liq_step_name(st->liq.step));
        m->liq_step = st->liq.step;
    }
    fflush(stdout);
    return rc;
}

/* One pass: CUSTOS_OK, or the error that stopped it (the next pass tries again). */
custos_rc at_manage_pass(at_manager *m, custos_error *err)
{
    at_manage_state st;
    custos_rc rc = at_manage_state_load(m->state_path, &st, err);
    if (rc == CUSTOS_OK) {
        m->status = st.status;
        m->liq_step = st.liq.step;
        m->liq_reverts = st.liq.reverts;
    }
    if (rc == CUSTOS_OK)
        manage_publish(m, &st);
    if (rc == CUSTOS_OK && st.has_pending)
        rc = manage_deliver(m, &st, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* A liquidation ended by an accepted release leaves nothing to watch. */
    m->released = st.liq.step == AT_LIQ_RELEASE_ACCEPTED;
    if (m->released) {
        printf("%sreleased after liquidation: nothing to manage\n", m->label);
        fflush(stdout);
        return CUSTOS_OK;
    }
    /* A release signed may already be accepted (a crash before the step was written), so
     * the latest attestation no longer pledges the account and the LTV cannot be read: the
     * release is submitted again instead (docs/lending.md §10). */
    if (st.liq.step == AT_LIQ_RELEASE_SIGNED)
        return manage_liquidate(m, &st, err);
    custos_u256 debt, exposure, collateral;
    rc = manage_debt(m, &debt, err);
    if (rc == CUSTOS_OK)
        rc = custos_u256_mul_div(&exposure, &debt, &m->price, &m->scale);
    if (rc == CUSTOS_OK)
        rc = manage_collateral(m, &collateral, err);
    if (rc != CUSTOS_OK) {
        m->read_failures++;
        return rc;
    }
    uint32_t ltv = 0;
    if (rc == CUSTOS_OK)
        rc = custos_ltv_bps(&exposure, &collateral, &ltv, err);
    uint64_t now = (uint64_t)time(NULL);
    custos_loan_status next;
    custos_ltv_cause cause = CUSTOS_LTV_UNCHANGED;
    if (rc == CUSTOS_OK)
        rc = custos_ltv_step(&m->policy, &m->cal, &st.status, ltv, now, &next, &cause, err);
    if (rc != CUSTOS_OK)
        return rc;
    m->ltv = ltv;
    m->status = next;
    m->last_read = now;
    printf("%sltv_bps %u state %s cause %s\n", m->label, ltv, custos_loan_state_name(next.state),
           custos_ltv_cause_name(cause));
    if (next.state == st.status.state)
        return manage_liquidate(m, &st, err);
    custos_notice *n = &st.pending;
    memset(n, 0, sizeof *n);
    memcpy(n->account, m->account, CUSTOS_HASH_LEN);
    memcpy(n->lender, m->lender, CUSTOS_ADDRESS_LEN);
    n->state = (uint8_t)next.state;
    n->ltv_bps = ltv;
    n->exposure = exposure;
    n->collateral_value = collateral;
    n->deadline = next.deadline;
    n->sequence = st.sequence + 1;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_notice_digest(m->domain, n, digest);
    rc = at_signer_sign(m->signer, digest, &st.pending_sig, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* Written before it is submitted: after a crash the restart delivers this notice. */
    st.status = next;
    st.sequence = n->sequence;
    st.has_pending = true;
    if (m->pub != NULL)
        at_publish_queue(&st, n, &st.pending_sig);
    rc = at_manage_state_save(m->state_path, &st, err);
    if (rc == CUSTOS_OK)
        rc = manage_deliver(m, &st, err);
    /* On-chain whether or not the gateway has it yet: the chain checks it itself. */
    if (rc == CUSTOS_OK || rc == CUSTOS_ERR_UNAVAILABLE)
        manage_publish(m, &st);
    if (rc == CUSTOS_OK)
        rc = manage_liquidate(m, &st, err);
    fflush(stdout);
    return rc;
}

