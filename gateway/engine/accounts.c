/* The committer's cache of every account's last sequence, feed and pledge, and the
 * overlay of the accounts the open group changed, merged into the cache only once the
 * group committed (internal.h). */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fibonacci hashing of the id's first 8 bytes, as the registry's index does: the slot is
 * the product's top bits, which depend on every bit of them. Every account here was
 * registered by the operator and signed for by its feed's quorum, so no client picks the
 * ids that collide. */
static size_t eng_hash(const uint8_t account[CUSTOS_HASH_LEN], size_t slots)
{
    uint64_t h;
    memcpy(&h, account, sizeof h);
    h *= UINT64_C(0x9E3779B97F4A7C15);
    /* slots is a power of two, at least 2: its bits are the product's top ones. */
    unsigned bits = (unsigned)__builtin_ctzll((unsigned long long)slots);
    return (size_t)(h >> (64 - bits));
}

/* The account's slot in an index of entries (slot: entry + 1, 0 empty; n_slots a power of
 * two): its entry's, or the empty slot it would take. */
static uint32_t *eng_slot(const eng_account *entries, uint32_t *slots, size_t n_slots,
                          const uint8_t account[CUSTOS_HASH_LEN])
{
    size_t i = eng_hash(account, n_slots);
    while (slots[i] != 0 && memcmp(entries[slots[i] - 1].account, account, CUSTOS_HASH_LEN) != 0)
        i = (i + 1) & (n_slots - 1);
    return &slots[i];
}

static uint32_t *eng_cache_slot(const gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN])
{
    return eng_slot(e->cache, e->cache_slot, e->cache_slots, account);
}

/* Makes room for `more` new accounts: entries for all of them, and an index at most half
 * full. Growing moves the entries: the committer reserves only at start and after a
 * group's rules ran, when it holds none of them. */
custos_rc gw_eng_cache_reserve(gw_engine *e, size_t more, custos_error *err)
{
    size_t need = e->cache_count + more;
    if (need > e->cache_room) {
        size_t room = e->cache_room < 64 ? 64 : e->cache_room;
        while (room < need)
            room *= 2;
        eng_account *grown = realloc(e->cache, room * sizeof *grown);
        if (grown == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                    "engine: out of memory for %zu accounts", need);
        e->cache = grown;
        e->cache_room = room;
    }
    if (need * 2 <= e->cache_slots)
        return CUSTOS_OK;
    size_t slots = e->cache_slots == 0 ? 128 : e->cache_slots;
    while (need * 2 > slots)
        slots *= 2;
    uint32_t *index = calloc(slots, sizeof *index);
    if (index == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                "engine: out of memory for an index of %zu accounts", need);
    free(e->cache_slot);
    e->cache_slot = index;
    e->cache_slots = slots;
    for (size_t k = 0; k < e->cache_count; k++)
        *eng_cache_slot(e, e->cache[k].account) = (uint32_t)(k + 1);
    return CUSTOS_OK;
}

/* A batch's accounts sit at random places of the index and of entries larger than the
 * CPU's caches, and each lookup waited on a miss or two (eng_slot was 3% of a batch's
 * profile). Asking for all their lines first lets the misses overlap: the index slots in
 * one pass, then the entries they name in a second, by which time most slots are in. */
void gw_eng_accounts_prefetch(const gw_engine *e, const custos_batch_member *accounts, size_t n)
{
    if (e->cache_slots == 0)
        return;
    for (size_t i = 0; i < n; i++)
        __builtin_prefetch(&e->cache_slot[eng_hash(accounts[i].att.account, e->cache_slots)]);
    for (size_t i = 0; i < n; i++) {
        uint32_t at = e->cache_slot[eng_hash(accounts[i].att.account, e->cache_slots)];
        if (at != 0) {
            const eng_account *a = &e->cache[at - 1];
            __builtin_prefetch(a);
            __builtin_prefetch((const char *)(a + 1) - 1);
        }
    }
}

/* Caller reserved room first. */
void gw_eng_cache_put(gw_engine *e, const eng_account *a)
{
    uint32_t *slot = eng_cache_slot(e, a->account);
    if (*slot == 0) {
        e->cache[e->cache_count++] = *a;
        *slot = (uint32_t)e->cache_count;
    } else {
        e->cache[*slot - 1] = *a;
    }
}

/* The feed name's index in the engine's table, added when new. Feeds are few (each a
 * configured feed, now or once), so a scan is enough. */
static custos_rc eng_feed_index(gw_engine *e, const char *feed, uint16_t *out,
                                custos_error *err)
{
    for (size_t i = 0; i < e->n_feed_names; i++)
        if (strcmp(e->feed_names[i], feed) == 0) {
            *out = (uint16_t)i;
            return CUSTOS_OK;
        }
    if (e->n_feed_names > UINT16_MAX)
        return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                "engine: accounts are stored under more than %u feed names",
                                UINT16_MAX + 1u);
    if (e->n_feed_names == e->feed_names_room) {
        size_t room = e->feed_names_room == 0 ? 8 : 2 * e->feed_names_room;
        char (*grown)[CUSTOS_FEED_MAX + 1] = realloc(e->feed_names, room * sizeof *grown);
        if (grown == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "engine: out of memory for feed "
                                    "'%.64s'", feed);
        e->feed_names = grown;
        e->feed_names_room = room;
    }
    snprintf(e->feed_names[e->n_feed_names], sizeof e->feed_names[0], "%s", feed);
    *out = (uint16_t)e->n_feed_names++;
    return CUSTOS_OK;
}

const char *gw_eng_feed_name(const gw_engine *e, uint16_t feed)
{
    return e->feed_names[feed];
}

custos_rc gw_eng_load_account(void *ctx, const gw_store_account *a, custos_error *err)
{
    gw_engine *e = ctx;
    eng_account acct;
    memset(&acct, 0, sizeof acct);
    custos_rc rc = eng_feed_index(e, a->feed, &acct.feed, err);
    if (rc == CUSTOS_OK)
        rc = gw_eng_cache_reserve(e, 1, err);
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(acct.account, a->account, CUSTOS_HASH_LEN);
    acct.last_sequence = a->last_sequence;
    memcpy(acct.beneficiary, a->beneficiary, CUSTOS_ADDRESS_LEN);
    gw_eng_cache_put(e, &acct);
    return CUSTOS_OK;
}

static uint32_t *eng_overlay_slot(const gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN])
{
    return eng_slot(e->overlay, e->overlay_slot, e->overlay_slots, account);
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
    if (e->cache_slots == 0)
        return NULL;
    uint32_t at = *eng_cache_slot(e, account);
    return at != 0 ? &e->cache[at - 1] : NULL;
}

custos_rc gw_eng_overlay_set(gw_engine *e, const uint8_t account[CUSTOS_HASH_LEN],
                             uint64_t sequence, const char *feed,
                             const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                             const eng_base *base, custos_error *err)
{
    uint16_t feed_index;
    custos_rc rc = eng_feed_index(e, feed, &feed_index, err);
    if (rc != CUSTOS_OK)
        return rc;
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
    }
    a->last_sequence = sequence;
    a->feed = feed_index;
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
