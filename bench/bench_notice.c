/* Block-to-notice latency of the collateral manager (docs/lending.md §6, §7): how long from
 * the block that carries a borrower's new debt to the manager's notice on-chain, when the
 * manager reads the chain itself (--rpc) and publishes to CustosNotices itself.
 *
 * The set-up is test_lending_anvil's (tests/support/lendfixture.h): Morpho Blue on anvil
 * (automine: each transaction is its own block), the real custos-gateway with [evm], the
 * second pledge valued at $98,000, and custos-attestor manage as a daemon (its interval 10
 * minutes, so only a new block starts a pass). The borrower holds 60% LTV; each round then
 * borrows to 75% (a margin call) and repays back to 60% (healthy, cured), each sent as a
 * raw transaction by this program: the clock starts when its receipt is first seen
 * (polled every half millisecond: its block exists from then on) and stops when CustosNotices' lastSequence for the pledge moves (eth_call every
 * millisecond). Printed beside the manager's --poll-ms and a bare eth_call round trip
 * measured in the same run. Figures only: nothing passes or fails on time.
 *
 *   bench_notice [--rounds N] [--poll-ms N] */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench_common.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/evm_tx.h"
#include "lendfixture.h"

#define BN_MAX_ROUNDS 1000
/* 60% and 75% of $98,000 in 6-decimal units; the step between them. */
#define BN_BASE_DEBT "58800000000"
#define BN_STEP 14700000000ull

static unsigned bn_rounds = 30;
static const char *bn_poll_ms = "50";

typedef struct bn_chain {
    evm_rpc *rpc;
    custos_secp *secp;
    uint8_t borrower_key[CUSTOS_SECKEY_LEN], borrower[CUSTOS_ADDRESS_LEN];
    uint8_t morpho[CUSTOS_ADDRESS_LEN], notices[CUSTOS_ADDRESS_LEN];
    uint8_t account[CUSTOS_HASH_LEN];
    evm_abi_value mp[5]; /* Morpho's MarketParams of the second pledge */
} bn_chain;

static void bn_address(const char *hex, uint8_t out[CUSTOS_ADDRESS_LEN])
{
    custos_error err;
    if (custos_address_from_hex(hex, out, &err) != CUSTOS_OK)
        fail_msg("%s: %s", hex, err.message);
}

static void bn_open(bn_chain *c)
{
    memset(c, 0, sizeof *c);
    custos_error err;
    evm_rpc_options opt = {.url = LF.url};
    if (evm_rpc_new(&opt, &c->rpc, &err) != CUSTOS_OK)
        fail_msg("rpc: %s", err.message);
    c->secp = custos_secp_new();
    assert_non_null(c->secp);
    assert_int_equal(custos_hex_decode(BORROWER_KEY, c->borrower_key, CUSTOS_SECKEY_LEN, &err),
                     CUSTOS_OK);
    bn_address(BORROWER_ADDR, c->borrower);
    bn_address(LF.morpho, c->morpho);
    bn_address(LF.notices, c->notices);
    assert_int_equal(custos_hex_decode(LF.account[1], c->account, CUSTOS_HASH_LEN, &err),
                     CUSTOS_OK);
    const char *const mp[4] = {LF.loan, LF.receipt[1], LF.oracle[1], LF.irm};
    for (int i = 0; i < 4; i++) {
        uint8_t a[CUSTOS_ADDRESS_LEN];
        bn_address(mp[i], a);
        c->mp[i] = evm_abi_address(a);
    }
    custos_u256 lltv;
    assert_int_equal(custos_u256_from_dec(&lltv, LLTV, strlen(LLTV), &err), CUSTOS_OK);
    c->mp[4] = evm_abi_u256(&lltv);
}

static void bn_close(bn_chain *c)
{
    evm_rpc_free(c->rpc);
    custos_secp_free(c->secp);
}

/* Signs and sends borrow or repay of `assets` for the borrower; returns the time its
 * receipt was first seen (every half millisecond): its block exists from then on. */
