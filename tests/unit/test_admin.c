/* The admin service's feed policy change against the engine's registry: the call sets the
 * fields it carries and the feed keeps the rest (a business-day age with its calendar, the
 * circuit breaker), live and when the audit log is replayed at the next start alike; the
 * metrics' limit gauges follow it. Over one PostgreSQL store, a change made through one
 * replica, a signer's or an account registration (rule 9), is in force on the others
 * within replica_poll_ms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin.h"
#include "config/config.h"
#include "custos/calendar.h"
#include "engine/engine.h"
#include "metrics.h"
#include "pgserver.h"
#include "registry.h"
#include "testutil.h"

#define N_SIGNERS 4

static tu_pg PG;

typedef struct fixture {
    char dir[1024];
    gw_config cfg;
    gw_feed feeds[2]; /* treasuries (business days, breaker), bills (seconds) */
    gw_signer signers[N_SIGNERS];
    custos_calendar calendar;
    gw_engine *engine;
    gw_admin *admin;
    gw_engine *engine2; /* the second replica (PostgreSQL only) */
    gw_admin *admin2;
} fixture;

/* The prestate says the store: NULL a SQLite file, &PG one database of the test server
 * shared by two replicas (engine and admin each). */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    tu_mkdtemp(f->dir, sizeof f->dir);
    gw_config *c = &f->cfg;
    if (*state == &PG) {
        tu_pg_new_db(&PG, c->store_path, sizeof c->store_path);
        c->store_backend = GW_STORE_POSTGRESQL;
        c->replica_poll_ms = 50;
    } else {
        snprintf(c->store_path, sizeof c->store_path, "%s/custos.db", f->dir);
    }
    c->domain.chain_id = 31337;
    memset(c->domain.verifying_contract, 0xab, CUSTOS_ADDRESS_LEN);
    c->commit_batch_max = 32;
    c->commit_delay_us = 200;
    c->max_rotation_overlap = 86400;
    snprintf(f->calendar.source, sizeof f->calendar.source, "test-calendar");
    f->calendar.first_year = 2020;
    f->calendar.last_year = 2030;
    /* A feed counted in business days, with a circuit breaker, and one in seconds. */
    gw_feed *t = &f->feeds[0], *b = &f->feeds[1];
    snprintf(t->name, sizeof t->name, "treasuries");
    t->max_age_business_days = 1;
    t->calendar = &f->calendar;
    t->max_skew = 300;
    t->max_ttl = 604800;
    t->threshold = 1;
    t->breaker_rise_bps = 1000;
    t->breaker_release_threshold = 3;
    snprintf(b->name, sizeof b->name, "bills");
    b->max_age = 86400;
    b->max_skew = 300;
    b->max_ttl = 604800;
    b->threshold = 1;
    for (int i = 0; i < N_SIGNERS; i++) {
        memset(f->signers[i].address, 0x31 + i, CUSTOS_ADDRESS_LEN);
        snprintf(f->signers[i].feed, sizeof f->signers[i].feed, "%s",
                 i < N_SIGNERS - 1 ? "treasuries" : "bills");
        f->signers[i].role = GW_ROLE_CUSTODIAN;
        f->signers[i].active = true;
    }
    c->feeds = f->feeds;
    c->n_feeds = 2;
    c->signers = f->signers;
    c->n_signers = N_SIGNERS;
    custos_error err;
    if (gw_engine_new(c, &f->engine, &err) != CUSTOS_OK ||
        gw_admin_new(c, f->engine, &f->admin, &err) != CUSTOS_OK ||
        (c->store_backend == GW_STORE_POSTGRESQL &&
         (gw_engine_new(c, &f->engine2, &err) != CUSTOS_OK ||
          gw_admin_new(c, f->engine2, &f->admin2, &err) != CUSTOS_OK))) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gw_admin_free(f->admin2);
    gw_engine_free(f->engine2);
    gw_admin_free(f->admin);
    gw_engine_free(f->engine);
    gw_metrics_shutdown();
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* The feed as the engine verifies against it now. */
static gw_feed current_feed(fixture *f)
{
    gw_policy *p = gw_registry_acquire(gw_engine_registry(f->engine));
    const gw_feed *feed = gw_policy_find_feed(p, "treasuries");
    assert_non_null(feed);
    gw_feed out = *feed;
    gw_policy_release(p);
    return out;
}

