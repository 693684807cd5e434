/* custos-attestor run against the real gateway (its single-signer feed, so that each
 * attestation is ACCEPTED and visible through GetLatest): it attests on start and on a
 * change of the holdings file; while the gateway is down it spools what it signs; once the
 * gateway is back on the same port the spool is delivered, the sequences at the gateway are
 * contiguous and in order; SIGTERM exits 0; a restarted daemon does not reuse a sequence; a
 * gateway that rate-limits it gets the attestation later, never files it as refused. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "custos/keyfile.h"

#include "gwfixture.h"

#define REF "DAEMON-1"
#define WAIT_MS 20000

static gwf F;
static tu_proc daemon_proc;
static char holdings[1200], spool[1200], log_path[1200], config[1200];
static uint8_t account[32];

static void path_in(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", F.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

static void write_holdings(const char *quantity)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"custodian\":\"" GWF_OTHER_FEED "\",\"accounts\":["
             "{\"ref\":\"" REF "\",\"beneficiary\":\"0x0\",\"positions\":["
             "{\"asset\":\"MMF-GOVT-INST\",\"class\":\"mmf\",\"quantity\":\"%s\"}]}]}",
             quantity);
    tu_write_file(holdings, text);
}

static void dump_daemon_log(void)
{
    char *log = tu_read_file(log_path);
    fprintf(stderr, "--- daemon log ---\n%s\n------------------\n", log ? log : "(none)");
    free(log);
}

/* The sequence of the account's latest accepted attestation, 0 when none or unreachable. */
static uint64_t latest_sequence(void)
{
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    if (custos_client_get_latest(F.client, account, &rec, &err) != CUSTOS_OK)
        return 0;
    uint64_t seq = rec.sub.att.sequence;
    custos_record_clear(&rec);
    return seq;
}

static void wait_sequence(uint64_t want)
{
    for (int waited = 0; waited < WAIT_MS; waited += 100) {
        if (latest_sequence() >= want)
            break;
        usleep(100 * 1000);
    }
    uint64_t got = latest_sequence();
    if (got != want) {
        dump_daemon_log();
        gwf_dump_log(&F);
        fail_msg("latest sequence at the gateway: %llu, want %llu", (unsigned long long)got,
                 (unsigned long long)want);
    }
}

static void spool_entry(char *out, size_t cap, uint64_t seq)
{
    char hex[67];
    assert_int_equal(custos_hex_encode(account, 32, hex, sizeof hex), CUSTOS_OK);
    int n = snprintf(out, cap, "%s/%s-%020llu.json", spool, hex, (unsigned long long)seq);
    assert_true(n > 0 && (size_t)n < cap);
}

static void start_daemon(void)
{
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "run", "--config", config, NULL};
    tu_spawn(&daemon_proc, argv, log_path);
}

typedef struct seen {
    uint64_t seq[16];
    size_t n;
} seen;

static bool collect(void *ctx, const custos_record *rec)
{
    seen *s = ctx;
    if (s->n < 16 && memcmp(rec->sub.att.account, account, 32) == 0)
        s->seq[s->n++] = rec->sub.att.sequence;
    return true;
}

