/* The configuration parser's parts (config.h) shared by its files: config.c (loading,
 * lookups), sections.c (reading lines and section headers), keys.c (every section's keys),
 * values.c (checking one value), accounts.c (a feed's registered accounts) and validate.c
 * (what only the whole file can tell). */
#ifndef GATEWAY_CONFIG_PARSER_H
#define GATEWAY_CONFIG_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config.h"

#define CFG_DEFAULT_LISTEN "127.0.0.1:50051"
#define CFG_DEFAULT_MAX_MESSAGE (1024u * 1024u)
#define CFG_DEFAULT_BATCH 512u
#define CFG_DEFAULT_DELAY_US 500u
#define CFG_DEFAULT_REPLICA_POLL_MS 200u
/* RotateSigner overlaps: a day by default, at most thirty days. */
#define CFG_DEFAULT_ROTATION_OVERLAP 86400u
#define CFG_MAX_ROTATION_OVERLAP 2592000u
#define CFG_DEFAULT_MAX_AGE 86400u
#define CFG_DEFAULT_MAX_SKEW 300u
#define CFG_DEFAULT_MAX_TTL 604800u
/* Time limits beyond ~136 years are typos, and keeping them below 2^32 keeps the
 * freshness arithmetic far from overflow. */
#define CFG_MAX_SECONDS 4294967295u
/* Beyond a bond-market month a business-day age is a typo. */
#define CFG_MAX_BUSINESS_DAYS 31u
/* A rise bound beyond 100x is a typo. */
#define CFG_MAX_BREAKER_BPS 1000000u
/* Rule 12 (config.h). */
#define CFG_DEFAULT_MAX_SEQUENCE_STEP GW_DEFAULT_MAX_SEQUENCE_STEP
/* [evm] defaults. */
#define CFG_EVM_CONFIRMATIONS 1u
#define CFG_EVM_POLL_MS 500u
#define CFG_EVM_LEADER_RETRY_MS 2000u
#define CFG_EVM_UNREACHABLE_MS 10000u
/* Rule 11: the longest a release waits for its exposure read from the chain. */
#define CFG_EVM_EXPOSURE_TIMEOUT_MS 3000u
#define CFG_EVM_HEARTBEAT 86400u
#define CFG_EVM_DEVIATION_BPS 50u
#define CFG_EVM_FEE_BUMP_AFTER 60u
#define CFG_EVM_MAX_FEE_GWEI 500u
#define CFG_EVM_PRIORITY_GWEI 1u
#define CFG_EVM_GAS_MARGIN_BPS 2000u
#define CFG_EVM_STATE_SUFFIX "-publisher.db"
/* An hour covers a congested hour of fee bumps before the on-chain value would expire. */
#define CFG_EVM_EXPIRY_LEAD 3600u
/* 0.1 ether: a few dozen submits at mainnet fees. */
#define CFG_EVM_LOW_BALANCE_GWEI 100000000u
/* The allow-list comparison with the adapter (evm/drift.h): every five minutes, at most
 * once a day; 0 turns it off. */
#define CFG_EVM_DRIFT_CHECK 300u
#define CFG_EVM_MAX_DRIFT_CHECK 86400u
/* Far more records than one pass decides (64), so only a publisher that stopped keeping up
 * crosses it. */
#define CFG_EVM_MAX_LAG_RECORDS 10000u
/* A batch of 100 updates costs about 1.2M gas (docs/adapter.md §14): well within a block,
 * and the size the per-account figures are measured at. At most the protocol's limit. */
#define CFG_EVM_BATCH_MAX_ACCOUNTS 100u
/* [limits] defaults: far above what one attestor needs (a bank's whole book revalued in
 * seconds), low enough that one client cannot monopolise the committer. */
#define CFG_LIMITS_RATE 20000u
#define CFG_LIMITS_BURST 40000u
#define CFG_LIMITS_STREAMS 64u
#define CFG_LIMITS_CLIENTS 4096u
#define CFG_LIMITS_IDLE 300u
/* HTTP/2 transport bounds: a few streams per connection are all a client needs (each
 * SubmitStream or Watch is one), and gRPC's own default metadata bound. */
#define CFG_LIMITS_H2_STREAMS 100u
#define CFG_LIMITS_METADATA 8192u
#define CFG_LIMITS_MEMORY_MIB 128u
#define CFG_LIMITS_CONN_IDLE 900u
#define CFG_LIMITS_CONN_AGE 86400u
/* Pending (below quorum) work a signer may start, and a feed may hold, before new pending
 * digests are refused PENDING_LIMIT; and how long a pending digest is kept. */
#define CFG_LIMITS_PENDING_SIGNER 10000u
#define CFG_LIMITS_PENDING_SIGNER_BYTES (64u * 1024u * 1024u)
#define CFG_LIMITS_PENDING_FEED 100000u
#define CFG_LIMITS_PENDING_FEED_BYTES (1024ull * 1024u * 1024u)
#define CFG_LIMITS_PENDING_AGE 604800u
/* A minute for the calls of an aged connection (a Watch reconnects at once), and the
 * keepalive that finds dead peers (and keeps idle load-balancer flows open). */
