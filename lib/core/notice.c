/* EIP-712 hashing and the typed-data export of the CollateralNotice
 * (docs/attestation.md §17): every member is one 32-byte word, as in the attestation. */
#include "custos/notice.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "custos/eip712.h"
#include "custos/hex.h"
#include "custos/keccak.h"
#include "custos/sig.h"
#include "eip712_words.h"
#include "json_typed.h"

#define NOTICE_PRIMARY_TYPE "CollateralNotice"

static pthread_once_t notice_once = PTHREAD_ONCE_INIT;
static uint8_t notice_typehash[CUSTOS_HASH_LEN];

static void notice_init_typehash(void)
{
    custos_keccak256((const uint8_t *)CUSTOS_NOTICE_TYPE, strlen(CUSTOS_NOTICE_TYPE),
                     notice_typehash);
}

void custos_notice_struct_hash(const custos_notice *n, uint8_t out[CUSTOS_HASH_LEN])
{
    /* pthread_once only fails on invalid arguments, which these are not. */
    (void)pthread_once(&notice_once, notice_init_typehash);
    uint8_t ltv_be[4];
    for (int i = 0; i < 4; i++)
        ltv_be[3 - i] = (uint8_t)(n->ltv_bps >> (8 * i));
    custos_keccak k;
    custos_keccak_init(&k);
    custos_keccak_update(&k, notice_typehash, CUSTOS_HASH_LEN);
    custos_keccak_update(&k, n->account, CUSTOS_HASH_LEN);
    eip712_update_left_padded(&k, n->lender, CUSTOS_ADDRESS_LEN);
    eip712_update_left_padded(&k, &n->state, 1);
    eip712_update_left_padded(&k, ltv_be, sizeof ltv_be);
    eip712_update_u256(&k, &n->exposure);
    eip712_update_u256(&k, &n->collateral_value);
    eip712_update_u64(&k, n->deadline);
    eip712_update_u64(&k, n->sequence);
    custos_keccak_final(&k, out);
}

void custos_notice_digest(const custos_domain *d, const custos_notice *n,
                          uint8_t out[CUSTOS_HASH_LEN])
{
    uint8_t separator[CUSTOS_HASH_LEN], struct_hash[CUSTOS_HASH_LEN];
    custos_eip712_domain_separator(d, separator);
    custos_notice_struct_hash(n, struct_hash);
    custos_eip712_digest_of(separator, struct_hash, out);
}

custos_rc custos_notice_check(const custos_notice *n, custos_error *err)
{
    if (n->state > CUSTOS_LOAN_STATE_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "notice state %u is not one of 0 (healthy), 1 (margin_return), "
                                "2 (margin_call), 3 (liquidation)",
                                n->state);
    if (n->state == CUSTOS_LOAN_MARGIN_CALL && n->deadline == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "a margin call needs a deadline");
    if (n->state != CUSTOS_LOAN_MARGIN_CALL && n->deadline != 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "deadline %" PRIu64 " on a %s notice: only a margin call has one",
                                n->deadline,
                                custos_loan_state_name((custos_loan_state)n->state));
    if (n->sequence == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "notice sequence must be at least 1");
    return CUSTOS_OK;
}

/* Must list exactly the members of CUSTOS_NOTICE_TYPE; the ethers cross-check in
 * test_notice writes the type out on its own and would fail otherwise. */
static const jt_field notice_fields[] = {
    {"account", "bytes32"},  {"lender", "address"},          {"state", "uint8"},
    {"ltvBps", "uint32"},    {"exposure", "uint256"},        {"collateralValue", "uint256"},
    {"deadline", "uint64"},  {"sequence", "uint64"},
};

static json_t *notice_types(void)
{
    return json_pack("{s:o, s:o}", "EIP712Domain",
                     jt_type_array(jt_domain_fields, JT_COUNT(jt_domain_fields)),
                     NOTICE_PRIMARY_TYPE, jt_type_array(notice_fields, JT_COUNT(notice_fields)));
}

custos_rc custos_notice_typeddata_export(const custos_domain *d, const custos_notice *n,
                                         const custos_signature *sig, char **json,
                                         custos_error *err)
{
    if (d == NULL || n == NULL || sig == NULL || json == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "notice export: NULL argument");
    *json = NULL;
    if (d->chain_id > JT_MAX_SAFE_INTEGER)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "notice export: chainId %" PRIu64
                                " is above 2^53 - 1, which JSON readers lose",
                                d->chain_id);
    char contract[CUSTOS_ADDRESS_HEX_LEN], lender[CUSTOS_ADDRESS_HEX_LEN];
    char deadline[CUSTOS_U256_DEC_MAX], seq[CUSTOS_U256_DEC_MAX];
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_address_to_hex(d->verifying_contract, contract);
    custos_address_to_hex(n->lender, lender);
    snprintf(deadline, sizeof deadline, "%" PRIu64, n->deadline);
    snprintf(seq, sizeof seq, "%" PRIu64, n->sequence);
    custos_notice_digest(d, n, digest);

    /* "o" steals each reference, and json_pack releases them all if any is NULL. */
    json_t *doc = json_pack(
        "{s:{s:o, s:s, s:{s:s, s:s, s:I, s:s}, s:{s:o, s:s, s:I, s:I, s:o, s:o, s:s, s:s}},"
        " s:o, s:o}",
        "typedData", "types", notice_types(), "primaryType", NOTICE_PRIMARY_TYPE, "domain",
        "name", CUSTOS_EIP712_NAME, "version", CUSTOS_EIP712_VERSION, "chainId",
        (json_int_t)d->chain_id, "verifyingContract", contract, "message", "account",
        jt_hex(n->account, CUSTOS_HASH_LEN), "lender", lender, "state",
        (json_int_t)n->state, "ltvBps", (json_int_t)n->ltv_bps, "exposure",
        jt_dec(&n->exposure), "collateralValue",
        jt_dec(&n->collateral_value), "deadline", deadline, "sequence", seq,
        "digest", jt_hex(digest, sizeof digest), "signature",
        jt_hex(sig->bytes, CUSTOS_SIGNATURE_LEN));
    if (doc == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "notice export: out of memory");
    *json = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    if (*json == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "notice export: out of memory");
    return CUSTOS_OK;
}
