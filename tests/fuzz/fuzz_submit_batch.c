/* Protobuf bytes of a SubmitBatchRequest as a client sends them (docs/rules.md rule 20):
 * the gateway's strict decoder (rpc/batch_decode.h), then its stateless batch rules
 * (gw_verify_batch, at a fixed clock). A decoded batch must also survive a round trip
 * through the client's encoder (pb_batch_request_new) and the decoder unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_convert.h"
#include "rpc/batch_decode.h"
#include "verify_batch.h"

#include "fuzz_common.h"

/* The largest request the decoder is asked to take, as a gateway's max_message_bytes. */
#define FZ_MAX_MESSAGE (4u << 20)

static gw_config cfg;
static gw_registry *registry;
static gw_verifier *verifier;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    custos_error err;
    if (gw_config_load(fz_write_gateway_config(), &cfg, &err) != CUSTOS_OK ||
        gw_registry_new(&cfg, &registry, &err) != CUSTOS_OK ||
        gw_verifier_new(&cfg, registry, &verifier, &err) != CUSTOS_OK) {
        fprintf(stderr, "fuzz_submit_batch: %s\n", err.message);
        abort();
    }
    return 0;
}

/* bs encoded by the client's encoder and decoded again must be bs. */
static void round_trip(const gw_batch_submission *bs)
{
    Custos__V1__SubmitBatchRequest *req = NULL;
    custos_error err;
    if (pb_batch_request_new(bs->feed, &bs->domain, &bs->batch, bs->sigs, bs->n_sigs,
                             bs->accounts, bs->n_accounts, &req, &err) != CUSTOS_OK)
        abort();
    size_t len = protobuf_c_message_get_packed_size(&req->base);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    if (buf == NULL)
        abort();
    protobuf_c_message_pack(&req->base, buf);
    pb_batch_request_free(req);
    gw_batch_submission back;
    memset(&back, 0, sizeof back);
    custos_reason reason;
    char detail[256];
    if (!gw_rpc_batch_decode(buf, len, SIZE_MAX, &back, &reason, detail, sizeof detail))
        abort();
    free(buf);
    if (strcmp(back.feed, bs->feed) != 0 || memcmp(&back.domain, &bs->domain, sizeof bs->domain) != 0 ||
        memcmp(&back.batch, &bs->batch, sizeof bs->batch) != 0 || back.n_sigs != bs->n_sigs ||
        memcmp(back.sigs, bs->sigs, bs->n_sigs * sizeof bs->sigs[0]) != 0 ||
        back.n_accounts != bs->n_accounts)
        abort();
    for (size_t i = 0; i < bs->n_accounts; i++)
        if (memcmp(&back.accounts[i].att, &bs->accounts[i].att, sizeof bs->accounts[i].att) != 0 ||
            back.accounts[i].n_positions != bs->accounts[i].n_positions)
            abort();
    gw_batch_submission_clear(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_batch_submission bs;
    memset(&bs, 0, sizeof bs);
    custos_reason reason = CUSTOS_REASON_NONE;
    char detail[256];
    if (!gw_rpc_batch_decode(data, size, FZ_MAX_MESSAGE, &bs, &reason, detail, sizeof detail)) {
        /* A refusal says why, and leaves nothing behind. */
        if (reason == CUSTOS_REASON_NONE || detail[0] == '\0' || bs.accounts != NULL)
            abort();
        return 0;
    }
    round_trip(&bs);
    size_t n = bs.n_accounts > 0 ? bs.n_accounts : 1;
    gw_batch_member *members = calloc(n, sizeof *members);
    char(*details)[GW_BATCH_DETAIL_MAX] = calloc(n, sizeof *details);
    if (members == NULL || details == NULL)
        abort();
    gw_verified out;
    reason = gw_verify_batch(verifier, &bs, FZ_NOW, &out, members, details, detail,
                             sizeof detail);
    /* Any verdict; a batch that passes holds its policy and named signers. */
    if (reason == CUSTOS_REASON_NONE) {
        if (out.policy == NULL || out.n_signers != bs.n_sigs)
            abort();
        gw_policy_release(out.policy);
    } else if (out.policy != NULL) {
        abort();
    }
    /* Every account refused alone says why. */
    for (size_t i = 0; reason == CUSTOS_REASON_NONE && i < bs.n_accounts; i++)
        if (members[i].reason != CUSTOS_REASON_NONE && details[i][0] == '\0')
            abort();
    free(members);
    free(details);
    gw_batch_submission_clear(&bs);
    return 0;
}
