package dev.memleak4j.agent.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.memleak4j.agent.bpf.BpfTracker.StackCounters;
import dev.memleak4j.agent.lang.LongLongMap;
import org.junit.jupiter.api.Test;

/** Which stacks a report may forget: the choice, apart from the kernel's maps (IdleStacksTest covers those). */
class StackForgettingTest {
    /** A stack's counters: outstanding count (and bytes, est.), allocated count/1000 so far. */
    private static StackCounters counters(long id, long outstanding, long allocatedCountMilli) {
        return new StackCounters(id, outstanding * 100, outstanding, outstanding * 100, outstanding * 1000,
                allocatedCountMilli * 100, allocatedCountMilli);
    }

    @Test
    void onlyStacksThatNothingNamesAndThatAllocatedNothingSinceTheReportBefore() {
        StackCounters[] now = {
            counters(5, 0, 3000),  // idle, nothing outstanding: forgotten
            counters(-7, 0, 1000), // idle too (ids are unsigned hashes: negative as longs)
            counters(9, 0, 4000),  // allocated since the report before (3000 then)
            counters(11, 0, 2000), // an outstanding allocation names it
            counters(13, 0, 1000), // new since the report before
            counters(0, 0, 5000),  // "no stack": never forgotten
        };
        long[] before = {5, 300_000, 3000, -7, 100_000, 1000, 9, 300_000, 3000, 11, 200_000, 2000, 0, 500_000, 5000};
        long[] referenced = {11};
        assertArrayEquals(new long[] {-7, 5}, StackForgetting.idle(now, before, referenced, null));
    }

    @Test
    void withCombinedOnlyTheCountersSayWhatIsOutstandingAndAForgottenStackWaitsUntilItAllocates() {
        StackCounters[] now = {
            counters(5, 0, 3000),  // idle
            counters(7, 2, 3000),  // idle, but its counters hold two blocks
            counters(9, 0, 3000),  // forgotten at 3000 already, kept its counters, allocated nothing since
            counters(11, 0, 3000), // forgotten at 2000: stored again since, and idle now
        };
        long[] before = {5, 0, 3000, 7, 0, 3000, 9, 0, 3000, 11, 0, 3000};
        LongLongMap forgotten = new LongLongMap();
        forgotten.put(9, 3000);
        forgotten.put(11, 2000);
        assertArrayEquals(new long[] {5, 11}, StackForgetting.idle(now, before, new long[0], forgotten));
    }
}
