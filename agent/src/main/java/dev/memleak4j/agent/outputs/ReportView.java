package dev.memleak4j.agent.outputs;

import dev.memleak4j.agent.bpf.Stat;
import dev.memleak4j.agent.lang.Instants;
import dev.memleak4j.agent.report.Snapshot;
import dev.memleak4j.agent.report.StackReport;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One report as the JFR events, the MBean and the JSON document show it: the snapshot, the agent's state at the
 * report, and what needs the previous report or the baseline (growth, rates, "since" counters). Made on the reporter
 * thread, read from any thread.
 */
public final class ReportView {
    /** Where "since" counters and growth since the baseline start: the probes' attach or resetBaseline. */
    public record Baseline(Instant time, Instant trackingSince, long[] stats, Map<Long, long[]> stacks) {
        static Baseline start(Instant trackingSince) {
            return new Baseline(trackingSince, trackingSince, new long[Stat.values().length], Map.of());
        }
    }

    /**
     * A top stack.
     *
     * @param growthBytes            change of outstanding bytes since the previous report (from 0 when the stack
     *                               was not among the previous report's top stacks)
     * @param growthSinceBaselineBytes change since the baseline (from 0 when it was not among the baseline's top)
     */
    public record StackView(int rank, StackReport report, long growthBytes, long growthAllocations,
                            long growthSinceBaselineBytes, String topJavaFrame, String topNativeFrame,
                            String stackText) {}

    private final Snapshot snapshot;
    private final Baseline baseline;
    private final List<StackView> stacks;
    private final long[] sinceBaseline;
    private final long bytesPerSecond;
    private final long callsPerSecond;
    private final AgentState state;
    private final Instant intervalStart;

    private ReportView(Snapshot snapshot, Baseline baseline, List<StackView> stacks, long[] sinceBaseline,
                       long bytesPerSecond, long callsPerSecond, AgentState state, Instant intervalStart) {
        this.snapshot = snapshot;
        this.baseline = baseline;
        this.stacks = stacks;
        this.sinceBaseline = sinceBaseline;
        this.bytesPerSecond = bytesPerSecond;
        this.callsPerSecond = callsPerSecond;
        this.state = state;
        this.intervalStart = intervalStart;
    }

    /**
     * @param previous the view of the previous report, or null
     * @param baseline null for the probes' attach
     */
    static ReportView of(Snapshot snapshot, ReportView previous, Baseline baseline, AgentState state) {
        if (baseline == null || !baseline.trackingSince().equals(snapshot.trackingSince())) {
            baseline = Baseline.start(snapshot.trackingSince());
        }
        // A restart of the probes starts the kernel's counters over: the previous report no longer compares.
        if (previous != null && !previous.snapshot.trackingSince().equals(snapshot.trackingSince())) {
            previous = null;
        }
        Map<Long, StackReport> before = new HashMap<>();
        if (previous != null) {
            for (StackView stack : previous.stacks) {
                before.put(stack.report().stackId(), stack.report());
            }
        }
        List<StackView> stacks = new ArrayList<>(snapshot.stacks().size());
        int rank = 0;
        for (StackReport stack : snapshot.stacks()) {
            StackReport earlier = before.get(stack.stackId());
            long[] atBaseline = baseline.stacks().getOrDefault(stack.stackId(), new long[2]);
            stacks.add(new StackView(++rank, stack, stack.bytes() - (earlier == null ? 0 : earlier.bytes()),
                    stack.count() - (earlier == null ? 0 : earlier.count()), stack.bytes() - atBaseline[0],
                    Frames.topJava(stack.frames()), Frames.topNative(stack.frames()), Frames.text(stack.frames())));
        }
        long[] since = new long[snapshot.stats().length];
        for (int i = 0; i < since.length; i++) {
            since[i] = snapshot.stats()[i] - (i < baseline.stats().length ? baseline.stats()[i] : 0);
        }
        Instant from = previous != null ? previous.snapshot.time() : snapshot.trackingSince();
        long[] fromStats = previous != null ? previous.snapshot.stats() : new long[snapshot.stats().length];
        double seconds = Math.max(Instants.nanosBetween(from, snapshot.time()) / 1e9, 1e-3);
        long bytes = (snapshot.stat(Stat.BYTES_TRACKED) - fromStats[Stat.BYTES_TRACKED.ordinal()]);
        long calls = (snapshot.stat(Stat.ALLOC_CALLS) - fromStats[Stat.ALLOC_CALLS.ordinal()]);
        return new ReportView(snapshot, baseline, List.copyOf(stacks), since,
                Math.round(scale(snapshot, bytes) / seconds), Math.round(calls / seconds), state, from);
    }

