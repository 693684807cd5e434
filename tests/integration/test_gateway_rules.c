/* The gateway's rules against the real custos-gateway binary: acceptance, idempotent
 * duplicates, quorum through a cosignature, distinct roles, a custodian's freeze, and
 * every refusal reason (each must leave the store untouched), the most signatures a
 * submission may carry, the longest feed name. One gateway for the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/client.h"
#include "custos/reason.h"
#include "custos/reserves.h"
#include "custos/sig.h"

#include "gwfixture.h"
#include "pb_convert.h"
#include "pb_status.h"

static gwf F;

static int group_setup(void **state)
{
    (void)state;
    gwf_init(&F);
    gwf_write_config(&F);
    gwf_start(&F);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int status = gwf_stop(&F);
    gwf_cleanup(&F);
    if (status != 0) {
        fprintf(stderr, "custos-gateway exited with status %d after SIGTERM\n", status);
        return -1;
    }
    return 0;
}

/* ---- helpers ---- */

static void assert_u256_equal(const custos_u256 *a, const custos_u256 *b)
{
    assert_int_equal(custos_u256_cmp(a, b), 0);
}

static void assert_attestation_equal(const custos_attestation *a, const custos_attestation *b)
{
    assert_memory_equal(a->account, b->account, CUSTOS_HASH_LEN);
    assert_memory_equal(a->beneficiary, b->beneficiary, CUSTOS_ADDRESS_LEN);
    assert_int_equal(a->kind, b->kind);
    assert_u256_equal(&a->gross_value, &b->gross_value);
    assert_u256_equal(&a->collateral_value, &b->collateral_value);
    assert_memory_equal(a->positions_root, b->positions_root, CUSTOS_HASH_LEN);
    assert_int_equal(a->as_of, b->as_of);
    assert_int_equal(a->valid_until, b->valid_until);
    assert_int_equal(a->sequence, b->sequence);
}

static void assert_submission_equal(const custos_submission *got, const custos_submission *want)
{
    assert_string_equal(got->feed, want->feed);
    assert_int_equal(got->domain.chain_id, want->domain.chain_id);
    assert_memory_equal(got->domain.verifying_contract, want->domain.verifying_contract,
                        CUSTOS_ADDRESS_LEN);
    assert_attestation_equal(&got->att, &want->att);
    assert_int_equal(got->n_positions, want->n_positions);
    for (size_t i = 0; i < want->n_positions; i++) {
        const custos_position *g = &got->positions[i], *w = &want->positions[i];
        assert_string_equal(g->asset_id, w->asset_id);
        assert_u256_equal(&g->quantity, &w->quantity);
        assert_u256_equal(&g->price, &w->price);
        assert_u256_equal(&g->value, &w->value);
        assert_int_equal(g->haircut_bps, w->haircut_bps);
    }
}

/* The record's signers are exactly the given keys (any order). */
static void assert_signers(const custos_record *r, const gwf_key_id *keys, size_t n)
{
    assert_int_equal(r->n_signers, n);
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < r->n_signers; j++)
            if (memcmp(r->signers[j], F.keys[keys[i]].address, CUSTOS_ADDRESS_LEN) == 0)
                found = true;
        if (!found)
            fail_msg("signer %s missing from the record", F.keys[keys[i]].hex);
    }
}

static custos_rc get_latest(const char *account_ref, custos_record *out)
{
    uint8_t account[32];
    custos_account_id(GWF_FEED, account_ref, account);
    memset(out, 0, sizeof *out);
    custos_error err;
    custos_rc rc = custos_client_get_latest(F.client, account, out, &err);
    if (rc != CUSTOS_OK && rc != CUSTOS_ERR_NOT_FOUND)
        fail_msg("GetLatest(%s): %s (%s)", account_ref, custos_rc_name(rc), err.message);
    return rc;
}

static uint64_t head(void)
{
    return gwf_watch_head(&F, 0, 300, NULL);
}

static void sign_all(custos_submission *s, const gwf_key_id *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gwf_sign(&F, s, keys[i]);
}

/* Submits s, which the gateway must take in state. */
static void submit_ok(const custos_submission *s, custos_submit_result *r, custos_state state)
{
    custos_error err;
    if (gwf_submit(&F, s, r, &err) != CUSTOS_OK)
        fail_msg("refused: %s", err.message);
    assert_int_equal(r->state, state);
}

/* ---- what the first tests establish (later tests read it) ---- */

static const gwf_key_id PAIR[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT};

static custos_submission accepted_sub;
static custos_submit_result accepted_res;

static void test_list_signers(void **state)
{
    (void)state;
    custos_signer_info *list = NULL;
    size_t n = 0;
    custos_error err;
    assert_int_equal(custos_client_list_signers(F.client, &list, &n, &err), CUSTOS_OK);
    assert_int_equal(n, 6);
    for (size_t k = 0; k < GWF_KEY_UNKNOWN; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++) {
            if (memcmp(list[i].address, F.keys[k].address, CUSTOS_ADDRESS_LEN) != 0)
                continue;
            found = true;
            assert_int_equal(list[i].active, k != GWF_KEY_REVOKED);
            assert_string_equal(list[i].feed, k == GWF_KEY_OTHER ? GWF_OTHER_FEED : GWF_FEED);
        }
        if (!found)
            fail_msg("signer %s missing from ListSigners", F.keys[k].hex);
    }
    custos_signer_list_free(list, n);
}

static void test_accept(void **state)
{
    (void)state;
    uint64_t before = head();
    uint64_t now = gwf_now();
    gwf_make(&F, &accepted_sub, "RULES-ACCEPT", 1, 1000000);
    sign_all(&accepted_sub, PAIR, 2);
    uint8_t digest[32];
    gwf_digest(&accepted_sub, digest);

    submit_ok(&accepted_sub, &accepted_res, CUSTOS_STATE_ACCEPTED);
    assert_false(accepted_res.duplicate);
    assert_memory_equal(accepted_res.digest, digest, 32);
    assert_int_equal(accepted_res.signatures, 2);
    assert_int_equal(accepted_res.threshold, GWF_THRESHOLD);
    assert_true(accepted_res.cursor > before);

    custos_record rec;
    assert_int_equal(get_latest("RULES-ACCEPT", &rec), CUSTOS_OK);
    assert_int_equal(rec.cursor, accepted_res.cursor);
    assert_int_equal(rec.state, CUSTOS_STATE_ACCEPTED);
    assert_memory_equal(rec.digest, digest, 32);
    assert_true(rec.accepted_at + 5 >= now && rec.accepted_at <= gwf_now() + 5);
    assert_submission_equal(&rec.sub, &accepted_sub);
    assert_signers(&rec, PAIR, 2);
    custos_record_clear(&rec);

    /* Published to subscribers as the new head. */
    assert_int_equal(head(), accepted_res.cursor);
}

