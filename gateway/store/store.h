/* The gateway's durable store: accepted attestations (the log Watch replays), each
 * account's last accepted sequence, the signatures collected for attestations
 * still short of their quorum, and the rises held back by the circuit breaker.
 *
 * A back end is a table of functions over an opaque handle, so SQLite (sqlite_store.h)
 * and PostgreSQL (pg_store.h) are interchangeable; both take their schema from schema.c
 * and lay their columns out as codec.h says.
 * Uniqueness constraints in the back end carry the replay rule (one digest, one
 * (account, sequence)).
 *
 * The accepted log's cursors are shared by the records and the collateral notices
 * (notices.cursor, schema step 17): head is the highest of either, and read_from returns
 * the records alone, read_notices_from the notices.
 *
 * Threading: the write side (begin .. commit and the calls between) is used by one
 * thread at a time, the engine's committer; get_latest and read_from may be called
 * from any thread at any time and see only committed data.
 *
 * A shared back end (PostgreSQL) may have writers in other processes: its begin waits
 * until no other writer holds the log, so groups of all writers commit one after the
 * other, and the engine re-reads the head and the accounts it touches inside each group
 * instead of trusting what it cached. */
#ifndef GATEWAY_STORE_H
#define GATEWAY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "custos/attestation.h"
#include "custos/audit.h"
#include "custos/batch.h"
#include "custos/record.h"
#include "custos/error.h"
#include "custos/notice.h"
#include "custos/reason.h"
#include "custos/reserves.h"

#include "config/config.h"

/* Rule 4: a resubmission of one of an account's 64 latest accepted records is answered as
 * the duplicate it is; further back, it is a replay (docs/rules.md). The bound keeps the
 * lookup's cost fixed where the store follows an account's records one by one. */
#define GW_STORE_RETRY_WINDOW 64

/* One signature collected for a pending digest. */
typedef struct gw_store_signer {
    uint8_t address[CUSTOS_ADDRESS_LEN];
    gw_role role;
    custos_signature sig;
} gw_store_signer;

/* What the pending rows of a feed, and those a creator (the first signer of a pending
 * digest) started, cost: rows and stored bytes ([limits] max_pending_*). */
typedef struct gw_pending_usage {
    uint64_t feed_rows, feed_bytes;
    uint64_t creator_rows, creator_bytes;
} gw_pending_usage;

/* An account's latest accepted attestation. */
typedef struct gw_store_account {
    uint8_t account[CUSTOS_HASH_LEN];
    char feed[CUSTOS_FEED_MAX + 1];
    uint64_t last_sequence;
    uint64_t last_cursor;
    uint8_t beneficiary[CUSTOS_ADDRESS_LEN]; /* pledged to; all zero: not pledged */
} gw_store_account;

/* A feed's accepted reserves attestation: the signed summary, its digest, the signature and
 * the custodian it recovered to, and every leaf (r.accounts of them) so proofs can be built
 * later. */
typedef struct gw_store_reserves {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_reserves r;
    uint8_t digest[CUSTOS_HASH_LEN];
    uint8_t signer[CUSTOS_ADDRESS_LEN];
    custos_signature sig;
    /* Every signature verified on it, as sent (sig is one of them); none for reserves
     * stored before schema step 15. */
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    size_t n_sigs;
    uint64_t accepted_at;
    custos_reserves_entry *entries; /* owned; released by gw_store_reserves_clear */
} gw_store_reserves;

static inline void gw_store_reserves_clear(gw_store_reserves *r)
{
    free(r->entries);
    r->entries = NULL;
}

/* An accepted collateral notice (rule 19): the signed notice, its digest, the custodian its
 * signature recovered to, and the account's feed whose custodian that is; its place in the
 * accepted log and its chain link (custos/chain.h), cursor 0 and zeros for a notice
 * accepted before notices joined the log (schema step 17). */
