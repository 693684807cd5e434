/* The EVM publisher: accepted attestations -> CustosAdapter.submit on-chain.
 *
 * Configuration ([evm] in the gateway config): rpc_url, relayer_key (key file of an
 * account that only pays gas; it signs nothing an attestor signed), adapter (must equal
 * [gateway] verifying_contract), confirmations, poll_interval_ms, heartbeat_seconds,
 * deviation_bps, fee_bump_after_seconds, max_fee_gwei, priority_fee_gwei,
 * gas_limit_margin_bps, state. The adapter's feedId of a feed is keccak256(bytes(name)):
 * the owner calls setFeed(keccak256("acme-custody"), ...) for [feed acme-custody].
 *
 * One thread, never on the ingestion path: Submit only commits to the store; this thread
 * reads the accepted log after its persisted follow cursor (gw_engine_read_from), so a
 * slow or dead node delays publication, never acceptance.
 *
 * Policy, per account, Chainlink-style (gw_publisher_decide): publish the first record,
 * every release and freeze, a valuation after a release or freeze, a new beneficiary, a
 * value moved by deviation_bps or more of the last published value, or an asOf
 * heartbeat_seconds or more after the last published one; skip the rest. Within a batch
 * only an account's newest record counts (the contract would refuse an older sequence
 * after a newer one anyway), and freezes are sent first.
 *
 * Sending: signatures ordered by signer address (the contract's distinctness check),
 * eth_estimateGas (a revert means the chain refuses the record: it is stored as failed
 * with the revert data and never retried; Replay(n, n) of our own sequence means it is
 * already there), nonce from eth_getTransactionCount(pending) once and then counted
 * locally, EIP-1559 fees (2 x base fee + tip, capped), signed locally. The fate row, with
 * the raw transaction, is committed (synchronous=FULL) BEFORE eth_sendRawTransaction:
 * after a crash the same bytes are broadcast again, and one nonce lands at most once.
 *
 * Tracking: receipts of every transaction of a sent record (a fee bump replaces it with
 * the same nonce and fees raised by at least 12.5%, capped, stored before it is sent, and
 * either may be mined). Status 1 and blockNumber + confirmations - 1 <= head: confirmed;
 * status 0: failed. A transaction the node no longer knows is broadcast again.
 *
 * Errors of the node or the disk end the current pass; the thread retries after an
 * exponential back-off (0.5 s doubling to 30 s), never busy-looping, never exiting. The
 * follow cursor moves only past records whose fate is durable.
 *
 * Replicas (PostgreSQL store): the state lives in the shared database and only the
 * replica holding the publisher lock (election.h) runs passes; the others ask for the
 * lock every leader_retry_ms. A new leader forgets its counted nonce and reads it again
 * (the node's pending count, raised above every stored SENT transaction), then tracks and
 * rebroadcasts what its predecessor stored: nothing is built twice for one record. */
#include "evm/publisher_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/hex.h"
#include "custos/keyfile.h"

#include "health.h"
#include "log.h"
#include "monotonic.h"
#include "store/store.h"

#define PUB_BACKOFF_MIN_MS 500u
#define PUB_BACKOFF_MAX_MS 30000u
/* Node calls are bounded so that stopping the gateway waits for at most one of them. */
#define PUB_RPC_CONNECT_MS 3000L
#define PUB_RPC_TIMEOUT_MS 10000L
#define PUB_WEI_PER_GWEI 1000000000ull

uint64_t gw_pub_now(void)
{
    return (uint64_t)time(NULL);
}

void gw_pub_hex(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (custos_hex_encode(data, len, out, cap) != CUSTOS_OK)
        snprintf(out, cap, "%s", "0x?");
}

static int64_t pub_mono_ms(void)
{
    return (int64_t)(gw_mono_ns() / 1000000u);
}

/* Every node call's result passes here. Only a node that cannot be reached (connection,
 * timeout, HTTP 5xx) counts against health: an error answer is still an answer. The
 * gateway reports NOT_SERVING once the node has been unreachable for unreachable_after_ms,
 * and SERVING again at its first answer. */
custos_rc gw_pub_node(gw_publisher *p, custos_rc rc)
{
    if (rc != CUSTOS_OK) {
        pthread_mutex_lock(&p->lock);
        p->status.node_errors++;
        pthread_mutex_unlock(&p->lock);
    }
    int64_t now = pub_mono_ms();
    if (rc != CUSTOS_ERR_UNAVAILABLE) {
        p->node_answered_ms = now;
        p->node_down_since_ms = 0;
        if (!gw_health_chain_reachable()) {
            gw_health_set_chain_reachable(true);
            gw_log(GW_LOG_INFO, "publisher.node_up", "the chain node answers again");
        }
        return rc;
    }
    if (p->node_down_since_ms == 0)
        p->node_down_since_ms = now;
    if (now - p->node_down_since_ms >= (int64_t)p->cfg->evm.unreachable_after_ms &&
        gw_health_chain_reachable()) {
        gw_health_set_chain_reachable(false);
        gw_log(GW_LOG_ERROR, "publisher.node_down",
               "the chain node has been unreachable for %" PRId64
               " ms: health reports NOT_SERVING until it answers",
               now - p->node_down_since_ms);
    }
    return rc;
}

