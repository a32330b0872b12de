package dev.memleak4j.agent.report;

import java.time.Instant;
import java.util.TimeZone;

/**
 * A time as the reports and the start line print it: {@code HH:mm:ss} in this JVM's time zone. Written out by hand
 * rather than with {@code java.time.format.DateTimeFormatter}: the formatter brings its builder, printers and
 * locale data into the application's JVM for good, over a hundred classes and thousands of objects that every full
 * GC then walks (docs/benchmarks.md, "The agent's weight"); the zone's offset is all that is needed.
 *
 * <p>The offset comes from the C library (native/src/local_time_jni.c) while the JVM's default {@link TimeZone} is
 * undecided and {@code user.timezone} unset: TimeZone's first use reads the whole time zone database into the heap
 * (~1,900 objects for good), and the C library reads the same TZ variable and /etc/localtime the JVM would. Once the
 * application has a default zone (its own, set or asked for), or names one with {@code -Duser.timezone}, or without
 * the native library (unit tests), TimeZone says.
 */
public final class ClockText {
    /** Cleared when the native library is not there; then TimeZone always says. */
    private static volatile boolean nativeOffset = true;

    private ClockText() {}

    public static String of(Instant time) {
        long millis = time.toEpochMilli();
        long local = millis + offsetMillis(millis);
        int second = (int) Math.floorMod(Math.floorDiv(local, 1000L), 86_400L);
        char[] text = new char[8];
        twoDigits(text, 0, second / 3600);
        text[2] = ':';
        twoDigits(text, 3, second / 60 % 60);
        text[5] = ':';
        twoDigits(text, 6, second % 60);
        return new String(text);
    }

    private static long offsetMillis(long millis) {
        String named = System.getProperty("user.timezone");
        if (nativeOffset && (named == null || named.isEmpty())) {
            try {
                if (defaultZoneUnset0()) {
                    long seconds = offsetSeconds0(Math.floorDiv(millis, 1000L));
                    if (seconds != Long.MIN_VALUE) {
                        return seconds * 1000L;
                    }
                }
            } catch (LinkageError e) {
                nativeOffset = false;
            }
        }
        return TimeZone.getDefault().getOffset(millis);
    }

    private static native boolean defaultZoneUnset0();

    private static native long offsetSeconds0(long epochSeconds);

    private static void twoDigits(char[] text, int at, int value) {
        text[at] = (char) ('0' + value / 10);
        text[at + 1] = (char) ('0' + value % 10);
    }
}
