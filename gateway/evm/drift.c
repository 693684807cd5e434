/* The gateway's allow-list and registry compared with the adapter's (drift.h). */
#include "evm/drift.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evm/drift_onchain.h"
#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/evm_view.h"
#include "evm/publisher.h"
#include "log.h"
#include "monotonic.h"

/* A connection that cannot be made in this time will not be made for the check either. */
#define DRIFT_CONNECT_MAX_MS 2000L
/* The adapter's signer status (CustosAdapter.signer): 1 active. */
#define DRIFT_STATUS_ACTIVE 1u

struct gw_drift {
    gw_evm_config evm;
    gw_registry *reg;
    pthread_mutex_t lock;  /* guards the report and stop */
    pthread_cond_t wake;
    bool stop;
    pthread_t thread;
    gw_drift_report report;
    uint64_t logged_total; /* the allow-list differences the last line reported */
    gw_drift_seen seen;    /* what the adapter's logs list; the drift thread's own */
};

void gw_drift_report_clear(gw_drift_report *r)
{
    free(r->feeds);
    memset(r, 0, sizeof *r);
}

static gw_drift_feed *drift_feed(gw_drift_report *out, const char *name)
{
    for (size_t i = 0; i < out->n_feeds; i++)
        if (strcmp(out->feeds[i].feed, name) == 0)
            return &out->feeds[i];
    return NULL;
}

