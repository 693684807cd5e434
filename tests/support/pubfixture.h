/* A chain and a publishing gateway for the EVM publisher's integration tests: one or more
 * anvils from node_modules (the same chain id), the adapter deployed on each by
 * deploy/scripts/deploy.mjs from the same deployer (so at the same address), the test
 * accounts registered with a Chainlink feed for LENDER, and the real custos-gateway with
 * [evm] and [metrics]. Every helper fails the test on error. */
#ifndef CUSTOS_PUBFIXTURE_H
#define CUSTOS_PUBFIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "custos/attestation.h"
#include "evm/evm_rpc.h"
#include "gwfixture.h"
#include "store/pubstate.h"

/* anvil's well-known development keys 0 (owner), 1 (relayer) and 2 (an outside sender):
 * public test keys. */
#define PUBF_OWNER_KEY "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define PUBF_RELAYER_KEY "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
#define PUBF_OUTSIDER "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
#define PUBF_LENDER "0xbebebebebebebebebebebebebebebebebebebebe" /* gwf_make's beneficiary */
#define PUBF_MAX_ANVILS 2
#define PUBF_WAIT_MS 30000
#define PUBF_USD 1000000

typedef struct pubf {
    gwf gw;
    size_t n_anvils;
    tu_proc anvil[PUBF_MAX_ANVILS];
    char url[PUBF_MAX_ANVILS][64];
    evm_rpc *rpc[PUBF_MAX_ANVILS];
    uint8_t adapter[CUSTOS_ADDRESS_LEN];
    uint8_t relayer[CUSTOS_ADDRESS_LEN];
    char relayer_key[1200];
    /* The [evm] lines naming the relayer's key: relayer_key = relayer_key by default; a
     * test may name a key in a token instead. */
    char relayer_config[4096];
    char state_path[1200];
    /* Set after pubf_init, before pubf_write_config: the gateway's store is this PostgreSQL
     * database (replica_poll_ms 100) and the publisher's state its publisher_* tables (no
     * [evm] state); pubf_fate and pubf_attempts read them there. "": SQLite. */
    char store_uri[256];
    int metrics_port;
    /* The feed's circuit breaker on both sides (rule 6; 0: none), as pubf_init_breaker
     * sets it. */
    uint32_t breaker_rise_bps, breaker_release_threshold;
} pubf;

/* Temp dir and keys; n_anvils anvils, each with the adapter deployed: feed GWF_FEED
 * (threshold 2 of distinct roles, maxAge max_age), custodian and valuation agent, the
 * accounts `refs` registered, each with a feed for PUBF_LENDER. */
void pubf_init(pubf *f, size_t n_anvils, uint64_t max_age, const char *const *refs,
               size_t n_refs);
/* The same with the feed's circuit breaker: breakerRiseBps and breakerReleaseThreshold
 * on the adapter, breaker_rise_bps and breaker_release_threshold in the gateway's config
 * (pubf_write_config), alike as rule 10 asks. */
void pubf_init_breaker(pubf *f, size_t n_anvils, uint64_t max_age, const char *const *refs,
                       size_t n_refs, uint32_t rise_bps, uint32_t release_threshold);
/* Before pubf_write_config: the gateway serves mTLS with a test PKI made in f's directory
 * (pki.h): the client certificates PUBF_TLS_ATTESTOR (attestor of GWF_FEED, which the
 * fixture's client and pubb_submit use) and PUBF_TLS_ADMIN (admin). */
#define PUBF_TLS_ATTESTOR "acme-attestor"
#define PUBF_TLS_ADMIN "ops-admin"
void pubf_use_tls(pubf *f);
/* The gateway's config: the fixture's feed and signers, plaintext (or mTLS after
 * pubf_use_tls), [metrics] on a free
 * port, and [evm] with rpc_url = `rpc_url` (NULL: every anvil's URL in order), the
 * relayer_config lines, the publisher's state file (none with store_uri),
 * poll_interval_ms 100, then the lines of evm_extra (may be NULL). */
void pubf_write_config(pubf *f, const char *rpc_url, const char *evm_extra);
/* Starts the gateway and reads its metrics port. */
void pubf_start(pubf *f);
/* Registers each of refs[0..n_refs) with the gateway for GWF_FEED (gwf_register: the
 * accounts an attestor's batch names must be known before it submits; gwf_make registers
 * its own account as it goes), then pubf_start. */
void pubf_start_registered(pubf *f, const char *const *refs, size_t n_refs);
/* The end of a group's set-up: pubf_start_registered (refs NULL, n_refs 0: none), and f as
 * the group's state for pubf_group_teardown; returns 0. */
int pubf_group_start(void **state, pubf *f, const char *const *refs, size_t n_refs);
/* Another replica's config (store_uri set): f's config with its own metrics port file,
 * written to r's config path (r initialised by gwf_init; the accounts file stays f's). */
