/* Client of a Custos gateway (the AttestationGateway and GatewayAdmin services, over gRPC).
 *
 * Every call answers in the same way. CUSTOS_OK: the gateway did what was asked.
 * Otherwise err->code is the return value and:
 *   CUSTOS_ERR_UNAVAILABLE  try again later, the request may succeed then: the gateway could
 *                           not be reached or did not answer in time (err->reason NONE), or
 *                           it cannot take the request now (err->reason UNAVAILABLE,
 *                           RATE_LIMITED, TOO_MANY_STREAMS or EXPOSURE_UNREADABLE:
 *                           custos_reason_is_transient).
 *                           Never file such an answer as a refusal.
 *   CUSTOS_ERR_REFUSED      the gateway refused the request; err->reason says why (NONE only
 *                           from a gateway that gave no reason).
 *   CUSTOS_ERR_NOT_FOUND    what was asked for does not exist (no attestation for the
 *                           account, an unknown feed: err->reason UNKNOWN_FEED, ...).
 *   anything else           a local failure: bad arguments, a malformed answer, memory.
 * err->message names the gateway and the call, then the gateway's detail and, when there is
 * one, its reason: "gateway H:P: Submit: asOf is 2 days old (reason STALE)". */
#ifndef CUSTOS_CLIENT_H
#define CUSTOS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "custos/attestation.h"
#include "custos/audit.h"
#include "custos/error.h"
#include "custos/merkle.h"
#include "custos/reason.h"
#include "custos/batch.h"
#include "custos/record.h"
#include "custos/chain.h"
#include "custos/notice.h"
#include "custos/reserves.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct custos_client custos_client;

/* What the gateway answers for a submission it took (durably stored). */
typedef struct custos_submit_result {
    custos_state state;         /* PENDING, ACCEPTED or HELD */
    bool duplicate;             /* it already held this very attestation */
    uint8_t digest[CUSTOS_HASH_LEN];
    uint32_t signatures;        /* distinct valid signatures it holds for the digest */
    uint32_t threshold;         /* signatures the feed needs */
    uint64_t cursor;            /* ACCEPTED: the record's place in the accepted log */
} custos_submit_result;

/* Bytes of a signer role name, without NUL. */
#define CUSTOS_ROLE_MAX 31

typedef struct custos_signer_info {
    uint8_t address[CUSTOS_ADDRESS_LEN];
    char feed[CUSTOS_FEED_MAX + 1];
    char role[CUSTOS_ROLE_MAX + 1]; /* custodian, valuation_agent, fund_administrator, auditor */
    bool active;
    uint64_t not_after;         /* unix seconds a rotated-out key counts until; 0: no limit */
    bool rotated;               /* a rotated-out key: replaced_by took its place */
    uint8_t replaced_by[CUSTOS_ADDRESS_LEN]; /* one signing party with it (rule 2) */
} custos_signer_info;

/* Frees a list custos_client_list_signers returned (n: its count). Safe on NULL. */
void custos_signer_list_free(custos_signer_info *list, size_t n);

/* An account's pledge to a lending market as the pledge registry on-chain records it, and
 * its exposure when the gateway read it (docs/rules.md rule 11; custos.v1.Pledge).
 * Addresses the pledge does not have are all zero. */
typedef struct custos_pledge {
    uint8_t account[CUSTOS_HASH_LEN];
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN];  /* the lending market (Morpho Blue: Morpho) */
    uint8_t registry[CUSTOS_ADDRESS_LEN];     /* CustosPledges */
    uint8_t receipt[CUSTOS_ADDRESS_LEN];      /* the collateral receipt (ERC-20) */
    uint8_t morpho_oracle[CUSTOS_ADDRESS_LEN];
    uint8_t receipt_feed[CUSTOS_ADDRESS_LEN]; /* 8-decimal source (Aave v3, SparkLend) */
    uint8_t morpho_market_id[CUSTOS_HASH_LEN];
    uint8_t borrower[CUSTOS_ADDRESS_LEN];
    uint8_t lender[CUSTOS_ADDRESS_LEN];
    uint8_t agent[CUSTOS_ADDRESS_LEN];        /* the custodian's liquidation agent */
    bool ended;                  /* a release ended it: the receipt is worth 0 */
    uint64_t consented_sequence; /* the release the lender agreed to; 0: none */
    bool release_blocked;        /* a release without consent would be refused now */
    custos_u256 debt;            /* the borrower's debt, loan-token units, accrued to now */
    custos_u256 receipts_elsewhere; /* receipt units the market holds beyond the collateral */
    bool exposure_readable;      /* false: the market cannot report the exposure */
} custos_pledge;

