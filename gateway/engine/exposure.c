/* Rule 11 at the gateway: a release of a pledged account goes on to the committer only
 * when the pledge registry on-chain says the adapter would let it end the pledge now: no
 * exposure in the lending market, or the lender's consent to this release's sequence.
 *
 * The pledge checked is the one the release names. A release must name the account's
 * current pledge exactly (rule 5, as the adapter's PledgedElsewhere): one naming the zero
 * address, or another lender, is left to the committer, which refuses it unless the
 * account is not pledged to anyone. The read runs on a verifier thread, bounded by [evm]
 * exposure_timeout_ms; the committer never waits on the network, though the submissions
 * behind the release in the ring wait for its answer before they are committed (order is
 * kept). */
#include "engine/internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "custos/sig.h"

static const uint8_t exp_zero[CUSTOS_ADDRESS_LEN];

static custos_reason exp_refuse(custos_reason r, char *detail, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static custos_reason exp_refuse(custos_reason r, char *detail, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, cap, fmt, ap);
    va_end(ap);
    return r;
}

/* Whether the account's latest record pledges it to beneficiary (a valuation or a freeze
 * naming it): without a chain to ask, the gateway's own state is all there is. */
static custos_reason exp_pledged_to(gw_engine *e, const custos_attestation *a, bool *pledged,
                                    char *detail, size_t cap)
{
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_store_get_latest(&e->store, a->account, &rec, &err);
    *pledged = rc == CUSTOS_OK && rec.sub.att.kind != CUSTOS_KIND_RELEASE &&
               memcmp(rec.sub.att.beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN) == 0;
    custos_record_clear(&rec);
    if (rc == CUSTOS_OK || rc == CUSTOS_ERR_NOT_FOUND)
        return CUSTOS_REASON_NONE;
    return exp_refuse(CUSTOS_REASON_UNAVAILABLE, detail, cap,
                      "the account's pledge cannot be read from the store (%s); nothing was "
                      "recorded, retry",
                      err.message);
}

custos_reason gw_eng_release_exposure(gw_engine *e, const custos_submission *s, char *detail,
                                      size_t cap)
{
    const custos_attestation *a = &s->att;
    const uint8_t *beneficiary = a->beneficiary;
    if (memcmp(beneficiary, exp_zero, CUSTOS_ADDRESS_LEN) == 0)
        return CUSTOS_REASON_NONE; /* names no pledge: rule 5 decides */
    char lender[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(beneficiary, lender);
    if (e->pledges == NULL) {
        if (e->cfg->release_unchecked)
            return CUSTOS_REASON_NONE;
        bool pledged = false;
        custos_reason r = exp_pledged_to(e, a, &pledged, detail, cap);
        if (r != CUSTOS_REASON_NONE || !pledged)
            return r; /* a failed read, or not this pledge: rule 5 decides the rest */
        return exp_refuse(CUSTOS_REASON_EXPOSURE_UNCHECKED, detail, cap,
                          "the account is pledged to %s and this gateway has no [evm] to read "
                          "the lender's exposure (rule 11); configure [evm], or set [gateway] "
                          "release_without_exposure_check = true if no lending market holds it",
                          lender);
    }
    gw_exposure x;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_pledges_release_blocked(e->pledges, a->account, beneficiary, a->sequence,
                                              &x, &err);
    if (rc != CUSTOS_OK)
        return exp_refuse(CUSTOS_REASON_EXPOSURE_UNREADABLE, detail, cap,
                          "the lender's exposure could not be read from the chain (%s); "
                          "nothing was recorded, retry",
                          err.message);
    if (!x.installed || !x.blocked)
        return CUSTOS_REASON_NONE;
    if (!x.readable)
        return exp_refuse(CUSTOS_REASON_EXPOSURE_OUTSTANDING, detail, cap,
                          "the pledge to %s has exposure its market cannot report "
                          "(ExposureUnknown): the lender must consent to release sequence "
                          "%" PRIu64 " (rule 11)",
                          lender, a->sequence);
    char amount[80];
    if (!custos_u256_is_zero(&x.debt)) {
        if (custos_u256_to_dec(&x.debt, amount, sizeof amount) != CUSTOS_OK)
            snprintf(amount, sizeof amount, "?");
        return exp_refuse(CUSTOS_REASON_EXPOSURE_OUTSTANDING, detail, cap,
                          "the borrower owes %s loan-token units in the market of the pledge "
                          "to %s: repay it, or the lender consents to release sequence "
                          "%" PRIu64 " (rule 11)",
                          amount, lender, a->sequence);
    }
    if (custos_u256_to_dec(&x.elsewhere, amount, sizeof amount) != CUSTOS_OK)
        snprintf(amount, sizeof amount, "?");
    return exp_refuse(CUSTOS_REASON_EXPOSURE_OUTSTANDING, detail, cap,
                      "%s receipt units of the pledge to %s are held by the market beyond the "
                      "borrower's collateral (ReceiptsElsewhere): bring them back, or the "
                      "lender consents to release sequence %" PRIu64 " (rule 11)",
                      amount, lender, a->sequence);
}
