/* Bounds on pending work ([limits] max_pending_*, pending_max_age_seconds): one
 * allow-listed key sending single-signature attestations for fresh accounts is refused
 * PENDING_LIMIT beyond its bound and the pending rows stored stay within it (count and
 * bytes); the feed's bound holds across its signers; a cosigned digest frees its place;
 * pending digests expire after their age. SQLite and PostgreSQL alike, through the
 * engine and its store. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config/config.h"
#include "custos/eip712.h"
#include "custos/merkle.h"
#include "custos/sig.h"
#include "engine/engine.h"
#include "pgserver.h"
#include "registry.h"
#include "testutil.h"

enum { K_CUST, K_VAL, K_AUD, K_COUNT };

static tu_pg PG;
static uint8_t keys[K_COUNT][CUSTOS_SECKEY_LEN];

typedef struct fixture {
    char dir[2048];
    gw_feed feed;
    gw_signer signers[K_COUNT];
    gw_config cfg;
    gw_engine *engine;
    custos_secp *secp;
    uint64_t now;
} fixture;

/* A feed of three signers needing two: every single signature is pending. The bounds are
 * the test's (0: none) until start(). */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->secp = custos_secp_new();
    if (f->secp == NULL)
        return -1;
    tu_mkdtemp(f->dir, sizeof f->dir);
    gw_config *c = &f->cfg;
    if (*state == &PG) {
        tu_pg_new_db(&PG, c->store_path, sizeof c->store_path);
        c->store_backend = GW_STORE_POSTGRESQL;
    } else {
        snprintf(c->store_path, sizeof c->store_path, "%s/custos.db", f->dir);
    }
    c->domain.chain_id = 31337;
    memset(c->domain.verifying_contract, 0xab, CUSTOS_ADDRESS_LEN);
    c->commit_batch_max = 32;
    c->commit_delay_us = 200;
    snprintf(f->feed.name, sizeof f->feed.name, "acme");
    f->feed.max_age = 86400;
    f->feed.max_skew = 300;
    f->feed.max_ttl = 604800;
    f->feed.threshold = 2;
    const gw_role roles[K_COUNT] = {GW_ROLE_CUSTODIAN, GW_ROLE_VALUATION_AGENT,
                                    GW_ROLE_AUDITOR};
    for (int i = 0; i < K_COUNT; i++) {
        memset(keys[i], 0x41 + i, CUSTOS_SECKEY_LEN);
        gw_signer *s = &f->signers[i];
        if (custos_address_from_seckey(f->secp, keys[i], s->address, NULL) != CUSTOS_OK)
            return -1;
        snprintf(s->feed, sizeof s->feed, "acme");
        s->role = roles[i];
        s->active = true;
    }
    c->feeds = &f->feed;
    c->n_feeds = 1;
    c->signers = f->signers;
    c->n_signers = K_COUNT;
    f->now = (uint64_t)time(NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gw_engine_free(f->engine);
    custos_secp_free(f->secp);
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

static void start(fixture *f)
{
    custos_error err;
    if (gw_engine_new(&f->cfg, &f->engine, &err) != CUSTOS_OK)
        fail_msg("%s", err.message);
}

/* Rule 9: registers account to feed acme in the engine's registry in force (signers and
 * feeds kept), as RegisterAccount does; nothing when it is registered already. */
static void register_account(fixture *f, const uint8_t account[CUSTOS_HASH_LEN])
{
    gw_registry *reg = gw_engine_registry(f->engine);
    gw_policy *p = gw_registry_acquire(reg);
    if (gw_policy_find_account(p, account) != NULL) {
        gw_policy_release(p);
        return;
    }
    gw_account *list = calloc(p->n_accounts + 1, sizeof *list);
    assert_non_null(list);
    if (p->n_accounts > 0)
        memcpy(list, p->accounts, p->n_accounts * sizeof *list);
    memcpy(list[p->n_accounts].account, account, CUSTOS_HASH_LEN);
    snprintf(list[p->n_accounts].feed, sizeof list[p->n_accounts].feed, "acme");
    gw_config view = f->cfg;
    view.feeds = p->feeds;
    view.n_feeds = p->n_feeds;
    view.signers = p->signers;
    view.n_signers = p->n_signers;
    view.accounts = list;
    view.n_accounts = p->n_accounts + 1;
    custos_error err;
    custos_rc rc = gw_registry_replace(reg, &view, &err);
    gw_policy_release(p);
    free(list);
    assert_int_equal(rc, CUSTOS_OK);
}

/* A valuation of account `account` (fresh per number, registered to acme) with
 * n_positions positions, signed by key. */
static void make_signed(fixture *f, custos_submission *s, uint32_t account, size_t n_positions,
                        int key)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "acme");
    s->domain = f->cfg.domain;
    memcpy(s->att.account, &account, sizeof account);
    s->att.account[31] = 0xac;
    register_account(f, s->att.account);
    memset(s->att.beneficiary, 0x07, CUSTOS_ADDRESS_LEN);
    custos_u256_from_u64(&s->att.gross_value, 1000100);
    custos_u256_from_u64(&s->att.collateral_value, 1000000);
    s->att.as_of = f->now - 60;
    s->att.valid_until = f->now + 3600;
    s->att.sequence = 1;
    if (n_positions > 0) {
        s->positions = calloc(n_positions, sizeof *s->positions);
        assert_non_null(s->positions);
        for (size_t i = 0; i < n_positions; i++) {
            custos_position *p = &s->positions[i];
            snprintf(p->asset_id, sizeof p->asset_id, "US912828%04zu", i);
            custos_u256_from_u64(&p->quantity, 1000 + i);
            custos_u256_from_u64(&p->price, 100);
            custos_u256_from_u64(&p->value, 100 * (1000 + i));
        }
        s->n_positions = n_positions;
        custos_error err;
        assert_int_equal(custos_positions_root(s->positions, n_positions, s->att.positions_root,
                                               &err),
                         CUSTOS_OK);
    }
    uint8_t digest[32];
    custos_attestation_digest(&s->domain, &s->att, digest);
    assert_int_equal(custos_sign_digest(f->secp, keys[key], digest, &s->sigs[0], NULL),
                     CUSTOS_OK);
    s->n_sigs = 1;
}

