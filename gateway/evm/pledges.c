/* The pledge registry and the adapter's breaker read from the chain (pledges.h). */
#include "evm/pledges.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "custos/sig.h"

#include "evm/evm_abi.h"
#include "evm/evm_rpc.h"
#include "evm/pledge_reads.h"

/* A connection that cannot be made in this time will not be made in time for the call. */
#define PLEDGES_CONNECT_MAX_MS 2000L

struct gw_pledges {
    /* [evm] rpc_url's nodes, in order of preference: a read that cannot reach one tries the
     * next (docs/publishing.md §8), so the release check fails over like the publisher. */
    char urls[GW_EVM_MAX_NODES][GW_EVM_URL_MAX];
    size_t n_urls;
    uint8_t adapter[CUSTOS_ADDRESS_LEN];
    long timeout_ms;
    pthread_mutex_t lock; /* guards registry and known */
    uint8_t registry[CUSTOS_ADDRESS_LEN];
    bool known;           /* registry read and non-zero: installPledges is final */

    /* gw_pledges_read's one read at a time: rlock guards the rest. */
    pthread_mutex_t rlock;
    pthread_cond_t work;
    pthread_t reader;
    bool reading;  /* a read was taken and its fn has not returned yet */
    bool stopping;
    uint8_t account[CUSTOS_HASH_LEN];
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN];
    gw_pledge_read_fn fn;
    void *ctx;
};

static void *pledges_reader(void *arg);

custos_rc gw_pledges_new(const gw_evm_config *evm, gw_pledges **out, custos_error *err)
{
    *out = NULL;
    gw_pledges *p = calloc(1, sizeof *p);
    if (p == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "pledges: out of memory");
    memcpy(p->urls, evm->rpc_urls, sizeof p->urls);
    p->n_urls = evm->n_rpc_urls;
    memcpy(p->adapter, evm->adapter, CUSTOS_ADDRESS_LEN);
    p->timeout_ms = (long)evm->exposure_timeout_ms;
    int made = 0;
    if (pthread_mutex_init(&p->lock, NULL) == 0)
        made++;
    if (made == 1 && pthread_mutex_init(&p->rlock, NULL) == 0)
        made++;
    if (made == 2 && pthread_cond_init(&p->work, NULL) == 0)
        made++;
    if (made == 3 && pthread_create(&p->reader, NULL, pledges_reader, p) == 0)
        made++;
    if (made < 4) {
        if (made > 2)
            pthread_cond_destroy(&p->work);
        if (made > 1)
            pthread_mutex_destroy(&p->rlock);
        if (made > 0)
            pthread_mutex_destroy(&p->lock);
        free(p);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "pledges: cannot start the thread that reads pledges");
    }
    *out = p;
    return CUSTOS_OK;
}

void gw_pledges_free(gw_pledges *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->rlock);
    p->stopping = true;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->rlock);
    pthread_join(p->reader, NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->rlock);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static custos_rc pledges_client(const gw_pledges *p, size_t node, evm_rpc **out,
                                custos_error *err)
{
    evm_rpc_options opt = {
        .url = p->urls[node],
        .connect_timeout_ms = p->timeout_ms < PLEDGES_CONNECT_MAX_MS ? p->timeout_ms
                                                                     : PLEDGES_CONNECT_MAX_MS,
        .timeout_ms = p->timeout_ms,
    };
    return evm_rpc_new(&opt, out, err);
}

