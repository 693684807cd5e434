/* The manager's publication of its notices to CustosNotices (manage_publish.h). */
#include "manage_publish.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "evm/evm_abi.h"
#include "evm/evm_view.h"
#include "evm/evm_rpc.h"
#include "evm/evm_tx.h"
#include "evm/pledge_reads.h"

#define PUB_SIGNATURE "publish((bytes32,address,uint8,uint32,uint256,uint256,uint64,uint64),bytes)"

struct at_publisher {
    custos_secp *ctx;
    uint8_t seckey[CUSTOS_SECKEY_LEN];
    uint8_t address[CUSTOS_ADDRESS_LEN];
    uint8_t contract[CUSTOS_ADDRESS_LEN];
    uint64_t chain_id;
    evm_rpc *rpc;
};

custos_rc at_publisher_new(const char *key_path, const char *url, uint64_t chain_id,
                           const uint8_t contract[CUSTOS_ADDRESS_LEN], at_publisher **out,
                           custos_error *err)
{
    *out = NULL;
    at_publisher *p = calloc(1, sizeof *p);
    if (p == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "notice relayer: out of memory");
    p->chain_id = chain_id;
    memcpy(p->contract, contract, CUSTOS_ADDRESS_LEN);
    p->ctx = custos_secp_new();
    custos_rc rc = p->ctx != NULL ? CUSTOS_OK
                                  : custos_error_set(err, CUSTOS_ERR_NOMEM,
                                                     "notice relayer: out of memory");
    if (rc == CUSTOS_OK)
        rc = custos_keyfile_read(key_path, p->seckey, err);
    if (rc == CUSTOS_OK)
        rc = custos_address_from_seckey(p->ctx, p->seckey, p->address, err);
    evm_rpc_options opt;
    memset(&opt, 0, sizeof opt);
    opt.url = url;
    if (rc == CUSTOS_OK)
        rc = evm_rpc_new(&opt, &p->rpc, err);
    if (rc != CUSTOS_OK) {
        at_publisher_free(p);
        return rc;
    }
    *out = p;
    return CUSTOS_OK;
}

void at_publisher_free(at_publisher *p)
{
    if (p == NULL)
        return;
    evm_rpc_free(p->rpc);
    custos_secp_free(p->ctx);
    memset(p->seckey, 0, sizeof p->seckey);
    free(p);
}

void at_publish_queue(at_manage_state *st, const custos_notice *n, const custos_signature *sig)
{
    at_pub_log *g = &st->pub;
    g->has_notice = true;
    g->notice = *n;
    g->sig = *sig;
    g->nonce = 0;
    g->tx_len = 0;
    memset(g->tx_hash, 0, sizeof g->tx_hash);
}

/* The calldata of publish(n, sig); *out malloc'd. */
static custos_rc pub_calldata(const at_pub_log *g, uint8_t **out, size_t *len,
                              custos_error *err)
{
    const custos_notice *n = &g->notice;
    custos_u256 state, ltv;
    custos_u256_from_u64(&state, n->state);
    custos_u256_from_u64(&ltv, n->ltv_bps);
    evm_abi_value fields[8] = {evm_abi_bytes32(n->account),
                               evm_abi_address(n->lender),
                               evm_abi_u256(&state),
                               evm_abi_u256(&ltv),
                               evm_abi_u256(&n->exposure),
                               evm_abi_u256(&n->collateral_value),
                               evm_abi_uint64(n->deadline),
                               evm_abi_uint64(n->sequence)};
    evm_abi_value args[2] = {evm_abi_tuple(fields, 8),
                             evm_abi_dynamic_bytes(g->sig.bytes, CUSTOS_SIGNATURE_LEN)};
    return evm_abi_encode(PUB_SIGNATURE, args, 2, out, len, err);
}

/* The contract's lastSequence(account, lender). */
static custos_rc pub_last_sequence(at_publisher *p, const custos_notice *n, uint64_t *out,
                                   custos_error *err)
{
    evm_abi_value args[2] = {evm_abi_bytes32(n->account), evm_abi_address(n->lender)};
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc = evm_view_call(p->rpc, p->contract, "lastSequence(bytes32,address)", args,
                                 2, &ret, &len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint64(ret, len, 0, 64, out, err);
    free(ret);
    return rc;
}

/* Sends the saved transaction. A refusal is said (and counted by the caller): the relayer
 * short of gas needs the operator; a node that already holds it says so too, which lasts
 * only while it waits for a block. Either way the next step looks it up by hash and nonce. */
static custos_rc pub_send(at_publisher *p, const at_pub_log *g, custos_error *err)
{
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_error serr;
    custos_rc rc = evm_rpc_send_raw_transaction(p->rpc, g->tx_raw, g->tx_len, hash, &serr);
    if (rc == CUSTOS_ERR_REFUSED)
        return custos_error_set(err, rc,
                                "the node refused the publication of notice %s sequence %" PRIu64
                                " (%s); it is looked up and sent again on the next pass",
                                custos_loan_state_name((custos_loan_state)g->notice.state),
                                g->notice.sequence, serr.message);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "notice relayer: %s", serr.message);
    return CUSTOS_OK;
}

