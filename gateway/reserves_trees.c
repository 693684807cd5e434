#include "reserves_trees.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "custos/reserves.h"

typedef struct rt_slot {
    char feed[CUSTOS_FEED_MAX + 1];
    uint8_t digest[CUSTOS_HASH_LEN]; /* the attestation the tree is of */
    custos_reserves_tree *tree;
} rt_slot;

struct gw_reserves_trees {
    pthread_mutex_t lock; /* guards the slots; held while a tree is built */
    rt_slot *slots;
    size_t n, cap;
};

custos_rc gw_reserves_trees_new(gw_reserves_trees **out, custos_error *err)
{
    *out = NULL;
    gw_reserves_trees *t = calloc(1, sizeof *t);
    if (t == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "reserves trees: out of memory");
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return custos_error_set(err, CUSTOS_ERR_INTERNAL, "reserves trees: cannot create a lock");
    }
    *out = t;
    return CUSTOS_OK;
}

void gw_reserves_trees_free(gw_reserves_trees *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        custos_reserves_tree_free(t->slots[i].tree);
    free(t->slots);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Locked. The feed's slot, added empty when it has none; NULL when out of memory. */
static rt_slot *rt_slot_of(gw_reserves_trees *t, const char *feed)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->slots[i].feed, feed) == 0)
            return &t->slots[i];
    if (t->n == t->cap) {
        size_t cap = t->cap == 0 ? 4 : 2 * t->cap;
        rt_slot *grown = realloc(t->slots, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        t->slots = grown;
        t->cap = cap;
    }
    rt_slot *s = &t->slots[t->n++];
    memset(s, 0, sizeof *s);
    memcpy(s->feed, feed, sizeof s->feed);
    return s;
}

custos_rc gw_reserves_trees_proof(gw_reserves_trees *t, const gw_store_reserves *res,
                                  const uint8_t account[CUSTOS_HASH_LEN],
                                  custos_reserves_proof *out, custos_error *err)
{
    pthread_mutex_lock(&t->lock);
    custos_rc rc = CUSTOS_OK;
    rt_slot *s = rt_slot_of(t, res->feed);
    if (s == NULL) {
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "reserves trees: out of memory");
    } else if (s->tree == NULL || memcmp(s->digest, res->digest, CUSTOS_HASH_LEN) != 0) {
        custos_reserves_tree *tree = NULL;
        rc = custos_reserves_tree_new(res->entries, (size_t)res->r.accounts, &tree, err);
        uint8_t root[CUSTOS_HASH_LEN];
        custos_u256 total;
        if (rc == CUSTOS_OK) {
            custos_reserves_tree_root(tree, root, &total);
            if (memcmp(root, res->r.sum_root, CUSTOS_HASH_LEN) != 0 ||
                custos_u256_cmp(&total, &res->r.total_collateral) != 0) {
                custos_reserves_tree_free(tree);
                rc = custos_error_set(err, CUSTOS_ERR_INTERNAL, "reserves trees: the stored "
                                      "leaves of feed '%s' do not make its sumRoot and total",
                                      res->feed);
            }
        }
        if (rc == CUSTOS_OK) {
            custos_reserves_tree_free(s->tree);
            s->tree = tree;
            memcpy(s->digest, res->digest, CUSTOS_HASH_LEN);
        }
    }
    if (rc == CUSTOS_OK)
        rc = custos_reserves_tree_proof(s->tree, account, out, err);
    pthread_mutex_unlock(&t->lock);
    return rc;
}
