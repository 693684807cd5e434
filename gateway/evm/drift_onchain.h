/* What the adapter lists that the gateway may not (docs/rules.md rule 10): the keys its
 * owner allow-listed (SignerAdded, and the new key of SignerRotated) and the accounts it
 * registered (AccountRegistered), found in its logs, since the adapter has no view that
 * enumerates them. The logs are read from [evm] drift_from_block on, up to the last block
 * `confirmations` deep (above it a reorganisation may still move an event),
 * in chunks of GW_DRIFT_LOG_CHUNK blocks, and from where the last read stopped at each
 * check. What is found is a candidate only: the drift check asks the adapter's views
 * whether each key still counts and where each account is registered now. */
#ifndef GATEWAY_EVM_DRIFT_ONCHAIN_H
#define GATEWAY_EVM_DRIFT_ONCHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "custos/error.h"

#include "evm/evm_rpc.h"

/* Blocks of one eth_getLogs: the range public providers commonly allow. */
#define GW_DRIFT_LOG_CHUNK 10000u

typedef struct gw_drift_key {
    uint8_t feed_id[CUSTOS_HASH_LEN];
    uint8_t key[CUSTOS_ADDRESS_LEN];
} gw_drift_key;

typedef struct gw_drift_seen {
    uint64_t next_block;                  /* the first block not read yet */
    gw_drift_key *keys;                   /* each (feed, key) once */
    size_t n_keys, cap_keys;
    uint8_t (*accounts)[CUSTOS_HASH_LEN]; /* sorted, each once */
    size_t n_accounts, cap_accounts;
    char error[256];                      /* why the last read stopped short; "" if not */
} gw_drift_seen;

void gw_drift_seen_init(gw_drift_seen *s, uint64_t from_block);
void gw_drift_seen_clear(gw_drift_seen *s);

/* Reads the adapter's logs on from s->next_block. CUSTOS_ERR_UNAVAILABLE (nothing kept of
 * the chunk under way) when the node does not answer: another node may; CUSTOS_ERR_NOMEM;
 * otherwise CUSTOS_OK, with s->error saying why the read stopped short of the head (a
 * node's range limit, an answer that cannot be read), to resume there next time. */
CUSTOS_MUST_USE
custos_rc gw_drift_seen_scan(gw_drift_seen *s, evm_rpc *rpc,
                             const uint8_t adapter[CUSTOS_ADDRESS_LEN], uint64_t confirmations,
                             custos_error *err);

#endif