/* Frees a pledge custos_client_get_pledge returned. Safe on NULL. */
void custos_pledge_free(custos_pledge *p);

/* How to reach a gateway. TLS unless insecure is true. */
typedef struct custos_client_options {
    const char *target;      /* "host:port"; the host is checked against the server cert */
    int timeout_ms;          /* bounds every call (0 = 10 s) */
    const char *ca_file;     /* PEM CA(s) trusted for the server; NULL: the system's roots */
    const char *cert_file;   /* PEM client certificate (mTLS), with key_file; or NULL */
    const char *key_file;    /* PEM private key of cert_file; refused if group/other-readable */
    bool insecure;           /* plaintext: no TLS, no files may be given */
} custos_client_options;

/* Opens a channel per opts (TLS unless opts->insecure). Files are read here; a TLS
 * handshake failure (untrusted server, refused client certificate) surfaces on the first
 * call as CUSTOS_ERR_UNAVAILABLE. *out is the caller's: custos_client_free. */
CUSTOS_MUST_USE
custos_rc custos_client_open(const custos_client_options *opts, custos_client **out,
                             custos_error *err);

/* A PLAINTEXT channel to target: custos_client_open with insecure = true and no files, for
 * a gateway run with [tls] insecure = true (local tests). Nothing is encrypted or
 * authenticated. timeout_ms bounds every call (0 = 10 s). */
CUSTOS_MUST_USE
custos_rc custos_client_new_insecure(const char *target, int timeout_ms, custos_client **out,
                                     custos_error *err);
void custos_client_free(custos_client *c);

/* Most characters of a request id; the gateway keeps 1 to this many of [A-Za-z0-9._:-]. */
#define CUSTOS_REQUEST_ID_MAX 64

/* Every later call of c sends request_id as its "x-request-id" metadata, which names the
 * gateway's log lines about the call (NULL or "": none, the gateway makes one).
 * CUSTOS_ERR_INVALID, nothing changed, for an id the gateway would not keep. */
CUSTOS_MUST_USE
custos_rc custos_client_set_request_id(custos_client *c, const char *request_id,
                                       custos_error *err);

/* Submit: CUSTOS_OK when the gateway took the submission, *res saying in what state. A
 * refusal, or a gateway that cannot take it now, is an error as above (*res zeroed). */
CUSTOS_MUST_USE
custos_rc custos_client_submit(custos_client *c, const custos_submission *s,
                               custos_submit_result *res, custos_error *err);

/* n submissions over one SubmitStream call. Each gets its own answer, as if submitted alone:
 * errors[i].code CUSTOS_OK and results[i] filled when the gateway took subs[i]; otherwise
 * errors[i] as a refusal of custos_client_submit (results[i] zeroed). Returns CUSTOS_OK when
 * the stream completed, whatever each answer was: check every errors[i]. When the stream
 * itself fails, returns its error (also in err), and each unanswered errors[i] holds it. */
CUSTOS_MUST_USE
custos_rc custos_client_submit_stream(custos_client *c, const custos_submission *subs, size_t n,
                                      custos_submit_result *results, custos_error *errors,
                                      custos_error *err);

/* SubmitBatch (docs/rules.md rule 20): batch b of feed, signed on domain d by sigs, with
 * its n accounts, each its attestation and positions. CUSTOS_OK when the gateway judged
 * the batch: then each account has its own answer, as with custos_client_submit_stream:
 * errors[i].code CUSTOS_OK and results[i] filled when the gateway took accounts[i]
 * (ACCEPTED or HELD), otherwise errors[i] is that account's refusal (results[i] zeroed);
 * *duplicate when the gateway had this batch already. A refusal of the whole batch (or a
 * gateway that cannot take it now) is an error as for custos_client_submit, and every
 * errors[i] holds it. */
CUSTOS_MUST_USE
custos_rc custos_client_submit_batch(custos_client *c, const char *feed, const custos_domain *d,
                                     const custos_batch *b, const custos_signature *sigs,
                                     size_t n_sigs, const custos_batch_member *accounts,
                                     size_t n, custos_submit_result *results,
                                     custos_error *errors, bool *duplicate, custos_error *err);

