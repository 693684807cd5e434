/* The release after a liquidation (manage_release.h). */
#include "manage_release.h"

#include <string.h>
#include <time.h>

#include "custos/eip712.h"
#include "seqstate.h"

/* The release as logged: everything else is fixed by the pledge. */
static custos_rc release_build(const at_release_ctx *c, const at_liq_log *g,
                               custos_submission *s, custos_error *err)
{
    memset(s, 0, sizeof *s);
    size_t feed_len = strlen(c->feed);
    if (feed_len > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "--feed: longer than %d bytes",
                                CUSTOS_FEED_MAX);
    memcpy(s->feed, c->feed, feed_len + 1);
    s->domain = *c->domain;
    memcpy(s->att.account, c->account, CUSTOS_HASH_LEN);
    memcpy(s->att.beneficiary, c->lender, CUSTOS_ADDRESS_LEN);
    s->att.kind = CUSTOS_KIND_RELEASE;
    s->att.as_of = g->release_as_of;
    s->att.valid_until = g->release_valid_until;
    s->att.sequence = g->release_sequence;
    s->sigs[0] = g->release_sig;
    s->n_sigs = 1;
    return CUSTOS_OK;
}

/* AT_LIQ_REPAY_MINED: the debt must read zero before anything is signed. */
static custos_rc release_sign(const at_release_ctx *c, at_manage_state *st, custos_error *err)
{
    custos_pledge *p = NULL;
    custos_rc rc = custos_client_get_pledge(c->client, c->account, c->lender, &p, err);
    bool repaid = rc == CUSTOS_OK && p->exposure_readable && custos_u256_is_zero(&p->debt);
    custos_pledge_free(p);
    if (rc != CUSTOS_OK || !repaid)
        return rc;
    at_liq_log *g = &st->liq;
    uint64_t now = (uint64_t)time(NULL);
    g->release_as_of = now;
    g->release_valid_until = now + c->validity_seconds;
    rc = at_seqstate_next(c->seq_path, c->account, &g->release_sequence, err);
    custos_submission s;
    if (rc == CUSTOS_OK)
        rc = release_build(c, g, &s, err);
    if (rc == CUSTOS_OK) {
        uint8_t digest[CUSTOS_HASH_LEN];
        custos_attestation_digest(&s.domain, &s.att, digest);
        rc = at_signer_sign(c->signer, digest, &g->release_sig, err);
    }
    if (rc != CUSTOS_OK)
        return rc;
    /* Logged before it is submitted: a restart submits this release, not a new one. */
    g->step = AT_LIQ_RELEASE_SIGNED;
    return at_manage_state_save(c->state_path, st, err);
}

static custos_rc release_submit(const at_release_ctx *c, at_manage_state *st,
                                custos_error *err)
{
    custos_submission s;
    custos_rc rc = release_build(c, &st->liq, &s, err);
    custos_submit_result res;
    memset(&res, 0, sizeof res);
    if (rc == CUSTOS_OK)
        rc = custos_client_submit(c->client, &s, &res, err);
    if (rc != CUSTOS_OK || res.state != CUSTOS_STATE_ACCEPTED)
        return rc;
    st->liq.step = AT_LIQ_RELEASE_ACCEPTED;
    return at_manage_state_save(c->state_path, st, err);
}

custos_rc at_manage_release_step(const at_release_ctx *c, at_manage_state *st,
                                 custos_error *err)
{
    switch (st->liq.step) {
    case AT_LIQ_REPAY_MINED:
        return release_sign(c, st, err);
    case AT_LIQ_RELEASE_SIGNED:
        return release_submit(c, st, err);
    default:
        return CUSTOS_OK;
    }
}
