/* Collateral notices in the accepted log and chain (docs/attestation.md §19) through the real
 * custos-gateway and custos, over SQLite (one gateway) and PostgreSQL (two replicas of one
 * database, submissions alternating between them): valuations and notices submitted
 * interleaved take cursors 1 to 6 in order; Watch from 0 and from a cursor in the middle
 * returns both kinds in order, and the links recomputed here from the entries end at
 * GetChainHead on every gateway; a client that asks for records alone gets them alone;
 * `custos watch --notices` prints what ethers (tests/js/watch_notice_check.mjs) verifies on
 * its own: each notice's signature recovers to the custodian and every link, record or
 * notice, recomputes; `custos audit verify-log` passes counting 3 notices; `custos notices
 * --follow` streams a new notice; rule 19's refusals and duplicates take no place in the
 * log; after a restart the head is the same and the next notice links on from it; and a
 * notice's link changed, or a notice taken out of the log, in the store behind the gateway's
 * back is found by `custos audit verify-log` at its cursor. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "custos/attestation.h"
#include "custos/chain.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "custos/notice.h"
#include "custos/reason.h"
#include "custos/sig.h"

#include "gwfixture.h"
#include "pgserver.h"

#define REF "NOTICE-CHAIN-1"
#define OUT_CAP 131072
#define MAX_ENTRIES 16

/* The gateways of one back end: two replicas over PostgreSQL, the one gateway twice over
 * SQLite, so every test reads "submit to gw[0], then gw[1]". */
typedef struct log_fixture {
    gwf g[2];
    size_t n;
    gwf *gw[2];
    bool pg;
} log_fixture;

static tu_pg PG;
static bool pg_started;

/* One entry as Watch delivered it. */
typedef struct entry {
    custos_chain_kind kind;
    uint64_t cursor;
    uint8_t digest[CUSTOS_HASH_LEN];
    uint8_t chain_hash[CUSTOS_HASH_LEN];
    custos_signature sig; /* a notice's */
    uint64_t sequence;    /* the notice's or the attestation's */
} entry;

typedef struct entries {
    entry e[MAX_ENTRIES];
    size_t n;
} entries;

static void use_pg_store(gwf *f, const char *uri)
{
    char *ini = tu_read_file(f->config_path);
    assert_non_null(ini);
    char *line = strstr(ini, "\nstore = ");
    assert_non_null(line);
    char *end = strchr(line + 1, '\n');
    assert_non_null(end);
    size_t cap = strlen(ini) + strlen(uri) + 64;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s\nstore = %s\nreplica_poll_ms = 50%s", (int)(line - ini), ini, uri,
             end);
    tu_write_file(f->config_path, out);
    free(out);
    free(ini);
}

static int setup_sqlite(void **state)
{
    log_fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    gwf_init(&f->g[0]);
    gwf_write_config(&f->g[0]);
    gwf_start(&f->g[0]);
    f->n = 1;
    f->gw[0] = f->gw[1] = &f->g[0];
    *state = f;
    return 0;
}

static int setup_pg(void **state)
{
    if (!pg_started && tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_notice_chain: the PostgreSQL server did not start\n");
        return -1;
    }
    pg_started = true;
    log_fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    char uri[256];
    tu_pg_new_db(&PG, uri, sizeof uri);
    for (size_t i = 0; i < 2; i++) {
        gwf_init(&f->g[i]);
        gwf_write_config(&f->g[i]);
        use_pg_store(&f->g[i], uri);
        gwf_register(&f->g[i], GWF_FEED, GWF_FEED, REF);
        f->g[i].no_auto_register = true;
        gwf_start(&f->g[i]);
        f->gw[i] = &f->g[i];
    }
    f->n = 2;
    f->pg = true;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    log_fixture *f = *state;
    int failed = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (gwf_stop(&f->g[i]) != 0) {
            gwf_dump_log(&f->g[i]);
            failed = -1;
        }
        gwf_cleanup(&f->g[i]);
    }
    free(f);
    return failed;
}

static int group_teardown(void **state)
{
    (void)state;
    if (pg_started)
        tu_pg_stop(&PG);
    return 0;
}

