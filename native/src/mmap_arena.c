// SPDX-License-Identifier: Apache-2.0
/* See mmap_arena.h. */
#define _GNU_SOURCE
#include "mmap_arena.h"

#include <string.h>
#include <sys/mman.h>

#define ARENA_CHUNK ((size_t)1 << 20)
/* A block's header holds its size class, or for a block in a mapping of its own, the mapping's size. */
#define BLOCK_HEADER 16

void *mmap_arena_map(struct mmap_arena *arena, size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    arena->mapped_bytes += n;
    return p;
}

void mmap_arena_unmap(struct mmap_arena *arena, void *p, size_t n) {
    if (p != NULL && munmap(p, n) == 0) {
        arena->mapped_bytes -= n;
    }
}

void *mmap_arena_alloc(struct mmap_arena *arena, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n > ARENA_CHUNK / 4) {
        return mmap_arena_map(arena, mmap_arena_page_round(n));
    }
    if (n > arena->left) {
        char *chunk = mmap_arena_map(arena, ARENA_CHUNK);
        if (chunk == NULL) {
            return NULL;
        }
        arena->cur = chunk;
        arena->left = ARENA_CHUNK;
    }
    void *p = arena->cur;
    arena->cur += n;
    arena->left -= n;
    return p;
}

/* Size classes from 64 B to 64 KiB. */
void *mmap_arena_block(struct mmap_arena *arena, size_t n) {
    if (n > ((size_t)1 << 32)) {
        return NULL;
    }
    size_t total = n + BLOCK_HEADER;
    for (uint64_t c = 0; c < MMAP_ARENA_BLOCK_CLASSES; c++) {
        size_t size = (size_t)64 << c;
        if (total <= size) {
            char *block = arena->free_blocks[c];
            if (block != NULL) {
                arena->free_blocks[c] = *(void **)block;
            } else {
                block = mmap_arena_alloc(arena, size);
                if (block == NULL) {
                    return NULL;
                }
            }
            *(uint64_t *)block = c;
            return block + BLOCK_HEADER;
        }
    }
    size_t size = mmap_arena_page_round(total);
    char *block = mmap_arena_map(arena, size);
    if (block == NULL) {
        return NULL;
    }
    *(uint64_t *)block = size;
    return block + BLOCK_HEADER;
}

void mmap_arena_free_block(struct mmap_arena *arena, void *p) {
    if (p == NULL) {
        return;
    }
    char *block = (char *)p - BLOCK_HEADER;
    uint64_t header = *(uint64_t *)block;
    if (header < MMAP_ARENA_BLOCK_CLASSES) {
        *(void **)block = arena->free_blocks[header];
        arena->free_blocks[header] = block;
    } else {
        mmap_arena_unmap(arena, block, header);
    }
}

int mmap_arena_grow(struct mmap_arena *arena, void **array, uint32_t *capacity, size_t element, uint32_t needed) {
    if (needed <= *capacity) {
        return 0;
    }
    uint32_t cap = *capacity == 0 ? 1024 : *capacity;
    while (cap < needed) {
        if (cap > (UINT32_MAX >> 1)) {
            return -1;
        }
        cap *= 2;
    }
    void *fresh = mmap_arena_map(arena, mmap_arena_page_round((size_t)cap * element));
    if (fresh == NULL) {
        return -1;
    }
    if (*array != NULL) {
        memcpy(fresh, *array, (size_t)*capacity * element);
        mmap_arena_unmap(arena, *array, mmap_arena_page_round((size_t)*capacity * element));
    }
    *array = fresh;
    *capacity = cap;
    return 0;
}
