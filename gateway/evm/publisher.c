/* The EVM publisher: accepted attestations -> CustosAdapter.submit on-chain
 * (docs/publishing.md).
 *
 * Configuration ([evm] in the gateway config, docs/publishing.md §1): rpc_url (one or
 * more nodes of the chain, in order of preference), relayer_key or relayer_pkcs11_* (the
 * account that only pays gas; it signs nothing an attestor signed), adapter (must equal
 * [gateway] verifying_contract), confirmations, poll_interval_ms, heartbeat_seconds,
 * deviation_bps, expiry_lead_seconds, fee_bump_after_seconds, max_fee_gwei,
 * priority_fee_gwei, gas_limit_margin_bps, state, unreachable_after_ms, leader_retry_ms,
 * low_balance_gwei, max_lag_records. The adapter's feedId of a feed is keccak256(bytes(name)).
 *
 * One thread, never on the ingestion path: Submit only commits to the store; this thread
 * reads the accepted log after its persisted follow cursor (gw_engine_read_from), so a
 * slow or dead node delays publication, never acceptance.
 *
 * Each pass: probe the nodes whose health is due and read the relayer's balance when due;
 * pick the node to use (the first up, in order: failover, §8); check its chain id and
 * learn the relayer's nonce when needed; track every sent publication to a final receipt
 * (publish_receipts.c, §6); decide the records after the follow cursor
 * (publish_follow.c, §3) and send those worth publishing (publish_send.c, §4); publish a
 * waiting record for every account whose on-chain value nears expiry (publish_expiry.c,
 * §3). A sent fate, with its raw transaction, is committed before the transaction is
 * broadcast (§5).
 *
 * Errors of the node or the disk end the current pass; the thread retries after an
 * exponential back-off (0.5 s doubling to 30 s), never busy-looping, never exiting. A node
 * that cannot be reached is marked down, so the next pass uses the next node.
 *
 * Replicas (PostgreSQL store): the state lives in the shared database and only the
 * replica holding the publisher lock (election.h) runs passes; the others ask for the
 * lock every leader_retry_ms, and meanwhile probe the nodes and read the balance. */
#include "evm/publisher_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/hex.h"

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

int64_t gw_pub_mono_ms(void)
{
    return (int64_t)(gw_mono_ns() / 1000000u);
}

void gw_pub_hex(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (custos_hex_encode(data, len, out, cap) != CUSTOS_OK)
        snprintf(out, cap, "%s", "0x?");
}

/* How often an idle node is asked for its health, and the balance read: half the time
 * after which an unreachable node turns health NOT_SERVING. */
static int64_t pub_probe_interval_ms(const gw_publisher *p)
{
    return (int64_t)p->cfg->evm.unreachable_after_ms / 2;
}

bool gw_publisher_lagging(uint64_t head, uint64_t cursor, uint64_t max_lag)
{
    /* A cursor ahead of head (a replica's engine behind the shared state) is no lag. */
    return max_lag > 0 && head > cursor && head - cursor > max_lag;
}

/* The publisher's health (health.h): NOT_SERVING once every node has been unreachable
 * for unreachable_after_ms, or while more than max_lag_records accepted records wait for a
 * publication fate; SERVING again when a node answers and the lag is back within the
 * bound. Readiness never follows it: submissions and reads go on without the chain. */
static void pub_health(gw_publisher *p, int64_t now)
{
    int64_t since = evm_nodes_all_down_since(p->nodes);
    bool down = since != 0 && now - since >= (int64_t)p->cfg->evm.unreachable_after_ms;
    if (down != p->nodes_down) {
        if (down)
            gw_log(GW_LOG_ERROR, "publisher.node_down",
                   "no chain node has answered for %" PRId64
                   " ms: publisher health reports NOT_SERVING until one answers",
                   now - since);
        else
            gw_log(GW_LOG_INFO, "publisher.node_up", "a chain node answers again");
        p->nodes_down = down;
    }
    uint64_t head = gw_engine_record_head(p->engine);
    pthread_mutex_lock(&p->lock);
    uint64_t cursor = p->status.cursor;
    pthread_mutex_unlock(&p->lock);
    uint64_t lag = head > cursor ? head - cursor : 0;
    bool lagging = gw_publisher_lagging(head, cursor, p->cfg->evm.max_lag_records);
    if (lagging != p->lagging) {
        if (lagging)
            gw_log(GW_LOG_ERROR, "publisher.lagging",
                   "%" PRIu64 " accepted records wait for publication, more than [evm] "
                   "max_lag_records %" PRIu64 ": publisher health reports NOT_SERVING",
                   lag, p->cfg->evm.max_lag_records);
        else
            gw_log(GW_LOG_INFO, "publisher.caught_up", "the publisher's lag is within bound");
        p->lagging = lagging;
    }
    bool serving = !p->nodes_down && !p->lagging;
    pthread_mutex_lock(&p->lock);
    p->status.serving = serving;
    pthread_mutex_unlock(&p->lock);
    gw_health_set_publisher_serving(serving);
}

