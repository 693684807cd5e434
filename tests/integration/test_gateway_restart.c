/* Acknowledged means durable: attestations acknowledged before a clean shutdown are all
 * there after a restart on the same store (GetLatest, Watch from the start, in order),
 * and the replay and quorum state survive with them. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#define N_ACCOUNTS 5
#define N_SEQ 10
#define N_TOTAL (N_ACCOUNTS * N_SEQ)
#define PENDING_REF "RESTART-PENDING"

static gwf F;

/* What the gateway acknowledged, in submission order (= cursor order: one at a time). */
static struct {
    uint8_t account[32];
    uint64_t sequence;
    uint8_t digest[32];
    uint64_t cursor;
} acked[N_TOTAL];
static size_t n_acked;
/* Kept whole to be resent after the restart. */
static custos_submission old_sub;
static size_t old_idx;
static custos_submission pending_sub;
static bool restarted;

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    gwf_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

static void account_ref(size_t a, char *out, size_t cap)
{
    snprintf(out, cap, "RESTART-%zu", a);
}

/* Submits s, which must be ACCEPTED. */
static void submit_accepted(const custos_submission *s, custos_submit_result *r)
{
    custos_error err;
    if (gwf_submit(&F, s, r, &err) != CUSTOS_OK)
        fail_msg("refused: %s", err.message);
    assert_int_equal(r->state, CUSTOS_STATE_ACCEPTED);
}

static void test_submit_before_restart(void **state)
{
    (void)state;
    const gwf_key_id pair[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT};
    uint64_t last_cursor = 0;
    /* Interleaved accounts, so the log order differs from any per-account order. */
    for (uint64_t seq = 1; seq <= N_SEQ; seq++) {
        for (size_t a = 0; a < N_ACCOUNTS; a++) {
            char ref[32];
            account_ref(a, ref, sizeof ref);
            custos_submission s;
            gwf_make(&F, &s, ref, seq, 1000 * (a + 1) + seq);
            gwf_sign(&F, &s, pair[0]);
            gwf_sign(&F, &s, pair[1]);
            custos_submit_result r;
            submit_accepted(&s, &r);
            assert_false(r.duplicate);
            assert_true(r.cursor > last_cursor);
            last_cursor = r.cursor;
            memcpy(acked[n_acked].account, s.att.account, 32);
            acked[n_acked].sequence = seq;
            gwf_digest(&s, acked[n_acked].digest);
            assert_memory_equal(r.digest, acked[n_acked].digest, 32);
            acked[n_acked].cursor = r.cursor;
            if (a == 0 && seq == 3) {
                old_sub = s; /* takes ownership of its positions */
                old_idx = n_acked;
            } else {
                custos_submission_clear(&s);
            }
            n_acked++;
        }
    }
    assert_int_equal(n_acked, N_TOTAL);

    /* One attestation left waiting for its cosigner across the restart. */
    gwf_make(&F, &pending_sub, PENDING_REF, 1, 777);
    gwf_sign(&F, &pending_sub, GWF_KEY_CUSTODIAN);
    custos_submit_result r;
    custos_error err;
    assert_int_equal(gwf_submit(&F, &pending_sub, &r, &err), CUSTOS_OK);
    assert_int_equal(r.state, CUSTOS_STATE_PENDING);
    assert_int_equal(r.signatures, 1);
}

static void test_clean_restart(void **state)
{
    (void)state;
    assert_int_equal(n_acked, N_TOTAL);
    int status = gwf_stop(&F);
    if (status != 0) {
        gwf_dump_log(&F);
        fail_msg("custos-gateway exited with %d after SIGTERM (want 0)", status);
    }
    gwf_start(&F);
    restarted = true;
}

static void test_latest_after_restart(void **state)
{
    (void)state;
    assert_true(restarted);
    for (size_t a = 0; a < N_ACCOUNTS; a++) {
        /* The last acknowledged entry of this account. */
        size_t want = N_TOTAL;
        for (size_t i = 0; i < n_acked; i++)
            if (memcmp(acked[i].account, acked[a].account, 32) == 0)
                want = i;
        assert_true(want < N_TOTAL);
        custos_record rec;
        memset(&rec, 0, sizeof rec);
        custos_error err;
        custos_rc rc = custos_client_get_latest(F.client, acked[a].account, &rec, &err);
        if (rc != CUSTOS_OK)
            fail_msg("GetLatest of account %zu: %s (%s)", a, custos_rc_name(rc), err.message);
        assert_int_equal(rec.state, CUSTOS_STATE_ACCEPTED);
        assert_int_equal(rec.sub.att.sequence, N_SEQ);
        assert_int_equal(rec.cursor, acked[want].cursor);
        assert_memory_equal(rec.digest, acked[want].digest, 32);
        assert_int_equal(rec.n_signers, 2);
        custos_record_clear(&rec);
    }
}

typedef struct collected {
    size_t n;
    uint64_t cursor[N_TOTAL + 8];
    uint8_t digest[N_TOTAL + 8][32];
    uint64_t sequence[N_TOTAL + 8];
} collected;

static bool collect(void *ctx, const custos_record *rec)
{
    collected *c = ctx;
    if (c->n < N_TOTAL + 8) {
        c->cursor[c->n] = rec->cursor;
        memcpy(c->digest[c->n], rec->digest, 32);
        c->sequence[c->n] = rec->sub.att.sequence;
    }
    c->n++;
    return true;
}