static void test_duplicate_is_idempotent(void **state)
{
    (void)state;
    assert_true(accepted_res.cursor > 0); /* set by test_accept */
    uint64_t before = head();
    custos_submit_result res;
    submit_ok(&accepted_sub, &res, CUSTOS_STATE_ACCEPTED);
    assert_true(res.duplicate);
    assert_int_equal(res.cursor, accepted_res.cursor);
    assert_memory_equal(res.digest, accepted_res.digest, 32);

    assert_int_equal(head(), before);
    custos_record rec;
    assert_int_equal(get_latest("RULES-ACCEPT", &rec), CUSTOS_OK);
    assert_int_equal(rec.cursor, accepted_res.cursor);
    assert_memory_equal(rec.digest, accepted_res.digest, 32);
    assert_signers(&rec, PAIR, 2);
    custos_record_clear(&rec);
}

static void test_quorum_by_cosignature(void **state)
{
    (void)state;
    uint64_t before = head();
    custos_submission s;
    gwf_make(&F, &s, "RULES-COSIGN", 1, 2500000);
    gwf_sign(&F, &s, GWF_KEY_CUSTODIAN);
    custos_submit_result r1;
    submit_ok(&s, &r1, CUSTOS_STATE_PENDING);
    assert_false(r1.duplicate);
    assert_int_equal(r1.signatures, 1);
    assert_int_equal(r1.threshold, GWF_THRESHOLD);
    assert_int_equal(r1.cursor, 0);

    custos_record rec;
    assert_int_equal(get_latest("RULES-COSIGN", &rec), CUSTOS_ERR_NOT_FOUND);
    assert_int_equal(head(), before);

    /* The cosigner sends the same attestation carrying only its own signature. */
    gwf_clear_sigs(&s);
    gwf_sign(&F, &s, GWF_KEY_AGENT);
    custos_submit_result r2;
    submit_ok(&s, &r2, CUSTOS_STATE_ACCEPTED);
    assert_int_equal(r2.signatures, 2);
    assert_int_equal(r2.threshold, GWF_THRESHOLD);
    assert_memory_equal(r2.digest, r1.digest, 32);
    assert_true(r2.cursor > before);

    assert_int_equal(get_latest("RULES-COSIGN", &rec), CUSTOS_OK);
    assert_int_equal(rec.cursor, r2.cursor);
    assert_memory_equal(rec.digest, r1.digest, 32);
    assert_submission_equal(&rec.sub, &s);
    assert_signers(&rec, PAIR, 2);
    custos_record_clear(&rec);
    assert_int_equal(head(), r2.cursor);
    custos_submission_clear(&s);
}

static void test_distinct_roles_required(void **state)
{
    (void)state;
    uint64_t before = head();
    custos_submission s;
    gwf_make(&F, &s, "RULES-ROLES", 1, 750000);
    const gwf_key_id two_custodians[] = {GWF_KEY_CUSTODIAN, GWF_KEY_CUSTODIAN2};
    sign_all(&s, two_custodians, 2);
    custos_submit_result r1;
    /* Two signers but one role: still waiting. */
    submit_ok(&s, &r1, CUSTOS_STATE_PENDING);
    assert_int_equal(r1.cursor, 0);
    custos_record rec;
    assert_int_equal(get_latest("RULES-ROLES", &rec), CUSTOS_ERR_NOT_FOUND);
    assert_int_equal(head(), before);

    /* A fund administrator brings the second role. */
    gwf_clear_sigs(&s);
    gwf_sign(&F, &s, GWF_KEY_ADMIN);
    custos_submit_result r2;
    submit_ok(&s, &r2, CUSTOS_STATE_ACCEPTED);
    assert_true(r2.cursor > before);
    assert_int_equal(get_latest("RULES-ROLES", &rec), CUSTOS_OK);
    assert_int_equal(rec.cursor, r2.cursor);
    const gwf_key_id all[] = {GWF_KEY_CUSTODIAN, GWF_KEY_CUSTODIAN2, GWF_KEY_ADMIN};
    assert_signers(&rec, all, 3);
    custos_record_clear(&rec);
    custos_submission_clear(&s);
}

static void test_freeze_by_custodian_alone(void **state)
{
    (void)state;
    custos_submission v;
    gwf_make(&F, &v, "RULES-FREEZE", 1, 400000);
    sign_all(&v, PAIR, 2);
    custos_submit_result rv;
    submit_ok(&v, &rv, CUSTOS_STATE_ACCEPTED);

    /* The freeze voids the value: no positions, zero values, one signature. */
    custos_submission fz;
    gwf_make(&F, &fz, "RULES-FREEZE", 2, 0);
    free(fz.positions);
    fz.positions = NULL;
    fz.n_positions = 0;
    fz.att.kind = CUSTOS_KIND_FREEZE;
    memset(fz.att.positions_root, 0, sizeof fz.att.positions_root);
    gwf_sign(&F, &fz, GWF_KEY_CUSTODIAN);
    custos_submit_result rf;
    submit_ok(&fz, &rf, CUSTOS_STATE_ACCEPTED);
    assert_int_equal(rf.signatures, 1);
    assert_true(rf.cursor > rv.cursor);

    custos_record rec;
    assert_int_equal(get_latest("RULES-FREEZE", &rec), CUSTOS_OK);
    assert_int_equal(rec.cursor, rf.cursor);
    assert_int_equal(rec.sub.att.kind, CUSTOS_KIND_FREEZE);
    assert_int_equal(rec.sub.att.sequence, 2);
    const gwf_key_id one[] = {GWF_KEY_CUSTODIAN};
    assert_signers(&rec, one, 1);
    custos_record_clear(&rec);
    custos_submission_clear(&v);
    custos_submission_clear(&fz);
}

/* A freeze of ref signed by key alone under feed (no positions, zero values). */
static void make_freeze(custos_submission *fz, const char *ref, uint64_t sequence,
                        const char *feed, gwf_key_id key)
{
    gwf_make(&F, fz, ref, sequence, 0);
    snprintf(fz->feed, sizeof fz->feed, "%s", feed);
    free(fz->positions);
    fz->positions = NULL;
    fz->n_positions = 0;
    fz->att.kind = CUSTOS_KIND_FREEZE;
    memset(fz->att.positions_root, 0, sizeof fz->att.positions_root);
    memset(&fz->att.gross_value, 0, sizeof fz->att.gross_value);
    memset(&fz->att.collateral_value, 0, sizeof fz->att.collateral_value);
    gwf_sign(&F, fz, key);
}

