// SPDX-License-Identifier: Apache-2.0
/* See string_table.h. Open addressing with linear probing, at most half full. */
#include "string_table.h"

#include <string.h>

struct string_slot {
    uint64_t hash;
    const char *text;
};

static uint64_t hash_bytes(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    }
    return h | 1;  /* 0 marks an empty slot */
}

static int rehash(struct string_table *table, uint32_t cap) {
    struct string_slot *fresh = mmap_arena_map(table->arena, mmap_arena_page_round((size_t)cap * sizeof(*fresh)));
    if (fresh == NULL) {
        return -1;
    }
    for (uint32_t i = 0; i < table->capacity; i++) {
        if (table->slots[i].hash != 0) {
            uint32_t j = (uint32_t)table->slots[i].hash & (cap - 1);
            while (fresh[j].hash != 0) {
                j = (j + 1) & (cap - 1);
            }
            fresh[j] = table->slots[i];
        }
    }
    mmap_arena_unmap(table->arena, table->slots, mmap_arena_page_round((size_t)table->capacity * sizeof(*fresh)));
    table->slots = fresh;
    table->capacity = cap;
    return 0;
}

const char *string_table_intern(struct string_table *table, const char *s, size_t len) {
    if ((table->count + 1) * 2 > table->capacity
            && rehash(table, table->capacity == 0 ? 4096 : table->capacity * 2) != 0) {
        return NULL;
    }
    uint64_t h = hash_bytes(s, len);
    uint32_t j = (uint32_t)h & (table->capacity - 1);
    struct string_slot *slots = table->slots;
    while (slots[j].hash != 0) {
        if (slots[j].hash == h && strncmp(slots[j].text, s, len) == 0 && slots[j].text[len] == '\0') {
            return slots[j].text;
        }
        j = (j + 1) & (table->capacity - 1);
    }
    char *copy = mmap_arena_alloc(table->arena, len + 1);
    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    slots[j].hash = h;
    slots[j].text = copy;
    table->count++;
    return copy;
}
