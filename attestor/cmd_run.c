/* run: the attestor as a daemon. Every interval, and whenever the holdings file's content
 * changes (checked each second), it values every account of the holdings file and attests
 * those whose values changed since the last acknowledged attestation, whose last validity
 * would end before the next interval, or whose heartbeat is due. Each signed attestation is
 * spooled durably (spool.h) before its first submission; the spool is drained in sequence
 * order per account, with back-off while the gateway cannot be reached, and nothing newer is
 * signed for an account while one of its attestations waits there. SIGTERM and SIGINT end
 * the run after the current step, with status 0. One log line per event on stderr.
 *
 * With "batch" (runconf.h) it values the whole book every interval and, when one of its
 * accounts needs attesting, signs the whole book as one batch, spools it (batchspool.h)
 * and submits it with SubmitBatch; the gateway answers each account alone.
 *
 * With reserves_interval_seconds, it also values every account that often into a reserves
 * attestation (as custos-attestor reserves does), signs it and submits it with its leaves
 * (SubmitReserves). Reserves are not spooled: one that cannot be delivered is logged and
 * the next interval signs a fresh one (its sequence is simply higher). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batchbook.h"
#include "batchspool.h"
#include "cmd.h"
#include "context.h"
#include "custos/client.h"
#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/reserves.h"
#include "fileio.h"
#include "gwconn.h"
#include "holdings.h"
#include "jsonin.h"
#include "pledge.h"
#include "policy.h"
#include "price_quorum.h"
#include "prices.h"
#include "runconf.h"
#include "runlog.h"
#include "runmetrics.h"
#include "seqstate.h"
#include "signer.h"
#include "spool.h"
#include "valuation.h"

#define AT_RUN_CALL_TIMEOUT_MS 5000
/* Warn this long before the bond-market calendar ends, and at most once a day. */
#define AT_RUN_CALENDAR_WARN_SECONDS (90ull * 86400)
#define AT_RUN_CALENDAR_WARN_EVERY 86400

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* A line of the daemon's JSON log (runlog.h) with no fields of its own. */
static void run_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run_log(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    at_runlog(AT_LOG_INFO, "run", NULL, NULL, 0, "%s", msg);
}

/* What was last acknowledged for an account, to attest only on change. */
typedef struct run_last {
    uint8_t account[CUSTOS_HASH_LEN];
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN];
    custos_u256 gross, collateral;
    uint8_t root[CUSTOS_HASH_LEN];
    uint64_t valid_until, signed_at;
} run_last;

typedef struct run_state {
    at_runconf conf;
    at_signer signer;
    run_last *last;
    size_t n_last, cap_last;
    uint8_t holdings_hash[CUSTOS_KECCAK256_LEN];
    bool have_hash;
    uint64_t retry_at, backoff; /* monotonic seconds; back-off while unreachable */
    at_run_metrics metrics;
    uint64_t calendar_warned; /* monotonic seconds of the last warning; 0: none yet */
} run_state;

