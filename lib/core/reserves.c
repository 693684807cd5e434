/* The reserves attestation: EIP-712 hashing and the accounts tree (see custos/reserves.h). */
#include "custos/hex.h"
#include "custos/reserves.h"

#include <stdlib.h>
#include <string.h>

#include "custos/eip712.h"
#include "custos/keccak.h"
#include "custos/merkle.h"

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
    custos_keccak_update(&k, r->accounts_root, CUSTOS_HASH_LEN);
    reserves_word_u64(r->as_of, word);
    custos_keccak_update(&k, word, sizeof word);
    reserves_word_u64(r->sequence, word);
    custos_keccak_update(&k, word, sizeof word);
    custos_keccak_final(&k, out);
}

void custos_reserves_digest(const custos_domain *d, const custos_reserves *r,
                            uint8_t out[CUSTOS_HASH_LEN])
{
    static const uint8_t prefix[2] = {0x19, 0x01};
    uint8_t separator[CUSTOS_HASH_LEN], struct_hash[CUSTOS_HASH_LEN];
    custos_eip712_domain_separator(d, separator);
    custos_reserves_struct_hash(r, struct_hash);
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, prefix, sizeof prefix);
    custos_keccak_update(&k, separator, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, struct_hash, CUSTOS_HASH_LEN);
    custos_keccak_final(&k, out);
}

void custos_reserves_leaf(const custos_reserves_entry *e, uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t enc[CUSTOS_HASH_LEN + CUSTOS_U256_LEN], inner[CUSTOS_HASH_LEN];
    memcpy(enc, e->account, CUSTOS_HASH_LEN);
    custos_u256_to_be(&e->collateral_value, enc + CUSTOS_HASH_LEN);
    custos_keccak256(enc, sizeof enc, inner);
    custos_keccak256(inner, sizeof inner, out);
}

static int reserves_compare_accounts(const void *a, const void *b)
{
    return memcmp(a, b, CUSTOS_HASH_LEN);
}

custos_rc custos_reserves_tree(const custos_reserves_entry *es, size_t n, custos_merkle **t,
                               custos_error *err)
{
    if (n == 0 || es == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: no accounts");
    if (n > CUSTOS_RESERVES_MAX_ACCOUNTS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "reserves: %zu accounts, at most %d",
                                n, CUSTOS_RESERVES_MAX_ACCOUNTS);
    uint8_t (*ids)[CUSTOS_HASH_LEN] = calloc(n, sizeof *ids);
    uint8_t (*leaves)[CUSTOS_HASH_LEN] = calloc(n, sizeof *leaves);
    custos_rc rc = CUSTOS_OK;
    if (ids == NULL || leaves == NULL)
        rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "reserves: cannot allocate %zu leaves", n);
    for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
        memcpy(ids[i], es[i].account, CUSTOS_HASH_LEN);
        custos_reserves_leaf(&es[i], leaves[i]);
    }
    if (rc == CUSTOS_OK) {
        qsort(ids, n, sizeof *ids, reserves_compare_accounts);
        for (size_t i = 1; i < n && rc == CUSTOS_OK; i++)
            if (memcmp(ids[i - 1], ids[i], CUSTOS_HASH_LEN) == 0) {
                char hex[CUSTOS_HEX_LEN(CUSTOS_HASH_LEN)];
                rc = custos_hex_encode(ids[i], CUSTOS_HASH_LEN, hex, sizeof hex) == CUSTOS_OK
                         ? custos_error_set(err, CUSTOS_ERR_INVALID,
                                            "reserves: account %s is listed twice", hex)
                         : custos_error_set(err, CUSTOS_ERR_INVALID,
                                            "reserves: an account is listed twice");
            }
    }
    if (rc == CUSTOS_OK)
        rc = custos_merkle_new((const uint8_t (*)[CUSTOS_HASH_LEN])leaves, n, t, err);
    free(ids);
    free(leaves);
    return rc;
}

custos_rc custos_reserves_summarise(const custos_reserves_entry *es, size_t n,
                                    custos_reserves *r, custos_error *err)
{
    if (r == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: NULL argument");
    custos_merkle *t = NULL;
    custos_rc rc = custos_reserves_tree(es, n, &t, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos_u256 total;
    custos_u256_from_u64(&total, 0);
    for (size_t i = 0; i < n && rc == CUSTOS_OK; i++)
        if (custos_u256_add(&total, &total, &es[i].collateral_value) != CUSTOS_OK)
            rc = custos_error_set(err, CUSTOS_ERR_OVERFLOW,
                                  "reserves: the total overflows uint256 at account %zu", i);
    if (rc == CUSTOS_OK) {
        r->total_collateral = total;
        r->accounts = n;
        custos_merkle_root(t, r->accounts_root);
    }
    custos_merkle_free(t);
    return rc;
}

custos_rc custos_reserves_proof(const custos_reserves_entry *es, size_t n,
                                const uint8_t account[CUSTOS_HASH_LEN],
                                custos_reserves_entry *entry, uint8_t (*proof)[CUSTOS_HASH_LEN],
                                size_t cap, size_t *n_proof, custos_error *err)
{
    if (account == NULL || entry == NULL || n_proof == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves proof: NULL argument");
    size_t at = n;
    for (size_t i = 0; i < n && at == n; i++)
        if (memcmp(es[i].account, account, CUSTOS_HASH_LEN) == 0)
            at = i;
    if (at == n)
        return custos_error_set(err, CUSTOS_ERR_NOT_FOUND,
                                "reserves proof: the account is not among the %zu counted", n);
    custos_merkle *t = NULL;
    custos_rc rc = custos_reserves_tree(es, n, &t, err);
    if (rc != CUSTOS_OK)
        return rc;
    uint8_t leaf[CUSTOS_HASH_LEN];
    custos_reserves_leaf(&es[at], leaf);
    rc = custos_merkle_proof(t, leaf, proof, cap, n_proof, err);
    if (rc == CUSTOS_OK)
        *entry = es[at];
    custos_merkle_free(t);
    return rc;
}