/* GetPledge: the pledge of account to beneficiary (NULL: the lender of the account's
 * latest attestation at the gateway), read from the chain by the gateway. *out is
 * allocated; release it with custos_pledge_free. CUSTOS_ERR_NOT_FOUND when nothing is
 * pledged (or the gateway knows no lender), CUSTOS_ERR_REFUSED when the gateway has no
 * [evm], CUSTOS_ERR_UNAVAILABLE when it cannot read the chain now. */
CUSTOS_MUST_USE
custos_rc custos_client_get_pledge(custos_client *c, const uint8_t account[CUSTOS_HASH_LEN],
                                   const uint8_t *beneficiary, custos_pledge **out,
                                   custos_error *err);

/* CUSTOS_ERR_NOT_FOUND when the account has no accepted attestation. */
CUSTOS_MUST_USE
custos_rc custos_client_get_latest(custos_client *c, const uint8_t account[CUSTOS_HASH_LEN],
                                   custos_record *out, custos_error *err);

/* SubmitReserves: r signed on domain d by sigs, with all n leaves es. CUSTOS_OK when the
 * gateway stored it (*duplicate: it already had this very attestation); a refusal as above.
 * signer (may be NULL) receives the custodian the gateway recovered. */
CUSTOS_MUST_USE
custos_rc custos_client_submit_reserves(custos_client *c, const char *feed,
                                        const custos_domain *d, const custos_reserves *r,
                                        const custos_signature *sigs, size_t n_sigs,
                                        const custos_reserves_entry *es, size_t n,
                                        bool *duplicate, uint8_t signer[CUSTOS_ADDRESS_LEN],
                                        custos_error *err);
/* CUSTOS_ERR_NOT_FOUND when the feed has no reserves attestation. */
CUSTOS_MUST_USE
custos_rc custos_client_get_reserves(custos_client *c, const char *feed,
                                     custos_reserves_summary *out, custos_error *err);
/* CUSTOS_ERR_NOT_FOUND when the account is not counted (or the feed has none);
 * CUSTOS_ERR_REFUSED when the gateway does not let this client read the feed's proofs.
 * Decoded, not verified: check the leaf, proof, digest and signature yourself
 * (custos verify-reserves-proof does). */
CUSTOS_MUST_USE
custos_rc custos_client_get_reserves_proof(custos_client *c, const char *feed,
                                           const uint8_t account[CUSTOS_HASH_LEN],
                                           custos_reserves_inclusion *out, custos_error *err);

/* A collateral notice as a gateway accepted it (docs/rules.md rule 19). */
typedef struct custos_stored_notice {
    char feed[CUSTOS_FEED_MAX + 1]; /* the account's feed, whose custodian signed */
    custos_notice notice;
    custos_signature sig;
    uint8_t signer[CUSTOS_ADDRESS_LEN];
    uint8_t digest[CUSTOS_HASH_LEN];
    uint64_t accepted_at;
    /* Its place in the accepted log and its chain link (custos/chain.h,
     * custos_chain_link_notice); 0 and zeros for a notice accepted before notices joined
     * the log. */
    uint64_t cursor;
    uint8_t chain_hash[CUSTOS_HASH_LEN];
} custos_stored_notice;

/* SubmitNotice: n signed on domain d by sig. CUSTOS_OK when the gateway stored it
 * (*duplicate: it already had this very notice); a refusal as above. signer (may be NULL)
 * receives the custodian the gateway recovered, cursor (may be NULL) the notice's place in
 * the accepted log (the stored one's for a duplicate; custos_stored_notice.cursor). */
CUSTOS_MUST_USE
custos_rc custos_client_submit_notice(custos_client *c, const custos_domain *d,
                                      const custos_notice *n, const custos_signature *sig,
                                      bool *duplicate, uint8_t signer[CUSTOS_ADDRESS_LEN],
                                      uint64_t *cursor, custos_error *err);
/* ListNotices: up to limit (1 to 1000; 0: 100) of account's notices, newest first, and the
 * gateway's domain (to verify them with). *out is allocated (NULL when *n is 0); release
 * it with free(). Decoded, not verified: recompute the digest and recover the signer
 * yourself (custos notices does). */
