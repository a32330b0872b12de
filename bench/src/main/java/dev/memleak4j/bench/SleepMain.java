package dev.memleak4j.bench;

import java.time.Instant;

/**
 * The start-up row's program: {@code SleepMain MILLIS}. Prints when {@code main} began (microseconds since the
 * epoch, the clock the parent read when it launched the JVM), sleeps, and ends. Nothing else, so that what a tool
 * adds to the JVM's start and exit is what the parent's wall time shows.
 */
public final class SleepMain {
    private SleepMain() {}

    public static void main(String[] args) throws InterruptedException {
        Instant now = Instant.now();
        System.out.println("BENCH main at=" + (now.getEpochSecond() * 1_000_000 + now.getNano() / 1000));
        System.out.flush();
        Thread.sleep(Long.parseLong(args[0]));
    }
}
