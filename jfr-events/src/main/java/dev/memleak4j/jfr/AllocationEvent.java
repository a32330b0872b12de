package dev.memleak4j.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.MemoryAddress;
import jdk.jfr.Name;
import jdk.jfr.SettingDefinition;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;
import jdk.jfr.Timestamp;
import jdk.jfr.Unsigned;

/**
 * A tracked allocation of at least {@code minSize} bytes made during the last report interval and still outstanding
 * at its end. Off by default: turning it on makes the agent's reporter thread read every outstanding allocation each
 * interval. With sampling, only sampled allocations are seen.
 */
@Name(AllocationEvent.NAME)
@Label("Outstanding Native Allocation")
@Description("A native allocation of at least Minimum Size made in the last memleak4j report interval and not "
        + "freed at its end (only tracked, i.e. sampled, allocations)")
@Category({"memleak4j", "Native Memory"})
@StackTrace(false)
@Enabled(false)
public final class AllocationEvent extends Event {
    public static final String NAME = "memleak4j.Allocation";

    @Label("Address")
    @Description("Address of the block the allocator returned")
    @MemoryAddress
    public long address;

    @Label("Size")
    @Description("Bytes requested")
    @DataAmount
    public long size;

    @Label("Allocation Time")
    @Description("When the block was allocated")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long allocationTime;

    @Label("Age")
    @Description("Age of the block when memleak4j's report saw it outstanding")
    @Timespan(Timespan.NANOSECONDS)
    public long age;

    @Label("Sample Rate")
    @Description("One allocation in this many was tracked when this one was")
    public long sampleRate;

    @Label("Stack Id")
    @Description("memleak4j's key for the allocating stack (see memleak4j.OutstandingStack)")
    @Unsigned
    public long stackId;

    @Label("Top Java Frame")
    @Description("The Java method nearest to the allocator on the allocating stack, if any")
    public String topJavaFrame;

    @Label("Top Native Frame")
    @Description("The allocator's direct caller: function [library]")
    public String topNativeFrame;

    @Label("Stack")
    @Description("The allocating stack, the allocator's direct caller first, one frame a line")
    public String stack;

    /** Commits only blocks at least as large as the smallest minSize any running recording asks for. */
    @Label("Minimum Size")
    @Description("Only allocations of at least this many bytes")
    @SettingDefinition
    @Name("minSize")
    protected boolean minSize(MinSizeSetting setting) {
        return size >= setting.bytes();
    }
}
