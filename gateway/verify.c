/* Stateless verification (verify.h). */
#include "verify.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/merkle.h"
#include "custos/sig.h"

struct gw_verifier {
    const gw_config *cfg;
    gw_registry *reg;
    uint8_t separator[CUSTOS_HASH_LEN];
};

/* One secp256k1 context per thread: contexts are not thread-safe, and creating one per
 * call would cost more than the recovery itself. The key's destructor frees a thread's
 * context when the thread exits. */
static pthread_once_t verify_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t verify_key;
static int verify_key_rc;

static void verify_free_secp(void *ctx)
{
    custos_secp_free(ctx);
}

static void verify_make_key(void)
{
    verify_key_rc = pthread_key_create(&verify_key, verify_free_secp);
}

static custos_secp *verify_thread_secp(void)
{
    if (pthread_once(&verify_key_once, verify_make_key) != 0 || verify_key_rc != 0)
        return NULL;
    custos_secp *ctx = pthread_getspecific(verify_key);
    if (ctx != NULL)
        return ctx;
    ctx = custos_secp_new();
    if (ctx == NULL)
        return NULL;
    if (pthread_setspecific(verify_key, ctx) != 0) {
        custos_secp_free(ctx);
        return NULL;
    }
    return ctx;
}

static custos_reason verify_refuse(custos_reason r, char *detail, size_t cap, const char *fmt,
                                   ...) __attribute__((format(printf, 4, 5)));

static custos_reason verify_refuse(custos_reason r, char *detail, size_t cap, const char *fmt,
                                   ...)
{
    if (detail != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, cap, fmt, ap);
        va_end(ap);
    }
    return r;
}

custos_rc gw_verifier_new(const gw_config *cfg, gw_registry *reg, gw_verifier **out,
                          custos_error *err)
{
    gw_verifier *v = calloc(1, sizeof *v);
    if (v == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "verifier: out of memory");
    v->cfg = cfg;
    v->reg = reg;
    custos_eip712_domain_separator(&cfg->domain, v->separator);
    *out = v;
    return CUSTOS_OK;
}

void gw_verifier_free(gw_verifier *v)
{
    free(v);
}

const gw_config *gw_verifier_config(const gw_verifier *v)
{
    return v->cfg;
}

gw_registry *gw_verifier_registry(const gw_verifier *v)
{
    return v->reg;
}

const uint8_t *gw_verifier_separator(const gw_verifier *v)
{
    return v->separator;
}

