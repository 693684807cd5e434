/* The reads of custos.v1.AttestationGateway: GetLatest, ListSigners, GetChainHead,
 * ListHeld, GetPositionProof and GetPledge, and the records as each caller may see them. */
#include "rpc/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/merkle.h"
#include "custos/record.h"

#include "metrics.h"
#include "pb_convert.h"
#include "pb_status.h"
#include "rpc/handlers.h"
#include "store/codec.h"
#include "tls.h"

/* Positions are confidential (README, "Proofs"): a record goes to a caller with its
 * positions only when that caller may read the feed's positions; others get the signed
 * fields, whose positionsRoot commits to them. */
custos_rc gw_rpc_record_for(const gw_rpc_call *c, const custos_record *rec,
                            Custos__V1__Record **m, custos_error *err)
{
    char detail[256];
    if (rec->sub.n_positions == 0 ||
        gw_tls_may_read_positions(c->srv->cfg, c->gc, rec->sub.feed, detail, sizeof detail))
        return pb_from_record(rec, m, err);
    custos_record bare = *rec; /* shallow: pb_from_record only reads it */
    bare.sub.n_positions = 0;
    bare.sub.positions = NULL;
    /* Said outright, so that no caller reads the empty list as "no positions". */
    bare.positions_withheld = true;
    return pb_from_record(&bare, m, err);
}

/* GetLatestResponse and WatchEvent have the same shape: the record is their only field. */
grpc_byte_buffer *gw_rpc_pack_record(const gw_rpc_call *c, const custos_record *rec,
                                     bool watch_event)
{
    Custos__V1__Record *m = NULL;
    custos_error err;
    custos_error_clear(&err);
    if (gw_rpc_record_for(c, rec, &m, &err) != CUSTOS_OK) {
        gw_log(GW_LOG_ERROR, "record_convert", "cursor %llu: %s",
               (unsigned long long)rec->cursor, err.message);
        return NULL;
    }
    grpc_byte_buffer *bb;
    if (watch_event) {
        Custos__V1__WatchEvent ev = CUSTOS__V1__WATCH_EVENT__INIT;
        ev.record = m;
        bb = gw_rpc_pack(&ev.base);
    } else {
        Custos__V1__GetLatestResponse r = CUSTOS__V1__GET_LATEST_RESPONSE__INIT;
        r.record = m;
        bb = gw_rpc_pack(&r.base);
    }
    pb_record_free(m);
    return bb;
}

/* ListHeld answers at most this many records a page; it reads one more to learn whether
 * another page follows. */
#define LIST_HELD_MAX CUSTOS_HELD_PAGE_MAX

/* A page token is the last record's place in the order, (held_at, digest), as
 * be64(held_at) || digest: what the store's next query starts after. */
static void list_held_token(const custos_record *last, uint8_t out[CUSTOS_HELD_PAGE_TOKEN_LEN])
{
    gw_store_put_u64(out, last->accepted_at);
    memcpy(out + 8, last->digest, CUSTOS_HASH_LEN);
}

/* The request's account and page token; false when it was answered with an error. */
static bool list_held_request(gw_rpc_call *c, uint8_t account[CUSTOS_HASH_LEN], bool *one,
                              gw_held_key *after, bool *paged)
{
    Custos__V1__ListHeldRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__list_held_request__descriptor);
    if (req == NULL)
        return false;
    char detail[160] = "";
    if (req->account.len != 0 && req->account.len != CUSTOS_HASH_LEN)
        snprintf(detail, sizeof detail, "account must be 32 bytes (or empty: all), got %zu",
                 req->account.len);
    else if (req->page_token.len != 0 && (req->page_token.len != CUSTOS_HELD_PAGE_TOKEN_LEN ||
                                          gw_store_get_be(req->page_token.data, 8) > INT64_MAX))
        snprintf(detail, sizeof detail, "page_token must be empty or an earlier answer's "
                 "next_page_token (%d bytes), got %zu bytes", CUSTOS_HELD_PAGE_TOKEN_LEN,
                 req->page_token.len);
    *one = req->account.len == CUSTOS_HASH_LEN;
    if (*one)
        memcpy(account, req->account.data, CUSTOS_HASH_LEN);
    *paged = req->page_token.len == CUSTOS_HELD_PAGE_TOKEN_LEN;
    if (*paged) {
        after->held_at = gw_store_get_be(req->page_token.data, 8);
        memcpy(after->digest, req->page_token.data + 8, CUSTOS_HASH_LEN);
    }
    custos__v1__list_held_request__free_unpacked(req, NULL);
    if (detail[0] != '\0') {
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return false;
    }
    return true;
}

