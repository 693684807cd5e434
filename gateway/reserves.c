/* SubmitReserves decoding and rules (reserves.h). */
#include "reserves.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/sig.h"

#include "verify.h"

static custos_reason res_refuse(custos_reason r, char *detail, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static custos_reason res_refuse(custos_reason r, char *detail, size_t cap, const char *fmt, ...)
{
    if (detail != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, cap, fmt, ap);
        va_end(ap);
    }
    return r;
}

static bool res_fixed(const ProtobufCBinaryData *b, uint8_t *out, size_t len)
{
    if (b->len != len)
        return false;
    memcpy(out, b->data, len);
    return true;
}

custos_reason gw_reserves_decode(const Custos__V1__SubmitReservesRequest *m,
                                 gw_reserves_submission *out, char *detail, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (m->feed == NULL || m->feed[0] == '\0' || strlen(m->feed) > CUSTOS_FEED_MAX)
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap, "feed must be 1 to %d bytes",
                          CUSTOS_FEED_MAX);
    if (m->domain == NULL ||
        !res_fixed(&m->domain->verifying_contract, out->domain.verifying_contract,
                   CUSTOS_ADDRESS_LEN))
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                          "domain with a 20-byte verifying_contract is required");
    out->domain.chain_id = m->domain->chain_id;
    const Custos__V1__Reserves *r = m->reserves;
    uint8_t total[32];
    if (r == NULL || !res_fixed(&r->total_collateral, total, sizeof total) ||
        !res_fixed(&r->sum_root, out->res.r.sum_root, CUSTOS_HASH_LEN))
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                          "reserves with a 32-byte total_collateral and sum_root is "
                          "required");
    if (m->n_signatures == 0)
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                          "the reserves attestation carries no signature");
    if (m->n_signatures > CUSTOS_MAX_SIGNATURES)
        return res_refuse(CUSTOS_REASON_TOO_LARGE, detail, cap,
                          "%zu signatures; at most %d", m->n_signatures, CUSTOS_MAX_SIGNATURES);
    for (size_t i = 0; i < m->n_signatures; i++)
        if (!res_fixed(&m->signatures[i], out->sigs[i].bytes, CUSTOS_SIGNATURE_LEN))
            return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                              "signature %zu is %zu bytes, not %d", i, m->signatures[i].len,
                              CUSTOS_SIGNATURE_LEN);
    out->n_sigs = m->n_signatures;
    out->n_leaves = m->n_leaves;
    if (m->n_leaves == 0)
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap, "no leaves: every account "
                          "counted must be sent");
    if (m->n_leaves > CUSTOS_RESERVES_MAX_ACCOUNTS)
        return res_refuse(CUSTOS_REASON_TOO_LARGE, detail, cap, "%zu leaves; at most %d",
                          m->n_leaves, CUSTOS_RESERVES_MAX_ACCOUNTS);
    out->res.entries = calloc(m->n_leaves, sizeof *out->res.entries);
    if (out->res.entries == NULL)
        return res_refuse(CUSTOS_REASON_INTERNAL, detail, cap, "the gateway is out of memory");
    for (size_t i = 0; i < m->n_leaves; i++) {
        const Custos__V1__ReservesLeaf *l = m->leaves[i];
        uint8_t value[32];
        if (l == NULL || !res_fixed(&l->account, out->res.entries[i].account, CUSTOS_HASH_LEN) ||
            !res_fixed(&l->collateral_value, value, sizeof value))
            return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                              "leaf %zu needs a 32-byte account and collateral_value", i);
        custos_u256_from_be(&out->res.entries[i].collateral_value, value);
    }
    strcpy(out->res.feed, m->feed);
    custos_feed_id(m->feed, out->res.r.feed_id);
    custos_u256_from_be(&out->res.r.total_collateral, total);
    out->res.r.accounts = r->accounts;
    out->res.r.as_of = r->as_of;
    out->res.r.sequence = r->sequence;
    return CUSTOS_REASON_NONE;
}

void gw_reserves_submission_clear(gw_reserves_submission *s)
{
    gw_store_reserves_clear(&s->res);
}

/* The leaves must be exactly what was signed: the count, the total and the root. */
static custos_reason res_check_leaves(const gw_reserves_submission *s, size_t n_leaves,
                                      char *detail, size_t cap)
{
    const custos_reserves *r = &s->res.r;
    if (r->accounts != n_leaves)
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                          "the attestation counts %" PRIu64 " accounts but %zu leaves were "
                          "sent",
                          r->accounts, n_leaves);
    custos_reserves sum;
    custos_error err;
    custos_error_clear(&err);
    if (custos_reserves_summarise(s->res.entries, n_leaves, &sum, &err) != CUSTOS_OK)
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap, "%s", err.message);
    if (custos_u256_cmp(&sum.total_collateral, &r->total_collateral) != 0) {
        char want[CUSTOS_U256_DEC_MAX], got[CUSTOS_U256_DEC_MAX];
        if (custos_u256_to_dec(&r->total_collateral, want, sizeof want) != CUSTOS_OK ||
            custos_u256_to_dec(&sum.total_collateral, got, sizeof got) != CUSTOS_OK)
            snprintf(want, sizeof want, "?");
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                          "totalCollateral %s is not the sum of the leaves, %s", want, got);
    }
    if (memcmp(sum.sum_root, r->sum_root, CUSTOS_HASH_LEN) != 0)
        return res_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                          "sumRoot is not the root of the leaves sent");
    return CUSTOS_REASON_NONE;
}