/* Keeps node i's last error for the status page; the message names no URL (evm_rpc.h). */
static void pub_note_error(gw_publisher *p, size_t i, const custos_error *err)
{
    pthread_mutex_lock(&p->lock);
    snprintf(p->status.node_error[i], sizeof p->status.node_error[i], "%.*s",
             GW_PUB_NODE_ERROR_MAX - 1, err->message);
    pthread_mutex_unlock(&p->lock);
}

/* Records the result of a call to node i: its health, the gateway's, the error count. */
static custos_rc pub_report(gw_publisher *p, size_t i, custos_rc rc)
{
    int64_t now = gw_pub_mono_ms();
    bool was_up = evm_nodes_up(p->nodes, i);
    evm_nodes_report(p->nodes, i, rc, now, pub_probe_interval_ms(p));
    bool up = evm_nodes_up(p->nodes, i);
    pthread_mutex_lock(&p->lock);
    if (rc != CUSTOS_OK)
        p->status.node_errors++;
    p->status.node_up[i] = up;
    pthread_mutex_unlock(&p->lock);
    if (was_up && !up)
        gw_log(GW_LOG_WARN, "publisher.node", "node %zu of [evm] rpc_url cannot be reached",
               i + 1);
    else if (!was_up && up)
        gw_log(GW_LOG_INFO, "publisher.node", "node %zu of [evm] rpc_url answers", i + 1);
    pub_health(p, now);
    return rc;
}

custos_rc gw_pub_node(gw_publisher *p, custos_rc rc)
{
    return pub_report(p, p->node, rc);
}

/* Compares node i's chain id with [gateway] chain_id; a node on another chain is never
 * used, and says so once. */
static custos_rc pub_check_chain(gw_publisher *p, size_t i, uint64_t chain_id,
                                 custos_error *err)
{
    bool right = chain_id == p->cfg->domain.chain_id;
    bool known = evm_nodes_chain_known(p->nodes, i);
    bool was_up = evm_nodes_up(p->nodes, i);
    evm_nodes_set_chain(p->nodes, i, right);
    pthread_mutex_lock(&p->lock);
    p->status.node_up[i] = evm_nodes_up(p->nodes, i);
    pthread_mutex_unlock(&p->lock);
    if (right)
        return CUSTOS_OK;
    if (!known || was_up)
        gw_log(GW_LOG_ERROR, "publisher.node",
               "node %zu of [evm] rpc_url is on chain %" PRIu64 ", the config names chain %" PRIu64
               ": it is not used; fix [evm] rpc_url or [gateway] chain_id",
               i + 1, chain_id, p->cfg->domain.chain_id);
    return custos_error_set(err, CUSTOS_ERR_INVALID,
                            "node %zu is on chain %" PRIu64 ", the config names chain %" PRIu64
                            ": fix [evm] rpc_url or [gateway] chain_id",
                            i + 1, chain_id, p->cfg->domain.chain_id);
}

static custos_rc pub_balance(gw_publisher *p, size_t i, custos_error *err)
{
    custos_u256 balance;
    custos_rc rc = pub_report(p, i, evm_rpc_get_balance(evm_nodes_client(p->nodes, i),
                                                        p->relayer, &balance, err));
    if (rc != CUSTOS_OK) {
        pub_note_error(p, i, err);
        return rc;
    }
    p->balance_ms = gw_pub_mono_ms();
    pthread_mutex_lock(&p->lock);
    p->status.balance_known = true;
    p->status.balance_wei = balance;
    p->status.balance_at = gw_pub_now();
    pthread_mutex_unlock(&p->lock);
    return CUSTOS_OK;
}