static void expect_refused(const custos_submission *s, custos_reason reason, const char *detail)
{
    custos_submit_result r;
    custos_error err;
    custos_rc rc = gwf_submit(&F, s, &r, &err);
    if (rc != CUSTOS_ERR_REFUSED || err.reason != reason)
        fail_msg("got %s (%s), want %s", custos_rc_name(rc), err.message,
                 custos_reason_name(reason));
    if (detail != NULL && strstr(err.message, detail) == NULL)
        fail_msg("detail lacks '%s': %s", detail, err.message);
}

/* Rule 9, account squatting: a custodian key of another feed, alone, cannot freeze
 * an account of acme that was never used, and acme's own quorum is accepted after it. An
 * account no feed registered is refused whoever signs. */
static void test_squatting_freeze_refused(void **state)
{
    (void)state;
    custos_submission fz;
    make_freeze(&fz, "RULES-SQUAT", 1, GWF_OTHER_FEED, GWF_KEY_OTHER);
    expect_refused(&fz, CUSTOS_REASON_ACCOUNT_OF_OTHER_FEED, "registered to feed '" GWF_FEED "'");
    custos_submission_clear(&fz);

    custos_submission v;
    gwf_make(&F, &v, "RULES-SQUAT", 1, 500000);
    sign_all(&v, PAIR, 2);
    custos_submit_result rv;
    submit_ok(&v, &rv, CUSTOS_STATE_ACCEPTED);
    custos_submission_clear(&v);
    make_freeze(&fz, "RULES-SQUAT", 2, GWF_FEED, GWF_KEY_CUSTODIAN);
    custos_submit_result rf;
    submit_ok(&fz, &rf, CUSTOS_STATE_ACCEPTED);
    custos_submission_clear(&fz);

    /* Never registered: refused, a freeze by acme's own custodian included. */
    F.no_auto_register = true;
    make_freeze(&fz, "RULES-NOBODY", 1, GWF_FEED, GWF_KEY_CUSTODIAN);
    F.no_auto_register = false;
    expect_refused(&fz, CUSTOS_REASON_UNREGISTERED_ACCOUNT, "not registered to any feed");
    custos_submission_clear(&fz);
}

/* The freshness limits are inclusive; each case is far enough from the boundary on the
 * side the clock moves that the gateway's later reading of it cannot flip the result. */
static void test_freshness_limits_inclusive(void **state)
{
    (void)state;
    static const struct {
        const char *ref;
        int64_t as_of_from_now;
        int64_t ttl;
    } cases[] = {
        {"RULES-TTL-EXACT", -60, GWF_MAX_TTL},           /* validUntil - asOf == max_ttl */
        {"RULES-SKEW-EXACT", GWF_MAX_SKEW, 3600},         /* asOf == now + max_skew */
        {"RULES-AGE-NEAR", -(GWF_MAX_AGE - 30), GWF_MAX_AGE}, /* 30 s inside max_age */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t now = gwf_now();
        custos_submission s;
        gwf_make(&F, &s, cases[i].ref, 1, 1000);
        uint64_t as_of = (uint64_t)((int64_t)now + cases[i].as_of_from_now);
        gwf_set_times(&s, as_of, as_of + (uint64_t)cases[i].ttl);
        sign_all(&s, PAIR, 2);
        custos_submit_result r;
        custos_error err;
        custos_rc rc = gwf_submit(&F, &s, &r, &err);
        custos_submission_clear(&s);
        if (rc != CUSTOS_OK || r.state != CUSTOS_STATE_ACCEPTED)
            fail_msg("%s: want ACCEPTED, got %s state %d: %s", cases[i].ref, custos_rc_name(rc),
                     (int)r.state, err.message);
    }
}

/* ---- refusals ---- */

#define REFUSE_REF "RULES-REFUSE"
#define BASE_SEQ 10

/* secp256k1 group order n, big-endian. */
static const uint8_t CURVE_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
    0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

/* s := n - s and flip v: the same signer, but the high-s twin EIP-2 forbids. */
static void make_high_s(custos_signature *sig)
{
    uint8_t *s = sig->bytes + 32;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = (int)CURVE_N[i] - (int)s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
    sig->bytes[64] = sig->bytes[64] == 27 ? 28 : 27;
}

typedef struct row_ctx {
    uint64_t seq;
    uint64_t now;
} row_ctx;

typedef void (*build_fn)(custos_submission *s, const row_ctx *c);
/* Raw rows build the wire bytes themselves (what custos_client cannot send). */
typedef void (*build_raw_fn)(const row_ctx *c, uint8_t **buf, size_t *len);

static void signed_pair(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 123456);
    sign_all(s, PAIR, 2);
}

static void b_stale(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    gwf_set_times(s, c->now - GWF_MAX_AGE - 600, c->now + 3600);
    sign_all(s, PAIR, 2);
}
static void b_future(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    gwf_set_times(s, c->now + GWF_MAX_SKEW + 600, c->now + GWF_MAX_SKEW + 4200);
    sign_all(s, PAIR, 2);
}
static void b_expired(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    gwf_set_times(s, c->now - 3600, c->now - 60);
    sign_all(s, PAIR, 2);
}
/* validUntil <= now is void: equality included (the gateway's clock is not behind ours). */
static void b_expires_now(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    gwf_set_times(s, c->now - 3600, c->now);
    sign_all(s, PAIR, 2);
}
static void b_ttl(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    gwf_set_times(s, c->now - 60, c->now - 60 + GWF_MAX_TTL + 1);
    sign_all(s, PAIR, 2);
}
static void b_high_s(custos_submission *s, const row_ctx *c)
{
    signed_pair(s, c);
    make_high_s(&s->sigs[0]);
}
static void b_high_s_alone(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    gwf_sign(&F, s, GWF_KEY_AGENT);
    make_high_s(&s->sigs[0]);
}
static void b_v29(custos_submission *s, const row_ctx *c)
{
    signed_pair(s, c);
    s->sigs[1].bytes[64] = 29;
}
static void b_v0(custos_submission *s, const row_ctx *c)
{
    signed_pair(s, c);
    s->sigs[0].bytes[64] -= 27; /* the raw 0/1 recovery id some signers emit */
}
static void b_r_zero(custos_submission *s, const row_ctx *c)
{
    signed_pair(s, c);
    memset(s->sigs[0].bytes, 0, 32);
}
static void b_r_order(custos_submission *s, const row_ctx *c)
{
    signed_pair(s, c);
    memcpy(s->sigs[0].bytes, CURVE_N, 32);
}
static void b_s_zero(custos_submission *s, const row_ctx *c)
{
    signed_pair(s, c);
    memset(s->sigs[1].bytes + 32, 0, 32);
}
/* An r that is no curve point's x coordinate: nothing recovers from it. */
static void b_unrecoverable(custos_submission *s, const row_ctx *c)
{
    signed_pair(s, c);
    uint8_t digest[32];
    gwf_digest(s, digest);
    custos_signature sig;
    bool found = false;
    for (uint8_t x = 1; x < 200 && !found; x++) {
        memset(&sig, 0, sizeof sig);
        sig.bytes[31] = x;
        sig.bytes[63] = 1;
        sig.bytes[64] = 27;
        uint8_t addr[20];
        custos_error err;
        found = custos_recover_address(F.secp, digest, &sig, addr, &err) == CUSTOS_ERR_CRYPTO;
    }
    assert_true(found);
    s->sigs[0] = sig;
}
static void b_unknown(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    const gwf_key_id k[] = {GWF_KEY_CUSTODIAN, GWF_KEY_UNKNOWN};
    sign_all(s, k, 2);
}
static void b_unknown_alone(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    gwf_sign(&F, s, GWF_KEY_UNKNOWN);
}
static void b_revoked(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    const gwf_key_id k[] = {GWF_KEY_CUSTODIAN, GWF_KEY_REVOKED};
    sign_all(s, k, 2);
}
static void b_unauthorized(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    const gwf_key_id k[] = {GWF_KEY_OTHER, GWF_KEY_AGENT};
    sign_all(s, k, 2);
}
static void b_dup_signer(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    const gwf_key_id k[] = {GWF_KEY_CUSTODIAN, GWF_KEY_CUSTODIAN};
    sign_all(s, k, 2);
}
static void b_chain(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    s->domain.chain_id = 1;
    sign_all(s, PAIR, 2);
}
static void b_contract(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    s->domain.verifying_contract[19] ^= 0x01;
    sign_all(s, PAIR, 2);
}
static void b_feed(custos_submission *s, const row_ctx *c)
{
    gwf_make(&F, s, REFUSE_REF, c->seq, 1);
    snprintf(s->feed, sizeof s->feed, "no-such-feed");
    sign_all(s, PAIR, 2);
}
static void b_replay_same_seq(custos_submission *s, const row_ctx *c)
{
    (void)c;
    gwf_make(&F, s, REFUSE_REF, BASE_SEQ, 999); /* a different value at the last sequence */
    sign_all(s, PAIR, 2);
}
static void b_replay_lower_seq(custos_submission *s, const row_ctx *c)
{
    (void)c;
    gwf_make(&F, s, REFUSE_REF, BASE_SEQ - 3, 999);
    sign_all(s, PAIR, 2);
}

