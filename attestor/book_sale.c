/* The sale of a liquidation in the custodian's book (book_sale.h). */
#include "book_sale.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "custos/attestation.h"
#include "custos/hex.h"
#include "custos/sig.h"
#include "fileio.h"
#include "holdings.h"
#include "policy.h"
#include "prices.h"
#include "valuation.h"

#define BOOK_MAX_BYTES (16u * 1024u * 1024u)

static json_t *book_fixed(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX + 2];
    return custos_fixed_format(v, CUSTOS_MONEY_DECIMALS, buf, sizeof buf) == CUSTOS_OK
               ? json_string(buf)
               : NULL;
}

static json_t *book_dec(const custos_u256 *v)
{
    char buf[CUSTOS_U256_DEC_MAX];
    return custos_u256_to_dec(v, buf, sizeof buf) == CUSTOS_OK ? json_string(buf) : NULL;
}

/* The journal's entry for this repay (a new reference), or NULL when there is none. */
static custos_rc book_find_entry(const char *journal, const char *tx, json_t **entry,
                                 custos_error *err)
{
    *entry = NULL;
    char *text = NULL;
    size_t len = 0;
    custos_rc rc = at_file_read(journal, BOOK_MAX_BYTES, &text, &len, err);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        return CUSTOS_OK;
    if (rc != CUSTOS_OK)
        return rc;
    size_t line_no = 0;
    for (char *line = text, *next; rc == CUSTOS_OK && line < text + len; line = next) {
        char *nl = strchr(line, '\n');
        next = nl != NULL ? nl + 1 : text + len;
        line_no++;
        json_error_t jerr;
        json_t *e = json_loadb(line, (size_t)(next - line), 0, &jerr);
        const char *etx = json_string_value(json_object_get(e, "repayTx"));
        if (etx == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                                  "%s: line %zu is not a sale (no repayTx)", journal, line_no);
        else if (strcasecmp(etx, tx) == 0 && *entry == NULL)
            *entry = json_incref(e);
        json_decref(e);
    }
    free(text);
    if (rc != CUSTOS_OK) {
        json_decref(*entry);
        *entry = NULL;
    }
    return rc;
}

/* The account of the book whose id is c->account: its index, in the parsed book. */
static custos_rc book_account(const at_book_ctx *c, const at_holdings *h, size_t *index,
                              custos_error *err)
{
    for (size_t i = 0; i < h->n_accounts; i++) {
        uint8_t id[CUSTOS_HASH_LEN];
        custos_account_id(h->custodian, h->accounts[i].ref, id);
        if (memcmp(id, c->account, CUSTOS_HASH_LEN) == 0) {
            *index = i;
            return CUSTOS_OK;
        }
    }
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    if (custos_hex_encode(c->account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
        hex[0] = '\0';
    return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: no account of custodian %s has id %s",
                            c->holdings_path, h->custodian, hex);
}

/* The account's object in the book's JSON. */
static json_t *book_account_json(json_t *doc, const char *ref)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "accounts"), i, a)
    {
        const char *r = json_string_value(json_object_get(a, "ref"));
        if (r != NULL && strcmp(r, ref) == 0)
            return a;
    }
    return NULL;
}

/* The fewest whole units (10^18 in 18 decimals) of a position of quantity q and value
 * value whose proceeds cover need (value > need), and their proceeds. */
static custos_rc book_part(const custos_u256 *need, const custos_u256 *q,
                           const custos_u256 *value, custos_u256 *qty, custos_u256 *proceeds)
{
    custos_u256 unit, one, x, t;
    custos_u256_from_u64(&one, 1);
    custos_u256_from_u64(&unit, 1000000000000000000u);
    custos_rc rc = custos_u256_mul_div(&x, need, q, value);
    /* x rounded up to a whole unit. */
    if (rc == CUSTOS_OK)
        rc = custos_u256_add(&t, &x, &unit);
    if (rc == CUSTOS_OK)
        rc = custos_u256_sub(&t, &t, &one);
    if (rc == CUSTOS_OK)
        rc = custos_u256_mul_div(qty, &t, &one, &unit);
    if (rc == CUSTOS_OK)
        rc = custos_u256_mul(qty, qty, &unit);
    for (int i = 0; rc == CUSTOS_OK && i < 2; i++) {
        if (custos_u256_cmp(qty, q) > 0)
            *qty = *q;
        rc = custos_u256_mul_div(proceeds, value, qty, q);
        /* x was floored: one more unit when the proceeds fall short of the need. */
        if (rc != CUSTOS_OK || custos_u256_cmp(proceeds, need) >= 0 || i == 1)
            break;
        rc = custos_u256_add(qty, qty, &unit);
    }
    return rc;
}

