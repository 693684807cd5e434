/* Protobuf wire form: byte-for-byte agreement with protoc's encoder, round trips of
 * submissions and records, a table of malformed messages each refused with its code and
 * field, and random or corrupted bytes that must never crash the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "custos/client.h"
#include "custos/wire.h"
#include "pb_convert.h"
#include "testutil.h"

#define PROTOC "/usr/bin/protoc"

/* splitmix64 with a fixed seed. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_bytes(uint64_t *s, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)rng_next(s);
}

static void rng_u256(uint64_t *s, custos_u256 *v)
{
    for (int i = 0; i < 4; i++)
        v->limb[i] = rng_next(s);
}

/* A submission with every field set to something distinctive. */
static void make_submission(uint64_t seed, size_t n_sigs, size_t n_positions,
                            custos_submission *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->feed, sizeof s->feed, "ust-tbill \"3m\" \\ %llu", (unsigned long long)seed);
    s->domain.chain_id = 0x8000000000000001ULL + seed;
    rng_bytes(&seed, s->domain.verifying_contract, CUSTOS_ADDRESS_LEN);
    rng_bytes(&seed, s->att.account, CUSTOS_HASH_LEN);
    rng_bytes(&seed, s->att.beneficiary, CUSTOS_ADDRESS_LEN);
    s->att.kind = (uint8_t)(seed % 3);
    rng_u256(&seed, &s->att.gross_value);
    rng_u256(&seed, &s->att.collateral_value);
    rng_bytes(&seed, s->att.positions_root, CUSTOS_HASH_LEN);
    s->att.as_of = 1700000000 + seed;
    s->att.valid_until = UINT64_MAX - seed;
    s->att.sequence = rng_next(&seed);
    s->n_sigs = n_sigs;
    for (size_t i = 0; i < n_sigs; i++)
        rng_bytes(&seed, s->sigs[i].bytes, CUSTOS_SIGNATURE_LEN);
    if (n_positions > 0) {
        s->positions = calloc(n_positions, sizeof *s->positions);
        assert_non_null(s->positions);
    }
    s->n_positions = n_positions;
    for (size_t i = 0; i < n_positions; i++) {
        custos_position *p = &s->positions[i];
        snprintf(p->asset_id, sizeof p->asset_id, "US91279%zu", i);
        rng_u256(&seed, &p->quantity);
        rng_u256(&seed, &p->price);
        rng_u256(&seed, &p->value);
        p->haircut_bps = (uint32_t)(rng_next(&seed) % 10001);
    }
}

static void assert_submission_eq(const custos_submission *a, const custos_submission *b)
{
    assert_string_equal(a->feed, b->feed);
    assert_true(a->domain.chain_id == b->domain.chain_id);
    assert_memory_equal(a->domain.verifying_contract, b->domain.verifying_contract,
                        CUSTOS_ADDRESS_LEN);
    assert_memory_equal(a->att.account, b->att.account, CUSTOS_HASH_LEN);
    assert_memory_equal(a->att.beneficiary, b->att.beneficiary, CUSTOS_ADDRESS_LEN);
    assert_int_equal(a->att.kind, b->att.kind);
    assert_int_equal(custos_u256_cmp(&a->att.gross_value, &b->att.gross_value), 0);
    assert_int_equal(custos_u256_cmp(&a->att.collateral_value, &b->att.collateral_value), 0);
    assert_memory_equal(a->att.positions_root, b->att.positions_root, CUSTOS_HASH_LEN);
    assert_true(a->att.as_of == b->att.as_of);
    assert_true(a->att.valid_until == b->att.valid_until);
    assert_true(a->att.sequence == b->att.sequence);
    assert_int_equal(a->n_sigs, b->n_sigs);
    for (size_t i = 0; i < a->n_sigs; i++)
        assert_memory_equal(a->sigs[i].bytes, b->sigs[i].bytes, CUSTOS_SIGNATURE_LEN);
    assert_int_equal(a->n_positions, b->n_positions);
    for (size_t i = 0; i < a->n_positions; i++) {
        const custos_position *p = &a->positions[i], *q = &b->positions[i];
        assert_string_equal(p->asset_id, q->asset_id);
        assert_int_equal(custos_u256_cmp(&p->quantity, &q->quantity), 0);
        assert_int_equal(custos_u256_cmp(&p->price, &q->price), 0);
        assert_int_equal(custos_u256_cmp(&p->value, &q->value), 0);
        assert_int_equal(p->haircut_bps, q->haircut_bps);
    }
}