static void pack_doctored(const row_ctx *c, void (*doctor)(gwf_pb *), size_t padding,
                          uint8_t **buf, size_t *len)
{
    custos_submission s;
    signed_pair(&s, c);
    gwf_pb *p = gwf_pb_new(&s);
    doctor(p);
    gwf_pb_pack_request(p, padding, buf, len);
    gwf_pb_free(p);
    custos_submission_clear(&s);
}

static void d_no_sigs(gwf_pb *p) { gwf_pb_set_sig_count(p, 0); }
static void d_kind3(gwf_pb *p) { gwf_pb_set_kind(p, 3); }
static void d_account31(gwf_pb *p) { gwf_pb_set_len(p, GWF_PB_ACCOUNT, 31); }
static void d_beneficiary21(gwf_pb *p) { gwf_pb_set_len(p, GWF_PB_BENEFICIARY, 21); }
static void d_gross33(gwf_pb *p) { gwf_pb_set_len(p, GWF_PB_GROSS, 33); }
static void d_root0(gwf_pb *p) { gwf_pb_set_len(p, GWF_PB_ROOT, 0); }
static void d_contract19(gwf_pb *p) { gwf_pb_set_len(p, GWF_PB_CONTRACT, 19); }
static void d_sig64(gwf_pb *p) { gwf_pb_set_len(p, GWF_PB_SIG0, 64); }
static void d_price31(gwf_pb *p) { gwf_pb_set_len(p, GWF_PB_POS0_PRICE, 31); }
static void d_17_sigs(gwf_pb *p) { gwf_pb_set_sig_count(p, CUSTOS_MAX_SIGNATURES + 1); }
static void d_none(gwf_pb *p) { (void)p; }

static void r_no_sigs(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_no_sigs, 0, b, l); }
static void r_kind3(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_kind3, 0, b, l); }
static void r_account31(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_account31, 0, b, l); }
static void r_beneficiary21(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_beneficiary21, 0, b, l); }
static void r_gross33(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_gross33, 0, b, l); }
static void r_root0(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_root0, 0, b, l); }
static void r_contract19(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_contract19, 0, b, l); }
static void r_sig64(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_sig64, 0, b, l); }
static void r_price31(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_price31, 0, b, l); }
static void r_17_sigs(const row_ctx *c, uint8_t **b, size_t *l) { pack_doctored(c, d_17_sigs, 0, b, l); }
/* A well-formed attestation carried in a message just over max_message_bytes. */
static void r_oversize(const row_ctx *c, uint8_t **b, size_t *l)
{
    pack_doctored(c, d_none, GWF_MAX_MESSAGE_BYTES + 1024, b, l);
}
static void r_garbage(const row_ctx *c, uint8_t **b, size_t *l)
{
    (void)c;
    static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02, 0x03};
    *b = malloc(sizeof junk);
    assert_non_null(*b);
    memcpy(*b, junk, sizeof junk);
    *l = sizeof junk;
}

typedef struct refusal_row {
    const char *name;
    custos_reason reason;
    build_fn build;          /* sent with custos_client_submit */
    build_raw_fn build_raw;  /* or as raw bytes */
} refusal_row;

