/* SIGHUP reload against the real custos-gateway: a Watch stream opened before the reload
 * keeps receiving on the same call; a signer removed from the file is refused at once and
 * one added is accepted; a file that does not load changes nothing (the gateway keeps the
 * previous list and says so); a key rotated out with not_after counts until then and is
 * refused after, with a detail naming the end of its window. Every applied reload is in
 * the audit log, whose chain verifies; a reload whose audit entry cannot be written is
 * refused. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "custos/attestation.h"
#include "custos/audit.h"
#include "custos/client.h"
#include "custos/reason.h"

#include "custos/hex.h"

#include "gwfixture.h"

#define WAIT_MS 10000

static gwf F;

static int setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    /* Registered before the start, so that the reloads counted below are the tests' own. */
    static const char *const refs[] = {"AUDIT-1", "RELOAD-1", "ROTATE-0", "ROTATE-1"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        gwf_register(&F, GWF_FEED, GWF_FEED, refs[i]);
    gwf_start(&F);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* How many times the gateway log holds needle. */
static int log_count(const char *needle)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/gateway.log", F.dir);
    char *log = tu_read_file(path);
    int n = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(log);
    return n;
}

/* Sends SIGHUP and waits for the reload's log line number `nth` containing needle. */
static void sighup_and_wait(const char *needle, int nth)
{
    assert_int_equal(kill(F.proc.pid, SIGHUP), 0);
    for (int waited = 0; waited < WAIT_MS; waited += 50) {
        if (log_count(needle) >= nth)
            return;
        tu_sleep_ms(50);
    }
    gwf_dump_log(&F);
    fail_msg("no log line '%s' (#%d) after SIGHUP", needle, nth);
}

/* Replaces every occurrence of from with to in the config file (same length or not). */
static void edit_config(const char *from, const char *to)
{
    char *text = tu_read_file(F.config_path);
    assert_non_null(text);
    size_t cap = strlen(text) * 2 + strlen(to) * 8 + 1;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t len = 0;
    const char *p = text;
    for (const char *hit; (hit = strstr(p, from)) != NULL; p = hit + strlen(from)) {
        len += (size_t)snprintf(out + len, cap - len, "%.*s%s", (int)(hit - p), p, to);
        assert_true(len < cap);
    }
    len += (size_t)snprintf(out + len, cap - len, "%s", p);
    assert_true(len < cap);
    tu_write_file(F.config_path, out);
    free(out);
    free(text);
}

static sqlite3 *open_store(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/custos.db", F.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    return db;
}

/* Reads the whole audit log from the store and checks its chain; returns the entry count
 * and copies the last payload (NUL-terminated) into last. */
static size_t audit_verified(char *last, size_t cap)
{
    sqlite3 *db = open_store();
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq, time, actor, action, payload, "
                                            "prev_hash, hash FROM audit ORDER BY seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    custos_audit_entry e[16];
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(n < 16);
        memset(&e[n], 0, sizeof e[n]);
        e[n].seq = (uint64_t)sqlite3_column_int64(st, 0);
        e[n].time = (uint64_t)sqlite3_column_int64(st, 1);
        snprintf(e[n].actor, sizeof e[n].actor, "%s", sqlite3_column_text(st, 2));
        snprintf(e[n].action, sizeof e[n].action, "%s", sqlite3_column_text(st, 3));
        e[n].payload_len = (size_t)sqlite3_column_bytes(st, 4);
        e[n].payload = malloc(e[n].payload_len + 1);
        assert_non_null(e[n].payload);
        memcpy(e[n].payload, sqlite3_column_blob(st, 4), e[n].payload_len);
        e[n].payload[e[n].payload_len] = 0;
        assert_int_equal(sqlite3_column_bytes(st, 5), 32);
        memcpy(e[n].prev_hash, sqlite3_column_blob(st, 5), 32);
        assert_int_equal(sqlite3_column_bytes(st, 6), 32);
        memcpy(e[n].hash, sqlite3_column_blob(st, 6), 32);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    uint8_t zero[32] = {0};
    assert_int_equal(custos_audit_verify(0, zero, e, n), n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(e[i].actor, "SIGHUP");
        assert_string_equal(e[i].action, "reload");
    }
    if (n > 0)
        snprintf(last, cap, "%s", (const char *)e[n - 1].payload);
    for (size_t i = 0; i < n; i++)
        custos_audit_entry_clear(&e[i]);
    return n;
}

