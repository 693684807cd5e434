/* The audit log is checked before it is applied (rule 13): a gateway whose store holds an
 * entry that does not follow from the ones before it (inserted directly into the store)
 * refuses to start, naming the entry; with [gateway] audit_anchor, one whose newest
 * entries were removed (a revoke_signer deleted, re-enabling the key) or replaced refuses
 * to start too. SQLite and PostgreSQL alike. Each time, an independent check of the stored
 * rows (tests/js/audit_check.mjs, ethers) reaches the same verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "admin.h"
#include "audit_anchor.h"
#include "config/config.h"
#include "engine/engine.h"
#include "metrics.h"
#include "pgserver.h"
#include "registry.h"
#include "store/store.h"
#include "testutil.h"

static tu_pg PG;

typedef struct fixture {
    char dir[1024];
    char anchor[1100];
    gw_config cfg;
    gw_feed feed;
    gw_signer signers[2];
    uint8_t added[CUSTOS_ADDRESS_LEN];   /* added then revoked by admin calls */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    tu_mkdtemp(f->dir, sizeof f->dir);
    snprintf(f->anchor, sizeof f->anchor, "%s/audit.anchor", f->dir);
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
    c->max_rotation_overlap = 86400;
    snprintf(f->feed.name, sizeof f->feed.name, "treasuries");
    f->feed.max_age = 86400;
    f->feed.max_skew = 300;
    f->feed.max_ttl = 604800;
    f->feed.threshold = 1;
    for (int i = 0; i < 2; i++) {
        memset(f->signers[i].address, 0x31 + i, CUSTOS_ADDRESS_LEN);
        snprintf(f->signers[i].feed, sizeof f->signers[i].feed, "treasuries");
        f->signers[i].role = GW_ROLE_CUSTODIAN;
        f->signers[i].active = true;
    }
    c->feeds = &f->feed;
    c->n_feeds = 1;
    c->signers = f->signers;
    c->n_signers = 2;
    memset(f->added, 0x77, CUSTOS_ADDRESS_LEN);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    gw_metrics_shutdown();
    tu_rmtree(f->dir);
    free(f);
    return 0;
}

/* A gateway's start as far as the allow-list: the engine, then the admin service, which
 * composes the list in force from the audit log. rc is gw_admin_new's; on success
 * *active says whether f->added is allowed, and both are freed again. */
static custos_rc start(fixture *f, bool *active, custos_error *err)
{
    gw_engine *engine = NULL;
    gw_admin *admin = NULL;
    custos_rc rc = gw_engine_new(&f->cfg, &engine, err);
    assert_int_equal(rc, CUSTOS_OK);
    rc = gw_admin_new(&f->cfg, engine, &admin, err);
    if (rc == CUSTOS_OK) {
        gw_policy *p = gw_registry_acquire(gw_engine_registry(engine));
        const gw_signer *s = gw_policy_find_signer(p, "treasuries", f->added);
        *active = s != NULL && s->active;
        gw_policy_release(p);
    }
    gw_admin_free(admin);
    gw_engine_free(engine);
    return rc;
}

/* Entries 1 (add_signer f->added) and 2 (revoke_signer f->added), written by admin calls. */
static void add_then_revoke(fixture *f)
{
    gw_engine *engine = NULL;
    gw_admin *admin = NULL;
    custos_error err;
    assert_int_equal(gw_engine_new(&f->cfg, &engine, &err), CUSTOS_OK);
    assert_int_equal(gw_admin_new(&f->cfg, engine, &admin, &err), CUSTOS_OK);
    char detail[256];
    uint64_t seq = 0;
    assert_int_equal(gw_admin_add_signer(admin, "ops", f->added, "treasuries", "custodian",
                                         &seq, detail, sizeof detail),
                     GW_ADMIN_DONE);
    assert_int_equal(seq, 1);
    assert_int_equal(gw_admin_revoke_signer(admin, "ops", f->added, "treasuries", &seq, detail,
                                            sizeof detail),
                     GW_ADMIN_DONE);
    assert_int_equal(seq, 2);
    gw_admin_free(admin);
    gw_engine_free(engine);
}

