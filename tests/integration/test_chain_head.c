/* The accepted chain through the real gateway and the real CLI: every record Watch replays
 * carries the link of the records before it, GetChainHead is the last link, and
 * `custos audit verify-log` passes on an honest log and finds the first broken link after
 * a row of the SQLite file was changed behind the gateway's back (a chain hash, or a
 * digest), and a head kept from before exposes removed records. A log written before the
 * chain existed is linked when the gateway opens it. */
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

#include "custos/attestation.h"
#include "custos/chain.h"
#include "custos/client.h"

#include "gwfixture.h"

#define N_RECORDS 4

static gwf F;

static int setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
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

static void accept_records(size_t n)
{
    for (size_t i = 1; i <= n; i++) {
        custos_submission s;
        gwf_answer res;
        gwf_make(&F, &s, "CHAIN-1", i, 1000 + i);
        gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
        gwf_sign(&F, &s, GWF_KEY_AGENT);
        gwf_submit_answer(&F, &s, &res);
        custos_submission_clear(&s);
        if (res.rc != CUSTOS_OK || res.res.state != CUSTOS_STATE_ACCEPTED)
            fail_msg("record %zu not accepted: %s", i, res.err.message);
    }
}

typedef struct replay {
    uint8_t tip[CUSTOS_CHAIN_HASH_LEN];
    size_t n;
    bool linked;
} replay;

static bool on_record(void *ctx, const custos_record *rec)
{
    replay *r = ctx;
    custos_chain_link(r->tip, rec->cursor, rec->digest, r->tip);
    r->linked = r->linked && memcmp(r->tip, rec->chain_hash, CUSTOS_CHAIN_HASH_LEN) == 0;
    r->n++;
    return true;
}

/* Replays the whole log and checks each link and the head. */
static void assert_chain_consistent(size_t n_records)
{
    replay r;
    memset(&r, 0, sizeof r);
    r.linked = true;
    custos_error err;
    assert_int_equal(custos_client_watch(F.client, 0, 500, on_record, &r, &err), CUSTOS_OK);
    assert_int_equal(r.n, n_records);
    assert_true(r.linked);
    uint64_t cursor;
    uint8_t head[CUSTOS_CHAIN_HASH_LEN];
    assert_int_equal(custos_client_get_chain_head(F.client, &cursor, head, &err), CUSTOS_OK);
    assert_int_equal(cursor, n_records);
    assert_memory_equal(head, r.tip, CUSTOS_CHAIN_HASH_LEN);
}

/* `custos audit verify-log [--head kept]`; returns its exit status, output in out. */
static int verify_log_kept(const char *kept, char *out, size_t cap)
{
    const char *argv[] = {CUSTOS_CLI_BIN, "audit", "verify-log", "--gateway", F.target,
                          "--insecure", kept != NULL ? "--head" : NULL, kept, NULL};
    return tu_run(argv, out, cap, 1);
}

static int verify_log(char *out, size_t cap)
{
    return verify_log_kept(NULL, out, cap);
}

static void run_sql(const char *sql)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/custos.db", F.dir);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void restart(void)
{
    assert_int_equal(gwf_stop(&F), 0);
    gwf_start(&F);
}

static void test_empty_head(void **state)
{
    (void)state;
    uint64_t cursor = 99;
    uint8_t head[CUSTOS_CHAIN_HASH_LEN], zero[CUSTOS_CHAIN_HASH_LEN] = {0};
    custos_error err;
    assert_int_equal(custos_client_get_chain_head(F.client, &cursor, head, &err), CUSTOS_OK);
    assert_int_equal(cursor, 0);
    assert_memory_equal(head, zero, sizeof zero);
    char out[4096];
    assert_int_equal(verify_log(out, sizeof out), 0);
}

static void test_links_and_head(void **state)
{
    (void)state;
    accept_records(N_RECORDS);
    assert_chain_consistent(N_RECORDS);
    char out[4096];
    int status = verify_log(out, sizeof out);
    if (status != 0)
        fail_msg("verify-log exited %d: %s", status, out);
    assert_non_null(strstr(out, "\"ok\": true"));
    /* Survives a restart: the head is read back from the store. */
    restart();
    assert_chain_consistent(N_RECORDS);
}

