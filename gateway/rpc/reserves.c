/* Proof of reserves in custos.v1.AttestationGateway: SubmitReserves (a custodian's signed
 * total over a feed's accounts, checked by ../reserves.c and stored by the engine),
 * GetReserves and GetReservesProof (one account's leaf and its Merkle proof). */
#include "rpc/call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "custos/reserves.h"

#include "metrics.h"
#include "reserves.h"
#include "pb_status.h"
#include "rpc/handlers.h"
#include "tls.h"

void gw_rpc_submit_reserves(gw_rpc_call *c)
{
    char detail[256];
    if (!gw_rpc_admit_submission(c, detail, sizeof detail)) {
        gw_rpc_refuse(c, CUSTOS_REASON_RATE_LIMITED, detail);
        return;
    }
    Custos__V1__SubmitReservesRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__submit_reserves_request__descriptor);
    if (req == NULL)
        return;
    gw_reserves_submission *s = malloc(sizeof *s);
    if (s == NULL) {
        custos__v1__submit_reserves_request__free_unpacked(req, NULL);
        gw_rpc_refuse(c, CUSTOS_REASON_INTERNAL, "the gateway is out of memory");
        return;
    }
    custos_reason reason = gw_reserves_decode(req, s, detail, sizeof detail);
    custos__v1__submit_reserves_request__free_unpacked(req, NULL);
    if (reason == CUSTOS_REASON_NONE &&
        !gw_tls_may_submit(c->srv->cfg, c->gc, s->res.feed, detail, sizeof detail))
        reason = CUSTOS_REASON_UNAUTHORIZED_CLIENT;
    if (reason == CUSTOS_REASON_NONE)
        reason = gw_reserves_verify(c->srv->cfg, gw_engine_registry(c->srv->engine), s,
                                    (uint64_t)time(NULL), detail, sizeof detail);
    bool duplicate = false;
    if (reason == CUSTOS_REASON_NONE) {
        s->res.accepted_at = (uint64_t)time(NULL);
        reason = gw_engine_put_reserves(c->srv->engine, &s->res, &duplicate, detail,
                                        sizeof detail);
    }
    if (reason != CUSTOS_REASON_NONE) {
        gw_reserves_submission_clear(s);
        free(s);
        gw_rpc_refuse(c, reason, detail);
        return;
    }
    char total[CUSTOS_U256_DEC_MAX];
    if (custos_u256_to_dec(&s->res.r.total_collateral, total, sizeof total) != CUSTOS_OK)
        snprintf(total, sizeof total, "?");
    char sequence[24], accounts[24];
    snprintf(sequence, sizeof sequence, "%llu", (unsigned long long)s->res.r.sequence);
    snprintf(accounts, sizeof accounts, "%llu", (unsigned long long)s->res.r.accounts);
    const gw_log_field f[] = {{"feed", s->res.feed},
                              {"sequence", sequence},
                              {"accounts", accounts},
                              {"total", total},
                              {"duplicate", duplicate ? "true" : NULL}};
    gw_log_fields(GW_LOG_INFO, "reserves", c->request_id, f, sizeof f / sizeof f[0],
                  "reserves of %s accepted", s->res.feed);
    Custos__V1__SubmitReservesResponse r = CUSTOS__V1__SUBMIT_RESERVES_RESPONSE__INIT;
    r.digest = (ProtobufCBinaryData){CUSTOS_HASH_LEN, s->res.digest};
    r.duplicate = duplicate;
    r.signer = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, s->res.signer};
    grpc_byte_buffer *bb = gw_rpc_pack(&r.base);
    gw_reserves_submission_clear(s);
    free(s);
    if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

/* The summary of res as a GetReservesResponse borrowing from res, cfg and buf. */
typedef struct reserves_summary_buf {
    Custos__V1__Domain domain;
    Custos__V1__Reserves reserves;
    uint8_t total[32];
    ProtobufCBinaryData sigs[CUSTOS_MAX_SIGNATURES];
} reserves_summary_buf;