/* A valuation of REF, sequence seq, pledged to 0xaa..., signed by the feed's quorum. */
static void valuation(gwf *g, uint64_t seq)
{
    custos_submission s;
    gwf_make(g, &s, REF, seq, 100000);
    memset(s.att.beneficiary, 0xaa, CUSTOS_ADDRESS_LEN);
    gwf_sign(g, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(g, &s, GWF_KEY_AGENT);
    gwf_answer a;
    gwf_submit_answer(g, &s, &a);
    custos_submission_clear(&s);
    if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("valuation %llu was not accepted: %s", (unsigned long long)seq, a.err.message);
}

/* A notice of REF to 0xaa... in state st, signed by key, submitted to g; *cursor gets the
 * place the gateway says it took. */
static custos_rc notice(gwf *g, gwf_key_id key, custos_loan_state st, uint64_t seq,
                        bool *duplicate, uint64_t *cursor, custos_error *err)
{
    custos_notice n;
    memset(&n, 0, sizeof n);
    custos_account_id(GWF_FEED, REF, n.account);
    memset(n.lender, 0xaa, sizeof n.lender);
    n.state = (uint8_t)st;
    n.ltv_bps = 5000 + 1000 * (uint32_t)st;
    gwf_usd(&n.exposure, 50000 + 10000 * (uint64_t)st);
    gwf_usd(&n.collateral_value, 100000);
    n.deadline = st == CUSTOS_LOAN_MARGIN_CALL ? gwf_now() + 86400 : 0;
    n.sequence = seq;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_notice_digest(&g->domain, &n, digest);
    custos_signature sig;
    if (custos_sign_digest(g->secp, g->keys[key].seckey, digest, &sig, err) != CUSTOS_OK)
        fail_msg("signing: %s", err->message);
    return custos_client_submit_notice(g->client, &g->domain, &n, &sig, duplicate, NULL,
                                       cursor, err);
}

/* A new notice, which must take cursor `at` in the accepted log. */
static void notice_ok(gwf *g, custos_loan_state st, uint64_t seq, uint64_t at)
{
    bool dup = true;
    uint64_t cursor = 0;
    custos_error err;
    if (notice(g, GWF_KEY_CUSTODIAN, st, seq, &dup, &cursor, &err) != CUSTOS_OK || dup) {
        gwf_dump_log(g);
        fail_msg("notice %llu: %s (duplicate %d)", (unsigned long long)seq, err.message, dup);
    }
    if (cursor != at)
        fail_msg("notice %llu: the gateway answered cursor %llu, not %llu",
                 (unsigned long long)seq, (unsigned long long)cursor, (unsigned long long)at);
}

static bool collect(void *arg, const custos_watch_event *ev)
{
    entries *l = arg;
    if (l->n == MAX_ENTRIES)
        return false;
    entry *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    e->kind = ev->kind;
    e->cursor = ev->cursor;
    if (ev->kind == CUSTOS_CHAIN_NOTICE) {
        memcpy(e->digest, ev->notice->digest, CUSTOS_HASH_LEN);
        memcpy(e->chain_hash, ev->notice->chain_hash, CUSTOS_HASH_LEN);
        e->sig = ev->notice->sig;
        e->sequence = ev->notice->notice.sequence;
    } else {
        memcpy(e->digest, ev->record->digest, CUSTOS_HASH_LEN);
        memcpy(e->chain_hash, ev->record->chain_hash, CUSTOS_HASH_LEN);
        e->sequence = ev->record->sub.att.sequence;
    }
    return true;
}

static void watch_log(gwf *g, uint64_t after, entries *out)
{
    memset(out, 0, sizeof *out);
    custos_error err;
    if (custos_client_watch_log(g->client, after, 700, collect, out, &err) != CUSTOS_OK)
        fail_msg("Watch with notices: %s", err.message);
}

static bool collect_record(void *arg, const custos_record *rec)
{
    entries *l = arg;
    if (l->n == MAX_ENTRIES)
        return false;
    l->e[l->n].kind = CUSTOS_CHAIN_RECORD;
    l->e[l->n++].cursor = rec->cursor;
    return true;
}

/* The gateway's head once it reaches cursor want (a replica learns of the other's commits
 * within its replica_poll_ms). */
static void head_at(gwf *g, uint64_t want, uint8_t hash[CUSTOS_HASH_LEN])
{
    uint64_t cursor = 0;
    custos_error err;
    for (int i = 0; i < 100; i++) {
        if (custos_client_get_chain_head(g->client, &cursor, hash, &err) != CUSTOS_OK)
            fail_msg("GetChainHead: %s", err.message);
        if (cursor == want)
            return;
        tu_sleep_ms(50);
    }
    fail_msg("GetChainHead stays at %llu, not %llu", (unsigned long long)cursor,
             (unsigned long long)want);
}

/* Entries link on from prev, each cursor after the one before; *tip gets the last link. */
static void check_links(const entries *l, uint64_t first, uint8_t prev[CUSTOS_HASH_LEN])
{
    for (size_t i = 0; i < l->n; i++) {
        const entry *e = &l->e[i];
        assert_int_equal(e->cursor, first + i);
        if (e->kind == CUSTOS_CHAIN_NOTICE)
            custos_chain_link_notice(prev, e->cursor, e->digest, e->sig.bytes, prev);
        else
            custos_chain_link(prev, e->cursor, e->digest, prev);
        if (memcmp(prev, e->chain_hash, CUSTOS_HASH_LEN) != 0)
            fail_msg("the link at cursor %llu (%s) is not what its entry says",
                     (unsigned long long)e->cursor,
                     e->kind == CUSTOS_CHAIN_NOTICE ? "notice" : "record");
    }
}

/* Records at 1, 3, 5 and notices at 2, 4, 6, notice i with sequence i. */
static void check_interleaved(const entries *l, size_t from)
{
    for (size_t i = 0; i < l->n; i++) {
        uint64_t cursor = from + 1 + i;
        assert_int_equal(l->e[i].kind,
                         cursor % 2 == 0 ? CUSTOS_CHAIN_NOTICE : CUSTOS_CHAIN_RECORD);
        assert_int_equal(l->e[i].sequence, (cursor + 1) / 2);
    }
}

static void hexof(const uint8_t *b, size_t len, char *out, size_t cap)
{
    if (custos_hex_encode(b, len, out, cap) != CUSTOS_OK)
        fail_msg("hex");
}

/* `custos watch --notices` from after into a file; ethers checks it from prev. */
static void ethers_checks_watch(gwf *g, uint64_t after, const uint8_t prev[CUSTOS_HASH_LEN],
                                const uint8_t tip[CUSTOS_HASH_LEN], size_t want_entries,
                                size_t want_notices)
{
    char after_s[24], out[OUT_CAP], path[1200];
    snprintf(after_s, sizeof after_s, "%llu", (unsigned long long)after);
    const char *argv[] = {CUSTOS_CLI_BIN, "watch", "--gateway", g->target, "--insecure",
                          "--notices", "--after", after_s, "--idle-timeout-ms", "700", NULL};
    int status = tu_run(argv, out, sizeof out, 0);
    if (status != 0)
        fail_msg("custos watch --notices exited %d:\n%s", status, out);
    snprintf(path, sizeof path, "%s/watch-%s.jsonl", g->dir, after_s);
    tu_write_file(path, out);
    char prev_hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], tip_hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    hexof(prev, CUSTOS_HASH_LEN, prev_hex, sizeof prev_hex);
    hexof(tip, CUSTOS_HASH_LEN, tip_hex, sizeof tip_hex);
    const char *args[] = {path, g->keys[GWF_KEY_CUSTODIAN].hex, prev_hex, NULL};
    char res[8192];
    if (tu_node("watch_notice_check.mjs", args, res, sizeof res) != 0)
        fail_msg("ethers does not accept what Watch sent:\n%s\n%s", res, out);
    char want[256];
    snprintf(want, sizeof want, "entries %zu notices %zu tip %s", want_entries, want_notices,
             tip_hex);
    if (strcasestr(res, want) == NULL)
        fail_msg("ethers says\n%s\nnot '%s'", res, want);
    char recovered[128];
    snprintf(recovered, sizeof recovered, "recovered %s", g->keys[GWF_KEY_CUSTODIAN].hex);
    if (strcasestr(res, recovered) == NULL)
        fail_msg("ethers recovers no custodian:\n%s", res);
}

