#include "pubbatch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/batch.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "pki.h"

#define PB_OUT_CAP 65536

static void pb_check(custos_rc rc, const custos_error *err)
{
    if (rc != CUSTOS_OK)
        fail_msg("%s: %s", custos_rc_name(rc), err->message);
}

void pubb_path(const pubb *b, char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", b->f->gw.dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

void pubb_init(pubb *b, pubf *f)
{
    memset(b, 0, sizeof *b);
    b->f = f;
    pubb_path(b, b->k1, sizeof b->k1, "custodian.key");
    pubb_path(b, b->k2, sizeof b->k2, "agent.key");
    pubb_path(b, b->state, sizeof b->state, "attestor-state.json");
    pubb_path(b, b->holdings, sizeof b->holdings, "holdings.json");
    pubb_path(b, b->prices, sizeof b->prices, "prices.json");
    pubb_path(b, b->policy, sizeof b->policy, "policy.json");
    custos_error err;
    pb_check(custos_keyfile_write(b->k1, f->gw.keys[GWF_KEY_CUSTODIAN].seckey, &err), &err);
    pb_check(custos_keyfile_write(b->k2, f->gw.keys[GWF_KEY_AGENT].seckey, &err), &err);
    custos_address_to_hex(f->adapter, b->contract);
}


/* quantity (whole units, as the sample holdings give them: digits, then optionally a
 * fraction of zeros) times pct / 100, which must stay whole. */
static json_t *pb_scaled_quantity(const char *quantity, unsigned pct)
{
    char *end = NULL;
    unsigned long long q = strtoull(quantity, &end, 10);
    assert_true(end != quantity);
    if (*end == '.')
        for (end++; *end == '0'; end++)
            ;
    assert_int_equal(*end, '\0');
    assert_true(q <= UINT64_MAX / 1000);
    assert_int_equal(q * pct % 100, 0);
    char out[32];
    snprintf(out, sizeof out, "%llu", q * pct / 100);
    return json_string(out);
}

void pubb_write_book(pubb *b, const char *const *refs, size_t n_refs)
{
    pubb_write_book_scaled(b, refs, NULL, n_refs);
}

void pubb_write_book_scaled(pubb *b, const char *const *refs, const unsigned *pct,
                            size_t n_refs)
{
    json_t *h = tu_load_example("holdings.json");
    json_t *accounts = json_object_get(h, "accounts");
    json_t *first = json_deep_copy(json_array_get(accounts, 0));
    assert_non_null(first);
    assert_string_equal(json_string_value(json_object_get(h, "custodian")), GWF_FEED);
    assert_int_equal(json_array_clear(accounts), 0);
    for (size_t i = 0; i < n_refs; i++) {
        json_t *copy = json_deep_copy(first);
        assert_int_equal(json_object_set_new(copy, "ref", json_string(refs[i])), 0);
        assert_int_equal(json_object_set_new(copy, "beneficiary", json_string(PUBF_LENDER)), 0);
        size_t k;
        json_t *pos;
        json_array_foreach(json_object_get(copy, "positions"), k, pos) {
            if (pct == NULL)
                break;
            const char *q = json_string_value(json_object_get(pos, "quantity"));
            assert_non_null(q);
            json_t *scaled = pb_scaled_quantity(q, pct[i]);
            assert_int_equal(json_object_set_new(pos, "quantity", scaled), 0);
        }
        assert_int_equal(json_array_append_new(accounts, copy), 0);
    }
    json_decref(first);
    assert_int_equal(json_dump_file(h, b->holdings, JSON_INDENT(2)), 0);
    json_decref(h);
    tu_write_example_prices(b->prices, gwf_now());
    json_t *pol = tu_load_example("policy.json");
    assert_int_equal(json_dump_file(pol, b->policy, JSON_INDENT(2)), 0);
    json_decref(pol);
}

int pubb_attestor(const char *const args[])
{
    char *out = malloc(PB_OUT_CAP);
    assert_non_null(out);
    int status = tu_run_cmd(CUSTOS_ATTESTOR_BIN, args, out, PB_OUT_CAP);
    free(out);
    return status;
}

void pubb_sign(pubb *b, const char *dir, const char *dir2)
{
    const char *attest[] = {"attest", "--batch", "--holdings", b->holdings, "--prices",
                            b->prices, "--policy", b->policy, "--key", b->k1, "--feed",
                            GWF_FEED, "--chain-id", "31337", "--contract", b->contract,
                            "--state", b->state, "--export", dir, NULL};
    assert_int_equal(pubb_attestor(attest), 0);
    const char *cosign[] = {"cosign", "--in", dir, "--key", b->k2, "--export", dir2, NULL};
    assert_int_equal(pubb_attestor(cosign), 0);
}

void pubb_sign_submit(pubb *b, const char *name, char *cosigned, size_t cap)
{
    char dir[1200], second[256];
    pubb_path(b, dir, sizeof dir, name);
    int n = snprintf(second, sizeof second, "%s-cosigned", name);
    assert_true(n > 0 && (size_t)n < sizeof second);
    pubb_path(b, cosigned, cap, second);
    pubb_sign(b, dir, cosigned);
    pubb_submit(b, cosigned);
}

void pubb_submit(pubb *b, const char *dir)
{
    const gwf *g = &b->f->gw;
    if (g->tls_dir[0] == '\0') {
        const char *submit[] = {"submit-batch", "--dir", dir, "--gateway", g->target,
                                "--insecure", NULL};
        assert_int_equal(pubb_attestor(submit), 0);
        return;
    }
    char ca[1200], cert[1200], key[1200];
    pki_path(g->tls_dir, "ca", ".pem", ca, sizeof ca);
    pki_path(g->tls_dir, g->tls_client, ".pem", cert, sizeof cert);
    pki_path(g->tls_dir, g->tls_client, ".key", key, sizeof key);
    const char *submit[] = {"submit-batch", "--dir", dir, "--gateway", g->target, "--tls-ca",
                            ca, "--tls-cert", cert, "--tls-key", key, NULL};
    assert_int_equal(pubb_attestor(submit), 0);
}

static void pb_exported_value(const char *dir, const char *ref, custos_u256 *value)
{
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, ref, id);
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], path[1400];
    assert_int_equal(custos_hex_encode(id, CUSTOS_HASH_LEN, hex, sizeof hex), CUSTOS_OK);
    snprintf(path, sizeof path, "%s/%s.json", dir, hex);
    json_t *j = tu_load_json(path);
    const char *dec = json_string_value(
        json_object_get(json_object_get(json_object_get(j, "typedData"), "message"),
                        "collateralValue"));
    assert_non_null(dec);
    custos_error err;
    pb_check(custos_u256_from_dec(value, dec, strlen(dec), &err), &err);
    json_decref(j);
}