custos_rc gw_pub_probe(gw_publisher *p, custos_error *err)
{
    int64_t now = gw_pub_mono_ms();
    int64_t interval = pub_probe_interval_ms(p);
    custos_rc last = CUSTOS_OK;
    for (size_t i = 0; i < evm_nodes_count(p->nodes); i++) {
        if (!evm_nodes_probe_due(p->nodes, i, now, interval))
            continue;
        uint64_t chain_id = 0;
        custos_rc rc = pub_report(p, i, evm_rpc_chain_id(evm_nodes_client(p->nodes, i),
                                                         &chain_id, err));
        if (rc == CUSTOS_OK)
            rc = pub_check_chain(p, i, chain_id, err);
        uint64_t block = 0;
        if (rc == CUSTOS_OK)
            rc = pub_report(p, i, evm_rpc_block_number(evm_nodes_client(p->nodes, i), &block,
                                                       err));
        if (rc == CUSTOS_OK) {
            pthread_mutex_lock(&p->lock);
            p->status.node_block[i] = block;
            p->status.node_block_known[i] = true;
            pthread_mutex_unlock(&p->lock);
        } else {
            pub_note_error(p, i, err);
            last = rc;
        }
    }
    if (p->balance_ms == 0 || now - p->balance_ms >= interval) {
        custos_rc rc = pub_balance(p, evm_nodes_pick(p->nodes), err);
        if (rc != CUSTOS_OK)
            last = rc;
    }
    return last;
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
    /* gwei <= 10^12 (config bounds): the product fits easily. */
    if (custos_u256_mul(out, &g, &scale) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_OVERFLOW, "publisher: %llu gwei overflows",
                                (unsigned long long)gwei);
    return CUSTOS_OK;
}

custos_rc gw_pub_read_nonce(gw_publisher *p, custos_error *err)
{
    uint64_t pending = 0;
    custos_rc rc = gw_pub_node(p, evm_rpc_get_transaction_count(p->rpc, p->relayer,
                                                               EVM_BLOCK_PENDING, &pending, err));
    if (rc != CUSTOS_OK)
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
    return CUSTOS_OK;
}

/* The node this pass uses: the first up in order. A change of node forgets the counted
 * nonce: the new node's view of the relayer's pending transactions may differ. */
static void pub_pick_node(gw_publisher *p)
{
    size_t i = evm_nodes_pick(p->nodes);
    if (p->node_picked && i == p->node)
        return;
    if (p->node_picked)
        gw_log(GW_LOG_WARN, "publisher.failover",
               "publishing through node %zu of [evm] rpc_url instead of node %zu", i + 1,
               p->node + 1);
    p->node = i;
    p->rpc = evm_nodes_client(p->nodes, i);
    p->node_picked = true;
    p->nonce_known = false;
    pthread_mutex_lock(&p->lock);
    p->status.node_current = i;
    pthread_mutex_unlock(&p->lock);
}

/* The node in use is on the configured chain, and the relayer's nonce is known. */
static custos_rc pub_connect(gw_publisher *p, custos_error *err)
{
    custos_rc rc;
    if (!evm_nodes_chain_known(p->nodes, p->node)) {
        uint64_t chain_id = 0;
        if ((rc = gw_pub_node(p, evm_rpc_chain_id(p->rpc, &chain_id, err))) != CUSTOS_OK ||
            (rc = pub_check_chain(p, p->node, chain_id, err)) != CUSTOS_OK)
            return rc;
    }
    if (!p->nonce_known)
        return gw_pub_read_nonce(p, err);
    return CUSTOS_OK;
}