/* On a reserves_quorum feed: the signers weigh the feed's threshold, counted as for a
 * valuation (rule 7): signing parties (gw_verify_signatures refuses one party twice), or
 * distinct roles on a distinct_roles feed. */
static custos_reason res_check_quorum(const gw_feed *feed, const gw_verified *ver, char *detail,
                                      size_t cap)
{
    bool roles[GW_ROLE_COUNT] = {false};
    uint32_t distinct = 0;
    for (size_t i = 0; i < ver->n_signers; i++)
        if (!roles[ver->roles[i]]) {
            roles[ver->roles[i]] = true;
            distinct++;
        }
    uint32_t weight = feed->distinct_roles ? distinct : (uint32_t)ver->n_signers;
    if (weight >= feed->threshold)
        return CUSTOS_REASON_NONE;
    return res_refuse(CUSTOS_REASON_RESERVES_BELOW_QUORUM, detail, cap,
                      "feed '%s' takes reserves only with its quorum (reserves_quorum): %" PRIu32
                      " %s of %" PRIu32 " signed",
                      feed->name, weight, feed->distinct_roles ? "distinct roles" : "signers",
                      feed->threshold);
}

custos_reason gw_reserves_verify(const gw_config *cfg, gw_registry *reg,
                                 gw_reserves_submission *s, uint64_t now, char *detail,
                                 size_t cap)
{
    custos_reason why = gw_verify_domain(&cfg->domain, &s->domain, detail, cap);
    if (why != CUSTOS_REASON_NONE)
        return why;
    gw_policy *policy = gw_registry_acquire(reg);
    const gw_feed *feed = gw_policy_find_feed(policy, s->res.feed);
    if (feed == NULL)
        why = res_refuse(CUSTOS_REASON_UNKNOWN_FEED, detail, cap, "feed '%s' is not configured",
                         s->res.feed);
    if (why == CUSTOS_REASON_NONE) {
        /* Freshness as for attestations (business days included). A reserves attestation
         * has no validUntil: give the check one that neither expires nor is too long. */
        gw_feed open_ended = *feed;
        open_ended.max_ttl = UINT64_MAX;
        custos_attestation a;
        memset(&a, 0, sizeof a);
        a.as_of = s->res.r.as_of;
        a.valid_until = (a.as_of > now ? a.as_of : now) + 1;
        why = a.valid_until > a.as_of ? gw_verify_freshness(&open_ended, &a, now, detail, cap)
                                      : res_refuse(CUSTOS_REASON_FUTURE, detail, cap,
                                                   "asOf %" PRIu64 " is out of range",
                                                   a.as_of);
    }
    gw_verified ver;
    memset(&ver, 0, sizeof ver);
    if (why == CUSTOS_REASON_NONE) {
        custos_reserves_digest(&s->domain, &s->res.r, s->res.digest);
        why = gw_verify_signatures(policy, feed, s->res.digest, s->sigs, s->n_sigs, now, &ver,
                                   detail, cap);
    }
    if (why == CUSTOS_REASON_NONE) {
        size_t at = ver.n_signers;
        for (size_t i = 0; i < ver.n_signers && at == ver.n_signers; i++)
            if (ver.roles[i] == GW_ROLE_CUSTODIAN)
                at = i;
        if (at == ver.n_signers) {
            char hex[CUSTOS_ADDRESS_HEX_LEN];
            custos_address_to_hex(ver.signers[0], hex);
            why = res_refuse(CUSTOS_REASON_UNAUTHORIZED_SIGNER, detail, cap,
                             "reserves must be signed by a custodian of feed '%s'; %s is its "
                             "%s",
                             s->res.feed, hex, gw_role_name(ver.roles[0]));
        } else {
            memcpy(s->res.signer, ver.signers[at], CUSTOS_ADDRESS_LEN);
            s->res.sig = s->sigs[at];
            memcpy(s->res.sigs, s->sigs, s->n_sigs * sizeof s->sigs[0]);
            s->res.n_sigs = s->n_sigs;
        }
    }
    if (why == CUSTOS_REASON_NONE && feed->reserves_quorum)
        why = res_check_quorum(feed, &ver, detail, cap);
    /* After the signatures, so only the feed's custodian can make the gateway hash a tree. */
    if (why == CUSTOS_REASON_NONE)
        why = res_check_leaves(s, s->n_leaves, detail, cap);
    gw_policy_release(policy);
    return why;
}
