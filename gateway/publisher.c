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
#include "publisher.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/keyfile.h"
#include "custos/sig.h"
#include "evm_abi.h"
#include "evm_rpc.h"
#include "election.h"
#include "evm_tx.h"
#include "health.h"
#include "log.h"
#include "monotonic.h"
#include "publisher_state.h"

#define PUB_BATCH 64
#define PUB_BACKOFF_MIN_MS 500u
#define PUB_BACKOFF_MAX_MS 30000u
/* Node calls are bounded so that stopping the gateway waits for at most one of them. */
#define PUB_RPC_CONNECT_MS 3000L
#define PUB_RPC_TIMEOUT_MS 10000L
#define PUB_WEI_PER_GWEI 1000000000ull

#define PUB_SUBMIT_SIGNATURE                                                                \
    "submit(bytes32,(bytes32,address,uint8,uint256,uint256,bytes32,uint64,uint64,uint64),"  \
    "bytes)"

struct gw_publisher {
    const gw_config *cfg;
    gw_engine *engine;
    gw_pubstate *state;
    gw_election *election; /* NULL with a SQLite store: the one process always publishes */
    evm_rpc *rpc;
    custos_secp *secp;
    uint8_t key[CUSTOS_SECKEY_LEN];
    uint8_t relayer[CUSTOS_ADDRESS_LEN];
    custos_u256 fee_cap;
    gw_pub_policy policy;
    custos_record *batch;

    /* Publisher thread only. */
    int64_t node_down_since_ms; /* monotonic; 0 while the node answers */
    int64_t node_answered_ms;   /* monotonic, the node's last answer (0: none yet) */
    bool chain_checked;
    bool nonce_known;
    uint64_t next_nonce;

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;   /* guards stop and status */
    pthread_cond_t wake;
    bool stop;
    gw_pub_status status;
};

/* ------------------------------------------------------------------ pure parts */

static const char *const reason_names[] = {
    [GW_PUB_FIRST] = "first",           [GW_PUB_FREEZE] = "freeze",
    [GW_PUB_RELEASE] = "release",       [GW_PUB_AFTER_HOLD] = "after-release-or-freeze",
    [GW_PUB_BENEFICIARY] = "beneficiary", [GW_PUB_DEVIATION] = "deviation",
    [GW_PUB_HEARTBEAT] = "heartbeat",   [GW_PUB_UNCHANGED] = "unchanged",
    [GW_PUB_NOT_NEWER] = "not-newer",   [GW_PUB_SUPERSEDED] = "superseded",
};

const char *gw_pub_reason_name(gw_pub_reason r)
{
    if ((unsigned)r > GW_PUB_SUPERSEDED)
        return "unknown";
    return reason_names[r];
}

bool gw_pub_reason_publishes(gw_pub_reason r)
{
    return r <= GW_PUB_HEARTBEAT;
}

/* |new - old| >= bps/10000 * old, exactly: floor(diff * 10000 / old) >= bps holds
 * exactly when diff * 10000 / old >= bps, bps being an integer. */
static bool pub_deviates(const custos_u256 *old, const custos_u256 *now, uint32_t bps)
{
    if (bps == 0)
        return true;
    if (custos_u256_is_zero(old))
        return !custos_u256_is_zero(now);
    custos_u256 diff, scale, q, threshold;
    bool up = custos_u256_cmp(now, old) >= 0;
    if (custos_u256_sub(&diff, up ? now : old, up ? old : now) != CUSTOS_OK)
        return true; /* the larger minus the smaller cannot underflow */
    custos_u256_from_u64(&scale, 10000);
    if (custos_u256_mul_div(&q, &diff, &scale, old) != CUSTOS_OK)
        return true; /* the quotient overflowed: far beyond any threshold */
    custos_u256_from_u64(&threshold, bps);
    return custos_u256_cmp(&q, &threshold) >= 0;
}

gw_pub_reason gw_publisher_decide(const gw_pub_policy *pol, const gw_pub_last *last,
                                  const custos_attestation *att)
{
    if (last == NULL || !last->has)
        return GW_PUB_FIRST;
    if (att->sequence <= last->sequence)
        return GW_PUB_NOT_NEWER;
    if (att->kind == CUSTOS_KIND_FREEZE)
        return GW_PUB_FREEZE;
    if (att->kind == CUSTOS_KIND_RELEASE)
        return GW_PUB_RELEASE;
    if (last->kind != CUSTOS_KIND_VALUATION)
        return GW_PUB_AFTER_HOLD;
    if (memcmp(att->beneficiary, last->beneficiary, CUSTOS_ADDRESS_LEN) != 0)
        return GW_PUB_BENEFICIARY;
    if (pub_deviates(&last->value, &att->collateral_value, pol->deviation_bps))
        return GW_PUB_DEVIATION;
    if (att->as_of >= last->as_of && att->as_of - last->as_of >= pol->heartbeat_seconds)
        return GW_PUB_HEARTBEAT;
    return GW_PUB_UNCHANGED;
}

