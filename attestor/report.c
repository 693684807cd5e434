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