static uint64_t mono_now(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail on Linux with a valid pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

static at_gateway run_gateway(const run_state *st)
{
    const at_gateway gw = {
        .target = st->conf.gateway,
        .tls_ca = st->conf.tls_ca[0] != '\0' ? st->conf.tls_ca : NULL,
        .tls_cert = st->conf.tls_cert[0] != '\0' ? st->conf.tls_cert : NULL,
        .tls_key = st->conf.tls_key[0] != '\0' ? st->conf.tls_key : NULL,
        .insecure = st->conf.insecure,
    };
    return gw;
}

static run_last *last_find(run_state *st, const uint8_t account[CUSTOS_HASH_LEN])
{
    for (size_t i = 0; i < st->n_last; i++)
        if (memcmp(st->last[i].account, account, CUSTOS_HASH_LEN) == 0)
            return &st->last[i];
    return NULL;
}

static void last_record(run_state *st, const custos_attestation *a)
{
    run_last *l = last_find(st, a->account);
    if (l == NULL) {
        if (st->n_last == st->cap_last) {
            size_t ncap = st->cap_last == 0 ? 16 : st->cap_last * 2;
            run_last *grown = realloc(st->last, ncap * sizeof *grown);
            if (grown == NULL) {
                /* Without memory of it the account is attested again next cycle: safe. */
                run_log("out of memory: account history not kept");
                return;
            }
            st->last = grown;
            st->cap_last = ncap;
        }
        l = &st->last[st->n_last++];
        memcpy(l->account, a->account, CUSTOS_HASH_LEN);
    }
    memcpy(l->beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN);
    l->gross = a->gross_value;
    l->collateral = a->collateral_value;
    memcpy(l->root, a->positions_root, CUSTOS_HASH_LEN);
    l->valid_until = a->valid_until;
    l->signed_at = mono_now();
}

/* true when the holdings file's content differs from the last look (the first look too). */
static bool holdings_changed(run_state *st)
{
    char *text;
    size_t len;
    custos_error err;
    if (at_file_read(st->conf.holdings, AT_HOLDINGS_MAX_BYTES, &text, &len, &err) != CUSTOS_OK)
        return false; /* the next valuation reports it */
    uint8_t h[CUSTOS_KECCAK256_LEN];
    custos_keccak256((const uint8_t *)text, len, h);
    free(text);
    bool changed = !st->have_hash || memcmp(h, st->holdings_hash, sizeof h) != 0;
    memcpy(st->holdings_hash, h, sizeof h);
    st->have_hash = true;
    return changed;
}

typedef enum drain_result { DRAIN_DONE, DRAIN_UNREACHABLE, DRAIN_FAILED } drain_result;

/* Submits one spool entry; DRAIN_DONE when it left the spool (acknowledged or refused). */
static drain_result drain_one(run_state *st, custos_client *client, const char *name)
{
    const char *dir = st->conf.spool;
    custos_submission s;
    memset(&s, 0, sizeof s);
    custos_error err;
    if (at_spool_get(dir, name, &s, &err) != CUSTOS_OK) {
        run_log("spool entry unreadable, moved to refused/: %s: %s", name, err.message);
        custos_error merr;
        if (at_spool_refuse(dir, name, err.message, &merr) != CUSTOS_OK) {
            run_log("cannot move %s to refused/: %s", name, merr.message);
            return DRAIN_FAILED;
        }
        return DRAIN_DONE;
    }
    custos_submit_result res;
    memset(&res, 0, sizeof res);
    unsigned long long seq = (unsigned long long)s.att.sequence;
    /* The id names this submission in the gateway's log as in ours: the daemon, the
     * account's first 8 bytes, the sequence. */
    char request_id[CUSTOS_REQUEST_ID_MAX + 1], account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    char sequence[24];
    if (custos_hex_encode(s.att.account, CUSTOS_HASH_LEN, account, sizeof account) != CUSTOS_OK)
        account[0] = '\0';
    snprintf(request_id, sizeof request_id, "custos-attestor:%.16s:%llu",
             account[0] != '\0' ? account + 2 : "", seq);
    snprintf(sequence, sizeof sequence, "%llu", seq);
    custos_rc rc = custos_client_set_request_id(client, request_id, &err);
    if (rc == CUSTOS_OK)
        rc = custos_client_submit(client, &s, &res, &err);
    drain_result out = DRAIN_DONE;
    /* Not now: unreachable, or the gateway is unavailable or limits us; never refused. */
    if (rc == CUSTOS_ERR_UNAVAILABLE) {
        const at_log_field f[] = {{"account", account}, {"sequence", sequence},
                                  {"file", name}, {"reason", custos_reason_name(err.reason)}};
        at_runlog(AT_LOG_WARN, "kept", request_id, f, sizeof f / sizeof f[0],
                  "gateway %s %s, %s kept in the spool: %s", st->conf.gateway,
                  err.reason == CUSTOS_REASON_NONE ? "unreachable" : "cannot take it now", name,
                  err.message);
        out = DRAIN_UNREACHABLE;
    } else if (rc == CUSTOS_ERR_REFUSED || rc == CUSTOS_ERR_NOT_FOUND) {
        char reason[400];
        snprintf(reason, sizeof reason, "%s: %s", custos_reason_name(err.reason), err.message);
        const at_log_field f[] = {{"account", account}, {"sequence", sequence},
                                  {"file", name}, {"reason", custos_reason_name(err.reason)}};
        at_runlog(AT_LOG_WARN, "refused", request_id, f, sizeof f / sizeof f[0],
                  "refused sequence=%llu file=%s reason=%s", seq, name, reason);
        if (at_spool_refuse(dir, name, reason, &err) != CUSTOS_OK) {
            run_log("cannot move %s to refused/: %s", name, err.message);
            out = DRAIN_FAILED;
        }
    } else if (rc != CUSTOS_OK) {
        run_log("submission of %s failed, kept in the spool: %s", name, err.message);
        out = DRAIN_FAILED;
    } else {
        const char *state = res.state == CUSTOS_STATE_ACCEPTED ? "ACCEPTED"
                            : res.state == CUSTOS_STATE_HELD   ? "HELD"
                                                               : "PENDING";
        const at_log_field f[] = {{"account", account}, {"sequence", sequence},
                                  {"file", name}, {"state", state}};
        at_runlog(AT_LOG_INFO, "acknowledged", request_id, f, sizeof f / sizeof f[0],
                  "acknowledged sequence=%llu state=%s%s signatures=%u/%u cursor=%llu file=%s",
                  seq, state, res.duplicate ? " duplicate" : "", res.signatures, res.threshold,
                  (unsigned long long)res.cursor, name);
        last_record(st, &s.att);
        if (at_spool_remove(dir, name, &err) != CUSTOS_OK) {
            run_log("cannot remove %s from the spool: %s", name, err.message);
            out = DRAIN_FAILED;
        }
    }
    custos_submission_clear(&s);
    return out;
}

/* Submits the spool in order (account, then sequence); stops at the first entry the gateway
 * could not take, so that no later sequence overtakes it. */
/* Submits one spooled batch; DRAIN_DONE when it left the spool (the gateway judged it,
 * each account answered alone, or refused it whole). */
static drain_result drain_batch(run_state *st, custos_client *client, const char *name)
{
    const char *dir = st->conf.spool;
    at_batch_spooled b;
    custos_error err;
    if (at_batch_spool_get(dir, name, &b, &err) != CUSTOS_OK) {
        run_log("spooled batch unreadable, moved to refused/: %s: %s", name, err.message);
        custos_error merr;
        if (at_batch_spool_refuse(dir, name, err.message, &merr) != CUSTOS_OK) {
            run_log("cannot move batch %s to refused/: %s", name, merr.message);
            return DRAIN_FAILED;
        }
        return DRAIN_DONE;
    }
    custos_submit_result *results = calloc(b.n, sizeof *results);
    custos_error *errors = calloc(b.n, sizeof *errors);
    char request_id[CUSTOS_REQUEST_ID_MAX + 1], sequence[24];
    unsigned long long seq = (unsigned long long)b.batch.sequence;
    snprintf(request_id, sizeof request_id, "custos-attestor:batch:%llu", seq);
    snprintf(sequence, sizeof sequence, "%llu", seq);
    bool duplicate = false;
    custos_rc rc = results == NULL || errors == NULL
                       ? custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory")
                       : custos_client_set_request_id(client, request_id, &err);
    if (rc == CUSTOS_OK)
        rc = custos_client_submit_batch(client, b.feed, &b.domain, &b.batch, b.sigs, b.n_sigs,
                                        b.accounts, b.n, results, errors, &duplicate, &err);
    drain_result out = DRAIN_DONE;
    const at_log_field f[] = {{"batch_sequence", sequence}, {"file", name},
                              {"reason", custos_reason_name(err.reason)}};
    if (rc == CUSTOS_ERR_UNAVAILABLE) {
        at_runlog(AT_LOG_WARN, "kept", request_id, f, sizeof f / sizeof f[0],
                  "gateway %s %s, batch %s kept in the spool: %s", st->conf.gateway,
                  err.reason == CUSTOS_REASON_NONE ? "unreachable" : "cannot take it now", name,
                  err.message);
        out = DRAIN_UNREACHABLE;
    } else if (rc == CUSTOS_ERR_REFUSED || rc == CUSTOS_ERR_NOT_FOUND) {
        char reason[400];
        snprintf(reason, sizeof reason, "%s: %s", custos_reason_name(err.reason), err.message);
        at_runlog(AT_LOG_WARN, "refused", request_id, f, sizeof f / sizeof f[0],
                  "batch refused sequence=%llu file=%s reason=%s", seq, name, reason);
        if (at_batch_spool_refuse(dir, name, reason, &err) != CUSTOS_OK) {
            run_log("cannot move batch %s to refused/: %s", name, err.message);
            out = DRAIN_FAILED;
        }
    } else if (rc != CUSTOS_OK) {
        run_log("submission of batch %s failed, kept in the spool: %s", name, err.message);
        out = DRAIN_FAILED;
    } else {
        size_t taken = 0;
        for (size_t i = 0; i < b.n; i++) {
            char account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], aseq[24];
            if (custos_hex_encode(b.accounts[i].att.account, CUSTOS_HASH_LEN, account,
                                  sizeof account) != CUSTOS_OK)
                account[0] = '\0';
            snprintf(aseq, sizeof aseq, "%llu", (unsigned long long)b.accounts[i].att.sequence);
            /* An account refused alone is logged; the rest of the batch stands. */
            const char *state = errors[i].code != CUSTOS_OK ? "REFUSED"
                                : results[i].state == CUSTOS_STATE_HELD ? "HELD"
                                                                        : "ACCEPTED";
            const at_log_field af[] = {{"account", account}, {"sequence", aseq},
                                       {"batch_sequence", sequence}, {"state", state},
                                       {"reason", custos_reason_name(errors[i].reason)}};
            if (errors[i].code != CUSTOS_OK) {
                at_runlog(AT_LOG_WARN, "refused", request_id, af, sizeof af / sizeof af[0],
                          "account of batch %llu refused sequence=%s reason=%s: %s", seq, aseq,
                          custos_reason_name(errors[i].reason), errors[i].message);
                continue;
            }
            taken++;
            last_record(st, &b.accounts[i].att);
        }
        at_runlog(AT_LOG_INFO, "acknowledged", request_id, f, 2,
                  "acknowledged batch sequence=%llu%s accounts=%zu taken=%zu file=%s", seq,
                  duplicate ? " duplicate" : "", b.n, taken, name);
        if (at_batch_spool_remove(dir, name, &err) != CUSTOS_OK) {
            run_log("cannot remove batch %s from the spool: %s", name, err.message);
            out = DRAIN_FAILED;
        }
    }
    free(results);
    free(errors);
    at_batch_spooled_free(&b);
    return out;
}

