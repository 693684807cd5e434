/* The EVM publisher's pure parts and its durable state: the heartbeat / deviation / kind /
 * beneficiary / expiry decision table, the rises a feed's circuit breaker keeps from being
 * skipped, the case of an on-chain value left to expire
 * over Thanksgiving 2026, the signature order the adapter requires, the submit calldata,
 * fee bumps, the node failover order, and the state (a sent row survives a reopen; the
 * follow cursor only moves onto a record whose fate is stored; the chain view follows the
 * fates; promotions and re-queues; the migration of a state kept before the chain view),
 * in both back ends: a SQLite file, and the tables of a PostgreSQL store (a real server
 * started by this test on loopback). */
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
#include "custos/calendar.h"
#include "custos/hex.h"
#include "evm/evm_abi.h"
#include "evm/evm_nodes.h"
#include "evm/publisher.h"
#include "pgserver.h"
#include "store/pubstate.h"
#include "store/store.h"
#include "testutil.h"

static void u256(custos_u256 *out, uint64_t v)
{
    custos_u256_from_u64(out, v);
}

/* The last publication: a valuation of 10000 to beneficiary 0xbb.., asOf 1000, seq 5. */
static gw_pub_last last_valuation(void)
{
    gw_pub_last l;
    memset(&l, 0, sizeof l);
    l.has = true;
    l.kind = CUSTOS_KIND_VALUATION;
    memset(l.beneficiary, 0xbb, sizeof l.beneficiary);
    u256(&l.value, 10000);
    l.as_of = 1000;
    l.valid_until = 1000 + 86400;
    l.sequence = 5;
    return l;
}

static custos_attestation next_att(void)
{
    custos_attestation a;
    memset(&a, 0, sizeof a);
    a.kind = CUSTOS_KIND_VALUATION;
    memset(a.beneficiary, 0xbb, sizeof a.beneficiary);
    u256(&a.collateral_value, 10000);
    a.as_of = 1100;
    a.valid_until = 1100 + 86400;
    a.sequence = 6;
    return a;
}

/* The wall clock of the table's cases: shortly after the record's asOf, the last
 * publication far from its end. */
#define NOW 1200

static void test_decision_table(void **state)
{
    (void)state;
    const gw_pub_policy pol = {.heartbeat_seconds = 3600, .deviation_bps = 50,
                               .expiry_lead_seconds = 3600};
    gw_pub_last last = last_valuation();
    gw_pub_last none;
    memset(&none, 0, sizeof none);
    struct {
        const char *name;
        const gw_pub_last *last;
        uint8_t last_kind;
        uint8_t kind;
        uint8_t beneficiary;
        uint64_t value, as_of, sequence;
        gw_pub_reason want;
    } cases[] = {
        {"never published", &none, 0, 0, 0xbb, 10000, 1100, 6, GW_PUB_FIRST},
        {"never published, no last at all", NULL, 0, 0, 0xbb, 10000, 1100, 6, GW_PUB_FIRST},
        {"unchanged", &last, 0, 0, 0xbb, 10000, 1100, 6, GW_PUB_UNCHANGED},
        {"rise below deviation", &last, 0, 0, 0xbb, 10049, 1100, 6, GW_PUB_UNCHANGED},
        {"rise at deviation", &last, 0, 0, 0xbb, 10050, 1100, 6, GW_PUB_DEVIATION},
        {"fall below deviation", &last, 0, 0, 0xbb, 9951, 1100, 6, GW_PUB_UNCHANGED},
        {"fall at deviation", &last, 0, 0, 0xbb, 9950, 1100, 6, GW_PUB_DEVIATION},
        {"fall to zero", &last, 0, 0, 0xbb, 0, 1100, 6, GW_PUB_DEVIATION},
        {"heartbeat not due", &last, 0, 0, 0xbb, 10000, 4599, 6, GW_PUB_UNCHANGED},
        {"heartbeat due", &last, 0, 0, 0xbb, 10000, 4600, 6, GW_PUB_HEARTBEAT},
        {"asOf older than last", &last, 0, 0, 0xbb, 10000, 900, 6, GW_PUB_UNCHANGED},
        {"new beneficiary", &last, 0, 0, 0xcc, 10000, 1100, 6, GW_PUB_BENEFICIARY},
        {"release", &last, 0, 1, 0xbb, 10000, 1100, 6, GW_PUB_RELEASE},
        {"freeze", &last, 0, 2, 0xbb, 10000, 1100, 6, GW_PUB_FREEZE},
        {"valuation after freeze", &last, 2, 0, 0xbb, 10000, 1100, 6, GW_PUB_AFTER_HOLD},
        {"valuation after release", &last, 1, 0, 0xbb, 10000, 1100, 6, GW_PUB_AFTER_HOLD},
        {"same sequence", &last, 0, 2, 0xbb, 0, 1100, 5, GW_PUB_NOT_NEWER},
        {"older sequence", &last, 0, 0, 0xbb, 99999, 9999, 4, GW_PUB_NOT_NEWER},
    };
    /* Expiry (docs/publishing.md §3): the last publication (asOf 1000, validUntil 87400)
     * ends at validUntil, or after asOf + maxAge when that comes first; an unchanged record
     * that ends later is published once that is within the lead (3600 s) of now. */
    struct {
        const char *name;
        uint64_t now, max_age, valid_until;
        gw_pub_reason want;
    } expiry[] = {
        {"far from validUntil", NOW, 0, 1100 + 86400, GW_PUB_UNCHANGED},
        {"lead not reached", 87400 - 3601, 0, 1100 + 86400, GW_PUB_UNCHANGED},
        {"within the lead of validUntil", 87400 - 3600, 0, 1100 + 86400, GW_PUB_EXPIRY},
        {"validUntil passed", 87400 + 50, 0, 1100 + 86400, GW_PUB_EXPIRY},
        {"the record ends no later", 87400 - 60, 0, 87400, GW_PUB_UNCHANGED},
        {"the record ended already", 87400 + 50, 0, 87400 + 40, GW_PUB_UNCHANGED},
        /* maxAge 7200: the last reads 0 from 8201, the record holds until 8301. */
        {"maxAge first, far", NOW, 7200, 1100 + 86400, GW_PUB_UNCHANGED},
        {"maxAge first, within the lead", 8201 - 3600, 7200, 1100 + 86400, GW_PUB_EXPIRY},
        {"maxAge first, the record stale too", 8302, 7200, 1100 + 86400, GW_PUB_UNCHANGED},
    };
    for (size_t i = 0; i < sizeof expiry / sizeof expiry[0]; i++) {
        custos_attestation a = next_att();
        a.valid_until = expiry[i].valid_until;
        gw_pub_reason got =
            gw_publisher_decide(&pol, &last, &a, expiry[i].max_age, false, expiry[i].now);
        if (got != expiry[i].want)
            fail_msg("expiry case '%s': got %s, want %s", expiry[i].name,
                     gw_pub_reason_name(got), gw_pub_reason_name(expiry[i].want));
    }
    /* A deviation keeps its own reason near expiry too. */
    custos_attestation moved = next_att();
    u256(&moved.collateral_value, 20000);
    assert_int_equal(gw_publisher_decide(&pol, &last, &moved, 0, false, 87400 - 10), GW_PUB_DEVIATION);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_pub_last l;
        const gw_pub_last *lp = NULL;
        if (cases[i].last != NULL) {
            l = *cases[i].last;
            if (l.has)
                l.kind = cases[i].last_kind;
            lp = &l;
        }
        custos_attestation a = next_att();
        a.kind = cases[i].kind;
        memset(a.beneficiary, cases[i].beneficiary, sizeof a.beneficiary);
        u256(&a.collateral_value, cases[i].value);
        a.as_of = cases[i].as_of;
        a.sequence = cases[i].sequence;
        gw_pub_reason got = gw_publisher_decide(&pol, lp, &a, 0, false, NOW);
        if (got != cases[i].want)
            fail_msg("case '%s': got %s, want %s", cases[i].name, gw_pub_reason_name(got),
                     gw_pub_reason_name(cases[i].want));
    }
    assert_true(gw_pub_reason_publishes(GW_PUB_HEARTBEAT));
    assert_true(gw_pub_reason_publishes(GW_PUB_EXPIRY));
    assert_string_equal(gw_pub_reason_name(GW_PUB_EXPIRY), "expiry");
    assert_true(gw_pub_reason_publishes(GW_PUB_FIRST));
    assert_false(gw_pub_reason_publishes(GW_PUB_UNCHANGED));
    assert_false(gw_pub_reason_publishes(GW_PUB_SUPERSEDED));
    assert_false(gw_pub_reason_publishes(GW_PUB_NOT_NEWER));
}

