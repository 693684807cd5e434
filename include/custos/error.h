/* Error codes and the error struct every fallible libcustos call fills. */
#ifndef CUSTOS_ERROR_H
#define CUSTOS_ERROR_H

#include "custos/common.h"
#include "custos/reason.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum custos_rc {
    CUSTOS_OK = 0,
    CUSTOS_ERR_INVALID,      /* malformed input or bad argument */
    CUSTOS_ERR_OVERFLOW,     /* arithmetic result does not fit */
    CUSTOS_ERR_NOMEM,
    CUSTOS_ERR_CRYPTO,       /* a signature or key is not valid */
    CUSTOS_ERR_NONCANONICAL, /* signature has high s or v outside {27,28} */
    CUSTOS_ERR_IO,           /* file or system call failed */
    CUSTOS_ERR_TOO_LARGE,    /* input exceeds a size limit */
    CUSTOS_ERR_NOT_FOUND,    /* what was asked for does not exist */
    CUSTOS_ERR_UNAVAILABLE,  /* a remote service cannot be reached or cannot take the request
                                now: try again later (custos/client.h) */
    CUSTOS_ERR_REFUSED,      /* a remote service refused the request: err->reason says why */
    CUSTOS_ERR_INTERNAL
} custos_rc;

typedef struct custos_error {
    custos_rc code;
    /* A gateway's reason when it refused (code REFUSED, NOT_FOUND or UNAVAILABLE: see
     * custos/client.h); CUSTOS_REASON_NONE otherwise. */
    custos_reason reason;
    char message[256];
} custos_error;

/* Stable upper-case name of a code, e.g. "OVERFLOW". */
const char *custos_rc_name(custos_rc rc);

/* Fill err (if not NULL) with rc, no reason and a printf-style message; returns rc so
 * callers can write `return custos_error_set(err, CUSTOS_ERR_INVALID, "...")`. The one
 * custos_rc function not marked CUSTOS_MUST_USE: its result is its rc argument, nothing a
 * caller could miss. */
custos_rc custos_error_set(custos_error *err, custos_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reset err to CUSTOS_OK, no reason and an empty message. */
void custos_error_clear(custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
