/* Tracking sent publications (publisher_internal.h, docs/publishing.md §6): the receipts of
 * every transaction of a sent record (fee bumps and re-queues leave several, and any may be
 * mined). A receipt is final only [evm] confirmations deep and while its block is still
 * the canonical one at its height; then status 1 is confirmed and status 0 failed. Until
 * then a reorganisation may take the receipt away: the publication is then driven as if
 * never mined, which broadcasts the very same transaction again while its nonce is free.
 * A nonce taken by a transaction this publisher did not send re-queues the publication
 * under a new nonce once that transaction is final. A transaction unmined for
 * fee_bump_after_seconds is bumped; one the node no longer knows is broadcast again. */
#include "evm/publisher_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    return gw_pub_node(p, CUSTOS_OK);
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

/* The tracker's memory of a publication, created empty when asked to; NULL when there is
 * none (create false) or no memory for one. */
static pub_mark *pub_mark_of(gw_publisher *p, uint64_t cursor, bool create)
{
    for (size_t i = 0; i < p->n_marks; i++)
        if (p->marks[i].cursor == cursor)
            return &p->marks[i];
    if (!create)
        return NULL;
    if (p->n_marks == p->cap_marks) {
        size_t cap = p->cap_marks == 0 ? 16 : p->cap_marks * 2;
        pub_mark *grown = realloc(p->marks, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        p->marks = grown;
        p->cap_marks = cap;
    }
    pub_mark *m = &p->marks[p->n_marks++];
    memset(m, 0, sizeof *m);
    m->cursor = cursor;
    return m;
}

/* Forgets publications no longer sent (rows: every SENT row). */
static void pub_marks_prune(gw_publisher *p, const gw_pub_row *rows, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < p->n_marks; i++) {
        bool sent = false;
        for (size_t j = 0; j < n && !sent; j++)
            sent = rows[j].cursor == p->marks[i].cursor;
        if (sent && (p->marks[i].mined_block != 0 || p->marks[i].foreign_block != 0))
            p->marks[kept++] = p->marks[i];
    }
    p->n_marks = kept;
}

/* A mined receipt of one of the publication's transactions, newest first; a success wins
 * over a revert (of a re-queued publication's two transactions, the one mined second
 * reverts as a replay). */
static custos_rc pub_find_receipt(gw_publisher *p, const gw_pub_row *row, evm_receipt *out,
                                  uint8_t hash[CUSTOS_HASH_LEN], bool *found, custos_error *err)
{
    *found = false;
    uint8_t hashes[GW_PUBSTATE_MAX_ATTEMPTS][CUSTOS_HASH_LEN];
    size_t n = 0;
    custos_rc rc = gw_pubstate_attempts(p->state, row->cursor, hashes, GW_PUBSTATE_MAX_ATTEMPTS,
                                        &n, err);
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++) {
        evm_receipt r;
        bool mined = false;
        rc = gw_pub_node(p, evm_rpc_get_receipt(p->rpc, hashes[i], &r, &mined, err));
        if (rc != CUSTOS_OK || !mined || (*found && !r.success))
            continue;
        *out = r;
        memcpy(hash, hashes[i], CUSTOS_HASH_LEN);
        *found = true;
        if (r.success)
            break;
    }
    return rc;
}

