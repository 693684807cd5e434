/* One pledge under the collateral manager and one pass over it (docs/lending.md §3): read
 * the borrower's debt (from the chain itself with a chain reader, manage_chain.h;
 * otherwise through the gateway's GetPledge), convert it to USD with 18 decimals, take the
 * latest accepted collateral value (GetLatest: a freeze counts as no value), compute the
 * LTV exactly, step the state machine (custos/ltv.h), and on a change sign a
 * CollateralNotice with the custodian's key, write it to the state file, submit it
 * (rule 19) and, with a publisher, publish it to CustosNotices (manage_publish.h). The
 * state file is written before a notice leaves the process, so a crash never loses a
 * change nor signs a second notice for it. With a liquidator the pass also executes the
 * liquidation (liquidate.h, manage_release.h; docs/lending.md §5). */
#ifndef AT_MANAGE_PASS_H
#define AT_MANAGE_PASS_H

#include <stdbool.h>
#include <stdint.h>

#include "book_sale.h"
#include "custos/calendar.h"
#include "custos/client.h"
#include "custos/ltv.h"
#include "custos/sig.h"
#include "liquidate.h"
#include "manage_chain.h"
#include "manage_publish.h"
#include "manage_release.h"
#include "manage_state.h"
#include "signer.h"

typedef struct at_manager {
    custos_ltv_policy policy;
    custos_calendar cal;
    const custos_domain *domain;
    uint8_t account[CUSTOS_HASH_LEN], lender[CUSTOS_ADDRESS_LEN];
    custos_u256 price;      /* USD per whole token, 18 decimals */
    custos_u256 scale;      /* 10^loan_decimals */
    at_signer *signer;
    custos_client *client;
    at_chain *chain;        /* NULL: the debt is read through the gateway (GetPledge) */
    at_liquidator *liq;     /* NULL: liquidation is left to others */
    at_publisher *pub;      /* NULL: the notices are relayed on-chain by others */
    at_release_ctx release;
    at_book_ctx book;       /* holdings_path NULL: no book to record sales in */
    const char *state_path;
    const char *label;      /* the prefix of its output lines: "" for a single pledge */
    /* The gauges of --metrics-textfile (docs/lending.md §4). */
    uint32_t ltv;
    custos_loan_status status;
    uint64_t read_failures, last_read, publish_failures;
    at_liq_step liq_step;
    uint64_t liq_reverts;   /* the step log's reverted repays */
    bool liq_waiting;       /* no repay sent: it would revert (docs/lending.md §11) */
    /* The latest accepted record's cursor at the last read: a new one is a new valuation. */
    uint64_t cursor;
    bool released;          /* released after its liquidation: no valuation to wait for */
} at_manager;

/* One pass: CUSTOS_OK, or the error that stopped it (the next pass tries again). A failed
 * publication does not stop the pass: it is said on stderr and counted. */
CUSTOS_MUST_USE
custos_rc at_manage_pass(at_manager *m, custos_error *err);

#endif
