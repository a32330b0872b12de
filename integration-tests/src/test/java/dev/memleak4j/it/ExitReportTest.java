package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A JVM shorter than the report interval still reports its leak: at its exit (System.exit, the end of main, SIGTERM)
 * the agent reports what is still outstanding, in the text report and the JSON file, marked as the exit report.
 */
class ExitReportTest {
    private static final long LEAK = 3L * 1_999_993;
    private static final String OPTIONS = "interval=60,sample-bytes=0,min-size=1000000";

    @BeforeAll
    static void privileges() throws Exception {
        Privileges.assumeBpf();
    }

    @Test
    void systemExitReportsTheLeakWithExactBytes() throws Exception {
        Path dir = AgentRun.tempDir("exit-system-exit");
        Path json = dir.resolve("snapshot.json");
        AgentRun run = AgentRun.withAgent(dir, OPTIONS + ",json=" + json, program("exit", "1000"), List.of());
        assertEquals(3, run.exitCode, run.describe());
        assertOnlyAnExitReportWithTheLeak(run);
        JsonNode document = new ObjectMapper().readTree(Files.readString(json));
        assertTrue(document.get("exitReport").asBoolean(), document.toString());
        assertEquals(1, document.get("stacks").size(), document.toString());
        assertEquals(LEAK, document.get("stacks").get(0).get("bytes").asLong());
        assertEquals(3, document.get("stacks").get(0).get("allocations").asLong());
    }