/* ---- independent encoder: protoc --encode over text format written here ---- */

typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf;

static void tb_printf(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tb_printf(text_buf *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        t->cap = 2 * t->cap + (size_t)n;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
}

/* A text-format string literal with every byte as a three-digit octal escape. */
static void tb_bytes(text_buf *t, const char *field, const uint8_t *b, size_t len)
{
    tb_printf(t, "%s: \"", field);
    for (size_t i = 0; i < len; i++)
        tb_printf(t, "\\%03o", b[i]);
    tb_printf(t, "\"\n");
}

static void tb_u256(text_buf *t, const char *field, const custos_u256 *v)
{
    uint8_t be[32];
    custos_u256_to_be(v, be);
    tb_bytes(t, field, be, sizeof be);
}

static void submission_text(const custos_submission *s, text_buf *t)
{
    tb_bytes(t, "feed", (const uint8_t *)s->feed, strlen(s->feed));
    tb_printf(t, "domain {\nchain_id: %llu\n", (unsigned long long)s->domain.chain_id);
    tb_bytes(t, "verifying_contract", s->domain.verifying_contract, CUSTOS_ADDRESS_LEN);
    tb_printf(t, "}\nattestation {\n");
    tb_bytes(t, "account", s->att.account, CUSTOS_HASH_LEN);
    tb_bytes(t, "beneficiary", s->att.beneficiary, CUSTOS_ADDRESS_LEN);
    tb_printf(t, "kind: %u\n", s->att.kind);
    tb_u256(t, "gross_value", &s->att.gross_value);
    tb_u256(t, "collateral_value", &s->att.collateral_value);
    tb_bytes(t, "positions_root", s->att.positions_root, CUSTOS_HASH_LEN);
    tb_printf(t, "as_of: %llu\nvalid_until: %llu\nsequence: %llu\n}\n",
              (unsigned long long)s->att.as_of, (unsigned long long)s->att.valid_until,
              (unsigned long long)s->att.sequence);
    for (size_t i = 0; i < s->n_sigs; i++)
        tb_bytes(t, "signatures", s->sigs[i].bytes, CUSTOS_SIGNATURE_LEN);
    for (size_t i = 0; i < s->n_positions; i++) {
        const custos_position *p = &s->positions[i];
        tb_printf(t, "positions {\n");
        tb_bytes(t, "asset_id", (const uint8_t *)p->asset_id, strlen(p->asset_id));
        tb_u256(t, "quantity", &p->quantity);
        tb_u256(t, "price", &p->price);
        tb_u256(t, "value", &p->value);
        tb_printf(t, "haircut_bps: %u\n}\n", p->haircut_bps);
    }
}

static uint8_t *read_binary(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void test_matches_protoc(void **state)
{
    (void)state;
    if (access(PROTOC, X_OK) != 0)
        fail_msg("%s is needed to cross-check the encoding (Debian package protobuf-compiler)",
                 PROTOC);
    static const struct {
        size_t sigs, positions;
    } shapes[] = {{0, 0}, {1, 0}, {3, 5}, {CUSTOS_MAX_SIGNATURES, 40}};
    char dir[512];
    tu_mkdtemp(dir, sizeof dir);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        custos_submission s;
        make_submission(100 + k, shapes[k].sigs, shapes[k].positions, &s);
        text_buf t = {malloc(4096), 0, 4096};
        assert_non_null(t.p);
        submission_text(&s, &t);
        char txt[600], bin[600], cmd[2048], out[4096];
        snprintf(txt, sizeof txt, "%s/in.txt", dir);
        snprintf(bin, sizeof bin, "%s/out.bin", dir);
        tu_write_file(txt, t.p);
        free(t.p);
        snprintf(cmd, sizeof cmd,
                 "%s --encode=custos.v1.SignedAttestation -I %s/proto custos/v1/attestation.proto"
                 " < %s > %s", PROTOC, CUSTOS_SOURCE_DIR, txt, bin);
        const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
        if (tu_run(argv, out, sizeof out, 1) != 0)
            fail_msg("protoc --encode failed: %s", out);
        size_t want_len;
        uint8_t *want = read_binary(bin, &want_len);

        uint8_t *got = NULL;
        size_t got_len = 0;
        custos_error err = {.code = CUSTOS_OK};
        assert_int_equal(custos_submission_encode(&s, &got, &got_len, &err), CUSTOS_OK);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);

        custos_submission back;
        assert_int_equal(custos_submission_decode(want, want_len, &back, &err), CUSTOS_OK);
        assert_submission_eq(&back, &s);
        custos_submission_clear(&back);
        free(got);
        free(want);
        custos_submission_clear(&s);
    }
    tu_rmtree(dir);
}