static void test_rewritten_chain_hash_is_found(void **state)
{
    (void)state;
    accept_records(N_RECORDS);
    assert_int_equal(gwf_stop(&F), 0);
    run_sql("UPDATE accepted SET chain_hash = zeroblob(31) || x'01' WHERE cursor = 2");
    gwf_start(&F);
    char out[4096];
    assert_int_equal(verify_log(out, sizeof out), 1);
    if (strstr(out, "\"brokenAt\": 2") == NULL || strstr(out, "rewritten") == NULL)
        fail_msg("verify-log output: %s", out);
}

static void test_changed_digest_is_found(void **state)
{
    (void)state;
    accept_records(N_RECORDS);
    assert_int_equal(gwf_stop(&F), 0);
    run_sql("UPDATE accepted SET digest = zeroblob(32) WHERE cursor = 3");
    gwf_start(&F);
    char out[4096];
    assert_int_equal(verify_log(out, sizeof out), 1);
    if (strstr(out, "\"brokenAt\": 3") == NULL || strstr(out, "do not hash") == NULL)
        fail_msg("verify-log output: %s", out);
}

static void test_log_from_before_the_chain_is_linked(void **state)
{
    (void)state;
    accept_records(N_RECORDS);
    uint64_t cursor;
    uint8_t before[CUSTOS_CHAIN_HASH_LEN];
    custos_error err;
    assert_int_equal(custos_client_get_chain_head(F.client, &cursor, before, &err), CUSTOS_OK);
    assert_int_equal(gwf_stop(&F), 0);
    run_sql("UPDATE accepted SET chain_hash = NULL");
    gwf_start(&F);
    uint8_t after[CUSTOS_CHAIN_HASH_LEN];
    assert_int_equal(custos_client_get_chain_head(F.client, &cursor, after, &err), CUSTOS_OK);
    assert_int_equal(cursor, N_RECORDS);
    assert_memory_equal(before, after, sizeof after);
    assert_chain_consistent(N_RECORDS);
    /* New records continue the same chain. */
    custos_submission s;
    custos_submit_result res;
    gwf_make(&F, &s, "CHAIN-2", 1, 5);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    assert_int_equal(gwf_submit(&F, &s, &res, &err), CUSTOS_OK);
    custos_submission_clear(&s);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);
    assert_chain_consistent(N_RECORDS + 1);
}

/* A head kept from before: still on the chain after more records; after the newest
 * records were removed (invisible to the chain alone) the kept head exposes it. */
static void test_kept_head_exposes_truncation(void **state)
{
    (void)state;
    accept_records(N_RECORDS);
    uint64_t cursor;
    uint8_t hash[CUSTOS_CHAIN_HASH_LEN];
    custos_error err;
    assert_int_equal(custos_client_get_chain_head(F.client, &cursor, hash, &err), CUSTOS_OK);
    char kept[128];
    int n = snprintf(kept, sizeof kept, "%llu:0x", (unsigned long long)cursor);
    for (size_t i = 0; i < sizeof hash; i++)
        n += snprintf(kept + n, sizeof kept - (size_t)n, "%02x", hash[i]);

    custos_submission s;
    custos_submit_result res;
    gwf_make(&F, &s, "CHAIN-3", 1, 7);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    assert_int_equal(gwf_submit(&F, &s, &res, &err), CUSTOS_OK);
    custos_submission_clear(&s);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);
    char out[4096];
    int status = verify_log_kept(kept, out, sizeof out);
    if (status != 0)
        fail_msg("verify-log --head %s exited %d: %s", kept, status, out);

    assert_int_equal(gwf_stop(&F), 0);
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM accepted WHERE cursor >= %llu",
             (unsigned long long)cursor);
    run_sql(sql);
    gwf_start(&F);
    assert_int_equal(verify_log(out, sizeof out), 0); /* the chain alone cannot tell */
    assert_int_equal(verify_log_kept(kept, out, sizeof out), 1);
    if (strstr(out, "records were removed") == NULL)
        fail_msg("verify-log output: %s", out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_and_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewritten_chain_hash_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_digest_is_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_from_before_the_chain_is_linked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kept_head_exposes_truncation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
