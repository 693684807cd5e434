/* The publisher's parts (publisher.h) shared by its files: publisher.c (the thread, the
 * nodes and their health, the relayer's balance, leadership, start and stop),
 * publish_follow.c (following the accepted log and the publish-or-skip policy),
 * publish_expiry.c (keeping on-chain values from expiring, the adapter's maxAge, the chain
 * view's figures), publish_send.c (calldata, signing, storing and broadcasting
 * transactions, fee bumps, re-queues), publish_receipts.c (tracking sent transactions
 * to a final receipt, through reorganisations) and publish_batchcall.c (batch-signed
 * records, published as submitBatch calls of their whole batch). */
#ifndef GATEWAY_EVM_PUBLISHER_INTERNAL_H
#define GATEWAY_EVM_PUBLISHER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/sig.h"

#include "evm/election.h"
#include "evm/evm_nodes.h"
#include "evm/evm_rpc.h"
#include "evm/publisher.h"
#include "evm/relayer.h"
#include "store/pubstate.h"

/* Records read from the accepted log per pass. */
#define PUB_BATCH 64
/* Feeds whose adapter maxAge is remembered. */
#define PUB_MAX_FEEDS 64

/* A feed's policy on-chain, as the publisher last read it. */
typedef struct pub_feed {
    char name[CUSTOS_FEED_MAX + 1];
    uint64_t max_age;        /* the adapter's maxAge; 0: not known (the feed is not there) */
    int64_t read_ms;         /* monotonic, when it was read */
} pub_feed;

/* What the receipt tracker remembers of a sent publication between passes (lost at a
 * restart, which only delays a re-queue by the confirmations again). */
typedef struct pub_mark {
    uint64_t cursor;
    uint64_t mined_block;   /* its receipt was seen in this block, not yet final (0: no) */
    uint64_t foreign_block; /* head when another transaction was first seen holding its
                             * nonce (0: no): re-queued once that is confirmations deep */
} pub_mark;

struct gw_publisher {
    const gw_config *cfg;
    gw_engine *engine;
    gw_pubstate *state;
    gw_election *election; /* NULL with a SQLite store: the one process always publishes */
    evm_nodes *nodes;
    custos_secp *secp;
    gw_relayer *relayer_key;
    uint8_t relayer[CUSTOS_ADDRESS_LEN];
    custos_u256 fee_cap;
    gw_pub_policy policy;
    custos_record *batch;

    /* Publisher thread only. */
    evm_rpc *rpc;               /* the node this pass uses */
    size_t node;                /* its position in [evm] rpc_url, from 0 */
    bool node_picked;
    bool nonce_known;
    uint64_t next_nonce;
    int64_t balance_ms;         /* monotonic, the relayer balance's last read (0: never) */
    bool nodes_down;            /* every node unreachable for unreachable_after_ms */
    bool lagging;               /* head - cursor beyond max_lag_records */
    int64_t expiry_ms;          /* monotonic, the last expiry scan (0: never) */
    pub_feed feeds[PUB_MAX_FEEDS];
    size_t n_feeds;
    pub_mark *marks;
    size_t n_marks, cap_marks;

    pthread_t thread;
    bool started;
    pthread_mutex_t lock;   /* guards stop and status */
    pthread_cond_t wake;
    bool stop;
    gw_pub_status status;
};

/* ---- publisher.c ---- */

/* Wall-clock unix seconds. */
uint64_t gw_pub_now(void);
/* Monotonic milliseconds. */
int64_t gw_pub_mono_ms(void);
/* data as 0x-hex into out (cap bytes), or "0x?" when it does not fit. */
void gw_pub_hex(const uint8_t *data, size_t len, char *out, size_t cap);
/* Every call to the node in use passes its result here: counted when failed, reported to
 * the node's health (evm_nodes.h), and once every node has been unreachable for [evm]
 * unreachable_after_ms, gRPC health turns NOT_SERVING until one answers. Returns rc. */
CUSTOS_MUST_USE
custos_rc gw_pub_node(gw_publisher *p, custos_rc rc);
/* Asks every node whose health is due for its chain id (and, through the node in use,
 * the relayer's balance when due). Not must-use: a replica that does not publish probes
 * for the health it records alone. */