static void assert_policy_applied(fixture *f)
{
    gw_feed now = current_feed(f);
    assert_int_equal(now.threshold, 2);
    assert_int_equal(now.max_age, 7200);
    assert_int_equal(now.max_skew, 60);
    assert_int_equal(now.max_ttl, 86400);
    assert_true(now.distinct_roles == false);
    /* What the call does not carry stays the feed's own. */
    assert_int_equal(now.max_age_business_days, 1);
    assert_non_null(now.calendar); /* the snapshot's own copy of the file's calendar */
    assert_int_equal(now.calendar->first_year, f->calendar.first_year);
    assert_int_equal(now.calendar->last_year, f->calendar.last_year);
    assert_int_equal(now.breaker_rise_bps, 1000);
    assert_int_equal(now.breaker_release_threshold, 3);
}

/* Asks the admin service for a feed policy (max_skew 60, max_ttl 86400); detail says why
 * when it is refused. */
static gw_admin_result try_policy(fixture *f, const char *feed, uint64_t max_age,
                                  uint32_t threshold, uint64_t *seq, char *detail, size_t cap)
{
    gw_feed policy;
    memset(&policy, 0, sizeof policy);
    snprintf(policy.name, sizeof policy.name, "%s", feed);
    policy.max_age = max_age;
    policy.max_skew = 60;
    policy.max_ttl = 86400;
    policy.threshold = threshold;
    return gw_admin_set_feed_policy(f->admin, "ops", &policy, seq, detail, cap);
}

/* The same, which must be taken. */
static void set_policy(fixture *f, const char *feed, uint64_t max_age, uint32_t threshold)
{
    uint64_t seq = 0;
    char detail[512] = "";
    gw_admin_result r = try_policy(f, feed, max_age, threshold, &seq, detail, sizeof detail);
    if (r != GW_ADMIN_DONE || seq == 0)
        fail_msg("set_feed_policy %s: %d %s", feed, (int)r, detail);
}

static void assert_rendered(const char *line)
{
    gw_metrics_live live;
    memset(&live, 0, sizeof live);
    char *text = NULL;
    size_t len = 0;
    custos_error err;
    assert_int_equal(gw_metrics_render(&live, 1800000000u, &text, &len, &err), CUSTOS_OK);
    if (strstr(text, line) == NULL)
        fail_msg("no '%s' in the metrics:\n%s", line, text);
    free(text);
}

static void test_set_feed_policy_keeps_what_it_does_not_carry(void **state)
{
    fixture *f = *state;
    set_policy(f, "treasuries", 7200, 2);
    assert_policy_applied(f);

    /* The next start replays the audit log over the file's feed: the same policy. */
    gw_admin_free(f->admin);
    gw_engine_free(f->engine);
    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    assert_int_equal(gw_admin_new(&f->cfg, f->engine, &f->admin, &err), CUSTOS_OK);
    assert_policy_applied(f);
}

/* The breaker's release threshold still bounds the feed's threshold, and a refused change
 * leaves the feed as it was. */
static void test_set_feed_policy_below_breaker_release(void **state)
{
    fixture *f = *state;
    uint64_t seq = 0;
    char detail[512] = "";
    assert_int_equal(try_policy(f, "treasuries", 7200, 3, &seq, detail, sizeof detail),
                     GW_ADMIN_PRECONDITION);
    assert_non_null(strstr(detail, "breaker_release_threshold"));
    gw_feed now = current_feed(f);
    assert_int_equal(now.threshold, 1);
    assert_int_equal(now.max_skew, 300);
}

/* The limit gauges (and so custos_feed_stale_at_seconds) follow a change, not just the
 * limits read at start. */
static void test_metrics_follow_feed_policy(void **state)
{
    fixture *f = *state;
    custos_error err;
    assert_int_equal(gw_metrics_init(&f->cfg, &err), CUSTOS_OK);
    assert_rendered("custos_feed_max_age_seconds{feed=\"bills\"} 86400\n");
    set_policy(f, "bills", 3600, 1);
    assert_rendered("custos_feed_max_age_seconds{feed=\"bills\"} 3600\n");
    set_policy(f, "treasuries", 7200, 2);
    assert_rendered("custos_feed_max_age_business_days{feed=\"treasuries\"} 1\n");
}

/* Whether the replica of engine counts address's signatures for treasuries. */
static bool signer_active(gw_engine *engine, const uint8_t address[CUSTOS_ADDRESS_LEN])
{
    gw_policy *p = gw_registry_acquire(gw_engine_registry(engine));
    const gw_signer *s = gw_policy_find_signer(p, "treasuries", address);
    bool active = s != NULL && s->active;
    gw_policy_release(p);
    return active;
}