/* A held record's place in ListHeld's order: when it was held (unix seconds), then its
 * digest. */
typedef struct gw_held_key {
    uint64_t held_at;
    uint8_t digest[CUSTOS_HASH_LEN];
} gw_held_key;

typedef struct gw_store_notice {
    char feed[CUSTOS_FEED_MAX + 1];
    custos_notice n;
    uint8_t digest[CUSTOS_HASH_LEN];
    uint8_t signer[CUSTOS_ADDRESS_LEN];
    custos_signature sig;
    uint64_t accepted_at;
    uint64_t cursor;
    uint8_t chain_hash[CUSTOS_HASH_LEN];
} gw_store_notice;

/* An account of a stored batch (rule 20). */
typedef struct gw_store_batch_member {
    /* Its attestation. Owns its positions: a member ACCEPTED or HELD has them (from its
     * accepted or held row), a refused one none. */
    custos_batch_member acct;
    /* ACCEPTED (cursor set), HELD (published or not: get_held says), or UNSPECIFIED: not
     * kept through this batch, the gateway refused it (reason) or had it already (reason
     * NONE), and the batch row keeps its attestation. */
    custos_state state;
    uint64_t cursor;
    custos_reason reason;
} gw_store_batch_member;

/* A batch whose accounts the gateway judged (rule 20): the signed batch, its signatures
 * and signers (signers[i] recovered from sigs[i]), and every account of it. The store
 * keeps the batch's signatures once, in the batch's row, not in its accounts' rows; it
 * keeps the tree's leaves there too (32 bytes per account), so each account's proof can
 * be rebuilt, and the attestations of the members it refused (the adapter's submitBatch
 * needs every leaf's attestation). */
typedef struct gw_store_batch {
    char feed[CUSTOS_FEED_MAX + 1];
    /* The EIP-712 domain the batch was signed on: put_batch stores it with each member's
     * attestation, get_batch reads it back from them. */
    custos_domain domain;
    uint8_t digest[CUSTOS_HASH_LEN];
    custos_batch batch;
    custos_signature sigs[CUSTOS_MAX_SIGNATURES];
    uint8_t signers[CUSTOS_MAX_SIGNATURES][CUSTOS_ADDRESS_LEN];
    size_t n_sigs;
    uint64_t accepted_at;
    gw_store_batch_member *members; /* batch.count of them; owned after get_batch */
    size_t n_members;
    /* For put_batch: the members' leaves (custos_batch_leaf) in member order, 32 bytes each,
     * when the caller hashed them already; NULL: put_batch hashes them. */
    const uint8_t *leaves;
} gw_store_batch;

/* Frees what get_batch filled in (each member's positions and the members). */
void gw_store_batch_clear(gw_store_batch *b);

typedef custos_rc (*gw_store_account_fn)(void *ctx, const gw_store_account *a,
                                         custos_error *err);
typedef custos_rc (*gw_store_signer_fn)(void *ctx, const gw_store_signer *s,
                                        custos_error *err);

