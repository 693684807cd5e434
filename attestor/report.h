/* The short human summary custos-attestor prints on stdout. */
#ifndef AT_REPORT_H
#define AT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "custos/attestation.h"
#include "custos/client.h"

/* Account, feed, sequence, values in USD, validity window, digest, signature count. */
void at_report_attestation(FILE *out, const custos_submission *s,
                           const uint8_t digest[CUSTOS_HASH_LEN]);
/* "gateway      ACCEPTED 2/2 signatures, cursor 7". */
void at_report_answer(FILE *out, const custos_submit_result *r);
/* "gateway      REFUSED STALE: <the client's message>". */
void at_report_refusal(FILE *out, const custos_error *err);

#endif
