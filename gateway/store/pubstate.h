/* The EVM publisher's durable state: how far it has followed the accepted log, the
 * fate of every record it looked at: skipped, sent (a signed transaction exists: its
 * nonce, raw bytes and hash), confirmed or failed, and each account's last publication
 * (what the chain has or will have: the newest sent or confirmed fate), which the
 * publisher watches for on-chain expiry (docs/publishing.md §3).
 *
 * A sent row is written before its transaction is broadcast, so after a crash the same
 * raw transaction (same nonce: it can land at most once) is broadcast again instead of a
 * new one being built. The follow cursor only moves onto a record whose fate is stored.
 *
 * Not thread-safe: one thread per handle. Several handles (processes) may open the same
 * file; readers see committed data only.
 *
 * Two back ends behind one table of functions (pubstate_backend.h), like the store's: a
 * SQLite file ([evm] state; pubstate_sqlite.c) or, with a PostgreSQL store, tables in the
 * same database (pubstate_pg.c). Both commit every write durably before returning. */
#ifndef GATEWAY_STORE_PUBSTATE_H
#define GATEWAY_STORE_PUBSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/u256.h"

#include "config/config.h"

/* Most transactions (the first one and its fee bumps) kept for one publication. */
#define GW_PUBSTATE_MAX_ATTEMPTS 64

typedef enum gw_pub_fate {
    GW_PUB_SKIPPED = 0,   /* not worth publishing (policy) or superseded; may still be
                           * published when the account's on-chain value nears expiry */
    GW_PUB_SENT = 1,      /* transaction signed and stored; waiting for a final receipt */
    GW_PUB_CONFIRMED = 2, /* final on-chain (confirmations deep, canonical), or found there */
    GW_PUB_FAILED = 3     /* the chain refused it (estimate, or a final receipt): not retried */
} gw_pub_fate;

/* One transaction of a publication. raw is owned (malloc'd) when read back. */
typedef struct gw_pub_tx {
    uint64_t nonce;
    custos_u256 max_fee;       /* wei per gas */
    custos_u256 priority_fee;  /* wei per gas */
    uint64_t gas_limit;
    uint64_t sent_at;          /* unix seconds, when it was (re)built */
    uint8_t hash[CUSTOS_HASH_LEN];
    uint8_t *raw;
    size_t raw_len;
} gw_pub_tx;

/* A record's fate, with what the publishing policy compares against. */
typedef struct gw_pub_row {
    uint64_t cursor;
    uint8_t account[CUSTOS_HASH_LEN];
    uint64_t sequence;
    uint8_t kind;
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN];
    custos_u256 value;         /* collateral value as attested */
    uint64_t as_of;
    uint64_t valid_until;      /* 0 in rows stored before the state kept it */
    char feed[CUSTOS_FEED_MAX + 1]; /* "" in rows stored before the state kept it */
    gw_pub_fate fate;
    bool has_tx;               /* tx is set (the latest attempt when bumped or re-queued) */
    gw_pub_tx tx;
    char detail[200];          /* why skipped or failed; revert data */
    /* A batch-signed record (rule 20) goes on-chain only in a submitBatch of its whole
     * batch (docs/publishing.md §14): the batch's digest, and, for every record of such a
     * call but the one whose row holds the call's transaction, that row's cursor. */
    bool batched;
    uint8_t batch_digest[CUSTOS_HASH_LEN];
    uint64_t call;             /* 0: the row holds its own transaction (or none) */
    /* The call is a submitBatchPart of the records it carries (docs/publishing.md §14),
     * not a submitBatch of their whole batch: set on every row of such a call. */
    bool part;
} gw_pub_row;

typedef struct gw_pubstate gw_pubstate;

/* The state the configuration names (backend.c): with a PostgreSQL store, its database;
 * otherwise the SQLite file [evm] state. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_open(const gw_config *cfg, gw_pubstate **out, custos_error *err);
/* Opens (creating if absent) the SQLite database at path. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_open_sqlite(const char *path, gw_pubstate **out, custos_error *err);
/* The same state in the gateway's PostgreSQL database (conninfo as the store's; its
 * tables come with the store's schema, so the store is opened first), shared by every
 * replica: whichever publishes continues where the last one stopped. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_open_pg(const char *conninfo, gw_pubstate **out, custos_error *err);
void gw_pubstate_close(gw_pubstate *s);

/* Frees row->tx.raw; safe on a zeroed row. */
void gw_pub_row_clear(gw_pub_row *row);
const char *gw_pub_fate_name(gw_pub_fate f);

