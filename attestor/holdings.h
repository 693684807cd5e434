/* The custody ledger's holdings file:
 *   {"custodian": "acme-custody",
 *    "accounts": [{"ref": "ACME-FUND-001", "beneficiary": "0x...",
 *                  "positions": [{"asset": "US912797KX47", "class": "bill",
 *                                 "quantity": "5000000", "maturity": "2027-01-21"}]}]}
 * quantity is a decimal string (face value in USD for Treasuries, original principal for
 * TIPS, shares for funds). class is the instrument type, which decides how it is valued
 * (valuation.h):
 *   "bill"  Treasury bill: "maturity" required
 *   "note", "bond"  Treasury coupon security: "coupon" (percent a year, paid semi-annually)
 *           and "maturity" required
 *   "tips"  Treasury inflation-protected security: "coupon" and "maturity" as a note; the
 *           price file gives its index ratio
 *   "frn"   Treasury floating-rate note: "maturity" required, interest paid quarterly; the
 *           price file gives the rate it accrues at
 *   "mmf"   money-market-fund shares: none of these
 * Coupon securities (note, bond, tips, frn) may also give "dated_date" (when interest starts
 * accruing) and "first_coupon" (the first interest payment): a first coupon period that is
 * not a regular one needs them. Any other class is read (its known fields checked) and
 * refused by the valuation, naming the position: it is never valued as something else. */
#ifndef AT_HOLDINGS_H
#define AT_HOLDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/calendar.h"
#include "custos/error.h"
#include "custos/u256.h"

#define AT_CUSTODIAN_MAX 128
#define AT_REF_MAX 128
#define AT_CLASS_MAX 31

typedef enum at_instrument {
    AT_BILL,
    AT_NOTE,
    AT_BOND,
    AT_TIPS,
    AT_FRN,
    AT_MMF,
    AT_UNKNOWN /* a class the valuation refuses */
} at_instrument;

typedef struct at_holding {
    char asset[CUSTOS_ASSET_ID_MAX + 1];
    char asset_class[AT_CLASS_MAX + 1];
    at_instrument instrument;
    custos_u256 quantity; /* 18 decimals */
    custos_u256 coupon;   /* percent a year, 18 decimals; notes, bonds, TIPS */
    custos_day maturity;  /* every Treasury */
    bool has_maturity;
    bool has_dated_date, has_first_coupon; /* coupon securities, optional */
    custos_day dated_date, first_coupon;
} at_holding;

typedef struct at_account {
    char ref[AT_REF_MAX + 1];
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN]; /* zero: not pledged */
    at_holding *holdings;
    size_t n_holdings;
} at_account;

typedef struct at_holdings {
    char custodian[AT_CUSTODIAN_MAX + 1];
    at_account *accounts;
    size_t n_accounts;
} at_holdings;

/* file labels the error messages. On failure *out is left empty. */
custos_rc at_holdings_parse(const char *file, const char *text, size_t len, at_holdings *out,
                            custos_error *err);
custos_rc at_holdings_load(const char *path, at_holdings *out, custos_error *err);
void at_holdings_free(at_holdings *h);
/* NULL when no account has this ref. */
const at_account *at_holdings_find(const at_holdings *h, const char *ref);

#endif