static void test_submission_round_trip(void **state)
{
    (void)state;
    static const struct {
        size_t sigs, positions;
    } shapes[] = {{0, 0}, {2, 1}, {CUSTOS_MAX_SIGNATURES, CUSTOS_MAX_POSITIONS}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        custos_submission s, back;
        make_submission(7 + k, shapes[k].sigs, shapes[k].positions, &s);
        uint8_t *buf = NULL;
        size_t len = 0;
        custos_error err = {.code = CUSTOS_OK};
        assert_int_equal(custos_submission_encode(&s, &buf, &len, &err), CUSTOS_OK);
        assert_true(len > 0);
        custos_rc rc = custos_submission_decode(buf, len, &back, &err);
        if (rc != CUSTOS_OK)
            fail_msg("decode: %s", err.message);
        assert_submission_eq(&back, &s);
        custos_submission_clear(&back);
        free(buf);
        custos_submission_clear(&s);
    }
}

static void test_record_round_trip(void **state)
{
    (void)state;
    custos_record r;
    memset(&r, 0, sizeof r);
    r.cursor = 0xfedcba9876543210ULL;
    r.state = CUSTOS_STATE_ACCEPTED;
    uint64_t seed = 99;
    rng_bytes(&seed, r.digest, sizeof r.digest);
    r.accepted_at = 1750000000;
    make_submission(5, 3, 4, &r.sub);
    r.n_signers = 3;
    for (size_t i = 0; i < r.n_signers; i++)
        rng_bytes(&seed, r.signers[i], CUSTOS_ADDRESS_LEN);

    Custos__V1__Record *m = NULL;
    custos_error err = {.code = CUSTOS_OK};
    assert_int_equal(pb_from_record(&r, &m, &err), CUSTOS_OK);
    size_t len = custos__v1__record__get_packed_size(m);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    assert_int_equal(custos__v1__record__pack(m, buf), len);
    pb_record_free(m);

    Custos__V1__Record *u = custos__v1__record__unpack(NULL, len, buf);
    assert_non_null(u);
    custos_record back;
    assert_int_equal(pb_to_record(u, &back, &err), CUSTOS_OK);
    custos__v1__record__free_unpacked(u, NULL);
    free(buf);

    assert_true(back.cursor == r.cursor);
    assert_int_equal(back.state, r.state);
    assert_memory_equal(back.digest, r.digest, sizeof r.digest);
    assert_true(back.accepted_at == r.accepted_at);
    assert_int_equal(back.n_signers, r.n_signers);
    assert_memory_equal(back.signers, r.signers, r.n_signers * CUSTOS_ADDRESS_LEN);
    assert_submission_eq(&back.sub, &r.sub);
    custos_record_clear(&back);
    custos_record_clear(&r);
    custos_record_clear(&r); /* clearing twice is harmless */
}

/* ---- malformed messages: a valid tree, one mutation, then the real decoder ---- */

static void set_len(ProtobufCBinaryData *b, size_t len)
{
    uint8_t *d = realloc(b->data, len > 0 ? len : 1);
    assert_non_null(d);
    if (len > b->len)
        memset(d + b->len, 0x5a, len - b->len);
    b->data = d;
    b->len = len;
}

static void set_string(char **field, const char *v)
{
    free(*field);
    *field = strdup(v);
    assert_non_null(*field);
}