void gw_rpc_list_held(gw_rpc_call *c)
{
    uint8_t account[CUSTOS_HASH_LEN];
    gw_held_key after;
    bool one = false, paged = false;
    if (!list_held_request(c, account, &one, &after, &paged))
        return;

    custos_record *recs = calloc(LIST_HELD_MAX + 1, sizeof *recs);
    Custos__V1__Record **ms = calloc(LIST_HELD_MAX, sizeof *ms);
    if (recs == NULL || ms == NULL) {
        free(recs);
        free(ms);
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "the gateway is out of memory",
                      CUSTOS_REASON_INTERNAL, NULL);
        return;
    }
    size_t n = 0, packed = 0;
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_list_held(c->srv->engine, one ? account : NULL,
                                       paged ? &after : NULL, recs, LIST_HELD_MAX + 1, &n, &err);
    bool more = n > LIST_HELD_MAX;
    uint8_t token[CUSTOS_HELD_PAGE_TOKEN_LEN];
    if (more)
        list_held_token(&recs[LIST_HELD_MAX - 1], token);
    /* Rule 6: a held record's signatures are a quorum anyone could submit on-chain, where
     * only the adapter's own breaker would stop it: they go to admins alone. Others see
     * the record, its signers and its state, not the signatures. */
    char name[GW_CLIENT_NAME_MAX + 1], why[256];
    bool admin = gw_tls_may_administer(c->srv->cfg, c->gc, name, why, sizeof why);
    for (size_t i = 0; rc == CUSTOS_OK && i < n && i < LIST_HELD_MAX; i++) {
        if (!admin)
            recs[i].sub.n_sigs = 0;
        rc = gw_rpc_record_for(c, &recs[i], &ms[i], &err);
        if (rc == CUSTOS_OK)
            packed++;
    }
    grpc_byte_buffer *bb = NULL;
    if (rc == CUSTOS_OK) {
        Custos__V1__ListHeldResponse r = CUSTOS__V1__LIST_HELD_RESPONSE__INIT;
        r.records = ms;
        r.n_records = packed;
        if (more) {
            r.next_page_token.data = token;
            r.next_page_token.len = sizeof token;
        }
        bb = gw_rpc_pack(&r.base);
    }
    for (size_t i = 0; i < packed; i++)
        pb_record_free(ms[i]);
    for (size_t i = 0; i < n; i++)
        custos_record_clear(&recs[i]);
    free(ms);
    free(recs);
    if (rc != CUSTOS_OK)
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    else if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_INTERNAL, "the held records cannot be encoded",
                      CUSTOS_REASON_INTERNAL, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* The account's latest accepted record into *rec (the caller clears it), or the call
 * finished NOT_FOUND or UNAVAILABLE and false. */
static bool latest_or_finish(gw_rpc_call *c, const uint8_t account[CUSTOS_HASH_LEN],
                             custos_record *rec)
{
    memset(rec, 0, sizeof *rec);
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_get_latest(c->srv->engine, account, rec, &err);
    if (rc == CUSTOS_ERR_NOT_FOUND)
        gw_rpc_finish(c, GRPC_STATUS_NOT_FOUND, "no accepted attestation for this account",
                      CUSTOS_REASON_NONE, NULL);
    else if (rc != CUSTOS_OK)
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    return rc == CUSTOS_OK;
}

