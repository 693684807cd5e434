/* Protobuf bytes of a SubmitReservesRequest as a client sends them: the gateway's decoder,
 * then its stateless checks at a fixed clock (domain, feed, freshness, the signature, and
 * the total, count and root against the leaves sent). Every refusal says why. */
#include <stdio.h>
#include <stdlib.h>

#include "custos/v1/gateway.pb-c.h"
#include "reserves.h"

#include "fuzz_common.h"

static gw_config cfg;
static gw_registry *registry;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    custos_error err;
    if (gw_config_load(fz_write_gateway_config(), &cfg, &err) != CUSTOS_OK ||
        gw_registry_new(&cfg, &registry, &err) != CUSTOS_OK) {
        fprintf(stderr, "fuzz_reserves: %s\n", err.message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Custos__V1__SubmitReservesRequest *req =
        custos__v1__submit_reserves_request__unpack(NULL, size, data);
    if (req == NULL)
        return 0;
    gw_reserves_submission *s = malloc(sizeof *s);
    if (s == NULL)
        abort();
    char detail[256] = "";
    custos_reason r = gw_reserves_decode(req, s, detail, sizeof detail);
    custos__v1__submit_reserves_request__free_unpacked(req, NULL);
    if (r == CUSTOS_REASON_NONE)
        r = gw_reserves_verify(&cfg, registry, s, FZ_NOW, detail, sizeof detail);
    if (r != CUSTOS_REASON_NONE && detail[0] == '\0')
        abort(); /* every refusal says why */
    gw_reserves_submission_clear(s);
    free(s);
    return 0;
}
