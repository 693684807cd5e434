/* The attestor's policy file, read with the same parser custos-attestor uses. */
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_policy v;
    custos_error err;
    memset(&v, 0, sizeof v);
    if (at_policy_parse("policy.json", (const char *)data, size, &v, &err) == CUSTOS_OK)
        at_policy_free(&v);
    return 0;
}
