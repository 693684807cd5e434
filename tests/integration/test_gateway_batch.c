/* Rule 20 through the real custos-gateway, over SQLite and over PostgreSQL: SubmitBatch with
 * a batch of mixed accounts (two good ones, one unregistered, one replaying its sequence,
 * one of another feed, one rise the breaker holds) accepts the good ones together and
 * refuses or holds each other one alone, saying which and why; the very batch again is a
 * duplicate; another batch with a sequence not above the feed's last is refused whole, as
 * is a batch short of the quorum; GetLatest and Watch serve the accepted accounts with the
 * batch's signatures and each account's leaf proof, which libcustos verifies alone, and
 * which ethers and @openzeppelin/merkle-tree verify with no Custos code from what
 * `custos get-latest` prints (tests/js/batch_record_verify.mjs); and a restart keeps all of
 * it; the same batch sent twice at once is stored once and never answered REPLAY; the
 * largest batches go through at once and Watch from cursor 0 delivers every account of
 * them once, in order, each verifying alone; a batch whose every account the breaker
 * holds is listed page by page and released by the operator. */
#include <pthread.h>
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

#include "custos/attestation.h"
#include "custos/audit.h"
#include "custos/batch.h"
#include "custos/client.h"
#include "custos/hex.h"
#include "custos/sig.h"

#include "gwfixture.h"
#include "pb_convert.h"
#include "pgserver.h"
#include "pki.h"
#include "testutil.h"

/* The accounts of the mixed batch, in the order sent. */
enum {
    M_GOOD1,
    M_GOOD2,
    M_UNREGISTERED,
    M_REPLAY,
    M_OTHER_FEED,
    M_HELD,
    M_COUNT
};

static tu_pg PG;
static gwf F;
static uint64_t AS_OF;

/* Called by start between writing the config and starting the gateway, when set. */
static void (*BEFORE_START)(void);

/* The fixture's config with a 10% breaker on its feed; on PostgreSQL when uri is set. */
static void start(const char *uri)
{
    gwf_init(&F);
    gwf_write_config(&F);
    char *text = tu_read_file(F.config_path);
    assert_non_null(text);
    size_t cap = strlen(text) + 1024;
    char *patched = malloc(cap);
    assert_non_null(patched);
    const char *anchor = "distinct_roles = true\n";
    char *at = strstr(text, anchor);
    assert_non_null(at);
    size_t head = (size_t)(at - text) + strlen(anchor);
    snprintf(patched, cap, "%.*sbreaker_rise_bps = 1000\nbreaker_release_threshold = 3\n%s",
             (int)head, text, text + head);
    if (uri != NULL) {
        char *store = strstr(patched, "store = ");
        assert_non_null(store);
        char *eol = strchr(store, '\n');
        assert_non_null(eol);
        char *rest = strdup(eol);
        assert_non_null(rest);
        snprintf(store, cap - (size_t)(store - patched), "store = %s%s", uri, rest);
        free(rest);
    }
    tu_write_file(F.config_path, patched);
    free(patched);
    free(text);
    if (BEFORE_START != NULL)
        BEFORE_START();
    gwf_start(&F);
}

static int setup_sqlite(void **state)
{
    (void)state;
    start(NULL);
    return 0;
}

static int setup_pg(void **state)
{
    (void)state;
    char uri[512];
    tu_pg_new_db(&PG, uri, sizeof uri);
    start(uri);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    if (status != 0)
        gwf_dump_log(&F);
    gwf_cleanup(&F);
    return status == 0 ? 0 : -1;
}

/* A valuation of ref at sequence worth usd, on the test's times. */
static void make(custos_submission *s, const char *ref, uint64_t sequence, uint64_t usd)
{
    gwf_make(&F, s, ref, sequence, usd);
    gwf_set_times(s, AS_OF, AS_OF + 3600);
}

static void submit_single(const char *ref, uint64_t sequence, uint64_t usd)
{
    custos_submission s;
    make(&s, ref, sequence, usd);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    gwf_answer a;
    gwf_submit_answer(&F, &s, &a);
    custos_submission_clear(&s);
    if (a.rc != CUSTOS_OK || a.res.state != CUSTOS_STATE_ACCEPTED)
        fail_msg("single %s/%llu: %s", ref, (unsigned long long)sequence, a.err.message);
}

/* The batch over accounts, batch sequence `sequence`, signed by keys. */
static void sign_batch(const custos_submission *accounts, size_t n, uint64_t sequence,
                       const gwf_key_id *keys, size_t n_keys, custos_batch *b,
                       custos_signature *sigs)
{
    custos_attestation *atts = calloc(n, sizeof *atts);
    assert_non_null(atts);
    for (size_t i = 0; i < n; i++)
        atts[i] = accounts[i].att;
    custos_batch_tree *t = NULL;
    custos_error err;
    if (custos_batch_tree_new(GWF_FEED, atts, n, sequence, b, &t, &err) != CUSTOS_OK)
        fail_msg("batch tree: %s", err.message);
    custos_batch_tree_free(t);
    free(atts);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(&F.domain, b, digest);
    for (size_t k = 0; k < n_keys; k++)
        if (custos_sign_digest(F.secp, F.keys[keys[k]].seckey, digest, &sigs[k], &err) !=
            CUSTOS_OK)
            fail_msg("sign batch: %s", err.message);
}

static const gwf_key_id QUORUM[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT};

/* The accounts as SubmitBatch takes them: each submission's attestation and positions
 * (shallow: the submissions keep their positions); free() the array. */
static custos_batch_member *members_of(const custos_submission *accounts, size_t n)
{
    custos_batch_member *m = calloc(n > 0 ? n : 1, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++)
        m[i] = (custos_batch_member){.att = accounts[i].att,
                                     .positions = accounts[i].positions,
                                     .n_positions = accounts[i].n_positions};
    return m;
}

