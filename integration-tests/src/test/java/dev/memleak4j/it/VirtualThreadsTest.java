package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native memory leaked from virtual threads (Temurin 25): a virtual thread that slept runs on with most of its
 * callers still frozen in the Java heap, and its stacks must be the same, and whole, as before it first slept.
 */
class VirtualThreadsTest {
    private static final int THREADS = 4;
    private static final int DEPTH = 40;
    private static final int ROUNDS = 3;
    private static final long LEAKED = 1_333_331;
    private static final long DIRECT = 1_777_784; // a multiple of 8: what Unsafe.allocateMemory asks malloc for
    private static final long FREED = 1_333_337;
    private static final String PROGRAM = "VirtualThreadProgram";

    /**
     * Each kind of leak is one stack with every block (the first round's, made before the thread ever slept, and the
     * later ones, made after its frames had been frozen and partly thawed), whole: the program's frames, the
     * recursion, the virtual thread's start. Nothing of the freed blocks, and no walk that ended early. Interpreted
     * frames: HotSpot then thaws only the top frames, and the walk reads the rest from the heap.
     */
    @Test
    void leaksFromVirtualThreadsThatSleptAreOneWholeStackEach() throws Exception {
        assertOneWholeStackEach(List.of());
    }

    /** The same with the program's methods compiled: compiled frames frozen in the heap among interpreted ones. */
    @Test
    void compiledFramesFrozenInTheHeapAreWalkedToo() throws Exception {
        assertOneWholeStackEach(List.of("-Xcomp", "-XX:CompileCommand=quiet",
                "-XX:CompileCommand=compileonly," + PROGRAM + "::*"));
    }

    /**
     * A hundred virtual threads parking every few calls while full GCs move the heap's stack chunks: every leaked
     * block counted, one stack per recursion depth, each ending at the continuation's entry, no walk that ended early.
     * Interpreted: a full GC every 50 ms also unloads the JIT's replaced code at once, and a compiled frame is named
     * when a report first reads it, so code unloaded (and its memory reused) before that report would be named wrong
     * or not at all (java-frames.md, "Limits of compiled frames"), a limit this test is not about.
     */
    @Test
    void virtualThreadsParkingUnderFullGcsAreExact() throws Exception {
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        int depths = 10;
        List<String> command = AgentRun.programCommand(AgentRun.JDK25.toString(),
                List.of("-Xint", "--enable-native-access=ALL-UNNAMED"),
                Paths.get(System.getProperty("jdk25.sources"), "VirtualThreadChurnProgram.java").toString(),
                "4", "100", Integer.toString(depths), Long.toString(LEAKED));
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("vthreads-churn"), "interval=1,older=0,top=50,"
                + "sample-bytes=0,min-size=" + LEAKED + ",max-size=" + LEAKED, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        long leaked = run.stdout.lines().filter(l -> l.startsWith("LEAKED "))
                .mapToLong(l -> Long.parseLong(l.substring(7))).findFirst()
                .orElseThrow(() -> new AssertionError(run.describe()));
        assertTrue(leaked > 100, run.describe());
        Report report = run.lastReport();
        assertEquals(depths, report.stacks.size(), report.toString());
        assertEquals(leaked, report.stacks.stream().mapToLong(s -> s.count).sum(), report.toString());
        assertEquals(leaked * LEAKED, report.stacks.stream().mapToLong(s -> s.bytes).sum(), report.toString());
        for (Report.Stack stack : report.stacks) {
            assertEquals("jdk.internal.vm.Continuation.enterSpecial [native wrapper]",
                    stack.frames.get(stack.frames.size() - 1), stack.toString());
        }
        assertFalse(run.reports.contains("could not all be walked"), run.reports);
    }

    private static void assertOneWholeStackEach(List<String> jvmFlags) throws Exception {
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        List<String> flags = new ArrayList<>(jvmFlags);
        flags.add("--enable-native-access=ALL-UNNAMED");
        List<String> command = AgentRun.programCommand(AgentRun.JDK25.toString(), flags,
                Paths.get(System.getProperty("jdk25.sources"), PROGRAM + ".java").toString(),
                Integer.toString(THREADS), Integer.toString(DEPTH), Integer.toString(ROUNDS), Long.toString(LEAKED),
                Long.toString(DIRECT), Long.toString(FREED));
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("vthreads"), "interval=1,older=0,top=20,sample-bytes=0,"
                + "min-size=" + LEAKED + ",max-size=" + DIRECT, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        long blocks = (long) THREADS * ROUNDS;

        List<Report.Stack> jni = report.stacksFrom("Java_dev_memleak4j_it_programs_LeakLib_viaMalloc+0x");
        assertEquals(1, jni.size(), report.toString());
        assertEquals(blocks * LEAKED, jni.get(0).bytes, report.toString());
        assertEquals(blocks, jni.get(0).count, report.toString());
        assertWhole(jni.get(0), "leak");

        List<Report.Stack> direct = report.stacks.stream().filter(s -> s.bytes == blocks * DIRECT).toList();
        assertEquals(1, direct.size(), report.toString());
        assertEquals(blocks, direct.get(0).count, report.toString());
        assertTrue(direct.get(0).indexOf("java\\.nio\\.ByteBuffer\\.allocateDirect.*") > 0, direct.toString());
        assertWhole(direct.get(0), "leak");

        assertEquals(2, report.stacks.size(), "nothing of the freed blocks: " + report);
        assertFalse(run.reports.contains("could not all be walked"), run.reports);
    }

    /**
     * From {@code caller} down: the recursion and the virtual thread's start, ending at its continuation's entry
     * (below it are its carrier's frames, the scheduler's, which differ between a first run and a run after a park).
     */
    private static void assertWhole(Report.Stack stack, String caller) {
        int leak = stack.indexOf(PROGRAM + "\\." + caller + ":\\d+ .*");
        int descend = stack.indexOf(PROGRAM + "\\.descend:\\d+ .*");
        assertTrue(leak > 0 && descend == leak + 1, stack.toString());
        long recursion = stack.frames.stream().filter(f -> f.matches(PROGRAM + "\\.descend:\\d+ .*")).count();
        assertEquals(DEPTH + 1, recursion, stack.toString());
        int virtualThread = stack.indexOf("java\\.lang\\.VirtualThread\\.run:\\d+ .*");
        assertTrue(descend + DEPTH < virtualThread, stack.toString());
        assertEquals("jdk.internal.vm.Continuation.enterSpecial [native wrapper]",
                stack.frames.get(stack.frames.size() - 1), stack.toString());
    }
}
