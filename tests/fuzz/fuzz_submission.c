/* Protobuf bytes of a submission as a client sends them: the strict decoder, then every
 * stateless rule of the gateway (domain, feed, freshness at a fixed clock, signatures).
 * A decoded submission must also survive an encode/decode round trip unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custos/wire.h"
#include "verify.h"

#include "fuzz_common.h"

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
        fprintf(stderr, "fuzz_submission: %s\n", err.message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    custos_submission s;
    custos_error err;
    if (custos_submission_decode(data, size, &s, &err) != CUSTOS_OK)
        return 0;

    uint8_t *enc = NULL, *enc2 = NULL;
    size_t len = 0, len2 = 0;
    custos_submission back;
    if (custos_submission_encode(&s, &enc, &len, &err) != CUSTOS_OK ||
        custos_submission_decode(enc, len, &back, &err) != CUSTOS_OK)
        abort(); /* a decoded submission must encode and decode again */
    if (custos_submission_encode(&back, &enc2, &len2, &err) != CUSTOS_OK || len != len2 ||
        memcmp(enc, enc2, len) != 0)
        abort();
    custos_submission_clear(&back);
    free(enc);
    free(enc2);

    gw_verified v;
    char detail[256];
    custos_reason r = gw_verify_submission(verifier, &s, FZ_NOW, &v, detail, sizeof detail);
    if (r != CUSTOS_REASON_NONE && detail[0] == '\0')
        abort(); /* every refusal says why */
    gw_policy_release(v.policy);
    custos_submission_clear(&s);
    return 0;
}
