/* attest --batch (batchsign.h). Everything that can fail on bad input (keys, holdings,
 * prices, valuations, the registry) runs before any sequence number is taken. */
#include "batchsign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "context.h"
#include "custos/batch.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/sig.h"
#include "custos/u256.h"
#include "fileio.h"
#include "holdings.h"
#include "pledge.h"
#include "policy.h"
#include "price_quorum.h"
#include "prices.h"
#include "report.h"
#include "seqstate.h"
#include "signer.h"
#include "valuation.h"

/* Everything one batch holds while it is made; batch_free releases it. */
typedef struct batch_work {
    at_holdings holdings;
    at_policy policy;
    at_prices file_prices;
    at_price_fetch fetch;
    at_price_report report;
    custos_submission *subs; /* one per account, in the holdings' order */
    custos_attestation *atts;
    size_t n;
    custos_batch batch;
    custos_batch_tree *tree;
} batch_work;

static void batch_free(batch_work *w)
{
    for (size_t i = 0; w->subs != NULL && i < w->n; i++)
        custos_submission_clear(&w->subs[i]);
    free(w->subs);
    free(w->atts);
    custos_batch_tree_free(w->tree);
    at_price_report_free(&w->report);
    at_price_fetch_free(&w->fetch);
    at_prices_free(&w->file_prices);
    at_policy_free(&w->policy);
    at_holdings_free(&w->holdings);
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

/* Values account i into w->subs[i] (all but the sequence and the shared times). */
static custos_rc value_one(batch_work *w, const clopt_list *sources, size_t i, uint64_t now,
                           const char *registry, custos_error *err)
{
    const at_account *account = &w->holdings.accounts[i];
    at_prices merged;
    memset(&merged, 0, sizeof merged);
    const at_prices *prices = &w->file_prices;
    custos_rc rc = CUSTOS_OK;
    if (sources->n > 0) {
        rc = at_price_merge(&w->fetch, account, &w->policy, now, &merged, &w->report, err);
        prices = &merged;
    }
    at_position_detail *details = NULL;
    if (rc == CUSTOS_OK)
        rc = at_valuation_attestation(w->holdings.custodian, account, prices, &w->policy, now,
                                      &w->subs[i], &details, err);
    free(details);
    at_prices_free(&merged);
    /* One lender per collateral: the ledger's beneficiary must be the registered pledge. */
    if (rc == CUSTOS_OK && registry != NULL)
        rc = at_pledge_check(registry, account->ref, w->subs[i].att.beneficiary, err);
    return rc;
}

/* Values the whole book and gives every account the oldest asOf of the book and the
 * validUntil the policy gives it (a batch carries one of each: docs/attestation.md §16). */
static custos_rc value_book(batch_work *w, const at_sign_opts *o, const char *prices,
                            const clopt_list *sources, const char *price_ca,
                            const char *registry, uint64_t now, custos_error *err)
{
    custos_rc rc = at_holdings_load(o->holdings, &w->holdings, err);
    if (rc == CUSTOS_OK)
        rc = at_policy_load(o->policy, &w->policy, err);
    if (rc == CUSTOS_OK && w->holdings.n_accounts == 0)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: no accounts to batch", o->holdings);
    if (rc == CUSTOS_OK && w->holdings.n_accounts > CUSTOS_BATCH_MAX_ACCOUNTS)
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                              "%s: %zu accounts, a batch holds at most %d", o->holdings,
                              w->holdings.n_accounts, CUSTOS_BATCH_MAX_ACCOUNTS);
    if (rc == CUSTOS_OK && prices != NULL)
        rc = at_prices_load(prices, &w->file_prices, err);
    if (rc == CUSTOS_OK && sources->n > 0)
        rc = at_price_fetch_all(sources->items, sources->n, price_ca, &w->policy, &w->fetch,
                                err);
    if (rc != CUSTOS_OK)
        return rc;
    w->n = w->holdings.n_accounts;
    w->subs = calloc(w->n, sizeof *w->subs);
    w->atts = calloc(w->n, sizeof *w->atts);
    if (w->subs == NULL || w->atts == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "cannot hold %zu accounts", w->n);
    uint64_t oldest = UINT64_MAX;
    for (size_t i = 0; i < w->n && rc == CUSTOS_OK; i++) {
        rc = value_one(w, sources, i, now, registry, err);
        if (rc == CUSTOS_OK && w->subs[i].att.as_of < oldest)
            oldest = w->subs[i].att.as_of;
    }
    uint64_t valid_until = 0;
    if (rc == CUSTOS_OK)
        rc = at_policy_valid_until(&w->policy, oldest, &valid_until, err);
    if (rc == CUSTOS_OK && valid_until <= now)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "the book's oldest price (as_of %" PRIu64 ") is valid only until "
                              "%" PRIu64 ", not after now (%" PRIu64 ")", oldest, valid_until,
                              now);
    for (size_t i = 0; i < w->n && rc == CUSTOS_OK; i++) {
        w->subs[i].att.as_of = oldest;
        w->subs[i].att.valid_until = valid_until;
    }
    return rc;
}

