#include "account.h"

#include "cli.h"
#include "custos/hex.h"

const clopt cli_account_options[] = {
    {"account", "0xHEX", CLOPT_STR, offsetof(cli_account, account), "the account's id"},
    {"custodian", "ID", CLOPT_STR, offsetof(cli_account, custodian),
     "the custodian, with --ref: the account id is derived as the attestor does"},
    {"ref", "REF", CLOPT_STR, offsetof(cli_account, ref),
     "the account's reference at the custodian, with --custodian"},
    {0}};

bool cli_account_id(const cli_account *a, uint8_t id[CUSTOS_HASH_LEN])
{
    if (a->account == NULL) {
        custos_account_id(a->custodian, a->ref, id);
        return true;
    }
    custos_error err;
    if (custos_hex_decode(a->account, id, CUSTOS_HASH_LEN, &err) != CUSTOS_OK) {
        cli_fail("--account: '%.80s': %s", a->account, err.message);
        return false;
    }
    return true;
}
