/* The EVM publisher: follows the accepted log on its own thread and submits attestations
 * worth publishing to the on-chain adapter (CustosAdapter.submit) through a node's
 * JSON-RPC. See the top of publisher.c for the design. */
#ifndef GATEWAY_PUBLISHER_H
#define GATEWAY_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/record.h"
#include "custos/error.h"
#include "custos/u256.h"

#include "config/config.h"
#include "engine/engine.h"

typedef struct gw_publisher gw_publisher;

/* gw_pub_reason's count. */
#define GW_PUB_REASONS 13
/* Room for a node's last error in a status. */
#define GW_PUB_NODE_ERROR_MAX 160
/* Feeds whose on-chain expiry figures a status carries. */
#define GW_PUB_STATUS_FEEDS 32

/* The valuations on-chain of one feed (its accounts whose last publication, sent or
 * confirmed, is a valuation), as of the last expiry scan. */
typedef struct gw_pub_feed_status {
    char feed[CUSTOS_FEED_MAX + 1];
    uint64_t valuations;     /* accounts */
    uint64_t zero_at;        /* the earliest second at which one of them reads 0 on-chain
                              * (validUntil, or past asOf + maxAge); 0 when there are none */
    uint64_t expired;        /* of them, those reading 0 now */
    uint64_t max_age;        /* the adapter's maxAge of the feed (0: not known) */
} gw_pub_feed_status;

/* A read-only snapshot for logs, metrics and a status page (gw_publisher_status). */
typedef struct gw_pub_status {
    uint64_t cursor;                 /* follow cursor: every record up to it has a fate */
    uint64_t last_published_cursor;  /* newest record confirmed on-chain (0: none yet) */
    size_t pending;                  /* transactions sent and not yet final */
    uint64_t nonce;                  /* the relayer's next nonce (0 until the node answered) */
    uint64_t published, skipped, failed; /* since start */
    /* Decisions since start by reason (gw_pub_reason: the publishing ones when sent, the
     * skipping ones when skipped), indexed by the reason. */
    uint64_t decisions[GW_PUB_REASONS];
    uint64_t requeued;               /* publications rebuilt under a new nonce, since start */
    uint64_t fee_bumps;              /* replacements stored under the same nonce with higher
                                      * fees (§7), since start */
    uint64_t batches_sent;           /* submitBatch calls stored and broadcast, since start */
    uint64_t batches_too_large;      /* batches not sent: beyond batch_max_accounts or the
                                      * block's gas limit, since start */
    uint64_t accounts_refused;       /* accounts of final batch calls the adapter refused
                                      * (AccountRefused), since start */
    uint64_t reorged;                /* receipts a reorganisation took away, since start */
    custos_u256 gas_spent_wei;       /* gasUsed * effectiveGasPrice of receipts, since start */
    uint64_t node_errors;            /* failed node calls, since start */
    bool leader;                     /* this replica publishes (always, with a SQLite store) */
    /* The relayer account. */
    uint8_t relayer[CUSTOS_ADDRESS_LEN];
    bool balance_known;              /* a node answered eth_getBalance */
    custos_u256 balance_wei;
    uint64_t balance_at;             /* unix seconds of that answer */
    custos_u256 low_balance_wei;     /* [evm] low_balance_gwei, in wei (0: no threshold) */
    /* The nodes of [evm] rpc_url, in order: up (answered their last call, on the
     * configured chain) or not, and the one in use. */
    size_t n_nodes;
    bool node_up[GW_EVM_MAX_NODES];
    bool node_block_known[GW_EVM_MAX_NODES]; /* a probe read its head */
    uint64_t node_block[GW_EVM_MAX_NODES]; /* its head at its last successful probe */
    char node_error[GW_EVM_MAX_NODES][GW_PUB_NODE_ERROR_MAX]; /* its last failed probe ("":
                                                               * none since start) */
    size_t node_current;             /* from 0 */
    /* The publisher's own health (health.h): a node answers and the lag (head - cursor)
     * is within [evm] max_lag_records. */
    bool serving;
    /* On-chain expiry (docs/publishing.md §3). */
    uint64_t expiry_lead_seconds;
    bool chain_known;                /* an expiry scan completed (the leader's) */
    size_t n_feeds;
    gw_pub_feed_status feeds[GW_PUB_STATUS_FEEDS];
} gw_pub_status;

/* Reads the relayer key, opens the state and starts the thread; touches no node, so a
 * dead node never delays start-up. With a PostgreSQL store the state is in that database
 * and the thread publishes only while this replica holds the publisher lock
 * (election.h), trying to take it every [evm] leader_retry_ms. cfg->evm must be enabled;
 * cfg and engine must outlive the publisher. */
CUSTOS_MUST_USE
custos_rc gw_publisher_new(const gw_config *cfg, gw_engine *engine, gw_publisher **out,
                           custos_error *err);
/* Stops the thread (at most one node call's timeout) and closes the state. */
void gw_publisher_free(gw_publisher *p);
/* The read API of the publisher (metrics, a status page): a consistent snapshot, from
 * any thread. */
void gw_publisher_status(gw_publisher *p, gw_pub_status *out);

/* ---- Pure parts, exposed for tests. ---- */

/* What the chain has (or will have) for an account: the last publication sent. */
typedef struct gw_pub_last {
    bool has;
    uint8_t kind;
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN];
    custos_u256 value;
    uint64_t as_of;
    uint64_t valid_until;
    uint64_t sequence;
} gw_pub_last;

