#include "custos/error.h"

#include <stdarg.h>
#include <stdio.h>

const char *custos_rc_name(custos_rc rc)
{
    switch (rc) {
    case CUSTOS_OK: return "OK";
    case CUSTOS_ERR_INVALID: return "INVALID";
    case CUSTOS_ERR_OVERFLOW: return "OVERFLOW";
    case CUSTOS_ERR_NOMEM: return "NOMEM";
    case CUSTOS_ERR_CRYPTO: return "CRYPTO";
    case CUSTOS_ERR_NONCANONICAL: return "NONCANONICAL";
    case CUSTOS_ERR_IO: return "IO";
    case CUSTOS_ERR_TOO_LARGE: return "TOO_LARGE";
    case CUSTOS_ERR_NOT_FOUND: return "NOT_FOUND";
    case CUSTOS_ERR_UNAVAILABLE: return "UNAVAILABLE";
    case CUSTOS_ERR_REFUSED: return "REFUSED";
    case CUSTOS_ERR_INTERNAL: return "INTERNAL";
    }
    return "UNKNOWN";
}

custos_rc custos_error_set(custos_error *err, custos_rc rc, const char *fmt, ...)
{
    if (err == NULL)
        return rc;
    err->code = rc;
    err->reason = CUSTOS_REASON_NONE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return rc;
}

void custos_error_clear(custos_error *err)
{
    if (err == NULL)
        return;
    err->code = CUSTOS_OK;
    err->reason = CUSTOS_REASON_NONE;
    err->message[0] = '\0';
}