static void reserves_summary(const gw_config *cfg, gw_store_reserves *res,
                             reserves_summary_buf *buf, Custos__V1__GetReservesResponse *out)
{
    custos__v1__get_reserves_response__init(out);
    custos__v1__domain__init(&buf->domain);
    custos__v1__reserves__init(&buf->reserves);
    buf->domain.chain_id = cfg->domain.chain_id;
    buf->domain.verifying_contract =
        (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, (uint8_t *)cfg->domain.verifying_contract};
    custos_u256_to_be(&res->r.total_collateral, buf->total);
    buf->reserves.total_collateral = (ProtobufCBinaryData){sizeof buf->total, buf->total};
    buf->reserves.accounts = res->r.accounts;
    buf->reserves.sum_root = (ProtobufCBinaryData){CUSTOS_HASH_LEN, res->r.sum_root};
    buf->reserves.as_of = res->r.as_of;
    buf->reserves.sequence = res->r.sequence;
    out->feed = res->feed;
    out->domain = &buf->domain;
    out->reserves = &buf->reserves;
    out->digest = (ProtobufCBinaryData){CUSTOS_HASH_LEN, res->digest};
    out->signature = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, res->sig.bytes};
    out->signer = (ProtobufCBinaryData){CUSTOS_ADDRESS_LEN, res->signer};
    out->accepted_at = res->accepted_at;
    for (size_t i = 0; i < res->n_sigs && i < CUSTOS_MAX_SIGNATURES; i++)
        buf->sigs[i] = (ProtobufCBinaryData){CUSTOS_SIGNATURE_LEN, res->sigs[i].bytes};
    out->n_signatures = res->n_sigs <= CUSTOS_MAX_SIGNATURES ? res->n_sigs : CUSTOS_MAX_SIGNATURES;
    out->signatures = buf->sigs;
}

/* The feed's latest reserves into res, or answers the call and returns false. */
static bool reserves_load(gw_rpc_call *c, const char *feed, gw_store_reserves *res)
{
    custos_error err;
    custos_error_clear(&err);
    custos_rc rc = gw_engine_get_reserves(c->srv->engine, feed, res, &err);
    if (rc == CUSTOS_OK)
        return true;
    if (rc == CUSTOS_ERR_NOT_FOUND)
        gw_rpc_finish(c, GRPC_STATUS_NOT_FOUND, "no reserves attestation for this feed",
                      CUSTOS_REASON_NONE, NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_UNAVAILABLE, err.message, CUSTOS_REASON_UNAVAILABLE, NULL);
    return false;
}

void gw_rpc_get_reserves(gw_rpc_call *c)
{
    Custos__V1__GetReservesRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__get_reserves_request__descriptor);
    if (req == NULL)
        return;
    char feed[CUSTOS_FEED_MAX + 1];
    bool ok = req->feed != NULL && req->feed[0] != '\0' && strlen(req->feed) <= CUSTOS_FEED_MAX;
    if (ok)
        strcpy(feed, req->feed);
    custos__v1__get_reserves_request__free_unpacked(req, NULL);
    if (!ok) {
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "feed must be 1 to 64 bytes",
                      CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    gw_store_reserves res;
    if (!reserves_load(c, feed, &res))
        return;
    reserves_summary_buf buf;
    Custos__V1__GetReservesResponse r;
    reserves_summary(c->srv->cfg, &res, &buf, &r);
    grpc_byte_buffer *bb = gw_rpc_pack(&r.base);
    gw_store_reserves_clear(&res);
    if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}

