/* Conversion between the protobuf-c messages of proto/custos/v1/attestation.proto and the
 * in-memory model.
 *
 * Decoding is strict: every field is checked against the protocol and a refusal names the
 * field. Encoding checks only what the model must satisfy to be read safely (counts within
 * their arrays, NUL-terminated text), not protocol rules, so that a refused submission can
 * still be built and sent to exercise the gateway's refusals.
 *
 * Built trees allocate every pointer with malloc, exactly as protobuf_c_message_unpack does
 * with the default allocator, so one free path, protobuf_c_message_free_unpacked, releases
 * both built and unpacked trees (also partially built ones: counts grow with the arrays). */
#include "pb_convert.h"
#include "pb_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PB_HAIRCUT_MAX 10000U

static custos_rc pb_check_bytes(const ProtobufCBinaryData *b, size_t want, const char *field,
                                custos_error *err)
{
    if (b->len != want || (want > 0 && b->data == NULL))
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %zu bytes, expected exactly %zu",
                                field, b->len, want);
    return CUSTOS_OK;
}

/* 1..max bytes of printable ASCII (0x20..0x7e). */
custos_rc pb_check_text(const char *s, size_t max, const char *field, custos_error *err)
{
    size_t len = s != NULL ? strlen(s) : 0;
    if (len == 0)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: empty", field);
    if (len > max)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "%s: %zu bytes, at most %zu allowed",
                                field, len, max);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "%s: byte 0x%02x at offset %zu is not printable ASCII",
                                    field, c, i);
    }
    return CUSTOS_OK;
}

static custos_rc pb_to_u256(const ProtobufCBinaryData *b, custos_u256 *out, const char *field,
                            custos_error *err)
{
    custos_rc rc = pb_check_bytes(b, CUSTOS_U256_LEN, field, err);
    if (rc == CUSTOS_OK)
        custos_u256_from_be(out, b->data);
    return rc;
}

custos_rc pb_to_fixed(const ProtobufCBinaryData *b, uint8_t *out, size_t len,
                             const char *field, custos_error *err)
{
    custos_rc rc = pb_check_bytes(b, len, field, err);
    if (rc == CUSTOS_OK)
        memcpy(out, b->data, len);
    return rc;
}

custos_rc pb_to_attestation(const Custos__V1__Attestation *m, custos_attestation *a,
                                   custos_error *err)
{
    custos_rc rc = pb_to_fixed(&m->account, a->account, sizeof a->account,
                               "attestation.account", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->beneficiary, a->beneficiary, sizeof a->beneficiary,
                         "attestation.beneficiary", err);
    if (rc == CUSTOS_OK && m->kind > CUSTOS_KIND_FREEZE)
        rc = custos_error_set(err, CUSTOS_ERR_INVALID,
                              "attestation.kind: %u, expected 0 (valuation), 1 (release) or "
                              "2 (freeze)", m->kind);
    if (rc == CUSTOS_OK)
        rc = pb_to_u256(&m->gross_value, &a->gross_value, "attestation.gross_value", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_u256(&m->collateral_value, &a->collateral_value,
                        "attestation.collateral_value", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->positions_root, a->positions_root, sizeof a->positions_root,
                         "attestation.positions_root", err);
    if (rc != CUSTOS_OK)
        return rc;
    a->kind = (uint8_t)m->kind;
    a->as_of = m->as_of;
    a->valid_until = m->valid_until;
    a->sequence = m->sequence;
    return CUSTOS_OK;
}

custos_rc pb_to_position(const Custos__V1__Position *m, size_t i, custos_position *p,
                                custos_error *err)
{
    char field[PB_FIELD_MAX];
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "positions[%zu]: missing", i);
    snprintf(field, sizeof field, "positions[%zu].asset_id", i);
    custos_rc rc = pb_check_text(m->asset_id, CUSTOS_ASSET_ID_MAX, field, err);
    if (rc != CUSTOS_OK)
        return rc;
    snprintf(field, sizeof field, "positions[%zu].quantity", i);
    rc = pb_to_u256(&m->quantity, &p->quantity, field, err);
    if (rc != CUSTOS_OK)
        return rc;
    snprintf(field, sizeof field, "positions[%zu].price", i);
    rc = pb_to_u256(&m->price, &p->price, field, err);
    if (rc != CUSTOS_OK)
        return rc;
    snprintf(field, sizeof field, "positions[%zu].value", i);
    rc = pb_to_u256(&m->value, &p->value, field, err);
    if (rc != CUSTOS_OK)
        return rc;
    if (m->haircut_bps > PB_HAIRCUT_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "positions[%zu].haircut_bps: %u exceeds %u", i, m->haircut_bps,
                                PB_HAIRCUT_MAX);
    memcpy(p->asset_id, m->asset_id, strlen(m->asset_id) + 1);
    p->haircut_bps = m->haircut_bps;
    return CUSTOS_OK;
}

