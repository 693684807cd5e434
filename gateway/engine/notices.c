/* The collateral notices of rule 19: each stored with its audit log entry in one
 * transaction, taken with store_lock as reserves are (engine.c), so the store's write side
 * is used by one thread at a time. A notice is the accepted log's next entry: it takes the
 * cursor after the head and links the chain (docs/attestation.md §19), exactly as a
 * committer's group does, so records and notices share one order and one chain. */
#include "engine/internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "custos/hex.h"

#include "audit.h"

/* The audit payload: what the notice says, in one line. */
static size_t notices_payload(const gw_store_notice *n, char *out, size_t cap)
{
    char account[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], lender[CUSTOS_HEX_LEN(CUSTOS_ADDRESS_LEN)];
    char digest[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)], signer[CUSTOS_HEX_LEN(CUSTOS_ADDRESS_LEN)];
    gw_eng_hex(n->n.account, CUSTOS_HASH_LEN, account, sizeof account);
    gw_eng_hex(n->n.lender, CUSTOS_ADDRESS_LEN, lender, sizeof lender);
    gw_eng_hex(n->digest, CUSTOS_HASH_LEN, digest, sizeof digest);
    gw_eng_hex(n->signer, CUSTOS_ADDRESS_LEN, signer, sizeof signer);
    int len = snprintf(out, cap,
                       "notice %s account=%s lender=%s state=%s ltv_bps=%" PRIu32
                       " deadline=%" PRIu64 " sequence=%" PRIu64 " signer=%s feed=%s",
                       digest, account, lender,
                       custos_loan_state_name((custos_loan_state)n->n.state), n->n.ltv_bps,
                       n->n.deadline, n->n.sequence, signer, n->feed);
    return len < 0 ? 0 : (size_t)len >= cap ? cap - 1 : (size_t)len;
}

/* Inside the open transaction: the log's head and its chain hash. Over a shared store
 * other replicas extend the log too, so they are read from it (begin waited for every
 * other writer); otherwise the engine's committed head is the store's. */
static custos_rc notices_tip(gw_engine *e, uint64_t *head, uint8_t tip[CUSTOS_CHAIN_HASH_LEN],
                             custos_error *err)
{
    if (!gw_store_shared(&e->store)) {
        pthread_mutex_lock(&e->chain_lock);
        *head = e->chain_cursor;
        memcpy(tip, e->chain_hash, CUSTOS_CHAIN_HASH_LEN);
        pthread_mutex_unlock(&e->chain_lock);
        return CUSTOS_OK;
    }
    bool linked = true;
    custos_rc rc = gw_store_head(&e->store, head, err);
    if (rc == CUSTOS_OK)
        rc = gw_eng_chain_at(e, *head, tip, &linked, err);
    if (rc == CUSTOS_OK && !linked)
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: entry %llu has no chain hash",
                              (unsigned long long)*head);
    return rc;
}

custos_reason gw_engine_put_notice(gw_engine *e, gw_store_notice *n, const char *actor,
                                   bool *duplicate, uint64_t *audit_seq, char *detail,
                                   size_t cap)
{
    *duplicate = false;
    *audit_seq = 0;
    custos_error err;
    custos_error_clear(&err);
    custos_reason reason = CUSTOS_REASON_NONE;
    gw_store_notice last;
    size_t have = 0;
    pthread_mutex_lock(&e->store_lock);
    custos_rc rc = gw_store_begin(&e->store, &err);
    /* Read after begin: over a shared store, begin waited for every other writer. */
    if (rc == CUSTOS_OK)
        rc = gw_store_list_notices(&e->store, n->n.account, n->n.lender, &last, 1, &have, &err);
    if (rc == CUSTOS_OK && have == 1 && memcmp(last.digest, n->digest, CUSTOS_HASH_LEN) == 0) {
        *duplicate = true;
        n->cursor = last.cursor;
        memcpy(n->chain_hash, last.chain_hash, CUSTOS_CHAIN_HASH_LEN);
    } else if (rc == CUSTOS_OK && have == 1 && n->n.sequence <= last.n.sequence) {
        reason = CUSTOS_REASON_REPLAY;
        snprintf(detail, cap,
                 "notice sequence %" PRIu64 " is not above the last accepted for this account "
                 "and lender, %" PRIu64,
                 n->n.sequence, last.n.sequence);
    }
    bool write = rc == CUSTOS_OK && reason == CUSTOS_REASON_NONE && !*duplicate;
    uint64_t head = 0;
    uint8_t tip[CUSTOS_CHAIN_HASH_LEN];
    if (write)
        rc = notices_tip(e, &head, tip, &err);
    if (write && rc == CUSTOS_OK) {
        n->cursor = head + 1;
        custos_chain_link_notice(tip, n->cursor, n->digest, n->sig.bytes, n->chain_hash);
        rc = gw_store_put_notice(&e->store, n, &err);
    }
    if (write && rc == CUSTOS_OK) {
        char payload[512];
        size_t len = notices_payload(n, payload, sizeof payload);
        rc = gw_audit_append(&e->store, actor, "collateral_notice", (const uint8_t *)payload,
                             len, n->accepted_at, audit_seq, &err);
    }
    if (write && rc == CUSTOS_OK)
        rc = gw_store_commit(&e->store, &err);
    else
        gw_store_rollback(&e->store);
    bool moved = write && rc == CUSTOS_OK;
    if (moved) {
        pthread_mutex_lock(&e->chain_lock);
        e->chain_cursor = n->cursor;
        memcpy(e->chain_hash, n->chain_hash, CUSTOS_CHAIN_HASH_LEN);
        pthread_mutex_unlock(&e->chain_lock);
        atomic_store(&e->head, n->cursor);
        /* Over a shared store the head may have passed other replicas' records too. */
        if (gw_store_shared(&e->store))
            gw_eng_read_record_head(e);
    }
    pthread_mutex_unlock(&e->store_lock);
    if (moved)
        gw_eng_notify(e, n->cursor);
    if (rc != CUSTOS_OK) {
        *audit_seq = 0;
        n->cursor = 0;
        memset(n->chain_hash, 0, CUSTOS_CHAIN_HASH_LEN);
        gw_log(GW_LOG_ERROR, "store_error", "a notice was not stored: %s", err.message);
        reason = rc == CUSTOS_ERR_UNAVAILABLE || rc == CUSTOS_ERR_IO ? CUSTOS_REASON_UNAVAILABLE
                                                                     : CUSTOS_REASON_INTERNAL;
        snprintf(detail, cap, "nothing was recorded, retry later: %s", err.message);
    }
    return reason;
}

custos_rc gw_engine_list_notices(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN],
                                 gw_store_notice *out, size_t max, size_t *n,
                                 custos_error *err)
{
    return gw_store_list_notices(&e->store, account, NULL, out, max, n, err);
}

custos_rc gw_engine_read_notices_from(gw_engine *e, uint64_t after, gw_store_notice *out,
                                      size_t max, size_t *n, custos_error *err)
{
    return gw_store_read_notices_from(&e->store, after, out, max, n, err);
}