/* Rule 10 (docs/publishing.md §3): on a feed with a circuit breaker, no valuation above the
 * last published value is skipped, so the adapter's base (its last valuation) is never
 * below the gateway's (its last accepted one); falls and unchanged values still are. The
 * last publication is 10000 at sequence 5; deviation 500 bps, as the anvil test's. */
static void test_breaker_rise(void **state)
{
    (void)state;
    const gw_pub_policy pol = {.heartbeat_seconds = 3600, .deviation_bps = 500,
                               .expiry_lead_seconds = 3600};
    gw_pub_last last = last_valuation();
    struct {
        const char *name;
        bool breaker;
        uint8_t last_kind, kind;
        uint64_t value, sequence;
        gw_pub_reason want;
        bool kept_when_superseded;
    } cases[] = {
        {"rise below deviation, breaker", true, 0, 0, 10400, 6, GW_PUB_RISE, true},
        {"rise of one wei, breaker", true, 0, 0, 10001, 6, GW_PUB_RISE, true},
        {"rise below deviation, no breaker", false, 0, 0, 10400, 6, GW_PUB_UNCHANGED, false},
        {"rise at deviation, breaker", true, 0, 0, 10500, 6, GW_PUB_DEVIATION, true},
        {"unchanged, breaker", true, 0, 0, 10000, 6, GW_PUB_UNCHANGED, false},
        {"fall below deviation, breaker", true, 0, 0, 9600, 6, GW_PUB_UNCHANGED, false},
        {"fall at deviation, breaker", true, 0, 0, 9500, 6, GW_PUB_DEVIATION, false},
        {"rise at an old sequence, breaker", true, 0, 0, 10400, 5, GW_PUB_NOT_NEWER, false},
        {"freeze, breaker", true, 0, 2, 10400, 6, GW_PUB_FREEZE, false},
        {"rise after a published freeze", true, 2, 0, 10400, 6, GW_PUB_AFTER_HOLD, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_pub_last l = last;
        l.kind = cases[i].last_kind;
        custos_attestation a = next_att();
        a.kind = cases[i].kind;
        u256(&a.collateral_value, cases[i].value);
        a.sequence = cases[i].sequence;
        gw_pub_reason got = gw_publisher_decide(&pol, &l, &a, 0, cases[i].breaker, NOW);
        if (got != cases[i].want)
            fail_msg("case '%s': got %s, want %s", cases[i].name, gw_pub_reason_name(got),
                     gw_pub_reason_name(cases[i].want));
        /* Within a batch, a record followed by a newer one of its account is skipped as
         * superseded unless it is such a rise. */
        if (gw_publisher_breaker_rise(&l, &a, cases[i].breaker) != cases[i].kept_when_superseded)
            fail_msg("case '%s': kept when superseded %d, want %d", cases[i].name,
                     !cases[i].kept_when_superseded, cases[i].kept_when_superseded);
    }
    /* Never published: the first record goes out whatever it is. */
    gw_pub_last none;
    memset(&none, 0, sizeof none);
    custos_attestation a = next_att();
    assert_int_equal(gw_publisher_decide(&pol, &none, &a, 0, true, NOW), GW_PUB_FIRST);
    assert_false(gw_publisher_breaker_rise(&none, &a, true));
    assert_false(gw_publisher_breaker_rise(NULL, &a, true));
    assert_true(gw_pub_reason_publishes(GW_PUB_RISE));
    assert_string_equal(gw_pub_reason_name(GW_PUB_RISE), "rise");
    /* The sequence 100 -> 104 -> 112 with a 1000 bps breaker: 104 goes out as a
     * rise, so the adapter bounds 112 by 104 (+7.7%) and not by 100 (+12%). */
    gw_pub_last chain = last_valuation();
    u256(&chain.value, 100);
    custos_attestation v104 = next_att();
    u256(&v104.collateral_value, 104);
    assert_int_equal(gw_publisher_decide(&pol, &chain, &v104, 0, true, NOW), GW_PUB_RISE);
    assert_int_equal(gw_publisher_decide(&pol, &chain, &v104, 0, false, NOW), GW_PUB_UNCHANGED);
    chain.value = v104.collateral_value;
    chain.sequence = v104.sequence;
    custos_attestation v112 = next_att();
    u256(&v112.collateral_value, 112);
    v112.sequence = 7;
    assert_int_equal(gw_publisher_decide(&pol, &chain, &v112, 0, true, NOW), GW_PUB_DEVIATION);
}

static void test_deviation_edges(void **state)
{
    (void)state;
    gw_pub_last last = last_valuation();
    custos_attestation a = next_att();
    /* 0 bps: every record goes out, even an unchanged one. */
    gw_pub_policy every = {.heartbeat_seconds = 86400, .deviation_bps = 0};
    assert_int_equal(gw_publisher_decide(&every, &last, &a, 0, false, NOW), GW_PUB_DEVIATION);
    /* From a zero value: any value is a deviation, zero is not. */
    gw_pub_policy pol = {.heartbeat_seconds = 86400, .deviation_bps = 10000};
    u256(&last.value, 0);
    u256(&a.collateral_value, 1);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a, 0, false, NOW), GW_PUB_DEVIATION);
    u256(&a.collateral_value, 0);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a, 0, false, NOW), GW_PUB_UNCHANGED);
    /* Exact at 100%: doubling deviates, one wei less does not. */
    u256(&last.value, 1000);
    u256(&a.collateral_value, 2000);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a, 0, false, NOW), GW_PUB_DEVIATION);
    u256(&a.collateral_value, 1999);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a, 0, false, NOW), GW_PUB_UNCHANGED);
    /* Near 2^256: the quotient overflows, which is a deviation, never a crash. */
    u256(&last.value, 1);
    memset(&a.collateral_value, 0xff, sizeof a.collateral_value);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a, 0, false, NOW), GW_PUB_DEVIATION);
    /* 1 bp of an 18-decimal value, exactly. */
    gw_pub_policy one_bp = {.heartbeat_seconds = 86400, .deviation_bps = 1};
    custos_u256 scale;
    u256(&scale, 1000000000000000000ull);
    custos_u256 base;
    u256(&base, 1000000);
    assert_int_equal(custos_u256_mul(&last.value, &base, &scale), CUSTOS_OK);
    custos_u256 step;
    u256(&step, 100);
    assert_int_equal(custos_u256_mul(&step, &step, &scale), CUSTOS_OK);
    assert_int_equal(custos_u256_add(&a.collateral_value, &last.value, &step), CUSTOS_OK);
    assert_int_equal(gw_publisher_decide(&one_bp, &last, &a, 0, false, NOW), GW_PUB_DEVIATION);
    custos_u256 one;
    u256(&one, 1);
    assert_int_equal(custos_u256_sub(&a.collateral_value, &a.collateral_value, &one), CUSTOS_OK);
    assert_int_equal(gw_publisher_decide(&one_bp, &last, &a, 0, false, NOW), GW_PUB_UNCHANGED);
}

