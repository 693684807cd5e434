/* Crash consistency. The real gateway takes concurrent submissions from several clients
 * and is killed with SIGKILL at random moments, then restarted on the same store: every
 * acknowledged attestation is still there, nothing unacknowledged is half-written (each
 * stored record is whole, its digest, positions root and signatures check, and the cursors
 * run 1, 2, 3, ... without a gap), and the replay state is intact. Then custos-attestor is
 * killed at random moments of `attest`: its sequence state file stays valid and no
 * sequence number is ever used twice.
 *
 * The random delays come from CUSTOS_CRASH_SEED when set (the seed is printed). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/eip712.h"
#include "custos/merkle.h"
#include "custos/reason.h"
#include "custos/sig.h"
#include "custos/typeddata.h"

#include "gwfixture.h"

#define N_ROUNDS 5
#define N_THREADS 3
/* Prepared per thread and round: more than a thread can submit before the kill. */
#define BATCH 600
#define MAX_ACKED (N_ROUNDS * N_THREADS * BATCH)
#define N_ATTESTOR_KILLS 30

static gwf F;
static unsigned seed;

static int rnd(int lo, int hi)
{
    return lo + (int)(rand_r(&seed) % (unsigned)(hi - lo + 1));
}

static int group_setup(void **state)
{
    (void)state;
    const char *s = getenv("CUSTOS_CRASH_SEED");
    seed = s != NULL ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "CUSTOS_CRASH_SEED=%u\n", seed);
    gwf_init(&F);
    gwf_write_config(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gwf_cleanup(&F);
    return 0;
}

/* What the gateway acknowledged (ACCEPTED answers), from every thread and round. */
typedef struct acked_entry {
    uint8_t account[32];
    uint64_t sequence;
    uint8_t digest[32];
    uint64_t cursor;
} acked_entry;
static acked_entry acked[MAX_ACKED];
static size_t n_acked;
/* Submissions whose answer was lost to the kill: stored whole or not at all. */
static size_t n_unknown;
/* Per thread, the first and the last acknowledged submission, kept for the replay checks. */
static custos_submission first_sub[N_THREADS], last_sub[N_THREADS];
static bool have_first[N_THREADS], have_last[N_THREADS];
/* Per worker, the records of its account stored after its first acknowledged one. */
static size_t newer_than_first[N_THREADS];
/* Rule 4's retry window (docs/rules.md): a resubmission is a duplicate while its record is
 * one of the account's 64 latest. */
#define RETRY_WINDOW 64
static uint64_t next_seq[N_THREADS];

typedef struct worker {
    size_t id;
    const char *target;
    custos_submission *subs; /* BATCH prepared ones */
    custos_submit_result *res;
    size_t done;             /* answered: subs[0..done) */
    bool lost;               /* subs[done] was in flight when the gateway died */
    char error[640];         /* an answer that is neither ACCEPTED nor a lost connection */
} worker;

static void worker_ref(size_t id, char *out, size_t cap)
{
    snprintf(out, cap, "CRASH-%zu", id);
}

/* No cmocka calls here: assertions may not jump across threads. */
static void *worker_main(void *arg)
{
    worker *w = arg;
    custos_client *c = NULL;
    custos_error err;
    if (custos_client_new_insecure(w->target, 5000, &c, &err) != CUSTOS_OK) {
        snprintf(w->error, sizeof w->error, "custos_client_new_insecure: %s", err.message);
        return NULL;
    }
    for (; w->done < BATCH; w->done++) {
        custos_submit_result *r = &w->res[w->done];
        custos_rc rc = custos_client_submit(c, &w->subs[w->done], r, &err);
        /* The kill: the call could not complete, or ended with a transport status. */
        if (rc == CUSTOS_ERR_UNAVAILABLE) {
            w->lost = true;
            break;
        }
        if (rc != CUSTOS_OK || r->state != CUSTOS_STATE_ACCEPTED || r->duplicate) {
            snprintf(w->error, sizeof w->error, "seq %llu: %s, state %d: %s",
                     (unsigned long long)w->subs[w->done].att.sequence, custos_rc_name(rc),
                     (int)r->state, err.message);
            break;
        }
    }
    custos_client_free(c);
    return NULL;
}

