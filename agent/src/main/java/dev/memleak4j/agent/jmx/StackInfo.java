package dev.memleak4j.agent.jmx;

import javax.management.openmbean.CompositeData;

/** One top stack in {@link NativeMemoryMXBean#getTopStacks()}: JMX shows it as a CompositeData. */
public final class StackInfo {
    private final int rank;
    private final String stackId;
    private final long bytes;
    private final long allocations;
    private final long oldestAgeMillis;
    private final long growthBytes;
    private final long growthSinceBaselineBytes;
    private final String topJavaFrame;
    private final String topNativeFrame;
    private final String[] frames;

    public StackInfo(int rank, String stackId, long bytes, long allocations, long oldestAgeMillis, long growthBytes,
                     long growthSinceBaselineBytes, String topJavaFrame, String topNativeFrame, String[] frames) {
        this.rank = rank;
        this.stackId = stackId;
        this.bytes = bytes;
        this.allocations = allocations;
        this.oldestAgeMillis = oldestAgeMillis;
        this.growthBytes = growthBytes;
        this.growthSinceBaselineBytes = growthSinceBaselineBytes;
        this.topJavaFrame = topJavaFrame;
        this.topNativeFrame = topNativeFrame;
        this.frames = frames.clone();
    }

    /** For JMX proxies: rebuilds one from its CompositeData. */
    public static StackInfo from(CompositeData data) {
        return new StackInfo((Integer) data.get("rank"), (String) data.get("stackId"), (Long) data.get("bytes"),
                (Long) data.get("allocations"), (Long) data.get("oldestAgeMillis"), (Long) data.get("growthBytes"),
                (Long) data.get("growthSinceBaselineBytes"), (String) data.get("topJavaFrame"),
                (String) data.get("topNativeFrame"), (String[]) data.get("frames"));
    }

    /** 1 for the stack with the most outstanding bytes. */
    public int getRank() {
        return rank;
    }

    /** memleak4j's key for the stack, in hex. */
    public String getStackId() {
        return stackId;
    }

    public long getBytes() {
        return bytes;
    }

    public long getAllocations() {
        return allocations;
    }

    /** -1 when unknown (combined-only). */
    public long getOldestAgeMillis() {
        return oldestAgeMillis;
    }

    /** Since the previous report. */
    public long getGrowthBytes() {
        return growthBytes;
    }

    public long getGrowthSinceBaselineBytes() {
        return growthSinceBaselineBytes;
    }

    /** Empty when the stack has no Java frame. */
    public String getTopJavaFrame() {
        return topJavaFrame;
    }

    public String getTopNativeFrame() {
        return topNativeFrame;
    }

    /** The allocator's direct caller first, as the report prints them. */
    public String[] getFrames() {
        return frames.clone();
    }
}
