/* The unpack arena (pb_arena.h). */
#include "pb_arena.h"

#include <stdlib.h>
#include <string.h>

/* Every piece is 16-byte aligned, as malloc's are: protobuf-c puts 64-bit fields and
 * doubles in them. */
#define PB_ARENA_ALIGN 16u

struct pb_arena_block {
    pb_arena_block *next;
    _Alignas(16) uint8_t space[];
};

static size_t pb_arena_round(size_t n)
{
    return (n + (PB_ARENA_ALIGN - 1)) & ~(size_t)(PB_ARENA_ALIGN - 1);
}

/* A block of at least `need` bytes, and twice the last one's size while requests grow, so
 * that a large request takes a few blocks, not one per piece. NULL when out of memory,
 * which protobuf-c reports as a failed unpack. */
static void *pb_arena_alloc(void *data, size_t size)
{
    pb_arena *a = data;
    if (size > SIZE_MAX - 2 * PB_ARENA_ALIGN - sizeof(pb_arena_block))
        return NULL;
    size_t n = pb_arena_round(size == 0 ? 1 : size);
    if (n > a->left) {
        size_t want = a->next_block;
        if (want < n)
            want = n;
        pb_arena_block *b = malloc(sizeof *b + want);
        if (b == NULL)
            return NULL;
        b->next = a->blocks;
        a->blocks = b;
        a->at = b->space;
        a->left = want;
        if (a->next_block <= SIZE_MAX / 4)
            a->next_block *= 2;
    }
    void *p = a->at;
    a->at += n;
    a->left -= n;
    return p;
}

/* Pieces are freed with their arena. */
static void pb_arena_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void pb_arena_init(pb_arena *a)
{
    a->allocator.alloc = pb_arena_alloc;
    a->allocator.free = pb_arena_free;
    a->allocator.allocator_data = a;
    a->at = a->inline_space;
    a->left = sizeof a->inline_space;
    a->next_block = 4 * sizeof a->inline_space;
    a->blocks = NULL;
}

void pb_arena_release(pb_arena *a)
{
    while (a->blocks != NULL) {
        pb_arena_block *b = a->blocks;
        a->blocks = b->next;
        free(b);
    }
    pb_arena_init(a);
}

size_t pb_arena_blocks(const pb_arena *a)
{
    size_t n = 0;
    for (const pb_arena_block *b = a->blocks; b != NULL; b = b->next)
        n++;
    return n;
}