static int setup(void **st)
{
    (void)st;
    gwf_init(&F);
    gwf_write_config(&F);
    gwf_register(&F, GWF_OTHER_FEED, GWF_OTHER_FEED, REF);
    gwf_start(&F);
    custos_account_id(GWF_OTHER_FEED, REF, account);
    char key[1200], prices[1200], policy[1200], state[1200];
    path_in(key, sizeof key, "other.key");
    custos_error err;
    if (custos_keyfile_write(key, F.keys[GWF_KEY_OTHER].seckey, &err) != CUSTOS_OK)
        return -1;
    path_in(holdings, sizeof holdings, "holdings.json");
    path_in(prices, sizeof prices, "prices.json");
    path_in(policy, sizeof policy, "policy.json");
    path_in(state, sizeof state, "state.json");
    path_in(spool, sizeof spool, "spool");
    path_in(log_path, sizeof log_path, "daemon.log");
    path_in(config, sizeof config, "attestor.json");
    write_holdings("1000");
    char text[2048];
    snprintf(text, sizeof text,
             "{\"prices\":{\"MMF-GOVT-INST\":{\"price\":\"1.00\",\"as_of\":%llu}}}",
             (unsigned long long)gwf_now() - 60);
    tu_write_file(prices, text);
    char src[600];
    snprintf(src, sizeof src, "%s/deploy/examples/policy.json", CUSTOS_SOURCE_DIR);
    char *p = tu_read_file(src);
    assert_non_null(p);
    tu_write_file(policy, p);
    free(p);
    /* Relative paths: resolved against the config file's directory. */
    snprintf(text, sizeof text,
             "{\"holdings\": \"holdings.json\", \"prices\": \"prices.json\", "
             "\"policy\": \"policy.json\", \"key\": \"other.key\", \"feed\": \"%s\", "
             "\"chain_id\": %d, \"contract\": \"%s\", \"state\": \"state.json\", "
             "\"gateway\": \"%s\", \"spool\": \"spool\", \"interval_seconds\": 3600, "
             "\"heartbeat_seconds\": 3600, \"retry_max_seconds\": 1, \"insecure\": true}",
             GWF_OTHER_FEED, GWF_CHAIN_ID, GWF_CONTRACT, F.target);
    tu_write_file(config, text);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    if (daemon_proc.pid > 0)
        tu_stop(&daemon_proc, SIGKILL, 5000);
    gwf_cleanup(&F);
    return 0;
}

/* The request_id of the daemon's JSON log line `event` for `sequence`; out "" when none.
 * Every line of the log must be a JSON object. */
static void daemon_line_id(const char *log, const char *event, const char *sequence, char *out,
                           size_t cap)
{
    out[0] = '\0';
    for (const char *p = log; *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        json_error_t jerr;
        json_t *j = json_loadb(p, n, 0, &jerr);
        if (j == NULL)
            fail_msg("a daemon log line is not JSON (%s): %.*s", jerr.text, (int)n, p);
        const char *ev = json_string_value(json_object_get(j, "event"));
        const char *seq = json_string_value(json_object_get(j, "sequence"));
        const char *id = json_string_value(json_object_get(j, "request_id"));
        if (ev != NULL && seq != NULL && id != NULL && strcmp(ev, event) == 0 &&
            strcmp(seq, sequence) == 0)
            snprintf(out, cap, "%s", id);
        json_decref(j);
        p += n + (end != NULL);
    }
}