/* Waits up to 5 s (the replicas poll every 50 ms) for the second replica to agree. */
static bool second_replica_sees(fixture *f, const uint8_t address[CUSTOS_ADDRESS_LEN],
                                bool active)
{
    for (int i = 0; i < 250; i++) {
        if (signer_active(f->engine2, address) == active)
            return true;
        tu_sleep_ms(20);
    }
    return false;
}

/* A signer revoked through one replica is refused by the other, and one added through the
 * other counts on the first, without a restart or a reload. */
static void test_changes_reach_other_replicas(void **state)
{
    fixture *f = *state;
    uint64_t seq = 0;
    char detail[512] = "";
    const uint8_t *revoked = f->signers[0].address;
    assert_true(signer_active(f->engine2, revoked));
    assert_int_equal(gw_admin_revoke_signer(f->admin, "ops", revoked, "treasuries", &seq, detail,
                                            sizeof detail),
                     GW_ADMIN_DONE);
    assert_false(signer_active(f->engine, revoked));
    if (!second_replica_sees(f, revoked, false))
        fail_msg("the second replica still counts a signer revoked through the first");

    uint8_t added[CUSTOS_ADDRESS_LEN];
    memset(added, 0x77, sizeof added);
    assert_int_equal(gw_admin_add_signer(f->admin2, "ops", added, "treasuries", "auditor", &seq,
                                         detail, sizeof detail),
                     GW_ADMIN_DONE);
    for (int i = 0; i < 250 && !signer_active(f->engine, added); i++)
        tu_sleep_ms(20);
    assert_true(signer_active(f->engine, added));
    assert_false(signer_active(f->engine, revoked));
    assert_false(signer_active(f->engine2, revoked));
}

/* The feed account is registered to in engine's registry in force, or NULL. */
static bool account_feed(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN], char *feed,
                         size_t cap)
{
    gw_policy *p = gw_registry_acquire(gw_engine_registry(e));
    const gw_account *a = gw_policy_find_account(p, account);
    if (a != NULL)
        snprintf(feed, cap, "%s", a->feed);
    gw_policy_release(p);
    return a != NULL;
}

/* Rule 9: a registration made through one replica is in force on the other within
 * replica_poll_ms, and the other refuses to register the account again elsewhere. */
static void test_registrations_reach_other_replicas(void **state)
{
    fixture *f = *state;
    uint64_t seq = 0;
    char detail[512] = "", feed[CUSTOS_FEED_MAX + 1] = "";
    uint8_t account[CUSTOS_HASH_LEN];
    memset(account, 0x5a, sizeof account);
    assert_false(account_feed(f->engine2, account, feed, sizeof feed));
    assert_int_equal(gw_admin_register_account(f->admin, "ops", account, "bills", &seq, detail,
                                               sizeof detail),
                     GW_ADMIN_DONE);
    assert_true(account_feed(f->engine, account, feed, sizeof feed));
    bool seen = false;
    for (int i = 0; i < 250 && !seen; i++) {
        seen = account_feed(f->engine2, account, feed, sizeof feed);
        if (!seen)
            tu_sleep_ms(20);
    }
    if (!seen)
        fail_msg("the second replica does not know an account registered through the first");
    assert_string_equal(feed, "bills");
    assert_int_equal(gw_admin_register_account(f->admin2, "ops", account, "treasuries", &seq,
                                               detail, sizeof detail),
                     GW_ADMIN_PRECONDITION);
    assert_non_null(strstr(detail, "registered to feed 'bills'"));
}

/* Rule 9 on one store: registrations are audit entries, in force again after a restart;
 * an account is registered once, to one configured feed. */
static void test_registration_survives_restart(void **state)
{
    fixture *f = *state;
    uint64_t seq = 0;
    char detail[512] = "", feed[CUSTOS_FEED_MAX + 1] = "";
    uint8_t account[CUSTOS_HASH_LEN];
    memset(account, 0x6b, sizeof account);
    assert_int_equal(gw_admin_register_account(f->admin, "ops", account, "no-such-feed", &seq,
                                               detail, sizeof detail),
                     GW_ADMIN_NOT_FOUND);
    assert_int_equal(gw_admin_register_account(f->admin, "ops", account, "treasuries", &seq,
                                               detail, sizeof detail),
                     GW_ADMIN_DONE);
    assert_int_equal(gw_admin_register_account(f->admin, "ops", account, "treasuries", &seq,
                                               detail, sizeof detail),
                     GW_ADMIN_EXISTS);
    gw_account listed[4];
    size_t total = 0;
    assert_int_equal(gw_admin_list_accounts(f->admin, "treasuries", 0, listed, 4, &total), 1);
    assert_int_equal(total, 1);
    assert_memory_equal(listed[0].account, account, CUSTOS_HASH_LEN);
    assert_int_equal(gw_admin_list_accounts(f->admin, "bills", 0, listed, 4, &total), 0);

    gw_admin_free(f->admin);
    f->admin = NULL;
    gw_engine_free(f->engine);
    f->engine = NULL;
    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &f->engine, &err), CUSTOS_OK);
    assert_int_equal(gw_admin_new(&f->cfg, f->engine, &f->admin, &err), CUSTOS_OK);
    assert_true(account_feed(f->engine, account, feed, sizeof feed));
    assert_string_equal(feed, "treasuries");
}

