/* A stored attestation as a gateway keeps and returns it: the submission with its state,
 * place in the accepted log and the signers the gateway recovered. */
#ifndef CUSTOS_RECORD_H
#define CUSTOS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/merkle.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum custos_state {
    CUSTOS_STATE_UNSPECIFIED = 0,
    CUSTOS_STATE_PENDING = 1,  /* durable, short of its threshold of signatures */
    CUSTOS_STATE_ACCEPTED = 2,
    CUSTOS_STATE_HELD = 3      /* durable, not published: a rise beyond the breaker bound */
} custos_state;

/* The batch an account's attestation was signed in (docs/rules.md rule 20): what a client
 * needs to verify the account alone (custos_batch_account_verify), apart from the record's
 * attestation itself. */
typedef struct custos_record_batch {
    uint8_t digest[CUSTOS_HASH_LEN]; /* the batch's EIP-712 digest (attestation.md §16) */
    custos_batch batch;
    /* The account's leaf proof to batch.accounts_root, sibling hashes bottom-up. */
    uint8_t proof[CUSTOS_MERKLE_PROOF_MAX][CUSTOS_HASH_LEN];
    size_t n_proof;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES]; /* the quorum's, over digest */
    size_t n_sigs;
} custos_record_batch;

typedef struct custos_record {
    uint64_t cursor;            /* place in the accepted log; 0 unless ACCEPTED */
    custos_state state;
    uint8_t digest[CUSTOS_HASH_LEN];
    uint64_t accepted_at;
    custos_submission sub;      /* owns its positions: release with custos_record_clear */
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    size_t n_signers;
    uint8_t chain_hash[CUSTOS_HASH_LEN]; /* custos/chain.h link of this record; zeros: unknown */
    /* The gateway withheld the positions from this caller (sub.n_positions is then 0 while
     * sub.att.positions_root commits to positions): not "no positions". */
    bool positions_withheld;
    /* Signed as an account of a batch: sub then carries no signature of its own (sub.n_sigs
     * is 0), batch.sigs are the signatures and signers the addresses they recovered to. */
    bool batched;
    custos_record_batch batch;
} custos_record;

/* ListHeld answers at most this many records a page. */
#define CUSTOS_HELD_PAGE_MAX 1000
/* A ListHeld page token: opaque to callers (be64(held_at) || digest of a page's last
 * record). */
#define CUSTOS_HELD_PAGE_TOKEN_LEN 40

/* Frees what r owns and zeroes it; safe on a zeroed record and on NULL. */
void custos_record_clear(custos_record *r);
/* Clears each of the n records of list, then frees list (a list the library returned,
 * e.g. by custos_client_list_held). Safe on NULL. */
void custos_record_list_free(custos_record *list, size_t n);

#ifdef __cplusplus
}
#endif
#endif