/* One round: N_THREADS clients submit while the gateway is SIGKILLed after a random delay. */
static void crash_round(int round)
{
    worker w[N_THREADS];
    pthread_t th[N_THREADS];
    memset(w, 0, sizeof w);
    for (size_t t = 0; t < N_THREADS; t++) {
        char ref[32];
        worker_ref(t, ref, sizeof ref);
        w[t].id = t;
        w[t].target = F.target;
        w[t].subs = calloc(BATCH, sizeof *w[t].subs);
        w[t].res = calloc(BATCH, sizeof *w[t].res);
        assert_non_null(w[t].subs);
        assert_non_null(w[t].res);
        for (size_t i = 0; i < BATCH; i++) {
            gwf_make(&F, &w[t].subs[i], ref, next_seq[t] + i, 1000 + i);
            gwf_sign(&F, &w[t].subs[i], GWF_KEY_CUSTODIAN);
            gwf_sign(&F, &w[t].subs[i], GWF_KEY_AGENT);
        }
    }
    for (size_t t = 0; t < N_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    int delay_ms = rnd(50, 500);
    usleep((useconds_t)delay_ms * 1000);
    custos_client_free(F.client);
    F.client = NULL;
    assert_int_equal(tu_stop(&F.proc, SIGKILL, 5000), 128 + SIGKILL);
    for (size_t t = 0; t < N_THREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);

    size_t round_acked = 0;
    for (size_t t = 0; t < N_THREADS; t++) {
        if (w[t].error[0] != '\0')
            fail_msg("round %d, thread %zu: %s", round, t, w[t].error);
        for (size_t i = 0; i < w[t].done; i++) {
            assert_true(n_acked < MAX_ACKED);
            acked_entry *e = &acked[n_acked++];
            memcpy(e->account, w[t].subs[i].att.account, 32);
            e->sequence = w[t].subs[i].att.sequence;
            memcpy(e->digest, w[t].res[i].digest, 32);
            e->cursor = w[t].res[i].cursor;
        }
        round_acked += w[t].done;
        n_unknown += w[t].lost ? 1 : 0;
        /* The lost one's sequence is never reused: it may be stored. */
        next_seq[t] += w[t].done + (w[t].lost ? 1 : 0);
        for (size_t i = 0; i < BATCH; i++) {
            bool keep_first = i == 0 && w[t].done > 0 && !have_first[t];
            bool keep_last = w[t].done > 0 && i == w[t].done - 1;
            if (keep_first) {
                first_sub[t] = w[t].subs[i];
                have_first[t] = true;
            } else if (keep_last) {
                if (have_last[t])
                    custos_submission_clear(&last_sub[t]);
                last_sub[t] = w[t].subs[i];
                have_last[t] = true;
            } else {
                custos_submission_clear(&w[t].subs[i]);
            }
        }
        free(w[t].subs);
        free(w[t].res);
    }
    fprintf(stderr, "round %d: killed after %d ms, %zu acknowledged\n", round, delay_ms,
            round_acked);
    gwf_start(&F);
}

static void test_gateway_sigkill_rounds(void **state)
{
    (void)state;
    for (size_t t = 0; t < N_THREADS; t++)
        next_seq[t] = 1;
    gwf_start(&F);
    for (int round = 1; round <= N_ROUNDS; round++)
        crash_round(round);
    /* Something must have been acknowledged, or the checks below prove nothing. */
    assert_true(n_acked > 0);
}

typedef struct stored {
    size_t n, cap;
    acked_entry *e;
    char error[256];
} stored;

static void recheck(const custos_record *rec, stored *st, custos_secp *secp)
{
    const custos_submission *s = &rec->sub;
    uint8_t digest[32], root[32];
    custos_attestation_digest(&s->domain, &s->att, digest);
    custos_error err;
    if (memcmp(digest, rec->digest, 32) != 0) {
        snprintf(st->error, sizeof st->error, "cursor %llu: digest differs from its content",
                 (unsigned long long)rec->cursor);
        return;
    }
    if (custos_positions_root(s->positions, s->n_positions, root, &err) != CUSTOS_OK ||
        memcmp(root, s->att.positions_root, 32) != 0) {
        snprintf(st->error, sizeof st->error, "cursor %llu: positions do not match the root",
                 (unsigned long long)rec->cursor);
        return;
    }
    if (s->n_sigs < GWF_THRESHOLD || rec->n_signers != s->n_sigs) {
        snprintf(st->error, sizeof st->error, "cursor %llu: %zu signatures, %zu signers",
                 (unsigned long long)rec->cursor, s->n_sigs, rec->n_signers);
        return;
    }
    for (size_t i = 0; i < s->n_sigs; i++) {
        uint8_t addr[CUSTOS_ADDRESS_LEN];
        if (custos_recover_address(secp, digest, &s->sigs[i], addr, &err) != CUSTOS_OK ||
            memcmp(addr, rec->signers[i], CUSTOS_ADDRESS_LEN) != 0) {
            snprintf(st->error, sizeof st->error, "cursor %llu: signature %zu does not verify",
                     (unsigned long long)rec->cursor, i);
            return;
        }
    }
}

static custos_secp *watch_secp;

static bool collect(void *ctx, const custos_record *rec)
{
    stored *st = ctx;
    if (st->error[0] != '\0')
        return false;
    if (rec->state != CUSTOS_STATE_ACCEPTED || rec->cursor != st->n + 1) {
        snprintf(st->error, sizeof st->error, "record %zu: cursor %llu, state %d", st->n,
                 (unsigned long long)rec->cursor, (int)rec->state);
        return false;
    }
    recheck(rec, st, watch_secp);
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 1024;
        acked_entry *grown = realloc(st->e, st->cap * sizeof *grown);
        if (grown == NULL) {
            snprintf(st->error, sizeof st->error, "out of memory");
            return false;
        }
        st->e = grown;
    }
    acked_entry *e = &st->e[st->n++];
    memcpy(e->account, rec->sub.att.account, 32);
    e->sequence = rec->sub.att.sequence;
    memcpy(e->digest, rec->digest, 32);
    e->cursor = rec->cursor;
    return st->error[0] == '\0';
}

