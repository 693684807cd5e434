/* Internal to libcustos and the gateway: conversion between the protobuf-c messages
 * generated from proto/ and the in-memory model. Decoding is strict (see custos/wire.h). */
#ifndef CUSTOS_PB_CONVERT_H
#define CUSTOS_PB_CONVERT_H

#include "custos/attestation.h"
#include "custos/batch.h"
#include "custos/error.h"
#include "custos/merkle.h"
#include "custos/record.h"
#include "custos/reserves.h"
#include "custos/v1/attestation.pb-c.h"
#include "custos/v1/gateway.pb-c.h"

/* Validating conversion; on failure out is left cleared and err says which field. */
CUSTOS_MUST_USE
custos_rc pb_to_submission(const Custos__V1__SignedAttestation *m, custos_submission *out,
                           custos_error *err);
/* Allocates a self-contained message tree (no pointers into s); free with
 * pb_submission_free. */
CUSTOS_MUST_USE
custos_rc pb_from_submission(const custos_submission *s, Custos__V1__SignedAttestation **out,
                             custos_error *err);
void pb_submission_free(Custos__V1__SignedAttestation *m);

CUSTOS_MUST_USE
custos_rc pb_to_record(const Custos__V1__Record *m, custos_record *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc pb_from_record(const custos_record *r, Custos__V1__Record **out, custos_error *err);
void pb_record_free(Custos__V1__Record *m);

/* Batches (rule 20, pb_batch.c). A CollateralBatch message, hash lengths checked. */
CUSTOS_MUST_USE
custos_rc pb_to_batch(const Custos__V1__Batch *m, custos_batch *out, custos_error *err);
/* Account i of a SubmitBatchRequest: its attestation and positions into out, which the
 * caller zeroed; on failure out may hold positions to clear. */
CUSTOS_MUST_USE
custos_rc pb_to_batch_account(const Custos__V1__BatchAccount *m, size_t i,
                              custos_batch_member *out, custos_error *err);
/* A SubmitBatchRequest for a signed batch and its n accounts: a self-contained tree, freed
 * with pb_batch_request_free. */
CUSTOS_MUST_USE
custos_rc pb_batch_request_new(const char *feed, const custos_domain *d, const custos_batch *b,
                               const custos_signature *sigs, size_t n_sigs,
                               const custos_batch_member *accounts, size_t n,
                               Custos__V1__SubmitBatchRequest **out, custos_error *err);
void pb_batch_request_free(Custos__V1__SubmitBatchRequest *m);

/* Validating conversion of a GetPositionProof answer (hash lengths, proof depth, the
 * position's fields); out is overwritten. */
CUSTOS_MUST_USE
custos_rc pb_to_position_proof(const Custos__V1__GetPositionProofResponse *m,
                               custos_position_proof *out, custos_error *err);

/* Validating conversion of GetReserves and GetReservesProof answers; out is overwritten. */
CUSTOS_MUST_USE
custos_rc pb_to_reserves_summary(const Custos__V1__GetReservesResponse *m,
                                 custos_reserves_summary *out, custos_error *err);
CUSTOS_MUST_USE
custos_rc pb_to_reserves_inclusion(const Custos__V1__GetReservesProofResponse *m,
                                   custos_reserves_inclusion *out, custos_error *err);

/* A SubmitReservesRequest over the arguments, which must outlive it (the message points
 * into them and into this struct: do not copy it); release with pb_reserves_request_clear
 * whatever pb_reserves_request_init answered. */
typedef struct pb_reserves_request {
    Custos__V1__SubmitReservesRequest msg;
    Custos__V1__Domain domain;
    Custos__V1__Reserves reserves;
    uint8_t total[CUSTOS_U256_LEN];
    ProtobufCBinaryData sigs[CUSTOS_MAX_SIGNATURES];
    Custos__V1__ReservesLeaf *leaves;
    Custos__V1__ReservesLeaf **leaf_ptrs;
    uint8_t (*values)[CUSTOS_U256_LEN];
} pb_reserves_request;
CUSTOS_MUST_USE
custos_rc pb_reserves_request_init(pb_reserves_request *m, const char *feed,
                                   const custos_domain *d, const custos_reserves *r,
                                   const custos_signature *sigs, size_t n_sigs,
                                   const custos_reserves_entry *es, size_t n,
                                   custos_error *err);
void pb_reserves_request_clear(pb_reserves_request *m);

/* A SignedAttestation over submission s, which must outlive it (the message points into s
 * and into this struct: do not copy it), for packing only: no field is copied, where
 * pb_from_submission allocates about ten pieces a submission. The positions' messages take
 * one allocation. Release with pb_submission_view_clear whatever the init answered. */
typedef struct pb_submission_view {
    Custos__V1__SignedAttestation msg;
    Custos__V1__Domain domain;
    Custos__V1__Attestation att;
    uint8_t gross[CUSTOS_U256_LEN], collateral[CUSTOS_U256_LEN];
    ProtobufCBinaryData sigs[CUSTOS_MAX_SIGNATURES];
    void *positions_mem;
} pb_submission_view;
CUSTOS_MUST_USE
custos_rc pb_submission_view_init(pb_submission_view *v, const custos_submission *s,
                                  custos_error *err);
void pb_submission_view_clear(pb_submission_view *v);

#endif