CUSTOS_MUST_USE
custos_rc custos_client_list_notices(custos_client *c, const uint8_t account[CUSTOS_HASH_LEN],
                                     uint32_t limit, custos_domain *domain,
                                     custos_stored_notice **out, size_t *n, custos_error *err);

/* custos_client_list_held gives up past this many records (use the pages). */
#define CUSTOS_HELD_LIST_MAX 100000

/* ListHeld: the attestations the circuit breaker holds (state HELD), of account or, when
 * account is NULL, of every account, oldest first, every page of them (at most
 * CUSTOS_HELD_LIST_MAX: CUSTOS_ERR_TOO_LARGE past it). Release *out with
 * custos_record_list_free(*out, *n); NULL when there are none. */
CUSTOS_MUST_USE
custos_rc custos_client_list_held(custos_client *c, const uint8_t *account,
                                  custos_record **out, size_t *n, custos_error *err);

/* One page of ListHeld: up to CUSTOS_HELD_PAGE_MAX records after the page whose token is
 * `token` (token_len 0: the first page). *next_len is CUSTOS_HELD_PAGE_TOKEN_LEN with the
 * next page's token in next, or 0 on the last page. Release *out as above. */
CUSTOS_MUST_USE
custos_rc custos_client_list_held_page(custos_client *c, const uint8_t *account,
                                       const uint8_t *token, size_t token_len,
                                       custos_record **out, size_t *n,
                                       uint8_t next[CUSTOS_HELD_PAGE_TOKEN_LEN],
                                       size_t *next_len, custos_error *err);

/* The proof of one position of the account's latest accepted attestation.
 * CUSTOS_ERR_NOT_FOUND for an unknown account or asset, CUSTOS_ERR_REFUSED when the
 * gateway does not let this client see it. The answer is decoded, not verified: check it
 * with custos_position_proof_check and against a root or digest you trust. */
CUSTOS_MUST_USE
custos_rc custos_client_get_position_proof(custos_client *c,
                                           const uint8_t account[CUSTOS_HASH_LEN],
                                           const char *asset_id, custos_position_proof *out,
                                           custos_error *err);

/* Streams accepted records with cursor > after_cursor. on_record returns false to stop;
 * the call also ends after idle_timeout_ms without a new record (0 = wait for ever). */
typedef bool (*custos_watch_fn)(void *ctx, const custos_record *rec);
CUSTOS_MUST_USE
custos_rc custos_client_watch(custos_client *c, uint64_t after_cursor, int idle_timeout_ms,
                              custos_watch_fn on_record, void *ctx, custos_error *err);

/* One entry of the accepted log as Watch streams it: a record or a collateral notice
 * (docs/attestation.md §19). Borrowed for the callback's duration. */
typedef struct custos_watch_event {
    custos_chain_kind kind;             /* CUSTOS_CHAIN_RECORD or CUSTOS_CHAIN_NOTICE */
    uint64_t cursor;
    const custos_record *record;        /* a record; NULL for a notice */
    const custos_stored_notice *notice; /* a notice; NULL for a record */
    custos_domain domain;               /* a notice's: the gateway's domain; zeros for a record */
} custos_watch_event;
typedef bool (*custos_watch_event_fn)(void *ctx, const custos_watch_event *ev);
/* Streams the accepted log's entries with cursor > after_cursor, records and collateral
 * notices in cursor order (WatchRequest.notices), as custos_client_watch does records
 * alone. Decoded, not verified: recompute each digest and link yourself (custos audit
 * verify-log does). */
CUSTOS_MUST_USE
custos_rc custos_client_watch_log(custos_client *c, uint64_t after_cursor, int idle_timeout_ms,
                                  custos_watch_event_fn on_event, void *ctx, custos_error *err);

/* The gateway's signer allow-list. Release *out with custos_signer_list_free(*out, *n). */
CUSTOS_MUST_USE
custos_rc custos_client_list_signers(custos_client *c, custos_signer_info **out, size_t *n,
                                     custos_error *err);

/* The head of the gateway's accepted chain (custos/chain.h): its newest cursor and that
 * record's chain_hash (0 and zeros when nothing was accepted). */
CUSTOS_MUST_USE
custos_rc custos_client_get_chain_head(custos_client *c, uint64_t *cursor,
                                       uint8_t hash[CUSTOS_HASH_LEN], custos_error *err);

