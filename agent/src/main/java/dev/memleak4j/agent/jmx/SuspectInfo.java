package dev.memleak4j.agent.jmx;

import javax.management.openmbean.CompositeData;

/** One leak suspect in {@link NativeMemoryMXBean#getLeakSuspects()}: JMX shows it as a CompositeData. */
public final class SuspectInfo {
    private final int rank;
    private final String stackId;
    private final long bytesPerMinute;
    private final String since;
    private final String confidence;
    private final String evidence;
    private final long bytes;
    private final long allocations;
    private final String[] frames;
    private final OwnerInfo[] owners;

    public SuspectInfo(int rank, String stackId, long bytesPerMinute, String since, String confidence, String evidence,
                       long bytes, long allocations, String[] frames, OwnerInfo[] owners) {
        this.rank = rank;
        this.stackId = stackId;
        this.bytesPerMinute = bytesPerMinute;
        this.since = since;
        this.confidence = confidence;
        this.evidence = evidence;
        this.bytes = bytes;
        this.allocations = allocations;
        this.frames = frames.clone();
        this.owners = owners.clone();
    }

    /** For JMX proxies: rebuilds one from its CompositeData. */
    public static SuspectInfo from(CompositeData data) {
        return new SuspectInfo((Integer) data.get("rank"), (String) data.get("stackId"),
                (Long) data.get("bytesPerMinute"), (String) data.get("since"), (String) data.get("confidence"),
                (String) data.get("evidence"), (Long) data.get("bytes"), (Long) data.get("allocations"),
                (String[]) data.get("frames"), owners(data));
    }

    private static OwnerInfo[] owners(CompositeData data) {
        if (!data.containsKey("owners") || data.get("owners") == null) {
            return new OwnerInfo[0]; // an agent before owners were reported
        }
        CompositeData[] items = (CompositeData[]) data.get("owners");
        OwnerInfo[] owners = new OwnerInfo[items.length];
        for (int i = 0; i < items.length; i++) {
            owners[i] = OwnerInfo.from(items[i]);
        }
        return owners;
    }

    /** 1 for the fastest-growing stack. */
    public int getRank() {
        return rank;
    }

    /** memleak4j's key for the stack, in hex: the same as in the top stacks. */
    public String getStackId() {
        return stackId;
    }

    /** Growth of its outstanding bytes over the leak window. */
    public long getBytesPerMinute() {
        return bytesPerMinute;
    }

    /** When its oldest outstanding block was allocated (ISO-8601). */
    public String getSince() {
        return since;
    }

    /** {@code high}, {@code medium} or {@code low}: how many intervals of the window it grew in. */
    public String getConfidence() {
        return confidence;
    }

    /** Why it is suspected, e.g. "grew in 5 of 5 intervals, none freed". */
    public String getEvidence() {
        return evidence;
    }

    public long getBytes() {
        return bytes;
    }

    public long getAllocations() {
        return allocations;
    }

    /** The stack, the allocator's direct caller first. */
    public String[] getFrames() {
        return frames.clone();
    }

    /** The Java objects owning its outstanding blocks, by class; empty when none is known. */
    public OwnerInfo[] getOwners() {
        return owners.clone();
    }
}
