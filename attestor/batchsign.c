/* attest --batch (batchsign.h). Everything that can fail on bad input (keys, holdings,
 * prices, valuations, the registry) runs before any sequence number is taken. */
#include "batchsign.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batchbook.h"
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
    at_batch_book book;
} batch_work;

static void batch_free(batch_work *w)
{
    at_batch_book_free(&w->book);
    at_price_report_free(&w->report);
    at_price_fetch_free(&w->fetch);
    at_prices_free(&w->file_prices);
    at_policy_free(&w->policy);
    at_holdings_free(&w->holdings);
}

/* Loads the holdings, policy and prices, then values the whole book (batchbook.h). */
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
    return at_batch_book_value(&w->book, &w->holdings, sources->n > 0 ? NULL : &w->file_prices,
                               &w->fetch, &w->policy, registry, now, &w->report, err);
}

/* The batch's fields, its signer, and one entry per account (text: one line each; JSON:
 * the "accounts" array, collateralValue as decimal text). */
static void report(at_report *r, const batch_work *w, const uint8_t signer[CUSTOS_ADDRESS_LEN])
{
    const at_batch_book *b = &w->book;
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], addr[CUSTOS_ADDRESS_HEX_LEN];
    char dec[CUSTOS_U256_DEC_MAX];
    if (custos_hex_encode(b->batch.accounts_root, CUSTOS_HASH_LEN, hex, sizeof hex) == CUSTOS_OK)
        at_report_line(r, "root", "accountsRoot", "%s", hex);
    if (custos_hex_encode(b->digest, CUSTOS_HASH_LEN, hex, sizeof hex) == CUSTOS_OK)
        at_report_line(r, "digest", "digest", "%s", hex);
    at_report_line(r, "accounts", "count", "%" PRIu32, b->batch.count);
    at_report_line(r, "sequence", "sequence", "%" PRIu64, b->batch.sequence);
    at_report_line(r, "as_of", "asOf", "%" PRIu64, b->batch.as_of);
    at_report_line(r, "valid_until", "validUntil", "%" PRIu64, b->batch.valid_until);
    custos_address_to_hex(signer, addr);
    at_report_line(r, "signer", "signer", "%s", addr);
    json_t *list = r->json != NULL ? json_array() : NULL;
    for (size_t i = 0; i < b->n; i++) {
        if (custos_hex_encode(b->atts[i].account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK ||
            custos_u256_to_dec(&b->atts[i].collateral_value, dec, sizeof dec) != CUSTOS_OK)
            continue;
        at_report_line(r, "account", NULL, "%s %s sequence %" PRIu64 " collateral %s",
                       w->holdings.accounts[i].ref, hex, b->atts[i].sequence, dec);
        if (list != NULL)
            (void)json_array_append_new(
                list, json_pack("{s:s, s:s, s:I, s:s}", "reference", w->holdings.accounts[i].ref,
                                "account", hex, "sequence", (json_int_t)b->atts[i].sequence,
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
    uint64_t now = 0;
    custos_rc rc = at_context_parse(o->feed, o->chain_id, o->contract, o->now, &ctx, &now, &err);
    if (rc == CUSTOS_OK)
        rc = at_signer_open(&signer, &o->key, &err);
    if (rc == CUSTOS_OK)
        rc = value_book(&w, o, prices, sources, price_ca, registry, now, &err);
    if (rc == CUSTOS_OK)
        rc = at_batch_book_sign(&w.book, &ctx, o->state, &signer, &err);
    at_signer_close(&signer);
    if (rc == CUSTOS_OK)
        rc = at_batch_book_export(&w.book, &ctx, o->export_path, &err);
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
    report(&out, &w, signer.address);
    at_report_prices(&out, &w.fetch, &w.report);
    at_report_line(&out, "exported", "exported", "%s", o->export_path);
    at_report_line(&out, "files", NULL, "batch.json and %zu account files", w.book.n);
    batch_free(&w);
    return at_report_close(&out, AT_EXIT_OK);
}
