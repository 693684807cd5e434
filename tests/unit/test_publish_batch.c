/* Publishing batches: submitBatch's calldata against one built with no Custos code (ethers
 * and @openzeppelin/merkle-tree, tests/js/batch_calldata.mjs), submitBatchPart's with its
 * multiproof against the package's getMultiProof, and the plan of calls. */
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/batch.h"
#include "custos/hex.h"
#include "evm/publish_batch.h"
#include "testutil.h"

#define FEED "bank-a/treasuries"
#define N_ATTS 5

static char *hex_of(const uint8_t *data, size_t len)
{
    char *hex = malloc(2 * len + 3);
    assert_non_null(hex);
    assert_int_equal(custos_hex_encode(data, len, hex, 2 * len + 3), CUSTOS_OK);
    return hex;
}

static void make_attestations(custos_attestation *atts, size_t n)
{
    memset(atts, 0, n * sizeof *atts);
    for (size_t i = 0; i < n; i++) {
        custos_attestation *a = &atts[i];
        for (size_t k = 0; k < CUSTOS_HASH_LEN; k++) {
            a->account[k] = (uint8_t)(0x31 * (i + 1) + k);
            a->positions_root[k] = (uint8_t)(0x57 * (i + 3) + 5 * k);
        }
        memset(a->beneficiary, 0xA1, CUSTOS_ADDRESS_LEN);
        a->kind = CUSTOS_KIND_VALUATION;
        custos_u256_from_u64(&a->gross_value, 1000000000000000000ULL * (i + 2));
        custos_u256_from_u64(&a->collateral_value, 950000000000000000ULL * (i + 2));
        a->as_of = 1767369600;
        a->valid_until = 1767369600 + 86400;
        a->sequence = 40 + i;
    }
}

static json_t *attestation_json(const custos_attestation *a)
{
    char *account = hex_of(a->account, CUSTOS_HASH_LEN);
    char *beneficiary = hex_of(a->beneficiary, CUSTOS_ADDRESS_LEN);
    char *root = hex_of(a->positions_root, CUSTOS_HASH_LEN);
    char gross[80], value[80];
    assert_int_equal(custos_u256_to_dec(&a->gross_value, gross, sizeof gross), CUSTOS_OK);
    assert_int_equal(custos_u256_to_dec(&a->collateral_value, value, sizeof value), CUSTOS_OK);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:I, s:I}", "account", account,
                          "beneficiary", beneficiary, "kind", (int)a->kind, "grossValue", gross,
                          "collateralValue", value, "positionsRoot", root, "asOf",
                          (json_int_t)a->as_of, "validUntil", (json_int_t)a->valid_until,
                          "sequence", (json_int_t)a->sequence);
    assert_non_null(j);
    free(account);
    free(beneficiary);
    free(root);
    return j;
}

/* The batch of the n attestations (their tree's root, count and times) under sequence. */
static custos_batch batch_of(const custos_attestation *atts, size_t n, uint64_t sequence)
{
    custos_batch batch;
    custos_batch_tree *tree = NULL;
    custos_error err;
    if (custos_batch_tree_new(FEED, atts, n, sequence, &batch, &tree, &err) != CUSTOS_OK)
        fail_msg("batch tree: %s", err.message);
    custos_batch_tree_free(tree);
    return batch;
}

/* The calldata ethers and the merkle-tree package build from atts (in the order given),
 * signed by sigs of signers 0xF0.. and 0xE0..: submitBatch's, or with part (n_part
 * indices into atts, -1 ended) submitBatchPart's. Checks their root is ours. */
