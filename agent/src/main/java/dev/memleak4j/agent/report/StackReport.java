package dev.memleak4j.agent.report;

import dev.memleak4j.agent.stacks.Frame;

import java.util.List;

/**
 * Outstanding allocations grouped by the stack that made them. Bytes and counts are unbiased estimates when the
 * snapshot is sampled ({@link Snapshot#estimated()}); {@code trackedCount} is what was really recorded.
 *
 * @param stackId          the stack's id, a hash of what its frames name, the same in every report
 *                         ({@link dev.memleak4j.agent.stacks.StackIdentity}); 0: stack not stored
 * @param bytes            outstanding bytes
 * @param count            outstanding allocations
 * @param trackedCount     outstanding allocations actually tracked (equals count without sampling)
 * @param trackedBytes     their bytes
 * @param oldestAgeNanos   age of the oldest outstanding allocation, -1 when unknown (combined-only)
 * @param frames           the allocator's direct caller first
 * @param allocations      the outstanding allocations (only with show-allocs), largest first
 * @param allocatedBytes   bytes allocated on this stack since the baseline, freed or not (estimated like
 *                         {@code bytes}); -1 when unknown (e.g. read from a JSON snapshot of an older version)
 * @param allocatedCount   allocations made on this stack since the baseline, freed or not; -1 when unknown
 */
public record StackReport(long stackId, long bytes, long count, long trackedCount, long trackedBytes,
                          long oldestAgeNanos, List<Frame> frames, List<Allocation> allocations,
                          long allocatedBytes, long allocatedCount) {
    /**
     * Whether sampling scaled this stack's numbers. Under sampling by bytes a stack whose allocations are all at
     * least the sampling interval is tracked exactly, and says so.
     */
    public boolean estimated() {
        return count != trackedCount || bytes != trackedBytes;
    }
}
