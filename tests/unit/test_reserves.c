/* The reserves attestation: digest cross-checked with ethers' TypedDataEncoder, the sum
 * root, total and every inclusion proof with an independent sum tree in JavaScript
 * (tests/js/sumtree.mjs), and the refusals (no account, an account twice, a value of 2^128
 * or more, an absent account). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/hex.h"
#include "custos/reserves.h"
#include "custos/v1/gateway.pb-c.h"
#include "custos/wire.h"
#include "reserves.h"

#include "testutil.h"

#define CONTRACT "0x5FbDB2315678afecb367f032d93F642f64180aa3"
#define FEED "acme-custody"

/* The value of "name" in node's "name value" lines, into out. */
static void value_of(const char *text, const char *name, char *out, size_t cap)
{
    size_t len = strlen(name);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t l = end != NULL ? (size_t)(end - line) : strlen(line);
        if (l > len && strncmp(line, name, len) == 0 && line[len] == ' ') {
            size_t v = l - len - 1;
            assert_true(v < cap);
            memcpy(out, line + len + 1, v);
            out[v] = '\0';
            return;
        }
        line = end != NULL ? end + 1 : NULL;
    }
    fail_msg("node printed no '%s':\n%s", name, text);
}

static void hex32(const uint8_t h[32], char out[67])
{
    assert_int_equal(custos_hex_encode(h, 32, out, 67), CUSTOS_OK);
}

/* n entries with varied values (the first n=1 case is a single-leaf tree). */
static void make_entries(custos_reserves_entry *es, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ref[32];
        snprintf(ref, sizeof ref, "ACC-%zu", i);
        custos_account_id(FEED, ref, es[i].account);
        memset(&es[i].collateral_value, 0, sizeof es[i].collateral_value);
        es[i].collateral_value.limb[0] = 1000000000000000000ull * (i + 1) + i;
        es[i].collateral_value.limb[1] = i % 3; /* beyond 2^64 for some */
    }
}

static void check_against_node(size_t n)
{
    custos_reserves_entry es[9];
    make_entries(es, n);
    custos_domain d = {.chain_id = 31337};
    custos_error err;
    assert_int_equal(custos_hex_decode(CONTRACT, d.verifying_contract, 20, &err), CUSTOS_OK);
    custos_reserves r;
    memset(&r, 0, sizeof r);
    custos_feed_id(FEED, r.feed_id);
    r.as_of = 1767225600;
    r.sequence = 42 + n;
    assert_int_equal(custos_reserves_summarise(es, n, &r, &err), CUSTOS_OK);
    assert_int_equal(r.accounts, n);

    char dir[512], path[600];
    tu_mkdtemp(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/in.json", dir);
    char text[8192];
    size_t len = (size_t)snprintf(text, sizeof text,
                                  "{\"chainId\": 31337, \"verifyingContract\": \"%s\", "
                                  "\"feed\": \"%s\", \"asOf\": %llu, \"sequence\": %llu, "
                                  "\"entries\": [",
                                  CONTRACT, FEED, (unsigned long long)r.as_of,
                                  (unsigned long long)r.sequence);
    for (size_t i = 0; i < n; i++) {
        char acc[67], val[CUSTOS_U256_DEC_MAX];
        hex32(es[i].account, acc);
        assert_int_equal(custos_u256_to_dec(&es[i].collateral_value, val, sizeof val),
                         CUSTOS_OK);
        len += (size_t)snprintf(text + len, sizeof text - len, "%s[\"%s\", \"%s\"]",
                                i ? ", " : "", acc, val);
    }
    snprintf(text + len, sizeof text - len, "]}");
    tu_write_file(path, text);
    const char *args[] = {path, NULL};
    char out[16384];
    if (tu_node("reserves_check.mjs", args, out, sizeof out) != 0)
        fail_msg("reserves_check.mjs failed:\n%s", out);
    tu_rmtree(dir);

    char ours[CUSTOS_U256_DEC_MAX + 70], theirs[4096];
    hex32(r.feed_id, ours);
    value_of(out, "feedId", theirs, sizeof theirs);
    assert_string_equal(ours, theirs);
    assert_int_equal(custos_u256_to_dec(&r.total_collateral, ours, sizeof ours), CUSTOS_OK);
    value_of(out, "total", theirs, sizeof theirs);
    assert_string_equal(ours, theirs);
    hex32(r.sum_root, ours);
    value_of(out, "root", theirs, sizeof theirs);
    assert_string_equal(ours, theirs);
    uint8_t digest[32];
    custos_reserves_digest(&d, &r, digest);
    hex32(digest, ours);
    value_of(out, "digest", theirs, sizeof theirs);
    assert_string_equal(ours, theirs);

    for (size_t i = 0; i < n; i++) {
        custos_reserves_proof p;
        assert_int_equal(custos_reserves_prove(es, n, es[i].account, &p, &err), CUSTOS_OK);
        assert_memory_equal(&p.entry, &es[i], sizeof es[i]);
        char joined[8192], name[16];
        size_t jl = (size_t)snprintf(joined, sizeof joined, "%llu:",
                                     (unsigned long long)p.index);
        for (size_t k = 0; k < p.n_siblings; k++) {
            char h[67], v[CUSTOS_U256_DEC_MAX];
            hex32(p.siblings[k].hash, h);
            assert_int_equal(custos_u256_to_dec(&p.siblings[k].sum, v, sizeof v), CUSTOS_OK);
            jl += (size_t)snprintf(joined + jl, sizeof joined - jl, "%s%s/%s", k ? "," : "", h,
                                   v);
        }
        snprintf(name, sizeof name, "proof%zu", i);
        value_of(out, name, theirs, sizeof theirs);
        assert_string_equal(joined, theirs);
        assert_int_equal(custos_reserves_proof_verify(&r, &p, &err), CUSTOS_OK);
        /* Another value for the same account is not in the tree. */
        custos_reserves_proof bad = p;
        bad.entry.collateral_value.limb[0] ^= 1;
        assert_int_equal(custos_reserves_proof_verify(&r, &bad, &err), CUSTOS_ERR_CRYPTO);
    }
}

static void test_matches_independent_javascript(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 9; n += 2)
        check_against_node(n);
}

