/* The pledges one collateral manager process manages (docs/lending.md §8): the settings of
 * a pledge as text, from the command line's options (one pledge) or from a config file
 * (manage --config FILE, several), a JSON object
 *   {"pledges": [{"account_id": "0x..", "lender": "0x..", "loan_decimals": 6,
 *                 "loan_price_usd": "1", "margin_return_ltv": 4000,
 *                 "margin_call_ltv": 7000, "liquidation_ltv": 9000, "hysteresis": 100,
 *                 "cure_seconds": 86400, "state": "pledge-1.json",
 *                 "feed": "acme-custody", "attestor_state": "state.json"}, ...]}
 * with one object per pledge (1 to AT_MANAGE_PLEDGES_MAX), each key the option of the same
 * name: "cure_business_hours" replaces "cure_seconds"; "hysteresis" is optional (0);
 * "feed" and "attestor_state" are for the liquidation (--agent-key). Integers are JSON
 * integers, the price a decimal string. Relative paths are relative to the file's
 * directory. Unknown keys are refused; every message names the file and the key. Both are
 * parsed and checked by the same code (manage_setup in cmd_manage.c). */
#ifndef AT_MANAGE_CONFIG_H
#define AT_MANAGE_CONFIG_H

#include <stddef.h>

#include "custos/error.h"

#define AT_MANAGE_PLEDGES_MAX 256u

/* One pledge's settings as the options spell them; NULL when absent. */
typedef struct at_pledge_opts {
    const char *account_id, *lender, *loan_decimals, *loan_price, *margin_return,
        *margin_call, *liquidation, *hysteresis, *cure_seconds, *cure_hours, *state, *feed,
        *seq_state;
} at_pledge_opts;

typedef struct at_manage_conf at_manage_conf;

CUSTOS_MUST_USE
custos_rc at_manage_conf_load(const char *path, at_manage_conf **out, custos_error *err);
void at_manage_conf_free(at_manage_conf *c);
size_t at_manage_conf_count(const at_manage_conf *c);
/* Pledge i (< count); valid until the config is freed. */
const at_pledge_opts *at_manage_conf_pledge(const at_manage_conf *c, size_t i);

#endif