static void drain(run_state *st)
{
    uint64_t now = mono_now();
    if (now < st->retry_at)
        return;
    char(*names)[AT_SPOOL_NAME_LEN];
    char(*batches)[AT_BATCH_SPOOL_NAME_LEN] = NULL;
    size_t n, n_batches = 0;
    custos_error err;
    if (at_spool_list(st->conf.spool, &names, &n, &err) != CUSTOS_OK) {
        run_log("%s", err.message);
        return;
    }
    if (st->conf.batch &&
        at_batch_spool_list(st->conf.spool, &batches, &n_batches, &err) != CUSTOS_OK) {
        run_log("%s", err.message);
        free(names);
        return;
    }
    if (n == 0 && n_batches == 0) {
        free(names);
        free(batches);
        return;
    }
    /* A fresh channel per pass: a channel that failed would wait out its own reconnect
     * back-off, longer than ours. */
    custos_client *client;
    drain_result r = DRAIN_UNREACHABLE;
    const at_gateway gw = run_gateway(st);
    if (at_gateway_connect(&gw, AT_RUN_CALL_TIMEOUT_MS, &client, &err) != CUSTOS_OK) {
        run_log("cannot use gateway %s: %s", st->conf.gateway, err.message);
    } else {
        r = DRAIN_DONE;
        for (size_t i = 0; i < n && r == DRAIN_DONE && !stop_requested; i++)
            r = drain_one(st, client, names[i]);
        /* Batches in sequence order: the gateway takes a feed's batch sequences rising. */
        for (size_t i = 0; i < n_batches && r == DRAIN_DONE && !stop_requested; i++)
            r = drain_batch(st, client, batches[i]);
        custos_client_free(client);
    }
    free(names);
    free(batches);
    if (r == DRAIN_DONE) {
        st->backoff = 0;
        st->retry_at = 0;
        return;
    }
    st->backoff = st->backoff == 0 ? 1 : st->backoff * 2;
    if (st->backoff > st->conf.retry_max_seconds)
        st->backoff = st->conf.retry_max_seconds;
    st->retry_at = mono_now() + st->backoff;
    run_log("retrying in %llu s", (unsigned long long)st->backoff);
}