custos_reason gw_verify_domain(const custos_domain *want, const custos_domain *got,
                               char *detail, size_t cap)
{
    if (want->chain_id == got->chain_id &&
        memcmp(want->verifying_contract, got->verifying_contract, CUSTOS_ADDRESS_LEN) == 0)
        return CUSTOS_REASON_NONE;
    char w[CUSTOS_ADDRESS_HEX_LEN], g[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(want->verifying_contract, w);
    custos_address_to_hex(got->verifying_contract, g);
    return verify_refuse(CUSTOS_REASON_WRONG_DOMAIN, detail, cap,
                         "domain is chainId %" PRIu64 " / verifyingContract %s; this gateway "
                         "accepts only chainId %" PRIu64 " / %s",
                         got->chain_id, g, want->chain_id, w);
}

/* STALE when asOf's New York date lies more than max_age_business_days bond-market days
 * before today's. A date the calendar does not cover is refused as STALE too: an outdated
 * calendar must stop attestations, not wave them on. */
static custos_reason verify_business_age(const gw_feed *feed, const custos_attestation *a,
                                         uint64_t now, char *detail, size_t cap)
{
    custos_day from = 0, to = 0;
    uint32_t days = 0;
    custos_error e;
    custos_error_clear(&e);
    custos_rc rc = CUSTOS_ERR_INVALID;
    if (feed->calendar == NULL)
        custos_error_set(&e, rc, "the feed has no calendar");
    else if ((rc = custos_ny_day(a->as_of, &from, &e)) == CUSTOS_OK &&
             (rc = custos_ny_day(now, &to, &e)) == CUSTOS_OK)
        rc = custos_calendar_business_days_between(feed->calendar, from, to, &days, &e);
    if (rc != CUSTOS_OK)
        return verify_refuse(CUSTOS_REASON_STALE, detail, cap,
                             "cannot count the business-day age of asOf %" PRIu64
                             " for feed '%s': %s", a->as_of, feed->name, e.message);
    if (days > feed->max_age_business_days) {
        char f[CUSTOS_ISO_DATE_LEN], t[CUSTOS_ISO_DATE_LEN];
        custos_day_format(from, f);
        custos_day_format(to, t);
        return verify_refuse(CUSTOS_REASON_STALE, detail, cap,
                             "asOf %" PRIu64 " (%s New York) is %" PRIu32 " bond-market "
                             "business days old on %s; feed '%s' allows %" PRIu32,
                             a->as_of, f, days, t, feed->name, feed->max_age_business_days);
    }
    return CUSTOS_REASON_NONE;
}

custos_reason gw_verify_freshness(const gw_feed *feed, const custos_attestation *a,
                                  uint64_t now, char *detail, size_t cap)
{
    if (a->valid_until <= a->as_of)
        return verify_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "validUntil %" PRIu64 " is not after asOf %" PRIu64,
                             a->valid_until, a->as_of);
    uint64_t ttl = a->valid_until - a->as_of;
    if (ttl > feed->max_ttl)
        return verify_refuse(CUSTOS_REASON_TTL_TOO_LONG, detail, cap,
                             "validUntil - asOf is %" PRIu64 " s; feed '%s' allows at most "
                             "%" PRIu64 " s (%" PRIu64 " s too long)",
                             ttl, feed->name, feed->max_ttl, ttl - feed->max_ttl);
    /* Differences rather than sums: as_of and now are full uint64 values. */
    if (a->as_of > now && a->as_of - now > feed->max_skew)
        return verify_refuse(CUSTOS_REASON_FUTURE, detail, cap,
                             "asOf %" PRIu64 " is %" PRIu64 " s ahead of the gateway's clock "
                             "(%" PRIu64 "); feed '%s' allows %" PRIu64 " s of skew",
                             a->as_of, a->as_of - now, now, feed->name, feed->max_skew);
    if (feed->max_age_business_days != 0) {
        custos_reason r = verify_business_age(feed, a, now, detail, cap);
        if (r != CUSTOS_REASON_NONE)
            return r;
    } else if (now > a->as_of && now - a->as_of > feed->max_age) {
        return verify_refuse(CUSTOS_REASON_STALE, detail, cap,
                             "asOf %" PRIu64 " is %" PRIu64 " s old; feed '%s' allows %" PRIu64
                             " s (%" PRIu64 " s over)",
                             a->as_of, now - a->as_of, feed->name, feed->max_age,
                             now - a->as_of - feed->max_age);
    }
    if (a->valid_until <= now)
        return verify_refuse(CUSTOS_REASON_EXPIRED, detail, cap,
                             "validUntil %" PRIu64 " has passed (now %" PRIu64 ", %" PRIu64
                             " s ago)",
                             a->valid_until, now, now - a->valid_until);
    return CUSTOS_REASON_NONE;
}