/* An idle publisher (or one that does not lead) makes no node calls: ask the chain id
 * when the node has not answered for half the unreachable threshold. */
custos_rc gw_pub_probe(gw_publisher *p, custos_error *err)
{
    if (p->node_answered_ms != 0 && p->node_down_since_ms == 0 &&
        pub_mono_ms() - p->node_answered_ms < (int64_t)p->cfg->evm.unreachable_after_ms / 2)
        return CUSTOS_OK;
    uint64_t chain_id = 0;
    return gw_pub_node(p, evm_rpc_chain_id(p->rpc, &chain_id, err));
}

bool gw_pub_stopping(gw_publisher *p)
{
    pthread_mutex_lock(&p->lock);
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

static custos_rc pub_gwei(uint64_t gwei, custos_u256 *out, custos_error *err)
{
    custos_u256 g, scale;
    custos_u256_from_u64(&g, gwei);
    custos_u256_from_u64(&scale, PUB_WEI_PER_GWEI);
    /* gwei <= 10^6 (config bounds): the product fits easily. */
    if (custos_u256_mul(out, &g, &scale) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "publisher: %llu gwei overflows",
                                (unsigned long long)gwei);
    return CUSTOS_OK;
}

/* Once per process: the node is on the configured chain, and the relayer's nonce. */
static custos_rc pub_connect(gw_publisher *p, custos_error *err)
{
    custos_rc rc;
    if (!p->chain_checked) {
        uint64_t chain_id = 0;
        if ((rc = gw_pub_node(p, evm_rpc_chain_id(p->rpc, &chain_id, err))) != CUSTOS_OK)
            return rc;
        if (chain_id != p->cfg->domain.chain_id)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "the node is on chain %" PRIu64 ", the config names chain %"
                                    PRIu64 ": fix [evm] rpc_url or [gateway] chain_id",
                                    chain_id, p->cfg->domain.chain_id);
        p->chain_checked = true;
    }
    if (!p->nonce_known) {
        uint64_t pending = 0;
        if ((rc = gw_pub_node(p, evm_rpc_get_transaction_count(p->rpc, p->relayer,
                                                            EVM_BLOCK_PENDING, &pending, err))) !=
            CUSTOS_OK)
            return rc;
        /* Stored transactions the node lost still own their nonces. */
        gw_pub_row *rows = NULL;
        size_t n = 0;
        if ((rc = gw_pubstate_list_sent(p->state, &rows, &n, err)) != CUSTOS_OK)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].tx.nonce + 1 > pending)
                pending = rows[i].tx.nonce + 1;
            gw_pub_row_clear(&rows[i]);
        }
        free(rows);
        p->next_nonce = pending;
        p->nonce_known = true;
        pthread_mutex_lock(&p->lock);
        p->status.nonce = pending;
        pthread_mutex_unlock(&p->lock);
    }
    return CUSTOS_OK;
}

static custos_rc pub_pass(gw_publisher *p, custos_error *err)
{
    custos_rc rc;
    if ((rc = gw_pub_probe(p, err)) != CUSTOS_OK || (rc = pub_connect(p, err)) != CUSTOS_OK ||
        (rc = gw_pub_track(p, err)) != CUSTOS_OK)
        return rc;
    return gw_pub_follow(p, err);
}

/* Sleeps ms unless stopped first; returns true when stopping. */
static bool pub_wait(gw_publisher *p, uint64_t ms)
{
    struct timespec until;
    gw_mono_deadline(&until, ms * 1000000u);
    pthread_mutex_lock(&p->lock);
    while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0) {
    }
    bool stop = p->stop;
    pthread_mutex_unlock(&p->lock);
    return stop;
}

/* Whether this replica publishes now; logs each change and resets what a predecessor
 * may have moved on in the meantime (the relayer's nonce). */
static bool pub_lead(gw_publisher *p)
{
    if (p->election == NULL)
        return true;
    custos_error err;
    custos_error_clear(&err);
    bool leader = gw_election_check(p->election, &err);
    pthread_mutex_lock(&p->lock);
    bool was = p->status.leader;
    p->status.leader = leader;
    pthread_mutex_unlock(&p->lock);
    if (leader && !was) {
        p->nonce_known = false;
        gw_log(GW_LOG_INFO, "publisher.leader", "this replica now publishes on-chain");
    } else if (!leader && was) {
        gw_log(GW_LOG_WARN, "publisher.follower",
               "this replica lost the publisher lock and stops publishing: %s",
               err.message[0] != '\0' ? err.message : "another replica holds it");
    } else if (!leader && err.message[0] != '\0') {
        gw_log(GW_LOG_WARN, "publisher.election", "%s", err.message);
    }
    return leader;
}

