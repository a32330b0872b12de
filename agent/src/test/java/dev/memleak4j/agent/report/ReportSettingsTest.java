package dev.memleak4j.agent.report;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ReportSettingsTest {
    private static final ReportSettings GIVEN = new ReportSettings(5, 10, false, 500, true, 1, 8192, 16, 4096);

    @Test
    void eachWithMethodChangesItsComponentsOnly() {
        assertEquals(new ReportSettings(7, 10, false, 500, true, 1, 8192, 16, 4096), GIVEN.withIntervalSeconds(7));
        assertEquals(new ReportSettings(5, 3, false, 500, true, 1, 8192, 16, 4096), GIVEN.withTop(3));
        assertEquals(new ReportSettings(5, 10, true, 500, true, 1, 8192, 16, 4096), GIVEN.withShowAllocs(true));
        assertEquals(new ReportSettings(5, 10, false, 0, true, 1, 8192, 16, 4096), GIVEN.withOlderMillis(0));
        assertEquals(new ReportSettings(5, 10, false, 500, false, 1, 8192, 16, 4096), GIVEN.withCombinedOnly(false));
        assertEquals(new ReportSettings(5, 10, false, 500, true, 1, 8192, 1, 2), GIVEN.withSizeRange(1, 2));
    }

    @Test
    void samplingByCountAndByBytesExcludeEachOther() {
        assertEquals(new ReportSettings(5, 10, false, 500, true, 10, 0, 16, 4096), GIVEN.withSampleRate(10));
        assertEquals(new ReportSettings(5, 10, false, 500, true, 1, 65536, 16, 4096),
                GIVEN.withSampleRate(10).withSampleBytes(65536));
    }

    @Test
    void samplingIsWordedTheSameEverywhere() {
        assertEquals("sampled 1 per 8192 bytes", SamplingText.of(1, 8192, 8192));
        assertEquals("sampled 1 per 8192 bytes; 1 per 32768 now, over max-tracked", SamplingText.of(1, 8192, 32768));
        assertEquals("1 in 10 allocations sampled", SamplingText.of(10, 0, 0));
        assertEquals("every allocation tracked", SamplingText.of(1, 0, 0));
    }
}