void gw_rpc_get_latest(gw_rpc_call *c)
{
    Custos__V1__GetLatestRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__get_latest_request__descriptor);
    if (req == NULL)
        return;
    if (req->account.len != CUSTOS_HASH_LEN) {
        char detail[96];
        snprintf(detail, sizeof detail, "account must be 32 bytes, got %zu", req->account.len);
        custos__v1__get_latest_request__free_unpacked(req, NULL);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    uint8_t account[CUSTOS_HASH_LEN];
    memcpy(account, req->account.data, sizeof account);
    custos__v1__get_latest_request__free_unpacked(req, NULL);

    custos_record rec;
    if (!latest_or_finish(c, account, &rec))
        return;
    grpc_byte_buffer *bb = gw_rpc_pack_record(c, &rec, false);
    custos_record_clear(&rec);
    if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_INTERNAL, "the stored record cannot be encoded",
                      CUSTOS_REASON_INTERNAL, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* The answer borrows from p: packed before p goes away. */
static grpc_byte_buffer *pack_position_proof(const custos_position_proof *p)
{
    uint8_t q[32], pr[32], v[32];
    custos_u256_to_be(&p->position.quantity, q);
    custos_u256_to_be(&p->position.price, pr);
    custos_u256_to_be(&p->position.value, v);
    Custos__V1__Position pos = CUSTOS__V1__POSITION__INIT;
    pos.asset_id = (char *)p->position.asset_id;
    pos.quantity = (ProtobufCBinaryData){sizeof q, q};
    pos.price = (ProtobufCBinaryData){sizeof pr, pr};
    pos.value = (ProtobufCBinaryData){sizeof v, v};
    pos.haircut_bps = p->position.haircut_bps;
    ProtobufCBinaryData proof[CUSTOS_MERKLE_PROOF_MAX];
    for (size_t i = 0; i < p->n_proof; i++)
        proof[i] = (ProtobufCBinaryData){32, (uint8_t *)p->proof[i]};
    Custos__V1__GetPositionProofResponse r = CUSTOS__V1__GET_POSITION_PROOF_RESPONSE__INIT;
    r.account = (ProtobufCBinaryData){sizeof p->account, (uint8_t *)p->account};
    r.feed = (char *)p->feed;
    r.position = &pos;
    r.leaf = (ProtobufCBinaryData){sizeof p->leaf, (uint8_t *)p->leaf};
    r.n_proof = p->n_proof;
    r.proof = proof;
    r.root = (ProtobufCBinaryData){sizeof p->root, (uint8_t *)p->root};
    r.digest = (ProtobufCBinaryData){sizeof p->digest, (uint8_t *)p->digest};
    r.sequence = p->sequence;
    r.as_of = p->as_of;
    return gw_rpc_pack(&r.base);
}

void gw_rpc_get_position_proof(gw_rpc_call *c)
{
    Custos__V1__GetPositionProofRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__get_position_proof_request__descriptor);
    if (req == NULL)
        return;
    char detail[256];
    bool ok = false;
    if (req->account.len != CUSTOS_HASH_LEN)
        snprintf(detail, sizeof detail, "account must be 32 bytes, got %zu", req->account.len);
    else if (req->asset_id == NULL || req->asset_id[0] == '\0' ||
             strlen(req->asset_id) > CUSTOS_ASSET_ID_MAX)
        snprintf(detail, sizeof detail, "asset_id must be 1 to %d bytes", CUSTOS_ASSET_ID_MAX);
    else
        ok = true;
    if (!ok) {
        custos__v1__get_position_proof_request__free_unpacked(req, NULL);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    uint8_t account[CUSTOS_HASH_LEN];
    memcpy(account, req->account.data, sizeof account);
    char asset_id[CUSTOS_ASSET_ID_MAX + 1];
    memcpy(asset_id, req->asset_id, strlen(req->asset_id) + 1);
    custos__v1__get_position_proof_request__free_unpacked(req, NULL);

    custos_record rec;
    if (!latest_or_finish(c, account, &rec))
        return;
    /* Authorised by the account's feed, which only the stored record knows; an unknown
     * account answers NOT_FOUND to anyone, which tells nothing about its positions. */
    if (!gw_tls_may_read_positions(c->srv->cfg, c->gc, rec.sub.feed, detail, sizeof detail)) {
        custos_record_clear(&rec);
        gw_metrics_count_request_refusal(GW_REQUEST_READ, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
        gw_rpc_finish(c, pb_reason_status(
                            CUSTOS_REASON_UNAUTHORIZED_CLIENT),
                      detail, CUSTOS_REASON_UNAUTHORIZED_CLIENT, NULL);
        return;
    }
    custos_position_proof *p = calloc(1, sizeof *p);
    if (p == NULL) {
        custos_record_clear(&rec);
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
        return;
    }
    grpc_status_code status = GRPC_STATUS_OK;
    if (rec.sub.n_positions == 0) {
        status = GRPC_STATUS_NOT_FOUND;
        snprintf(detail, sizeof detail, "the latest attestation of this account (sequence "
                 "%llu) carries no positions", (unsigned long long)rec.sub.att.sequence);
    } else {
        custos_error err;
        custos_error_clear(&err);
        custos_rc rc = custos_position_proof_build(rec.sub.positions, rec.sub.n_positions,
                                                   asset_id, p, &err);
        if (rc == CUSTOS_ERR_NOT_FOUND) {
            status = GRPC_STATUS_NOT_FOUND;
            snprintf(detail, sizeof detail, "the latest attestation of this account (sequence "
                     "%llu) has %.180s", (unsigned long long)rec.sub.att.sequence, err.message);
        } else if (rc != CUSTOS_OK ||
                   memcmp(p->root, rec.sub.att.positions_root, sizeof p->root) != 0) {
            /* Accepted positions always hash to the signed root: a mismatch is a bug or a
             * damaged store, never something to serve. */
            status = GRPC_STATUS_INTERNAL;
            snprintf(detail, sizeof detail, "the stored positions do not yield the signed "
                     "positionsRoot");
            gw_log(GW_LOG_ERROR, "position_proof", "sequence %llu: %s",
                   (unsigned long long)rec.sub.att.sequence,
                   rc != CUSTOS_OK ? err.message : detail);
        }
    }
    grpc_byte_buffer *bb = NULL;
    if (status == GRPC_STATUS_OK) {
        memcpy(p->account, account, sizeof account);
        memcpy(p->feed, rec.sub.feed, sizeof p->feed);
        memcpy(p->digest, rec.digest, sizeof p->digest);
        p->sequence = rec.sub.att.sequence;
        p->as_of = rec.sub.att.as_of;
        bb = pack_position_proof(p);
        if (bb == NULL) {
            status = GRPC_STATUS_RESOURCE_EXHAUSTED;
            snprintf(detail, sizeof detail, "out of memory");
        }
    }
    free(p);
    custos_record_clear(&rec);
    if (status == GRPC_STATUS_OK)
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
    else
        gw_rpc_finish(c, status, detail,
                      status == GRPC_STATUS_INTERNAL ? CUSTOS_REASON_INTERNAL : CUSTOS_REASON_NONE,
                      NULL);
}

void gw_rpc_list_signers(gw_rpc_call *c)
{
    Custos__V1__ListSignersRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__list_signers_request__descriptor);
    if (req == NULL)
        return;
    custos__v1__list_signers_request__free_unpacked(req, NULL);

    /* The snapshot of the moment: a reload during the call does not mix two lists. */
    gw_policy *policy = gw_registry_acquire(gw_engine_registry(c->srv->engine));
    size_t n = policy->n_signers;
    Custos__V1__Signer *items = calloc(n ? n : 1, sizeof *items);
    Custos__V1__Signer **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (items == NULL || ptrs == NULL) {
        free(items);
        free(ptrs);
        gw_policy_release(policy);
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const gw_signer *sg = &policy->signers[i];
        custos__v1__signer__init(&items[i]);
        items[i].address.len = CUSTOS_ADDRESS_LEN;
        items[i].address.data = (uint8_t *)sg->address;
        items[i].feed = (char *)sg->feed;
        items[i].role = (char *)gw_role_name(sg->role);
        items[i].active = sg->active;
        items[i].not_after = sg->not_after;
        if (sg->rotated) {
            items[i].replaced_by.len = CUSTOS_ADDRESS_LEN;
            items[i].replaced_by.data = (uint8_t *)sg->replaced_by;
        }
        ptrs[i] = &items[i];
    }
    Custos__V1__ListSignersResponse r = CUSTOS__V1__LIST_SIGNERS_RESPONSE__INIT;
    r.n_signers = n;
    r.signers = ptrs;
    grpc_byte_buffer *bb = gw_rpc_pack(&r.base);
    free(items);
    free(ptrs);
    gw_policy_release(policy);
    gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

void gw_rpc_get_chain_head(gw_rpc_call *c)
{
    Custos__V1__GetChainHeadRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__get_chain_head_request__descriptor);
    if (req == NULL)
        return;
    custos__v1__get_chain_head_request__free_unpacked(req, NULL);
    uint8_t hash[CUSTOS_HASH_LEN];
    Custos__V1__GetChainHeadResponse r = CUSTOS__V1__GET_CHAIN_HEAD_RESPONSE__INIT;
    gw_engine_chain_head(c->srv->engine, &r.cursor, hash);
    r.chain_hash.data = hash;
    r.chain_hash.len = sizeof hash;
    gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, gw_rpc_pack(&r.base));
}

