#include "holdings.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/sig.h"
#include "jsonin.h"
#include "fileio.h"

static custos_rc parse_beneficiary(const char *file, const char *path, const json_t *v,
                                   uint8_t out[CUSTOS_ADDRESS_LEN], custos_error *err)
{
    const char *s;
    custos_rc rc = at_json_text(file, path, v, CUSTOS_ADDRESS_HEX_LEN, false, &s, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* "0x0" is the customary spelling of the zero address: the account is not pledged. */
    if (strcmp(s, "0x0") == 0) {
        memset(out, 0, CUSTOS_ADDRESS_LEN);
        return CUSTOS_OK;
    }
    custos_error aerr;
    if (custos_address_from_hex(s, out, &aerr) != CUSTOS_OK)
        return at_json_fail(err, file, path, "not an Ethereum address: '%.44s' (%s)", s,
                            aerr.message);
    return CUSTOS_OK;
}

/* An unknown class is kept, to be refused by the valuation with the position named. */
static at_instrument instrument_of(const char *cls)
{
    static const struct {
        const char *name;
        at_instrument kind;
    } kinds[] = {{"bill", AT_BILL}, {"note", AT_NOTE}, {"bond", AT_BOND},
                 {"tips", AT_TIPS}, {"frn", AT_FRN},   {"mmf", AT_MMF}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(cls, kinds[i].name) == 0)
            return kinds[i].kind;
    return AT_UNKNOWN;
}

/* An optional ISO date member; *has says whether it was there. */
static custos_rc date_member(const char *file, const char *path, const json_t *v,
                             const char *key, bool *has, custos_day *out, custos_error *err)
{
    char p[AT_JPATH_MAX];
    json_t *m = json_object_get(v, key);
    *has = m != NULL;
    if (m == NULL)
        return CUSTOS_OK;
    at_jpath_key(p, path, key);
    const char *s;
    custos_rc rc = at_json_text(file, p, m, 10, false, &s, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_error derr;
    if (custos_day_parse(s, strlen(s), out, &derr) != CUSTOS_OK)
        return at_json_fail(err, file, p, "%s", derr.message);
    return CUSTOS_OK;
}

/* Whether a member is required (1), refused (-1) or optional (0) for the class. */
typedef struct term_rule {
    const char *key;
    int bill, note, tips, frn, mmf;
    const char *why_refused;
} term_rule;

static const term_rule TERMS[] = {
    {"coupon", -1, 1, 1, -1, -1, "has no fixed coupon"},
    {"maturity", 1, 1, 1, 1, -1, "has no maturity"},
    {"dated_date", -1, 0, 0, 0, -1, "has no coupon period"},
    {"first_coupon", -1, 0, 0, 0, -1, "has no coupon period"},
};

static int term_need(const term_rule *r, at_instrument kind)
{
    switch (kind) {
    case AT_BILL: return r->bill;
    case AT_NOTE:
    case AT_BOND: return r->note;
    case AT_TIPS: return r->tips;
    case AT_FRN: return r->frn;
    case AT_MMF: return r->mmf;
    case AT_UNKNOWN: return 0;
    }
    return 0;
}

/* The class's terms: "coupon", "maturity", "dated_date", "first_coupon" as TERMS says. */
static custos_rc parse_terms(const char *file, const char *path, const json_t *v,
                             at_holding *h, custos_error *err)
{
    char p[AT_JPATH_MAX];
    for (size_t i = 0; i < sizeof TERMS / sizeof TERMS[0]; i++) {
        int need = term_need(&TERMS[i], h->instrument);
        bool present = json_object_get(v, TERMS[i].key) != NULL;
        at_jpath_key(p, path, TERMS[i].key);
        if (need > 0 && !present)
            return at_json_fail(err, file, p, "missing: a %s needs it", h->asset_class);
        if (need < 0 && present)
            return at_json_fail(err, file, p, "a %s %s", h->asset_class, TERMS[i].why_refused);
    }
    json_t *coupon = json_object_get(v, "coupon");
    if (coupon != NULL) {
        at_jpath_key(p, path, "coupon");
        custos_rc rc = at_json_decimal(file, p, coupon, &h->coupon, err);
        if (rc != CUSTOS_OK)
            return rc;
        custos_u256 hundred;
        custos_error herr;
        if (custos_fixed_parse(&hundred, "100", 3, CUSTOS_MONEY_DECIMALS, &herr) != CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL, "%s", herr.message);
        if (custos_u256_cmp(&h->coupon, &hundred) >= 0)
            return at_json_fail(err, file, p, "a coupon rate is a percentage below 100");
    }
    custos_rc rc = date_member(file, path, v, "maturity", &h->has_maturity, &h->maturity, err);
    if (rc == CUSTOS_OK)
        rc = date_member(file, path, v, "dated_date", &h->has_dated_date, &h->dated_date, err);
    if (rc == CUSTOS_OK)
        rc = date_member(file, path, v, "first_coupon", &h->has_first_coupon, &h->first_coupon,
                         err);
    if (rc != CUSTOS_OK)
        return rc;
    if (h->has_dated_date && h->has_maturity && h->dated_date >= h->maturity) {
        at_jpath_key(p, path, "dated_date");
        return at_json_fail(err, file, p, "not before the maturity");
    }
    if (h->has_first_coupon && h->has_maturity && h->first_coupon > h->maturity) {
        at_jpath_key(p, path, "first_coupon");
        return at_json_fail(err, file, p, "after the maturity");
    }
    if (h->has_first_coupon && h->has_dated_date && h->first_coupon <= h->dated_date) {
        at_jpath_key(p, path, "first_coupon");
        return at_json_fail(err, file, p, "not after the dated_date");
    }
    return CUSTOS_OK;
}

static custos_rc parse_position(const char *file, const char *path, const json_t *v,
                                at_holding *h, custos_error *err)
{
    static const char *const keys[] = {"asset",      "class",        "quantity", "coupon",
                                       "maturity",   "dated_date",   "first_coupon", NULL};
    char p[AT_JPATH_MAX];
    json_t *m;
    const char *s;
    custos_rc rc = at_json_expect_object(file, path, v, err);
    if (rc == CUSTOS_OK)
        rc = at_json_only_keys(file, path, v, keys, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, path, v, "asset", &m, err);
    if (rc == CUSTOS_OK) {
        at_jpath_key(p, path, "asset");
        rc = at_json_text(file, p, m, CUSTOS_ASSET_ID_MAX, false, &s, err);
    }
    if (rc == CUSTOS_OK) {
        strcpy(h->asset, s);
        rc = at_json_member(file, path, v, "class", &m, err);
    }
    if (rc == CUSTOS_OK) {
        at_jpath_key(p, path, "class");
        rc = at_json_text(file, p, m, AT_CLASS_MAX, false, &s, err);
    }
    if (rc == CUSTOS_OK) {
        strcpy(h->asset_class, s);
        h->instrument = instrument_of(s);
    }
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, path, v, "quantity", &m, err);
    if (rc == CUSTOS_OK) {
        at_jpath_key(p, path, "quantity");
        rc = at_json_decimal(file, p, m, &h->quantity, err);
    }
    if (rc == CUSTOS_OK)
        rc = parse_terms(file, path, v, h, err);
    return rc;
}

static custos_rc parse_account(const char *file, const char *path, const json_t *v,
                               at_account *a, custos_error *err)
{
    static const char *const keys[] = {"ref", "beneficiary", "positions", NULL};
    char p[AT_JPATH_MAX];
    json_t *m;
    const char *s;
    custos_rc rc = at_json_expect_object(file, path, v, err);
    if (rc == CUSTOS_OK)
        rc = at_json_only_keys(file, path, v, keys, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, path, v, "ref", &m, err);
    if (rc == CUSTOS_OK) {
        at_jpath_key(p, path, "ref");
        rc = at_json_text(file, p, m, AT_REF_MAX, true, &s, err);
    }
    if (rc == CUSTOS_OK) {
        strcpy(a->ref, s);
        rc = at_json_member(file, path, v, "beneficiary", &m, err);
    }
    if (rc == CUSTOS_OK) {
        at_jpath_key(p, path, "beneficiary");
        rc = parse_beneficiary(file, p, m, a->beneficiary, err);
    }
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, path, v, "positions", &m, err);
    if (rc != CUSTOS_OK)
        return rc;
    char ppath[AT_JPATH_MAX];
    at_jpath_key(ppath, path, "positions");
    rc = at_json_expect_array(file, ppath, m, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* An account may hold nothing (everything sold in a liquidation, docs/custodian.md
     * §15, or moved out): it is valued at 0 like any other, and its neighbours in the book
     * are valued as ever. */
    size_t n = json_array_size(m);
    if (n == 0)
        return CUSTOS_OK;
    if (n > CUSTOS_MAX_POSITIONS)
        return at_json_fail(err, file, ppath, "%zu positions, over the limit of %d", n,
                            CUSTOS_MAX_POSITIONS);
    a->holdings = calloc(n, sizeof *a->holdings);
    if (a->holdings == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < n; i++) {
        at_jpath_index(p, ppath, i);
        rc = parse_position(file, p, json_array_get(m, i), &a->holdings[i], err);
        if (rc != CUSTOS_OK)
            return rc;
        a->n_holdings = i + 1;
        /* One leaf per instrument: a repeated asset is a ledger export error, not a sum. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->holdings[j].asset, a->holdings[i].asset) == 0) {
                char q[AT_JPATH_MAX];
                at_jpath_key(q, p, "asset");
                return at_json_fail(err, file, q, "'%s' already listed at %s[%zu]",
                                    a->holdings[i].asset, ppath, j);
            }
    }
    return CUSTOS_OK;
}

/* An account's ref with its place in the file, sorted by ref, then place. */
typedef struct holdings_ref {
    const char *ref;
    size_t index;
} holdings_ref;

static int holdings_ref_cmp(const void *a, const void *b)
{
    const holdings_ref *x = a, *y = b;
    int c = strcmp(x->ref, y->ref);
    if (c != 0)
        return c;
    return (x->index > y->index) - (x->index < y->index);
}

/* Refuses a ref used twice among the first n accounts, naming the earliest account that
 * repeats one and that ref's first use; sorted, so a book of 100,000 accounts is not
 * compared pair by pair. */
static custos_rc holdings_unique_refs(const char *file, const at_holdings *h, size_t n,
                                      custos_error *err)
{
    if (n < 2)
        return CUSTOS_OK;
    holdings_ref *refs = malloc(n * sizeof *refs);
    if (refs == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < n; i++)
        refs[i] = (holdings_ref){h->accounts[i].ref, i};
    qsort(refs, n, sizeof *refs, holdings_ref_cmp);
    size_t again = SIZE_MAX, first = 0;
    for (size_t k = 1; k < n; k++)
        if (strcmp(refs[k].ref, refs[k - 1].ref) == 0 &&
            (k < 2 || strcmp(refs[k - 1].ref, refs[k - 2].ref) != 0) &&
            refs[k].index < again) {
            again = refs[k].index;
            first = refs[k - 1].index;
        }
    free(refs);
    if (again == SIZE_MAX)
        return CUSTOS_OK;
    char p[AT_JPATH_MAX], q[AT_JPATH_MAX];
    at_jpath_index(p, "accounts", again);
    at_jpath_key(q, p, "ref");
    return at_json_fail(err, file, q, "'%s' already used by accounts[%zu]",
                        h->accounts[again].ref, first);
}

static custos_rc parse_document(const char *file, const json_t *root, at_holdings *h,
                                custos_error *err)
{
    static const char *const keys[] = {"custodian", "accounts", NULL};
    json_t *m;
    const char *s;
    custos_rc rc = at_json_only_keys(file, "", root, keys, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, "", root, "custodian", &m, err);
    if (rc == CUSTOS_OK)
        rc = at_json_text(file, "custodian", m, AT_CUSTODIAN_MAX, true, &s, err);
    if (rc == CUSTOS_OK) {
        strcpy(h->custodian, s);
        rc = at_json_member(file, "", root, "accounts", &m, err);
    }
    if (rc == CUSTOS_OK)
        rc = at_json_expect_array(file, "accounts", m, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t n = json_array_size(m);
    if (n == 0)
        return at_json_fail(err, file, "accounts", "no accounts");
    h->accounts = calloc(n, sizeof *h->accounts);
    if (h->accounts == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
        char p[AT_JPATH_MAX];
        at_jpath_index(p, "accounts", i);
        rc = parse_account(file, p, json_array_get(m, i), &h->accounts[i], err);
        h->n_accounts = i + 1;
    }
    /* A ref used twice before the first account that did not parse is the error a reader
     * going through the file meets first. */
    size_t parsed = rc == CUSTOS_OK ? h->n_accounts : h->n_accounts - 1;
    custos_error dup;
    custos_error_clear(&dup);
    custos_rc drc = holdings_unique_refs(file, h, parsed, &dup);
    if (drc != CUSTOS_OK) {
        *err = dup;
        return drc;
    }
    return rc;
}

custos_rc at_holdings_parse(const char *file, const char *text, size_t len, at_holdings *out,
                            custos_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root;
    custos_rc rc = at_json_parse(file, text, len, &root, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = parse_document(file, root, out, err);
    json_decref(root);
    if (rc != CUSTOS_OK)
        at_holdings_free(out);
    return rc;
}

custos_rc at_holdings_load(const char *path, at_holdings *out, custos_error *err)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    custos_rc rc = at_file_read(path, AT_HOLDINGS_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_holdings_parse(path, text, len, out, err);
    free(text);
    return rc;
}

void at_holdings_free(at_holdings *h)
{
    for (size_t i = 0; i < h->n_accounts; i++)
        free(h->accounts[i].holdings);
    free(h->accounts);
    memset(h, 0, sizeof *h);
}

const at_account *at_holdings_find(const at_holdings *h, const char *ref)
{
    for (size_t i = 0; i < h->n_accounts; i++)
        if (strcmp(h->accounts[i].ref, ref) == 0)
            return &h->accounts[i];
    return NULL;
}
