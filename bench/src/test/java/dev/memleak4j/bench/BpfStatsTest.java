package dev.memleak4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class BpfStatsTest {
    /** What bpftool 7 prints for a 2-CPU per-CPU array with BTF (the raw bytes shortened to what matters). */
    private static final String DUMP = "[{\"key\":[\"0x00\",\"0x00\",\"0x00\",\"0x00\"],\"values\":[{\"cpu\":0,"
            + "\"value\":[\"0x00\"]},{\"cpu\":1,\"value\":[\"0x00\"]}],\"formatted\":{\"key\":0,\"values\":"
            + "[{\"cpu\":0,\"value\":1000},{\"cpu\":1,\"value\":234}]}},"
            + "{\"key\":[\"0x01\",\"0x00\",\"0x00\",\"0x00\"],\"values\":[{\"cpu\":0,\"value\":[\"0x66\",\"0xe1\"]},"
            + "{\"cpu\":1,\"value\":[\"0xd3\",\"0x2a\"]}],\"formatted\":{\"key\":1,\"values\":[{\"cpu\":0,"
            + "\"value\":57702},{\"cpu\":1,\"value\":10963}]}},"
            + "{\"key\":[\"0x09\",\"0x00\",\"0x00\",\"0x00\"],\"formatted\":{\"key\":9,\"values\":[{\"cpu\":0,"
            + "\"value\":900},{\"cpu\":1,\"value\":100}]}},"
            + "{\"key\":[\"0x0a\",\"0x00\",\"0x00\",\"0x00\"],\"formatted\":{\"key\":10,\"values\":[{\"cpu\":0,"
            + "\"value\":60000},{\"cpu\":1,\"value\":5}]}},"
            + "{\"key\":[\"0x0d\",\"0x00\",\"0x00\",\"0x00\"],\"formatted\":{\"key\":13,\"values\":[{\"cpu\":0,"
            + "\"value\":7},{\"cpu\":1,\"value\":0}]}}]";

    @Test
    void sumsEachCounterOverTheCpusFromTheFormattedValues() {
        long[] counters = BpfStats.parse(DUMP);
        assertEquals(1234, counters[BpfStats.ALLOC_CALLS]);
        assertEquals(68665, counters[BpfStats.ALLOC_SAMPLED]);
        assertEquals(1000, counters[BpfStats.FREE_CALLS]);
        assertEquals(60005, counters[BpfStats.FREE_TRACKED]);
        assertEquals(7, counters[BpfStats.IGNORED_CALLS]);
        assertEquals(0, counters[2]);
    }

    @Test
    void hooksTrapOnSampledCallsAndTheirFreesUprobesOnEveryCallAndSampledReturns() {
        long[] counters = BpfStats.parse(DUMP);
        assertEquals(68665 + 7 + 60005, BpfStats.traps(counters, false));
        assertEquals(1234 + 7 + 1000 + 68665, BpfStats.traps(counters, true));
    }
}
