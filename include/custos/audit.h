/* The gateway's audit log: an append-only list of the changes made to what it enforces
 * (today: signer allow-list and feed policy reloads), each entry committing to the one
 * before it, so an auditor holding the entries can tell whether any was changed, removed
 * or inserted.
 *
 *   hash(seq) = keccak256(prev_hash || be64(seq) || be64(time) ||
 *                         be32(len(actor)) || actor || be32(len(action)) || action ||
 *                         be32(len(payload)) || payload)
 *
 * prev_hash is the previous entry's hash (32 zero bytes before the first, seq 1); actor
 * and action are UTF-8 without a terminator; lengths make the layout unambiguous. It is
 * Solidity's abi.encodePacked(bytes32, uint64, uint64, uint32, string, uint32, string,
 * uint32, bytes). */
#ifndef CUSTOS_AUDIT_H
#define CUSTOS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "custos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_AUDIT_HASH_LEN CUSTOS_HASH_LEN
#define CUSTOS_AUDIT_ACTOR_MAX 64
#define CUSTOS_AUDIT_ACTION_MAX 32

typedef struct custos_audit_entry {
    uint64_t seq;                /* 1, 2, ... */
    uint64_t time;               /* unix seconds */
    char actor[CUSTOS_AUDIT_ACTOR_MAX + 1];   /* who: a client certificate's name, "SIGHUP" */
    char action[CUSTOS_AUDIT_ACTION_MAX + 1]; /* what: "reload", ... */
    uint8_t *payload;            /* the change, canonical bytes; owned: custos_audit_entry_clear */
    size_t payload_len;
    uint8_t prev_hash[CUSTOS_AUDIT_HASH_LEN];
    uint8_t hash[CUSTOS_AUDIT_HASH_LEN];
} custos_audit_entry;

/* The hash of e's fields over prev (e->prev_hash and e->hash are not read). */
void custos_audit_hash(const uint8_t prev[CUSTOS_AUDIT_HASH_LEN], const custos_audit_entry *e,
                       uint8_t out[CUSTOS_AUDIT_HASH_LEN]);

/* Checks n entries that follow the entry whose (seq, hash) is (after_seq, after_hash)
 * (0 and zeros: from the start): consecutive sequence numbers, each prev_hash the hash
 * before it, each hash recomputed. Returns n when all hold, otherwise the index of the
 * first entry that breaks the chain. */
size_t custos_audit_verify(uint64_t after_seq, const uint8_t after_hash[CUSTOS_AUDIT_HASH_LEN],
                           const custos_audit_entry *entries, size_t n);

/* Frees e's payload and zeroes it; safe on a zeroed entry and on NULL. */
void custos_audit_entry_clear(custos_audit_entry *e);
/* Clears each of the n entries of list, then frees list (a list the library returned, e.g.
 * by custos_client_list_audit). Safe on NULL. */
void custos_audit_entry_list_free(custos_audit_entry *list, size_t n);

#ifdef __cplusplus
}
#endif
#endif
