/* Stateless verification: every refusal reason from a crafted submission signed by fixed
 * test keys, each freshness rule exactly at its limit and one second past it, a
 * rotated-out key exactly at the end of its overlap window, the old and new key of one
 * rotation together, a freeze without a custodian and a value beyond uint128. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "custos/eip712.h"
#include "custos/merkle.h"
#include "custos/sig.h"
#include "verify.h"

#define NOW 1700000000u

enum {
    K_CUST,
    K_VAL,
    K_REVOKED,
    K_OTHER_FEED,
    K_ROTATED,
    K_ROTATING,
    K_UNLISTED,
    K_SUCCESSOR, /* took K_ROTATING's place: one signing party with it */
    K_COUNT
};

static uint8_t keys[K_COUNT][CUSTOS_SECKEY_LEN];
static uint8_t addrs[K_COUNT][CUSTOS_ADDRESS_LEN];
static custos_secp *secp;
static gw_feed feeds[2];
#define N_SIGNERS 7
static gw_signer signers[N_SIGNERS];
/* Rule 9: account 0x42... is acme's, 0x43... beta's; 0x44... is registered to no feed. */
static gw_account accounts[2];
static gw_config cfg;
static gw_registry *registry;
static gw_verifier *verifier;

static const uint8_t order_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};

static int setup(void **state)
{
    (void)state;
    secp = custos_secp_new();
    if (secp == NULL)
        return -1;
    for (int i = 0; i < K_COUNT; i++) {
        memset(keys[i], 0x11 * (i + 1), CUSTOS_SECKEY_LEN);
        if (custos_address_from_seckey(secp, keys[i], addrs[i], NULL) != CUSTOS_OK)
            return -1;
    }
    feeds[0] = (gw_feed){.name = "acme", .max_age = 86400, .max_skew = 300, .max_ttl = 604800,
                         .threshold = 2, .distinct_roles = false};
    feeds[1] = (gw_feed){.name = "beta", .max_age = 86400, .max_skew = 300, .max_ttl = 604800,
                         .threshold = 1};
    const struct {
        int key;
        const char *feed;
        gw_role role;
        bool active;
        uint64_t not_after;
    } list[N_SIGNERS] = {
        {K_CUST, "acme", GW_ROLE_CUSTODIAN, true, 0},
        {K_VAL, "acme", GW_ROLE_VALUATION_AGENT, true, 0},
        {K_REVOKED, "acme", GW_ROLE_AUDITOR, false, 0},
        {K_OTHER_FEED, "beta", GW_ROLE_CUSTODIAN, true, 0},
        /* Rotated out: its window ended exactly now / ends one second from now. */
        {K_ROTATED, "acme", GW_ROLE_AUDITOR, true, NOW},
        {K_ROTATING, "acme", GW_ROLE_AUDITOR, true, NOW + 1},
        {K_SUCCESSOR, "acme", GW_ROLE_AUDITOR, true, 0},
    };
    for (int i = 0; i < N_SIGNERS; i++) {
        memset(&signers[i], 0, sizeof signers[i]);
        memcpy(signers[i].address, addrs[list[i].key], CUSTOS_ADDRESS_LEN);
        snprintf(signers[i].feed, sizeof signers[i].feed, "%s", list[i].feed);
        signers[i].role = list[i].role;
        signers[i].active = list[i].active;
        signers[i].not_after = list[i].not_after;
    }
    signers[5].rotated = true; /* K_ROTATING was replaced by K_SUCCESSOR */
    memcpy(signers[5].replaced_by, addrs[K_SUCCESSOR], CUSTOS_ADDRESS_LEN);
    memset(&cfg, 0, sizeof cfg);
    cfg.domain.chain_id = 31337;
    memset(cfg.domain.verifying_contract, 0xab, CUSTOS_ADDRESS_LEN);
    cfg.feeds = feeds;
    cfg.n_feeds = 2;
    cfg.signers = signers;
    cfg.n_signers = N_SIGNERS;
    memset(accounts, 0, sizeof accounts);
    memset(accounts[0].account, 0x42, CUSTOS_HASH_LEN);
    snprintf(accounts[0].feed, sizeof accounts[0].feed, "acme");
    memset(accounts[1].account, 0x43, CUSTOS_HASH_LEN);
    snprintf(accounts[1].feed, sizeof accounts[1].feed, "beta");
    cfg.accounts = accounts;
    cfg.n_accounts = 2;
    if (gw_registry_new(&cfg, &registry, NULL) != CUSTOS_OK)
        return -1;
    return gw_verifier_new(&cfg, registry, &verifier, NULL) == CUSTOS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    gw_verifier_free(verifier);
    gw_registry_free(registry);
    custos_secp_free(secp);
    return 0;
}

