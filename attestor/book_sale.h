/* The custodian's book after a liquidation (docs/custodian.md §15): the positions sold to
 * fund the agent's repay leave the account's holdings, the book the next valuation reads,
 * and the sale is appended to a sales journal, one JSON object a line: the positions and
 * quantities sold, their proceeds at the prices file's prices, the repay's transaction and
 * what it repaid, and the positions left.
 *
 * The sale covers the USD the repay took (the repaid loan-token assets at the loan token's
 * price): positions are sold in the book's order, each whole while the need is at least its
 * value, the last one in the fewest whole units that cover the rest; with the need still
 * there after every position, everything is sold and the rest is the shortfall.
 *
 * Crash-safe and idempotent: the journal entry (with the positions left) is written first,
 * atomically; the book is then set to the positions the entry leaves. A second call for the
 * same repay finds its entry and only sets the book again, so a sale is never taken twice. */
#ifndef AT_BOOK_SALE_H
#define AT_BOOK_SALE_H

#include <stdint.h>

#include "custos/error.h"
#include "custos/u256.h"
#include "manage_state.h"

typedef struct at_book_ctx {
    const char *holdings_path; /* the book (holdings.h) */
    const char *prices_path;   /* prices.h: the sold positions' proceeds */
    const char *policy_path;   /* policy.h: the prices' allowed age */
    const char *journal_path;  /* the sales journal */
    const uint8_t *account;    /* CUSTOS_HASH_LEN */
    const uint8_t *lender;     /* CUSTOS_ADDRESS_LEN */
    const custos_u256 *loan_price_usd; /* USD per whole loan token, 18 decimals */
    const custos_u256 *loan_scale;     /* 10^loan_decimals */
} at_book_ctx;

/* Records the sale that funded the repay g logs as mined (g->repay_hash, g->repay_block,
 * g->repaid_assets), at time now. */
CUSTOS_MUST_USE
custos_rc at_book_record_sale(const at_book_ctx *c, const at_liq_log *g, uint64_t now,
                              custos_error *err);

#endif