typedef struct gw_store_ops {
    /* Writers in other processes may share the store (see above). */
    bool shared;
    void (*close)(void *impl);

    /* Write side. */
    custos_rc (*begin)(void *impl, custos_error *err);
    custos_rc (*commit)(void *impl, custos_error *err);
    void (*rollback)(void *impl);
    custos_rc (*head)(void *impl, uint64_t *cursor, custos_error *err);
    custos_rc (*load_accounts)(void *impl, gw_store_account_fn fn, void *ctx,
                               custos_error *err);
    /* One account's row, inside the open transaction (CUSTOS_ERR_NOT_FOUND when it has
     * none); shared back ends only, NULL otherwise. */
    custos_rc (*get_account)(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                             gw_store_account *out, custos_error *err);
    /* The accepted record of (account, sequence) if its digest is digest and it is one of
     * the account's GW_STORE_RETRY_WINDOW latest records; CUSTOS_ERR_NOT_FOUND when none
     * was accepted, another digest was, or it lies further back. */
    custos_rc (*find_accepted)(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                               uint64_t sequence, const uint8_t digest[CUSTOS_HASH_LEN],
                               uint64_t *cursor, uint32_t *n_signers, custos_error *err);
    /* The submission stored for a pending digest (CUSTOS_ERR_NOT_FOUND if none); sub is
     * overwritten and must be released with custos_submission_clear. */
    custos_rc (*get_pending)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                             custos_submission *sub, custos_error *err);
    /* Calls fn for each signature collected for digest, in the order they were added. */
    custos_rc (*list_pending_signers)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                      gw_store_signer_fn fn, void *ctx, custos_error *err);
    /* A new pending digest, charged to creator (its first signer) and sub's feed for
     * bytes (gw_store_encode_submission's length of sub). */
    custos_rc (*put_pending)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                             const custos_submission *sub, uint64_t first_seen,
                             const uint8_t creator[CUSTOS_ADDRESS_LEN], uint64_t bytes,
                             custos_error *err);
    /* The pending rows charged to feed and to creator, inside the open transaction. */
    custos_rc (*pending_usage)(void *impl, const char *feed,
                               const uint8_t creator[CUSTOS_ADDRESS_LEN],
                               gw_pending_usage *out, custos_error *err);
    /* Drops the pending digests first seen before `before`, with their signatures, inside
     * the open transaction; *removed gets how many. */
    custos_rc (*expire_pending)(void *impl, uint64_t before, uint64_t *removed,
                                custos_error *err);
    custos_rc (*put_pending_signer)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                                    const gw_store_signer *s, custos_error *err);
    /* Appends rec (its cursor chosen by the caller, above head, and its chain_hash) to the
     * accepted log, makes it its account's latest with the account now pledged to
     * beneficiary (all zero: none), drops the account's pending digests at or below its
     * sequence and marks its held rises below it superseded. A batched rec (no signature
     * of its own) keeps only a reference to its batch, rec->batch.digest, whose row
     * put_batch writes in the same group: its signatures are not stored again. */
    custos_rc (*put_accepted)(void *impl, const custos_record *rec,
                              const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], custos_error *err);
    /* Optional, NULL when a back end has nothing to gain: asks the CPU for the memory that
     * storing a record of each of accounts[0..n) will read first. Changes nothing. */
    void (*prefetch_accounts)(void *impl, const custos_batch_member *accounts, size_t n);
    /* Rule 6: records rec (no cursor; accepted_at is when it was held) as held,
     * consuming its sequence in its account's row, which must exist (the first record of
     * an account is never held), drops the account's pending digests at or below it and
     * marks its older held rises superseded: only the newest can be released. A batched
     * rec is kept as put_accepted keeps one. */
    custos_rc (*put_held)(void *impl, const custos_record *rec, custos_error *err);
    /* The held record of digest (state HELD, cursor 0) and whether a later published record
     * superseded it; CUSTOS_ERR_NOT_FOUND when the digest is not held. out must be
     * released with custos_record_clear. */
    custos_rc (*get_held)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN], custos_record *out,
                          bool *superseded, custos_error *err);
    /* Forgets a held digest: it was published (put_accepted), or is stored again with more
     * signatures (put_held). */
    custos_rc (*drop_held)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN], custos_error *err);
    /* The newest audit entry's seq and hash (0 and zeros when the log is empty). */
    custos_rc (*audit_head)(void *impl, uint64_t *seq, uint8_t hash[CUSTOS_AUDIT_HASH_LEN],
                            custos_error *err);
    /* Appends e, whose seq, prev_hash and hash the caller computed from audit_head. */
    custos_rc (*append_audit)(void *impl, const custos_audit_entry *e, custos_error *err);
    /* Fills in the chain hash of a record accepted before the chain existed. */
    custos_rc (*set_chain_hash)(void *impl, uint64_t cursor,
                                const uint8_t hash[CUSTOS_HASH_LEN], custos_error *err);

    /* Rule 20: stores batch b (its fields, signatures, signers, accepted_at, and its
     * members: every account, in any order, with the state the gateway gave it) inside the
     * open transaction, in the group that puts its ACCEPTED and HELD members
     * (put_accepted, put_held with rec->batched); the attestations of the others are kept
     * in the batch's row. digest and (feed, batch.sequence) are unique, so a batch is
     * stored once. CUSTOS_ERR_INVALID when members are not batch.count, or sigs and
     * signers are none or above CUSTOS_MAX_SIGNATURES. */
    custos_rc (*put_batch)(void *impl, const gw_store_batch *b, custos_error *err);
    /* The highest batch sequence stored for feed, inside the open transaction (0 when
     * none): a batch's sequence must rise above it (attestation.md §16). */
    custos_rc (*last_batch_sequence)(void *impl, const char *feed, uint64_t *sequence,
                                     custos_error *err);

    /* Stores an accepted reserves attestation; (feed, sequence) and digest are unique. */
    custos_rc (*put_reserves)(void *impl, const gw_store_reserves *res, custos_error *err);
    /* Stores an accepted notice at its cursor (chosen by the caller above head, shared with
     * the records: head counts both) with its chain hash; (account, lender, sequence),
     * digest and cursor are unique. */
    custos_rc (*put_notice)(void *impl, const gw_store_notice *n, custos_error *err);

    /* Read side (committed data, any thread). A batched record (get_latest, read_from,
     * get_held, list_held) comes with rec->batch whole: the batch's fields, signatures
     * and the account's leaf proof, signers the batch's. */
    custos_rc (*get_latest)(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                            custos_record *out, custos_error *err);
    /* Rule 6, the breaker's base: the collateralValue of the account's accepted valuation
     * with the highest sequence, freezes and releases passed over; CUSTOS_ERR_NOT_FOUND
     * when it has none. */
    custos_rc (*latest_valuation)(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                                  custos_u256 *value, custos_error *err);
    custos_rc (*read_from)(void *impl, uint64_t after, custos_record *out, size_t max,
                           size_t *n, custos_error *err);
    /* get_held through the read side (committed data, any thread). */
    custos_rc (*read_held)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                           custos_record *out, bool *superseded, custos_error *err);
    /* Up to max held records not superseded (state HELD, cursor 0), of account or of every
     * account when account is NULL, oldest first (held_at, then digest), after the key
     * `after` in that order when it is not NULL; each out[i] must be released with
     * custos_record_clear. */
    custos_rc (*list_held)(void *impl, const uint8_t *account, const gw_held_key *after,
                           custos_record *out, size_t max, size_t *n, custos_error *err);
    /* How many held records are not superseded (the custos_held gauge). */
    custos_rc (*count_held)(void *impl, uint64_t *count, custos_error *err);
    /* How many digests wait for their quorum, and the oldest one's first_seen (unix
     * seconds; 0 when none waits). */
    custos_rc (*pending_summary)(void *impl, uint64_t *count, uint64_t *oldest,
                                 custos_error *err);
    /* All pending rows and their bytes (the custos_pending_* gauges). */
    custos_rc (*pending_totals)(void *impl, uint64_t *rows, uint64_t *bytes, custos_error *err);
    /* Up to max audit entries with seq > after, in seq order; each out[i] must be
     * released with custos_audit_entry_clear. */
    custos_rc (*read_audit)(void *impl, uint64_t after, custos_audit_entry *out, size_t max,
                            size_t *n, custos_error *err);
    /* The feed's reserves attestation with the highest sequence (CUSTOS_ERR_NOT_FOUND when
     * it has none); out must be released with gw_store_reserves_clear. */
    custos_rc (*get_reserves)(void *impl, const char *feed, gw_store_reserves *out,
                              custos_error *err);
    /* Batch digest with every account of it (out->members in the tree's leaf order, the
     * order submitBatch takes them), their attestations and states as stored now: a held
     * member later released is ACCEPTED. CUSTOS_ERR_NOT_FOUND when no such batch was
     * stored. out must be released with gw_store_batch_clear. */
    custos_rc (*get_batch)(void *impl, const uint8_t digest[CUSTOS_HASH_LEN],
                           gw_store_batch *out, custos_error *err);
    /* Up to max of account's notices, to lender only unless lender is NULL, newest first
     * (accepted_at, then sequence, descending). */
    custos_rc (*list_notices)(void *impl, const uint8_t account[CUSTOS_HASH_LEN],
                              const uint8_t *lender, gw_store_notice *out, size_t max,
                              size_t *n, custos_error *err);
    /* Up to max notices with cursor > after, in cursor order (the accepted log's notices;
     * those accepted before step 17 have no cursor and are not among them). */
    custos_rc (*read_notices_from)(void *impl, uint64_t after, gw_store_notice *out,
                                   size_t max, size_t *n, custos_error *err);
    /* The highest cursor of an accepted record (0 when none), the notices after it passed
     * over; on the write side, as head. */
    custos_rc (*record_head)(void *impl, uint64_t *cursor, custos_error *err);
} gw_store_ops;