static void base_submission(custos_submission *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "acme");
    s->domain = cfg.domain;
    memset(s->att.account, 0x42, CUSTOS_HASH_LEN);
    memset(s->att.beneficiary, 0x07, CUSTOS_ADDRESS_LEN);
    s->att.kind = CUSTOS_KIND_VALUATION;
    custos_u256_from_u64(&s->att.gross_value, 1000);
    custos_u256_from_u64(&s->att.collateral_value, 900);
    s->att.as_of = NOW - 60;
    s->att.valid_until = NOW + 3600;
    s->att.sequence = 7;
}

static void sign_with(custos_submission *s, int key)
{
    uint8_t digest[32];
    custos_attestation_digest(&s->domain, &s->att, digest);
    assert_true(s->n_sigs < CUSTOS_MAX_SIGNATURES);
    assert_int_equal(custos_sign_digest(secp, keys[key], digest, &s->sigs[s->n_sigs], NULL),
                     CUSTOS_OK);
    s->n_sigs++;
}

/* s' = n - s with v flipped: the same signature in its high-s form. */
static void make_high_s(custos_signature *sig)
{
    uint8_t *s = sig->bytes + 32;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = order_n[i] - s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    sig->bytes[64] = sig->bytes[64] == 27 ? 28 : 27;
}

typedef void (*mutate_fn)(custos_submission *s);

static void m_none(custos_submission *s) { sign_with(s, K_CUST); }
static void m_two_signers(custos_submission *s)
{
    sign_with(s, K_CUST);
    sign_with(s, K_VAL);
}
static void m_release(custos_submission *s)
{
    s->att.kind = CUSTOS_KIND_RELEASE;
    sign_with(s, K_CUST);
}
static void m_freeze(custos_submission *s)
{
    s->att.kind = CUSTOS_KIND_FREEZE;
    sign_with(s, K_CUST);
}
static void m_bad_kind(custos_submission *s)
{
    s->att.kind = 3;
    sign_with(s, K_CUST);
}
static void m_no_signature(custos_submission *s) { (void)s; }
static void m_wrong_chain(custos_submission *s)
{
    s->domain.chain_id = 1;
    sign_with(s, K_CUST);
}
static void m_wrong_contract(custos_submission *s)
{
    s->domain.verifying_contract[19] ^= 1;
    sign_with(s, K_CUST);
}
static void m_unknown_feed(custos_submission *s)
{
    snprintf(s->feed, sizeof s->feed, "gamma");
    sign_with(s, K_CUST);
}
static void m_zero_r(custos_submission *s)
{
    sign_with(s, K_CUST);
    memset(s->sigs[0].bytes, 0, 32);
}
static void m_s_above_order(custos_submission *s)
{
    sign_with(s, K_CUST);
    memset(s->sigs[0].bytes + 32, 0xff, 32);
}
static void m_high_s(custos_submission *s)
{
    sign_with(s, K_CUST);
    make_high_s(&s->sigs[0]);
}
static void m_bad_v(custos_submission *s)
{
    sign_with(s, K_CUST);
    s->sigs[0].bytes[64] = 29;
}
static void m_second_high_s(custos_submission *s)
{
    sign_with(s, K_CUST);
    sign_with(s, K_VAL);
    make_high_s(&s->sigs[1]);
}
static void m_unlisted(custos_submission *s) { sign_with(s, K_UNLISTED); }
static void m_tampered(custos_submission *s)
{
    sign_with(s, K_CUST);
    custos_u256_from_u64(&s->att.collateral_value, 901);
}
static void m_revoked(custos_submission *s)
{
    sign_with(s, K_CUST);
    sign_with(s, K_REVOKED);
}
static void m_other_feed(custos_submission *s) { sign_with(s, K_OTHER_FEED); }
static void m_unregistered(custos_submission *s)
{
    memset(s->att.account, 0x44, CUSTOS_HASH_LEN);
    sign_with(s, K_CUST);
    sign_with(s, K_VAL);
}
/* beta's account under acme, signed by acme's quorum; and beta's custodian freezing
 * acme's account alone under beta (the squatting of rule 9). */