/* The account's prices: the prices file, or this cycle's fetch by the policy's quorum (the
 * quotes that did not count are logged and counted). *fetched is freed by the caller. */
static custos_rc account_prices(run_state *st, const at_account *account,
                                const at_prices *file_prices, const at_price_fetch *fetch,
                                const at_policy *policy, uint64_t wall, at_prices *fetched,
                                const at_prices **prices, custos_error *err)
{
    memset(fetched, 0, sizeof *fetched);
    *prices = file_prices;
    if (file_prices != NULL)
        return CUSTOS_OK;
    at_price_report report;
    memset(&report, 0, sizeof report);
    custos_rc rc = at_price_merge(fetch, account, policy, wall, fetched, &report, err);
    for (size_t i = 0; i < report.n_drops; i++)
        run_log("account=%s price dropped asset=%s source=%zu reason=%s: %s", account->ref,
                report.drops[i].asset, report.drops[i].source,
                at_drop_reason_name(report.drops[i].reason), report.drops[i].detail);
    at_run_metrics_drops(&st->metrics, &report);
    at_price_report_free(&report);
    *prices = fetched;
    return rc;
}

/* Values every account of h into es (n = h->n_accounts), with the prices file or this
 * cycle's fetch, and the oldest price time into r->as_of. */
static custos_rc reserves_value(run_state *st, const at_holdings *h,
                                const at_prices *file_prices, const at_price_fetch *fetch,
                                const at_policy *policy, uint64_t wall,
                                custos_reserves_entry *es, custos_reserves *r,
                                custos_error *err)
{
    r->as_of = UINT64_MAX;
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < h->n_accounts; i++) {
        at_prices fetched;
        const at_prices *prices;
        rc = account_prices(st, &h->accounts[i], file_prices, fetch, policy, wall, &fetched,
                            &prices, err);
        at_valuation v;
        memset(&v, 0, sizeof v);
        if (rc == CUSTOS_OK)
            rc = at_valuation_compute(&h->accounts[i], prices, policy, wall, &v, err);
        if (rc == CUSTOS_OK) {
            custos_account_id(h->custodian, h->accounts[i].ref, es[i].account);
            es[i].collateral_value = v.collateral;
            if (v.as_of < r->as_of)
                r->as_of = v.as_of;
        }
        at_valuation_clear(&v);
        at_prices_free(&fetched);
    }
    return rc;
}

