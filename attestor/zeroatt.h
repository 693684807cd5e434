/* The zero-value attestations that end or void a pledge: a release (kind 1) or a freeze
 * (kind 2) carries zero values and a zero positions root, asOf = now, and validUntil from
 * the policy or given. */
#ifndef AT_ZEROATT_H
#define AT_ZEROATT_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

/* Fills s->att but the sequence: the account id from the holdings' custodian and ref, the
 * beneficiary the holdings name, the kind, zero values, asOf = now, validUntil from
 * policy_path or valid_until_text (exactly one is not NULL), refused when not after now. */
custos_rc at_zeroatt_build(const char *holdings_path, const char *ref, const char *policy_path,
                           const char *valid_until_text, uint64_t now, uint8_t kind,
                           custos_submission *s, custos_error *err);

#endif
