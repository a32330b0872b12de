package dev.memleak4j.it;

import dev.memleak4j.it.programs.AnchorWalkProgram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel side walks each Java thread's frames from its frame anchor, so that an allocation made under a JNI, JNA
 * or FFM call names the Java method that made the call and its Java caller whatever the native code's frame
 * pointers: real libraries built without them (zstd-jni, JNA's dispatch library, RocksDB, zlib, a JNI library of
 * our own built with -fomit-frame-pointer), default options but for sample-bytes=0 (every allocation, exact bytes),
 * with the JNI marks off, in each probe mode, on JDK 17 and 25, compiled and interpreted.
 */
class AnchorWalkTest {
    private static final String PROGRAM = "dev.memleak4j.it.programs.AnchorWalkProgram";
    private static final String P = "dev.memleak4j.it.programs.AnchorWalkProgram.";
    /** Every allocation of RocksDB's ReadOptions (184 bytes) and up: most of the JVM's own small blocks are left out. */
    private static final String OPTIONS = "sample-bytes=0,min-size=180,top=2000,jni-classes=none";
    private static final Path FFM_PROGRAM =
            AgentRun.TEST_CLASSES.resolve("../../src/test/jdk25/FfmMallocProgram.java").normalize();

    /** The test class path with the libraries' jars (surefire's own class path is a manifest-only jar). */
    private static String classPath() {
        List<String> entries = new ArrayList<>(List.of(AgentRun.TEST_CLASSES.toString()));
        Arrays.stream(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))
                        .split(File.pathSeparator))
                .filter(e -> e.contains("zstd-jni") || e.contains("jna") || e.contains("rocksdbjni"))
                .forEach(entries::add);
        return String.join(File.pathSeparator, entries);
    }

    private static AgentRun run(String name, String java, String options, List<String> flags, String... scenarios)
            throws Exception {
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(flags);
        command.addAll(List.of("-Dnofp.library=" + JniMarksTest.NOFP_LIBRARY, "-cp", classPath(), PROGRAM, "0"));
        command.addAll(List.of(scenarios));
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir(name), options, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        return run;
    }

    /**
     * The stacks that name {@code method} (the Java method that made the native call; any method of a class when it
     * ends with a dot) and, after it, {@code caller}.
     */
    private static List<Report.Stack> naming(Report report, String method, String caller) {
        return report.stacks.stream().filter(s -> {
            int at = indexOf(s, method);
            return at >= 0 && indexOf(s, caller) > at;
        }).collect(Collectors.toList());
    }

    private static int indexOf(Report.Stack stack, String method) {
        for (int i = 0; i < stack.frames.size(); i++) {
            String frame = stack.frames.get(i);
            if (method.endsWith(".") ? frame.startsWith(method)
                    : frame.startsWith(method + " ") || frame.startsWith(method + ":")) {
                return i;
            }
        }
        return -1;
    }

    private static long bytes(List<Report.Stack> stacks) {
        return stacks.stream().mapToLong(s -> s.bytes).sum();
    }

    private static long count(List<Report.Stack> stacks) {
        return stacks.stream().mapToLong(s -> s.count).sum();
    }

    /**
     * A leak of known blocks: exactly its bytes and count in stacks naming the Java method that made the native call
     * and its caller, in at most two stacks, and at least 95% of the bytes its caller made.
     */
    private static void assertExact(Report report, String method, String caller, long bytes, long count) {
        assertExactOnly(report, method, caller, bytes, count);
        assertNamedShare(report, caller, method);
    }

    private static void assertExactOnly(Report report, String method, String caller, long bytes, long count) {
        List<Report.Stack> named = naming(report, method, caller).stream().filter(s -> !jvmOwn(s))
                .collect(Collectors.toList());
        assertEquals(bytes, bytes(named), method + " from " + caller + ":\n" + report);
        assertEquals(count, count(named), method + " from " + caller + ":\n" + report);
        assertTrue(named.size() <= 2, "one call path, at most two stacks: " + named);
    }

    /**
     * At least 95% of the bytes of stacks through {@code caller} also name one of {@code methods} (the native methods
     * it calls) before it. The JVM's own blocks under {@code caller} are left out: loading a class the first call
     * needs takes arena chunks (32 KiB each) for the class parser, which the JVM's chunk pool keeps or frees on its
     * own schedule, so whether a report still has them is timing.
     */
    private static void assertNamedShare(Report report, String caller, String... methods) {
        long all = bytes(report.stacks.stream().filter(s -> indexOf(s, caller) >= 0 && !jvmOwn(s))
                .collect(Collectors.toList()));
        long named = bytes(report.stacks.stream().filter(s -> !jvmOwn(s) && Arrays.stream(methods)
                .anyMatch(m -> indexOf(s, m) >= 0 && indexOf(s, caller) > indexOf(s, m))).collect(Collectors.toList()));
        assertTrue(all > 0 && named >= 0.95 * all, named + " of " + all + " bytes from " + caller + " name "
                + Arrays.toString(methods) + ":\n" + report);
    }

    /**
     * The JVM's own blocks made under a call (a jmethodID a library asked for, once; a deoptimization's frames):
     * not the leak's, unless the leak is the JVM's (a direct buffer: Unsafe_AllocateMemory0's os::malloc).
     */
    private static boolean jvmOwn(Report.Stack stack) {
        return stack.topFrame().endsWith("[libjvm.so]") && stack.frames.stream().noneMatch(f -> f.startsWith(
                "Unsafe_AllocateMemory0+") || f.startsWith("jdk.internal.misc.Unsafe.allocateMemory0 "));
    }

    /** Blocks whose sizes are the library's: the same ones for each of the program's contexts. */
    private static void assertPerContext(Report report, String method, String caller, int contexts) {
        List<Report.Stack> named = naming(report, method, caller).stream().filter(s -> !jvmOwn(s))
                .collect(Collectors.toList());
        assertTrue(count(named) > 0 && count(named) % contexts == 0 && bytes(named) % contexts == 0,
                method + " from " + caller + ": " + named + "\n" + report);
        // One call path, at most two stacks: the frames from the allocator's caller to the native method, read
        // without how the JVM ran each Java frame ([interpreted], [jit], [native wrapper]).
        Map<List<String>, Integer> stacksPerPath = new HashMap<>();
        for (Report.Stack stack : named) {
            List<String> path = stack.frames.subList(0, indexOf(stack, method) + 1).stream()
                    .map(f -> f.replaceAll(" \\[[^\\]]*\\]$", "")).collect(Collectors.toList());
            stacksPerPath.merge(path, 1, Integer::sum);
        }
        stacksPerPath.forEach((path, stacks) -> assertTrue(stacks <= 2,
                stacks + " stacks for one call path " + path + ":\n" + report));
    }

    private static void assertZstd(Report report) {
        String[] natives = {"com.github.luben.zstd.ZstdCompressCtx.init",
                "com.github.luben.zstd.ZstdCompressCtx.compressByteArray0"};
        for (String method : natives) {
            assertPerContext(report, method, P + "leakZstd", AnchorWalkProgram.CONTEXTS);
        }
        // The rest is zstd-jni loading its library (class initialization) on the first call.
        assertNamedShare(report, P + "leakZstd", natives);
    }

    private static void assertNoFp(Report report) {
        assertExact(report, "dev.memleak4j.it.programs.NoFpLib.leak", P + "leakNoFp",
                AnchorWalkProgram.NOFP_LEAKS * AnchorWalkProgram.NOFP_SIZE, AnchorWalkProgram.NOFP_LEAKS);
    }

    private static void assertDirectBuffers(Report report) {
        assertExact(report, "java.nio.DirectByteBuffer.<init>", P + "leakDirectBuffers",
                (long) AnchorWalkProgram.DIRECT_BUFFERS * AnchorWalkProgram.DIRECT_SIZE,
                AnchorWalkProgram.DIRECT_BUFFERS);
        // The native method that made the call is named too, before its Java callers (other direct buffers, e.g.
        // the JDK's temporary ones for I/O, are not the leak's).
        assertExact(report, "jdk.internal.misc.Unsafe.allocateMemory0", P + "leakDirectBuffers",
                (long) AnchorWalkProgram.DIRECT_BUFFERS * AnchorWalkProgram.DIRECT_SIZE,
                AnchorWalkProgram.DIRECT_BUFFERS);
    }

    /** Each Inflater keeps zlib's state (made by init) and its 32 KiB window (made by the first inflate). */
    private static void assertInflaters(Report report) {
        List<Report.Stack> windows = naming(report, "java.util.zip.Inflater.inflateBytesBytes", P + "leakInflaters");
        assertEquals(AnchorWalkProgram.CONTEXTS * 32L * 1024, bytes(windows), "windows:\n" + report);
        assertEquals(AnchorWalkProgram.CONTEXTS, count(windows), "windows:\n" + report);
        List<Report.Stack> states = naming(report, "java.util.zip.Inflater.init", P + "leakInflaters");
        assertEquals(AnchorWalkProgram.CONTEXTS, count(states), "states:\n" + report);
        assertNamedShare(report, P + "leakInflaters", "java.util.zip.Inflater.");
    }

    @Test
    void realLibrariesNameTheirJavaCallersOnJdk17() throws Exception {
        Privileges.assumeBpf();
        AgentRun run = run("anchor-17", AgentRun.javaBinary(), OPTIONS, List.of("-XX:+PreserveFramePointer"),
                "nofp", "jna", "zstd", "inflater", "deflater", "direct", "rocksdb");
        Report report = run.lastReport();
        assertNoFp(report);
        assertExact(report, "com.sun.jna.Native.malloc", P + "leakJna",
                AnchorWalkProgram.JNA_LEAKS * AnchorWalkProgram.JNA_SIZE, AnchorWalkProgram.JNA_LEAKS);
        assertDirectBuffers(report);
        assertInflaters(report);
        assertZstd(report);
        assertPerContext(report, "java.util.zip.Deflater.init", P + "leakDeflaters", AnchorWalkProgram.CONTEXTS);
        assertNamedShare(report, P + "leakDeflaters", "java.util.zip.Deflater.init");
        assertPerContext(report, "org.rocksdb.WriteBatch.newWriteBatch", P + "leakWriteBatches",
                AnchorWalkProgram.ROCKS_LEAKS);
        assertNamedShare(report, P + "leakWriteBatches", "org.rocksdb.WriteBatch.newWriteBatch");
        assertPerContext(report, "org.rocksdb.ReadOptions.newReadOptions", P + "leakReadOptions",
                AnchorWalkProgram.ROCKS_LEAKS);
        assertNamedShare(report, P + "leakReadOptions", "org.rocksdb.ReadOptions.newReadOptions");
    }

    /** On JDK 25 too, in the default probe mode. */
    @Test
    void realLibrariesNameTheirJavaCallersOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        AgentRun run = run("anchor-25", AgentRun.JDK25.toString(), OPTIONS, List.of("-XX:+PreserveFramePointer"),
                "nofp", "zstd", "inflater", "direct");
        Report report = run.lastReport();
        assertNoFp(report);
        assertDirectBuffers(report);
        assertInflaters(report);
        assertZstd(report);
    }

    /**
     * Interpreted, and compiled frames of the JDK without frame pointers (the walk steps over a compiled frame by its
     * code blob's frame size), in classic probe mode; interpreted frames carry their line, from the bytecode pointer.
     */
    @Test
    void interpretedWithoutPreserveFramePointerInClassicMode() throws Exception {
        Privileges.assumeBpf();
        AgentRun run = run("anchor-17-xint", AgentRun.javaBinary(), OPTIONS + ",probe-mode=classic", List.of("-Xint"),
                "nofp", "jna", "direct");
        Report report = run.lastReport();
        assertNoFp(report);
        assertExact(report, "com.sun.jna.Native.malloc", P + "leakJna",
                AnchorWalkProgram.JNA_LEAKS * AnchorWalkProgram.JNA_SIZE, AnchorWalkProgram.JNA_LEAKS);
        assertDirectBuffers(report);
        int line = SourceLines.of("AnchorWalkProgram.java", "if (NoFpLib.leak(size) == 0 && size > 0) {");
        Report.Stack stack = naming(report, "dev.memleak4j.it.programs.NoFpLib.leak", P + "leakNoFp").get(0);
        assertTrue(stack.frames.contains(P + "leakNoFp:" + line + " [interpreted]"), stack.frames.toString());
    }

    /**
     * JDK 25's FFM: malloc called through a downcall handle from JIT-compiled code; in both probe modes (the hooks
     * see it because the lookup's dlsym hands out the hook).
     */
    @ParameterizedTest
    @ValueSource(strings = {"probe-mode=hooks", "probe-mode=uprobes"})
    void ffmDowncallOnJdk25(String probeMode) throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        Path dir = AgentRun.tempDir("anchor-ffm");
        Path javac = AgentRun.JDK25.resolveSibling("javac");
        Process compile = new ProcessBuilder(javac.toString(), "-d", dir.toString(), FFM_PROGRAM.toString())
                .inheritIO().start();
        assertEquals(0, compile.waitFor(), "javac " + FFM_PROGRAM);
        AgentRun run = AgentRun.withAgent(dir, OPTIONS + "," + probeMode, List.of(AgentRun.JDK25.toString(),
                "-XX:+PreserveFramePointer", "-cp", dir.toString(), "FfmMallocProgram", "0"), List.of());
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        // main also made the downcall handle (the JVM's blocks for that): only the leak's own bytes are checked.
        assertExactOnly(report, "FfmMallocProgram.leakThroughFfm", "FfmMallocProgram.main", 3 * 1_555_555L, 3);
    }
}