custos_rc gw_pub_probe(gw_publisher *p, custos_error *err);
/* Whether gw_publisher_free asked the thread to stop. */
bool gw_pub_stopping(gw_publisher *p);
/* Learns the relayer's next nonce again from the node in use (its pending count, raised
 * above every stored SENT transaction). */
CUSTOS_MUST_USE
custos_rc gw_pub_read_nonce(gw_publisher *p, custos_error *err);
/* The record behind a stored publication, read back from the accepted log. */
CUSTOS_MUST_USE
custos_rc gw_pub_read_record(gw_publisher *p, uint64_t cursor, custos_record *rec,
                             custos_error *err);

/* ---- publish_follow.c ---- */

/* The publisher's row of an attestation at cursor in feed, without fate or transaction;
 * batch_digest NULL when it was signed alone. gw_pub_row_from_record: the row of rec. */
void gw_pub_row_from_att(const custos_attestation *a, uint64_t cursor, const char *feed,
                         const uint8_t *batch_digest, gw_pub_row *row);
void gw_pub_row_from_record(const custos_record *rec, gw_pub_row *row);
/* The account's last publication (last->has false when none). */
CUSTOS_MUST_USE
custos_rc gw_pub_last_of(gw_publisher *p, const uint8_t account[CUSTOS_HASH_LEN],
                         gw_pub_last *last, custos_error *err);
/* Whether the feed has its circuit breaker on, in the policy the engine judges by now. */
bool gw_pub_breaker(gw_publisher *p, const char *feed);
/* Stores row as skipped for `why` (with detail), counted by reason. */
CUSTOS_MUST_USE
custos_rc gw_pub_skip(gw_publisher *p, gw_pub_row *row, gw_pub_reason why, const char *detail,
                      custos_error *err);
/* Decides and stores the fate of the records after the follow cursor, freezes first, and
 * moves the cursor past them. */
CUSTOS_MUST_USE
custos_rc gw_pub_follow(gw_publisher *p, custos_error *err);

/* ---- publish_expiry.c ---- */

/* The adapter's maxAge for `feed` (0: the adapter does not know the feed), read again
 * once a minute so that the owner's changes are followed. */
CUSTOS_MUST_USE
custos_rc gw_pub_max_age(gw_publisher *p, const char *feed, uint64_t *max_age,
                         custos_error *err);
/* Publishes, for every account whose on-chain value ends within expiry_lead_seconds, the
 * newest record of it skipped since (docs/publishing.md §3); fills in the feed and
 * validUntil of publications stored before the state kept them; refreshes the figures of
 * the chain view in the status. */
CUSTOS_MUST_USE
custos_rc gw_pub_expiry(gw_publisher *p, custos_error *err);

/* ---- publish_send.c ---- */

/* Stores a fate without a transaction and logs it (promote: over a skipped row). */
CUSTOS_MUST_USE
custos_rc gw_pub_put_plain(gw_publisher *p, gw_pub_row *row, gw_pub_fate fate,
                           const char *detail, bool promote, custos_error *err);
/* Builds, stores, then broadcasts the transaction publishing rec; promote: rec was
 * skipped before and is published after all. */
CUSTOS_MUST_USE
custos_rc gw_pub_send(gw_publisher *p, const custos_record *rec, gw_pub_reason why,
                      bool promote, custos_error *err);
/* What building a publication's transaction came to. */
typedef enum gw_pub_built {
    GW_PUB_BUILT,     /* signed, in tx */
    GW_PUB_REFUSED,   /* the chain refuses the call (or it cannot be encoded): detail */
    GW_PUB_ON_CHAIN   /* the adapter has it already (replay_error of its own sequence) */
} gw_pub_built;
/* Estimates the gas of calldata to the adapter, prices it and signs it under nonce. A
 * revert at estimation is an answer (*what), not an error: ON_CHAIN when it is
 * replay_error (e.g. "Replay(uint64,uint64)") with both arguments `sequence`, else
 * REFUSED with the revert described in detail. replay_error NULL: the call has none (a
 * submitBatchPart refuses a replayed account alone, in AccountRefused). */