typedef struct gw_store {
    const gw_store_ops *ops;
    void *impl;
} gw_store;

/* Opens the store the configuration names (backend.c, the one place that chooses):
 * PostgreSQL for a postgresql:// or postgres:// [gateway] store, the SQLite file
 * otherwise; creates it if absent and brings its schema up to date. */
CUSTOS_MUST_USE
custos_rc gw_store_open(const gw_config *cfg, gw_store *out, custos_error *err);
/* Whether the configured store may be shared with other processes (replicas): decided
 * from the configuration alone, before anything is opened. */
bool gw_store_config_shared(const gw_config *cfg);

/* Opens (creating if absent) the SQLite database at path and brings its schema up to
 * date. */
CUSTOS_MUST_USE
custos_rc gw_store_open_sqlite(const char *path, gw_store *out, custos_error *err);

/* Connects to PostgreSQL (conninfo: a postgresql:// URI or key=value pairs; libpq's
 * environment variables such as PGPASSWORD fill the rest) and brings the schema up to
 * date. An unreachable server is CUSTOS_ERR_UNAVAILABLE. */
CUSTOS_MUST_USE
custos_rc gw_store_open_pg(const char *conninfo, gw_store *out, custos_error *err);

static inline void gw_store_close(gw_store *s)
{
    if (s->ops != NULL)
        s->ops->close(s->impl);
    s->ops = NULL;
    s->impl = NULL;
}

