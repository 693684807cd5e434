/* The gateway's configuration file (INI, parsed with inih): listen address, store,
 * EIP-712 domain, per-feed policy, the signer allow-list, the optional on-chain
 * publisher ([evm]), transport security ([tls]), client certificates ([client]) and
 * per-client abuse limits ([limits]). */
#ifndef GATEWAY_CONFIG_H
#define GATEWAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/calendar.h"
#include "custos/error.h"

typedef enum gw_role {
    GW_ROLE_CUSTODIAN = 0,
    GW_ROLE_VALUATION_AGENT,
    GW_ROLE_FUND_ADMINISTRATOR,
    GW_ROLE_AUDITOR,
    GW_ROLE_COUNT
} gw_role;

typedef struct gw_feed {
    char name[CUSTOS_FEED_MAX + 1];
    uint64_t max_age;        /* seconds: now - asOf must not exceed it */
    /* When not 0, replaces max_age: asOf's New York date may be at most this many
     * bond-market business days before today's (a Friday close is fresh through Monday). */
    uint32_t max_age_business_days;
    const custos_calendar *calendar; /* the config's calendar; set with the above */
    uint64_t max_skew;       /* seconds: asOf may be at most this far in the future */
    uint64_t max_ttl;        /* seconds: validUntil - asOf must not exceed it */
    uint32_t threshold;      /* distinct signers needed */
    bool distinct_roles;     /* the threshold counts distinct roles, not just signers */
    /* Circuit breaker (rule 6): a rise of collateralValue over the account's last published
     * value by more than this many basis points is held, not published; 0: off. */
    uint32_t breaker_rise_bps;
    /* Signers (distinct roles on a distinct_roles feed) that publish a held rise without an
     * operator; above threshold. */
    uint32_t breaker_release_threshold;
    /* Rule 12: an account's first sequence, and each one after, at most this far above its
     * last (0 before the first); 0 here means GW_DEFAULT_MAX_SEQUENCE_STEP. */
    uint32_t max_sequence_step;
    /* Reserves attestations need the feed's quorum (threshold, counted as for a valuation),
     * as CustosReserves does on-chain, not a custodian's signature alone (rules.md §A.4). */
    bool reserves_quorum;
} gw_feed;

/* Rule 12's default step, the adapter's DEFAULT_MAX_SEQUENCE_STEP too: far above any gap a
 * crash leaves in an attestor's sequence, far below what lets one key exhaust an account's
 * 2^64 sequences. */
#define GW_DEFAULT_MAX_SEQUENCE_STEP 1000000u

/* The feed's sequence step in force (rule 12). */
static inline uint32_t gw_feed_max_sequence_step(const gw_feed *f)
{
    return f->max_sequence_step != 0 ? f->max_sequence_step : GW_DEFAULT_MAX_SEQUENCE_STEP;
}

typedef struct gw_signer {
    uint8_t address[CUSTOS_ADDRESS_LEN];
    char feed[CUSTOS_FEED_MAX + 1];
    gw_role role;
    bool active;             /* false: revoked, its signatures are refused */
    uint64_t not_after;      /* unix seconds; 0: none. A rotated-out key's signatures are
                              * refused from then on (the end of its overlap window). */
    /* A rotated-out key names the key that replaced it (rule 2): the two are one signing
     * party, counted once, as the adapter counts one slot. */
    bool rotated;
    uint8_t replaced_by[CUSTOS_ADDRESS_LEN];
    /* Set by the registry in its snapshots (registry.h): the index, in the snapshot, of
     * the party's current key, the end of its chain of replacements. */
    uint32_t party;
} gw_signer;

/* An account registered to a feed (rule 9): only that feed's signers attest it. */
typedef struct gw_account {
    uint8_t account[CUSTOS_HASH_LEN];
    char feed[CUSTOS_FEED_MAX + 1];
} gw_account;