/* Fills out, which the caller has zeroed; on failure out may hold positions to clear. */
static custos_rc pb_fill_submission(const Custos__V1__SignedAttestation *m,
                                    custos_submission *out, custos_error *err)
{
    /* Size limits first: they decide TOO_LARGE before any per-item check. */
    if (m->n_signatures > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "signatures: %zu, at most %d allowed", m->n_signatures,
                                CUSTOS_MAX_SIGNATURES);
    if (m->n_positions > CUSTOS_MAX_POSITIONS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "positions: %zu, at most %d allowed",
                                m->n_positions, CUSTOS_MAX_POSITIONS);

    custos_rc rc = pb_check_text(m->feed, CUSTOS_FEED_MAX, "feed", err);
    if (rc != CUSTOS_OK)
        return rc;
    memcpy(out->feed, m->feed, strlen(m->feed) + 1);

    if (m->domain == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "domain: missing");
    out->domain.chain_id = m->domain->chain_id;
    rc = pb_to_fixed(&m->domain->verifying_contract, out->domain.verifying_contract,
                     sizeof out->domain.verifying_contract, "domain.verifying_contract", err);
    if (rc != CUSTOS_OK)
        return rc;

    if (m->attestation == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "attestation: missing");
    rc = pb_to_attestation(m->attestation, &out->att, err);
    if (rc != CUSTOS_OK)
        return rc;

    for (size_t i = 0; i < m->n_signatures; i++) {
        char field[PB_FIELD_MAX];
        snprintf(field, sizeof field, "signatures[%zu]", i);
        rc = pb_to_fixed(&m->signatures[i], out->sigs[i].bytes, CUSTOS_SIGNATURE_LEN, field,
                         err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    out->n_sigs = m->n_signatures;

    if (m->n_positions > 0) {
        out->positions = calloc(m->n_positions, sizeof *out->positions);
        if (out->positions == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                    "positions: cannot allocate %zu entries", m->n_positions);
        out->n_positions = m->n_positions;
        for (size_t i = 0; i < m->n_positions; i++) {
            rc = pb_to_position(m->positions[i], i, &out->positions[i], err);
            if (rc != CUSTOS_OK)
                return rc;
        }
    }
    return CUSTOS_OK;
}

custos_rc pb_to_submission(const Custos__V1__SignedAttestation *m, custos_submission *out,
                           custos_error *err)
{
    if (out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission: NULL output");
    memset(out, 0, sizeof *out);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "SignedAttestation: missing");
    custos_rc rc = pb_fill_submission(m, out, err);
    if (rc != CUSTOS_OK)
        custos_submission_clear(out);
    return rc;
}

/* Copies len bytes into a fresh malloc'd buffer. */
custos_rc pb_set_bytes(ProtobufCBinaryData *dst, const uint8_t *src, size_t len,
                              custos_error *err)
{
    uint8_t *data = malloc(len);
    if (data == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    memcpy(data, src, len);
    dst->data = data;
    dst->len = len;
    return CUSTOS_OK;
}

static custos_rc pb_set_u256(ProtobufCBinaryData *dst, const custos_u256 *v, custos_error *err)
{
    uint8_t be[CUSTOS_U256_LEN];
    custos_u256_to_be(v, be);
    return pb_set_bytes(dst, be, sizeof be, err);
}

/* Replaces the field's static empty default with a malloc'd copy of the first max bytes
 * of s, which must end within them. */
static custos_rc pb_set_string(char **dst, const char *s, size_t max, const char *field,
                               custos_error *err)
{
    size_t len = strnlen(s, max + 1);
    if (len > max)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "%s: not NUL-terminated within %zu bytes", field, max + 1);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    memcpy(copy, s, len + 1);
    *dst = copy;
    return CUSTOS_OK;
}

custos_rc pb_build_attestation(const custos_attestation *a, Custos__V1__Attestation **out,
                                      custos_error *err)
{
    Custos__V1__Attestation *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__attestation__init(m);
    *out = m;
    m->kind = a->kind;
    m->as_of = a->as_of;
    m->valid_until = a->valid_until;
    m->sequence = a->sequence;
    custos_rc rc = pb_set_bytes(&m->account, a->account, sizeof a->account, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_bytes(&m->beneficiary, a->beneficiary, sizeof a->beneficiary, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_u256(&m->gross_value, &a->gross_value, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_u256(&m->collateral_value, &a->collateral_value, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_bytes(&m->positions_root, a->positions_root, sizeof a->positions_root, err);
    return rc;
}

custos_rc pb_build_position(const custos_position *p, size_t i, Custos__V1__Position **out,
                                   custos_error *err)
{
    Custos__V1__Position *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__position__init(m);
    *out = m;
    m->haircut_bps = p->haircut_bps;
    char field[PB_FIELD_MAX];
    snprintf(field, sizeof field, "positions[%zu].asset_id", i);
    custos_rc rc = pb_set_string(&m->asset_id, p->asset_id, CUSTOS_ASSET_ID_MAX, field, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_u256(&m->quantity, &p->quantity, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_u256(&m->price, &p->price, err);
    if (rc == CUSTOS_OK)
        rc = pb_set_u256(&m->value, &p->value, err);
    return rc;
}

/* What a submission must be to be encoded, whichever way its message is built. */
static custos_rc pb_check_submission(const custos_submission *s, custos_error *err)
{
    if (s->n_sigs > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "signatures: %zu, at most %d allowed", s->n_sigs,
                                CUSTOS_MAX_SIGNATURES);
    if (s->n_positions > 0 && s->positions == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "positions: count is %zu but the array is NULL", s->n_positions);
    if (strnlen(s->feed, CUSTOS_FEED_MAX + 1) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "feed: not NUL-terminated within %d bytes", CUSTOS_FEED_MAX + 1);
    for (size_t i = 0; i < s->n_positions; i++)
        if (strnlen(s->positions[i].asset_id, CUSTOS_ASSET_ID_MAX + 1) > CUSTOS_ASSET_ID_MAX)
            return custos_error_set(err, CUSTOS_ERR_INVALID,
                                    "positions[%zu].asset_id: not NUL-terminated within %d bytes",
                                    i, CUSTOS_ASSET_ID_MAX + 1);
    return CUSTOS_OK;
}

/* Fills m (initialised, owned by the caller) from s. */
static custos_rc pb_build_submission(const custos_submission *s,
                                     Custos__V1__SignedAttestation *m, custos_error *err)
{
    custos_rc rc = pb_check_submission(s, err);
    if (rc != CUSTOS_OK)
        return rc;
    rc = pb_set_string(&m->feed, s->feed, CUSTOS_FEED_MAX, "feed", err);
    if (rc != CUSTOS_OK)
        return rc;

    Custos__V1__Domain *d = malloc(sizeof *d);
    if (d == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__domain__init(d);
    m->domain = d;
    d->chain_id = s->domain.chain_id;
    rc = pb_set_bytes(&d->verifying_contract, s->domain.verifying_contract,
                      sizeof s->domain.verifying_contract, err);
    if (rc != CUSTOS_OK)
        return rc;

    rc = pb_build_attestation(&s->att, &m->attestation, err);
    if (rc != CUSTOS_OK)
        return rc;

    if (s->n_sigs > 0) {
        m->signatures = calloc(s->n_sigs, sizeof *m->signatures);
        if (m->signatures == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
        for (size_t i = 0; i < s->n_sigs; i++) {
            rc = pb_set_bytes(&m->signatures[i], s->sigs[i].bytes, CUSTOS_SIGNATURE_LEN, err);
            if (rc != CUSTOS_OK)
                return rc;
            m->n_signatures = i + 1;
        }
    }

    if (s->n_positions > 0) {
        m->positions = calloc(s->n_positions, sizeof *m->positions);
        if (m->positions == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM,
                                    "positions: cannot allocate %zu entries", s->n_positions);
        for (size_t i = 0; i < s->n_positions; i++) {
            rc = pb_build_position(&s->positions[i], i, &m->positions[i], err);
            m->n_positions = i + 1; /* a half-built position is freed with the tree */
            if (rc != CUSTOS_OK)
                return rc;
        }
    }
    return CUSTOS_OK;
}

/* A fresh SignedAttestation filled from s; nothing is left allocated on failure. */
static custos_rc pb_new_submission(const custos_submission *s,
                                   Custos__V1__SignedAttestation **out, custos_error *err)
{
    Custos__V1__SignedAttestation *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__signed_attestation__init(m);
    custos_rc rc = pb_build_submission(s, m, err);
    if (rc != CUSTOS_OK) {
        pb_submission_free(m);
        return rc;
    }
    *out = m;
    return CUSTOS_OK;
}

custos_rc pb_from_submission(const custos_submission *s, Custos__V1__SignedAttestation **out,
                             custos_error *err)
{
    if (out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission: NULL output");
    *out = NULL;
    if (s == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "submission: NULL input");
    return pb_new_submission(s, out, err);
}

void pb_submission_free(Custos__V1__SignedAttestation *m)
{
    if (m != NULL)
        custos__v1__signed_attestation__free_unpacked(m, NULL);
}

static custos_rc pb_fill_record(const Custos__V1__Record *m, custos_record *out,
                                custos_error *err)
{
    if (m->n_signers > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "record.signers: %zu, at most %d allowed", m->n_signers,
                                CUSTOS_MAX_SIGNATURES);
    if ((unsigned)m->state > CUSTOS_STATE_HELD)
        return custos_error_set(err, CUSTOS_ERR_INVALID,
                                "record.state: %d, expected 0, 1 (pending), 2 (accepted) or 3 (held)",
                                (int)m->state);
    custos_rc rc = pb_to_fixed(&m->digest, out->digest, sizeof out->digest, "record.digest", err);
    if (rc != CUSTOS_OK)
        return rc;
    for (size_t i = 0; i < m->n_signers; i++) {
        char field[PB_FIELD_MAX];
        snprintf(field, sizeof field, "record.signers[%zu]", i);
        rc = pb_to_fixed(&m->signers[i], out->signers[i], CUSTOS_ADDRESS_LEN, field, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    out->n_signers = m->n_signers;
    /* Empty: a record of a gateway from before the chain, or a pending one. */
    if (m->chain_hash.len != 0) {
        rc = pb_to_fixed(&m->chain_hash, out->chain_hash, sizeof out->chain_hash,
                         "record.chain_hash", err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    out->cursor = m->cursor;
    out->state = (custos_state)m->state;
    out->accepted_at = m->accepted_at;
    out->positions_withheld = m->positions_withheld;
    if (m->batch != NULL) {
        rc = pb_fill_batch_inclusion(m->batch, &out->batch, err);
        if (rc != CUSTOS_OK)
            return rc;
        out->batched = true;
    }

    if (m->attestation == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "record.attestation: missing");
    rc = pb_to_submission(m->attestation, &out->sub, err);
    if (rc != CUSTOS_OK && err != NULL) {
        char why[sizeof err->message];
        memcpy(why, err->message, sizeof why);
        custos_error_set(err, rc, "record.attestation.%s", why);
    }
    return rc;
}

custos_rc pb_to_record(const Custos__V1__Record *m, custos_record *out, custos_error *err)
{
    if (out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "record: NULL output");
    memset(out, 0, sizeof *out);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "Record: missing");
    custos_rc rc = pb_fill_record(m, out, err);
    if (rc != CUSTOS_OK)
        custos_record_clear(out);
    return rc;
}

/* Fills m (initialised, owned by the caller) from r. */
static custos_rc pb_build_record(const custos_record *r, Custos__V1__Record *m,
                                 custos_error *err)
{
    if (r->n_signers > CUSTOS_MAX_SIGNATURES)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE,
                                "record.signers: %zu, at most %d allowed", r->n_signers,
                                CUSTOS_MAX_SIGNATURES);
    m->cursor = r->cursor;
    m->state = (Custos__V1__State)r->state;
    m->accepted_at = r->accepted_at;
    m->positions_withheld = r->positions_withheld;
    custos_rc rc = pb_set_bytes(&m->digest, r->digest, sizeof r->digest, err);
    if (rc != CUSTOS_OK)
        return rc;
    static const uint8_t none[sizeof r->chain_hash];
    if (memcmp(r->chain_hash, none, sizeof none) != 0) {
        rc = pb_set_bytes(&m->chain_hash, r->chain_hash, sizeof r->chain_hash, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    if (r->n_signers > 0) {
        m->signers = calloc(r->n_signers, sizeof *m->signers);
        if (m->signers == NULL)
            return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
        for (size_t i = 0; i < r->n_signers; i++) {
            rc = pb_set_bytes(&m->signers[i], r->signers[i], CUSTOS_ADDRESS_LEN, err);
            if (rc != CUSTOS_OK)
                return rc;
            m->n_signers = i + 1;
        }
    }
    if (r->batched) {
        rc = pb_build_batch_inclusion(&r->batch, &m->batch, err);
        if (rc != CUSTOS_OK)
            return rc;
    }
    return pb_new_submission(&r->sub, &m->attestation, err);
}

custos_rc pb_from_record(const custos_record *r, Custos__V1__Record **out, custos_error *err)
{
    if (out == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "record: NULL output");
    *out = NULL;
    if (r == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "record: NULL input");
    Custos__V1__Record *m = malloc(sizeof *m);
    if (m == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "protobuf: out of memory");
    custos__v1__record__init(m);
    custos_rc rc = pb_build_record(r, m, err);
    if (rc != CUSTOS_OK) {
        pb_record_free(m);
        return rc;
    }
    *out = m;
    return CUSTOS_OK;
}

void pb_record_free(Custos__V1__Record *m)
{
    if (m != NULL)
        custos__v1__record__free_unpacked(m, NULL);
}

custos_rc pb_to_position_proof(const Custos__V1__GetPositionProofResponse *m,
                               custos_position_proof *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    custos_rc rc = pb_to_fixed(&m->account, out->account, sizeof out->account, "account", err);
    if (rc == CUSTOS_OK)
        rc = pb_check_text(m->feed, CUSTOS_FEED_MAX, "feed", err);
    if (rc == CUSTOS_OK) {
        memcpy(out->feed, m->feed, strlen(m->feed) + 1);
        rc = pb_to_position(m->position, 0, &out->position, err);
    }
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->leaf, out->leaf, sizeof out->leaf, "leaf", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->root, out->root, sizeof out->root, "root", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->digest, out->digest, sizeof out->digest, "digest", err);
    if (rc == CUSTOS_OK && m->n_proof > CUSTOS_MERKLE_PROOF_MAX)
        rc = custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "proof: %zu hashes, at most %d",
                              m->n_proof, CUSTOS_MERKLE_PROOF_MAX);
    for (size_t i = 0; rc == CUSTOS_OK && i < m->n_proof; i++) {
        char field[PB_FIELD_MAX];
        snprintf(field, sizeof field, "proof[%zu]", i);
        rc = pb_to_fixed(&m->proof[i], out->proof[i], CUSTOS_HASH_LEN, field, err);
    }
    if (rc != CUSTOS_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->n_proof = m->n_proof;
    out->sequence = m->sequence;
    out->as_of = m->as_of;
    return CUSTOS_OK;
}

custos_rc pb_to_reserves_summary(const Custos__V1__GetReservesResponse *m,
                                 custos_reserves_summary *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (m->feed == NULL || m->feed[0] == '\0' || strlen(m->feed) > CUSTOS_FEED_MAX)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves.feed: 1 to %d bytes",
                                CUSTOS_FEED_MAX);
    if (m->domain == NULL || m->reserves == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves: domain or fields missing");
    strcpy(out->feed, m->feed);
    out->domain.chain_id = m->domain->chain_id;
    custos_rc rc = pb_to_fixed(&m->domain->verifying_contract, out->domain.verifying_contract,
                               CUSTOS_ADDRESS_LEN, "reserves.domain.verifying_contract", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_u256(&m->reserves->total_collateral, &out->r.total_collateral,
                        "reserves.total_collateral", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->reserves->sum_root, out->r.sum_root, CUSTOS_HASH_LEN,
                         "reserves.sum_root", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->digest, out->digest, CUSTOS_HASH_LEN, "reserves.digest", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->signature, out->sig.bytes, CUSTOS_SIGNATURE_LEN,
                         "reserves.signature", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->signer, out->signer, CUSTOS_ADDRESS_LEN, "reserves.signer", err);
    if (rc != CUSTOS_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    if (m->n_signatures > CUSTOS_MAX_SIGNATURES) {
        memset(out, 0, sizeof *out);
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "reserves: %zu signatures, at most %d",
                                m->n_signatures, CUSTOS_MAX_SIGNATURES);
    }
    for (size_t i = 0; rc == CUSTOS_OK && i < m->n_signatures; i++)
        rc = pb_to_fixed(&m->signatures[i], out->sigs[i].bytes, CUSTOS_SIGNATURE_LEN,
                         "reserves.signatures", err);
    if (rc != CUSTOS_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->n_sigs = m->n_signatures;
    custos_feed_id(out->feed, out->r.feed_id);
    out->r.accounts = m->reserves->accounts;
    out->r.as_of = m->reserves->as_of;
    out->r.sequence = m->reserves->sequence;
    out->accepted_at = m->accepted_at;
    return CUSTOS_OK;
}

custos_rc pb_to_reserves_inclusion(const Custos__V1__GetReservesProofResponse *m,
                                   custos_reserves_inclusion *out, custos_error *err)
{
    memset(out, 0, sizeof *out);
    if (m->summary == NULL || m->leaf == NULL)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves proof: summary or leaf "
                                "missing");
    if (m->n_proof > CUSTOS_SUMTREE_PROOF_MAX)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "reserves proof: %zu siblings, at "
                                "most %d", m->n_proof, CUSTOS_SUMTREE_PROOF_MAX);
    if (m->n_proof_sums != m->n_proof)
        return custos_error_set(err, CUSTOS_ERR_INVALID, "reserves proof: %zu sibling hashes "
                                "but %zu sibling sums", m->n_proof, m->n_proof_sums);
    custos_reserves_proof *p = &out->proof;
    custos_rc rc = pb_to_reserves_summary(m->summary, &out->summary, err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->leaf->account, p->entry.account, CUSTOS_HASH_LEN,
                         "reserves proof.leaf.account", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_u256(&m->leaf->collateral_value, &p->entry.collateral_value,
                        "reserves proof.leaf.collateral_value", err);
    if (rc == CUSTOS_OK)
        rc = pb_to_fixed(&m->leaf_hash, out->leaf, CUSTOS_HASH_LEN, "reserves proof.leaf_hash",
                         err);
    for (size_t i = 0; rc == CUSTOS_OK && i < m->n_proof; i++) {
        rc = pb_to_fixed(&m->proof[i], p->siblings[i].hash, CUSTOS_HASH_LEN,
                         "reserves proof.proof", err);
        if (rc == CUSTOS_OK)
            rc = pb_to_u256(&m->proof_sums[i], &p->siblings[i].sum, "reserves proof.proof_sums",
                            err);
    }
    if (rc != CUSTOS_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    p->n_siblings = m->n_proof;
    p->index = m->leaf_index;
    return CUSTOS_OK;
}

custos_rc pb_reserves_request_init(pb_reserves_request *m, const char *feed,
                                   const custos_domain *d, const custos_reserves *r,
                                   const custos_signature *sigs, size_t n_sigs,
                                   const custos_reserves_entry *es, size_t n,
                                   custos_error *err)
{
    memset(m, 0, sizeof *m);
    if (n_sigs > CUSTOS_MAX_SIGNATURES || n > CUSTOS_RESERVES_MAX_ACCOUNTS)
        return custos_error_set(err, CUSTOS_ERR_TOO_LARGE, "reserves: too many signatures or "
                                "accounts");
    custos_u256_to_be(&r->total_collateral, m->total);
    custos__v1__domain__init(&m->domain);
    m->domain.chain_id = d->chain_id;
    m->domain.verifying_contract =
        (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)d->verifying_contract};
    custos__v1__reserves__init(&m->reserves);
    m->reserves.total_collateral = (ProtobufCBinaryData){sizeof m->total, m->total};
    m->reserves.accounts = r->accounts;
    m->reserves.sum_root =
        (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)r->sum_root};
    m->reserves.as_of = r->as_of;
    m->reserves.sequence = r->sequence;
    for (size_t i = 0; i < n_sigs; i++)
        m->sigs[i] = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, (uint8_t *)sigs[i].bytes};
    m->leaves = calloc(n > 0 ? n : 1, sizeof *m->leaves);
    m->leaf_ptrs = calloc(n > 0 ? n : 1, sizeof *m->leaf_ptrs);
    m->values = calloc(n > 0 ? n : 1, sizeof *m->values);
    if (m->leaves == NULL || m->leaf_ptrs == NULL || m->values == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "reserves: out of memory");
    for (size_t i = 0; i < n; i++) {
        custos__v1__reserves_leaf__init(&m->leaves[i]);
        custos_u256_to_be(&es[i].collateral_value, m->values[i]);
        m->leaves[i].account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)es[i].account};
        m->leaves[i].collateral_value = (ProtobufCBinaryData){CUSTOS_U256_LEN, m->values[i]};
        m->leaf_ptrs[i] = &m->leaves[i];
    }
    custos__v1__submit_reserves_request__init(&m->msg);
    m->msg.feed = (char *)feed;
    m->msg.domain = &m->domain;
    m->msg.reserves = &m->reserves;
    m->msg.n_signatures = n_sigs;
    m->msg.signatures = m->sigs;
    m->msg.n_leaves = n;
    m->msg.leaves = m->leaf_ptrs;
    return CUSTOS_OK;
}

void pb_reserves_request_clear(pb_reserves_request *m)
{
    free(m->leaves);
    free(m->leaf_ptrs);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* The three amounts of a position in a view, big-endian. */
typedef struct pb_position_view {
    Custos__V1__Position msg;
    uint8_t quantity[CUSTOS_U256_LEN], price[CUSTOS_U256_LEN], value[CUSTOS_U256_LEN];
} pb_position_view;

/* The positions of s into v (pb_check_submission passed). */
static custos_rc pb_view_positions(pb_submission_view *v, const custos_submission *s,
                                   custos_error *err)
{
    size_t n = s->n_positions;
    pb_position_view *pv = calloc(n, sizeof *pv + sizeof(Custos__V1__Position *));
    if (pv == NULL)
        return custos_error_set(err, CUSTOS_ERR_NOMEM, "positions: cannot allocate %zu entries",
                                n);
    v->positions_mem = pv;
    Custos__V1__Position **ptrs = (Custos__V1__Position **)(void *)(pv + n);
    for (size_t i = 0; i < n; i++) {
        const custos_position *p = &s->positions[i];
        custos__v1__position__init(&pv[i].msg);
        pv[i].msg.asset_id = (char *)p->asset_id;
        custos_u256_to_be(&p->quantity, pv[i].quantity);
        custos_u256_to_be(&p->price, pv[i].price);
        custos_u256_to_be(&p->value, pv[i].value);
        pv[i].msg.quantity = (ProtobufCBinaryData){CUSTOS_U256_LEN, pv[i].quantity};
        pv[i].msg.price = (ProtobufCBinaryData){CUSTOS_U256_LEN, pv[i].price};
        pv[i].msg.value = (ProtobufCBinaryData){CUSTOS_U256_LEN, pv[i].value};
        pv[i].msg.haircut_bps = p->haircut_bps;
        ptrs[i] = &pv[i].msg;
    }
    v->msg.n_positions = n;
    v->msg.positions = ptrs;
    return CUSTOS_OK;
}

custos_rc pb_submission_view_init(pb_submission_view *v, const custos_submission *s,
                                  custos_error *err)
{
    memset(v, 0, sizeof *v);
    custos_rc rc = pb_check_submission(s, err);
    if (rc != CUSTOS_OK)
        return rc;
    custos__v1__signed_attestation__init(&v->msg);
    /* protobuf-c only reads a message it packs: the casts lend it s's bytes. */
    v->msg.feed = (char *)s->feed;
    custos__v1__domain__init(&v->domain);
    v->domain.chain_id = s->domain.chain_id;
    v->domain.verifying_contract =
        (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)s->domain.verifying_contract};
    v->msg.domain = &v->domain;
    const custos_attestation *a = &s->att;
    custos__v1__attestation__init(&v->att);
    v->att.kind = a->kind;
    v->att.as_of = a->as_of;
    v->att.valid_until = a->valid_until;
    v->att.sequence = a->sequence;
    v->att.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)a->account};
    v->att.beneficiary = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)a->beneficiary};
    custos_u256_to_be(&a->gross_value, v->gross);
    custos_u256_to_be(&a->collateral_value, v->collateral);
    v->att.gross_value = (ProtobufCBinaryData){CUSTOS_U256_LEN, v->gross};
    v->att.collateral_value = (ProtobufCBinaryData){CUSTOS_U256_LEN, v->collateral};
    v->att.positions_root = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)a->positions_root};
    v->msg.attestation = &v->att;
    for (size_t i = 0; i < s->n_sigs; i++)
        v->sigs[i] = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, (uint8_t *)s->sigs[i].bytes};
    v->msg.n_signatures = s->n_sigs;
    v->msg.signatures = s->n_sigs > 0 ? v->sigs : NULL;
    return s->n_positions > 0 ? pb_view_positions(v, s, err) : CUSTOS_OK;
}

void pb_submission_view_clear(pb_submission_view *v)
{
    free(v->positions_mem);
    memset(v, 0, sizeof *v);
}