/* custos_client_submit_batch on the test's feed and domain. */
static custos_rc submit_batch(custos_client *c, const custos_batch *b,
                              const custos_signature *sigs, size_t n_sigs,
                              const custos_submission *accounts, size_t n,
                              custos_submit_result *res, custos_error *errs, bool *duplicate,
                              custos_error *err)
{
    custos_batch_member *m = members_of(accounts, n);
    custos_rc rc = custos_client_submit_batch(c, GWF_FEED, &F.domain, b, sigs, n_sigs, m, n,
                                              res, errs, duplicate, err);
    free(m);
    return rc;
}

static void make_mixed(custos_submission *accounts)
{
    make(&accounts[M_GOOD1], "BATCH-GOOD-1", 1, 1000000);
    make(&accounts[M_GOOD2], "BATCH-GOOD-2", 1, 2000000);
    F.no_auto_register = true;
    make(&accounts[M_UNREGISTERED], "BATCH-NOBODY", 1, 1000000);
    make(&accounts[M_OTHER_FEED], "BATCH-OTHER", 1, 1000000);
    F.no_auto_register = false;
    gwf_register_id(&F, GWF_OTHER_FEED, accounts[M_OTHER_FEED].att.account);
    make(&accounts[M_REPLAY], "BATCH-REPLAY", 3, 1000000);
    make(&accounts[M_HELD], "BATCH-RISE", 2, 2000000);
}

/* The account's latest record is the batch-signed one: the batch's fields, its two
 * signatures and signers, and a leaf proof, which custos_batch_account_verify accepts. */
static void expect_batched_latest(const custos_submission *want, const custos_batch *b)
{
    custos_record rec;
    custos_error err;
    if (custos_client_get_latest(F.client, want->att.account, &rec, &err) != CUSTOS_OK)
        fail_msg("get latest: %s", err.message);
    assert_true(rec.batched);
    assert_int_equal(rec.sub.n_sigs, 0);
    assert_memory_equal(&rec.sub.att, &want->att, sizeof want->att);
    assert_memory_equal(&rec.batch.batch, b, sizeof *b);
    assert_int_equal(rec.batch.n_sigs, 2);
    assert_int_equal(rec.n_signers, 2);
    custos_batch_account acct;
    memset(&acct, 0, sizeof acct);
    snprintf(acct.feed, sizeof acct.feed, "%s", rec.sub.feed);
    acct.domain = rec.sub.domain;
    acct.att = rec.sub.att;
    acct.batch = rec.batch.batch;
    memcpy(acct.proof, rec.batch.proof, sizeof acct.proof);
    acct.n_proof = rec.batch.n_proof;
    memcpy(acct.sigs, rec.batch.sigs, sizeof acct.sigs);
    acct.n_sigs = rec.batch.n_sigs;
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    if (custos_batch_account_verify(F.secp, &acct, signers, &err) != CUSTOS_OK)
        fail_msg("the served account does not verify alone: %s", err.message);
    assert_memory_equal(signers[0], F.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN);
    assert_memory_equal(signers[1], F.keys[GWF_KEY_AGENT].address, CUSTOS_ADDRESS_LEN);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(&F.domain, b, digest);
    assert_memory_equal(rec.batch.digest, digest, CUSTOS_HASH_LEN);
    custos_record_clear(&rec);
}

/* `custos get-latest` of the account, verified by tests/js/batch_record_verify.mjs (ethers
 * and @openzeppelin/merkle-tree alone): valid, recovering the two signers; and refused once
 * its collateral value is changed. */
static void expect_js_verifies(const custos_submission *want)
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    assert_int_equal(custos_hex_encode(want->att.account, CUSTOS_HASH_LEN, hex, sizeof hex),
                     CUSTOS_OK);
    const char *argv[] = {CUSTOS_CLI_BIN, "get-latest", "--gateway", F.target, "--insecure",
                          "--account", hex, NULL};
    static char json[65536];
    if (tu_run(argv, json, sizeof json, 0) != 0)
        fail_msg("custos get-latest: %s", json);
    char path[1200];
    snprintf(path, sizeof path, "%s/record.json", F.dir);
    tu_write_file(path, json);
    char out[1024] = {0};
    const char *args[] = {path, NULL};
    if (tu_node("batch_record_verify.mjs", args, out, sizeof out) != 0)
        fail_msg("batch_record_verify.mjs refused a served account: %s", out);
    const gwf_key_id keys[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT};
    for (size_t k = 0; k < 2; k++) {
        char line[80];
        snprintf(line, sizeof line, "signer %s", F.keys[keys[k]].hex);
        if (strstr(out, line) == NULL)
            fail_msg("batch_record_verify.mjs did not recover %s: %s", F.keys[keys[k]].hex, out);
    }
    char *value = strstr(json, "\"collateralValue\": \"");
    assert_non_null(value);
    value += strlen("\"collateralValue\": \"");
    *value = *value == '1' ? '2' : '1';
    tu_write_file(path, json);
    memset(out, 0, sizeof out);
    assert_int_not_equal(tu_node("batch_record_verify.mjs", args, out, sizeof out), 0);
    assert_non_null(strstr(out, "invalid"));
}

static void expect_refused(const custos_error *e, custos_reason reason, const char *what)
{
    if (e->code == CUSTOS_OK || e->reason != reason)
        fail_msg("%s: %s / %s, want %s", what, custos_rc_name(e->code),
                 custos_reason_name(e->reason), custos_reason_name(reason));
}

