/* Per-client token buckets and stream counts.
 *
 * Tokens are counted in billionths so that refilling is exact integer arithmetic: a rate
 * of r per second adds r billionths per nanosecond. A client's entry lives in a chained
 * hash table; when max_clients entries exist, entries with a full bucket and no open
 * stream (they would behave exactly like a new entry) are dropped to make room. */
#include "limiter.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NANO 1000000000u
/* Keeps burst * NANO within 64 bits. */
#define LIMITER_MAX_BURST 1000000000u

typedef struct entry {
    struct entry *next;
    char name[GW_LIMITER_NAME_MAX + 1];
    uint64_t tokens;   /* billionths of a token */
    uint64_t last_ns;  /* when tokens was last brought up to date */
    uint32_t streams;
} entry;

struct gw_limiter {
    pthread_mutex_t mu;
    uint64_t rate;
    uint64_t cap;      /* burst, in billionths */
    uint32_t max_streams;
    size_t max_clients;
    size_t n;
    entry **buckets;
    size_t n_buckets;  /* a power of two */
};

custos_rc gw_limiter_new(uint64_t rate, uint64_t burst, uint32_t max_streams,
                         size_t max_clients, gw_limiter **out, custos_error *err)
{
    *out = NULL;
    if (rate == 0 || rate > NANO || burst == 0 || burst > LIMITER_MAX_BURST ||
        max_streams == 0 || max_clients == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "limits out of range: rate 1..%u, burst 1..%u, streams and "
                                "clients at least 1", NANO, LIMITER_MAX_BURST);
    gw_limiter *l = calloc(1, sizeof *l);
    if (l == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory for the limiter");
    l->n_buckets = 16;
    while (l->n_buckets < max_clients && l->n_buckets < 65536)
        l->n_buckets *= 2;
    l->buckets = calloc(l->n_buckets, sizeof *l->buckets);
    if (l->buckets == NULL) {
        free(l);
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "out of memory for the limiter");
    }
    pthread_mutex_init(&l->mu, NULL);
    l->rate = rate;
    l->cap = burst * NANO;
    l->max_streams = max_streams;
    l->max_clients = max_clients;
    *out = l;
    return CUSTOS_OK;
}

void gw_limiter_free(gw_limiter *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_buckets; i++) {
        entry *e = l->buckets[i];
        while (e != NULL) {
            entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(l->buckets);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* FNV-1a. */
static size_t name_hash(const char *name)
{
    uint64_t h = 14695981039346656037u;
    for (const unsigned char *c = (const unsigned char *)name; *c != '\0'; c++) {
        h ^= *c;
        h *= 1099511628211u;
    }
    return (size_t)h;
}

/* Brings e's bucket up to now; a clock going backwards adds nothing. */
static void refill(const gw_limiter *l, entry *e, uint64_t now_ns)
{
    if (now_ns <= e->last_ns)
        return;
    uint64_t elapsed = now_ns - e->last_ns;
    e->last_ns = now_ns;
    uint64_t missing = l->cap - e->tokens;
    /* Compare before multiplying: elapsed * rate may not fit, missing / rate always does. */
    if (elapsed >= missing / l->rate + 1)
        e->tokens = l->cap;
    else
        e->tokens += elapsed * l->rate;
}

/* Drops every entry that a fresh one would equal. Locked. */
static void evict_idle(gw_limiter *l, uint64_t now_ns)
{
    for (size_t i = 0; i < l->n_buckets; i++) {
        entry **pp = &l->buckets[i];
        while (*pp != NULL) {
            entry *e = *pp;
            refill(l, e, now_ns);
            if (e->streams == 0 && e->tokens == l->cap) {
                *pp = e->next;
                free(e);
                l->n--;
            } else {
                pp = &e->next;
            }
        }
    }
}

/* client's entry, created full when absent; NULL when the table is full of active
 * clients or memory runs out. Locked. */
static entry *find(gw_limiter *l, const char *client, uint64_t now_ns, bool create)
{
    char name[GW_LIMITER_NAME_MAX + 1];
    size_t len = strnlen(client, GW_LIMITER_NAME_MAX);
    memcpy(name, client, len);
    name[len] = '\0';
    size_t slot = name_hash(name) & (l->n_buckets - 1);
    for (entry *e = l->buckets[slot]; e != NULL; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    if (!create)
        return NULL;
    if (l->n >= l->max_clients)
        evict_idle(l, now_ns);
    if (l->n >= l->max_clients)
        return NULL;
    entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    memcpy(e->name, name, len + 1);
    e->tokens = l->cap;
    e->last_ns = now_ns;
    e->next = l->buckets[slot];
    l->buckets[slot] = e;
    l->n++;
    return e;
}

bool gw_limiter_take(gw_limiter *l, const char *client, uint64_t now_ns)
{
    pthread_mutex_lock(&l->mu);
    entry *e = find(l, client, now_ns, true);
    bool ok = false;
    if (e != NULL) {
        refill(l, e, now_ns);
        if (e->tokens >= NANO) {
            e->tokens -= NANO;
            ok = true;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

bool gw_limiter_stream_open(gw_limiter *l, const char *client, uint64_t now_ns)
{
    pthread_mutex_lock(&l->mu);
    entry *e = find(l, client, now_ns, true);
    bool ok = e != NULL && e->streams < l->max_streams;
    if (ok)
        e->streams++;
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void gw_limiter_stream_close(gw_limiter *l, const char *client)
{
    pthread_mutex_lock(&l->mu);
    /* An entry with open streams is never evicted, so it is there. */
    entry *e = find(l, client, 0, false);
    if (e != NULL && e->streams > 0)
        e->streams--;
    pthread_mutex_unlock(&l->mu);
}

uint32_t gw_limiter_streams(gw_limiter *l, const char *client)
{
    pthread_mutex_lock(&l->mu);
    entry *e = find(l, client, 0, false);
    uint32_t n = e != NULL ? e->streams : 0;
    pthread_mutex_unlock(&l->mu);
    return n;
}