static inline custos_rc gw_store_begin(gw_store *s, custos_error *err)
{
    return s->ops->begin(s->impl, err);
}

static inline custos_rc gw_store_commit(gw_store *s, custos_error *err)
{
    return s->ops->commit(s->impl, err);
}

static inline void gw_store_rollback(gw_store *s)
{
    s->ops->rollback(s->impl);
}

static inline custos_rc gw_store_head(gw_store *s, uint64_t *cursor, custos_error *err)
{
    return s->ops->head(s->impl, cursor, err);
}

static inline custos_rc gw_store_load_accounts(gw_store *s, gw_store_account_fn fn, void *ctx,
                                               custos_error *err)
{
    return s->ops->load_accounts(s->impl, fn, ctx, err);
}

static inline bool gw_store_shared(const gw_store *s)
{
    return s->ops->shared;
}

static inline custos_rc gw_store_get_account(gw_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                                             gw_store_account *out, custos_error *err)
{
    return s->ops->get_account(s->impl, account, out, err);
}

static inline custos_rc gw_store_find_accepted(gw_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                                               uint64_t sequence,
                                               const uint8_t digest[CUSTOS_HASH_LEN],
                                               uint64_t *cursor, uint32_t *n_signers,
                                               custos_error *err)
{
    return s->ops->find_accepted(s->impl, account, sequence, digest, cursor, n_signers, err);
}