static void pb_lender_answer(pubf *f, const uint8_t account[CUSTOS_HASH_LEN], custos_u256 *answer)
{
    uint8_t lender[CUSTOS_ADDRESS_LEN], feed[CUSTOS_ADDRESS_LEN];
    custos_error err;
    pb_check(custos_address_from_hex(PUBF_LENDER, lender, &err), &err);
    evm_abi_value args[2] = {evm_abi_bytes32(account), evm_abi_address(lender)};
    uint8_t *data = NULL, *res = NULL;
    size_t data_len = 0, len = 0;
    pb_check(evm_abi_encode("accountFeed(bytes32,address)", args, 2, &data, &data_len, &err),
             &err);
    evm_call call = {.data = data, .data_len = data_len};
    memcpy(call.to, f->adapter, CUSTOS_ADDRESS_LEN);
    pb_check(evm_rpc_call(f->rpc[0], &call, &res, &len, &err), &err);
    free(data);
    pb_check(evm_abi_get_address(res, len, 0, feed, &err), &err);
    free(res);
    pb_check(evm_abi_encode("latestRoundData()", NULL, 0, &data, &data_len, &err), &err);
    evm_call round = {.data = data, .data_len = data_len};
    memcpy(round.to, feed, CUSTOS_ADDRESS_LEN);
    pb_check(evm_rpc_call(f->rpc[0], &round, &res, &len, &err), &err);
    free(data);
    bool negative = true;
    pb_check(evm_abi_get_int(res, len, 1, 256, &negative, answer, &err), &err);
    assert_false(negative);
    free(res);
}