/* The pledge's beneficiary: the one asked for, else the latest accepted record's. */
static bool pledge_beneficiary(gw_rpc_call *c, const uint8_t account[CUSTOS_HASH_LEN],
                               const ProtobufCBinaryData *asked,
                               uint8_t out[CUSTOS_ADDRESS_LEN])
{
    static const uint8_t zero[CUSTOS_ADDRESS_LEN];
    if (asked->len == CUSTOS_ADDRESS_LEN) {
        memcpy(out, asked->data, CUSTOS_ADDRESS_LEN);
        return true;
    }
    custos_record rec;
    memset(&rec, 0, sizeof rec);
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_get_latest(c->srv->engine, account, &rec, &err);
    if (rc == CUSTOS_OK)
        memcpy(out, rec.sub.att.beneficiary, CUSTOS_ADDRESS_LEN);
    custos_record_clear(&rec);
    if (rc == CUSTOS_ERR_NOT_FOUND || (rc == CUSTOS_OK && memcmp(out, zero, sizeof zero) == 0))
        gw_rpc_finish(c, GRPC_STATUS_NOT_FOUND,
                      "this gateway knows no lender of the account: name the beneficiary",
                      CUSTOS_REASON_NONE, NULL);
    else if (rc != CUSTOS_OK)
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    return rc == CUSTOS_OK && memcmp(out, zero, sizeof zero) != 0;
}

