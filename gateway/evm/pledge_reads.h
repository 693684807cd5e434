/* The pledge registry's views (CustosPledges, deploy/contracts/README.md "Lending") over
 * one JSON-RPC client, with no state of their own: the gateway's release check and GetPledge
 * (pledges.h) and the collateral manager's own chain reads (attestor/manage_chain.h) read
 * the exposure through the same calls, so both see the debt Morpho Blue's
 * expectedBorrowAssets computes on-chain (borrow shares to assets with the market's totals
 * after interest accrual, rounded up), never a second implementation of it.
 * Failures are evm_rpc's (evm_rpc.h); a revert is CUSTOS_ERR_REFUSED. */
#ifndef GATEWAY_EVM_PLEDGE_READS_H
#define GATEWAY_EVM_PLEDGE_READS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"

#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"

/* CustosPledges.releaseBlocked(account, beneficiary, sequence): whether the adapter would
 * refuse that release now, and the exposure behind the answer. */
typedef struct evm_exposure {
    bool installed;            /* false: the adapter has no registry, nothing is pledged */
    bool blocked;
    custos_u256 debt;          /* the borrower's debt, loan-token units, accrued to now */
    custos_u256 elsewhere;     /* receipts the market holds beyond the borrower's collateral */
    bool readable;             /* false: the market cannot report the exposure */
} evm_exposure;

/* adapter.pledges(): the registry the adapter asks about releases; *installed false (and
 * out zero) when it has none. */
CUSTOS_MUST_USE
custos_rc evm_pledge_registry(evm_rpc *rpc, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                              uint8_t out[CUSTOS_ADDRESS_LEN], bool *installed,
                              custos_error *err);

/* registry.releaseBlocked(account, beneficiary, sequence) into out's blocked, debt,
 * elsewhere and readable (installed is left alone). */
CUSTOS_MUST_USE
custos_rc evm_pledge_exposure(evm_rpc *rpc, const uint8_t registry[CUSTOS_ADDRESS_LEN],
                              const uint8_t account[CUSTOS_HASH_LEN],
                              const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], uint64_t sequence,
                              evm_exposure *out, custos_error *err);

/* CustosPledges.pledge(account, beneficiary): the latest pledge, live or ended. */
typedef struct evm_pledge_view {
    uint8_t receipt[CUSTOS_ADDRESS_LEN];
    uint8_t oracle[CUSTOS_ADDRESS_LEN];  /* Morpho oracle; zero without a loan token */
    uint8_t feed[CUSTOS_ADDRESS_LEN];    /* 8-decimal source; zero until created */
    uint8_t market_id[CUSTOS_HASH_LEN];  /* Morpho market id; zero without a loan token */
    uint8_t borrower[CUSTOS_ADDRESS_LEN];
    uint8_t lender[CUSTOS_ADDRESS_LEN];
    uint8_t agent[CUSTOS_ADDRESS_LEN];
    bool ended;
    uint64_t consented_sequence;         /* the release the lender agreed to; 0: none */
} evm_pledge_view;

/* registry.pledge(account, beneficiary); CUSTOS_ERR_NOT_FOUND (saying so) when the
 * registry has no pledge of the account to beneficiary. */
CUSTOS_MUST_USE
custos_rc evm_pledge_view_read(evm_rpc *rpc, const uint8_t registry[CUSTOS_ADDRESS_LEN],
                               const uint8_t account[CUSTOS_HASH_LEN],
                               const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                               evm_pledge_view *out, custos_error *err);

/* Whether a release without the lender's consent would be refused now, as releaseBlocked
 * decides it for a sequence the lender did not consent to. */
bool evm_pledge_blocked_now(const evm_pledge_view *v, const evm_exposure *x);

#endif