/* Most accounts one configuration (its files included) may register; a typo such as a
 * binary file given as accounts_file stops at this rather than at memory. */
#define GW_ACCOUNTS_MAX 4000000u

/* Most node endpoints [evm] rpc_url may list, and the length of one. */
#define GW_EVM_MAX_NODES 8
#define GW_EVM_URL_MAX 1024
/* A PKCS#11 token label is at most 32 bytes. */
#define GW_EVM_TOKEN_MAX 32

/* [evm]: the on-chain publisher. Absent section: enabled is false, nothing is published. */
typedef struct gw_evm_config {
    bool enabled;
    /* Node JSON-RPC endpoints in order of preference (failover, docs/publishing.md §8); an
     * URL may carry an API key: never logged, nodes are named by their position (1, 2...). */
    char rpc_urls[GW_EVM_MAX_NODES][GW_EVM_URL_MAX];
    size_t n_rpc_urls;
    /* The account paying gas: a key file (custos_keyfile_read), or a key in a PKCS#11
     * token (relayer_pkcs11_module set; the PIN from relayer_pkcs11_pin_file or
     * CUSTOS_PKCS11_PIN). */
    char relayer_key[4096];
    char relayer_pkcs11_module[4096];
    char relayer_pkcs11_token[GW_EVM_TOKEN_MAX + 1];
    char relayer_pkcs11_key[256];
    char relayer_pkcs11_pin_file[4096];
    uint8_t adapter[CUSTOS_ADDRESS_LEN]; /* always equal to domain.verifying_contract */
    uint64_t confirmations;      /* blocks, >= 1 */
    uint64_t poll_interval_ms;
    uint64_t heartbeat_seconds;  /* publish when asOf moved this much since the last one */
    uint32_t deviation_bps;      /* publish when the value moved this much (0: always) */
    uint64_t fee_bump_after_seconds;
    uint64_t max_fee_gwei;       /* cap on maxFeePerGas */
    uint64_t priority_fee_gwei;  /* tip when the node does not suggest one */
    uint32_t gas_limit_margin_bps; /* added to eth_estimateGas */
    char state_path[4096];       /* SQLite store: the publisher's SQLite file, default store +
                                  * "-publisher.db"; PostgreSQL store: unused (the database) */
    uint64_t unreachable_after_ms; /* node unreachable this long: health NOT_SERVING */
    uint64_t leader_retry_ms;    /* PostgreSQL store: how often a replica that does not
                                  * publish tries to take over */
    uint64_t exposure_timeout_ms; /* rule 11: the whole chain read of a release's exposure */
    uint64_t expiry_lead_seconds; /* publish a waiting attestation this long before the
                                   * on-chain value expires (docs/publishing.md §3) */
    uint64_t low_balance_gwei;   /* the relayer balance below which the alert fires (0: none) */
    uint64_t drift_check_seconds; /* how often the allow-list, the registry and the feed
                                   * policies are compared with the adapter's
                                   * (evm/drift.h); 0: never */
    uint64_t drift_from_block;    /* the adapter's logs are read from this block on, for the
                                   * keys and accounts it lists (evm/drift_onchain.h) */
    uint64_t max_lag_records;    /* accepted records without a publication fate beyond which
                                  * the publisher's health is NOT_SERVING (0: no bound) */
    uint64_t batch_max_accounts; /* the most accounts of one batch published in one
                                  * submitBatch; a larger batch is not sent (0: none is) */
} gw_evm_config;

/* [metrics]: the Prometheus endpoint. Absent section: enabled is false, nothing listens. */
typedef struct gw_metrics_config {
    bool enabled;
    char listen[128];        /* numeric IP:port ([v6]:port); port 0 picks a free one */
    char port_file[4096];    /* if set, the bound port is written here once listening */
} gw_metrics_config;

/* [tls]: transport security of the gRPC port. With client_ca set, every client presents
 * a certificate signed by it and submits only for the feeds its [client] entry lists. */
