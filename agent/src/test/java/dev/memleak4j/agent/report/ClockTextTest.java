package dev.memleak4j.agent.report;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.TimeZone;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The reports' HH:mm:ss is what java.time prints for the JVM's zone, in zones with odd offsets and around DST. */
class ClockTextTest {
    @Test
    void printsWhatJavaTimePrintsInTheDefaultZone() {
        TimeZone before = TimeZone.getDefault();
        try {
            for (String zone : List.of("UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham",
                    "America/Los_Angeles")) {
                TimeZone.setDefault(TimeZone.getTimeZone(zone));
                DateTimeFormatter expected = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneId.of(zone));
                for (Instant time : List.of(Instant.parse("2026-12-05T02:45:07.999Z"),
                        Instant.parse("2026-03-29T00:59:59Z"), Instant.parse("2026-03-29T01:00:00Z"),
                        Instant.parse("2026-10-25T00:30:00Z"), Instant.parse("1969-12-31T23:59:59.500Z"),
                        Instant.EPOCH, Instant.parse("2038-01-19T03:14:08Z"))) {
                    assertEquals(expected.format(time), ClockText.of(time), zone + " " + time);
                }
            }
        } finally {
            TimeZone.setDefault(before);
        }
    }
}