/* One SQL statement on the store, as someone with write access to the database would. */
static void sabotage(const fixture *f, const char *sql)
{
    if (f->cfg.store_backend == GW_STORE_POSTGRESQL) {
        tu_pg_exec(f->cfg.store_path, sql);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->cfg.store_path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
}

static void hex(const uint8_t *data, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", data[i]);
    out[2 * len] = '\0';
}

/* The last line of the anchor file, without its newline. */
static void anchor_head(const fixture *f, char *out, size_t cap)
{
    char *text = tu_read_file(f->anchor);
    assert_non_null(text);
    size_t len = strlen(text);
    assert_true(len > 1 && text[len - 1] == '\n');
    text[len - 1] = '\0';
    const char *last = strrchr(text, '\n');
    snprintf(out, cap, "%s", last != NULL ? last + 1 : text);
    free(text);
}

/* audit_check.mjs --verify over the stored rows (and a kept head): its one-line verdict. */
static void js_verdict(fixture *f, const char *kept, char *out, size_t cap)
{
    enum { MAX_ROWS = 3 };
    gw_store store;
    custos_error err;
    assert_int_equal(gw_store_open(&f->cfg, &store, &err), CUSTOS_OK);
    custos_audit_entry rows[MAX_ROWS + 1];
    size_t n = 0;
    assert_int_equal(gw_store_read_audit(&store, 0, rows, MAX_ROWS + 1, &n, &err), CUSTOS_OK);
    gw_store_close(&store);
    assert_true(n <= MAX_ROWS);
    static char text[MAX_ROWS][4][600];
    const char *args[4 + 7 * MAX_ROWS];
    size_t a = 0;
    args[a++] = "--verify";
    if (kept != NULL) {
        args[a++] = "--expect-head";
        args[a++] = kept;
    }
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i].payload_len < 250);
        snprintf(text[i][0], sizeof text[i][0], "%llu", (unsigned long long)rows[i].seq);
        snprintf(text[i][1], sizeof text[i][1], "%llu", (unsigned long long)rows[i].time);
        hex(rows[i].payload, rows[i].payload_len, text[i][2]);
        hex(rows[i].prev_hash, CUSTOS_AUDIT_HASH_LEN, text[i][3]);
        args[a++] = text[i][0];
        args[a++] = text[i][1];
        args[a++] = rows[i].actor;
        args[a++] = rows[i].action;
        args[a++] = text[i][2];
        args[a++] = text[i][3];
        static char hashes[MAX_ROWS][70];
        hex(rows[i].hash, CUSTOS_AUDIT_HASH_LEN, hashes[i]);
        args[a++] = hashes[i];
    }
    args[a] = NULL;
    int status = tu_node("audit_check.mjs", args, out, cap);
    for (size_t i = 0; i < n; i++)
        custos_audit_entry_clear(&rows[i]);
    if (status != 0)
        fail_msg("audit_check.mjs exited %d: %s", status, out);
    out[strcspn(out, "\n")] = '\0';
}

/* The add_signer entry copied after the revoke, linked to it by prev_hash: without the
 * check, the revoked key is active again at the next start. */
static const char INSERT_ADD_AGAIN[] =
    "INSERT INTO audit (seq, time, actor, action, payload, prev_hash, hash) "
    "SELECT 3, time, actor, action, payload, "
    "(SELECT hash FROM audit WHERE seq = 2), hash FROM audit WHERE seq = 1";

static void test_inserted_entry_refuses_start(void **state)
{
    fixture *f = *state;
    add_then_revoke(f);
    custos_error err;
    bool active = true;
    assert_int_equal(start(f, &active, &err), CUSTOS_OK);
    assert_false(active);
    sabotage(f, INSERT_ADD_AGAIN);
    assert_int_equal(start(f, &active, &err), CUSTOS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "hash chain is broken at entry 3"));
    assert_non_null(strstr(err.message, "refusing to apply it"));
    char verdict[256];
    js_verdict(f, NULL, verdict, sizeof verdict);
    assert_string_equal(verdict, "broken 3");
}

/* Without an anchor, removing the newest entry leaves a chain that checks: the revoked
 * key is back. With one, the gateway refuses to start, and keeps refusing. */
static void test_removed_newest_entry_refuses_start_with_anchor(void **state)
{
    fixture *f = *state;
    snprintf(f->cfg.audit_anchor, sizeof f->cfg.audit_anchor, "%s", f->anchor);
    add_then_revoke(f);
    bool present = false;
    uint64_t seq = 0;
    uint8_t hash[CUSTOS_AUDIT_HASH_LEN];
    custos_error err;
    assert_int_equal(gw_anchor_read(f->anchor, &present, &seq, hash, &err), CUSTOS_OK);
    assert_true(present);
    assert_int_equal(seq, 2);
    char kept[128], verdict[256];
    anchor_head(f, kept, sizeof kept);
    js_verdict(f, kept, verdict, sizeof verdict);
    if (strncmp(verdict, "ok 2 ", 5) != 0 || strcmp(verdict + 5, kept) != 0)
        fail_msg("ethers says '%s' of the log whose head the anchor keeps as %s", verdict, kept);

    sabotage(f, "DELETE FROM audit WHERE seq = 2");
    js_verdict(f, kept, verdict, sizeof verdict);
    assert_string_equal(verdict, "missing 2");
    bool active = false;
    assert_int_equal(start(f, &active, &err), CUSTOS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "ends at entry 1"));
    assert_non_null(strstr(err.message, "records entry 2"));

    f->cfg.audit_anchor[0] = '\0';
    assert_int_equal(start(f, &active, &err), CUSTOS_OK);
    assert_true(active);
}