/* Signs publish(notice) at the relayer's next nonce, saves it, sends it. */
static custos_rc pub_sign_send(at_publisher *p, const char *state_path, at_manage_state *st,
                               custos_error *err)
{
    at_pub_log *g = &st->pub;
    uint8_t *data = NULL;
    size_t data_len = 0;
    custos_rc rc = pub_calldata(g, &data, &data_len, err);
    evm_call call;
    memset(&call, 0, sizeof call);
    call.from = p->address;
    memcpy(call.to, p->contract, CUSTOS_ADDRESS_LEN);
    call.data = data;
    call.data_len = data_len;
    uint64_t gas = 0, nonce = 0;
    custos_error eerr;
    if (rc == CUSTOS_OK && evm_rpc_estimate_gas(p->rpc, &call, &gas, &eerr) != CUSTOS_OK)
        rc = custos_error_set(err, CUSTOS_ERR_REFUSED,
                              "CustosNotices would refuse notice %s sequence %" PRIu64
                              " (%s); tried again on the next pass",
                              custos_loan_state_name((custos_loan_state)g->notice.state),
                              g->notice.sequence, eerr.message);
    custos_u256 tip, base, max_fee;
    if (rc == CUSTOS_OK)
        rc = evm_rpc_get_transaction_count(p->rpc, p->address, EVM_BLOCK_PENDING, &nonce, err);
    if (rc == CUSTOS_OK)
        rc = evm_rpc_max_priority_fee(p->rpc, &tip, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_rpc_base_fee(p->rpc, &base, err);
    /* Twice the base fee: room for it to rise over the next blocks. */
    if (rc == CUSTOS_OK)
        rc = custos_u256_add(&max_fee, &base, &base);
    if (rc == CUSTOS_OK)
        rc = custos_u256_add(&max_fee, &max_fee, &tip);
    evm_signed_tx s;
    memset(&s, 0, sizeof s);
    if (rc == CUSTOS_OK) {
        evm_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.chain_id = p->chain_id;
        tx.nonce = nonce;
        tx.max_priority_fee_per_gas = tip;
        tx.max_fee_per_gas = max_fee;
        tx.gas_limit = gas + gas / 4; /* the estimate at this block; state moves */
        memcpy(tx.to, p->contract, CUSTOS_ADDRESS_LEN);
        tx.data = data;
        tx.data_len = data_len;
        rc = evm_tx_sign(p->ctx, p->seckey, &tx, &s, err);
    }
    free(data);
    if (rc == CUSTOS_OK && s.raw_len > sizeof g->tx_raw)
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                              "notice relayer: a transaction of %zu bytes", s.raw_len);
    if (rc == CUSTOS_OK) {
        memcpy(g->tx_raw, s.raw, s.raw_len);
        g->tx_len = s.raw_len;
        memcpy(g->tx_hash, s.hash, CUSTOS_HASH_LEN);
        g->nonce = nonce;
    }
    evm_signed_tx_clear(&s);
    /* Written before it is sent: a restart sends these same bytes, never a second one. */
    if (rc == CUSTOS_OK)
        rc = at_manage_state_save(state_path, st, err);
    if (rc == CUSTOS_OK)
        rc = pub_send(p, g, err);
    return rc;
}

static custos_rc pub_done(const char *state_path, const char *label, at_manage_state *st,
                          uint64_t last, custos_error *err)
{
    at_pub_log *g = &st->pub;
    printf("%snotice %s sequence %" PRIu64 " ON-CHAIN\n", label,
           custos_loan_state_name((custos_loan_state)g->notice.state), g->notice.sequence);
    fflush(stdout);
    g->has_notice = false;
    g->tx_len = 0;
    g->published = last;
    return at_manage_state_save(state_path, st, err);
}

custos_rc at_publish_step(at_publisher *p, const char *state_path, const char *label,
                          at_manage_state *st, custos_error *err)
{
    at_pub_log *g = &st->pub;
    if (!g->has_notice)
        return CUSTOS_OK;
    uint64_t last = 0;
    custos_error lerr;
    custos_rc rc = pub_last_sequence(p, &g->notice, &last, &lerr);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc,
                                "CustosNotices' lastSequence cannot be read (%s); notice %s "
                                "sequence %" PRIu64 " is published on a later pass",
                                lerr.message,
                                custos_loan_state_name((custos_loan_state)g->notice.state),
                                g->notice.sequence);
    if (last >= g->notice.sequence)
        return pub_done(state_path, label, st, last, err);
    if (g->tx_len == 0)
        return pub_sign_send(p, state_path, st, err);
    evm_receipt r;
    bool found = false;
    rc = evm_rpc_get_receipt(p->rpc, g->tx_hash, &r, &found, err);
    uint64_t mined = 0;
    if (rc == CUSTOS_OK && !found)
        rc = evm_rpc_get_transaction_count(p->rpc, p->address, EVM_BLOCK_LATEST, &mined, err);
    if (rc == CUSTOS_OK && !found && mined > g->nonce)
        rc = evm_rpc_get_receipt(p->rpc, g->tx_hash, &r, &found, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (found && r.success) {
        /* Mined after the read of lastSequence: it is on-chain now. */
        return pub_done(state_path, label, st, g->notice.sequence, err);
    }
    if (found || mined > g->nonce) {
        /* Reverted, or its nonce went to another transaction: it can never publish, so a
         * new one cannot publish twice. */
        g->tx_len = 0;
        rc = at_manage_state_save(state_path, st, err);
        if (rc == CUSTOS_OK && found)
            rc = custos_error_set(err, CUSTOS_ERR_REFUSED,
                                  "the publication of notice %s sequence %" PRIu64
                                  " reverted in block %" PRIu64 "; a new one is sent on the "
                                  "next pass",
                                  custos_loan_state_name((custos_loan_state)g->notice.state),
                                  g->notice.sequence, r.block_number);
        return rc;
    }
    return pub_send(p, g, err);
}