static const refusal_row REFUSALS[] = {
    {"asOf older than max_age", CUSTOS_REASON_STALE, b_stale, NULL},
    {"asOf beyond max_skew", CUSTOS_REASON_FUTURE, b_future, NULL},
    {"validUntil in the past", CUSTOS_REASON_EXPIRED, b_expired, NULL},
    {"validUntil = now", CUSTOS_REASON_EXPIRED, b_expires_now, NULL},
    {"validUntil - asOf over max_ttl", CUSTOS_REASON_TTL_TOO_LONG, b_ttl, NULL},
    {"high-s beside a good signature", CUSTOS_REASON_NON_CANONICAL_SIGNATURE, b_high_s, NULL},
    {"high-s alone", CUSTOS_REASON_NON_CANONICAL_SIGNATURE, b_high_s_alone, NULL},
    {"v = 29", CUSTOS_REASON_NON_CANONICAL_SIGNATURE, b_v29, NULL},
    {"v = 0/1", CUSTOS_REASON_NON_CANONICAL_SIGNATURE, b_v0, NULL},
    {"r = 0", CUSTOS_REASON_BAD_SIGNATURE, b_r_zero, NULL},
    {"r = n", CUSTOS_REASON_BAD_SIGNATURE, b_r_order, NULL},
    {"s = 0", CUSTOS_REASON_BAD_SIGNATURE, b_s_zero, NULL},
    {"r not on the curve", CUSTOS_REASON_BAD_SIGNATURE, b_unrecoverable, NULL},
    {"unknown signer beside a good one", CUSTOS_REASON_UNKNOWN_SIGNER, b_unknown, NULL},
    {"unknown signer alone", CUSTOS_REASON_UNKNOWN_SIGNER, b_unknown_alone, NULL},
    {"revoked signer", CUSTOS_REASON_REVOKED_SIGNER, b_revoked, NULL},
    {"signer of another feed", CUSTOS_REASON_UNAUTHORIZED_SIGNER, b_unauthorized, NULL},
    {"same signer twice", CUSTOS_REASON_DUPLICATE_SIGNER, b_dup_signer, NULL},
    {"other chain id", CUSTOS_REASON_WRONG_DOMAIN, b_chain, NULL},
    {"other verifying contract", CUSTOS_REASON_WRONG_DOMAIN, b_contract, NULL},
    {"unknown feed", CUSTOS_REASON_UNKNOWN_FEED, b_feed, NULL},
    {"other value at the last sequence", CUSTOS_REASON_REPLAY, b_replay_same_seq, NULL},
    {"lower sequence", CUSTOS_REASON_REPLAY, b_replay_lower_seq, NULL},
    {"no signatures", CUSTOS_REASON_MALFORMED, NULL, r_no_sigs},
    {"kind 3", CUSTOS_REASON_MALFORMED, NULL, r_kind3},
    {"account of 31 bytes", CUSTOS_REASON_MALFORMED, NULL, r_account31},
    {"beneficiary of 21 bytes", CUSTOS_REASON_MALFORMED, NULL, r_beneficiary21},
    {"grossValue of 33 bytes", CUSTOS_REASON_MALFORMED, NULL, r_gross33},
    {"empty positionsRoot", CUSTOS_REASON_MALFORMED, NULL, r_root0},
    {"verifying contract of 19 bytes", CUSTOS_REASON_MALFORMED, NULL, r_contract19},
    {"signature of 64 bytes", CUSTOS_REASON_MALFORMED, NULL, r_sig64},
    {"position price of 31 bytes", CUSTOS_REASON_MALFORMED, NULL, r_price31},
    {"not a protobuf message", CUSTOS_REASON_MALFORMED, NULL, r_garbage},
    {"17 signatures", CUSTOS_REASON_TOO_LARGE, NULL, r_17_sigs},
    {"message over max_message_bytes", CUSTOS_REASON_TOO_LARGE, NULL, r_oversize},
};

static bool signer_lists_equal(const custos_signer_info *a, size_t na,
                               const custos_signer_info *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (memcmp(a[i].address, b[i].address, CUSTOS_ADDRESS_LEN) != 0 ||
            strcmp(a[i].feed, b[i].feed) != 0 || strcmp(a[i].role, b[i].role) != 0 ||
            a[i].active != b[i].active)
            return false;
    return true;
}

static void test_refusals_change_nothing(void **state)
{
    (void)state;
    /* The account every row targets has an accepted attestation at BASE_SEQ. */
    custos_submission base;
    gwf_make(&F, &base, REFUSE_REF, BASE_SEQ, 5000000);
    sign_all(&base, PAIR, 2);
    custos_submit_result rb;
    submit_ok(&base, &rb, CUSTOS_STATE_ACCEPTED);
    custos_submission_clear(&base);

    custos_error err;
    custos_signer_info *signers0 = NULL;
    size_t n_signers0 = 0;
    assert_int_equal(custos_client_list_signers(F.client, &signers0, &n_signers0, &err),
                     CUSTOS_OK);

    size_t failures = 0;
    size_t n_rows = sizeof REFUSALS / sizeof REFUSALS[0];
    for (size_t i = 0; i < n_rows; i++) {
        const refusal_row *row = &REFUSALS[i];
        /* Each row gets its own higher sequence, so a wrongly accepted row cannot turn
         * the following rows into replays. */
        row_ctx c = {BASE_SEQ + 1 + i, gwf_now()};
        custos_record before;
        assert_int_equal(get_latest(REFUSE_REF, &before), CUSTOS_OK);
        uint64_t head_before = head();

        /* On the wire: the status and custos-reason trailer of the table in pb_status.c.
         * Through custos_client_submit (rows it can express): the client's rule, a
         * refusal (NOT_FOUND for an unknown feed) with the reason and the detail. */
        bool ok = true;
        uint8_t *buf = NULL;
        size_t len = 0;
        custos_rc rc = CUSTOS_ERR_REFUSED;
        custos_error err_client;
        custos_error_clear(&err_client);
        if (row->build != NULL) {
            custos_submission s;
            row->build(&s, &c);
            custos_submit_result r;
            rc = gwf_submit(&F, &s, &r, &err_client);
            gwf_pb *p = gwf_pb_new(&s);
            gwf_pb_pack_request(p, 0, &buf, &len);
            gwf_pb_free(p);
            custos_submission_clear(&s);
        } else {
            row->build_raw(&c, &buf, &len);
        }
        gwf_raw_result raw;
        gwf_raw_call(&F, "/custos.v1.AttestationGateway/Submit", buf, len, &raw);
        free(buf);

        int want_status = (int)pb_reason_status(row->reason);
        if (raw.grpc_status != want_status ||
            custos_reason_from_name(raw.reason) != row->reason || raw.details[0] == '\0') {
            print_error("row %zu (%s): want %s/grpc %d with a detail; got %s/grpc %d \"%s\"\n",
                        i, row->name, custos_reason_name(row->reason), want_status, raw.reason,
                        raw.grpc_status, raw.details);
            ok = false;
        }
        custos_rc want_rc = row->reason == CUSTOS_REASON_UNKNOWN_FEED ? CUSTOS_ERR_NOT_FOUND
                                                                     : CUSTOS_ERR_REFUSED;
        char want_prefix[128], want_reason[64];
        snprintf(want_prefix, sizeof want_prefix, "gateway %s: Submit: ", F.target);
        snprintf(want_reason, sizeof want_reason, " (reason %s)",
                 custos_reason_name(row->reason));
        if (row->build != NULL &&
            (rc != want_rc || err_client.reason != row->reason ||
             strncmp(err_client.message, want_prefix, strlen(want_prefix)) != 0 ||
             strstr(err_client.message, want_reason) == NULL)) {
            print_error("row %zu (%s): the client wants %s/%s with the detail; got %s: %s\n",
                        i, row->name, custos_rc_name(want_rc), custos_reason_name(row->reason),
                        custos_rc_name(rc), err_client.message);
            ok = false;
        }

        custos_record after;
        assert_int_equal(get_latest(REFUSE_REF, &after), CUSTOS_OK);
        if (after.cursor != before.cursor ||
            memcmp(after.digest, before.digest, 32) != 0) {
            print_error("row %zu (%s): GetLatest changed (cursor %llu -> %llu)\n", i,
                        row->name, (unsigned long long)before.cursor,
                        (unsigned long long)after.cursor);
            ok = false;
        }
        custos_record_clear(&before);
        custos_record_clear(&after);
        size_t published = 0;
        gwf_watch_head(&F, head_before, 150, &published);
        if (published != 0) {
            print_error("row %zu (%s): Watch delivered %zu new record(s)\n", i, row->name,
                        published);
            ok = false;
        }
        custos_signer_info *signers1 = NULL;
        size_t n_signers1 = 0;
        assert_int_equal(custos_client_list_signers(F.client, &signers1, &n_signers1, &err),
                         CUSTOS_OK);
        if (!signer_lists_equal(signers0, n_signers0, signers1, n_signers1)) {
            print_error("row %zu (%s): ListSigners changed\n", i, row->name);
            ok = false;
        }
        custos_signer_list_free(signers1, n_signers1);
        if (!ok)
            failures++;
    }
    custos_signer_list_free(signers0, n_signers0);
    if (failures > 0)
        fail_msg("%zu of %zu refusal rows failed (see above)", failures, n_rows);
}