custos_reason gw_verify_signatures(const gw_policy *policy, const gw_feed *feed,
                                   const uint8_t digest[CUSTOS_HASH_LEN],
                                   const custos_signature *sigs, size_t n, uint64_t now,
                                   gw_verified *out, char *detail, size_t cap)
{
    if (n == 0)
        return verify_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "the attestation carries no signature");
    if (n > CUSTOS_MAX_SIGNATURES)
        return verify_refuse(CUSTOS_REASON_TOO_LARGE, detail, cap,
                             "%zu signatures; at most %d are accepted", n,
                             CUSTOS_MAX_SIGNATURES);
    custos_secp *ctx = verify_thread_secp();
    if (ctx == NULL)
        return verify_refuse(CUSTOS_REASON_INTERNAL, detail, cap,
                             "cannot create a secp256k1 context (out of memory?)");
    out->n_signers = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t addr[CUSTOS_ADDRESS_LEN];
        custos_error e;
        custos_error_clear(&e);
        custos_rc rc = custos_recover_address(ctx, digest, &sigs[i], addr, &e);
        if (rc == CUSTOS_ERR_NONCANONICAL)
            return verify_refuse(CUSTOS_REASON_NON_CANONICAL_SIGNATURE, detail, cap,
                                 "signature %zu: %s", i, e.message);
        if (rc != CUSTOS_OK)
            return verify_refuse(CUSTOS_REASON_BAD_SIGNATURE, detail, cap,
                                 "signature %zu: %s", i, e.message);
        /* Only refusals name the address: EIP-55 costs a keccak per signature. */
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        const gw_signer *s = gw_policy_find_signer(policy, feed->name, addr);
        bool dup = false;
        for (size_t j = 0; j < out->n_signers && !dup; j++)
            dup = memcmp(out->signers[j], addr, CUSTOS_ADDRESS_LEN) == 0;
        if (s == NULL || !gw_signer_valid_at(s, now) || dup)
            custos_address_to_hex(addr, hex);
        if (s == NULL) {
            const gw_signer *other = gw_policy_find_signer_any(policy, addr);
            if (other != NULL)
                return verify_refuse(CUSTOS_REASON_UNAUTHORIZED_SIGNER, detail, cap,
                                     "signature %zu: signer %s is allow-listed for feed '%s', "
                                     "not for feed '%s'", i, hex, other->feed, feed->name);
            return verify_refuse(CUSTOS_REASON_UNKNOWN_SIGNER, detail, cap,
                                 "signature %zu recovers to %s, which is not on the allow-list "
                                 "(wrong key, or signed over different fields or domain?)",
                                 i, hex);
        }
        if (!s->active)
            return verify_refuse(CUSTOS_REASON_REVOKED_SIGNER, detail, cap,
                                 "signature %zu: signer %s (%s) is revoked for feed '%s'", i,
                                 hex, gw_role_name(s->role), feed->name);
        if (!gw_signer_valid_at(s, now))
            return verify_refuse(CUSTOS_REASON_REVOKED_SIGNER, detail, cap,
                                 "signature %zu: signer %s (%s) was rotated out of feed '%s'; "
                                 "its overlap window ended at %" PRIu64 " (now %" PRIu64 ")",
                                 i, hex, gw_role_name(s->role), feed->name, s->not_after, now);
        for (size_t j = 0; j < out->n_signers; j++) {
            if (memcmp(out->signers[j], addr, CUSTOS_ADDRESS_LEN) == 0)
                return verify_refuse(CUSTOS_REASON_DUPLICATE_SIGNER, detail, cap,
                                     "signatures %zu and %zu are both from %s", j, i, hex);
        }
        /* Rule 2: a rotation never doubles a party's weight; the adapter refuses the two
         * keys of one party together (DuplicateSignerSlot), and so does the gateway. */
        for (size_t j = 0; j < out->n_signers; j++) {
            if (out->parties[j] != s->party)
                continue;
            char other[CUSTOS_ADDRESS_HEX_LEN];
            custos_address_to_hex(addr, hex);
            custos_address_to_hex(out->signers[j], other);
            return verify_refuse(CUSTOS_REASON_DUPLICATE_SIGNER, detail, cap,
                                 "signatures %zu and %zu are from %s and %s, an old and a new "
                                 "key of one signing party of feed '%s' (a rotation): they "
                                 "count as one signer and may not sign together",
                                 j, i, other, hex, feed->name);
        }
        memcpy(out->signers[out->n_signers], addr, CUSTOS_ADDRESS_LEN);
        out->roles[out->n_signers] = s->role;
        out->parties[out->n_signers] = s->party;
        out->n_signers++;
    }
    return CUSTOS_REASON_NONE;
}

/* Rule 7: a freeze takes effect on a custodian's signature alone, and needs one (the
 * adapter's FreezeNeedsCustodian); without it, it is refused, not kept waiting for a quorum
 * the adapter would never accept. */
static custos_reason verify_freeze_custodian(const gw_feed *feed, const gw_verified *out,
                                             char *detail, size_t cap)
{
    for (size_t i = 0; i < out->n_signers; i++)
        if (out->roles[i] == GW_ROLE_CUSTODIAN)
            return CUSTOS_REASON_NONE;
    return verify_refuse(CUSTOS_REASON_FREEZE_NEEDS_CUSTODIAN, detail, cap,
                         "a freeze needs the signature of a custodian of feed '%s'; none of "
                         "its %zu signers is one", feed->name, out->n_signers);
}

