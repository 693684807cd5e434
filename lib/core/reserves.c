/* The reserves attestation: EIP-712 hashing and the accounts tree (see custos/reserves.h). */
#include "custos/hex.h"
#include "custos/reserves.h"

#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"
#include "custos/keccak.h"
#include "custos/sumtree.h"

static void reserves_word_u64(uint64_t v, uint8_t word[CUSTOS_U256_LEN])
{
    memset(word, 0, CUSTOS_U256_LEN);
    for (int i = 0; i < 8; i++)
        word[CUSTOS_U256_LEN - 1 - i] = (uint8_t)(v >> (8 * i));
}

void custos_feed_id(const char *feed, uint8_t out[CUSTOS_HASH_LEN])
{
    custos_keccak256((const uint8_t *)feed, strlen(feed), out);
}

void custos_reserves_struct_hash(const custos_reserves *r, uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t typehash[CUSTOS_HASH_LEN], word[CUSTOS_U256_LEN];
    custos_keccak256((const uint8_t *)CUSTOS_RESERVES_TYPE, strlen(CUSTOS_RESERVES_TYPE),
                     typehash);
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, typehash, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, r->feed_id, CUSTOS_HASH_LEN);
    custos_u256_to_be(&r->total_collateral, word);
    custos_keccak_update(&k, word, sizeof word);
    reserves_word_u64(r->accounts, word);
    custos_keccak_update(&k, word, sizeof word);
    custos_keccak_update(&k, r->sum_root, CUSTOS_HASH_LEN);
    reserves_word_u64(r->as_of, word);
    custos_keccak_update(&k, word, sizeof word);
    reserves_word_u64(r->sequence, word);
    custos_keccak_update(&k, word, sizeof word);
    custos_keccak_final(&k, out);
}

void custos_reserves_digest(const custos_domain *d, const custos_reserves *r,
                            uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t separator[CUSTOS_HASH_LEN], struct_hash[CUSTOS_HASH_LEN];
    custos_eip712_domain_separator(d, separator);
    custos_reserves_struct_hash(r, struct_hash);
    custos_eip712_digest_of(separator, struct_hash, out);
}

void custos_reserves_leaf(const custos_reserves_entry *e, uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t enc[CUSTOS_HASH_LEN + CUSTOS_U256_LEN];
    memcpy(enc, e->account, CUSTOS_HASH_LEN);
    custos_u256_to_be(&e->collateral_value, enc + CUSTOS_HASH_LEN);
    custos_keccak256(enc, sizeof enc, out);
}

/* The entries sorted by account, and their sum tree. */
struct custos_reserves_tree {
    custos_reserves_entry *sorted;
    size_t n;
    custos_sumtree *tree;
};

static int reserves_compare_accounts(const void *a, const void *b)
{
    const custos_reserves_entry *x = a, *y = b;
    return memcmp(x->account, y->account, CUSTOS_HASH_LEN);
}

static custos_rc reserves_refuse_account(custos_error *err, const uint8_t account[32],
                                         const char *what)
{
    char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
    if (custos_hex_encode(account, CUSTOS_HASH_LEN, hex, sizeof hex) != CUSTOS_OK)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: an account %s", what);
    return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: account %s %s", hex, what);
}

