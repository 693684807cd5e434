/* A book valued and signed as one batch (docs/attestation.md §16, rules.md rule 20): every
 * account of the holdings with one asOf and validUntil (the oldest price of the book and
 * the validity the policy gives it), each account's next sequence and the feed's next
 * batch sequence, the accounts tree and the signer's signature over the batch digest.
 * attest --batch exports it (batchsign.h); the daemon's batch mode spools and submits it
 * (cmd_run.c). */
#ifndef AT_BATCHBOOK_H
#define AT_BATCHBOOK_H

#include <stdint.h>

#include "custos/batch.h"
#include "holdings.h"
#include "policy.h"
#include "price_quorum.h"
#include "prices.h"
#include "signer.h"

typedef struct at_batch_book {
    custos_submission *subs; /* one per account, in the holdings' order */
    custos_attestation *atts;
    size_t n;
    custos_batch batch;
    custos_batch_tree *tree;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_signature sig; /* the signer's, over digest */
} at_batch_book;

void at_batch_book_free(at_batch_book *b);

/* Values every account of h (1 to CUSTOS_BATCH_MAX_ACCOUNTS of them) at `now` with the
 * prices file's prices, or, when prices is NULL, each account's merge of fetch by the
 * policy's quorum (dropped quotes into report); checks each beneficiary against registry
 * (NULL: none); then gives every account the book's oldest asOf and the validUntil the
 * policy gives it, which must be after now. */
CUSTOS_MUST_USE
custos_rc at_batch_book_value(at_batch_book *b, const at_holdings *h, const at_prices *prices,
                              const at_price_fetch *fetch, const at_policy *policy,
                              const char *registry, uint64_t now, at_price_report *report,
                              custos_error *err);

/* Takes each account's next sequence, then the feed's next batch sequence, from the state
 * file (only now, when nothing but signing is left), builds the tree and signs the batch
 * digest under ctx's feed and domain. */
CUSTOS_MUST_USE
custos_rc at_batch_book_sign(at_batch_book *b, const custos_submission *ctx, const char *state,
                             at_signer *signer, custos_error *err);

/* Writes dir/batch.json and one dir/0x<account id>.json per account (creating dir), the
 * form cosign reads and extends. */
CUSTOS_MUST_USE
custos_rc at_batch_book_export(const at_batch_book *b, const custos_submission *ctx,
                               const char *dir, custos_error *err);

/* The key of the feed's batch sequence in the attestor's state file:
 * keccak256("CollateralBatch" || feed), apart from every account id and from the reserves
 * sequence (keyed by the feed id). */
void at_batch_sequence_key(const char *feed, uint8_t out[32]);

#endif