void gw_publisher_feed_id(const char *feed, uint8_t out[CUSTOS_HASH_LEN])
{
    custos_keccak256((const uint8_t *)feed, strlen(feed), out);
}

custos_rc gw_publisher_pack_signatures(const custos_record *rec,
                                       uint8_t out[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN],
                                       size_t *len, custos_error *err)
{
    size_t n = rec->sub.n_sigs;
    if (n == 0 || n > CUSTOS_MAX_SIGNATURES || n != rec->n_signers)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "record %" PRIu64 ": %zu signatures for %zu signers",
                                rec->cursor, n, rec->n_signers);
    size_t order[CUSTOS_MAX_SIGNATURES];
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        /* Insertion sort: at most 16 entries. Big-endian bytes compare as numbers. */
        while (j > 0 && memcmp(rec->signers[order[j - 1]], rec->signers[i],
                               CUSTOS_ADDRESS_LEN) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && memcmp(rec->signers[order[i - 1]], rec->signers[order[i]],
                            CUSTOS_ADDRESS_LEN) == 0)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "record %" PRIu64 ": one signer signed twice", rec->cursor);
        memcpy(out + i * CUSTOS_SIGNATURE_LEN, rec->sub.sigs[order[i]].bytes,
               CUSTOS_SIGNATURE_LEN);
    }
    *len = n * CUSTOS_SIGNATURE_LEN;
    return CUSTOS_OK;
}

custos_rc gw_publisher_encode_submit(const custos_record *rec, uint8_t **out, size_t *len,
                                     custos_error *err)
{
    uint8_t sigs[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN];
    size_t sigs_len;
    custos_rc rc = gw_publisher_pack_signatures(rec, sigs, &sigs_len, err);
    if (rc != CUSTOS_OK)
        return rc;
    const custos_attestation *a = &rec->sub.att;
    uint8_t feed_id[CUSTOS_HASH_LEN];
    gw_publisher_feed_id(rec->sub.feed, feed_id);
    evm_abi_value fields[9] = {
        evm_abi_bytes32(a->account),
        evm_abi_address(a->beneficiary),
        evm_abi_uint64(a->kind),
        evm_abi_u256(&a->gross_value),
        evm_abi_u256(&a->collateral_value),
        evm_abi_bytes32(a->positions_root),
        evm_abi_uint64(a->as_of),
        evm_abi_uint64(a->valid_until),
        evm_abi_uint64(a->sequence),
    };
    evm_abi_value args[3] = {
        evm_abi_bytes32(feed_id),
        evm_abi_tuple(fields, 9),
        evm_abi_dynamic_bytes(sigs, sigs_len),
    };
    return evm_abi_encode(PUB_SUBMIT_SIGNATURE, args, 3, out, len, err);
}

void gw_publisher_bump_fee(const custos_u256 *old, const custos_u256 *floor,
                           const custos_u256 *cap, custos_u256 *out)
{
    custos_u256 one, eight, eighth, back, bumped;
    custos_u256_from_u64(&one, 1);
    custos_u256_from_u64(&eight, 8);
    /* Round the eighth up, and raise by at least 1 wei: a replacement must be higher. Any
     * overflow on the way means a fee beyond every cap: the cap. */
    bool fits = custos_u256_mul_div(&eighth, old, &one, &eight) == CUSTOS_OK;
    if (fits && (custos_u256_mul(&back, &eighth, &eight) != CUSTOS_OK ||
                 custos_u256_cmp(&back, old) != 0 || custos_u256_is_zero(&eighth)))
        fits = custos_u256_add(&eighth, &eighth, &one) == CUSTOS_OK;
    if (!fits || custos_u256_add(&bumped, old, &eighth) != CUSTOS_OK)
        bumped = *cap;
    if (custos_u256_cmp(&bumped, floor) < 0)
        bumped = *floor;
    if (custos_u256_cmp(&bumped, cap) > 0)
        bumped = *cap;
    *out = bumped;
}

/* ------------------------------------------------------------------ helpers */

static uint64_t pub_wall_seconds(void)
{
    return (uint64_t)time(NULL);
}

static void pub_hex(const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (custos_hex_encode(data, len, out, cap) != CUSTOS_OK)
        snprintf(out, cap, "%s", "0x?");
}

/* A failed node call: counted for the status, returned unchanged. */
static int64_t pub_mono_ms(void)
{
    return (int64_t)(gw_mono_ns() / 1000000u);
}

/* Every node call's result passes here. Only a node that cannot be reached (connection,
 * timeout, HTTP 5xx) counts against health: an error answer is still an answer. The
 * gateway reports NOT_SERVING once the node has been unreachable for unreachable_after_ms,
 * and SERVING again at its first answer. */