static void verify_log_passes(gwf *g, size_t notices)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "audit", "verify-log", "--gateway", g->target,
                          "--insecure", NULL};
    char out[OUT_CAP], want[64];
    int status = tu_run(argv, out, sizeof out, 1);
    snprintf(want, sizeof want, "\"notices\": %zu", notices);
    if (status != 0 || strstr(out, "\"ok\": true") == NULL || strstr(out, want) == NULL)
        fail_msg("custos audit verify-log exited %d (want 0 with %s):\n%s", status, want, out);
}

/* Builds the log 1..6 (valuation, notice, ...) alternating between the gateways. */
static void build_log(log_fixture *f)
{
    static const custos_loan_state states[3] = {CUSTOS_LOAN_MARGIN_CALL, CUSTOS_LOAN_HEALTHY,
                                                CUSTOS_LOAN_MARGIN_RETURN};
    for (uint64_t i = 1; i <= 3; i++) {
        valuation(f->gw[0], i);
        notice_ok(f->gw[1], states[i - 1], i, 2 * i);
    }
}

static void test_log_interleaved(void **state)
{
    log_fixture *f = *state;
    build_log(f);
    uint8_t head[CUSTOS_HASH_LEN], tip[CUSTOS_HASH_LEN];
    for (size_t g = 0; g < f->n; g++) {
        head_at(f->gw[g], 6, head);
        /* From 0: everything in order, linking up to the head. */
        entries l;
        watch_log(f->gw[g], 0, &l);
        assert_int_equal(l.n, 6);
        check_interleaved(&l, 0);
        memset(tip, 0, sizeof tip);
        check_links(&l, 1, tip);
        assert_memory_equal(tip, head, CUSTOS_HASH_LEN);
        uint8_t at3[CUSTOS_HASH_LEN];
        memcpy(at3, l.e[2].chain_hash, sizeof at3);
        /* From the middle: a notice first, then a record, then a notice. */
        watch_log(f->gw[g], 3, &l);
        assert_int_equal(l.n, 3);
        check_interleaved(&l, 3);
        memcpy(tip, at3, sizeof tip);
        check_links(&l, 4, tip);
        assert_memory_equal(tip, head, CUSTOS_HASH_LEN);
        /* A client that knows only records gets them alone, without an error. */
        entries recs = {.n = 0};
        custos_error err;
        assert_int_equal(custos_client_watch(f->gw[g]->client, 0, 700, collect_record, &recs,
                                             &err),
                         CUSTOS_OK);
        assert_int_equal(recs.n, 3);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(recs.e[i].cursor, 2 * i + 1);
        /* What the command line prints, checked by ethers alone. */
        uint8_t zero[CUSTOS_HASH_LEN] = {0};
        ethers_checks_watch(f->gw[g], 0, zero, head, 6, 3);
        ethers_checks_watch(f->gw[g], 3, at3, head, 3, 2);
        verify_log_passes(f->gw[g], 3);
    }
}