static int pg_group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_admin: the PostgreSQL server did not start (reason above)\n");
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

/* The yearly calendar update without a release: [gateway] calendar names a file with the
 * next year, SIGHUP reloads it. The engine then judges business-day freshness by it, and
 * keeps it after the reloaded configuration is gone; a later admin change keeps it too. */
static void test_reload_brings_a_new_calendar(void **state)
{
    fixture *f = *state;
    char cal[1100], path[1100], text[4096];
    snprintf(cal, sizeof cal, "%s/us-bond-market.txt", f->dir);
    tu_write_file(cal, "covers 2030 2031\n2030-12-24  early 14:00  # Christmas Eve\n"
                       "2030-12-25  # Christmas Day\n");
    snprintf(path, sizeof path, "%s/gateway.ini", f->dir);
    int n = snprintf(text, sizeof text,
                     "[gateway]\nstore = %s\nchain_id = 31337\nverifying_contract = 0x%s\n"
                     "calendar = %s\n"
                     "[feed treasuries]\nmax_age_business_days = 1\nmax_skew = 300\n"
                     "max_ttl = 604800\nthreshold = 1\nbreaker_rise_bps = 1000\n"
                     "breaker_release_threshold = 3\n"
                     "[feed bills]\nmax_age = 86400\nmax_skew = 300\nmax_ttl = 604800\n"
                     "threshold = 1\n",
                     f->cfg.store_path, "abababababababababababababababababababab", cal);
    for (int i = 0; i < N_SIGNERS; i++) {
        char addr[41];
        memset(addr, '0', 40);
        addr[40] = '\0';
        for (int k = 0; k < 20; k++)
            snprintf(addr + 2 * k, 3, "%02x", 0x31 + i);
        n += snprintf(text + n, sizeof text - (size_t)n,
                      "[signer s%d]\naddress = 0x%s\nfeed = %s\nrole = custodian\n", i, addr,
                      i < N_SIGNERS - 1 ? "treasuries" : "bills");
    }
    tu_write_file(path, text);
    gw_admin_reload(f->admin, path);

    gw_feed now = current_feed(f);
    assert_int_equal(now.max_age_business_days, 1);
    assert_non_null(now.calendar);
    assert_int_equal(now.calendar->first_year, 2030);
    custos_day eve;
    custos_session s;
    custos_error err;
    assert_int_equal(custos_day_parse("2030-12-24", 10, &eve, &err), CUSTOS_OK);
    assert_int_equal(custos_calendar_session(now.calendar, eve, &s, &err), CUSTOS_OK);
    assert_int_equal(s.kind, CUSTOS_SESSION_EARLY_CLOSE);
    assert_int_equal(custos_calendar_session(now.calendar, eve + 1, &s, &err), CUSTOS_OK);
    assert_int_equal(s.kind, CUSTOS_SESSION_CLOSED);

    /* An admin change composes from the reloaded file's feeds: the calendar goes along. */
    set_policy(f, "treasuries", 7200, 2);
    now = current_feed(f);
    assert_non_null(now.calendar);
    assert_int_equal(now.calendar->last_year, 2031);
    assert_int_equal(custos_calendar_session(now.calendar, eve + 1, &s, &err), CUSTOS_OK);
    assert_int_equal(s.kind, CUSTOS_SESSION_CLOSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_feed_policy_keeps_what_it_does_not_carry,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_feed_policy_below_breaker_release, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_metrics_follow_feed_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_brings_a_new_calendar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_survives_restart, setup, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_changes_reach_other_replicas, setup,
                                                 teardown, &PG),
        cmocka_unit_test_prestate_setup_teardown(test_registrations_reach_other_replicas, setup,
                                                 teardown, &PG),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup,
                                          pg_group_teardown);
    return failed;
}
