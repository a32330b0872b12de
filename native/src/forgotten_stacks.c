// SPDX-License-Identifier: Apache-2.0
#include "forgotten_stacks.h"

#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>

#include "memleak.h"
#include "mmap_arena.h"

/*
 * The stacks forgotten at the last report, until the next settles them: their ids (ascending) and, for the i-th,
 * frames[starts[i]] up to frames[starts[i + 1]]. One mapping (not malloc: this is the reporter's memory, and an
 * interval's worth of it), sized for the worst case and touched only as far as frames are written.
 */
struct forgotten_set {
	void *mapping;
	size_t mapped;
	uint64_t *ids;
	uint64_t *frames;
	uint32_t *starts;
	size_t n;
};

static struct mmap_arena arena;
static struct forgotten_set forgotten;

/* The index of id in sorted[0..n), or -1. */
static long index_of(const uint64_t *sorted, size_t n, uint64_t id)
{
	size_t low = 0, high = n;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (sorted[mid] < id)
			low = mid + 1;
		else if (sorted[mid] > id)
			high = mid;
		else
			return (long)mid;
	}
	return -1;
}

/* Whether the stored_stacks slot of id remembers it. */
static bool remembered(const struct stack_maps *maps, uint64_t id)
{
	uint32_t slot = stored_stack_slot(id);
	uint64_t stored;

	return bpf_map_lookup_elem(maps->stored_fd, &slot, &stored) == 0 && stored == id;
}

void forgotten_stacks_drop(void)
{
	mmap_arena_unmap(&arena, forgotten.mapping, forgotten.mapped);
	forgotten = (struct forgotten_set){ 0 };
}

long forgotten_stacks_forget(const struct stack_maps *maps, const uint64_t *ids, size_t n)
{
	size_t bytes;
	uint32_t kept = 0, used = 0;

	if (forgotten.mapping)
		return -EBUSY;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX / MAX_STACK_DEPTH)
		n = UINT32_MAX / MAX_STACK_DEPTH;
	bytes = mmap_arena_page_round(n * sizeof(uint64_t) + (n + 1) * sizeof(uint32_t) +
				      n * MAX_STACK_DEPTH * sizeof(uint64_t) + sizeof(uint64_t));
	forgotten.mapping = mmap_arena_map(&arena, bytes);
	if (!forgotten.mapping)
		return -ENOMEM;
	forgotten.mapped = bytes;
	forgotten.ids = forgotten.mapping;
	forgotten.frames = forgotten.ids + n;
	forgotten.starts = (uint32_t *)(forgotten.frames + n * MAX_STACK_DEPTH);

	for (size_t i = 0; i < n; i++) {
		uint32_t slot = stored_stack_slot(ids[i]);
		uint64_t none = 0;
		struct stack_trace trace;
		uint32_t frames = 0;

		if (i > 0 && ids[i] <= ids[i - 1])
			continue; /* the lookups by id need them ascending; the caller sorts them */
		/* The slot first: a program that misses it from now on stores the stack again if it is gone. */
		if (remembered(maps, ids[i]))
			bpf_map_update_elem(maps->stored_fd, &slot, &none, BPF_ANY);
		if (bpf_map_lookup_elem(maps->stacks_fd, &ids[i], &trace) || bpf_map_delete_elem(maps->stacks_fd, &ids[i]))
			continue; /* not stored (forgotten before, or never stored) */
		if (maps->combined_fd >= 0)
			bpf_map_delete_elem(maps->combined_fd, &ids[i]);
		while (frames < MAX_STACK_DEPTH && trace.ips[frames])
			frames++;
		forgotten.ids[kept] = ids[i];
		forgotten.starts[kept] = used;
		memcpy(forgotten.frames + used, trace.ips, frames * sizeof(uint64_t));
		used += frames;
		kept++;
	}
	forgotten.starts[kept] = used;
	forgotten.n = kept;
	if (!kept)
		forgotten_stacks_drop();
	return kept;
}

long forgotten_stacks_settle(const struct stack_maps *maps, const uint64_t *referenced, size_t n)
{
	long restored = 0;

	for (size_t i = 0; i < forgotten.n; i++) {
		uint64_t id = forgotten.ids[i];
		struct stack_trace trace = { { 0 } };

		if (index_of(referenced, n, id) < 0 && !remembered(maps, id))
			continue;
		memcpy(trace.ips, forgotten.frames + forgotten.starts[i],
		       (forgotten.starts[i + 1] - forgotten.starts[i]) * sizeof(uint64_t));
		/* EEXIST: a program stored it again itself. Full: its allocations read as "stack not recorded". */
		if (bpf_map_update_elem(maps->stacks_fd, &id, &trace, BPF_NOEXIST) == 0)
			restored++;
	}
	forgotten_stacks_drop();
	return restored;
}

int forgotten_stacks_read(uint64_t id, uint64_t *out, size_t capacity)
{
	long index = forgotten.mapping ? index_of(forgotten.ids, forgotten.n, id) : -1;
	uint32_t frames;

	if (index < 0)
		return 0;
	frames = forgotten.starts[index + 1] - forgotten.starts[index];
	if (frames > capacity)
		frames = (uint32_t)capacity;
	memcpy(out, forgotten.frames + forgotten.starts[index], frames * sizeof(uint64_t));
	return (int)frames;
}