#define EXTRA_SIGNERS (CUSTOS_MAX_SIGNATURES + 1 - 4)

/* The most signatures over a digest: the four fixture keys and the extra signers after
 * them; n_extra of the extra signers, so CUSTOS_MAX_SIGNATURES or one more. */
static void sign_most(const uint8_t digest[CUSTOS_HASH_LEN],
                      const uint8_t (*seckeys)[CUSTOS_SECKEY_LEN], size_t n_extra,
                      custos_signature *sigs)
{
    static const gwf_key_id own[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, GWF_KEY_CUSTODIAN2,
                                     GWF_KEY_ADMIN};
    custos_error err;
    for (size_t i = 0; i < 4 + n_extra; i++)
        assert_int_equal(custos_sign_digest(F.secp, i < 4 ? F.keys[own[i]].seckey
                                                           : seckeys[i - 4],
                                            digest, &sigs[i], &err),
                         CUSTOS_OK);
}

/* The packed message with its signature list replaced by n of sigs. */
static void pack_with_sigs(ProtobufCMessage *m, size_t *n_field, ProtobufCBinaryData **field,
                           const custos_signature *sigs, size_t n, uint8_t **buf, size_t *len)
{
    ProtobufCBinaryData *list = calloc(n, sizeof *list);
    assert_non_null(list);
    for (size_t i = 0; i < n; i++)
        list[i] = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, (uint8_t *)sigs[i].bytes};
    ProtobufCBinaryData *keep = *field;
    size_t keep_n = *n_field;
    *field = list;
    *n_field = n;
    *len = protobuf_c_message_get_packed_size(m);
    *buf = malloc(*len);
    assert_non_null(*buf);
    assert_int_equal(protobuf_c_message_pack(m, *buf), *len);
    *field = keep;
    *n_field = keep_n;
    free(list);
}

/* A batch of one account signed by 16 signers: accepted, the account served with all 16;
 * the next batch signed by 17: TOO_LARGE, the account's record unchanged. */
