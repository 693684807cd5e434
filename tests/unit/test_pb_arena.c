/* The unpack arena (lib/pb/pb_arena.c): its pieces are aligned, apart and all writable, it
 * takes blocks as it fills and refuses sizes it cannot hold; and protobuf-c, unpacking a
 * message into it, packs the same bytes again as from its own allocations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "custos/v1/attestation.pb-c.h"
#include "pb_arena.h"

static void *arena_alloc(pb_arena *a, size_t n)
{
    return a->allocator.alloc(a->allocator.allocator_data, n);
}

/* Sizes from 0 to well past a block, every piece filled with its own byte: a piece that
 * overlapped another, or fell short of its size, would change the other's bytes. */
static void test_pieces_apart(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 7, 16, 17, 100, 4095, 4096, 4097, 20000, 3, 70000, 33};
    enum { N = sizeof sizes / sizeof sizes[0] };
    pb_arena a;
    pb_arena_init(&a);
    uint8_t *p[N];
    for (size_t i = 0; i < N; i++) {
        p[i] = arena_alloc(&a, sizes[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        memset(p[i], (int)(i + 1), sizes[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(p[i][k], (uint8_t)(i + 1));
    assert_true(pb_arena_blocks(&a) > 0); /* more than the inline space was asked for */
    pb_arena_release(&a);
    assert_int_equal(pb_arena_blocks(&a), 0);
    /* Released, it serves again from its own space first. */
    uint8_t *q = arena_alloc(&a, 64);
    assert_ptr_equal(q, a.inline_space);
    a.allocator.free(a.allocator.allocator_data, q);
    pb_arena_release(&a);
}

static void test_too_large_refused(void **state)
{
    (void)state;
    pb_arena a;
    pb_arena_init(&a);
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_alloc(&a, SIZE_MAX - 8));
    assert_non_null(arena_alloc(&a, 8)); /* a refusal leaves it usable */
    pb_arena_release(&a);
}

/* Many small pieces, as a large batch's decoding makes: blocks grow, so their number stays
 * small. */
static void test_blocks_grow(void **state)
{
    (void)state;
    pb_arena a;
    pb_arena_init(&a);
    for (size_t i = 0; i < 100000; i++)
        assert_non_null(arena_alloc(&a, 40));
    size_t blocks = pb_arena_blocks(&a);
    assert_true(blocks >= 1 && blocks <= 12);
    pb_arena_release(&a);
}

/* A SignedAttestation of 200 positions (about 30 KiB, several blocks) unpacked into an
 * arena packs to the bytes it came from, as protobuf-c's own allocator's copy does. */
static void test_unpack_round_trip(void **state)
{
    (void)state;
    enum { POSITIONS = 200 };
    static uint8_t b32[32], b20[20], sig[65];
    memset(b32, 0xab, sizeof b32);
    memset(b20, 0x11, sizeof b20);
    memset(sig, 0x5c, sizeof sig);
    Custos__V1__Domain dom = CUSTOS__V1__DOMAIN__INIT;
    dom.chain_id = 31337;
    dom.verifying_contract = (ProtobufCBinaryData){sizeof b20, b20};
    Custos__V1__Attestation att = CUSTOS__V1__ATTESTATION__INIT;
    att.account = (ProtobufCBinaryData){sizeof b32, b32};
    att.beneficiary = (ProtobufCBinaryData){sizeof b20, b20};
    att.gross_value = (ProtobufCBinaryData){sizeof b32, b32};
    Custos__V1__Position pos[POSITIONS];
    Custos__V1__Position *pp[POSITIONS];
    char ids[POSITIONS][16];
    for (size_t i = 0; i < POSITIONS; i++) {
        custos__v1__position__init(&pos[i]);
        snprintf(ids[i], sizeof ids[i], "US%010zu", i);
        pos[i].asset_id = ids[i];
        pos[i].quantity = (ProtobufCBinaryData){sizeof b32, b32};
        pos[i].price = (ProtobufCBinaryData){sizeof b32, b32};
        pos[i].value = (ProtobufCBinaryData){sizeof b32, b32};
        pos[i].haircut_bps = (uint32_t)i;
        pp[i] = &pos[i];
    }
    ProtobufCBinaryData sigs[2] = {{sizeof sig, sig}, {sizeof sig, sig}};
    Custos__V1__SignedAttestation m = CUSTOS__V1__SIGNED_ATTESTATION__INIT;
    m.feed = "ust-bills";
    m.domain = &dom;
    m.attestation = &att;
    m.n_signatures = 2;
    m.signatures = sigs;
    m.n_positions = POSITIONS;
    m.positions = pp;

    size_t len = custos__v1__signed_attestation__get_packed_size(&m);
    assert_true(len > 4 * PB_ARENA_INLINE);
    uint8_t *wire = malloc(len), *again = malloc(len);
    assert_non_null(wire);
    assert_non_null(again);
    assert_int_equal(custos__v1__signed_attestation__pack(&m, wire), len);

    pb_arena a;
    pb_arena_init(&a);
    Custos__V1__SignedAttestation *got =
        custos__v1__signed_attestation__unpack(&a.allocator, len, wire);
    assert_non_null(got);
    assert_int_equal(got->n_positions, POSITIONS);
    assert_string_equal(got->positions[POSITIONS - 1]->asset_id, ids[POSITIONS - 1]);
    assert_int_equal(custos__v1__signed_attestation__get_packed_size(got), len);
    assert_int_equal(custos__v1__signed_attestation__pack(got, again), len);
    assert_memory_equal(again, wire, len);
    pb_arena_release(&a);

    /* A message cut short fails as it does with protobuf-c's allocator. */
    pb_arena_init(&a);
    assert_null(custos__v1__signed_attestation__unpack(&a.allocator, len - 1, wire));
    pb_arena_release(&a);
    free(wire);
    free(again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_apart),
        cmocka_unit_test(test_too_large_refused),
        cmocka_unit_test(test_blocks_grow),
        cmocka_unit_test(test_unpack_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