/* An address field: empty for the zero address (none). */
static ProtobufCBinaryData pledge_address(const uint8_t a[CUSTOS_ADDRESS_LEN])
{
    static const uint8_t zero[CUSTOS_ADDRESS_LEN];
    bool none = memcmp(a, zero, sizeof zero) == 0;
    return (ProtobufCBinaryData){none ? 0 : CUSTOS_ADDRESS_LEN, (uint8_t *)a};
}

static grpc_byte_buffer *pack_pledge(const uint8_t account[CUSTOS_HASH_LEN],
                                     const uint8_t beneficiary[CUSTOS_ADDRESS_LEN],
                                     const gw_pledge_info *p)
{
    uint8_t debt[32], elsewhere[32];
    custos_u256_to_be(&p->exposure.debt, debt);
    custos_u256_to_be(&p->exposure.elsewhere, elsewhere);
    Custos__V1__Pledge m = CUSTOS__V1__PLEDGE__INIT;
    m.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)account};
    m.beneficiary = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)beneficiary};
    m.registry = pledge_address(p->registry);
    m.receipt = pledge_address(p->receipt);
    m.morpho_oracle = pledge_address(p->oracle);
    m.receipt_feed = pledge_address(p->feed);
    m.morpho_market_id = (ProtobufCBinaryData){CUSTOS_HASH_LEN, (uint8_t *)p->market_id};
    m.borrower = pledge_address(p->borrower);
    m.lender = pledge_address(p->lender);
    m.agent = pledge_address(p->agent);
    m.ended = p->ended;
    m.consented_sequence = p->consented_sequence;
    m.release_blocked = p->exposure.blocked;
    m.debt = (ProtobufCBinaryData){sizeof debt, debt};
    m.receipts_elsewhere = (ProtobufCBinaryData){sizeof elsewhere, elsewhere};
    m.exposure_readable = p->exposure.readable;
    Custos__V1__GetPledgeResponse r = CUSTOS__V1__GET_PLEDGE_RESPONSE__INIT;
    r.pledge = &m;
    return gw_rpc_pack(&r.base);
}

