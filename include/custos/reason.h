/* Why the gateway refuses a submission. Numbers match custos.v1.Reason in proto/. */
#ifndef CUSTOS_REASON_H
#define CUSTOS_REASON_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum custos_reason {
    CUSTOS_REASON_NONE = 0,
    CUSTOS_REASON_MALFORMED = 1,
    CUSTOS_REASON_TOO_LARGE = 2,
    CUSTOS_REASON_WRONG_DOMAIN = 3,
    CUSTOS_REASON_UNKNOWN_FEED = 4,
    CUSTOS_REASON_BAD_SIGNATURE = 5,
    CUSTOS_REASON_NON_CANONICAL_SIGNATURE = 6,
    CUSTOS_REASON_UNKNOWN_SIGNER = 7,
    CUSTOS_REASON_REVOKED_SIGNER = 8,
    CUSTOS_REASON_UNAUTHORIZED_SIGNER = 9,
    CUSTOS_REASON_DUPLICATE_SIGNER = 10,
    CUSTOS_REASON_STALE = 11,
    CUSTOS_REASON_FUTURE = 12,
    CUSTOS_REASON_EXPIRED = 13,
    CUSTOS_REASON_TTL_TOO_LONG = 14,
    CUSTOS_REASON_REPLAY = 15,
    CUSTOS_REASON_PLEDGED_ELSEWHERE = 16,
    CUSTOS_REASON_UNAVAILABLE = 17,
    CUSTOS_REASON_INTERNAL = 18,
    /* The caller's client certificate is not mapped to the submission's feed. */
    CUSTOS_REASON_UNAUTHORIZED_CLIENT = 19,
    /* The caller submits faster than its rate limit allows. */
    CUSTOS_REASON_RATE_LIMITED = 20,
    /* The caller already holds as many open streams as it may. */
    CUSTOS_REASON_TOO_MANY_STREAMS = 21,
    /* Numbers left out between the ranges below are unassigned (custos_reason_name
     * answers "UNKNOWN"); each group of rules keeps its own range of ten. */
    /* A freeze without a custodian-role signature (rule 7; on-chain FreezeNeedsCustodian). */
    CUSTOS_REASON_FREEZE_NEEDS_CUSTODIAN = 30,
    /* A sequence more than the feed's max_sequence_step above the account's last
     * (rule 12; on-chain SequenceJump). */
    CUSTOS_REASON_SEQUENCE_JUMP = 31,
    /* An account no feed registered (rule 9; on-chain UnknownAccount). */
    CUSTOS_REASON_UNREGISTERED_ACCOUNT = 40,
    /* An account registered to another feed than the submission's (rule 9; on-chain
     * AccountOfOtherFeed). */
    CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED = 41,
    /* A release while the lender still has exposure against the pledge (debt, receipts
     * elsewhere, or exposure the market cannot report) and has not consented (rule 11). */
    CUSTOS_REASON_EXPOSURE_OUTSTANDING = 50,
    /* The gateway could not read the pledge's exposure from the chain: try again later. */
    CUSTOS_REASON_EXPOSURE_UNREADABLE = 51,
    /* A release of a pledged account on a gateway that has no [evm] to read exposure. */
    CUSTOS_REASON_EXPOSURE_UNCHECKED = 52,
    /* A submission that would start a pending (below quorum) attestation beyond the pending
     * work its first signer or its feed may have stored ([limits] max_pending_*). */
    CUSTOS_REASON_PENDING_LIMIT = 53,
    /* A reserves attestation without the feed's quorum, on a feed that requires it
     * ([feed] reserves_quorum = true; rules.md §A.4). */
    CUSTOS_REASON_RESERVES_BELOW_QUORUM = 60,
    /* A collateral notice for an account the gateway does not see pledged to the
     * notice's lender (rule 19). */
    CUSTOS_REASON_NOTICE_NOT_PLEDGED = 70,
    /* A batch whose accounts do not hash to its signed accountsRoot, or whose count or
     * feedId does not match what it carries (rule 20): the whole batch is refused. */
    CUSTOS_REASON_BATCH_ROOT_MISMATCH = 80,
    /* An account of a batch that is not a valuation or does not carry the batch's asOf and
     * validUntil (rule 20): that account alone is refused. Also a signature of its own sent
     * for an account of a batch the breaker holds (rule 6): an operator releases it. */
    CUSTOS_REASON_BATCH_MEMBER_MISMATCH = 81,
    /* A batch listing one account more than once (rule 20): the whole batch is refused. */
    CUSTOS_REASON_BATCH_DUPLICATE_ACCOUNT = 82,
    /* A batch whose signers do not make the feed's quorum (rules 7 and 20): the whole batch
     * is refused and nothing is kept; its signatures are collected before it is sent
     * (`custos-attestor cosign`). */
    CUSTOS_REASON_BATCH_BELOW_QUORUM = 83,
    /* An operator's release of a held rise (rule 6) that the adapter's own breaker would
     * refuse (BreakerHeld): its owner releases the digest on-chain first (releaseHeld),
     * then the gateway's operator. Nothing changed at the gateway. */
    CUSTOS_REASON_HELD_ON_CHAIN = 90
} custos_reason;

/* One above the highest reason; the numbers below it are not all assigned
 * (custos_reason_name answers "UNKNOWN" for a gap). */
#define CUSTOS_REASON_COUNT 91

/* "STALE", ...; "NONE" for 0, "UNKNOWN" for a number no reason has. */
const char *custos_reason_name(custos_reason r);
/* Inverse of custos_reason_name; CUSTOS_REASON_NONE when the name is unknown. */
custos_reason custos_reason_from_name(const char *name);
/* Whether a refusal for r says "not now" rather than "not this": the gateway cannot take
 * the request at the moment (UNAVAILABLE, EXPOSURE_UNREADABLE) or limits the caller
 * (RATE_LIMITED, TOO_MANY_STREAMS). The client reports these as CUSTOS_ERR_UNAVAILABLE: send the same
 * request again later, never file it as refused. */
bool custos_reason_is_transient(custos_reason r);

#ifdef __cplusplus
}
#endif
#endif
