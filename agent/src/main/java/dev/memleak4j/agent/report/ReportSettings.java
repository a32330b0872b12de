package dev.memleak4j.agent.report;

/**
 * What a snapshot contains, how often one is taken, and how allocations are sampled. Immutable: a change at run
 * time (JMX) makes a new one, through the {@code with...} methods.
 *
 * @param intervalSeconds seconds between reports
 * @param top             stacks kept, most outstanding bytes first
 * @param showAllocs      list each outstanding allocation
 * @param olderMillis     only allocations at least this old
 * @param combinedOnly    read only the kernel's per-stack counters
 * @param sampleRate      one allocation in sampleRate is tracked
 * @param sampleBytes     &gt; 0: an allocation of s bytes is tracked with probability s/sampleBytes
 * @param minSize         smallest allocation tracked
 * @param maxSize         largest allocation tracked
 */
public record ReportSettings(int intervalSeconds, int top, boolean showAllocs, long olderMillis, boolean combinedOnly,
                             long sampleRate, long sampleBytes, long minSize, long maxSize) {
    /** Whether counts are estimates rather than exact. */
    public boolean sampled() {
        return sampleRate > 1 || sampleBytes > 0;
    }

    public ReportSettings withIntervalSeconds(int value) {
        Draft draft = new Draft(this);
        draft.intervalSeconds = value;
        return draft.settings();
    }

    public ReportSettings withTop(int value) {
        Draft draft = new Draft(this);
        draft.top = value;
        return draft.settings();
    }

    public ReportSettings withShowAllocs(boolean value) {
        Draft draft = new Draft(this);
        draft.showAllocs = value;
        return draft.settings();
    }

    public ReportSettings withOlderMillis(long value) {
        Draft draft = new Draft(this);
        draft.olderMillis = value;
        return draft.settings();
    }

    public ReportSettings withCombinedOnly(boolean value) {
        Draft draft = new Draft(this);
        draft.combinedOnly = value;
        return draft.settings();
    }

    /** Sampling by count: one allocation in {@code value}; turns sampling by bytes off. */
    public ReportSettings withSampleRate(long value) {
        Draft draft = new Draft(this);
        draft.sampleRate = value;
        draft.sampleBytes = 0;
        return draft.settings();
    }

    /** Sampling by bytes ({@code value} &gt; 0) or off (0); turns sampling by count off. */
    public ReportSettings withSampleBytes(long value) {
        Draft draft = new Draft(this);
        draft.sampleRate = 1;
        draft.sampleBytes = value;
        return draft.settings();
    }

    public ReportSettings withSizeRange(long min, long max) {
        Draft draft = new Draft(this);
        draft.minSize = min;
        draft.maxSize = max;
        return draft.settings();
    }

    /**
     * A copy being changed: every with-method goes through it, so the components are listed in one place. Set field
     * by field, not through a lambda: each would be a hidden class in the application's JVM for good.
     */
    private static final class Draft {
        int intervalSeconds;
        int top;
        boolean showAllocs;
        long olderMillis;
        boolean combinedOnly;
        long sampleRate;
        long sampleBytes;
        long minSize;
        long maxSize;

        Draft(ReportSettings from) {
            intervalSeconds = from.intervalSeconds;
            top = from.top;
            showAllocs = from.showAllocs;
            olderMillis = from.olderMillis;
            combinedOnly = from.combinedOnly;
            sampleRate = from.sampleRate;
            sampleBytes = from.sampleBytes;
            minSize = from.minSize;
            maxSize = from.maxSize;
        }

        ReportSettings settings() {
            return new ReportSettings(intervalSeconds, top, showAllocs, olderMillis, combinedOnly, sampleRate,
                    sampleBytes, minSize, maxSize);
        }
    }
}
