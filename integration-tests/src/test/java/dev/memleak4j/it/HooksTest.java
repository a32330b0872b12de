package dev.memleak4j.it;

import dev.memleak4j.it.programs.HooksProgram;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
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
        // A library dlopen()ed by C code, not by the JVM: by its bare name through the caller's RUNPATH and by a
        // path from $ORIGIN (the hook must open as its caller, not as its own library), and by its path.
        assertFalse(run.stdout.contains("LEAK 0\n"), run.describe());
        assertEquals(3 * DLOPEN_SIZE, report.bytesFrom("dlopened_alloc+0x"), report.toString());
        assertEquals(3, report.countFrom("dlopened_alloc+0x"), report.toString());
        assertTrue(report.stacksFrom("dlopened_alloc+0x").get(0).frames.get(1)
                .startsWith(HOOKS_LIB + "viaDlopened+0x"), report.toString());
    }

    @Test
    void stoppingPutsBackEverySlotItChanged() throws Exception {
        AgentRun run = hooksProgram("slots", "interval=1,count=1,verbose", "slots");
        assertEquals(0, run.exitCode, run.describe());
        // While the agent ran, the library's own slots held hooks; after the stop, libc's malloc and dlsym again.
        assertTrue(run.stdout.contains("DURING malloc=libmemleak4j.so dlsym=libmemleak4j.so\n"), run.describe());
        assertTrue(run.stdout.contains("AFTER malloc=libc.so.6 dlsym=libc.so.6\n"), run.describe());
        String removed = run.agentLines().stream().filter(l -> l.contains("allocator hooks removed")).findFirst()
                .orElseThrow(() -> new AssertionError(run.describe()));
        assertTrue(removed.matches(".*: [1-9][0-9]* import-table slots restored, 0 still pointing at a hook"), removed);
    }

    @Test
    void allocatorFunctionsFetchedWithDlsymAreSeenAndDlsymStillLooksUpAsItsCaller() throws Exception {
        AgentRun run = hooksProgram("by-name", "interval=1,older=0,top=50,show-allocs,sample-bytes=0,min-size="
                + DLSYM_SIZE + ",max-size=" + DLSYM_SIZE, "by-name");
        assertEquals(0, run.exitCode, run.describe());
        // The library is loaded RTLD_LOCAL: its own symbols are found only in its own scope, as glibc sees its caller.
        assertTrue(run.stdout.contains("OWN SYMBOL 1\n"), run.describe());
        Report report = run.lastReport();
        // Two blocks from the malloc fetched with dlsym, one freed with the free fetched the same way: one left.
        List<Report.Stack> leaks = report.stacksFrom(HOOKS_LIB + "viaDlsym+0x");
        assertEquals(1, leaks.size(), report.toString());
        assertEquals(DLSYM_SIZE, leaks.get(0).bytes, report.toString());
        List<Long> printed = leakAddresses(run);
        assertEquals(1, printed.size(), run.describe());
        assertEquals(List.of(new Report.Allocation(printed.get(0), DLSYM_SIZE)), leaks.get(0).allocations,
                report.toString());
        assertEquals(1, report.stacks.size(), report.toString());
    }

    /**
     * JDK 25: malloc and free found by name in FFM's default lookup and called through downcalls, after the agent
     * started: the kept blocks exactly, under the program's method, and nothing of the freed ones.
     */
    @Test
    void ffmDowncallsToMallocAndFreeOnJdk25AreSeen() throws Exception {
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        long kept = 1_567_891;
        long freed = 1_567_893;
        List<String> command = List.of(AgentRun.JDK25.toString(), "--enable-native-access=ALL-UNNAMED", "-cp",
                AgentRun.TEST_CLASSES.toString(),
                Paths.get(System.getProperty("jdk25.sources"), "FfmProgram.java").toString(),
                Long.toString(kept), "3", Long.toString(freed), "4");
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("ffm"), "interval=1,older=0,top=50,show-allocs,"
                + "sample-bytes=0,probe-mode=hooks,min-size=" + kept + ",max-size=" + freed, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        List<Report.Allocation> allocations = report.stacks.stream().flatMap(s -> s.allocations.stream()).toList();
        List<Long> printed = leakAddresses(run);
        assertEquals(3, printed.size(), run.describe());
        assertEquals(printed.stream().map(a -> new Report.Allocation(a, kept)).toList(),
                allocations.stream().sorted(Comparator.comparingLong(Report.Allocation::address)).toList(),
                report.toString());
        assertEquals(3 * kept, report.stacks.stream().mapToLong(s -> s.bytes).sum(), report.toString());
        // Each from the program's own method, through the downcall.
        assertTrue(report.stacks.stream().allMatch(s -> s.indexOf("FfmProgram\\.main(:\\d+)? .*") >= 0),
                report.toString());
    }

    /** The addresses of the program's {@code LEAK} lines, in ascending order. */
    private static List<Long> leakAddresses(AgentRun run) {
        return run.stdout.lines().filter(l -> l.startsWith("LEAK "))
                .map(l -> Long.parseUnsignedLong(l.substring(5), 16)).sorted().toList();
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
