/* The CollateralNotice: the custodian's signed word on a pledge's loan state (margin call,
 * liquidation, ...), hashed with EIP-712 in the attestations' domain
 * (docs/attestation.md §17). */
#ifndef CUSTOS_NOTICE_H
#define CUSTOS_NOTICE_H

#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/ltv.h"
#include "custos/u256.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CUSTOS_NOTICE_TYPE                                                                 \
    "CollateralNotice(bytes32 account,address lender,uint8 state,uint32 ltvBps,"           \
    "uint256 exposure,uint256 collateralValue,uint64 deadline,uint64 sequence)"

typedef struct custos_notice {
    uint8_t account[CUSTOS_HASH_LEN];
    uint8_t lender[CUSTOS_ADDRESS_LEN]; /* the market the account is pledged to */
    uint8_t state;                      /* custos_loan_state */
    uint32_t ltv_bps;                   /* CUSTOS_LTV_UNBOUNDED: debt against no value */
    custos_u256 exposure;               /* USD, 18 decimals */
    custos_u256 collateral_value;       /* USD, 18 decimals: the value the LTV used */
    uint64_t deadline;                  /* margin call: when the cure lapses; else 0 */
    uint64_t sequence;                  /* strictly increasing per (account, lender) */
} custos_notice;

void custos_notice_struct_hash(const custos_notice *n, uint8_t out[CUSTOS_HASH_LEN]);
/* keccak256(0x1901 || domainSeparator || structHash), the attestations' domain. */
void custos_notice_digest(const custos_domain *d, const custos_notice *n,
                          uint8_t out[CUSTOS_HASH_LEN]);

/* Refuses a state outside custos_loan_state, a deadline on a state other than a margin
 * call or none on a margin call, and sequence 0. */
CUSTOS_MUST_USE
custos_rc custos_notice_check(const custos_notice *n, custos_error *err);

/* eth_signTypedData_v4 JSON of a signed notice, for ethers' verifyTypedData:
 *   { "typedData": { "types": {...}, "primaryType": "CollateralNotice", "domain": {...},
 *                    "message": {...} }, "digest": "0x..", "signature": "0x.." }
 * uint256 and uint64 values are decimal strings. *json is malloc'd; the caller frees it. */
CUSTOS_MUST_USE
custos_rc custos_notice_typeddata_export(const custos_domain *d, const custos_notice *n,
                                         const custos_signature *sig, char **json,
                                         custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