static void test_store_whole_after_kills(void **state)
{
    (void)state;
    assert_true(n_acked > 0);
    stored st;
    memset(&st, 0, sizeof st);
    watch_secp = custos_secp_new();
    assert_non_null(watch_secp);
    custos_error err;
    custos_rc rc = custos_client_watch(F.client, 0, 1500, collect, &st, &err);
    custos_secp_free(watch_secp);
    if (rc != CUSTOS_OK || st.error[0] != '\0') {
        free(st.e);
        fail_msg("Watch from 0: %s %s", rc != CUSTOS_OK ? err.message : "", st.error);
    }
    /* Acknowledged ones all stored, at the cursor they were acknowledged with; at most the
     * lost ones in addition. */
    size_t missing = 0;
    for (size_t i = 0; i < n_acked; i++) {
        uint64_t c = acked[i].cursor;
        if (c == 0 || c > st.n || memcmp(st.e[c - 1].digest, acked[i].digest, 32) != 0)
            missing++;
    }
    /* Per account, sequences increase along the cursor order. */
    bool ordered = true;
    for (size_t i = 0; i < st.n && ordered; i++)
        for (size_t j = i + 1; j < st.n && ordered; j++)
            if (memcmp(st.e[i].account, st.e[j].account, 32) == 0)
                ordered = st.e[j].sequence > st.e[i].sequence;
    for (size_t t = 0; t < N_THREADS; t++)
        for (size_t i = 0; have_first[t] && i < st.n; i++)
            if (memcmp(st.e[i].account, first_sub[t].att.account, 32) == 0 &&
                st.e[i].sequence > first_sub[t].att.sequence)
                newer_than_first[t]++;
    size_t n_stored = st.n;
    free(st.e);
    fprintf(stderr, "%zu acknowledged, %zu lost in flight, %zu stored\n", n_acked, n_unknown,
            n_stored);
    assert_int_equal(missing, 0);
    assert_true(ordered);
    assert_true(n_stored >= n_acked && n_stored <= n_acked + n_unknown);

    /* GetLatest agrees with the log: at or above the last acknowledged of each account. */
    for (size_t t = 0; t < N_THREADS; t++) {
        if (!have_last[t])
            continue;
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        assert_int_equal(custos_client_get_latest(F.client, last_sub[t].att.account, &rec, &err),
                         CUSTOS_OK);
        assert_true(rec.sub.att.sequence >= last_sub[t].att.sequence);
        custos_record_clear(&rec);
    }
}

