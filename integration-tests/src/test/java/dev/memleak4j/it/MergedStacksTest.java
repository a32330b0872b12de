package dev.memleak4j.it;

import dev.memleak4j.it.programs.MergedStacksProgram;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leaks of issue 3 (a direct buffer, an Inflater never ended, a JNI library without frame pointers), made in one
 * JVM per mode by {@code MergedStacksProgram}, each report naming the program's own leak method with its callers in
 * call order after the native frames that exist: after warm-up, where the leak method is inlined into its compiled
 * call site (JDK 17 and JDK 25), and under {@code -Xint} (JDK 17 and JDK 25). The frame-pointer JNI library is
 * {@link JavaFramesTest}'s.
 */
class MergedStacksTest {
    private static final String PROGRAM = "dev.memleak4j.it.programs.MergedStacksProgram";
    private static final String CLASS = PROGRAM.replace(".", "\\.") + "\\.";
    private static final int WARM_UP = 5000;
    /** Compile the call sites (blocking, at a fifth of the usual counts), each with its leak method inlined. */
    private static final List<String> JIT_FLAGS = List.of("-XX:+PreserveFramePointer",
            "-XX:CompileCommand=quiet",
            "-XX:CompileCommand=dontinline," + PROGRAM + "::*CallSite",
            "-XX:CompileCommand=inline," + PROGRAM + "::*Leak",
            "-XX:CompileCommand=BackgroundCompilation," + PROGRAM + "::*CallSite,false",
            "-XX:CompileCommand=CompileThresholdScaling," + PROGRAM + "::*CallSite,0.2");
    /**
     * Every leak size is in the range (the Inflater's 112-byte z_stream is not); so are dozens of the JVM's own
     * outstanding blocks, some bigger than zlib's state: every stack is shown.
     */
    private static final String OPTIONS = "interval=1,older=0,top=10000,sample-bytes=0,show-allocs,min-size=4000,"
            + "max-size=" + MergedStacksProgram.NOFP_SIZE;
    private static final int ZLIB_WINDOW = 1 << 15;

    private enum Mode {
        /** After warm-up: the leak method must be an inlined frame of its compiled call site. */
        JIT,
        /** -Xint: every Java frame the walk reaches is interpreted. */
        XINT;

        String leakKind() {
            return this == JIT ? "inlined" : "interpreted";
        }

        String callSiteKind() {
            return this == JIT ? "jit" : "interpreted";
        }
    }

