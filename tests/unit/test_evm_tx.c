/* EIP-1559 transactions: signing hash, raw signed transaction and transaction hash must
 * equal ethers' (a Wallet with the same key signs the same fields; RFC 6979 makes both
 * signatures identical). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "evm/evm_tx.h"
#include "testutil.h"

#define U256_MAX "115792089237316195423570985008687907853269984665640564039457584007913129639935"

static const char *const keys[] = {
    "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x0000000000000000000000000000000000000000000000000000000000000001",
};

typedef struct tx_case {
    const char *name;
    unsigned key;
    uint64_t chain_id;
    uint64_t nonce;
    const char *tip, *max_fee; /* decimal wei */
    uint64_t gas_limit;
    uint8_t to_seed;
    const char *value;
    size_t data_len;
} tx_case;

static tx_case cases[] = {
    {"plain transfer, mainnet", 0, 1, 0, "1000000000", "30000000000", 21000, 0x11,
     "1000000000000000000", 0},
    {"anvil, zero tip and value, selector only", 1, 31337, 1, "0", "1", 100000, 0x22, "0", 4},
    {"huge fees and value", 2, 1, 4294967296, "1000000000000000000000000000000", U256_MAX,
     30000000, 0x33, U256_MAX, 100},
    {"largest JS-safe nonce", 0, 31337, 9007199254740991, "2", "3", 50000, 0x44, "127", 55},
    {"56 bytes of data", 1, 1, 127, "128", "255", 21001, 0x55, "128", 56},
    {"1000 bytes of data", 2, 31337, 128, "1500000000", "200000000000", 1000000, 0x66, "1", 1000},
    {"leading zero in r or s", 0, 1, 0, "1000000000", "30000000000", 21000, 0x77, "5", 0},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static uint8_t data_buf[1000];

static void u256_of(custos_u256 *v, const char *dec)
{
    assert_int_equal(custos_u256_from_dec(v, dec, strlen(dec), NULL), CUSTOS_OK);
}

static void build(const tx_case *c, evm_tx *tx)
{
    memset(tx, 0, sizeof *tx);
    tx->chain_id = c->chain_id;
    tx->nonce = c->nonce;
    u256_of(&tx->max_priority_fee_per_gas, c->tip);
    u256_of(&tx->max_fee_per_gas, c->max_fee);
    tx->gas_limit = c->gas_limit;
    for (size_t i = 0; i < sizeof tx->to; i++)
        tx->to[i] = (uint8_t)(c->to_seed + 31 * i);
    u256_of(&tx->value, c->value);
    tx->data = c->data_len > 0 ? data_buf : NULL;
    tx->data_len = c->data_len;
}

static void seckey_of(unsigned k, uint8_t sk[CUSTOS_SECKEY_LEN])
{
    assert_int_equal(custos_hex_decode(keys[k], sk, CUSTOS_SECKEY_LEN, NULL), CUSTOS_OK);
}

static char *hex_of(const uint8_t *data, size_t len)
{
    char *hex = malloc(2 * len + 3);
    assert_non_null(hex);
    assert_int_equal(custos_hex_encode(data, len, hex, 2 * len + 3), CUSTOS_OK);
    return hex;
}

/* r and s are RLP integers: a signature whose r or s starts with a zero byte checks that
 * the encoding drops it. Finds the first nonce from 1000 giving one. */
static void find_leading_zero_nonce(custos_secp *ctx, tx_case *c)
{
    uint8_t sk[CUSTOS_SECKEY_LEN], digest[32];
    seckey_of(c->key, sk);
    for (uint64_t nonce = 1000; nonce < 100000; nonce++) {
        evm_tx tx;
        custos_signature sig;
        c->nonce = nonce;
        build(c, &tx);
        assert_int_equal(evm_tx_signing_hash(&tx, digest, NULL), CUSTOS_OK);
        assert_int_equal(custos_sign_digest(ctx, sk, digest, &sig, NULL), CUSTOS_OK);
        if (sig.bytes[0] == 0 || sig.bytes[32] == 0)
            return;
    }
    fail_msg("no signature with a leading zero byte in r or s");
}

static json_t *case_json(const tx_case *c, const evm_tx *tx)
{
    char to[CUSTOS_ADDRESS_HEX_LEN], nums[3][24];
    custos_address_to_hex(tx->to, to);
    snprintf(nums[0], sizeof nums[0], "%llu", (unsigned long long)c->chain_id);
    snprintf(nums[1], sizeof nums[1], "%llu", (unsigned long long)c->nonce);
    snprintf(nums[2], sizeof nums[2], "%llu", (unsigned long long)c->gas_limit);
    char *data = hex_of(tx->data, tx->data_len);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "key", keys[c->key],
                          "chainId", nums[0], "nonce", nums[1], "maxPriorityFeePerGas", c->tip,
                          "maxFeePerGas", c->max_fee, "gasLimit", nums[2], "to", to, "value",
                          c->value, "data", data);
    free(data);
    assert_non_null(j);
    return j;
}