static void test_watch_from_start_after_restart(void **state)
{
    (void)state;
    assert_true(restarted);
    collected *c = calloc(1, sizeof *c);
    assert_non_null(c);
    custos_error err;
    custos_rc rc = custos_client_watch(F.client, 0, 1000, collect, c, &err);
    if (rc != CUSTOS_OK) {
        free(c);
        fail_msg("Watch: %s (%s)", custos_rc_name(rc), err.message);
    }
    size_t n = c->n;
    for (size_t i = 0; i < n && i < N_TOTAL; i++) {
        if (c->cursor[i] != acked[i].cursor || memcmp(c->digest[i], acked[i].digest, 32) != 0 ||
            c->sequence[i] != acked[i].sequence) {
            fprintf(stderr, "record %zu: cursor %llu (want %llu), seq %llu (want %llu)\n", i,
                    (unsigned long long)c->cursor[i], (unsigned long long)acked[i].cursor,
                    (unsigned long long)c->sequence[i], (unsigned long long)acked[i].sequence);
            free(c);
            fail_msg("Watch from 0 differs from what was acknowledged at position %zu", i);
        }
    }
    free(c);
    assert_int_equal(n, N_TOTAL);
}

static void test_replay_state_after_restart(void **state)
{
    (void)state;
    assert_true(restarted);
    /* A different attestation at an old sequence of that account. */
    custos_submission other;
    gwf_make(&F, &other, "RESTART-0", old_sub.att.sequence, 31337);
    gwf_sign(&F, &other, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &other, GWF_KEY_AGENT);
    custos_submit_result r;
    custos_error err;
    assert_int_equal(gwf_submit(&F, &other, &r, &err), CUSTOS_ERR_REFUSED);
    custos_submission_clear(&other);
    assert_int_equal(err.reason, CUSTOS_REASON_REPLAY);
    assert_non_null(strstr(err.message, "(reason REPLAY)"));

    /* The very attestation acknowledged back then: an idempotent success. */
    submit_accepted(&old_sub, &r);
    assert_true(r.duplicate);
    assert_memory_equal(r.digest, acked[old_idx].digest, 32);
    assert_int_equal(r.cursor, acked[old_idx].cursor);

    /* Neither changed the account's latest. */
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    assert_int_equal(custos_client_get_latest(F.client, old_sub.att.account, &rec, &err),
                     CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, N_SEQ);
    custos_record_clear(&rec);
}

static void test_pending_survives_restart(void **state)
{
    (void)state;
    assert_true(restarted);
    uint8_t digest[32];
    gwf_digest(&pending_sub, digest);
    gwf_clear_sigs(&pending_sub);
    gwf_sign(&F, &pending_sub, GWF_KEY_AGENT);
    custos_submit_result r;
    submit_accepted(&pending_sub, &r);
    assert_int_equal(r.signatures, 2);
    assert_memory_equal(r.digest, digest, 32);
    assert_true(r.cursor > acked[N_TOTAL - 1].cursor);
}

static void test_new_work_after_restart(void **state)
{
    (void)state;
    assert_true(restarted);
    custos_submission s;
    gwf_make(&F, &s, "RESTART-1", N_SEQ + 1, 5);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    custos_submit_result r;
    submit_accepted(&s, &r);
    custos_submission_clear(&s);
    assert_false(r.duplicate);
    /* Cursors keep growing: none reused after the restart. */
    assert_true(r.cursor > acked[N_TOTAL - 1].cursor);
}

/* Acknowledged means committed: a gateway killed without warning loses nothing it
 * answered for. */
static void test_sigkill_keeps_acknowledged(void **state)
{
    (void)state;
    assert_true(restarted);
    enum { N_KILL = 10 };
    uint64_t cursors[N_KILL];
    uint8_t digests[N_KILL][32];
    for (uint64_t seq = 1; seq <= N_KILL; seq++) {
        custos_submission s;
        gwf_make(&F, &s, "RESTART-KILL", seq, 100 + seq);
        gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
        gwf_sign(&F, &s, GWF_KEY_AGENT);
        custos_submit_result r;
        submit_accepted(&s, &r);
        gwf_digest(&s, digests[seq - 1]);
        custos_submission_clear(&s);
        cursors[seq - 1] = r.cursor;
    }
    custos_client_free(F.client);
    F.client = NULL;
    assert_int_equal(tu_stop(&F.proc, SIGKILL, 5000), 128 + SIGKILL);
    gwf_start(&F);

    collected *c = calloc(1, sizeof *c);
    assert_non_null(c);
    custos_error err;
    custos_rc rc = custos_client_watch(F.client, cursors[0] - 1, 1000, collect, c, &err);
    size_t n = c->n;
    bool same = n == N_KILL;
    for (size_t i = 0; same && i < N_KILL; i++)
        same = c->cursor[i] == cursors[i] && memcmp(c->digest[i], digests[i], 32) == 0;
    free(c);
    assert_int_equal(rc, CUSTOS_OK);
    if (!same)
        fail_msg("after SIGKILL, Watch from cursor %llu gave %zu records, not the %d "
                 "acknowledged ones",
                 (unsigned long long)(cursors[0] - 1), n, N_KILL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_before_restart),
        cmocka_unit_test(test_clean_restart),
        cmocka_unit_test(test_latest_after_restart),
        cmocka_unit_test(test_watch_from_start_after_restart),
        cmocka_unit_test(test_replay_state_after_restart),
        cmocka_unit_test(test_pending_survives_restart),
        cmocka_unit_test(test_new_work_after_restart),
        cmocka_unit_test(test_sigkill_keeps_acknowledged),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    gwf_cleanup(&F);
    custos_submission_clear(&old_sub);
    custos_submission_clear(&pending_sub);
    return failed;
}
