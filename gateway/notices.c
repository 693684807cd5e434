/* SubmitNotice's stateless rules (notices.h, rule 19): the domain, the pledge the notice
 * speaks of, and the custodian's signature. */
#include "notices.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "custos/notice.h"
#include "custos/sig.h"

#include "registry.h"
#include "verify.h"

__attribute__((format(printf, 4, 5))) static custos_reason
notice_refuse(custos_reason why, char *detail, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, cap, fmt, ap);
    va_end(ap);
    return why;
}

custos_reason gw_notice_decode(const Custos__V1__SubmitNoticeRequest *m,
                               gw_notice_submission *out, char *detail, size_t cap)
{
    memset(out, 0, sizeof *out);
    const Custos__V1__CollateralNotice *n = m->notice;
    if (m->domain == NULL || n == NULL)
        return notice_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "a notice needs its domain and notice");
    if (m->domain->verifying_contract.len != CUSTOS_ADDRESS_LEN)
        return notice_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "domain.verifying_contract must be 20 bytes (got %zu)",
                             m->domain->verifying_contract.len);
    struct {
        const char *name;
        size_t got, want;
    } const sizes[] = {
        {"notice.account", n->account.len, CUSTOS_HASH_LEN},
        {"notice.lender", n->lender.len, CUSTOS_ADDRESS_LEN},
        {"notice.exposure", n->exposure.len, CUSTOS_U256_LEN},
        {"notice.collateral_value", n->collateral_value.len, CUSTOS_U256_LEN},
        {"signature", m->signature.len, CUSTOS_SIGNATURE_LEN},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].got != sizes[i].want)
            return notice_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                                 "%s must be %zu bytes (got %zu)", sizes[i].name,
                                 sizes[i].want, sizes[i].got);
    if (n->state > CUSTOS_LOAN_STATE_MAX)
        return notice_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "notice.state %u is not one of 0 to 3", n->state);
    out->domain.chain_id = m->domain->chain_id;
    memcpy(out->domain.verifying_contract, m->domain->verifying_contract.data,
           CUSTOS_ADDRESS_LEN);
    custos_notice *dst = &out->stored.n;
    memcpy(dst->account, n->account.data, CUSTOS_HASH_LEN);
    memcpy(dst->lender, n->lender.data, CUSTOS_ADDRESS_LEN);
    dst->state = (uint8_t)n->state;
    dst->ltv_bps = n->ltv_bps;
    custos_u256_from_be(&dst->exposure, n->exposure.data);
    custos_u256_from_be(&dst->collateral_value, n->collateral_value.data);
    dst->deadline = n->deadline;
    dst->sequence = n->sequence;
    memcpy(out->stored.sig.bytes, m->signature.data, CUSTOS_SIGNATURE_LEN);
    custos_error err;
    if (custos_notice_check(dst, &err) != CUSTOS_OK)
        return notice_refuse(CUSTOS_REASON_MALFORMED, detail, cap, "%s", err.message);
    return CUSTOS_REASON_NONE;
}

/* The account's feed into s, or why the account is not pledged to the notice's lender. */
static custos_reason notice_pledge(gw_engine *e, gw_notice_submission *s, char *detail,
                                   size_t cap)
{
    const custos_notice *n = &s->stored.n;
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_get_latest(e, n->account, &rec, &err);
    custos_reason why = CUSTOS_REASON_NONE;
    char lender[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(n->lender, lender);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        why = notice_refuse(CUSTOS_REASON_NOTICE_NOT_PLEDGED, detail, cap,
                            "the account has no accepted attestation at this gateway");
    else if (rc != CUSTOS_OK)
        why = notice_refuse(CUSTOS_REASON_UNAVAILABLE, detail, cap,
                            "the account's pledge cannot be read now: %s", err.message);
    else if (rec.sub.att.kind == CUSTOS_KIND_RELEASE)
        why = notice_refuse(CUSTOS_REASON_NOTICE_NOT_PLEDGED, detail, cap,
                            "the account's latest attestation is a release: it is pledged to "
                            "no lender");
    else if (memcmp(rec.sub.att.beneficiary, n->lender, CUSTOS_ADDRESS_LEN) != 0)
        why = notice_refuse(CUSTOS_REASON_NOTICE_NOT_PLEDGED, detail, cap,
                            "the account is not pledged to %s at this gateway", lender);
    if (why == CUSTOS_REASON_NONE)
        snprintf(s->stored.feed, sizeof s->stored.feed, "%s", rec.sub.feed);
    custos_record_clear(&rec);
    return why;
}

custos_reason gw_notice_verify(const gw_config *cfg, gw_engine *e, gw_notice_submission *s,
                               uint64_t now, char *detail, size_t cap)
{
    custos_reason why = gw_verify_domain(&cfg->domain, &s->domain, detail, cap);
    if (why == CUSTOS_REASON_NONE)
        why = notice_pledge(e, s, detail, cap);
    if (why != CUSTOS_REASON_NONE)
        return why;
    custos_notice_digest(&s->domain, &s->stored.n, s->stored.digest);
    gw_policy *policy = gw_registry_acquire(gw_engine_registry(e));
    const gw_feed *feed = gw_policy_find_feed(policy, s->stored.feed);
    if (feed == NULL)
        why = notice_refuse(CUSTOS_REASON_UNKNOWN_FEED, detail, cap,
                            "the account's feed '%s' is no longer configured", s->stored.feed);
    gw_verified ver;
    memset(&ver, 0, sizeof ver);
    if (why == CUSTOS_REASON_NONE)
        why = gw_verify_signatures(policy, feed, s->stored.digest, &s->stored.sig, 1, now, &ver,
                                   detail, cap);
    if (why == CUSTOS_REASON_NONE && ver.roles[0] != GW_ROLE_CUSTODIAN) {
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(ver.signers[0], hex);
        why = notice_refuse(CUSTOS_REASON_UNAUTHORIZED_SIGNER, detail, cap,
                            "a notice must be signed by a custodian of feed '%s'; %s is its %s",
                            s->stored.feed, hex, gw_role_name(ver.roles[0]));
    }
    if (why == CUSTOS_REASON_NONE)
        memcpy(s->stored.signer, ver.signers[0], CUSTOS_ADDRESS_LEN);
    gw_policy_release(policy);
    return why;
}
