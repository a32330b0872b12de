package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Leak suspects at default options on a real JVM (SuspectsProgram): a slow leak (64 KiB/s) among ~100 MiB/s of
 * churn, a cache that fills and stays, and the JIT at work. The leak is suspect #1 by the third report; the cache and
 * the JVM's own transient memory (compiler arenas, zlib) are never suspects; churn alone gives no suspect over a
 * whole leak window (60 s, where the JVM's own growth first may be judged as a leak) and five reports past it.
 *
 * <p>The program's own class and its JNI class are excluded from compilation: when a method on a leaking path goes
 * from interpreted to compiled (or a native method gets its compiled wrapper), its frames change, and today that makes
 * a second stack for the same call path, whose history starts anew. Everything else, the JDK and the churn's Java
 * work included, is compiled as usual.
 */
class LeakSuspectsTest {
    private static final String LEAK_FRAME = "dev.memleak4j.it.programs.LeakLib.viaMalloc";
    private static final String CACHE_FRAME = "Java_dev_memleak4j_it_programs_LeakLib_mallocMany";
    private static final List<String> JVM_FLAGS = List.of("-XX:CompileCommand=quiet",
            "-XX:CompileCommand=exclude,dev.memleak4j.it.programs.SuspectsProgram::*",
            "-XX:CompileCommand=exclude,dev.memleak4j.it.programs.LeakLib::*");

    private static Path churnDir;
    private static Process churn;

    /** Default interval and leak window: the churn-only JVM runs past the first whole window by five reports. */
    private static final int INTERVAL_SECONDS = 5;
    private static final int WINDOW_SECONDS = 60;
    private static final int CHURN_SECONDS = WINDOW_SECONDS + 5 * INTERVAL_SECONDS;

    /** The churn-only JVM runs beside the other test, so the class takes as long as it, not the sum of both. */
    @BeforeAll
    static void startChurnOnly() throws Exception {
        Privileges.assumeBpf();
        churnDir = AgentRun.tempDir("suspects-churn");
        List<String> command = new ArrayList<>(AgentRun.programCommand(AgentRun.javaBinary(), JVM_FLAGS,
                "dev.memleak4j.it.programs.SuspectsProgram", "churn", String.valueOf(CHURN_SECONDS)));
        command.add(1, "-javaagent:" + AgentRun.AGENT_JAR + "=output=" + churnDir.resolve("report.txt"));
        churn = new ProcessBuilder(command).redirectOutput(churnDir.resolve("stdout.txt").toFile())
                .redirectError(churnDir.resolve("stderr.txt").toFile()).start();
    }

    @AfterAll
    static void stopChurn() {
        if (churn != null) {
            churn.destroyForcibly();
        }
    }

    @Test
    void aSlowLeakAmongChurnIsSuspectOneByTheThirdReportAndTheCacheNever() throws Exception {
        Path dir = AgentRun.tempDir("suspects-leak");
        Path json = dir.resolve("snapshot.json");
        AgentRun run = AgentRun.withAgent(dir, "json=" + json, AgentRun.programCommand(AgentRun.javaBinary(),
                JVM_FLAGS, "dev.memleak4j.it.programs.SuspectsProgram", "leak", "17"), List.of());
        assertEquals(0, run.exitCode, run.describe());
        List<Report> reports = run.parsedReports();
        assertTrue(reports.size() >= 3, run.describe());
        for (int i = 0; i < 2; i++) {
            assertEquals(List.of(), reports.get(i).suspects, "two reports are too few to tell\n" + run.describe());
        }
        Report third = reports.get(2);
        assertNotNull(third.suspects, run.describe());
        assertFalse(third.suspects.isEmpty(), "no suspect at the third report\n" + run.describe());
        Report.Suspect first = third.suspects.get(0);
        assertTrue(first.frames().stream().anyMatch(f -> f.startsWith(LEAK_FRAME)), "suspect #1 is not the leak: "
                + first + "\n" + run.describe());
        assertTrue(first.bytesPerMinute() > 0 && first.evidence().endsWith("none freed"), first.toString());
        for (Report report : reports) {
            assertNoSuspectIsTheJvmsOwnOrTheCache(report, run.describe());
        }
        assertTrue(third.suspectCounts.steady() >= 1, "the cache, among others, is steady: " + third.suspectCounts);

        JsonNode leaks = new ObjectMapper().readTree(Files.readString(json)).get("leakSuspects");
        assertEquals(WINDOW_SECONDS, leaks.get("windowSeconds").asInt());
        JsonNode suspect = leaks.get("suspects").get(0);
        assertEquals(1, suspect.get("rank").asInt());
        assertTrue(suspect.get("frames").findValuesAsText("text").stream().anyMatch(f -> f.startsWith(LEAK_FRAME)),
                suspect.toString());
    }

    @Test
    void churnAloneGivesNoSuspectOverAWholeWindowAndFiveReportsPastIt() throws Exception {
        if (!churn.waitFor(180, TimeUnit.SECONDS)) {
            fail("the churn-only JVM did not end in 180 s");
        }
        String text = Files.readString(churnDir.resolve("report.txt"));
        String context = text + "\n--- stderr:\n" + Files.readString(churnDir.resolve("stderr.txt"));
        assertEquals(0, churn.exitValue(), context);
        List<Report> reports = Report.parseAll(text);
        // The JVM's start-up delays the first report by a second or two: one report fewer than the churn's length.
        assertTrue(reports.size() >= CHURN_SECONDS / INTERVAL_SECONDS - 1, reports.size() + " reports\n" + context);
        for (Report report : reports) {
            assertEquals(List.of(), report.suspects, context);
        }
        assertTrue(reports.get(reports.size() - 1).suspectCounts.steady() >= 1, context);
    }

    private static void assertNoSuspectIsTheJvmsOwnOrTheCache(Report report, String context) {
        for (Report.Suspect suspect : report.suspects) {
            for (String frame : suspect.frames()) {
                assertFalse(frame.startsWith(CACHE_FRAME), "the filled cache is a suspect: " + suspect + "\n" + context);
                assertFalse(frame.matches(".*(Arena|Chunk::|Compile|deflate).*"),
                        "the JVM's or zlib's transient memory is a suspect: " + suspect + "\n" + context);
            }
        }
    }
}
