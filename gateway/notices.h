/* SubmitNotice: decoding a custodian's signed collateral notice and the rules it must meet
 * before the engine stores it (rule 19). The replay rule (sequence above the latest notice
 * of the same account and lender) needs the store and belongs to gw_engine_put_notice. */
#ifndef GATEWAY_NOTICES_H
#define GATEWAY_NOTICES_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/reason.h"
#include "custos/v1/gateway.pb-c.h"

#include "config/config.h"
#include "engine/engine.h"
#include "store/store.h"

typedef struct gw_notice_submission {
    /* n and sig from the request; feed, digest and signer filled in by
     * gw_notice_verify. */
    gw_store_notice stored;
    custos_domain domain;
} gw_notice_submission;

/* MALFORMED for a missing or wrongly sized field, or a notice custos_notice_check refuses
 * (a state above 3, a margin call without a deadline, a deadline on another state,
 * sequence 0). */
custos_reason gw_notice_decode(const Custos__V1__SubmitNoticeRequest *m,
                               gw_notice_submission *out, char *detail, size_t cap);

/* In this order: WRONG_DOMAIN unless cfg's domain; NOTICE_NOT_PLEDGED unless the account's
 * latest accepted record at this gateway is a valuation or a freeze naming the notice's
 * lender as beneficiary (UNAVAILABLE when the store cannot say); the signature
 * (BAD_SIGNATURE, NON_CANONICAL_SIGNATURE, UNKNOWN_SIGNER, REVOKED_SIGNER, ...) against
 * the account's feed, then UNAUTHORIZED_SIGNER unless its signer is a custodian of that
 * feed. now is unix seconds. */
custos_reason gw_notice_verify(const gw_config *cfg, gw_engine *e, gw_notice_submission *s,
                               uint64_t now, char *detail, size_t cap);

#endif