void pubb_expect_on_chain(pubf *f, const char *dir, const char *ref, uint64_t sequence)
{
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, ref, id);
    custos_u256 want, got;
    if (dir != NULL)
        pb_exported_value(dir, ref, &want);
    else
        custos_u256_from_u64(&want, 0);
    pb_lender_answer(f, id, &got);
    if (custos_u256_cmp(&got, &want) != 0)
        fail_msg("account %s: its lender's feed answers another value than %s says", ref,
                 dir != NULL ? dir : "a freeze");
    assert_int_equal(pubf_chain_sequence(f, 0, id), sequence);
}

uint64_t pubb_latest_cursor(pubf *f, const char *ref, uint64_t sequence)
{
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(GWF_FEED, ref, id);
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    pb_check(custos_client_get_latest(f->gw.client, id, &rec, &err), &err);
    assert_int_equal(rec.sub.att.sequence, sequence);
    uint64_t cursor = rec.cursor;
    custos_record_clear(&rec);
    return cursor;
}

uint64_t pubb_batch_sequence(const char *dir)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/batch.json", dir);
    json_t *j = tu_load_json(path);
    const char *dec = json_string_value(
        json_object_get(json_object_get(json_object_get(j, "typedData"), "message"),
                        "sequence"));
    if (dec == NULL)
        fail_msg("%s: no typedData.message.sequence", path);
    char *end = NULL;
    uint64_t sequence = strtoull(dec, &end, 10);
    assert_true(end != dec && *end == '\0');
    json_decref(j);
    return sequence;
}

/* The adapter's events `event` of GWF_FEED's batch `sequence` (BatchAccepted and
 * BatchPartAccepted have the same topics and data). */
static size_t pb_events(pubf *f, const char *event, uint64_t sequence, uint32_t *refused)
{
    uint8_t topic0[CUSTOS_HASH_LEN], feed_id[CUSTOS_HASH_LEN], word[32] = {0};
    custos_keccak256((const uint8_t *)event, strlen(event), topic0);
    custos_keccak256((const uint8_t *)GWF_FEED, strlen(GWF_FEED), feed_id);
    for (int i = 0; i < 8; i++)
        word[31 - i] = (uint8_t)(sequence >> (8 * i));
    char adapter[CUSTOS_ADDRESS_HEX_LEN], t0[67], feed[67], seq[67];
    custos_address_to_hex(f->adapter, adapter);
    assert_int_equal(custos_hex_encode(topic0, 32, t0, sizeof t0), CUSTOS_OK);
    assert_int_equal(custos_hex_encode(feed_id, 32, feed, sizeof feed), CUSTOS_OK);
    assert_int_equal(custos_hex_encode(word, 32, seq, sizeof seq), CUSTOS_OK);
    json_t *logs = pubf_rpc(f, 0, "eth_getLogs",
                            json_pack("[{s:s, s:s, s:s, s:[s, s, s]}]", "address", adapter,
                                      "fromBlock", "0x0", "toBlock", "latest", "topics", t0,
                                      feed, seq));
    size_t n = json_array_size(logs);
    *refused = 0;
    if (n > 0) {
        /* data: accountsRoot, count, refused, digest; one word each. */
        const char *data = json_string_value(json_object_get(json_array_get(logs, n - 1), "data"));
        uint8_t bytes[4 * 32];
        custos_error err;
        assert_non_null(data);
        pb_check(custos_hex_decode(data, bytes, sizeof bytes, &err), &err);
        for (int i = 0; i < 4; i++)
            *refused = (*refused << 8) | bytes[2 * 32 + 28 + i];
    }
    json_decref(logs);
    return n;
}

size_t pubb_batch_events(pubf *f, uint64_t sequence, uint32_t *refused)
{
    return pb_events(f, "BatchAccepted(bytes32,uint64,bytes32,uint32,uint32,bytes32)", sequence,
                     refused);
}

size_t pubb_part_events(pubf *f, uint64_t sequence, uint32_t *refused)
{
    return pb_events(f, "BatchPartAccepted(bytes32,uint64,bytes32,uint32,uint32,bytes32)",
                     sequence, refused);
}