/* The sale: which positions, how much of each, the proceeds, and what is left, into entry. */
static custos_rc book_sell(const at_book_ctx *c, const at_account *acc, json_t *positions,
                           const custos_u256 *need_usd, uint64_t now, json_t *entry,
                           custos_error *err)
{
    at_prices prices;
    at_policy policy;
    at_valuation v;
    memset(&prices, 0, sizeof prices);
    memset(&policy, 0, sizeof policy);
    memset(&v, 0, sizeof v);
    custos_rc rc = CUSTOS_OK;
    if (acc->n_holdings > 0) {
        rc = at_prices_load(c->prices_path, &prices, err);
        if (rc == CUSTOS_OK)
            rc = at_policy_load(c->policy_path, &policy, err);
        if (rc == CUSTOS_OK)
            rc = at_valuation_compute(acc, &prices, &policy, now, &v, err);
    }
    custos_u256 need = *need_usd, total;
    custos_u256_from_u64(&total, 0);
    json_t *sold = json_array(), *left = json_array();
    for (size_t i = 0; rc == CUSTOS_OK && i < v.n_positions; i++) {
        json_t *pos = json_array_get(positions, i);
        const custos_position *p = &v.positions[i];
        if (custos_u256_is_zero(&need) || custos_u256_is_zero(&p->quantity)) {
            json_array_append_new(left, json_deep_copy(pos));
            continue;
        }
        custos_u256 qty = p->quantity, proceeds = p->value;
        if (custos_u256_cmp(&p->value, &need) > 0) {
            /* Part of it: the quantity whose value covers the need, in whole units. */
            rc = book_part(&need, &p->quantity, &p->value, &qty, &proceeds);
        }
        custos_u256 rest;
        if (rc == CUSTOS_OK)
            rc = custos_u256_sub(&rest, &p->quantity, &qty);
        if (rc == CUSTOS_OK)
            rc = custos_u256_add(&total, &total, &proceeds);
        if (rc == CUSTOS_OK && custos_u256_cmp(&proceeds, &need) >= 0)
            custos_u256_from_u64(&need, 0);
        else if (rc == CUSTOS_OK)
            rc = custos_u256_sub(&need, &need, &proceeds);
        if (rc != CUSTOS_OK)
            break;
        json_array_append_new(sold, json_pack("{s:s, s:O, s:o, s:o, s:o}", "asset", p->asset_id,
                                              "class", json_object_get(pos, "class"),
                                              "quantity", book_fixed(&qty), "priceUsd",
                                              book_fixed(&p->price), "proceedsUsd",
                                              book_fixed(&proceeds)));
        if (!custos_u256_is_zero(&rest)) {
            json_t *kept = json_deep_copy(pos);
            json_object_set_new(kept, "quantity", book_fixed(&rest));
            json_array_append_new(left, kept);
        }
    }
    if (rc == CUSTOS_OK) {
        json_object_set_new(entry, "sold", sold);
        json_object_set_new(entry, "proceedsUsd", book_fixed(&total));
        json_object_set_new(entry, "shortfallUsd", book_fixed(&need));
        json_object_set_new(entry, "remaining", left);
    } else {
        json_decref(sold);
        json_decref(left);
    }
    at_valuation_clear(&v);
    at_policy_free(&policy);
    at_prices_free(&prices);
    return rc;
}

