package dev.memleak4j.agent.memory;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryVerdictWatchTest {
    private static final long MIB = 1 << 20;
    private static final Instant TRACKING = Instant.parse("2026-12-04T12:00:00Z");

    /** A sample {@code seconds} after tracking began: RSS, malloc's bytes in use and free in its arenas. */
    private static ProcessMemory at(long seconds, long rssMib, long inUseMib, long freeMib) {
        MallocStats malloc = new MallocStats((inUseMib + freeMib) * MIB, 0, inUseMib * MIB, freeMib * MIB, 0);
        return new ProcessMemory(TRACKING.plusSeconds(seconds), rssMib * MIB, malloc, 0, 0, 0, 0, 0, 10, -1);
    }

    @Test
    void theAgentsOwnStartDoesNotStartTheWindow() {
        MemoryVerdict.Watch watch = new MemoryVerdict.Watch(20, TRACKING);
        // The first report, while the agent still holds its start-up buffers (60 MiB in use); by the next they are
        // freed into the arenas. Meanwhile the application maps 20 MiB every 5 s outside malloc.
        watch.update(at(5, 140, 60, 10), null);
        assertEquals(MemoryVerdict.Kind.TOO_EARLY, watch.update(at(10, 160, 12, 58), null).kind(),
                "the window starts over after the start");
        for (long s = 15; s <= 30; s += 5) {
            MemoryVerdict verdict = watch.update(at(s, 160 + (s - 10) * 4, 12, 58), null);
            // 5 s of figures are one report interval: growth is judged from 10 s on.
            assertEquals(s < 20 ? MemoryVerdict.Kind.TOO_EARLY : MemoryVerdict.Kind.OUTSIDE_MALLOC, verdict.kind(),
                    verdict.text());
        }
    }

    @Test
    void afterTheStartTheWindowSeesArenasKeepingFreedMemory() {
        MemoryVerdict.Watch watch = new MemoryVerdict.Watch(20, TRACKING);
        MemoryVerdict verdict = null;
        for (long s = 10; s <= 30; s += 5) {
            // RSS grows 8 MiB every 5 s, all of it free memory that the arenas keep; malloc's in-use bytes do not grow.
            long grown = (s - 10) / 5 * 8;
            verdict = watch.update(at(s, 150 + grown, 12, 20 + grown), null);
        }
        assertEquals(MemoryVerdict.Kind.ARENA_RETENTION, verdict.kind(), verdict.text());
    }

    @Test
    void oneIntervalOfSettlingIsNotReadAsMinutesOfGrowth() {
        MemoryVerdict.Watch watch = new MemoryVerdict.Watch(60, TRACKING);
        // The demo's third report: in 5 s RSS grew 6.4 MiB while the agent's first reports freed their buffers into
        // the arenas; over one interval that read as arena retention of 76 MiB/min.
        watch.update(at(10, 75, 12, 12), null);
        MemoryVerdict verdict = watch.update(at(15, 81, 10, 16), null);
        assertEquals(MemoryVerdict.Kind.TOO_EARLY, verdict.kind(), verdict.text());
        assertTrue(verdict.text().contains("5 s so far"), verdict.text());
        // The same figures 10 s apart are judged.
        assertEquals(MemoryVerdict.Kind.ARENA_RETENTION, watch.update(at(20, 87, 10, 22), null).kind());
    }
}
