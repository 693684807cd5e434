/* The reserves attestation: a signed total of the collateral attested across the accounts
 * of one feed, with the root of a Merkle sum tree over (account, collateralValue) leaves,
 * so each borrower can check that its account was counted and that the partial sums up to
 * the signed total add up (docs/attestation.md §15, §18). A snapshot of attested assets at
 * asOf: README, "Proofs", says what it proves and what it cannot.
 *
 * EIP-712 on the attestation's domain (same name, version, chain and adapter):
 *   ReservesAttestation(bytes32 feedId, uint256 totalCollateral, uint64 accounts,
 *                       bytes32 sumRoot, uint64 asOf, uint64 sequence)
 * feedId is keccak256(bytes(feed name)), the adapter's feed id. The leaves are sorted by
 * account; leaf = (keccak256(abi.encode(account, collateralValue)), collateralValue), and
 * nodes combine as custos/sumtree.h says. sumRoot is the root's hash, totalCollateral its
 * sum. This replaces the first form (accountsRoot, an OpenZeppelin StandardMerkleTree):
 * its signatures do not verify as this one. */
#ifndef CUSTOS_RESERVES_H
#define CUSTOS_RESERVES_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/sumtree.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_RESERVES_TYPE                                                               \
    "ReservesAttestation(bytes32 feedId,uint256 totalCollateral,uint64 accounts,"          \
    "bytes32 sumRoot,uint64 asOf,uint64 sequence)"
#define CUSTOS_RESERVES_LEAF_TYPES "bytes32,uint256"
/* Accounts in one reserves attestation. */
#define CUSTOS_RESERVES_MAX_ACCOUNTS 100000

typedef struct custos_reserves {
    uint8_t feed_id[CUSTOS_HASH_LEN];
    custos_u256 total_collateral;  /* USD, 18 decimals: the sum of the leaves' values */
    uint64_t accounts;             /* number of leaves */
    uint8_t sum_root[CUSTOS_HASH_LEN]; /* the sum tree's root hash */
    uint64_t as_of;
    uint64_t sequence;             /* strictly increasing per feed */
} custos_reserves;

/* One leaf: an account and the collateral value counted for it. */
typedef struct custos_reserves_entry {
    uint8_t account[CUSTOS_HASH_LEN];
    custos_u256 collateral_value;
} custos_reserves_entry;

/* A feed's latest reserves attestation as the gateway holds it (GetReserves): the signed
 * fields on the gateway's domain, their digest, the custodian's signature and address. */
typedef struct custos_reserves_summary {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain domain;
    custos_reserves r;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_signature sig;
    uint8_t signer[CUSTOS_ADDRESS_LEN];
    uint64_t accepted_at;
    /* Every signature the gateway verified on it (sig among them), the feed's quorum when
     * it signed; 0 for reserves stored before the gateway kept them. */
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
} custos_reserves_summary;

/* One account's inclusion in the sum tree: its leaf, its index among the leaves (sorted
 * by account) and the siblings, with their sums, from the leaf up to the root. */
typedef struct custos_reserves_proof {
    custos_reserves_entry entry;
    uint64_t index;
    custos_sum_node siblings[CUSTOS_SUMTREE_PROOF_MAX];
    size_t n_siblings;
} custos_reserves_proof;

/* One account's proof in a feed's latest reserves attestation (GetReservesProof). */
typedef struct custos_reserves_inclusion {
    custos_reserves_summary summary;
    custos_reserves_proof proof;
    uint8_t leaf[CUSTOS_HASH_LEN];
} custos_reserves_inclusion;

/* keccak256(bytes(feed)): the on-chain feed id. */
void custos_feed_id(const char *feed, uint8_t out[CUSTOS_HASH_LEN]);

void custos_reserves_struct_hash(const custos_reserves *r, uint8_t out[CUSTOS_HASH_LEN]);
/* keccak256(0x1901 || domainSeparator || structHash) */
void custos_reserves_digest(const custos_domain *d, const custos_reserves *r,
                            uint8_t out[CUSTOS_HASH_LEN]);

/* keccak256(abi.encode(account, collateralValue)): the leaf's hash */
void custos_reserves_leaf(const custos_reserves_entry *e, uint8_t out[CUSTOS_HASH_LEN]);

/* The sum tree over n >= 1 entries, sorted by account. */
typedef struct custos_reserves_tree custos_reserves_tree;

/* Refuses an account listed twice and a value of 2^128 or more, naming them. */
CUSTOS_MUST_USE
custos_rc custos_reserves_tree_new(const custos_reserves_entry *es, size_t n,
                                   custos_reserves_tree **out, custos_error *err);
void custos_reserves_tree_free(custos_reserves_tree *t);
/* sumRoot and totalCollateral */
void custos_reserves_tree_root(const custos_reserves_tree *t, uint8_t root[CUSTOS_HASH_LEN],
                               custos_u256 *total);
/* account's proof; CUSTOS_ERR_NOT_FOUND when it is not among the leaves. */
CUSTOS_MUST_USE
custos_rc custos_reserves_tree_proof(const custos_reserves_tree *t,
                                     const uint8_t account[CUSTOS_HASH_LEN],
                                     custos_reserves_proof *out, custos_error *err);

/* Total, count and root of n >= 1 entries into r (feed_id, as_of, sequence untouched).
 * Refuses what custos_reserves_tree_new refuses. */
CUSTOS_MUST_USE
custos_rc custos_reserves_summarise(const custos_reserves_entry *es, size_t n,
                                    custos_reserves *r, custos_error *err);

/* The proof of account's leaf among es (builds the tree; CUSTOS_ERR_NOT_FOUND when the
 * account is absent). */
CUSTOS_MUST_USE
custos_rc custos_reserves_prove(const custos_reserves_entry *es, size_t n,
                                const uint8_t account[CUSTOS_HASH_LEN],
                                custos_reserves_proof *out, custos_error *err);

/* Whether p shows its entry counted in r: the leaf at p->index of r->accounts leaves, the
 * siblings' partial sums adding up to r->total_collateral without overflow, and the
 * hashes up to r->sum_root (custos_sumtree_verify). CUSTOS_ERR_CRYPTO with the reason. */
CUSTOS_MUST_USE
custos_rc custos_reserves_proof_verify(const custos_reserves *r, const custos_reserves_proof *p,
                                       custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