static void test_daemon_spools_and_delivers_in_order(void **st)
{
    (void)st;
    start_daemon();
    wait_sequence(1);

    write_holdings("2000");
    wait_sequence(2);

    /* The gateway goes away; the next change is signed and spooled. */
    int port = F.port;
    assert_int_equal(gwf_stop(&F), 0);
    write_holdings("3000");
    char entry[1400];
    spool_entry(entry, sizeof entry, 3);
    if (tu_wait_file(entry, WAIT_MS) != 0) {
        dump_daemon_log();
        fail_msg("no spool file %s", entry);
    }

    /* Back on the same port and store: the spooled attestation is delivered. */
    char *cfg = tu_read_file(F.config_path);
    assert_non_null(cfg);
    char *listen = strstr(cfg, "listen = 127.0.0.1:0\n");
    assert_non_null(listen);
    char fixed[8192];
    snprintf(fixed, sizeof fixed, "%.*slisten = 127.0.0.1:%d\n%s", (int)(listen - cfg), cfg,
             port, listen + strlen("listen = 127.0.0.1:0\n"));
    free(cfg);
    tu_write_file(F.config_path, fixed);
    gwf_start(&F);
    assert_int_equal(F.port, port);
    wait_sequence(3);
    for (int waited = 0; waited < WAIT_MS && access(entry, F_OK) == 0; waited += 100)
        usleep(100 * 1000);
    assert_int_equal(access(entry, F_OK), -1);

    seen s = {{0}, 0};
    custos_error err;
    assert_int_equal(custos_client_watch(F.client, 0, 1000, collect, &s, &err), CUSTOS_OK);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(s.seq[i], i + 1);

    assert_int_equal(tu_stop(&daemon_proc, SIGTERM, 10000), 0);

    /* A restarted daemon attests on start with the next sequence, never a used one. */
    start_daemon();
    wait_sequence(4);
    assert_int_equal(tu_stop(&daemon_proc, SIGTERM, 10000), 0);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "unreachable"));
    assert_non_null(strstr(log, "signed account=" REF " sequence=3 cause=change"));
    /* JSON lines; the submission's x-request-id names it in the gateway's log too. */
    char id[80];
    daemon_line_id(log, "acknowledged", "4", id, sizeof id);
    free(log);
    if (strncmp(id, "custos-attestor:", 16) != 0)
        fail_msg("no acknowledged line with a request id for sequence 4");
    char gw_log[1200], needle[160];
    snprintf(gw_log, sizeof gw_log, "%s/gateway.log", F.dir);
    snprintf(needle, sizeof needle, "\"event\":\"accepted\",\"request_id\":\"%s\"", id);
    char *text = tu_read_file(gw_log);
    assert_non_null(text);
    bool found = strstr(text, needle) != NULL;
    free(text);
    if (!found) {
        gwf_dump_log(&F);
        fail_msg("the gateway logged no acceptance with request id %s", id);
    }
}

/* With reserves_interval_seconds the daemon also signs the reserves of all accounts at
 * start (and every interval after) and submits them: the gateway then holds them. */
static void test_daemon_submits_reserves(void **st)
{
    (void)st;
    char *cfg = tu_read_file(config);
    assert_non_null(cfg);
    const char *tail = "\"insecure\": true}";
    char *at = strstr(cfg, tail);
    assert_non_null(at);
    char text[4096];
    snprintf(text, sizeof text, "%.*s\"insecure\": true, \"reserves_interval_seconds\": 3600}",
             (int)(at - cfg), cfg);
    free(cfg);
    tu_write_file(config, text);
    start_daemon();
    custos_reserves_summary sum;
    custos_error err;
    custos_rc rc = CUSTOS_ERR_NOT_FOUND;
    for (int waited = 0; waited < WAIT_MS && rc != CUSTOS_OK; waited += 100) {
        rc = custos_client_get_reserves(F.client, GWF_OTHER_FEED, &sum, &err);
        if (rc != CUSTOS_OK)
            usleep(100 * 1000);
    }
    if (rc != CUSTOS_OK) {
        dump_daemon_log();
        gwf_dump_log(&F);
        fail_msg("no reserves at the gateway: %s", err.message);
    }
    assert_int_equal(tu_stop(&daemon_proc, SIGTERM, 10000), 0);
    assert_int_equal(sum.r.accounts, 1);
    assert_int_equal(sum.r.sequence, 1);
    assert_memory_equal(sum.signer, F.keys[GWF_KEY_OTHER].address, CUSTOS_ADDRESS_LEN);
    char *log = tu_read_file(log_path);
    assert_non_null(log);
    assert_non_null(strstr(log, "reserves accepted sequence=1 accounts=1"));
    free(log);
}

