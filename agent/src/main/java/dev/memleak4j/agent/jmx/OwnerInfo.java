package dev.memleak4j.agent.jmx;

import javax.management.openmbean.CompositeData;

/** The owners of one class behind a leak suspect's blocks ({@link SuspectInfo#getOwners()}): a CompositeData in JMX. */
public final class OwnerInfo {
    private final String className;
    private final long live;
    private final long unreachable;
    private final long awaitingCleaner;

    public OwnerInfo(String className, long live, long unreachable, long awaitingCleaner) {
        this.className = className;
        this.live = live;
        this.unreachable = unreachable;
        this.awaitingCleaner = awaitingCleaner;
    }

    /** For JMX proxies: rebuilds one from its CompositeData. */
    public static OwnerInfo from(CompositeData data) {
        return new OwnerInfo((String) data.get("className"), (Long) data.get("live"), (Long) data.get("unreachable"),
                (Long) data.get("awaitingCleaner"));
    }

    /** The owner's runtime class. */
    public String getClassName() {
        return className;
    }

    /** Still reachable: the blocks are retained by live objects. */
    public long getLive() {
        return live;
    }

    /** Unreachable without releasing their block, of a class without a Cleaner: leaked. */
    public long getUnreachable() {
        return unreachable;
    }

    /** Unreachable, of a Cleaner-managed class, whose Cleaner has not run yet. */
    public long getAwaitingCleaner() {
        return awaitingCleaner;
    }
}