    /** The same report against another baseline (resetBaseline). */
    ReportView withBaseline(Baseline newBaseline, ReportView previous) {
        return of(snapshot, previous, newBaseline, state);
    }

    /** The same report, the agent's state changed since (the probes stopped). */
    ReportView withState(AgentState changed) {
        return new ReportView(snapshot, baseline, stacks, sinceBaseline, bytesPerSecond, callsPerSecond, changed,
                intervalStart);
    }

    /** A baseline at this report: its counters and its top stacks' outstanding bytes and counts. */
    Baseline asBaseline(Instant time) {
        Map<Long, long[]> atBaseline = new HashMap<>();
        for (StackReport stack : snapshot.stacks()) {
            atBaseline.put(stack.stackId(), new long[] {stack.bytes(), stack.count()});
        }
        return new Baseline(time, snapshot.trackingSince(), snapshot.stats().clone(), Map.copyOf(atBaseline));
    }

    /** Bytes of tracked allocations scaled back to an estimate of all (sampling by count only; by bytes: raw). */
    private static long scale(Snapshot snapshot, long trackedBytes) {
        return snapshot.sampleBytes() > 0 ? trackedBytes : trackedBytes * snapshot.sampleRate();
    }

    public Snapshot snapshot() {
        return snapshot;
    }

    /** When the interval of this report began: the previous report, or the probes' attach. */
    public Instant intervalStart() {
        return intervalStart;
    }

    public List<StackView> stacks() {
        return stacks;
    }

    public Instant baselineTime() {
        return baseline.time();
    }

    /** A kernel counter since the baseline, raw (not scaled). */
    public long sinceBaseline(Stat stat) {
        return sinceBaseline[stat.ordinal()];
    }

    /** Bytes allocated since the baseline, in the tracked size range; an estimate when sampled by count. */
    public long bytesAllocated() {
        return scale(snapshot, sinceBaseline(Stat.BYTES_TRACKED));
    }

    public long bytesFreed() {
        return scale(snapshot, sinceBaseline(Stat.BYTES_FREED));
    }

    /** Allocations the kernel side could not track since the baseline: map full, or a return without its entry. */
    public long notTracked() {
        return sinceBaseline(Stat.DROPPED_ALLOCS_FULL) + sinceBaseline(Stat.DROPPED_NO_PENDING);
    }

    /** Allocations tracked without their stack since the baseline. */
    public long withoutStack() {
        return sinceBaseline(Stat.DROPPED_STACKS_FULL) + sinceBaseline(Stat.DROPPED_STACK_ERROR);
    }

    public long bytesPerSecond() {
        return bytesPerSecond;
    }

    public long callsPerSecond() {
        return callsPerSecond;
    }

    /** The agent's state at the report (or since, when the probes stopped after it). */
    public AgentState state() {
        return state;
    }

    public long mapMemoryBytes() {
        return state.mapMemoryBytes();
    }

    public int attachedProbes() {
        return state.attachedProbes();
    }

    /** How the probes ran when the report was taken. */
    public String probeMode() {
        return state.probeMode();
    }

    /** Fraction (0..1) of the kernel's allocation map in use. */
    public double allocationMapFill() {
        long inMap = snapshot.stat(Stat.ALLOC_TRACKED) - snapshot.stat(Stat.FREE_TRACKED);
        long maxAllocs = state.maxAllocs();
        return maxAllocs <= 0 ? 0 : Math.max(0, Math.min(1, inMap / (double) maxAllocs));
    }
}