/* The answer to a GetPledge whose read ended with rc (info when CUSTOS_OK). */
static void pledge_answer(gw_rpc_call *c, custos_rc rc, const uint8_t *account,
                          const uint8_t *beneficiary, const gw_pledge_info *info,
                          const custos_error *err)
{
    if (rc == CUSTOS_ERR_NOT_FOUND) {
        gw_rpc_finish(c, GRPC_STATUS_NOT_FOUND, err->message, CUSTOS_REASON_NONE, NULL);
        return;
    }
    if (rc != CUSTOS_OK) {
        char detail[256];
        snprintf(detail, sizeof detail, "the pledge could not be read from the chain: %.200s",
                 err->message);
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, detail, CUSTOS_REASON_NONE, NULL);
        return;
    }
    grpc_byte_buffer *bb = pack_pledge(account, beneficiary, info);
    if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_INTERNAL, "the pledge cannot be encoded",
                      CUSTOS_REASON_INTERNAL, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* A GetPledge's read done on the pledges' thread (gw_pledges_read): ctx is the call, with a
 * reference of its own until answered. */
static void pledge_read_done(void *ctx, const uint8_t account[CUSTOS_HASH_LEN],
                             const uint8_t beneficiary[CUSTOS_ADDRESS_LEN], custos_rc rc,
                             const gw_pledge_info *info, const custos_error *err)
{
    gw_rpc_call *c = ctx;
    pledge_answer(c, rc, account, beneficiary, info, err);
    gw_rpc_call_unref(c);
}

/* GetPledge reads the chain (rule 11's registry): it costs the caller a token of its
 * submission bucket, as a submission does, and waits at most [evm] exposure_timeout_ms
 * per read, on the pledges' own thread, so that a slow node holds no gRPC thread. */
void gw_rpc_get_pledge(gw_rpc_call *c)
{
    char detail[256];
    if (!gw_rpc_admit_submission(c, detail, sizeof detail)) {
        gw_metrics_count_request_refusal(GW_REQUEST_READ, CUSTOS_REASON_RATE_LIMITED);
        gw_rpc_finish(c, pb_reason_status(CUSTOS_REASON_RATE_LIMITED), detail,
                      CUSTOS_REASON_RATE_LIMITED, NULL);
        return;
    }
    Custos__V1__GetPledgeRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__get_pledge_request__descriptor);
    if (req == NULL)
        return;
    bool ok = req->account.len == CUSTOS_HASH_LEN &&
              (req->beneficiary.len == 0 || req->beneficiary.len == CUSTOS_ADDRESS_LEN);
    if (!ok) {
        snprintf(detail, sizeof detail,
                 "account must be 32 bytes (got %zu) and beneficiary 20 bytes or empty (got %zu)",
                 req->account.len, req->beneficiary.len);
        custos__v1__get_pledge_request__free_unpacked(req, NULL);
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    uint8_t account[CUSTOS_HASH_LEN], beneficiary[CUSTOS_ADDRESS_LEN];
    memcpy(account, req->account.data, sizeof account);
    bool have = pledge_beneficiary(c, account, &req->beneficiary, beneficiary);
    custos__v1__get_pledge_request__free_unpacked(req, NULL);
    if (!have)
        return;
    gw_pledges *pl = gw_engine_pledges(c->srv->engine);
    if (pl == NULL) {
        gw_rpc_finish(c, GRPC_STATUS_FAILED_PRECONDITION,
                      "this gateway has no [evm]: it cannot read pledges from the chain",
                      CUSTOS_REASON_NONE, NULL);
        return;
    }
    /* The read is the pledges' thread's: this thread goes back to serving calls. */
    gw_rpc_call_ref(c);
    custos_error err;
    custos_error_clear(&err);
    /* Turned away before any read: the reason alone, not a failed read of the chain. */
    if (gw_pledges_read(pl, account, beneficiary, pledge_read_done, c, &err) != CUSTOS_OK) {
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_NONE, NULL);
        gw_rpc_call_unref(c);
    }
}
