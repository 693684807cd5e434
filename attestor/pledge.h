/* The pledge registry: which lender each custody account is pledged to, kept by the
 * attestor so that it never attests an account to a second lender (rule 5):
 *   {"pledges": {"ACME-FUND-001": "0xe7f1...0512"}}
 * keyed by the account's reference in the holdings file (one registry per custodian). An
 * account without an entry is not pledged. A pledge to another beneficiary is refused until
 * the current one has been released (custos-attestor release, acknowledged ACCEPTED by the
 * gateway). Written atomically and serialised by a lock on "<path>.lock", like the sequence
 * state; a file that cannot be read as a registry is refused, never reset. */
#ifndef AT_PLEDGE_H
#define AT_PLEDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

/* The account's pledge: *pledged false (and ben zero) when the registry (or its file) has
 * none. */
custos_rc at_pledge_get(const char *path, const char *ref, bool *pledged,
                        uint8_t ben[CUSTOS_ADDRESS_LEN], custos_error *err);

/* Records ref -> ben (a no-op when already so). CUSTOS_ERR_REFUSED when ref is pledged to
 * another beneficiary; CUSTOS_ERR_INVALID for the zero address. */
custos_rc at_pledge_set(const char *path, const char *ref, const uint8_t ben[CUSTOS_ADDRESS_LEN],
                        custos_error *err);

/* Removes ref's pledge if it is still to ben (the release's beneficiary). */
custos_rc at_pledge_clear(const char *path, const char *ref,
                          const uint8_t ben[CUSTOS_ADDRESS_LEN], custos_error *err);

/* CUSTOS_ERR_REFUSED, with a message naming both addresses and what to do, unless ben (the
 * holdings file's beneficiary) is the registry's pledge of ref (zero when unpledged). */
custos_rc at_pledge_check(const char *path, const char *ref,
                          const uint8_t ben[CUSTOS_ADDRESS_LEN], custos_error *err);

#endif
