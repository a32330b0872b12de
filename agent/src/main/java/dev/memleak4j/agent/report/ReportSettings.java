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
        return edit(s -> s.intervalSeconds = value);
    }

    public ReportSettings withTop(int value) {
        return edit(s -> s.top = value);
    }

    public ReportSettings withShowAllocs(boolean value) {
        return edit(s -> s.showAllocs = value);
    }

    public ReportSettings withOlderMillis(long value) {
        return edit(s -> s.olderMillis = value);
    }

    public ReportSettings withCombinedOnly(boolean value) {
        return edit(s -> s.combinedOnly = value);
    }

    /** Sampling by count: one allocation in {@code value}; turns sampling by bytes off. */
    public ReportSettings withSampleRate(long value) {
        return edit(s -> {
            s.sampleRate = value;
            s.sampleBytes = 0;
        });
    }

    /** Sampling by bytes ({@code value} &gt; 0) or off (0); turns sampling by count off. */
    public ReportSettings withSampleBytes(long value) {
        return edit(s -> {
            s.sampleRate = 1;
            s.sampleBytes = value;
        });
    }

    public ReportSettings withSizeRange(long min, long max) {
        return edit(s -> {
            s.minSize = min;
            s.maxSize = max;
        });
    }

    private ReportSettings edit(java.util.function.Consumer<Draft> change) {
        Draft draft = new Draft(this);
        change.accept(draft);
        return draft.settings();
    }

    /** A copy being changed: every with-method goes through it, so the components are listed in one place. */
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