static void m_account_of_beta(custos_submission *s)
{
    memset(s->att.account, 0x43, CUSTOS_HASH_LEN);
    sign_with(s, K_CUST);
    sign_with(s, K_VAL);
}
static void m_squat_freeze(custos_submission *s)
{
    snprintf(s->feed, sizeof s->feed, "beta");
    s->att.kind = CUSTOS_KIND_FREEZE;
    sign_with(s, K_OTHER_FEED);
}
static void m_rotated_out(custos_submission *s)
{
    sign_with(s, K_CUST);
    sign_with(s, K_ROTATED);
}
static void m_rotating(custos_submission *s)
{
    sign_with(s, K_CUST);
    sign_with(s, K_ROTATING);
}
/* The old and the new key of one rotation, in either order. */
static void m_party_twice(custos_submission *s)
{
    sign_with(s, K_ROTATING);
    sign_with(s, K_CUST);
    sign_with(s, K_SUCCESSOR);
}
static void m_party_twice_reversed(custos_submission *s)
{
    sign_with(s, K_SUCCESSOR);
    sign_with(s, K_ROTATING);
}
static void m_successor(custos_submission *s)
{
    sign_with(s, K_CUST);
    sign_with(s, K_SUCCESSOR);
}
static void m_freeze_without_custodian(custos_submission *s)
{
    s->att.kind = CUSTOS_KIND_FREEZE;
    sign_with(s, K_VAL);
    sign_with(s, K_SUCCESSOR);
}
static void m_freeze_with_custodian_among(custos_submission *s)
{
    s->att.kind = CUSTOS_KIND_FREEZE;
    sign_with(s, K_VAL);
    sign_with(s, K_CUST);
}
/* 2^128 - 1 (type(uint128).max, the adapter's bound) or one more. */
static void set_top_value(custos_submission *s, bool beyond)
{
    s->att.collateral_value.limb[0] = beyond ? 0 : UINT64_MAX;
    s->att.collateral_value.limb[1] = beyond ? 0 : UINT64_MAX;
    s->att.collateral_value.limb[2] = beyond ? 1 : 0;
    s->att.collateral_value.limb[3] = 0;
    sign_with(s, K_CUST);
}
static void m_uint128_max(custos_submission *s) { set_top_value(s, false); }
static void m_beyond_uint128(custos_submission *s) { set_top_value(s, true); }
static void m_duplicate(custos_submission *s)
{
    sign_with(s, K_VAL);
    sign_with(s, K_CUST);
    sign_with(s, K_VAL);
}
static void m_stale(custos_submission *s)
{
    s->att.as_of = NOW - 86401;
    s->att.valid_until = NOW + 10;
    sign_with(s, K_CUST);
}
static void m_future(custos_submission *s)
{
    s->att.as_of = NOW + 301;
    s->att.valid_until = NOW + 4000;
    sign_with(s, K_CUST);
}
static void m_expired(custos_submission *s)
{
    s->att.valid_until = NOW;
    sign_with(s, K_CUST);
}
static void m_ttl(custos_submission *s)
{
    s->att.valid_until = s->att.as_of + 604801;
    sign_with(s, K_CUST);
}
static void m_empty_window(custos_submission *s)
{
    s->att.valid_until = s->att.as_of;
    sign_with(s, K_CUST);
}

