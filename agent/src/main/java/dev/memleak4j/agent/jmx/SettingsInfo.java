package dev.memleak4j.agent.jmx;

import javax.management.openmbean.CompositeData;

/** The settings in force, as {@link NativeMemoryMXBean#getSettings()} shows them (a CompositeData in JMX). */
public final class SettingsInfo {
    private final int intervalSeconds;
    private final int top;
    private final boolean showAllocs;
    private final long olderMillis;
    private final boolean combinedOnly;
    private final long sampleRate;
    private final long sampleBytes;
    private final long minSize;
    private final long maxSize;
    private final String jsonFile;
    private final String outputFile;

    public SettingsInfo(int intervalSeconds, int top, boolean showAllocs, long olderMillis, boolean combinedOnly,
                        long sampleRate, long sampleBytes, long minSize, long maxSize, String jsonFile,
                        String outputFile) {
        this.intervalSeconds = intervalSeconds;
        this.top = top;
        this.showAllocs = showAllocs;
        this.olderMillis = olderMillis;
        this.combinedOnly = combinedOnly;
        this.sampleRate = sampleRate;
        this.sampleBytes = sampleBytes;
        this.minSize = minSize;
        this.maxSize = maxSize;
        this.jsonFile = jsonFile;
        this.outputFile = outputFile;
    }

    /** For JMX proxies: rebuilds one from its CompositeData. */
    public static SettingsInfo from(CompositeData data) {
        return new SettingsInfo((Integer) data.get("intervalSeconds"), (Integer) data.get("top"),
                (Boolean) data.get("showAllocs"), (Long) data.get("olderMillis"), (Boolean) data.get("combinedOnly"),
                (Long) data.get("sampleRate"), (Long) data.get("sampleBytes"), (Long) data.get("minSize"),
                (Long) data.get("maxSize"), (String) data.get("jsonFile"), (String) data.get("outputFile"));
    }

    public int getIntervalSeconds() {
        return intervalSeconds;
    }

    public int getTop() {
        return top;
    }

    public boolean isShowAllocs() {
        return showAllocs;
    }

    public long getOlderMillis() {
        return olderMillis;
    }

    public boolean isCombinedOnly() {
        return combinedOnly;
    }

    public long getSampleRate() {
        return sampleRate;
    }

    /** &gt; 0 when sampling by bytes. */
    public long getSampleBytes() {
        return sampleBytes;
    }

    public long getMinSize() {
        return minSize;
    }

    public long getMaxSize() {
        return maxSize;
    }

    /** Empty when no json=FILE. */
    public String getJsonFile() {
        return jsonFile;
    }

    /** Empty for stderr. */
    public String getOutputFile() {
        return outputFile;
    }
}
