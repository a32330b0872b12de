package dev.memleak4j.agent.lang;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The report path's Instant arithmetic gives what java.time's own gives, before the epoch and across seconds. */
class InstantsTest {
    private static final List<Instant> TIMES = List.of(Instant.EPOCH, Instant.parse("2026-12-05T08:00:00.999999999Z"),
            Instant.parse("2026-12-05T08:00:01.000000001Z"), Instant.parse("1969-12-31T23:59:59.5Z"),
            Instant.ofEpochSecond(-1, 1));

    @Test
    void matchesJavaTime() {
        for (Instant from : TIMES) {
            for (Instant to : TIMES) {
                assertEquals(Duration.between(from, to).toNanos(), Instants.nanosBetween(from, to), from + " " + to);
            }
        }
    }

    @Test
    void nanosOverflowLikeDuration() {
        Instant far = Instant.ofEpochSecond(Long.MAX_VALUE / 1_000_000_000L + 1);
        assertThrows(ArithmeticException.class, () -> Duration.between(Instant.EPOCH, far).toNanos());
        assertThrows(ArithmeticException.class, () -> Instants.nanosBetween(Instant.EPOCH, far));
    }
}
