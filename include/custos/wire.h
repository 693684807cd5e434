/* Protobuf wire form of a submission (custos.v1.SignedAttestation), hiding protobuf-c. */
#ifndef CUSTOS_WIRE_H
#define CUSTOS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/reserves.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Strict decode: every fixed-width field must have its exact length, kind <= 2,
 * haircut <= 10000, at most CUSTOS_MAX_SIGNATURES / CUSTOS_MAX_POSITIONS (TOO_LARGE).
 * On failure out is left cleared. */
CUSTOS_MUST_USE
custos_rc custos_submission_decode(const uint8_t *buf, size_t len, custos_submission *out,
                                   custos_error *err);
/* *buf is malloc'd; the caller frees it. */
CUSTOS_MUST_USE
custos_rc custos_submission_encode(const custos_submission *s, uint8_t **buf, size_t *len,
                                   custos_error *err);

/* The custos.v1.SubmitReservesRequest bytes custos_client_submit_reserves sends for the same
 * arguments; *buf is malloc'd, the caller frees it. */
CUSTOS_MUST_USE
custos_rc custos_reserves_request_encode(const char *feed, const custos_domain *d,
                                         const custos_reserves *r,
                                         const custos_signature *sigs, size_t n_sigs,
                                         const custos_reserves_entry *es, size_t n,
                                         uint8_t **buf, size_t *len, custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
