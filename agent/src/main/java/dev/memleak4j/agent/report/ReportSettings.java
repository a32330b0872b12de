package dev.memleak4j.agent.report;

/**
 * What a snapshot contains and how often one is taken. Immutable: a change at run time (JMX) makes a new one.
 *
 * @param intervalSeconds seconds between reports
 * @param top             stacks kept, most outstanding bytes first
 * @param showAllocs      list each outstanding allocation
 * @param olderMillis     only allocations at least this old
 * @param combinedOnly    read only the kernel's per-stack counters
 * @param sampleRate      one allocation in sampleRate is tracked; counts are scaled back by it
 * @param minSize         smallest allocation tracked
 * @param maxSize         largest allocation tracked
 */
public record ReportSettings(int intervalSeconds, int top, boolean showAllocs, long olderMillis, boolean combinedOnly,
                             long sampleRate, long minSize, long maxSize) {
    public ReportSettings withIntervalSeconds(int value) {
        return new ReportSettings(value, top, showAllocs, olderMillis, combinedOnly, sampleRate, minSize, maxSize);
    }

    public ReportSettings withTop(int value) {
        return new ReportSettings(intervalSeconds, value, showAllocs, olderMillis, combinedOnly, sampleRate, minSize,
                maxSize);
    }

    public ReportSettings withSampleRate(long value) {
        return new ReportSettings(intervalSeconds, top, showAllocs, olderMillis, combinedOnly, value, minSize, maxSize);
    }

    public ReportSettings withSizeRange(long min, long max) {
        return new ReportSettings(intervalSeconds, top, showAllocs, olderMillis, combinedOnly, sampleRate, min, max);
    }

    public ReportSettings withOlderMillis(long value) {
        return new ReportSettings(intervalSeconds, top, showAllocs, value, combinedOnly, sampleRate, minSize, maxSize);
    }
}
