/* The attestor's prices file, read with the same parser custos-attestor uses. */
#include <string.h>

#include "prices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_prices v;
    custos_error err;
    memset(&v, 0, sizeof v);
    if (at_prices_parse("prices.json", (const char *)data, size, &v, &err) == CUSTOS_OK)
        at_prices_free(&v);
    return 0;
}