static custos_rc pub_node(gw_publisher *p, custos_rc rc)
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
static custos_rc pub_probe(gw_publisher *p, custos_error *err)
{
    if (p->node_answered_ms != 0 && p->node_down_since_ms == 0 &&
        pub_mono_ms() - p->node_answered_ms < (int64_t)p->cfg->evm.unreachable_after_ms / 2)
        return CUSTOS_OK;
    uint64_t chain_id = 0;
    return pub_node(p, evm_rpc_chain_id(p->rpc, &chain_id, err));
}

static bool pub_stopping(gw_publisher *p)
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

static void pub_min(custos_u256 *v, const custos_u256 *cap)
{
    if (custos_u256_cmp(v, cap) > 0)
        *v = *cap;
}

/* The adapter's errors that submit can revert with, to name them in logs. */
static const char *const pub_submit_errors[] = {
    "UnknownFeed(bytes32)",
    "UnknownAccount(bytes32)",
    "AccountOfOtherFeed(bytes32,bytes32)",
    "UnknownKind(uint8)",
    "ValueOutOfRange(uint256)",
    "Stale(uint64,uint256)",
    "FromFuture(uint64,uint256)",
    "Expired(uint64,uint256)",
    "InvalidWindow(uint64,uint64)",
    "TtlTooLong(uint64,uint64)",
    "Replay(uint64,uint64)",
    "PledgedElsewhere(address)",
    "MalformedSignatures(uint256)",
    "NonCanonicalSignature(uint256)",
    "BadSignature(uint256)",
    "DuplicateOrUnsortedSigner(uint256)",
    "UnknownSigner(address)",
    "RevokedSigner(address)",
    "RotatedOut(address,uint64)",
    "DuplicateSignerSlot(address)",
    "BelowThreshold(uint256,uint256)",
    "TooFewRoles(uint256,uint256)",
    "FreezeNeedsCustodian()",
};

/* "Stale(uint64,uint256) 0x<data>" (data cut to fit). */
static void pub_describe_revert(const uint8_t *data, size_t len, char *out, size_t cap)
{
    const char *name = "unknown error";
    if (len >= EVM_ABI_SELECTOR_LEN) {
        for (size_t i = 0; i < sizeof pub_submit_errors / sizeof pub_submit_errors[0]; i++) {
            uint8_t sel[EVM_ABI_SELECTOR_LEN];
            evm_abi_selector(pub_submit_errors[i], sel);
            if (memcmp(sel, data, EVM_ABI_SELECTOR_LEN) == 0) {
                name = pub_submit_errors[i];
                break;
            }
        }
    }
    char hex[2 + 2 * 68 + 1];
    size_t shown = len < 68 ? len : 68;
    pub_hex(data, shown, hex, sizeof hex);
    snprintf(out, cap, "reverted %s %s%s", name, hex, shown < len ? "..." : "");
}

/* Replay(last, got) with last == got == sequence: the record is already on-chain. */
static bool pub_is_own_replay(const uint8_t *data, size_t len, uint64_t sequence)
{
    uint8_t sel[EVM_ABI_SELECTOR_LEN];
    evm_abi_selector("Replay(uint64,uint64)", sel);
    if (len != EVM_ABI_SELECTOR_LEN + 2 * EVM_ABI_WORD ||
        memcmp(data, sel, EVM_ABI_SELECTOR_LEN) != 0)
        return false;
    uint64_t last, got;
    const uint8_t *args = data + EVM_ABI_SELECTOR_LEN;
    size_t args_len = len - EVM_ABI_SELECTOR_LEN;
    return evm_abi_get_uint64(args, args_len, 0, 64, &last, NULL) == CUSTOS_OK &&
           evm_abi_get_uint64(args, args_len, 1, 64, &got, NULL) == CUSTOS_OK &&
           last == sequence && got == sequence;
}

static void pub_row_from_record(const custos_record *rec, gw_pub_row *row)
{
    memset(row, 0, sizeof *row);
    const custos_attestation *a = &rec->sub.att;
    row->cursor = rec->cursor;
    memcpy(row->account, a->account, CUSTOS_HASH_LEN);
    row->sequence = a->sequence;
    row->kind = a->kind;
    memcpy(row->beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN);
    row->value = a->collateral_value;
    row->as_of = a->as_of;
}

/* ------------------------------------------------------------------ sending */

/* Fees for a new transaction: tip from the node (or the configured fallback), max fee
 * 2 x latest base fee + tip (room for several full blocks of increases), both capped. */
