package dev.memleak4j.it;

import dev.memleak4j.it.programs.RobustnessProgram;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.memleak4j.it.programs.RobustnessProgram.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Thousands of short-lived threads, eight threads at once, frees on another thread, fork and exec from the JVM,
 * exits while the probes fire, and -Xcheck:jni: the numbers stay exact and nothing hangs or crashes.
 */
class ThreadsAndProcessesTest {
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";
    private static final Pattern CHECK = Pattern.compile("CHECK REPORT (\\d+)");

    /** Options beyond each test's own; a subclass runs the same with uprobes (the default is in-process hooks). */
    String extraOptions() {
        return "";
    }

    @BeforeEach
    void privileges() throws Exception {
        Privileges.assumeBpf();
    }

    static AgentRun robustness(Path dir, String options, String scenario, List<String> jvmFlags)
            throws Exception {
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), jvmFlags,
                RobustnessProgram.class.getName(), scenario, dir.resolve("report.txt").toString());
        return AgentRun.withAgent(dir, options, command, List.of());
    }

    private AgentRun run(Path dir, String options, String scenario) throws Exception {
        return robustness(dir, options + extraOptions(), scenario, List.of());
    }

    /** The report the program named as taken after all its allocations. */
    static Report checkedReport(AgentRun run) {
        Matcher m = CHECK.matcher(run.stdout);
        assertTrue(m.find(), "the program names the report to check\n" + run.describe());
        int number = Integer.parseInt(m.group(1));
        List<Report> reports = run.parsedReports();
        assertTrue(reports.size() >= number, "report " + number + " exists\n" + run.describe());
        return reports.get(number - 1);
    }

    @Test
    void shortLivedConcurrentAndCrossThreadAllocationsAreCountedExactly() throws Exception {
        AgentRun run = run(AgentRun.tempDir("threads"),
                "interval=1,older=0,top=200,sample-bytes=0,min-size=3980,max-size=4010", "threads");
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("CONCURRENT MADE " + THREADS * PER_THREAD), run.describe());
        Report report = checkedReport(run);
        // 3000 threads each calloc and free, but the last five keep theirs.
        assertEquals(SHORT_KEPT, report.countFrom(LIB + "viaCalloc+0x"), report.toString());
        assertEquals(SHORT_KEPT * SHORT_SIZE, report.bytesFrom(LIB + "viaCalloc+0x"), report.toString());
        // Eight threads leak at the same time.
        assertEquals(THREADS * PER_THREAD, report.countFrom(LIB + "viaMalloc+0x"), report.toString());
        assertEquals(THREADS * PER_THREAD * CONCURRENT_SIZE, report.bytesFrom(LIB + "viaMalloc+0x"),
                report.toString());
        // Allocated on one thread, freed on another: only the ten never freed are left.
        assertEquals(CROSS_KEPT, report.countFrom(LIB + "viaValloc+0x"), report.toString());
        assertEquals(CROSS_KEPT * CROSS_SIZE, report.bytesFrom(LIB + "viaValloc+0x"), report.toString());
        assertTrue(report.otherLines.stream().noneMatch(l -> l.contains("not tracked")), report.otherLines.toString());
    }

    @Test
    void forkAndExecFromTheJvmLeaveTheParentsNumbersExactAndTheChildUntracked() throws Exception {
        AgentRun run = run(AgentRun.tempDir("fork"),
                "interval=1,older=0,top=200,sample-bytes=0,min-size=3990,max-size=4010", "fork");
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("FORKED"), run.describe());
        Report report = checkedReport(run);
        assertEquals(FORK_PARENT_LEAKS, report.countFrom(LIB + "viaMalloc+0x"), report.toString());
        assertEquals(FORK_PARENT_LEAKS * FORK_PARENT_SIZE, report.bytesFrom(LIB + "viaMalloc+0x"), report.toString());
        assertTrue(report.stacksFrom(LIB + "forkChild+0x").isEmpty(), "the children's leaks are not ours\n" + report);
    }

    @Test
    void systemExitAndReturningFromMainWhileProbesFireExitCleanlyAndPromptly() throws Exception {
        for (String scenario : List.of("exit-busy", "return-busy")) {
            long started = System.nanoTime();
            AgentRun run = run(AgentRun.tempDir(scenario), "interval=1,older=0", scenario);
            long seconds = (System.nanoTime() - started) / 1_000_000_000L;
            assertEquals(scenario.equals("exit-busy") ? 9 : 0, run.exitCode, scenario + "\n" + run.describe());
            assertTrue(seconds < 20, scenario + " took " + seconds + " s\n" + run.describe());
            assertTrue(run.stdout.contains(scenario.equals("exit-busy") ? "EXITING" : "RETURNING"), run.describe());
            assertFalse(run.stderr.contains("fatal error") || run.stdout.contains("fatal error"), run.describe());
            assertTrue(run.agentLines().stream().anyMatch(l -> l.contains("tracking native allocations")),
                    "the probes were on\n" + run.describe());
        }
    }

    @Test
    void aLeakScenarioUnderXcheckJniPrintsNoJniWarning() throws Exception {
        Path dir = AgentRun.tempDir("xcheck");
        List<String> command = List.of(AgentRun.javaBinary(), "-Xcheck:jni",
                "-Dleaktest.library=" + AgentRun.TEST_LIBRARY, "-cp", AgentRun.TEST_CLASSES.toString(),
                "dev.memleak4j.it.programs.LeakProgram", "all-functions", "4000");
        AgentRun run = AgentRun.withAgent(dir, "interval=1,older=0,top=100,min-size=900000" + extraOptions(), command,
                List.of());
        assertEquals(0, run.exitCode, run.describe());
        assertEquals(3 * 1_999_993L + 1_222_223L, run.lastReport().bytesFrom(LIB + "viaMalloc+0x"), run.describe());
        List<String> others = run.stderr.lines().filter(l -> !l.startsWith("memleak4j:")).toList();
        assertTrue(others.isEmpty(), "-Xcheck:jni printed: " + others + "\n" + run.describe());
    }
}
