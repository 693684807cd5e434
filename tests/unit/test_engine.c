/* The rule engine in process: acceptance, idempotent retries, quorum (signers and
 * distinct roles), freeze, replay, bounded sequence steps, feed binding, one lender per
 * account, signing parties across a rotation, the circuit breaker and its base, releases
 * of held rises, durability across reopen, a store failure, and many threads submitting
 * at once. */
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
#include <sqlite3.h>

#include "config/config.h"
#include "custos/eip712.h"
#include "custos/sig.h"
#include "engine/engine.h"
#include "engine/internal.h"
#include "testutil.h"

/* Keys: solo's custodian; duo's custodian and valuation agent; roles' two custodians and
 * an auditor; guard's custodian and auditor. */
enum {
    K_SOLO,
    K_DUO_CUST,
    K_DUO_VAL,
    K_ROLES_C1,
    K_ROLES_C2,
    K_ROLES_AUD,
    K_GUARD_C,
    K_GUARD_AUD,
    K_DUO_VAL_NEW, /* listed only once a test rotates K_DUO_VAL to it */
    K_COUNT
};

static uint8_t keys[K_COUNT][CUSTOS_SECKEY_LEN];
static uint8_t addrs[K_COUNT][CUSTOS_ADDRESS_LEN];

typedef struct fixture {
    char dir[2048];
    gw_feed feeds[4];
    gw_signer signers[K_COUNT];
    gw_config cfg;
    /* Rule 9: make_sub registers an account to the feed it is first made for. */
    gw_account accounts[256];
    bool no_auto_register;
    gw_engine *engine;
    custos_secp *secp;
    uint64_t now;
} fixture;

static void add_signer(fixture *f, int key, const char *feed, gw_role role)
{
    gw_signer *s = &f->signers[key];
    memcpy(s->address, addrs[key], CUSTOS_ADDRESS_LEN);
    snprintf(s->feed, sizeof s->feed, "%s", feed);
    s->role = role;
    s->active = true;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->secp = custos_secp_new();
    if (f->secp == NULL)
        return -1;
    for (int i = 0; i < K_COUNT; i++) {
        memset(keys[i], 0x21 + i, CUSTOS_SECKEY_LEN);
        if (custos_address_from_seckey(f->secp, keys[i], addrs[i], NULL) != CUSTOS_OK)
            return -1;
    }
    tu_mkdtemp(f->dir, sizeof f->dir);
    gw_config *c = &f->cfg;
    snprintf(c->store_path, sizeof c->store_path, "%s/custos.db", f->dir);
    c->domain.chain_id = 31337;
    memset(c->domain.verifying_contract, 0xab, CUSTOS_ADDRESS_LEN);
    c->commit_batch_max = 32;
    c->commit_delay_us = 200;
    /* These tests are of rules 1 to 8 with no chain: releases go through unchecked, except
     * in test_release_exposure, which turns this off (rule 11). */
    c->release_unchecked = true;
    const char *names[4] = {"solo", "duo", "roles", "guard"};
    for (int i = 0; i < 4; i++) {
        snprintf(f->feeds[i].name, sizeof f->feeds[i].name, "%s", names[i]);
        f->feeds[i].max_age = 86400;
        f->feeds[i].max_skew = 300;
        f->feeds[i].max_ttl = 604800;
        f->feeds[i].threshold = i == 0 ? 1 : 2;
    }
    f->feeds[2].distinct_roles = true;
    f->feeds[2].max_sequence_step = 10; /* roles: rule 12 with a bound of its own */
    /* guard: one signer publishes, a rise of more than 10% waits for two (rule 6). */
    f->feeds[3].threshold = 1;
    f->feeds[3].breaker_rise_bps = 1000;
    f->feeds[3].breaker_release_threshold = 2;
    add_signer(f, K_SOLO, "solo", GW_ROLE_CUSTODIAN);
    add_signer(f, K_DUO_CUST, "duo", GW_ROLE_CUSTODIAN);
    add_signer(f, K_DUO_VAL, "duo", GW_ROLE_VALUATION_AGENT);
    add_signer(f, K_ROLES_C1, "roles", GW_ROLE_CUSTODIAN);
    add_signer(f, K_ROLES_C2, "roles", GW_ROLE_CUSTODIAN);
    add_signer(f, K_ROLES_AUD, "roles", GW_ROLE_AUDITOR);
    add_signer(f, K_GUARD_C, "guard", GW_ROLE_CUSTODIAN);
    add_signer(f, K_GUARD_AUD, "guard", GW_ROLE_AUDITOR);
    add_signer(f, K_DUO_VAL_NEW, "duo", GW_ROLE_VALUATION_AGENT);
    c->feeds = f->feeds;
    c->n_feeds = 4;
    c->signers = f->signers;
    c->n_signers = K_COUNT - 1;
    c->accounts = f->accounts;
    f->now = (uint64_t)time(NULL);
    custos_error err;
    if (gw_engine_new(c, &f->engine, &err) != CUSTOS_OK) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
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

/* Registers account (every byte that value) to feed in the engine's registry, as a reload
 * or RegisterAccount does. */
static void registry_apply(fixture *f);

static void register_account(fixture *f, uint8_t account, const char *feed)
{
    assert_true(f->cfg.n_accounts < sizeof f->accounts / sizeof f->accounts[0]);
    gw_account *a = &f->accounts[f->cfg.n_accounts++];
    memset(a->account, account, CUSTOS_HASH_LEN);
    snprintf(a->feed, sizeof a->feed, "%s", feed);
    gw_accounts_sort(f->accounts, f->cfg.n_accounts);
    registry_apply(f);
}

/* Moves a registered account to another feed, as a reload or RegisterAccount does. */
static void reregister_account(fixture *f, uint8_t account, const char *feed)
{
    uint8_t id[CUSTOS_HASH_LEN];
    memset(id, account, sizeof id);
    gw_account *a = (gw_account *)gw_accounts_find(f->accounts, f->cfg.n_accounts, id);
    assert_non_null(a);
    snprintf(a->feed, sizeof a->feed, "%s", feed);
    registry_apply(f);
}

/* The fixture's registrations into the engine's registry. */
static void registry_apply(fixture *f)
{
    /* The signers and feeds in force stay (a test may have replaced them). */
    gw_policy *p = gw_registry_acquire(gw_engine_registry(f->engine));
    gw_config view = f->cfg;
    view.feeds = p->feeds;
    view.n_feeds = p->n_feeds;
    view.signers = p->signers;
    view.n_signers = p->n_signers;
    custos_error err;
    custos_rc rc = gw_registry_replace(gw_engine_registry(f->engine), &view, &err);
    gw_policy_release(p);
    assert_int_equal(rc, CUSTOS_OK);
}

static void make_sub(fixture *f, custos_submission *s, const char *feed, uint8_t account,
                     uint64_t sequence, uint8_t kind, uint64_t value)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "%s", feed);
    s->domain = f->cfg.domain;
    memset(s->att.account, account, CUSTOS_HASH_LEN);
    if (!f->no_auto_register &&
        gw_accounts_find(f->cfg.accounts, f->cfg.n_accounts, s->att.account) == NULL)
        register_account(f, account, feed);
    memset(s->att.beneficiary, 0x07, CUSTOS_ADDRESS_LEN);
    s->att.kind = kind;
    custos_u256_from_u64(&s->att.gross_value, value + 100);
    custos_u256_from_u64(&s->att.collateral_value, value);
    s->att.as_of = f->now - 60;
    s->att.valid_until = f->now + 3600;
    s->att.sequence = sequence;
}

