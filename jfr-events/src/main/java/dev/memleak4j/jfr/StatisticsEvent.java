package dev.memleak4j.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Frequency;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Percentage;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timestamp;

/**
 * memleak4j's counters at its latest report. Periodic: the agent commits it from the snapshot its reporter thread
 * took last, so the values are as old as {@link #snapshotTime}. "Since" counters start at the baseline (the probes'
 * attach, or the MBean's resetBaseline).
 */
@Name(StatisticsEvent.NAME)
@Label("Native Memory Statistics")
@Description("Outstanding native allocations of this JVM as memleak4j's probes see them, with totals since the "
        + "baseline, rates and losses, from memleak4j's latest report")
@Category({"memleak4j", "Native Memory"})
@StackTrace(false)
@Period("5 s")
public final class StatisticsEvent extends Event {
    public static final String NAME = "memleak4j.Statistics";

    @Label("Snapshot Time")
    @Description("When memleak4j took the snapshot these values come from")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long snapshotTime;

    @Label("Probe Mode")
    @Description("running (with the sampling and reading mode) or stopped, with the reason")
    public String probeMode;

    @Label("Probes Attached")
    @Description("Uprobes attached to the allocator now (entry and return probes)")
    public int probesAttached;

    @Label("Allocator")
    @Description("The library whose allocator functions are probed")
    public String allocator;

    @Label("Outstanding")
    @Description("Bytes allocated and not freed, over all stacks (an estimate when sampling)")
    @DataAmount
    public long outstandingBytes;

    @Label("Outstanding Allocations")
    @Description("Allocations not freed, over all stacks (an estimate when sampling)")
    public long outstandingAllocations;

    @Label("Stacks")
    @Description("Distinct stacks holding outstanding allocations")
    public int stacks;

    @Label("Estimated")
    @Description("True when only one allocation in Sample Rate is tracked: amounts are scaled estimates")
    public boolean estimated;

    @Label("Sample Rate")
    @Description("One allocation in this many is tracked (1: all)")
    public long sampleRate;

    @Label("Allocated")
    @Description("Bytes allocated since the baseline, in the tracked size range (an estimate when sampling)")
    @DataAmount
    public long bytesAllocated;

    @Label("Freed")
    @Description("Bytes of tracked allocations freed since the baseline (an estimate when sampling)")
    @DataAmount
    public long bytesFreed;

    @Label("Allocation Calls")
    @Description("Calls of the allocator functions since the baseline, outside memleak4j's own thread")
    public long allocationCalls;

    @Label("Failed Allocations")
    @Description("Allocator calls that returned NULL since the baseline")
    public long failedAllocations;

    @Label("Allocation Rate")
    @Description("Bytes allocated per second during the last report interval (an estimate when sampling)")
    @DataAmount
    @Frequency
    public long allocationRate;

    @Label("Allocation Call Rate")
    @Description("Allocator calls per second during the last report interval")
    @Frequency
    public long allocationCallRate;

    @Label("Not Tracked")
    @Description("Allocations since the baseline that could not be tracked: allocation map full, or a return "
            + "probe without its entry")
    public long allocationsNotTracked;

    @Label("Tracked Without Stack")
    @Description("Allocations since the baseline tracked without their stack: stack map full or walk failed")
    public long allocationsWithoutStack;

    @Label("Allocation Map Fill")
    @Description("How full the kernel's map of outstanding allocations is (max-allocs)")
    @Percentage
    public double allocationMapFill;

    @Label("BPF Map Memory")
    @Description("Kernel memory held by memleak4j's BPF maps")
    @DataAmount
    public long mapMemory;

    @Label("Memory Verdict")
    @Description("The report's verdict on the process's memory: native-leak, arena-retention, untracked-malloc, "
            + "outside-malloc, nothing-growing or too-early, with its figures")
    public String memoryVerdict;

    @Label("Resident Set")
    @Description("The process's RSS at the report")
    @DataAmount
    public long rss;
}