static double bn_send(bn_chain *c, const char *what, uint64_t assets)
{
    custos_error err;
    custos_u256 amount, zero;
    custos_u256_from_u64(&amount, assets);
    custos_u256_from_u64(&zero, 0);
    static const uint8_t no_data[1] = {0};
    evm_abi_value borrow[5] = {evm_abi_tuple(c->mp, 5), evm_abi_u256(&amount),
                               evm_abi_u256(&zero), evm_abi_address(c->borrower),
                               evm_abi_address(c->borrower)};
    evm_abi_value repay[5] = {evm_abi_tuple(c->mp, 5), evm_abi_u256(&amount),
                              evm_abi_u256(&zero), evm_abi_address(c->borrower),
                              evm_abi_dynamic_bytes(no_data, 0)};
    bool is_borrow = strcmp(what, "borrow") == 0;
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(
        evm_abi_encode(is_borrow ? "borrow((address,address,address,address,uint256),uint256,"
                                   "uint256,address,address)"
                                 : "repay((address,address,address,address,uint256),uint256,"
                                   "uint256,address,bytes)",
                       is_borrow ? borrow : repay, 5, &data, &len, &err),
        CUSTOS_OK);
    evm_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.chain_id = GWF_CHAIN_ID;
    custos_u256 base, tip;
    assert_int_equal(evm_rpc_get_transaction_count(c->rpc, c->borrower, EVM_BLOCK_PENDING,
                                                   &tx.nonce, &err),
                     CUSTOS_OK);
    assert_int_equal(evm_rpc_base_fee(c->rpc, &base, &err), CUSTOS_OK);
    custos_u256_from_u64(&tip, 1000000000);
    assert_int_equal(custos_u256_add(&tx.max_fee_per_gas, &base, &base), CUSTOS_OK);
    assert_int_equal(custos_u256_add(&tx.max_fee_per_gas, &tx.max_fee_per_gas, &tip),
                     CUSTOS_OK);
    tx.max_priority_fee_per_gas = tip;
    tx.gas_limit = 500000;
    memcpy(tx.to, c->morpho, CUSTOS_ADDRESS_LEN);
    tx.data = data;
    tx.data_len = len;
    evm_signed_tx s;
    memset(&s, 0, sizeof s);
    assert_int_equal(evm_tx_sign(c->secp, c->borrower_key, &tx, &s, &err), CUSTOS_OK);
    free(data);
    uint8_t hash[CUSTOS_HASH_LEN];
    if (evm_rpc_send_raw_transaction(c->rpc, s.raw, s.raw_len, hash, &err) != CUSTOS_OK)
        fail_msg("%s: %s", what, err.message);
    evm_receipt r;
    bool found = false;
    double sent = bench_now();
    while (!found && bench_now() - sent < 30) {
        assert_int_equal(evm_rpc_get_receipt(c->rpc, s.hash, &r, &found, &err), CUSTOS_OK);
        if (!found)
            usleep(500);
    }
    evm_signed_tx_clear(&s);
    if (!found || !r.success)
        fail_msg("%s of %llu: %s", what, (unsigned long long)assets,
                 found ? "reverted" : "not mined in 30 s (is anvil automining?)");
    return bench_now();
}

static uint64_t bn_last_sequence(bn_chain *c)
{
    evm_abi_value args[2] = {evm_abi_bytes32(c->account), evm_abi_address(c->morpho)};
    uint8_t *data = NULL, *ret = NULL;
    size_t len = 0, ret_len = 0;
    custos_error err;
    assert_int_equal(evm_abi_encode("lastSequence(bytes32,address)", args, 2, &data, &len, &err),
                     CUSTOS_OK);
    evm_call call;
    memset(&call, 0, sizeof call);
    memcpy(call.to, c->notices, CUSTOS_ADDRESS_LEN);
    call.data = data;
    call.data_len = len;
    uint64_t seq = 0;
    if (evm_rpc_call(c->rpc, &call, &ret, &ret_len, &err) != CUSTOS_OK ||
        evm_abi_get_uint64(ret, ret_len, 0, 64, &seq, &err) != CUSTOS_OK)
        fail_msg("lastSequence: %s", err.message);
    free(data);
    free(ret);
    return seq;
}

/* Seconds until lastSequence reaches want (60 s at most). */
static double bn_wait_sequence(bn_chain *c, uint64_t want, double since)
{
    for (;;) {
        if (bn_last_sequence(c) >= want)
            return bench_now() - since;
        if (bench_now() - since > 60)
            fail_msg("notice %llu never reached CustosNotices", (unsigned long long)want);
        usleep(1000);
    }
}

static void bn_manager(tu_proc *p)
{
    char state[1300], relayer[1300], log[1300];
    snprintf(state, sizeof state, "%s/bench-manager.json", LF.gw.dir);
    snprintf(relayer, sizeof relayer, "%s/bench-relayer.key", LF.gw.dir);
    snprintf(log, sizeof log, "%s/bench-manager.log", LF.gw.dir);
    lf_write_key(relayer, NOTICE_RELAYER_KEY);
    const char *argv[] = {CUSTOS_ATTESTOR_BIN, "manage", "--account-id", LF.account[1],
                          "--lender", LF.morpho, "--loan-decimals", "6", "--loan-price-usd",
                          "1", "--margin-return-ltv", "4000", "--margin-call-ltv", "7000",
                          "--liquidation-ltv", "9000", "--hysteresis", "100", "--cure-seconds",
                          "86400", "--state", state, "--chain-id", "31337", "--contract",
                          LF.adapter, "--key", LF.key, "--gateway", LF.gw.target, "--insecure",
                          "--rpc", LF.url, "--notices-contract", LF.notices, "--relayer-key",
                          relayer, "--poll-ms", bn_poll_ms, "--interval-ms", "600000", NULL};
    tu_spawn(p, argv, log);
}

