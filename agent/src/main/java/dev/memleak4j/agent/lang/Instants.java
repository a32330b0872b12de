package dev.memleak4j.agent.lang;

import java.time.Instant;

/**
 * Instant arithmetic for the report path without {@code java.time.Duration}: its class initialization makes
 * BigInteger's (classes and cached constants), and {@code Duration.between} goes through {@code ChronoUnit} and
 * {@code ChronoField}; all of it would stay in the application's JVM for good (every full GC walks it), for sums of
 * seconds and nanos. Spans the agent keeps are plain seconds or nanoseconds.
 */
public final class Instants {
    private Instants() {}

    /** What {@code Duration.between(from, to).toNanos()} is, overflow included (ArithmeticException). */
    public static long nanosBetween(Instant from, Instant to) {
        long seconds = Math.subtractExact(to.getEpochSecond(), from.getEpochSecond());
        return Math.addExact(Math.multiplyExact(seconds, 1_000_000_000L), to.getNano() - from.getNano());
    }
}