static void test_matches_ethers(void **state)
{
    (void)state;
    custos_secp *ctx = custos_secp_new();
    assert_non_null(ctx);
    find_leading_zero_nonce(ctx, &cases[N_CASES - 1]);

    json_t *all = json_array();
    for (size_t i = 0; i < N_CASES; i++) {
        evm_tx tx;
        build(&cases[i], &tx);
        assert_int_equal(json_array_append_new(all, case_json(&cases[i], &tx)), 0);
    }
    char *arg = json_dumps(all, JSON_COMPACT);
    assert_non_null(arg);
    json_decref(all);
    static char out[64 * 1024];
    const char *args[] = {arg, NULL};
    assert_int_equal(tu_node("evm_tx.mjs", args, out, sizeof out), 0);
    free(arg);

    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (size_t i = 0; i < N_CASES; i++) {
        assert_non_null(line);
        char want_unsigned[67], want_hash[67];
        static char want_raw[4096];
        assert_int_equal(sscanf(line, "%66s %4095s %66s", want_unsigned, want_raw, want_hash),
                         3);
        evm_tx tx;
        build(&cases[i], &tx);
        uint8_t sk[CUSTOS_SECKEY_LEN], digest[32];
        seckey_of(cases[i].key, sk);
        custos_error err;
        assert_int_equal(evm_tx_signing_hash(&tx, digest, &err), CUSTOS_OK);
        char *hex = hex_of(digest, 32);
        if (strcmp(hex, want_unsigned) != 0)
            fail_msg("%s: signing hash %s, ethers %s", cases[i].name, hex, want_unsigned);
        free(hex);

        evm_signed_tx signed_tx;
        if (evm_tx_sign(ctx, sk, &tx, &signed_tx, &err) != CUSTOS_OK)
            fail_msg("%s: %s", cases[i].name, err.message);
        hex = hex_of(signed_tx.raw, signed_tx.raw_len);
        if (strcmp(hex, want_raw) != 0)
            fail_msg("%s:\n raw    %s\n ethers %s", cases[i].name, hex, want_raw);
        free(hex);
        hex = hex_of(signed_tx.hash, 32);
        if (strcmp(hex, want_hash) != 0)
            fail_msg("%s: hash %s, ethers %s", cases[i].name, hex, want_hash);
        free(hex);
        evm_signed_tx_clear(&signed_tx);
        assert_null(signed_tx.raw);
        line = strtok_r(NULL, "\n", &save);
    }
    assert_null(line);
    custos_secp_free(ctx);
}

static void test_refusals(void **state)
{
    (void)state;
    custos_secp *ctx = custos_secp_new();
    assert_non_null(ctx);
    uint8_t sk[CUSTOS_SECKEY_LEN], digest[32];
    seckey_of(0, sk);
    evm_tx tx;
    build(&cases[0], &tx);
    evm_signed_tx out;
    custos_error err;

    static uint8_t big[EVM_TX_MAX_DATA + 1];
    tx.data = big;
    tx.data_len = sizeof big;
    assert_int_equal(evm_tx_sign(ctx, sk, &tx, &out, &err), CUSTOS_ERR_TOO_LARGE);
    assert_null(out.raw);
    tx.data_len = EVM_TX_MAX_DATA;
    assert_int_equal(evm_tx_sign(ctx, sk, &tx, &out, &err), CUSTOS_OK);
    assert_true(out.raw_len > EVM_TX_MAX_DATA);
    evm_signed_tx_clear(&out);

    tx.data = NULL;
    tx.data_len = 1;
    assert_int_equal(evm_tx_signing_hash(&tx, digest, &err), CUSTOS_ERR_INVALID);

    /* The zero key is not a valid secret key. */
    tx.data_len = 0;
    memset(sk, 0, sizeof sk);
    assert_int_not_equal(evm_tx_sign(ctx, sk, &tx, &out, &err), CUSTOS_OK);
    assert_null(out.raw);
    custos_secp_free(ctx);
}

int main(void)
{
    for (size_t i = 0; i < sizeof data_buf; i++)
        data_buf[i] = (uint8_t)(i * 29 + 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_ethers),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
