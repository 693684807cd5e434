/* A book as one batch (batchbook.h). Everything that can fail on bad input (holdings,
 * prices, valuations, the registry) runs in at_batch_book_value, before any sequence
 * number is taken. */
#include "batchbook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "custos/hex.h"
#include "custos/keccak.h"
#include "fileio.h"
#include "pledge.h"
#include "seqstate.h"
#include "valuation.h"

void at_batch_book_free(at_batch_book *b)
{
    for (size_t i = 0; b->subs != NULL && i < b->n; i++)
        custos_submission_clear(&b->subs[i]);
    free(b->subs);
    free(b->atts);
    custos_batch_tree_free(b->tree);
    memset(b, 0, sizeof *b);
}

void at_batch_sequence_key(const char *feed, uint8_t out[32])
{
    static const char tag[] = "CollateralBatch";
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, (const uint8_t *)tag, sizeof tag - 1);
    custos_keccak_update(&k, (const uint8_t *)feed, strlen(feed));
    custos_keccak_final(&k, out);
}

/* Values account i into b->subs[i] (all but the sequence and the shared times). */
static custos_rc value_one(at_batch_book *b, const at_holdings *h, const at_prices *prices,
                           const at_price_fetch *fetch, const at_policy *policy,
                           const char *registry, size_t i, uint64_t now,
                           at_price_report *report, custos_error *err)
{
    const at_account *account = &h->accounts[i];
    at_prices merged;
    memset(&merged, 0, sizeof merged);
    custos_rc rc = CUSTOS_OK;
    if (prices == NULL) {
        rc = at_price_merge(fetch, account, policy, now, &merged, report, err);
        prices = &merged;
    }
    at_position_detail *details = NULL;
    if (rc == CUSTOS_OK)
        rc = at_valuation_attestation(h->custodian, account, prices, policy, now, &b->subs[i],
                                      &details, err);
    free(details);
    at_prices_free(&merged);
    /* One lender per collateral: the ledger's beneficiary must be the registered pledge. */
    if (rc == CUSTOS_OK && registry != NULL)
        rc = at_pledge_check(registry, account->ref, b->subs[i].att.beneficiary, err);
    return rc;
}

custos_rc at_batch_book_value(at_batch_book *b, const at_holdings *h, const at_prices *prices,
                              const at_price_fetch *fetch, const at_policy *policy,
                              const char *registry, uint64_t now, at_price_report *report,
                              custos_error *err)
{
    memset(b, 0, sizeof *b);
    if (h->n_accounts == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "no accounts to batch");
    if (h->n_accounts > CUSTOS_BATCH_MAX_ACCOUNTS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "%zu accounts, a batch holds at most %d", h->n_accounts,
                                CUSTOS_BATCH_MAX_ACCOUNTS);
    b->n = h->n_accounts;
    b->subs = calloc(b->n, sizeof *b->subs);
    b->atts = calloc(b->n, sizeof *b->atts);
    if (b->subs == NULL || b->atts == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "cannot hold %zu accounts", b->n);
    uint64_t oldest = UINT64_MAX;
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < b->n && rc == CUSTOS_OK; i++) {
        rc = value_one(b, h, prices, fetch, policy, registry, i, now, report, err);
        if (rc == CUSTOS_OK && b->subs[i].att.as_of < oldest)
            oldest = b->subs[i].att.as_of;
    }
    uint64_t valid_until = 0;
    if (rc == CUSTOS_OK)
        rc = at_policy_valid_until(policy, oldest, &valid_until, err);
    if (rc == CUSTOS_OK && valid_until <= now)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "the book's oldest price (as_of %" PRIu64 ") is valid only until "
                              "%" PRIu64 ", not after now (%" PRIu64 ")", oldest, valid_until,
                              now);
    for (size_t i = 0; i < b->n && rc == CUSTOS_OK; i++) {
        b->subs[i].att.as_of = oldest;
        b->subs[i].att.valid_until = valid_until;
    }
    return rc;
}

