/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interned strings (class, method, source file and stub names of the code map): one NUL-terminated copy of each,
 * shared by everyone who names it and never freed, so a pointer handed out stays valid for the life of the process.
 * The copies and the hash table live in an mmap_arena (see mmap_arena.h for why not malloc).
 *
 * Not thread-safe: the owner serializes every call.
 */
#ifndef MEMLEAK4J_STRING_TABLE_H
#define MEMLEAK4J_STRING_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "mmap_arena.h"

struct string_slot;

struct string_table {
    struct mmap_arena *arena;
    struct string_slot *slots;
    uint32_t capacity, count;
};

/* The interned copy of the len bytes at s (which need no NUL); NULL when out of memory. */
const char *string_table_intern(struct string_table *table, const char *s, size_t len);

#endif