    @Test
    void theEndOfMainReportsTheLeak() throws Exception {
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("exit-return"), OPTIONS, program("return", "1000"),
                List.of());
        assertEquals(0, run.exitCode, run.describe());
        assertOnlyAnExitReportWithTheLeak(run);
    }

    @Test
    void sigtermReportsTheLeak() throws Exception {
        Path dir = AgentRun.tempDir("exit-sigterm");
        Path report = dir.resolve("report.txt");
        List<String> command = program("wait", "0");
        command.add(1, "-javaagent:" + AgentRun.AGENT_JAR + "=" + OPTIONS + ",output=" + report);
        Path out = dir.resolve("stdout.txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile())
                .redirectError(dir.resolve("stderr.txt").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(out).contains("LEAKS DONE")) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                process.destroyForcibly();
                fail("the program did not leak: " + Files.readString(dir.resolve("stderr.txt")));
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        process.destroy(); // SIGTERM
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(143, process.exitValue(), "128 + SIGTERM");
        List<Report> reports = Report.parseAll(Files.readString(report));
        assertEquals(1, reports.size(), Files.readString(report));
        assertTrue(reports.get(0).atExit);
        assertEquals(List.of(LEAK + " in 3"), leaks(reports.get(0)));
    }

    @Test
    void exitReportOffLeavesOnlyThePeriodicReports() throws Exception {
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("exit-off"), OPTIONS + ",exit-report=off",
                program("exit", "1000"), List.of());
        assertEquals(3, run.exitCode, run.describe());
        assertEquals(List.of(), run.parsedReports(), run.describe());
        assertFalse(run.reports.contains("Exit report"), run.describe());
    }

    @Test
    void aLongerJvmReportsItsLastIntervalAtExitToo() throws Exception {
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("exit-after-reports"),
                "interval=1,sample-bytes=0,min-size=1000000", program("exit", "2500"), List.of());
        assertEquals(3, run.exitCode, run.describe());
        List<Report> reports = run.parsedReports();
        assertTrue(reports.size() >= 2, run.describe());
        for (Report report : reports.subList(0, reports.size() - 1)) {
            assertFalse(report.atExit, run.describe());
        }
        Report last = reports.get(reports.size() - 1);
        assertTrue(last.atExit, run.describe());
        assertEquals(List.of(LEAK + " in 3"), leaks(last));
    }

    /**
     * The start runs in the background and the JVM's exit does not wait for it: a program that exits at once gets one
     * line saying that nothing was tracked, and nothing else (no start line, no report, no failure). Should the start
     * win the race all the same, the program gets the start line and its exit report instead, never both.
     */
    @Test
    void aProgramThatEndsBeforeTrackingBeganGetsOneLineSayingSo() throws Exception {
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("exit-before-tracking"), OPTIONS, program("at-once", "0"),
                List.of());
        assertEquals(3, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("LEAKS DONE"), run.describe());
        List<String> lines = run.agentLines();
        boolean exitedFirst = lines.stream().anyMatch(l -> l.contains("before tracking began"));
        if (exitedFirst) {
            assertEquals(1, lines.size(), run.describe());
            assertTrue(lines.get(0).startsWith("memleak4j: the JVM exits ") && lines.get(0).contains(
                    "nothing was tracked and there is no report"), run.describe());
            assertEquals(List.of(), run.parsedReports(), run.describe());
            assertEquals(1, run.stderr.lines().count(), "nothing else on stderr\n" + run.describe());
        } else {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("memleak4j: tracking native allocations")),
                    run.describe());
            assertTrue(lines.stream().noneMatch(l -> l.contains("not started")), run.describe());
            List<Report> reports = run.parsedReports();
            assertEquals(1, reports.size(), run.describe());
            assertTrue(reports.get(0).atExit, run.describe());
        }
    }

    /**
     * What the agent's start allocates after the probes are on (linking its own lambdas allocates in libjvm for good)
     * is the agent's, not the application's: with every allocation tracked, no stack of the report runs through the
     * start thread's code (every such stack ends in AgentEntry's and BackgroundStart's frames).
     */
    @Test
    void theAgentsOwnStartIsNotInTheReport() throws Exception {
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("exit-own-start"), "interval=60,sample-bytes=0,top=10000",
                program("exit", "1000"), List.of());
        assertEquals(3, run.exitCode, run.describe());
        List<Report> reports = run.parsedReports();
        assertEquals(1, reports.size(), run.describe());
        assertTrue(reports.get(0).stacks.size() > 1, "the JVM's own allocations are there\n" + run.describe());
        for (Report.Stack stack : reports.get(0).stacks) {
            assertTrue(stack.frames.stream().noneMatch(f -> f.startsWith("dev.memleak4j.agent.AgentEntry")
                    || f.startsWith("dev.memleak4j.agent.BackgroundStart")), "the start's own allocation: " + stack);
        }
    }

    /**
     * At exit the agent detaches its probes itself, side by side, and the process ends only once they are detached: a
     * probe the kernel is still detaching while it kills the process's threads cannot take its breakpoint out, and
     * the kernel keeps it, with the agent library's file, until reboot ("failed to unregister, leaking uprobe" in
     * the kernel's log). With and without the exit report, and at a SIGTERM.
     */
    @Test
    void theProbesAreDetachedBeforeTheProcessEnds() throws Exception {
        long before = kernelLogLines("leaking uprobe");
        AgentRun withReport = AgentRun.withAgent(AgentRun.tempDir("exit-detach"), OPTIONS, program("exit", "1000"),
                List.of());
        AgentRun withoutReport = AgentRun.withAgent(AgentRun.tempDir("exit-detach-off"), OPTIONS
                + ",exit-report=off", program("exit", "1000"), List.of());
        assertEquals(3, withReport.exitCode, withReport.describe());
        assertEquals(3, withoutReport.exitCode, withoutReport.describe());
        assertEquals(before, kernelLogLines("leaking uprobe"), "the kernel kept a probe of a JVM that ended\n"
                + withReport.describe() + "\n" + withoutReport.describe());
    }

    /** Lines of the kernel's log that contain {@code text}; the test is skipped where the log cannot be read. */
    private static long kernelLogLines(String text) throws Exception {
        Process dmesg = new ProcessBuilder("dmesg").redirectErrorStream(true).start();
        String log = new String(dmesg.getInputStream().readAllBytes());
        org.junit.jupiter.api.Assumptions.assumeTrue(dmesg.waitFor() == 0, "cannot read the kernel's log: " + log);
        return log.lines().filter(line -> line.contains(text)).count();
    }

    private static void assertOnlyAnExitReportWithTheLeak(AgentRun run) {
        List<Report> reports = run.parsedReports();
        assertEquals(1, reports.size(), "the interval never came; only the exit report\n" + run.describe());
        assertTrue(reports.get(0).atExit, run.describe());
        assertEquals(List.of(LEAK + " in 3"), leaks(reports.get(0)), run.describe());
        assertTrue(reports.get(0).stacks.get(0).frames.stream().anyMatch(f -> f.startsWith(
                "dev.memleak4j.it.programs.ExitProgram.main")), run.describe());
    }

    private static List<String> leaks(Report report) {
        return report.stacks.stream().map(s -> s.bytes + " in " + s.count).toList();
    }

    private static List<String> program(String how, String sleepMillis) {
        return new java.util.ArrayList<>(AgentRun.programCommand(AgentRun.javaBinary(), List.of(),
                "dev.memleak4j.it.programs.ExitProgram", how, sleepMillis));
    }
}