custos_reason gw_verify_value(const custos_attestation *a, char *detail, size_t cap)
{
    /* Rule 1: the adapter keeps an account's value in 128 bits of its packed record and
     * refuses anything above type(uint128).max (ValueOutOfRange). */
    if ((a->collateral_value.limb[2] | a->collateral_value.limb[3]) != 0)
        return verify_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "collateralValue is 2^128 or more: at most 2^128 - 1 "
                             "(type(uint128).max), the adapter's bound");
    return CUSTOS_REASON_NONE;
}

/* Rule 9: only the feed an account is registered to attests it, freezes included; the
 * adapter checks the same registration (UnknownAccount, AccountOfOtherFeed). */
custos_reason gw_verify_account_feed(const gw_policy *policy, const gw_feed *feed,
                                         const custos_attestation *a, char *detail, size_t cap)
{
    const gw_account *reg = gw_policy_find_account(policy, a->account);
    if (reg == NULL) {
        char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        if (custos_hex_encode(a->account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
            hex[0] = '\0';
        return verify_refuse(CUSTOS_REASON_UNREGISTERED_ACCOUNT, detail, cap,
                             "account %s is not registered to any feed: the operator "
                             "registers it to its feed first ([feed] accounts, or "
                             "RegisterAccount)", hex);
    }
    if (strcmp(reg->feed, feed->name) != 0)
        return verify_refuse(CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, detail, cap,
                             "this account is registered to feed '%s'; signers of feed '%s' "
                             "cannot attest it", reg->feed, feed->name);
    return CUSTOS_REASON_NONE;
}

custos_reason gw_verify_submission(const gw_verifier *v, const custos_submission *s,
                                   uint64_t now, gw_verified *out, char *detail, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (detail != NULL && cap > 0)
        detail[0] = '\0';
    if (s->att.kind > CUSTOS_KIND_FREEZE)
        return verify_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "kind %u is not 0 (valuation), 1 (release) or 2 (freeze)",
                             (unsigned)s->att.kind);
    custos_reason r = gw_verify_value(&s->att, detail, cap);
    if (r != CUSTOS_REASON_NONE)
        return r;
    if (s->n_sigs == 0)
        return verify_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "the attestation carries no signature");
    r = gw_verify_domain(&v->cfg->domain, &s->domain, detail, cap);
    if (r != CUSTOS_REASON_NONE)
        return r;
    gw_policy *policy = gw_registry_acquire(v->reg);
    const gw_feed *feed = gw_policy_find_feed(policy, s->feed);
    if (feed == NULL)
        r = verify_refuse(CUSTOS_REASON_UNKNOWN_FEED, detail, cap,
                          "feed '%.64s' is not configured on this gateway", s->feed);
    else
        r = gw_verify_account_feed(policy, feed, &s->att, detail, cap);
    if (r == CUSTOS_REASON_NONE)
        r = gw_verify_freshness(feed, &s->att, now, detail, cap);
    if (r == CUSTOS_REASON_NONE) {
        out->feed = feed;
        custos_attestation_digest_with_separator(v->separator, &s->att, out->digest);
        r = gw_verify_signatures(policy, feed, out->digest, s->sigs, s->n_sigs, now, out,
                                 detail, cap);
    }
    if (r == CUSTOS_REASON_NONE && s->att.kind == CUSTOS_KIND_FREEZE)
        r = verify_freeze_custodian(feed, out, detail, cap);
    if (r == CUSTOS_REASON_NONE)
        r = gw_verify_positions(&s->att, s->positions, s->n_positions, detail, cap);
    if (r != CUSTOS_REASON_NONE) {
        gw_policy_release(policy);
        out->feed = NULL;
        return r;
    }
    out->policy = policy;
    return CUSTOS_REASON_NONE;
}

custos_reason gw_verify_positions(const custos_attestation *a, const custos_position *ps,
                                  size_t n, char *detail, size_t cap)
{
    if (n == 0)
        return CUSTOS_REASON_NONE;
    uint8_t root[CUSTOS_HASH_LEN];
    custos_error err;
    if (custos_positions_root(ps, n, root, &err) != CUSTOS_OK)
        return verify_refuse(CUSTOS_REASON_MALFORMED, detail, cap, "positions: %s",
                             err.message);
    if (memcmp(root, a->positions_root, CUSTOS_HASH_LEN) != 0)
        return verify_refuse(CUSTOS_REASON_MALFORMED, detail, cap,
                             "the %zu positions sent do not hash to the signed positionsRoot",
                             n);
    return CUSTOS_REASON_NONE;
}