static inline custos_rc gw_store_get_pending(gw_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                                             custos_submission *sub, custos_error *err)
{
    return s->ops->get_pending(s->impl, digest, sub, err);
}

static inline custos_rc gw_store_list_pending_signers(gw_store *s,
                                                      const uint8_t digest[CUSTOS_HASH_LEN],
                                                      gw_store_signer_fn fn, void *ctx,
                                                      custos_error *err)
{
    return s->ops->list_pending_signers(s->impl, digest, fn, ctx, err);
}

static inline custos_rc gw_store_put_pending(gw_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                                             const custos_submission *sub, uint64_t first_seen,
                                             const uint8_t creator[CUSTOS_ADDRESS_LEN],
                                             uint64_t bytes, custos_error *err)
{
    return s->ops->put_pending(s->impl, digest, sub, first_seen, creator, bytes, err);
}

static inline custos_rc gw_store_pending_usage(gw_store *s, const char *feed,
                                               const uint8_t creator[CUSTOS_ADDRESS_LEN],
                                               gw_pending_usage *out, custos_error *err)
{
    return s->ops->pending_usage(s->impl, feed, creator, out, err);
}

static inline custos_rc gw_store_expire_pending(gw_store *s, uint64_t before, uint64_t *removed,
                                                custos_error *err)
{
    return s->ops->expire_pending(s->impl, before, removed, err);
}

static inline custos_rc gw_store_pending_totals(gw_store *s, uint64_t *rows, uint64_t *bytes,
                                                custos_error *err)
{
    return s->ops->pending_totals(s->impl, rows, bytes, err);
}

static inline custos_rc gw_store_put_pending_signer(gw_store *s,
                                                    const uint8_t digest[CUSTOS_HASH_LEN],
                                                    const gw_store_signer *sg, custos_error *err)
{
    return s->ops->put_pending_signer(s->impl, digest, sg, err);
}

static inline custos_rc gw_store_put_accepted(gw_store *s, const custos_record *rec,
                                              const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                              custos_error *err)
{
    return s->ops->put_accepted(s->impl, rec, beneficiary, err);
}

static inline void gw_store_prefetch_accounts(gw_store *s, const custos_batch_member *accounts,
                                              size_t n)
{
    if (s->ops->prefetch_accounts != NULL)
        s->ops->prefetch_accounts(s->impl, accounts, n);
}

static inline custos_rc gw_store_put_held(gw_store *s, const custos_record *rec,
                                          custos_error *err)
{
    return s->ops->put_held(s->impl, rec, err);
}

static inline custos_rc gw_store_get_held(gw_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                                          custos_record *out, bool *superseded,
                                          custos_error *err)
{
    return s->ops->get_held(s->impl, digest, out, superseded, err);
}

static inline custos_rc gw_store_drop_held(gw_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                                           custos_error *err)
{
    return s->ops->drop_held(s->impl, digest, err);
}

static inline custos_rc gw_store_audit_head(gw_store *s, uint64_t *seq,
                                            uint8_t hash[CUSTOS_AUDIT_HASH_LEN],
                                            custos_error *err)
{
    return s->ops->audit_head(s->impl, seq, hash, err);
}

static inline custos_rc gw_store_append_audit(gw_store *s, const custos_audit_entry *e,
                                              custos_error *err)
{
    return s->ops->append_audit(s->impl, e, err);
}

static inline custos_rc gw_store_set_chain_hash(gw_store *s, uint64_t cursor,
                                                const uint8_t hash[CUSTOS_HASH_LEN],
                                                custos_error *err)
{
    return s->ops->set_chain_hash(s->impl, cursor, hash, err);
}

