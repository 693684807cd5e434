/* Three custos-gateway replicas over one PostgreSQL database (a real server started by this
 * test on loopback): the same (account, sequence) with different digests raced at all
 * replicas many times, exactly one wins each time and the others are REPLAYs; the very same
 * attestation raced at all is accepted once and answered as a duplicate by the others; a
 * quorum whose signatures arrive at different replicas completes; Watch streams open on
 * every replica during a concurrent load deliver the same records in the same order. */
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

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/reason.h"

#include "gwfixture.h"
#include "pgserver.h"

#define N_REPLICAS 3
#define RACE_ROUNDS 30
#define LOAD_THREADS 6
#define LOAD_PER_THREAD 25

static tu_pg PG;
static gwf R[N_REPLICAS];
static char URI[256];

/* Rule 9: every account the tests submit for, in each replica's file before it starts
 * (a file is each replica's own; the admin service's registrations are shared). */
static void register_accounts(gwf *f)
{
    static const char *const refs[] = {"RACE-ACCOUNT", "RACE-SAME", "SPLIT-QUORUM"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        gwf_register(f, GWF_FEED, GWF_FEED, refs[i]);
    for (int id = 0; id < LOAD_THREADS; id++) {
        for (int k = 0; k < LOAD_PER_THREAD; k++) {
            char ref[64];
            snprintf(ref, sizeof ref, "LOAD-%d-%d", id, k);
            gwf_register(f, GWF_FEED, GWF_FEED, ref);
        }
    }
    f->no_auto_register = true;
}

/* Points gwf_write_config's [gateway] store line at the shared database. */
static void use_pg_store(gwf *f)
{
    char *ini = tu_read_file(f->config_path);
    assert_non_null(ini);
    char *line = strstr(ini, "\nstore = ");
    assert_non_null(line);
    char *end = strchr(line + 1, '\n');
    assert_non_null(end);
    size_t cap = strlen(ini) + sizeof URI + 64;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s\nstore = %s\nreplica_poll_ms = 50%s", (int)(line - ini), ini, URI,
             end);
    tu_write_file(f->config_path, out);
    free(out);
    free(ini);
}

static int group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_replicas_pg: the PostgreSQL server did not start (reason above)\n");
        return -1;
    }
    tu_pg_new_db(&PG, URI, sizeof URI);
    for (int i = 0; i < N_REPLICAS; i++) {
        gwf_init(&R[i]);
        gwf_write_config(&R[i]);
        use_pg_store(&R[i]);
        register_accounts(&R[i]);
        gwf_start(&R[i]);
    }
    return 0;
}

/* Each replica must stop cleanly (exit 0 on SIGTERM). */
static int group_teardown(void **state)
{
    (void)state;
    int failed = 0;
    for (int i = 0; i < N_REPLICAS; i++) {
        int status = gwf_stop(&R[i]);
        if (status != 0) {
            fprintf(stderr, "replica %d exited with %d after SIGTERM\n", i, status);
            gwf_dump_log(&R[i]);
            failed = -1;
        }
        gwf_cleanup(&R[i]);
    }
    tu_pg_stop(&PG);
    return failed;
}

static void dump_logs(void)
{
    for (int i = 0; i < N_REPLICAS; i++)
        gwf_dump_log(&R[i]);
}

/* One submission sent by its own thread, started together with the others. */
typedef struct racer {
    custos_client *client;
    const custos_submission *sub;
    pthread_barrier_t *start;
    gwf_answer answer;
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    r->answer.rc = custos_client_submit(r->client, r->sub, &r->answer.res, &r->answer.err);
    return NULL;
}

/* Submits subs[i] to replica i, all at once; each must answer (take it or refuse it). */
static void race(const custos_submission subs[N_REPLICAS], gwf_answer res[N_REPLICAS])
{
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_REPLICAS), 0);
    racer rs[N_REPLICAS];
    pthread_t th[N_REPLICAS];
    for (int i = 0; i < N_REPLICAS; i++) {
        rs[i] = (racer){.client = R[i].client, .sub = &subs[i], .start = &start};
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &rs[i]), 0);
    }
    for (int i = 0; i < N_REPLICAS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < N_REPLICAS; i++) {
        if (rs[i].answer.rc != CUSTOS_OK && rs[i].answer.rc != CUSTOS_ERR_REFUSED) {
            dump_logs();
            fail_msg("replica %d: %s (%s)", i, custos_rc_name(rs[i].answer.rc),
                     rs[i].answer.err.message);
        }
        res[i] = rs[i].answer;
    }
}

static bool accepted(const gwf_answer *a)
{
    return a->rc == CUSTOS_OK && a->res.state == CUSTOS_STATE_ACCEPTED;
}

