package dev.memleak4j.agent.report;

import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.leaks.LeakDetector;
import dev.memleak4j.agent.memory.MemoryVerdict;

import java.time.Instant;
import java.util.List;

/**
 * What memleak4j knows at one moment: the top stacks and the counters. Every output (text report, JSON, JFR,
 * JMX) is made from one of these.
 *
 * @param time          wall-clock time of the snapshot
 * @param stacks        the top stacks, most outstanding bytes first
 * @param stackCount    how many stacks had outstanding allocations (before the top cut)
 * @param totalBytes    outstanding bytes over all stacks (estimate when sampled)
 * @param totalCount    outstanding allocations over all stacks (estimate when sampled)
 * @param sampleRate    one allocation in sampleRate tracked (1: every one)
 * @param sampleBytes   &gt; 0: sampled by bytes, an allocation of s bytes tracked with probability s/sampleBytes
 * @param sampleBytesNow the interval new allocations are chosen under: sampleBytes, or more while max-tracked
 *                      holds the tracked rate down (what is already tracked keeps the weight it was chosen with)
 * @param stats         the kernel's counters, indexed by {@link Stat} ordinal (raw, not scaled)
 * @param trackingSince when the probes were attached
 * @param top           how many stacks were asked for
 * @param allStacks     every stack with outstanding allocations, most bytes first, when the collector was asked for
 *                      them (the views that draw the whole picture: flame graph, pprof, JFR file); else the same list
 *                      as {@code stacks}
 * @param freedStacks   with {@code allStacks}: the stacks that allocated since the baseline but hold nothing now, most
 *                      bytes allocated first, at most {@link SnapshotCollector#MAX_FREED_STACKS} (pprof's alloc_*
 *                      values); else empty
 * @param freedStackCount how many such stacks there were (before that cut); -1 when not looked for (a snapshot of the
 *                      top stacks only, or one read from JSON)
 * @param atExit        taken when the JVM exited: what was still outstanding then
 * @param leaks         the leak suspects and how the other stacks behave; null in a snapshot taken on demand
 * @param memory        the verdict on the process's memory; null in a snapshot taken on demand
 */
public record Snapshot(Instant time, List<StackReport> stacks, int stackCount, long totalBytes, long totalCount,
                       long sampleRate, long sampleBytes, long sampleBytesNow, long[] stats, Instant trackingSince, int top,
                       List<StackReport> allStacks, List<StackReport> freedStacks, int freedStackCount,
                       boolean atExit, LeakDetector.Verdicts leaks, MemoryVerdict memory) {
    /** The same snapshot, marked as the one taken when the JVM exited. */
    public Snapshot asExitReport() {
        return new Snapshot(time, stacks, stackCount, totalBytes, totalCount, sampleRate, sampleBytes, sampleBytesNow,
                stats, trackingSince, top, allStacks, freedStacks, freedStackCount, true, leaks, memory);
    }

    /**
     * Whether {@link #allStacks()} holds every stack with outstanding allocations (not only the top ones) and
     * {@link #freedStacks()} was filled: what the views need.
     */
    public boolean complete() {
        return allStacks.size() >= stackCount && freedStackCount >= 0;
    }

    public boolean estimated() {
        return sampleRate > 1 || sampleBytes > 0;
    }

    public long stat(Stat stat) {
        return stats[stat.ordinal()];
    }

    /** Allocations the kernel side saw but could not track or could not give a stack. */
    public long dropped() {
        return stat(Stat.DROPPED_ALLOCS_FULL) + stat(Stat.DROPPED_NO_PENDING) + stat(Stat.DROPPED_STACKS_FULL)
                + stat(Stat.DROPPED_STACK_ERROR) + stat(Stat.DROPPED_COMBINED_FULL);
    }
}
