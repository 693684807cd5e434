/* The per-client limiter: scripts of takes, stream opens and closes at given instants of
 * an injected clock, each step with its expected answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "limiter.h"

#define MS 1000000ull
#define S 1000000000ull

typedef enum op { TAKE, OPEN, CLOSE, STREAMS } op;

typedef struct step {
    op what;
    const char *client;
    uint64_t at_ns;
    uint32_t times;   /* the step repeated */
    bool ok;          /* TAKE, OPEN: every repetition's answer */
    uint32_t streams; /* STREAMS: the expected count */
} step;

typedef struct script {
    const char *name;
    uint64_t rate, burst;
    uint32_t max_streams;
    size_t max_clients;
    step steps[12];
} script;

/* One step each: TAKE_/OPEN_ repeated `times`, each answered `ok`; STREAMS_ checks the
 * count of open streams. */
#define TAKE_(cl, at, times, ok) {TAKE, cl, at, times, ok, 0}
#define OPEN_(cl, at, times, ok) {OPEN, cl, at, times, ok, 0}
#define CLOSE_(cl, times) {CLOSE, cl, 0, times, false, 0}
#define STREAMS_(cl, at, n) {STREAMS, cl, at, 1, false, n}

static const script scripts[] = {
    {"burst then refused", 10, 5, 1, 8,
     {TAKE_("a", 0, 5, true), TAKE_("a", 0, 1, false)}},
    {"refills at the rate", 10, 5, 1, 8,
     {TAKE_("a", 0, 5, true),
      TAKE_("a", 99 * MS, 1, false),   /* 0.99 of a token */
      TAKE_("a", 100 * MS, 1, true),   /* one token after 100 ms at 10/s */
      TAKE_("a", 100 * MS, 1, false),
      TAKE_("a", 400 * MS, 3, true),
      TAKE_("a", 400 * MS, 1, false)}},
    {"refill never exceeds the burst", 10, 5, 1, 8,
     {TAKE_("a", 0, 5, true), TAKE_("a", 3600 * S, 5, true), TAKE_("a", 3600 * S, 1, false)}},
    {"clients do not share a bucket", 1, 2, 1, 8,
     {TAKE_("a", 0, 2, true), TAKE_("a", 0, 1, false), TAKE_("b", 0, 2, true),
      TAKE_("b", 0, 1, false)}},
    {"clock going backwards adds nothing", 10, 2, 1, 8,
     {TAKE_("a", 5 * S, 2, true), TAKE_("a", 1 * S, 1, false), TAKE_("a", 5 * S, 1, false),
      TAKE_("a", 5 * S + 100 * MS, 1, true)}},
    {"huge rate and burst do not overflow", 1000000000, 1000000000, 1, 8,
     {TAKE_("a", 0, 3, true), TAKE_("a", UINT64_MAX, 3, true)}},
    {"streams up to the limit", 10, 10, 2, 8,
     {OPEN_("a", 0, 2, true), OPEN_("a", 0, 1, false), STREAMS_("a", 0, 2),
      OPEN_("b", 0, 2, true), CLOSE_("a", 1), OPEN_("a", 0, 1, true),
      OPEN_("a", 0, 1, false)}},
    {"closing every stream allows them again", 10, 10, 3, 8,
     {OPEN_("a", 0, 3, true), CLOSE_("a", 3), STREAMS_("a", 0, 0),
      OPEN_("a", 0, 3, true), OPEN_("a", 0, 1, false)}},
    {"extra close is harmless", 10, 10, 1, 8,
     {CLOSE_("a", 1), OPEN_("a", 0, 1, true), CLOSE_("a", 2), STREAMS_("a", 0, 0),
      OPEN_("a", 0, 1, true), OPEN_("a", 0, 1, false)}},
    {"full table refuses a newcomer while all are active", 1, 1, 1, 2,
     {TAKE_("a", 0, 1, true), OPEN_("b", 0, 1, true), TAKE_("c", 0, 1, false),
      OPEN_("c", 0, 1, false)}},
    {"idle clients make room", 1, 1, 1, 2,
     {TAKE_("a", 0, 1, true), TAKE_("b", 0, 1, true), TAKE_("c", 0, 1, false),
      TAKE_("c", 1 * S, 1, true),      /* a and b are full again: evicted */
      TAKE_("c", 1 * S, 1, false)}},
    {"a client with a stream is kept", 1, 1, 1, 2,
     {OPEN_("a", 0, 1, true), TAKE_("b", 0, 1, true), TAKE_("c", 10 * S, 1, true),
      STREAMS_("a", 10 * S, 1), OPEN_("a", 10 * S, 1, false)}},
};

