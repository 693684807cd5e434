/* The SQLite store's map of account ids to places (gateway/store/sqlite_ids.c): every id
 * put is found at its place until it is removed, also in long runs of ids that share a home
 * slot and runs that wrap past the table's end, whatever the order of removal; it grows;
 * it refuses a second place for an id; upto follows only places without gaps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/sqlite_ids.h"

/* Id k of a family: ids of one family differ only in bytes 0-7, which the map does not
 * hash, so all share one home slot; the family's bytes 8-15 choose that slot. */
static void family_id(uint8_t id[CUSTOS_HASH_LEN], uint64_t family, uint64_t k)
{
    memset(id, 0x5a, CUSTOS_HASH_LEN);
    memcpy(id, &k, sizeof k);
    memcpy(id + 8, &family, sizeof family);
}

/* Asserts that ids 0..n-1 of family are where place(k) says (0: absent). */
static void assert_family(gw_sqids *m, uint64_t family, size_t n, const int64_t *place)
{
    for (size_t k = 0; k < n; k++) {
        uint8_t id[CUSTOS_HASH_LEN];
        family_id(id, family, k);
        int64_t got = gw_sqids_find(m, id);
        if (got != place[k])
            fail_msg("id %zu: at %lld, want %lld", k, (long long)got, (long long)place[k]);
    }
}

/* Removal orders for a run of 12 ids of one home: first to last, last to first, from the
 * middle out, every other one. */
static const size_t removal_orders[][12] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
    {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
    {6, 5, 7, 4, 8, 3, 9, 2, 10, 1, 11, 0},
    {0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11},
};

/* Two families of 12 ids, each in one run from its home; the ids of the first are
 * removed in each order, and after every removal each id left is found at its place. */
