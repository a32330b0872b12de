package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo app's report looks like the README says: the fibonacci leak, and none of the churn. */
class DemoAppTest {
    @Test
    void demoReportShowsTheFibonacciLeakAndNotTheChurn() throws Exception {
        Privileges.assumeBpf();
        String demoJar = Paths.get(System.getProperty("demo.jar")).toString();
        // top=1000: the JVM's own compiler arenas, outstanding while compilations run (and kept a while in its chunk
        // pool), may outrank the leak in the first seconds; the churn check then also covers every stack there is.
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("demo"), "interval=2,count=3,top=1000",
                List.of(AgentRun.javaBinary(), "-jar", demoJar, "--seconds", "8"), List.of());
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        List<Report.Stack> fibonacci = report.stacksFrom("fibonacci+0x");
        assertEquals(1, fibonacci.size(), report.toString());
        Report.Stack stack = fibonacci.get(0);
        assertTrue(stack.topFrame().matches("fibonacci\\+0x[0-9a-f]+ \\[libdemo\\.so\\]"), stack.topFrame());
        assertTrue(stack.frames.get(1).startsWith("Java_dev_memleak4j_demo_NativeMath_fibonacci+0x"), stack.toString());
        assertEquals(8192 * stack.count, stack.bytes, "8192 bytes a call");
        // The worker calls fibonacci at once and then once a second; the last report comes ~6 s after the agent
        // started (interval=2, count=3), the worker a little after it: at least 4 calls by then. The whole process
        // lives 8 s after the worker starts (main sleeps --seconds 8), so it makes at most 9 calls ever: a leak
        // counted twice (2 x 5 or more) would not fit.
        assertTrue(stack.count >= 4 && stack.count <= 9, "one leak a second for ~6 s: " + stack);
        for (Report.Stack any : report.stacks) {
            assertTrue(any.frames.stream().noneMatch(f -> f.contains("NativeMath_churn")),
                    "churn frees everything it allocates: " + any);
        }
    }

    /** Prints the share of named frames in the demo's report; the README quotes it. */
    @Test
    void demoReportUnderPreserveFramePointerNamesAtLeast95PercentOfFrames() throws Exception {
        Privileges.assumeBpf();
        String demoJar = Paths.get(System.getProperty("demo.jar")).toString();
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("demo-frames"), "interval=2,count=3,top=50",
                List.of(AgentRun.javaBinary(), "-XX:+PreserveFramePointer", "-jar", demoJar, "--seconds", "8"),
                List.of());
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        long frames = 0;
        long named = 0;
        for (Report.Stack stack : report.stacks) {
            for (String frame : stack.frames) {
                frames++;
                if (!frame.startsWith("[unknown]")) {
                    named++;
                }
            }
        }
        double share = 100.0 * named / Math.max(1, frames);
        System.out.printf("demo report under -XX:+PreserveFramePointer: %d of %d frames named (%.1f%%)%n", named,
                frames, share);
        assertTrue(frames > 20, report.toString());
        assertTrue(share >= 95.0, String.format("%.1f%% named%n%s", share, report));
        Report.Stack fibonacci = report.stacksFrom("fibonacci+0x").get(0);
        assertTrue(fibonacci.frames.stream().anyMatch(f -> f.startsWith("dev.memleak4j.demo.DemoApp.leakEverySecond")),
                "the demo's Java caller is named: " + fibonacci);
    }
}