static custos_rc pub_fees(gw_publisher *p, custos_u256 *max_fee, custos_u256 *tip,
                          custos_error *err)
{
    custos_u256 base;
    custos_rc rc;
    if ((rc = pub_node(p, evm_rpc_base_fee(p->rpc, &base, err))) != CUSTOS_OK ||
        (rc = pub_node(p, evm_rpc_max_priority_fee(p->rpc, tip, NULL, err))) != CUSTOS_OK)
        return rc;
    pub_min(tip, &p->fee_cap);
    if (custos_u256_add(max_fee, &base, &base) != CUSTOS_OK ||
        custos_u256_add(max_fee, max_fee, tip) != CUSTOS_OK)
        *max_fee = p->fee_cap;
    pub_min(max_fee, &p->fee_cap);
    return CUSTOS_OK;
}

static custos_rc pub_sign(gw_publisher *p, uint64_t nonce, const custos_u256 *max_fee,
                          const custos_u256 *tip, uint64_t gas_limit, const uint8_t *data,
                          size_t data_len, gw_pub_tx *out, custos_error *err)
{
    evm_tx tx = {.chain_id = p->cfg->domain.chain_id,
                 .nonce = nonce,
                 .max_priority_fee_per_gas = *tip,
                 .max_fee_per_gas = *max_fee,
                 .gas_limit = gas_limit,
                 .data = data,
                 .data_len = data_len};
    memcpy(tx.to, p->cfg->evm.adapter, CUSTOS_ADDRESS_LEN);
    evm_signed_tx signed_tx;
    custos_rc rc = evm_tx_sign(p->secp, p->key, &tx, &signed_tx, err);
    if (rc != CUSTOS_OK)
        return rc;
    memset(out, 0, sizeof *out);
    out->nonce = nonce;
    out->max_fee = *max_fee;
    out->priority_fee = *tip;
    out->gas_limit = gas_limit;
    out->sent_at = pub_wall_seconds();
    memcpy(out->hash, signed_tx.hash, CUSTOS_HASH_LEN);
    out->raw = signed_tx.raw;
    out->raw_len = signed_tx.raw_len;
    return CUSTOS_OK;
}

/* Broadcasts a stored transaction. The node already having it, or having mined its
 * nonce, is success: receipts tell what happened. Other refusals are logged and left to
 * the next pass (the nonce stays reserved: later transactions queue behind it). */
static custos_rc pub_broadcast(gw_publisher *p, const gw_pub_row *row, custos_error *err)
{
    uint8_t hash[CUSTOS_HASH_LEN];
    custos_rc rc = evm_rpc_send_raw_transaction(p->rpc, row->tx.raw, row->tx.raw_len, hash, err);
    if (rc == CUSTOS_ERR_REFUSED) {
        const evm_rpc_fault *f = evm_rpc_last_fault(p->rpc);
        const char *msg = f != NULL && f->message != NULL ? f->message : "";
        if (strstr(msg, "already known") != NULL || strstr(msg, "nonce too low") != NULL ||
            strstr(msg, "already imported") != NULL) {
            custos_error_clear(err);
            return CUSTOS_OK;
        }
    }
    return pub_node(p, rc);
}

/* Stores a fate without a transaction and logs it. */
static custos_rc pub_put_plain(gw_publisher *p, gw_pub_row *row, gw_pub_fate fate,
                               const char *detail, custos_error *err)
{
    row->fate = fate;
    snprintf(row->detail, sizeof row->detail, "%s", detail);
    custos_rc rc = gw_pubstate_put(p->state, row, err);
    if (rc != CUSTOS_OK)
        return rc;
    char account[2 + 64 + 1];
    pub_hex(row->account, CUSTOS_HASH_LEN, account, sizeof account);
    pthread_mutex_lock(&p->lock);
    if (fate == GW_PUB_SKIPPED)
        p->status.skipped++;
    else if (fate == GW_PUB_FAILED)
        p->status.failed++;
    else
        p->status.published++;
    pthread_mutex_unlock(&p->lock);
    gw_log(fate == GW_PUB_FAILED ? GW_LOG_ERROR : GW_LOG_INFO, "publisher.fate",
           "cursor %" PRIu64 " account %s sequence %" PRIu64 ": %s (%s)", row->cursor, account,
           row->sequence, gw_pub_fate_name(fate), detail);
    return CUSTOS_OK;
}

