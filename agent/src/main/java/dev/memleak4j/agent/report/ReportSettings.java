package dev.memleak4j.agent.report;

/**
 * What a snapshot contains, how often one is taken, and how allocations are sampled. Immutable: a change at run
 * time (JMX) makes a new one.
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
        return new ReportSettings(value, top, showAllocs, olderMillis, combinedOnly, sampleRate, sampleBytes,
                minSize, maxSize);
    }

    public ReportSettings withTop(int value) {
        return new ReportSettings(intervalSeconds, value, showAllocs, olderMillis, combinedOnly, sampleRate,
                sampleBytes, minSize, maxSize);
    }

    public ReportSettings withOlderMillis(long value) {
        return new ReportSettings(intervalSeconds, top, showAllocs, value, combinedOnly, sampleRate, sampleBytes,
                minSize, maxSize);
    }

    /** Sampling by count: one allocation in {@code value}; turns sampling by bytes off. */
    public ReportSettings withSampleRate(long value) {
        return new ReportSettings(intervalSeconds, top, showAllocs, olderMillis, combinedOnly, value, 0, minSize,
                maxSize);
    }

    /** Sampling by bytes ({@code value} &gt; 0) or off (0); turns sampling by count off. */
    public ReportSettings withSampleBytes(long value) {
        return new ReportSettings(intervalSeconds, top, showAllocs, olderMillis, combinedOnly, 1, value, minSize,
                maxSize);
    }

    public ReportSettings withSizeRange(long min, long max) {
        return new ReportSettings(intervalSeconds, top, showAllocs, olderMillis, combinedOnly, sampleRate,
                sampleBytes, min, max);
    }
}