#define CFG_LIMITS_CONN_AGE_GRACE 60u
#define CFG_LIMITS_KEEPALIVE_TIME 60u
#define CFG_LIMITS_KEEPALIVE_TIMEOUT 20u

typedef enum cfg_section_kind {
    SEC_NONE,
    SEC_GATEWAY,
    SEC_FEED,
    SEC_SIGNER,
    SEC_EVM,
    SEC_METRICS,
    SEC_TLS,
    SEC_CLIENT,
    SEC_LIMITS
} cfg_section_kind;

/* Where each signer's and feed's keys were written, for messages after parsing. */
typedef struct cfg_feed_lines {
    int header;
    int threshold;
    int max_age, max_age_business_days;
    int breaker_rise_bps, breaker_release_threshold;
} cfg_feed_lines;

typedef struct cfg_signer_lines {
    char section[256];
    int header;
    int address;
    int feed;
    int not_after, replaced_by;
    bool has_address, has_feed;
} cfg_signer_lines;

typedef struct cfg_client_lines {
    int header;
    int feeds;
    bool has_role;
} cfg_client_lines;

typedef struct cfg_parser {
    const char *path;
    FILE *file;
    int line;
    gw_config *cfg;
    custos_error *err;
    bool failed;

    cfg_section_kind kind;
    char section[256];       /* the header's text, for messages */
    int section_line;
    unsigned seen;           /* bit per key already set in the current section */

    bool have_gateway;
    int gateway_line;
    bool has_store, has_chain_id, has_contract;
    int calendar_line;
    int release_unchecked_line;

    bool have_evm;
    int evm_line, evm_adapter_line;
    bool has_rpc_url, has_relayer_key, has_adapter, has_state;
    int relayer_pkcs11_line;

    bool have_metrics, has_metrics_listen;
    int metrics_line;

    bool have_tls;
    int tls_line, tls_insecure_line, tls_identity_line, tls_header_line;

    bool have_limits;
    int limits_line;

    size_t accounts_cap;

    cfg_feed_lines *feed_lines;
    cfg_signer_lines *signer_lines;
    cfg_client_lines *client_lines;
    size_t feeds_cap, signers_cap, clients_cap;
} cfg_parser;

/* ---- values.c ---- */

/* Records the first error only, naming the file, line, section and key (NULL: none). */
void gw_cfg_fail(cfg_parser *p, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Digits only, no sign, no blanks, no trailing text, within [min, max]. */
bool gw_cfg_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);
/* The key's value as an integer in [min, max], or false after reporting why not. */
bool gw_cfg_uint_key(cfg_parser *p, const char *key, const char *value, uint64_t min,
                     uint64_t max, uint64_t *out);
/* Copies value into dst (cap bytes), or false after reporting it empty or too long. */
bool gw_cfg_copy_key(cfg_parser *p, const char *key, const char *value, char *dst,
                     size_t cap, bool allow_empty);
/* The key's value as a 0x address, or false after reporting why not. */
bool gw_cfg_address_key(cfg_parser *p, const char *key, const char *value,
                        uint8_t addr[CUSTOS_ADDRESS_LEN]);
/* Feed names travel on the wire and in logs: printable ASCII without blanks. */
bool gw_cfg_valid_feed_name(const char *name);

/* ---- keys.c ---- */

/* The keys a section kind allows, NULL-terminated; a key's index is its bit in
 * parser.seen. NULL for SEC_NONE. */
const char *const *gw_cfg_section_keys(cfg_section_kind kind);
/* Applies the value of the key at idx of the current section's keys. */
void gw_cfg_apply_key(cfg_parser *p, int idx, const char *value);

/* ---- accounts.c ---- */

/* [feed] accounts: "0x..,0x.." registered to the current feed. */
void gw_cfg_feed_accounts(cfg_parser *p, const char *key, const char *value);
/* [feed] accounts_file: one 0x account id per line ('#' comments and blank lines allowed). */
void gw_cfg_feed_accounts_file(cfg_parser *p, const char *key, const char *path);
/* Sorts the registered accounts and refuses one listed twice. */
void gw_cfg_validate_accounts(cfg_parser *p);

/* ---- sections.c ---- */

/* inih's line source: one whole line per call, so the count is exact. */
char *gw_cfg_read_line(char *str, int num, void *stream);
/* inih's handler of one key = value line. */
int gw_cfg_handler(void *user, const char *section, const char *name, const char *value);

/* ---- validate.c ---- */

/* Checks what only the whole file can tell (required keys, references between sections,
 * reachable thresholds, the breaker and age settings) and loads the calendar. */
void gw_cfg_validate(cfg_parser *p);

#endif
