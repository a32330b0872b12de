package dev.memleak4j.agent.memory;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        assertEquals(MemoryVerdict.Kind.NOTHING_GROWING, watch.update(at(10, 160, 12, 58), null).kind(),
                "the window starts over after the start");
        for (long s = 15; s <= 30; s += 5) {
            MemoryVerdict verdict = watch.update(at(s, 160 + (s - 10) * 4, 12, 58), null);
            assertEquals(MemoryVerdict.Kind.OUTSIDE_MALLOC, verdict.kind(), verdict.text());
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
}