static char *ethers_calldata(const custos_batch *batch, const custos_attestation *atts, size_t n,
                             const custos_signature sigs[2], const int *part)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        assert_int_equal(json_array_append_new(list, attestation_json(&atts[i])), 0);
    char *feed_id = hex_of(batch->feed_id, CUSTOS_HASH_LEN);
    uint8_t packed[2 * CUSTOS_SIGNATURE_LEN];
    memcpy(packed, sigs[1].bytes, CUSTOS_SIGNATURE_LEN); /* signer 0xE0.. before 0xF0.. */
    memcpy(packed + CUSTOS_SIGNATURE_LEN, sigs[0].bytes, CUSTOS_SIGNATURE_LEN);
    char *packed_hex = hex_of(packed, sizeof packed);
    json_t *in = json_pack("{s:s, s:I, s:o, s:s}", "feedId", feed_id, "sequence",
                           (json_int_t)batch->sequence, "attestations", list, "signatures",
                           packed_hex);
    assert_non_null(in);
    if (part != NULL) {
        json_t *idx = json_array();
        for (size_t i = 0; part[i] >= 0; i++)
            assert_int_equal(json_array_append_new(idx, json_integer(part[i])), 0);
        assert_int_equal(json_object_set_new(in, "part", idx), 0);
    }
    char *arg = json_dumps(in, JSON_COMPACT);
    assert_non_null(arg);
    json_decref(in);
    free(feed_id);
    free(packed_hex);
    static char out[64 * 1024];
    const char *args[] = {arg, NULL};
    assert_int_equal(tu_node("batch_calldata.mjs", args, out, sizeof out), 0);
    free(arg);

    char *save = NULL;
    char *root = strtok_r(out, "\n", &save);
    char *calldata = strtok_r(NULL, "\n", &save);
    assert_non_null(root);
    assert_non_null(calldata);
    char *our_root = hex_of(batch->accounts_root, CUSTOS_HASH_LEN);
    assert_string_equal(our_root, root);
    free(our_root);
    char *copy = strdup(calldata);
    assert_non_null(copy);
    return copy;
}

/* Our calldata (data, len) is the one ethers_calldata builds from the same input; it is
 * freed. */
static void expect_ethers_calldata(const custos_batch *batch, const custos_attestation *atts,
                                   size_t n, const custos_signature sigs[2], const int *part,
                                   uint8_t *data, size_t len)
{
    char *calldata = ethers_calldata(batch, atts, n, sigs, part);
    char *ours = hex_of(data, len);
    if (strcmp(ours, calldata) != 0)
        fail_msg("%s calldata:\n ours   %s\n ethers %s",
                 part != NULL ? "submitBatchPart" : "submitBatch", ours, calldata);
    free(ours);
    free(calldata);
    free(data);
}

static void test_signatures(custos_signature sigs[2], uint8_t signers[2][CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < 2; i++) {
        memset(sigs[i].bytes, (int)(0x70 + i), CUSTOS_SIGNATURE_LEN);
        memset(signers[i], (int)(0xF0 - 0x10 * i), CUSTOS_ADDRESS_LEN); /* given unsorted */
    }
}

/* Our calldata equals the one ethers and the merkle-tree package build from the same
 * attestations in another order: the same root, the same leaf order, the same ABI. */
static void test_calldata_matches_ethers(void **state)
{
    (void)state;
    custos_attestation atts[N_ATTS];
    make_attestations(atts, N_ATTS);
    custos_batch batch = batch_of(atts, N_ATTS, 12);
    custos_error err;

    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    test_signatures(sigs, signers);
    /* Reversed: the encoder orders by leaf whatever order it is given. */
    custos_attestation reversed[N_ATTS];
    for (size_t i = 0; i < N_ATTS; i++)
        reversed[i] = atts[N_ATTS - 1 - i];
    gw_pub_batch b = {batch, reversed, N_ATTS, sigs, signers, 2};
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(gw_pub_batch_encode(&b, &data, &len, &err), CUSTOS_OK);
    expect_ethers_calldata(&batch, atts, N_ATTS, sigs, NULL, data, len);
}

/* A part's calldata, its multiproof included, equals the one built from the merkle-tree
 * package's getMultiProof, for parts of one account, of several, and of all. */
static void test_part_calldata_matches_ethers(void **state)
{
    (void)state;
    enum { N = 7 };
    static const int parts[][N + 1] = {
        {3, -1}, {0, -1}, {6, -1}, {1, 4, -1}, {5, 0, 2, -1}, {0, 1, 2, 3, 4, 5, 6, -1},
    };
    custos_attestation atts[N];
    make_attestations(atts, N);
    custos_batch batch = batch_of(atts, N, 9);
    custos_error err;
    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    test_signatures(sigs, signers);
    gw_pub_batch b = {batch, atts, N, sigs, signers, 2};
    for (size_t c = 0; c < sizeof parts / sizeof parts[0]; c++) {
        custos_attestation part[N];
        size_t n_part = 0;
        while (parts[c][n_part] >= 0) {
            part[n_part] = atts[parts[c][n_part]];
            n_part++;
        }
        uint8_t *data = NULL;
        size_t len = 0;
        if (gw_pub_batch_part_encode(&b, part, n_part, &data, &len, &err) != CUSTOS_OK)
            fail_msg("part %zu: %s", c, err.message);
        expect_ethers_calldata(&batch, atts, N, sigs, parts[c], data, len);
    }
}