static void sign_with(fixture *f, custos_submission *s, int key)
{
    uint8_t digest[32];
    custos_attestation_digest(&s->domain, &s->att, digest);
    assert_int_equal(custos_sign_digest(f->secp, keys[key], digest, &s->sigs[s->n_sigs], NULL),
                     CUSTOS_OK);
    s->n_sigs++;
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

typedef void (*submit_fn)(gw_engine *e, custos_submission *s, const char *request_id,
                          gw_submit_done_fn done, void *ctx);

static gw_submit_outcome submit_with(fixture *f, custos_submission *s, submit_fn fn)
{
    waiter w = {.calls = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    fn(f->engine, s, NULL, on_done, &w);
    assert_int_equal(s->n_sigs, 0); /* ownership taken */
    pthread_mutex_lock(&w.lock);
    while (w.calls == 0)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    gw_submit_outcome out = w.out;
    assert_int_equal(w.calls, 1);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return out;
}

static gw_submit_outcome submit(fixture *f, custos_submission *s)
{
    return submit_with(f, s, gw_engine_submit);
}

/* Submits a fresh copy signed by the given keys (-1 ends the list). */
static gw_submit_outcome submit_signed(fixture *f, const char *feed, uint8_t account,
                                       uint64_t sequence, uint8_t kind, uint64_t value, ...)
{
    custos_submission s;
    make_sub(f, &s, feed, account, sequence, kind, value);
    va_list ap;
    va_start(ap, value);
    for (int key = va_arg(ap, int); key >= 0; key = va_arg(ap, int))
        sign_with(f, &s, key);
    va_end(ap);
    return submit(f, &s);
}

static void expect(const gw_submit_outcome *o, custos_reason reason, custos_state state,
                   bool duplicate)
{
    if (o->reason != reason || o->state != state || o->duplicate != duplicate)
        fail_msg("got reason %s state %d duplicate %d (%s); want %s state %d duplicate %d",
                 custos_reason_name(o->reason), (int)o->state, (int)o->duplicate, o->detail,
                 custos_reason_name(reason), (int)state, (int)duplicate);
}

static void test_accept_and_duplicate(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "solo", 0x01, 1, 0, 500, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.cursor, 1);
    assert_int_equal(o.signatures, 1);
    assert_int_equal(o.threshold, 1);
    assert_int_equal(gw_engine_head(f->engine), 1);
    assert_true(gw_engine_healthy(f->engine));

    gw_submit_outcome again = submit_signed(f, "solo", 0x01, 1, 0, 500, K_SOLO, -1);
    expect(&again, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    assert_int_equal(again.cursor, 1);
    assert_memory_equal(again.digest, o.digest, 32);
    assert_int_equal(gw_engine_head(f->engine), 1);

    custos_record rec;
    custos_error err;
    uint8_t account[32];
    memset(account, 0x01, sizeof account);
    assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.cursor, 1);
    assert_int_equal(rec.state, CUSTOS_STATE_ACCEPTED);
    assert_memory_equal(rec.digest, o.digest, 32);
    assert_int_equal(rec.sub.att.sequence, 1);
    assert_int_equal(rec.n_signers, 1);
    assert_memory_equal(rec.signers[0], addrs[K_SOLO], CUSTOS_ADDRESS_LEN);
    custos_record_clear(&rec);
    memset(account, 0x02, sizeof account);
    assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_ERR_NOT_FOUND);
}

static void test_refused_on_calling_thread(void **state)
{
    fixture *f = *state;
    custos_submission s;
    make_sub(f, &s, "solo", 0x03, 1, 0, 1);
    s.att.as_of = f->now - 86400 - 1000;
    sign_with(f, &s, K_SOLO);
    gw_submit_outcome o = submit(f, &s);
    expect(&o, CUSTOS_REASON_STALE, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "old"));
    o = submit_signed(f, "solo", 0x03, 1, 0, 1, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_UNAUTHORIZED_SIGNER, CUSTOS_STATE_UNSPECIFIED, false);
    assert_int_equal(gw_engine_head(f->engine), 0);
}

/* One submission at a time, verified on the calling thread: the same outcomes. */
static void test_submit_one(void **state)
{
    fixture *f = *state;
    custos_submission s;
    for (uint64_t seq = 1; seq <= 3; seq++) {
        make_sub(f, &s, "solo", 0x04, seq, 0, 10);
        sign_with(f, &s, K_SOLO);
        gw_submit_outcome o = submit_with(f, &s, gw_engine_submit_one);
        expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
        assert_int_equal(o.cursor, seq);
    }
    make_sub(f, &s, "solo", 0x04, 3, 0, 10);
    sign_with(f, &s, K_SOLO);
    gw_submit_outcome o = submit_with(f, &s, gw_engine_submit_one);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    make_sub(f, &s, "solo", 0x04, 2, 0, 11);
    sign_with(f, &s, K_SOLO);
    o = submit_with(f, &s, gw_engine_submit_one);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    make_sub(f, &s, "solo", 0x04, 4, 0, 10);
    s.att.as_of = f->now - 86400 - 1000;
    sign_with(f, &s, K_SOLO);
    o = submit_with(f, &s, gw_engine_submit_one);
    expect(&o, CUSTOS_REASON_STALE, CUSTOS_STATE_UNSPECIFIED, false);
    assert_int_equal(gw_engine_head(f->engine), 3);
}

