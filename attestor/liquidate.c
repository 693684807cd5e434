/* The liquidation agent's transactions on Morpho Blue (liquidate.h). */
#include "liquidate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/keyfile.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/evm_tx.h"
#include "evm/evm_view.h"

/* Fixed gas limits: the repay cannot be estimated before the approve is mined, and both
 * calls cost far less on Morpho Blue and an ERC-20. */
#define LIQ_APPROVE_GAS 120000u
#define LIQ_REPAY_GAS 400000u
#define LIQ_REPAY_SIG                                                                       \
    "repay((address,address,address,address,uint256),uint256,uint256,address,bytes)"

struct at_liquidator {
    custos_secp *ctx;
    uint8_t seckey[CUSTOS_SECKEY_LEN];
    uint8_t address[CUSTOS_ADDRESS_LEN];
    uint64_t chain_id;
    evm_rpc *rpc;
    bool waiting; /* the last decision sent nothing: the repay would revert */
};

custos_rc at_liquidator_new(const char *key_path, const char *url, uint64_t chain_id,
                            at_liquidator **out, custos_error *err)
{
    *out = NULL;
    at_liquidator *l = calloc(1, sizeof *l);
    if (l == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "liquidation agent: out of memory");
    l->chain_id = chain_id;
    l->ctx = custos_secp_new();
    custos_rc rc = l->ctx != NULL ? CUSTOS_OK
                                  : custos_error_set(err, CUSTOS_ERR_NOMEM,
                                                     "liquidation agent: out of memory");
    if (rc == CUSTOS_OK)
        rc = custos_keyfile_read(key_path, l->seckey, err);
    if (rc == CUSTOS_OK)
        rc = custos_address_from_seckey(l->ctx, l->seckey, l->address, err);
    evm_rpc_options opt;
    memset(&opt, 0, sizeof opt);
    opt.url = url;
    if (rc == CUSTOS_OK)
        rc = evm_rpc_new(&opt, &l->rpc, err);
    if (rc != CUSTOS_OK) {
        at_liquidator_free(l);
        return rc;
    }
    *out = l;
    return CUSTOS_OK;
}

void at_liquidator_free(at_liquidator *l)
{
    if (l == NULL)
        return;
    evm_rpc_free(l->rpc);
    custos_secp_free(l->ctx);
    memset(l->seckey, 0, sizeof l->seckey);
    free(l);
}

const uint8_t *at_liquidator_address(const at_liquidator *l)
{
    return l->address;
}

bool at_liquidator_waiting(const at_liquidator *l)
{
    return l->waiting;
}

/* Signs a call of `to` with data at nonce into raw (at most AT_LIQ_RAW_MAX bytes). */
static custos_rc liq_sign(at_liquidator *l, const uint8_t to[CUSTOS_ADDRESS_LEN],
                          const uint8_t *data, size_t data_len, uint64_t nonce, uint64_t gas,
                          const custos_u256 *tip, const custos_u256 *max_fee, uint8_t *raw,
                          size_t *raw_len, uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    evm_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.chain_id = l->chain_id;
    tx.nonce = nonce;
    tx.max_priority_fee_per_gas = *tip;
    tx.max_fee_per_gas = *max_fee;
    tx.gas_limit = gas;
    memcpy(tx.to, to, CUSTOS_ADDRESS_LEN);
    tx.data = data;
    tx.data_len = data_len;
    evm_signed_tx s;
    memset(&s, 0, sizeof s);
    custos_rc rc = evm_tx_sign(l->ctx, l->seckey, &tx, &s, err);
    if (rc == CUSTOS_OK && s.raw_len > AT_LIQ_RAW_MAX)
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                              "liquidation agent: a transaction of %zu bytes", s.raw_len);
    if (rc == CUSTOS_OK) {
        memcpy(raw, s.raw, s.raw_len);
        *raw_len = s.raw_len;
        if (hash != NULL)
            memcpy(hash, s.hash, CUSTOS_HASH_LEN);
    }
    evm_signed_tx_clear(&s);
    return rc;
}