static void test_part_refusals(void **state)
{
    (void)state;
    custos_attestation atts[N_ATTS], other[1];
    make_attestations(atts, N_ATTS);
    make_attestations(other, 1);
    other[0].sequence = 999;
    custos_batch batch = batch_of(atts, N_ATTS, 9);
    custos_error err;
    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    test_signatures(sigs, signers);
    gw_pub_batch b = {batch, atts, N_ATTS, sigs, signers, 2};
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(gw_pub_batch_part_encode(&b, atts, 0, &data, &len, &err), CUSTOS_ERR_INVALID);
    custos_attestation twice[2] = {atts[1], atts[1]};
    assert_int_equal(gw_pub_batch_part_encode(&b, twice, 2, &data, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "twice"));
    assert_int_equal(gw_pub_batch_part_encode(&b, other, 1, &data, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "not in the batch"));
    b.batch.accounts_root[0] ^= 1;
    assert_int_equal(gw_pub_batch_part_encode(&b, atts, 1, &data, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "signed root"));
    assert_null(data);
}

/* The publisher's way: one prepared batch for every part of a send, the accounts given in
 * another order than the tree's, cut in parts of 20 by their rank in the tree (the last
 * part shorter), and a part of scattered accounts; each part's calldata equals the one
 * built from the merkle-tree package's getMultiProof. */
static void test_prepared_parts_match_ethers(void **state)
{
    (void)state;
    enum { N = 64, PART = 20 };
    custos_attestation atts[N], reversed[N];
    make_attestations(atts, N);
    for (size_t i = 0; i < N; i++)
        reversed[i] = atts[N - 1 - i];
    custos_batch batch = batch_of(atts, N, 21);
    custos_error err;
    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    test_signatures(sigs, signers);
    gw_pub_batch b = {batch, reversed, N, sigs, signers, 2};
    gw_pub_prepared *pp = NULL;
    if (gw_pub_prepared_new(&b, &pp, &err) != CUSTOS_OK)
        fail_msg("prepared: %s", err.message);
    /* by_rank[r]: the index into reversed of the account at rank r. */
    size_t by_rank[N];
    bool seen[N] = {false};
    for (size_t i = 0; i < N; i++) {
        size_t r = gw_pub_prepared_rank(pp, i);
        assert_true(r < N);
        assert_false(seen[r]);
        seen[r] = true;
        by_rank[r] = i;
    }
    for (size_t first = 0; first < N; first += PART) {
        size_t n = N - first < PART ? N - first : PART;
        int part[PART + 1];
        for (size_t k = 0; k < n; k++)
            part[k] = (int)(N - 1 - by_rank[first + k]); /* its index into atts */
        part[n] = -1;
        uint8_t *data = NULL;
        size_t len = 0;
        if (gw_pub_prepared_part_encode(pp, by_rank + first, n, &data, &len, &err) != CUSTOS_OK)
            fail_msg("part from rank %zu: %s", first, err.message);
        expect_ethers_calldata(&batch, atts, N, sigs, part, data, len);
    }
    static const size_t scattered[] = {63, 0, 17, 40, 41, 5};
    int part[7];
    for (size_t k = 0; k < 6; k++)
        part[k] = (int)(N - 1 - scattered[k]);
    part[6] = -1;
    uint8_t *data = NULL;
    size_t len = 0;
    if (gw_pub_prepared_part_encode(pp, scattered, 6, &data, &len, &err) != CUSTOS_OK)
        fail_msg("scattered part: %s", err.message);
    expect_ethers_calldata(&batch, atts, N, sigs, part, data, len);
    gw_pub_prepared_free(pp);
}

/* A prepared batch refuses what gw_pub_batch_part_encode refuses, the accounts given by
 * index. */
