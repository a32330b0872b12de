package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.memleak4j.it.programs.RobustnessProgram.BOUNDED_BLOCKS;
import static dev.memleak4j.it.programs.RobustnessProgram.BOUNDED_SIZE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A full allocation map: what does not fit is counted and said, nothing crashes. */
class BoundedMemoryTest {
    private static final Pattern NOT_TRACKED = Pattern.compile("\\[memleak4j\\] (?:.*; )?(\\d+) not tracked: "
            + "allocation map full \\(raise max-allocs\\)");

    @Test
    void fiveThousandLeaksWithMaxAllocsThousandAreTrackedUpToTheLimitAndTheRestCounted() throws Exception {
        Privileges.assumeBpf();
        AgentRun run = ThreadsAndProcessesTest.robustness(AgentRun.tempDir("bounded"),
                "interval=1,older=0,top=10,sample-bytes=0,max-allocs=1000,min-size=" + BOUNDED_SIZE
                        + ",max-size=" + BOUNDED_SIZE,
                "bounded", List.of());
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("MADE " + BOUNDED_BLOCKS), run.describe());
        Report report = ThreadsAndProcessesTest.checkedReport(run);
        long tracked = report.countFrom("Java_dev_memleak4j_it_programs_LeakLib_mallocMany+0x");
        assertEquals(tracked * BOUNDED_SIZE, report.bytesFrom("Java_dev_memleak4j_it_programs_LeakLib_mallocMany+0x"));
        // The size filter keeps the JVM's own blocks out of the map, so ours fill it exactly.
        assertEquals(1000, tracked, report.toString());
        String losses = report.otherLines.stream().filter(l -> l.contains("[memleak4j]")).findFirst().orElse("");
        Matcher m = NOT_TRACKED.matcher(losses);
        assertTrue(m.find(), "the report says what was not tracked: " + report.otherLines);
        assertEquals(BOUNDED_BLOCKS - tracked, Long.parseLong(m.group(1)), losses);
    }
}
