/* The in-memory attestation model (docs/attestation.md). */
#ifndef CUSTOS_ATTESTATION_H
#define CUSTOS_ATTESTATION_H

#include <stddef.h>
#include <stdint.h>

#include "custos/common.h"
#include "custos/error.h"
#include "custos/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum custos_kind {
    CUSTOS_KIND_VALUATION = 0,
    CUSTOS_KIND_RELEASE = 1,
    CUSTOS_KIND_FREEZE = 2
} custos_kind;

#define CUSTOS_SIGNATURE_LEN 65
/* Protocol limits: a submission beyond them is refused as TOO_LARGE. */
#define CUSTOS_MAX_SIGNATURES 16
#define CUSTOS_MAX_POSITIONS 4096
#define CUSTOS_FEED_MAX 64           /* bytes of a feed name, without NUL */
#define CUSTOS_ASSET_ID_MAX 31       /* bytes of an asset id, without NUL */

/* EIP-712 domain; name "Custos Collateral Attestation" and version "1" are fixed. */
typedef struct custos_domain {
    uint64_t chain_id;
    uint8_t verifying_contract[CUSTOS_ADDRESS_LEN];
} custos_domain;

typedef struct custos_attestation {
    uint8_t account[CUSTOS_HASH_LEN];
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN];
    uint8_t kind; /* custos_kind */
    custos_u256 gross_value;
    custos_u256 collateral_value;
    uint8_t positions_root[CUSTOS_HASH_LEN];
    uint64_t as_of;
    uint64_t valid_until;
    uint64_t sequence;
} custos_attestation;

/* 65 bytes r || s || v, v in {27, 28}. */
typedef struct custos_signature {
    uint8_t bytes[CUSTOS_SIGNATURE_LEN];
} custos_signature;

/* One holding; asset_id is NUL-terminated ASCII, encoded on-chain as a right-padded bytes32. */
typedef struct custos_position {
    char asset_id[CUSTOS_ASSET_ID_MAX + 1];
    custos_u256 quantity;  /* 18 decimals */
    custos_u256 price;     /* USD per unit, 18 decimals */
    custos_u256 value;     /* USD, 18 decimals */
    uint32_t haircut_bps;  /* 0..10000 */
} custos_position;

/* Everything one submission carries. positions is heap-owned by the submission. */
typedef struct custos_submission {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_domain domain;
    custos_attestation att;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
    custos_position *positions;
    size_t n_positions;
} custos_submission;

/* Frees positions and zeroes the submission; safe on a zeroed one. */
void custos_submission_clear(custos_submission *s);
/* Deep copy; dst is overwritten (call custos_submission_clear on it first if it held data). */
CUSTOS_MUST_USE
custos_rc custos_submission_copy(custos_submission *dst, const custos_submission *src,
                                 custos_error *err);

/* keccak256(abi.encode(string custodianId, string accountRef)): the pseudonymous account id. */
void custos_account_id(const char *custodian_id, const char *account_ref,
                       uint8_t out[CUSTOS_HASH_LEN]);

#ifdef __cplusplus
}
#endif
#endif
