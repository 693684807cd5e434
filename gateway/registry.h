/* The signer allow-list, account registry and feed policy the rules read while the gateway serves.
 *
 * A policy is an immutable snapshot (feeds and signers); the registry holds the current
 * one and swaps it for a new one atomically (SIGHUP reload). Readers take a reference
 * with gw_registry_acquire, a pointer copy and a counter increment under a lock that no
 * one holds for longer, and keep using the snapshot they got for the whole submission,
 * even if it is replaced meanwhile: a submission is judged by one consistent list.
 * Writers build the new snapshot outside the lock and are serialised among themselves. */
#ifndef GATEWAY_REGISTRY_H
#define GATEWAY_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/error.h"

#include "config/config.h"

/* Read-only for everyone but the registry. */
typedef struct gw_policy {
    atomic_size_t refs;
    uint64_t generation;     /* 1 for the first snapshot, +1 per replacement */
    gw_feed *feeds;
    size_t n_feeds;
    gw_signer *signers;      /* each one's party set: the index of its party's current key */
    size_t n_signers;
    gw_account *accounts;    /* rule 9: the registered accounts, sorted by account */
    size_t n_accounts;
    uint32_t *account_slots; /* open-addressed index into accounts: 1 + index, 0 empty */
    size_t slot_mask;        /* slots - 1, a power of two at least twice n_accounts */
    unsigned slot_shift;     /* 64 - log2(slots): the hash's top bits pick the slot */
    custos_calendar calendar; /* the snapshot's own copy, which its feeds point to */
} gw_policy;

typedef struct gw_registry gw_registry;

/* The first snapshot is a copy of cfg's feeds, signers and accounts (cfg need not outlive it). */
CUSTOS_MUST_USE
custos_rc gw_registry_new(const gw_config *cfg, gw_registry **out, custos_error *err);
/* Frees the registry's own reference; snapshots still held are freed by their last
 * gw_policy_release. */
void gw_registry_free(gw_registry *r);

/* The current snapshot, never NULL; release it with gw_policy_release. Thread-safe. */
gw_policy *gw_registry_acquire(gw_registry *r);
/* NULL is allowed. */
void gw_policy_release(gw_policy *p);

/* Makes a copy of cfg's feeds and signers the current snapshot. Submissions already
 * being verified finish under the snapshot they started with. */
CUSTOS_MUST_USE
custos_rc gw_registry_replace(gw_registry *r, const gw_config *cfg, custos_error *err);
/* The same, except that the snapshot takes *accounts (malloc'd, cfg->n_accounts entries,
 * the same as cfg->accounts) instead of copying cfg's; *accounts is NULL afterwards,
 * whether or not it succeeded. */
CUSTOS_MUST_USE
custos_rc gw_registry_replace_taking(gw_registry *r, const gw_config *cfg,
                                     gw_account **accounts, custos_error *err);

const gw_feed *gw_policy_find_feed(const gw_policy *p, const char *name);
/* The allow-list entry of address for feed, or NULL. */
const gw_signer *gw_policy_find_signer(const gw_policy *p, const char *feed,
                                       const uint8_t address[CUSTOS_ADDRESS_LEN]);
/* Any entry of address, whatever its feed (tells UNKNOWN from UNAUTHORIZED), or NULL. */
const gw_signer *gw_policy_find_signer_any(const gw_policy *p,
                                           const uint8_t address[CUSTOS_ADDRESS_LEN]);

/* The feed account is registered to (rule 9), or NULL when it is not registered. */
const gw_account *gw_policy_find_account(const gw_policy *p,
                                         const uint8_t account[CUSTOS_HASH_LEN]);
/* Asks the CPU for the cache lines that finding each of accounts[0..n) will read;
 * changes nothing. */
void gw_policy_prefetch_accounts(const gw_policy *p, const custos_batch_member *accounts, size_t n);

/* Copies the bond-market calendar that feeds point to into *own (emptied first) and points
 * them at the copy, so they no longer depend on the configuration they came from (a reload
 * frees it). Every feed with a calendar must have the same one. */
CUSTOS_MUST_USE
custos_rc gw_feeds_own_calendar(gw_feed *feeds, size_t n, custos_calendar *own,
                                custos_error *err);

/* Whether s's signatures count at `now` (unix seconds): active, and, for a rotated-out
 * key, before its not_after. */
bool gw_signer_valid_at(const gw_signer *s, uint64_t now);

#endif
