/* The collateral manager's own reads of the chain (manage_chain.h). */
#include "manage_chain.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "evm/evm_rpc.h"
#include "evm/pledge_reads.h"

struct at_chain {
    evm_rpc *rpc;
    uint8_t adapter[CUSTOS_ADDRESS_LEN];
    uint8_t registry[CUSTOS_ADDRESS_LEN];
    bool known; /* registry read and non-zero: the adapter installs it once and for good */
};

custos_rc at_chain_new(const char *url, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                       at_chain **out, custos_error *err)
{
    *out = NULL;
    at_chain *c = calloc(1, sizeof *c);
    if (c == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "chain reads: out of memory");
    memcpy(c->adapter, adapter, CUSTOS_ADDRESS_LEN);
    evm_rpc_options opt;
    memset(&opt, 0, sizeof opt);
    opt.url = url;
    opt.connect_timeout_ms = AT_CHAIN_TIMEOUT_MS;
    opt.timeout_ms = AT_CHAIN_TIMEOUT_MS;
    custos_rc rc = evm_rpc_new(&opt, &c->rpc, err);
    if (rc != CUSTOS_OK) {
        free(c);
        return rc;
    }
    *out = c;
    return CUSTOS_OK;
}

void at_chain_free(at_chain *c)
{
    if (c == NULL)
        return;
    evm_rpc_free(c->rpc);
    free(c);
}

custos_rc at_chain_head(at_chain *c, uint64_t *block, custos_error *err)
{
    return evm_rpc_block_number(c->rpc, block, err);
}

/* The registry, read once: the adapter installs it for good. */
static custos_rc chain_registry(at_chain *c, custos_error *err)
{
    if (c->known)
        return CUSTOS_OK;
    custos_rc rc = evm_pledge_registry(c->rpc, c->adapter, c->registry, &c->known, err);
    if (rc == CUSTOS_OK && !c->known)
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "the adapter has no pledge registry installed: nothing is "
                              "pledged on-chain");
    return rc;
}

custos_rc at_chain_pledge(at_chain *c, const uint8_t account[CUSTOS_HASH_LEN],
                          const uint8_t lender[CUSTOS_ADDRESS_LEN], custos_pledge *out,
                          custos_error *err)
{
    memset(out, 0, sizeof *out);
    custos_rc rc = chain_registry(c, err);
    evm_pledge_view v;
    evm_exposure x;
    memset(&v, 0, sizeof v);
    memset(&x, 0, sizeof x);
    if (rc == CUSTOS_OK)
        rc = evm_pledge_view_read(c->rpc, c->registry, account, lender, &v, err);
    if (rc == CUSTOS_OK)
        rc = evm_pledge_exposure(c->rpc, c->registry, account, lender, 0, &x, err);
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(out->account, account, CUSTOS_HASH_LEN);
    memcpy(out->beneficiary, lender, CUSTOS_ADDRESS_LEN);
    memcpy(out->registry, c->registry, CUSTOS_ADDRESS_LEN);
    memcpy(out->receipt, v.receipt, CUSTOS_ADDRESS_LEN);
    memcpy(out->morpho_oracle, v.oracle, CUSTOS_ADDRESS_LEN);
    memcpy(out->receipt_feed, v.feed, CUSTOS_ADDRESS_LEN);
    memcpy(out->morpho_market_id, v.market_id, CUSTOS_HASH_LEN);
    memcpy(out->borrower, v.borrower, CUSTOS_ADDRESS_LEN);
    memcpy(out->lender, v.lender, CUSTOS_ADDRESS_LEN);
    memcpy(out->agent, v.agent, CUSTOS_ADDRESS_LEN);
    out->ended = v.ended;
    out->consented_sequence = v.consented_sequence;
    out->release_blocked = evm_pledge_blocked_now(&v, &x);
    out->debt = x.debt;
    out->receipts_elsewhere = x.elsewhere;
    out->exposure_readable = x.readable;
    return CUSTOS_OK;
}

custos_rc at_chain_debt(at_chain *c, const uint8_t account[CUSTOS_HASH_LEN],
                        const uint8_t lender[CUSTOS_ADDRESS_LEN], custos_u256 *debt,
                        custos_error *err)
{
    custos_rc rc = chain_registry(c, err);
    evm_exposure x;
    memset(&x, 0, sizeof x);
    if (rc == CUSTOS_OK)
        rc = evm_pledge_exposure(c->rpc, c->registry, account, lender, 0, &x, err);
    if (rc == CUSTOS_OK && !x.readable)
        rc = custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                              "the market cannot report the pledge's exposure");
    if (rc == CUSTOS_OK)
        *debt = x.debt;
    return rc;
}