/* A final receipt: confirmed (status 1) or failed (status 0). */
static custos_rc pub_finalise(gw_publisher *p, const gw_pub_row *row, const evm_receipt *r,
                              const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err)
{
    char account[2 + 64 + 1], tx[2 + 64 + 1], detail[200];
    gw_pub_hex(row->account, CUSTOS_HASH_LEN, account, sizeof account);
    gw_pub_hex(hash, CUSTOS_HASH_LEN, tx, sizeof tx);
    gw_pub_fate fate = r->success ? GW_PUB_CONFIRMED : GW_PUB_FAILED;
    snprintf(detail, sizeof detail, "%s in block %" PRIu64 ", tx %s, gas %" PRIu64,
             r->success ? "mined" : "reverted", r->block_number, tx, r->gas_used);
    custos_rc rc = gw_pubstate_finish(p->state, row->cursor, fate, detail, err);
    if (rc != CUSTOS_OK)
        return rc;
    pub_add_gas(p, r);
    pthread_mutex_lock(&p->lock);
    if (r->success) {
        p->status.published++;
        if (row->cursor > p->status.last_published_cursor)
            p->status.last_published_cursor = row->cursor;
    } else {
        p->status.failed++;
    }
    pthread_mutex_unlock(&p->lock);
    gw_log(r->success ? GW_LOG_INFO : GW_LOG_ERROR, "publisher.fate",
           "cursor %" PRIu64 " account %s sequence %" PRIu64 ": %s (%s)", row->cursor, account,
           row->sequence, gw_pub_fate_name(fate), detail);
    return CUSTOS_OK;
}

/* A receipt was found: final once confirmations deep and in the canonical block at its
 * height (the node may still be switching branches between our calls). */
static custos_rc pub_mined(gw_publisher *p, const gw_pub_row *row, const evm_receipt *r,
                           const uint8_t hash[CUSTOS_HASH_LEN], uint64_t head,
                           const gw_pub_row *sent, size_t n_sent, bool *done, custos_error *err)
{
    pub_mark *m = pub_mark_of(p, row->cursor, true);
    if (m != NULL) {
        m->foreign_block = 0;
        m->mined_block = r->block_number;
    }
    if (r->block_number + p->cfg->evm.confirmations - 1 > head)
        return CUSTOS_OK;
    uint8_t canonical[CUSTOS_HASH_LEN];
    bool found = false;
    custos_rc rc =
        gw_pub_node(p, evm_rpc_block_hash(p->rpc, r->block_number, canonical, &found, err));
    if (rc != CUSTOS_OK)
        return rc;
    if (!found || memcmp(canonical, r->block_hash, CUSTOS_HASH_LEN) != 0) {
        gw_log(GW_LOG_INFO, "publisher.reorg",
               "cursor %" PRIu64 ": block %" PRIu64 " of its receipt is no longer canonical; "
               "waiting",
               row->cursor, r->block_number);
        return CUSTOS_OK;
    }
    if (row->batched) {
        if ((rc = gw_pub_finalise_call(p, row, r, hash, sent, n_sent, err)) != CUSTOS_OK)
            return rc;
        pub_add_gas(p, r);
    } else if ((rc = pub_finalise(p, row, r, hash, err)) != CUSTOS_OK) {
        return rc;
    }
    if (m != NULL)
        m->mined_block = 0;
    *done = true;
    return CUSTOS_OK;
}

/* No transaction of the publication is mined, and its nonce is used on-chain: another
 * transaction took it (someone else used the relayer key, or replaced ours). Once that is
 * final, the publication is built again under a new nonce. */
static custos_rc pub_nonce_taken(gw_publisher *p, const gw_pub_row *row, uint64_t head,
                                 custos_error *err)
{
    pub_mark *m = pub_mark_of(p, row->cursor, true);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "publisher: out of memory");
    if (m->foreign_block == 0) {
        m->foreign_block = head;
        char hash[2 + 64 + 1];
        gw_pub_hex(row->tx.hash, CUSTOS_HASH_LEN, hash, sizeof hash);
        gw_log(GW_LOG_WARN, "publisher.nonce",
               "cursor %" PRIu64 ": nonce %" PRIu64 " was used by a transaction not sent by "
               "this publisher (tx %s is not mined); it is sent again under a new nonce once "
               "that is %" PRIu64 " blocks deep",
               row->cursor, row->tx.nonce, hash, p->cfg->evm.confirmations);
    }
    if (m->foreign_block + p->cfg->evm.confirmations - 1 > head)
        return CUSTOS_OK;
    /* The other sender may have used more nonces than this one. */
    custos_rc rc = gw_pub_read_nonce(p, err);
    if (rc == CUSTOS_OK)
        rc = gw_pub_requeue(p, row, err);
    if (rc == CUSTOS_OK)
        m->foreign_block = 0;
    return rc;
}

