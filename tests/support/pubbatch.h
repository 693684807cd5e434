/* Batches through the real binaries for the publisher's tests on anvil (docs/publishing.md
 * §14), on top of pubfixture.h: a book of the fixture's accounts pledged to PUBF_LENDER,
 * valued by `custos-attestor attest --batch` with the custodian's key, cosigned by the
 * valuation agent (the feed's quorum is 2), sent by `submit-batch` to the fixture's
 * gateway; what the lenders' Chainlink-style feeds answer, read back. Every helper fails
 * the test on error. */
#ifndef CUSTOS_PUBBATCH_H
#define CUSTOS_PUBBATCH_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "pubfixture.h"

typedef struct pubb {
    pubf *f;
    /* The signers' key files, the attestor's state and its input files, in f's directory. */
    char k1[1200], k2[1200], state[1200], holdings[1200], prices[1200], policy[1200];
    char contract[CUSTOS_ADDRESS_HEX_LEN]; /* the adapter, as --contract takes it */
} pubb;

/* Writes the custodian's and the valuation agent's key files into f's directory and names
 * the others there. f is initialised (pubf_init). */
void pubb_init(pubb *b, pubf *f);
/* dst = <f's directory>/name. */
void pubb_path(const pubb *b, char *dst, size_t cap, const char *name);
/* The book: the sample holdings' first account under each of refs, pledged to PUBF_LENDER;
 * the sample prices observed now; the sample policy. */
void pubb_write_book(pubb *b, const char *const *refs, size_t n_refs);
/* The same with account i's quantities at pct[i] percent of the sample's (each product
 * whole): its value scales alike. */
void pubb_write_book_scaled(pubb *b, const char *const *refs, const unsigned *pct,
                            size_t n_refs);
/* custos-attestor with args (NULL-terminated); returns its exit status, its output printed. */
int pubb_attestor(const char *const args[]);
/* attest --batch of the book into dir with the custodian's key, then cosign by the
 * valuation agent into dir2: the batch with its quorum. */
void pubb_sign(pubb *b, const char *dir, const char *dir2);
/* pubb_sign into <name> and <name>-cosigned (its path in cosigned), then pubb_submit of
 * the cosigned batch. */
void pubb_sign_submit(pubb *b, const char *name, char *cosigned, size_t cap);
/* The batch of dir through the gateway's SubmitBatch (submit-batch): every account
 * taken (accepted, or held by the breaker). */
void pubb_submit(pubb *b, const char *dir);
/* Account ref (of GWF_FEED) on anvil 0 as its file exported in dir says: its lender's
 * feed answers the exported collateral value (0 when dir is NULL: a frozen account), and
 * the adapter holds `sequence`. */
void pubb_expect_on_chain(pubf *f, const char *dir, const char *ref, uint64_t sequence);
/* The cursor of the accepted record of account ref (of GWF_FEED), which must have this
 * sequence (GetLatest). */
uint64_t pubb_latest_cursor(pubf *f, const char *ref, uint64_t sequence);
/* The sequence of the batch exported in dir (its batch.json). */
uint64_t pubb_batch_sequence(const char *dir);
/* The adapter's BatchAccepted events of GWF_FEED's batch `sequence` on anvil 0: how many,
 * and *refused gets the accounts the last of them refused (0 when none). */
size_t pubb_batch_events(pubf *f, uint64_t sequence, uint32_t *refused);
/* The same for its BatchPartAccepted events (submitBatchPart). */
size_t pubb_part_events(pubf *f, uint64_t sequence, uint32_t *refused);

#endif
