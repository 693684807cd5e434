/* The stateless batch rules (verify_batch.h, docs/rules.md rule 20). */
#include "verify_batch.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"
#include "custos/keccak.h"
#include "custos/merkle.h"

static custos_reason vb_refuse(custos_reason r, char *detail, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static custos_reason vb_refuse(custos_reason r, char *detail, size_t cap, const char *fmt, ...)
{
    if (detail != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, cap, fmt, ap);
        va_end(ap);
    }
    return r;
}

static int vb_compare_ids(const void *a, const void *b)
{
    return memcmp(a, b, CUSTOS_HASH_LEN);
}

/* feedId, count, an account twice, and the accounts' leaves against the signed root. Each
 * attestation's struct hash is taken once, for its leaf and its digest (members). */
static custos_reason vb_check_tree(const gw_verifier *v, const gw_batch_submission *bs,
                                   gw_batch_member *members, char *detail, size_t cap)
{
    uint8_t feed_id[CUSTOS_HASH_LEN];
    custos_feed_id(bs->feed, feed_id);
    if (memcmp(feed_id, bs->batch.feed_id, CUSTOS_HASH_LEN) != 0)
        return vb_refuse(CUSTOS_REASON_BATCH_ROOT_MISMATCH, detail, cap,
                         "the batch's feedId is not keccak256 of feed '%.64s'", bs->feed);
    if (bs->batch.count != bs->n_accounts)
        return vb_refuse(CUSTOS_REASON_BATCH_ROOT_MISMATCH, detail, cap,
                         "the batch's count is %" PRIu32 " but it carries %zu accounts",
                         bs->batch.count, bs->n_accounts);
    size_t n = bs->n_accounts;
    uint8_t (*leaves)[CUSTOS_HASH_LEN] = calloc(4 * n, sizeof *leaves);
    if (leaves == NULL)
        return vb_refuse(CUSTOS_REASON_INTERNAL, detail, cap, "the gateway is out of memory");
    uint8_t (*ids)[CUSTOS_HASH_LEN] = leaves + n;
    uint8_t (*struct_hashes)[CUSTOS_HASH_LEN] = leaves + 2 * n;
    uint8_t (*digests)[CUSTOS_HASH_LEN] = leaves + 3 * n;
    /* The accounts' encodings go through Keccak a group at a time, as do their leaves
     * and digests (custos_keccak256_many): a third of the time one by one took. */
    uint8_t enc[CUSTOS_KECCAK_MANY_GROUP][CUSTOS_ATTESTATION_STRUCT_LEN];
    for (size_t first = 0; first < n; first += CUSTOS_KECCAK_MANY_GROUP) {
        size_t m = n - first;
        if (m > CUSTOS_KECCAK_MANY_GROUP)
            m = CUSTOS_KECCAK_MANY_GROUP;
        for (size_t j = 0; j < m; j++)
            custos_attestation_struct_encode(&bs->accounts[first + j].att, enc[j]);
        custos_keccak256_many(enc[0], sizeof enc[0], sizeof enc[0], m, struct_hashes + first);
    }
    custos_batch_leaves_of((const uint8_t (*)[CUSTOS_HASH_LEN])struct_hashes, n, leaves);
    custos_eip712_digests_of(gw_verifier_separator(v),
                             (const uint8_t (*)[CUSTOS_HASH_LEN])struct_hashes, n, digests);
    for (size_t i = 0; i < n; i++) {
        memcpy(members[i].leaf, leaves[i], CUSTOS_HASH_LEN);
        memcpy(members[i].digest, digests[i], CUSTOS_HASH_LEN);
        memcpy(ids[i], bs->accounts[i].att.account, CUSTOS_HASH_LEN);
    }
    custos_reason r = CUSTOS_REASON_NONE;
    qsort(ids, n, sizeof *ids, vb_compare_ids);
    for (size_t i = 1; i < n && r == CUSTOS_REASON_NONE; i++)
        if (memcmp(ids[i - 1], ids[i], CUSTOS_HASH_LEN) == 0)
            r = vb_refuse(CUSTOS_REASON_BATCH_DUPLICATE_ACCOUNT, detail, cap,
                          "an account appears more than once in the batch");
    custos_merkle *t = NULL;
    custos_error err;
    if (r == CUSTOS_REASON_NONE &&
        custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])leaves, n, &t, &err) != CUSTOS_OK)
        r = vb_refuse(CUSTOS_REASON_INTERNAL, detail, cap, "accounts tree: %s", err.message);
    if (r == CUSTOS_REASON_NONE) {
        uint8_t root[CUSTOS_HASH_LEN];
        custos_merkle_root(t, root);
        if (memcmp(root, bs->batch.accounts_root, CUSTOS_HASH_LEN) != 0)
            r = vb_refuse(CUSTOS_REASON_BATCH_ROOT_MISMATCH, detail, cap,
                          "the %zu accounts sent do not hash to the signed accountsRoot", n);
    }
    custos_merkle_free(t);
    free(leaves);
    return r;
}