static void test_pending_then_quorum(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "duo", 0x10, 1, 0, 700, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
    assert_int_equal(o.signatures, 1);
    assert_int_equal(o.threshold, 2);
    assert_int_equal(o.cursor, 0);

    o = submit_signed(f, "duo", 0x10, 1, 0, 700, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, true);
    assert_int_equal(o.signatures, 1);
    assert_int_equal(gw_engine_head(f->engine), 0);

    o = submit_signed(f, "duo", 0x10, 1, 0, 700, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.signatures, 2);
    assert_int_equal(o.cursor, 1);

    /* The record carries the whole quorum, in the order the signatures arrived. */
    custos_record rec[2];
    size_t n = 0;
    custos_error err;
    assert_int_equal(gw_engine_read_from(f->engine, 0, rec, 2, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rec[0].n_signers, 2);
    assert_int_equal(rec[0].sub.n_sigs, 2);
    assert_memory_equal(rec[0].signers[0], addrs[K_DUO_CUST], CUSTOS_ADDRESS_LEN);
    assert_memory_equal(rec[0].signers[1], addrs[K_DUO_VAL], CUSTOS_ADDRESS_LEN);
    uint8_t digest[32], a0[CUSTOS_ADDRESS_LEN], a1[CUSTOS_ADDRESS_LEN];
    custos_attestation_digest(&rec[0].sub.domain, &rec[0].sub.att, digest);
    assert_int_equal(custos_recover_address(f->secp, digest, &rec[0].sub.sigs[0], a0, NULL),
                     CUSTOS_OK);
    assert_int_equal(custos_recover_address(f->secp, digest, &rec[0].sub.sigs[1], a1, NULL),
                     CUSTOS_OK);
    assert_memory_equal(a0, addrs[K_DUO_CUST], CUSTOS_ADDRESS_LEN);
    assert_memory_equal(a1, addrs[K_DUO_VAL], CUSTOS_ADDRESS_LEN);
    custos_record_clear(&rec[0]);

    /* Both signers at once reach the quorum in one submission. */
    o = submit_signed(f, "duo", 0x11, 1, 0, 700, K_DUO_VAL, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    /* A late signer of the accepted attestation is an idempotent success. */
    o = submit_signed(f, "duo", 0x10, 1, 0, 700, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    assert_int_equal(o.cursor, 1);
}

static void test_distinct_roles(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "roles", 0x20, 1, 0, 10, K_ROLES_C1, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
    /* A second custodian is a second signer but not a second role. */
    o = submit_signed(f, "roles", 0x20, 1, 0, 10, K_ROLES_C2, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
    assert_int_equal(o.signatures, 2);
    o = submit_signed(f, "roles", 0x20, 1, 0, 10, K_ROLES_AUD, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.signatures, 3);

    custos_record rec;
    custos_error err;
    uint8_t account[32];
    memset(account, 0x20, sizeof account);
    assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.n_signers, 3);
    custos_record_clear(&rec);
}

static void test_freeze_by_custodian(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "duo", 0x30, 1, 0, 10, K_DUO_CUST, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    /* A freeze without a custodian is refused, as the adapter refuses it
     * (FreezeNeedsCustodian), even with the ordinary quorum: nothing waits for it... */
    o = submit_signed(f, "duo", 0x30, 2, CUSTOS_KIND_FREEZE, 0, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_FREEZE_NEEDS_CUSTODIAN, CUSTOS_STATE_UNSPECIFIED, false);
    /* ...the custodian's alone is published at once. */
    o = submit_signed(f, "duo", 0x30, 3, CUSTOS_KIND_FREEZE, 0, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.signatures, 1);
    assert_int_equal(o.cursor, 2);
    /* A freeze at sequence 2 is now below the account's last: a replay. */
    o = submit_signed(f, "duo", 0x30, 2, CUSTOS_KIND_FREEZE, 0, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    /* A valuation signed by the custodian alone still needs the quorum. */
    o = submit_signed(f, "duo", 0x30, 4, 0, 10, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
}

static void test_replay(void **state)
{
    fixture *f = *state;
    gw_submit_outcome first = submit_signed(f, "solo", 0x40, 3, 0, 100, K_SOLO, -1);
    expect(&first, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    gw_submit_outcome o = submit_signed(f, "solo", 0x40, 5, 0, 200, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);

    o = submit_signed(f, "solo", 0x40, 4, 0, 300, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "5"));
    o = submit_signed(f, "solo", 0x40, 5, 0, 999, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    /* The older accepted attestation itself, again: a safe retry. */
    o = submit_signed(f, "solo", 0x40, 3, 0, 100, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    assert_int_equal(o.cursor, first.cursor);
    assert_int_equal(gw_engine_head(f->engine), 2);
}

/* The committer's table of stored accounts outgrows its first allocation and index, and
 * keeps every account's sequence and feed, also once loaded back from the store. An
 * account stored under one feed and registered since to another stays its first feed's
 * (rule 9): the refusal names the stored feed. Two feeds are stored, so two names. */
static void test_account_table(void **state)
{
    fixture *f = *state;
    enum { N = 200 };
    for (int i = 1; i <= N; i++) {
        gw_submit_outcome o = i % 2 != 0
                                  ? submit_signed(f, "solo", (uint8_t)i, 1, 0, 10, K_SOLO, -1)
                                  : submit_signed(f, "duo", (uint8_t)i, 1, 0, 10, K_DUO_CUST,
                                                  K_DUO_VAL, -1);
        expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    }
    reregister_account(f, 0x02, "solo");
    for (int round = 0; round < 2; round++) {
        for (int i = 1; i <= N; i++) {
            gw_submit_outcome o =
                i % 2 != 0 ? submit_signed(f, "solo", (uint8_t)i, 1, 0, 10, K_SOLO, -1)
                           : submit_signed(f, "duo", (uint8_t)i, 1, 0, 10, K_DUO_CUST, K_DUO_VAL,
                                           -1);
            if (i == 0x02)
                expect(&o, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, CUSTOS_STATE_UNSPECIFIED,
                       false);
            else
                expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
        }
        gw_submit_outcome o = submit_signed(f, "solo", 0x02, 2, 0, 10, K_SOLO, -1);
        expect(&o, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, CUSTOS_STATE_UNSPECIFIED, false);
        assert_non_null(strstr(o.detail, "belongs to feed 'duo'"));
        o = submit_signed(f, "solo", 0x63, 1, 0, 11, K_SOLO, -1);
        expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
        o = submit_signed(f, "duo", 0xc8, (uint64_t)round + 2, 0, 10, K_DUO_CUST, K_DUO_VAL, -1);
        expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
        /* The second round runs on the table loaded from the store. */
        gw_engine_free(f->engine);
        f->engine = NULL;
        custos_error err;
        assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
        reregister_account(f, 0x02, "solo");
    }
    assert_int_equal(gw_engine_head(f->engine), N + 2);
}

/* Rule 4's retry window: a resubmission is a duplicate while its record is one of the
 * account's 64 latest; the one before them is refused REPLAY, and nothing is written. */
static void test_retry_window(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o;
    for (uint64_t seq = 1; seq <= 65; seq++) {
        o = submit_signed(f, "solo", 0x41, seq, 0, 100, K_SOLO, -1);
        expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    }
    uint64_t head = gw_engine_head(f->engine);
    o = submit_signed(f, "solo", 0x41, 2, 0, 100, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    assert_int_equal(o.cursor, 2);
    o = submit_signed(f, "solo", 0x41, 1, 0, 100, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "65"));
    assert_int_equal(gw_engine_head(f->engine), head);
}

/* Rule 9: an account is attested only under the feed it is registered to, freezes
 * included; an account no feed registered is refused whoever signs. */
static void test_account_bound_to_feed(void **state)
{
    fixture *f = *state;
    register_account(f, 0x50, "solo");
    f->no_auto_register = true;
    /* Another feed's quorum, then its custodian alone freezing: neither claims it. */
    gw_submit_outcome o = submit_signed(f, "duo", 0x50, 1, 0, 1, K_DUO_CUST, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "'solo'"));
    o = submit_signed(f, "duo", 0x50, 1, CUSTOS_KIND_FREEZE, 0, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, CUSTOS_STATE_UNSPECIFIED, false);
    o = submit_signed(f, "solo", 0x50, 1, 0, 1, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    o = submit_signed(f, "solo", 0x51, 1, CUSTOS_KIND_FREEZE, 0, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_UNREGISTERED_ACCOUNT, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "not registered"));
}

/* One submission to beneficiary 0x<ben>..., signed by key and (if >= 0) key2. */
static gw_submit_outcome submit_to(fixture *f, const char *feed, uint8_t account,
                                   uint64_t sequence, uint8_t kind, uint8_t ben, int key,
                                   int key2)
{
    custos_submission s;
    make_sub(f, &s, feed, account, sequence, kind, kind == CUSTOS_KIND_VALUATION ? 100 : 0);
    memset(s.att.beneficiary, ben, CUSTOS_ADDRESS_LEN);
    sign_with(f, &s, key);
    if (key2 >= 0)
        sign_with(f, &s, key2);
    return submit(f, &s);
}

/* Rule 5, as a table run in order on one account of feed solo: the pledge follows
 * accepted valuations and releases; freezes leave it alone; a release names exactly the
 * current pledge (the zero address when none), as the adapter requires. 0xaa and 0xbb are
 * lenders. */
static const struct pledge_step {
    const char *name;
    uint64_t sequence;
    uint8_t kind, beneficiary;
    custos_reason reason;
} pledge_steps[] = {
    {"a release of an account never pledged, naming A", 1, CUSTOS_KIND_RELEASE, 0xaa,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"first valuation pledges to A", 1, CUSTOS_KIND_VALUATION, 0xaa, CUSTOS_REASON_NONE},
    {"valuation to B while pledged to A", 2, CUSTOS_KIND_VALUATION, 0xbb,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"valuation to the zero address while pledged", 2, CUSTOS_KIND_VALUATION, 0x00,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"another valuation to A", 2, CUSTOS_KIND_VALUATION, 0xaa, CUSTOS_REASON_NONE},
    {"freeze naming B flows, pledge kept", 3, CUSTOS_KIND_FREEZE, 0xbb, CUSTOS_REASON_NONE},
    {"still pledged to A after the freeze", 4, CUSTOS_KIND_VALUATION, 0xbb,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"release naming B", 4, CUSTOS_KIND_RELEASE, 0xbb, CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"release naming A", 4, CUSTOS_KIND_RELEASE, 0xaa, CUSTOS_REASON_NONE},
    {"valuation to B once released", 5, CUSTOS_KIND_VALUATION, 0xbb, CUSTOS_REASON_NONE},
    {"now A is the other lender", 6, CUSTOS_KIND_VALUATION, 0xaa,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"release with the zero address while pledged to B", 6, CUSTOS_KIND_RELEASE, 0x00,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"so A is still refused", 6, CUSTOS_KIND_VALUATION, 0xaa, CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"release naming B", 6, CUSTOS_KIND_RELEASE, 0xbb, CUSTOS_REASON_NONE},
    {"release naming B while not pledged", 7, CUSTOS_KIND_RELEASE, 0xbb,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"release with the zero address while not pledged", 7, CUSTOS_KIND_RELEASE, 0x00,
     CUSTOS_REASON_NONE},
    {"valuation to A again", 8, CUSTOS_KIND_VALUATION, 0xaa, CUSTOS_REASON_NONE},
};

static void test_one_lender(void **state)
{
    fixture *f = *state;
    uint64_t head = 0;
    for (size_t i = 0; i < sizeof pledge_steps / sizeof pledge_steps[0]; i++) {
        const struct pledge_step *st = &pledge_steps[i];
        gw_submit_outcome o = submit_to(f, "solo", 0x70, st->sequence, st->kind,
                                        st->beneficiary, K_SOLO, -1);
        if (o.reason != st->reason)
            fail_msg("step '%s': got %s (%s)", st->name, custos_reason_name(o.reason),
                     o.detail);
        if (st->reason == CUSTOS_REASON_NONE) {
            assert_int_equal(o.state, CUSTOS_STATE_ACCEPTED);
            head++;
        } else {
            /* The detail names the current pledge; nothing was stored. */
            assert_int_equal(o.state, CUSTOS_STATE_UNSPECIFIED);
            assert_true(strstr(o.detail, "pledged to 0x") != NULL ||
                        strstr(o.detail, "not pledged; a release must name the zero") != NULL);
        }
        assert_int_equal(gw_engine_head(f->engine), head);
    }
}

/* Rule 11 at the gateway, as a table run in order on account 0x72 of feed solo, pledged to
 * A (0xaa) first. Without [evm] and without the opt-out, every release of a pledged
 * account is refused EXPOSURE_UNCHECKED; a release naming the zero address names no pledge
 * and is refused by rule 5 (PLEDGED_ELSEWHERE), as the adapter refuses it; with [evm] pointing at a node that does not answer,
 * EXPOSURE_UNREADABLE, which is transient. A release of an account never pledged passes
 * (rule 5 decides it). */
static const struct exposure_step {
    const char *name;
    int engine; /* 0: no [evm]; 1: [evm] at a closed loopback port; 2: no [evm], opt-out */
    uint8_t account;
    uint64_t sequence;
    uint8_t kind, beneficiary;
    custos_reason reason;
} exposure_steps[] = {
    {"valuation pledges to A", 0, 0x72, 1, CUSTOS_KIND_VALUATION, 0xaa, CUSTOS_REASON_NONE},
    {"release naming A, no [evm]", 0, 0x72, 2, CUSTOS_KIND_RELEASE, 0xaa,
     CUSTOS_REASON_EXPOSURE_UNCHECKED},
    {"release naming the zero address, no [evm]", 0, 0x72, 2, CUSTOS_KIND_RELEASE, 0x00,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"freeze still flows", 0, 0x72, 2, CUSTOS_KIND_FREEZE, 0xaa, CUSTOS_REASON_NONE},
    {"release of an account never pledged", 0, 0x73, 1, CUSTOS_KIND_RELEASE, 0x00,
     CUSTOS_REASON_NONE},
    {"release naming A, chain unreachable", 1, 0x72, 3, CUSTOS_KIND_RELEASE, 0xaa,
     CUSTOS_REASON_EXPOSURE_UNREADABLE},
    {"release naming zero, chain unreachable", 1, 0x72, 3, CUSTOS_KIND_RELEASE, 0x00,
     CUSTOS_REASON_PLEDGED_ELSEWHERE},
    {"release naming A, opt-out", 2, 0x72, 3, CUSTOS_KIND_RELEASE, 0xaa, CUSTOS_REASON_NONE},
};

static void exposure_engine(fixture *f, int kind)
{
    gw_engine_free(f->engine);
    f->engine = NULL;
    gw_config *c = &f->cfg;
    c->release_unchecked = kind == 2;
    memset(&c->evm, 0, sizeof c->evm);
    if (kind == 1) {
        /* Port 1 on loopback: nothing listens, the connection is refused at once. */
        c->evm.enabled = true;
        snprintf(c->evm.rpc_urls[0], sizeof c->evm.rpc_urls[0], "http://127.0.0.1:1");
        c->evm.n_rpc_urls = 1;
        memcpy(c->evm.adapter, c->domain.verifying_contract, CUSTOS_ADDRESS_LEN);
        c->evm.exposure_timeout_ms = 1000;
    }
    custos_error err;
    if (gw_engine_new(c, &f->engine, &err) != CUSTOS_OK)
        fail_msg("engine: %s", err.message);
}

static void test_release_exposure(void **state)
{
    fixture *f = *state;
    int engine = -1;
    for (size_t i = 0; i < sizeof exposure_steps / sizeof exposure_steps[0]; i++) {
        const struct exposure_step *st = &exposure_steps[i];
        if (st->engine != engine)
            exposure_engine(f, engine = st->engine);
        uint64_t head = gw_engine_head(f->engine);
        /* Unary submission: a release is never verified on the calling thread. */
        custos_submission s;
        make_sub(f, &s, "solo", st->account, st->sequence, st->kind,
                 st->kind == CUSTOS_KIND_VALUATION ? 100 : 0);
        memset(s.att.beneficiary, st->beneficiary, CUSTOS_ADDRESS_LEN);
        sign_with(f, &s, K_SOLO);
        gw_submit_outcome o = submit_with(f, &s, gw_engine_submit_one);
        if (o.reason != st->reason)
            fail_msg("step '%s': got %s (%s)", st->name, custos_reason_name(o.reason),
                     o.detail);
        if (st->reason == CUSTOS_REASON_NONE) {
            assert_int_equal(o.state, CUSTOS_STATE_ACCEPTED);
            assert_int_equal(gw_engine_head(f->engine), head + 1);
            continue;
        }
        /* Nothing stored; the detail names the pledge's lender (or the chain's failure). */
        assert_int_equal(gw_engine_head(f->engine), head);
        if (st->reason == CUSTOS_REASON_EXPOSURE_UNCHECKED) {
            uint8_t a[CUSTOS_ADDRESS_LEN];
            char want[16 + CUSTOS_ADDRESS_HEX_LEN];
            memset(a, 0xaa, sizeof a);
            memcpy(want, "pledged to ", 12);
            custos_address_to_hex(a, want + 11);
            assert_non_null(strstr(o.detail, want));
        } else if (st->reason == CUSTOS_REASON_EXPOSURE_UNREADABLE)
            assert_non_null(strstr(o.detail, "could not be read from the chain"));
        assert_true(custos_reason_is_transient(o.reason) ==
                    (st->reason == CUSTOS_REASON_EXPOSURE_UNREADABLE));
    }
}

/* A digest pending for B cannot complete its quorum once the account is pledged to A, and
 * the pledge is reloaded from the store when the engine restarts. */
static void test_one_lender_pending_and_restart(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_to(f, "duo", 0x71, 2, CUSTOS_KIND_VALUATION, 0xbb,
                                    K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
    o = submit_to(f, "duo", 0x71, 1, CUSTOS_KIND_VALUATION, 0xaa, K_DUO_CUST, K_DUO_VAL);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    o = submit_to(f, "duo", 0x71, 2, CUSTOS_KIND_VALUATION, 0xbb, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_PLEDGED_ELSEWHERE, CUSTOS_STATE_UNSPECIFIED, false);
    /* A new pending valuation to B is refused at once, before any quorum. */
    o = submit_to(f, "duo", 0x71, 3, CUSTOS_KIND_VALUATION, 0xbb, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_PLEDGED_ELSEWHERE, CUSTOS_STATE_UNSPECIFIED, false);

    gw_engine_free(f->engine);
    f->engine = NULL;
    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    o = submit_to(f, "duo", 0x71, 3, CUSTOS_KIND_VALUATION, 0xbb, K_DUO_CUST, K_DUO_VAL);
    expect(&o, CUSTOS_REASON_PLEDGED_ELSEWHERE, CUSTOS_STATE_UNSPECIFIED, false);
    /* EIP-55 spelling from ethers.getAddress. */
    assert_non_null(strstr(o.detail, "0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa"));
    o = submit_to(f, "duo", 0x71, 3, CUSTOS_KIND_RELEASE, 0xaa, K_DUO_CUST, K_DUO_VAL);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);

    gw_engine_free(f->engine);
    f->engine = NULL;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    o = submit_to(f, "duo", 0x71, 4, CUSTOS_KIND_VALUATION, 0xbb, K_DUO_CUST, K_DUO_VAL);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(gw_engine_head(f->engine), 3);
}

typedef struct listener {
    pthread_mutex_t lock;
    uint64_t last_head;
    int calls;
} listener;

static void on_commit(void *ctx, uint64_t head)
{
    listener *l = ctx;
    pthread_mutex_lock(&l->lock);
    assert_true(head > l->last_head);
    l->last_head = head;
    l->calls++;
    pthread_mutex_unlock(&l->lock);
}

static void test_reopen_keeps_everything(void **state)
{
    fixture *f = *state;
    listener l = {.last_head = 0};
    pthread_mutex_init(&l.lock, NULL);
    gw_engine_set_commit_listener(f->engine, on_commit, &l);
    for (uint64_t seq = 1; seq <= 5; seq++) {
        gw_submit_outcome o = submit_signed(f, "solo", 0x60, seq, 0, seq * 10, K_SOLO, -1);
        expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    }
    gw_submit_outcome p = submit_signed(f, "duo", 0x61, 1, 0, 1, K_DUO_CUST, -1);
    expect(&p, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
    pthread_mutex_lock(&l.lock);
    assert_int_equal(l.last_head, 5);
    assert_true(l.calls >= 1 && l.calls <= 5);
    pthread_mutex_unlock(&l.lock);

    gw_engine_free(f->engine);
    f->engine = NULL;
    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    assert_int_equal(gw_engine_head(f->engine), 5);

    custos_record rec[8];
    size_t n = 0;
    assert_int_equal(gw_engine_read_from(f->engine, 0, rec, 8, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rec[i].cursor, i + 1);
        assert_int_equal(rec[i].sub.att.sequence, i + 1);
        custos_record_clear(&rec[i]);
    }
    /* The cache was reloaded: replays are still refused, retries still succeed. */
    gw_submit_outcome o = submit_signed(f, "solo", 0x60, 4, 0, 1, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    o = submit_signed(f, "solo", 0x60, 5, 0, 50, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    assert_int_equal(o.cursor, 5);
    /* The pending signature survived too. */
    o = submit_signed(f, "duo", 0x61, 1, 0, 1, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.signatures, 2);
    assert_int_equal(o.cursor, 6);
    pthread_mutex_destroy(&l.lock);
}

/* Another connection holds the write lock past the busy timeout: the group fails as
 * UNAVAILABLE, nothing is acknowledged, and the engine's cache does not drift. */
/* Rule 6, one account's history step by step: the breaker compares each valuation with
 * the last published value, whatever was held in between. */
static const struct breaker_step {
    const char *what;
    uint64_t sequence;
    uint8_t kind;
    uint64_t value;
    custos_reason reason;
    custos_state state;
    bool duplicate;
    uint64_t latest_sequence; /* GetLatest afterwards */
} breaker_steps[] = {
    {"first record flows", 1, CUSTOS_KIND_VALUATION, 1000, CUSTOS_REASON_NONE,
     CUSTOS_STATE_ACCEPTED, false, 1},
    {"a rise at the bound flows", 2, CUSTOS_KIND_VALUATION, 1100, CUSTOS_REASON_NONE,
     CUSTOS_STATE_ACCEPTED, false, 2},
    {"a rise one unit beyond is held", 3, CUSTOS_KIND_VALUATION, 1211, CUSTOS_REASON_NONE,
     CUSTOS_STATE_HELD, false, 2},
    {"its retry is held, known", 3, CUSTOS_KIND_VALUATION, 1211, CUSTOS_REASON_NONE,
     CUSTOS_STATE_HELD, true, 2},
    {"the held sequence is consumed", 3, CUSTOS_KIND_VALUATION, 1000, CUSTOS_REASON_REPLAY,
     CUSTOS_STATE_UNSPECIFIED, false, 2},
    {"a freeze flows while held", 4, CUSTOS_KIND_FREEZE, 5000, CUSTOS_REASON_NONE,
     CUSTOS_STATE_ACCEPTED, false, 4},
    {"the superseded rise is refused", 3, CUSTOS_KIND_VALUATION, 1211, CUSTOS_REASON_REPLAY,
     CUSTOS_STATE_UNSPECIFIED, false, 4},
    {"a fall flows", 5, CUSTOS_KIND_VALUATION, 900, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED,
     false, 5},
    {"an equal value flows", 6, CUSTOS_KIND_VALUATION, 900, CUSTOS_REASON_NONE,
     CUSTOS_STATE_ACCEPTED, false, 6},
    {"a large rise is held", 7, CUSTOS_KIND_VALUATION, 100000, CUSTOS_REASON_NONE,
     CUSTOS_STATE_HELD, false, 6},
    {"a release flows whatever its value", 8, CUSTOS_KIND_RELEASE, 100000,
     CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false, 8},
    /* The base is the last published valuation (900), never what a freeze or a release
     * carries: not the release's 100000... */
    {"measured from the last valuation, not the release", 9, CUSTOS_KIND_VALUATION, 2000,
     CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false, 8},
    /* ...nor a custodian-only freeze carrying the target value... */
    {"a freeze carrying the target value", 10, CUSTOS_KIND_FREEZE, 90000, CUSTOS_REASON_NONE,
     CUSTOS_STATE_ACCEPTED, false, 10},
    {"then the target itself is held", 11, CUSTOS_KIND_VALUATION, 90000, CUSTOS_REASON_NONE,
     CUSTOS_STATE_HELD, false, 10},
    /* ...nor the attestor's freeze of 0, after which an unchanged value flows. */
    {"the attestor's freeze carries 0", 12, CUSTOS_KIND_FREEZE, 0, CUSTOS_REASON_NONE,
     CUSTOS_STATE_ACCEPTED, false, 12},
    {"an unchanged valuation after it flows", 13, CUSTOS_KIND_VALUATION, 900,
     CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false, 13},
};

static void test_breaker_steps(void **state)
{
    fixture *f = *state;
    uint8_t account[32];
    memset(account, 0x70, sizeof account);
    uint64_t head = 0;
    for (size_t i = 0; i < sizeof breaker_steps / sizeof breaker_steps[0]; i++) {
        const struct breaker_step *t = &breaker_steps[i];
        gw_submit_outcome o = submit_signed(f, "guard", 0x70, t->sequence, t->kind, t->value,
                                            K_GUARD_C, -1);
        if (o.reason != t->reason || o.state != t->state || o.duplicate != t->duplicate)
            fail_msg("%s: got reason %s state %d duplicate %d (%s)", t->what,
                     custos_reason_name(o.reason), (int)o.state, (int)o.duplicate, o.detail);
        if (o.state == CUSTOS_STATE_ACCEPTED && !o.duplicate)
            head++;
        if (o.state == CUSTOS_STATE_HELD)
            assert_int_equal(o.cursor, 0);
        /* A held record has no cursor: nothing new for Watch or the publisher. */
        assert_int_equal(gw_engine_head(f->engine), head);
        custos_record rec;
        custos_error err;
        assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_OK);
        if (rec.sub.att.sequence != t->latest_sequence)
            fail_msg("%s: latest is sequence %llu", t->what,
                     (unsigned long long)rec.sub.att.sequence);
        custos_record_clear(&rec);
    }
}

/* The breaker's base survives a restart (read from the store, not a cache), and so does
 * the held record. */
static void test_breaker_restart(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "guard", 0x71, 1, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    o = submit_signed(f, "guard", 0x71, 2, 0, 2000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);

    gw_engine_free(f->engine);
    f->engine = NULL;
    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    assert_int_equal(gw_engine_head(f->engine), 1);
    o = submit_signed(f, "guard", 0x71, 2, 0, 2000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, true);
    o = submit_signed(f, "guard", 0x71, 2, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    /* Compared with the published 1000, not the held 2000. */
    o = submit_signed(f, "guard", 0x71, 3, 0, 1500, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    o = submit_signed(f, "guard", 0x71, 4, 0, 1050, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.cursor, 2);
}

/* Release by a larger quorum: the auditor's signature brings the held rise to the
 * feed's breaker_release_threshold (2) and it is published then, with the next cursor;
 * a newer held rise supersedes an older one. */
static void test_breaker_larger_quorum(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "guard", 0x73, 1, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    o = submit_signed(f, "guard", 0x73, 2, 0, 3000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    o = submit_signed(f, "guard", 0x73, 3, 0, 4000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    /* Sequence 2 was superseded by the held 3: more signatures cannot publish it. */
    o = submit_signed(f, "guard", 0x73, 2, 0, 3000, K_GUARD_AUD, -1);
    expect(&o, CUSTOS_REASON_REPLAY, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "superseded"));
    assert_int_equal(gw_engine_head(f->engine), 1);

    o = submit_signed(f, "guard", 0x73, 3, 0, 4000, K_GUARD_AUD, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.cursor, 2);
    assert_int_equal(o.signatures, 2);
    assert_int_equal(gw_engine_head(f->engine), 2);
    o = submit_signed(f, "guard", 0x73, 3, 0, 4000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
    assert_int_equal(o.cursor, 2);

    custos_record rec;
    custos_error err;
    uint8_t account[32];
    memset(account, 0x73, sizeof account);
    assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, 3);
    assert_int_equal(rec.n_signers, 2);
    assert_memory_equal(rec.signers[0], addrs[K_GUARD_C], CUSTOS_ADDRESS_LEN);
    assert_memory_equal(rec.signers[1], addrs[K_GUARD_AUD], CUSTOS_ADDRESS_LEN);
    custos_record_clear(&rec);
    /* The next rise is measured from the released 4000. */
    o = submit_signed(f, "guard", 0x73, 4, 0, 4400, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
}

static gw_submit_outcome release_held(fixture *f, const uint8_t digest[32])
{
    waiter w = {.calls = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    gw_engine_release_held(f->engine, digest, "ops-admin", "release 0x.. note=checked", on_done,
                           &w);
    pthread_mutex_lock(&w.lock);
    while (w.calls == 0)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    gw_submit_outcome out = w.out;
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return out;
}

/* An operator's release publishes the held rise and writes its audit entry in the same
 * commit; an unknown, superseded or already published digest changes nothing. */
static void test_breaker_operator_release(void **state)
{
    fixture *f = *state;
    uint8_t unknown[32];
    memset(unknown, 0xee, sizeof unknown);
    gw_submit_outcome o = release_held(f, unknown);
    assert_int_equal(o.release, GW_RELEASE_NOT_FOUND);

    o = submit_signed(f, "guard", 0x74, 1, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    gw_submit_outcome h2 = submit_signed(f, "guard", 0x74, 2, 0, 2000, K_GUARD_C, -1);
    expect(&h2, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    gw_submit_outcome h3 = submit_signed(f, "guard", 0x74, 3, 0, 3000, K_GUARD_C, -1);
    expect(&h3, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    o = release_held(f, h2.digest);
    assert_int_equal(o.release, GW_RELEASE_SUPERSEDED);
    assert_non_null(strstr(o.detail, "superseded"));
    assert_int_equal(gw_engine_head(f->engine), 1);

    /* With [evm], the adapter's breaker is read first (release_chain.c): no node answers,
     * so UNAVAILABLE, and nothing is published. */
    exposure_engine(f, 1);
    o = release_held(f, h3.digest);
    assert_int_equal(o.release, GW_RELEASE_UNAVAILABLE);
    assert_non_null(strstr(o.detail, "the adapter's breaker cannot be read from the chain"));
    exposure_engine(f, 2); /* the fixture's engine again: no [evm], releases unchecked */
    assert_int_equal(gw_engine_head(f->engine), 1);

    custos_audit_entry audit[4];
    size_t n = 0;
    custos_error err;
    assert_int_equal(gw_engine_read_audit(f->engine, 0, audit, 4, &n, &err), CUSTOS_OK);
    size_t before = n;
    for (size_t i = 0; i < n; i++)
        custos_audit_entry_clear(&audit[i]);

    o = release_held(f, h3.digest);
    assert_int_equal(o.release, GW_RELEASE_DONE);
    assert_int_equal(o.reason, CUSTOS_REASON_NONE);
    assert_int_equal(o.state, CUSTOS_STATE_ACCEPTED);
    assert_int_equal(o.cursor, 2);
    assert_int_equal(gw_engine_head(f->engine), 2);
    assert_int_equal(gw_engine_read_audit(f->engine, 0, audit, 4, &n, &err), CUSTOS_OK);
    assert_int_equal(n, before + 1);
    assert_int_equal(audit[n - 1].seq, o.audit_seq);
    assert_string_equal(audit[n - 1].actor, "ops-admin");
    assert_string_equal(audit[n - 1].action, "release_held");
    for (size_t i = 0; i < n; i++)
        custos_audit_entry_clear(&audit[i]);

    uint8_t account[32];
    memset(account, 0x74, sizeof account);
    custos_record rec;
    assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, 3);
    assert_int_equal(rec.cursor, 2);
    custos_record_clear(&rec);
    /* Published now: a second release finds nothing held, the retry is a duplicate. */
    o = release_held(f, h3.digest);
    assert_int_equal(o.release, GW_RELEASE_NOT_FOUND);
    o = submit_signed(f, "guard", 0x74, 3, 0, 3000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, true);
}

/* Rule 12: an account's first sequence and each step at most the feed's bound (the default
 * 1,000,000 on duo), so no key can push an account to 2^64-1 and end it; a freeze stays
 * liftable by a valuation with the feed's full quorum. */
static void test_sequence_steps(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o =
        submit_signed(f, "duo", 0x50, 1000001, 0, 10, K_DUO_CUST, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_SEQUENCE_JUMP, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "at most 1000000"));
    o = submit_signed(f, "duo", 0x50, 1000000, 0, 10, K_DUO_CUST, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    /* One custodian key alone cannot freeze the account at the end of its sequences. */
    o = submit_signed(f, "duo", 0x50, UINT64_MAX, CUSTOS_KIND_FREEZE, 0, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_SEQUENCE_JUMP, CUSTOS_STATE_UNSPECIFIED, false);
    o = submit_signed(f, "duo", 0x50, 2000000, CUSTOS_KIND_FREEZE, 0, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    /* The feed's full quorum lifts the freeze. */
    o = submit_signed(f, "duo", 0x50, 2000001, 0, 10, K_DUO_CUST, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    uint8_t account[32];
    memset(account, 0x50, sizeof account);
    custos_record rec;
    custos_error err;
    assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.kind, CUSTOS_KIND_VALUATION);
    assert_int_equal(rec.sub.att.sequence, 2000001);
    custos_record_clear(&rec);

    /* A feed's own bound: roles allows steps of 10. */
    o = submit_signed(f, "roles", 0x51, 11, 0, 10, K_ROLES_C1, K_ROLES_AUD, -1);
    expect(&o, CUSTOS_REASON_SEQUENCE_JUMP, CUSTOS_STATE_UNSPECIFIED, false);
    o = submit_signed(f, "roles", 0x51, 10, 0, 10, K_ROLES_C1, K_ROLES_AUD, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    o = submit_signed(f, "roles", 0x51, 21, 0, 10, K_ROLES_C1, K_ROLES_AUD, -1);
    expect(&o, CUSTOS_REASON_SEQUENCE_JUMP, CUSTOS_STATE_UNSPECIFIED, false);
    o = submit_signed(f, "roles", 0x51, 20, 0, 10, K_ROLES_C1, K_ROLES_AUD, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
}

/* Installs the fixture's list changed by fn in the engine's registry, as a reload or an
 * admin change does. */
static void replace_signers(fixture *f, void (*fn)(fixture *f, gw_signer *list))
{
    gw_signer list[K_COUNT];
    memcpy(list, f->signers, sizeof list);
    fn(f, list);
    gw_config view = f->cfg;
    view.signers = list;
    view.n_signers = K_COUNT;
    custos_error err;
    assert_int_equal(gw_registry_replace(gw_engine_registry(f->engine), &view, &err), CUSTOS_OK);
}

/* duo's valuation agent rotated to a new key, the old one valid for an hour more. */
static void rotate_duo_val(fixture *f, gw_signer *list)
{
    list[K_DUO_VAL].not_after = f->now + 3600;
    list[K_DUO_VAL].rotated = true;
    memcpy(list[K_DUO_VAL].replaced_by, addrs[K_DUO_VAL_NEW], CUSTOS_ADDRESS_LEN);
}

/* Rule 2: during a rotation the old and the new key of one party are one signer on a feed
 * counting signers (duo, 2 of any roles), in one submission or across several, as on-chain
 * (DuplicateSignerSlot). */
static void test_rotation_keeps_one_party(void **state)
{
    fixture *f = *state;
    replace_signers(f, rotate_duo_val);
    gw_submit_outcome o = submit_signed(f, "duo", 0x52, 1, 0, 10, K_DUO_VAL, K_DUO_VAL_NEW, -1);
    expect(&o, CUSTOS_REASON_DUPLICATE_SIGNER, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "one signing party"));

    o = submit_signed(f, "duo", 0x52, 1, 0, 10, K_DUO_VAL, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_PENDING, false);
    o = submit_signed(f, "duo", 0x52, 1, 0, 10, K_DUO_VAL_NEW, -1);
    expect(&o, CUSTOS_REASON_DUPLICATE_SIGNER, CUSTOS_STATE_UNSPECIFIED, false);
    assert_non_null(strstr(o.detail, "signed this attestation already"));
    assert_int_equal(gw_engine_head(f->engine), 0);
    /* The old key's signature still counts, with another party's. */
    o = submit_signed(f, "duo", 0x52, 1, 0, 10, K_DUO_CUST, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.signatures, 2);
    /* The new key signs for the party on its own. */
    o = submit_signed(f, "duo", 0x52, 2, 0, 10, K_DUO_CUST, K_DUO_VAL_NEW, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
}

static void revoke_guard_custodian(fixture *f, gw_signer *list)
{
    (void)f;
    list[K_GUARD_C].active = false;
}

/* Rule 6: a rise signed at once by breaker_release_threshold signers is published, as
 * the adapter accepts it; a held rise counts only the signers valid when it is released,
 * and is published with their signatures alone. */
static void test_breaker_counts_signers_valid_now(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "guard", 0x75, 1, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    o = submit_signed(f, "guard", 0x75, 2, 0, 5000, K_GUARD_C, K_GUARD_AUD, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);

    o = submit_signed(f, "guard", 0x76, 1, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    gw_submit_outcome held = submit_signed(f, "guard", 0x76, 2, 0, 5000, K_GUARD_C, -1);
    expect(&held, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    o = submit_signed(f, "guard", 0x77, 1, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    gw_submit_outcome lone = submit_signed(f, "guard", 0x77, 2, 0, 5000, K_GUARD_C, -1);
    expect(&lone, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    uint64_t head = gw_engine_head(f->engine);

    /* The custodian who signed both is revoked: its signatures no longer count. */
    replace_signers(f, revoke_guard_custodian);
    o = submit_signed(f, "guard", 0x76, 2, 0, 5000, K_GUARD_AUD, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    assert_int_equal(o.signatures, 1);
    assert_int_equal(gw_engine_head(f->engine), head);

    /* An operator's release re-checks the quorum from the signers valid now... */
    o = release_held(f, lone.digest);
    assert_int_equal(o.release, GW_RELEASE_REFUSED);
    assert_int_equal(o.reason, CUSTOS_REASON_REVOKED_SIGNER);
    assert_non_null(strstr(o.detail, "0 are still valid"));
    assert_int_equal(gw_engine_head(f->engine), head);
    /* ...and publishes with their signatures only. */
    o = release_held(f, held.digest);
    assert_int_equal(o.release, GW_RELEASE_DONE);
    uint8_t account[32];
    memset(account, 0x76, sizeof account);
    custos_record rec;
    custos_error err;
    assert_int_equal(gw_engine_get_latest(f->engine, account, &rec, &err), CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, 2);
    assert_int_equal(rec.n_signers, 1);
    assert_memory_equal(rec.signers[0], addrs[K_GUARD_AUD], CUSTOS_ADDRESS_LEN);
    custos_record_clear(&rec);
}

/* An operator's release re-checks freshness: an expired held rise is never published. */
static void test_release_rechecks_freshness(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "guard", 0x78, 1, 0, 1000, K_GUARD_C, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    custos_submission s;
    make_sub(f, &s, "guard", 0x78, 2, 0, 5000);
    uint64_t valid_until = (uint64_t)time(NULL) + 2;
    s.att.valid_until = valid_until;
    sign_with(f, &s, K_GUARD_C);
    gw_submit_outcome held = submit(f, &s); /* takes s */
    expect(&held, CUSTOS_REASON_NONE, CUSTOS_STATE_HELD, false);
    while ((uint64_t)time(NULL) < valid_until)
        tu_sleep_ms(100);
    o = release_held(f, held.digest);
    assert_int_equal(o.release, GW_RELEASE_REFUSED);
    assert_int_equal(o.reason, CUSTOS_REASON_EXPIRED);
    assert_non_null(strstr(o.detail, "no longer fresh"));
    assert_int_equal(gw_engine_head(f->engine), 1);
}

/* Without a breaker (solo), any rise flows. */
static void test_breaker_off(void **state)
{
    fixture *f = *state;
    gw_submit_outcome o = submit_signed(f, "solo", 0x72, 1, 0, 1, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    o = submit_signed(f, "solo", 0x72, 2, 0, 1000000, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
}

static void test_store_failure(void **state)
{
    fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->cfg.store_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    gw_submit_outcome o = submit_signed(f, "solo", 0x70, 1, 0, 1, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_UNAVAILABLE, CUSTOS_STATE_UNSPECIFIED, false);
    assert_true(o.detail[0] != '\0');
    assert_false(gw_engine_healthy(f->engine));
    assert_int_equal(gw_engine_head(f->engine), 0);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    /* Health comes back by itself once the store is writable again. */
    for (int waited = 0; !gw_engine_healthy(f->engine) && waited < 5000; waited += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_true(gw_engine_healthy(f->engine));

    o = submit_signed(f, "solo", 0x70, 1, 0, 1, K_SOLO, -1);
    expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    assert_int_equal(o.cursor, 1);
    assert_true(gw_engine_healthy(f->engine));
}

#define N_THREADS 8
#define PER_THREAD 40

typedef struct counts {
    pthread_mutex_t lock;
    int callbacks;
    int accepted_new;
    int accepted_dup;
    int replays;
    int other;
    int *calls_per_item;
} counts;

typedef struct item_ctx {
    counts *c;
    int index;
} item_ctx;

static void on_done_count(void *ctx, const gw_submit_outcome *out)
{
    item_ctx *it = ctx;
    counts *c = it->c;
    pthread_mutex_lock(&c->lock);
    c->callbacks++;
    c->calls_per_item[it->index]++;
    if (out->reason == CUSTOS_REASON_NONE && out->state == CUSTOS_STATE_ACCEPTED)
        out->duplicate ? c->accepted_dup++ : c->accepted_new++;
    else if (out->reason == CUSTOS_REASON_REPLAY)
        c->replays++;
    else
        c->other++;
    pthread_mutex_unlock(&c->lock);
}

typedef struct worker {
    fixture *f;
    counts *c;
    item_ctx *items;
    int id;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    custos_secp *secp = custos_secp_new();
    for (int i = 0; i < PER_THREAD; i++) {
        custos_submission s;
        /* Half the submissions go to an account of their own; the other half race on
         * one shared account with sequences that collide across threads. */
        uint8_t account = i % 2 == 0 ? (uint8_t)(0x80 + w->id) : 0xff;
        uint64_t seq = i % 2 == 0 ? (uint64_t)i + 1 : (uint64_t)(i / 2) + 1;
        uint64_t value = i % 2 == 0 ? 1 : (uint64_t)w->id;
        make_sub(w->f, &s, "solo", account, seq, 0, value);
        uint8_t digest[32];
        custos_attestation_digest(&s.domain, &s.att, digest);
        if (secp == NULL ||
            custos_sign_digest(secp, keys[K_SOLO], digest, &s.sigs[0], NULL) != CUSTOS_OK)
            break;
        s.n_sigs = 1;
        item_ctx *ic = &w->items[w->id * PER_THREAD + i];
        ic->c = w->c;
        ic->index = w->id * PER_THREAD + i;
        /* Odd threads submit as unary calls do, verifying inline when the pool is idle. */
        if (w->id % 2 == 0)
            gw_engine_submit(w->f->engine, &s, NULL, on_done_count, ic);
        else
            gw_engine_submit_one(w->f->engine, &s, NULL, on_done_count, ic);
    }
    custos_secp_free(secp);
    return NULL;
}

/* Whether a short group waits for company (docs/storage.md §6): only with submissions on
 * their way, or after a group that had company. */
static void test_group_waits_for_company(void **state)
{
    (void)state;
    static const struct {
        uint64_t in_flight;
        size_t last_group;
        bool waits;
    } cases[] = {
        {0, 0, false}, {0, 1, false}, {1, 0, true},   {1, 1, true},
        {0, 2, true},  {7, 1, true},  {0, 512, true}, {UINT64_MAX, 0, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(gw_eng_group_waits(cases[i].in_flight, cases[i].last_group),
                         cases[i].waits);
}

/* A caller alone, one call at a time, is not kept waiting commit_delay_us for company that
 * is not coming: three calls under a delay of one second each take well under one. */
static void test_lone_caller_not_delayed(void **state)
{
    fixture *f = *state;
    gw_engine_free(f->engine);
    f->engine = NULL;
    f->cfg.commit_delay_us = 1000000;
    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    int64_t t0 = tu_now_ms();
    for (uint64_t seq = 1; seq <= 3; seq++) {
        gw_submit_outcome o = submit_signed(f, "solo", 0x70, seq, 0, seq, K_SOLO, -1);
        expect(&o, CUSTOS_REASON_NONE, CUSTOS_STATE_ACCEPTED, false);
    }
    assert_true(tu_now_ms() - t0 < 1000);
    assert_int_equal(gw_engine_head(f->engine), 3);
}

static void test_concurrent_submitters(void **state)
{
    fixture *f = *state;
    counts c = {.callbacks = 0};
    pthread_mutex_init(&c.lock, NULL);
    c.calls_per_item = calloc(N_THREADS * PER_THREAD, sizeof *c.calls_per_item);
    item_ctx *items = calloc(N_THREADS * PER_THREAD, sizeof *items);
    assert_non_null(c.calls_per_item);
    assert_non_null(items);
    /* The accounts are registered before the threads start: the fixture's auto-registration
     * (make_sub) changes its account list and the registry, which is one thread's job. */
    register_account(f, 0xff, "solo");
    for (int t = 0; t < N_THREADS; t++)
        register_account(f, (uint8_t)(0x80 + t), "solo");
    pthread_t threads[N_THREADS];
    worker workers[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        workers[t] = (worker){.f = f, .c = &c, .items = items, .id = t};
        assert_int_equal(pthread_create(&threads[t], NULL, run_worker, &workers[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    /* Freeing drains the queue: every callback has run when it returns. */
    gw_engine_free(f->engine);
    f->engine = NULL;

    assert_int_equal(c.callbacks, N_THREADS * PER_THREAD);
    for (int i = 0; i < N_THREADS * PER_THREAD; i++)
        assert_int_equal(c.calls_per_item[i], 1);
    assert_int_equal(c.other, 0);
    /* Own accounts: all accepted. Shared account: each sequence accepted exactly once. */
    assert_true(c.accepted_new >= N_THREADS * PER_THREAD / 2 + 1);
    assert_true(c.accepted_new <= N_THREADS * PER_THREAD / 2 + PER_THREAD / 2);

    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    assert_int_equal(gw_engine_head(f->engine), (uint64_t)c.accepted_new);
    custos_record *rec = calloc(N_THREADS * PER_THREAD + 1, sizeof *rec);
    assert_non_null(rec);
    size_t n = 0;
    assert_int_equal(gw_engine_read_from(f->engine, 0, rec, N_THREADS * PER_THREAD + 1, &n, &err),
                     CUSTOS_OK);
    assert_int_equal(n, (size_t)c.accepted_new);
    uint64_t last_shared = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rec[i].cursor, i + 1);
        if (rec[i].sub.att.account[0] == 0xff) {
            assert_true(rec[i].sub.att.sequence > last_shared);
            last_shared = rec[i].sub.att.sequence;
        }
        custos_record_clear(&rec[i]);
    }
    free(rec);
    free(items);
    free(c.calls_per_item);
    pthread_mutex_destroy(&c.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accept_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_on_calling_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_then_quorum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_distinct_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze_by_custodian, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_bound_to_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_lender, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_lender_pending_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_exposure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_larger_quorum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_operator_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_one_party, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breaker_counts_signers_valid_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_rechecks_freshness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_submitters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_waits_for_company, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_caller_not_delayed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
