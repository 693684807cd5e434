/* The gateway's stateless batch rules (rule 20), table-driven: every refusal of a whole
 * batch from a crafted batch signed by fixed test keys, and the refusals of one account
 * alone (BATCH_MEMBER_MISMATCH, MALFORMED, rule 9) that leave the other accounts to go on. */
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
#include "custos/batch.h"
#include "custos/eip712.h"
#include "custos/merkle.h"
#include "custos/sig.h"
#include "verify_batch.h"

#define NOW 1700000000u
#define N_ACCOUNTS 6

enum { K_CUST, K_VAL, K_UNLISTED, K_COUNT };

static uint8_t keys[K_COUNT][CUSTOS_SECKEY_LEN];
static uint8_t addrs[K_COUNT][CUSTOS_ADDRESS_LEN];
static custos_secp *secp;
static gw_feed feeds[2];
/* The batch's accounts registered to acme (rule 9), and one account registered to beta. */
static gw_account accounts_registered[N_ACCOUNTS + 1];
#define OTHER_FEED_ACCOUNT 0x7a
static gw_signer signers[2];
static gw_config cfg;
static gw_registry *registry;
static gw_verifier *verifier;

static int setup(void **state)
{
    (void)state;
    secp = custos_secp_new();
    if (secp == NULL)
        return -1;
    for (int i = 0; i < K_COUNT; i++) {
        memset(keys[i], 0x21 * (i + 1), CUSTOS_SECKEY_LEN);
        if (custos_address_from_seckey(secp, keys[i], addrs[i], NULL) != CUSTOS_OK)
            return -1;
    }
    feeds[0] = (gw_feed){.name = "acme", .max_age = 86400, .max_skew = 300, .max_ttl = 604800,
                         .threshold = 2};
    const gw_role roles[2] = {GW_ROLE_CUSTODIAN, GW_ROLE_VALUATION_AGENT};
    for (int i = 0; i < 2; i++) {
        memset(&signers[i], 0, sizeof signers[i]);
        memcpy(signers[i].address, addrs[i], CUSTOS_ADDRESS_LEN);
        snprintf(signers[i].feed, sizeof signers[i].feed, "acme");
        signers[i].role = roles[i];
        signers[i].active = true;
    }
    feeds[1] = feeds[0];
    snprintf(feeds[1].name, sizeof feeds[1].name, "beta");
    for (int i = 0; i <= N_ACCOUNTS; i++) {
        memset(accounts_registered[i].account, i < N_ACCOUNTS ? 0x40 + i : OTHER_FEED_ACCOUNT,
               CUSTOS_HASH_LEN);
        snprintf(accounts_registered[i].feed, sizeof accounts_registered[i].feed, "%s",
                 i < N_ACCOUNTS ? "acme" : "beta");
    }
    gw_accounts_sort(accounts_registered, N_ACCOUNTS + 1);
    memset(&cfg, 0, sizeof cfg);
    cfg.accounts = accounts_registered;
    cfg.n_accounts = N_ACCOUNTS + 1;
    cfg.domain.chain_id = 31337;
    memset(cfg.domain.verifying_contract, 0xab, CUSTOS_ADDRESS_LEN);
    cfg.feeds = feeds;
    cfg.n_feeds = 2;
    cfg.signers = signers;
    cfg.n_signers = 2;
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

/* A batch of N_ACCOUNTS valuations; nothing signed, no root yet. */
static void base_batch(gw_batch_submission *bs, custos_batch_member *accounts)
{
    memset(bs, 0, sizeof *bs);
    memset(accounts, 0, N_ACCOUNTS * sizeof *accounts);
    snprintf(bs->feed, sizeof bs->feed, "acme");
    bs->domain = cfg.domain;
    custos_feed_id("acme", bs->batch.feed_id);
    bs->batch.count = N_ACCOUNTS;
    bs->batch.as_of = NOW - 60;
    bs->batch.valid_until = NOW + 3600;
    bs->batch.sequence = 3;
    for (size_t i = 0; i < N_ACCOUNTS; i++) {
        custos_batch_member *s = &accounts[i];
        memset(s->att.account, (int)(0x40 + i), CUSTOS_HASH_LEN);
        s->att.kind = CUSTOS_KIND_VALUATION;
        custos_u256_from_u64(&s->att.gross_value, 1000 + i);
        custos_u256_from_u64(&s->att.collateral_value, 900 + i);
        s->att.as_of = bs->batch.as_of;
        s->att.valid_until = bs->batch.valid_until;
        s->att.sequence = 7;
    }
    bs->accounts = accounts;
    bs->n_accounts = N_ACCOUNTS;
}

/* The root over the accounts as they are (whatever their kinds and times), as a signer
 * who built a bad batch would have made it. */
static void set_root(gw_batch_submission *bs)
{
    uint8_t leaves[N_ACCOUNTS + 1][CUSTOS_HASH_LEN];
    assert_true(bs->n_accounts <= N_ACCOUNTS + 1 && bs->n_accounts > 0);
    for (size_t i = 0; i < bs->n_accounts; i++)
        custos_batch_leaf(&bs->accounts[i].att, leaves[i]);
    custos_merkle *t = NULL;
    assert_int_equal(custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])leaves,
                                       bs->n_accounts, &t, NULL),
                     CUSTOS_OK);
    custos_merkle_root(t, bs->batch.accounts_root);
    custos_merkle_free(t);
}