custos_rc gw_pub_read_record(gw_publisher *p, uint64_t cursor, custos_record *rec,
                             custos_error *err)
{
    size_t n = 0;
    custos_rc rc = gw_engine_read_from(p->engine, cursor - 1, rec, 1, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (n == 1 && rec->cursor == cursor)
        return CUSTOS_OK;
    if (n == 1)
        custos_record_clear(rec);
    return custos_error_set(err, CUSTOS_ERR_NOT_FOUND, "record %" PRIu64 " is not in the log",
                            cursor);
}

static custos_rc pub_pass(gw_publisher *p, custos_error *err)
{
    custos_rc rc;
    /* A node found down by the probe is not picked; its error is the pass's only when
     * the node picked fails too. */
    (void)gw_pub_probe(p, err);
    custos_error_clear(err);
    pub_pick_node(p);
    if ((rc = pub_connect(p, err)) != CUSTOS_OK || (rc = gw_pub_track(p, err)) != CUSTOS_OK ||
        (rc = gw_pub_follow(p, err)) != CUSTOS_OK)
        return rc;
    return gw_pub_expiry(p, err);
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
    if (!leader)
        p->status.chain_known = false;
    pthread_mutex_unlock(&p->lock);
    if (leader && !was) {
        p->nonce_known = false;
        p->n_marks = 0;
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
            /* A replica that does not publish still reports the nodes' health, the
             * relayer's balance, and the shared follow cursor (its lag metric is the
             * leader's). */
            (void)gw_pub_probe(p, &err);
            uint64_t cursor = 0;
            if (gw_pubstate_cursor(p->state, &cursor, &err) == CUSTOS_OK) {
                pthread_mutex_lock(&p->lock);
                p->status.cursor = cursor;
                pthread_mutex_unlock(&p->lock);
            }
            pub_health(p, gw_pub_mono_ms());
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
        pub_health(p, gw_pub_mono_ms());
        if (pub_wait(p, wait))
            break;
    }
    return NULL;
}

/* Everything but the thread; p is freed by the caller on failure. */
static custos_rc pub_init(gw_publisher *p, const gw_config *cfg, custos_error *err)
{
    custos_rc rc;
    p->secp = custos_secp_new();
    p->batch = calloc(PUB_BATCH, sizeof *p->batch);
    if (p->secp == NULL || p->batch == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
    if ((rc = gw_relayer_open(&cfg->evm, p->secp, &p->relayer_key, err)) != CUSTOS_OK)
        return rc;
    memcpy(p->relayer, gw_relayer_address(p->relayer_key), CUSTOS_ADDRESS_LEN);
    evm_rpc_options opt = {.connect_timeout_ms = PUB_RPC_CONNECT_MS,
                           .timeout_ms = PUB_RPC_TIMEOUT_MS};
    const char *urls[GW_EVM_MAX_NODES];
    for (size_t i = 0; i < cfg->evm.n_rpc_urls; i++)
        urls[i] = cfg->evm.rpc_urls[i];
    bool shared = gw_store_config_shared(cfg);
    p->status.leader = !shared;
    p->status.n_nodes = cfg->evm.n_rpc_urls;
    p->status.serving = true;
    p->status.expiry_lead_seconds = cfg->evm.expiry_lead_seconds;
    memcpy(p->status.relayer, p->relayer, CUSTOS_ADDRESS_LEN);
    if ((rc = pub_gwei(cfg->evm.max_fee_gwei, &p->fee_cap, err)) != CUSTOS_OK ||
        (rc = pub_gwei(cfg->evm.low_balance_gwei, &p->status.low_balance_wei, err)) !=
            CUSTOS_OK ||
        (rc = pub_gwei(cfg->evm.priority_fee_gwei, &opt.fallback_priority_fee, err)) !=
            CUSTOS_OK ||
        (rc = evm_nodes_new(urls, cfg->evm.n_rpc_urls, &opt, &p->nodes, err)) != CUSTOS_OK ||
        (rc = gw_pubstate_open(cfg, &p->state, err)) != CUSTOS_OK ||
        (rc = gw_pubstate_cursor(p->state, &p->status.cursor, err)) != CUSTOS_OK ||
        (shared && (rc = gw_election_new(cfg->store_path, &p->election, err)) != CUSTOS_OK))
        return rc;
    return CUSTOS_OK;
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
    p->policy.expiry_lead_seconds = cfg->evm.expiry_lead_seconds;
    bool cond_ok = gw_cond_init_monotonic(&p->wake) == 0;
    if (!cond_ok || pthread_mutex_init(&p->lock, NULL) != 0) {
        if (cond_ok)
            pthread_cond_destroy(&p->wake);
        free(p);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher: cannot create a lock");
    }
    custos_rc rc = pub_init(p, cfg, err);
    if (rc != CUSTOS_OK)
        goto fail;
    /* Read before the thread starts: from then on status belongs to the lock. */
    uint64_t cursor = p->status.cursor;
    bool shared = p->election != NULL;
    /* Before the thread, which may report NOT_SERVING at once. */
    gw_health_publisher_present();
    if (pthread_create(&p->thread, NULL, pub_main, p) != 0) {
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "publisher: cannot start its thread");
        goto fail;
    }
    p->started = true;
    char relayer[CUSTOS_ADDRESS_HEX_LEN], adapter[CUSTOS_ADDRESS_HEX_LEN];
    custos_address_to_hex(p->relayer, relayer);
    custos_address_to_hex(cfg->evm.adapter, adapter);
    gw_log(GW_LOG_INFO, "publisher.start",
           "adapter %s, relayer %s (key %s), %zu node%s, follow cursor %" PRIu64 ", state %s",
           adapter, relayer, gw_relayer_in_token(p->relayer_key) ? "in a PKCS#11 token" : "file",
           cfg->evm.n_rpc_urls, cfg->evm.n_rpc_urls == 1 ? "" : "s", cursor,
           shared ? "in the PostgreSQL store (publishes while it holds the lock)"
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
    evm_nodes_free(p->nodes);
    gw_relayer_free(p->relayer_key);
    custos_secp_free(p->secp);
    free(p->batch);
    free(p->marks);
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
