#include "price_quorum.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One source's fetch, on a thread of its own. */
typedef struct fetch_job {
    const char *url;
    const at_price_source_opts *opts;
    at_price_fetch *f;
    size_t i;
} fetch_job;

static void *fetch_main(void *arg)
{
    fetch_job *j = arg;
    custos_error e;
    custos_error_clear(&e);
    j->f->answered[j->i] = at_price_source_fetch(j->url, j->opts, &j->f->answers[j->i], &e) ==
                           CUSTOS_OK;
    if (!j->f->answered[j->i])
        snprintf(j->f->failure[j->i], sizeof j->f->failure[j->i], "%s", e.message);
    return NULL;
}

custos_rc at_price_fetch_all(const char *const *urls, size_t n, const char *ca_file,
                             const at_policy *policy, at_price_fetch *f, custos_error *err)
{
    memset(f, 0, sizeof *f);
    if (n == 0 || n > AT_PRICE_SOURCES_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "1 to %d price sources",
                                AT_PRICE_SOURCES_MAX);
    at_price_source_opts opts = {ca_file, policy->price_connect_timeout_ms,
                                 policy->price_timeout_ms, policy->price_retries,
                                 policy->price_backoff_ms};
    f->n = n;
    /* Every source at once: one that hangs until its timeout (and retries) holds the
     * valuation for its own time, not for the sum over the sources before it. A thread
     * that cannot be started fetches here instead. */
    fetch_job jobs[AT_PRICE_SOURCES_MAX];
    pthread_t threads[AT_PRICE_SOURCES_MAX];
    bool started[AT_PRICE_SOURCES_MAX];
    for (size_t i = 0; i < n; i++) {
        f->urls[i] = urls[i];
        jobs[i] = (fetch_job){urls[i], &opts, f, i};
        started[i] = pthread_create(&threads[i], NULL, fetch_main, &jobs[i]) == 0;
        if (!started[i])
            (void)fetch_main(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (started[i])
            (void)pthread_join(threads[i], NULL);
    return CUSTOS_OK;
}

void at_price_fetch_free(at_price_fetch *f)
{
    for (size_t i = 0; i < f->n; i++)
        at_prices_free(&f->answers[i]);
    memset(f, 0, sizeof *f);
}

const char *at_drop_reason_name(at_drop_reason r)
{
    switch (r) {
    case AT_DROP_MISSING: return "missing";
    case AT_DROP_STALE: return "stale";
    case AT_DROP_FORM: return "form";
    case AT_DROP_OUTLIER: return "outlier";
    case AT_DROP_REASONS: break;
    }
    return "?";
}

void at_price_report_free(at_price_report *r)
{
    free(r->drops);
    memset(r, 0, sizeof *r);
}

static custos_rc report_drop(at_price_report *r, size_t source, const char *asset,
                             at_drop_reason reason, custos_error *err, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static custos_rc report_drop(at_price_report *r, size_t source, const char *asset,
                             at_drop_reason reason, custos_error *err, const char *fmt, ...)
{
    if (r->n_drops == r->cap) {
        size_t cap = r->cap == 0 ? 8 : r->cap * 2;
        at_price_drop *grown = realloc(r->drops, cap * sizeof *grown);
        if (grown == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
        r->drops = grown;
        r->cap = cap;
    }
    at_price_drop *d = &r->drops[r->n_drops++];
    memset(d, 0, sizeof *d);
    d->source = source;
    snprintf(d->asset, sizeof d->asset, "%s", asset);
    d->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->detail, sizeof d->detail, fmt, ap);
    va_end(ap);
    return CUSTOS_OK;
}

/* Two quotes the same median may combine: a price with a price, a yield with a yield, and
 * the same index ratio and accrual rate. */
static bool same_form(const at_price *a, const at_price *b)
{
    return a->kind == b->kind && a->has_index_ratio == b->has_index_ratio &&
           a->has_accrual_rate == b->has_accrual_rate &&
           (!a->has_index_ratio || custos_u256_cmp(&a->index_ratio, &b->index_ratio) == 0) &&
           (!a->has_accrual_rate || custos_u256_cmp(&a->accrual_rate, &b->accrual_rate) == 0);
}

static const char *form_name(const at_price *p)
{
    if (p->kind == AT_QUOTE_DISCOUNT_YIELD)
        return "a discount yield";
    if (p->has_index_ratio)
        return "a price with its own index_ratio";
    if (p->has_accrual_rate)
        return "a price with its own accrual_rate";
    return "a price";
}

typedef struct quote {
    const at_price *p;
    size_t source;
} quote;

static int cmp_quote(const void *x, const void *y)
{
    return custos_u256_cmp(&((const quote *)x)->p->price, &((const quote *)y)->p->price);
}

/* The median of n sorted quotes: the middle one, or the floored mean of the middle two. */
static custos_rc median(const quote *q, size_t n, custos_u256 *out)
{
    if (n % 2 == 1) {
        *out = q[n / 2].p->price;
        return CUSTOS_OK;
    }
    custos_u256 sum, one, two;
    custos_u256_from_u64(&one, 1);
    custos_u256_from_u64(&two, 2);
    if (custos_u256_add(&sum, &q[n / 2 - 1].p->price, &q[n / 2].p->price) != CUSTOS_OK)
        return CUSTOS_ERR_OVERFLOW;
    return custos_u256_mul_div(out, &sum, &one, &two);
}

static void decimal(const custos_u256 *v, char out[CUSTOS_U256_DEC_MAX])
{
    if (custos_fixed_format(v, CUSTOS_MONEY_DECIMALS, out, CUSTOS_U256_DEC_MAX) != CUSTOS_OK)
        snprintf(out, CUSTOS_U256_DEC_MAX, "?");
}

/* The quotes of `asset` that may count: answered, present, fresh. Drops the rest. */
static custos_rc usable_quotes(const at_price_fetch *f, const char *asset,
                               const at_policy *policy, uint64_t now, quote *q, size_t *nq,
                               at_price_report *report, custos_error *err)
{
    *nq = 0;
    custos_rc rc = CUSTOS_OK;
    for (size_t s = 0; s < f->n && rc == CUSTOS_OK; s++) {
        if (!f->answered[s])
            continue;
        const at_price *p = at_prices_find(&f->answers[s], asset);
        custos_error age;
        if (p == NULL)
            rc = report_drop(report, s, asset, AT_DROP_MISSING, err,
                             "price source %.100s has no price for %s", f->urls[s], asset);
        else if (at_policy_check_price_age(policy, asset, p->as_of, now, &age) != CUSTOS_OK)
            rc = report_drop(report, s, asset, AT_DROP_STALE, err, "price source %.100s: %s",
                             f->urls[s], age.message);
        else
            q[(*nq)++] = (quote){p, s};
    }
    return rc;
}

/* Keeps the quotes of the largest group of one form (dropping the others); *tie when two
 * forms are equally large. */
static custos_rc keep_one_form(const at_price_fetch *f, const char *asset, quote *q,
                               size_t *nq, bool *tie, at_price_report *report,
                               custos_error *err)
{
    size_t best = 0, best_size = 0;
    *tie = false;
    for (size_t i = 0; i < *nq; i++) {
        size_t size = 0;
        for (size_t j = 0; j < *nq; j++)
            size += same_form(q[i].p, q[j].p);
        if (size > best_size) {
            best = i;
            best_size = size;
            *tie = false;
        } else if (size == best_size && !same_form(q[i].p, q[best].p)) {
            *tie = true;
        }
    }
    if (*tie)
        return CUSTOS_OK;
    size_t kept = 0;
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < *nq && rc == CUSTOS_OK; i++) {
        if (same_form(q[i].p, q[best].p))
            q[kept++] = q[i];
        else
            rc = report_drop(report, q[i].source, asset, AT_DROP_FORM, err,
                             "price source %.100s quotes %s as %s, unlike the %zu that count",
                             f->urls[q[i].source], asset, form_name(q[i].p), best_size);
    }
    *nq = kept;
    return rc;
}

/* Drops the quotes further than bps of the median from it; q stays sorted. */
static custos_rc drop_outliers(const at_price_fetch *f, const char *asset, uint32_t bps,
                               quote *q, size_t *nq, at_price_report *report,
                               custos_error *err)
{
    if (*nq == 0)
        return CUSTOS_OK;
    custos_u256 m, limit, b, scale;
    custos_u256_from_u64(&b, bps);
    custos_u256_from_u64(&scale, 10000);
    if (median(q, *nq, &m) != CUSTOS_OK || custos_u256_mul_div(&limit, &m, &b, &scale) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "price of %s overflows", asset);
    size_t kept = 0;
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < *nq && rc == CUSTOS_OK; i++) {
        custos_u256 diff, off;
        const custos_u256 *v = &q[i].p->price;
        if (custos_u256_cmp(v, &m) >= 0)
            rc = custos_u256_sub(&diff, v, &m);
        else
            rc = custos_u256_sub(&diff, &m, v);
        if (rc != CUSTOS_OK)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL, "price of %s: subtraction", asset);
        if (custos_u256_cmp(&diff, &limit) <= 0) {
            q[kept++] = q[i];
            continue;
        }
        char got[CUSTOS_U256_DEC_MAX], mid[CUSTOS_U256_DEC_MAX], away[CUSTOS_U256_DEC_MAX];
        decimal(v, got);
        decimal(&m, mid);
        /* How far, in basis points of the median, to two decimals. */
        custos_u256 million;
        custos_u256_from_u64(&million, 1000000);
        if (custos_u256_mul_div(&off, &diff, &million, &m) != CUSTOS_OK)
            snprintf(away, sizeof away, "?");
        else if (custos_u256_to_dec(&off, away, sizeof away) != CUSTOS_OK)
            snprintf(away, sizeof away, "?");
        size_t len = strlen(away);
        char shown[CUSTOS_U256_DEC_MAX];
        if (len <= 2)
            snprintf(shown, sizeof shown, "0.%02d", atoi(away));
        else
            snprintf(shown, sizeof shown, "%.*s.%s", (int)(len - 2), away, away + len - 2);
        rc = report_drop(report, q[i].source, asset, AT_DROP_OUTLIER, err,
                         "price source %.100s quotes %s at %.24s, %s bps from the median "
                         "%.24s (max_price_disagreement_bps %u)",
                         f->urls[q[i].source], asset, got, shown, mid, bps);
    }
    *nq = kept;
    return rc;
}