void pubf_write_replica_config(pubf *f, gwf *r);
/* Stops anvils and gateway, removes everything. */
void pubf_cleanup(pubf *f);
/* A group's teardown: stops the gateway (its log dumped when it did not stop cleanly),
 * then pubf_cleanup; 0, or -1 for the unclean stop. */
int pubf_finish(pubf *f);
/* The teardown of a group whose set-up ended in pubf_group_start: pubf_finish of it. */
int pubf_group_teardown(void **state);

/* Submits s (unsigned) signed by the custodian, then cosigned by the valuation agent:
 * accepted; returns its cursor. s keeps its content (and gets both signatures). */
uint64_t pubf_submit(pubf *f, custos_submission *s);
/* The publisher's stored fate of a record; false while it has none. */
bool pubf_fate(pubf *f, uint64_t cursor, gw_pub_row *row);
/* Waits until the record's fate is `want` (failing on any other final fate). */
void pubf_wait_fate(pubf *f, uint64_t cursor, gw_pub_fate want, gw_pub_row *row);

/* A JSON-RPC call to anvil i that must succeed; returns its result (caller releases). */
json_t *pubf_rpc(pubf *f, size_t i, const char *method, json_t *params);
/* The same, result dropped. */
void pubf_rpc_void(pubf *f, size_t i, const char *method, json_t *params);
/* latest(account).sequence on anvil i; 0 while the account has no record there. */
uint64_t pubf_chain_sequence(pubf *f, size_t i, const uint8_t account[CUSTOS_HASH_LEN]);
/* accountRound(account, PUBF_LENDER).answer on anvil i (the value the lender may count now:
 * 0 once it expired). */
void pubf_chain_answer(pubf *f, size_t i, const uint8_t account[CUSTOS_HASH_LEN],
                       custos_u256 *answer);
/* The relayer's transaction count on anvil i. */
uint64_t pubf_nonce(pubf *f, size_t i, evm_block_tag tag);
/* Whether anvil i has a receipt for hash; its status and block when it has. */
bool pubf_receipt(pubf *f, size_t i, const uint8_t hash[CUSTOS_HASH_LEN], bool *success,
                  uint64_t *block);
/* AttestationAccepted events of (account, sequence) on anvil i. */
size_t pubf_count_events(pubf *f, size_t i, const uint8_t account[CUSTOS_HASH_LEN],
                         uint64_t sequence);

/* GET /metrics of the gateway (malloc'd text). */
char *pubf_metrics(pubf *f);
/* GET path on the metrics port (200 expected); the body, malloc'd. */
char *pubf_get(pubf *f, const char *path);
/* The value of the series named exactly `series` (name and labels as exposed), or false
 * when the text has no such line. */
bool pubf_metric(const char *text, const char *series, double *out);
/* Polls /metrics until `series` has value `want` (within 1e-9 relative); fails after
 * PUBF_WAIT_MS, naming what it saw. */
void pubf_wait_metric(pubf *f, const char *series, double want);

/* ---- Faults on anvil 0 and what the gateway made of them (docs/publishing.md §6-§7). */

/* evm_setAutomine on or off. */
void pubf_automine(pubf *f, bool on);
/* Mines `blocks` blocks (evm_mine). */
void pubf_mine(pubf *f, int blocks);
/* anvil_reorg of depth 1: the newest block replaced by one holding `txs` (a JSON array of
 * [transaction, signer index] pairs; the reference is taken). */
void pubf_reorg(pubf *f, json_t *txs);
/* A self-transfer from the relayer account (anvil keeps it unlocked) at `nonce`, with fees
 * far above the publisher's: another use of the relayer key. */
json_t *pubf_relayer_self_transfer(pubf *f, uint64_t nonce);
/* Waits until anvil 0 has a receipt for hash; returns its block, *success its status. */
uint64_t pubf_wait_receipt(pubf *f, const uint8_t hash[CUSTOS_HASH_LEN], bool *success);
/* Waits until the relayer's pending nonce on anvil 0 is above its mined one (a transaction
 * pooled). */
void pubf_wait_pooled(pubf *f);
/* The hashes of every transaction stored for the record (newest first); returns how many. */
size_t pubf_attempts(pubf *f, uint64_t cursor, uint8_t hashes[][CUSTOS_HASH_LEN], size_t max);
/* The gateway's log (malloc'd). */
char *pubf_log(pubf *f);
/* How often needle occurs in text. */
size_t pubf_count(const char *text, const char *needle);
/* Waits until the gateway has logged `needle` at least `times` times. */
void pubf_wait_log(pubf *f, const char *needle, size_t times);
/* The value of `series` now (the test fails when it is not exported). */
double pubf_metric_now(pubf *f, const char *series);

#endif