/* Whether key's signatures count on-chain for the feed now (*valid), and its role. */
static custos_rc drift_chain_signer(evm_rpc *rpc, const gw_evm_config *evm,
                                    const uint8_t feed_id[CUSTOS_HASH_LEN],
                                    const uint8_t key[CUSTOS_ADDRESS_LEN], uint64_t now,
                                    bool *valid, uint64_t *role_out, custos_error *err)
{
    evm_abi_value args[2] = {evm_abi_bytes32(feed_id), evm_abi_address(key)};
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc = evm_view_call(rpc, evm->adapter, "signer(bytes32,address)", args, 2, &ret,
                                 &len, NULL, err);
    uint64_t status = 0, role = 0, retires_at = 0;
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint64(ret, len, 0, 8, &status, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint64(ret, len, 1, 8, &role, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_uint64(ret, len, 2, 64, &retires_at, err);
    free(ret);
    if (rc != CUSTOS_OK)
        return rc;
    *valid = status == DRIFT_STATUS_ACTIVE && (retires_at == 0 || now < retires_at);
    *role_out = role;
    return CUSTOS_OK;
}

/* Whether signer s counts at the gateway and on-chain alike, with the same role. */
static custos_rc drift_signer(evm_rpc *rpc, const gw_evm_config *evm, const gw_signer *s,
                              uint64_t now, bool *differs, custos_error *err)
{
    uint8_t feed_id[CUSTOS_HASH_LEN];
    gw_publisher_feed_id(s->feed, feed_id);
    bool chain_valid = false;
    uint64_t role = 0;
    custos_rc rc = drift_chain_signer(rpc, evm, feed_id, s->address, now, &chain_valid, &role,
                                      err);
    if (rc != CUSTOS_OK)
        return rc;
    bool gateway_valid = gw_signer_valid_at(s, now);
    *differs = chain_valid != gateway_valid ||
               (chain_valid && role != (uint64_t)s->role);
    return CUSTOS_OK;
}

/* The feed the adapter registers account to now (zero: none). */
static custos_rc drift_chain_account(evm_rpc *rpc, const gw_evm_config *evm,
                                     const uint8_t account[CUSTOS_HASH_LEN],
                                     uint8_t feed_id[EVM_ABI_WORD], custos_error *err)
{
    evm_abi_value args[1] = {evm_abi_bytes32(account)};
    uint8_t *ret = NULL;
    size_t len = 0;
    custos_rc rc = evm_view_call(rpc, evm->adapter, "accountFeedId(bytes32)", args, 1, &ret,
                                 &len, NULL, err);
    if (rc == CUSTOS_OK)
        rc = evm_abi_get_word(ret, len, 0, feed_id, err);
    free(ret);
    return rc;
}

/* Whether the adapter registers account a to the same feed. */
static custos_rc drift_account(evm_rpc *rpc, const gw_evm_config *evm, const gw_account *a,
                               bool *differs, custos_error *err)
{
    uint8_t feed_id[CUSTOS_HASH_LEN], chain_id[EVM_ABI_WORD];
    gw_publisher_feed_id(a->feed, feed_id);
    custos_rc rc = drift_chain_account(rpc, evm, a->account, chain_id, err);
    if (rc == CUSTOS_OK)
        *differs = memcmp(chain_id, feed_id, CUSTOS_HASH_LEN) != 0;
    return rc;
}

/* The report's entry of the configured feed whose id is feed_id; NULL for a feed the
 * gateway does not configure (not its to report). */
static gw_drift_feed *drift_feed_by_id(const gw_policy *policy, gw_drift_report *out,
                                       const uint8_t feed_id[CUSTOS_HASH_LEN])
{
    for (size_t i = 0; i < policy->n_feeds && i < out->n_feeds; i++) {
        uint8_t id[CUSTOS_HASH_LEN];
        gw_publisher_feed_id(policy->feeds[i].name, id);
        if (memcmp(id, feed_id, CUSTOS_HASH_LEN) == 0)
            return &out->feeds[i];
    }
    return NULL;
}

static bool drift_gateway_lists(const gw_policy *policy, const char *feed,
                                const uint8_t key[CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < policy->n_signers; i++)
        if (strcmp(policy->signers[i].feed, feed) == 0 &&
            memcmp(policy->signers[i].address, key, CUSTOS_ADDRESS_LEN) == 0)
            return true;
    return false;
}

/* Rule 10's other half: keys and accounts the adapter lists (drift_onchain.h) that the
 * gateway does not, counted to their feed when they count on-chain now: a key whose
 * signatures the adapter takes, an account it registers to a configured feed. */
static custos_rc drift_onchain_only(evm_rpc *rpc, const gw_evm_config *evm,
                                    const gw_policy *policy, const gw_drift_seen *seen,
                                    uint64_t now, gw_drift_report *out, custos_error *err)
{
    custos_rc rc = CUSTOS_OK;
    for (size_t i = 0; rc == CUSTOS_OK && i < seen->n_keys; i++) {
        const gw_drift_key *k = &seen->keys[i];
        gw_drift_feed *f = drift_feed_by_id(policy, out, k->feed_id);
        if (f == NULL || drift_gateway_lists(policy, f->feed, k->key))
            continue;
        bool valid = false;
        uint64_t role = 0;
        rc = drift_chain_signer(rpc, evm, k->feed_id, k->key, now, &valid, &role, err);
        if (rc == CUSTOS_OK && valid)
            f->signers++;
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < seen->n_accounts; i++) {
        if (gw_policy_find_account(policy, seen->accounts[i]) != NULL)
            continue;
        uint8_t chain_id[EVM_ABI_WORD];
        rc = drift_chain_account(rpc, evm, seen->accounts[i], chain_id, err);
        gw_drift_feed *f = rc == CUSTOS_OK ? drift_feed_by_id(policy, out, chain_id) : NULL;
        if (f != NULL)
            f->accounts++;
    }
    return rc;
}

static custos_rc drift_check_at(const gw_evm_config *evm, size_t node, const gw_policy *policy,
                                uint64_t now, gw_drift_seen *seen, gw_drift_report *out,
                                custos_error *err)
{
    evm_rpc_options opt = {
        .url = evm->rpc_urls[node],
        .connect_timeout_ms = (long)evm->exposure_timeout_ms < DRIFT_CONNECT_MAX_MS
                                  ? (long)evm->exposure_timeout_ms
                                  : DRIFT_CONNECT_MAX_MS,
        .timeout_ms = (long)evm->exposure_timeout_ms,
    };
    evm_rpc *rpc = NULL;
    custos_rc rc = evm_rpc_new(&opt, &rpc, err);
    for (size_t i = 0; i < out->n_feeds; i++)
        out->feeds[i].signers = out->feeds[i].accounts = 0;
    for (size_t i = 0; rc == CUSTOS_OK && i < policy->n_feeds && i < out->n_feeds; i++) {
        gw_drift_feed *f = &out->feeds[i];
        custos_error why;
        custos_error_clear(&why);
        f->policy_error[0] = '\0';
        rc = gw_drift_policy_check(rpc, evm->adapter, &policy->feeds[i], now, f->policy, &why);
        if (rc == CUSTOS_ERR_UNAVAILABLE || rc == CUSTOS_ERR_NOMEM) {
            if (err != NULL)
                *err = why;
        } else if (rc != CUSTOS_OK) {
            /* This feed's policy alone: the allow-list is still worth comparing. */
            memset(f->policy, 0, sizeof f->policy);
            snprintf(f->policy_error, sizeof f->policy_error, "%s", why.message);
            rc = CUSTOS_OK;
        }
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < policy->n_signers; i++) {
        bool differs = false;
        rc = drift_signer(rpc, evm, &policy->signers[i], now, &differs, err);
        gw_drift_feed *f = drift_feed(out, policy->signers[i].feed);
        if (rc == CUSTOS_OK && differs && f != NULL)
            f->signers++;
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < policy->n_accounts; i++) {
        bool differs = false;
        rc = drift_account(rpc, evm, &policy->accounts[i], &differs, err);
        gw_drift_feed *f = drift_feed(out, policy->accounts[i].feed);
        if (rc == CUSTOS_OK && differs && f != NULL)
            f->accounts++;
    }
    if (rc == CUSTOS_OK && seen != NULL)
        rc = gw_drift_seen_scan(seen, rpc, evm->adapter, evm->confirmations, err);
    if (rc == CUSTOS_OK && seen != NULL)
        rc = drift_onchain_only(rpc, evm, policy, seen, now, out, err);
    evm_rpc_free(rpc);
    return rc;
}

custos_rc gw_drift_check(const gw_evm_config *evm, const gw_policy *policy, uint64_t now,
                         gw_drift_seen *seen, gw_drift_report *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    out->feeds = calloc(policy->n_feeds > 0 ? policy->n_feeds : 1, sizeof *out->feeds);
    if (out->feeds == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "drift: out of memory");
    out->n_feeds = policy->n_feeds;
    for (size_t i = 0; i < policy->n_feeds; i++)
        memcpy(out->feeds[i].feed, policy->feeds[i].name, sizeof out->feeds[i].feed);
    custos_rc rc = CUSTOS_ERR_UNAVAILABLE;
    for (size_t node = 0; node < evm->n_rpc_urls && rc == CUSTOS_ERR_UNAVAILABLE; node++)
        rc = drift_check_at(evm, node, policy, now, seen, out, err);
    if (rc != CUSTOS_OK) {
        gw_drift_report_clear(out);
        return rc;
    }
    out->checked_at = now;
    if (seen != NULL) {
        out->logs_read_to = seen->next_block > 0 ? seen->next_block - 1 : 0;
        snprintf(out->logs_error, sizeof out->logs_error, "%s", seen->error);
    }
    return CUSTOS_OK;
}

static uint64_t drift_now(void)
{
    time_t now = time(NULL);
    return now > 0 ? (uint64_t)now : 0;
}

static const gw_drift_feed *drift_feed_const(const gw_drift_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_feeds; i++)
        if (strcmp(r->feeds[i].feed, name) == 0)
            return &r->feeds[i];
    return NULL;
}

/* A line for each policy field that drifts now and did not, or with other values, at the
 * last check (was); one when it agrees again. Counted in the gauge either way. A policy
 * that cannot be compared is one line when that starts or its reason changes, and one
 * when it can be again; its fields say nothing meanwhile. */
static void drift_log_policy(const gw_drift_report *was, const gw_drift_report *now)
{
    for (size_t i = 0; i < now->n_feeds; i++) {
        const gw_drift_feed *f = &now->feeds[i];
        const gw_drift_feed *old = drift_feed_const(was, f->feed);
        bool old_unread = old != NULL && old->policy_error[0] != '\0';
        if (f->policy_error[0] != '\0') {
            if (!old_unread || strcmp(old->policy_error, f->policy_error) != 0)
                gw_log(GW_LOG_WARN, "policy_drift",
                       "feed %s: cannot compare its policy with the adapter's (%s); signers "
                       "and accounts are compared all the same",
                       f->feed, f->policy_error);
            continue;
        }
        if (old_unread) {
            gw_log(GW_LOG_INFO, "policy_drift",
                   "feed %s: its policy is compared with the adapter's again", f->feed);
            old = NULL; /* nothing to compare the fields with */
        }
        for (int k = 0; k < GW_POLICY_FIELDS; k++) {
            const gw_policy_value *v = &f->policy[k];
            const gw_policy_value *o = old != NULL ? &old->policy[k] : NULL;
            bool was_drift = o != NULL && o->drift;
            bool same = o != NULL && o->gateway == v->gateway && o->adapter == v->adapter;
            if (v->drift && !was_drift && k == GW_POLICY_FEED_ID)
                gw_log(GW_LOG_WARN, "policy_drift",
                       "feed %s: the adapter does not know this feed (UnknownFeed): it "
                       "refuses every attestation of it",
                       f->feed);
            else if (v->drift && (!was_drift || !same))
                gw_log(GW_LOG_WARN, "policy_drift",
                       "feed %s: %s differs from the adapter's: gateway %llu, adapter %llu",
                       f->feed, gw_policy_field_name((gw_policy_field)k),
                       (unsigned long long)v->gateway, (unsigned long long)v->adapter);
            else if (!v->drift && was_drift)
                gw_log(GW_LOG_INFO, "policy_drift",
                       "feed %s: %s agrees with the adapter's again", f->feed,
                       gw_policy_field_name((gw_policy_field)k));
        }
    }
}

/* One check; its outcome replaces the report (a failed one keeps the last counts and says
 * why). */
static void drift_once(gw_drift *d)
{
    gw_policy *policy = gw_registry_acquire(d->reg);
    gw_drift_report fresh;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_drift_check(&d->evm, policy, drift_now(), &d->seen, &fresh, &err);
    gw_policy_release(policy);
    uint64_t total = 0;
    pthread_mutex_lock(&d->lock);
    bool was_failing = d->report.failing;
    bool logs_news = rc == CUSTOS_OK && fresh.logs_error[0] != '\0' &&
                     strcmp(fresh.logs_error, d->report.logs_error) != 0;
    if (rc == CUSTOS_OK) {
        drift_log_policy(&d->report, &fresh);
        gw_drift_report_clear(&d->report);
        d->report = fresh;
        for (size_t i = 0; i < fresh.n_feeds; i++)
            total += fresh.feeds[i].signers + fresh.feeds[i].accounts;
    } else {
        d->report.failing = true;
        snprintf(d->report.error, sizeof d->report.error, "%s", err.message);
    }
    pthread_mutex_unlock(&d->lock);
    /* Lines when something changes, not at every check while drift lasts: the gauges
     * carry the state. */
    if (rc != CUSTOS_OK && !was_failing)
        gw_log(GW_LOG_WARN, "allowlist_drift",
               "cannot compare the allow-list and the feed policies with the adapter's (%s); "
               "retrying",
               err.message);
    else if (rc == CUSTOS_OK && total != d->logged_total && total > 0)
        gw_log(GW_LOG_WARN, "allowlist_drift",
               "%llu differences between the gateway's signers and accounts and the "
               "adapter's: see custos_allowlist_drift",
               (unsigned long long)total);
    else if (rc == CUSTOS_OK && total != d->logged_total)
        gw_log(GW_LOG_INFO, "allowlist_drift",
               "the gateway's signers and accounts agree with the adapter's again");
    if (rc == CUSTOS_OK)
        d->logged_total = total;
    if (logs_news)
        gw_log(GW_LOG_WARN, "allowlist_drift",
               "%s; the keys and accounts only the adapter lists are looked for there again "
               "at the next check",
               fresh.logs_error);
}

static void *drift_main(void *arg)
{
    gw_drift *d = arg;
    (void)pthread_setname_np(pthread_self(), "custos-drift");
    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        pthread_mutex_unlock(&d->lock);
        drift_once(d);
        pthread_mutex_lock(&d->lock);
        struct timespec until;
        gw_mono_deadline(&until, d->evm.drift_check_seconds * 1000000000u);
        while (!d->stop && pthread_cond_timedwait(&d->wake, &d->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

custos_rc gw_drift_new(const gw_evm_config *evm, gw_registry *reg, gw_drift **out,
                       custos_error *err)
{
    *out = NULL;
    gw_drift *d = calloc(1, sizeof *d);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "drift: out of memory");
    d->evm = *evm;
    d->reg = reg;
    gw_drift_seen_init(&d->seen, evm->drift_from_block);
    /* Not an error (a young chain, a test node), but on a public chain the first check
     * would read millions of blocks' logs. */
    if (evm->drift_from_block == 0)
        gw_log(GW_LOG_WARN, "allowlist_drift",
               "[evm] drift_from_block = 0: the first check reads the adapter's logs from "
               "the chain's first block, %u blocks a call; set it to the adapter's "
               "deployment block (deploy.mjs prints it)",
               GW_DRIFT_LOG_CHUNK);
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "drift: cannot create a lock");
    }
    if (gw_cond_init_monotonic(&d->wake) != 0) {
        pthread_mutex_destroy(&d->lock);
        free(d);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "drift: cannot create a condition");
    }
    if (pthread_create(&d->thread, NULL, drift_main, d) != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "drift: cannot start a thread");
    }
    *out = d;
    return CUSTOS_OK;
}

void gw_drift_free(gw_drift *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    gw_drift_report_clear(&d->report);
    gw_drift_seen_clear(&d->seen);
    free(d);
}

custos_rc gw_drift_snapshot(gw_drift *d, gw_drift_report *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&d->lock);
    *out = d->report;
    out->feeds = NULL;
    out->n_feeds = 0;
    custos_rc rc = CUSTOS_OK;
    if (d->report.n_feeds > 0) {
        out->feeds = calloc(d->report.n_feeds, sizeof *out->feeds);
        if (out->feeds == NULL) {
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "drift: out of memory");
        } else {
            memcpy(out->feeds, d->report.feeds, d->report.n_feeds * sizeof *out->feeds);
            out->n_feeds = d->report.n_feeds;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}