static void run_sql(const char *sql)
{
    sqlite3 *db = open_store();
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

static void submit(const char *ref, uint64_t seq, gwf_key_id a, gwf_key_id b,
                   gwf_answer *res)
{
    custos_submission s;
    gwf_make(&F, &s, ref, seq, 1000000 + seq);
    gwf_sign(&F, &s, a);
    gwf_sign(&F, &s, b);
    gwf_submit_answer(&F, &s, res);
    custos_submission_clear(&s);
}

static void assert_accepted(const gwf_answer *r)
{
    if (r->rc != CUSTOS_OK || r->res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("not accepted: %s state %d: %s", custos_rc_name(r->rc), (int)r->res.state,
                 r->err.message);
}

static void assert_refused(const gwf_answer *r, custos_reason reason, const char *detail)
{
    if (r->rc != CUSTOS_ERR_REFUSED || r->err.reason != reason)
        fail_msg("got %s (%s), want %s", custos_rc_name(r->rc), r->err.message,
                 custos_reason_name(reason));
    if (detail != NULL && strstr(r->err.message, detail) == NULL)
        fail_msg("detail lacks '%s': %s", detail, r->err.message);
}

/* One Watch call on its own connection for the whole test. */
typedef struct watcher {
    custos_client *client;
    pthread_t thread;
    atomic_uint_fast64_t last;
    atomic_size_t seen;
    size_t stop_after;
    custos_rc rc;
} watcher;

static bool watch_record(void *ctx, const custos_record *rec)
{
    watcher *w = ctx;
    atomic_store(&w->last, rec->cursor);
    return atomic_fetch_add(&w->seen, 1) + 1 < w->stop_after;
}

static void *watch_main(void *arg)
{
    watcher *w = arg;
    custos_error err;
    w->rc = custos_client_watch(w->client, 0, 30000, watch_record, w, &err);
    return NULL;
}

static void wait_seen(watcher *w, size_t n, uint64_t cursor)
{
    for (int waited = 0; waited < WAIT_MS && atomic_load(&w->seen) < n; waited += 20)
        tu_sleep_ms(20);
    assert_int_equal(atomic_load(&w->seen), n);
    assert_int_equal(atomic_load(&w->last), cursor);
}

static void test_reload_keeps_streams_and_swaps_signers(void **state)
{
    (void)state;
    watcher w;
    memset(&w, 0, sizeof w);
    w.stop_after = 3;
    custos_error err;
    assert_int_equal(custos_client_new_insecure(F.target, 5000, &w.client, &err), CUSTOS_OK);
    assert_int_equal(pthread_create(&w.thread, NULL, watch_main, &w), 0);

    gwf_answer res;
    submit("RELOAD-1", 1, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    assert_accepted(&res);
    wait_seen(&w, 1, res.res.cursor);

    /* The valuation agent's key is replaced by a new one (the unknown test key). */
    edit_config(F.keys[GWF_KEY_AGENT].hex, F.keys[GWF_KEY_UNKNOWN].hex);
    sighup_and_wait("now in force", 1);

    submit("RELOAD-1", 2, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    assert_refused(&res, CUSTOS_REASON_UNKNOWN_SIGNER, F.keys[GWF_KEY_AGENT].hex);
    submit("RELOAD-1", 2, GWF_KEY_CUSTODIAN, GWF_KEY_UNKNOWN, &res);
    assert_accepted(&res);
    wait_seen(&w, 2, res.res.cursor);

    custos_signer_info *list = NULL;
    size_t n = 0;
    assert_int_equal(custos_client_list_signers(F.client, &list, &n, &err), CUSTOS_OK);
    bool has_new = false, has_old = false;
    for (size_t i = 0; i < n; i++) {
        has_new |= memcmp(list[i].address, F.keys[GWF_KEY_UNKNOWN].address, 20) == 0;
        has_old |= memcmp(list[i].address, F.keys[GWF_KEY_AGENT].address, 20) == 0;
    }
    custos_signer_list_free(list, n);
    assert_true(has_new);
    assert_false(has_old);

    /* A file that does not load: logged, and the list of the first reload stays. */
    edit_config("threshold = 2", "threshold = two");
    sighup_and_wait("still serving with the signers and feeds loaded before", 1);
    assert_int_equal(log_count("now in force"), 1);
    submit("RELOAD-1", 3, GWF_KEY_CUSTODIAN, GWF_KEY_UNKNOWN, &res);
    assert_accepted(&res);
    wait_seen(&w, 3, res.res.cursor);

    /* The stream saw all three on the one call it opened before the reloads. */
    assert_int_equal(pthread_join(w.thread, NULL), 0);
    assert_int_equal(w.rc, CUSTOS_OK);
    custos_client_free(w.client);

    /* One audit entry: the applied reload, naming the new key; none for the broken file. */
    char last[4096] = "";
    assert_int_equal(audit_verified(last, sizeof last), 1);
    assert_non_null(strstr(last, F.keys[GWF_KEY_UNKNOWN].hex));
    assert_null(strstr(last, F.keys[GWF_KEY_AGENT].hex));
}

/* Without client certificates there is no admin: the admin service refuses everyone. */
static void test_admin_service_refused_without_mtls(void **state)
{
    (void)state;
    custos_audit_entry *e = NULL;
    size_t n = 0;
    custos_error err;
    assert_int_equal(custos_client_list_audit(F.client, 0, 10, &e, &n, &err),
                     CUSTOS_ERR_REFUSED);
    if (strstr(err.message, "UNAUTHORIZED_CLIENT") == NULL ||
        strstr(err.message, "client_ca") == NULL)
        fail_msg("%s", err.message);
}

static void test_reload_refused_without_audit_entry(void **state)
{
    (void)state;
    /* The audit table refuses every insert from now on. */
    run_sql("CREATE TRIGGER audit_refused BEFORE INSERT ON audit "
            "BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END");
    edit_config(F.keys[GWF_KEY_AGENT].hex, F.keys[GWF_KEY_UNKNOWN].hex);
    sighup_and_wait("its audit entry could not be written", 1);
    assert_int_equal(log_count("now in force"), 0);

    gwf_answer res;
    submit("AUDIT-1", 1, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    assert_accepted(&res);
    submit("AUDIT-1", 2, GWF_KEY_CUSTODIAN, GWF_KEY_UNKNOWN, &res);
    assert_refused(&res, CUSTOS_REASON_UNKNOWN_SIGNER, NULL);
    char last[16];
    assert_int_equal(audit_verified(last, sizeof last), 0);

    /* Once the log can be written again, the same reload goes through. */
    run_sql("DROP TRIGGER audit_refused");
    sighup_and_wait("now in force", 1);
    submit("AUDIT-1", 2, GWF_KEY_CUSTODIAN, GWF_KEY_UNKNOWN, &res);
    assert_accepted(&res);
    assert_int_equal(audit_verified(last, sizeof last), 1);
}

static void test_rotation_window_through_reload(void **state)
{
    (void)state;
    gwf_answer res;
    /* Rotate the custodian key: the second custodian key is already listed; the first
     * gets a window ending three seconds from now, and names it as its replacement. */
    uint64_t end = gwf_now() + 3;
    char status_line[200], with_window[260];
    snprintf(status_line, sizeof status_line, "address = %s\n",
             F.keys[GWF_KEY_CUSTODIAN].hex);
    snprintf(with_window, sizeof with_window, "address = %s\nnot_after = %llu\nreplaced_by = %s\n",
             F.keys[GWF_KEY_CUSTODIAN].hex, (unsigned long long)end,
             F.keys[GWF_KEY_CUSTODIAN2].hex);
    edit_config(status_line, with_window);
    sighup_and_wait("now in force", 1);
    custos_signer_info *list = NULL;
    size_t n = 0;
    custos_error err;
    assert_int_equal(custos_client_list_signers(F.client, &list, &n, &err), CUSTOS_OK);
    bool listed = false;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(list[i].address, F.keys[GWF_KEY_CUSTODIAN].address, 20) != 0)
            continue;
        listed = true;
        assert_int_equal(list[i].not_after, end);
        assert_true(list[i].rotated);
        assert_memory_equal(list[i].replaced_by, F.keys[GWF_KEY_CUSTODIAN2].address, 20);
    }
    custos_signer_list_free(list, n);
    assert_true(listed);

    /* The old and the new key are one signing party: together they are refused, as the
     * adapter refuses them (DuplicateSignerSlot). */
    submit("ROTATE-0", 1, GWF_KEY_CUSTODIAN, GWF_KEY_CUSTODIAN2, &res);
    if (gwf_now() < end)
        assert_refused(&res, CUSTOS_REASON_DUPLICATE_SIGNER, "one signing party");
    submit("ROTATE-1", 1, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    if (gwf_now() < end)
        assert_accepted(&res);
    while (gwf_now() < end)
        tu_sleep_ms(100);
    submit("ROTATE-1", 2, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    assert_refused(&res, CUSTOS_REASON_REVOKED_SIGNER, "overlap window ended");
    submit("ROTATE-1", 2, GWF_KEY_CUSTODIAN2, GWF_KEY_AGENT, &res);
    assert_accepted(&res);
}

/* Rule 9: a reload may drop an account that has no accepted attestation, never one that
 * has; the refused reload changes nothing. */
static void test_reload_keeps_accounts_with_records(void **state)
{
    (void)state;
    gwf_answer res;
    submit("RELOAD-1", 1, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    assert_accepted(&res);
    char path[1200];
    gwf_accounts_path(&F, GWF_FEED, path, sizeof path);
    tu_write_file(path, "");
    sighup_and_wait("stays registered to its feed", 1);
    assert_int_equal(log_count("now in force"), 0);
    submit("RELOAD-1", 2, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    assert_accepted(&res);

    /* Without RELOAD-1's records in question, dropping AUDIT-1 (never used) is fine. */
    uint8_t id[CUSTOS_HASH_LEN];
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], line[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN) + 2];
    custos_account_id(GWF_FEED, "RELOAD-1", id);
    assert_int_equal(custos_hex_encode(id, CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
    snprintf(line, sizeof line, "%s\n", hex);
    tu_write_file(path, line);
    sighup_and_wait("now in force", 1);
    F.no_auto_register = true;
    submit("AUDIT-1", 1, GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, &res);
    F.no_auto_register = false;
    assert_refused(&res, CUSTOS_REASON_UNREGISTERED_ACCOUNT, "not registered");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_keeps_streams_and_swaps_signers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rotation_window_through_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_accounts_with_records, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reload_refused_without_audit_entry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_admin_service_refused_without_mtls, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