/* Drives one sent publication: final, still waiting, re-queued, rebroadcast or bumped. */
static custos_rc pub_track_one(gw_publisher *p, const gw_pub_row *row, uint64_t head,
                               uint64_t mined_nonces, const gw_pub_row *sent, size_t n_sent,
                               bool *done, custos_error *err)
{
    *done = false;
    evm_receipt r;
    uint8_t hash[CUSTOS_HASH_LEN];
    bool found = false;
    custos_rc rc = pub_find_receipt(p, row, &r, hash, &found, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (found)
        return pub_mined(p, row, &r, hash, head, sent, n_sent, done, err);
    pub_mark *m = pub_mark_of(p, row->cursor, false);
    if (m != NULL && m->mined_block != 0) {
        gw_log(GW_LOG_WARN, "publisher.reorg",
               "cursor %" PRIu64 ": its receipt in block %" PRIu64 " is gone: a reorganisation "
               "dropped the transaction; it is broadcast again while nonce %" PRIu64 " is free",
               row->cursor, m->mined_block, row->tx.nonce);
        m->mined_block = 0;
        pthread_mutex_lock(&p->lock);
        p->status.reorged++;
        pthread_mutex_unlock(&p->lock);
    }
    /* The count was read before the receipts: had one of ours been mined, its receipt
     * would have been found. */
    if (mined_nonces > row->tx.nonce)
        return pub_nonce_taken(p, row, head, err);
    if (m != NULL)
        m->foreign_block = 0; /* a reorganisation undid the other transaction */
    if (gw_pub_now() >= row->tx.sent_at + p->cfg->evm.fee_bump_after_seconds) {
        bool bumped = false;
        if ((rc = gw_pub_bump(p, row, &bumped, err)) != CUSTOS_OK || bumped)
            return rc;
    }
    bool known = true;
    if ((rc = pub_node_knows(p, row->tx.hash, &known, err)) != CUSTOS_OK)
        return rc;
    if (!known) {
        char tx[2 + 64 + 1];
        gw_pub_hex(row->tx.hash, CUSTOS_HASH_LEN, tx, sizeof tx);
        gw_log(GW_LOG_INFO, "publisher.broadcast", "nonce %" PRIu64 ": broadcasting tx %s again",
               row->tx.nonce, tx);
        rc = gw_pub_broadcast(p, row, err);
        /* A node refusing it (another transaction holds the nonce in its pool, say) leaves
         * it to the next pass: the receipts and the nonce count will tell. */
        if (rc == CUSTOS_ERR_REFUSED) {
            gw_log(GW_LOG_WARN, "publisher.broadcast", "tx %s: %s", tx, err->message);
            custos_error_clear(err);
            rc = CUSTOS_OK;
        }
    }
    return rc;
}

custos_rc gw_pub_track(gw_publisher *p, custos_error *err)
{
    gw_pub_row *rows = NULL;
    size_t n = 0;
    custos_rc rc = gw_pubstate_list_sent(p->state, &rows, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    /* The members of a batch call go with the row holding its transaction. */
    size_t still = 0;
    for (size_t i = 0; i < n; i++)
        still += rows[i].call == 0;
    if (still > 0) {
        uint64_t head = 0, mined = 0;
        if ((rc = gw_pub_node(p, evm_rpc_get_transaction_count(p->rpc, p->relayer, EVM_BLOCK_LATEST,
                                                            &mined, err))) == CUSTOS_OK)
            rc = gw_pub_node(p, evm_rpc_block_number(p->rpc, &head, err));
        for (size_t i = 0; i < n && rc == CUSTOS_OK && !gw_pub_stopping(p); i++) {
            if (rows[i].call != 0)
                continue;
            bool done = false;
            rc = pub_track_one(p, &rows[i], head, mined, rows, n, &done, err);
            if (done)
                still--;
        }
    }
    pub_marks_prune(p, rows, n);
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