static inline custos_rc gw_store_get_latest(gw_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                                            custos_record *out, custos_error *err)
{
    return s->ops->get_latest(s->impl, account, out, err);
}

static inline custos_rc gw_store_read_from(gw_store *s, uint64_t after, custos_record *out,
                                           size_t max, size_t *n, custos_error *err)
{
    return s->ops->read_from(s->impl, after, out, max, n, err);
}

CUSTOS_MUST_USE
static inline custos_rc gw_store_latest_valuation(gw_store *s,
                                                  const uint8_t account[CUSTOS_HASH_LEN],
                                                  custos_u256 *value, custos_error *err)
{
    return s->ops->latest_valuation(s->impl, account, value, err);
}

CUSTOS_MUST_USE
static inline custos_rc gw_store_read_held(gw_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                                           custos_record *out, bool *superseded,
                                           custos_error *err)
{
    return s->ops->read_held(s->impl, digest, out, superseded, err);
}

static inline custos_rc gw_store_list_held(gw_store *s, const uint8_t *account,
                                           const gw_held_key *after, custos_record *out,
                                           size_t max, size_t *n, custos_error *err)
{
    return s->ops->list_held(s->impl, account, after, out, max, n, err);
}

static inline custos_rc gw_store_count_held(gw_store *s, uint64_t *count, custos_error *err)
{
    return s->ops->count_held(s->impl, count, err);
}

static inline custos_rc gw_store_pending_summary(gw_store *s, uint64_t *count,
                                                 uint64_t *oldest, custos_error *err)
{
    return s->ops->pending_summary(s->impl, count, oldest, err);
}

static inline custos_rc gw_store_read_audit(gw_store *s, uint64_t after,
                                            custos_audit_entry *out, size_t max, size_t *n,
                                            custos_error *err)
{
    return s->ops->read_audit(s->impl, after, out, max, n, err);
}

static inline custos_rc gw_store_put_reserves(gw_store *s, const gw_store_reserves *res,
                                              custos_error *err)
{
    return s->ops->put_reserves(s->impl, res, err);
}

static inline custos_rc gw_store_get_reserves(gw_store *s, const char *feed,
                                              gw_store_reserves *out, custos_error *err)
{
    return s->ops->get_reserves(s->impl, feed, out, err);
}

static inline custos_rc gw_store_put_notice(gw_store *s, const gw_store_notice *n,
                                            custos_error *err)
{
    return s->ops->put_notice(s->impl, n, err);
}

static inline custos_rc gw_store_list_notices(gw_store *s, const uint8_t account[CUSTOS_HASH_LEN],
                                              const uint8_t *lender, gw_store_notice *out,
                                              size_t max, size_t *n, custos_error *err)
{
    return s->ops->list_notices(s->impl, account, lender, out, max, n, err);
}

static inline custos_rc gw_store_record_head(gw_store *s, uint64_t *cursor, custos_error *err)
{
    return s->ops->record_head(s->impl, cursor, err);
}

static inline custos_rc gw_store_read_notices_from(gw_store *s, uint64_t after,
                                                   gw_store_notice *out, size_t max, size_t *n,
                                                   custos_error *err)
{
    return s->ops->read_notices_from(s->impl, after, out, max, n, err);
}

static inline custos_rc gw_store_put_batch(gw_store *s, const gw_store_batch *b,
                                           custos_error *err)
{
    return s->ops->put_batch(s->impl, b, err);
}

static inline custos_rc gw_store_last_batch_sequence(gw_store *s, const char *feed,
                                                     uint64_t *sequence, custos_error *err)
{
    return s->ops->last_batch_sequence(s->impl, feed, sequence, err);
}

static inline custos_rc gw_store_get_batch(gw_store *s, const uint8_t digest[CUSTOS_HASH_LEN],
                                           gw_store_batch *out, custos_error *err)
{
    return s->ops->get_batch(s->impl, digest, out, err);
}

#endif