static void most_signatures_on_a_batch(const uint8_t (*seckeys)[CUSTOS_SECKEY_LEN])
{
    custos_signature sigs[CUSTOS_MAX_SIGNATURES + 1];
    custos_submission acct;
    gwf_make(&F, &acct, "RULES-MOST-BATCH", 1, 1000000);
    custos_batch b;
    custos_batch_tree *t = NULL;
    custos_error err;
    assert_int_equal(custos_batch_tree_new(GWF_FEED, &acct.att, 1, 1, &b, &t, &err), CUSTOS_OK);
    custos_batch_tree_free(t);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch_digest(&F.domain, &b, digest);
    sign_most(digest, seckeys, CUSTOS_MAX_SIGNATURES - 4, sigs);
    custos_submit_result res;
    custos_error errs[1];
    bool duplicate = false;
    custos_batch_member member = {
        .att = acct.att, .positions = acct.positions, .n_positions = acct.n_positions};
    if (custos_client_submit_batch(F.client, GWF_FEED, &F.domain, &b, sigs,
                                   CUSTOS_MAX_SIGNATURES, &member, 1, &res, errs, &duplicate,
                                   &err) != CUSTOS_OK ||
        errs[0].code != CUSTOS_OK)
        fail_msg("a batch signed by %d: %s %s", CUSTOS_MAX_SIGNATURES, err.message,
                 errs[0].message);
    assert_int_equal(res.state, CUSTOS_STATE_ACCEPTED);
    custos_record rec;
    assert_int_equal(get_latest("RULES-MOST-BATCH", &rec), CUSTOS_OK);
    assert_true(rec.batched);
    assert_int_equal(rec.batch.n_sigs, CUSTOS_MAX_SIGNATURES);
    assert_int_equal(rec.n_signers, CUSTOS_MAX_SIGNATURES);
    custos_record_clear(&rec);
    custos_submission_clear(&acct);

    gwf_make(&F, &acct, "RULES-MOST-BATCH", 2, 1000000);
    assert_int_equal(custos_batch_tree_new(GWF_FEED, &acct.att, 1, 2, &b, &t, &err), CUSTOS_OK);
    custos_batch_tree_free(t);
    custos_batch_digest(&F.domain, &b, digest);
    sign_most(digest, seckeys, EXTRA_SIGNERS, sigs);
    Custos__V1__SubmitBatchRequest *req = NULL;
    member = (custos_batch_member){
        .att = acct.att, .positions = acct.positions, .n_positions = acct.n_positions};
    assert_int_equal(pb_batch_request_new(GWF_FEED, &F.domain, &b, sigs, CUSTOS_MAX_SIGNATURES,
                                          &member, 1, &req, &err),
                     CUSTOS_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    pack_with_sigs(&req->base, &req->n_signatures, &req->signatures, sigs,
                   CUSTOS_MAX_SIGNATURES + 1, &buf, &len);
    pb_batch_request_free(req);
    gwf_raw_result raw;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/SubmitBatch", buf, len, &raw);
    free(buf);
    if (strcmp(raw.reason, "TOO_LARGE") != 0)
        fail_msg("a batch signed by 17: status %d reason %s: %s", raw.grpc_status, raw.reason,
                 raw.details);
    assert_int_equal(get_latest("RULES-MOST-BATCH", &rec), CUSTOS_OK);
    assert_int_equal(rec.sub.att.sequence, 1);
    custos_record_clear(&rec);
    custos_submission_clear(&acct);
}

/* Reserves signed by 16 signers of the feed (its custodian among them): stored and served
 * with all 16; the next signed by 17: TOO_LARGE, the stored reserves unchanged. */
static void most_signatures_on_reserves(const uint8_t (*seckeys)[CUSTOS_SECKEY_LEN])
{
    custos_reserves_entry es[2];
    memset(es, 0, sizeof es);
    for (size_t i = 0; i < 2; i++) {
        memset(es[i].account, (int)(0xc0 + i), CUSTOS_HASH_LEN);
        gwf_usd(&es[i].collateral_value, 1000 * (i + 1));
    }
    custos_reserves r;
    memset(&r, 0, sizeof r);
    custos_error err;
    assert_int_equal(custos_reserves_summarise(es, 2, &r, &err), CUSTOS_OK);
    custos_feed_id(GWF_FEED, r.feed_id);
    r.as_of = gwf_now() - 60;
    r.sequence = 1;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_reserves_digest(&F.domain, &r, digest);
    custos_signature sigs[CUSTOS_MAX_SIGNATURES + 1];
    sign_most(digest, seckeys, CUSTOS_MAX_SIGNATURES - 4, sigs);
    bool duplicate = false;
    if (custos_client_submit_reserves(F.client, GWF_FEED, &F.domain, &r, sigs,
                                      CUSTOS_MAX_SIGNATURES, es, 2, &duplicate, NULL,
                                      &err) != CUSTOS_OK)
        fail_msg("reserves signed by %d: %s", CUSTOS_MAX_SIGNATURES, err.message);
    custos_reserves_summary sum;
    assert_int_equal(custos_client_get_reserves(F.client, GWF_FEED, &sum, &err), CUSTOS_OK);
    assert_int_equal(sum.r.sequence, 1);
    assert_int_equal(sum.n_sigs, CUSTOS_MAX_SIGNATURES);

    r.sequence = 2;
    custos_reserves_digest(&F.domain, &r, digest);
    sign_most(digest, seckeys, EXTRA_SIGNERS, sigs);
    pb_reserves_request m;
    assert_int_equal(pb_reserves_request_init(&m, GWF_FEED, &F.domain, &r, sigs,
                                              CUSTOS_MAX_SIGNATURES, es, 2, &err),
                     CUSTOS_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    pack_with_sigs(&m.msg.base, &m.msg.n_signatures, &m.msg.signatures, sigs,
                   CUSTOS_MAX_SIGNATURES + 1, &buf, &len);
    pb_reserves_request_clear(&m);
    gwf_raw_result raw;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/SubmitReserves", buf, len, &raw);
    free(buf);
    if (strcmp(raw.reason, "TOO_LARGE") != 0)
        fail_msg("reserves signed by 17: status %d reason %s: %s", raw.grpc_status, raw.reason,
                 raw.details);
    assert_int_equal(custos_client_get_reserves(F.client, GWF_FEED, &sum, &err), CUSTOS_OK);
    assert_int_equal(sum.r.sequence, 1);
}

/* The most signatures one submission may carry (CUSTOS_MAX_SIGNATURES), each by its own
 * active signer of the feed: accepted, every signer on the record. Seventeen distinct valid
 * signatures are TOO_LARGE and leave the record as it was; the same for a batch and for
 * reserves. The extra signers are allow-listed across a restart; the store keeps what came
 * before. */
static void test_most_signatures(void **state)
{
    (void)state;
    static const gwf_key_id own[] = {GWF_KEY_CUSTODIAN, GWF_KEY_AGENT, GWF_KEY_CUSTODIAN2,
                                     GWF_KEY_ADMIN};
    uint8_t seckeys[EXTRA_SIGNERS][CUSTOS_SECKEY_LEN];
    uint8_t addrs[EXTRA_SIGNERS][CUSTOS_ADDRESS_LEN];
    custos_error err;
    assert_int_equal(gwf_stop(&F), 0);
    char *text = tu_read_file(F.config_path);
    assert_non_null(text);
    size_t cap = strlen(text) + EXTRA_SIGNERS * 160 + 1, len = strlen(text);
    char *config = malloc(cap);
    assert_non_null(config);
    memcpy(config, text, len + 1);
    free(text);
    for (size_t i = 0; i < EXTRA_SIGNERS; i++) {
        memset(seckeys[i], 0x5a, CUSTOS_SECKEY_LEN);
        seckeys[i][CUSTOS_SECKEY_LEN - 1] = (uint8_t)i;
        assert_int_equal(custos_address_from_seckey(F.secp, seckeys[i], addrs[i], &err),
                         CUSTOS_OK);
        char hex[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(addrs[i], hex);
        int n = snprintf(config + len, cap - len,
                         "[signer acme-extra-%zu]\naddress = %s\nfeed = %s\nrole = auditor\n"
                         "status = active\n\n",
                         i, hex, GWF_FEED);
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    tu_write_file(F.config_path, config);
    free(config);
    gwf_start(&F);

    custos_submission s;
    gwf_make(&F, &s, "RULES-MOST-SIGNATURES", 1, 1000000);
    sign_all(&s, own, 4);
    uint8_t digest[CUSTOS_HASH_LEN];
    gwf_digest(&s, digest);
    custos_signature extra[EXTRA_SIGNERS];
    for (size_t i = 0; i < EXTRA_SIGNERS; i++)
        assert_int_equal(custos_sign_digest(F.secp, seckeys[i], digest, &extra[i], &err),
                         CUSTOS_OK);
    for (size_t i = 0; s.n_sigs < CUSTOS_MAX_SIGNATURES; i++)
        s.sigs[s.n_sigs++] = extra[i];
    custos_submit_result r;
    submit_ok(&s, &r, CUSTOS_STATE_ACCEPTED);
    custos_record rec;
    assert_int_equal(get_latest("RULES-MOST-SIGNATURES", &rec), CUSTOS_OK);
    assert_int_equal(rec.n_signers, CUSTOS_MAX_SIGNATURES);
    for (size_t i = 0; i < CUSTOS_MAX_SIGNATURES; i++) {
        const uint8_t *want = i < 4 ? F.keys[own[i]].address : addrs[i - 4];
        bool found = false;
        for (size_t j = 0; j < rec.n_signers; j++)
            found = found || memcmp(rec.signers[j], want, CUSTOS_ADDRESS_LEN) == 0;
        if (!found)
            fail_msg("signer %zu of %d missing from the record", i, CUSTOS_MAX_SIGNATURES);
    }

    /* The next sequence with one signature more, each by its own active signer. */
    custos_submission more;
    gwf_make(&F, &more, "RULES-MOST-SIGNATURES", 2, 1000000);
    sign_all(&more, own, 4);
    gwf_digest(&more, digest);
    for (size_t i = 0; i < EXTRA_SIGNERS; i++)
        assert_int_equal(custos_sign_digest(F.secp, seckeys[i], digest, &extra[i], &err),
                         CUSTOS_OK);
    for (size_t i = 0; more.n_sigs < CUSTOS_MAX_SIGNATURES; i++)
        more.sigs[more.n_sigs++] = extra[i];
    gwf_pb *p = gwf_pb_new(&more);
    gwf_pb_add_sig(p, &extra[EXTRA_SIGNERS - 1]);
    uint8_t *buf = NULL;
    size_t buf_len = 0;
    gwf_pb_pack_request(p, 0, &buf, &buf_len);
    gwf_pb_free(p);
    gwf_raw_result raw;
    gwf_raw_call(&F, "/custos.v1.AttestationGateway/Submit", buf, buf_len, &raw);
    free(buf);
    if (strcmp(raw.reason, "TOO_LARGE") != 0 || strstr(raw.details, "17") == NULL)
        fail_msg("17 signatures: status %d reason %s: %s", raw.grpc_status, raw.reason,
                 raw.details);
    custos_record after;
    assert_int_equal(get_latest("RULES-MOST-SIGNATURES", &after), CUSTOS_OK);
    assert_int_equal(after.cursor, rec.cursor);
    assert_int_equal(after.sub.att.sequence, 1);
    custos_record_clear(&after);
    custos_record_clear(&rec);
    custos_submission_clear(&more);
    custos_submission_clear(&s);
    most_signatures_on_a_batch(seckeys);
    most_signatures_on_reserves(seckeys);
}

/* A feed whose name is as long as a feed name may be (CUSTOS_FEED_MAX bytes), configured
 * with its own signer: an attestation and reserves of it are taken and served under the
 * whole name. */
static void test_longest_feed_name(void **state)
{
    (void)state;
    char feed[CUSTOS_FEED_MAX + 1];
    memset(feed, 'x', CUSTOS_FEED_MAX);
    memcpy(feed, "acme-", 5);
    feed[CUSTOS_FEED_MAX] = '\0';
    uint8_t seckey[CUSTOS_SECKEY_LEN], addr[CUSTOS_ADDRESS_LEN];
    memset(seckey, 0x6b, sizeof seckey);
    custos_error err;
    assert_int_equal(custos_address_from_seckey(F.secp, seckey, addr, &err), CUSTOS_OK);
    char hex[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(addr, hex);

    assert_int_equal(gwf_stop(&F), 0);
    char accounts[1300];
    gwf_accounts_line(&F, feed, accounts, sizeof accounts);
    uint8_t account[CUSTOS_HASH_LEN];
    custos_account_id(feed, "LONG-FEED-1", account);
    gwf_register_id(&F, feed, account);
    char *text = tu_read_file(F.config_path);
    assert_non_null(text);
    size_t cap = strlen(text) + 2048;
    char *config = malloc(cap);
    assert_non_null(config);
    int n = snprintf(config, cap,
                     "%s\n[feed %s]\nmax_age = %d\nmax_skew = %d\nmax_ttl = %d\nthreshold = 1\n"
                     "distinct_roles = false\n%s\n[signer long-feed-ops]\naddress = %s\n"
                     "feed = %s\nrole = custodian\nstatus = active\n",
                     text, feed, GWF_MAX_AGE, GWF_MAX_SKEW, GWF_MAX_TTL, accounts, hex, feed);
    assert_true(n > 0 && (size_t)n < cap);
    tu_write_file(F.config_path, config);
    free(config);
    free(text);
    gwf_start(&F);

    F.no_auto_register = true;
    custos_submission s;
    gwf_make(&F, &s, "LONG-FEED-1", 1, 1000000);
    F.no_auto_register = false;
    memcpy(s.feed, feed, sizeof s.feed);
    memcpy(s.att.account, account, CUSTOS_HASH_LEN);
    uint8_t digest[CUSTOS_HASH_LEN];
    gwf_digest(&s, digest);
    assert_int_equal(custos_sign_digest(F.secp, seckey, digest, &s.sigs[0], &err), CUSTOS_OK);
    s.n_sigs = 1;
    custos_submit_result r;
    submit_ok(&s, &r, CUSTOS_STATE_ACCEPTED);
    custos_record rec;
    assert_int_equal(custos_client_get_latest(F.client, account, &rec, &err), CUSTOS_OK);
    assert_string_equal(rec.sub.feed, feed);
    assert_int_equal(rec.sub.att.sequence, 1);
    custos_record_clear(&rec);
    custos_submission_clear(&s);

    custos_reserves_entry es[1];
    memset(es, 0, sizeof es);
    memcpy(es[0].account, account, CUSTOS_HASH_LEN);
    gwf_usd(&es[0].collateral_value, 1000000);
    custos_reserves res;
    memset(&res, 0, sizeof res);
    assert_int_equal(custos_reserves_summarise(es, 1, &res, &err), CUSTOS_OK);
    custos_feed_id(feed, res.feed_id);
    res.as_of = gwf_now() - 60;
    res.sequence = 1;
    custos_reserves_digest(&F.domain, &res, digest);
    custos_signature sig;
    assert_int_equal(custos_sign_digest(F.secp, seckey, digest, &sig, &err), CUSTOS_OK);
    bool duplicate = true;
    if (custos_client_submit_reserves(F.client, feed, &F.domain, &res, &sig, 1, es, 1,
                                      &duplicate, NULL, &err) != CUSTOS_OK)
        fail_msg("reserves of the longest feed name: %s", err.message);
    assert_false(duplicate);
    custos_reserves_summary sum;
    assert_int_equal(custos_client_get_reserves(F.client, feed, &sum, &err), CUSTOS_OK);
    assert_string_equal(sum.feed, feed);
    assert_int_equal(sum.r.sequence, 1);
}

static void test_still_serving(void **state)
{
    (void)state;
    bool serving = false;
    custos_error err;
    assert_int_equal(custos_client_health(F.client, &serving, &err), CUSTOS_OK);
    assert_true(serving);
    /* And it still accepts good work. */
    custos_submission s;
    gwf_make(&F, &s, REFUSE_REF, 1000, 42);
    sign_all(&s, PAIR, 2);
    custos_submit_result r;
    submit_ok(&s, &r, CUSTOS_STATE_ACCEPTED);
    custos_submission_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_signers),
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_duplicate_is_idempotent),
        cmocka_unit_test(test_quorum_by_cosignature),
        cmocka_unit_test(test_distinct_roles_required),
        cmocka_unit_test(test_freeze_by_custodian_alone),
        cmocka_unit_test(test_squatting_freeze_refused),
        cmocka_unit_test(test_freshness_limits_inclusive),
        cmocka_unit_test(test_refusals_change_nothing),
        cmocka_unit_test(test_most_signatures),
        cmocka_unit_test(test_longest_feed_name),
        cmocka_unit_test(test_still_serving),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    /* Covers a setup that failed after the gateway was spawned. */
    gwf_cleanup(&F);
    custos_submission_clear(&accepted_sub);
    return failed;
}