/* Two positions; the signed root is theirs, or (tamper) that of different quantities. */
static void with_positions(custos_submission *s, bool tamper)
{
    s->positions = calloc(2, sizeof *s->positions);
    assert_non_null(s->positions);
    s->n_positions = 2;
    for (size_t i = 0; i < 2; i++) {
        snprintf(s->positions[i].asset_id, sizeof s->positions[i].asset_id, "US91282CLX7%zu", i);
        custos_u256_from_u64(&s->positions[i].quantity, 1000000 + i);
        custos_u256_from_u64(&s->positions[i].price, 99);
        custos_u256_from_u64(&s->positions[i].value, 99000000 + i);
        s->positions[i].haircut_bps = 200;
    }
    assert_int_equal(custos_positions_root(s->positions, 2, s->att.positions_root, NULL),
                     CUSTOS_OK);
    if (tamper)
        custos_u256_from_u64(&s->positions[1].quantity, 2000000);
    sign_with(s, K_CUST);
}
static void m_positions(custos_submission *s) { with_positions(s, false); }
static void m_positions_tampered(custos_submission *s) { with_positions(s, true); }

static const struct sub_case {
    const char *name;
    mutate_fn mutate;
    custos_reason reason;
    const char *detail; /* substring of the detail, or NULL */
} sub_cases[] = {
    {"good", m_none, CUSTOS_REASON_NONE, NULL},
    {"two signers", m_two_signers, CUSTOS_REASON_NONE, NULL},
    {"release", m_release, CUSTOS_REASON_NONE, NULL},
    {"freeze", m_freeze, CUSTOS_REASON_NONE, NULL},
    {"kind 3", m_bad_kind, CUSTOS_REASON_MALFORMED, "kind 3"},
    {"no signature", m_no_signature, CUSTOS_REASON_MALFORMED, "no signature"},
    {"wrong chain", m_wrong_chain, CUSTOS_REASON_WRONG_DOMAIN, "chainId 1 "},
    {"wrong contract", m_wrong_contract, CUSTOS_REASON_WRONG_DOMAIN, "31337"},
    {"unknown feed", m_unknown_feed, CUSTOS_REASON_UNKNOWN_FEED, "'gamma'"},
    {"r is zero", m_zero_r, CUSTOS_REASON_BAD_SIGNATURE, "signature 0"},
    {"s above the order", m_s_above_order, CUSTOS_REASON_BAD_SIGNATURE, "signature 0"},
    {"high s", m_high_s, CUSTOS_REASON_NON_CANONICAL_SIGNATURE, "signature 0"},
    {"v is 29", m_bad_v, CUSTOS_REASON_NON_CANONICAL_SIGNATURE, "signature 0"},
    {"second signature high s", m_second_high_s, CUSTOS_REASON_NON_CANONICAL_SIGNATURE,
     "signature 1"},
    {"unlisted key", m_unlisted, CUSTOS_REASON_UNKNOWN_SIGNER, "allow-list"},
    {"fields changed after signing", m_tampered, CUSTOS_REASON_UNKNOWN_SIGNER, "signature 0"},
    {"revoked signer", m_revoked, CUSTOS_REASON_REVOKED_SIGNER, "signature 1"},
    {"signer of another feed", m_other_feed, CUSTOS_REASON_UNAUTHORIZED_SIGNER, "'beta'"},
    {"account registered to no feed", m_unregistered, CUSTOS_REASON_UNREGISTERED_ACCOUNT,
     "0x4444"},
    {"account registered to another feed", m_account_of_beta,
     CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, "registered to feed 'beta'"},
    {"another feed's custodian freezing the account", m_squat_freeze,
     CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, "registered to feed 'acme'"},
    {"rotated key at the end of its window", m_rotated_out, CUSTOS_REASON_REVOKED_SIGNER,
     "overlap window ended at 1700000000"},
    {"rotated key one second before the end", m_rotating, CUSTOS_REASON_NONE, NULL},
    {"same signer twice", m_duplicate, CUSTOS_REASON_DUPLICATE_SIGNER, "signatures 0 and 2"},
    {"old and new key of one rotation", m_party_twice, CUSTOS_REASON_DUPLICATE_SIGNER,
     "signatures 0 and 2 are from"},
    {"new and old key of one rotation", m_party_twice_reversed, CUSTOS_REASON_DUPLICATE_SIGNER,
     "one signing party"},
    {"the new key of a rotation", m_successor, CUSTOS_REASON_NONE, NULL},
    {"freeze without a custodian", m_freeze_without_custodian,
     CUSTOS_REASON_FREEZE_NEEDS_CUSTODIAN, "none of its 2 signers"},
    {"freeze with a custodian among others", m_freeze_with_custodian_among, CUSTOS_REASON_NONE,
     NULL},
    {"collateralValue type(uint128).max", m_uint128_max, CUSTOS_REASON_NONE, NULL},
    {"collateralValue 2^128", m_beyond_uint128, CUSTOS_REASON_MALFORMED, "2^128"},
    {"stale", m_stale, CUSTOS_REASON_STALE, "1 s over"},
    {"future", m_future, CUSTOS_REASON_FUTURE, "301 s ahead"},
    {"expired", m_expired, CUSTOS_REASON_EXPIRED, "has passed"},
    {"ttl too long", m_ttl, CUSTOS_REASON_TTL_TOO_LONG, "1 s too long"},
    {"empty validity window", m_empty_window, CUSTOS_REASON_MALFORMED, "not after asOf"},
    {"positions of the signed root", m_positions, CUSTOS_REASON_NONE, NULL},
    {"positions not of the signed root", m_positions_tampered, CUSTOS_REASON_MALFORMED,
     "do not hash to the signed positionsRoot"},
};