static void test_refusals(void **state)
{
    (void)state;
    custos_reserves_entry es[3];
    make_entries(es, 3);
    custos_reserves r;
    memset(&r, 0, sizeof r);
    custos_error err;
    assert_int_equal(custos_reserves_summarise(es, 0, &r, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "no accounts"));

    memcpy(es[2].account, es[0].account, 32);
    assert_int_equal(custos_reserves_summarise(es, 3, &r, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "listed twice"));

    /* The sum tree's bound: a value of 2^128 is refused, one below is taken. */
    make_entries(es, 3);
    memset(&es[1].collateral_value, 0, sizeof es[1].collateral_value);
    es[1].collateral_value.limb[2] = 1;
    assert_int_equal(custos_reserves_summarise(es, 3, &r, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "2^128 or more"));
    es[1].collateral_value.limb[2] = 0;
    es[1].collateral_value.limb[0] = UINT64_MAX;
    es[1].collateral_value.limb[1] = UINT64_MAX;
    assert_int_equal(custos_reserves_summarise(es, 3, &r, &err), CUSTOS_OK);

    make_entries(es, 3);
    uint8_t other[32];
    custos_account_id(FEED, "not-counted", other);
    custos_reserves_proof p;
    assert_int_equal(custos_reserves_prove(es, 3, other, &p, &err), CUSTOS_ERR_NOT_FOUND);
}

/* The request bytes an attestor sends decode in the gateway to the same attestation. */
static void test_request_encoding(void **state)
{
    (void)state;
    custos_reserves_entry es[3];
    make_entries(es, 3);
    custos_reserves r;
    memset(&r, 0, sizeof r);
    custos_error err;
    assert_int_equal(custos_reserves_summarise(es, 3, &r, &err), CUSTOS_OK);
    r.as_of = 1700000000;
    r.sequence = 7;
    custos_domain d = {.chain_id = 31337};
    memset(d.verifying_contract, 0xab, CUSTOS_ADDRESS_LEN);
    custos_signature sigs[2];
    memset(sigs[0].bytes, 0x11, CUSTOS_SIGNATURE_LEN);
    memset(sigs[1].bytes, 0x22, CUSTOS_SIGNATURE_LEN);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(custos_reserves_request_encode(FEED, &d, &r, sigs, 2, es, 3, &buf, &len,
                                                    &err),
                     CUSTOS_OK);

    Custos__V1__SubmitReservesRequest *m =
        custos__v1__submit_reserves_request__unpack(NULL, len, buf);
    free(buf);
    assert_non_null(m);
    gw_reserves_submission *s = malloc(sizeof *s);
    assert_non_null(s);
    char detail[256] = "";
    custos_reason reason = gw_reserves_decode(m, s, detail, sizeof detail);
    custos__v1__submit_reserves_request__free_unpacked(m, NULL);
    if (reason != CUSTOS_REASON_NONE)
        fail_msg("gw_reserves_decode: %s", detail);
    assert_string_equal(s->res.feed, FEED);
    assert_int_equal(s->domain.chain_id, 31337);
    assert_memory_equal(s->domain.verifying_contract, d.verifying_contract, CUSTOS_ADDRESS_LEN);
    assert_memory_equal(&s->res.r.total_collateral, &r.total_collateral,
                        sizeof r.total_collateral);
    assert_int_equal(s->res.r.accounts, 3);
    assert_memory_equal(s->res.r.sum_root, r.sum_root, CUSTOS_HASH_LEN);
    assert_int_equal(s->res.r.as_of, r.as_of);
    assert_int_equal(s->res.r.sequence, r.sequence);
    assert_int_equal(s->n_sigs, 2);
    assert_memory_equal(s->sigs, sigs, sizeof sigs);
    assert_memory_equal(s->res.entries, es, sizeof es);
    gw_reserves_submission_clear(s);
    free(s);

    assert_int_equal(custos_reserves_request_encode(FEED, &d, &r, sigs,
                                                    CUSTOS_MAX_SIGNATURES + 1, es, 3, &buf,
                                                    &len, &err),
                     CUSTOS_ERR_TOO_LARGE);
    assert_null(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_independent_javascript),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_request_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