/* Why the first source that does not count for `asset` does not: its failure or its drop. */
static const char *first_reason(const at_price_fetch *f, const at_price_report *report,
                                size_t from, const char *asset)
{
    for (size_t i = from; i < report->n_drops; i++)
        if (strcmp(report->drops[i].asset, asset) == 0)
            return report->drops[i].detail;
    for (size_t s = 0; s < f->n; s++)
        if (!f->answered[s])
            return f->failure[s];
    return "no source priced it";
}

static custos_rc merge_one(const at_price_fetch *f, const at_account *account,
                           const char *asset, const at_policy *policy, uint64_t now,
                           uint32_t quorum, at_price *m, at_price_report *report,
                           custos_error *err)
{
    quote q[AT_PRICE_SOURCES_MAX];
    size_t nq = 0, first_drop = report->n_drops;
    bool tie = false;
    custos_rc rc = usable_quotes(f, asset, policy, now, q, &nq, report, err);
    if (rc == CUSTOS_OK)
        rc = keep_one_form(f, asset, q, &nq, &tie, report, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (tie)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "account %s: %s: the price sources split evenly between forms "
                                "of quoting it (a price or a discount yield, the index ratio or "
                                "the accrual rate): nothing signed",
                                account->ref, asset);
    qsort(q, nq, sizeof q[0], cmp_quote);
    rc = drop_outliers(f, asset, policy->max_price_disagreement_bps, q, &nq, report, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (nq < quorum) {
        /* The first reason, cut to fit the message: the report lists them all in full. */
        char head[sizeof err->message];
        int n = snprintf(head, sizeof head,
                         "account %s: %s: %zu of %zu price sources agree, below the "
                         "price_quorum %u; ",
                         account->ref, asset, nq, f->n, quorum);
        static const char tail[] = ": nothing signed";
        int room = (int)sizeof head - (n > 0 ? n : 0) - (int)sizeof tail;
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s%.*s%s", head, room > 0 ? room : 0,
                                first_reason(f, report, first_drop, asset), tail);
    }
    *m = *q[0].p;
    strcpy(m->asset, asset);
    if (median(q, nq, &m->price) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "price of %s overflows", asset);
    for (size_t i = 0; i < nq; i++)
        if (q[i].p->as_of < m->as_of)
            m->as_of = q[i].p->as_of;
    return CUSTOS_OK;
}

custos_rc at_price_merge(const at_price_fetch *f, const at_account *account,
                         const at_policy *policy, uint64_t now, at_prices *out,
                         at_price_report *report, custos_error *err)
{
    memset(out, 0, sizeof *out);
    uint32_t quorum = policy->price_quorum != 0 ? policy->price_quorum : (uint32_t)f->n;
    if (quorum > f->n)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "the policy's price_quorum %u needs at least %u price sources, "
                                "%zu given",
                                quorum, quorum, f->n);
    if (account->n_holdings == 0)
        return CUSTOS_OK; /* nothing to price: valued at 0 (valuation.c) */
    out->items = calloc(account->n_holdings, sizeof *out->items);
    if (out->items == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory");
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; i < account->n_holdings && rc == CUSTOS_OK; i++) {
        rc = merge_one(f, account, account->holdings[i].asset, policy, now, quorum,
                       &out->items[out->n], report, err);
        if (rc == CUSTOS_OK)
            out->n++;
    }
    if (rc != CUSTOS_OK)
        at_prices_free(out);
    return rc;
}