static void sign(gw_batch_submission *bs, int key)
{
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(&bs->domain, &bs->batch, digest);
    assert_true(bs->n_sigs < CUSTOS_MAX_SIGNATURES);
    assert_int_equal(custos_sign_digest(secp, keys[key], digest, &bs->sigs[bs->n_sigs], NULL),
                     CUSTOS_OK);
    bs->n_sigs++;
}

static void root_and_quorum(gw_batch_submission *bs)
{
    set_root(bs);
    sign(bs, K_CUST);
    sign(bs, K_VAL);
}

typedef void (*mutate_fn)(gw_batch_submission *bs);

static void m_good(gw_batch_submission *bs) { root_and_quorum(bs); }
static void m_no_accounts(gw_batch_submission *bs)
{
    root_and_quorum(bs);
    bs->n_accounts = 0;
}
static void m_too_many(gw_batch_submission *bs)
{
    root_and_quorum(bs);
    bs->n_accounts = CUSTOS_BATCH_MAX_ACCOUNTS + 1;
}
static void m_no_signature(gw_batch_submission *bs) { set_root(bs); }
static void m_wrong_domain(gw_batch_submission *bs)
{
    bs->domain.chain_id = 1;
    root_and_quorum(bs);
}
static void m_unknown_feed(gw_batch_submission *bs)
{
    snprintf(bs->feed, sizeof bs->feed, "gamma");
    custos_feed_id("gamma", bs->batch.feed_id);
    root_and_quorum(bs);
}
static void m_stale(gw_batch_submission *bs)
{
    bs->batch.as_of = NOW - 86401;
    for (size_t i = 0; i < bs->n_accounts; i++)
        bs->accounts[i].att.as_of = bs->batch.as_of;
    root_and_quorum(bs);
}
static void m_expired(gw_batch_submission *bs)
{
    bs->batch.valid_until = NOW;
    for (size_t i = 0; i < bs->n_accounts; i++)
        bs->accounts[i].att.valid_until = NOW;
    root_and_quorum(bs);
}
static void m_feed_id(gw_batch_submission *bs)
{
    custos_feed_id("beta", bs->batch.feed_id);
    root_and_quorum(bs);
}
static void m_count(gw_batch_submission *bs)
{
    bs->batch.count = N_ACCOUNTS + 1;
    root_and_quorum(bs);
}
static void m_value_changed(gw_batch_submission *bs)
{
    root_and_quorum(bs);
    bs->accounts[3].att.collateral_value.limb[0] += 1;
}
static void m_account_dropped(gw_batch_submission *bs)
{
    root_and_quorum(bs);
    bs->n_accounts--;
    bs->batch.count--;
}
static void m_duplicate(gw_batch_submission *bs)
{
    memcpy(bs->accounts[4].att.account, bs->accounts[1].att.account, CUSTOS_HASH_LEN);
    root_and_quorum(bs);
}
static void m_unlisted_signer(gw_batch_submission *bs)
{
    set_root(bs);
    sign(bs, K_CUST);
    sign(bs, K_UNLISTED);
}
static void m_same_signer_twice(gw_batch_submission *bs)
{
    set_root(bs);
    sign(bs, K_CUST);
    sign(bs, K_CUST);
}
/* Signed over an account's attestation digest, not the batch's: no allow-listed signer. */
static void m_signed_attestation_digest(gw_batch_submission *bs)
{
    set_root(bs);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_attestation_digest(&bs->domain, &bs->accounts[0].att, digest);
    assert_int_equal(custos_sign_digest(secp, keys[K_CUST], digest, &bs->sigs[0], NULL),
                     CUSTOS_OK);
    bs->n_sigs = 1;
}
static void m_freeze_member(gw_batch_submission *bs)
{
    bs->accounts[2].att.kind = CUSTOS_KIND_FREEZE;
    root_and_quorum(bs);
}
static void m_other_times_member(gw_batch_submission *bs)
{
    bs->accounts[0].att.as_of += 1;
    bs->accounts[5].att.valid_until += 1;
    root_and_quorum(bs);
}
static void m_value_beyond_uint128(gw_batch_submission *bs)
{
    bs->accounts[1].att.collateral_value.limb[2] = 1;
    root_and_quorum(bs);
}
static custos_position bad_position = {.asset_id = "US912828XX00", .haircut_bps = 100};
static void m_positions_not_the_root(gw_batch_submission *bs)
{
    bs->accounts[4].positions = &bad_position;
    bs->accounts[4].n_positions = 1;
    root_and_quorum(bs);
}