static void test_race_same_sequence(void **state)
{
    (void)state;
    for (uint64_t round = 1; round <= RACE_ROUNDS; round++) {
        custos_submission subs[N_REPLICAS];
        for (int i = 0; i < N_REPLICAS; i++) {
            /* Different values: different digests for the same (account, sequence). */
            gwf_make(&R[i], &subs[i], "RACE-ACCOUNT", round, 1000 + (uint64_t)i);
            gwf_sign(&R[i], &subs[i], GWF_KEY_CUSTODIAN);
            gwf_sign(&R[i], &subs[i], GWF_KEY_AGENT);
        }
        gwf_answer res[N_REPLICAS];
        race(subs, res);
        int winners = 0, replays = 0, winner = -1;
        for (int i = 0; i < N_REPLICAS; i++) {
            if (accepted(&res[i]) && !res[i].res.duplicate) {
                winners++;
                winner = i;
            } else if (res[i].rc == CUSTOS_ERR_REFUSED &&
                       res[i].err.reason == CUSTOS_REASON_REPLAY) {
                replays++;
            } else {
                dump_logs();
                fail_msg("round %llu, replica %d: %s: %s", (unsigned long long)round, i,
                         custos_rc_name(res[i].rc), res[i].err.message);
            }
        }
        if (winners != 1 || replays != N_REPLICAS - 1)
            fail_msg("round %llu: %d accepted and %d replays (want 1 and %d)",
                     (unsigned long long)round, winners, replays, N_REPLICAS - 1);

        /* Every replica now reports the winner as the account's latest. */
        uint8_t digest[32];
        gwf_digest(&subs[winner], digest);
        for (int i = 0; i < N_REPLICAS; i++) {
            custos_record rec;
            custos_error err;
            if (custos_client_get_latest(R[i].client, subs[0].att.account, &rec, &err) !=
                CUSTOS_OK)
                fail_msg("GetLatest at replica %d: %s", i, err.message);
            assert_int_equal(rec.sub.att.sequence, round);
            assert_memory_equal(rec.digest, digest, 32);
            custos_record_clear(&rec);
        }
        for (int i = 0; i < N_REPLICAS; i++)
            custos_submission_clear(&subs[i]);
    }
}

static void test_race_same_attestation(void **state)
{
    (void)state;
    for (uint64_t round = 1; round <= RACE_ROUNDS; round++) {
        custos_submission subs[N_REPLICAS];
        for (int i = 0; i < N_REPLICAS; i++) {
            gwf_make(&R[0], &subs[i], "RACE-SAME", round, 2000);
            gwf_sign(&R[0], &subs[i], GWF_KEY_CUSTODIAN);
            gwf_sign(&R[0], &subs[i], GWF_KEY_AGENT);
        }
        gwf_answer res[N_REPLICAS];
        race(subs, res);
        int duplicates = 0;
        for (int i = 0; i < N_REPLICAS; i++) {
            if (!accepted(&res[i])) {
                dump_logs();
                fail_msg("round %llu, replica %d: %s: %s", (unsigned long long)round, i,
                         custos_rc_name(res[i].rc), res[i].err.message);
            }
            duplicates += res[i].res.duplicate;
            assert_int_equal(res[i].res.cursor, res[0].res.cursor);
        }
        assert_int_equal(duplicates, N_REPLICAS - 1);
        for (int i = 0; i < N_REPLICAS; i++)
            custos_submission_clear(&subs[i]);
    }
}

static void test_quorum_across_replicas(void **state)
{
    (void)state;
    custos_submission s;
    gwf_make(&R[0], &s, "SPLIT-QUORUM", 1, 700);
    gwf_sign(&R[0], &s, GWF_KEY_CUSTODIAN);
    gwf_answer r;
    gwf_submit_answer(&R[0], &s, &r);
    assert_int_equal(r.rc, CUSTOS_OK);
    assert_int_equal(r.res.state, CUSTOS_STATE_PENDING);
    assert_int_equal(r.res.signatures, 1);

    /* The cosignature goes to the other replica, which counts the first from the store. */
    gwf_clear_sigs(&s);
    gwf_sign(&R[1], &s, GWF_KEY_AGENT);
    gwf_submit_answer(&R[1], &s, &r);
    if (!accepted(&r)) {
        dump_logs();
        fail_msg("cosignature at replica 1: %s: %s", custos_rc_name(r.rc), r.err.message);
    }
    assert_int_equal(r.res.signatures, 2);

    custos_record rec;
    custos_error err;
    assert_int_equal(custos_client_get_latest(R[0].client, s.att.account, &rec, &err),
                     CUSTOS_OK);
    assert_int_equal(rec.n_signers, 2);
    custos_record_clear(&rec);
    custos_submission_clear(&s);
}

