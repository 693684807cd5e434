/* The price file: {"prices": {"US91282CLX73": {"price": "100.234375", "as_of": 1795208400}}}.
 * Each instrument's quote, observed at as_of (unix time), is one of:
 *   "price"           percent of par for Treasuries (the clean price of coupon securities;
 *                     for TIPS the real clean price, before the index ratio), NAV per share
 *                     in USD for fund shares
 *   "discount_yield"  bills only: the bank-discount rate in percent (actual/360), which the
 *                     valuation turns into a price for the settlement date
 * with, for TIPS, "index_ratio" (the Treasury's index ratio for the settlement date) and, for
 * floating-rate notes, "accrual_rate" (percent a year, actual/360: the index plus spread the
 * note has accrued at since its last interest payment). Which fields an instrument needs is
 * the valuation's to check, against its class. */
#ifndef AT_PRICES_H
#define AT_PRICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"

typedef enum at_quote_kind {
    AT_QUOTE_PRICE,         /* "price" */
    AT_QUOTE_DISCOUNT_YIELD /* "discount_yield" */
} at_quote_kind;

typedef struct at_price {
    char asset[CUSTOS_ASSET_ID_MAX + 1];
    at_quote_kind kind;
    custos_u256 price; /* the quoted number, 18 decimals: a price or a discount yield */
    bool has_index_ratio, has_accrual_rate;
    custos_u256 index_ratio, accrual_rate; /* 18 decimals */
    uint64_t as_of;
} at_price;

typedef struct at_prices {
    at_price *items;
    size_t n;
} at_prices;

custos_rc at_prices_parse(const char *file, const char *text, size_t len, at_prices *out,
                          custos_error *err);
custos_rc at_prices_load(const char *path, at_prices *out, custos_error *err);
void at_prices_free(at_prices *p);
/* NULL when the asset has no price. */
const at_price *at_prices_find(const at_prices *p, const char *asset);

#endif
