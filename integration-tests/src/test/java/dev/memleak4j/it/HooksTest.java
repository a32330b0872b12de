package dev.memleak4j.it;

import dev.memleak4j.it.programs.HooksProgram;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

import static dev.memleak4j.it.programs.HooksProgram.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * probe-mode=hooks where the import tables matter: libraries loaded after the start (by the JVM and by C code),
 * allocations libc makes on the application's behalf, every slot put back at the stop, hooks going in and out while
 * eight threads allocate, and an allocator put in front of libc with LD_PRELOAD.
 */
class HooksTest {
    private static final String HOOKS_LIB = "Java_dev_memleak4j_it_programs_HooksLib_";
    private static final String LEAK_LIB = "Java_dev_memleak4j_it_programs_LeakLib_";
    /** Debian's jemalloc (package libjemalloc2; scripts/install-toolchain.sh installs it). */
    private static final Path JEMALLOC = Paths.get("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");

    @BeforeEach
    void privileges() throws Exception {
        Privileges.assumeBpf();
    }

    private static AgentRun hooksProgram(String dir, String options, String scenario) throws Exception {
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), List.of(),
                HooksProgram.class.getName(), scenario);
        return AgentRun.withAgent(AgentRun.tempDir(dir), options + ",probe-mode=hooks", command, List.of());
    }

    @Test
    void librariesLoadedAfterTheStartAndLibcsOwnAllocationsAreSeen() throws Exception {
        AgentRun run = hooksProgram("late", "interval=1,older=0,top=50,min-size=1000000", "late");
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        // libc's strdup allocates for the JNI function through libc's own import slot: strdup is the direct caller.
        // (glibc has no frame pointers, so the walk ends there, as it does at a uprobe on malloc.)
        List<Report.Stack> strdup = report.stacks.stream()
                .filter(s -> s.topFrame().matches(".*strdup\\+0x[0-9a-f]+ \\[libc\\.so\\.6\\]")).toList();
        assertEquals(1, strdup.size(), report.toString());
        assertEquals(STRDUP_LENGTH + 1L, strdup.get(0).bytes, report.toString());
        assertEquals(1, strdup.get(0).count, report.toString());
        // A library dlopen()ed by C code, not by the JVM: by its bare name through the caller's RUNPATH (the hook
        // must search the caller's paths, not its own), and by its path.
        assertFalse(run.stdout.contains("LEAK 0\n"), run.describe());
        assertEquals(2 * DLOPEN_SIZE, report.bytesFrom("dlopened_alloc+0x"), report.toString());
        assertEquals(2, report.countFrom("dlopened_alloc+0x"), report.toString());
        assertTrue(report.stacksFrom("dlopened_alloc+0x").get(0).frames.get(1)
                .startsWith(HOOKS_LIB + "viaDlopened+0x"), report.toString());
    }

    @Test
    void stoppingPutsBackEverySlotItChanged() throws Exception {
        AgentRun run = hooksProgram("slots", "interval=1,count=1,verbose", "slots");
        assertEquals(0, run.exitCode, run.describe());
        // While the agent ran, the library's own slot held a hook; after the stop, the allocator's malloc again.
        assertTrue(run.stdout.contains("DURING 0"), run.describe());
        assertTrue(run.stdout.contains("AFTER 1"), run.describe());
        String removed = run.agentLines().stream().filter(l -> l.contains("allocator hooks removed")).findFirst()
                .orElseThrow(() -> new AssertionError(run.describe()));
        assertTrue(removed.matches(".*: [1-9][0-9]* import-table slots restored, 0 still pointing at a hook"), removed);
    }

    @Test
    void eightThreadsAllocatingWhileTheHooksGoInAndOutRunOnAndTheLeaksAfterAreExact() throws Exception {
        AgentRun run = hooksProgram("cycles", "interval=1,older=0,top=50,sample-bytes=0,min-size=" + CYCLE_SIZE
                + ",max-size=" + CYCLE_SIZE + ",verbose", "cycles");
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("CYCLED " + CYCLES + " RUNNING true"), run.describe());
        long stops = run.agentLines().stream().filter(l -> l.contains("allocator hooks removed")).count();
        assertEquals(CYCLES, stops, run.describe());
        assertTrue(run.agentLines().stream().filter(l -> l.contains("allocator hooks removed"))
                .allMatch(l -> l.endsWith(", 0 still pointing at a hook")), run.describe());
        Report report = run.lastReport();
        assertEquals((long) THREADS * CYCLE_LEAKS, report.countFrom(HOOKS_LIB + "leak+0x"), report.toString());
        assertEquals(THREADS * CYCLE_LEAKS * CYCLE_SIZE, report.bytesFrom(HOOKS_LIB + "leak+0x"), report.toString());
        assertFalse(run.stderr.contains("fatal error"), run.describe());
    }

    /**
     * jemalloc put in front of libc with LD_PRELOAD: the hooks wrap jemalloc (a block of one allocator freed by the
     * other would crash the program), and the all-functions scenario reports exactly as with glibc.
     */
    @Test
    void anAllocatorPreloadedBeforeLibcIsWhatTheHooksWrap() throws Exception {
        assumeTrue(Files.exists(JEMALLOC), JEMALLOC + " is not installed (Debian package libjemalloc2)");
        Path dir = AgentRun.tempDir("jemalloc");
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), List.of(),
                "dev.memleak4j.it.programs.LeakProgram", "all-functions", "3500");
        AgentRun run = AgentRun.withAgent(dir, "interval=1,count=2,older=0,top=100,min-size=900000,probe-mode=hooks",
                command, List.of("env", "LD_PRELOAD=" + JEMALLOC, "sh", "-c"));
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        for (Map.Entry<String, long[]> e : AllocatorFunctionsTest.EXPECTED.entrySet()) {
            String frame = LEAK_LIB + e.getKey() + "+0x";
            assertEquals(e.getValue()[0], report.bytesFrom(frame), "bytes from " + e.getKey() + "\n" + report);
            assertEquals(e.getValue()[1], report.countFrom(frame), "allocations from " + e.getKey() + "\n" + report);
        }
    }
}
