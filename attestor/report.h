/* What custos-attestor prints on stdout about a command's result: a short human summary
 * ("label        value" lines), or with --json one JSON object that holds the same facts
 * under stable keys, printed when the command ends (also after a refusal or when the
 * gateway could not be reached, so a script reads what was signed and what happened). */
#ifndef AT_REPORT_H
#define AT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "clopt.h"
#include "custos/attestation.h"
#include "custos/client.h"
#include "price_quorum.h"
#include "valuation.h"

/* --json, for every command that reports. */
typedef struct at_report_opts {
    bool json;
} at_report_opts;
extern const clopt at_report_options[];

typedef struct at_report {
    FILE *out;
    json_t *json; /* the object being filled; NULL: human text, written as it comes */
} at_report;

/* Starts a report on out, as JSON when json is true. False (out of memory) only then. */
bool at_report_open(at_report *r, FILE *out, bool json) CLOPT_MUST_USE;
/* In JSON mode prints the object (and frees it); the exit status to return: status, or 1
 * when stdout cannot be written. */
int at_report_close(at_report *r, int status) CLOPT_MUST_USE;

/* A "label value" line, or member key = the text (key NULL: the text mode only). */
void at_report_line(at_report *r, const char *label, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A member only the JSON object has (taken, even on failure); nothing in text mode. */
void at_report_member(at_report *r, const char *key, json_t *value);

/* Account, feed, sequence, values in USD, validity window, digest, signature count. */
void at_report_attestation(at_report *r, const custos_submission *s,
                           const uint8_t digest[CUSTOS_HASH_LEN]);
/* How the Treasuries were valued: per trade date its T+1 settlement date, per coupon
 * security the interest accrued to it, and the positions maturing by their settlement date,
 * valued at par plus their final coupon. */
void at_report_positions(at_report *r, const custos_submission *s,
                         const at_position_detail *details);
/* With price sources: how many answered, each that did not and why, and each quote that
 * did not count (reason and detail). Nothing when f fetched nothing (a price file). */
void at_report_prices(at_report *r, const at_price_fetch *f, const at_price_report *pr);
/* "gateway      ACCEPTED 2/2 signatures, cursor 7"; JSON "gateway": {"state": ...}. */
void at_report_answer(at_report *r, const custos_submit_result *res);
/* "gateway      REFUSED STALE: <the client's message>". */
void at_report_refusal(at_report *r, const custos_error *err);
/* JSON only: "gateway": {"state": "UNAVAILABLE", ...} (the text goes to stderr). */
void at_report_unavailable(at_report *r, const custos_error *err);

#endif
