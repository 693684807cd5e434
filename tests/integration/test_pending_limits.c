/* The pending bounds through the real gateway (operations.md §7): one allow-listed key
 * sends single-signature valuations (its feed needs two) for fresh accounts, each with
 * many positions. Beyond [limits] max_pending_per_signer the gateway answers
 * PENDING_LIMIT (RESOURCE_EXHAUSTED, with the reason trailer), the store holds no more
 * pending rows than the bound, and the store file stops growing with them; another key
 * of the feed still starts its own. Beyond max_pending_per_feed, reached by the feed's
 * keys together, any key is refused until a digest leaves the count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "custos/merkle.h"
#include "gwfixture.h"

#define BOUND 20
#define POSITIONS 1000

/* One asOf per test, so that an account's attestation is one digest whoever signs it. */
static uint64_t AS_OF;

static void register_fresh(gwf *f, int n)
{
    char ref[32];
    snprintf(ref, sizeof ref, "FRESH-%05d", n);
    gwf_register(f, GWF_FEED, GWF_FEED, ref);
}

/* The fixture's gateway with `limits` as its [limits] section. */
static int start_with_limits(void **state, const char *limits)
{
    gwf *f = calloc(1, sizeof *f);
    assert_non_null(f);
    gwf_init(f);
    gwf_write_config(f);
    char *text = tu_read_file(f->config_path);
    assert_non_null(text);
    char extra[256];
    snprintf(extra, sizeof extra, "\n[limits]\n%s", limits);
    size_t len = strlen(text) + strlen(extra) + 1;
    char *all = malloc(len);
    assert_non_null(all);
    snprintf(all, len, "%s%s", text, extra);
    tu_write_file(f->config_path, all);
    free(all);
    free(text);
    /* Rule 9: every account the tests submit for, registered before the start, so that
     * the store grows by the submissions alone (a reload is an audit entry). */
    for (int n = 0; n < 4 * BOUND; n++)
        register_fresh(f, n);
    register_fresh(f, 1000);
    f->no_auto_register = true;
    gwf_start(f);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    char limits[128];
    snprintf(limits, sizeof limits, "max_pending_per_signer = %d\n", BOUND);
    return start_with_limits(state, limits);
}

/* The feed's bound below the keys' own, so that the keys together reach it. */
static int setup_feed(void **state)
{
    char limits[128];
    snprintf(limits, sizeof limits, "max_pending_per_signer = %d\nmax_pending_per_feed = %d\n",
             4 * BOUND, BOUND);
    return start_with_limits(state, limits);
}

static int teardown(void **state)
{
    gwf *f = *state;
    gwf_cleanup(f);
    free(f);
    return 0;
}

/* A valuation of a fresh account with POSITIONS positions, signed by key alone. */
static void submit_large(gwf *f, int n, gwf_key_id key, gwf_answer *a)
{
    char ref[32];
    snprintf(ref, sizeof ref, "FRESH-%05d", n);
    custos_submission s;
    gwf_make(f, &s, ref, 1, 1000000);
    gwf_set_times(&s, AS_OF, AS_OF + 3600);
    free(s.positions);
    s.positions = calloc(POSITIONS, sizeof *s.positions);
    assert_non_null(s.positions);
    s.n_positions = POSITIONS;
    for (size_t i = 0; i < POSITIONS; i++) {
        custos_position *p = &s.positions[i];
        snprintf(p->asset_id, sizeof p->asset_id, "US9128%06zu", i);
        gwf_usd(&p->quantity, 1000);
        gwf_usd(&p->price, 1);
        gwf_usd(&p->value, 1000);
    }
    custos_error err;
    assert_int_equal(custos_positions_root(s.positions, s.n_positions, s.att.positions_root,
                                           &err),
                     CUSTOS_OK);
    gwf_sign(f, &s, key);
    gwf_submit_answer(f, &s, a);
    custos_submission_clear(&s);
}

