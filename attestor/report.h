/* The short human summary custos-attestor prints on stdout. */
#ifndef AT_REPORT_H
#define AT_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "custos/attestation.h"
#include "custos/client.h"

/* Account, feed, sequence, values in USD, validity window, digest, signature count. */
void at_report_attestation(FILE *out, const custos_submission *s, const uint8_t digest[32]);
/* "gateway      ACCEPTED 2/2 signatures, cursor 7", or the refusal reason and detail. */
void at_report_answer(FILE *out, const custos_submit_result *r);

#endif
