package dev.memleak4j.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;
import jdk.jfr.Timestamp;
import jdk.jfr.Unsigned;

/**
 * One of the top stacks of memleak4j's latest report. The event's own stack trace would be JFR's periodic thread,
 * so it has none: the allocating stack is carried as text, with its top Java and top native frame as fields to group
 * by.
 */
@Name(OutstandingStackEvent.NAME)
@Label("Outstanding Native Allocations by Stack")
@Description("A call stack holding outstanding (not freed) native allocations, one event per stack of memleak4j's "
        + "latest report, most outstanding bytes first")
@Category({"memleak4j", "Native Memory"})
@StackTrace(false)
@Period("5 s")
public final class OutstandingStackEvent extends Event {
    public static final String NAME = "memleak4j.OutstandingStack";

    @Label("Snapshot Time")
    @Description("When memleak4j took the snapshot this stack comes from")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long snapshotTime;

    @Label("Rank")
    @Description("1 for the stack with the most outstanding bytes")
    public int rank;

    @Label("Stack Id")
    @Description("memleak4j's key for the stack (a hash of its frames; 0: allocations tracked without a stack)")
    @Unsigned
    public long stackId;

    @Label("Outstanding")
    @Description("Bytes allocated from this stack and not freed (an estimate when sampling)")
    @DataAmount
    public long bytes;

    @Label("Outstanding Allocations")
    @Description("Allocations from this stack not freed (an estimate when sampling)")
    public long allocations;

    @Label("Estimated")
    @Description("True when amounts are scaled from sampled allocations")
    public boolean estimated;

    @Label("Oldest Age")
    @Description("Age of the oldest outstanding allocation of this stack (N/A in combined-only mode)")
    @Timespan(Timespan.NANOSECONDS)
    public long oldestAge;

    @Label("Growth")
    @Description("Change of the outstanding bytes since the previous report interval (a stack that was not among "
            + "the previous top stacks counts from 0)")
    @DataAmount
    public long growth;

    @Label("Allocation Growth")
    @Description("Change of the outstanding allocations since the previous report interval")
    public long allocationGrowth;

    @Label("Top Java Frame")
    @Description("The Java method nearest to the allocator on this stack, if any")
    public String topJavaFrame;

    @Label("Top Native Frame")
    @Description("The allocator's direct caller: function [library]")
    public String topNativeFrame;

    @Label("Frames")
    @Description("Frames on the stack")
    public int frameCount;

    @Label("Stack")
    @Description("The merged stack, the allocator's direct caller first, one frame a line, as the text report "
            + "prints it")
    public String stack;
}
