/* The price file: {"prices": {"US912797KX47": {"price": "0.98765", "as_of": 1795208400}}}.
 * price is USD per unit of quantity (fraction of par for Treasuries, NAV for fund shares);
 * as_of is the unix time the price was observed. */
#ifndef AT_PRICES_H
#define AT_PRICES_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"

typedef struct at_price {
    char asset[CUSTOS_ASSET_ID_MAX + 1];
    custos_u256 price; /* 18 decimals */
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