static void set_string_len(char **field, size_t len)
{
    char v[128];
    assert_true(len < sizeof v);
    memset(v, 'A', len);
    v[len] = '\0';
    set_string(field, v);
}

static void grow_signatures(Custos__V1__SignedAttestation *m, size_t n)
{
    m->signatures = realloc(m->signatures, n * sizeof *m->signatures);
    assert_non_null(m->signatures);
    for (size_t i = m->n_signatures; i < n; i++) {
        m->signatures[i].data = NULL;
        m->signatures[i].len = 0;
        set_len(&m->signatures[i], CUSTOS_SIGNATURE_LEN);
    }
    m->n_signatures = n;
}

static void grow_positions(Custos__V1__SignedAttestation *m, size_t n)
{
    m->positions = realloc(m->positions, n * sizeof *m->positions);
    assert_non_null(m->positions);
    for (size_t i = m->n_positions; i < n; i++) {
        Custos__V1__Position *p = malloc(sizeof *p);
        assert_non_null(p);
        custos__v1__position__init(p);
        p->asset_id = strdup("EXTRA");
        assert_non_null(p->asset_id);
        set_len(&p->quantity, 32);
        set_len(&p->price, 32);
        set_len(&p->value, 32);
        m->positions[i] = p;
        m->n_positions = i + 1;
    }
}

typedef void (*mutate_fn)(Custos__V1__SignedAttestation *m);

static void m_none(Custos__V1__SignedAttestation *m) { (void)m; }
static void m_no_domain(Custos__V1__SignedAttestation *m)
{
    custos__v1__domain__free_unpacked(m->domain, NULL);
    m->domain = NULL;
}
static void m_no_attestation(Custos__V1__SignedAttestation *m)
{
    custos__v1__attestation__free_unpacked(m->attestation, NULL);
    m->attestation = NULL;
}
static void m_feed_empty(Custos__V1__SignedAttestation *m) { set_string(&m->feed, ""); }
static void m_feed_64(Custos__V1__SignedAttestation *m) { set_string_len(&m->feed, 64); }
static void m_feed_65(Custos__V1__SignedAttestation *m) { set_string_len(&m->feed, 65); }
static void m_feed_tab(Custos__V1__SignedAttestation *m) { set_string(&m->feed, "ust\tbill"); }
static void m_feed_del(Custos__V1__SignedAttestation *m) { set_string(&m->feed, "ust\x7f"); }
static void m_feed_utf8(Custos__V1__SignedAttestation *m) { set_string(&m->feed, "caf\xc3\xa9"); }
static void m_vc_19(Custos__V1__SignedAttestation *m) { set_len(&m->domain->verifying_contract, 19); }
static void m_vc_21(Custos__V1__SignedAttestation *m) { set_len(&m->domain->verifying_contract, 21); }
static void m_vc_0(Custos__V1__SignedAttestation *m) { set_len(&m->domain->verifying_contract, 0); }
static void m_account_31(Custos__V1__SignedAttestation *m) { set_len(&m->attestation->account, 31); }
static void m_account_33(Custos__V1__SignedAttestation *m) { set_len(&m->attestation->account, 33); }
static void m_benef_32(Custos__V1__SignedAttestation *m) { set_len(&m->attestation->beneficiary, 32); }
static void m_benef_0(Custos__V1__SignedAttestation *m) { set_len(&m->attestation->beneficiary, 0); }
static void m_kind_2(Custos__V1__SignedAttestation *m) { m->attestation->kind = 2; }
static void m_kind_3(Custos__V1__SignedAttestation *m) { m->attestation->kind = 3; }
static void m_kind_max(Custos__V1__SignedAttestation *m) { m->attestation->kind = UINT32_MAX; }
static void m_gross_31(Custos__V1__SignedAttestation *m) { set_len(&m->attestation->gross_value, 31); }
static void m_coll_33(Custos__V1__SignedAttestation *m) { set_len(&m->attestation->collateral_value, 33); }
static void m_root_20(Custos__V1__SignedAttestation *m) { set_len(&m->attestation->positions_root, 20); }
static void m_sig1_64(Custos__V1__SignedAttestation *m) { set_len(&m->signatures[1], 64); }
static void m_sig0_66(Custos__V1__SignedAttestation *m) { set_len(&m->signatures[0], 66); }
static void m_sigs_0(Custos__V1__SignedAttestation *m)
{
    for (size_t i = 0; i < m->n_signatures; i++)
        free(m->signatures[i].data);
    free(m->signatures);
    m->signatures = NULL;
    m->n_signatures = 0;
}
static void m_sigs_16(Custos__V1__SignedAttestation *m) { grow_signatures(m, CUSTOS_MAX_SIGNATURES); }
static void m_sigs_17(Custos__V1__SignedAttestation *m) { grow_signatures(m, CUSTOS_MAX_SIGNATURES + 1); }
static void m_pos_4096(Custos__V1__SignedAttestation *m) { grow_positions(m, CUSTOS_MAX_POSITIONS); }
static void m_pos_4097(Custos__V1__SignedAttestation *m) { grow_positions(m, CUSTOS_MAX_POSITIONS + 1); }
static void m_asset_empty(Custos__V1__SignedAttestation *m) { set_string(&m->positions[2]->asset_id, ""); }
static void m_asset_31(Custos__V1__SignedAttestation *m) { set_string_len(&m->positions[0]->asset_id, 31); }
static void m_asset_32(Custos__V1__SignedAttestation *m) { set_string_len(&m->positions[0]->asset_id, 32); }
static void m_asset_nl(Custos__V1__SignedAttestation *m) { set_string(&m->positions[1]->asset_id, "US\n1"); }
static void m_qty_31(Custos__V1__SignedAttestation *m) { set_len(&m->positions[0]->quantity, 31); }
static void m_price_33(Custos__V1__SignedAttestation *m) { set_len(&m->positions[1]->price, 33); }
static void m_value_0(Custos__V1__SignedAttestation *m) { set_len(&m->positions[2]->value, 0); }
static void m_haircut_10000(Custos__V1__SignedAttestation *m) { m->positions[0]->haircut_bps = 10000; }
static void m_haircut_10001(Custos__V1__SignedAttestation *m) { m->positions[0]->haircut_bps = 10001; }