/* Rule 19's refusals are unchanged and take no place in the log; a duplicate takes none
 * either. */
static void test_refusals_take_no_place(void **state)
{
    log_fixture *f = *state;
    build_log(f);
    uint8_t before[CUSTOS_HASH_LEN], after[CUSTOS_HASH_LEN];
    head_at(f->gw[0], 6, before);
    bool dup = false;
    uint64_t cursor = 0;
    custos_error err;
    assert_int_equal(notice(f->gw[0], GWF_KEY_CUSTODIAN, CUSTOS_LOAN_HEALTHY, 2, &dup, NULL,
                            &err),
                     CUSTOS_ERR_REFUSED);
    assert_int_equal(err.reason, CUSTOS_REASON_REPLAY);
    assert_int_equal(notice(f->gw[1], GWF_KEY_AGENT, CUSTOS_LOAN_HEALTHY, 4, &dup, NULL, &err),
                     CUSTOS_ERR_REFUSED);
    assert_int_equal(err.reason, CUSTOS_REASON_UNAUTHORIZED_SIGNER);
    assert_int_equal(notice(f->gw[1], GWF_KEY_UNKNOWN, CUSTOS_LOAN_HEALTHY, 4, &dup, NULL,
                            &err),
                     CUSTOS_ERR_REFUSED);
    /* The latest notice again: a duplicate, at the cursor it took the first time. */
    assert_int_equal(notice(f->gw[0], GWF_KEY_CUSTODIAN, CUSTOS_LOAN_MARGIN_RETURN, 3, &dup,
                            &cursor, &err),
                     CUSTOS_OK);
    assert_true(dup);
    assert_int_equal(cursor, 6);
    head_at(f->gw[0], 6, after);
    assert_memory_equal(before, after, CUSTOS_HASH_LEN);
    entries l;
    watch_log(f->gw[1], 0, &l);
    assert_int_equal(l.n, 6);
}

