/* The accepted chain's head (custos/chain.h): read from the store's head entry (a record or,
 * since schema step 17, a collateral notice) at start, and linked once over a log written
 * before the chain existed (internal.h). */
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>

/* Records read per step when filling in chain hashes. */
#define ENG_BACKFILL_BATCH 256

/* Links every record of the log, in cursor order, and stores the links: the log was
 * written before the chain existed (schema version 4). One transaction: all or none. */
static custos_rc eng_chain_backfill(gw_engine *e, uint64_t head, custos_error *err)
{
    custos_record *batch = calloc(ENG_BACKFILL_BATCH, sizeof *batch);
    if (batch == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory");
    memset(e->chain_hash, 0, CUSTOS_CHAIN_HASH_LEN);
    uint64_t after = 0;
    custos_rc rc = gw_store_begin(&e->store, err);
    while (rc == CUSTOS_OK && after < head) {
        size_t n = 0;
        rc = gw_store_read_from(&e->store, after, batch, ENG_BACKFILL_BATCH, &n, err);
        for (size_t i = 0; i < n; i++) {
            custos_chain_link(e->chain_hash, batch[i].cursor, batch[i].digest, e->chain_hash);
            if (rc == CUSTOS_OK)
                rc = gw_store_set_chain_hash(&e->store, batch[i].cursor, e->chain_hash, err);
            after = batch[i].cursor;
            custos_record_clear(&batch[i]);
        }
        if (rc == CUSTOS_OK && n == 0)
            rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                  "store: the accepted log ends at %llu, below its head %llu",
                                  (unsigned long long)after, (unsigned long long)head);
    }
    free(batch);
    if (rc == CUSTOS_OK)
        rc = gw_store_commit(&e->store, err);
    else
        gw_store_rollback(&e->store);
    if (rc == CUSTOS_OK)
        gw_log(GW_LOG_INFO, "chain", "linked the %llu records accepted before the chain existed",
               (unsigned long long)head);
    return rc;
}

/* The chain hash of the notice at cursor head; an internal error when none is there either:
 * the head the store reported has no entry. */
static custos_rc eng_chain_notice_at(gw_engine *e, uint64_t head,
                                     uint8_t hash[CUSTOS_CHAIN_HASH_LEN], custos_error *err)
{
    gw_store_notice n;
    size_t got = 0;
    custos_rc rc = gw_store_read_notices_from(&e->store, head - 1, &n, 1, &got, err);
    if (rc == CUSTOS_OK && (got != 1 || n.cursor != head))
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "store: head entry %llu is missing",
                              (unsigned long long)head);
    if (rc == CUSTOS_OK)
        memcpy(hash, n.chain_hash, CUSTOS_CHAIN_HASH_LEN);
    return rc;
}

custos_rc gw_eng_chain_at(gw_engine *e, uint64_t head, uint8_t hash[CUSTOS_CHAIN_HASH_LEN],
                          bool *linked, custos_error *err)
{
    static const uint8_t none[CUSTOS_CHAIN_HASH_LEN];
    memset(hash, 0, CUSTOS_CHAIN_HASH_LEN);
    *linked = true;
    if (head == 0)
        return CUSTOS_OK;
    custos_record rec;
    size_t n = 0;
    custos_rc rc = gw_store_read_from(&e->store, head - 1, &rec, 1, &n, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (n != 1 || rec.cursor != head) {
        if (n == 1)
            custos_record_clear(&rec);
        /* Not a record: a notice, always linked (it joined the log with its link). */
        return eng_chain_notice_at(e, head, hash, err);
    }
    *linked = memcmp(rec.chain_hash, none, CUSTOS_CHAIN_HASH_LEN) != 0;
    memcpy(hash, rec.chain_hash, CUSTOS_CHAIN_HASH_LEN);
    custos_record_clear(&rec);
    return CUSTOS_OK;
}

custos_rc gw_eng_chain_load(gw_engine *e, uint64_t head, custos_error *err)
{
    bool linked = true;
    e->chain_cursor = head;
    custos_rc rc = gw_eng_chain_at(e, head, e->chain_hash, &linked, err);
    if (rc != CUSTOS_OK)
        return rc;
    return linked ? CUSTOS_OK : eng_chain_backfill(e, head, err);
}