/* The follow cursor: every record at or below it has a stored fate (0 at first). */
CUSTOS_MUST_USE
custos_rc gw_pubstate_cursor(gw_pubstate *s, uint64_t *cursor, custos_error *err);
/* Moves the follow cursor to `cursor`. CUSTOS_ERR_INVALID when it would not move forward
 * or when no fate is stored for the record at `cursor`. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_advance(gw_pubstate *s, uint64_t cursor, custos_error *err);

/* Stores a new fate (with its transaction when has_tx; durable on return).
 * CUSTOS_ERR_INVALID when the record already has one. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_put(gw_pubstate *s, const gw_pub_row *row, custos_error *err);
/* The fates of the records of one batch call (docs/publishing.md §14), durable together
 * or not at all: rows[0] is SENT with the call's transaction, every other row SENT
 * without one and with call = rows[0].cursor, or SKIPPED. rows[0 .. first_promoted - 1]
 * have no fate yet and are stored; the others were skipped before and become what they
 * say (as gw_pubstate_promote; none of them SKIPPED). CUSTOS_ERR_INVALID otherwise,
 * nothing stored. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_put_call(gw_pubstate *s, const gw_pub_row *rows, size_t n,
                               size_t first_promoted, custos_error *err);
/* CUSTOS_ERR_NOT_FOUND when the record has no fate yet. out is overwritten. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_get(gw_pubstate *s, uint64_t cursor, gw_pub_row *out,
                          custos_error *err);
/* A fee bump: tx (same nonce) becomes the publication's latest transaction; the earlier
 * ones stay listed by gw_pubstate_attempts, since any of them may still be mined.
 * CUSTOS_ERR_INVALID unless the row is SENT with that nonce; CUSTOS_ERR_TOO_LARGE
 * beyond GW_PUBSTATE_MAX_ATTEMPTS. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_replace_tx(gw_pubstate *s, uint64_t cursor, const gw_pub_tx *tx,
                                 custos_error *err);
/* A re-queue: the publication's nonce was taken by a transaction this publisher did not
 * send, so tx (a new nonce) becomes its latest transaction; the earlier ones stay listed.
 * CUSTOS_ERR_INVALID unless the row is SENT with another nonce; CUSTOS_ERR_TOO_LARGE
 * beyond GW_PUBSTATE_MAX_ATTEMPTS. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_requeue_tx(gw_pubstate *s, uint64_t cursor, const gw_pub_tx *tx,
                                 custos_error *err);
/* A skipped record published after all (its account's on-chain value nears expiry): its
 * row becomes row->fate (SENT with row->tx, or CONFIRMED or FAILED without one) with
 * row->detail. CUSTOS_ERR_INVALID unless the record is skipped. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_promote(gw_pubstate *s, const gw_pub_row *row, custos_error *err);
/* SENT -> CONFIRMED or FAILED, with a detail (may be NULL). CUSTOS_ERR_INVALID from any
 * other state. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_finish(gw_pubstate *s, uint64_t cursor, gw_pub_fate fate,
                             const char *detail, custos_error *err);

/* The account's newest SENT or CONFIRMED row (what the chain has or will have);
 * CUSTOS_ERR_NOT_FOUND when none. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_last_published(gw_pubstate *s, const uint8_t account[CUSTOS_HASH_LEN],
                                     gw_pub_row *out, custos_error *err);
/* Every SENT row, by nonce (the members of a batch call, which have none, after the
 * rest); *rows is malloc'd: clear each row, then free the array. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_list_sent(gw_pubstate *s, gw_pub_row **rows, size_t *n,
                                custos_error *err);
/* Hashes of every transaction stored for the record, newest first. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_attempts(gw_pubstate *s, uint64_t cursor,
                               uint8_t hashes[][CUSTOS_HASH_LEN], size_t max, size_t *n,
                               custos_error *err);

/* ---- The chain view: each account's last publication (newest SENT or CONFIRMED row),
 * kept in step with the fates by every write. Times are compared as SQL integers, which
 * holds for every asOf and validUntil the gateway accepts (far below 2^63). */

/* An account whose last publication, a valuation, ends within the bounds asked, and the
 * newest record of it skipped since (the one that can keep its value alive). */
typedef struct gw_pub_expiring {
    uint8_t account[CUSTOS_HASH_LEN];
    uint64_t last_cursor, last_as_of, last_valid_until;
    uint64_t next_cursor, next_as_of, next_valid_until;
} gw_pub_expiring;

/* Up to max accounts of `feed` whose last publication is a valuation with validUntil at
 * or before valid_until_by, or asOf at or before as_of_by, and whose newest record skipped
 * since has a validUntil after next_valid_after (one that expired already cannot help);
 * soonest validUntil first. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_expiring(gw_pubstate *s, const char *feed, uint64_t valid_until_by,
                               uint64_t as_of_by, uint64_t next_valid_after,
                               gw_pub_expiring *out, size_t max, size_t *n,
                               custos_error *err);

/* The valuations on-chain of one feed: how many, the earliest validUntil and asOf among
 * them (0 when there are none), and how many have validUntil at or before
 * valid_until_by or asOf at or before as_of_by. */
typedef struct gw_pub_chain_summary {
    uint64_t accounts;
    uint64_t min_valid_until, min_as_of;
    uint64_t matching;
} gw_pub_chain_summary;
CUSTOS_MUST_USE
custos_rc gw_pubstate_chain_summary(gw_pubstate *s, const char *feed, uint64_t valid_until_by,
                                    uint64_t as_of_by, gw_pub_chain_summary *out,
                                    custos_error *err);
/* The distinct feeds of the chain view ("" for last publications stored before the state
 * kept feeds), at most max of them. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_chain_feeds(gw_pubstate *s, char (*feeds)[CUSTOS_FEED_MAX + 1],
                                  size_t max, size_t *n, custos_error *err);
/* Last publications stored before the state kept feed and validUntil: their cursors, at
 * most max. */
CUSTOS_MUST_USE
custos_rc gw_pubstate_unlabelled(gw_pubstate *s, uint64_t *cursors, size_t max, size_t *n,
                                 custos_error *err);
/* Fills in the feed and validUntil of such a row (read back from the accepted log). */
CUSTOS_MUST_USE
custos_rc gw_pubstate_label(gw_pubstate *s, uint64_t cursor, const char *feed,
                            uint64_t valid_until, custos_error *err);

#endif
