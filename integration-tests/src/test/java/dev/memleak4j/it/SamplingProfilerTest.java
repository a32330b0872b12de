package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * memleak4j beside a sampling profiler that signals every thread each millisecond: async-profiler's cpu mode, started
 * before the agent with {@code -agentpath}. A pending signal makes the kernel's verifier give up loading a BPF
 * program (EAGAIN); before the agent held signals back during the load, it never started in such a JVM.
 */
class SamplingProfilerTest {
    private static final String LIB = "Java_dev_memleak4j_it_programs_LeakLib_";

    @Test
    void theAgentStartsAndReportsTheExactLeakBesideAsyncProfilersCpuSampling() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("profiler");
        Path profiler = dir.resolve("libasyncProfiler.so");
        try (InputStream in = SamplingProfilerTest.class.getClassLoader()
                .getResourceAsStream("linux-x64/libasyncProfiler.so")) {
            assertNotNull(in, "async-profiler's jar (a test dependency) has no linux-x64/libasyncProfiler.so");
            Files.copy(in, profiler);
        }
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), List.of(
                        "-agentpath:" + profiler + "=start,event=cpu,interval=1ms,file=" + dir.resolve("profile.txt")
                                + ",collapsed"),
                "dev.memleak4j.it.programs.LeakProgram", "three-leaks", "2500");
        // The profiler first (agents start in command-line order), as a user adds memleak4j to a profiled service.
        AgentRun run = AgentRun.withAgent(dir, "interval=1,older=0,sample-bytes=0,min-size=1999993,max-size=1999993",
                command, List.of(), 2);

        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.agentLines().stream().anyMatch(line -> line.contains("tracking native allocations")),
                run.describe());
        Report report = run.lastReport();
        assertEquals(3 * 1_999_993L, report.bytesFrom(LIB + "viaMalloc+0x"), report.toString());
        assertEquals(3, report.countFrom(LIB + "viaMalloc+0x"), report.toString());
        assertTrue(Files.size(dir.resolve("profile.txt")) > 0, "the profiler ran beside the agent");
    }
}
