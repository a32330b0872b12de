package dev.memleak4j.it;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java half of a leak's stack is named, in call order with the native half: JIT-compiled frames with an
 * inlined caller after warm-up, interpreted frames under -Xint, on JDK 17 and on JDK 25.
 */
class JavaFramesTest {
    private static final String PROGRAM = "dev.memleak4j.it.programs.JavaFramesProgram";

    private static AgentRun run(String java, String... jvmFlags) throws Exception {
        return runWith("", java, jvmFlags);
    }

    private static AgentRun runWith(String moreOptions, String java, String... jvmFlags) throws Exception {
        // Under -Xint the agent's own code is interpreted too, so its first report (parsing libjvm's symbols)
        // takes seconds: the program may wait longer for it (it ends once count=2 reports are out).
        boolean xint = List.of(jvmFlags).contains("-Xint");
        String sleepMillis = xint ? "12000" : "3000";
        List<String> flags = new ArrayList<>(List.of(jvmFlags));
        if (!xint) {
            // callSite's compilations block its caller: compiled (C1, then C2) within the warm-up however busy the
            // JIT's queue is at start-up. Which of the two makes the leaks does not matter, the report groups them.
            flags.addAll(List.of("-XX:CompileCommand=quiet",
                    "-XX:CompileCommand=BackgroundCompilation," + PROGRAM + "::callSite,false"));
        }
        List<String> command = AgentRun.programCommand(java, flags, PROGRAM, sleepMillis);
        return AgentRun.withAgent(AgentRun.tempDir("javaframes"),
                "interval=1,count=2,older=0,top=20,sample-bytes=0,min-size=1555557,max-size=1555557" + moreOptions,
                command, List.of());
    }

    /** The leak's stack: exactly 3 blocks, the JNI function first, then named Java frames. */
    private static Report.Stack leakStack(AgentRun run) {
        Report report = run.lastReport();
        List<Report.Stack> stacks = report.stacksFrom("Java_dev_memleak4j_it_programs_LeakLib_viaMalloc+0x");
        assertEquals(1, stacks.size(), run.describe());
        Report.Stack stack = stacks.get(0);
        assertEquals(3 * 1_555_557L, stack.bytes, stack.toString());
        assertEquals(3, stack.count, stack.toString());
        return stack;
    }

    /**
     * The indexes of allocate, callSite and main in the stack, each matched with the line of the program's source it
     * is at and one of its kinds ("jit|interpreted").
     */
    private static int[] programFrames(Report.Stack stack, String allocateKinds, String callSiteKinds,
                                       String mainKinds) {
        return new int[] {
            stack.indexOf(SourceLines.frame(PROGRAM, "allocate", "JavaFramesProgram.java",
                    "return LeakLib.viaMalloc(size);", allocateKinds)),
            stack.indexOf(SourceLines.frame(PROGRAM, "callSite", "JavaFramesProgram.java", "return allocate(size);",
                    callSiteKinds)),
            stack.indexOf(SourceLines.frame(PROGRAM, "main", "JavaFramesProgram.java", "callSite(LEAK_SIZE);",
                    mainKinds))};
    }

    private static void assertCompiledWithInlinedCaller(Report.Stack stack) {
        int[] at = programFrames(stack, "inlined", "jit", "interpreted|jit");
        int allocate = at[0], caller = at[1], main = at[2];
        assertTrue(allocate > 0, "allocate is named as inlined: " + stack);
        assertTrue(caller == allocate + 1, "callSite's compiled frame follows its inlined callee: " + stack);
        assertTrue(main == caller + 1, "main calls callSite: " + stack);
    }

    @Test
    void jitCompiledFramesWithAnInlinedCallerAreNamedOnJdk17() throws Exception {
        Privileges.assumeBpf();
        AgentRun run = run(AgentRun.javaBinary(), "-XX:+PreserveFramePointer");
        assertCompiledWithInlinedCaller(leakStack(run));
    }

    @Test
    void interpretedFramesAreNamedUnderXint() throws Exception {
        Privileges.assumeBpf();
        Report.Stack stack = leakStack(run(AgentRun.javaBinary(), "-Xint"));
        // Each interpreted frame with its line, from the bytecode pointer the walk from the frame anchor reads.
        int[] at = programFrames(stack, "interpreted", "interpreted", "interpreted");
        assertTrue(at[0] > 0 && at[1] == at[0] + 1 && at[2] == at[1] + 1, stack.toString());
        assertTrue(stack.frames.stream().noneMatch(f -> f.startsWith("[unknown]") && !f.contains("libc.so")),
                "every frame named: " + stack);
    }

