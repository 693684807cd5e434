/* The stateless batch rules (docs/rules.md rule 20): a batch's signatures are verified once
 * for all its accounts, then each account is judged alone. The stateful rules (sequence,
 * pledge, breaker) are the engine's, per account, as for single attestations. */
#ifndef GATEWAY_VERIFY_BATCH_H
#define GATEWAY_VERIFY_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/reason.h"

#include "verify.h"

/* A batch as the gateway receives it: the signed batch fields and signatures, and each
 * account's attestation with its positions (its feed and domain are the batch's). */
typedef struct gw_batch_submission {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain domain;
    custos_batch batch;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
    custos_batch_member *accounts;
    size_t n_accounts;
} gw_batch_submission;

/* Frees what a gw_batch_submission owns (its accounts, allocated, and their positions) and
 * zeroes it: for a batch decoded from a request (rpc/batch_decode.h). */
void gw_batch_submission_clear(gw_batch_submission *bs);

/* Longest detail of an account's refusal, with its NUL. */
#define GW_BATCH_DETAIL_MAX 256

/* Per account: CUSTOS_REASON_NONE when the account may go on to the engine's rules; its
 * attestation's digest and leaf, hashed once here for the engine and the store. A
 * refusal's detail goes to a separate array, written for refused accounts alone: a batch
 * of 4,096 would otherwise write a megabyte of details that are nearly all empty. */
typedef struct gw_batch_member {
    custos_reason reason;
    uint8_t digest[CUSTOS_HASH_LEN];
    uint8_t leaf[CUSTOS_HASH_LEN];
} gw_batch_member;

/* The whole batch, in this order: account count (MALFORMED for none, TOO_LARGE above
 * CUSTOS_BATCH_MAX_ACCOUNTS), signature count, domain, feed, the batch's freshness (rule 3
 * on its asOf and validUntil), feedId and count against what it carries and each account's
 * leaf against accountsRoot (BATCH_ROOT_MISMATCH; members[i].leaf and .digest are filled
 * from here on), an account twice
 * (BATCH_DUPLICATE_ACCOUNT), the signatures over the batch digest once (rule 2, as
 * gw_verify_signatures). On a refusal of the batch nothing is judged per account and
 * out->policy is NULL. Otherwise out holds the batch's signers (out->digest the batch
 * digest) and a reference to the policy, and members[i] says whether account i is refused
 * alone: BATCH_MEMBER_MISMATCH (not a valuation, or other times), MALFORMED
 * (collateralValue above type(uint128).max), UNREGISTERED_ACCOUNT or
 * ACCOUNT_OF_OTHER_FEED (rule 9), MALFORMED (positions that do not hash to its root),
 * with details[i] saying why; details[i] of an account not refused is left as it was.
 * members and details have room for bs->n_accounts. Thread-safe. */
custos_reason gw_verify_batch(const gw_verifier *v, const gw_batch_submission *bs, uint64_t now,
                              gw_verified *out, gw_batch_member *members,
                              char (*details)[GW_BATCH_DETAIL_MAX], char *detail, size_t cap);

#endif