static void *pub_main(void *arg)
{
    gw_publisher *p = arg;
    (void)pthread_setname_np(pthread_self(), "custos-publish");
    uint64_t backoff = 0;
    for (;;) {
        if (!pub_lead(p)) {
            custos_error err;
            /* A replica that does not publish still reports the node's health, and the
             * shared follow cursor (its lag metric is the leader's). */
            (void)gw_pub_probe(p, &err);
            uint64_t cursor = 0;
            if (gw_pubstate_cursor(p->state, &cursor, &err) == CUSTOS_OK) {
                pthread_mutex_lock(&p->lock);
                p->status.cursor = cursor;
                pthread_mutex_unlock(&p->lock);
            }
            if (pub_wait(p, p->cfg->evm.leader_retry_ms))
                break;
            continue;
        }
        custos_error err;
        custos_error_clear(&err);
        custos_rc rc = pub_pass(p, &err);
        uint64_t wait = p->cfg->evm.poll_interval_ms;
        if (rc != CUSTOS_OK) {
            backoff = backoff == 0 ? PUB_BACKOFF_MIN_MS
                                   : (backoff * 2 > PUB_BACKOFF_MAX_MS ? PUB_BACKOFF_MAX_MS
                                                                       : backoff * 2);
            wait = backoff;
            gw_log(GW_LOG_WARN, "publisher.retry", "%s: %s; retrying in %" PRIu64 " ms",
                   custos_rc_name(rc), err.message, wait);
        } else {
            backoff = 0;
        }
        if (pub_wait(p, wait))
            break;
    }
    return NULL;
}

custos_rc gw_publisher_new(const gw_config *cfg, gw_engine *engine, gw_publisher **out,
                           custos_error *err)
{
    *out = NULL;
    if (!cfg->evm.enabled)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "publisher: no [evm] section");
    gw_publisher *p = calloc(1, sizeof *p);
    if (p == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
    p->cfg = cfg;
    p->engine = engine;
    p->policy.heartbeat_seconds = cfg->evm.heartbeat_seconds;
    p->policy.deviation_bps = cfg->evm.deviation_bps;
    custos_rc rc = pub_gwei(cfg->evm.max_fee_gwei, &p->fee_cap, err);
    if (rc != CUSTOS_OK) {
        free(p);
        return rc;
    }
    bool cond_ok = gw_cond_init_monotonic(&p->wake) == 0;
    if (!cond_ok || pthread_mutex_init(&p->lock, NULL) != 0) {
        if (cond_ok)
            pthread_cond_destroy(&p->wake);
        free(p);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher: cannot create a lock");
    }
    p->secp = custos_secp_new();
    p->batch = calloc(PUB_BATCH, sizeof *p->batch);
    if (p->secp == NULL || p->batch == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
        goto fail;
    }
    if ((rc = custos_keyfile_read(cfg->evm.relayer_key, p->key, err)) != CUSTOS_OK ||
        (rc = custos_address_from_seckey(p->secp, p->key, p->relayer, err)) != CUSTOS_OK)
        goto fail;
    evm_rpc_options opt = {.url = cfg->evm.rpc_url,
                           .connect_timeout_ms = PUB_RPC_CONNECT_MS,
                           .timeout_ms = PUB_RPC_TIMEOUT_MS};
    bool shared = gw_store_config_shared(cfg);
    p->status.leader = !shared;
    if ((rc = pub_gwei(cfg->evm.priority_fee_gwei, &opt.fallback_priority_fee, err)) !=
            CUSTOS_OK ||
        (rc = evm_rpc_new(&opt, &p->rpc, err)) != CUSTOS_OK ||
        (rc = gw_pubstate_open(cfg, &p->state, err)) != CUSTOS_OK ||
        (rc = gw_pubstate_cursor(p->state, &p->status.cursor, err)) != CUSTOS_OK ||
        (shared && (rc = gw_election_new(cfg->store_path, &p->election, err)) != CUSTOS_OK))
        goto fail;
    /* Read before the thread starts: from then on status belongs to the lock. */
    uint64_t cursor = p->status.cursor;
    if (pthread_create(&p->thread, NULL, pub_main, p) != 0) {
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher: cannot start its thread");
        goto fail;
    }
    p->started = true;
    char relayer[CUSTOS_ADDRESS_HEX_LEN], adapter[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(p->relayer, relayer);
    custos_address_to_hex(cfg->evm.adapter, adapter);
    gw_log(GW_LOG_INFO, "publisher.start",
           "adapter %s, relayer %s, follow cursor %" PRIu64 ", state %s", adapter, relayer,
           cursor, shared ? "in the PostgreSQL store (publishes while it holds the lock)"
                          : cfg->evm.state_path);
    *out = p;
    return CUSTOS_OK;
fail:
    gw_publisher_free(p);
    return rc;
}

void gw_publisher_free(gw_publisher *p)
{
    if (p == NULL)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->wake);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    gw_election_free(p->election);
    gw_pubstate_close(p->state);
    evm_rpc_free(p->rpc);
    custos_secp_free(p->secp);
    free(p->batch);
    explicit_bzero(p->key, sizeof p->key);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

void gw_publisher_status(gw_publisher *p, gw_pub_status *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->status;
    pthread_mutex_unlock(&p->lock);
}