/* Where a caller's identity (the common name its [client] entry names) comes from. */
typedef enum gw_client_identity {
    GW_IDENTITY_CERTIFICATE = 0, /* the client certificate the gateway's own TLS verified */
    GW_IDENTITY_PROXY_HEADER     /* a header the front proxy sets from the certificate it
                                  * verified (proxy_identity.c); loopback or Unix socket only */
} gw_client_identity;

#define GW_IDENTITY_HEADER_MAX 64
#define GW_IDENTITY_HEADER_DEFAULT "x-custos-client-cn"

typedef struct gw_tls_config {
    char cert[4096];         /* PEM server certificate chain */
    char key[4096];          /* PEM private key of cert; owner-only file */
    char client_ca[4096];    /* PEM CA of client certificates; empty: none asked for */
    bool insecure;           /* plaintext on purpose: no cert/key */
    gw_client_identity client_identity;
    char client_identity_header[GW_IDENTITY_HEADER_MAX + 1]; /* lower-case header name */
} gw_tls_config;

typedef enum gw_client_role {
    GW_CLIENT_ATTESTOR = 0,  /* submits for its feeds, reads */
    GW_CLIENT_ADMIN,         /* reads; holder of the admin calls */
    GW_CLIENT_READER,        /* reads only */
    GW_CLIENT_AUDITOR,       /* reads, and the admin service's reads: the audit log and the
                              * registered accounts; never a change */
    GW_CLIENT_ROLE_COUNT
} gw_client_role;

#define GW_CLIENT_NAME_MAX 64   /* an X.509 common name is at most 64 characters */
#define GW_CLIENT_FEEDS_MAX 32

/* [client NAME]: the client certificate whose subject common name is NAME. */
typedef struct gw_client {
    char name[GW_CLIENT_NAME_MAX + 1];
    gw_client_role role;
    char feeds[GW_CLIENT_FEEDS_MAX][CUSTOS_FEED_MAX + 1];
    size_t n_feeds;
} gw_client;

/* [limits]: per-client abuse limits of the gRPC port. A client is its certificate's
 * common name under mTLS, its IP address otherwise. Defaults apply without the section. */
typedef struct gw_limits_config {
    uint64_t rate_per_second;       /* submissions a client sustains */
    uint64_t burst;                 /* submissions a client may send at once */
    uint32_t max_streams_per_client; /* open SubmitStream, Watch and Health/Watch calls */
    uint32_t max_clients;           /* distinct clients tracked at once */
    uint32_t stream_idle_seconds;   /* a SubmitStream silent this long is ended */
    /* HTTP/2 transport bounds, handed to gRPC core (channel_args.c). */
    uint32_t max_concurrent_streams; /* streams one connection may have open */
    uint32_t max_metadata_bytes;     /* a request's headers, all together */
    uint32_t memory_limit_mib;       /* gRPC's resource quota */
    uint32_t max_connection_idle_seconds; /* a connection without calls is closed after */
    uint32_t max_connection_age_seconds;  /* a connection is asked to go away after */
    /* Pending (below quorum) digests: how many, and how many stored bytes, one signer may
     * have started and one feed may hold; how long one is kept. 0 (a configuration built
     * without the parser): no bound. */
    uint64_t max_pending_per_signer;
    uint64_t max_pending_bytes_per_signer;
    uint64_t max_pending_per_feed;
    uint64_t max_pending_bytes_per_feed;
    uint64_t pending_max_age_seconds;
    /* Behind a load balancer: calls of an aged connection get this long to finish before
     * it is closed, so replicas shed connections without cutting calls off. */
    uint32_t max_connection_age_grace_seconds;
    uint32_t keepalive_time_seconds;    /* an idle connection is pinged after */
    uint32_t keepalive_timeout_seconds; /* and dropped when the ping is not answered in */
} gw_limits_config;

