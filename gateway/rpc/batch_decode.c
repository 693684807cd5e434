/* The SubmitBatch request decoder (batch_decode.h). */
#include "rpc/batch_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_arena.h"
#include "pb_convert.h"

/* Fills bs from a decoded request; on a refusal *reason and detail say why and bs may hold
 * accounts to clear. */
static bool batch_from_request(const Custos__V1__SubmitBatchRequest *req,
                               gw_batch_submission *bs, custos_reason *reason, char *detail,
                               size_t cap)
{
    custos_error err;
    custos_error_clear(&err);
    *reason = CUSTOS_REASON_MALFORMED;
    if (req->feed == NULL || req->feed[0] == '\0' || strlen(req->feed) > CUSTOS_FEED_MAX) {
        snprintf(detail, cap, "feed: empty or longer than %d bytes", CUSTOS_FEED_MAX);
        return false;
    }
    snprintf(bs->feed, sizeof bs->feed, "%s", req->feed);
    if (req->domain == NULL || req->domain->verifying_contract.len != CUSTOS_ADDRESS_LEN) {
        snprintf(detail, cap, "domain: missing, or its verifying_contract is not 20 bytes");
        return false;
    }
    bs->domain.chain_id = req->domain->chain_id;
    memcpy(bs->domain.verifying_contract, req->domain->verifying_contract.data,
           CUSTOS_ADDRESS_LEN);
    if (pb_to_batch(req->batch, &bs->batch, &err) != CUSTOS_OK) {
        snprintf(detail, cap, "%s", err.message);
        return false;
    }
    /* The size limits first, as for a single attestation: TOO_LARGE before the details. */
    if (req->n_signatures > CUSTOS_MAX_SIGNATURES || req->n_accounts > CUSTOS_BATCH_MAX_ACCOUNTS) {
        *reason = CUSTOS_REASON_TOO_LARGE;
        snprintf(detail, cap, "%zu signatures and %zu accounts: at most %d and %d",
                 req->n_signatures, req->n_accounts, CUSTOS_MAX_SIGNATURES,
                 CUSTOS_BATCH_MAX_ACCOUNTS);
        return false;
    }
    for (size_t i = 0; i < req->n_signatures; i++) {
        if (req->signatures[i].len != CUSTOS_SIGNATURE_LEN) {
            snprintf(detail, cap, "signatures[%zu]: %zu bytes, expected exactly %d", i,
                     req->signatures[i].len, CUSTOS_SIGNATURE_LEN);
            return false;
        }
        memcpy(bs->sigs[i].bytes, req->signatures[i].data, CUSTOS_SIGNATURE_LEN);
    }
    bs->n_sigs = req->n_signatures;
    if (req->n_accounts == 0)
        return true; /* gw_verify_batch refuses it, as MALFORMED, with the others' words */
    bs->accounts = calloc(req->n_accounts, sizeof *bs->accounts);
    if (bs->accounts == NULL) {
        *reason = CUSTOS_REASON_INTERNAL;
        snprintf(detail, cap, "the gateway is out of memory");
        return false;
    }
    for (size_t i = 0; i < req->n_accounts; i++) {
        bs->n_accounts = i + 1;
        custos_rc rc = pb_to_batch_account(req->accounts[i], i, &bs->accounts[i], &err);
        if (rc != CUSTOS_OK) {
            if (rc == CUSTOS_ERR_TOO_LARGE)
                *reason = CUSTOS_REASON_TOO_LARGE;
            snprintf(detail, cap, "%s", err.message);
            return false;
        }
    }
    return true;
}

bool gw_rpc_batch_decode(const uint8_t *data, size_t len, size_t max, gw_batch_submission *bs,
                         custos_reason *reason, char *detail, size_t cap)
{
    *reason = CUSTOS_REASON_MALFORMED;
    if (len > max) {
        *reason = CUSTOS_REASON_TOO_LARGE;
        snprintf(detail, cap, "message of %zu bytes exceeds the limit of %zu bytes", len, max);
        return false;
    }
    pb_arena arena;
    pb_arena_init(&arena);
    Custos__V1__SubmitBatchRequest *req =
        custos__v1__submit_batch_request__unpack(&arena.allocator, len, data);
    bool ok = req != NULL;
    if (ok)
        ok = batch_from_request(req, bs, reason, detail, cap);
    else
        snprintf(detail, cap, "the message is not a custos.v1.SubmitBatchRequest");
    pb_arena_release(&arena);
    if (!ok)
        gw_batch_submission_clear(bs);
    return ok;
}
