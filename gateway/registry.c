/* The runtime signer allow-list and feed policy (registry.h). */
#include "registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct gw_registry {
    pthread_mutex_t lock;    /* guards current; held only to copy the pointer and count */
    pthread_mutex_t writer;  /* one replacement at a time, so generations stay ordered */
    gw_policy *current;
};

static void reg_policy_free(gw_policy *p)
{
    free(p->feeds);
    free(p->signers);
    free(p->accounts);
    free(p->account_slots);
    custos_calendar_free(&p->calendar);
    free(p);
}

custos_rc gw_feeds_own_calendar(gw_feed *feeds, size_t n, custos_calendar *own,
                                custos_error *err)
{
    const custos_calendar *from = NULL;
    for (size_t i = 0; i < n; i++) {
        if (feeds[i].calendar == NULL)
            continue;
        if (from != NULL && feeds[i].calendar != from)
            return custos_error_set(err, CUSTOS_ERR_INTERNAL,
                                    "feeds with two different calendars");
        from = feeds[i].calendar;
    }
    custos_calendar fresh;
    memset(&fresh, 0, sizeof fresh);
    if (from != NULL) {
        custos_rc rc = custos_calendar_copy(from, &fresh, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    custos_calendar_free(own);
    *own = fresh;
    for (size_t i = 0; i < n; i++)
        if (feeds[i].calendar != NULL)
            feeds[i].calendar = own;
    return CUSTOS_OK;
}

/* Index of the entry of feed with address, or n when none. */
static size_t reg_signer_index(const gw_signer *signers, size_t n, const char *feed,
                               const uint8_t address[CUSTOS_ADDRESS_LEN])
{
    for (size_t j = 0; j < n; j++)
        if (strcmp(signers[j].feed, feed) == 0 &&
            memcmp(signers[j].address, address, CUSTOS_ADDRESS_LEN) == 0)
            return j;
    return n;
}

/* Rule 2: every key's party is the key at the end of its chain of replacements, so that
 * the old and new keys of one rotation count once. A chain is at most n long (the config
 * and the admin service let a key replace one key only); the bound keeps a damaged list
 * from looping. */
static void reg_assign_parties(gw_signer *signers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = i;
        for (size_t steps = 0; signers[at].rotated && steps < n; steps++) {
            size_t next = reg_signer_index(signers, n, signers[at].feed, signers[at].replaced_by);
            if (next == n || next == i)
                break;
            at = next;
        }
        signers[i].party = (uint32_t)at;
    }
}

/* Fibonacci hashing of the id's first 8 bytes: the slot is the product's top bits, which
 * depend on every bit of them, so even ids that are not Keccak outputs spread out. */
static size_t reg_account_slot(const uint8_t account[CUSTOS_HASH_LEN], unsigned shift)
{
    uint64_t h;
    memcpy(&h, account, sizeof h);
    return (size_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> shift);
}

/* Every submission looks its account up (rule 9); a binary search over tens of thousands of
 * registrations missed the cache at most of its steps. The table is at most half full, so
 * a lookup ends at an empty slot within a few probes. */
static custos_rc reg_index_accounts(gw_policy *p, custos_error *err)
{
    size_t slots = 16;
    unsigned bits = 4;
    while (slots < 2 * p->n_accounts) {
        slots *= 2;
        bits++;
    }
    p->account_slots = calloc(slots, sizeof *p->account_slots);
    if (p->account_slots == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "registry: out of memory for %zu "
                                "account slots", slots);
    p->slot_mask = slots - 1;
    p->slot_shift = 64 - bits;
    for (size_t i = 0; i < p->n_accounts; i++) {
        size_t at = reg_account_slot(p->accounts[i].account, p->slot_shift);
        while (p->account_slots[at] != 0)
            at = (at + 1) & p->slot_mask;
        p->account_slots[at] = (uint32_t)(i + 1);
    }
    return CUSTOS_OK;
}

/* A snapshot of cfg's lists; with owned non-NULL it takes *owned as its accounts (the
 * registrations can be millions: one copy fewer) and sets *owned to NULL, whatever the
 * outcome. */
static custos_rc reg_policy_copy(const gw_config *cfg, uint64_t generation, gw_account **owned,
                                 gw_policy **out, custos_error *err)
{
    gw_account *accounts = owned != NULL ? *owned : NULL;
    if (owned != NULL)
        *owned = NULL;
    gw_policy *p = calloc(1, sizeof *p);
    if (p == NULL) {
        free(accounts);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "registry: out of memory");
    }
    /* calloc(0) may return NULL: keep at least one slot so NULL always means failure. */
    p->feeds = calloc(cfg->n_feeds > 0 ? cfg->n_feeds : 1, sizeof *p->feeds);
    p->signers = calloc(cfg->n_signers > 0 ? cfg->n_signers : 1, sizeof *p->signers);
    p->accounts = accounts != NULL ? accounts
                                   : calloc(cfg->n_accounts > 0 ? cfg->n_accounts : 1,
                                            sizeof *p->accounts);
    if (p->feeds == NULL || p->signers == NULL || p->accounts == NULL) {
        reg_policy_free(p);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "registry: out of memory");
    }
    if (cfg->n_feeds > 0)
        memcpy(p->feeds, cfg->feeds, cfg->n_feeds * sizeof *p->feeds);
    if (cfg->n_signers > 0)
        memcpy(p->signers, cfg->signers, cfg->n_signers * sizeof *p->signers);
    reg_assign_parties(p->signers, cfg->n_signers);
    if (accounts == NULL && cfg->n_accounts > 0)
        memcpy(p->accounts, cfg->accounts, cfg->n_accounts * sizeof *p->accounts);
    gw_accounts_sort(p->accounts, cfg->n_accounts);
    p->n_feeds = cfg->n_feeds;
    p->n_signers = cfg->n_signers;
    p->n_accounts = cfg->n_accounts;
    custos_rc rc = reg_index_accounts(p, err);
    /* The snapshot outlives the list it was made from (a reload frees that calendar). */
    if (rc == CUSTOS_OK)
        rc = gw_feeds_own_calendar(p->feeds, cfg->n_feeds, &p->calendar, err);
    if (rc != CUSTOS_OK) {
        reg_policy_free(p);
        return rc;
    }
    p->generation = generation;
    atomic_init(&p->refs, 1);
    *out = p;
    return CUSTOS_OK;
}