/* A blob literal of the store's SQL: X'..' for SQLite, '\\x..'::bytea for PostgreSQL. */
static void blob_sql(const fixture *f, const uint8_t *b, size_t len, char *out, size_t cap)
{
    bool pg = f->cfg.store_backend == GW_STORE_POSTGRESQL;
    size_t n = (size_t)snprintf(out, cap, pg ? "'\\x" : "X'");
    for (size_t i = 0; i < len && n + 3 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", b[i]);
    snprintf(out + n, cap - n, pg ? "'::bytea" : "'");
}

/* The newest entry replaced by another that chains correctly (whoever can write the store
 * can compute the hash, which has no secret): only the anchor shows it. */
static void test_replaced_newest_entry_refuses_start_with_anchor(void **state)
{
    fixture *f = *state;
    snprintf(f->cfg.audit_anchor, sizeof f->cfg.audit_anchor, "%s", f->anchor);
    add_then_revoke(f);
    /* Entry 1's hash, from the anchor file's first line. */
    char *text = tu_read_file(f->anchor);
    assert_non_null(text);
    uint64_t seq = 0;
    custos_audit_entry e;
    memset(&e, 0, sizeof e);
    assert_true(gw_anchor_parse(text, strcspn(text, "\n"), &seq, e.prev_hash));
    free(text);
    assert_int_equal(seq, 1);
    /* Entry 2, a revoke_signer, becomes an empty "reload" with a hash that chains. */
    e.seq = 2;
    e.time = 1700000000;
    snprintf(e.actor, sizeof e.actor, "SIGHUP");
    snprintf(e.action, sizeof e.action, "reload");
    custos_audit_hash(e.prev_hash, &e, e.hash);
    char hash[100], empty[32], sql[512];
    blob_sql(f, e.hash, sizeof e.hash, hash, sizeof hash);
    blob_sql(f, NULL, 0, empty, sizeof empty);
    snprintf(sql, sizeof sql,
             "UPDATE audit SET time = 1700000000, actor = 'SIGHUP', action = 'reload', "
             "payload = %s, hash = %s WHERE seq = 2", empty, hash);
    sabotage(f, sql);
    /* Ethers agrees the forged chain holds, and that it is not the kept one. */
    char kept[128], verdict[256];
    anchor_head(f, kept, sizeof kept);
    js_verdict(f, NULL, verdict, sizeof verdict);
    assert_int_equal(strncmp(verdict, "ok 2 2:0x", 9), 0);
    js_verdict(f, kept, verdict, sizeof verdict);
    assert_string_equal(verdict, "differs 2");

    custos_error err;
    bool active = false;
    assert_int_equal(start(f, &active, &err), CUSTOS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "does not match the anchor file"));
    assert_non_null(strstr(err.message, "at entry 2"));

    f->cfg.audit_anchor[0] = '\0';
    assert_int_equal(start(f, &active, &err), CUSTOS_OK);
    assert_true(active);
}

/* A damaged anchor file is not ignored. */
static void test_damaged_anchor_refuses_start(void **state)
{
    fixture *f = *state;
    snprintf(f->cfg.audit_anchor, sizeof f->cfg.audit_anchor, "%s", f->anchor);
    add_then_revoke(f);
    tu_write_file(f->anchor, "2:0x12");
    custos_error err;
    bool active = false;
    assert_int_equal(start(f, &active, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "audit anchor"));
}

static int pg_group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_audit_start: the PostgreSQL server did not start\n");
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
        cmocka_unit_test_setup_teardown(test_inserted_entry_refuses_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_newest_entry_refuses_start_with_anchor,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_newest_entry_refuses_start_with_anchor,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_anchor_refuses_start, setup, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_inserted_entry_refuses_start, setup,
                                                 teardown, &PG),
        cmocka_unit_test_prestate_setup_teardown(
            test_removed_newest_entry_refuses_start_with_anchor, setup, teardown, &PG),
        cmocka_unit_test_prestate_setup_teardown(
            test_replaced_newest_entry_refuses_start_with_anchor, setup, teardown, &PG),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup,
                                          pg_group_teardown);
    return failed;
}