/* GatewayAdmin.ListAudit (admin or auditor client certificate required): up to limit (1
 * to 1000) audit entries with seq > after_seq, oldest first. Release *out with
 * custos_audit_entry_list_free(*out, *n). Any other caller gets CUSTOS_ERR_REFUSED with
 * reason UNAUTHORIZED_CLIENT. */
CUSTOS_MUST_USE
custos_rc custos_client_list_audit(custos_client *c, uint64_t after_seq, uint32_t limit,
                                   custos_audit_entry **out, size_t *n, custos_error *err);

/* GatewayAdmin.AddSigner / RevokeSigner (admin client certificate required): the change
 * and its audit entry, whose number goes to *audit_seq. A refusal is CUSTOS_ERR_REFUSED
 * (or CUSTOS_ERR_NOT_FOUND for what does not exist), the message giving the detail. */
CUSTOS_MUST_USE
custos_rc custos_client_add_signer(custos_client *c, const uint8_t address[CUSTOS_ADDRESS_LEN],
                                   const char *feed, const char *role, uint64_t *audit_seq,
                                   custos_error *err);
/* RotateSigner: new_address replaces old_address, which counts overlap_seconds more. */
CUSTOS_MUST_USE
custos_rc custos_client_rotate_signer(custos_client *c,
                                      const uint8_t old_address[CUSTOS_ADDRESS_LEN],
                                      const uint8_t new_address[CUSTOS_ADDRESS_LEN],
                                      const char *feed, uint64_t overlap_seconds,
                                      uint64_t *audit_seq, custos_error *err);
/* SetFeedPolicy: every field of the feed's policy, as in its [feed] section. */
typedef struct custos_feed_policy {
    uint64_t max_age, max_skew, max_ttl;
    uint32_t threshold;
    bool distinct_roles;
} custos_feed_policy;
CUSTOS_MUST_USE
custos_rc custos_client_set_feed_policy(custos_client *c, const char *feed,
                                        const custos_feed_policy *policy, uint64_t *audit_seq,
                                        custos_error *err);
/* ReleaseHeld: releases the held attestation of digest, with a note for the audit log. */
CUSTOS_MUST_USE
custos_rc custos_client_release_held(custos_client *c, const uint8_t digest[CUSTOS_HASH_LEN],
                                     const char *note, uint64_t *audit_seq, custos_error *err);
CUSTOS_MUST_USE
custos_rc custos_client_revoke_signer(custos_client *c,
                                      const uint8_t address[CUSTOS_ADDRESS_LEN],
                                      const char *feed, uint64_t *audit_seq,
                                      custos_error *err);

/* GatewayAdmin.RegisterAccount (admin certificate): registers account to feed for good
 * (docs/rules.md rule 9); the audit entry's number goes to *audit_seq. */
CUSTOS_MUST_USE
custos_rc custos_client_register_account(custos_client *c,
                                         const uint8_t account[CUSTOS_HASH_LEN],
                                         const char *feed, uint64_t *audit_seq,
                                         custos_error *err);
/* One registered account. */
typedef struct custos_registered_account {
    uint8_t account[CUSTOS_HASH_LEN];
    char feed[CUSTOS_FEED_MAX + 1];
} custos_registered_account;
/* GatewayAdmin.ListAccounts (admin or auditor certificate): the registered accounts of
 * feed (NULL or "": all), in account order, at most limit (0: the gateway's default of
 * 1000) from offset on; *total gets how many there are. Release *out with free(). */
CUSTOS_MUST_USE
custos_rc custos_client_list_accounts(custos_client *c, const char *feed, uint64_t offset,
                                      uint32_t limit, custos_registered_account **out,
                                      size_t *n, uint64_t *total, custos_error *err);

/* grpc.health.v1 Check of the whole server (service ""): true when SERVING. */
CUSTOS_MUST_USE
custos_rc custos_client_health(custos_client *c, bool *serving, custos_error *err);
/* grpc.health.v1 Check of one service: "" or "custos.v1.AttestationGateway" (readiness:
 * the store accepts and serves) or "custos.v1.Publisher" (a chain node answers and the
 * publisher keeps up; an error NOT_FOUND without [evm]). true when SERVING. */
CUSTOS_MUST_USE
custos_rc custos_client_health_service(custos_client *c, const char *service, bool *serving,
                                       custos_error *err);

#ifdef __cplusplus
}
#endif
#endif