static void test_malformed_table(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        mutate_fn mutate;
        custos_rc rc;
        const char *needle; /* must appear in the error message */
    } cases[] = {
        {"valid", m_none, CUSTOS_OK, NULL},
        {"domain missing", m_no_domain, CUSTOS_ERR_INVALID, "domain: missing"},
        {"attestation missing", m_no_attestation, CUSTOS_ERR_INVALID, "attestation: missing"},
        {"feed empty", m_feed_empty, CUSTOS_ERR_INVALID, "feed: empty"},
        {"feed 64 bytes", m_feed_64, CUSTOS_OK, NULL},
        {"feed 65 bytes", m_feed_65, CUSTOS_ERR_INVALID, "feed: 65 bytes"},
        {"feed tab", m_feed_tab, CUSTOS_ERR_INVALID, "feed: byte 0x09"},
        {"feed DEL", m_feed_del, CUSTOS_ERR_INVALID, "feed: byte 0x7f"},
        {"feed UTF-8", m_feed_utf8, CUSTOS_ERR_INVALID, "feed: byte 0xc3"},
        {"contract 19", m_vc_19, CUSTOS_ERR_INVALID, "domain.verifying_contract: 19 bytes"},
        {"contract 21", m_vc_21, CUSTOS_ERR_INVALID, "domain.verifying_contract: 21 bytes"},
        {"contract 0", m_vc_0, CUSTOS_ERR_INVALID, "domain.verifying_contract: 0 bytes"},
        {"account 31", m_account_31, CUSTOS_ERR_INVALID, "attestation.account: 31 bytes"},
        {"account 33", m_account_33, CUSTOS_ERR_INVALID, "attestation.account: 33 bytes"},
        {"beneficiary 32", m_benef_32, CUSTOS_ERR_INVALID, "attestation.beneficiary: 32 bytes"},
        {"beneficiary 0", m_benef_0, CUSTOS_ERR_INVALID, "attestation.beneficiary: 0 bytes"},
        {"kind 2", m_kind_2, CUSTOS_OK, NULL},
        {"kind 3", m_kind_3, CUSTOS_ERR_INVALID, "attestation.kind: 3"},
        {"kind max", m_kind_max, CUSTOS_ERR_INVALID, "attestation.kind: 4294967295"},
        {"gross 31", m_gross_31, CUSTOS_ERR_INVALID, "attestation.gross_value: 31 bytes"},
        {"collateral 33", m_coll_33, CUSTOS_ERR_INVALID,
         "attestation.collateral_value: 33 bytes"},
        {"root 20", m_root_20, CUSTOS_ERR_INVALID, "attestation.positions_root: 20 bytes"},
        {"signature 64", m_sig1_64, CUSTOS_ERR_INVALID, "signatures[1]: 64 bytes"},
        {"signature 66", m_sig0_66, CUSTOS_ERR_INVALID, "signatures[0]: 66 bytes"},
        {"no signatures", m_sigs_0, CUSTOS_OK, NULL},
        {"16 signatures", m_sigs_16, CUSTOS_OK, NULL},
        {"17 signatures", m_sigs_17, CUSTOS_ERR_TOO_LARGE, "signatures: 17"},
        {"4096 positions", m_pos_4096, CUSTOS_OK, NULL},
        {"4097 positions", m_pos_4097, CUSTOS_ERR_TOO_LARGE, "positions: 4097"},
        {"asset_id empty", m_asset_empty, CUSTOS_ERR_INVALID, "positions[2].asset_id: empty"},
        {"asset_id 31", m_asset_31, CUSTOS_OK, NULL},
        {"asset_id 32", m_asset_32, CUSTOS_ERR_INVALID, "positions[0].asset_id: 32 bytes"},
        {"asset_id newline", m_asset_nl, CUSTOS_ERR_INVALID,
         "positions[1].asset_id: byte 0x0a"},
        {"quantity 31", m_qty_31, CUSTOS_ERR_INVALID, "positions[0].quantity: 31 bytes"},
        {"price 33", m_price_33, CUSTOS_ERR_INVALID, "positions[1].price: 33 bytes"},
        {"value 0", m_value_0, CUSTOS_ERR_INVALID, "positions[2].value: 0 bytes"},
        {"haircut 10000", m_haircut_10000, CUSTOS_OK, NULL},
        {"haircut 10001", m_haircut_10001, CUSTOS_ERR_INVALID,
         "positions[0].haircut_bps: 10001"},
    };
    custos_submission base;
    make_submission(42, 2, 3, &base);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Custos__V1__SignedAttestation *m = NULL;
        custos_error err = {.code = CUSTOS_OK};
        assert_int_equal(pb_from_submission(&base, &m, &err), CUSTOS_OK);
        cases[i].mutate(m);
        size_t len = custos__v1__signed_attestation__get_packed_size(m);
        uint8_t *buf = malloc(len > 0 ? len : 1);
        assert_non_null(buf);
        assert_int_equal(custos__v1__signed_attestation__pack(m, buf), len);

        /* The decoder must clear whatever out held before. */
        custos_submission out;
        memset(&out, 0xa5, sizeof out);
        custos_rc rc = custos_submission_decode(buf, len, &out, &err);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %s (%s), want %s", cases[i].name, custos_rc_name(rc), err.message,
                     custos_rc_name(cases[i].rc));
        if (rc == CUSTOS_OK) {
            assert_int_equal(out.n_sigs, m->n_signatures);
            assert_int_equal(out.n_positions, m->n_positions);
        } else {
            if (strstr(err.message, cases[i].needle) == NULL)
                fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, err.message,
                         cases[i].needle);
            assert_int_equal(err.code, rc);
            static const custos_submission zero;
            assert_memory_equal(&out, &zero, sizeof out);
        }

        /* The same message straight through pb_to_submission gives the same answer. */
        custos_submission direct;
        assert_int_equal(pb_to_submission(m, &direct, NULL), cases[i].rc);
        custos_submission_clear(&direct);
        custos_submission_clear(&out);
        pb_submission_free(m);
        free(buf);
    }
    custos_submission_clear(&base);
}

