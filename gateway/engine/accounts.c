/* The committer's cache of every account's last sequence, feed and pledge, and the
 * overlay of the accounts the open group changed, merged into the cache only once the
 * group committed (internal.h). */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: accounts are usually keccak outputs, but nothing forces a client to send
 * well-spread ones. */
static size_t eng_hash(const uint8_t account[CUSTOS_HASH_LEN])
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < CUSTOS_HASH_LEN; i++) {
        h ^= account[i];
        h *= 1099511628211u;
    }
    return (size_t)h;
}

static eng_account *eng_cache_slot(eng_account *table, size_t cap,
                                   const uint8_t account[CUSTOS_HASH_LEN])
{
    size_t i = eng_hash(account) & (cap - 1);
    while (table[i].used && memcmp(table[i].account, account, CUSTOS_HASH_LEN) != 0)
        i = (i + 1) & (cap - 1);
    return &table[i];
}

/* Makes room for `more` new accounts at a load factor of at most 1/2. */
custos_rc gw_eng_cache_reserve(gw_engine *e, size_t more, custos_error *err)
{
    if ((e->cache_count + more) * 2 <= e->cache_cap)
        return CUSTOS_OK;
    size_t cap = e->cache_cap == 0 ? 64 : e->cache_cap;
    while ((e->cache_count + more) * 2 > cap)
        cap *= 2;
    eng_account *t = calloc(cap, sizeof *t);
    if (t == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory for %zu accounts",
                                e->cache_count + more);
    for (size_t i = 0; i < e->cache_cap; i++)
        if (e->cache[i].used)
            *eng_cache_slot(t, cap, e->cache[i].account) = e->cache[i];
    free(e->cache);
    e->cache = t;
    e->cache_cap = cap;
    return CUSTOS_OK;
}

/* Caller reserved room first. */
void gw_eng_cache_put(gw_engine *e, const eng_account *a)
{
    eng_account *slot = eng_cache_slot(e->cache, e->cache_cap, a->account);
    if (!slot->used)
        e->cache_count++;
    *slot = *a;
    slot->used = true;
}

custos_rc gw_eng_load_account(void *ctx, const gw_store_account *a, custos_error *err)
{
    gw_engine *e = ctx;
    custos_rc rc = gw_eng_cache_reserve(e, 1, err);
    if (rc != CUSTOS_OK)
        return rc;
    eng_account acct;
    memset(&acct, 0, sizeof acct);
    memcpy(acct.account, a->account, CUSTOS_HASH_LEN);
    acct.last_sequence = a->last_sequence;
    memcpy(acct.feed, a->feed, sizeof acct.feed);
    memcpy(acct.beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN);
    gw_eng_cache_put(e, &acct);
    return CUSTOS_OK;
}

/* The overlay's index slot of the account: its entry's, or the empty slot it would take. */
static uint32_t *eng_overlay_slot(const gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN])
{
    size_t mask = e->overlay_slots - 1;
    size_t i = eng_hash(account) & mask;
    while (e->overlay_slot[i] != 0 &&
           memcmp(e->overlay[e->overlay_slot[i] - 1].account, account, CUSTOS_HASH_LEN) != 0)
        i = (i + 1) & mask;
    return &e->overlay_slot[i];
}

const eng_account *gw_eng_overlay_find(const gw_engine *e,
                                       const uint8_t account[CUSTOS_HASH_LEN])
{
    uint32_t at = *eng_overlay_slot(e, account);
    return at != 0 ? &e->overlay[at - 1] : NULL;
}

/* The account as the open group sees it: the overlay first, then the cache. */
const eng_account *gw_eng_account_find(const gw_engine *e,
                                       const uint8_t account[CUSTOS_HASH_LEN])
{
    const eng_account *a = gw_eng_overlay_find(e, account);
    if (a != NULL)
        return a;
    if (e->cache_cap == 0)
        return NULL;
    const eng_account *slot = eng_cache_slot(e->cache, e->cache_cap, account);
    return slot->used ? slot : NULL;
}

custos_rc gw_eng_overlay_set(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN],
                             uint64_t sequence, const char *feed,
                             const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                             const eng_base *base, custos_error *err)
{
    uint32_t *slot = eng_overlay_slot(e, account);
    eng_account *a = NULL;
    if (*slot != 0) {
        a = &e->overlay[*slot - 1];
    } else {
        if (e->overlay_count == e->overlay_cap)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "engine: a group changed more than %zu accounts",
                                    e->overlay_cap);
        e->overlay_at[e->overlay_count] = (uint32_t)(slot - e->overlay_slot);
        a = &e->overlay[e->overlay_count++];
        *slot = (uint32_t)e->overlay_count;
        memset(a, 0, sizeof *a);
        memcpy(a->account, account, CUSTOS_HASH_LEN);
        a->used = true;
    }
    a->last_sequence = sequence;
    snprintf(a->feed, sizeof a->feed, "%s", feed);
    memcpy(a->beneficiary, beneficiary, CUSTOS_ADDRESS_LEN);
    a->base_known = base != NULL;
    if (base != NULL)
        a->base = *base;
    return CUSTOS_OK;
}

void gw_eng_overlay_reset(gw_engine *e)
{
    for (size_t i = 0; i < e->overlay_count; i++)
        e->overlay_slot[e->overlay_at[i]] = 0;
    e->overlay_count = 0;
}

size_t gw_eng_item_accounts(const eng_item *it)
{
    return it->batch != NULL ? it->batch->bs.n_accounts : 1;
}