static void reserves_cycle(run_state *st, const at_holdings *h, const at_prices *file_prices,
                           const at_price_fetch *fetch, const at_policy *policy)
{
    custos_error err;
    custos_reserves r;
    memset(&r, 0, sizeof r);
    custos_reserves_entry *es = NULL;
    uint64_t wall = 0;
    custos_rc rc = at_context_clock(&wall, &err);
    if (rc == CUSTOS_OK && h->n_accounts == 0)
        rc = custos_error_set(&err, CUSTOS_ERR_INVALID, "%s: no accounts", st->conf.holdings);
    if (rc == CUSTOS_OK) {
        es = calloc(h->n_accounts, sizeof *es);
        if (es == NULL)
            rc = custos_error_set(&err, CUSTOS_ERR_NOMEM, "out of memory");
    }
    if (rc == CUSTOS_OK)
        rc = reserves_value(st, h, file_prices, fetch, policy, wall, es, &r, &err);
    if (rc == CUSTOS_OK)
        rc = custos_reserves_summarise(es, h->n_accounts, &r, &err);
    custos_feed_id(st->conf.ctx.feed, r.feed_id);
    if (rc == CUSTOS_OK)
        rc = at_seqstate_next(st->conf.state, r.feed_id, &r.sequence, &err);
    custos_signature sig;
    if (rc == CUSTOS_OK) {
        uint8_t digest[32];
        custos_reserves_digest(&st->conf.ctx.domain, &r, digest);
        rc = at_signer_sign(&st->signer, digest, &sig, &err);
    }
    custos_client *client = NULL;
    const at_gateway gw = run_gateway(st);
    if (rc == CUSTOS_OK)
        rc = at_gateway_connect(&gw, AT_RUN_CALL_TIMEOUT_MS, &client, &err);
    bool duplicate = false;
    if (rc == CUSTOS_OK)
        rc = custos_client_submit_reserves(client, st->conf.ctx.feed, &st->conf.ctx.domain, &r,
                                           &sig, 1, es, h->n_accounts, &duplicate, NULL, &err);
    custos_client_free(client);
    free(es);
    if (rc != CUSTOS_OK)
        run_log("reserves not delivered: %s", err.message);
    else
        run_log("reserves accepted sequence=%llu accounts=%llu", (unsigned long long)r.sequence,
                (unsigned long long)r.accounts);
}

/* Whether a fresh valuation s of an account needs attesting. */
static const char *attest_cause(run_state *st, const custos_submission *s, uint64_t wall)
{
    const run_last *l = last_find(st, s->att.account);
    if (l == NULL)
        return "start";
    if (memcmp(l->beneficiary, s->att.beneficiary, CUSTOS_ADDRESS_LEN) != 0 ||
        custos_u256_cmp(&l->gross, &s->att.gross_value) != 0 ||
        custos_u256_cmp(&l->collateral, &s->att.collateral_value) != 0 ||
        memcmp(l->root, s->att.positions_root, CUSTOS_HASH_LEN) != 0)
        return "change";
    if (l->valid_until <= wall + st->conf.interval_seconds)
        return "expiry";
    if (mono_now() - l->signed_at >= st->conf.heartbeat_seconds)
        return "heartbeat";
    return NULL;
}