static void test_not_protobuf(void **state)
{
    (void)state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    custos_submission out;
    custos_error err = {.code = CUSTOS_OK};
    assert_int_equal(custos_submission_decode(junk, sizeof junk, &out, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "not a valid SignedAttestation protobuf"));
    /* Empty input is a message of defaults: refused for its first missing field. */
    assert_int_equal(custos_submission_decode(NULL, 0, &out, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "feed"));

    /* Anything over the size cap is refused before it is parsed. */
    size_t big = ((size_t)4 << 20) + 1;
    uint8_t *huge = calloc(big, 1);
    assert_non_null(huge);
    assert_int_equal(custos_submission_decode(huge, big, &out, &err), CUSTOS_ERR_TOO_LARGE);
    free(huge);
}

/* A decode that succeeds must yield a submission that encodes again. */
static void decode_any(const uint8_t *buf, size_t len)
{
    custos_submission out;
    custos_error err = {.code = CUSTOS_OK};
    custos_rc rc = custos_submission_decode(buf, len, &out, &err);
    if (rc == CUSTOS_OK) {
        uint8_t *again = NULL;
        size_t again_len = 0;
        assert_int_equal(custos_submission_encode(&out, &again, &again_len, NULL), CUSTOS_OK);
        free(again);
    } else {
        assert_true(rc == CUSTOS_ERR_INVALID || rc == CUSTOS_ERR_TOO_LARGE);
        assert_true(strlen(err.message) > 0);
    }
    custos_submission_clear(&out);
}