typedef struct gw_pub_policy {
    uint64_t heartbeat_seconds;
    uint32_t deviation_bps;
    /* Publish when the on-chain value ends this soon (or has ended), whatever the
     * deviation, if the record keeps it alive longer ([evm] expiry_lead_seconds). */
    uint64_t expiry_lead_seconds;
} gw_pub_policy;

typedef enum gw_pub_reason {
    GW_PUB_FIRST,          /* the account was never published */
    GW_PUB_FREEZE,         /* kind freeze: stops a loan, always published */
    GW_PUB_RELEASE,        /* kind release: ends the pledge, always published */
    GW_PUB_AFTER_HOLD,     /* a valuation after a published release or freeze */
    GW_PUB_BENEFICIARY,    /* pledged to another lender */
    GW_PUB_DEVIATION,      /* |value change| >= deviation_bps of the last value */
    GW_PUB_HEARTBEAT,      /* asOf moved heartbeat_seconds or more since the last */
    GW_PUB_EXPIRY,         /* the on-chain value ends within expiry_lead_seconds */
    GW_PUB_RISE,           /* a rise over the last published value on a breaker feed */
    GW_PUB_UNCHANGED,      /* skip: none of the above */
    GW_PUB_NOT_NEWER,      /* skip: sequence at or below the last published one */
    GW_PUB_SUPERSEDED,     /* skip: a newer record of the account came before publishing */
    GW_PUB_BATCH_TOO_LARGE /* skip: its batch is beyond [evm] batch_max_accounts or the
                            * block's gas limit, and a batch goes on-chain whole */
} gw_pub_reason;

/* The first second at which the adapter answers 0 for a valuation with this asOf and
 * validUntil (docs/adapter.md §7): validUntil itself, or the first second past asOf +
 * maxAge, whichever comes first. max_age 0: not known, validUntil alone. */
uint64_t gw_publisher_zero_at(uint64_t as_of, uint64_t valid_until, uint64_t max_age);

/* Whether a record ending at next_zero_at (gw_publisher_zero_at) should be published now
 * to keep alive an on-chain valuation ending at last_zero_at: the latter ends within
 * pol->expiry_lead_seconds of now (or has ended), and the record ends later and is still
 * valid now, so the adapter takes it. */
bool gw_publisher_expiry_due(const gw_pub_policy *pol, uint64_t last_zero_at,
                             uint64_t next_zero_at, uint64_t now);

/* Whether the publisher lags beyond its bound (its health then NOT_SERVING): more than
 * max_lag records accepted up to head wait after the follow cursor; max_lag 0: no bound. */
bool gw_publisher_lagging(uint64_t head, uint64_t cursor, uint64_t max_lag);

/* Chainlink-style decision for one record against the account's last publication, at
 * wall-clock `now`; max_age is the adapter's maxAge of the record's feed (0: not known);
 * breaker: the feed has its circuit breaker on (breaker_rise_bps above 0), so that no
 * rise over the last published value is skipped (docs/publishing.md §3, rule 10). */
gw_pub_reason gw_publisher_decide(const gw_pub_policy *pol, const gw_pub_last *last,
                                  const custos_attestation *att, uint64_t max_age,
                                  bool breaker, uint64_t now);
/* Whether att is a valuation above the last published valuation's value on a breaker
 * feed: such a record is never skipped, neither as unchanged nor as superseded within a
 * batch, so that the adapter's breaker base is never below the gateway's. */
bool gw_publisher_breaker_rise(const gw_pub_last *last, const custos_attestation *att,
                               bool breaker);
_Static_assert(GW_PUB_BATCH_TOO_LARGE + 1 == GW_PUB_REASONS, "GW_PUB_REASONS counts gw_pub_reason");
bool gw_pub_reason_publishes(gw_pub_reason r);
const char *gw_pub_reason_name(gw_pub_reason r);

/* feedId on-chain: keccak256(bytes(feed name)). */
void gw_publisher_feed_id(const char *feed, uint8_t out[CUSTOS_HASH_LEN]);
/* n signatures packed r||s||v, ordered by strictly increasing signer address (signers[i]
 * signed sigs[i]); CUSTOS_ERR_INVALID on a repeated signer or n outside 1..16. */
CUSTOS_MUST_USE
custos_rc gw_publisher_pack_sorted(const custos_signature *sigs,
                                   const uint8_t (*signers)[CUSTOS_ADDRESS_LEN], size_t n,
                                   uint8_t out[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN],
                                   size_t *len, custos_error *err);
/* The record's signatures packed r||s||v, ordered by strictly increasing signer address
 * (rec->signers[i] signed rec->sub.sigs[i]). CUSTOS_ERR_INVALID on a repeated signer or
 * a signer count that does not match; out needs CUSTOS_MAX_SIGNATURES * 65 bytes. */
CUSTOS_MUST_USE
custos_rc gw_publisher_pack_signatures(const custos_record *rec,
                                       uint8_t out[CUSTOS_MAX_SIGNATURES * CUSTOS_SIGNATURE_LEN],
                                       size_t *len, custos_error *err);
/* Calldata of submit(feedId, att, signatures); *out is malloc'd. */
CUSTOS_MUST_USE
custos_rc gw_publisher_encode_submit(const custos_record *rec, uint8_t **out, size_t *len,
                                     custos_error *err);
/* A replacement fee: at least old + 12.5% (rounded up), at least `floor`, at most cap. */
void gw_publisher_bump_fee(const custos_u256 *old, const custos_u256 *floor,
                           const custos_u256 *cap, custos_u256 *out);

#endif