/* Values, and if needed signs and spools, one account. */
static void attest_account(run_state *st, const at_holdings *h, const at_account *account,
                           const at_prices *file_prices, const at_price_fetch *fetch,
                           const at_policy *policy)
{
    custos_submission s;
    memset(&s, 0, sizeof s);
    memcpy(s.feed, st->conf.ctx.feed, sizeof s.feed);
    s.domain = st->conf.ctx.domain;
    custos_error err;
    uint8_t id[CUSTOS_HASH_LEN];
    custos_account_id(h->custodian, account->ref, id);
    bool waiting;
    custos_rc rc = at_spool_has_account(st->conf.spool, id, &waiting, &err);
    if (rc == CUSTOS_OK && waiting) {
        run_log("account=%s not valued: an earlier attestation waits in the spool",
                account->ref);
        return;
    }
    uint64_t wall = 0;
    if (rc == CUSTOS_OK)
        rc = at_context_clock(&wall, &err);
    at_prices fetched;
    memset(&fetched, 0, sizeof fetched);
    const at_prices *prices = file_prices;
    if (rc == CUSTOS_OK)
        rc = account_prices(st, account, file_prices, fetch, policy, wall, &fetched, &prices,
                            &err);
    at_position_detail *details = NULL;
    if (rc == CUSTOS_OK)
        rc = at_valuation_attestation(h->custodian, account, prices, policy, wall, &s, &details,
                                      &err);
    free(details);
    at_prices_free(&fetched);
    if (rc == CUSTOS_OK && st->conf.registry[0] != '\0')
        rc = at_pledge_check(st->conf.registry, account->ref, s.att.beneficiary, &err);
    const char *cause = NULL;
    if (rc == CUSTOS_OK)
        cause = attest_cause(st, &s, wall);
    if (rc == CUSTOS_OK && cause != NULL)
        rc = at_seqstate_next(st->conf.state, s.att.account, &s.att.sequence, &err);
    if (rc == CUSTOS_OK && cause != NULL) {
        uint8_t digest[32];
        custos_attestation_digest(&s.domain, &s.att, digest);
        rc = at_signer_sign(&st->signer, digest, &s.sigs[0], &err);
        s.n_sigs = 1;
    }
    /* Spooled before the first submission: a signed attestation is never lost. */
    if (rc == CUSTOS_OK && cause != NULL)
        rc = at_spool_put(st->conf.spool, &s, &err);
    if (rc != CUSTOS_OK)
        run_log("account=%s not attested: %s", account->ref, err.message);
    else if (cause != NULL)
        run_log("signed account=%s sequence=%llu cause=%s", account->ref,
                (unsigned long long)s.att.sequence, cause);
    custos_submission_clear(&s);
}

/* Batch mode (runconf "batch"): values the whole book, and when one of its accounts needs
 * attesting (attest_cause) signs the whole book as one batch (batchbook.h) and spools it
 * before its first submission. Nothing is signed while a batch waits in the spool, so
 * batch sequences reach the gateway in order. */
static void batch_cycle(run_state *st, const at_holdings *h, const at_prices *file_prices,
                        const at_price_fetch *fetch, const at_policy *policy)
{
    custos_error err;
    char(*names)[AT_BATCH_SPOOL_NAME_LEN] = NULL;
    size_t waiting = 0;
    custos_rc rc = at_batch_spool_list(st->conf.spool, &names, &waiting, &err);
    free(names);
    if (rc == CUSTOS_OK && waiting > 0) {
        run_log("book not valued: an earlier batch waits in the spool");
        return;
    }
    uint64_t wall = 0;
    if (rc == CUSTOS_OK)
        rc = at_context_clock(&wall, &err);
    at_batch_book b;
    memset(&b, 0, sizeof b);
    at_price_report report;
    memset(&report, 0, sizeof report);
    if (rc == CUSTOS_OK)
        rc = at_batch_book_value(&b, h, file_prices, fetch, policy,
                                 st->conf.registry[0] != '\0' ? st->conf.registry : NULL, wall,
                                 &report, &err);
    for (size_t i = 0; i < report.n_drops; i++)
        run_log("price dropped asset=%s source=%zu reason=%s: %s", report.drops[i].asset,
                report.drops[i].source, at_drop_reason_name(report.drops[i].reason),
                report.drops[i].detail);
    at_run_metrics_drops(&st->metrics, &report);
    at_price_report_free(&report);
    /* The first account that needs attesting names the cause; the batch holds them all. */
    const char *cause = NULL;
    for (size_t i = 0; rc == CUSTOS_OK && i < b.n && cause == NULL; i++)
        cause = attest_cause(st, &b.subs[i], wall);
    if (rc == CUSTOS_OK && cause != NULL)
        rc = at_batch_book_sign(&b, &st->conf.ctx, st->conf.state, &st->signer, &err);
    /* Spooled before the first submission: a signed batch is never lost. */
    if (rc == CUSTOS_OK && cause != NULL)
        rc = at_batch_spool_put(st->conf.spool, &b, &st->conf.ctx, &err);
    if (rc != CUSTOS_OK)
        run_log("book not attested as a batch: %s", err.message);
    else if (cause != NULL)
        run_log("signed batch sequence=%llu accounts=%zu cause=%s",
                (unsigned long long)b.batch.sequence, b.n, cause);
    at_batch_book_free(&b);
}