/* Which store back end [gateway] store names. */
typedef enum gw_store_backend {
    GW_STORE_SQLITE = 0,     /* store is a file path */
    GW_STORE_POSTGRESQL      /* store is a postgresql:// or postgres:// URI */
} gw_store_backend;

typedef struct gw_config {
    char listen[128];        /* host:port; port 0 picks a free one */
    char store_path[4096];   /* SQLite database file, or a PostgreSQL URI (no password) */
    gw_store_backend store_backend;
    custos_domain domain;
    size_t max_message_bytes;
    unsigned workers;        /* completion-queue threads; 0: gw_config_workers decides */
    unsigned commit_batch_max;   /* most submissions grouped in one transaction */
    unsigned commit_delay_us;    /* how long the committer waits to fill a group */
    unsigned replica_poll_ms;    /* PostgreSQL: how often a replica looks for other
                                  * replicas' commits (when idle, for its Watch streams)
                                  * and admin changes (admin.c) */
    uint64_t max_rotation_overlap; /* seconds: the longest overlap RotateSigner grants */
    char port_file[4096];    /* if set, the bound port is written here once listening */
    char calendar_path[4096]; /* bond-market calendar file; empty: the built-in one */
    char audit_anchor[4096];  /* file the audit log's heads are appended to and checked
                               * against at start (rule 13); empty: none */
    custos_calendar *calendar; /* loaded when a feed uses max_age_business_days, else NULL */
    /* GetPositionProof without client certificates (anyone who can connect may read any
     * account's positions); off by default */
    bool public_proofs;
    /* Rule 11 without [evm]: accept releases of pledged accounts without reading the
     * lender's exposure (the operator knows no lending market holds them); off by default */
    bool release_unchecked;
    gw_feed *feeds;
    size_t n_feeds;
    gw_signer *signers;
    size_t n_signers;
    /* Rule 9: [feed] accounts and accounts_file, sorted by account, each account once. */
    gw_account *accounts;
    size_t n_accounts;
    gw_evm_config evm;
    gw_metrics_config metrics;
    gw_tls_config tls;
    gw_limits_config limits;
    gw_client *clients;
    size_t n_clients;
} gw_config;

/* Parses and validates; on error the message names the file, line and key. */
CUSTOS_MUST_USE
custos_rc gw_config_load(const char *path, gw_config *out, custos_error *err);
void gw_config_clear(gw_config *cfg);
/* Frees the account list alone (n_accounts 0), once the registry and the admin hold
 * their own copies. */
void gw_config_drop_accounts(gw_config *cfg);

const gw_feed *gw_config_find_feed(const gw_config *cfg, const char *name);
/* The allow-list entry of address for feed, or NULL. */
const gw_signer *gw_config_find_signer(const gw_config *cfg, const char *feed,
                                       const uint8_t address[CUSTOS_ADDRESS_LEN]);
/* Any entry of address, whatever its feed (tells UNKNOWN from UNAUTHORIZED), or NULL. */
const gw_signer *gw_config_find_signer_any(const gw_config *cfg,
                                           const uint8_t address[CUSTOS_ADDRESS_LEN]);
/* The registration of account in a list sorted by account (as gw_config's), or NULL. */
const gw_account *gw_accounts_find(const gw_account *accounts, size_t n,
                                   const uint8_t account[CUSTOS_HASH_LEN]);
/* Sorts accounts by account (qsort order used by gw_accounts_find). */
void gw_accounts_sort(gw_account *accounts, size_t n);
const char *gw_role_name(gw_role r);
/* The [client NAME] entry of a certificate common name, or NULL. */
const gw_client *gw_config_find_client(const gw_config *cfg, const char *name);
/* How many completion-queue threads to run on a machine of cores cores: workers when set,
 * else one per four cores, at least one (docs/operations.md). */
size_t gw_config_workers(const gw_config *cfg, long cores);
const char *gw_client_role_name(gw_client_role r);

#endif