/* One account alone, after the batch passed. */
static custos_reason vb_check_member(const gw_policy *policy, const gw_feed *feed,
                                     const custos_batch *b, const custos_batch_member *s,
                                     char *detail, size_t cap)
{
    custos_error err;
    if (custos_batch_member_check(b, &s->att, &err) != CUSTOS_OK)
        return vb_refuse(CUSTOS_REASON_BATCH_MEMBER_MISMATCH, detail, cap, "%s", err.message);
    /* Rule 1, as for a single attestation. */
    custos_reason r = gw_verify_value(&s->att, detail, cap);
    if (r != CUSTOS_REASON_NONE)
        return r;
    /* Rule 9: a batch of mixed feeds keeps only the signing feed's accounts. */
    r = gw_verify_account_feed(policy, feed, &s->att, detail, cap);
    if (r != CUSTOS_REASON_NONE)
        return r;
    return gw_verify_positions(&s->att, s->positions, s->n_positions, detail, cap);
}

custos_reason gw_verify_batch(const gw_verifier *v, const gw_batch_submission *bs, uint64_t now,
                              gw_verified *out, gw_batch_member *members,
                              char (*details)[GW_BATCH_DETAIL_MAX], char *detail, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (detail != NULL && cap > 0)
        detail[0] = '\0';
    if (bs->n_accounts == 0)
        return vb_refuse(CUSTOS_REASON_MALFORMED, detail, cap, "the batch carries no account");
    if (bs->n_accounts > CUSTOS_BATCH_MAX_ACCOUNTS)
        return vb_refuse(CUSTOS_REASON_TOO_LARGE, detail, cap,
                         "%zu accounts; a batch holds at most %d", bs->n_accounts,
                         CUSTOS_BATCH_MAX_ACCOUNTS);
    if (bs->n_sigs == 0)
        return vb_refuse(CUSTOS_REASON_MALFORMED, detail, cap, "the batch carries no signature");
    custos_reason r = gw_verify_domain(&gw_verifier_config(v)->domain, &bs->domain, detail, cap);
    if (r != CUSTOS_REASON_NONE)
        return r;
    gw_policy *policy = gw_registry_acquire(gw_verifier_registry(v));
    const gw_feed *feed = gw_policy_find_feed(policy, bs->feed);
    if (feed == NULL) {
        r = vb_refuse(CUSTOS_REASON_UNKNOWN_FEED, detail, cap,
                      "feed '%.64s' is not configured on this gateway", bs->feed);
    } else {
        /* Rule 3 on the batch's own times, which every account carries. */
        custos_attestation times = {0};
        times.as_of = bs->batch.as_of;
        times.valid_until = bs->batch.valid_until;
        r = gw_verify_freshness(feed, &times, now, detail, cap);
    }
    if (r == CUSTOS_REASON_NONE)
        r = vb_check_tree(v, bs, members, detail, cap);
    if (r == CUSTOS_REASON_NONE) {
        out->feed = feed;
        custos_batch_digest_with_separator(gw_verifier_separator(v), &bs->batch, out->digest);
        r = gw_verify_signatures(policy, feed, out->digest, bs->sigs, bs->n_sigs, now, out,
                                 detail, cap);
    }
    if (r != CUSTOS_REASON_NONE) {
        gw_policy_release(policy);
        out->feed = NULL;
        return r;
    }
    gw_policy_prefetch_accounts(policy, bs->accounts, bs->n_accounts);
    for (size_t i = 0; i < bs->n_accounts; i++) {
        /* The detail is written on a refusal alone (vb_refuse and the rules it calls), so
         * the details of accepted accounts are never touched. */
        members[i].reason = vb_check_member(policy, feed, &bs->batch, &bs->accounts[i],
                                            details[i], GW_BATCH_DETAIL_MAX);
    }
    out->policy = policy;
    return CUSTOS_REASON_NONE;
}

void gw_batch_submission_clear(gw_batch_submission *bs)
{
    for (size_t i = 0; bs->accounts != NULL && i < bs->n_accounts; i++)
        custos_batch_member_clear(&bs->accounts[i]);
    free(bs->accounts);
    memset(bs, 0, sizeof *bs);
}