static void test_config_errors_name_file_and_key(void **st)
{
    (void)st;
    char bad[1200], out[4096];
    path_in(bad, sizeof bad, "bad.json");
    tu_write_file(bad, "{\"holdings\": \"h.json\", \"interval\": 5}");
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "run", "--config", bad, NULL};
    assert_int_equal(tu_run(argv, out, sizeof out, 1), 1);
    assert_non_null(strstr(out, "bad.json"));
    assert_non_null(strstr(out, "interval"));
    /* The good config, but a negative reserves interval. */
    char *cfg = tu_read_file(config);
    assert_non_null(cfg);
    char *at = strstr(cfg, "\"insecure\": true");
    assert_non_null(at);
    char text[4096];
    snprintf(text, sizeof text, "%.*s\"insecure\": true, \"reserves_interval_seconds\": -1}",
             (int)(at - cfg), cfg);
    free(cfg);
    tu_write_file(bad, text);
    assert_int_equal(tu_run(argv, out, sizeof out, 1), 1);
    assert_non_null(strstr(out, "reserves_interval_seconds"));
}

/* Takes the client's tokens as fast as they come back, so the daemon finds none. */
typedef struct drainer {
    const char *target;
    atomic_bool stop;
} drainer;

static void *drain_main(void *arg)
{
    drainer *d = arg;
    custos_client *c = NULL;
    custos_error err;
    if (custos_client_new_insecure(d->target, 2000, &c, &err) != CUSTOS_OK)
        return NULL;
    /* An empty submission: refused, but only after it took its token. */
    custos_submission empty;
    memset(&empty, 0, sizeof empty);
    custos_submit_result res;
    while (!atomic_load(&d->stop)) {
        if (custos_client_submit(c, &empty, &res, &err) == CUSTOS_OK)
            break;
        usleep(20 * 1000);
    }
    custos_client_free(c);
    return NULL;
}

/* RATE_LIMITED is "not now": the daemon keeps the attestation in its spool and delivers it
 * once the gateway takes it; nothing goes to refused/. */
static void test_daemon_retries_rate_limited(void **st)
{
    (void)st;
    uint64_t before = latest_sequence();
    assert_int_equal(gwf_stop(&F), 0);
    char *ini = tu_read_file(F.config_path);
    assert_non_null(ini);
    char limited[8192];
    snprintf(limited, sizeof limited, "%s\n[limits]\nrate_per_second = 1\nburst = 1\n", ini);
    free(ini);
    tu_write_file(F.config_path, limited);
    gwf_start(&F);

    char *cfg = tu_read_file(config);
    assert_non_null(cfg);
    char *gw = strstr(cfg, "\"gateway\": \"");
    assert_non_null(gw);
    char *gw_end = strchr(gw + strlen("\"gateway\": \""), '"');
    assert_non_null(gw_end);
    char text[4096];
    snprintf(text, sizeof text, "%.*s\"gateway\": \"%s%s", (int)(gw - cfg), cfg, F.target,
             gw_end);
    free(cfg);
    tu_write_file(config, text);

    drainer d = {.target = F.target};
    atomic_init(&d.stop, false);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, drain_main, &d), 0);
    start_daemon();
    bool limited_seen = false;
    for (int waited = 0; waited < WAIT_MS && !limited_seen; waited += 100) {
        char *log = tu_read_file(log_path);
        limited_seen = log != NULL && strstr(log, "cannot take it now") != NULL &&
                       strstr(log, "RATE_LIMITED") != NULL;
        free(log);
        if (!limited_seen)
            usleep(100 * 1000);
    }
    atomic_store(&d.stop, true);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (!limited_seen) {
        dump_daemon_log();
        fail_msg("the daemon never met the rate limit");
    }
    wait_sequence(before + 1);
    assert_int_equal(tu_stop(&daemon_proc, SIGTERM, 10000), 0);
    char refused[1300];
    snprintf(refused, sizeof refused, "%s/refused", spool);
    DIR *dir = opendir(refused);
    assert_non_null(dir);
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            fail_msg("%s/%s: a rate-limited attestation was filed as refused", refused,
                     e->d_name);
    closedir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemon_spools_and_delivers_in_order),
        cmocka_unit_test(test_daemon_submits_reserves),
        cmocka_unit_test(test_config_errors_name_file_and_key),
        cmocka_unit_test(test_daemon_retries_rate_limited),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