    @Test
    void jitAndInterpretedFramesAreNamedOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        assertCompiledWithInlinedCaller(leakStack(run(AgentRun.JDK25.toString(), "-XX:+PreserveFramePointer")));
        Report.Stack interpreted = leakStack(run(AgentRun.JDK25.toString(), "-Xint"));
        assertTrue(interpreted.indexOf(SourceLines.frame(PROGRAM, "callSite", "JavaFramesProgram.java",
                "return allocate(size);", "interpreted")) > 0,
                interpreted.toString());
    }

    /**
     * Runs the program on JDK 17 and on JDK 25 with {@code jvmFlags}, the agent verbose: each run's compiled frame is
     * named with its inlined callee, the program prints DebugNonSafepoints as {@code flag} ("value: V  origin: O"),
     * and the agent says {@code naming} of how it names compiled frames. On both JDKs the JIT took the agent's
     * compiler directive (a directive the JVM refuses has its error appended to the line).
     */
    private static void assertNamingAndFlag(String naming, String flag, String... jvmFlags) throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        List<String> flags = new ArrayList<>(List.of("-XX:+PreserveFramePointer", "-XX:+UnlockDiagnosticVMOptions",
                "-Djavaframes.vmOption=DebugNonSafepoints"));
        flags.addAll(List.of(jvmFlags));
        for (String java : List.of(AgentRun.javaBinary(), AgentRun.JDK25.toString())) {
            AgentRun run = runWith(",verbose", java, flags.toArray(new String[0]));
            assertTrue(run.stdout.contains("VM option: DebugNonSafepoints " + flag), run.describe());
            assertTrue(run.stderr.contains("memleak4j: compiled Java frames named from " + naming), run.describe());
            assertTrue(run.stderr.contains("memleak4j: the agent's own code, but for the JNI marks' path, is compiled "
                    + "by C1 only, and its instruction decoding and maps parsing not at all (compiler directive)\n"),
                    run.describe());
            assertCompiledWithInlinedCaller(leakStack(run));
        }
    }

    /**
     * Where VMStructs is readable (JDK 17 and 25 here), compiled frames are named from their nmethods and JVMTI
     * CompiledMethodLoad stays off: the agent says so when verbose, and leaves DebugNonSafepoints at its default (it
     * sets the flag off, as its ergonomic choice, only where it enables the event). The frames are named all the same.
     */
    @Test
    void compiledFramesAreNamedWithoutCompiledMethodLoad() throws Exception {
        assertNamingAndFlag("their nmethods (VMStructs), without JVMTI CompiledMethodLoad",
                "value: false  origin: DEFAULT");
    }

    /**
     * Where compiled frames are named from JVMTI's CompiledMethodLoad (forced here; else where VMStructs lacks what
     * the nmethods take), the agent sets DebugNonSafepoints off as its ergonomic choice before it enables the event,
     * unless the flag was given on the command line; the frames are named all the same.
     */
    @Test
    void withCompiledMethodLoadDebugNonSafepointsIsSetOffUnlessGiven() throws Exception {
        assertNamingAndFlag("JVMTI CompiledMethodLoad (not from nmethods: asked for); DebugNonSafepoints set off",
                "value: false  origin: ERGONOMIC", "-Dmemleak4j.compiledFrames=jvmti");
        assertNamingAndFlag("JVMTI CompiledMethodLoad (not from nmethods: asked for); DebugNonSafepoints left as set "
                + "on the command line", "value: true  origin: VM_CREATION", "-Dmemleak4j.compiledFrames=jvmti",
                "-XX:+DebugNonSafepoints");
    }

    @Test
    void directBufferLeakNamesTheTestMethodThatAllocatedIt() throws Exception {
        Privileges.assumeBpf();
        List<String> command = AgentRun.programCommand(AgentRun.javaBinary(), List.of(),
                "dev.memleak4j.it.programs.DirectBufferProgram", "3000");
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("directbuffer"),
                "interval=1,count=2,older=0,top=20,min-size=1333337,max-size=1333360", command, List.of());
        assertTrue(run.stdout.contains("LEAKS DONE 3"), run.describe());
        Report report = run.lastReport();
        Report.Stack stack = report.stacks.stream()
                .filter(s -> s.frames.stream().anyMatch(f -> f.startsWith("os::malloc")))
                .findFirst().orElseThrow(() -> new AssertionError(report.toString()));
        // The JVM's os::malloc rounds the request up to 8 bytes (1,333,337 -> 1,333,344 on JDK 17).
        assertTrue(stack.bytes >= 3 * 1_333_337L && stack.bytes <= 3 * 1_333_360L, stack.toString());
        assertEquals(3, stack.count, stack.toString());
        // The JDK's own line is not this test's to know.
        int allocateDirect = stack.indexOf("java\\.nio\\.ByteBuffer\\.allocateDirect:\\d+ \\[(jit|inlined|interpreted)\\]");
        String program = "dev.memleak4j.it.programs.DirectBufferProgram";
        int leak = stack.indexOf(SourceLines.frame(program, "leakDirectBuffers", "DirectBufferProgram.java",
                "KEPT.add(ByteBuffer.allocateDirect(CAPACITY));", "interpreted|jit|inlined"));
        int main = stack.indexOf(SourceLines.frame(program, "main", "DirectBufferProgram.java",
                "        leakDirectBuffers();", "interpreted|jit"));
        assertTrue(allocateDirect > 0 && leak > allocateDirect && main == leak + 1,
                "the Java callers, in order, above the JVM's os::malloc: " + stack);
    }
}