static void test_garbage_never_crashes(void **state)
{
    (void)state;
    uint64_t seed = 0x6761726261676521ULL;
    uint8_t buf[512];
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rng_next(&seed) % sizeof buf);
        rng_bytes(&seed, buf, len);
        decode_any(buf, len);
    }

    /* Corruptions of a valid encoding reach deeper than random bytes: every truncation,
     * then random bit flips and byte overwrites. */
    custos_submission s;
    make_submission(3, 2, 3, &s);
    uint8_t *good = NULL;
    size_t good_len = 0;
    assert_int_equal(custos_submission_encode(&s, &good, &good_len, NULL), CUSTOS_OK);
    custos_submission_clear(&s);
    for (size_t cut = 0; cut < good_len; cut++)
        decode_any(good, cut);
    uint8_t *work = malloc(good_len);
    assert_non_null(work);
    size_t decoded = 0;
    for (int i = 0; i < 20000; i++) {
        memcpy(work, good, good_len);
        int edits = 1 + (int)(rng_next(&seed) % 3);
        for (int e = 0; e < edits; e++) {
            size_t at = (size_t)(rng_next(&seed) % good_len);
            if (rng_next(&seed) % 2)
                work[at] ^= (uint8_t)(1u << (rng_next(&seed) % 8));
            else
                work[at] = (uint8_t)rng_next(&seed);
        }
        custos_submission out;
        if (custos_submission_decode(work, good_len, &out, NULL) == CUSTOS_OK)
            decoded++;
        custos_submission_clear(&out);
        decode_any(work, good_len);
    }
    /* Flips inside the fixed-width payloads keep the message valid, so both outcomes occur. */
    assert_true(decoded > 0 && decoded < 20000);
    free(work);
    free(good);
}

static void test_encode_refusals(void **state)
{
    (void)state;
    custos_submission s;
    make_submission(11, 1, 2, &s);
    uint8_t *buf = NULL;
    size_t len = 0;
    custos_error err = {.code = CUSTOS_OK};

    s.n_sigs = CUSTOS_MAX_SIGNATURES + 1;
    assert_int_equal(custos_submission_encode(&s, &buf, &len, &err), CUSTOS_ERR_TOO_LARGE);
    assert_null(buf);
    assert_non_null(strstr(err.message, "signatures"));
    s.n_sigs = 1;

    memset(s.feed, 'F', sizeof s.feed);
    assert_int_equal(custos_submission_encode(&s, &buf, &len, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "feed"));
    snprintf(s.feed, sizeof s.feed, "ust");

    memset(s.positions[1].asset_id, 'A', sizeof s.positions[1].asset_id);
    assert_int_equal(custos_submission_encode(&s, &buf, &len, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "positions[1].asset_id"));
    snprintf(s.positions[1].asset_id, sizeof s.positions[1].asset_id, "OK");

    custos_position *saved = s.positions;
    s.positions = NULL;
    assert_int_equal(custos_submission_encode(&s, &buf, &len, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "positions"));
    s.positions = saved;

    /* Protocol rules are the decoder's job: a refused submission can still be built. */
    s.att.kind = 7;
    assert_int_equal(custos_submission_encode(&s, &buf, &len, &err), CUSTOS_OK);
    custos_submission out;
    assert_int_equal(custos_submission_decode(buf, len, &out, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "attestation.kind: 7"));
    free(buf);
    custos_submission_clear(&s);
}

