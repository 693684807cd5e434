/* The runtime allow-list: a snapshot taken stays whole and unchanged while the registry
 * moves on, lookups see only their own snapshot, a rotated-out key counts until exactly
 * its not_after, rotated keys share their party with the keys that replaced them, and
 * readers racing a writer always see one complete list; every registered account is found
 * through the account index, and no other. */
#include <pthread.h>
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
#include "registry.h"

static gw_feed feeds[2];
static gw_signer signers[3];

static void make_config(gw_config *cfg, size_t n_signers, uint32_t threshold)
{
    memset(cfg, 0, sizeof *cfg);
    feeds[0] = (gw_feed){.name = "acme", .max_age = 86400, .max_skew = 300, .max_ttl = 604800,
                         .threshold = threshold};
    feeds[1] = (gw_feed){.name = "beta", .max_age = 60, .max_skew = 5, .max_ttl = 600,
                         .threshold = 1};
    for (size_t i = 0; i < 3; i++) {
        memset(&signers[i], 0, sizeof signers[i]);
        memset(signers[i].address, 0x10 + (int)i, CUSTOS_ADDRESS_LEN);
        snprintf(signers[i].feed, sizeof signers[i].feed, "%s", i == 2 ? "beta" : "acme");
        signers[i].role = GW_ROLE_CUSTODIAN;
        signers[i].active = true;
    }
    cfg->feeds = feeds;
    cfg->n_feeds = 2;
    cfg->signers = signers;
    cfg->n_signers = n_signers;
}

static void test_snapshot_survives_replace(void **state)
{
    (void)state;
    gw_config cfg;
    make_config(&cfg, 3, 2);
    gw_registry *r = NULL;
    assert_int_equal(gw_registry_new(&cfg, &r, NULL), CUSTOS_OK);
    gw_policy *old = gw_registry_acquire(r);
    assert_int_equal(old->generation, 1);
    assert_int_equal(old->n_signers, 3);

    /* The registry copied the lists: changing the caller's arrays changes nothing. */
    uint8_t addr0[CUSTOS_ADDRESS_LEN];
    memcpy(addr0, signers[0].address, CUSTOS_ADDRESS_LEN);
    make_config(&cfg, 1, 1);
    memset(signers[0].address, 0x99, CUSTOS_ADDRESS_LEN);
    assert_int_equal(gw_registry_replace(r, &cfg, NULL), CUSTOS_OK);

    gw_policy *cur = gw_registry_acquire(r);
    assert_int_equal(cur->generation, 2);
    assert_int_equal(cur->n_signers, 1);
    assert_int_equal(gw_policy_find_feed(cur, "acme")->threshold, 1);
    assert_non_null(gw_policy_find_signer(cur, "acme", signers[0].address));
    assert_null(gw_policy_find_signer(cur, "acme", addr0));

    /* The old snapshot is still whole and still says what it said. */
    assert_int_equal(old->n_signers, 3);
    assert_int_equal(gw_policy_find_feed(old, "acme")->threshold, 2);
    assert_non_null(gw_policy_find_signer(old, "acme", addr0));
    assert_null(gw_policy_find_signer(old, "acme", signers[0].address));
    gw_policy_release(old);
    gw_policy_release(cur);
    gw_registry_free(r);
}

static void test_lookups(void **state)
{
    (void)state;
    gw_config cfg;
    make_config(&cfg, 3, 1);
    gw_registry *r = NULL;
    assert_int_equal(gw_registry_new(&cfg, &r, NULL), CUSTOS_OK);
    gw_policy *p = gw_registry_acquire(r);
    assert_non_null(gw_policy_find_feed(p, "beta"));
    assert_null(gw_policy_find_feed(p, "gamma"));
    /* Listed for beta only: not found for acme, found by the any-feed lookup. */
    assert_null(gw_policy_find_signer(p, "acme", signers[2].address));
    const gw_signer *any = gw_policy_find_signer_any(p, signers[2].address);
    assert_non_null(any);
    assert_string_equal(any->feed, "beta");
    uint8_t unknown[CUSTOS_ADDRESS_LEN];
    memset(unknown, 0xee, sizeof unknown);
    assert_null(gw_policy_find_signer_any(p, unknown));
    gw_policy_release(p);
    gw_policy_release(NULL);
    gw_registry_free(r);
}

/* Account ids that share their first 8 bytes (the index's hash) collide in one slot and
 * must all be found by probing on; so must ids of random content, and no id is found that
 * was not registered, including one that collides with every registered id. */
