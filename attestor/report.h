/* The short human summary custos-attestor prints on stdout. */
#ifndef AT_REPORT_H
#define AT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "custos/attestation.h"
#include "custos/client.h"
#include "price_quorum.h"
#include "valuation.h"

/* Account, feed, sequence, values in USD, validity window, digest, signature count. */
void at_report_attestation(FILE *out, const custos_submission *s,
                           const uint8_t digest[CUSTOS_HASH_LEN]);
/* How the Treasuries were valued: per trade date its T+1 settlement date, per coupon
 * security the interest accrued to it, and the positions maturing by their settlement date,
 * valued at par plus their final coupon. */
void at_report_positions(FILE *out, const custos_submission *s,
                         const at_position_detail *details);
/* With price sources: how many answered, each that did not and why, and each quote that
 * did not count (reason and detail). Nothing when f fetched nothing (a price file). */
void at_report_prices(FILE *out, const at_price_fetch *f, const at_price_report *r);
/* "gateway      ACCEPTED 2/2 signatures, cursor 7". */
void at_report_answer(FILE *out, const custos_submit_result *r);
/* "gateway      REFUSED STALE: <the client's message>". */
void at_report_refusal(FILE *out, const custos_error *err);

#endif