/* Each account's next sequence, then the feed's next batch sequence: taken only now,
 * when nothing but signing and writing is left. */
static custos_rc take_sequences(batch_work *w, const at_sign_opts *o, uint64_t *batch_seq,
                                custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < w->n && rc == CUSTOS_OK; i++) {
        rc = at_seqstate_next(o->state, w->subs[i].att.account, &w->subs[i].att.sequence, err);
        w->atts[i] = w->subs[i].att;
    }
    uint8_t key[32];
    at_batch_sequence_key(o->feed, key);
    if (rc == CUSTOS_OK)
        rc = at_seqstate_next(o->state, key, batch_seq, err);
    return rc;
}

static custos_rc write_json(const char *dir, const char *name, char *json, custos_error *err)
{
    char path[4096];
    if (json == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "--export: out of memory");
    int len = snprintf(path, sizeof path, "%s/%s", dir, name);
    custos_rc rc = CUSTOS_OK;
    if (len < 0 || (size_t)len >= sizeof path)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "--export: directory path too long");
    else
        rc = at_file_write_atomic(path, json, strlen(json), 0644, err);
    free(json);
    return rc;
}

/* The batch file and one file per account, named by its account id. */
static custos_rc export_all(const batch_work *w, const custos_submission *ctx,
                            const custos_signature *sig, const char *dir, custos_error *err)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return custos_error_set(err, CUSTOS_ERR_IO, "--export %s: cannot create: %s", dir,
                                strerror(errno));
    char *json = NULL;
    custos_rc rc = custos_batch_export(ctx->feed, &ctx->domain, &w->batch, sig, 1, &json, err);
    if (rc == CUSTOS_OK)
        rc = write_json(dir, "batch.json", json, err);
    custos_batch_account *a = calloc(1, sizeof *a);
    if (rc == CUSTOS_OK && a == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "--export: out of memory");
    for (size_t i = 0; i < w->n && rc == CUSTOS_OK; i++) {
        memcpy(a->feed, ctx->feed, sizeof a->feed);
        a->domain = ctx->domain;
        a->att = w->atts[i];
        a->batch = w->batch;
        a->sigs[0] = *sig;
        a->n_sigs = 1;
        uint8_t leaf[CUSTOS_HASH_LEN];
        rc = custos_batch_tree_proof(w->tree, i, leaf, a->proof, CUSTOS_MERKLE_PROOF_MAX,
                                     &a->n_proof, err);
        json = NULL;
        if (rc == CUSTOS_OK)
            rc = custos_batch_account_export(a, w->subs[i].positions, w->subs[i].n_positions,
                                             &json, err);
        char name[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN) + 5];
        if (rc == CUSTOS_OK && custos_hex_encode(a->att.account, CUSTOS_HASH_LEN, name,
                                                 sizeof name) != CUSTOS_OK)
            rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "account id to hex");
        if (rc == CUSTOS_OK) {
            strcat(name, ".json");
            rc = write_json(dir, name, json, err);
        } else {
            free(json);
        }
    }
    free(a);
    return rc;
}

/* The batch's fields, its signer, and one entry per account (text: one line each; JSON:
 * the "accounts" array, collateralValue as decimal text). */