static void test_submission_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof sub_cases / sizeof sub_cases[0]; i++) {
        const struct sub_case *c = &sub_cases[i];
        custos_submission s;
        base_submission(&s);
        c->mutate(&s);
        gw_verified v;
        char detail[256];
        custos_reason r = gw_verify_submission(verifier, &s, NOW, &v, detail, sizeof detail);
        if (r != c->reason)
            fail_msg("case '%s': got %s (%s), want %s", c->name, custos_reason_name(r), detail,
                     custos_reason_name(c->reason));
        if (c->detail != NULL && strstr(detail, c->detail) == NULL)
            fail_msg("case '%s': detail lacks \"%s\": %s", c->name, c->detail, detail);
        if (r == CUSTOS_REASON_NONE) {
            uint8_t digest[32];
            custos_attestation_digest(&cfg.domain, &s.att, digest);
            assert_memory_equal(v.digest, digest, 32);
            assert_string_equal(v.feed->name, "acme");
            assert_int_equal(v.n_signers, s.n_sigs);
            gw_policy_release(v.policy);
        } else {
            assert_null(v.policy);
        }
        custos_submission_clear(&s);
    }
}

static void test_signers_and_roles(void **state)
{
    (void)state;
    custos_submission s;
    base_submission(&s);
    sign_with(&s, K_VAL);
    sign_with(&s, K_CUST);
    gw_verified v;
    char detail[256];
    assert_int_equal(gw_verify_submission(verifier, &s, NOW, &v, detail, sizeof detail),
                     CUSTOS_REASON_NONE);
    assert_int_equal(v.n_signers, 2);
    assert_memory_equal(v.signers[0], addrs[K_VAL], CUSTOS_ADDRESS_LEN);
    assert_memory_equal(v.signers[1], addrs[K_CUST], CUSTOS_ADDRESS_LEN);
    assert_int_equal(v.roles[0], GW_ROLE_VALUATION_AGENT);
    assert_int_equal(v.roles[1], GW_ROLE_CUSTODIAN);
    gw_policy_release(v.policy);
    custos_submission_clear(&s);
}

static void test_unknown_signer_names_address(void **state)
{
    (void)state;
    custos_submission s;
    base_submission(&s);
    sign_with(&s, K_UNLISTED);
    gw_verified v;
    char detail[256], hex[CUSTOS_ADDRESS_HEX_LEN];
    assert_int_equal(gw_verify_submission(verifier, &s, NOW, &v, detail, sizeof detail),
                     CUSTOS_REASON_UNKNOWN_SIGNER);
    custos_address_to_hex(addrs[K_UNLISTED], hex);
    assert_non_null(strstr(detail, hex));
}