void gw_rpc_get_reserves_proof(gw_rpc_call *c)
{
    Custos__V1__GetReservesProofRequest *req =
        gw_rpc_unpack_request(c, &custos__v1__get_reserves_proof_request__descriptor);
    if (req == NULL)
        return;
    char feed[CUSTOS_FEED_MAX + 1], detail[256];
    uint8_t account[CUSTOS_HASH_LEN];
    bool ok = false;
    if (req->feed == NULL || req->feed[0] == '\0' || strlen(req->feed) > CUSTOS_FEED_MAX)
        snprintf(detail, sizeof detail, "feed must be 1 to %d bytes", CUSTOS_FEED_MAX);
    else if (req->account.len != CUSTOS_HASH_LEN)
        snprintf(detail, sizeof detail, "account must be 32 bytes, got %zu", req->account.len);
    else
        ok = true;
    if (ok) {
        strcpy(feed, req->feed);
        memcpy(account, req->account.data, sizeof account);
    }
    custos__v1__get_reserves_proof_request__free_unpacked(req, NULL);
    if (!ok) {
        gw_rpc_finish(c, GRPC_STATUS_INVALID_ARGUMENT, detail, CUSTOS_REASON_MALFORMED, NULL);
        return;
    }
    /* The same readers as the feed's positions: a leaf is one account's collateral. */
    if (!gw_tls_may_read_positions(c->srv->cfg, c->gc, feed, detail, sizeof detail)) {
        gw_metrics_count_request_refusal(GW_REQUEST_READ, CUSTOS_REASON_UNAUTHORIZED_CLIENT);
        gw_rpc_finish(c, pb_reason_status(
                            CUSTOS_REASON_UNAUTHORIZED_CLIENT),
                      detail, CUSTOS_REASON_UNAUTHORIZED_CLIENT, NULL);
        return;
    }
    gw_store_reserves res;
    if (!reserves_load(c, feed, &res))
        return;
    custos_error err;
    custos_error_clear(&err);
    custos_reserves_proof p;
    custos_rc rc = gw_reserves_trees_proof(c->srv->reserves_trees, &res, account, &p, &err);
    if (rc != CUSTOS_OK) {
        gw_store_reserves_clear(&res);
        if (rc == CUSTOS_ERR_NOT_FOUND) {
            gw_rpc_finish(c, GRPC_STATUS_NOT_FOUND,
                          "the account is not counted in the feed's latest reserves",
                          CUSTOS_REASON_NONE, NULL);
        } else {
            gw_log(GW_LOG_ERROR, "reserves_proof", "feed %s: %s", feed, err.message);
            gw_rpc_finish(c, GRPC_STATUS_INTERNAL, "the stored reserves yield no proof",
                          CUSTOS_REASON_INTERNAL, NULL);
        }
        return;
    }
    reserves_summary_buf buf;
    Custos__V1__GetReservesResponse summary;
    reserves_summary(c->srv->cfg, &res, &buf, &summary);
    uint8_t value[32], leaf[32], sums[CUSTOS_SUMTREE_PROOF_MAX][32];
    custos_u256_to_be(&p.entry.collateral_value, value);
    custos_reserves_leaf(&p.entry, leaf);
    Custos__V1__ReservesLeaf l = CUSTOS__V1__RESERVES_LEAF__INIT;
    l.account = (ProtobufCBinaryData){CUSTOS_HASH_LEN, p.entry.account};
    l.collateral_value = (ProtobufCBinaryData){sizeof value, value};
    ProtobufCBinaryData siblings[CUSTOS_SUMTREE_PROOF_MAX], sibling_sums[CUSTOS_SUMTREE_PROOF_MAX];
    for (size_t i = 0; i < p.n_siblings; i++) {
        custos_u256_to_be(&p.siblings[i].sum, sums[i]);
        siblings[i] = (ProtobufCBinaryData){32, p.siblings[i].hash};
        sibling_sums[i] = (ProtobufCBinaryData){32, sums[i]};
    }
    Custos__V1__GetReservesProofResponse r = CUSTOS__V1__GET_RESERVES_PROOF_RESPONSE__INIT;
    r.summary = &summary;
    r.leaf = &l;
    r.leaf_hash = (ProtobufCBinaryData){sizeof leaf, leaf};
    r.n_proof = p.n_siblings;
    r.proof = siblings;
    r.n_proof_sums = p.n_siblings;
    r.proof_sums = sibling_sums;
    r.leaf_index = p.index;
    grpc_byte_buffer *bb = gw_rpc_pack(&r.base);
    gw_store_reserves_clear(&res);
    if (bb == NULL)
        gw_rpc_finish(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", CUSTOS_REASON_NONE,
                      NULL);
    else
        gw_rpc_finish(c, GRPC_STATUS_OK, NULL, CUSTOS_REASON_NONE, bb);
}
