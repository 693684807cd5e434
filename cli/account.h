/* The account a command names: --account 0xHEX, or --custodian ID with --ref REF (the id is
 * keccak256(abi.encode(custodian, ref)), as the attestor derives it). */
#ifndef CLI_ACCOUNT_H
#define CLI_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "clopt.h"
#include "custos/attestation.h"

typedef struct cli_account {
    const char *account, *custodian, *ref;
} cli_account;

/* --account, --custodian, --ref, into a cli_account. */
extern const clopt cli_account_options[];

#define CLI_ACCOUNT_MESSAGE "give either --account 0xHEX or both --custodian ID and --ref REF"
/* Exactly one of the two forms. */
#define CLI_ACCOUNT_RULES                                                                   \
    {CLOPT_ONE, {"account", "custodian"}, CLI_ACCOUNT_MESSAGE},                             \
        {CLOPT_TOGETHER, {"custodian", "ref"}, CLI_ACCOUNT_MESSAGE}

/* The account id; false (after saying why) when --account is not 32 bytes of hex. */
bool cli_account_id(const cli_account *a, uint8_t id[CUSTOS_HASH_LEN]) CLOPT_MUST_USE;

#endif