CUSTOS_MUST_USE
custos_rc gw_pub_build_call(gw_publisher *p, const uint8_t *data, size_t data_len,
                            uint64_t nonce, const char *replay_error, uint64_t sequence,
                            gw_pub_tx *tx, gw_pub_built *what, char detail[200],
                            custos_error *err);
/* Whether revert data is `error`(uint64 last, uint64 got) with last == got == sequence;
 * false for a NULL error. */
bool gw_pub_is_own_replay(const char *error, const uint8_t *data, size_t len,
                          uint64_t sequence);
/* "Stale(uint64,uint256) 0x<data>": the adapter's custom error named (data cut to fit). */
void gw_pub_describe_revert(const uint8_t *data, size_t len, char *out, size_t cap);
/* Broadcasts a stored transaction (the node knowing it already is success). */
CUSTOS_MUST_USE
custos_rc gw_pub_broadcast(gw_publisher *p, const gw_pub_row *row, custos_error *err);
/* Replaces a stuck transaction with the same nonce and higher fees, stored first;
 * *bumped stays false when the fees are already at the cap. */
CUSTOS_MUST_USE
custos_rc gw_pub_bump(gw_publisher *p, const gw_pub_row *row, bool *bumped,
                      custos_error *err);
/* Builds the publication again under the next nonce, since a transaction this publisher
 * did not send took its own: stored first, then broadcast; or, when the chain now refuses
 * the record or already has it, its final fate. */
CUSTOS_MUST_USE
custos_rc gw_pub_requeue(gw_publisher *p, const gw_pub_row *row, custos_error *err);

/* ---- publish_batchcall.c ---- */

/* Decides the fates of the records of rec's batch that have none yet (rec is one of them),
 * and, when one is due, publishes the whole batch in one submitBatch (docs/publishing.md
 * §14): the due records and the others of the batch become the call's members, stored
 * together before the broadcast. Records of a batch sent before (a rise released late),
 * and the records of a batch beyond [evm] batch_max_accounts or the block's gas limit,
 * go in submitBatchPart calls instead, each of at most as many accounts as one call may
 * carry. promote: rec was skipped and is published after all (the expiry scan); the
 * batch's other skipped records go with it. */
CUSTOS_MUST_USE
custos_rc gw_pub_batch_send(gw_publisher *p, const custos_record *rec, gw_pub_reason why,
                            bool promote, custos_error *err);
/* The calldata that publishes a stored publication (submit of its record, submitBatch of
 * its batch, or submitBatchPart of the records of its call), the adapter's error for a
 * replay of it (NULL for a part) and the sequence that names it there; *data malloc'd. */
CUSTOS_MUST_USE
custos_rc gw_pub_row_calldata(gw_publisher *p, const gw_pub_row *row, uint8_t **data,
                              size_t *len, const char **replay_error, uint64_t *sequence,
                              custos_error *err);
/* Ends a batch call's publication (row: the one holding its transaction) with no receipt
 * of its own: every member still sent, then row, as fate. */
CUSTOS_MUST_USE
custos_rc gw_pub_finish_call(gw_publisher *p, const gw_pub_row *row, gw_pub_fate fate,
                             const char *detail, custos_error *err);
/* A final receipt of a batch call (row: the one holding its transaction; sent: every SENT
 * row): each member the adapter refused (its AccountRefused event) failed with the
 * reason, the others as the receipt says; row last. */
CUSTOS_MUST_USE
custos_rc gw_pub_finalise_call(gw_publisher *p, const gw_pub_row *row, const evm_receipt *r,
                               const uint8_t hash[CUSTOS_HASH_LEN], const gw_pub_row *sent,
                               size_t n_sent, custos_error *err);

/* ---- publish_receipts.c ---- */

/* Drives every sent publication towards a final receipt: confirmed or failed at
 * [evm] confirmations deep in the canonical chain; rebroadcast when a reorganisation
 * dropped it; re-queued when another transaction took its nonce; bumped when stuck. */
CUSTOS_MUST_USE
custos_rc gw_pub_track(gw_publisher *p, custos_error *err);

#endif
