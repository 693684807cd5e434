/* The publisher's parts (publisher.h) shared by its files: publisher.c (the thread, node
 * health, leadership, start and stop), publish_follow.c (following the accepted log and
 * the publish-or-skip policy), publish_send.c (calldata, signing, storing and broadcasting
 * transactions, fee bumps) and publish_receipts.c (tracking sent transactions to their
 * receipts). */
#ifndef GATEWAY_EVM_PUBLISHER_INTERNAL_H
#define GATEWAY_EVM_PUBLISHER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/sig.h"

#include "evm/election.h"
#include "evm/evm_rpc.h"
#include "evm/publisher.h"
#include "store/pubstate.h"

/* Records read from the accepted log per pass. */
#define PUB_BATCH 64

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

/* ---- publisher.c ---- */

/* Wall-clock unix seconds. */
uint64_t gw_pub_now(void);
/* data as 0x-hex into out (cap bytes), or "0x?" when it does not fit. */
void gw_pub_hex(const uint8_t *data, size_t len, char *out, size_t cap);
/* Every node call's result passes here: counted when failed, and a node unreachable for
 * [evm] unreachable_after_ms turns health NOT_SERVING until it answers. Returns rc. */
CUSTOS_MUST_USE
custos_rc gw_pub_node(gw_publisher *p, custos_rc rc);
/* Asks the node for its chain id when it has not answered for a while (idle health). Not
 * must-use: a replica that does not publish probes for the health it records alone. */
custos_rc gw_pub_probe(gw_publisher *p, custos_error *err);
/* Whether gw_publisher_free asked the thread to stop. */
bool gw_pub_stopping(gw_publisher *p);

/* ---- publish_follow.c ---- */

/* A publication row for rec, without fate or transaction. */
void gw_pub_row_from_record(const custos_record *rec, gw_pub_row *row);
/* Decides and stores the fate of the records after the follow cursor, freezes first, and
 * moves the cursor past them. */
CUSTOS_MUST_USE
custos_rc gw_pub_follow(gw_publisher *p, custos_error *err);

/* ---- publish_send.c ---- */

/* Stores a fate without a transaction and logs it. */
CUSTOS_MUST_USE
custos_rc gw_pub_put_plain(gw_publisher *p, gw_pub_row *row, gw_pub_fate fate,
                           const char *detail, custos_error *err);
/* Builds, stores, then broadcasts the transaction publishing rec. */
CUSTOS_MUST_USE
custos_rc gw_pub_send(gw_publisher *p, const custos_record *rec, gw_pub_reason why,
                      custos_error *err);
/* Broadcasts a stored transaction (the node knowing it already is success). */
CUSTOS_MUST_USE
custos_rc gw_pub_broadcast(gw_publisher *p, const gw_pub_row *row, custos_error *err);
/* Replaces a stuck transaction with the same nonce and higher fees, stored first;
 * *bumped stays false when the fees are already at the cap. */
CUSTOS_MUST_USE
custos_rc gw_pub_bump(gw_publisher *p, const gw_pub_row *row, bool *bumped,
                      custos_error *err);

/* ---- publish_receipts.c ---- */

/* Drives every sent publication towards its receipt: confirmed, failed, rebroadcast or
 * bumped. */
CUSTOS_MUST_USE
custos_rc gw_pub_track(gw_publisher *p, custos_error *err);

#endif