static void test_account_index(void **state)
{
    (void)state;
    enum { SAME_PREFIX = 300, RANDOM = 5000, N = SAME_PREFIX + RANDOM };
    static gw_account accounts[N];
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < N; i++) {
        memset(&accounts[i], 0, sizeof accounts[i]);
        for (size_t b = 0; b < CUSTOS_HASH_LEN; b++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            accounts[i].account[b] = (uint8_t)x;
        }
        if (i < SAME_PREFIX)
            memset(accounts[i].account, 0xAB, 8);
        snprintf(accounts[i].feed, sizeof accounts[i].feed, "%s", i % 2 ? "beta" : "acme");
    }
    gw_config cfg;
    make_config(&cfg, 3, 2);
    cfg.accounts = accounts;
    cfg.n_accounts = N;
    gw_registry *r = NULL;
    assert_int_equal(gw_registry_new(&cfg, &r, NULL), CUSTOS_OK);
    gw_policy *p = gw_registry_acquire(r);
    for (size_t i = 0; i < N; i++) {
        const gw_account *a = gw_policy_find_account(p, accounts[i].account);
        assert_non_null(a);
        assert_memory_equal(a->account, accounts[i].account, CUSTOS_HASH_LEN);
        assert_string_equal(a->feed, i % 2 ? "beta" : "acme");
    }
    uint8_t other[CUSTOS_HASH_LEN];
    memcpy(other, accounts[0].account, CUSTOS_HASH_LEN);
    other[CUSTOS_HASH_LEN - 1] ^= 1;
    assert_null(gw_policy_find_account(p, other));
    memset(other, 0x5A, sizeof other);
    assert_null(gw_policy_find_account(p, other));
    gw_policy_release(p);

    /* No accounts at all: nothing is found. */
    cfg.n_accounts = 0;
    assert_int_equal(gw_registry_replace(r, &cfg, NULL), CUSTOS_OK);
    p = gw_registry_acquire(r);
    assert_null(gw_policy_find_account(p, accounts[0].account));
    gw_policy_release(p);
    gw_registry_free(r);
}

/* gw_registry_replace_taking: the snapshot keeps the caller's array itself, unsorted as
 * given, sorts and indexes it; the caller's pointer is NULL afterwards, and the array is
 * freed with the last reference to the snapshot (the sanitizer build checks both). */
static void test_replace_taking(void **state)
{
    (void)state;
    enum { N = 1000 };
    gw_config cfg;
    make_config(&cfg, 3, 2);
    gw_registry *r = NULL;
    assert_int_equal(gw_registry_new(&cfg, &r, NULL), CUSTOS_OK);
    gw_account *given = calloc(N, sizeof *given);
    assert_non_null(given);
    for (size_t i = 0; i < N; i++) {
        /* Descending ids: the snapshot sorts them. */
        given[i].account[0] = (uint8_t)((N - i) >> 8);
        given[i].account[1] = (uint8_t)(N - i);
        snprintf(given[i].feed, sizeof given[i].feed, "%s", i % 3 ? "acme" : "beta");
    }
    gw_account *kept = given;
    cfg.accounts = given;
    cfg.n_accounts = N;
    assert_int_equal(gw_registry_replace_taking(r, &cfg, &given, NULL), CUSTOS_OK);
    assert_null(given);
    gw_policy *p = gw_registry_acquire(r);
    assert_ptr_equal(p->accounts, kept);
    assert_int_equal(p->n_accounts, N);
    assert_int_equal(p->generation, 2);
    for (size_t i = 0; i < N; i++) {
        uint8_t id[CUSTOS_HASH_LEN] = {(uint8_t)((N - i) >> 8), (uint8_t)(N - i)};
        const gw_account *a = gw_policy_find_account(p, id);
        assert_non_null(a);
        assert_string_equal(a->feed, i % 3 ? "acme" : "beta");
    }
    for (size_t i = 1; i < N; i++)
        assert_true(memcmp(p->accounts[i - 1].account, p->accounts[i].account,
                           CUSTOS_HASH_LEN) < 0);
    /* The next replacement copies again; the taken array goes with the old snapshot. */
    cfg.accounts = NULL;
    cfg.n_accounts = 0;
    assert_int_equal(gw_registry_replace(r, &cfg, NULL), CUSTOS_OK);
    gw_policy_release(p);
    p = gw_registry_acquire(r);
    assert_int_equal(p->n_accounts, 0);
    gw_policy_release(p);
    gw_registry_free(r);
}

static void test_registry_outlived_by_snapshot(void **state)
{
    (void)state;
    gw_config cfg;
    make_config(&cfg, 2, 1);
    gw_registry *r = NULL;
    assert_int_equal(gw_registry_new(&cfg, &r, NULL), CUSTOS_OK);
    gw_policy *p = gw_registry_acquire(r);
    gw_registry_free(r);
    assert_int_equal(p->n_signers, 2); /* still readable: freed by its last release */
    gw_policy_release(p);
}