/* custos notices --follow, run by its own thread. */
typedef struct follower {
    gwf *g;
    char account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    char out[OUT_CAP];
    int status;
} follower;

static void *follow_main(void *arg)
{
    follower *fl = arg;
    const char *argv[] = {CUSTOS_CLI_BIN, "notices", "--gateway", fl->g->target, "--insecure",
                          "--account", fl->account, "--follow", "--count", "1",
                          "--idle-timeout-ms", "20000", NULL};
    fl->status = tu_run(argv, fl->out, sizeof fl->out, 0);
    return NULL;
}

/* --follow prints the account's notices oldest first, then the new one as it is accepted;
 * the gateway restarted keeps the head, and the next notice links on from it. */
static void test_follow_and_restart(void **state)
{
    log_fixture *f = *state;
    build_log(f);
    static follower fl;
    memset(&fl, 0, sizeof fl);
    fl.g = f->gw[1];
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, REF, account);
    hexof(account, sizeof account, fl.account, sizeof fl.account);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, follow_main, &fl), 0);
    tu_sleep_ms(1500);
    valuation(f->gw[0], 4);
    notice_ok(f->gw[0], CUSTOS_LOAN_HEALTHY, 4, 8);
    assert_int_equal(pthread_join(th, NULL), 0);
    if (fl.status != 0)
        fail_msg("custos notices --follow exited %d:\n%s", fl.status, fl.out);
    /* Four lines: sequences 1, 2, 3 listed, then 4 as it came, at cursor 8. */
    const char *p = fl.out;
    for (uint64_t seq = 1; seq <= 4; seq++) {
        char want[64];
        snprintf(want, sizeof want, "\"sequence\":%llu", (unsigned long long)seq);
        const char *nl = strchr(p, '\n');
        const char *seq_at = strstr(p, want), *ok_at = strstr(p, "\"verified\":true");
        if (nl == NULL || seq_at == NULL || seq_at > nl || ok_at == NULL || ok_at > nl)
            fail_msg("line %llu of --follow is not notice %llu, verified:\n%s",
                     (unsigned long long)seq, (unsigned long long)seq, fl.out);
        p = nl + 1;
    }
    assert_non_null(strstr(fl.out, "\"cursor\":8"));
    assert_string_equal(p, "");

    uint8_t head[CUSTOS_HASH_LEN], again[CUSTOS_HASH_LEN];
    head_at(f->gw[0], 8, head);
    if (gwf_stop(&f->g[0]) != 0) {
        gwf_dump_log(&f->g[0]);
        fail_msg("the gateway did not stop cleanly");
    }
    gwf_start(&f->g[0]);
    head_at(f->gw[0], 8, again);
    assert_memory_equal(head, again, CUSTOS_HASH_LEN);
    notice_ok(f->gw[0], CUSTOS_LOAN_MARGIN_CALL, 5, 9);
    for (size_t g = 0; g < f->n; g++) {
        head_at(f->gw[g], 9, again);
        entries l;
        watch_log(f->gw[g], 8, &l);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.e[0].kind, CUSTOS_CHAIN_NOTICE);
        uint8_t tip[CUSTOS_HASH_LEN];
        memcpy(tip, head, sizeof tip);
        check_links(&l, 9, tip);
        assert_memory_equal(tip, again, CUSTOS_HASH_LEN);
        verify_log_passes(f->gw[g], 5);
    }
}

