/* Internal to libcustos and the gateway: an allocator for protobuf-c's unpack that hands out
 * pieces of a few blocks and frees them all at once. Decoding a request made about ten
 * allocations per attestation, each freed again one by one after its conversion; a
 * request's pieces live exactly as long as the request. */
#ifndef CUSTOS_PB_ARENA_H
#define CUSTOS_PB_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Held inside the arena: a single attestation's request with a few positions needs no block. */
#define PB_ARENA_INLINE 4096

typedef struct pb_arena_block pb_arena_block;

typedef struct pb_arena {
    ProtobufCAllocator allocator; /* pass &a->allocator to __unpack */
    uint8_t *at;                  /* the current block's free space */
    size_t left;
    size_t next_block;            /* the size of the next block taken */
    pb_arena_block *blocks;       /* taken from malloc, newest first */
    _Alignas(16) uint8_t inline_space[PB_ARENA_INLINE];
} pb_arena;

/* An empty arena. Messages unpacked with it need no free_unpacked: pb_arena_release frees
 * them all, and nothing of them may be used after it. */
void pb_arena_init(pb_arena *a);
void pb_arena_release(pb_arena *a);
/* How many blocks it took from malloc beyond its own space. */
size_t pb_arena_blocks(const pb_arena *a);

#endif