custos_rc at_batch_book_sign(at_batch_book *b, const custos_submission *ctx, const char *state,
                             at_signer *signer, custos_error *err)
{
    /* Every account's next sequence and then the feed's batch sequence, reserved in one
     * write of the state file (docs/custodian.md §12): once an account, the file would be
     * read and written 4,096 times for the largest batch. */
    uint8_t (*keys)[CUSTOS_HASH_LEN] = calloc(b->n + 1, sizeof *keys);
    uint64_t *seqs = calloc(b->n + 1, sizeof *seqs);
    custos_rc rc = CUSTOS_OK;
    if (keys == NULL || seqs == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "batch: out of memory");
    for (size_t i = 0; i < b->n && rc == CUSTOS_OK; i++)
        memcpy(keys[i], b->subs[i].att.account, CUSTOS_HASH_LEN);
    if (rc == CUSTOS_OK) {
        at_batch_sequence_key(ctx->feed, keys[b->n]);
        rc = at_seqstate_next_many(state, (const uint8_t(*)[CUSTOS_HASH_LEN])keys, b->n + 1,
                                   seqs, err);
    }
    for (size_t i = 0; i < b->n && rc == CUSTOS_OK; i++) {
        b->subs[i].att.sequence = seqs[i];
        b->atts[i] = b->subs[i].att;
    }
    uint64_t batch_seq = rc == CUSTOS_OK ? seqs[b->n] : 0;
    free(keys);
    free(seqs);
    if (rc == CUSTOS_OK)
        rc = custos_batch_tree_new(ctx->feed, b->atts, b->n, batch_seq, &b->batch, &b->tree, err);
    if (rc == CUSTOS_OK) {
        custos_batch_digest(&ctx->domain, &b->batch, b->digest);
        rc = at_signer_sign(signer, b->digest, &b->sig, err);
    }
    return rc;
}

/* json (taken) as the file name of the export, in place at at_files_commit. */
static custos_rc write_json(at_files *files, const char *name, char *json, custos_error *err)
{
    if (json == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "export: out of memory");
    custos_rc rc = at_files_add(files, name, json, strlen(json), 0644, err);
    free(json);
    return rc;
}

custos_rc at_batch_book_export(const at_batch_book *b, const custos_submission *ctx,
                               const char *dir, custos_error *err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return custos_error_set(err, CUSTOS_ERR_IO, "export %s: cannot create: %s", dir,
                                strerror(errno));
    char *json = NULL;
    at_files *files = NULL;
    custos_rc rc = at_files_new(dir, &files, err);
    if (rc == CUSTOS_OK)
        rc = custos_batch_export(ctx->feed, &ctx->domain, &b->batch, &b->sig, 1, &json, err);
    if (rc == CUSTOS_OK)
        rc = write_json(files, "batch.json", json, err);
    custos_batch_account *a = calloc(1, sizeof *a);
    if (rc == CUSTOS_OK && a == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "export: out of memory");
    for (size_t i = 0; i < b->n && rc == CUSTOS_OK; i++) {
        memcpy(a->feed, ctx->feed, sizeof a->feed);
        a->domain = ctx->domain;
        a->att = b->atts[i];
        a->batch = b->batch;
        a->sigs[0] = b->sig;
        a->n_sigs = 1;
        uint8_t leaf[CUSTOS_HASH_LEN];
        rc = custos_batch_tree_proof(b->tree, i, leaf, a->proof, CUSTOS_MERKLE_PROOF_MAX,
                                     &a->n_proof, err);
        json = NULL;
        if (rc == CUSTOS_OK)
            rc = custos_batch_account_export(a, b->subs[i].positions, b->subs[i].n_positions,
                                             &json, err);
        char name[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN) + 5];
        if (rc == CUSTOS_OK && custos_hex_encode(a->att.account, CUSTOS_HASH_LEN, name,
                                                 sizeof name) != CUSTOS_OK)
            rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "account id to hex");
        if (rc == CUSTOS_OK) {
            strcat(name, ".json");
            rc = write_json(files, name, json, err);
        } else {
            free(json);
        }
    }
    free(a);
    if (rc == CUSTOS_OK)
        rc = at_files_commit(files, err);
    at_files_free(files);
    return rc;
}
