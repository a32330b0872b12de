package dev.memleak4j.agent.report;

import dev.memleak4j.agent.bpf.BpfTracker;
import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.lang.LongLongMap;

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Keeps the kernel's stack map from filling up in a long run. The BPF programs store each new stack and never take one
 * out (their cache of stored ids relies on that), so a process whose code keeps moving (the JIT recompiling, libraries
 * loaded and unloaded, {@code sample-bytes=0} reaching every path) would fill max-stacks after hours or days, and
 * report every new stack's blocks without frames from then on.
 *
 * <p>Once the map is half full (or a stack found it full), a periodic report forgets the stacks that nothing
 * outstanding names and that allocated nothing since the report before: native/src/forgotten_stacks.c takes them out
 * of the maps and keeps their frames until the next report, which puts back those that an allocation recorded in
 * between names. A forgotten stack that allocates again is stored again, under the same id (the id is a hash of its
 * frames), so the reports' names and histories by id are not disturbed.
 */
final class StackForgetting {
    /** Settling waits this long at least after forgetting: the probes that ran meanwhile take microseconds. */
    private static final long SETTLE_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final BpfTracker tracker;
    private final long maxStacks;
    /** When the last forgetting was, while its stacks are not settled. */
    private long unsettledSinceNanos = -1;
    /** The stack-map-full count at the last report: when it grows, the map needs room whatever the fill says. */
    private long stackMapFullBefore;
    /**
     * With combined-only, forgetting keeps a stack's counters (they are what the report shows): the stacks forgotten
     * so, with what they had allocated then (count/1000), so that a stack is forgotten again only once it allocated.
     */
    private final LongLongMap forgottenKeepingCounters = new LongLongMap();

    StackForgetting(BpfTracker tracker, long maxStacks) {
        this.tracker = tracker;
        this.maxStacks = maxStacks;
    }

    /**
     * Puts back the stacks forgotten at an earlier report that {@code referenced} (the stack ids outstanding
     * allocations have now) or the kernel's cache names.
     */
    void settle(long[] referenced) {
        if (unsettledSinceNanos >= 0 && System.nanoTime() - unsettledSinceNanos >= SETTLE_AFTER_NANOS) {
            tracker.settleForgottenStacks(referenced);
            unsettledSinceNanos = -1;
        }
    }

    /**
     * Forgets the idle stacks when the map needs it. {@code allocatedBefore}: (stack id, allocated bytes, count/1000)
     * triples of the report before (what tells an idle stack); {@code referenced}: the stack ids of what is
     * outstanding now, sorted; {@code keepCounters}: combined-only. Returns the stacks forgotten with their counters
     * (their allocated-since-the-baseline starts over), an empty array when none.
     */
    long[] forgetIdle(BpfTracker.StackCounters[] counters, long[] allocatedBefore, long[] referenced, long[] stats,
                      boolean keepCounters) {
        long stackMapFull = stats[Stat.DROPPED_STACKS_FULL.ordinal()];
        boolean foundFull = stackMapFull > stackMapFullBefore;
        stackMapFullBefore = stackMapFull;
        if (unsettledSinceNanos >= 0 || (!foundFull && stored(stats) < maxStacks / 2)) {
            return new long[0];
        }
        long[] idle = idle(counters, allocatedBefore, referenced, keepCounters ? forgottenKeepingCounters : null);
        if (idle.length == 0 || tracker.forgetStacks(idle, !keepCounters) < 0) {
            return new long[0];
        }
        unsettledSinceNanos = System.nanoTime();
        if (keepCounters) {
            for (BpfTracker.StackCounters c : counters) {
                if (Arrays.binarySearch(idle, c.stackId()) >= 0) {
                    forgottenKeepingCounters.put(c.stackId(), c.allocatedCountMilli());
                }
            }
            return new long[0];
        }
        return idle;
    }

    /**
     * Whether the stack of {@code id}, with these counters, was forgotten keeping them (combined-only) and has not
     * allocated since: its frames are gone, its counters not.
     */
    boolean forgottenKeepingCounters(long id, long allocatedCountMilli) {
        return forgottenKeepingCounters.get(id, -1) == allocatedCountMilli;
    }

    /** The stacks in the kernel's map now, by the counters of what went in and out. */
    static long stored(long[] stats) {
        return stats[Stat.STACKS_STORED.ordinal()] - stats[Stat.STACKS_FORGOTTEN.ordinal()]
                + stats[Stat.STACKS_RESTORED.ordinal()];
    }

    /**
     * The stacks that can be forgotten, sorted: nothing outstanding names them (with {@code forgottenKeepingCounters},
     * i.e. combined-only, their counters say so; otherwise {@code referenced}, from the allocations themselves), they
     * allocated nothing since the report before ({@code allocatedBefore}'s triples), and (combined-only) they were
     * not forgotten already since.
     */
    static long[] idle(BpfTracker.StackCounters[] counters, long[] allocatedBefore, long[] referenced,
                       LongLongMap forgottenKeepingCounters) {
        LongLongMap before = new LongLongMap();
        for (int i = 0; i < allocatedBefore.length; i += 3) {
            before.put(allocatedBefore[i], allocatedBefore[i + 2]);
        }
        long[] idle = new long[counters.length];
        int n = 0;
        for (BpfTracker.StackCounters c : counters) {
            long id = c.stackId();
            boolean outstanding = forgottenKeepingCounters != null
                    ? c.count() != 0 || c.estimatedCountMilli() != 0 || c.bytes() != 0
                    : Arrays.binarySearch(referenced, id) >= 0;
            if (id == 0 || outstanding || before.get(id, -1) != c.allocatedCountMilli()
                    || (forgottenKeepingCounters != null
                            && forgottenKeepingCounters.get(id, -1) == c.allocatedCountMilli())) {
                continue;
            }
            idle[n++] = id;
        }
        long[] sorted = Arrays.copyOf(idle, n);
        Arrays.sort(sorted);
        return sorted;
    }
}