static const struct valid_case {
    const char *name;
    bool active;
    uint64_t not_after, now;
    bool valid;
} valid_cases[] = {
    {"active, no window", true, 0, 1700000000, true},
    {"revoked", false, 0, 1700000000, false},
    {"revoked inside a window", false, 1700000100, 1700000000, false},
    {"window: one second before its end", true, 1700000000, 1699999999, true},
    {"window: at its end", true, 1700000000, 1700000000, false},
    {"window: after its end", true, 1700000000, 1700000001, false},
    {"window ending at the largest time", true, UINT64_MAX, UINT64_MAX - 1, true},
};

static void test_signer_valid_at(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
        const struct valid_case *c = &valid_cases[i];
        gw_signer s;
        memset(&s, 0, sizeof s);
        s.active = c->active;
        s.not_after = c->not_after;
        if (gw_signer_valid_at(&s, c->now) != c->valid)
            fail_msg("case '%s': got %d, want %d", c->name, !c->valid, c->valid);
    }
}

/* Readers check that every snapshot they get is one of the two lists written, whole. */
#define RACE_ROUNDS 2000
#define RACE_READERS 3

static gw_registry *race_reg;
static atomic_bool race_stop;

static void *race_reader(void *arg)
{
    size_t *bad = arg;
    while (!atomic_load(&race_stop)) {
        gw_policy *p = gw_registry_acquire(race_reg);
        uint32_t want = p->n_signers == 3 ? 2 : 1;
        const gw_feed *f = gw_policy_find_feed(p, "acme");
        if (f == NULL || f->threshold != want || (p->n_signers != 3 && p->n_signers != 1))
            (*bad)++;
        gw_policy_release(p);
    }
    return NULL;
}

static void test_readers_race_writer(void **state)
{
    (void)state;
    gw_config big, small;
    make_config(&big, 3, 2);
    gw_feed big_feeds[2];
    gw_signer big_signers[3];
    memcpy(big_feeds, feeds, sizeof feeds);
    memcpy(big_signers, signers, sizeof signers);
    big.feeds = big_feeds;
    big.signers = big_signers;
    make_config(&small, 1, 1);
    assert_int_equal(gw_registry_new(&big, &race_reg, NULL), CUSTOS_OK);
    atomic_init(&race_stop, false);
    pthread_t t[RACE_READERS];
    size_t bad[RACE_READERS] = {0};
    for (int i = 0; i < RACE_READERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race_reader, &bad[i]), 0);
    for (int i = 0; i < RACE_ROUNDS; i++)
        assert_int_equal(gw_registry_replace(race_reg, i % 2 ? &big : &small, NULL), CUSTOS_OK);
    atomic_store(&race_stop, true);
    for (int i = 0; i < RACE_READERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(bad[i], 0);
    }
    gw_policy *p = gw_registry_acquire(race_reg);
    assert_int_equal(p->generation, RACE_ROUNDS + 1);
    gw_policy_release(p);
    gw_registry_free(race_reg);
}

/* Rule 2: a chain of rotations is one signing party, its current key's; a key of another
 * feed with the same address is not part of it; a damaged list with a cycle ends. */
static void test_parties(void **state)
{
    (void)state;
    gw_signer list[6];
    memset(list, 0, sizeof list);
    for (int i = 0; i < 6; i++) {
        memset(list[i].address, 0x40 + i, CUSTOS_ADDRESS_LEN);
        snprintf(list[i].feed, sizeof list[i].feed, "%s", i == 3 ? "beta" : "acme");
        list[i].active = true;
    }
    /* acme: 0 rotated to 1, 1 rotated to 2; 4 and 5 replace each other (a cycle). beta: 3
     * has 2's address but another feed. */
    memcpy(list[3].address, list[2].address, CUSTOS_ADDRESS_LEN);
    const int successor[6] = {1, 2, -1, -1, 5, 4};
    for (int i = 0; i < 6; i++) {
        if (successor[i] < 0)
            continue;
        list[i].rotated = true;
        list[i].not_after = 1700000000;
        memcpy(list[i].replaced_by, list[successor[i]].address, CUSTOS_ADDRESS_LEN);
    }
    gw_config cfg;
    make_config(&cfg, 0, 1);
    cfg.signers = list;
    cfg.n_signers = 6;
    gw_registry *r = NULL;
    assert_int_equal(gw_registry_new(&cfg, &r, NULL), CUSTOS_OK);
    gw_policy *p = gw_registry_acquire(r);
    assert_int_equal(p->signers[0].party, 2);
    assert_int_equal(p->signers[1].party, 2);
    assert_int_equal(p->signers[2].party, 2);
    assert_int_equal(p->signers[3].party, 3);
    assert_true(p->signers[4].party == 4 || p->signers[4].party == 5);
    assert_true(p->signers[5].party == 4 || p->signers[5].party == 5);
    gw_policy_release(p);
    gw_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_survives_replace),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_account_index),
        cmocka_unit_test(test_replace_taking),
        cmocka_unit_test(test_registry_outlived_by_snapshot),
        cmocka_unit_test(test_signer_valid_at),
        cmocka_unit_test(test_parties),
        cmocka_unit_test(test_readers_race_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
