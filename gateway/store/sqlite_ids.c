/* The map of account ids to places (sqlite_ids.h): open addressing with linear probing, at
 * most half full, an empty slot's place 0 (rowids start at 1). Deletion shifts the
 * entries after the hole back, so no lookup ever needs a tombstone. */
#include "store/sqlite_ids.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IDS_MIN_SLOTS 1024u

typedef struct ids_slot {
    uint8_t account[CUSTOS_HASH_LEN];
    int64_t ordinal; /* 0: empty */
} ids_slot;

struct gw_sqids {
    pthread_mutex_t lock;
    ids_slot *slots;
    size_t mask; /* slots - 1, a power of two less one */
    size_t count;
    int64_t upto;
};

/* Ids are Keccak outputs, but ids chosen by whoever registers accounts need not be spread:
 * two of their words are mixed, so equal leading bytes do not share a run of slots. */
static size_t ids_home(const gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN])
{
    uint64_t a, b;
    memcpy(&a, account + 8, sizeof a);
    memcpy(&b, account + 24, sizeof b);
    return (size_t)(((a ^ b) * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
}

/* The slot holding account, else the empty slot where it would go. */
static size_t ids_slot_of(const gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN])
{
    size_t i = ids_home(m, account);
    while (m->slots[i].ordinal != 0 &&
           memcmp(m->slots[i].account, account, CUSTOS_HASH_LEN) != 0)
        i = (i + 1) & m->mask;
    return i;
}

gw_sqids *gw_sqids_new(void)
{
    gw_sqids *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->slots = calloc(IDS_MIN_SLOTS, sizeof *m->slots);
    if (m->slots == NULL || pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m->slots);
        free(m);
        return NULL;
    }
    m->mask = IDS_MIN_SLOTS - 1;
    return m;
}

void gw_sqids_free(gw_sqids *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m->slots);
    free(m);
}

int64_t gw_sqids_find(gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN])
{
    pthread_mutex_lock(&m->lock);
    int64_t ordinal = m->slots[ids_slot_of(m, account)].ordinal;
    pthread_mutex_unlock(&m->lock);
    return ordinal;
}

/* Doubles the slots, placing every entry again; false when out of memory. */
static bool ids_grow(gw_sqids *m)
{
    size_t n = m->mask + 1;
    if (n > SIZE_MAX / 2 / sizeof *m->slots)
        return false;
    ids_slot *old = m->slots;
    ids_slot *slots = calloc(2 * n, sizeof *slots);
    if (slots == NULL)
        return false;
    m->slots = slots;
    m->mask = 2 * n - 1;
    for (size_t i = 0; i < n; i++)
        if (old[i].ordinal != 0)
            m->slots[ids_slot_of(m, old[i].account)] = old[i];
    free(old);
    return true;
}

custos_rc gw_sqids_put(gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN], int64_t ordinal,
                       custos_error *err)
{
    if (ordinal <= 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "store: account place %lld is not "
                                "a row's", (long long)ordinal);
    custos_rc rc = CUSTOS_OK;
    pthread_mutex_lock(&m->lock);
    size_t i = ids_slot_of(m, account);
    if (m->slots[i].ordinal == 0 && 2 * (m->count + 1) > m->mask + 1) {
        if (ids_grow(m))
            i = ids_slot_of(m, account);
        else
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM,
                                  "store: out of memory for the map of %zu account ids",
                                  m->count + 1);
    }
    if (rc == CUSTOS_OK && m->slots[i].ordinal != 0 && m->slots[i].ordinal != ordinal)
        rc = custos_error_set(err, CUSTOS_ERR_INTERNAL,
                              "store: an account has two rows in accounts, at places %lld "
                              "and %lld", (long long)m->slots[i].ordinal, (long long)ordinal);
    if (rc == CUSTOS_OK && m->slots[i].ordinal == 0) {
        memcpy(m->slots[i].account, account, CUSTOS_HASH_LEN);
        m->slots[i].ordinal = ordinal;
        m->count++;
    }
    if (rc == CUSTOS_OK && ordinal == m->upto + 1)
        m->upto = ordinal;
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* Whether place k lies on the cyclic stretch (i, j]. */
static bool ids_between(size_t i, size_t k, size_t j)
{
    return i <= j ? (i < k && k <= j) : (i < k || k <= j);
}

void gw_sqids_remove(gw_sqids *m, const uint8_t account[CUSTOS_HASH_LEN])
{
    pthread_mutex_lock(&m->lock);
    size_t hole = ids_slot_of(m, account);
    if (m->slots[hole].ordinal != 0) {
        /* Each entry after the hole, up to the next empty slot, moves into it unless its
         * home lies between the hole and itself (then a lookup still reaches it). */
        for (size_t j = (hole + 1) & m->mask; m->slots[j].ordinal != 0; j = (j + 1) & m->mask) {
            if (ids_between(hole, ids_home(m, m->slots[j].account), j))
                continue;
            m->slots[hole] = m->slots[j];
            hole = j;
        }
        m->slots[hole].ordinal = 0;
        m->count--;
    }
    pthread_mutex_unlock(&m->lock);
}

int64_t gw_sqids_upto(gw_sqids *m)
{
    pthread_mutex_lock(&m->lock);
    int64_t upto = m->upto;
    pthread_mutex_unlock(&m->lock);
    return upto;
}

void gw_sqids_raise_upto(gw_sqids *m, int64_t place)
{
    pthread_mutex_lock(&m->lock);
    if (place > m->upto)
        m->upto = place;
    pthread_mutex_unlock(&m->lock);
}

void gw_sqids_lower_upto(gw_sqids *m, int64_t place)
{
    pthread_mutex_lock(&m->lock);
    if (place < m->upto)
        m->upto = place;
    pthread_mutex_unlock(&m->lock);
}

size_t gw_sqids_count(gw_sqids *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->count;
    pthread_mutex_unlock(&m->lock);
    return n;
}
