/* Rule 6 through the real custos-gateway: a rise beyond the feed's circuit breaker
 * bound is answered HELD, is not streamed by Watch, leaves GetLatest on the last published
 * record, is listed by ListHeld (without its signatures to a caller who is not an admin;
 * a page token that no page gave is refused) and `custos held`, and is published (Watch
 * sees it) once a third role brings it to the feed's breaker_release_threshold; a fall
 * flows at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/client.h"

#include "gwfixture.h"
#include "testutil.h"

#define REF "BREAKER-GW-1"

static gwf F;
/* One asOf for the whole test, so that the same (sequence, value) is the same digest. */
static uint64_t AS_OF;

/* The fixture's config with a 10% breaker on its feed and a release quorum of three. */
static int setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    tu_edit_file(F.config_path, "distinct_roles = true\n",
                 "distinct_roles = true\nbreaker_rise_bps = 1000\nbreaker_release_threshold = 3\n");
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

static void submit(uint64_t sequence, uint64_t usd, const gwf_key_id *keys, size_t n,
                   gwf_answer *res, uint8_t account[CUSTOS_HASH_LEN])
{
    custos_submission s;
    gwf_make(&F, &s, REF, sequence, usd);
    gwf_set_times(&s, AS_OF, AS_OF + 3600);
    for (size_t i = 0; i < n; i++)
        gwf_sign(&F, &s, keys[i]);
    memcpy(account, s.att.account, CUSTOS_HASH_LEN);
    gwf_submit_answer(&F, &s, res);
    custos_submission_clear(&s);
}

static void expect_state(const gwf_answer *a, custos_state state, const char *what)
{
    if (a->rc != CUSTOS_OK || a->res.state != state)
        fail_msg("%s: %s state %d: %s", what, custos_rc_name(a->rc), (int)a->res.state,
                 a->err.message);
}

static uint64_t latest_sequence(const uint8_t account[32])
{
    custos_record rec;
    custos_error err;
    assert_int_equal(custos_client_get_latest(F.client, account, &rec, &err), CUSTOS_OK);
    uint64_t seq = rec.sub.att.sequence;
    custos_record_clear(&rec);
    return seq;
}

static void test_breaker_end_to_end(void **state)
{
    (void)state;
    static const gwf_key_id quorum[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT};
    static const gwf_key_id third[] = {GWF_KEY_ADMIN};
    uint8_t account[32];
    gwf_answer res;
    AS_OF = gwf_now() - 60;

    submit(1, 1000000, quorum, 2, &res, account);
    expect_state(&res, CUSTOS_STATE_ACCEPTED, "first valuation");
    assert_int_equal(res.res.cursor, 1);

    submit(2, 2000000, quorum, 2, &res, account);
    expect_state(&res, CUSTOS_STATE_HELD, "a rise of 100%");
    assert_int_equal(res.res.cursor, 0);
    size_t count = 0;
    assert_int_equal(gwf_watch_head(&F, 0, 300, &count), 1);
    assert_int_equal(count, 1);
    assert_int_equal(latest_sequence(account), 1);

    /* Visible as held: ListHeld, and `custos held` one JSON line with state HELD. */
    custos_record *held = NULL;
    size_t n = 0;
    custos_error err;
    assert_int_equal(custos_client_list_held(F.client, account, &held, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(held[0].state, CUSTOS_STATE_HELD);
    assert_int_equal(held[0].sub.att.sequence, 2);
    /* A plaintext gateway has no admin: its signers are listed, its signatures are not. */
    assert_int_equal(held[0].n_signers, 2);
    assert_int_equal(held[0].sub.n_sigs, 0);
    custos_record_list_free(held, n);
    /* A page token no page gave: too short, too long, or a time past the store's. */
    for (int bad = 0; bad < 3; bad++) {
        uint8_t req[2 + CUSTOS_HELD_PAGE_TOKEN_LEN + 1];
        size_t len = bad == 0 ? CUSTOS_HELD_PAGE_TOKEN_LEN - 1
                     : bad == 1 ? CUSTOS_HELD_PAGE_TOKEN_LEN + 1
                                : CUSTOS_HELD_PAGE_TOKEN_LEN;
        req[0] = 0x12; /* page_token, field 2 */
        req[1] = (uint8_t)len;
        memset(req + 2, bad == 2 ? 0x80 : 0x01, len);
        gwf_raw_result raw;
        gwf_raw_call(&F, "/custos.v1.AttestationGateway/ListHeld", req, 2 + len, &raw);
        if (raw.grpc_status != 3 || strcmp(raw.reason, "MALFORMED") != 0 ||
            strstr(raw.details, "next_page_token") == NULL)
            fail_msg("ListHeld with bad page token %d: status %d %s: %s", bad, raw.grpc_status,
                     raw.reason, raw.details);
    }
    char out[65536];
    const char *cli[] = {CUSTOS_CLI_BIN, "held", "--gateway", F.target, "--insecure", NULL};
    int rc = tu_run(cli, out, sizeof out, 0);
    if (rc != 0 || strstr(out, "\"HELD\"") == NULL || strchr(out, '\n') != strrchr(out, '\n'))
        fail_msg("custos held exited %d: %s", rc, out);

    /* The same attestation again is a duplicate; a third signer publishes it. */
    submit(2, 2000000, quorum, 2, &res, account);
    expect_state(&res, CUSTOS_STATE_HELD, "the held one again");
    assert_true(res.res.duplicate);
    submit(2, 2000000, third, 1, &res, account);
    expect_state(&res, CUSTOS_STATE_ACCEPTED, "cosigned to the release quorum");
    assert_int_equal(res.res.cursor, 2);
    assert_int_equal(res.res.signatures, 3);
    assert_int_equal(gwf_watch_head(&F, 1, 300, &count), 2);
    assert_int_equal(count, 1);
    assert_int_equal(latest_sequence(account), 2);
    assert_int_equal(custos_client_list_held(F.client, NULL, &held, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 0);
    custos_record_list_free(held, n);

    /* Another rise is held; a fall supersedes it and flows. */
    submit(3, 9000000, quorum, 2, &res, account);
    expect_state(&res, CUSTOS_STATE_HELD, "a second rise");
    submit(4, 1500000, quorum, 2, &res, account);
    expect_state(&res, CUSTOS_STATE_ACCEPTED, "a fall");
    assert_int_equal(res.res.cursor, 3);
    submit(3, 9000000, third, 1, &res, account);
    if (res.rc == CUSTOS_OK)
        fail_msg("a superseded rise was answered state %d", (int)res.res.state);
    assert_non_null(strstr(res.err.message, "superseded"));
    assert_int_equal(gwf_watch_head(&F, 0, 300, &count), 3);
    assert_int_equal(count, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_breaker_end_to_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