static void test_prepared_refusals(void **state)
{
    (void)state;
    custos_attestation atts[N_ATTS];
    make_attestations(atts, N_ATTS);
    custos_batch batch = batch_of(atts, N_ATTS, 9);
    custos_error err;
    custos_signature sigs[2];
    uint8_t signers[2][CUSTOS_ADDRESS_LEN];
    test_signatures(sigs, signers);
    gw_pub_prepared *pp = NULL;

    gw_pub_batch fewer = {batch, atts, N_ATTS - 1, sigs, signers, 2};
    assert_int_equal(gw_pub_prepared_new(&fewer, &pp, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "accounts for a count of"));
    assert_null(pp);
    custos_attestation twice_in[N_ATTS];
    memcpy(twice_in, atts, sizeof atts);
    twice_in[3] = atts[0];
    gw_pub_batch dup = {batch, twice_in, N_ATTS, sigs, signers, 2};
    assert_int_equal(gw_pub_prepared_new(&dup, &pp, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "appears twice"));
    assert_null(pp);

    gw_pub_batch b = {batch, atts, N_ATTS, sigs, signers, 2};
    assert_int_equal(gw_pub_prepared_new(&b, &pp, &err), CUSTOS_OK);
    uint8_t *data = NULL;
    size_t len = 0;
    static const size_t none[1] = {0}, beyond[2] = {1, N_ATTS}, twice[3] = {2, 4, 2};
    assert_int_equal(gw_pub_prepared_part_encode(pp, none, 0, &data, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "a part of 0 accounts"));
    assert_int_equal(gw_pub_prepared_part_encode(pp, beyond, 2, &data, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "names account 5 of 5"));
    assert_int_equal(gw_pub_prepared_part_encode(pp, twice, 3, &data, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "twice"));
    gw_pub_prepared_free(pp);

    /* The root is checked at each part, not at preparation. */
    b.batch.accounts_root[0] ^= 1;
    assert_int_equal(gw_pub_prepared_new(&b, &pp, &err), CUSTOS_OK);
    assert_int_equal(gw_pub_prepared_part_encode(pp, none, 1, &data, &len, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "signed root"));
    assert_null(data);
    gw_pub_prepared_free(pp);
}

static void test_encode_refusals(void **state)
{
    (void)state;
    custos_attestation atts[3];
    make_attestations(atts, 3);
    custos_batch batch = batch_of(atts, 3, 1);
    custos_error err;
    custos_signature sig;
    memset(sig.bytes, 0x11, CUSTOS_SIGNATURE_LEN);
    uint8_t signer[1][CUSTOS_ADDRESS_LEN] = {{0x22}};
    uint8_t *data = NULL;
    size_t len = 0;

    gw_pub_batch fewer = {batch, atts, 2, &sig, signer, 1};
    assert_int_equal(gw_pub_batch_encode(&fewer, &data, &len, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "2 accounts for a count of 3"));

    custos_attestation twice[3] = {atts[0], atts[1], atts[0]};
    gw_pub_batch dup = {batch, twice, 3, &sig, signer, 1};
    assert_int_equal(gw_pub_batch_encode(&dup, &data, &len, &err), CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "appears twice"));

    gw_pub_batch unsigned_batch = {batch, atts, 3, &sig, signer, 0};
    assert_int_equal(gw_pub_batch_encode(&unsigned_batch, &data, &len, &err), CUSTOS_ERR_INVALID);
}

/* ------------------------------------------------------------------ the plan */

/* A due record; batch 0 is signed alone, another number names a batch. */
#define DUE(k, batch, count)                                                               \
    {                                                                                       \
        .kind = (k), .batched = (batch) != 0, .batch_digest = {(batch)}, .batch_count = (count) \
    }

typedef struct plan_case {
    const char *name;
    gw_pub_due due[8];
    size_t n;
    uint32_t max_accounts;
    uint64_t gas_limit;
    /* the calls expected: kind and the due indices of each, -1 ending a call's list */
    struct {
        gw_pub_call_kind kind;
        int records[8];
    } calls[8];
    size_t n_calls;
} plan_case;

#define V CUSTOS_KIND_VALUATION
#define R CUSTOS_KIND_RELEASE
#define F CUSTOS_KIND_FREEZE
#define GAS_30M 30000000u

