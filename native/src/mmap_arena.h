/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for the agent's long-lived native tables that comes from anonymous mappings, never from malloc.
 *
 * Why not malloc: memleak4j tracks malloc on every thread but its reporter thread, and the tables are filled on the
 * JVM's own threads (JVMTI events on compiler threads, the service thread), so a table kept in malloc'ed memory would
 * show up in memleak4j's own report as the application's outstanding allocations. mmap is not an allocator function
 * the probes see.
 *
 * Three kinds of memory, all counted in mapped_bytes: a bump arena for what lives forever (16-byte aligned);
 * blocks that can be freed, in power-of-two size classes carved from the arena and recycled through free lists
 * (bigger blocks are mappings of their own); and growable arrays, each in a mapping of its own.
 *
 * Not thread-safe: the owner serializes every call (the code map holds its lock). Memory is never unmapped except
 * for freed big blocks and the old copy of a grown array, so pointers into the arena stay valid without the lock.
 */
#ifndef MEMLEAK4J_MMAP_ARENA_H
#define MEMLEAK4J_MMAP_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define MMAP_ARENA_BLOCK_CLASSES 11

struct mmap_arena {
    char *cur;
    size_t left;
    void *free_blocks[MMAP_ARENA_BLOCK_CLASSES];
    uint64_t mapped_bytes; /* everything currently mapped through this arena */
};

static inline size_t mmap_arena_page_round(size_t n) {
    return (n + 4095) & ~(size_t)4095;
}

/* n bytes (a multiple of the page size) in a mapping of their own, zeroed; NULL when mmap failed. */
void *mmap_arena_map(struct mmap_arena *arena, size_t n);

/* Gives back a mapping from mmap_arena_map of n bytes; p may be NULL. */
void mmap_arena_unmap(struct mmap_arena *arena, void *p, size_t n);

/* n bytes that are never given back, 16-byte aligned, zeroed; NULL when out of memory. */
void *mmap_arena_alloc(struct mmap_arena *arena, size_t n);

/* n bytes that mmap_arena_free_block gives back; NULL when out of memory. */
void *mmap_arena_block(struct mmap_arena *arena, size_t n);

/* Gives back a block from mmap_arena_block; p may be NULL. */
void mmap_arena_free_block(struct mmap_arena *arena, void *p);

/*
 * Makes *array (of *capacity elements of element bytes, in a mapping of its own) hold at least needed elements:
 * doubles from 1024, copying; 0, or -1 (array unchanged) when out of memory.
 */
int mmap_arena_grow(struct mmap_arena *arena, void **array, uint32_t *capacity, size_t element, uint32_t needed);

#endif
