/* The reserves attestation: a custodian's signed total of the collateral it attests across
 * the accounts of one feed, with a Merkle root over (account, collateralValue) leaves so
 * each borrower can check its account was counted. A snapshot of attested assets at asOf,
 * not of liabilities: README, "Proofs".
 *
 * EIP-712 on the attestation's domain (same name, version, chain and adapter):
 *   ReservesAttestation(bytes32 feedId, uint256 totalCollateral, uint64 accounts,
 *                       bytes32 accountsRoot, uint64 asOf, uint64 sequence)
 * feedId is keccak256(bytes(feed name)), the adapter's feed id, so the signature binds the
 * total to the feed whose allow-list vouches for the signer. Leaves are hashed and combined
 * as OpenZeppelin's StandardMerkleTree does with types (bytes32, uint256). */
#ifndef CUSTOS_RESERVES_H
#define CUSTOS_RESERVES_H

#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/merkle.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_RESERVES_TYPE                                                               \
    "ReservesAttestation(bytes32 feedId,uint256 totalCollateral,uint64 accounts,"          \
    "bytes32 accountsRoot,uint64 asOf,uint64 sequence)"
#define CUSTOS_RESERVES_LEAF_TYPES "bytes32,uint256"
/* Accounts in one reserves attestation. */
#define CUSTOS_RESERVES_MAX_ACCOUNTS 100000

typedef struct custos_reserves {
    uint8_t feed_id[CUSTOS_HASH_LEN];
    custos_u256 total_collateral;  /* USD, 18 decimals: the sum of the leaves' values */
    uint64_t accounts;             /* number of leaves */
    uint8_t accounts_root[CUSTOS_HASH_LEN];
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
} custos_reserves_summary;

/* One account's leaf of it with the sibling hashes from the leaf to accountsRoot. */
typedef struct custos_reserves_inclusion {
    custos_reserves_summary summary;
    custos_reserves_entry entry;
    uint8_t leaf[CUSTOS_HASH_LEN];
    uint8_t proof[CUSTOS_MERKLE_PROOF_MAX][CUSTOS_HASH_LEN];
    size_t n_proof;
} custos_reserves_inclusion;

/* keccak256(bytes(feed)): the on-chain feed id. */
void custos_feed_id(const char *feed, uint8_t out[CUSTOS_HASH_LEN]);

void custos_reserves_struct_hash(const custos_reserves *r, uint8_t out[CUSTOS_HASH_LEN]);
/* keccak256(0x1901 || domainSeparator || structHash) */
void custos_reserves_digest(const custos_domain *d, const custos_reserves *r,
                            uint8_t out[CUSTOS_HASH_LEN]);

/* keccak256(keccak256(abi.encode(account, collateralValue))) */
void custos_reserves_leaf(const custos_reserves_entry *e, uint8_t out[CUSTOS_HASH_LEN]);

/* The Merkle tree over the leaves of es (n >= 1; *t is the caller's, custos_merkle_free);
 * refuses an account listed twice. Its root is the accountsRoot. */
CUSTOS_MUST_USE
custos_rc custos_reserves_tree(const custos_reserves_entry *es, size_t n, custos_merkle **t,
                               custos_error *err);

/* Total, count and root of n >= 1 entries into r (feed_id, as_of, sequence untouched).
 * Refuses an account listed twice and a total that overflows. */
CUSTOS_MUST_USE
custos_rc custos_reserves_summarise(const custos_reserves_entry *es, size_t n,
                                    custos_reserves *r, custos_error *err);

/* The proof of account's leaf among es (CUSTOS_ERR_NOT_FOUND when it is absent); *entry
 * receives its leaf. */
CUSTOS_MUST_USE
custos_rc custos_reserves_proof(const custos_reserves_entry *es, size_t n,
                                const uint8_t account[CUSTOS_HASH_LEN],
                                custos_reserves_entry *entry, uint8_t (*proof)[CUSTOS_HASH_LEN],
                                size_t cap, size_t *n_proof, custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
