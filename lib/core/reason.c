#include "custos/reason.h"

#include <string.h>

/* Indexed by reason. */
static const char *const names[CUSTOS_REASON_COUNT] = {
    [CUSTOS_REASON_NONE] = "NONE",
    [CUSTOS_REASON_MALFORMED] = "MALFORMED",
    [CUSTOS_REASON_TOO_LARGE] = "TOO_LARGE",
    [CUSTOS_REASON_WRONG_DOMAIN] = "WRONG_DOMAIN",
    [CUSTOS_REASON_UNKNOWN_FEED] = "UNKNOWN_FEED",
    [CUSTOS_REASON_BAD_SIGNATURE] = "BAD_SIGNATURE",
    [CUSTOS_REASON_NON_CANONICAL_SIGNATURE] = "NON_CANONICAL_SIGNATURE",
    [CUSTOS_REASON_UNKNOWN_SIGNER] = "UNKNOWN_SIGNER",
    [CUSTOS_REASON_REVOKED_SIGNER] = "REVOKED_SIGNER",
    [CUSTOS_REASON_UNAUTHORIZED_SIGNER] = "UNAUTHORIZED_SIGNER",
    [CUSTOS_REASON_DUPLICATE_SIGNER] = "DUPLICATE_SIGNER",
    [CUSTOS_REASON_STALE] = "STALE",
    [CUSTOS_REASON_FUTURE] = "FUTURE",
    [CUSTOS_REASON_EXPIRED] = "EXPIRED",
    [CUSTOS_REASON_TTL_TOO_LONG] = "TTL_TOO_LONG",
    [CUSTOS_REASON_REPLAY] = "REPLAY",
    [CUSTOS_REASON_PLEDGED_ELSEWHERE] = "PLEDGED_ELSEWHERE",
    [CUSTOS_REASON_UNAVAILABLE] = "UNAVAILABLE",
    [CUSTOS_REASON_INTERNAL] = "INTERNAL",
    [CUSTOS_REASON_UNAUTHORIZED_CLIENT] = "UNAUTHORIZED_CLIENT",
    [CUSTOS_REASON_RATE_LIMITED] = "RATE_LIMITED",
    [CUSTOS_REASON_TOO_MANY_STREAMS] = "TOO_MANY_STREAMS",
    [CUSTOS_REASON_FREEZE_NEEDS_CUSTODIAN] = "FREEZE_NEEDS_CUSTODIAN",
    [CUSTOS_REASON_SEQUENCE_JUMP] = "SEQUENCE_JUMP",
};

const char *custos_reason_name(custos_reason r)
{
    /* Unassigned numbers (NULL entries) are unknown too. */
    if ((unsigned)r >= CUSTOS_REASON_COUNT || names[r] == NULL)
        return "UNKNOWN";
    return names[r];
}

custos_reason custos_reason_from_name(const char *name)
{
    for (unsigned i = 1; name != NULL && i < CUSTOS_REASON_COUNT; i++)
        if (names[i] != NULL && strcmp(names[i], name) == 0)
            return (custos_reason)i;
    return CUSTOS_REASON_NONE;
}

bool custos_reason_is_transient(custos_reason r)
{
    return r == CUSTOS_REASON_UNAVAILABLE || r == CUSTOS_REASON_RATE_LIMITED ||
           r == CUSTOS_REASON_TOO_MANY_STREAMS;
}
