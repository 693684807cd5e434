/* The custody ledger's holdings file:
 *   {"custodian": "acme-custody",
 *    "accounts": [{"ref": "ACME-FUND-001", "beneficiary": "0x...",
 *                  "positions": [{"asset": "US912797KX47", "class": "bill",
 *                                 "quantity": "5000000"}]}]}
 * quantity is a decimal string (face value in USD for Treasuries, shares for funds).
 * class is the instrument type, which decides how it is valued (valuation.h):
 *   "bill"  Treasury bill: "maturity": "2027-01-21" required
 *   "note", "bond"  Treasury coupon security: "coupon": "4.125" (percent a year, paid
 *           semi-annually) and "maturity" required
 *   "mmf"   money-market-fund shares: neither */
#ifndef AT_HOLDINGS_H
#define AT_HOLDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/calendar.h"
#include "custos/error.h"
#include "custos/u256.h"

#define AT_CUSTODIAN_MAX 128
#define AT_REF_MAX 128
#define AT_CLASS_MAX 31

typedef enum at_instrument { AT_BILL, AT_NOTE, AT_BOND, AT_MMF } at_instrument;

typedef struct at_holding {
    char asset[CUSTOS_ASSET_ID_MAX + 1];
    char asset_class[AT_CLASS_MAX + 1];
    at_instrument instrument;
    custos_u256 quantity; /* 18 decimals */
    custos_u256 coupon;   /* percent a year, 18 decimals; notes and bonds */
    custos_day maturity;  /* bills, notes and bonds */
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