static const struct fresh_case {
    const char *name;
    uint64_t as_of, valid_until;
    custos_reason reason;
} fresh_cases[] = {
    {"max age exactly", NOW - 86400, NOW + 1, CUSTOS_REASON_NONE},
    {"max age + 1", NOW - 86401, NOW + 1, CUSTOS_REASON_STALE},
    {"skew exactly", NOW + 300, NOW + 1000, CUSTOS_REASON_NONE},
    {"skew + 1", NOW + 301, NOW + 1000, CUSTOS_REASON_FUTURE},
    {"asOf now", NOW, NOW + 1, CUSTOS_REASON_NONE},
    {"validUntil now + 1", NOW - 10, NOW + 1, CUSTOS_REASON_NONE},
    {"validUntil now", NOW - 10, NOW, CUSTOS_REASON_EXPIRED},
    {"validUntil now - 1", NOW - 10, NOW - 1, CUSTOS_REASON_EXPIRED},
    {"ttl exactly", NOW - 10, NOW - 10 + 604800, CUSTOS_REASON_NONE},
    {"ttl + 1", NOW - 10, NOW - 10 + 604801, CUSTOS_REASON_TTL_TOO_LONG},
    {"validUntil = asOf", NOW, NOW, CUSTOS_REASON_MALFORMED},
    {"validUntil < asOf", NOW, NOW - 1, CUSTOS_REASON_MALFORMED},
    {"asOf far future, no overflow", UINT64_MAX - 1, UINT64_MAX, CUSTOS_REASON_FUTURE},
    {"huge ttl, no overflow", 0, UINT64_MAX, CUSTOS_REASON_TTL_TOO_LONG},
    {"asOf zero, stale before expired", 0, 1000, CUSTOS_REASON_STALE},
};

static void test_freshness_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fresh_cases / sizeof fresh_cases[0]; i++) {
        const struct fresh_case *c = &fresh_cases[i];
        custos_attestation a;
        memset(&a, 0, sizeof a);
        a.as_of = c->as_of;
        a.valid_until = c->valid_until;
        char detail[256] = "";
        custos_reason r = gw_verify_freshness(&feeds[0], &a, NOW, detail, sizeof detail);
        if (r != c->reason)
            fail_msg("case '%s': got %s (%s), want %s", c->name, custos_reason_name(r), detail,
                     custos_reason_name(c->reason));
        if (r != CUSTOS_REASON_NONE)
            assert_true(detail[0] != '\0');
    }
}

/* max_age_business_days = 1 on a 2026 calendar with Thanksgiving and Christmas closed and
 * Good Friday a 12:00 early close, a business day (SIFMA, jobs-report day).
 * The unix times were computed independently (Python's datetime, UTC); New York is UTC-5
 * from 2026-11-01 02:00 EDT, so 05:00 UTC is New York midnight after that (04:00 UTC in
 * April, EDT). */
static const struct days_case {
    const char *name;
    uint64_t as_of, now;
    custos_reason reason;
} days_cases[] = {
    {"Fri close, Mon 10:00 NY", 1795208400, 1795446000, CUSTOS_REASON_NONE},
    {"Fri close, Mon 23:59:59 NY", 1795208400, 1795496399, CUSTOS_REASON_NONE},
    {"Fri close, Tue 00:00 NY", 1795208400, 1795496400, CUSTOS_REASON_STALE},
    {"Tue close, Thu", 1794344400, 1794495600, CUSTOS_REASON_STALE},
    {"Wed close, Fri after Thanksgiving", 1795640400, 1795791600, CUSTOS_REASON_NONE},
    {"Wed close, Mon after Thanksgiving", 1795640400, 1796050800, CUSTOS_REASON_STALE},
    {"Christmas Eve, Mon after Christmas", 1798135200, 1798470000, CUSTOS_REASON_NONE},
    {"Fri EDT close, Sun 23:30 EST", 1793390400, 1793593800, CUSTOS_REASON_NONE},
    {"Fri EDT close, Mon 23:59:59 EST", 1793390400, 1793681999, CUSTOS_REASON_NONE},
    {"Fri EDT close, Tue 00:00 EST", 1793390400, 1793682000, CUSTOS_REASON_STALE},
    {"asOf before the calendar's years", 1767214800, 1767366000, CUSTOS_REASON_STALE},
    {"same day", 1795208400, 1795208400 + 60, CUSTOS_REASON_NONE},
    {"Thu close before Good Friday, Sat", 1775160000, 1775318400, CUSTOS_REASON_NONE},
    /* Good Friday's early close counts: stale on Monday, not fresh through it. */
    {"Thu close before Good Friday, Mon 00:00 NY", 1775160000, 1775448000,
     CUSTOS_REASON_STALE},
};

