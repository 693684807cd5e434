#include "prices.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fileio.h"
#include "jsonin.h"

/* Observation times before 2000 or past 2200 are typing errors, not prices. */
#define AT_PRICE_TIME_MIN 946684800ull
#define AT_PRICE_TIME_MAX 7258118400ull

/* An optional decimal member below `limit` (a whole number; 0: no bound); *has says if it
 * was there. */
static custos_rc decimal_member(const char *file, const char *path, const json_t *v,
                                const char *key, uint64_t limit, bool zero_ok, bool *has,
                                custos_u256 *out, custos_error *err)
{
    json_t *m = json_object_get(v, key);
    *has = m != NULL;
    if (m == NULL)
        return CUSTOS_OK;
    char p[AT_JPATH_MAX];
    at_jpath_key(p, path, key);
    custos_rc rc = at_json_decimal(file, p, m, out, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_u256 bound, unit;
    custos_u256_from_u64(&bound, limit);
    custos_u256_from_u64(&unit, 1000000000000000000ull);
    if (custos_u256_mul(&bound, &bound, &unit) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "%s: bound overflows", p);
    if (!zero_ok && custos_u256_is_zero(out))
        return at_json_fail(err, file, p, "zero: a position cannot be valued at nothing");
    if (limit != 0 && custos_u256_cmp(out, &bound) >= 0)
        return at_json_fail(err, file, p, "must be below %llu", (unsigned long long)limit);
    return CUSTOS_OK;
}

static custos_rc parse_price(const char *file, const char *path, const char *asset,
                             const json_t *v, at_price *out, custos_error *err)
{
    static const char *const keys[] = {"price",       "discount_yield", "index_ratio",
                                       "accrual_rate", "as_of",         NULL};
    char p[AT_JPATH_MAX] = "";
    json_t *m;
    size_t len = strlen(asset);
    if (len == 0 || len > CUSTOS_ASSET_ID_MAX)
        return at_json_fail(err, file, path, "an instrument id has 1 to %d characters",
                            CUSTOS_ASSET_ID_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)asset[i] <= ' ' || (unsigned char)asset[i] >= 0x7f)
            return at_json_fail(err, file, path,
                                "an instrument id is printable ASCII without blanks");
    strcpy(out->asset, asset);
    custos_rc rc = at_json_expect_object(file, path, v, err);
    if (rc == CUSTOS_OK)
        rc = at_json_only_keys(file, path, v, keys, err);
    if (rc != CUSTOS_OK)
        return rc;
    json_t *price = json_object_get(v, "price"), *yield = json_object_get(v, "discount_yield");
    if ((price == NULL) == (yield == NULL)) {
        at_jpath_key(p, path, "price");
        return at_json_fail(err, file, p, "give price or discount_yield (bills), %s",
                            price == NULL ? "one of them" : "not both");
    }
    out->kind = price != NULL ? AT_QUOTE_PRICE : AT_QUOTE_DISCOUNT_YIELD;
    bool has;
    /* A discount yield of 0 is a price of par; a yield of 100% or more prices nothing. */
    rc = price != NULL ? decimal_member(file, path, v, "price", 0, false, &has, &out->price, err)
                       : decimal_member(file, path, v, "discount_yield", 100, true, &has,
                                        &out->price, err);
    /* Index ratios lie near 1 (1.3 after decades of inflation): 10 is a typing error. */
    if (rc == CUSTOS_OK)
        rc = decimal_member(file, path, v, "index_ratio", 10, false, &out->has_index_ratio,
                            &out->index_ratio, err);
    if (rc == CUSTOS_OK)
        rc = decimal_member(file, path, v, "accrual_rate", 100, true, &out->has_accrual_rate,
                            &out->accrual_rate, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, path, v, "as_of", &m, err);
    if (rc == CUSTOS_OK) {
        at_jpath_key(p, path, "as_of");
        rc = at_json_uint(file, p, m, AT_PRICE_TIME_MIN, AT_PRICE_TIME_MAX, &out->as_of, err);
    }
    return rc;
}

static custos_rc parse_document(const char *file, const json_t *root, at_prices *out,
                                custos_error *err)
{
    static const char *const keys[] = {"prices", NULL};
    json_t *m;
    custos_rc rc = at_json_only_keys(file, "", root, keys, err);
    if (rc == CUSTOS_OK)
        rc = at_json_member(file, "", root, "prices", &m, err);
    if (rc == CUSTOS_OK)
        rc = at_json_expect_object(file, "prices", m, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t n = json_object_size(m);
    if (n == 0)
        return at_json_fail(err, file, "prices", "no prices");
    out->items = calloc(n, sizeof *out->items);
    if (out->items == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "%s: out of memory", file);
    const char *asset;
    json_t *v;
    json_object_foreach(m, asset, v) {
        char p[AT_JPATH_MAX];
        at_jpath_key(p, "prices", asset);
        rc = parse_price(file, p, asset, v, &out->items[out->n], err);
        if (rc != CUSTOS_OK)
            return rc;
        out->n++;
    }
    return CUSTOS_OK;
}

custos_rc at_prices_parse(const char *file, const char *text, size_t len, at_prices *out,
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
        at_prices_free(out);
    return rc;
}

custos_rc at_prices_load(const char *path, at_prices *out, custos_error *err)
{
    char *text;
    size_t len;
    memset(out, 0, sizeof *out);
    custos_rc rc = at_file_read(path, AT_INPUT_MAX_BYTES, &text, &len, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = at_prices_parse(path, text, len, out, err);
    free(text);
    return rc;
}

void at_prices_free(at_prices *p)
{
    free(p->items);
    memset(p, 0, sizeof *p);
}

const at_price *at_prices_find(const at_prices *p, const char *asset)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->items[i].asset, asset) == 0)
            return &p->items[i];
    return NULL;
}