/* A Watch stream collecting (cursor, digest) pairs until it has `want` of them. */
typedef struct watcher {
    const char *target;
    uint64_t after;
    size_t want, n;
    uint64_t cursors[LOAD_THREADS * LOAD_PER_THREAD];
    uint8_t digests[LOAD_THREADS * LOAD_PER_THREAD][32];
    custos_rc rc;
    custos_error err;
} watcher;

static bool watch_cb(void *ctx, const custos_record *rec)
{
    watcher *w = ctx;
    if (w->n < w->want) {
        w->cursors[w->n] = rec->cursor;
        memcpy(w->digests[w->n], rec->digest, 32);
        w->n++;
    }
    return w->n < w->want;
}

static void *watch_main(void *arg)
{
    watcher *w = arg;
    custos_client *c = NULL;
    w->rc = custos_client_new_insecure(w->target, 30000, &c, &w->err);
    if (w->rc == CUSTOS_OK)
        w->rc = custos_client_watch(c, w->after, 10000, watch_cb, w, &w->err);
    custos_client_free(c);
    return NULL;
}

/* Submits its accounts one after another to one replica. */
typedef struct loader {
    gwf *f;
    custos_client *client;
    int id;
    int refused;
    gwf_answer last_bad;
} loader;

static void *load_main(void *arg)
{
    loader *l = arg;
    for (int k = 0; k < LOAD_PER_THREAD; k++) {
        char ref[64];
        snprintf(ref, sizeof ref, "LOAD-%d-%d", l->id, k);
        custos_submission s;
        gwf_make(l->f, &s, ref, 1, 100 + (uint64_t)k);
        gwf_sign(l->f, &s, GWF_KEY_CUSTODIAN);
        gwf_sign(l->f, &s, GWF_KEY_AGENT);
        gwf_answer r;
        custos_error_clear(&r.err);
        r.rc = custos_client_submit(l->client, &s, &r.res, &r.err);
        if (!accepted(&r)) {
            l->refused++;
            l->last_bad = r;
        }
        custos_submission_clear(&s);
    }
    return NULL;
}

static void test_watch_same_order(void **state)
{
    (void)state;
    uint64_t after = gwf_watch_head(&R[0], 0, 500, NULL);
    size_t want = LOAD_THREADS * LOAD_PER_THREAD;
    static watcher ws[N_REPLICAS];
    pthread_t wt[N_REPLICAS];
    for (int i = 0; i < N_REPLICAS; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].target = R[i].target;
        ws[i].after = after;
        ws[i].want = want;
        assert_int_equal(pthread_create(&wt[i], NULL, watch_main, &ws[i]), 0);
    }

    loader ls[LOAD_THREADS];
    pthread_t lt[LOAD_THREADS];
    custos_client *clients[LOAD_THREADS];
    for (int i = 0; i < LOAD_THREADS; i++) {
        custos_error err;
        gwf *f = &R[i % N_REPLICAS];
        assert_int_equal(custos_client_new_insecure(f->target, 10000, &clients[i], &err),
                         CUSTOS_OK);
        ls[i] = (loader){.f = f, .client = clients[i], .id = i};
        assert_int_equal(pthread_create(&lt[i], NULL, load_main, &ls[i]), 0);
    }
    for (int i = 0; i < LOAD_THREADS; i++) {
        pthread_join(lt[i], NULL);
        custos_client_free(clients[i]);
    }
    for (int i = 0; i < N_REPLICAS; i++)
        pthread_join(wt[i], NULL);

    for (int i = 0; i < LOAD_THREADS; i++)
        if (ls[i].refused != 0)
            fail_msg("loader %d: %d submissions not accepted (last: %s: %s)", i,
                     ls[i].refused, custos_rc_name(ls[i].last_bad.rc),
                     ls[i].last_bad.err.message);
    for (int i = 0; i < N_REPLICAS; i++) {
        if (ws[i].rc != CUSTOS_OK)
            fail_msg("Watch at replica %d: %s (%s)", i, custos_rc_name(ws[i].rc),
                     ws[i].err.message);
        if (ws[i].n != want) {
            dump_logs();
            fail_msg("Watch at replica %d saw %zu records (want %zu)", i, ws[i].n, want);
        }
        for (size_t k = 1; k < want; k++)
            assert_true(ws[i].cursors[k] > ws[i].cursors[k - 1]);
    }
    for (int i = 1; i < N_REPLICAS; i++) {
        assert_memory_equal(ws[i].cursors, ws[0].cursors, want * sizeof ws[0].cursors[0]);
        assert_memory_equal(ws[i].digests, ws[0].digests, want * 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_race_same_sequence),
        cmocka_unit_test(test_race_same_attestation),
        cmocka_unit_test(test_quorum_across_replicas),
        cmocka_unit_test(test_watch_same_order),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