static void report(at_report *r, const batch_work *w, const uint8_t digest[CUSTOS_HASH_LEN],
                   const uint8_t signer[CUSTOS_ADDRESS_LEN])
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], addr[CUSTOS_ADDRESS_HEX_LEN];
    char dec[CUSTOS_U256_DEC_MAX];
    if (custos_hex_encode(w->batch.accounts_root, CUSTOS_HASH_LEN, hex, sizeof hex) == CUSTOS_OK)
        at_report_line(r, "root", "accountsRoot", "%s", hex);
    if (custos_hex_encode(digest, CUSTOS_HASH_LEN, hex, sizeof hex) == CUSTOS_OK)
        at_report_line(r, "digest", "digest", "%s", hex);
    at_report_line(r, "accounts", "count", "%" PRIu32, w->batch.count);
    at_report_line(r, "sequence", "sequence", "%" PRIu64, w->batch.sequence);
    at_report_line(r, "as_of", "asOf", "%" PRIu64, w->batch.as_of);
    at_report_line(r, "valid_until", "validUntil", "%" PRIu64, w->batch.valid_until);
    custos_address_to_hex(signer, addr);
    at_report_line(r, "signer", "signer", "%s", addr);
    json_t *list = r->json != NULL ? json_array() : NULL;
    for (size_t i = 0; i < w->n; i++) {
        if (custos_hex_encode(w->atts[i].account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK ||
            custos_u256_to_dec(&w->atts[i].collateral_value, dec, sizeof dec) != CUSTOS_OK)
            continue;
        at_report_line(r, "account", NULL, "%s %s sequence %" PRIu64 " collateral %s",
                       w->holdings.accounts[i].ref, hex, w->atts[i].sequence, dec);
        if (list != NULL)
            (void)json_array_append_new(
                list, json_pack("{s:s, s:s, s:I, s:s}", "reference", w->holdings.accounts[i].ref,
                                "account", hex, "sequence", (json_int_t)w->atts[i].sequence,
                                "collateralValue", dec));
    }
    at_report_member(r, "accounts", list);
}

int at_attest_batch(const at_sign_opts *o, const char *prices, const clopt_list *sources,
                    const char *price_ca, const char *registry, bool json)
{
    batch_work w;
    memset(&w, 0, sizeof w);
    custos_submission ctx;
    memset(&ctx, 0, sizeof ctx);
    at_signer signer;
    memset(&signer, 0, sizeof signer);
    custos_error err;
    uint64_t now = 0, batch_seq = 0;
    custos_rc rc = at_context_parse(o->feed, o->chain_id, o->contract, o->now, &ctx, &now, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &o->key, &err);
    if (rc == CUSTOS_OK)
        rc = value_book(&w, o, prices, sources, price_ca, registry, now, &err);
    if (rc == CUSTOS_OK)
        rc = take_sequences(&w, o, &batch_seq, &err);
    if (rc == CUSTOS_OK)
        rc = custos_batch_tree_new(ctx.feed, w.atts, w.n, batch_seq, &w.batch, &w.tree, &err);
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_signature sig;
    if (rc == CUSTOS_OK) {
        custos_batch_digest(&ctx.domain, &w.batch, digest);
        rc = at_signer_sign(&signer, digest, &sig, &err);
    }
    at_signer_close(&signer);
    if (rc == CUSTOS_OK)
        rc = export_all(&w, &ctx, &sig, o->export_path, &err);
    if (rc != CUSTOS_OK) {
        at_report why = {stderr, NULL};
        at_report_prices(&why, &w.fetch, &w.report);
        at_cmd_error("attest --batch: %s", err.message);
        batch_free(&w);
        return AT_EXIT_INPUT;
    }
    at_report out;
    /* Out of memory for the JSON object: the text report still says what was signed. */
    if (!at_report_open(&out, stdout, json))
        at_cmd_error("attest --batch: out of memory for --json; reporting as text");
    report(&out, &w, digest, signer.address);
    at_report_prices(&out, &w.fetch, &w.report);
    at_report_line(&out, "exported", "exported", "%s", o->export_path);
    at_report_line(&out, "files", NULL, "batch.json and %zu account files", w.n);
    batch_free(&w);
    return at_report_close(&out, AT_EXIT_OK);
}