/* Warns, at most once a day, when the policy's bond-market calendar ends within 90 days:
 * from then on nothing can be valued (README, The bond-market calendar). */
static void calendar_check(run_state *st, const at_policy *policy)
{
    at_run_metrics_calendar(&st->metrics, &policy->calendar);
    uint64_t until = st->metrics.calendar_covered_until, wall = 0;
    custos_error err;
    if (until == 0 || at_context_clock(&wall, &err) != CUSTOS_OK ||
        wall + AT_RUN_CALENDAR_WARN_SECONDS < until)
        return;
    uint64_t now = mono_now();
    if (st->calendar_warned != 0 && now - st->calendar_warned < AT_RUN_CALENDAR_WARN_EVERY)
        return;
    st->calendar_warned = now;
    run_log("warning: the bond-market calendar %s ends at %llu (in %llu days): add SIFMA's "
            "next year to it before then, or nothing will be valued",
            policy->calendar.source, (unsigned long long)until,
            (unsigned long long)(until > wall ? (until - wall) / 86400 : 0));
}

/* Every price source, once for the whole cycle (f points at the config's URLs); the ones
 * that fail are logged. */
static custos_rc fetch_sources(run_state *st, const at_policy *policy, at_price_fetch *f,
                               custos_error *err)
{
    const char *urls[AT_PRICE_SOURCES_MAX];
    for (size_t i = 0; i < st->conf.n_sources; i++)
        urls[i] = st->conf.sources[i];
    custos_rc rc = at_price_fetch_all(urls, st->conf.n_sources,
                                      st->conf.price_ca[0] != '\0' ? st->conf.price_ca : NULL,
                                      policy, f, err);
    if (rc != CUSTOS_OK)
        return rc;
    for (size_t i = 0; i < f->n; i++)
        if (!f->answered[i])
            run_log("price source unavailable source=%zu: %s", i, f->failure[i]);
    at_run_metrics_fetch(&st->metrics, f);
    return CUSTOS_OK;
}

/* reserves: also (or only) the reserves attestation of every account. */
static void valuation_cycle(run_state *st, bool attest, bool reserves)
{
    at_holdings h;
    at_policy policy;
    at_prices prices;
    at_price_fetch fetch;
    memset(&policy, 0, sizeof policy);
    memset(&prices, 0, sizeof prices);
    memset(&fetch, 0, sizeof fetch);
    custos_error err;
    custos_rc rc = at_holdings_load(st->conf.holdings, &h, &err);
    if (rc != CUSTOS_OK) {
        run_log("cycle skipped: %s", err.message);
        return;
    }
    rc = at_policy_load(st->conf.policy, &policy, &err);
    if (rc == CUSTOS_OK)
        calendar_check(st, &policy);
    bool from_file = st->conf.prices[0] != '\0';
    if (rc == CUSTOS_OK && from_file)
        rc = at_prices_load(st->conf.prices, &prices, &err);
    else if (rc == CUSTOS_OK)
        rc = fetch_sources(st, &policy, &fetch, &err);
    if (rc != CUSTOS_OK) {
        run_log("cycle skipped: %s", err.message);
    } else {
        const at_prices *file_prices = from_file ? &prices : NULL;
        if (reserves && !stop_requested)
            reserves_cycle(st, &h, file_prices, &fetch, &policy);
        if (attest && st->conf.batch && !stop_requested) {
            batch_cycle(st, &h, file_prices, &fetch, &policy);
            drain(st);
        }
        for (size_t i = 0; attest && !st->conf.batch && i < h.n_accounts && !stop_requested;
             i++) {
            attest_account(st, &h, &h.accounts[i], file_prices, &fetch, &policy);
            drain(st);
        }
    }
    uint64_t wall = 0;
    if (st->conf.metrics_textfile[0] != '\0' && at_context_clock(&wall, &err) == CUSTOS_OK &&
        at_run_metrics_write(&st->metrics, st->conf.metrics_textfile, wall, &err) != CUSTOS_OK)
        run_log("metrics not written: %s", err.message);
    at_price_fetch_free(&fetch);
    at_prices_free(&prices);
    at_policy_free(&policy);
    at_holdings_free(&h);
}

