package dev.memleak4j.agent.report;

/**
 * What a report says about sampling, in one wording: the text report's "(estimated: ...)" and the probe mode that
 * JMX, JSON and JFR show.
 */
public final class SamplingText {
    private SamplingText() {}

    /**
     * @param sampleBytesNow the interval new allocations are chosen under (above {@code sampleBytes} while
     *                       max-tracked holds the tracked rate down)
     */
    public static String of(long sampleRate, long sampleBytes, long sampleBytesNow) {
        if (sampleBytes > 0) {
            return "sampled 1 per " + sampleBytes + " bytes"
                    + (sampleBytesNow > sampleBytes ? "; 1 per " + sampleBytesNow + " now, over max-tracked" : "");
        }
        return sampleRate > 1 ? "1 in " + sampleRate + " allocations sampled" : "every allocation tracked";
    }
}
