/* Batches in their protobuf form (pb_convert.h, docs/rules.md rule 20): the batch message,
 * an account of a SubmitBatchRequest, a record's batch inclusion, and the request a client
 * sends. Decoding is strict and names the field, as in pb_convert.c; built trees are
 * malloc'd throughout, freed by protobuf_c_message_free_unpacked. */
#include "pb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

custos_rc pb_to_batch(const Custos__V1__Batch *m, custos_batch *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "batch: missing");
    custos_rc rc = pb_to_fixed(&m->feed_id, out->feed_id, CUSTOS_HASH_LEN, "batch.feed_id", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->accounts_root, out->accounts_root, CUSTOS_HASH_LEN,
                         "batch.accounts_root", err);
    if (rc != CUSTOS_OK)
        return rc;
    out->count = m->count;
    out->as_of = m->as_of;
    out->valid_until = m->valid_until;
    out->sequence = m->sequence;
    return CUSTOS_OK;
}

custos_rc pb_to_batch_account(const Custos__V1__BatchAccount *m, size_t i,
                              custos_batch_member *out, custos_error *err)
{
    if (m == NULL || m->attestation == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "accounts[%zu].attestation: missing",
                                i);
    if (m->n_positions > CUSTOS_MAX_POSITIONS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "accounts[%zu].positions: %zu, at most %d allowed", i,
                                m->n_positions, CUSTOS_MAX_POSITIONS);
    custos_error why;
    custos_error_clear(&why);
    custos_rc rc = pb_to_attestation(m->attestation, &out->att, &why);
    if (rc != CUSTOS_OK)
        return custos_error_set(err, rc, "accounts[%zu].%s", i, why.message);
    if (m->n_positions == 0)
        return CUSTOS_OK;
    out->positions = calloc(m->n_positions, sizeof *out->positions);
    if (out->positions == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "accounts[%zu].positions: out of memory",
                                i);
    out->n_positions = m->n_positions;
    for (size_t k = 0; k < m->n_positions; k++) {
        rc = pb_to_position(m->positions[k], k, &out->positions[k], &why);
        if (rc != CUSTOS_OK)
            return custos_error_set(err, rc, "accounts[%zu].%s", i, why.message);
    }
    return CUSTOS_OK;
}

custos_rc pb_fill_batch_inclusion(const Custos__V1__BatchInclusion *m, custos_record_batch *out,
                                  custos_error *err)
{
    if (m->n_proof > CUSTOS_MERKLE_PROOF_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "record.batch.proof: %zu hashes, at most %d", m->n_proof,
                                CUSTOS_MERKLE_PROOF_MAX);
    if (m->n_signatures == 0 || m->n_signatures > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "record.batch.signatures: %zu, expected 1 to %d",
                                m->n_signatures, CUSTOS_MAX_SIGNATURES);
    custos_rc rc = pb_to_batch(m->batch, &out->batch, err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->digest, out->digest, CUSTOS_HASH_LEN, "record.batch.digest", err);
    char field[PB_FIELD_MAX];
    for (size_t i = 0; rc == CUSTOS_OK && i < m->n_proof; i++) {
        snprintf(field, sizeof field, "record.batch.proof[%zu]", i);
        rc = pb_to_fixed(&m->proof[i], out->proof[i], CUSTOS_HASH_LEN, field, err);
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < m->n_signatures; i++) {
        snprintf(field, sizeof field, "record.batch.signatures[%zu]", i);
        rc = pb_to_fixed(&m->signatures[i], out->sigs[i].bytes, CUSTOS_SIGNATURE_LEN, field,
                         err);
    }
    if (rc != CUSTOS_OK)
        return rc;
    out->n_proof = m->n_proof;
    out->n_sigs = m->n_signatures;
    return CUSTOS_OK;
}

