/* An exported attestation (eth_signTypedData_v4 JSON) as a cosigner or `custos verify`
 * reads it from an untrusted file. An imported document must export and import again. */
#include <stdlib.h>
#include <string.h>

#include "custos/typeddata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    custos_submission s;
    custos_error err;
    memset(&s, 0, sizeof s);
    if (custos_typeddata_import((const char *)data, size, &s, &err) != CUSTOS_OK)
        return 0;
    char *json = NULL;
    custos_submission back;
    memset(&back, 0, sizeof back);
    if (custos_typeddata_export(&s, &json, &err) != CUSTOS_OK ||
        custos_typeddata_import(json, strlen(json), &back, &err) != CUSTOS_OK ||
        back.n_sigs != s.n_sigs || back.n_positions != s.n_positions ||
        memcmp(&back.att, &s.att, sizeof s.att) != 0)
        abort();
    free(json);
    custos_submission_clear(&back);
    custos_submission_clear(&s);
    return 0;
}