static const plan_case plan_cases[] = {
    {"freezes and releases first, then single valuations, then batches",
     {DUE(V, 1, 3), DUE(V, 0, 0), DUE(F, 0, 0), DUE(V, 1, 3), DUE(R, 0, 0)},
     5, 100, GAS_30M,
     {{GW_PUB_CALL_SINGLE, {2, -1}},
      {GW_PUB_CALL_SINGLE, {4, -1}},
      {GW_PUB_CALL_SINGLE, {1, -1}},
      {GW_PUB_CALL_BATCH, {0, 3, -1}}},
     4},
    {"two batches, one call each, in the order they come",
     {DUE(V, 2, 2), DUE(V, 1, 2), DUE(V, 2, 2), DUE(V, 1, 2)},
     4, 100, GAS_30M,
     {{GW_PUB_CALL_BATCH, {0, 2, -1}}, {GW_PUB_CALL_BATCH, {1, 3, -1}}},
     2},
    {"a batch over the cap is not sent",
     {DUE(V, 1, 101), DUE(V, 2, 100)},
     2, 100, GAS_30M,
     {{GW_PUB_CALL_TOO_LARGE, {0, -1}}, {GW_PUB_CALL_BATCH, {1, -1}}},
     2},
    {"a batch beyond the gas limit is not sent",
     {DUE(V, 1, 900), DUE(V, 2, 10)},
     2, 4096, GAS_30M,
     {{GW_PUB_CALL_TOO_LARGE, {0, -1}}, {GW_PUB_CALL_BATCH, {1, -1}}},
     2},
    {.name = "nothing due", .n = 0, .max_accounts = 100, .gas_limit = GAS_30M, .n_calls = 0},
};

static void test_plan_table(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof plan_cases / sizeof plan_cases[0]; c++) {
        const plan_case *pc = &plan_cases[c];
        size_t order[8];
        gw_pub_call calls[8];
        size_t n_calls = 0;
        custos_error err;
        if (gw_pub_batch_plan(pc->due, pc->n, pc->max_accounts, pc->gas_limit, order, calls,
                              &n_calls, &err) != CUSTOS_OK)
            fail_msg("%s: %s", pc->name, err.message);
        if (n_calls != pc->n_calls)
            fail_msg("%s: %zu calls, expected %zu", pc->name, n_calls, pc->n_calls);
        for (size_t k = 0; k < n_calls; k++) {
            if (calls[k].kind != pc->calls[k].kind)
                fail_msg("%s: call %zu of kind %d, expected %d", pc->name, k,
                         (int)calls[k].kind, (int)pc->calls[k].kind);
            size_t m = 0;
            while (pc->calls[k].records[m] >= 0)
                m++;
            if (calls[k].n != m)
                fail_msg("%s: call %zu has %zu records, expected %zu", pc->name, k, calls[k].n, m);
            for (size_t r = 0; r < m; r++) {
                if (order[calls[k].first + r] != (size_t)pc->calls[k].records[r])
                    fail_msg("%s: call %zu record %zu is %zu, expected %d", pc->name, k, r,
                             order[calls[k].first + r], pc->calls[k].records[r]);
            }
        }
    }
}

static void test_plan_refusals(void **state)
{
    (void)state;
    size_t order[1];
    gw_pub_call calls[1];
    size_t n_calls = 0;
    custos_error err;
    gw_pub_due freeze = DUE(F, 1, 3);
    assert_int_equal(gw_pub_batch_plan(&freeze, 1, 100, GAS_30M, order, calls, &n_calls, &err),
                     CUSTOS_ERR_INVALID);
    assert_non_null(strstr(err.message, "a freeze or a release in a batch"));
    gw_pub_due empty = DUE(V, 1, 0);
    assert_int_equal(gw_pub_batch_plan(&empty, 1, 100, GAS_30M, order, calls, &n_calls, &err),
                     CUSTOS_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calldata_matches_ethers),
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_part_calldata_matches_ethers),
        cmocka_unit_test(test_part_refusals),
        cmocka_unit_test(test_prepared_parts_match_ethers),
        cmocka_unit_test(test_prepared_refusals),
        cmocka_unit_test(test_plan_table),
        cmocka_unit_test(test_plan_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
