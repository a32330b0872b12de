package dev.memleak4j.jfr;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.StackTrace;
import jdk.jfr.Timestamp;
import jdk.jfr.Unsigned;

/**
 * A leak suspect of memleak4j's latest report: a stack whose outstanding bytes grew over the leak window with nothing
 * freed, one event per suspect, fastest-growing first. Like {@link OutstandingStackEvent}, the stack is carried as
 * text (the event's own stack trace would be JFR's periodic thread).
 */
@Name(LeakSuspectEvent.NAME)
@Label("Native Memory Leak Suspect")
@Description("A call stack whose outstanding native allocations grew over memleak4j's leak window with none freed, "
        + "one event per suspect of the latest report, fastest-growing first")
@Category({"memleak4j", "Native Memory"})
@StackTrace(false)
@Period("5 s")
public final class LeakSuspectEvent extends Event {
    public static final String NAME = "memleak4j.LeakSuspect";

    @Label("Snapshot Time")
    @Description("When memleak4j took the report this suspect comes from")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long snapshotTime;

    @Label("Rank")
    @Description("1 for the fastest-growing suspect")
    public int rank;

    @Label("Stack Id")
    @Description("memleak4j's key for the stack, as in memleak4j.OutstandingStack")
    @Unsigned
    public long stackId;

    @Label("Growth per Minute")
    @Description("How fast the stack's outstanding bytes grew over the leak window, per minute")
    @DataAmount
    public long bytesPerMinute;

    @Label("Since")
    @Description("When the stack's oldest outstanding allocation was made")
    @Timestamp(Timestamp.MILLISECONDS_SINCE_EPOCH)
    public long since;

    @Label("Confidence")
    @Description("high, medium or low: how many intervals of the window the stack grew in")
    public String confidence;

    @Label("Evidence")
    @Description("Why the stack is suspected, e.g. 'grew in 5 of 5 intervals, none freed'")
    public String evidence;

    @Label("Outstanding")
    @Description("Bytes allocated from this stack and not freed (an estimate when sampling)")
    @DataAmount
    public long bytes;

    @Label("Outstanding Allocations")
    @Description("Allocations from this stack not freed (an estimate when sampling)")
    public long allocations;

    @Label("Top Java Frame")
    @Description("The Java method nearest to the allocator on this stack, if any")
    public String topJavaFrame;

    @Label("Top Native Frame")
    @Description("The allocator's direct caller: function [library]")
    public String topNativeFrame;

    @Label("Stack")
    @Description("The merged stack, the allocator's direct caller first, one frame a line")
    public String stack;

    @Label("Owners")
    @Description("The Java objects owning the stack's outstanding blocks, by class, e.g. '3 live Deflater (retained "
            + "by live objects); 2 unreachable WriteBatch (leaked by unreachable objects)'; unset when none is known")
    public String owners;

    @Label("Live Owners")
    @Description("Owners of the stack's outstanding blocks still reachable: retained by live objects")
    public long ownersLive;

    @Label("Unreachable Owners")
    @Description("Owners that became unreachable without releasing their block: leaked by unreachable objects")
    public long ownersUnreachable;

    @Label("Owners Awaiting Cleaner")
    @Description("Unreachable owners of Cleaner-managed classes (direct buffers, Inflater, Deflater) whose Cleaner "
            + "has not run yet")
    public long ownersAwaitingCleaner;
}
