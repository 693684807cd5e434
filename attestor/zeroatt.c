#include "zeroatt.h"

#include <string.h>

#include "cmd.h"
#include "holdings.h"
#include "policy.h"

custos_rc at_zeroatt_build(const char *holdings_path, const char *ref, const char *policy_path,
                           const char *valid_until_text, uint64_t now, uint8_t kind,
                           custos_submission *s, custos_error *err)
{
    const char *what = kind == CUSTOS_KIND_FREEZE ? "freeze" : "release";
    uint64_t valid_until;
    custos_rc rc;
    if (valid_until_text != NULL) {
        rc = at_cmd_parse_u64("--valid-until", valid_until_text, &valid_until, err);
    } else {
        at_policy policy;
        rc = at_policy_load(policy_path, &policy, err);
        if (rc == CUSTOS_OK) {
            rc = at_policy_valid_until(&policy, now, &valid_until, err);
            at_policy_free(&policy);
        }
    }
    if (rc != CUSTOS_OK)
        return rc;
    if (valid_until <= now)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "validUntil %llu is not after now %llu: the %s would be void "
                                "on arrival", (unsigned long long)valid_until,
                                (unsigned long long)now, what);
    /* The custodian id and the current pledge come from the ledger. */
    at_holdings holdings;
    rc = at_holdings_load(holdings_path, &holdings, err);
    if (rc != CUSTOS_OK)
        return rc;
    const at_account *account = at_holdings_find(&holdings, ref);
    if (account == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "%s: no account with ref '%.128s'",
                              holdings_path, ref);
    } else {
        custos_account_id(holdings.custodian, account->ref, s->att.account);
        memcpy(s->att.beneficiary, account->beneficiary, CUSTOS_ADDRESS_LEN);
    }
    at_holdings_free(&holdings);
    if (rc != CUSTOS_OK)
        return rc;
    s->att.kind = kind;
    custos_u256_from_u64(&s->att.gross_value, 0);
    custos_u256_from_u64(&s->att.collateral_value, 0);
    memset(s->att.positions_root, 0, sizeof s->att.positions_root);
    s->att.as_of = now;
    s->att.valid_until = valid_until;
    return CUSTOS_OK;
}
