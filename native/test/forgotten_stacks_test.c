// SPDX-License-Identifier: Apache-2.0
/*
 * forgotten_stacks.c against real kernel maps of the BPF side's shapes (created here, no program attached): what is
 * taken out, what the next report puts back, and the races it is there for, played one step at a time. Needs
 * CAP_BPF to create maps: without it, it says so and passes (`make check`, run by the native module's test phase).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "forgotten_stacks.h"
#include "memleak.h"

static int failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                      \
		}                                                                        \
	} while (0)

/* Stack ids are odd hashes (bpf/memleak.bpf.c); these three land in different stored_stacks slots. */
static const uint64_t A = 0x1001, B = 0x2003, C = 0x3005;

static struct stack_trace trace_of(uint64_t id)
{
	struct stack_trace trace = { { 0 } };

	for (uint64_t i = 0; i < (id & 7) + 2; i++)
		trace.ips[i] = (id << 8) + i + 1;
	return trace;
}

static void store(const struct stack_maps *maps, uint64_t id)
{
	struct stack_trace trace = trace_of(id);
	struct combined_info counters = { .alloc_est_bytes = 4096, .alloc_est_count_milli = 1000 };
	uint32_t slot = stored_stack_slot(id);

	CHECK(bpf_map_update_elem(maps->stacks_fd, &id, &trace, BPF_NOEXIST) == 0);
	CHECK(bpf_map_update_elem(maps->combined_fd, &id, &counters, BPF_NOEXIST) == 0);
	CHECK(bpf_map_update_elem(maps->stored_fd, &slot, &id, BPF_ANY) == 0);
}

static bool stored(const struct stack_maps *maps, uint64_t id)
{
	struct stack_trace trace, expected = trace_of(id);

	return bpf_map_lookup_elem(maps->stacks_fd, &id, &trace) == 0 && memcmp(&trace, &expected, sizeof(trace)) == 0;
}

static bool has_counters(const struct stack_maps *maps, uint64_t id)
{
	struct combined_info counters;

	return bpf_map_lookup_elem(maps->combined_fd, &id, &counters) == 0;
}

static uint64_t slot_value(const struct stack_maps *maps, uint64_t id)
{
	uint32_t slot = stored_stack_slot(id);
	uint64_t value = 0;

	bpf_map_lookup_elem(maps->stored_fd, &slot, &value);
	return value;
}

static bool reads_frames(uint64_t id)
{
	struct stack_trace expected = trace_of(id);
	uint64_t frames[MAX_STACK_DEPTH];
	int n = forgotten_stacks_read(id, frames, MAX_STACK_DEPTH);

	return n == (int)(id & 7) + 2 && memcmp(frames, expected.ips, (size_t)n * sizeof(uint64_t)) == 0;
}

int main(void)
{
	struct stack_maps maps = {
		.stacks_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_stacks", sizeof(uint64_t), sizeof(struct stack_trace),
					    64, NULL),
		.combined_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_combined", sizeof(uint64_t),
					      sizeof(struct combined_info), 64, NULL),
		.stored_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_stored", sizeof(uint32_t), sizeof(uint64_t),
					    STORED_STACK_SLOTS, NULL),
	};
	const uint64_t all[] = { A, B, C };
	const uint64_t only_c[] = { C };

	if (maps.stacks_fd < 0 || maps.combined_fd < 0 || maps.stored_fd < 0) {
		printf("forgotten_stacks_test: skipped, cannot create BPF maps (%s): run as root or with CAP_BPF\n",
		       strerror(errno));
		return 0;
	}

	/* Forgetting takes the stacks, their counters and their slots out, and keeps the frames readable. */
	store(&maps, A);
	store(&maps, B);
	store(&maps, C);
	CHECK(forgotten_stacks_forget(&maps, all, 3) == 3);
	CHECK(!stored(&maps, A) && !stored(&maps, B) && !stored(&maps, C));
	CHECK(!has_counters(&maps, A) && !has_counters(&maps, C));
	CHECK(slot_value(&maps, A) == 0 && slot_value(&maps, B) == 0 && slot_value(&maps, C) == 0);
	CHECK(reads_frames(A) && reads_frames(B) && reads_frames(C));
	CHECK(!reads_frames(0x4007));
	/* Until the next report settles them, nothing more is forgotten. */
	CHECK(forgotten_stacks_forget(&maps, only_c, 1) == -EBUSY);

	/*
	 * Meanwhile a probe that had found B in `stacks` before it was taken out fills B's slot again, and one records a
	 * block under C (the report sees C referenced). Settling puts B and C back, with their frames, and lets A go.
	 */
	CHECK(bpf_map_update_elem(maps.stored_fd, &(uint32_t){ stored_stack_slot(B) }, &B, BPF_ANY) == 0);
	CHECK(forgotten_stacks_settle(&maps, only_c, 1) == 2);
	CHECK(!stored(&maps, A) && stored(&maps, B) && stored(&maps, C));
	CHECK(!reads_frames(A) && !reads_frames(C)); /* settled: the kept frames are gone */

	/* A stack the probes stored again themselves is not put back a second time; unknown ids are skipped. */
	CHECK(forgotten_stacks_forget(&maps, only_c, 1) == 1);
	store(&maps, C);
	CHECK(forgotten_stacks_settle(&maps, only_c, 1) == 0);
	CHECK(stored(&maps, C));
	CHECK(forgotten_stacks_forget(&maps, (const uint64_t[]){ A, 0x4007 }, 2) == 0);

	/* Without counters (combined-only), the counters stay. */
	CHECK(forgotten_stacks_forget(&(struct stack_maps){ maps.stacks_fd, -1, maps.stored_fd }, only_c, 1) == 1);
	CHECK(!stored(&maps, C) && has_counters(&maps, C));
	CHECK(forgotten_stacks_settle(&maps, NULL, 0) == 0);
	forgotten_stacks_drop();

	if (failures) {
		fprintf(stderr, "forgotten_stacks_test: %d checks failed\n", failures);
		return 1;
	}
	printf("forgotten_stacks_test: passed\n");
	return 0;
}
