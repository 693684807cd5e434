#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/hex.h"
#include "custos/u256.h"

const clopt at_report_options[] = {
    {"json", NULL, CLOPT_FLAG, offsetof(at_report_opts, json),
     "print the result as one JSON object on stdout (errors stay on stderr)"},
    {0}};

bool at_report_open(at_report *r, FILE *out, bool json)
{
    r->out = out;
    r->json = json ? json_object() : NULL;
    return !json || r->json != NULL;
}

int at_report_close(at_report *r, int status)
{
    if (r->json == NULL)
        return status;
    int rc = json_dumpf(r->json, r->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(r->json);
    r->json = NULL;
    if (rc != 0 || fputc('\n', r->out) == EOF || fflush(r->out) != 0)
        return status != 0 ? status : 1;
    return status;
}

void at_report_member(at_report *r, const char *key, json_t *value)
{
    if (r->json == NULL || value == NULL) {
        json_decref(value);
        return;
    }
    /* A failed set has nothing to report it to: the object then lacks the member. */
    (void)json_object_set_new(r->json, key, value);
}

void at_report_line(at_report *r, const char *label, const char *key, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (r->json == NULL)
        fprintf(r->out, "%-12s %s\n", label, text);
    else if (key != NULL)
        at_report_member(r, key, json_string(text));
}

static void time_iso(uint64_t t, char iso[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
        strftime(iso, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(iso, 32, "out of range");
}

static void report_time(at_report *r, const char *label, const char *key, uint64_t t)
{
    char iso[32];
    time_iso(t, iso);
    if (r->json == NULL)
        fprintf(r->out, "%-12s %llu (%s)\n", label, (unsigned long long)t, iso);
    else
        at_report_member(r, key, json_integer((json_int_t)t));
}

static void report_usd(at_report *r, const char *label, const char *key, const custos_u256 *v)
{
    char text[CUSTOS_U256_DEC_MAX];
    if (custos_fixed_format(v, CUSTOS_MONEY_DECIMALS, text, sizeof text) != CUSTOS_OK)
        snprintf(text, sizeof text, "?");
    /* Decimal text in JSON too: a double cannot carry 18 decimals of money. */
    if (r->json == NULL)
        fprintf(r->out, "%-12s %s USD\n", label, text);
    else
        at_report_member(r, key, json_string(text));
}

static void report_hex(at_report *r, const char *label, const char *key, const uint8_t *data,
                       size_t len)
{
    char hex[2 + 2 * 32 + 1];
    if (len > 32 || custos_hex_encode(data, len, hex, sizeof hex) != CUSTOS_OK)
        snprintf(hex, sizeof hex, "?");
    at_report_line(r, label, key, "%s", hex);
}

static void report_uint(at_report *r, const char *label, const char *key, uint64_t v)
{
    if (r->json == NULL)
        fprintf(r->out, "%-12s %llu\n", label, (unsigned long long)v);
    else
        at_report_member(r, key, json_integer((json_int_t)v));
}

void at_report_attestation(at_report *r, const custos_submission *s,
                           const uint8_t digest[CUSTOS_HASH_LEN])
{
    report_hex(r, "account", "account", s->att.account, CUSTOS_HASH_LEN);
    at_report_line(r, "feed", "feed", "%s", s->feed);
    report_uint(r, "sequence", "sequence", s->att.sequence);
    report_usd(r, "gross", "grossUsd", &s->att.gross_value);
    report_usd(r, "collateral", "collateralUsd", &s->att.collateral_value);
    report_time(r, "as of", "asOf", s->att.as_of);
    report_time(r, "valid until", "validUntil", s->att.valid_until);
    report_uint(r, "positions", "positions", s->n_positions);
    report_hex(r, "digest", "digest", digest, CUSTOS_HASH_LEN);
    report_uint(r, "signatures", "signatures", s->n_sigs);
}

/* Appends {k1: v1, k2: v2, k3: v3} (k3 NULL: two members) to the array member key. */
static void json_push(at_report *r, const char *key, const char *k1, const char *v1,
                      const char *k2, const char *v2, const char *k3, const char *v3)
{
    json_t *arr = json_object_get(r->json, key);
    if (arr == NULL) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(r->json, key, arr) != 0)
            return;
    }
    json_t *o = json_pack("{s:s, s:s}", k1, v1, k2, v2);
    if (o != NULL && k3 != NULL)
        (void)json_object_set_new(o, k3, json_string(v3));
    if (o != NULL)
        (void)json_array_append_new(arr, o);
}

void at_report_positions(at_report *r, const custos_submission *s,
                         const at_position_detail *details)
{
    for (size_t i = 0; i < s->n_positions; i++) {
        const at_position_detail *d = &details[i];
        if (!d->dated)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = details[j].dated && details[j].trade_date == d->trade_date;
        if (seen)
            continue;
        char trade[CUSTOS_ISO_DATE_LEN], settle[CUSTOS_ISO_DATE_LEN];
        custos_day_format(d->trade_date, trade);
        custos_day_format(d->settlement, settle);
        if (r->json == NULL)
            fprintf(r->out, "%-12s %s (T+1 of prices dated %s, New York)\n", "settlement",
                    settle, trade);
        else
            json_push(r, "settlements", "settlement", settle, "pricesDated", trade, NULL, NULL);
    }
    for (size_t i = 0; i < s->n_positions; i++) {
        const at_position_detail *d = &details[i];
        if (!d->dated || (custos_u256_is_zero(&d->accrued) && !d->redeemed))
            continue;
        char text[CUSTOS_U256_DEC_MAX], settle[CUSTOS_ISO_DATE_LEN];
        if (custos_fixed_format(&d->accrued, CUSTOS_MONEY_DECIMALS, text, sizeof text) !=
            CUSTOS_OK)
            snprintf(text, sizeof text, "?");
        custos_day_format(d->settlement, settle);
        const char *asset = s->positions[i].asset_id;
        if (r->json != NULL) {
            json_push(r, d->redeemed ? "redemptions" : "accrued", "asset", asset, "settlement",
                      settle, d->redeemed ? "finalCouponUsd" : "accruedUsd", text);
            continue;
        }
        /* A position maturing before it can settle counts as its redemption: the custodian
         * should see it go. */
        if (d->redeemed && custos_u256_is_zero(&d->accrued))
            fprintf(r->out, "%-12s %s: matures by its settlement date %s, valued at par\n",
                    "redemption", asset, settle);
        else if (d->redeemed)
            fprintf(r->out, "%-12s %s: matures by its settlement date %s, valued at par plus "
                    "its final coupon %s USD\n", "redemption", asset, settle, text);
        else
            fprintf(r->out, "%-12s %s: %s USD to %s\n", "accrued", asset, text, settle);
    }
}

void at_report_prices(at_report *r, const at_price_fetch *f, const at_price_report *pr)
{
    if (f->n == 0)
        return;
    size_t answered = 0;
    for (size_t i = 0; i < f->n; i++)
        answered += f->answered[i];
    if (r->json == NULL) {
        fprintf(r->out, "%-12s %zu of %zu answered\n", "sources", answered, f->n);
        for (size_t i = 0; i < f->n; i++)
            if (!f->answered[i])
                fprintf(r->out, "%-12s %s\n", "unavailable", f->failure[i]);
        for (size_t i = 0; i < pr->n_drops; i++)
            fprintf(r->out, "%-12s %s (%s): %s\n", "dropped", pr->drops[i].asset,
                    at_drop_reason_name(pr->drops[i].reason), pr->drops[i].detail);
        return;
    }
    json_t *unavailable = json_array(), *dropped = json_array();
    for (size_t i = 0; unavailable != NULL && i < f->n; i++)
        if (!f->answered[i])
            (void)json_array_append_new(unavailable, json_string(f->failure[i]));
    for (size_t i = 0; dropped != NULL && i < pr->n_drops; i++)
        (void)json_array_append_new(
            dropped, json_pack("{s:s, s:s, s:s}", "asset", pr->drops[i].asset, "reason",
                               at_drop_reason_name(pr->drops[i].reason), "detail",
                               pr->drops[i].detail));
    at_report_member(r, "sources",
                     json_pack("{s:I, s:I, s:o*, s:o*}", "answered", (json_int_t)answered,
                               "total", (json_int_t)f->n, "unavailable", unavailable,
                               "dropped", dropped));
}

void at_report_refusal(at_report *r, const custos_error *err)
{
    if (r->json == NULL)
        fprintf(r->out, "%-12s REFUSED %s: %s\n", "gateway", custos_reason_name(err->reason),
                err->message);
    else
        at_report_member(r, "gateway",
                         json_pack("{s:s, s:s, s:s}", "state", "REFUSED", "reason",
                                   custos_reason_name(err->reason), "message", err->message));
}

void at_report_unavailable(at_report *r, const custos_error *err)
{
    if (r->json != NULL)
        at_report_member(r, "gateway",
                         json_pack("{s:s, s:s, s:s}", "state", "UNAVAILABLE", "reason",
                                   custos_reason_name(err->reason), "message", err->message));
}

void at_report_answer(at_report *r, const custos_submit_result *res)
{
    const char *state = res->state == CUSTOS_STATE_ACCEPTED  ? "ACCEPTED"
                        : res->state == CUSTOS_STATE_PENDING ? "PENDING"
                        : res->state == CUSTOS_STATE_HELD    ? "HELD"
                                                             : "UNSPECIFIED";
    if (r->json != NULL) {
        json_t *g = json_pack("{s:s, s:I, s:I, s:b}", "state", state, "signatures",
                              (json_int_t)res->signatures, "threshold",
                              (json_int_t)res->threshold, "duplicate", res->duplicate);
        if (g != NULL && res->state == CUSTOS_STATE_ACCEPTED)
            (void)json_object_set_new(g, "cursor", json_integer((json_int_t)res->cursor));
        at_report_member(r, "gateway", g);
        return;
    }
    fprintf(r->out, "%-12s %s %u/%u signatures", "gateway", state, res->signatures,
            res->threshold);
    if (res->state == CUSTOS_STATE_ACCEPTED)
        fprintf(r->out, ", cursor %llu", (unsigned long long)res->cursor);
    if (res->duplicate)
        fprintf(r->out, " (already known)");
    fputc('\n', r->out);
}