static custos_rc pb_build_batch(const custos_batch *b, Custos__V1__Batch **out,
                                custos_error *err)
{
    Custos__V1__Batch *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__batch__init(m);
    *out = m;
    m->count = b->count;
    m->as_of = b->as_of;
    m->valid_until = b->valid_until;
    m->sequence = b->sequence;
    custos_rc rc = pb_set_bytes(&m->feed_id, b->feed_id, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_bytes(&m->accounts_root, b->accounts_root, CUSTOS_HASH_LEN, err);
    return rc;
}

/* n signatures as a malloc'd repeated bytes field (*count grows with it). */
static custos_rc pb_build_sigs(const custos_signature *sigs, size_t n, ProtobufCBinaryData **out,
                               size_t *count, custos_error *err)
{
    if (n > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "signatures: %zu, at most %d", n,
                                CUSTOS_MAX_SIGNATURES);
    if (n == 0)
        return CUSTOS_OK;
    *out = calloc(n, sizeof **out);
    if (*out == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    for (size_t i = 0; i < n; i++) {
        custos_rc rc = pb_set_bytes(&(*out)[i], sigs[i].bytes, CUSTOS_SIGNATURE_LEN, err);
        if (rc != CUSTOS_OK)
            return rc;
        *count = i + 1;
    }
    return CUSTOS_OK;
}

custos_rc pb_build_batch_inclusion(const custos_record_batch *b,
                                   Custos__V1__BatchInclusion **out, custos_error *err)
{
    if (b->n_proof > CUSTOS_MERKLE_PROOF_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "record.batch.proof: %zu hashes",
                                b->n_proof);
    Custos__V1__BatchInclusion *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__batch_inclusion__init(m);
    *out = m;
    custos_rc rc = pb_build_batch(&b->batch, &m->batch, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_bytes(&m->digest, b->digest, CUSTOS_HASH_LEN, err);
    if (rc == CUSTOS_OK && b->n_proof > 0) {
        m->proof = calloc(b->n_proof, sizeof *m->proof);
        if (m->proof == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
        for (size_t i = 0; rc == CUSTOS_OK && i < b->n_proof; i++) {
            rc = pb_set_bytes(&m->proof[i], b->proof[i], CUSTOS_HASH_LEN, err);
            m->n_proof = rc == CUSTOS_OK ? i + 1 : i;
        }
    }
    if (rc == CUSTOS_OK)
        rc = pb_build_sigs(b->sigs, b->n_sigs, &m->signatures, &m->n_signatures, err);
    return rc;
}

static custos_rc pb_build_batch_account(const custos_batch_member *s,
                                        Custos__V1__BatchAccount **out, custos_error *err)
{
    Custos__V1__BatchAccount *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__batch_account__init(m);
    *out = m;
    custos_rc rc = pb_build_attestation(&s->att, &m->attestation, err);
    if (rc != CUSTOS_OK || s->n_positions == 0)
        return rc;
    if (s->positions == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "positions: count is %zu but the array is NULL", s->n_positions);
    m->positions = calloc(s->n_positions, sizeof *m->positions);
    if (m->positions == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    for (size_t i = 0; rc == CUSTOS_OK && i < s->n_positions; i++) {
        rc = pb_build_position(&s->positions[i], i, &m->positions[i], err);
        m->n_positions = i + 1;
    }
    return rc;
}

custos_rc pb_batch_request_new(const char *feed, const custos_domain *d, const custos_batch *b,
                               const custos_signature *sigs, size_t n_sigs,
                               const custos_batch_member *accounts, size_t n,
                               Custos__V1__SubmitBatchRequest **out, custos_error *err)
{
    *out = NULL;
    Custos__V1__SubmitBatchRequest *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__submit_batch_request__init(m);
    size_t flen = strnlen(feed, CUSTOS_FEED_MAX + 1);
    custos_rc rc = flen <= CUSTOS_FEED_MAX
                       ? CUSTOS_OK
                       : custos_error_set(err, CUSTOS_ERR_INVALID, "feed: longer than %d bytes",
                                          CUSTOS_FEED_MAX);
    if (rc == CUSTOS_OK) {
        m->feed = malloc(flen + 1);
        if (m->feed != NULL)
            memcpy(m->feed, feed, flen + 1);
        else
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    }
    if (rc == CUSTOS_OK) {
        m->domain = malloc(sizeof *m->domain);
        if (m->domain == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
        else {
            custos__v1__domain__init(m->domain);
            m->domain->chain_id = d->chain_id;
            rc = pb_set_bytes(&m->domain->verifying_contract, d->verifying_contract,
                              CUSTOS_ADDRESS_LEN, err);
        }
    }
    if (rc == CUSTOS_OK)
        rc = pb_build_batch(b, &m->batch, err);
    if (rc == CUSTOS_OK)
        rc = pb_build_sigs(sigs, n_sigs, &m->signatures, &m->n_signatures, err);
    if (rc == CUSTOS_OK && n > 0) {
        m->accounts = calloc(n, sizeof *m->accounts);
        if (m->accounts == NULL)
            rc = custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
        for (size_t i = 0; rc == CUSTOS_OK && i < n; i++) {
            rc = pb_build_batch_account(&accounts[i], &m->accounts[i], err);
            m->n_accounts = i + 1;
        }
    }
    if (rc != CUSTOS_OK) {
        pb_batch_request_free(m);
        return rc;
    }
    *out = m;
    return CUSTOS_OK;
}

void pb_batch_request_free(Custos__V1__SubmitBatchRequest *m)
{
    if (m != NULL)
        custos__v1__submit_batch_request__free_unpacked(m, NULL);
}
