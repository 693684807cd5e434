/* The attestation model's helpers: submission ownership, account ids. */
#include "custos/attestation.h"

#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

void custos_submission_clear(custos_submission *s)
{
    if (s == NULL)
        return;
    free(s->positions);
    memset(s, 0, sizeof *s);
}

custos_rc custos_submission_copy(custos_submission *dst, const custos_submission *src,
                                 custos_error *err)
{
    if (dst == NULL || src == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission copy: NULL argument");
    if (dst == src)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "submission copy: source and destination are the same");
    memset(dst, 0, sizeof *dst);
    if (src->n_sigs > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "signatures: %zu exceeds the limit of %d", src->n_sigs,
                                CUSTOS_MAX_SIGNATURES);
    if (src->n_positions > CUSTOS_MAX_POSITIONS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "positions: %zu exceeds the limit of %d", src->n_positions,
                                CUSTOS_MAX_POSITIONS);
    if (src->n_positions > 0 && src->positions == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "positions: count is %zu but the array is NULL",
                                src->n_positions);

    custos_position *positions = NULL;
    if (src->n_positions > 0) {
        positions = calloc(src->n_positions, sizeof *positions);
        if (positions == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                    "positions: cannot allocate %zu entries", src->n_positions);
        memcpy(positions, src->positions, src->n_positions * sizeof *positions);
    }
    *dst = *src;
    dst->positions = positions;
    return CUSTOS_OK;
}

static void attestation_hash_word(custos_keccak *k, uint64_t v)
{
    uint8_t word[CUSTOS_U256_LEN] = {0};
    for (int i = 0; i < 8; i++)
        word[sizeof word - 1 - i] = (uint8_t)(v >> (8 * i));
    custos_keccak_update(k, word, sizeof word);
}

static uint64_t attestation_padded_len(size_t len)
{
    return ((uint64_t)len + 31) / 32 * 32;
}

/* Length word, then the bytes right-padded with zeros to a multiple of 32. */
static void attestation_hash_string(custos_keccak *k, const char *s, size_t len)
{
    static const uint8_t zeros[CUSTOS_U256_LEN];
    attestation_hash_word(k, len);
    custos_keccak_update(k, (const uint8_t *)s, len);
    custos_keccak_update(k, zeros, (size_t)(attestation_padded_len(len) - len));
}

void custos_account_id(const char *custodian_id, const char *account_ref,
                       uint8_t out[CUSTOS_HASH_LEN])
{
    size_t a_len = strlen(custodian_id);
    size_t b_len = strlen(account_ref);
    custos_keccak k;
    custos_keccak_init(&k);
    /* abi.encode(string, string): two head offsets, then each tail. */
    attestation_hash_word(&k, 64);
    attestation_hash_word(&k, 64 + 32 + attestation_padded_len(a_len));
    attestation_hash_string(&k, custodian_id, a_len);
    attestation_hash_string(&k, account_ref, b_len);
    custos_keccak_final(&k, out);
}
