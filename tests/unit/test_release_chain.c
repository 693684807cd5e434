/* The gateway's reading of the adapter's breaker before an operator's release (rule 6,
 * gateway/engine/release_chain.c): one case per way the adapter lets a held rise through
 * or refuses it BreakerHeld (CustosAdapter._held and its releaseHeld exception), with the
 * bound's edges taken exactly as rule 6 states it. The end-to-end case against the real
 * adapter on anvil is test_publisher_batch_late. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine/internal.h"

typedef struct holds_case {
    const char *name;
    bool feed_known;
    uint32_t rise_bps, release_threshold;
    bool has_base;
    uint64_t base, value;   /* value UINT64_MAX: a value of 2^127 (the adapter takes below 2^128) */
    size_t n_signers;
    bool released;          /* the owner released this very digest */
    bool other_released;    /* the owner released another digest of the account */
    bool holds;
} holds_case;

static const holds_case CASES[] = {
    {"beyond the bound, nothing released", true, 1000, 3, true, 1000, 1500, 2, false, false, true},
    {"one over the bound", true, 1000, 3, true, 1000, 1101, 2, false, false, true},
    {"exactly at the bound", true, 1000, 3, true, 1000, 1100, 2, false, false, false},
    {"a bound that rounds down", true, 1000, 3, true, 1005, 1106, 2, false, false, true},
    {"within the bound", true, 1000, 3, true, 1000, 1050, 2, false, false, false},
    {"equal value", true, 1000, 3, true, 1000, 1000, 2, false, false, false},
    {"a fall", true, 1000, 3, true, 1000, 10, 2, false, false, false},
    {"the owner released this digest", true, 1000, 3, true, 1000, 1500, 2, true, false, false},
    {"the owner released another digest", true, 1000, 3, true, 1000, 1500, 2, false, true, true},
    {"signers as many as the release threshold", true, 1000, 3, true, 1000, 1500, 3, false,
     false, false},
    {"breaker off", true, 0, 0, true, 1000, 1500, 2, false, false, false},
    {"no valuation on-chain", true, 1000, 3, false, 0, 1500, 2, false, false, false},
    {"a feed the adapter does not know", false, 0, 0, false, 0, 1500, 2, false, false, false},
    {"from a base of 0", true, 1000, 3, true, 0, 1, 2, false, false, true},
    {"a rise to 2^127", true, 1000, 3, true, 1000, UINT64_MAX, 2, false, false, true},
};

static void test_adapter_holds(void **state)
{
    (void)state;
    uint8_t digest[CUSTOS_HASH_LEN];
    memset(digest, 0xd1, sizeof digest);
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const holds_case *c = &CASES[i];
        evm_breaker_view v;
        memset(&v, 0, sizeof v);
        v.feed_known = c->feed_known;
        v.rise_bps = c->rise_bps;
        v.release_threshold = c->release_threshold;
        v.has_base = c->has_base;
        custos_u256_from_u64(&v.base, c->base);
        if (c->released)
            memcpy(v.released, digest, CUSTOS_HASH_LEN);
        else if (c->other_released)
            memset(v.released, 0xee, CUSTOS_HASH_LEN);
        custos_u256 value;
        custos_u256_from_u64(&value, c->value);
        if (c->value == UINT64_MAX) {
            uint8_t be[CUSTOS_U256_LEN] = {0};
            be[16] = 0x80;
            custos_u256_from_be(&value, be);
        }
        bool holds = !c->holds;
        custos_error err;
        if (gw_eng_adapter_holds(&v, &value, c->n_signers, digest, &holds, &err) != CUSTOS_OK)
            fail_msg("%s: %s", c->name, err.message);
        if (holds != c->holds)
            fail_msg("%s: holds %d, want %d", c->name, holds, c->holds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
