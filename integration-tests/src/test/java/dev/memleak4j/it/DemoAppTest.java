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
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("demo"), "interval=2,count=3,top=10",
                List.of(AgentRun.javaBinary(), "-jar", demoJar, "--seconds", "8"), List.of());
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        List<Report.Stack> fibonacci = report.stacksFrom("fibonacci+0x");
        assertEquals(1, fibonacci.size(), report.toString());
        Report.Stack stack = fibonacci.get(0);
        assertTrue(stack.topFrame().matches("fibonacci\\+0x[0-9a-f]+ \\[libdemo\\.so\\]"), stack.topFrame());
        assertTrue(stack.frames.get(1).startsWith("Java_dev_memleak4j_demo_NativeMath_fibonacci+0x"), stack.toString());
        assertEquals(8192 * stack.count, stack.bytes, "8192 bytes a call");
        assertTrue(stack.count >= 4, "one leak a second for ~6 s: " + stack);
        for (Report.Stack any : report.stacks) {
            assertTrue(any.frames.stream().noneMatch(f -> f.contains("NativeMath_churn")),
                    "churn frees everything it allocates: " + any);
        }
    }
}