static void run_loop(run_state *st)
{
    uint64_t next_cycle = 0, next_reserves = 0;
    uint64_t reserves_every = st->conf.reserves_interval_seconds;
    while (!stop_requested) {
        drain(st);
        bool changed = holdings_changed(st);
        uint64_t now = mono_now();
        bool attest = changed || now >= next_cycle;
        bool reserves = reserves_every > 0 && now >= next_reserves;
        if (!stop_requested && (attest || reserves)) {
            if (changed && next_cycle != 0)
                run_log("holdings changed: %s", st->conf.holdings);
            valuation_cycle(st, attest, reserves);
            if (attest)
                next_cycle = mono_now() + st->conf.interval_seconds;
            if (reserves)
                next_reserves = mono_now() + reserves_every;
        }
        /* A signal interrupts the sleep (no SA_RESTART), so a stop is seen at once. */
        struct timespec one = {1, 0};
        if (!stop_requested)
            (void)nanosleep(&one, NULL);
    }
}

typedef struct run_args {
    const char *config;
} run_args;

static const clopt run_options[] = {
    {"config", "FILE.json", CLOPT_STR, offsetof(run_args, config),
     "the daemon's config: gateway, holdings, prices, policy, key, spool, interval"},
    {0}};
static const clopt_set run_sets[] = {{run_options, 0}};
static const clopt_rule run_rules[] = {{CLOPT_REQUIRED, {"config"}, NULL}};
static const clopt_command run_cmd = {
    .name = "run",
    .usage = "usage: custos-attestor run --config FILE.json",
    .summary = "the daemon: re-values, signs, spools and submits every account on an interval "
               "and when the holdings change, until SIGTERM or SIGINT",
    .sets = run_sets,
    .n_sets = CLOPT_N(run_sets),
    .rules = run_rules,
    .n_rules = CLOPT_N(run_rules)};

static custos_rc open_signer(run_state *st, custos_error *err)
{
    const at_runconf *c = &st->conf;
    at_key_spec key = {0};
    if (c->pkcs11_module[0] == '\0') {
        key.file = c->key;
    } else {
        key.p11.module = c->pkcs11_module;
        key.p11.token = c->pkcs11_token;
        key.p11.key = c->pkcs11_key;
        key.p11.pin_file = c->pkcs11_pin_file[0] != '\0' ? c->pkcs11_pin_file : NULL;
    }
    return at_signer_open(&st->signer, &key, err);
}

int at_cmd_run(int argc, char **argv)
{
    run_args a = {0};
    int status;
    if (!at_cmd_args(&run_cmd, argc, argv, &a, NULL, &status))
        return status;
    run_state *st = calloc(1, sizeof *st);
    if (st == NULL) {
        at_cmd_error("run: out of memory");
        return AT_EXIT_INPUT;
    }
    custos_error err;
    custos_rc rc = at_runconf_load(a.config, &st->conf, &err);
    if (rc == CUSTOS_OK)
        rc = at_spool_open(st->conf.spool, &err);
    if (rc == CUSTOS_OK && st->conf.batch)
        rc = at_batch_spool_open(st->conf.spool, &err);
    if (rc == CUSTOS_OK)
        rc = open_signer(st, &err);
    if (rc != CUSTOS_OK) {
        at_cmd_error("run: %s", err.message);
        free(st);
        return AT_EXIT_INPUT;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    if (sigemptyset(&sa.sa_mask) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGINT, &sa, NULL) != 0) {
        at_cmd_error("run: cannot install signal handlers: %s", strerror(errno));
        at_signer_close(&st->signer);
        free(st);
        return AT_EXIT_INPUT;
    }
    const char *urls[AT_PRICE_SOURCES_MAX];
    for (size_t i = 0; i < st->conf.n_sources; i++)
        urls[i] = st->conf.sources[i];
    at_run_metrics_init(&st->metrics, urls, st->conf.n_sources);
    run_log("started gateway=%s holdings=%s spool=%s interval=%llus", st->conf.gateway,
            st->conf.holdings, st->conf.spool, (unsigned long long)st->conf.interval_seconds);
    run_loop(st);
    run_log("stopped");
    at_signer_close(&st->signer);
    free(st->last);
    free(st);
    return AT_EXIT_OK;
}
