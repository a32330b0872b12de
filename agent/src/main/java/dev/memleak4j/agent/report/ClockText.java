package dev.memleak4j.agent.report;

import java.time.Instant;
import java.util.TimeZone;

/**
 * A time as the reports and the start line print it: {@code HH:mm:ss} in this JVM's time zone. Written out by hand
 * rather than with {@code java.time.format.DateTimeFormatter}: the formatter brings its builder, printers and
 * locale data into the application's JVM for good, over a hundred classes and thousands of objects that every full
 * GC then walks (docs/benchmarks.md, "The agent's weight"); the zone's offset is all that is needed.
 */
public final class ClockText {
    private ClockText() {}

    public static String of(Instant time) {
        long millis = time.toEpochMilli();
        long local = millis + TimeZone.getDefault().getOffset(millis);
        int second = (int) Math.floorMod(Math.floorDiv(local, 1000L), 86_400L);
        char[] text = new char[8];
        twoDigits(text, 0, second / 3600);
        text[2] = ':';
        twoDigits(text, 3, second / 60 % 60);
        text[5] = ':';
        twoDigits(text, 6, second % 60);
        return new String(text);
    }

    private static void twoDigits(char[] text, int at, int value) {
        text[at] = (char) ('0' + value / 10);
        text[at + 1] = (char) ('0' + value % 10);
    }
}
