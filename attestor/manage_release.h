/* The release that ends a liquidation (docs/lending.md §5): once the pledge's debt reads
 * zero after the agent's repay, the custodian signs a release of the account's pledge to
 * the lender (kind 1, zero values) with the next sequence of the attestor's state file,
 * logs it as AT_LIQ_RELEASE_SIGNED, then submits it; the gateway checks rule 11's exposure
 * itself. A restart submits the logged release again (the gateway answers duplicate), and
 * never signs one before the debt is zero. */
#ifndef AT_MANAGE_RELEASE_H
#define AT_MANAGE_RELEASE_H

#include <stdint.h>

#include "custos/client.h"
#include "custos/error.h"
#include "manage_state.h"
#include "signer.h"

typedef struct at_release_ctx {
    custos_client *client;
    at_signer *signer;
    const custos_domain *domain;
    const char *feed;
    const char *seq_path;        /* the attestor's sequence state file */
    uint64_t validity_seconds;   /* the release's validUntil - asOf */
    const uint8_t *account;      /* CUSTOS_HASH_LEN */
    const uint8_t *lender;       /* CUSTOS_ADDRESS_LEN */
    const char *state_path;      /* the manager's state file */
} at_release_ctx;

/* From AT_LIQ_REPAY_MINED: signs and logs the release once the debt reads zero (otherwise
 * nothing). From AT_LIQ_RELEASE_SIGNED: submits it; ACCEPTED goes to
 * AT_LIQ_RELEASE_ACCEPTED. Other steps are left alone. */
CUSTOS_MUST_USE
custos_rc at_manage_release_step(const at_release_ctx *c, at_manage_state *st,
                                 custos_error *err);

#endif
