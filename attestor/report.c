#include "report.h"

#include <time.h>

#include "custos/hex.h"
#include "custos/u256.h"

static void print_time(FILE *out, const char *label, uint64_t t)
{
    char iso[32];
    struct tm tm;
    time_t tt = (time_t)t;
    if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL ||
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(iso, sizeof iso, "out of range");
    fprintf(out, "%-12s %llu (%s)\n", label, (unsigned long long)t, iso);
}

static void print_usd(FILE *out, const char *label, const custos_u256 *v)
{
    char text[CUSTOS_U256_DEC_MAX];
    if (custos_fixed_format(v, CUSTOS_MONEY_DECIMALS, text, sizeof text) != CUSTOS_OK)
        snprintf(text, sizeof text, "?");
    fprintf(out, "%-12s %s USD\n", label, text);
}

static void print_hex(FILE *out, const char *label, const uint8_t *data, size_t len)
{
    char hex[2 + 2 * 32 + 1];
    if (len > 32 || custos_hex_encode(data, len, hex, sizeof hex) != CUSTOS_OK)
        snprintf(hex, sizeof hex, "?");
    fprintf(out, "%-12s %s\n", label, hex);
}

void at_report_attestation(FILE *out, const custos_submission *s,
                           const uint8_t digest[CUSTOS_HASH_LEN])
{
    print_hex(out, "account", s->att.account, CUSTOS_HASH_LEN);
    fprintf(out, "%-12s %s\n", "feed", s->feed);
    fprintf(out, "%-12s %llu\n", "sequence", (unsigned long long)s->att.sequence);
    print_usd(out, "gross", &s->att.gross_value);
    print_usd(out, "collateral", &s->att.collateral_value);
    print_time(out, "as of", s->att.as_of);
    print_time(out, "valid until", s->att.valid_until);
    fprintf(out, "%-12s %zu\n", "positions", s->n_positions);
    print_hex(out, "digest", digest, CUSTOS_HASH_LEN);
    fprintf(out, "%-12s %zu\n", "signatures", s->n_sigs);
}

void at_report_positions(FILE *out, const custos_submission *s,
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
        fprintf(out, "%-12s %s (T+1 of prices dated %s, New York)\n", "settlement", settle,
                trade);
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
        /* A position maturing before it can settle counts as its redemption: the custodian
         * should see it go. */
        if (d->redeemed && custos_u256_is_zero(&d->accrued))
            fprintf(out, "%-12s %s: matures by its settlement date %s, valued at par\n",
                    "redemption", s->positions[i].asset_id, settle);
        else if (d->redeemed)
            fprintf(out, "%-12s %s: matures by its settlement date %s, valued at par plus its "
                    "final coupon %s USD\n", "redemption", s->positions[i].asset_id, settle,
                    text);
        else
            fprintf(out, "%-12s %s: %s USD to %s\n", "accrued", s->positions[i].asset_id, text,
                    settle);
    }
}

void at_report_prices(FILE *out, const at_price_fetch *f, const at_price_report *r)
{
    if (f->n == 0)
        return;
    size_t answered = 0;
    for (size_t i = 0; i < f->n; i++)
        answered += f->answered[i];
    fprintf(out, "%-12s %zu of %zu answered\n", "sources", answered, f->n);
    for (size_t i = 0; i < f->n; i++)
        if (!f->answered[i])
            fprintf(out, "%-12s %s\n", "unavailable", f->failure[i]);
    for (size_t i = 0; i < r->n_drops; i++)
        fprintf(out, "%-12s %s (%s): %s\n", "dropped", r->drops[i].asset,
                at_drop_reason_name(r->drops[i].reason), r->drops[i].detail);
}

void at_report_refusal(FILE *out, const custos_error *err)
{
    fprintf(out, "%-12s REFUSED %s: %s\n", "gateway", custos_reason_name(err->reason),
            err->message);
}

void at_report_answer(FILE *out, const custos_submit_result *r)
{
    const char *state = r->state == CUSTOS_STATE_ACCEPTED  ? "ACCEPTED"
                        : r->state == CUSTOS_STATE_PENDING ? "PENDING"
                        : r->state == CUSTOS_STATE_HELD    ? "HELD"
                                                           : "UNSPECIFIED";
    fprintf(out, "%-12s %s %u/%u signatures", "gateway", state, r->signatures, r->threshold);
    if (r->state == CUSTOS_STATE_ACCEPTED)
        fprintf(out, ", cursor %llu", (unsigned long long)r->cursor);
    if (r->duplicate)
        fprintf(out, " (already known)");
    fputc('\n', out);
}
