/* The custodian's liquidation agent (docs/lending.md §5): when a pledge reaches
 * liquidation, it brings the borrower's debt on Morpho Blue to zero with its own key (never
 * an attestation signer; it pays gas and holds the loan token): approve the loan token to
 * Morpho, then repay(marketParams, 0, borrowShares, borrower, "") for the whole borrow
 * shares position(id, borrower) reads. Each call advances the step log (manage_state.h)
 * by at most one step and saves it before acting outside the process. */
#ifndef AT_LIQUIDATE_H
#define AT_LIQUIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/client.h"
#include "custos/error.h"
#include "custos/sig.h"
#include "manage_state.h"

typedef struct at_liquidator at_liquidator;

/* Reads the agent's key file (custos/keyfile.h) and prepares the JSON-RPC client of url;
 * chain_id is the chain the transactions are signed for. */
CUSTOS_MUST_USE
custos_rc at_liquidator_new(const char *key_path, const char *url, uint64_t chain_id,
                            at_liquidator **out, custos_error *err);
void at_liquidator_free(at_liquidator *l);
/* The agent's address (the pledge's agent must be it). */
const uint8_t *at_liquidator_address(const at_liquidator *l);
/* Whether the last decision sent nothing because the repay would revert (the agent holds
 * less than the debt, or the simulated repay reverts): the liquidation waits for the cause
 * to be fixed (docs/lending.md §11). */
bool at_liquidator_waiting(const at_liquidator *l);

/* From AT_LIQ_DECIDED: reads the borrow shares; none left goes to AT_LIQ_REPAY_MINED,
 * otherwise signs approve and repay, saves AT_LIQ_REPAY_SENT with both, then sends them.
 * A repay that would revert (at_liquidator_waiting) is not sent: the step stays.
 * From AT_LIQ_REPAY_SENT: a receipt of the repay goes to AT_LIQ_REPAY_MINED; a reverted
 * repay (recorded in the log, said on stderr), or its nonce taken by another transaction,
 * goes back to AT_LIQ_DECIDED (nothing was repaid by it); otherwise the same two
 * transactions are sent again. Other steps are
 * left alone. p is the pledge as the gateway reads it (market, borrower, agent). */
CUSTOS_MUST_USE
custos_rc at_liquidate_step(at_liquidator *l, const custos_pledge *p, const char *state_path,
                            at_manage_state *st, custos_error *err);

#endif