static void bn_run(void **state)
{
    (void)state;
    lf_deploy();
    LF.gw.domain.chain_id = GWF_CHAIN_ID;
    custos_error err;
    assert_int_equal(custos_address_from_hex(LF.adapter, LF.gw.domain.verifying_contract, &err),
                     CUSTOS_OK);
    lf_write_gateway_config();
    gwf_start(&LF.gw);
    lf_write_attestor_files();
    const char *pledge[] = {CUSTOS_ATTESTOR_BIN, "pledge", "--account", REF2, "--beneficiary",
                            LF.morpho, "--registry", LF.pledges, NULL};
    if (lf_run(pledge) != 0)
        fail_msg("custos-attestor pledge: %s", lf_out);
    assert_int_equal(lf_attestor("attest", REF2), 0);
    lf_wait_number(LF.oracle[1], "price()(uint256)", NULL, NULL,
                   "98000000000000000000000000000");
    SEND(LENDER_KEY, LF.loan, "setBalance(address,uint256)", LENDER_ADDR, "2000000000000");
    SEND(LENDER_KEY, LF.loan, "approve(address,uint256)", LF.morpho, MAX_UINT);
    SEND(LENDER_KEY, LF.morpho, "supply(" MP_TYPE ",uint256,uint256,address,bytes)",
         lf_market_params(1), "2000000000000", "0", LENDER_ADDR, "0x");
    SEND(BORROWER_KEY, LF.receipt[1], "approve(address,uint256)", LF.morpho,
         "1000000000000000000");
    SEND(BORROWER_KEY, LF.morpho, "supplyCollateral(" MP_TYPE ",uint256,address,bytes)",
         lf_market_params(1), "1000000000000000000", BORROWER_ADDR, "0x");
    SEND(BORROWER_KEY, LF.loan, "approve(address,uint256)", LF.morpho, MAX_UINT);
    /* Repays cover the interest of the borrows. */
    SEND(BORROWER_KEY, LF.loan, "setBalance(address,uint256)", BORROWER_ADDR, "1000000000000");
    bn_chain c;
    bn_open(&c);
    tu_proc manager;
    bn_manager(&manager);
    /* No debt: margin return (1); the base borrow at 60%: healthy (2). */
    (void)bn_wait_sequence(&c, 1, bench_now());
    SEND(BORROWER_KEY, LF.morpho, "borrow(" MP_TYPE ",uint256,uint256,address,address)",
         lf_market_params(1), BN_BASE_DEBT, "0", BORROWER_ADDR, BORROWER_ADDR);
    (void)bn_wait_sequence(&c, 2, bench_now());
    /* The reference: a bare eth_call round trip to the same node. */
    double rtt[200];
    for (size_t i = 0; i < 200; i++) {
        double t = bench_now();
        (void)bn_last_sequence(&c);
        rtt[i] = (bench_now() - t) * 1e3;
    }
    double *call = calloc(bn_rounds, sizeof *call), *cure = calloc(bn_rounds, sizeof *cure);
    assert_non_null(call);
    assert_non_null(cure);
    uint64_t seq = 2;
    for (unsigned i = 0; i < bn_rounds; i++) {
        double t = bn_send(&c, "borrow", BN_STEP);
        call[i] = bn_wait_sequence(&c, ++seq, t) * 1e3;
        t = bn_send(&c, "repay", BN_STEP);
        cure[i] = bn_wait_sequence(&c, ++seq, t) * 1e3;
    }
    tu_stop(&manager, SIGTERM, 5000);
    printf("| n | block with a new debt past margin_call_ltv to the manager's margin call on-chain "
           "(custos-attestor manage --rpc --notices-contract, --poll-ms %s; anvil automine) | "
           "p50 %.1f ms, p99 %.1f ms | %u borrows from 60%% to 75%% LTV; the repayment back to "
           "60%% to the cure's notice on-chain: p50 %.1f ms, p99 %.1f ms | the manager's poll "
           "interval %s ms; a bare eth_call round trip, same run: p50 %.2f ms, p99 %.2f ms |\n",
           bn_poll_ms, bench_percentile(call, bn_rounds, 0.5),
           bench_percentile(call, bn_rounds, 0.99), bn_rounds,
           bench_percentile(cure, bn_rounds, 0.5), bench_percentile(cure, bn_rounds, 0.99),
           bn_poll_ms, bench_percentile(rtt, 200, 0.5), bench_percentile(rtt, 200, 0.99));
    fflush(stdout);
    free(call);
    free(cure);
    bn_close(&c);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            bn_rounds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--poll-ms") == 0 && i + 1 < argc) {
            bn_poll_ms = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_notice [--rounds N] [--poll-ms N]\n");
            return 2;
        }
    }
    if (bn_rounds == 0 || bn_rounds > BN_MAX_ROUNDS) {
        fprintf(stderr, "bench_notice: --rounds: 1 to %d\n", BN_MAX_ROUNDS);
        return 2;
    }
    const struct CMUnitTest run[] = {cmocka_unit_test(bn_run)};
    return cmocka_run_group_tests(run, lf_group_setup, lf_group_teardown);
}