static void test_mixed_batch(void **state)
{
    (void)state;
    AS_OF = gwf_now() - 60;
    /* Before the batch: the replaying account at sequence 5, the rising one at 1M. */
    submit_single("BATCH-REPLAY", 5, 1000000);
    submit_single("BATCH-RISE", 1, 1000000);
    uint64_t head_before = gwf_watch_head(&F, 0, 300, NULL);
    assert_int_equal(head_before, 2);

    custos_submission accounts[M_COUNT];
    make_mixed(accounts);
    custos_batch b;
    custos_signature sigs[2];
    sign_batch(accounts, M_COUNT, 7, QUORUM, 2, &b, sigs);

    custos_submit_result res[M_COUNT];
    custos_error errs[M_COUNT];
    bool duplicate = true;
    custos_error err;
    if (submit_batch(F.client, &b, sigs, 2, accounts, M_COUNT, res, errs, &duplicate, &err) !=
        CUSTOS_OK)
        fail_msg("SubmitBatch: %s", err.message);
    assert_false(duplicate);
    for (int i = M_GOOD1; i <= M_GOOD2; i++) {
        if (errs[i].code != CUSTOS_OK)
            fail_msg("account %d: %s", i, errs[i].message);
        assert_int_equal(res[i].state, CUSTOS_STATE_ACCEPTED);
        assert_int_equal(res[i].signatures, 2);
    }
    /* Accepted together: consecutive cursors after the two singles. */
    assert_int_equal(res[M_GOOD1].cursor, 3);
    assert_int_equal(res[M_GOOD2].cursor, 4);
    expect_refused(&errs[M_UNREGISTERED], CUSTOS_REASON_UNREGISTERED_ACCOUNT, "unregistered");
    assert_non_null(strstr(errs[M_UNREGISTERED].message, "not registered"));
    expect_refused(&errs[M_REPLAY], CUSTOS_REASON_REPLAY, "replayed sequence");
    expect_refused(&errs[M_OTHER_FEED], CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, "other feed");
    if (errs[M_HELD].code != CUSTOS_OK || res[M_HELD].state != CUSTOS_STATE_HELD)
        fail_msg("a rise of 100%%: %s state %d", errs[M_HELD].message, (int)res[M_HELD].state);

    /* Served like any other: GetLatest verifies alone; Watch streams the two; the held rise
     * is listed as held, batch-signed too. */
    expect_batched_latest(&accounts[M_GOOD1], &b);
    expect_batched_latest(&accounts[M_GOOD2], &b);
    expect_js_verifies(&accounts[M_GOOD2]);
    size_t count = 0;
    assert_int_equal(gwf_watch_head(&F, head_before, 300, &count), 4);
    assert_int_equal(count, 2);
    custos_record *held = NULL;
    size_t n_held = 0;
    assert_int_equal(custos_client_list_held(F.client, accounts[M_HELD].att.account, &held,
                                             &n_held, &err),
                     CUSTOS_OK);
    assert_int_equal(n_held, 1);
    assert_true(held[0].batched);
    assert_int_equal(held[0].sub.att.sequence, 2);
    custos_record_list_free(held, n_held);

    /* The very batch again: a duplicate, each account answered as before. */
    if (submit_batch(F.client, &b, sigs, 2, accounts, M_COUNT, res, errs, &duplicate, &err) !=
        CUSTOS_OK)
        fail_msg("SubmitBatch again: %s", err.message);
    assert_true(duplicate);
    assert_int_equal(errs[M_GOOD1].code, CUSTOS_OK);
    assert_true(res[M_GOOD1].duplicate);
    assert_int_equal(res[M_GOOD1].cursor, 3);
    assert_int_equal(res[M_HELD].state, CUSTOS_STATE_HELD);
    expect_refused(&errs[M_REPLAY], CUSTOS_REASON_REPLAY, "replayed sequence, again");
    assert_int_equal(gwf_watch_head(&F, 0, 300, NULL), 4);

    /* Another batch whose sequence is not above the feed's last: refused whole. */
    custos_submission next[2];
    make(&next[0], "BATCH-GOOD-1", 2, 1000001);
    make(&next[1], "BATCH-GOOD-2", 2, 2000001);
    custos_batch b2;
    sign_batch(next, 2, 7, QUORUM, 2, &b2, sigs);
    assert_int_not_equal(submit_batch(F.client, &b2, sigs, 2, next, 2, res, errs, &duplicate, &err),
                         CUSTOS_OK);
    expect_refused(&err, CUSTOS_REASON_REPLAY, "batch sequence not above the last");
    expect_refused(&errs[1], CUSTOS_REASON_REPLAY, "each account holds the refusal");

    /* One signature: short of the quorum of two distinct roles, refused whole. */
    sign_batch(next, 2, 8, QUORUM, 1, &b2, sigs);
    assert_int_not_equal(submit_batch(F.client, &b2, sigs, 1, next, 2, res, errs, &duplicate, &err),
                         CUSTOS_OK);
    expect_refused(&err, CUSTOS_REASON_BATCH_BELOW_QUORUM, "one signature");
    assert_int_equal(gwf_watch_head(&F, 0, 300, NULL), 4);

    /* A restart keeps the batch and its accounts. */
    assert_int_equal(gwf_stop(&F), 0);
    gwf_start(&F);
    expect_batched_latest(&accounts[M_GOOD1], &b);
    assert_int_equal(gwf_watch_head(&F, 0, 300, &count), 4);
    assert_int_equal(count, 4);

    /* And the next batch, sequence 8, is taken. */
    sign_batch(next, 2, 8, QUORUM, 2, &b2, sigs);
    if (submit_batch(F.client, &b2, sigs, 2, next, 2, res, errs, &duplicate, &err) != CUSTOS_OK)
        fail_msg("SubmitBatch after restart: %s", err.message);
    assert_int_equal(errs[0].code, CUSTOS_OK);
    assert_int_equal(res[0].state, CUSTOS_STATE_ACCEPTED);
    assert_int_equal(res[1].cursor, 6);
    expect_batched_latest(&next[1], &b2);

    for (int i = 0; i < M_COUNT; i++)
        custos_submission_clear(&accounts[i]);
    for (int i = 0; i < 2; i++)
        custos_submission_clear(&next[i]);
}

/* One SubmitBatch call of n accounts signed by two, from its own client (a thread's). */
typedef struct racer {
    const custos_submission *accounts;
    size_t n;
    const custos_batch *b;
    const custos_signature *sigs;
    custos_rc rc;
    custos_error err;
    custos_submit_result *res;
    custos_error *errs;
    bool duplicate;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    custos_client *c = NULL;
    r->rc = custos_client_new_insecure(F.target, 60000, &c, &r->err);
    if (r->rc == CUSTOS_OK)
        r->rc = submit_batch(c, r->b, r->sigs, 2, r->accounts, r->n, r->res, r->errs,
                             &r->duplicate, &r->err);
    custos_client_free(c);
    return NULL;
}

