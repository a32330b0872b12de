/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forgetting stacks that nothing outstanding names, so that `stacks` (never emptied by the BPF side) does not fill up
 * in a long run: dev.memleak4j.agent.report.SnapshotCollector chooses them at a periodic report, this takes them out
 * of the maps and keeps their frames until the next report, which says which of them were named after all.
 *
 * Why keep the frames: a BPF program already running when a stack is forgotten may have found its id in
 * `stored_stacks` (or found it in `stacks`, and fill the slot after it was cleared), and records an allocation under
 * an id that is no longer stored. Once every such program is done (the next report comes an interval later), the
 * stacks that an outstanding allocation or a slot names go back into `stacks`; the rest are gone for good.
 *
 * Called from the reporter's thread only, under the collector's lock: not thread-safe.
 */
#ifndef MEMLEAK4J_FORGOTTEN_STACKS_H
#define MEMLEAK4J_FORGOTTEN_STACKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The maps the stacks are taken out of and put back into (file descriptors); combined_fd < 0 keeps the counters. */
struct stack_maps {
	int stacks_fd;
	int combined_fd;
	int stored_fd;
};

/*
 * Forgets the stacks of ids (sorted, ascending): clears the stored_stacks slots that remember them, deletes them from
 * `stacks` (and their counters from `combined`), keeping their frames. Returns how many were forgotten (ids no longer
 * stored are skipped), or -EBUSY while the last ones forgotten are not settled (forgotten_stacks_settle), -ENOMEM.
 */
long forgotten_stacks_forget(const struct stack_maps *maps, const uint64_t *ids, size_t n);

/*
 * Puts back the forgotten stacks that referenced (sorted, ascending) or a stored_stacks slot names, and lets the
 * others go. Returns how many were put back.
 */
long forgotten_stacks_settle(const struct stack_maps *maps, const uint64_t *referenced, size_t n);

/* The frames of a forgotten stack not settled yet, as tracker_read_stack gives them; 0 when it is not one. */
int forgotten_stacks_read(uint64_t id, uint64_t *out, size_t capacity);

/* Lets every forgotten stack go without putting any back (the tracker closes). */
void forgotten_stacks_drop(void);

#endif
