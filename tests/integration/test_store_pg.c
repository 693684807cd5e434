/* custos-gateway on a PostgreSQL store, end to end: a server started by this test on
 * loopback, the real gateway configured with a postgresql:// URI, an attestation accepted
 * and one left pending for its cosigner, a restart, then GetLatest still returns the first
 * and the cosignature completes the second. Also the [gateway] store key: which URIs select
 * PostgreSQL, and that a password in the URI is refused without being echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/reason.h"

#include "config/config.h"
#include "gwfixture.h"
#include "pgserver.h"

static tu_pg PG;
static gwf F;
static char URI[256];

/* Points gwf_write_config's [gateway] store line at the PostgreSQL database. */
static void use_pg_store(void)
{
    char *ini = tu_read_file(F.config_path);
    assert_non_null(ini);
    char *line = strstr(ini, "\nstore = ");
    assert_non_null(line);
    char *end = strchr(line + 1, '\n');
    assert_non_null(end);
    size_t cap = strlen(ini) + sizeof URI + 16;
    char *out = malloc(cap);
    assert_non_null(out);
    snprintf(out, cap, "%.*s\nstore = %s%s", (int)(line - ini), ini, URI, end);
    tu_write_file(F.config_path, out);
    free(out);
    free(ini);
}

static long count_rows(const char *table)
{
    PGconn *c = PQconnectdb(URI);
    assert_non_null(c);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    PGresult *res = PQexec(c, sql);
    long n = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(c);
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_store_pg: the PostgreSQL server did not start (reason above)\n");
        return -1;
    }
    tu_pg_new_db(&PG, URI, sizeof URI);
    gwf_init(&F);
    gwf_write_config(&F);
    use_pg_store();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    gwf_cleanup(&F);
    tu_pg_stop(&PG);
    return 0;
}

/* Submits s, which must be ACCEPTED. */
static void submit_accepted(const custos_submission *s, custos_submit_result *r)
{
    custos_error err;
    if (gwf_submit(&F, s, r, &err) != CUSTOS_OK)
        fail_msg("refused: %s", err.message);
    assert_int_equal(r->state, CUSTOS_STATE_ACCEPTED);
}

static void test_restart_keeps_attestations(void **state)
{
    (void)state;
    gwf_start(&F);
    custos_submission s, pending;
    gwf_make(&F, &s, "PG-ACCOUNT", 1, 1000);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    custos_submit_result r;
    submit_accepted(&s, &r);
    uint64_t cursor = r.cursor;
    uint8_t digest[32];
    gwf_digest(&s, digest);

    gwf_make(&F, &pending, "PG-PENDING", 1, 500);
    gwf_sign(&F, &pending, GWF_KEY_CUSTODIAN);
    custos_error perr;
    assert_int_equal(gwf_submit(&F, &pending, &r, &perr), CUSTOS_OK);
    assert_int_equal(r.state, CUSTOS_STATE_PENDING);

    /* The rows are in PostgreSQL, and no SQLite file stood in for it. */
    assert_int_equal(count_rows("accepted"), 1);
    assert_int_equal(count_rows("pending"), 1);
    char db[1200];
    struct stat st;
    snprintf(db, sizeof db, "%s/custos.db", F.dir);
    assert_int_not_equal(stat(db, &st), 0);

    int status = gwf_stop(&F);
    if (status != 0) {
        gwf_dump_log(&F);
        fail_msg("custos-gateway exited with %d after SIGTERM (want 0)", status);
    }
    gwf_start(&F);

    custos_record rec;
    custos_error err;
    if (custos_client_get_latest(F.client, s.att.account, &rec, &err) != CUSTOS_OK) {
        gwf_dump_log(&F);
        fail_msg("GetLatest after the restart: %s", err.message);
    }
    assert_int_equal(rec.cursor, cursor);
    assert_memory_equal(rec.digest, digest, 32);
    assert_int_equal(rec.sub.att.sequence, 1);
    assert_int_equal(rec.n_signers, 2);
    custos_record_clear(&rec);

    /* The same attestation again is a duplicate, known from the store. */
    submit_accepted(&s, &r);
    assert_true(r.duplicate);
    assert_int_equal(r.cursor, cursor);

    /* The custodian's signature waited in PostgreSQL: the agent's completes the quorum. */
    gwf_clear_sigs(&pending);
    gwf_sign(&F, &pending, GWF_KEY_AGENT);
    submit_accepted(&pending, &r);
    assert_true(r.cursor > cursor);
    assert_int_equal(count_rows("accepted"), 2);
    assert_int_equal(count_rows("pending"), 0);
    custos_submission_clear(&s);
    custos_submission_clear(&pending);
    assert_int_equal(gwf_stop(&F), 0);
}

static custos_rc load_with_store(const char *store, gw_config *cfg, custos_error *err)
{
    char path[1200], text[1024];
    snprintf(path, sizeof path, "%s/store-key.ini", F.dir);
    snprintf(text, sizeof text,
             "[gateway]\nlisten = 127.0.0.1:0\nstore = %s\nchain_id = 31337\n"
             "verifying_contract = " GWF_CONTRACT "\n",
             store);
    tu_write_file(path, text);
    return gw_config_load(path, cfg, err);
}

static void test_store_key_selects_backend(void **state)
{
    (void)state;
    static const struct {
        const char *store;
        gw_store_backend backend;
    } ok[] = {
        {"/var/lib/custos/custos.db", GW_STORE_SQLITE},
        {"postgresql://custos@db.internal:5432/custos", GW_STORE_POSTGRESQL},
        {"postgres://db.internal/custos?sslmode=verify-full", GW_STORE_POSTGRESQL},
        {"postgresql:///custos?host=/run/postgresql", GW_STORE_POSTGRESQL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        gw_config cfg;
        custos_error err;
        if (load_with_store(ok[i].store, &cfg, &err) != CUSTOS_OK)
            fail_msg("%s: %s", ok[i].store, err.message);
        assert_string_equal(cfg.store_path, ok[i].store);
        assert_int_equal(cfg.store_backend, ok[i].backend);
        gw_config_clear(&cfg);
    }
    static const char *const refused[] = {
        "postgresql://custos:Hunter2-secret@db.internal/custos",
        "postgres://db.internal/custos?sslmode=require&password=Hunter2-secret",
        "postgresql://db.internal/custos?password=Hunter2-secret",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        gw_config cfg;
        custos_error err;
        assert_int_equal(load_with_store(refused[i], &cfg, &err), CUSTOS_ERR_INVALID);
        assert_non_null(strstr(err.message, "PGPASSWORD"));
        assert_null(strstr(err.message, "Hunter2"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keeps_attestations),
        cmocka_unit_test(test_store_key_selects_backend),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