/* Builds, stores, then broadcasts the transaction publishing rec. */
static custos_rc pub_send(gw_publisher *p, const custos_record *rec, gw_pub_reason why,
                          custos_error *err)
{
    gw_pub_row row;
    pub_row_from_record(rec, &row);
    uint8_t *data = NULL;
    size_t data_len = 0;
    custos_rc rc = gw_publisher_encode_submit(rec, &data, &data_len, err);
    if (rc != CUSTOS_OK) {
        /* The gateway accepted something it cannot encode: no retry can fix that. */
        char detail[200];
        snprintf(detail, sizeof detail, "cannot encode: %.180s", err->message);
        custos_error_clear(err);
        return pub_put_plain(p, &row, GW_PUB_FAILED, detail, err);
    }
    evm_call call = {.from = p->relayer, .data = data, .data_len = data_len};
    memcpy(call.to, p->cfg->evm.adapter, CUSTOS_ADDRESS_LEN);
    uint64_t gas = 0;
    rc = evm_rpc_estimate_gas(p->rpc, &call, &gas, err);
    if (rc == CUSTOS_ERR_REFUSED) {
        const evm_rpc_fault *f = evm_rpc_last_fault(p->rpc);
        /* A revert (with data, or JSON-RPC code 3) is the chain refusing this record;
         * anything else (no funds, node trouble) is retried. */
        if (f != NULL && (f->has_data || f->code == 3)) {
            char detail[200];
            if (f->has_data && pub_is_own_replay(f->data, f->data_len, row.sequence)) {
                free(data);
                return pub_put_plain(p, &row, GW_PUB_CONFIRMED, "already on-chain", err);
            }
            if (f->has_data)
                pub_describe_revert(f->data, f->data_len, detail, sizeof detail);
            else
                snprintf(detail, sizeof detail, "reverted: %.160s",
                         f->message != NULL ? f->message : "");
            free(data);
            custos_error_clear(err);
            return pub_put_plain(p, &row, GW_PUB_FAILED, detail, err);
        }
    }
    if ((rc = pub_node(p, rc)) != CUSTOS_OK) {
        free(data);
        return rc;
    }
    uint64_t margin = gas / 10000 * p->cfg->evm.gas_limit_margin_bps +
                      gas % 10000 * p->cfg->evm.gas_limit_margin_bps / 10000;
    uint64_t gas_limit = gas + margin;
    custos_u256 max_fee, tip;
    if ((rc = pub_fees(p, &max_fee, &tip, err)) != CUSTOS_OK) {
        free(data);
        return rc;
    }
    row.fate = GW_PUB_SENT;
    row.has_tx = true;
    snprintf(row.detail, sizeof row.detail, "%s", gw_pub_reason_name(why));
    rc = pub_sign(p, p->next_nonce, &max_fee, &tip, gas_limit, data, data_len, &row.tx, err);
    free(data);
    if (rc != CUSTOS_OK)
        return rc;
    if ((rc = gw_pubstate_put(p->state, &row, err)) != CUSTOS_OK) {
        gw_pub_row_clear(&row);
        return rc;
    }
    p->next_nonce++;
    char account[2 + 64 + 1], hash[2 + 64 + 1];
    pub_hex(row.account, CUSTOS_HASH_LEN, account, sizeof account);
    pub_hex(row.tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
    pthread_mutex_lock(&p->lock);
    p->status.nonce = p->next_nonce;
    p->status.pending++;
    pthread_mutex_unlock(&p->lock);
    gw_log(GW_LOG_INFO, "publisher.sent",
           "cursor %" PRIu64 " account %s sequence %" PRIu64 " (%s): nonce %" PRIu64
           ", gas limit %" PRIu64 ", tx %s", row.cursor, account, row.sequence,
           gw_pub_reason_name(why), row.tx.nonce, gas_limit, hash);
    custos_error berr;
    custos_error_clear(&berr);
    if (pub_broadcast(p, &row, &berr) != CUSTOS_OK)
        gw_log(GW_LOG_WARN, "publisher.broadcast", "tx %s stored, not yet broadcast: %s", hash,
               berr.message);
    gw_pub_row_clear(&row);
    return CUSTOS_OK;
}

/* ------------------------------------------------------------------ tracking */

/* The record behind a stored publication, read back from the log. */
static custos_rc pub_read_record(gw_publisher *p, uint64_t cursor, custos_record *rec,
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

/* Replaces a stuck transaction: same nonce and gas limit, both fees raised by at least
 * 12.5% (and to at least what a new transaction would pay), capped; stored first.
 * *bumped stays false when the fees are already at the cap. */
static custos_rc pub_bump(gw_publisher *p, const gw_pub_row *row, bool *bumped,
                          custos_error *err)
{
    *bumped = false;
    custos_u256 max_fee, tip, new_max, new_tip;
    custos_rc rc = pub_fees(p, &max_fee, &tip, err);
    if (rc != CUSTOS_OK)
        return rc;
    gw_publisher_bump_fee(&row->tx.priority_fee, &tip, &p->fee_cap, &new_tip);
    gw_publisher_bump_fee(&row->tx.max_fee, &max_fee, &p->fee_cap, &new_max);
    pub_min(&new_tip, &new_max);
    char hash[2 + 64 + 1];
    pub_hex(row->tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
    if (custos_u256_cmp(&new_max, &row->tx.max_fee) <= 0) {
        gw_log(GW_LOG_DEBUG, "publisher.bump", "tx %s: fees already at max_fee_gwei", hash);
        return CUSTOS_OK;
    }
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    if ((rc = pub_read_record(p, row->cursor, &rec, err)) != CUSTOS_OK)
        return rc;
    uint8_t *data = NULL;
    size_t data_len = 0;
    rc = gw_publisher_encode_submit(&rec, &data, &data_len, err);
    custos_record_clear(&rec);
    if (rc != CUSTOS_OK)
        return rc;
    gw_pub_row next;
    memset(&next, 0, sizeof next);
    next.cursor = row->cursor;
    rc = pub_sign(p, row->tx.nonce, &new_max, &new_tip, row->tx.gas_limit, data, data_len,
                  &next.tx, err);
    free(data);
    if (rc != CUSTOS_OK)
        return rc;
    next.has_tx = true;
    if ((rc = gw_pubstate_replace_tx(p->state, row->cursor, &next.tx, err)) != CUSTOS_OK) {
        gw_pub_row_clear(&next);
        if (rc == CUSTOS_ERR_TOO_LARGE) {
            gw_log(GW_LOG_DEBUG, "publisher.bump", "tx %s: %s", hash, err->message);
            custos_error_clear(err);
            return CUSTOS_OK;
        }
        return rc;
    }
    *bumped = true;
    char new_hash[2 + 64 + 1], fee[CUSTOS_U256_DEC_MAX];
    pub_hex(next.tx.hash, CUSTOS_HASH_LEN, new_hash, sizeof new_hash);
    if (custos_u256_to_dec(&new_max, fee, sizeof fee) != CUSTOS_OK)
        snprintf(fee, sizeof fee, "%s", "?");
    gw_log(GW_LOG_INFO, "publisher.bump", "nonce %" PRIu64 ": tx %s replaced by %s, max fee %s wei",
           row->tx.nonce, hash, new_hash, fee);
    custos_error berr;
    custos_error_clear(&berr);
    if (pub_broadcast(p, &next, &berr) != CUSTOS_OK)
        gw_log(GW_LOG_WARN, "publisher.broadcast", "tx %s stored, not yet broadcast: %s",
               new_hash, berr.message);
    gw_pub_row_clear(&next);
    return CUSTOS_OK;
}

/* eth_getTransactionByHash is null: the node does not know the transaction. */
static custos_rc pub_node_knows(gw_publisher *p, const uint8_t hash[CUSTOS_HASH_LEN],
                                bool *known, custos_error *err)
{
    char hex[2 + 64 + 1];
    pub_hex(hash, CUSTOS_HASH_LEN, hex, sizeof hex);
    json_t *params = json_pack("[s]", hex);
    if (params == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "eth_getTransactionByHash: out of memory");
    json_t *result = NULL;
    custos_rc rc = evm_rpc_request(p->rpc, "eth_getTransactionByHash", params, &result, err);
    if (rc != CUSTOS_OK)
        return pub_node(p, rc);
    *known = !json_is_null(result);
    json_decref(result);
    return CUSTOS_OK;
}

static void pub_add_gas(gw_publisher *p, const evm_receipt *r)
{
    custos_u256 gas, cost;
    custos_u256_from_u64(&gas, r->gas_used);
    if (custos_u256_mul(&cost, &gas, &r->effective_gas_price) != CUSTOS_OK)
        return;
    pthread_mutex_lock(&p->lock);
    custos_u256 sum;
    if (custos_u256_add(&sum, &p->status.gas_spent_wei, &cost) == CUSTOS_OK)
        p->status.gas_spent_wei = sum;
    pthread_mutex_unlock(&p->lock);
}

/* Drives one sent publication: confirmed, failed, still waiting, rebroadcast or bumped. */
static custos_rc pub_track_one(gw_publisher *p, const gw_pub_row *row, uint64_t head,
                               uint64_t mined_nonces, bool *done, custos_error *err)
{
    *done = false;
    uint8_t hashes[GW_PUBSTATE_MAX_ATTEMPTS][CUSTOS_HASH_LEN];
    size_t n = 0;
    custos_rc rc = gw_pubstate_attempts(p->state, row->cursor, hashes, GW_PUBSTATE_MAX_ATTEMPTS,
                                        &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    char account[2 + 64 + 1], hash[2 + 64 + 1], detail[200];
    pub_hex(row->account, CUSTOS_HASH_LEN, account, sizeof account);
    for (size_t i = 0; i < n; i++) {
        evm_receipt r;
        bool found = false;
        if ((rc = pub_node(p, evm_rpc_get_receipt(p->rpc, hashes[i], &r, &found, err))) !=
            CUSTOS_OK)
            return rc;
        if (!found)
            continue;
        pub_hex(hashes[i], CUSTOS_HASH_LEN, hash, sizeof hash);
        if (r.success && r.block_number + p->cfg->evm.confirmations - 1 > head)
            return CUSTOS_OK; /* mined, not yet confirmed enough */
        gw_pub_fate fate = r.success ? GW_PUB_CONFIRMED : GW_PUB_FAILED;
        snprintf(detail, sizeof detail, "%s in block %" PRIu64 ", tx %s, gas %" PRIu64,
                 r.success ? "mined" : "reverted", r.block_number, hash, r.gas_used);
        if ((rc = gw_pubstate_finish(p->state, row->cursor, fate, detail, err)) != CUSTOS_OK)
            return rc;
        pub_add_gas(p, &r);
        pthread_mutex_lock(&p->lock);
        if (r.success) {
            p->status.published++;
            if (row->cursor > p->status.last_published_cursor)
                p->status.last_published_cursor = row->cursor;
        } else {
            p->status.failed++;
        }
        pthread_mutex_unlock(&p->lock);
        gw_log(r.success ? GW_LOG_INFO : GW_LOG_ERROR, "publisher.fate",
               "cursor %" PRIu64 " account %s sequence %" PRIu64 ": %s (%s)", row->cursor,
               account, row->sequence, gw_pub_fate_name(fate), detail);
        *done = true;
        return CUSTOS_OK;
    }
    pub_hex(row->tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
    if (mined_nonces > row->tx.nonce) {
        /* The count was read before the receipts: had one of ours been mined, its receipt
         * would have been found. Another sender used the relayer key. */
        snprintf(detail, sizeof detail,
                 "nonce %" PRIu64 " was used by a transaction not sent by this publisher",
                 row->tx.nonce);
        if ((rc = gw_pubstate_finish(p->state, row->cursor, GW_PUB_FAILED, detail, err)) !=
            CUSTOS_OK)
            return rc;
        p->nonce_known = false;
        pthread_mutex_lock(&p->lock);
        p->status.failed++;
        pthread_mutex_unlock(&p->lock);
        gw_log(GW_LOG_ERROR, "publisher.fate", "cursor %" PRIu64 " account %s tx %s: failed (%s)",
               row->cursor, account, hash, detail);
        *done = true;
        return CUSTOS_OK;
    }
    if (pub_wall_seconds() >= row->tx.sent_at + p->cfg->evm.fee_bump_after_seconds) {
        bool bumped = false;
        if ((rc = pub_bump(p, row, &bumped, err)) != CUSTOS_OK || bumped)
            return rc;
    }
    bool known = true;
    if ((rc = pub_node_knows(p, row->tx.hash, &known, err)) != CUSTOS_OK)
        return rc;
    if (!known) {
        gw_log(GW_LOG_INFO, "publisher.broadcast", "nonce %" PRIu64 ": broadcasting tx %s again",
               row->tx.nonce, hash);
        return pub_broadcast(p, row, err);
    }
    return CUSTOS_OK;
}

static custos_rc pub_track(gw_publisher *p, custos_error *err)
{
    gw_pub_row *rows = NULL;
    size_t n = 0;
    custos_rc rc = gw_pubstate_list_sent(p->state, &rows, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t still = n;
    if (n > 0) {
        uint64_t head = 0, mined = 0;
        if ((rc = pub_node(p, evm_rpc_get_transaction_count(p->rpc, p->relayer, EVM_BLOCK_LATEST,
                                                            &mined, err))) == CUSTOS_OK)
            rc = pub_node(p, evm_rpc_block_number(p->rpc, &head, err));
        for (size_t i = 0; i < n && rc == CUSTOS_OK && !pub_stopping(p); i++) {
            bool done = false;
            rc = pub_track_one(p, &rows[i], head, mined, &done, err);
            if (done)
                still--;
        }
    }
    for (size_t i = 0; i < n; i++)
        gw_pub_row_clear(&rows[i]);
    free(rows);
    if (rc == CUSTOS_OK) {
        pthread_mutex_lock(&p->lock);
        p->status.pending = still;
        pthread_mutex_unlock(&p->lock);
    }
    return rc;
}

/* ------------------------------------------------------------------ following */

static custos_rc pub_last(gw_publisher *p, const uint8_t account[CUSTOS_HASH_LEN],
                          gw_pub_last *last, custos_error *err)
{
    memset(last, 0, sizeof *last);
    gw_pub_row row;
    custos_rc rc = gw_pubstate_last_published(p->state, account, &row, err);
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        custos_error_clear(err);
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK)
        return rc;
    last->has = true;
    last->kind = row.kind;
    memcpy(last->beneficiary, row.beneficiary, CUSTOS_ADDRESS_LEN);
    last->value = row.value;
    last->as_of = row.as_of;
    last->sequence = row.sequence;
    gw_pub_row_clear(&row);
    return CUSTOS_OK;
}

/* Decides and records the fate of batch[i]. */
static custos_rc pub_handle(gw_publisher *p, const custos_record *batch, size_t n, size_t i,
                            custos_error *err)
{
    const custos_record *rec = &batch[i];
    gw_pub_row known;
    custos_rc rc = gw_pubstate_get(p->state, rec->cursor, &known, err);
    if (rc == CUSTOS_OK) {
        gw_pub_row_clear(&known); /* decided before a restart */
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_ERR_NOT_FOUND)
        return rc;
    custos_error_clear(err);
    gw_pub_row row;
    pub_row_from_record(rec, &row);
    for (size_t j = i + 1; j < n; j++) {
        if (memcmp(batch[j].sub.att.account, rec->sub.att.account, CUSTOS_HASH_LEN) == 0) {
            char detail[64];
            snprintf(detail, sizeof detail, "%s by cursor %" PRIu64,
                     gw_pub_reason_name(GW_PUB_SUPERSEDED), batch[j].cursor);
            return pub_put_plain(p, &row, GW_PUB_SKIPPED, detail, err);
        }
    }
    gw_pub_last last;
    if ((rc = pub_last(p, rec->sub.att.account, &last, err)) != CUSTOS_OK)
        return rc;
    gw_pub_reason why = gw_publisher_decide(&p->policy, &last, &rec->sub.att);
    if (!gw_pub_reason_publishes(why))
        return pub_put_plain(p, &row, GW_PUB_SKIPPED, gw_pub_reason_name(why), err);
    return pub_send(p, rec, why, err);
}

static custos_rc pub_follow(gw_publisher *p, custos_error *err)
{
    uint64_t cursor;
    custos_rc rc = gw_pubstate_cursor(p->state, &cursor, err);
    if (rc != CUSTOS_OK)
        return rc;
    pthread_mutex_lock(&p->lock);
    p->status.cursor = cursor;
    pthread_mutex_unlock(&p->lock);
    if (gw_engine_head(p->engine) <= cursor)
        return CUSTOS_OK;
    size_t n = 0;
    if ((rc = gw_engine_read_from(p->engine, cursor, p->batch, PUB_BATCH, &n, err)) != CUSTOS_OK)
        return rc;
    /* Freezes first (stopping a loan is urgent), then everything else in log order. */
    for (int pass = 0; pass < 2 && rc == CUSTOS_OK; pass++) {
        for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
            bool freeze = p->batch[i].sub.att.kind == CUSTOS_KIND_FREEZE;
            if (freeze != (pass == 0))
                continue;
            if (pub_stopping(p))
                rc = CUSTOS_ERR_UNAVAILABLE;
            else
                rc = pub_handle(p, p->batch, n, i, err);
        }
    }
    uint64_t last = n > 0 ? p->batch[n - 1].cursor : cursor;
    for (size_t i = 0; i < n; i++)
        custos_record_clear(&p->batch[i]);
    if (rc == CUSTOS_ERR_UNAVAILABLE && pub_stopping(p)) {
        custos_error_clear(err);
        return CUSTOS_OK;
    }
    if (rc != CUSTOS_OK || n == 0)
        return rc;
    if ((rc = gw_pubstate_advance(p->state, last, err)) != CUSTOS_OK)
        return rc;
    pthread_mutex_lock(&p->lock);
    p->status.cursor = last;
    pthread_mutex_unlock(&p->lock);
    return CUSTOS_OK;
}

/* ------------------------------------------------------------------ the thread */

/* Once per process: the node is on the configured chain, and the relayer's nonce. */
static custos_rc pub_connect(gw_publisher *p, custos_error *err)
{
    custos_rc rc;
    if (!p->chain_checked) {
        uint64_t chain_id = 0;
        if ((rc = pub_node(p, evm_rpc_chain_id(p->rpc, &chain_id, err))) != CUSTOS_OK)
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
        if ((rc = pub_node(p, evm_rpc_get_transaction_count(p->rpc, p->relayer,
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
    if ((rc = pub_probe(p, err)) != CUSTOS_OK || (rc = pub_connect(p, err)) != CUSTOS_OK ||
        (rc = pub_track(p, err)) != CUSTOS_OK)
        return rc;
    return pub_follow(p, err);
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
            (void)pub_probe(p, &err);
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

/* ------------------------------------------------------------------ lifecycle */

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
    bool shared = cfg->store_backend == GW_STORE_POSTGRESQL;
    p->status.leader = !shared;
    if ((rc = pub_gwei(cfg->evm.priority_fee_gwei, &opt.fallback_priority_fee, err)) !=
            CUSTOS_OK ||
        (rc = evm_rpc_new(&opt, &p->rpc, err)) != CUSTOS_OK ||
        (rc = shared ? gw_pubstate_open_pg(cfg->store_path, &p->state, err)
                     : gw_pubstate_open(cfg->evm.state_path, &p->state, err)) != CUSTOS_OK ||
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