/* A record with three signatures whose signers are out of order. */
static void make_record(custos_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->cursor = 7;
    snprintf(rec->sub.feed, sizeof rec->sub.feed, "%s", "acme-custody");
    const uint8_t first[3] = {0x90, 0x10, 0x55};
    for (size_t i = 0; i < 3; i++) {
        memset(rec->signers[i], first[i], CUSTOS_ADDRESS_LEN);
        memset(rec->sub.sigs[i].bytes, (int)(0xa0 + i), CUSTOS_SIGNATURE_LEN);
    }
    /* Differ only in the last byte from signer 0: ordering must use all 20 bytes. */
    rec->signers[2][0] = 0x90;
    rec->signers[2][19] = 0x01;
    rec->n_signers = 3;
    rec->sub.n_sigs = 3;
}

static void test_signature_order(void **state)
{
    (void)state;
    custos_record rec;
    make_record(&rec);
    uint8_t packed[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    size_t len = 0;
    custos_error err;
    assert_int_equal(gw_publisher_pack_signatures(&rec, packed, &len, &err), CUSTOS_OK);
    assert_int_equal(len, 3 * CUSTOS_SIGNATURE_LEN);
    /* Ascending: 0x10.. (sig 1), 0x90..01 (sig 2), 0x90..90 (sig 0). */
    assert_memory_equal(packed, rec.sub.sigs[1].bytes, CUSTOS_SIGNATURE_LEN);
    assert_memory_equal(packed + 65, rec.sub.sigs[2].bytes, CUSTOS_SIGNATURE_LEN);
    assert_memory_equal(packed + 130, rec.sub.sigs[0].bytes, CUSTOS_SIGNATURE_LEN);

    memcpy(rec.signers[2], rec.signers[0], CUSTOS_ADDRESS_LEN);
    assert_int_equal(gw_publisher_pack_signatures(&rec, packed, &len, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "twice"));
    make_record(&rec);
    rec.n_signers = 2;
    assert_int_equal(gw_publisher_pack_signatures(&rec, packed, &len, &err), CUSTOS_ERR_INVALID);
    rec.n_signers = 0;
    rec.sub.n_sigs = 0;
    assert_int_equal(gw_publisher_pack_signatures(&rec, packed, &len, &err), CUSTOS_ERR_INVALID);
}

static void test_submit_calldata(void **state)
{
    (void)state;
    uint8_t feed_id[32], want[32];
    gw_publisher_feed_id("acme-custody", feed_id);
    /* ethers.id("acme-custody") */
    assert_int_equal(custos_hex_decode("0xa17c8416d5c8a920da881cda99f8bf753f3c92c372a2da73d99f"
                                       "1e50ebc7e20a", want, 32, NULL), CUSTOS_OK);
    assert_memory_equal(feed_id, want, 32);

    custos_record rec;
    make_record(&rec);
    rec.sub.att.sequence = 0x0102030405060708ull;
    rec.sub.att.kind = CUSTOS_KIND_FREEZE;
    uint8_t *data = NULL;
    size_t len = 0;
    custos_error err;
    assert_int_equal(gw_publisher_encode_submit(&rec, &data, &len, &err), CUSTOS_OK);
    const uint8_t selector[4] = {0x8f, 0xae, 0x29, 0xb8};
    assert_memory_equal(data, selector, 4);
    /* Head: feedId, 9 tuple words, offset; tail: length, 195 bytes padded to 224. */
    assert_int_equal(len, 4 + 11 * 32 + 32 + 224);
    const uint8_t *w = data + 4;
    assert_memory_equal(w, feed_id, 32);
    assert_int_equal(w[4 * 32 - 1], CUSTOS_KIND_FREEZE);
    assert_int_equal(w[10 * 32 - 1], 0x08);
    assert_int_equal(w[10 * 32 - 8], 0x01);
    assert_int_equal(w[11 * 32 - 2] * 256 + w[11 * 32 - 1], 11 * 32);
    assert_int_equal(w[12 * 32 - 1], 195);
    assert_memory_equal(w + 12 * 32, rec.sub.sigs[1].bytes, CUSTOS_SIGNATURE_LEN);
    free(data);
}

static void test_fee_bump(void **state)
{
    (void)state;
    custos_u256 old, floor, cap, out, want;
    u256(&floor, 0);
    u256(&cap, 1000000);
    struct {
        uint64_t old, floor, want;
    } cases[] = {
        {8, 0, 9}, {100, 0, 113}, {800, 0, 900}, {0, 0, 1}, {1, 0, 2},
        {100, 500, 500},            /* the market moved more than 12.5% */
        {999999, 0, 1000000},       /* capped */
        {1000000, 0, 1000000},      /* already at the cap: no raise */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        u256(&old, cases[i].old);
        u256(&floor, cases[i].floor);
        gw_publisher_bump_fee(&old, &floor, &cap, &out);
        u256(&want, cases[i].want);
        if (custos_u256_cmp(&out, &want) != 0)
            fail_msg("bump of %llu (floor %llu): got %llu, want %llu",
                     (unsigned long long)cases[i].old, (unsigned long long)cases[i].floor,
                     (unsigned long long)out.limb[0], (unsigned long long)cases[i].want);
    }
}

static void check(custos_rc rc, const custos_error *err);

/* New York time on a date of the shipped calendar, as unix seconds: 23:59:59 of the day
 * less the seconds to midnight. */
static uint64_t ny_time(int year, int month, int mday, int hour, int minute)
{
    custos_day d;
    uint64_t eod = 0;
    custos_error err;
    check(custos_day_from_civil(year, month, mday, &d, &err), &err);
    check(custos_ny_end_of_day(d, &eod, &err), &err);
    return eod - (uint64_t)((23 - hour) * 3600 + (59 - minute) * 60 + 59);
}

/* validUntil under the shipped policy (ttl_business_days 1): 23:59:59 New York on the
 * business day after asOf's date, by the built-in calendar (custodian.md §4). */
static uint64_t shipped_valid_until(const custos_calendar *cal, uint64_t as_of)
{
    custos_day day, next;
    uint64_t out = 0;
    custos_error err;
    check(custos_ny_day(as_of, &day, &err), &err);
    check(custos_calendar_add_business_days(cal, day, 1, &next, &err), &err);
    check(custos_ny_end_of_day(next, &out, &err), &err);
    return out;
}

/* The case (docs/publishing.md §3): Tuesday 2026-11-24's close is published; the
 * Wednesday close on the eve of Thanksgiving (14:00, less than heartbeat_seconds later,
 * same value) is judged unchanged; the next close is Friday's at 14:00. The publisher is
 * simulated minute by minute with the shipped policy (heartbeat 86400, deviation 50,
 * expiry_lead_seconds 3600, the example adapter's maxAge of 4 days): the chain must never
 * read 0, where it read 0 from Wednesday 23:59:59 for 38 hours before the expiry rule. */
/* [evm] max_lag_records: beyond it, not at it; 0 bounds nothing; a cursor ahead of the
 * head (a replica's engine behind the shared state) is no lag. */
static void test_lagging(void **state)
{
    (void)state;
    static const struct {
        uint64_t head, cursor, max_lag;
        bool lagging;
    } cases[] = {
        {0, 0, 10, false},         {10, 0, 10, false},       {11, 0, 10, true},
        {111, 100, 10, true},      {110, 100, 10, false},    {5, 9, 1, false},
        {UINT64_MAX, 0, 0, false}, {UINT64_MAX, 0, 1, true}, {1, 0, 1, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (gw_publisher_lagging(cases[i].head, cases[i].cursor, cases[i].max_lag) !=
            cases[i].lagging)
            fail_msg("head %llu, cursor %llu, max_lag %llu: want %s",
                     (unsigned long long)cases[i].head, (unsigned long long)cases[i].cursor,
                     (unsigned long long)cases[i].max_lag,
                     cases[i].lagging ? "lagging" : "not lagging");
}

static void test_thanksgiving_2026(void **state)
{
    (void)state;
    custos_calendar cal;
    custos_error err;
    check(custos_calendar_load_builtin(&cal, &err), &err);
    const gw_pub_policy pol = {.heartbeat_seconds = 86400, .deviation_bps = 50,
                               .expiry_lead_seconds = 3600};
    const uint64_t max_age = 345600;
    struct {
        uint64_t arrives;
        custos_attestation att;
    } closes[3];
    const uint64_t as_of[3] = {ny_time(2026, 11, 24, 17, 0), ny_time(2026, 11, 25, 14, 0),
                               ny_time(2026, 11, 27, 14, 0)};
    for (size_t i = 0; i < 3; i++) {
        closes[i].att = next_att();
        closes[i].att.sequence = 10 + i;
        closes[i].att.as_of = as_of[i];
        closes[i].att.valid_until = shipped_valid_until(&cal, as_of[i]);
        closes[i].arrives = as_of[i] + 300; /* attested and accepted five minutes later */
    }
    /* The calendar makes Tuesday's value end at Wednesday 23:59:59 and Wednesday's hold
     * over Thanksgiving to Friday 23:59:59. */
    assert_int_equal(closes[0].att.valid_until, ny_time(2026, 11, 25, 23, 59) + 59);
    assert_int_equal(closes[1].att.valid_until, ny_time(2026, 11, 27, 23, 59) + 59);
    assert_true(closes[1].att.as_of - closes[0].att.as_of < pol.heartbeat_seconds);

    gw_pub_last chain;
    memset(&chain, 0, sizeof chain);
    const custos_attestation *waiting = NULL;
    uint64_t wednesday_published = 0;
    size_t next = 0;
    for (uint64_t now = closes[0].arrives; now <= closes[2].arrives + 3600; now += 60) {
        if (next < 3 && now >= closes[next].arrives) {
            const custos_attestation *a = &closes[next].att;
            gw_pub_reason why = gw_publisher_decide(&pol, &chain, a, max_age, false, now);
            if (next == 1)
                assert_int_equal(why, GW_PUB_UNCHANGED); /* as the issue observed */
            if (gw_pub_reason_publishes(why)) {
                chain.has = true;
                chain.kind = a->kind;
                memcpy(chain.beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN);
                chain.value = a->collateral_value;
                chain.as_of = a->as_of;
                chain.valid_until = a->valid_until;
                chain.sequence = a->sequence;
                waiting = NULL;
            } else {
                waiting = a;
            }
            next++;
        }
        /* The expiry scan: the waiting record goes out when the value nears its end. */
        if (waiting != NULL &&
            gw_publisher_expiry_due(&pol,
                                    gw_publisher_zero_at(chain.as_of, chain.valid_until, max_age),
                                    gw_publisher_zero_at(waiting->as_of, waiting->valid_until,
                                                         max_age),
                                    now)) {
            chain.as_of = waiting->as_of;
            chain.valid_until = waiting->valid_until;
            chain.sequence = waiting->sequence;
            wednesday_published = now;
            waiting = NULL;
        }
        uint64_t zero = gw_publisher_zero_at(chain.as_of, chain.valid_until, max_age);
        if (now >= zero)
            fail_msg("the chain reads 0 at %llu (its value ended at %llu)",
                     (unsigned long long)now, (unsigned long long)zero);
    }
    /* Published within the lead before Tuesday's value ended, not earlier. */
    assert_true(wednesday_published >= closes[0].att.valid_until - pol.expiry_lead_seconds);
    assert_true(wednesday_published < closes[0].att.valid_until);
    assert_int_equal(chain.sequence, 12);
    custos_calendar_free(&cal);
}

/* Failover order (docs/publishing.md §8): the first node up, in the order of rpc_url;
 * back to a preferred node once it answers; never a node on another chain. */
static void test_node_failover_order(void **state)
{
    (void)state;
    const char *urls[] = {"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"};
    evm_rpc_options opt = {.url = NULL};
    evm_nodes *s = NULL;
    custos_error err;
    check(evm_nodes_new(urls, 3, &opt, &s, &err), &err);
    assert_int_equal(evm_nodes_count(s), 3);
    /* Nothing known yet: the first, and every node is due a probe. */
    assert_int_equal(evm_nodes_pick(s), 0);
    for (size_t i = 0; i < 3; i++)
        assert_true(evm_nodes_probe_due(s, i, 1000, 5000));
    assert_false(evm_nodes_up(s, 0));
    for (size_t i = 0; i < 3; i++) {
        evm_nodes_report(s, i, CUSTOS_OK, 1000, 5000);
        evm_nodes_set_chain(s, i, true);
    }
    assert_true(evm_nodes_up(s, 0));
    assert_false(evm_nodes_probe_due(s, 0, 5999, 5000));
    assert_true(evm_nodes_probe_due(s, 0, 6000, 5000));
    /* Node 1 unreachable: node 2; an answer that is an error still counts as up. */
    evm_nodes_report(s, 0, CUSTOS_ERR_UNAVAILABLE, 2000, 5000);
    assert_false(evm_nodes_up(s, 0));
    assert_int_equal(evm_nodes_pick(s), 1);
    assert_int_equal(evm_nodes_all_down_since(s), 0);
    evm_nodes_report(s, 1, CUSTOS_ERR_REFUSED, 2000, 5000);
    assert_int_equal(evm_nodes_pick(s), 1);
    /* A down node's probes back off: 5 s, then 10 s. */
    assert_false(evm_nodes_probe_due(s, 0, 6999, 5000));
    assert_true(evm_nodes_probe_due(s, 0, 7000, 5000));
    evm_nodes_report(s, 0, CUSTOS_ERR_UNAVAILABLE, 7000, 5000);
    assert_false(evm_nodes_probe_due(s, 0, 16999, 5000));
    assert_true(evm_nodes_probe_due(s, 0, 17000, 5000));
    /* Node 2 on another chain: never picked, node 3 is. */
    evm_nodes_set_chain(s, 1, false);
    assert_false(evm_nodes_up(s, 1));
    assert_int_equal(evm_nodes_pick(s), 2);
    /* Node 1 answers again: preferred again. */
    evm_nodes_report(s, 0, CUSTOS_OK, 17000, 5000);
    assert_int_equal(evm_nodes_pick(s), 0);
    /* Every node unreachable: since the last went down, and the first is tried again. */
    evm_nodes_report(s, 0, CUSTOS_ERR_UNAVAILABLE, 18000, 5000);
    evm_nodes_report(s, 1, CUSTOS_ERR_UNAVAILABLE, 18500, 5000);
    evm_nodes_report(s, 2, CUSTOS_ERR_UNAVAILABLE, 19000, 5000);
    assert_int_equal(evm_nodes_all_down_since(s), 19000);
    assert_int_equal(evm_nodes_pick(s), 0);
    evm_nodes_free(s);
    /* Bounds, without echoing a URL. */
    assert_int_equal(evm_nodes_new(urls, 0, &opt, &s, &err), CUSTOS_ERR_INVALID);
    const char *bad[] = {"http://127.0.0.1:1", "ftp://key@node"};
    assert_int_equal(evm_nodes_new(bad, 2, &opt, &s, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "node 2"));
    assert_null(strstr(err.message, "key@node"));
}

/* ------------------------------------------------------------------ state */

/* path is the SQLite file, or (pg) the URI of a fresh PostgreSQL database. */
typedef struct fixture {
    bool pg;
    char dir[4096];
    char path[4200];
} fixture;

static tu_pg PG;

static int setup(void **state)
{
    static fixture f;
    f.pg = false;
    tu_mkdtemp(f.dir, sizeof f.dir);
    snprintf(f.path, sizeof f.path, "%s/pub.db", f.dir);
    *state = &f;
    return 0;
}

/* The store creates the tables (schema.c), as the gateway does before the publisher. */
static int setup_pg(void **state)
{
    static fixture f;
    f.pg = true;
    f.dir[0] = '\0';
    tu_pg_new_db(&PG, f.path, sizeof f.path);
    gw_store store;
    custos_error err;
    if (gw_store_open_pg(f.path, &store, &err) != CUSTOS_OK)
        fail_msg("gw_store_open_pg: %s", err.message);
    gw_store_close(&store);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f->pg)
        tu_rmtree(f->dir);
    return 0;
}

static int pg_group_setup(void **state)
{
    (void)state;
    if (tu_pg_start(&PG) != 0) {
        fprintf(stderr, "test_publisher_policy: the PostgreSQL server did not start\n");
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

static gw_pubstate *open_state(const fixture *f)
{
    gw_pubstate *s = NULL;
    custos_error err;
    custos_rc rc = f->pg ? gw_pubstate_open_pg(f->path, &s, &err)
                         : gw_pubstate_open_sqlite(f->path, &s, &err);
    if (rc != CUSTOS_OK)
        fail_msg("opening the publisher state: %s", err.message);
    return s;
}

static void check(custos_rc rc, const custos_error *err)
{
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", custos_rc_name(rc), err->message);
}

static void fill_row(gw_pub_row *row, uint64_t cursor, uint8_t account, uint64_t seq,
                     gw_pub_fate fate)
{
    memset(row, 0, sizeof *row);
    row->cursor = cursor;
    memset(row->account, account, sizeof row->account);
    row->sequence = seq;
    row->kind = CUSTOS_KIND_VALUATION;
    memset(row->beneficiary, 0xbe, sizeof row->beneficiary);
    u256(&row->value, 1000 + seq);
    row->as_of = UINT64_MAX - seq; /* all 64 bits survive the round trip */
    row->fate = fate;
    snprintf(row->detail, sizeof row->detail, "row %llu", (unsigned long long)cursor);
}

static uint8_t raw_bytes[300];

static void fill_tx(gw_pub_tx *tx, uint64_t nonce, uint8_t tag)
{
    memset(tx, 0, sizeof *tx);
    tx->nonce = nonce;
    u256(&tx->max_fee, 2000000000ull + tag);
    u256(&tx->priority_fee, 1000000000ull);
    tx->gas_limit = 120000;
    tx->sent_at = 1700000000;
    memset(tx->hash, tag, sizeof tx->hash);
    memset(raw_bytes, tag, sizeof raw_bytes);
    tx->raw = raw_bytes;
    tx->raw_len = sizeof raw_bytes;
}

static void test_state_sent_survives_reopen(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_pubstate *s = open_state(f);
    gw_pub_row row;
    fill_row(&row, 3, 0xa1, 9, GW_PUB_SENT);
    row.has_tx = true;
    fill_tx(&row.tx, 41, 0x5e);
    check(gw_pubstate_put(s, &row, &err), &err);
    /* A second fate for the same record is refused. */
    assert_int_equal(gw_pubstate_put(s, &row, &err), CUSTOS_ERR_INVALID);
    /* Sent needs its transaction. */
    gw_pub_row bare;
    fill_row(&bare, 4, 0xa1, 10, GW_PUB_SENT);
    assert_int_equal(gw_pubstate_put(s, &bare, &err), CUSTOS_ERR_INVALID);
    gw_pubstate_close(s);

    s = open_state(f);
    gw_pub_row got;
    check(gw_pubstate_get(s, 3, &got, &err), &err);
    assert_int_equal(got.fate, GW_PUB_SENT);
    assert_true(got.has_tx);
    assert_int_equal(got.tx.nonce, 41);
    assert_int_equal(got.sequence, 9);
    assert_true(got.as_of == UINT64_MAX - 9);
    assert_int_equal(got.tx.gas_limit, 120000);
    assert_int_equal(got.tx.sent_at, 1700000000);
    assert_int_equal(custos_u256_cmp(&got.tx.max_fee, &row.tx.max_fee), 0);
    assert_int_equal(custos_u256_cmp(&got.value, &row.value), 0);
    assert_memory_equal(got.tx.hash, row.tx.hash, 32);
    assert_int_equal(got.tx.raw_len, sizeof raw_bytes);
    assert_memory_equal(got.tx.raw, raw_bytes, sizeof raw_bytes);
    assert_string_equal(got.detail, "row 3");
    gw_pub_row_clear(&got);

    gw_pub_row *rows;
    size_t n;
    check(gw_pubstate_list_sent(s, &rows, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].cursor, 3);
    gw_pub_row_clear(&rows[0]);
    free(rows);

    /* A fee bump keeps the nonce; both hashes stay listed, newest first. */
    gw_pub_tx bumped;
    fill_tx(&bumped, 41, 0x6f);
    check(gw_pubstate_replace_tx(s, 3, &bumped, &err), &err);
    gw_pub_tx other_nonce;
    fill_tx(&other_nonce, 42, 0x70);
    assert_int_equal(gw_pubstate_replace_tx(s, 3, &other_nonce, &err), CUSTOS_ERR_INVALID);
    uint8_t hashes[GW_PUBSTATE_MAX_ATTEMPTS][32];
    check(gw_pubstate_attempts(s, 3, hashes, GW_PUBSTATE_MAX_ATTEMPTS, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_int_equal(hashes[0][0], 0x6f);
    assert_int_equal(hashes[1][0], 0x5e);
    gw_pubstate_close(s);

    s = open_state(f);
    check(gw_pubstate_get(s, 3, &got, &err), &err);
    assert_int_equal(got.tx.hash[0], 0x6f);
    assert_int_equal(got.tx.raw[0], 0x6f);
    gw_pub_row_clear(&got);
    check(gw_pubstate_finish(s, 3, GW_PUB_CONFIRMED, "mined", &err), &err);
    assert_int_equal(gw_pubstate_finish(s, 3, GW_PUB_FAILED, "again", &err), CUSTOS_ERR_INVALID);
    check(gw_pubstate_list_sent(s, &rows, &n, &err), &err);
    assert_int_equal(n, 0);
    free(rows);
    check(gw_pubstate_get(s, 3, &got, &err), &err);
    assert_int_equal(got.fate, GW_PUB_CONFIRMED);
    assert_string_equal(got.detail, "mined");
    gw_pub_row_clear(&got);
    gw_pubstate_close(s);
}

static void test_state_cursor_follows_fates(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_pubstate *s = open_state(f);
    uint64_t cursor = 99;
    check(gw_pubstate_cursor(s, &cursor, &err), &err);
    assert_int_equal(cursor, 0);
    /* No fate stored for record 1: the cursor stays. */
    assert_int_equal(gw_pubstate_advance(s, 1, &err), CUSTOS_ERR_INVALID);
    gw_pub_row row;
    fill_row(&row, 1, 0xa1, 1, GW_PUB_SKIPPED);
    check(gw_pubstate_put(s, &row, &err), &err);
    check(gw_pubstate_advance(s, 1, &err), &err);
    fill_row(&row, 2, 0xa2, 1, GW_PUB_FAILED);
    check(gw_pubstate_put(s, &row, &err), &err);
    assert_int_equal(gw_pubstate_advance(s, 3, &err), CUSTOS_ERR_INVALID);
    check(gw_pubstate_advance(s, 2, &err), &err);
    /* Never backwards, never in place. */
    assert_int_equal(gw_pubstate_advance(s, 1, &err), CUSTOS_ERR_INVALID);
    assert_int_equal(gw_pubstate_advance(s, 2, &err), CUSTOS_ERR_INVALID);
    gw_pubstate_close(s);
    s = open_state(f);
    check(gw_pubstate_cursor(s, &cursor, &err), &err);
    assert_int_equal(cursor, 2);
    assert_int_equal(gw_pubstate_get(s, 5, &row, &err), CUSTOS_ERR_NOT_FOUND);
    gw_pubstate_close(s);
}

static void test_state_last_published(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_pubstate *s = open_state(f);
    gw_pub_row row, got;
    assert_int_equal(gw_pubstate_last_published(s, (const uint8_t[32]){0xc1}, &got, &err),
                     CUSTOS_ERR_NOT_FOUND);
    fill_row(&row, 10, 0xc1, 1, GW_PUB_CONFIRMED);
    check(gw_pubstate_put(s, &row, &err), &err);
    fill_row(&row, 11, 0xc1, 2, GW_PUB_SENT);
    row.has_tx = true;
    fill_tx(&row.tx, 7, 0x11);
    check(gw_pubstate_put(s, &row, &err), &err);
    fill_row(&row, 12, 0xc1, 3, GW_PUB_SKIPPED);
    check(gw_pubstate_put(s, &row, &err), &err);
    fill_row(&row, 13, 0xc1, 4, GW_PUB_FAILED);
    check(gw_pubstate_put(s, &row, &err), &err);
    fill_row(&row, 14, 0xc2, 1, GW_PUB_CONFIRMED);
    check(gw_pubstate_put(s, &row, &err), &err);
    uint8_t account[32];
    memset(account, 0xc1, sizeof account);
    /* Skipped and failed rows are not on-chain: the sent one (sequence 2) is the last. */
    check(gw_pubstate_last_published(s, account, &got, &err), &err);
    assert_int_equal(got.cursor, 11);
    assert_int_equal(got.sequence, 2);
    gw_pub_row_clear(&got);
    check(gw_pubstate_finish(s, 11, GW_PUB_FAILED, "reverted", &err), &err);
    check(gw_pubstate_last_published(s, account, &got, &err), &err);
    assert_int_equal(got.cursor, 10);
    gw_pub_row_clear(&got);
    gw_pubstate_close(s);
}

/* A valuation row of feed "f" with realistic times: the chain view compares them in SQL. */
static void fill_chain_row(gw_pub_row *row, uint64_t cursor, uint8_t account, uint64_t seq,
                           gw_pub_fate fate, uint64_t as_of, uint64_t valid_until)
{
    fill_row(row, cursor, account, seq, fate);
    row->as_of = as_of;
    row->valid_until = valid_until;
    snprintf(row->feed, sizeof row->feed, "%s", "f");
}

static void put_chain_row(gw_pubstate *s, uint64_t cursor, uint8_t account, uint64_t seq,
                          gw_pub_fate fate, uint64_t as_of, uint64_t valid_until)
{
    gw_pub_row row;
    custos_error err;
    fill_chain_row(&row, cursor, account, seq, fate, as_of, valid_until);
    if (fate == GW_PUB_SENT) {
        row.has_tx = true;
        fill_tx(&row.tx, 100 + cursor, (uint8_t)cursor);
    }
    check(gw_pubstate_put(s, &row, &err), &err);
}

/* The chain view follows every write of the fates: each account's newest sent or confirmed
 * row; the expiry queries read it; promotions and re-queues. */
static void test_state_chain_view(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_pubstate *s = open_state(f);
    /* A: confirmed (ends 5000), then a skipped record holding until 9000. */
    put_chain_row(s, 1, 0xa0, 1, GW_PUB_CONFIRMED, 1000, 5000);
    put_chain_row(s, 2, 0xa0, 2, GW_PUB_SKIPPED, 2000, 9000);
    /* B: sent (ends 4000), then a skipped record that ended at 3000 already. */
    put_chain_row(s, 3, 0xb0, 1, GW_PUB_SENT, 1500, 4000);
    put_chain_row(s, 4, 0xb0, 2, GW_PUB_SKIPPED, 1600, 3000);
    /* C: a freeze on-chain: reads 0 on purpose, never kept alive. */
    gw_pub_row row;
    fill_chain_row(&row, 5, 0xc0, 1, GW_PUB_CONFIRMED, 1000, 2000);
    row.kind = CUSTOS_KIND_FREEZE;
    check(gw_pubstate_put(s, &row, &err), &err);
    put_chain_row(s, 6, 0xc0, 2, GW_PUB_SKIPPED, 1100, 9000);
    /* D: another feed; E: failed only, never on-chain. */
    fill_chain_row(&row, 7, 0xd0, 1, GW_PUB_CONFIRMED, 1000, 3500);
    snprintf(row.feed, sizeof row.feed, "%s", "g");
    check(gw_pubstate_put(s, &row, &err), &err);
    put_chain_row(s, 8, 0xe0, 1, GW_PUB_FAILED, 1000, 2500);

    gw_pub_expiring e[8];
    size_t n = 0;
    check(gw_pubstate_expiring(s, "f", 6000, 0, 3500, e, 8, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_int_equal(e[0].account[0], 0xa0);
    assert_int_equal(e[0].last_cursor, 1);
    assert_int_equal(e[0].last_as_of, 1000);
    assert_int_equal(e[0].last_valid_until, 5000);
    assert_int_equal(e[0].next_cursor, 2);
    assert_int_equal(e[0].next_as_of, 2000);
    assert_int_equal(e[0].next_valid_until, 9000);
    /* By asOf alone (asOf + maxAge reached first), and B's expired record still waits
     * when asked from an earlier time: soonest validUntil first. */
    check(gw_pubstate_expiring(s, "f", 0, 1500, 2000, e, 8, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].account[0], 0xb0);
    assert_int_equal(e[1].account[0], 0xa0);
    check(gw_pubstate_expiring(s, "f", 6000, 0, 3500, e, 0, &n, &err), &err);
    assert_int_equal(n, 0);

    gw_pub_chain_summary sum;
    check(gw_pubstate_chain_summary(s, "f", 4500, 0, &sum, &err), &err);
    assert_int_equal(sum.accounts, 2);
    assert_int_equal(sum.min_valid_until, 4000);
    assert_int_equal(sum.min_as_of, 1000);
    assert_int_equal(sum.matching, 1);
    check(gw_pubstate_chain_summary(s, "f", 4500, 1200, &sum, &err), &err);
    assert_int_equal(sum.matching, 2);
    check(gw_pubstate_chain_summary(s, "none", 4500, 1200, &sum, &err), &err);
    assert_int_equal(sum.accounts, 0);
    assert_int_equal(sum.min_valid_until, 0);
    char feeds[4][CUSTOS_FEED_MAX + 1];
    check(gw_pubstate_chain_feeds(s, feeds, 4, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_string_equal(feeds[0], "f");
    assert_string_equal(feeds[1], "g");

    /* A's waiting record published after all: the chain view moves to it. */
    fill_chain_row(&row, 2, 0xa0, 2, GW_PUB_SENT, 2000, 9000);
    row.has_tx = true;
    fill_tx(&row.tx, 120, 0x22);
    snprintf(row.detail, sizeof row.detail, "%s", "expiry");
    check(gw_pubstate_promote(s, &row, &err), &err);
    assert_int_equal(gw_pubstate_promote(s, &row, &err), CUSTOS_ERR_INVALID);
    row.has_tx = false;
    assert_int_equal(gw_pubstate_promote(s, &row, &err), CUSTOS_ERR_INVALID);
    check(gw_pubstate_expiring(s, "f", 6000, 0, 3500, e, 8, &n, &err), &err);
    assert_int_equal(n, 0);
    gw_pub_row got;
    uint8_t account[32];
    memset(account, 0xa0, sizeof account);
    check(gw_pubstate_last_published(s, account, &got, &err), &err);
    assert_int_equal(got.cursor, 2);
    assert_int_equal(got.valid_until, 9000);
    assert_string_equal(got.feed, "f");
    assert_string_equal(got.detail, "expiry");
    gw_pub_row_clear(&got);
    /* C's skipped record promoted to failed (the chain refused it): no transaction. */
    fill_chain_row(&row, 6, 0xc0, 2, GW_PUB_FAILED, 1100, 9000);
    check(gw_pubstate_promote(s, &row, &err), &err);
    check(gw_pubstate_get(s, 6, &got, &err), &err);
    assert_int_equal(got.fate, GW_PUB_FAILED);
    assert_false(got.has_tx);
    gw_pub_row_clear(&got);

    /* A re-queue takes another nonce; the first transaction stays listed. */
    gw_pub_tx tx;
    fill_tx(&tx, 120, 0x23);
    assert_int_equal(gw_pubstate_requeue_tx(s, 2, &tx, &err), CUSTOS_ERR_INVALID);
    fill_tx(&tx, 125, 0x24);
    check(gw_pubstate_requeue_tx(s, 2, &tx, &err), &err);
    fill_tx(&tx, 125, 0x25);
    check(gw_pubstate_replace_tx(s, 2, &tx, &err), &err);
    uint8_t hashes[GW_PUBSTATE_MAX_ATTEMPTS][32];
    check(gw_pubstate_attempts(s, 2, hashes, GW_PUBSTATE_MAX_ATTEMPTS, &n, &err), &err);
    assert_int_equal(n, 3);
    assert_int_equal(hashes[0][0], 0x25);
    assert_int_equal(hashes[1][0], 0x24);
    assert_int_equal(hashes[2][0], 0x22);
    check(gw_pubstate_get(s, 2, &got, &err), &err);
    assert_int_equal(got.tx.nonce, 125);
    gw_pub_row_clear(&got);

    /* B's publication fails: B has nothing on-chain any more. */
    check(gw_pubstate_finish(s, 3, GW_PUB_FAILED, "reverted", &err), &err);
    check(gw_pubstate_chain_summary(s, "f", 4500, 0, &sum, &err), &err);
    assert_int_equal(sum.accounts, 1);
    assert_int_equal(sum.min_valid_until, 9000);
    assert_int_equal(sum.matching, 0);
    memset(account, 0xb0, sizeof account);
    assert_int_equal(gw_pubstate_last_published(s, account, &got, &err), CUSTOS_ERR_NOT_FOUND);
    gw_pubstate_close(s);
}

/* Takes a fresh state back to what was kept before the chain view (SQLite file version 1,
 * PostgreSQL store step 8), keeping its rows. */
/* A batch call's fates (docs/publishing.md §14): the row with the transaction and its
 * members are stored together or not at all; members are sent rows without a transaction
 * of their own, listed after the transactions, and count as their accounts' last
 * publication; a batch of skipped records is promoted whole. */
static void test_state_batch_call(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_pubstate *s = open_state(f);
    gw_pub_row rows[3];
    uint8_t digest[CUSTOS_HASH_LEN];
    memset(digest, 0xbd, sizeof digest);
    for (size_t i = 0; i < 3; i++) {
        fill_chain_row(&rows[i], 10 + i, (uint8_t)(0xd0 + i), 1, GW_PUB_SENT, 1000, 5000);
        rows[i].batched = true;
        memcpy(rows[i].batch_digest, digest, sizeof digest);
        rows[i].call = i == 0 ? 0 : 10;
    }
    rows[0].has_tx = true;
    fill_tx(&rows[0].tx, 7, 0x77);
    /* A member pointing elsewhere, or one with a transaction: refused, nothing stored. */
    rows[2].call = 11;
    assert_int_equal(gw_pubstate_put_call(s, rows, 3, 3, &err), CUSTOS_ERR_INVALID);
    rows[2].call = 10;
    put_chain_row(s, 12, 0xd2, 1, GW_PUB_SKIPPED, 1000, 5000);
    assert_int_equal(gw_pubstate_put_call(s, rows, 3, 3, &err), CUSTOS_ERR_INVALID);
    gw_pub_row got;
    assert_int_equal(gw_pubstate_get(s, 10, &got, &err), CUSTOS_ERR_NOT_FOUND);
    /* Record 12, skipped before, goes out as a member with the two new ones. */
    check(gw_pubstate_put_call(s, rows, 3, 2, &err), &err);
    check(gw_pubstate_get(s, 12, &got, &err), &err);
    assert_int_equal(got.fate, GW_PUB_SENT);
    assert_int_equal(got.call, 10);
    gw_pub_row_clear(&got);
    check(gw_pubstate_finish(s, 12, GW_PUB_CONFIRMED, "", &err), &err);
    check(gw_pubstate_get(s, 11, &got, &err), &err);
    assert_true(got.batched);
    assert_memory_equal(got.batch_digest, digest, sizeof digest);
    assert_int_equal(got.call, 10);
    assert_false(got.has_tx);
    assert_int_equal(got.fate, GW_PUB_SENT);
    gw_pub_row_clear(&got);
    check(gw_pubstate_last_published(s, rows[1].account, &got, &err), &err);
    assert_int_equal(got.cursor, 11);
    gw_pub_row_clear(&got);
    gw_pub_row *sent = NULL;
    size_t n = 0;
    check(gw_pubstate_list_sent(s, &sent, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_int_equal(sent[0].cursor, 10);
    assert_true(sent[0].has_tx);
    assert_int_equal(sent[0].call, 0);
    assert_int_equal(sent[1].cursor, 11);
    for (size_t i = 0; i < n; i++)
        gw_pub_row_clear(&sent[i]);
    free(sent);
    check(gw_pubstate_finish(s, 11, GW_PUB_FAILED, "AccountRefused", &err), &err);
    check(gw_pubstate_finish(s, 10, GW_PUB_CONFIRMED, "", &err), &err);
    assert_int_equal(gw_pubstate_last_published(s, rows[1].account, &got, &err),
                     CUSTOS_ERR_NOT_FOUND);
    /* Skipped records of another batch, published after all as one call: a part. */
    put_chain_row(s, 20, 0xe0, 1, GW_PUB_SKIPPED, 1000, 5000);
    put_chain_row(s, 21, 0xe1, 1, GW_PUB_SKIPPED, 1000, 5000);
    for (size_t i = 0; i < 2; i++) {
        fill_chain_row(&rows[i], 20 + i, (uint8_t)(0xe0 + i), 1, GW_PUB_SENT, 1000, 5000);
        rows[i].batched = true;
        memcpy(rows[i].batch_digest, digest, sizeof digest);
        rows[i].call = i == 0 ? 0 : 20;
        rows[i].part = true;
    }
    rows[0].has_tx = true;
    fill_tx(&rows[0].tx, 8, 0x78);
    check(gw_pubstate_put_call(s, rows, 2, 0, &err), &err);
    check(gw_pubstate_get(s, 21, &got, &err), &err);
    assert_int_equal(got.fate, GW_PUB_SENT);
    assert_int_equal(got.call, 20);
    assert_true(got.part);
    gw_pub_row_clear(&got);
    check(gw_pubstate_get(s, 20, &got, &err), &err);
    assert_true(got.part);
    gw_pub_row_clear(&got);
    check(gw_pubstate_get(s, 10, &got, &err), &err);
    assert_false(got.part);
    gw_pub_row_clear(&got);
    gw_pubstate_close(s);
}

static void downgrade_state(const fixture *f)
{
    if (f->pg) {
        tu_pg_exec(f->path, "DROP TABLE publisher_chain");
        tu_pg_exec(f->path, "ALTER TABLE publisher_fates DROP COLUMN feed, "
                            "DROP COLUMN valid_until, DROP COLUMN batch_digest, "
                            "DROP COLUMN call_cursor, DROP COLUMN part");
        tu_pg_exec(f->path, "UPDATE custos_schema SET version = 8");
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db,
                          "DROP TABLE chain;"
                          "ALTER TABLE fates DROP COLUMN feed;"
                          "ALTER TABLE fates DROP COLUMN valid_until;"
                          "ALTER TABLE fates DROP COLUMN batch_digest;"
                          "ALTER TABLE fates DROP COLUMN call_cursor;"
                          "ALTER TABLE fates DROP COLUMN part;"
                          "PRAGMA user_version = 1;",
                          NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("downgrading the publisher state: %s", msg != NULL ? msg : "?");
    sqlite3_close(db);
}

/* A state kept before the chain view is migrated: each account's last publication enters
 * the chain view without feed or validUntil, and is listed until they are filled in. */
static void test_state_migrates_to_chain_view(void **state)
{
    fixture *f = *state;
    custos_error err;
    gw_pubstate *s = open_state(f);
    put_chain_row(s, 1, 0xa0, 1, GW_PUB_CONFIRMED, 1000, 5000);
    put_chain_row(s, 2, 0xa0, 2, GW_PUB_SKIPPED, 2000, 9000);
    put_chain_row(s, 3, 0xb0, 1, GW_PUB_SENT, 1500, 4000);
    put_chain_row(s, 4, 0xc0, 1, GW_PUB_FAILED, 1500, 4000);
    gw_pubstate_close(s);
    downgrade_state(f);
    if (f->pg) {
        /* The store's step 13 migrates the tables, as at the gateway's start. */
        gw_store store;
        check(gw_store_open_pg(f->path, &store, &err), &err);
        gw_store_close(&store);
    }
    s = open_state(f);
    uint64_t cursors[8];
    size_t n = 0;
    check(gw_pubstate_unlabelled(s, cursors, 8, &n, &err), &err);
    assert_int_equal(n, 2);
    assert_int_equal(cursors[0], 1);
    assert_int_equal(cursors[1], 3);
    char feeds[4][CUSTOS_FEED_MAX + 1];
    check(gw_pubstate_chain_feeds(s, feeds, 4, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_string_equal(feeds[0], "");
    gw_pub_row got;
    check(gw_pubstate_get(s, 2, &got, &err), &err);
    assert_string_equal(got.feed, "");
    assert_int_equal(got.valid_until, 0);
    gw_pub_row_clear(&got);
    assert_int_equal(gw_pubstate_label(s, 1, "", 5000, &err), CUSTOS_ERR_INVALID);
    check(gw_pubstate_label(s, 1, "f", 5000, &err), &err);
    check(gw_pubstate_label(s, 3, "f", 4000, &err), &err);
    check(gw_pubstate_unlabelled(s, cursors, 8, &n, &err), &err);
    assert_int_equal(n, 0);
    gw_pub_chain_summary sum;
    check(gw_pubstate_chain_summary(s, "f", 4500, 0, &sum, &err), &err);
    assert_int_equal(sum.accounts, 2);
    assert_int_equal(sum.min_valid_until, 4000);
    assert_int_equal(sum.matching, 1);
    check(gw_pubstate_get(s, 1, &got, &err), &err);
    assert_string_equal(got.feed, "f");
    assert_int_equal(got.valid_until, 5000);
    gw_pub_row_clear(&got);
    /* The fates carried over: what was sent is still tracked. */
    gw_pub_row *rows;
    check(gw_pubstate_list_sent(s, &rows, &n, &err), &err);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].cursor, 3);
    gw_pub_row_clear(&rows[0]);
    free(rows);
    gw_pubstate_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_breaker_rise),
        cmocka_unit_test(test_lagging),
        cmocka_unit_test(test_deviation_edges),
        cmocka_unit_test(test_signature_order),
        cmocka_unit_test(test_submit_calldata),
        cmocka_unit_test(test_fee_bump),
        cmocka_unit_test(test_thanksgiving_2026),
        cmocka_unit_test(test_node_failover_order),
        cmocka_unit_test_setup_teardown(test_state_sent_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_cursor_follows_fates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_last_published, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_chain_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_migrates_to_chain_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_batch_call, setup, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_state_sent_survives_reopen, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_state_cursor_follows_fates, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_state_last_published, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_state_chain_view, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_state_migrates_to_chain_view, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_state_batch_call, setup_pg, teardown),
    };
    int failed = cmocka_run_group_tests_name("policy and sqlite state", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql state", pg_tests, pg_group_setup,
                                          pg_group_teardown);
    return failed;
}
