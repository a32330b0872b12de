package dev.memleak4j.bench;

/** One timed JVM of the start-up or javac row: its wall time, and what it printed. */
final class TimedRun {
    String error;
    double wallSeconds;
    /** When main began, after the launch (start-up row); the child's CPU time (javac row). */
    double mainSeconds = Double.NaN;
    double cpuSeconds = Double.NaN;
}