/* Rule 9 for each account alone: one registered to no feed, one to another feed. */
static void m_unregistered_and_other_feed(gw_batch_submission *bs)
{
    memset(bs->accounts[3].att.account, 0x70, CUSTOS_HASH_LEN);
    memset(bs->accounts[5].att.account, OTHER_FEED_ACCOUNT, CUSTOS_HASH_LEN);
    root_and_quorum(bs);
}

/* A member verdict: account index and reason; idx -1 ends the list. */
typedef struct member_want {
    int idx;
    custos_reason reason;
    const char *detail;
} member_want;

static const struct {
    const char *name;
    mutate_fn mutate;
    custos_reason want;
    const char *detail;
    member_want members[3];
} cases[] = {
    {"good", m_good, CUSTOS_REASON_NONE, NULL, {{-1, 0, NULL}}},
    {"no accounts", m_no_accounts, CUSTOS_REASON_MALFORMED, "no account", {{-1, 0, NULL}}},
    {"too many accounts", m_too_many, CUSTOS_REASON_TOO_LARGE, "at most 4096", {{-1, 0, NULL}}},
    {"no signature", m_no_signature, CUSTOS_REASON_MALFORMED, "no signature", {{-1, 0, NULL}}},
    {"wrong domain", m_wrong_domain, CUSTOS_REASON_WRONG_DOMAIN, NULL, {{-1, 0, NULL}}},
    {"unknown feed", m_unknown_feed, CUSTOS_REASON_UNKNOWN_FEED, "gamma", {{-1, 0, NULL}}},
    {"stale batch", m_stale, CUSTOS_REASON_STALE, NULL, {{-1, 0, NULL}}},
    {"expired batch", m_expired, CUSTOS_REASON_EXPIRED, NULL, {{-1, 0, NULL}}},
    {"feedId of another feed", m_feed_id, CUSTOS_REASON_BATCH_ROOT_MISMATCH, "feedId",
     {{-1, 0, NULL}}},
    {"count differs", m_count, CUSTOS_REASON_BATCH_ROOT_MISMATCH, "count", {{-1, 0, NULL}}},
    {"a value changed after signing", m_value_changed, CUSTOS_REASON_BATCH_ROOT_MISMATCH,
     "accountsRoot", {{-1, 0, NULL}}},
    {"an account dropped", m_account_dropped, CUSTOS_REASON_BATCH_ROOT_MISMATCH, NULL,
     {{-1, 0, NULL}}},
    {"an account twice", m_duplicate, CUSTOS_REASON_BATCH_DUPLICATE_ACCOUNT, "more than once",
     {{-1, 0, NULL}}},
    {"a signer not on the list", m_unlisted_signer, CUSTOS_REASON_UNKNOWN_SIGNER, NULL,
     {{-1, 0, NULL}}},
    {"one signer twice", m_same_signer_twice, CUSTOS_REASON_DUPLICATE_SIGNER, NULL,
     {{-1, 0, NULL}}},
    {"signed over an attestation, not the batch", m_signed_attestation_digest,
     CUSTOS_REASON_UNKNOWN_SIGNER, NULL, {{-1, 0, NULL}}},
    {"a freeze in the batch", m_freeze_member, CUSTOS_REASON_NONE, NULL,
     {{2, CUSTOS_REASON_BATCH_MEMBER_MISMATCH, "valuations only"}, {-1, 0, NULL}}},
    {"accounts with other times", m_other_times_member, CUSTOS_REASON_NONE, NULL,
     {{0, CUSTOS_REASON_BATCH_MEMBER_MISMATCH, "asOf"},
      {5, CUSTOS_REASON_BATCH_MEMBER_MISMATCH, "validUntil"},
      {-1, 0, NULL}}},
    {"a value beyond uint128", m_value_beyond_uint128, CUSTOS_REASON_NONE, NULL,
     {{1, CUSTOS_REASON_MALFORMED, "2^128"}, {-1, 0, NULL}}},
    {"positions that are not the signed root", m_positions_not_the_root, CUSTOS_REASON_NONE,
     NULL, {{4, CUSTOS_REASON_MALFORMED, "positionsRoot"}, {-1, 0, NULL}}},
    {"an unregistered account and one of another feed", m_unregistered_and_other_feed,
     CUSTOS_REASON_NONE, NULL,
     {{3, CUSTOS_REASON_UNREGISTERED_ACCOUNT, "not registered"},
      {5, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, "registered to feed 'beta'"},
      {-1, 0, NULL}}},
};