custos_rc custos_reserves_tree_new(const custos_reserves_entry *es, size_t n,
                                   custos_reserves_tree **out, custos_error *err)
{
    if (out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: NULL argument");
    *out = NULL;
    if (n == 0 || es == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: no accounts");
    if (n > CUSTOS_RESERVES_MAX_ACCOUNTS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "reserves: %zu accounts, at most %d",
                                n, CUSTOS_RESERVES_MAX_ACCOUNTS);
    custos_reserves_tree *t = calloc(1, sizeof *t);
    custos_sum_node *leaves = calloc(n, sizeof *leaves);
    custos_rc rc = CUSTOS_OK;
    if (t != NULL)
        t->sorted = calloc(n, sizeof *t->sorted);
    if (t == NULL || t->sorted == NULL || leaves == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "reserves: cannot allocate %zu leaves", n);
    if (rc == CUSTOS_OK) {
        memcpy(t->sorted, es, n * sizeof *es);
        t->n = n;
        qsort(t->sorted, n, sizeof *t->sorted, reserves_compare_accounts);
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        const custos_reserves_entry *e = &t->sorted[i];
        if (i > 0 && memcmp(t->sorted[i - 1].account, e->account, CUSTOS_HASH_LEN) == 0)
            rc = reserves_refuse_account(err, e->account, "is listed twice");
        else if (e->collateral_value.limb[2] != 0 || e->collateral_value.limb[3] != 0)
            /* the sum tree's bound (custos/sumtree.h): no sum can overflow */
            rc = reserves_refuse_account(err, e->account, "has a value of 2^128 or more");
        custos_reserves_leaf(e, leaves[i].hash);
        leaves[i].sum = e->collateral_value;
    }
    if (rc == CUSTOS_OK)
        rc = custos_sumtree_new(leaves, n, &t->tree, err);
    free(leaves);
    if (rc != CUSTOS_OK) {
        custos_reserves_tree_free(t);
        return rc;
    }
    *out = t;
    return CUSTOS_OK;
}

void custos_reserves_tree_free(custos_reserves_tree *t)
{
    if (t == NULL)
        return;
    custos_sumtree_free(t->tree);
    free(t->sorted);
    free(t);
}

void custos_reserves_tree_root(const custos_reserves_tree *t, uint8_t root[CUSTOS_HASH_LEN],
                               custos_u256 *total)
{
    custos_sum_node r;
    custos_sumtree_root(t->tree, &r);
    memcpy(root, r.hash, CUSTOS_HASH_LEN);
    *total = r.sum;
}

custos_rc custos_reserves_tree_proof(const custos_reserves_tree *t,
                                     const uint8_t account[CUSTOS_HASH_LEN],
                                     custos_reserves_proof *out, custos_error *err)
{
    if (t == NULL || account == NULL || out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves proof: NULL argument");
    custos_reserves_entry key;
    memcpy(key.account, account, CUSTOS_HASH_LEN);
    const custos_reserves_entry *hit =
        bsearch(&key, t->sorted, t->n, sizeof *t->sorted, reserves_compare_accounts);
    if (hit == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                "reserves proof: the account is not among the %zu counted",
                                t->n);
    size_t index = (size_t)(hit - t->sorted);
    custos_rc rc = custos_sumtree_proof(t->tree, index, out->siblings, CUSTOS_SUMTREE_PROOF_MAX,
                                        &out->n_siblings, err);
    if (rc == CUSTOS_OK) {
        out->entry = *hit;
        out->index = index;
    }
    return rc;
}

custos_rc custos_reserves_summarise(const custos_reserves_entry *es, size_t n,
                                    custos_reserves *r, custos_error *err)
{
    if (r == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: NULL argument");
    custos_reserves_tree *t = NULL;
    custos_rc rc = custos_reserves_tree_new(es, n, &t, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_reserves_tree_root(t, r->sum_root, &r->total_collateral);
    r->accounts = n;
    custos_reserves_tree_free(t);
    return CUSTOS_OK;
}

custos_rc custos_reserves_prove(const custos_reserves_entry *es, size_t n,
                                const uint8_t account[CUSTOS_HASH_LEN],
                                custos_reserves_proof *out, custos_error *err)
{
    custos_reserves_tree *t = NULL;
    custos_rc rc = custos_reserves_tree_new(es, n, &t, err);
    if (rc == CUSTOS_OK)
        rc = custos_reserves_tree_proof(t, account, out, err);
    custos_reserves_tree_free(t);
    return rc;
}

custos_rc custos_reserves_proof_verify(const custos_reserves *r, const custos_reserves_proof *p,
                                       custos_error *err)
{
    if (r == NULL || p == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves proof: NULL argument");
    if (p->n_siblings > CUSTOS_SUMTREE_PROOF_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "reserves proof: %zu siblings, at most %d", p->n_siblings,
                                CUSTOS_SUMTREE_PROOF_MAX);
    custos_sum_node leaf;
    custos_reserves_leaf(&p->entry, leaf.hash);
    leaf.sum = p->entry.collateral_value;
    return custos_sumtree_verify(&leaf, p->index, r->accounts, p->siblings, p->n_siblings,
                                 r->sum_root, &r->total_collateral, err);
}