custos_rc gw_registry_new(const gw_config *cfg, gw_registry **out, custos_error *err)
{
    *out = NULL;
    gw_registry *r = calloc(1, sizeof *r);
    if (r == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "registry: out of memory");
    custos_rc rc = reg_policy_copy(cfg, 1, NULL, &r->current, err);
    if (rc != CUSTOS_OK) {
        free(r);
        return rc;
    }
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        reg_policy_free(r->current);
        free(r);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "registry: cannot create a lock");
    }
    if (pthread_mutex_init(&r->writer, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        reg_policy_free(r->current);
        free(r);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "registry: cannot create a lock");
    }
    *out = r;
    return CUSTOS_OK;
}

void gw_registry_free(gw_registry *r)
{
    if (r == NULL)
        return;
    gw_policy_release(r->current);
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->writer);
    free(r);
}

gw_policy *gw_registry_acquire(gw_registry *r)
{
    pthread_mutex_lock(&r->lock);
    gw_policy *p = r->current;
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&r->lock);
    return p;
}

void gw_policy_release(gw_policy *p)
{
    if (p == NULL)
        return;
    /* acq_rel: the last holder sees every other holder's reads finished before freeing. */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        reg_policy_free(p);
}

static custos_rc reg_replace(gw_registry *r, const gw_config *cfg, gw_account **owned,
                             custos_error *err)
{
    pthread_mutex_lock(&r->writer);
    gw_policy *fresh = NULL;
    custos_rc rc = reg_policy_copy(cfg, r->current->generation + 1, owned, &fresh, err);
    if (rc == CUSTOS_OK) {
        pthread_mutex_lock(&r->lock);
        gw_policy *old = r->current;
        r->current = fresh;
        pthread_mutex_unlock(&r->lock);
        gw_policy_release(old);
    }
    pthread_mutex_unlock(&r->writer);
    return rc;
}

custos_rc gw_registry_replace(gw_registry *r, const gw_config *cfg, custos_error *err)
{
    return reg_replace(r, cfg, NULL, err);
}

custos_rc gw_registry_replace_taking(gw_registry *r, const gw_config *cfg,
                                     gw_account **accounts, custos_error *err)
{
    return reg_replace(r, cfg, accounts, err);
}

const gw_feed *gw_policy_find_feed(const gw_policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_feeds; i++)
        if (strcmp(p->feeds[i].name, name) == 0)
            return &p->feeds[i];
    return NULL;
}

const gw_signer *gw_policy_find_signer(const gw_policy *p, const char *feed,
                                       const uint8_t address[CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < p->n_signers; i++) {
        const gw_signer *s = &p->signers[i];
        if (strcmp(s->feed, feed) == 0 && memcmp(s->address, address, CUSTOS_ADDRESS_LEN) == 0)
            return s;
    }
    return NULL;
}

const gw_signer *gw_policy_find_signer_any(const gw_policy *p,
                                           const uint8_t address[CUSTOS_ADDRESS_LEN])
{
    for (size_t i = 0; i < p->n_signers; i++)
        if (memcmp(p->signers[i].address, address, CUSTOS_ADDRESS_LEN) == 0)
            return &p->signers[i];
    return NULL;
}

const gw_account *gw_policy_find_account(const gw_policy *p,
                                        const uint8_t account[CUSTOS_HASH_LEN])
{
    for (size_t at = reg_account_slot(account, p->slot_shift); p->account_slots[at] != 0;
         at = (at + 1) & p->slot_mask) {
        const gw_account *a = &p->accounts[p->account_slots[at] - 1];
        if (memcmp(a->account, account, CUSTOS_HASH_LEN) == 0)
            return a;
    }
    return NULL;
}

/* A batch's accounts sit at random places of the index and of the registrations: asking
 * for all their lines first, the slots and then the entries they name, lets the misses
 * overlap (the lookup was 1.6% of a batch's profile, nearly all of it waiting). */
void gw_policy_prefetch_accounts(const gw_policy *p, const custos_batch_member *accounts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        __builtin_prefetch(&p->account_slots[reg_account_slot(accounts[i].att.account,
                                                              p->slot_shift)]);
    for (size_t i = 0; i < n; i++) {
        uint32_t at = p->account_slots[reg_account_slot(accounts[i].att.account, p->slot_shift)];
        if (at != 0) {
            const gw_account *a = &p->accounts[at - 1];
            __builtin_prefetch(a);
            __builtin_prefetch((const char *)(a + 1) - 1);
        }
    }
}

bool gw_signer_valid_at(const gw_signer *s, uint64_t now)
{
    return s->active && (s->not_after == 0 || now < s->not_after);
}