static void test_record_refusals(void **state)
{
    (void)state;
    custos_record r;
    memset(&r, 0, sizeof r);
    r.state = CUSTOS_STATE_PENDING;
    make_submission(21, 1, 1, &r.sub);
    r.n_signers = 1;

    static const struct {
        const char *name;
        int what;
        custos_rc rc;
        const char *needle;
    } cases[] = {
        {"valid", 0, CUSTOS_OK, NULL},
        {"state 3 (held)", 7, CUSTOS_OK, NULL},
        {"state 4", 1, CUSTOS_ERR_INVALID, "record.state: 4"},
        {"digest 31", 2, CUSTOS_ERR_INVALID, "record.digest: 31 bytes"},
        {"signer 21", 3, CUSTOS_ERR_INVALID, "record.signers[0]: 21 bytes"},
        {"17 signers", 4, CUSTOS_ERR_TOO_LARGE, "record.signers: 17"},
        {"attestation missing", 5, CUSTOS_ERR_INVALID, "record.attestation: missing"},
        {"inner field", 6, CUSTOS_ERR_INVALID, "record.attestation.feed: empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Custos__V1__Record *m = NULL;
        assert_int_equal(pb_from_record(&r, &m, NULL), CUSTOS_OK);
        switch (cases[i].what) {
        case 1: m->state = (Custos__V1__State)4; break;
        case 7: m->state = (Custos__V1__State)3; break;
        case 2: set_len(&m->digest, 31); break;
        case 3: set_len(&m->signers[0], 21); break;
        case 4:
            m->signers = realloc(m->signers, 17 * sizeof *m->signers);
            assert_non_null(m->signers);
            for (size_t k = 1; k < 17; k++) {
                m->signers[k].data = NULL;
                m->signers[k].len = 0;
                set_len(&m->signers[k], CUSTOS_ADDRESS_LEN);
            }
            m->n_signers = 17;
            break;
        case 5:
            pb_submission_free(m->attestation);
            m->attestation = NULL;
            break;
        case 6: set_string(&m->attestation->feed, ""); break;
        default: break;
        }
        /* Through the wire, so unknown enum values and lengths are what a peer would send. */
        size_t len = custos__v1__record__get_packed_size(m);
        uint8_t *buf = malloc(len);
        assert_non_null(buf);
        assert_int_equal(custos__v1__record__pack(m, buf), len);
        pb_record_free(m);
        Custos__V1__Record *u = custos__v1__record__unpack(NULL, len, buf);
        free(buf);
        assert_non_null(u);

        custos_record out;
        custos_error err = {.code = CUSTOS_OK};
        custos_rc rc = pb_to_record(u, &out, &err);
        custos__v1__record__free_unpacked(u, NULL);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %s (%s), want %s", cases[i].name, custos_rc_name(rc), err.message,
                     custos_rc_name(cases[i].rc));
        if (rc != CUSTOS_OK) {
            if (strstr(err.message, cases[i].needle) == NULL)
                fail_msg("%s: message \"%s\" lacks \"%s\"", cases[i].name, err.message,
                         cases[i].needle);
            assert_null(out.sub.positions);
        }
        custos_record_clear(&out);
    }

    r.n_signers = CUSTOS_MAX_SIGNATURES + 1;
    Custos__V1__Record dummy = CUSTOS__V1__RECORD__INIT;
    Custos__V1__Record *m = &dummy;
    assert_int_equal(pb_from_record(&r, &m, NULL), CUSTOS_ERR_TOO_LARGE);
    assert_null(m);
    custos_record_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_protoc),
        cmocka_unit_test(test_submission_round_trip),
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_not_protobuf),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_record_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
