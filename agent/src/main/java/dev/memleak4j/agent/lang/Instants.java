package dev.memleak4j.agent.lang;

import java.time.Duration;
import java.time.Instant;

/**
 * Instant arithmetic for the report path without {@code Instant.plus(Duration)}, {@code minus(Duration)} and
 * {@code Duration.between}: those go through {@code ChronoUnit} and {@code ChronoField}, whose first use leaves their
 * classes and constants in the application's JVM for good (every full GC walks them), for sums of seconds and nanos.
 */
public final class Instants {
    private Instants() {}

    /** What {@code Duration.between(from, to).toNanos()} is, overflow included (ArithmeticException). */
    public static long nanosBetween(Instant from, Instant to) {
        long seconds = Math.subtractExact(to.getEpochSecond(), from.getEpochSecond());
        return Math.addExact(Math.multiplyExact(seconds, 1_000_000_000L), to.getNano() - from.getNano());
    }

    /** {@code time.plus(amount)}. */
    public static Instant plus(Instant time, Duration amount) {
        return time.plusSeconds(amount.getSeconds()).plusNanos(amount.getNano());
    }

    /** {@code time.minus(amount)}. */
    public static Instant minus(Instant time, Duration amount) {
        return time.minusSeconds(amount.getSeconds()).minusNanos(amount.getNano());
    }
}
