/* gRPC client of the AttestationGateway service (gRPC core C API underneath). */
#ifndef CUSTOS_CLIENT_H
#define CUSTOS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/error.h"
#include "custos/merkle.h"
#include "custos/reason.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct custos_client custos_client;

typedef enum custos_state {
    CUSTOS_STATE_UNSPECIFIED = 0,
    CUSTOS_STATE_PENDING = 1,
    CUSTOS_STATE_ACCEPTED = 2
} custos_state;

/* The gateway's answer to one submission. */
typedef struct custos_submit_result {
    int grpc_status;            /* 0 = OK */
    custos_reason reason;       /* CUSTOS_REASON_NONE unless refused */
    char detail[256];           /* the gateway's explanation of a refusal */
    custos_state state;
    bool duplicate;
    uint8_t digest[32];
    uint32_t signatures;
    uint32_t threshold;
    uint64_t cursor;
} custos_submit_result;

/* A stored attestation as the gateway returns it. */
typedef struct custos_record {
    uint64_t cursor;
    custos_state state;
    uint8_t digest[32];
    uint64_t accepted_at;
    custos_submission sub;      /* owns its positions: release with custos_record_clear */
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    size_t n_signers;
} custos_record;

void custos_record_clear(custos_record *r);

typedef struct custos_signer_info {
    uint8_t address[CUSTOS_ADDRESS_LEN];
    char feed[CUSTOS_FEED_MAX + 1];
    char role[32];
    bool active;
} custos_signer_info;

/* How to reach a gateway. TLS unless insecure is true. */
typedef struct custos_client_options {
    const char *target;      /* "host:port"; the host is checked against the server cert */
    int timeout_ms;          /* bounds every call (0 = 10 s) */
    const char *ca_file;     /* PEM CA(s) trusted for the server; NULL: the system's roots */
    const char *cert_file;   /* PEM client certificate (mTLS), with key_file; or NULL */
    const char *key_file;    /* PEM private key of cert_file; refused if group/other-readable */
    bool insecure;           /* plaintext: no TLS, no files may be given */
} custos_client_options;

/* Opens a channel per opts. Files are read here; a TLS handshake failure (untrusted server,
 * refused client certificate) surfaces on the first call as CUSTOS_ERR_UNAVAILABLE. */
custos_rc custos_client_open(const custos_client_options *opts, custos_client **out,
                             custos_error *err);

/* The insecure convenience: a PLAINTEXT channel to target (custos_client_open with
 * insecure = true), for gateways run with [tls] insecure = true, such as local tests.
 * timeout_ms bounds every call (0 = 10 s). */
custos_rc custos_client_new(const char *target, int timeout_ms, custos_client **out,
                            custos_error *err);
void custos_client_free(custos_client *c);

/* Returns CUSTOS_OK when the call completed (whatever the gateway decided: see
 * res->grpc_status and res->reason); CUSTOS_ERR_UNAVAILABLE when the gateway could
 * not be reached or the call timed out. */
custos_rc custos_client_submit(custos_client *c, const custos_submission *s,
                               custos_submit_result *res, custos_error *err);

/* Bulk over one SubmitStream call: results[i] answers subs[i]. */
custos_rc custos_client_submit_stream(custos_client *c, const custos_submission *subs, size_t n,
                                      custos_submit_result *results, custos_error *err);

/* CUSTOS_ERR_NOT_FOUND when the account has no accepted attestation. */
custos_rc custos_client_get_latest(custos_client *c, const uint8_t account[32],
                                   custos_record *out, custos_error *err);

/* The proof of one position of the account's latest accepted attestation.
 * CUSTOS_ERR_NOT_FOUND for an unknown account or asset, CUSTOS_ERR_REFUSED when the
 * gateway does not let this client see it. The answer is decoded, not verified: check it
 * with custos_position_proof_check and against a root or digest you trust. */
custos_rc custos_client_get_position_proof(custos_client *c, const uint8_t account[32],
                                           const char *asset_id, custos_position_proof *out,
                                           custos_error *err);

/* Streams accepted records with cursor > after_cursor. on_record returns false to stop;
 * the call also ends after idle_timeout_ms without a new record (0 = wait for ever). */
typedef bool (*custos_watch_fn)(void *ctx, const custos_record *rec);
custos_rc custos_client_watch(custos_client *c, uint64_t after_cursor, int idle_timeout_ms,
                              custos_watch_fn on_record, void *ctx, custos_error *err);

/* *out is malloc'd (caller frees). */
custos_rc custos_client_list_signers(custos_client *c, custos_signer_info **out, size_t *n,
                                     custos_error *err);

/* grpc.health.v1 Check of the whole server (service ""): true when SERVING. */
custos_rc custos_client_health(custos_client *c, bool *serving, custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