/* The same batch sent twice at once (a client's retry while the first call is being
 * committed): one call stores it, the other is answered as a duplicate, or, when both fell
 * in one commit group, told to retry (UNAVAILABLE); never REPLAY. */
static void test_same_batch_at_once(void **state)
{
    (void)state;
    AS_OF = gwf_now() - 60;
    for (int round = 0; round < 5; round++) {
        custos_submission accounts[2];
        char ref[32];
        for (int i = 0; i < 2; i++) {
            snprintf(ref, sizeof ref, "RACE-%d-%d", round, i);
            make(&accounts[i], ref, 1, 1000000);
        }
        custos_batch b;
        custos_signature sigs[2];
        sign_batch(accounts, 2, (uint64_t)round + 1, QUORUM, 2, &b, sigs);
        racer r[2];
        pthread_t t[2];
        custos_submit_result res[2][2];
        custos_error errs[2][2];
        for (int i = 0; i < 2; i++) {
            memset(&r[i], 0, sizeof r[i]);
            r[i].accounts = accounts;
            r[i].n = 2;
            r[i].res = res[i];
            r[i].errs = errs[i];
            r[i].b = &b;
            r[i].sigs = sigs;
            assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        int fresh = 0;
        for (int i = 0; i < 2; i++) {
            if (r[i].rc == CUSTOS_OK) {
                assert_int_equal(r[i].errs[0].code, CUSTOS_OK);
                assert_int_equal(r[i].res[0].state, CUSTOS_STATE_ACCEPTED);
                fresh += !r[i].duplicate;
            } else if (r[i].err.reason != CUSTOS_REASON_UNAVAILABLE) {
                fail_msg("round %d, call %d: %s", round, i, r[i].err.message);
            }
        }
        assert_int_equal(fresh, 1);
        for (int i = 0; i < 2; i++)
            custos_submission_clear(&accounts[i]);
    }
}

/* Bad input to SubmitBatch: garbage bytes, a batch whose field has the wrong length, a
 * signature of 64 bytes, too many accounts: each refused MALFORMED or TOO_LARGE (the
 * status INVALID_ARGUMENT, the reason in custos-reason) naming what was wrong; nothing is
 * stored and the gateway keeps serving. */
static void test_bad_input(void **state)
{
    (void)state;
    AS_OF = gwf_now() - 60;
    const char *method = "/custos.v1.AttestationGateway/SubmitBatch";
    gwf_raw_result r;
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    gwf_raw_call(&F, method, garbage, sizeof garbage, &r);
    assert_int_equal(r.grpc_status, 3);
    assert_string_equal(r.reason, "MALFORMED");
    assert_non_null(strstr(r.details, "SubmitBatchRequest"));

    custos_submission accounts[2];
    make(&accounts[0], "BAD-1", 1, 1000000);
    make(&accounts[1], "BAD-2", 1, 1000000);
    custos_batch b;
    custos_signature sigs[2];
    sign_batch(accounts, 2, 1, QUORUM, 2, &b, sigs);
    Custos__V1__SubmitBatchRequest *req = NULL;
    custos_error err;
    custos_batch_member *members = members_of(accounts, 2);
    assert_int_equal(pb_batch_request_new(GWF_FEED, &F.domain, &b, sigs, 2, members, 2, &req,
                                          &err),
                     CUSTOS_OK);
    free(members);
    struct {
        const char *what, *want_reason, *want_detail;
    } cases[] = {
        {"a root of 31 bytes", "MALFORMED", "batch.accounts_root"},
        {"a signature of 64 bytes", "MALFORMED", "signatures[1]"},
        {"an account's value of 31 bytes", "MALFORMED", "accounts[1].attestation"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t *len = c == 0   ? &req->batch->accounts_root.len
                      : c == 1 ? &req->signatures[1].len
                               : &req->accounts[1]->attestation->collateral_value.len;
        size_t keep = *len;
        *len = keep - 1;
        size_t n = protobuf_c_message_get_packed_size(&req->base);
        uint8_t *buf = malloc(n);
        assert_non_null(buf);
        protobuf_c_message_pack(&req->base, buf);
        *len = keep;
        gwf_raw_call(&F, method, buf, n, &r);
        free(buf);
        if (r.grpc_status != 3 || strcmp(r.reason, cases[c].want_reason) != 0 ||
            strstr(r.details, cases[c].want_detail) == NULL)
            fail_msg("%s: status %d reason %s: %s", cases[c].what, r.grpc_status, r.reason,
                     r.details);
    }
    pb_batch_request_free(req);
    /* Nothing was stored; the good batch still goes through. */
    assert_int_equal(gwf_watch_head(&F, 0, 300, NULL), 0);
    custos_submit_result res[2];
    custos_error errs[2];
    bool duplicate = false;
    if (submit_batch(F.client, &b, sigs, 2, accounts, 2, res, errs, &duplicate, &err) !=
        CUSTOS_OK)
        fail_msg("the good batch: %s", err.message);
    assert_int_equal(res[1].state, CUSTOS_STATE_ACCEPTED);
    for (int i = 0; i < 2; i++)
        custos_submission_clear(&accounts[i]);
}

/* The largest batches: LARGE_BATCHES of CUSTOS_BATCH_MAX_ACCOUNTS accounts each, sent at
 * once, so that one commit group would hold more accounts than a group of single
 * submissions (commit_batch_max): the committer ends a group before its accounts outgrow
 * what it can track (gateway/engine/committer.c). */
#define LARGE_BATCHES 2

static char LARGE_REF[32];

static void large_ref(size_t batch, size_t i)
{
    snprintf(LARGE_REF, sizeof LARGE_REF, "LARGE-%zu-%zu", batch, i);
}

/* Every account of the large batches in the accounts file before the gateway starts: one
 * reload rather than thousands. */
static void register_large(void)
{
    uint8_t(*ids)[CUSTOS_HASH_LEN] = calloc(LARGE_BATCHES * CUSTOS_BATCH_MAX_ACCOUNTS,
                                            sizeof *ids);
    assert_non_null(ids);
    for (size_t b = 0; b < LARGE_BATCHES; b++)
        for (size_t i = 0; i < CUSTOS_BATCH_MAX_ACCOUNTS; i++) {
            large_ref(b, i);
            custos_account_id(GWF_FEED, LARGE_REF, ids[b * CUSTOS_BATCH_MAX_ACCOUNTS + i]);
        }
    gwf_register_ids(&F, GWF_FEED, (const uint8_t(*)[CUSTOS_HASH_LEN])ids,
                     LARGE_BATCHES * CUSTOS_BATCH_MAX_ACCOUNTS);
    free(ids);
    /* Room for a batch of the largest size in one message. */
    char *text = tu_read_file(F.config_path);
    assert_non_null(text);
    char *at = strstr(text, "max_message_bytes = ");
    assert_non_null(at);
    char *eol = strchr(at, '\n');
    assert_non_null(eol);
    size_t cap = strlen(text) + 64;
    char *patched = malloc(cap);
    assert_non_null(patched);
    snprintf(patched, cap, "%.*smax_message_bytes = 16777216%s", (int)(at - text), text, eol);
    tu_write_file(F.config_path, patched);
    free(patched);
    free(text);
}

static int setup_large(void **state)
{
    (void)state;
    BEFORE_START = register_large;
    start(NULL);
    BEFORE_START = NULL;
    return 0;
}

/* On PostgreSQL the committer also reloads each account of its group from the shared
 * store first. */
static int setup_large_pg(void **state)
{
    (void)state;
    char uri[512];
    tu_pg_new_db(&PG, uri, sizeof uri);
    BEFORE_START = register_large;
    start(uri);
    BEFORE_START = NULL;
    return 0;
}

typedef struct large_call {
    custos_submission *accounts;
    custos_batch b;
    custos_signature sigs[2];
    racer r;
} large_call;

/* What Watch from cursor 0 delivers over a store of batch-signed accounts: every record
 * once, in cursor order, each batched and verifying alone (its leaf proof to the signed
 * root, the batch's signatures by the quorum's keys). */
typedef struct watch_check {
    uint64_t last;
    size_t count;
    char failure[256];
} watch_check;

static bool watch_record(void *ctx, const custos_record *rec)
{
    watch_check *w = ctx;
    if (rec->cursor != w->last + 1) {
        snprintf(w->failure, sizeof w->failure, "cursor %llu after %llu",
                 (unsigned long long)rec->cursor, (unsigned long long)w->last);
        return false;
    }
    w->last = rec->cursor;
    w->count++;
    custos_batch_account acct;
    memset(&acct, 0, sizeof acct);
    snprintf(acct.feed, sizeof acct.feed, "%s", rec->sub.feed);
    acct.domain = rec->sub.domain;
    acct.att = rec->sub.att;
    acct.batch = rec->batch.batch;
    memcpy(acct.proof, rec->batch.proof, sizeof acct.proof);
    acct.n_proof = rec->batch.n_proof;
    memcpy(acct.sigs, rec->batch.sigs, sizeof acct.sigs);
    acct.n_sigs = rec->batch.n_sigs;
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    custos_error err;
    if (!rec->batched || rec->batch.n_sigs != 2 ||
        custos_batch_account_verify(F.secp, &acct, signers, &err) != CUSTOS_OK ||
        memcmp(signers[0], F.keys[GWF_KEY_CUSTODIAN].address, CUSTOS_ADDRESS_LEN) != 0 ||
        memcmp(signers[1], F.keys[GWF_KEY_AGENT].address, CUSTOS_ADDRESS_LEN) != 0) {
        snprintf(w->failure, sizeof w->failure, "cursor %llu does not verify alone as a "
                 "member of its batch", (unsigned long long)rec->cursor);
        return false;
    }
    return true;
}

static void expect_watch_from_zero(size_t want)
{
    watch_check w = {0};
    custos_error err;
    if (custos_client_watch(F.client, 0, 500, watch_record, &w, &err) != CUSTOS_OK)
        fail_msg("Watch from 0: %s", err.message);
    if (w.failure[0] != '\0')
        fail_msg("Watch from 0, record %zu: %s", w.count, w.failure);
    assert_int_equal(w.count, want);
    assert_int_equal(w.last, want);
}

static void test_largest_batches_at_once(void **state)
{
    (void)state;
    AS_OF = gwf_now() - 60;
    F.no_auto_register = true;
    large_call calls[LARGE_BATCHES];
    for (size_t b = 0; b < LARGE_BATCHES; b++) {
        large_call *l = &calls[b];
        memset(l, 0, sizeof *l);
        l->accounts = calloc(CUSTOS_BATCH_MAX_ACCOUNTS, sizeof *l->accounts);
        l->r.res = calloc(CUSTOS_BATCH_MAX_ACCOUNTS, sizeof *l->r.res);
        l->r.errs = calloc(CUSTOS_BATCH_MAX_ACCOUNTS, sizeof *l->r.errs);
        assert_true(l->accounts != NULL && l->r.res != NULL && l->r.errs != NULL);
        for (size_t i = 0; i < CUSTOS_BATCH_MAX_ACCOUNTS; i++) {
            large_ref(b, i);
            make(&l->accounts[i], LARGE_REF, 1, 1000000 + i);
        }
        sign_batch(l->accounts, CUSTOS_BATCH_MAX_ACCOUNTS, b + 1, QUORUM, 2, &l->b, l->sigs);
        l->r.accounts = l->accounts;
        l->r.n = CUSTOS_BATCH_MAX_ACCOUNTS;
        l->r.b = &l->b;
        l->r.sigs = l->sigs;
    }
    F.no_auto_register = false;
    pthread_t t[LARGE_BATCHES];
    for (size_t b = 0; b < LARGE_BATCHES; b++)
        assert_int_equal(pthread_create(&t[b], NULL, race, &calls[b].r), 0);
    for (size_t b = 0; b < LARGE_BATCHES; b++)
        assert_int_equal(pthread_join(t[b], NULL), 0);
    /* The feed's batch sequence only rises (rule 20): the last batch is accepted, an
     * earlier one is accepted when it committed first and refused whole as a replay
     * otherwise. */
    size_t accepted = 0;
    for (size_t b = 0; b < LARGE_BATCHES; b++) {
        large_call *l = &calls[b];
        const racer *r = &l->r;
        if (r->rc != CUSTOS_OK && b + 1 < LARGE_BATCHES &&
            r->err.reason == CUSTOS_REASON_REPLAY)
            continue;
        if (r->rc != CUSTOS_OK) {
            gwf_dump_log(&F);
            fail_msg("batch %zu of %d accounts: %s", b, CUSTOS_BATCH_MAX_ACCOUNTS,
                     r->err.message);
        }
        assert_false(r->duplicate);
        for (size_t i = 0; i < CUSTOS_BATCH_MAX_ACCOUNTS; i++)
            if (r->errs[i].code != CUSTOS_OK || r->res[i].state != CUSTOS_STATE_ACCEPTED)
                fail_msg("batch %zu, account %zu: %s", b, i, r->errs[i].message);
        /* The first and the last account read back as members of their batch. */
        expect_batched_latest(&l->accounts[0], &l->b);
        expect_batched_latest(&l->accounts[CUSTOS_BATCH_MAX_ACCOUNTS - 1], &l->b);
        accepted++;
    }
    assert_true(accepted >= 1);
    expect_watch_from_zero(accepted * CUSTOS_BATCH_MAX_ACCOUNTS);
    for (size_t b = 0; b < LARGE_BATCHES; b++) {
        for (size_t i = 0; i < CUSTOS_BATCH_MAX_ACCOUNTS; i++)
            custos_submission_clear(&calls[b].accounts[i]);
        free(calls[b].accounts);
        free(calls[b].r.res);
        free(calls[b].r.errs);
    }
}

/* Rule 6 over the largest batch, on a gateway serving mTLS with an admin client: every
 * account of a batch of CUSTOS_BATCH_MAX_ACCOUNTS rises beyond the breaker's bound and is
 * HELD, none streamed. A third role's own signature cannot join a batch's (refused
 * BATCH_MEMBER_MISMATCH, nothing changed). ListHeld lists them 1000 a page, oldest
 * first, each page's token leading to the next and the last page having none. The operator releases each listed record, also while
 * paging, until every account is published: Watch delivers each once and GetLatest
 * serves the released rise with the batch's signers. ListAudit then pages over the 4,096
 * release entries and ListAccounts over more registered accounts than one page, each at
 * its most per call. */
#define LIST_HELD_MAX CUSTOS_HELD_PAGE_MAX

static char PKI[1100];

/* Accounts registered beyond the large batches', so that the feed lists more than one
 * ListAccounts page of the most (10000). */
#define EXTRA_REGISTERED 2000
#define ACCOUNTS_PAGE_MAX 10000
#define AUDIT_PAGE_MAX 1000

static void register_large_tls(void)
{
    register_large();
    uint8_t(*ids)[CUSTOS_HASH_LEN] = calloc(EXTRA_REGISTERED, sizeof *ids);
    assert_non_null(ids);
    for (size_t i = 0; i < EXTRA_REGISTERED; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "EXTRA-%zu", i);
        custos_account_id(GWF_FEED, ref, ids[i]);
    }
    gwf_register_ids(&F, GWF_FEED, (const uint8_t(*)[CUSTOS_HASH_LEN])ids, EXTRA_REGISTERED);
    free(ids);
    snprintf(PKI, sizeof PKI, "%s/pki", F.dir);
    assert_int_equal(mkdir(PKI, 0700), 0);
    pki_make_ca(PKI, "ca", "Custos Test CA");
    pki_make_cert(PKI, "server", "localhost", "ca", PKI_SERVER_EXT);
    pki_make_cert(PKI, "attestor", "acme-attestor", "ca", PKI_CLIENT_EXT);
    pki_make_cert(PKI, "admin", "ops-admin", "ca", PKI_CLIENT_EXT);
    char *text = tu_read_file(F.config_path);
    assert_non_null(text);
    char *plain = strstr(text, GWF_TLS_SECTION);
    assert_non_null(plain);
    size_t cap = strlen(text) + 4096;
    char *patched = malloc(cap);
    assert_non_null(patched);
    int n = snprintf(patched, cap,
                     "%.*s[tls]\ncert = %s/server.pem\nkey = %s/server.key\nclient_ca = %s/ca.pem"
                     "\n\n%s\n[client acme-attestor]\nrole = attestor\nfeeds = " GWF_FEED "\n\n"
                     "[client ops-admin]\nrole = admin\n",
                     (int)(plain - text), text, PKI, PKI, PKI,
                     plain + strlen(GWF_TLS_SECTION));
    assert_true(n > 0 && (size_t)n < cap);
    tu_write_file(F.config_path, patched);
    free(patched);
    free(text);
    assert_true(strlen(PKI) < sizeof F.tls_dir);
    memcpy(F.tls_dir, PKI, strlen(PKI) + 1);
    snprintf(F.tls_client, sizeof F.tls_client, "attestor");
}

static int setup_large_tls(void **state)
{
    (void)state;
    BEFORE_START = register_large_tls;
    start(NULL);
    BEFORE_START = NULL;
    return 0;
}

static custos_client *admin_client(void)
{
    char ca[1200], cert[1200], key[1200];
    pki_path(PKI, "ca", ".pem", ca, sizeof ca);
    pki_path(PKI, "admin", ".pem", cert, sizeof cert);
    pki_path(PKI, "admin", ".key", key, sizeof key);
    custos_client_options o = {.target = F.target, .timeout_ms = 60000, .ca_file = ca,
                               .cert_file = cert, .key_file = key};
    custos_client *c = NULL;
    custos_error err;
    if (custos_client_open(&o, &c, &err) != CUSTOS_OK)
        fail_msg("custos_client_open: %s", err.message);
    return c;
}

static void submit_batch_all(custos_submission *accounts, uint64_t sequence,
                             custos_state want)
{
    const size_t n = CUSTOS_BATCH_MAX_ACCOUNTS;
    custos_batch b;
    custos_signature sigs[2];
    sign_batch(accounts, n, sequence, QUORUM, 2, &b, sigs);
    custos_submit_result *res = calloc(n, sizeof *res);
    custos_error *errs = calloc(n, sizeof *errs);
    assert_true(res != NULL && errs != NULL);
    bool duplicate = true;
    custos_error err;
    if (submit_batch(F.client, &b, sigs, 2, accounts, n, res, errs, &duplicate, &err) !=
        CUSTOS_OK) {
        gwf_dump_log(&F);
        fail_msg("batch %llu of %zu accounts: %s", (unsigned long long)sequence, n,
                 err.message);
    }
    assert_false(duplicate);
    for (size_t i = 0; i < n; i++)
        if (errs[i].code != CUSTOS_OK || res[i].state != want)
            fail_msg("batch %llu, account %zu: state %d, want %d: %s",
                     (unsigned long long)sequence, i, (int)res[i].state, (int)want,
                     errs[i].message);
    free(res);
    free(errs);
}

/* ListAudit at its most per call over every release: pages of AUDIT_PAGE_MAX entries,
 * numbered without a gap, each chained to the one before, one release_held entry for each
 * release; a larger limit is refused. */
static void expect_audit_pages(custos_client *admin, size_t releases)
{
    uint64_t after = 0;
    uint8_t prev[CUSTOS_AUDIT_HASH_LEN] = {0};
    size_t released = 0, full_pages = 0;
    custos_error err;
    for (;;) {
        custos_audit_entry *e = NULL;
        size_t n = 0;
        if (custos_client_list_audit(admin, after, AUDIT_PAGE_MAX, &e, &n, &err) != CUSTOS_OK)
            fail_msg("ListAudit after %llu: %s", (unsigned long long)after, err.message);
        assert_true(n <= AUDIT_PAGE_MAX);
        for (size_t k = 0; k < n; k++) {
            uint8_t hash[CUSTOS_AUDIT_HASH_LEN];
            custos_audit_hash(prev, &e[k], hash);
            if (e[k].seq != after + 1 || memcmp(e[k].prev_hash, prev, sizeof prev) != 0 ||
                memcmp(e[k].hash, hash, sizeof hash) != 0)
                fail_msg("audit entry %llu does not follow %llu", (unsigned long long)e[k].seq,
                         (unsigned long long)after);
            memcpy(prev, e[k].hash, sizeof prev);
            after = e[k].seq;
            released += strcmp(e[k].action, "release_held") == 0;
        }
        custos_audit_entry_list_free(e, n);
        if (n == 0)
            break;
        full_pages += n == AUDIT_PAGE_MAX;
    }
    assert_int_equal(released, releases);
    assert_true(full_pages >= releases / AUDIT_PAGE_MAX);
    custos_audit_entry *e = NULL;
    size_t n = 0;
    assert_int_not_equal(custos_client_list_audit(admin, 0, AUDIT_PAGE_MAX + 1, &e, &n, &err),
                         CUSTOS_OK);
    assert_non_null(strstr(err.message, "at most 1000 entries per call"));
}

/* ListAccounts at its most per call over more accounts than that: a full page, then the
 * rest, in account order without a repeat, as many as the total; a larger limit is
 * refused. */
static void expect_accounts_pages(custos_client *admin)
{
    custos_registered_account *first = NULL, *rest = NULL;
    size_t n_first = 0, n_rest = 0;
    uint64_t total = 0, total2 = 0;
    custos_error err;
    if (custos_client_list_accounts(admin, GWF_FEED, 0, ACCOUNTS_PAGE_MAX, &first, &n_first,
                                    &total, &err) != CUSTOS_OK)
        fail_msg("ListAccounts: %s", err.message);
    assert_true(total > ACCOUNTS_PAGE_MAX);
    assert_int_equal(n_first, ACCOUNTS_PAGE_MAX);
    if (custos_client_list_accounts(admin, GWF_FEED, ACCOUNTS_PAGE_MAX, ACCOUNTS_PAGE_MAX,
                                    &rest, &n_rest, &total2, &err) != CUSTOS_OK)
        fail_msg("ListAccounts from %d: %s", ACCOUNTS_PAGE_MAX, err.message);
    assert_int_equal(total2, total);
    assert_int_equal(n_first + n_rest, total);
    for (size_t i = 1; i < n_first + n_rest; i++) {
        const custos_registered_account *a = i - 1 < n_first ? &first[i - 1]
                                                             : &rest[i - 1 - n_first];
        const custos_registered_account *b = i < n_first ? &first[i] : &rest[i - n_first];
        if (memcmp(a->account, b->account, CUSTOS_HASH_LEN) >= 0)
            fail_msg("ListAccounts: account %zu is not after account %zu", i, i - 1);
    }
    free(first);
    free(rest);
    custos_registered_account *none = NULL;
    size_t n_none = 0;
    assert_int_not_equal(custos_client_list_accounts(admin, GWF_FEED, 0, ACCOUNTS_PAGE_MAX + 1,
                                                     &none, &n_none, &total, &err),
                         CUSTOS_OK);
    assert_non_null(strstr(err.message, "limit at most 10000 accounts"));
}

static void test_largest_batch_held(void **state)
{
    (void)state;
    const size_t n = CUSTOS_BATCH_MAX_ACCOUNTS;
    AS_OF = gwf_now() - 60;
    F.no_auto_register = true;
    custos_submission *accounts = calloc(n, sizeof *accounts);
    bool *released = calloc(n, sizeof *released);
    assert_true(accounts != NULL && released != NULL);
    for (size_t i = 0; i < n; i++) {
        large_ref(0, i);
        make(&accounts[i], LARGE_REF, 1, 1000000);
    }
    submit_batch_all(accounts, 1, CUSTOS_STATE_ACCEPTED);
    uint64_t head = gwf_watch_head(&F, 0, 300, NULL);
    assert_int_equal(head, n);
    /* Every account doubles: a rise of 100% beyond the 10% bound. */
    for (size_t i = 0; i < n; i++) {
        custos_submission_clear(&accounts[i]);
        large_ref(0, i);
        make(&accounts[i], LARGE_REF, 2, 2000000);
    }
    submit_batch_all(accounts, 2, CUSTOS_STATE_HELD);
    assert_int_equal(gwf_watch_head(&F, 0, 300, NULL), head);
    F.no_auto_register = false;

    /* A third role's signature over the last account's own digest. */
    custos_submission *last = &accounts[n - 1];
    gwf_sign(&F, last, GWF_KEY_ADMIN);
    gwf_answer ans;
    gwf_submit_answer(&F, last, &ans);
    if (ans.rc == CUSTOS_OK || ans.err.reason != CUSTOS_REASON_BATCH_MEMBER_MISMATCH ||
        strstr(ans.err.message, "ReleaseHeld") == NULL)
        fail_msg("a signature of its own for a batch's held account: %s state %d: %s",
                 custos_rc_name(ans.rc), (int)ans.res.state, ans.err.message);

    custos_client *admin = admin_client();
    custos_error err;
    /* Every page at once: all of them, in order. */
    custos_record *all = NULL;
    size_t n_all = 0;
    if (custos_client_list_held(admin, NULL, &all, &n_all, &err) != CUSTOS_OK)
        fail_msg("ListHeld, every page: %s", err.message);
    assert_int_equal(n_all, n);
    for (size_t k = 1; k < n_all; k++)
        if (all[k].accepted_at < all[k - 1].accepted_at ||
            (all[k].accepted_at == all[k - 1].accepted_at &&
             memcmp(all[k].digest, all[k - 1].digest, CUSTOS_HASH_LEN) <= 0))
            fail_msg("every page: record %zu is listed out of order", k);

    /* Page by page, releasing every record of a page before asking for the next, with the
     * token of the page before: a released record does not move the pages after it. */
    size_t done = 0, pages = 0;
    uint8_t token[CUSTOS_HELD_PAGE_TOKEN_LEN];
    size_t token_len = 0;
    for (;;) {
        custos_record *held = NULL;
        size_t n_held = 0;
        if (custos_client_list_held_page(admin, NULL, token, token_len, &held, &n_held, token,
                                         &token_len, &err) != CUSTOS_OK)
            fail_msg("ListHeld after %zu released: %s", done, err.message);
        size_t want = n - done < LIST_HELD_MAX ? n - done : LIST_HELD_MAX;
        if (n_held != want)
            fail_msg("ListHeld after %zu released: %zu records, want %zu", done, n_held, want);
        if ((token_len != 0) != (done + n_held < n))
            fail_msg("page %zu: a next page token %s", pages + 1,
                     token_len != 0 ? "after the last record" : "missing before the end");
        if (n_held == 0)
            break;
        pages++;
        /* Oldest first, the accounts held in one commit by digest; each account of the
         * batch is listed until it is released, with the batch's two signers only. */
        for (size_t k = 0; k < n_held; k++) {
            const custos_record *r = &held[k];
            assert_int_equal(r->state, CUSTOS_STATE_HELD);
            assert_true(r->batched);
            assert_int_equal(r->sub.att.sequence, 2);
            assert_int_equal(r->n_signers, 2);
            if (k > 0 && (r->accepted_at < held[k - 1].accepted_at ||
                          (r->accepted_at == held[k - 1].accepted_at &&
                           memcmp(r->digest, held[k - 1].digest, CUSTOS_HASH_LEN) <= 0)))
                fail_msg("page %zu: record %zu is listed out of order", pages, k);
            size_t i = 0;
            while (i < n && memcmp(accounts[i].att.account, r->sub.att.account,
                                   CUSTOS_HASH_LEN) != 0)
                i++;
            if (i == n || released[i])
                fail_msg("page %zu, record %zu: %s", pages, k,
                         i == n ? "not an account of the batch" : "listed after its release");
            if (memcmp(r->digest, all[done].digest, CUSTOS_HASH_LEN) != 0)
                fail_msg("page %zu, record %zu: not where every page at once had it", pages,
                         k);
            uint64_t audit_seq = 0;
            if (custos_client_release_held(admin, r->digest, "breaker drill", &audit_seq,
                                           &err) != CUSTOS_OK)
                fail_msg("release of account %zu: %s", i, err.message);
            released[i] = true;
            done++;
        }
        custos_record_list_free(held, n_held);
        if (token_len == 0)
            break;
    }
    custos_record_list_free(all, n_all);
    expect_audit_pages(admin, n);
    expect_accounts_pages(admin);
    custos_client_free(admin);
    assert_int_equal(pages, (n + LIST_HELD_MAX - 1) / LIST_HELD_MAX);
    assert_int_equal(done, n);
    size_t delivered = 0;
    assert_int_equal(gwf_watch_head(&F, head, 300, &delivered), head + n);
    assert_int_equal(delivered, n);
    custos_record rec;
    if (custos_client_get_latest(F.client, last->att.account, &rec, &err) != CUSTOS_OK)
        fail_msg("GetLatest of the last account: %s", err.message);
    assert_int_equal(rec.state, CUSTOS_STATE_ACCEPTED);
    assert_int_equal(rec.sub.att.sequence, 2);
    assert_true(rec.batched);
    assert_int_equal(rec.n_signers, 2);
    custos_record_clear(&rec);
    for (size_t i = 0; i < n; i++)
        custos_submission_clear(&accounts[i]);
    free(accounts);
    free(released);
}

static int pg_group_setup(void **state)
{
    (void)state;
    return tu_pg_start(&PG);
}

static int pg_group_teardown(void **state)
{
    (void)state;
    tu_pg_stop(&PG);
    return 0;
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test_setup_teardown(test_mixed_batch, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_same_batch_at_once, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_largest_batches_at_once, setup_large, teardown),
        cmocka_unit_test_setup_teardown(test_largest_batch_held, setup_large_tls, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_mixed_batch, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_largest_batches_at_once, setup_large_pg, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql", pg_tests, pg_group_setup,
                                          pg_group_teardown);
    return failed;
}
