/* The adapter's keys and accounts found in its logs (drift_onchain.h). */
#include "evm/drift_onchain.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

enum { EV_SIGNER_ADDED, EV_SIGNER_ROTATED, EV_ACCOUNT_REGISTERED, EV_COUNT };

static const char *const event_signatures[EV_COUNT] = {
    [EV_SIGNER_ADDED] = "SignerAdded(bytes32,address,uint8,uint8)",
    [EV_SIGNER_ROTATED] = "SignerRotated(bytes32,address,address,uint64)",
    [EV_ACCOUNT_REGISTERED] = "AccountRegistered(bytes32,bytes32)",
};

void gw_drift_seen_init(gw_drift_seen *s, uint64_t from_block)
{
    memset(s, 0, sizeof *s);
    s->next_block = from_block;
}

void gw_drift_seen_clear(gw_drift_seen *s)
{
    free(s->keys);
    free(s->accounts);
    memset(s, 0, sizeof *s);
}

static custos_rc seen_add_key(gw_drift_seen *s, const uint8_t feed_id[CUSTOS_HASH_LEN],
                              const uint8_t word[CUSTOS_HASH_LEN], custos_error *err)
{
    /* An indexed address is its 32-byte word, the address in its low 20 bytes. */
    const uint8_t *key = word + CUSTOS_HASH_LEN - CUSTOS_ADDRESS_LEN;
    for (size_t i = 0; i < s->n_keys; i++)
        if (memcmp(s->keys[i].feed_id, feed_id, CUSTOS_HASH_LEN) == 0 &&
            memcmp(s->keys[i].key, key, CUSTOS_ADDRESS_LEN) == 0)
            return CUSTOS_OK;
    if (s->n_keys == s->cap_keys) {
        size_t cap = s->cap_keys > 0 ? 2 * s->cap_keys : 16;
        gw_drift_key *grown = realloc(s->keys, cap * sizeof *grown);
        if (grown == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "drift: out of memory for keys");
        s->keys = grown;
        s->cap_keys = cap;
    }
    memcpy(s->keys[s->n_keys].feed_id, feed_id, CUSTOS_HASH_LEN);
    memcpy(s->keys[s->n_keys].key, key, CUSTOS_ADDRESS_LEN);
    s->n_keys++;
    return CUSTOS_OK;
}

static int account_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CUSTOS_HASH_LEN);
}

static custos_rc seen_add_account(gw_drift_seen *s, const uint8_t account[CUSTOS_HASH_LEN],
                                  custos_error *err)
{
    if (s->n_accounts == s->cap_accounts) {
        size_t cap = s->cap_accounts > 0 ? 2 * s->cap_accounts : 64;
        uint8_t(*grown)[CUSTOS_HASH_LEN] = realloc(s->accounts, cap * sizeof *grown);
        if (grown == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "drift: out of memory for accounts");
        s->accounts = grown;
        s->cap_accounts = cap;
    }
    memcpy(s->accounts[s->n_accounts++], account, CUSTOS_HASH_LEN);
    return CUSTOS_OK;
}

/* Sorted, each account once, after a chunk's additions. */
static void seen_unique_accounts(gw_drift_seen *s)
{
    if (s->n_accounts < 2)
        return;
    qsort(s->accounts, s->n_accounts, CUSTOS_HASH_LEN, account_cmp);
    size_t w = 1;
    for (size_t r = 1; r < s->n_accounts; r++)
        if (memcmp(s->accounts[r], s->accounts[w - 1], CUSTOS_HASH_LEN) != 0)
            memmove(s->accounts[w++], s->accounts[r], CUSTOS_HASH_LEN);
    s->n_accounts = w;
}

static custos_rc seen_take(gw_drift_seen *s, const evm_event *e,
                           const uint8_t topic0[EV_COUNT][CUSTOS_HASH_LEN], custos_error *err)
{
    if (e->n_topics >= 3 && memcmp(e->topics[0], topic0[EV_SIGNER_ADDED], CUSTOS_HASH_LEN) == 0)
        return seen_add_key(s, e->topics[1], e->topics[2], err);
    if (e->n_topics >= 4 && memcmp(e->topics[0], topic0[EV_SIGNER_ROTATED], CUSTOS_HASH_LEN) == 0)
        return seen_add_key(s, e->topics[1], e->topics[3], err);
    if (e->n_topics >= 3 &&
        memcmp(e->topics[0], topic0[EV_ACCOUNT_REGISTERED], CUSTOS_HASH_LEN) == 0)
        return seen_add_account(s, e->topics[1], err);
    return CUSTOS_OK;
}

custos_rc gw_drift_seen_scan(gw_drift_seen *s, evm_rpc *rpc,
                             const uint8_t adapter[CUSTOS_ADDRESS_LEN], uint64_t confirmations,
                             custos_error *err)
{
    uint8_t topic0[EV_COUNT][CUSTOS_HASH_LEN];
    for (int i = 0; i < EV_COUNT; i++)
        custos_keccak256((const uint8_t *)event_signatures[i], strlen(event_signatures[i]),
                         topic0[i]);
    uint64_t head = 0;
    custos_rc rc = evm_rpc_block_number(rpc, &head, err);
    if (rc != CUSTOS_OK)
        return rc;
    s->error[0] = '\0';
    /* Blocks `confirmations` deep, as the publisher counts them (publishing.md §6). */
    if (confirmations == 0 || head + 1 < confirmations)
        return CUSTOS_OK;
    uint64_t last = head + 1 - confirmations;
    while (s->next_block <= last) {
        uint64_t to = last - s->next_block >= GW_DRIFT_LOG_CHUNK - 1
                          ? s->next_block + GW_DRIFT_LOG_CHUNK - 1
                          : last;
        evm_event *events = NULL;
        size_t n = 0;
        custos_error why;
        custos_error_clear(&why);
        rc = evm_rpc_get_logs(rpc, adapter, (const uint8_t(*)[CUSTOS_HASH_LEN])topic0, EV_COUNT,
                              s->next_block, to, &events, &n, &why);
        if (rc == CUSTOS_ERR_UNAVAILABLE || rc == CUSTOS_ERR_NOMEM) {
            if (err != NULL)
                *err = why;
            return rc;
        }
        if (rc != CUSTOS_OK) {
            snprintf(s->error, sizeof s->error, "the adapter's logs of blocks %" PRIu64
                     " to %" PRIu64 " cannot be read: %.160s", s->next_block, to, why.message);
            return CUSTOS_OK;
        }
        for (size_t i = 0; rc == CUSTOS_OK && i < n; i++)
            rc = seen_take(s, &events[i], (const uint8_t(*)[CUSTOS_HASH_LEN])topic0, err);
        free(events);
        seen_unique_accounts(s);
        if (rc != CUSTOS_OK)
            return rc;
        s->next_block = to + 1;
    }
    return CUSTOS_OK;
}