static long long pending_rows(const gwf *f)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/custos.db", f->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM pending", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static long long store_bytes(const gwf *f)
{
    long long total = 0;
    const char *suffixes[] = {"", "-wal"};
    for (size_t i = 0; i < 2; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/custos.db%s", f->dir, suffixes[i]);
        struct stat st;
        if (stat(path, &st) == 0)
            total += (long long)st.st_size;
    }
    return total;
}

static void test_one_key_cannot_fill_the_store(void **state)
{
    gwf *f = *state;
    gwf_answer a;
    AS_OF = gwf_now() - 60;
    for (int n = 0; n < BOUND; n++) {
        submit_large(f, n, GWF_KEY_CUSTODIAN, &a);
        if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_PENDING)
            fail_msg("submission %d: %s", n, a.err.message);
    }
    long long at_bound = store_bytes(f);
    for (int n = BOUND; n < 4 * BOUND; n++) {
        submit_large(f, n, GWF_KEY_CUSTODIAN, &a);
        if (a.rc != CUSTOS_ERR_REFUSED || a.err.reason != CUSTOS_REASON_PENDING_LIMIT ||
            strstr(a.err.message, "max_pending_per_signer") == NULL ||
            strcasestr(a.err.message, f->keys[GWF_KEY_CUSTODIAN].hex + 2) == NULL)
            fail_msg("submission %d: want PENDING_LIMIT, got %s: %s", n, custos_rc_name(a.rc),
                     a.err.message);
    }
    assert_int_equal(pending_rows(f), BOUND);
    /* Refusals write nothing: three times the bound's submissions again added no rows
     * (the WAL may grow by a few pages of other bookkeeping, not by attestations). */
    long long after = store_bytes(f);
    if (after > at_bound + 256 * 1024)
        fail_msg("the store grew from %lld to %lld bytes on refusals", at_bound, after);
    /* Another key of the feed has its own bound. */
    submit_large(f, 1000, GWF_KEY_AGENT, &a);
    if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_PENDING)
        fail_msg("the second key: %s", a.err.message);
    assert_int_equal(pending_rows(f), BOUND + 1);
}

/* The feed's bound through the real gateway: three keys of the feed start pending digests
 * until together they hold max_pending_per_feed; the next one, by any key, is
 * PENDING_LIMIT naming max_pending_per_feed and writes nothing; a pending digest that
 * reaches its quorum leaves the count, and the feed takes one more. */
static void test_keys_together_reach_the_feed_bound(void **state)
{
    gwf *f = *state;
    static const gwf_key_id keys[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, GWF_KEY_ADMIN};
    gwf_answer a;
    AS_OF = gwf_now() - 60;
    for (int n = 0; n < BOUND; n++) {
        submit_large(f, n, keys[n % 3], &a);
        if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_PENDING)
            fail_msg("submission %d: %s", n, a.err.message);
    }
    for (int n = BOUND; n < BOUND + 3; n++) {
        submit_large(f, n, keys[n % 3], &a);
        if (a.rc != CUSTOS_ERR_REFUSED || a.err.reason != CUSTOS_REASON_PENDING_LIMIT ||
            strstr(a.err.message, "max_pending_per_feed") == NULL)
            fail_msg("submission %d: want PENDING_LIMIT of the feed, got %s: %s", n,
                     custos_rc_name(a.rc), a.err.message);
    }
    assert_int_equal(pending_rows(f), BOUND);
    /* FRESH-00000, pending with the custodian's signature, gets the valuation agent's:
     * its quorum of two roles. */
    submit_large(f, 0, GWF_KEY_AGENT, &a);
    if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("the cosignature: %s state %d", a.err.message, (int)a.res.state);
    assert_int_equal(pending_rows(f), BOUND - 1);
    submit_large(f, BOUND, GWF_KEY_CUSTODIAN, &a);
    if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_PENDING)
        fail_msg("after a digest left the count: %s", a.err.message);
    assert_int_equal(pending_rows(f), BOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_key_cannot_fill_the_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_together_reach_the_feed_bound, setup_feed,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
