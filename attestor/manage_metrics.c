/* The collateral manager's gauges (manage_metrics.h). */
#include "manage_metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/hex.h"
#include "fileio.h"

/* One metric: its HELP and TYPE, then one line per pledge. */
typedef struct mm_metric {
    const char *name, *type, *help;
} mm_metric;

static const mm_metric mm_metrics[] = {
    {"custos_loan_ltv_bps", "gauge", "The pledge's loan-to-value at the last read, basis points."},
    {"custos_loan_state", "gauge", "0 healthy, 1 margin return, 2 margin call, 3 liquidation."},
    {"custos_loan_cure_deadline_seconds", "gauge",
     "A margin call's cure deadline; 0 without one."},
    {"custos_loan_last_read_seconds", "gauge",
     "When the debt and value were last read; 0: never."},
    {"custos_loan_exposure_read_failures_total", "counter",
     "Passes that could not read the loan."},
    {"custos_loan_liquidation_step", "gauge",
     "The liquidation's last step: 0 none, 1 decided, 2 repay sent, 3 repay mined, "
     "4 release signed, 5 release accepted."},
    {"custos_loan_notice_publish_failures_total", "counter",
     "Publications of a notice to CustosNotices that failed or were refused."},
    {"custos_loan_liquidation_repay_reverts_total", "counter",
     "Repays of the liquidation that reverted."},
    {"custos_loan_liquidation_waiting", "gauge",
     "1 while no repay is sent because it would revert."},
};
#define MM_N (sizeof mm_metrics / sizeof mm_metrics[0])

static unsigned long long mm_value(const at_manager *m, size_t metric)
{
    switch (metric) {
    case 0:
        return m->ltv;
    case 1:
        return (unsigned long long)m->status.state;
    case 2:
        return m->status.deadline;
    case 3:
        return m->last_read;
    case 4:
        return m->read_failures;
    case 5:
        return (unsigned long long)m->liq_step;
    case 6:
        return m->publish_failures;
    case 7:
        return m->liq_reverts;
    default:
        return m->liq_waiting ? 1 : 0;
    }
}

/* Appends to buf at *len; false when it does not fit. */
static bool mm_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool mm_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len)
        return false;
    *len += (size_t)n;
    return true;
}

custos_rc at_manage_metrics_write(const at_manager *const *ms, size_t n, const char *path,
                                  custos_error *err)
{
    /* Bounded: a few hundred bytes per pledge and metric. */
    size_t cap = 1024 + MM_N * (256 + n * 200);
    char *text = malloc(cap);
    if (text == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "metrics: out of memory");
    size_t len = 0;
    bool ok = true;
    for (size_t k = 0; ok && k < MM_N; k++) {
        const mm_metric *x = &mm_metrics[k];
        ok = mm_append(text, cap, &len, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help,
                       x->name, x->type);
        for (size_t i = 0; ok && i < n; i++) {
            char account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], lender[CUSTOS_ADDRESS_HEX_LEN];
            ok = custos_hex_encode(ms[i]->account, CUSTOS_HASH_LEN, account, sizeof account) ==
                 CUSTOS_OK;
            custos_address_to_hex(ms[i]->lender, lender);
            ok = ok && mm_append(text, cap, &len, "%s{account=\"%s\",lender=\"%s\"} %llu\n",
                                 x->name, account, lender, mm_value(ms[i], k));
        }
    }
    custos_rc rc = ok ? at_file_write_atomic(path, text, len, 0644, err)
                      : custos_error_set(err, CUSTOS_ERR_INTERNAL, "metrics: too long");
    free(text);
    return rc;
}
