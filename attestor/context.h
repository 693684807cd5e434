/* The command-line context every signing command shares: the feed, the EIP-712 domain
 * (chain id and adapter address) and the clock. */
#ifndef AT_CONTEXT_H
#define AT_CONTEXT_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

/* Fills s->feed and s->domain from --feed, --chain-id and --contract, and *now from --now
 * (NULL: the system clock). Messages name the flag. */
custos_rc at_context_parse(const char *feed, const char *chain_id, const char *contract,
                           const char *now_text, custos_submission *s, uint64_t *now,
                           custos_error *err);

/* Unix seconds from the system clock. */
custos_rc at_context_clock(uint64_t *now, custos_error *err);

#endif