static void test_runs_survive_removal(void **state)
{
    (void)state;
    for (size_t o = 0; o < sizeof removal_orders / sizeof removal_orders[0]; o++) {
        gw_sqids *m = gw_sqids_new();
        assert_non_null(m);
        custos_error err;
        static const uint64_t families[2] = {7, 8};
        int64_t place[2][12];
        for (size_t f = 0; f < 2; f++)
            for (size_t k = 0; k < 12; k++) {
                uint8_t id[CUSTOS_HASH_LEN];
                family_id(id, families[f], k);
                place[f][k] = (int64_t)(100 * f + k + 1);
                assert_int_equal(gw_sqids_put(m, id, place[f][k], &err), CUSTOS_OK);
            }
        assert_int_equal(gw_sqids_count(m), 24);
        for (size_t i = 0; i < 12; i++) {
            size_t k = removal_orders[o][i];
            uint8_t id[CUSTOS_HASH_LEN];
            family_id(id, families[0], k);
            gw_sqids_remove(m, id);
            gw_sqids_remove(m, id); /* gone already: nothing */
            place[0][k] = 0;
            assert_family(m, families[0], 12, place[0]);
            assert_family(m, families[1], 12, place[1]);
            assert_int_equal(gw_sqids_count(m), 24 - i - 1);
        }
        gw_sqids_free(m);
    }
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* 511 random ids fill the first table to just under half, where runs are long and some
 * wrap past its end; removed in a random order, every id left is found after each
 * removal. Several seeds. */
static void test_random_removal(void **state)
{
    (void)state;
    enum { N = 511 };
    static uint8_t ids[N][CUSTOS_HASH_LEN];
    static bool gone[N];
    for (uint64_t seed = 1; seed <= 6; seed++) {
        uint64_t x = 0x9e3779b97f4a7c15ull * seed;
        gw_sqids *m = gw_sqids_new();
        assert_non_null(m);
        custos_error err;
        for (size_t i = 0; i < N; i++) {
            for (size_t b = 0; b < CUSTOS_HASH_LEN; b += 8) {
                uint64_t r = next_random(&x);
                memcpy(ids[i] + b, &r, sizeof r);
            }
            gone[i] = false;
            assert_int_equal(gw_sqids_put(m, ids[i], (int64_t)i + 1, &err), CUSTOS_OK);
        }
        size_t order[N];
        for (size_t i = 0; i < N; i++)
            order[i] = i;
        for (size_t i = N - 1; i > 0; i--) {
            size_t j = (size_t)(next_random(&x) % (i + 1));
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t i = 0; i < N; i++) {
            gw_sqids_remove(m, ids[order[i]]);
            gone[order[i]] = true;
            for (size_t k = 0; k < N; k++) {
                int64_t want = gone[k] ? 0 : (int64_t)k + 1;
                if (gw_sqids_find(m, ids[k]) != want)
                    fail_msg("seed %llu, after %zu removals: id %zu at %lld, want %lld",
                             (unsigned long long)seed, i + 1, k,
                             (long long)gw_sqids_find(m, ids[k]), (long long)want);
            }
        }
        assert_int_equal(gw_sqids_count(m), 0);
        gw_sqids_free(m);
    }
}

/* 20,000 ids: the map grows from 1,024 slots many times over and finds every one; a
 * family of ids of one home grows with it. */
static void test_grows(void **state)
{
    (void)state;
    enum { N = 20000 };
    gw_sqids *m = gw_sqids_new();
    assert_non_null(m);
    custos_error err;
    uint64_t x = 42;
    static uint8_t ids[N][CUSTOS_HASH_LEN];
    for (size_t i = 0; i < N; i++) {
        if (i % 4 == 0) {
            family_id(ids[i], 99, i);
        } else {
            for (size_t b = 0; b < CUSTOS_HASH_LEN; b += 8) {
                uint64_t r = next_random(&x);
                memcpy(ids[i] + b, &r, sizeof r);
            }
        }
        assert_int_equal(gw_sqids_put(m, ids[i], (int64_t)i + 1, &err), CUSTOS_OK);
    }
    assert_int_equal(gw_sqids_count(m), N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(gw_sqids_find(m, ids[i]), (int64_t)i + 1);
    gw_sqids_free(m);
}

/* An id held at one place is refused at another (two rows of one account), the map
 * unchanged; put again at its own place it is accepted and counted once. Place 0 is no
 * row's. */
static void test_second_place_refused(void **state)
{
    (void)state;
    gw_sqids *m = gw_sqids_new();
    assert_non_null(m);
    custos_error err;
    uint8_t a[CUSTOS_HASH_LEN], b[CUSTOS_HASH_LEN];
    family_id(a, 1, 1);
    family_id(b, 1, 2);
    assert_int_equal(gw_sqids_put(m, a, 5, &err), CUSTOS_OK);
    assert_int_equal(gw_sqids_put(m, a, 6, &err), CUSTOS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "two rows"));
    assert_int_equal(gw_sqids_find(m, a), 5);
    assert_int_equal(gw_sqids_put(m, a, 5, &err), CUSTOS_OK);
    assert_int_equal(gw_sqids_count(m), 1);
    assert_int_equal(gw_sqids_put(m, b, 0, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(gw_sqids_put(m, b, -3, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(gw_sqids_find(m, b), 0);
    assert_int_equal(gw_sqids_count(m), 1);
    gw_sqids_free(m);
}

/* upto follows places put without a gap, is raised past gaps only when told, and lowered
 * when told; never the other way. Each row: the step, then upto. */
static void test_upto(void **state)
{
    (void)state;
    enum op { PUT, RAISE, LOWER };
    static const struct {
        enum op op;
        int64_t place;
        int64_t upto;
    } steps[] = {
        {PUT, 1, 1},  {PUT, 2, 2},   {PUT, 4, 2},   {PUT, 3, 3},  {RAISE, 4, 4},
        {RAISE, 2, 4}, {LOWER, 6, 4}, {LOWER, 2, 2}, {PUT, 3, 3}, {PUT, 9, 3},
        {RAISE, 9, 9}, {PUT, 10, 10},
    };
    gw_sqids *m = gw_sqids_new();
    assert_non_null(m);
    custos_error err;
    assert_int_equal(gw_sqids_upto(m), 0);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        uint8_t id[CUSTOS_HASH_LEN];
        family_id(id, 3, (uint64_t)steps[i].place);
        if (steps[i].op == PUT)
            assert_int_equal(gw_sqids_put(m, id, steps[i].place, &err), CUSTOS_OK);
        else if (steps[i].op == RAISE)
            gw_sqids_raise_upto(m, steps[i].place);
        else
            gw_sqids_lower_upto(m, steps[i].place);
        if (gw_sqids_upto(m) != steps[i].upto)
            fail_msg("step %zu: upto %lld, want %lld", i, (long long)gw_sqids_upto(m),
                     (long long)steps[i].upto);
    }
    gw_sqids_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_survive_removal),
        cmocka_unit_test(test_random_removal),
        cmocka_unit_test(test_grows),
        cmocka_unit_test(test_second_place_refused),
        cmocka_unit_test(test_upto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
