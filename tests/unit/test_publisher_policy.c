/* The EVM publisher's pure parts and its durable state: the heartbeat / deviation / kind /
 * beneficiary decision table, the signature order the adapter requires, the submit
 * calldata, fee bumps, and the state (a sent row survives a reopen; the follow cursor
 * only moves onto a record whose fate is stored), in both back ends: a SQLite file, and
 * the tables of a PostgreSQL store (a real server started by this test on loopback). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "evm/evm_abi.h"
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
    a.sequence = 6;
    return a;
}

static void test_decision_table(void **state)
{
    (void)state;
    const gw_pub_policy pol = {.heartbeat_seconds = 3600, .deviation_bps = 50};
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
        gw_pub_reason got = gw_publisher_decide(&pol, lp, &a);
        if (got != cases[i].want)
            fail_msg("case '%s': got %s, want %s", cases[i].name, gw_pub_reason_name(got),
                     gw_pub_reason_name(cases[i].want));
    }
    assert_true(gw_pub_reason_publishes(GW_PUB_HEARTBEAT));
    assert_true(gw_pub_reason_publishes(GW_PUB_FIRST));
    assert_false(gw_pub_reason_publishes(GW_PUB_UNCHANGED));
    assert_false(gw_pub_reason_publishes(GW_PUB_SUPERSEDED));
    assert_false(gw_pub_reason_publishes(GW_PUB_NOT_NEWER));
}

static void test_deviation_edges(void **state)
{
    (void)state;
    gw_pub_last last = last_valuation();
    custos_attestation a = next_att();
    /* 0 bps: every record goes out, even an unchanged one. */
    gw_pub_policy every = {.heartbeat_seconds = 86400, .deviation_bps = 0};
    assert_int_equal(gw_publisher_decide(&every, &last, &a), GW_PUB_DEVIATION);
    /* From a zero value: any value is a deviation, zero is not. */
    gw_pub_policy pol = {.heartbeat_seconds = 86400, .deviation_bps = 10000};
    u256(&last.value, 0);
    u256(&a.collateral_value, 1);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a), GW_PUB_DEVIATION);
    u256(&a.collateral_value, 0);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a), GW_PUB_UNCHANGED);
    /* Exact at 100%: doubling deviates, one wei less does not. */
    u256(&last.value, 1000);
    u256(&a.collateral_value, 2000);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a), GW_PUB_DEVIATION);
    u256(&a.collateral_value, 1999);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a), GW_PUB_UNCHANGED);
    /* Near 2^256: the quotient overflows, which is a deviation, never a crash. */
    u256(&last.value, 1);
    memset(&a.collateral_value, 0xff, sizeof a.collateral_value);
    assert_int_equal(gw_publisher_decide(&pol, &last, &a), GW_PUB_DEVIATION);
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
    assert_int_equal(gw_publisher_decide(&one_bp, &last, &a), GW_PUB_DEVIATION);
    custos_u256 one;
    u256(&one, 1);
    assert_int_equal(custos_u256_sub(&a.collateral_value, &a.collateral_value, &one), CUSTOS_OK);
    assert_int_equal(gw_publisher_decide(&one_bp, &last, &a), GW_PUB_UNCHANGED);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_deviation_edges),
        cmocka_unit_test(test_signature_order),
        cmocka_unit_test(test_submit_calldata),
        cmocka_unit_test(test_fee_bump),
        cmocka_unit_test_setup_teardown(test_state_sent_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_cursor_follows_fates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_last_published, setup, teardown),
    };
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_state_sent_survives_reopen, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_state_cursor_follows_fates, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_state_last_published, setup_pg, teardown),
    };
    int failed = cmocka_run_group_tests_name("policy and sqlite state", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("postgresql state", pg_tests, pg_group_setup,
                                          pg_group_teardown);
    return failed;
}