static void test_business_day_age_table(void **state)
{
    (void)state;
    static const char text[] = "covers 2026 2026\n"
                               "2026-01-01  # New Year's Day\n"
                               "2026-04-03  early 12:00  no-settlement  # Good Friday\n"
                               "2026-11-26  # Thanksgiving Day\n"
                               "2026-12-25  # Christmas Day\n";
    custos_calendar cal;
    custos_error err;
    assert_int_equal(custos_calendar_parse("test", text, sizeof text - 1, &cal, &err),
                     CUSTOS_OK);
    gw_feed feed = {.name = "days", .max_age = 60, .max_age_business_days = 1,
                    .max_skew = 300, .max_ttl = 30 * 86400, .threshold = 1,
                    .calendar = &cal};
    for (size_t i = 0; i < sizeof days_cases / sizeof days_cases[0]; i++) {
        const struct days_case *c = &days_cases[i];
        custos_attestation a;
        memset(&a, 0, sizeof a);
        a.as_of = c->as_of;
        a.valid_until = c->now + 3600;
        char detail[256] = "";
        custos_reason r = gw_verify_freshness(&feed, &a, c->now, detail, sizeof detail);
        if (r != c->reason)
            fail_msg("case '%s': got %s (%s), want %s", c->name, custos_reason_name(r), detail,
                     custos_reason_name(c->reason));
        if (r != CUSTOS_REASON_NONE)
            assert_true(detail[0] != '\0');
    }
    /* The detail names both New York dates; expiry is still checked in days mode. */
    custos_attestation a = {.as_of = 1794344400, .valid_until = 1794495600 + 3600};
    char detail[256] = "";
    assert_int_equal(gw_verify_freshness(&feed, &a, 1794495600, detail, sizeof detail),
                     CUSTOS_REASON_STALE);
    assert_non_null(strstr(detail, "2026-11-10"));
    assert_non_null(strstr(detail, "2 bond-market business days old on 2026-11-12"));
    a = (custos_attestation){.as_of = 1795446000 - 60, .valid_until = 1795446000};
    assert_int_equal(gw_verify_freshness(&feed, &a, 1795446000, detail, sizeof detail),
                     CUSTOS_REASON_EXPIRED);
    custos_calendar_free(&cal);
}

static void test_domain(void **state)
{
    (void)state;
    custos_domain d = cfg.domain;
    char detail[256];
    assert_int_equal(gw_verify_domain(&cfg.domain, &d, detail, sizeof detail),
                     CUSTOS_REASON_NONE);
    d.chain_id++;
    assert_int_equal(gw_verify_domain(&cfg.domain, &d, detail, sizeof detail),
                     CUSTOS_REASON_WRONG_DOMAIN);
}

static void test_signature_count_limits(void **state)
{
    (void)state;
    uint8_t digest[32] = {1};
    custos_signature sigs[CUSTOS_MAX_SIGNATURES + 1];
    memset(sigs, 0, sizeof sigs);
    gw_verified v;
    char detail[256];
    gw_policy *p = gw_registry_acquire(registry);
    assert_int_equal(gw_verify_signatures(p, &feeds[0], digest, sigs, 0, NOW, &v, detail,
                                          sizeof detail),
                     CUSTOS_REASON_MALFORMED);
    assert_int_equal(gw_verify_signatures(p, &feeds[0], digest, sigs,
                                          CUSTOS_MAX_SIGNATURES + 1, NOW, &v, detail,
                                          sizeof detail),
                     CUSTOS_REASON_TOO_LARGE);
    gw_policy_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submission_table),
        cmocka_unit_test(test_signers_and_roles),
        cmocka_unit_test(test_unknown_signer_names_address),
        cmocka_unit_test(test_freshness_table),
        cmocka_unit_test(test_business_day_age_table),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_signature_count_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
