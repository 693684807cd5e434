/* What a back end of the publisher state provides (pubstate.h): a table of functions over
 * an opaque handle, as the store's (store.h). pubstate.c checks the arguments every back
 * end would check alike before it calls one; each function otherwise means what its
 * gw_pubstate_* counterpart says. */
#ifndef GATEWAY_STORE_PUBSTATE_BACKEND_H
#define GATEWAY_STORE_PUBSTATE_BACKEND_H

#include <stdint.h>

#include "store/pubstate.h"

typedef struct gw_pubstate_ops {
    /* where: the SQLite path or the PostgreSQL conninfo. */
    custos_rc (*open)(const char *where, void **impl, custos_error *err);
    void (*close)(void *impl);
    custos_rc (*cursor)(void *impl, uint64_t *cursor, custos_error *err);
    custos_rc (*advance)(void *impl, uint64_t cursor, custos_error *err);
    /* n rows in one transaction: rows[0 .. first_promoted - 1] new (gw_pubstate_put), the
     * others skipped before and promoted (gw_pubstate_promote); gw_pubstate_put_call. */
    custos_rc (*put)(void *impl, const gw_pub_row *rows, size_t n, size_t first_promoted,
                     custos_error *err);
    custos_rc (*get)(void *impl, uint64_t cursor, gw_pub_row *out, custos_error *err);
    /* new_nonce: a re-queue (tx has another nonce), else a fee bump (the same nonce). */
    custos_rc (*replace_tx)(void *impl, uint64_t cursor, const gw_pub_tx *tx, bool new_nonce,
                            custos_error *err);
    custos_rc (*finish)(void *impl, uint64_t cursor, gw_pub_fate fate, const char *detail,
                        custos_error *err);
    custos_rc (*last_published)(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                gw_pub_row *out, custos_error *err);
    custos_rc (*list_sent)(void *impl, gw_pub_row **rows, size_t *n, custos_error *err);
    custos_rc (*attempts)(void *impl, uint64_t cursor, uint8_t hashes[][CUSTOS_HASH_LEN],
                          size_t max, size_t *n, custos_error *err);
    custos_rc (*expiring)(void *impl, const char *feed, uint64_t valid_until_by,
                          uint64_t as_of_by, uint64_t next_valid_after, gw_pub_expiring *out,
                          size_t max, size_t *n, custos_error *err);
    custos_rc (*chain_summary)(void *impl, const char *feed, uint64_t valid_until_by,
                               uint64_t as_of_by, gw_pub_chain_summary *out,
                               custos_error *err);
    custos_rc (*chain_feeds)(void *impl, char (*feeds)[CUSTOS_FEED_MAX + 1], size_t max,
                             size_t *n, custos_error *err);
    custos_rc (*unlabelled)(void *impl, uint64_t *cursors, size_t max, size_t *n,
                            custos_error *err);
    custos_rc (*label)(void *impl, uint64_t cursor, const char *feed, uint64_t valid_until,
                       custos_error *err);
} gw_pubstate_ops;

extern const gw_pubstate_ops gw_pubstate_sqlite_ops; /* pubstate_sqlite.c */
extern const gw_pubstate_ops gw_pubstate_pg_ops;     /* pubstate_pg.c */

/* The column names of a fate row, in the order both back ends select them. */
#define GW_PUB_ROW_COLUMNS                                                                \
    "cursor, account, sequence, kind, beneficiary, value, as_of, fate, detail, nonce, "    \
    "max_fee, priority_fee, gas_limit, sent_at, tx_hash, raw, feed, valid_until, "          \
    "batch_digest, call_cursor, part"

/* Times handed to SQL comparisons are capped here: every time the gateway accepts is far
 * below, and a larger bound means "any". */
#define GW_PUB_SQL_TIME_MAX ((uint64_t)INT64_MAX)

#endif
