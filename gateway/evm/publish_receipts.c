/* Tracking sent publications (publisher_internal.h): the receipts of every transaction of
 * a sent record (a fee bump leaves several, and any may be mined). Status 1 and
 * blockNumber + confirmations - 1 <= head: confirmed; status 0: failed. A nonce mined by a
 * transaction this publisher never sent fails the record; a transaction unmined for
 * fee_bump_after_seconds is bumped; one the node no longer knows is broadcast again. */
#include "evm/publisher_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "log.h"

/* eth_getTransactionByHash is null: the node does not know the transaction. */
static custos_rc pub_node_knows(gw_publisher *p, const uint8_t hash[CUSTOS_HASH_LEN],
                                bool *known, custos_error *err)
{
    char hex[2 + 64 + 1];
    gw_pub_hex(hash, CUSTOS_HASH_LEN, hex, sizeof hex);
    json_t *params = json_pack("[s]", hex);
    if (params == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "eth_getTransactionByHash: out of memory");
    json_t *result = NULL;
    custos_rc rc = evm_rpc_request(p->rpc, "eth_getTransactionByHash", params, &result, err);
    if (rc != CUSTOS_OK)
        return gw_pub_node(p, rc);
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
    gw_pub_hex(row->account, CUSTOS_HASH_LEN, account, sizeof account);
    for (size_t i = 0; i < n; i++) {
        evm_receipt r;
        bool found = false;
        if ((rc = gw_pub_node(p, evm_rpc_get_receipt(p->rpc, hashes[i], &r, &found, err))) !=
            CUSTOS_OK)
            return rc;
        if (!found)
            continue;
        gw_pub_hex(hashes[i], CUSTOS_HASH_LEN, hash, sizeof hash);
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
    gw_pub_hex(row->tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
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
    if (gw_pub_now() >= row->tx.sent_at + p->cfg->evm.fee_bump_after_seconds) {
        bool bumped = false;
        if ((rc = gw_pub_bump(p, row, &bumped, err)) != CUSTOS_OK || bumped)
            return rc;
    }
    bool known = true;
    if ((rc = pub_node_knows(p, row->tx.hash, &known, err)) != CUSTOS_OK)
        return rc;
    if (!known) {
        gw_log(GW_LOG_INFO, "publisher.broadcast", "nonce %" PRIu64 ": broadcasting tx %s again",
               row->tx.nonce, hash);
        return gw_pub_broadcast(p, row, err);
    }
    return CUSTOS_OK;
}

custos_rc gw_pub_track(gw_publisher *p, custos_error *err)
{
    gw_pub_row *rows = NULL;
    size_t n = 0;
    custos_rc rc = gw_pubstate_list_sent(p->state, &rows, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    size_t still = n;
    if (n > 0) {
        uint64_t head = 0, mined = 0;
        if ((rc = gw_pub_node(p, evm_rpc_get_transaction_count(p->rpc, p->relayer, EVM_BLOCK_LATEST,
                                                            &mined, err))) == CUSTOS_OK)
            rc = gw_pub_node(p, evm_rpc_block_number(p->rpc, &head, err));
        for (size_t i = 0; i < n && rc == CUSTOS_OK && !gw_pub_stopping(p); i++) {
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
