/* custos_keccak256_many against custos_keccak256, message by message: the length, the
 * count and the gap between messages come from the input's first bytes, the messages from
 * the rest (repeated to fill). Any difference, or a hash written past the n-th, aborts.
 * The one-message path is itself checked against ethers (test_keccak). */
#include <stdlib.h>
#include <string.h>

#include "custos/keccak.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LEN 700 /* past five blocks of 136 */
#define MAX_COUNT 40
#define MAX_GAP 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t len = ((size_t)data[0] << 8 | data[1]) % (MAX_LEN + 1);
    size_t n = data[2] % (MAX_COUNT + 1);
    size_t stride = len + data[3] % (MAX_GAP + 1);
    data += 4;
    size -= 4;
    size_t total = n * stride + MAX_GAP;
    uint8_t *msgs = malloc(total > 0 ? total : 1);
    if (msgs == NULL)
        return 0;
    for (size_t i = 0; i < total; i++)
        msgs[i] = size > 0 ? data[i % size] : (uint8_t)i;
    uint8_t many[MAX_COUNT + 1][CUSTOS_KECCAK256_LEN];
    memset(many, 0xa5, sizeof many);
    custos_keccak256_many(msgs, len, stride, n, many);
    for (size_t j = 0; j < n; j++) {
        uint8_t one[CUSTOS_KECCAK256_LEN];
        custos_keccak256(msgs + j * stride, len, one);
        if (memcmp(one, many[j], sizeof one) != 0)
            abort();
    }
    for (size_t j = n; j <= MAX_COUNT; j++)
        for (size_t b = 0; b < CUSTOS_KECCAK256_LEN; b++)
            if (many[j][b] != 0xa5)
                abort();
    free(msgs);
    return 0;
}