    /** Runs the program in one mode and returns the report it printed, taken after its leaks. */
    private static Report run(String java, Mode mode) throws Exception {
        List<String> flags = new ArrayList<>(mode == Mode.JIT ? JIT_FLAGS : List.of("-Xint"));
        flags.add("-Dnofp.library=" + JniMarksTest.NOFP_LIBRARY);
        List<String> command = AgentRun.programCommand(java, flags, PROGRAM,
                String.valueOf(mode == Mode.JIT ? WARM_UP : 0));
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("merged-" + mode), OPTIONS, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("LEAKS DONE " + 3 * MergedStacksProgram.LEAKS), run.describe());
        int at = run.stdout.indexOf("\nREPORT\n");
        assertTrue(at >= 0, run.describe());
        List<Report> reports = Report.parseAll(run.stdout.substring(at));
        assertEquals(1, reports.size(), run.describe());
        return reports.get(0);
    }

    private static void assertAllLeaks(Report report, Mode mode) {
        assertDirectBufferLeak(report, mode);
        assertNoFramePointerLeak(report, mode);
        assertInflaterLeak(report, mode);
    }

    @Test
    void leaksThroughAnInlinedMethodAreNamedAfterWarmUpOnJdk17() throws Exception {
        Privileges.assumeBpf();
        assertAllLeaks(run(AgentRun.javaBinary(), Mode.JIT), Mode.JIT);
    }

    @Test
    void leaksAreNamedUnderXintOnJdk17() throws Exception {
        Privileges.assumeBpf();
        assertAllLeaks(run(AgentRun.javaBinary(), Mode.XINT), Mode.XINT);
    }

    @Test
    void leaksThroughAnInlinedMethodAreNamedAfterWarmUpOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        assertAllLeaks(run(AgentRun.JDK25.toString(), Mode.JIT), Mode.JIT);
    }

    @Test
    void leaksAreNamedUnderXintOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        assertAllLeaks(run(AgentRun.JDK25.toString(), Mode.XINT), Mode.XINT);
    }

    /** The stacks whose first frame matches {@code top} and that name the program's {@code leakMethod}. */
    private static List<Report.Stack> leakStacks(Report report, String top, String leakMethod) {
        return report.stacks.stream()
                .filter(s -> s.topFrame().matches(top))
                .filter(s -> s.indexOf(CLASS + leakMethod + "(:\\d+)? \\[.*") >= 0)
                .collect(Collectors.toList());
    }

    /**
     * The leak method and its callers, consecutive and in call order: {@code leakMethod}, its call site, round, main.
     * Either as the walk found them (the leak method {@code [inlined]} directly above its call site's {@code [jit]}
     * frame after warm-up, both {@code [interpreted]} under -Xint) or, when the walk stopped in code without frame
     * pointers, as the Java callers bound to the JNI mark ({@code [java caller]}, inlined methods included).
     * Returns the leak method's index.
     */
    private static int assertCallers(Report.Stack stack, Mode mode, String leakMethod, String leakCode,
                                     boolean javaCallers) {
        String callSite = leakMethod.replace("Leak", "CallSite");
        int leak = stack.indexOf(CLASS + leakMethod + "(:\\d+)? \\[.*");
        // Each frame at the line of MergedStacksProgram.java it is at.
        String source = "MergedStacksProgram.java";
        String[] callers = {leakMethod, callSite, "round", "main"};
        String[] code = {leakCode, "return " + leakMethod + "(", " = " + callSite + "(",
                "round(i < warmUp ? WARM_UP_CAPACITY"};
        String[] kinds = javaCallers ? new String[] {"java caller", "java caller", "java caller", "java caller"}
                : new String[] {mode.leakKind(), mode.callSiteKind(), "jit|inlined|interpreted", "jit|inlined|interpreted"};
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < callers.length; i++) {
            expected.add(SourceLines.frame(PROGRAM, callers[i], source, code[i], kinds[i]));
        }
        assertTrue(leak > 0 && leak + expected.size() <= stack.frames.size(), "no " + leakMethod + " in " + stack);
        for (int i = 0; i < expected.size(); i++) {
            assertTrue(stack.frames.get(leak + i).matches(expected.get(i)),
                    "expected " + expected.get(i) + " at frame " + (leak + i) + " (" + mode + "): " + stack);
        }
        return leak;
    }

    private static boolean isJavaCaller(String frame) {
        return frame.endsWith(" [java caller]");
    }

    /**
     * allocateDirect: one stack of exactly the 3 kept buffers (the 2 freed ones of the same size and path are not
     * there), os::malloc first, then Unsafe_AllocateMemory0 (JDK 17; on JDK 25 it tail-calls os::malloc and has no
     * frame), the native method, ByteBuffer.allocateDirect, and directLeak with its callers; every frame named.
     */
    private static void assertDirectBufferLeak(Report report, Mode mode) {
        List<Report.Stack> stacks = leakStacks(report, "os::malloc\\(.*\\[libjvm\\.so\\]", "directLeak");
        assertEquals(1, stacks.size(), "one stack for the direct buffers:\n" + report);
        Report.Stack stack = stacks.get(0);
        assertEquals((long) MergedStacksProgram.LEAKS * MergedStacksProgram.DIRECT_CAPACITY, stack.bytes,
                stack.toString());
        assertEquals(MergedStacksProgram.LEAKS, stack.count, stack.toString());
        int leak = assertCallers(stack, mode, "directLeak", "return ByteBuffer.allocateDirect(capacity);", false);
        int allocateDirect = stack.indexOf("java\\.nio\\.ByteBuffer\\.allocateDirect(:\\d+)? \\["
                + (mode == Mode.JIT ? "(inlined|jit)" : "interpreted") + "\\]");
        int nativeMethod = stack.indexOf("jdk\\.internal\\.misc\\.Unsafe\\.allocateMemory0 \\[(native wrapper|interpreted)\\]");
        assertTrue(nativeMethod > 0 && nativeMethod < allocateDirect && allocateDirect == leak - 1,
                "Unsafe.allocateMemory0, ..., ByteBuffer.allocateDirect, directLeak: " + stack);
        int unsafe = stack.indexOf("Unsafe_AllocateMemory0\\+0x[0-9a-f]+ \\[libjvm\\.so\\]");
        assertTrue(unsafe == 1 || (unsafe < 0 && nativeMethod == 1), "the JVM's native frames: " + stack);
        assertTrue(stack.frames.stream().noneMatch(f -> f.startsWith("[unknown]")), "every frame named: " + stack);
    }

    /**
     * The JNI library without frame pointers: one stack of exactly the 3 kept blocks, its allocating function first
     * (the frame-pointer walk stops in the library), then the JNI method and its callers, walked from the frame
     * anchor.
     */
    private static void assertNoFramePointerLeak(Report report, Mode mode) {
        List<Report.Stack> stacks = leakStacks(report, "nofp_allocate_state\\+0x[0-9a-f]+ \\[libnofp\\.so\\]",
                "noFpLeak");
        assertEquals(1, stacks.size(), "one stack for the no-frame-pointer leak:\n" + report);
        Report.Stack stack = stacks.get(0);
        assertEquals(MergedStacksProgram.LEAKS * MergedStacksProgram.NOFP_SIZE, stack.bytes, stack.toString());
        assertEquals(MergedStacksProgram.LEAKS, stack.count, stack.toString());
        assertEquals(1L, report.stacks.stream().filter(s -> s.topFrame().startsWith("nofp_allocate_state+")).count(),
                "nothing else from the library (its freed blocks):\n" + report);
        // Walked from the thread's frame anchor: the JNI method itself, then its callers, whatever rbp held.
        int leak = assertCallers(stack, mode, "noFpLeak", "return NoFpLib.leak(size);", false);
        assertTrue(stack.frames.get(leak - 1).matches(
                "dev\\.memleak4j\\.it\\.programs\\.NoFpLib\\.leak \\[" + (mode == Mode.JIT ? "native wrapper" : "interpreted")
                        + "\\]"), stack.toString());
        assertEquals(1, leak - 1, "the library's frame, then the JNI method: " + stack);
    }

    /**
     * The Inflaters: zlib's state (made by the constructor, first frame inflateInit2_) and its 32 KB window (made by
     * the first inflate), each exactly once per kept Inflater (the ended ones are not there), zlib's frame first, then
     * Inflater's method and inflaterLeak with its callers. Where zlib has no frame pointers (Debian's libz behind
     * JDK 17), the window's walk stops in zlib and the stack gets the Java callers of the JNI mark (a stray value read
     * from zlib's registers is cut off, so it no longer splits the windows into two stacks), while the state's walk reaches Java past the JNI function
     * (its frame is lost) as zlib leaves rbp alone there. Temurin 25 has zlib inside its libzip.so, with frame
     * pointers: both are walked, JNI function included.
     */
    private static void assertInflaterLeak(Report report, Mode mode) {
        List<Report.Stack> stacks = leakStacks(report, ".*\\[libz(ip)?\\.so.*\\]", "inflaterLeak");
        List<Report.Stack> state = stacks.stream().filter(s -> s.topFrame().startsWith("inflateInit2_+0x"))
                .collect(Collectors.toList());
        List<Report.Stack> window = stacks.stream().filter(s -> !state.contains(s)).collect(Collectors.toList());
        List<Long> stateSizes = sizes(state);
        List<Long> windowSizes = sizes(window);
        assertEquals(MergedStacksProgram.LEAKS, stateSizes.size(), "zlib states:\n" + report);
        assertEquals(MergedStacksProgram.LEAKS, windowSizes.size(), "zlib windows:\n" + report);
        assertEquals(1, window.size(), "the windows, made through one call path, are one stack:\n" + report);
        assertTrue(windowSizes.stream().allMatch(size -> size == ZLIB_WINDOW), windowSizes.toString());
        assertTrue(stateSizes.stream().distinct().count() == 1, "one zlib state size: " + stateSizes);
        for (Report.Stack stack : stacks) {
            assertEquals(stack.allocations.stream().mapToLong(Report.Allocation::size).sum(), stack.bytes, stack.toString());
            int leak = stack.indexOf(CLASS + "inflaterLeak(:\\d+)? \\[.*");
            boolean javaCallers = isJavaCaller(stack.frames.get(leak));
            String jdkMethod = state.contains(stack) ? "<init>" : "inflate";
            assertCallers(stack, mode, "inflaterLeak", state.contains(stack) ? "Inflater inflater = new Inflater();"
                    : "inflater.inflate(new byte[1024]);", javaCallers);
            assertTrue(stack.frames.get(leak - 1).matches("java\\.util\\.zip\\.Inflater\\." + jdkMethod + "(:\\d+)? \\[.*"),
                    "Inflater." + jdkMethod + " calls zlib: " + stack);
            if (stack.topFrame().contains("[libzip.so")) {
                assertTrue(stack.indexOf("Java_java_util_zip_Inflater_\\w+\\+0x[0-9a-f]+ \\[libzip\\.so\\]") > 0,
                        "zlib inside libzip.so: the JNI function is walked too: " + stack);
            }
        }
    }

    /** The outstanding allocations' sizes ({@code show-allocs}), over the stacks; each stack lists all of its own. */
    private static List<Long> sizes(List<Report.Stack> stacks) {
        List<Long> sizes = new ArrayList<>();
        for (Report.Stack stack : stacks) {
            assertEquals(stack.count, stack.allocations.size(), stack.toString());
            stack.allocations.forEach(a -> sizes.add(a.size()));
        }
        return sizes;
    }
}