static custos_reason member_wanted(size_t c, size_t i, const char **detail)
{
    *detail = NULL;
    for (const member_want *m = cases[c].members; m->idx >= 0; m++)
        if ((size_t)m->idx == i) {
            *detail = m->detail;
            return m->reason;
        }
    return CUSTOS_REASON_NONE;
}

static void test_batch_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        custos_batch_member accounts[N_ACCOUNTS];
        gw_batch_submission bs;
        base_batch(&bs, accounts);
        cases[c].mutate(&bs);
        gw_verified ver;
        gw_batch_member members[N_ACCOUNTS];
        /* A detail is written for a refused account alone: the others keep what was there. */
        char details[N_ACCOUNTS][GW_BATCH_DETAIL_MAX];
        for (size_t i = 0; i < N_ACCOUNTS; i++)
            snprintf(details[i], sizeof details[i], "untouched");
        char detail[256];
        custos_reason r = gw_verify_batch(verifier, &bs, NOW, &ver, members, details, detail,
                                          sizeof detail);
        if (r != cases[c].want) {
            fail_msg("%s: got %s (%s), want %s", cases[c].name, custos_reason_name(r), detail,
                     custos_reason_name(cases[c].want));
            return;
        }
        if (cases[c].detail != NULL && strstr(detail, cases[c].detail) == NULL) {
            fail_msg("%s: detail '%s' lacks '%s'", cases[c].name, detail, cases[c].detail);
            return;
        }
        if (r != CUSTOS_REASON_NONE) {
            assert_null(ver.policy);
            continue;
        }
        /* The batch's signers, once, over the batch digest. */
        assert_non_null(ver.policy);
        assert_int_equal(ver.n_signers, 2);
        assert_memory_equal(ver.signers[0], addrs[K_CUST], CUSTOS_ADDRESS_LEN);
        assert_memory_equal(ver.signers[1], addrs[K_VAL], CUSTOS_ADDRESS_LEN);
        uint8_t digest[CUSTOS_HASH_LEN];
        custos_batch_digest(&bs.domain, &bs.batch, digest);
        assert_memory_equal(ver.digest, digest, CUSTOS_HASH_LEN);
        for (size_t i = 0; i < bs.n_accounts; i++) {
            const char *want_detail;
            custos_reason want = member_wanted(c, i, &want_detail);
            if (members[i].reason != want) {
                fail_msg("%s: account %zu got %s (%s), want %s", cases[c].name, i,
                         custos_reason_name(members[i].reason), details[i],
                         custos_reason_name(want));
                return;
            }
            if (want_detail != NULL && strstr(details[i], want_detail) == NULL) {
                fail_msg("%s: account %zu detail '%s' lacks '%s'", cases[c].name, i,
                         details[i], want_detail);
                return;
            }
            if (want == CUSTOS_REASON_NONE && strcmp(details[i], "untouched") != 0) {
                fail_msg("%s: account %zu, not refused, had its detail written: '%s'",
                         cases[c].name, i, details[i]);
                return;
            }
            if (want != CUSTOS_REASON_NONE && strcmp(details[i], "untouched") == 0) {
                fail_msg("%s: account %zu refused without a detail", cases[c].name, i);
                return;
            }
        }
        gw_policy_release(ver.policy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