/* Appends entry as one line, replacing the journal atomically. */
static custos_rc book_append(const char *journal, json_t *entry, custos_error *err)
{
    char *old = NULL;
    size_t old_len = 0;
    custos_rc rc = at_file_read(journal, BOOK_MAX_BYTES, &old, &old_len, err);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        rc = CUSTOS_OK;
    char *line = rc == CUSTOS_OK ? json_dumps(entry, JSON_COMPACT) : NULL;
    if (rc == CUSTOS_OK && line == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", journal);
    size_t line_len = line != NULL ? strlen(line) : 0;
    char *text = rc == CUSTOS_OK ? malloc(old_len + line_len + 2) : NULL;
    if (rc == CUSTOS_OK && text == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", journal);
    if (rc == CUSTOS_OK) {
        size_t n = old_len;
        if (n > 0)
            memcpy(text, old, n);
        if (n > 0 && text[n - 1] != '\n')
            text[n++] = '\n';
        memcpy(text + n, line, line_len);
        n += line_len;
        text[n++] = '\n';
        rc = at_file_write_atomic(journal, text, n, 0644, err);
    }
    free(text);
    free(line);
    free(old);
    return rc;
}

/* Sets the account's positions in the book to the entry's remaining ones. */
static custos_rc book_apply(const at_book_ctx *c, json_t *entry, custos_error *err)
{
    const char *ref = json_string_value(json_object_get(entry, "ref"));
    json_t *remaining = json_object_get(entry, "remaining");
    if (ref == NULL || !json_is_array(remaining))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: a sale without ref or remaining",
                                c->journal_path);
    char *text = NULL;
    size_t len = 0;
    custos_rc rc = at_file_read(c->holdings_path, BOOK_MAX_BYTES, &text, &len, err);
    json_error_t jerr;
    json_t *doc = rc == CUSTOS_OK ? json_loadb(text, len, 0, &jerr) : NULL;
    free(text);
    json_t *acc = doc != NULL ? book_account_json(doc, ref) : NULL;
    if (rc == CUSTOS_OK && acc == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: no account %s", c->holdings_path,
                              ref);
    char *out = NULL;
    if (rc == CUSTOS_OK) {
        json_object_set_new(acc, "positions", json_deep_copy(remaining));
        out = json_dumps(doc, JSON_INDENT(2));
        if (out == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory",
                                  c->holdings_path);
    }
    if (rc == CUSTOS_OK)
        rc = at_file_write_atomic(c->holdings_path, out, strlen(out), 0644, err);
    free(out);
    json_decref(doc);
    return rc;
}

/* A new journal entry for the repay g, from the book as it is now. */
static custos_rc book_new_entry(const at_book_ctx *c, const at_liq_log *g, const char *tx,
                                uint64_t now, json_t **out, custos_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    at_holdings h;
    memset(&h, 0, sizeof h);
    custos_rc rc = at_file_read(c->holdings_path, BOOK_MAX_BYTES, &text, &len, err);
    if (rc == CUSTOS_OK)
        rc = at_holdings_parse(c->holdings_path, text, len, &h, err);
    json_error_t jerr;
    json_t *doc = rc == CUSTOS_OK ? json_loadb(text, len, 0, &jerr) : NULL;
    free(text);
    size_t index = 0;
    if (rc == CUSTOS_OK)
        rc = book_account(c, &h, &index, err);
    const at_account *acc = rc == CUSTOS_OK ? &h.accounts[index] : NULL;
    json_t *acc_json = acc != NULL ? book_account_json(doc, acc->ref) : NULL;
    if (rc == CUSTOS_OK && acc_json == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID, "%s: no account %s", c->holdings_path,
                              acc->ref);
    /* What the repay took, in USD: the repaid assets at the loan token's price. */
    custos_u256 repaid_usd;
    if (rc == CUSTOS_OK)
        rc = custos_u256_mul_div(&repaid_usd, &g->repaid_assets, c->loan_price_usd,
                                 c->loan_scale);
    char account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], lender[CUSTOS_ADDRESS_HEX_LEN];
    if (rc == CUSTOS_OK)
        rc = custos_hex_encode(c->account, CUSTOS_HASH_LEN, account, sizeof account);
    custos_address_to_hex(c->lender, lender);
    json_t *entry = NULL;
    if (rc == CUSTOS_OK) {
        entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "recordedAt",
                          (json_int_t)now, "custodian", h.custodian, "ref", acc->ref,
                          "account", account, "lender", lender, "repayTx", tx, "block",
                          (json_int_t)g->repay_block, "repaidAssets",
                          book_dec(&g->repaid_assets), "repaidUsd", book_fixed(&repaid_usd));
        if (entry == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "sales journal: out of memory");
    }
    if (rc == CUSTOS_OK)
        rc = book_sell(c, acc, json_object_get(acc_json, "positions"), &repaid_usd, now, entry,
                       err);
    json_decref(doc);
    at_holdings_free(&h);
    if (rc != CUSTOS_OK) {
        json_decref(entry);
        return rc;
    }
    *out = entry;
    return CUSTOS_OK;
}

custos_rc at_book_record_sale(const at_book_ctx *c, const at_liq_log *g, uint64_t now,
                              custos_error *err)
{
    char tx[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    custos_rc rc = custos_hex_encode(g->repay_hash, CUSTOS_HASH_LEN, tx, sizeof tx);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "sales journal: hash");
    /* The book is read, changed and written under its lock: the attestor reads it too. */
    int lock = -1;
    rc = at_file_lock(c->holdings_path, &lock, err);
    json_t *entry = NULL;
    if (rc == CUSTOS_OK)
        rc = book_find_entry(c->journal_path, tx, &entry, err);
    if (rc == CUSTOS_OK && entry == NULL) {
        rc = book_new_entry(c, g, tx, now, &entry, err);
        if (rc == CUSTOS_OK)
            rc = book_append(c->journal_path, entry, err);
    }
    if (rc == CUSTOS_OK)
        rc = book_apply(c, entry, err);
    json_decref(entry);
    if (lock >= 0)
        at_file_unlock(lock);
    return rc;
}