static void test_replay_state_after_kills(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t t = 0; t < N_THREADS; t++) {
        custos_submission *keep[2] = {have_first[t] ? &first_sub[t] : NULL,
                                      have_last[t] ? &last_sub[t] : NULL};
        for (size_t k = 0; k < 2; k++) {
            if (keep[k] == NULL)
                continue;
            custos_submit_result r;
            custos_error err;
            custos_rc rc = gwf_submit(&F, keep[k], &r, &err);
            if (k == 0 && newer_than_first[t] >= RETRY_WINDOW) {
                /* Beyond the retry window: refused as any other old sequence. */
                if (rc != CUSTOS_ERR_REFUSED || err.reason != CUSTOS_REASON_REPLAY)
                    fail_msg("resending seq %llu with %zu newer: got %d, want REPLAY",
                             (unsigned long long)keep[k]->att.sequence, newer_than_first[t],
                             (int)rc);
            } else {
                if (rc != CUSTOS_OK)
                    fail_msg("resending seq %llu: %s",
                             (unsigned long long)keep[k]->att.sequence, err.message);
                assert_int_equal(r.state, CUSTOS_STATE_ACCEPTED);
                assert_true(r.duplicate);
            }

            char ref[32];
            worker_ref(t, ref, sizeof ref);
            custos_submission other;
            gwf_make(&F, &other, ref, keep[k]->att.sequence, 424242);
            gwf_sign(&F, &other, GWF_KEY_CUSTODIAN);
            gwf_sign(&F, &other, GWF_KEY_AGENT);
            assert_int_equal(gwf_submit(&F, &other, &r, &err), CUSTOS_ERR_REFUSED);
            custos_submission_clear(&other);
            assert_int_equal(err.reason, CUSTOS_REASON_REPLAY);
            checked++;
        }
    }
    assert_true(checked > 0);
    /* And new work continues above everything. */
    custos_submission s;
    char ref[32];
    worker_ref(0, ref, sizeof ref);
    gwf_make(&F, &s, ref, next_seq[0] + 1, 5);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    custos_submit_result r;
    custos_error err;
    assert_int_equal(gwf_submit(&F, &s, &r, &err), CUSTOS_OK);
    custos_submission_clear(&s);
    assert_int_equal(r.state, CUSTOS_STATE_ACCEPTED);
    for (size_t t = 0; t < N_THREADS; t++) {
        custos_submission_clear(&first_sub[t]);
        custos_submission_clear(&last_sub[t]);
    }
    assert_int_equal(gwf_stop(&F), 0);
}

/* --- custos-attestor killed during attest ------------------------------------------- */

static char a_key[1200], a_state[1200], a_holdings[1200], a_prices[1200], a_policy[1200];
/* The sample prices' as_of (a Friday close) plus an hour: the prices are fresh then. */
#define ATTEST_NOW "1795212000"


static void attest_argv(const char *export_path, const char *argv[32])
{
    size_t n = 0;
    argv[n++] = CUSTOS_ATTESTOR_BIN;
    argv[n++] = "attest";
    argv[n++] = "--holdings"; argv[n++] = a_holdings;
    argv[n++] = "--prices"; argv[n++] = a_prices;
    argv[n++] = "--policy"; argv[n++] = a_policy;
    argv[n++] = "--key"; argv[n++] = a_key;
    argv[n++] = "--account"; argv[n++] = "ACME-FUND-001";
    argv[n++] = "--feed"; argv[n++] = GWF_FEED;
    argv[n++] = "--chain-id"; argv[n++] = "31337";
    argv[n++] = "--contract"; argv[n++] = GWF_CONTRACT;
    argv[n++] = "--state"; argv[n++] = a_state;
    argv[n++] = "--now"; argv[n++] = ATTEST_NOW;
    argv[n++] = "--export"; argv[n++] = export_path;
    argv[n] = NULL;
}

/* The state file, if present, is a JSON object of positive integer sequences; returns the
 * largest (0 when absent). */