/* The registry the adapter asks about releases; *installed false when it has none. */
static custos_rc pledges_registry(gw_pledges *p, evm_rpc *rpc, uint8_t out[CUSTOS_ADDRESS_LEN],
                                  bool *installed, custos_error *err)
{
    pthread_mutex_lock(&p->lock);
    bool known = p->known;
    memcpy(out, p->registry, CUSTOS_ADDRESS_LEN);
    pthread_mutex_unlock(&p->lock);
    *installed = known;
    if (known)
        return CUSTOS_OK;
    custos_rc rc = evm_pledge_registry(rpc, p->adapter, out, installed, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (*installed) {
        pthread_mutex_lock(&p->lock);
        memcpy(p->registry, out, CUSTOS_ADDRESS_LEN);
        p->known = true;
        pthread_mutex_unlock(&p->lock);
    }
    return CUSTOS_OK;
}

static custos_rc pledges_release_blocked_at(gw_pledges *p, size_t node,
                                           const uint8_t account[CUSTOS_HASH_LEN],
                                           const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                           uint64_t sequence, gw_exposure *out,
                                           custos_error *err)
{
    memset(out, 0, sizeof *out);
    out->readable = true;
    evm_rpc *rpc = NULL;
    custos_rc rc = pledges_client(p, node, &rpc, err);
    uint8_t registry[CUSTOS_ADDRESS_LEN];
    if (rc == CUSTOS_OK)
        rc = pledges_registry(p, rpc, registry, &out->installed, err);
    if (rc == CUSTOS_OK && out->installed)
        rc = evm_pledge_exposure(rpc, registry, account, beneficiary, sequence, out, err);
    evm_rpc_free(rpc);
    return rc;
}

custos_rc gw_pledges_release_blocked(gw_pledges *p, const uint8_t account[CUSTOS_HASH_LEN],
                                     const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                     uint64_t sequence, gw_exposure *out, custos_error *err)
{
    custos_rc rc = CUSTOS_ERR_UNAVAILABLE;
    for (size_t i = 0; i < p->n_urls && rc == CUSTOS_ERR_UNAVAILABLE; i++)
        rc = pledges_release_blocked_at(p, i, account, beneficiary, sequence, out, err);
    return rc;
}

static custos_rc pledges_breaker_at(gw_pledges *p, size_t node,
                                    const uint8_t feed_id[CUSTOS_HASH_LEN],
                                    const uint8_t account[CUSTOS_HASH_LEN],
                                    evm_breaker_view *out, custos_error *err)
{
    evm_rpc *rpc = NULL;
    custos_rc rc = pledges_client(p, node, &rpc, err);
    if (rc == CUSTOS_OK)
        rc = evm_breaker_read(rpc, p->adapter, feed_id, account, out, err);
    evm_rpc_free(rpc);
    return rc;
}

custos_rc gw_pledges_breaker(gw_pledges *p, const uint8_t feed_id[CUSTOS_HASH_LEN],
                             const uint8_t account[CUSTOS_HASH_LEN], evm_breaker_view *out,
                             custos_error *err)
{
    custos_rc rc = CUSTOS_ERR_UNAVAILABLE;
    for (size_t i = 0; i < p->n_urls && rc == CUSTOS_ERR_UNAVAILABLE; i++)
        rc = pledges_breaker_at(p, i, feed_id, account, out, err);
    return rc;
}

static custos_rc pledges_get_at(gw_pledges *p, size_t node,
                                const uint8_t account[CUSTOS_HASH_LEN],
                                const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                gw_pledge_info *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    evm_rpc *rpc = NULL;
    bool installed = false;
    custos_rc rc = pledges_client(p, node, &rpc, err);
    if (rc == CUSTOS_OK)
        rc = pledges_registry(p, rpc, out->registry, &installed, err);
    if (rc == CUSTOS_OK && !installed)
        rc = custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                              "the adapter has no pledge registry installed: nothing is pledged "
                              "on-chain");
    evm_pledge_view v;
    memset(&v, 0, sizeof v);
    if (rc == CUSTOS_OK)
        rc = evm_pledge_view_read(rpc, out->registry, account, beneficiary, &v, err);
    memcpy(out->receipt, v.receipt, CUSTOS_ADDRESS_LEN);
    memcpy(out->oracle, v.oracle, CUSTOS_ADDRESS_LEN);
    memcpy(out->feed, v.feed, CUSTOS_ADDRESS_LEN);
    memcpy(out->market_id, v.market_id, CUSTOS_HASH_LEN);
    memcpy(out->borrower, v.borrower, CUSTOS_ADDRESS_LEN);
    memcpy(out->lender, v.lender, CUSTOS_ADDRESS_LEN);
    memcpy(out->agent, v.agent, CUSTOS_ADDRESS_LEN);
    out->ended = v.ended;
    out->consented_sequence = v.consented_sequence;
    out->exposure.installed = installed;
    if (rc == CUSTOS_OK)
        rc = evm_pledge_exposure(rpc, out->registry, account, beneficiary, 0, &out->exposure,
                                 err);
    out->exposure.blocked = evm_pledge_blocked_now(&v, &out->exposure);
    evm_rpc_free(rpc);
    return rc;
}

custos_rc gw_pledges_read(gw_pledges *p, const uint8_t account[CUSTOS_HASH_LEN],
                          const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], gw_pledge_read_fn fn,
                          void *ctx, custos_error *err)
{
    pthread_mutex_lock(&p->rlock);
    bool stopping = p->stopping;
    bool taken = !p->reading && !stopping;
    if (taken) {
        p->reading = true;
        memcpy(p->account, account, CUSTOS_HASH_LEN);
        memcpy(p->beneficiary, beneficiary, CUSTOS_ADDRESS_LEN);
        p->fn = fn;
        p->ctx = ctx;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->rlock);
    if (stopping)
        return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE, "the gateway is stopping");
    if (!taken)
        return custos_error_set(err, CUSTOS_ERR_UNAVAILABLE,
                                "another pledge is being read from the chain; retry");
    return CUSTOS_OK;
}

/* The thread of gw_pledges_read. A read taken before gw_pledges_free is done and answered
 * before the thread stops: every caller whose read was taken hears from it. */
static void *pledges_reader(void *arg)
{
    gw_pledges *p = arg;
    /* Named for top -H and perf, like every thread of the gateway; a name is cosmetic. */
    (void)pthread_setname_np(pthread_self(), "custos-pledges");
    pthread_mutex_lock(&p->rlock);
    for (;;) {
        while (!p->reading && !p->stopping)
            pthread_cond_wait(&p->work, &p->rlock);
        if (!p->reading)
            break;
        uint8_t account[CUSTOS_HASH_LEN], beneficiary[CUSTOS_ADDRESS_LEN];
        memcpy(account, p->account, sizeof account);
        memcpy(beneficiary, p->beneficiary, sizeof beneficiary);
        gw_pledge_read_fn fn = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->rlock);

        gw_pledge_info info;
        memset(&info, 0, sizeof info);
        custos_error err;
        custos_error_clear(&err);
        custos_rc rc = CUSTOS_ERR_UNAVAILABLE;
        for (size_t i = 0; i < p->n_urls && rc == CUSTOS_ERR_UNAVAILABLE; i++)
            rc = pledges_get_at(p, i, account, beneficiary, &info, &err);
        fn(ctx, account, beneficiary, rc, &info, &err);

        pthread_mutex_lock(&p->rlock);
        p->reading = false;
    }
    pthread_mutex_unlock(&p->rlock);
    return NULL;
}