static void run_sql(const gwf *g, const char *sql)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/custos.db", g->dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* verify-log exits 1 naming cursor at and why. */
static void verify_log_breaks(gwf *g, unsigned at, const char *why)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "audit", "verify-log", "--gateway", g->target,
                          "--insecure", NULL};
    char out[OUT_CAP], want[64];
    int status = tu_run(argv, out, sizeof out, 1);
    snprintf(want, sizeof want, "\"brokenAt\": %u", at);
    if (status != 1 || strstr(out, want) == NULL || strstr(out, why) == NULL)
        fail_msg("custos audit verify-log exited %d (want 1 at %u, '%s'):\n%s", status, at, why,
                 out);
}

static void restart_with(log_fixture *f, const char *sql)
{
    if (gwf_stop(&f->g[0]) != 0)
        fail_msg("the gateway did not stop cleanly");
    run_sql(&f->g[0], sql);
    gwf_start(&f->g[0]);
}

/* SQLite: the store changed behind the gateway's back. */
/* One submission of a race: which replica, which state, what came back. */
typedef struct racer {
    gwf *g;
    custos_loan_state st;
    uint64_t seq;
    custos_rc rc;
    bool dup;
    uint64_t cursor;
    custos_error err;
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    r->rc = notice(r->g, GWF_KEY_CUSTODIAN, r->st, r->seq, &r->dup, &r->cursor, &r->err);
    return NULL;
}

/* The two replicas given one notice sequence at the same moment: the very same notice is
 * stored once (one answer new, the other duplicate, both at its cursor); two different
 * notices of one sequence leave one stored and the other refused as REPLAY. Never an
 * internal error, never two entries. */
static void test_replicas_race_one_sequence(void **state)
{
    log_fixture *f = *state;
    valuation(f->gw[0], 1);
    uint64_t head = 1;
    for (uint64_t round = 1; round <= 8; round++) {
        bool same = round % 2 == 1;
        racer r[2] = {
            {.g = f->gw[0], .st = CUSTOS_LOAN_MARGIN_CALL, .seq = round},
            {.g = f->gw[1], .st = same ? CUSTOS_LOAN_MARGIN_CALL : CUSTOS_LOAN_HEALTHY,
             .seq = round},
        };
        pthread_t th[2];
        for (size_t i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
        for (size_t i = 0; i < 2; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        size_t stored = 0;
        for (size_t i = 0; i < 2; i++) {
            if (r[i].rc == CUSTOS_OK && !r[i].dup) {
                stored++;
                assert_int_equal(r[i].cursor, head + 1);
            } else if (r[i].rc == CUSTOS_OK) {
                if (!same)
                    fail_msg("round %llu: a different notice answered duplicate",
                             (unsigned long long)round);
                assert_int_equal(r[i].cursor, head + 1);
            } else if (same || r[i].err.reason != CUSTOS_REASON_REPLAY) {
                fail_msg("round %llu, replica %zu: %s (reason %s)", (unsigned long long)round,
                         i, r[i].err.message, custos_reason_name(r[i].err.reason));
            }
        }
        if (stored != 1)
            fail_msg("round %llu: %zu notices stored, want 1", (unsigned long long)round,
                     stored);
        head++;
        uint8_t hash[CUSTOS_HASH_LEN];
        head_at(f->gw[0], head, hash);
        head_at(f->gw[1], head, hash);
    }
}

static void test_tampered_notice_is_found(void **state)
{
    log_fixture *f = *state;
    build_log(f);
    restart_with(f, "UPDATE notices SET chain_hash = zeroblob(31) || x'01' WHERE cursor = 4");
    verify_log_breaks(f->gw[0], 4, "rewritten");
    restart_with(f, "UPDATE notices SET cursor = NULL, chain_hash = NULL WHERE cursor = 2");
    verify_log_breaks(f->gw[0], 2, "skips this cursor");
}

int main(void)
{
    const struct CMUnitTest sqlite[] = {
        cmocka_unit_test_setup_teardown(test_log_interleaved, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_take_no_place, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_follow_and_restart, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_notice_is_found, setup_sqlite, teardown),
    };
    const struct CMUnitTest pg[] = {
        cmocka_unit_test_setup_teardown(test_log_interleaved, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_take_no_place, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_follow_and_restart, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_replicas_race_one_sequence, setup_pg, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", sqlite, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg, NULL, group_teardown);
    return failed;
}
