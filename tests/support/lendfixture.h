/* The lending fixture on anvil (rule 11, docs/lending.md), shared by test_lending_anvil
 * and the notice latency benchmark (bench/bench_notice.c): Morpho Blue deployed from its
 * unmodified 0.8.19 build (deploy/contracts/out-morpho) with its IrmMock and a 6-decimal
 * loan token; deploy.mjs making two pledges of custodian accounts to it, each with its
 * receipt, oracle and market; custos-gateway with [evm] publishing what custos-attestor
 * values and signs; anvil's development accounts acting with cast. One fixture per
 * process (LF); every helper fails the running cmocka test on error. */
#ifndef CUSTOS_LENDFIXTURE_H
#define CUSTOS_LENDFIXTURE_H

#include <jansson.h>

#include "anvil.h"
#include "gwfixture.h"
#include "testutil.h"

#define CAST_BIN TU_FOUNDRY_DIR "/cast-linux-amd64/bin/cast"
#define DEPLOY_SCRIPT CUSTOS_SOURCE_DIR "/deploy/scripts/deploy.mjs"
#define BUILD_CONTRACTS CUSTOS_SOURCE_DIR "/deploy/scripts/build-contracts.sh"
#define RUN_FORGE CUSTOS_SOURCE_DIR "/tests/contract/run-forge.sh"
#define CONTRACTS_DIR CUSTOS_SOURCE_DIR "/deploy/contracts"
#define POLICY_EXAMPLE CUSTOS_SOURCE_DIR "/deploy/examples/policy.json"

/* anvil's development accounts (public test keys, funded on anvil only). */
#define OWNER_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define OWNER_ADDR "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
#define RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define LENDER_KEY "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
#define LENDER_ADDR "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
#define BORROWER_KEY "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
#define BORROWER_ADDR "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
#define AGENT_KEY "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
#define AGENT_ADDR "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
#define OUTSIDER_KEY "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
#define OUTSIDER_ADDR "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
#define NOTICE_RELAYER_KEY "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"
#define NOTICE_RELAYER_ADDR "0x976EA74026E726554dB657fA54763abd0C3a0aa9"

#define REF1 "LEND-1"
#define REF2 "LEND-2"
#define LLTV "800000000000000000"
#define MAX_UINT "115792089237316195423570985008687907853269984665640564039457584007913129639935"
#define WAIT_MS 60000

#define MP_TYPE "(address,address,address,address,uint256)"

/* The last lines of the test's anvil log (one line per RPC method, and each mined
 * transaction) on stderr: what the node was asked before a step failed. */
void lf_dump_anvil_log(void);

/* A transaction that must be mined successfully. Its gas is fixed, not estimated: an
 * estimate holds for the pending block's timestamp, and Morpho accrues interest (a call of
 * the rate model and a store) only once the timestamp has moved, so a transaction mined a
 * second after its estimate can run out of gas. cast exits 0 on a mined revert, so the
 * receipt's status is read. */
#define SEND_GAS "3000000"
#define SEND(key, to, sig, ...)                                                             \
    do {                                                                                    \
        if (lf_cast("send", "--private-key", key, "--gas-limit", SEND_GAS, "--json", to,   \
                    sig, __VA_ARGS__, NULL) != 0 ||                                         \
            strstr(lf_out, "\"status\":\"0x1\"") == NULL) {                                  \
            lf_dump_anvil_log();                                                            \
            fail_msg("cast send %s: not mined successfully: %s", sig, lf_out);              \
        }                                                                                   \
    } while (0)

/* A transaction that must revert, with `why` in what cast reports. */
#define REVERTS(why, key, to, sig, ...)                                                     \
    do {                                                                                    \
        if (lf_cast("send", "--private-key", key, to, sig, __VA_ARGS__, NULL) == 0)         \
            fail_msg("cast send %s went through; it must revert", sig);                     \
        if (strstr(lf_out, why) == NULL)                                                    \
            fail_msg("cast send %s reverted without '%s': %s", sig, why, lf_out);           \
    } while (0)


#define LF_OUT_MAX 65536

typedef struct lendf {
    gwf gw;
    tu_proc anvil;
    char url[64];
    char morpho[43], irm[43], loan[43], adapter[43], registry[43], notices[43];
    char receipt[2][43], oracle[2][43], market_id[2][67], account[2][67];
    char key[1200], holdings[1200], prices[1200], policy[1200], pledges[1200], state[1200];
    const char *ref2_shares; /* REF2's holding (lf_write_holdings); "100000" at first */
} lendf;

extern lendf LF;
/* The output of the last lf_run or lf_cast, without its final newline. */
extern char lf_out[LF_OUT_MAX];

/* Runs argv (NULL-terminated), output (stdout and stderr) into lf_out. */
int lf_run(const char *const argv[]);
/* cast with the words given (NULL ends them), against the fixture's node. */
int lf_cast(const char *first, ...);
/* The Morpho market params tuple of pledge i, as cast takes it. */
const char *lf_market_params(int i);
/* eth_call of the view "name(args)(returns)" (flat types) with arguments a1..a3, the
 * results as cast --json gives them (caller frees); not through cast (lendfixture.c). */
json_t *lf_call_json(const char *to, const char *sig, const char *a1, const char *a2,
                     const char *a3);
/* A number of an lf_call_json answer as a decimal string (a static buffer). */
const char *lf_number_at(json_t *array, size_t i);
/* One uint256 view result as a decimal string (copied into dst). */
void lf_call_number(const char *to, const char *sig, const char *a1, const char *a2, char *dst,
                    size_t cap);
void lf_expect_number(const char *to, const char *sig, const char *a1, const char *a2,
                      const char *want);
/* Waits until the view answers want (the gateway's publisher lands a transaction). */
void lf_wait_number(const char *to, const char *sig, const char *a1, const char *a2,
                    const char *want);
void lf_write_key(const char *path, const char *hex);
const char *lf_str_of(json_t *o, const char *key);
/* Morpho, its IRM, the loan token; deploy.mjs: the adapter, the feed, both accounts,
 * CustosPledges, CustosNotices and two pledges to Morpho with their markets. */
void lf_deploy(void);
/* The gateway's config: the feed as on-chain, [evm] publishing every record. */
void lf_write_gateway_config(void);
/* REF1 holds `shares` of a money-market fund, REF2 LF.ref2_shares. */
void lf_write_holdings(const char *shares);
void lf_write_attestor_files(void);
/* cmocka group set-up and tear-down: contracts built, anvil started; everything stopped. */
int lf_group_setup(void **state);
int lf_group_teardown(void **state);
/* custos-attestor COMMAND for account ref, through the gateway; returns its exit status. */
int lf_attestor(const char *command, const char *ref);

#endif
