/* The attestor's holdings file, read with the same parser custos-attestor uses. */
#include <string.h>

#include "holdings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    at_holdings v;
    custos_error err;
    memset(&v, 0, sizeof v);
    if (at_holdings_parse("holdings.json", (const char *)data, size, &v, &err) == CUSTOS_OK)
        at_holdings_free(&v);
    return 0;
}
