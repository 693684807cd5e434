/* The collateral manager's own reads of the chain (docs/lending.md §6): the chain's head,
 * to read again on every new block, and the borrower's debt in the lending market, read
 * as the gateway reads it for rule 11 (evm/pledge_reads.h: CustosPledges.releaseBlocked,
 * whose debt is Morpho Blue's expectedBorrowAssets, borrow shares to assets with the
 * market's totals after interest accrual), in loan-token units.
 * Every read is bounded by AT_CHAIN_TIMEOUT_MS. Failures: CUSTOS_ERR_UNAVAILABLE (the node
 * cannot be reached, or the market cannot report the exposure), CUSTOS_ERR_REFUSED (a
 * call reverted), CUSTOS_ERR_NOT_FOUND (the adapter has no pledge registry),
 * CUSTOS_ERR_INVALID (an answer that is not the view's). */
#ifndef AT_MANAGE_CHAIN_H
#define AT_MANAGE_CHAIN_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "custos/error.h"
#include "custos/u256.h"

#define AT_CHAIN_TIMEOUT_MS 5000L

typedef struct at_chain at_chain;

/* url: the node; adapter: the adapter whose pledge registry holds the pledges. Nothing
 * touches the network until a read. */
CUSTOS_MUST_USE
custos_rc at_chain_new(const char *url, const uint8_t adapter[CUSTOS_ADDRESS_LEN],
                       at_chain **out, custos_error *err);
void at_chain_free(at_chain *c);

/* eth_blockNumber. */
CUSTOS_MUST_USE
custos_rc at_chain_head(at_chain *c, uint64_t *block, custos_error *err);

/* The borrower's debt of the pledge of account to lender, loan-token units, accrued to the
 * latest block. */
CUSTOS_MUST_USE
custos_rc at_chain_debt(at_chain *c, const uint8_t account[CUSTOS_HASH_LEN],
                        const uint8_t lender[CUSTOS_ADDRESS_LEN], custos_u256 *debt,
                        custos_error *err);

/* The pledge of account to lender as the gateway's GetPledge returns it (registry,
 * receipt, market, borrower, lender, agent, exposure), read from the chain: what the
 * liquidation agent acts on (liquidate.h). CUSTOS_ERR_NOT_FOUND when there is no such
 * pledge. */
CUSTOS_MUST_USE
custos_rc at_chain_pledge(at_chain *c, const uint8_t account[CUSTOS_HASH_LEN],
                          const uint8_t lender[CUSTOS_ADDRESS_LEN], custos_pledge *out,
                          custos_error *err);

#endif