static void run_script(const script *sc)
{
    gw_limiter *l = NULL;
    custos_error err;
    custos_error_clear(&err);
    if (gw_limiter_new(sc->rate, sc->burst, sc->max_streams, sc->max_clients, &l, &err) !=
        CUSTOS_OK)
        fail_msg("%s: %s", sc->name, err.message);
    for (size_t i = 0; i < sizeof sc->steps / sizeof sc->steps[0]; i++) {
        const step *st = &sc->steps[i];
        if (st->client == NULL)
            break;
        for (uint32_t k = 0; k < st->times; k++) {
            bool got = true;
            switch (st->what) {
            case TAKE: got = gw_limiter_take(l, st->client, st->at_ns); break;
            case OPEN: got = gw_limiter_stream_open(l, st->client, st->at_ns); break;
            case CLOSE: gw_limiter_stream_close(l, st->client); break;
            case STREAMS: {
                uint32_t n = gw_limiter_streams(l, st->client);
                if (n != st->streams)
                    fail_msg("%s: step %zu: %u streams, expected %u", sc->name, i, n,
                             st->streams);
                break;
            }
            }
            if ((st->what == TAKE || st->what == OPEN) && got != st->ok)
                fail_msg("%s: step %zu, repetition %u: %s, expected %s", sc->name, i, k,
                         got ? "allowed" : "refused", st->ok ? "allowed" : "refused");
        }
    }
    gw_limiter_free(l);
}

static void test_scripts(void **state)
{
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++)
        run_script(&scripts[i]);
}

static void test_long_names_are_truncated_consistently(void **state)
{
    char a[200], b[200];
    memset(a, 'x', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof b);
    b[150] = 'y'; /* beyond GW_LIMITER_NAME_MAX: the same client */
    gw_limiter *l = NULL;
    custos_error err;
    assert_int_equal(gw_limiter_new(1, 1, 1, 8, &l, &err), CUSTOS_OK);
    assert_true(gw_limiter_take(l, a, 0));
    assert_false(gw_limiter_take(l, b, 0));
    assert_true(gw_limiter_stream_open(l, a, 0));
    assert_int_equal(gw_limiter_streams(l, b), 1);
    gw_limiter_stream_close(l, b);
    assert_int_equal(gw_limiter_streams(l, a), 0);
    gw_limiter_free(l);
}

static void test_bad_parameters(void **state)
{
    static const struct {
        uint64_t rate, burst;
        uint32_t streams;
        size_t clients;
    } bad[] = {
        {0, 1, 1, 1}, {1, 0, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 0}, {1000000001, 1, 1, 1},
        {1, 1000000001, 1, 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_limiter *l = (gw_limiter *)&l;
        custos_error err;
        custos_error_clear(&err);
        assert_int_equal(gw_limiter_new(bad[i].rate, bad[i].burst, bad[i].streams,
                                        bad[i].clients, &l, &err),
                         CUSTOS_ERR_INVALID);
        assert_null(l);
        assert_non_null(strstr(err.message, "rate"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripts),
        cmocka_unit_test(test_long_names_are_truncated_consistently),
        cmocka_unit_test(test_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
