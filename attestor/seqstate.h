/* The attestor's sequence state: a JSON file {"0x<account id>": <last sequence>, ...}.
 * Each attestation takes the next number, stored durably before anything is signed, so a
 * crash can skip a number but never reuse one. */
#ifndef AT_SEQSTATE_H
#define AT_SEQSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"

/* Reserves the account's next sequence (1 for an account the file does not know; the file
 * is created if missing) and returns only once the new state is on disk. A file that cannot
 * be read as a state file is refused, never reset. Concurrent callers are serialised by an
 * advisory lock on "<path>.lock". */
CUSTOS_MUST_USE
custos_rc at_seqstate_next(const char *path, const uint8_t account[CUSTOS_HASH_LEN],
                           uint64_t *next, custos_error *err);
/* The same for n keys at once, next[i] for keys[i], in one write of the file: a batch of
 * thousands of accounts reads and writes the state once, not once an account. Either every
 * sequence is reserved or none is. A key listed twice takes two numbers in turn. */
CUSTOS_MUST_USE
custos_rc at_seqstate_next_many(const char *path, const uint8_t (*keys)[CUSTOS_HASH_LEN],
                                size_t n, uint64_t *next, custos_error *err);

#endif