/* Sends a signed transaction; a node that already has it (or has mined it) refuses it with
 * a JSON-RPC error, which is what a repeat expects. The refusal is said all the same: one
 * for another reason (the agent short of gas) needs the operator. */
static custos_rc liq_send(at_liquidator *l, const uint8_t *raw, size_t len, custos_error *err)
{
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_error serr;
    custos_rc rc = evm_rpc_send_raw_transaction(l->rpc, raw, len, hash, &serr);
    if (rc == CUSTOS_ERR_REFUSED) {
        at_cmd_error("manage: liquidation: the node refused a transaction (%s); the repay is "
                     "looked up by its hash on the next pass", serr.message);
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "liquidation agent: %s", serr.message);
    return CUSTOS_OK;
}

/* One uint256 a view of `to` answers with the agent's address (and maybe a second one). */
static custos_rc liq_view_agent(at_liquidator *l, const uint8_t to[CUSTOS_ADDRESS_LEN],
                                const char *sig, const uint8_t *second, custos_u256 *out,
                                custos_error *err)
{
    evm_abi_value args[2] = {evm_abi_address(l->address),
                             evm_abi_address(second != NULL ? second : l->address)};
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc =
        evm_view_call(l->rpc, to, sig, args, second != NULL ? 2 : 1, &ret, &len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint(ret, len, 0, 256, out, err);
    free(ret);
    return rc;
}

/* Whether a repay sent now can succeed, checked without spending gas (docs/lending.md §11):
 * the agent must hold the debt in the loan token, and when its allowance to Morpho already
 * covers the debt (after an approve), the repay simulated from the agent must not revert.
 * A repay that reverted once is not sent again until its cause is gone. */
static custos_rc liq_ready(at_liquidator *l, const custos_pledge *p,
                           const uint8_t morpho[CUSTOS_ADDRESS_LEN],
                           const uint8_t loan_token[CUSTOS_ADDRESS_LEN],
                           const evm_abi_value mp[5], const custos_u256 *shares, bool *ready,
                           custos_error *err)
{
    *ready = false;
    custos_u256 balance, allowance;
    char have[CUSTOS_U256_DEC_MAX], need[CUSTOS_U256_DEC_MAX];
    custos_rc rc = liq_view_agent(l, loan_token, "balanceOf(address)", NULL, &balance, err);
    if (rc == CUSTOS_OK && custos_u256_cmp(&balance, &p->debt) < 0) {
        if (custos_u256_to_dec(&balance, have, sizeof have) == CUSTOS_OK &&
            custos_u256_to_dec(&p->debt, need, sizeof need) == CUSTOS_OK)
            at_cmd_error("manage: liquidation: the agent holds %s of the loan token, less than "
                         "the debt %s: no repay is sent until it holds the debt", have, need);
        return CUSTOS_OK;
    }
    if (rc == CUSTOS_OK)
        rc = liq_view_agent(l, loan_token, "allowance(address,address)", morpho, &allowance,
                            err);
    if (rc != CUSTOS_OK || custos_u256_cmp(&allowance, &p->debt) < 0) {
        *ready = rc == CUSTOS_OK;
        return rc;
    }
    custos_u256 zero;
    custos_u256_from_u64(&zero, 0);
    static const uint8_t no_data[1] = {0};
    evm_abi_value args[5] = {evm_abi_tuple(mp, 5), evm_abi_u256(&zero),
                             evm_abi_u256(shares), evm_abi_address(p->borrower),
                             evm_abi_dynamic_bytes(no_data, 0)};
    uint8_t *data = NULL, *ret = NULL;
    size_t len = 0, ret_len = 0;
    rc = evm_abi_encode(LIQ_REPAY_SIG, args, 5, &data, &len, err);
    evm_call call;
    memset(&call, 0, sizeof call);
    call.from = l->address;
    memcpy(call.to, morpho, CUSTOS_ADDRESS_LEN);
    call.data = data;
    call.data_len = len;
    custos_error cerr;
    custos_rc crc = rc == CUSTOS_OK ? evm_rpc_call(l->rpc, &call, &ret, &ret_len, &cerr) : rc;
    free(data);
    free(ret);
    if (rc != CUSTOS_OK)
        return rc;
    if (crc == CUSTOS_ERR_REFUSED) {
        at_cmd_error("manage: liquidation: the repay would revert (%s): nothing is sent until "
                     "its cause is gone", cerr.message);
        return CUSTOS_OK;
    }
    if (crc != CUSTOS_OK)
        return custos_error_set(err, crc, "liquidation agent: %s", cerr.message);
    *ready = true;
    return CUSTOS_OK;
}

/* AT_LIQ_DECIDED: the borrower's whole borrow shares, repaid from the agent's tokens. */
static custos_rc liq_decide(at_liquidator *l, const custos_pledge *p, const char *state_path,
                            at_manage_state *st, custos_error *err)
{
    const uint8_t *morpho = p->beneficiary;
    uint8_t *ret = NULL;
    size_t len = 0;
    evm_abi_value pos_args[2] = {evm_abi_bytes32(p->morpho_market_id),
                                 evm_abi_address(p->borrower)};
    custos_u256 shares;
    custos_rc rc = evm_view_call(l->rpc, morpho, "position(bytes32,address)", pos_args, 2, &ret,
                                 &len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint(ret, len, 1, 128, &shares, err);
    free(ret);
    ret = NULL;
    if (rc == CUSTOS_OK && custos_u256_is_zero(&shares)) {
        st->liq.step = AT_LIQ_REPAY_MINED;
        return at_manage_state_save(state_path, st, err);
    }
    /* MarketParams: loanToken, collateralToken, oracle, irm, lltv. */
    evm_abi_value mp[5];
    uint8_t loan_token[CUSTOS_ADDRESS_LEN];
    evm_abi_value id_arg = evm_abi_bytes32(p->morpho_market_id);
    if (rc == CUSTOS_OK)
        rc = evm_view_call(l->rpc, morpho, "idToMarketParams(bytes32)", &id_arg, 1, &ret, &len,
                           NULL, err);
    for (size_t i = 0; rc == CUSTOS_OK && i < 5; i++) {
        mp[i].kind = EVM_ABI_STATIC;
        rc = evm_abi_get_word(ret, len, i, mp[i].word, err);
    }
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_address(ret, len, 0, loan_token, err);
    free(ret);
    ret = NULL;
    bool ready = false;
    if (rc == CUSTOS_OK)
        rc = liq_ready(l, p, morpho, loan_token, mp, &shares, &ready, err);
    l->waiting = rc == CUSTOS_OK && !ready;
    if (rc != CUSTOS_OK || !ready)
        return rc;
    /* The approval covers the debt as the gateway read it plus 1%, for the interest of the
     * blocks between that read and the repay. */
    custos_u256 allowance, extra, one, hundred;
    custos_u256_from_u64(&one, 1);
    custos_u256_from_u64(&hundred, 100);
    if (rc == CUSTOS_OK)
        rc = custos_u256_mul_div(&extra, &p->debt, &one, &hundred);
    if (rc == CUSTOS_OK)
        rc = custos_u256_add(&allowance, &p->debt, &extra);
    if (rc == CUSTOS_OK)
        rc = custos_u256_add(&allowance, &allowance, &one);
    uint64_t nonce = 0;
    custos_u256 tip, base, max_fee;
    if (rc == CUSTOS_OK)
        rc = evm_rpc_get_transaction_count(l->rpc, l->address, EVM_BLOCK_PENDING, &nonce, err);
    if (rc == CUSTOS_OK)
        rc = evm_rpc_max_priority_fee(l->rpc, &tip, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_rpc_base_fee(l->rpc, &base, err);
    if (rc == CUSTOS_OK)
        rc = custos_u256_add(&max_fee, &base, &base);
    if (rc == CUSTOS_OK)
        rc = custos_u256_add(&max_fee, &max_fee, &tip);
    uint8_t *approve = NULL, *repay = NULL;
    size_t approve_len = 0, repay_len = 0;
    evm_abi_value approve_args[2] = {evm_abi_address(morpho), evm_abi_u256(&allowance)};
    if (rc == CUSTOS_OK)
        rc = evm_abi_encode("approve(address,uint256)", approve_args, 2, &approve,
                            &approve_len, err);
    custos_u256 zero;
    custos_u256_from_u64(&zero, 0);
    static const uint8_t no_data[1] = {0};
    evm_abi_value repay_args[5] = {evm_abi_tuple(mp, 5), evm_abi_u256(&zero),
                                   evm_abi_u256(&shares), evm_abi_address(p->borrower),
                                   evm_abi_dynamic_bytes(no_data, 0)};
    if (rc == CUSTOS_OK)
        rc = evm_abi_encode(LIQ_REPAY_SIG, repay_args, 5, &repay, &repay_len, err);
    at_liq_log *g = &st->liq;
    if (rc == CUSTOS_OK)
        rc = liq_sign(l, loan_token, approve, approve_len, nonce, LIQ_APPROVE_GAS, &tip,
                      &max_fee, g->approve_raw, &g->approve_len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = liq_sign(l, morpho, repay, repay_len, nonce + 1, LIQ_REPAY_GAS, &tip, &max_fee,
                      g->repay_raw, &g->repay_len, g->repay_hash, err);
    free(approve);
    free(repay);
    if (rc != CUSTOS_OK)
        return rc;
    /* Written before either is sent: a restart sends these same bytes, never new ones. */
    g->nonce = nonce + 1;
    g->step = AT_LIQ_REPAY_SENT;
    rc = at_manage_state_save(state_path, st, err);
    if (rc == CUSTOS_OK)
        rc = liq_send(l, g->approve_raw, g->approve_len, err);
    if (rc == CUSTOS_OK)
        rc = liq_send(l, g->repay_raw, g->repay_len, err);
    return rc;
}

/* The assets a mined repay moved: the first word of the data of Morpho's
 * Repay(id, caller, onBehalf, assets, shares) event in its receipt. */
static custos_rc liq_repaid_assets(at_liquidator *l, const uint8_t morpho[CUSTOS_ADDRESS_LEN],
                                   const uint8_t hash[CUSTOS_HASH_LEN], custos_u256 *out,
                                   custos_error *err)
{
    static const char event[] = "Repay(bytes32,address,address,uint256,uint256)";
    uint8_t topic[CUSTOS_HASH_LEN];
    custos_keccak256((const uint8_t *)event, sizeof event - 1, topic);
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    if (custos_hex_encode(hash, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "liquidation agent: hash");
    json_t *receipt = NULL;
    custos_rc rc = evm_rpc_request(l->rpc, "eth_getTransactionReceipt", json_pack("[s]", hex),
                                   &receipt, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                          "liquidation agent: the repay %s has no Repay event of Morpho", hex);
    size_t i;
    json_t *log;
    json_array_foreach(json_object_get(receipt, "logs"), i, log)
    {
        const char *address = json_string_value(json_object_get(log, "address"));
        const char *topic0 = json_string_value(json_array_get(json_object_get(log, "topics"), 0));
        const char *data = json_string_value(json_object_get(log, "data"));
        uint8_t a[CUSTOS_ADDRESS_LEN], t[CUSTOS_HASH_LEN], d[2 * CUSTOS_U256_LEN];
        custos_error herr;
        if (address == NULL || topic0 == NULL || data == NULL ||
            custos_address_from_hex(address, a, &herr) != CUSTOS_OK ||
            memcmp(a, morpho, CUSTOS_ADDRESS_LEN) != 0 ||
            custos_hex_decode(topic0, t, sizeof t, &herr) != CUSTOS_OK ||
            memcmp(t, topic, CUSTOS_HASH_LEN) != 0 ||
            custos_hex_decode(data, d, sizeof d, &herr) != CUSTOS_OK)
            continue;
        custos_u256_from_be(out, d);
        rc = CUSTOS_OK;
        break;
    }
    json_decref(receipt);
    return rc;
}

/* AT_LIQ_REPAY_SENT: looks the repay up by its hash, then its nonce. */
static custos_rc liq_follow(at_liquidator *l, const uint8_t morpho[CUSTOS_ADDRESS_LEN],
                            const char *state_path, at_manage_state *st, custos_error *err)
{
    at_liq_log *g = &st->liq;
    evm_receipt r;
    bool found = false;
    custos_rc rc = evm_rpc_get_receipt(l->rpc, g->repay_hash, &r, &found, err);
    uint64_t mined = 0;
    if (rc == CUSTOS_OK && !found)
        rc = evm_rpc_get_transaction_count(l->rpc, l->address, EVM_BLOCK_LATEST, &mined, err);
    /* Mined between the two reads: the receipt is there now. */
    if (rc == CUSTOS_OK && !found && mined > g->nonce)
        rc = evm_rpc_get_receipt(l->rpc, g->repay_hash, &r, &found, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (found && !r.success) {
        /* A reverted repay repaid nothing (the borrower repaid meanwhile so the shares
         * changed, or the agent's balance or allowance fell short): recorded, said, and
         * decided again from the shares left, sent only once it would not revert. */
        char hash[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
        if (custos_hex_encode(g->repay_hash, CUSTOS_HASH_LEN, hash, sizeof hash) != CUSTOS_OK)
            hash[0] = '\0';
        at_cmd_error("manage: liquidation: the repay %s reverted in block %" PRIu64
                     " and repaid nothing; deciding again from the borrow shares left",
                     hash, r.block_number);
        g->reverts++;
        g->revert_block = r.block_number;
        memcpy(g->revert_hash, g->repay_hash, CUSTOS_HASH_LEN);
        g->step = AT_LIQ_DECIDED;
        return at_manage_state_save(state_path, st, err);
    }
    if (found) {
        rc = liq_repaid_assets(l, morpho, g->repay_hash, &g->repaid_assets, err);
        if (rc != CUSTOS_OK)
            return rc;
        g->step = AT_LIQ_REPAY_MINED;
        g->repay_block = r.block_number;
        return at_manage_state_save(state_path, st, err);
    }
    if (mined > g->nonce) {
        /* The nonce went to another transaction of the agent's key: this repay can never be
         * mined now, so deciding again cannot repay twice. */
        g->step = AT_LIQ_DECIDED;
        return at_manage_state_save(state_path, st, err);
    }
    rc = liq_send(l, g->approve_raw, g->approve_len, err);
    if (rc == CUSTOS_OK)
        rc = liq_send(l, g->repay_raw, g->repay_len, err);
    return rc;
}

custos_rc at_liquidate_step(at_liquidator *l, const custos_pledge *p, const char *state_path,
                            at_manage_state *st, custos_error *err)
{
    if (memcmp(p->agent, l->address, CUSTOS_ADDRESS_LEN) != 0) {
        char want[CUSTOS_ADDRESS_HEX_LEN];
        custos_address_to_hex(p->agent, want);
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "--agent-key is not the pledge's liquidation agent %s", want);
    }
    switch (st->liq.step) {
    case AT_LIQ_DECIDED:
        return liq_decide(l, p, state_path, st, err);
    case AT_LIQ_REPAY_SENT:
        return liq_follow(l, p->beneficiary, state_path, st, err);
    default:
        return CUSTOS_OK;
    }
}