static uint64_t check_state_file(void)
{
    if (access(a_state, F_OK) != 0)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(a_state, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        fail_msg("state file unreadable after a kill: %s", jerr.text);
    assert_true(json_is_object(root));
    uint64_t max = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        assert_int_equal(strlen(key), 66);
        assert_true(json_is_integer(v) && json_integer_value(v) > 0);
        if ((uint64_t)json_integer_value(v) > max)
            max = (uint64_t)json_integer_value(v);
    }
    json_decref(root);
    return max;
}

/* The sequence of a complete export, 0 when the file is absent. */
static uint64_t export_sequence(const char *path)
{
    char *json = tu_read_file(path);
    if (json == NULL)
        return 0;
    custos_submission s;
    custos_error err;
    custos_rc rc = custos_typeddata_import(json, strlen(json), &s, &err);
    free(json);
    if (rc != CUSTOS_OK)
        fail_msg("%s is half-written: %s", path, err.message);
    uint64_t seq = s.att.sequence;
    custos_submission_clear(&s);
    return seq;
}

static void test_attestor_sigkill_during_attest(void **state)
{
    (void)state;
    snprintf(a_key, sizeof a_key, "%s/attestor.key", F.dir);
    snprintf(a_state, sizeof a_state, "%s/attestor-state.json", F.dir);
    snprintf(a_holdings, sizeof a_holdings, "%s/holdings.json", F.dir);
    snprintf(a_prices, sizeof a_prices, "%s/prices.json", F.dir);
    snprintf(a_policy, sizeof a_policy, "%s/policy.json", F.dir);
    tu_copy_example("holdings.json", a_holdings);
    tu_copy_example("prices.json", a_prices);
    tu_copy_example("policy.json", a_policy);
    char out[4096];
    const char *keygen[] = {CUSTOS_ATTESTOR_BIN, "keygen", "--out", a_key, NULL};
    assert_int_equal(tu_run(keygen, out, sizeof out, 1), 0);

    /* One run to completion measures how long attest takes: kills land within it. */
    const char *argv[32];
    char export_path[1300], log_path[1300];
    snprintf(log_path, sizeof log_path, "%s/attestor.log", F.dir);
    snprintf(export_path, sizeof export_path, "%s/export-0.json", F.dir);
    attest_argv(export_path, argv);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = tu_run(argv, out, sizeof out, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (status != 0)
        fail_msg("attest failed (%d): %s", status, out);
    long run_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000L;

    uint64_t seen[N_ATTESTOR_KILLS + 2];
    size_t n_seen = 0;
    seen[n_seen++] = export_sequence(export_path);
    assert_int_equal(seen[0], 1);
    int killed = 0;
    for (int i = 1; i <= N_ATTESTOR_KILLS; i++) {
        snprintf(export_path, sizeof export_path, "%s/export-%d.json", F.dir, i);
        attest_argv(export_path, argv);
        tu_proc p;
        tu_spawn(&p, argv, log_path);
        usleep((useconds_t)rnd(0, (int)(run_us * 6 / 5)));
        status = tu_stop(&p, SIGKILL, 5000);
        killed += status == 128 + SIGKILL;
        uint64_t max_state = check_state_file();
        uint64_t seq = export_sequence(export_path);
        if (seq != 0) {
            for (size_t k = 0; k < n_seen; k++)
                if (seen[k] == seq)
                    fail_msg("sequence %llu exported twice", (unsigned long long)seq);
            /* Reserved on disk before it was signed. */
            assert_true(seq <= max_state);
            seen[n_seen++] = seq;
        }
    }
    /* After all that, the next attest continues above every exported sequence. */
    snprintf(export_path, sizeof export_path, "%s/export-last.json", F.dir);
    attest_argv(export_path, argv);
    assert_int_equal(tu_run(argv, out, sizeof out, 1), 0);
    uint64_t last = export_sequence(export_path);
    for (size_t k = 0; k < n_seen; k++)
        assert_true(last > seen[k]);
    fprintf(stderr, "attestor: %d of %d runs killed, %zu exports, next sequence %llu\n", killed,
            N_ATTESTOR_KILLS, n_seen, (unsigned long long)last);
    /* The kills must really have hit runs in progress, or nothing was tested. */
    assert_true(killed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gateway_sigkill_rounds),
        cmocka_unit_test(test_store_whole_after_kills),
        cmocka_unit_test(test_replay_state_after_kills),
        cmocka_unit_test(test_attestor_sigkill_during_attest),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