/* Waits for the single completion of one submission. */
typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls;
    gw_submit_outcome out;
} waiter;

static void on_done(void *ctx, const gw_submit_outcome *out)
{
    waiter *w = ctx;
    pthread_mutex_lock(&w->lock);
    w->calls++;
    w->out = *out;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static gw_submit_outcome submit(fixture *f, custos_submission *s)
{
    waiter w = {.calls = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    gw_engine_submit(f->engine, s, NULL, on_done, &w);
    pthread_mutex_lock(&w.lock);
    while (w.calls == 0)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    gw_submit_outcome out = w.out;
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return out;
}

static gw_submit_outcome submit_one(fixture *f, uint32_t account, size_t n_positions, int key)
{
    custos_submission s;
    make_signed(f, &s, account, n_positions, key);
    gw_submit_outcome o = submit(f, &s);
    custos_submission_clear(&s);
    return o;
}

static void pending_totals(fixture *f, uint64_t *rows, uint64_t *bytes)
{
    custos_error err;
    assert_int_equal(gw_engine_pending_totals(f->engine, rows, bytes, &err), CUSTOS_OK);
}

static void expect_pending(const gw_submit_outcome *o)
{
    if (o->reason != CUSTOS_REASON_NONE || o->state != CUSTOS_STATE_PENDING)
        fail_msg("want PENDING, got reason %s state %d: %s", custos_reason_name(o->reason),
                 (int)o->state, o->detail);
}

static void expect_limit(const gw_submit_outcome *o, const char *bound)
{
    if (o->reason != CUSTOS_REASON_PENDING_LIMIT || strstr(o->detail, bound) == NULL)
        fail_msg("want PENDING_LIMIT naming %s, got reason %s: %s", bound,
                 custos_reason_name(o->reason), o->detail);
}

/* The disk-filling attack: one key, many fresh accounts, one signature each. */
static void test_one_signer_is_bounded(void **state)
{
    fixture *f = *state;
    f->cfg.limits.max_pending_per_signer = 10;
    start(f);
    size_t pending = 0, refused = 0;
    for (uint32_t a = 1; a <= 50; a++) {
        gw_submit_outcome o = submit_one(f, a, 0, K_CUST);
        if (a <= 10) {
            expect_pending(&o);
            pending++;
        } else {
            expect_limit(&o, "max_pending_per_signer");
            refused++;
        }
    }
    assert_int_equal(pending, 10);
    assert_int_equal(refused, 40);
    uint64_t rows = 0, bytes = 0;
    pending_totals(f, &rows, &bytes);
    assert_int_equal(rows, 10);
    assert_true(bytes > 0);

    /* The same attestation again is not new work: a duplicate, not a refusal. */
    gw_submit_outcome o = submit_one(f, 3, 0, K_CUST);
    expect_pending(&o);
    assert_true(o.duplicate);
    /* Another signer has its own bound. */
    o = submit_one(f, 100, 0, K_VAL);
    expect_pending(&o);
    /* A cosignature completes one of the first key's digests: its place is free again. */
    o = submit_one(f, 1, 0, K_VAL);
    if (o.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("want ACCEPTED, got %s: %s", custos_reason_name(o.reason), o.detail);
    o = submit_one(f, 51, 0, K_CUST);
    expect_pending(&o);
    o = submit_one(f, 52, 0, K_CUST);
    expect_limit(&o, "max_pending_per_signer");
    pending_totals(f, &rows, &bytes);
    assert_int_equal(rows, 11); /* 10 of the first key, 1 of the second */
}

/* Large attestations: the stored bytes stay under the signer's byte bound. */
static void test_bytes_are_bounded(void **state)
{
    fixture *f = *state;
    f->cfg.limits.max_pending_bytes_per_signer = 256 * 1024;
    start(f);
    size_t pending = 0;
    gw_submit_outcome o;
    uint32_t a = 1;
    for (; a <= 100; a++) {
        o = submit_one(f, a, 512, K_CUST);
        if (o.reason != CUSTOS_REASON_NONE)
            break;
        expect_pending(&o);
        pending++;
    }
    expect_limit(&o, "max_pending_bytes_per_signer");
    assert_true(pending >= 2 && pending < 100);
    uint64_t rows = 0, bytes = 0;
    pending_totals(f, &rows, &bytes);
    assert_int_equal(rows, pending);
    assert_true(bytes <= 256 * 1024);
    assert_true(bytes > 256 * 1024 - bytes / pending); /* full up to one attestation */
    /* A small one may still fit; the refusal is about bytes, not rows. */
    o = submit_one(f, 500, 0, K_CUST);
    expect_pending(&o);
}

/* The feed's bound counts every signer's pending digests. */
static void test_feed_is_bounded(void **state)
{
    fixture *f = *state;
    f->cfg.limits.max_pending_per_signer = 100;
    f->cfg.limits.max_pending_per_feed = 3;
    start(f);
    gw_submit_outcome o = submit_one(f, 1, 0, K_CUST);
    expect_pending(&o);
    o = submit_one(f, 2, 0, K_VAL);
    expect_pending(&o);
    o = submit_one(f, 3, 0, K_AUD);
    expect_pending(&o);
    o = submit_one(f, 4, 0, K_CUST);
    expect_limit(&o, "max_pending_per_feed");
    assert_non_null(strstr(o.detail, "feed 'acme'"));
}

/* A pending digest older than pending_max_age_seconds is dropped with its signature at
 * the next commit; the attestation can still gather its quorum when sent again. */
static void test_pending_expires(void **state)
{
    fixture *f = *state;
    f->cfg.limits.pending_max_age_seconds = 1;
    f->cfg.limits.max_pending_per_signer = 2;
    start(f);
    gw_submit_outcome o = submit_one(f, 1, 0, K_CUST);
    expect_pending(&o);
    o = submit_one(f, 2, 0, K_CUST);
    expect_pending(&o);
    o = submit_one(f, 3, 0, K_CUST);
    expect_limit(&o, "max_pending_per_signer");
    uint64_t rows = 0, bytes = 0;
    pending_totals(f, &rows, &bytes);
    assert_int_equal(rows, 2);

    tu_sleep_ms(2500);
    o = submit_one(f, 3, 0, K_CUST); /* the sweep runs first: room again */
    expect_pending(&o);
    pending_totals(f, &rows, &bytes);
    assert_int_equal(rows, 1);
    /* Account 1's cosignature alone no longer makes a quorum: its first half expired. */
    o = submit_one(f, 1, 0, K_VAL);
    expect_pending(&o);
    assert_int_equal(o.signatures, 1);
}

static int pg_group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_pending_bounds: the PostgreSQL server did not start\n");
        return -1;
    }
    return 0;
}

static int pg_group_teardown(void **state)
{
    (void)state;
    tu_pg_stop(&PG);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_signer_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_expires, setup, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_one_signer_is_bounded, setup, teardown,
                                                 &PG),
        cmocka_unit_test_prestate_setup_teardown(test_bytes_are_bounded, setup, teardown, &PG),
        cmocka_unit_test_prestate_setup_teardown(test_pending_expires, setup, teardown, &PG),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup,
                                          pg_group_teardown);
    return failed;
}
