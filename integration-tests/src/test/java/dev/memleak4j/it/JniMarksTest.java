package dev.memleak4j.it;

import dev.memleak4j.it.programs.JniMarkProgram;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Native code without frame pointers must not cost the Java half of the stack: wrapped JNI methods mark their
 * thread, and the report appends the Java callers bound to the mark after the native frames the walk found.
 */
class JniMarksTest {
    static final Path NOFP_LIBRARY = AgentRun.TEST_LIBRARY.resolveSibling("libnofp.so");
    private static final String PROGRAM = "dev.memleak4j.it.programs.JniMarkProgram";
    private static final String JAVA_CALLER = " [java caller]";
    /** Every zlib block of a Deflater is tracked (no sampling); the JVM's small blocks are left out. */
    private static final String PATHS_OPTIONS = "interval=1,older=0,top=200,sample-bytes=0,min-size=4000,verbose,"
            + JniMarksTest.ZIP_CLASSES;
    /** The JDK classes the marks used to select by default (the default is none since the walk from the anchor). */
    static final String ZIP_CLASSES = "jni-classes=java.util.zip.Inflater:java.util.zip.Deflater";
    private static final Pattern CAPTURES =
            Pattern.compile("JNI calls captured (\\d+) times, (\\d+) from known call paths");

    static AgentRun run(String name, String options, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(AgentRun.javaBinary(), "-Dnofp.library=" + NOFP_LIBRARY, "-cp",
                AgentRun.TEST_CLASSES.toString(), PROGRAM));
        command.addAll(List.of(args));
        return AgentRun.withAgent(AgentRun.tempDir(name), options, command, List.of());
    }

    private static int indexOf(List<String> frames, String prefix) {
        for (int i = 0; i < frames.size(); i++) {
            if (frames.get(i).startsWith(prefix)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The walk from the thread's frame anchor names the JNI method and its Java callers after the library's frames;
     * marks on every application class add nothing to such a stack (no {@code [java caller]} frames that would only
     * repeat it), and with or without them each Java caller is its own stack.
     */
    @Test
    void leakInLibraryWithoutFramePointersShowsItsJavaCallers() throws Exception {
        Privileges.assumeBpf();
        assertNoFpCallersWalked(run("jni-nofp", "interval=1,older=0,top=50,sample-bytes=0,min-size=1000000,"
                + "jni-classes=*", "nofp", "3000"));
    }

    private static void assertNoFpCallersWalked(AgentRun run) {
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        List<Report.Stack> stacks = report.stacks.stream()
                .filter(s -> s.frames.stream().anyMatch(f -> f.startsWith("nofp_allocate_state+0x")))
                .collect(Collectors.toList());
        assertEquals(2, stacks.size(), "one stack per Java caller:\n" + report + run.describe());
        String[] callers = {"leakFromFirstCaller", "leakFromSecondCaller"};
        long[] counts = {1, 2};
        for (int c = 0; c < callers.length; c++) {
            String caller = "dev.memleak4j.it.programs.JniMarkProgram." + callers[c];
            Report.Stack stack = stacks.stream().filter(s -> indexOf(s.frames, caller) >= 0).findFirst()
                    .orElseThrow(() -> new AssertionError(caller + " in no stack:\n" + report));
            assertEquals(counts[c] * JniMarkProgram.NOFP_SIZE, stack.bytes, stack.toString());
            assertEquals(counts[c], stack.count, stack.toString());
            List<String> frames = stack.frames;
            assertTrue(frames.get(0).matches("nofp_allocate_state\\+0x[0-9a-f]+ \\[libnofp\\.so\\]"), frames.toString());
            int jni = indexOf(frames, "dev.memleak4j.it.programs.NoFpLib.leak ");
            int method = indexOf(frames, caller + ":");
            int run1 = indexOf(frames, "dev.memleak4j.it.programs.JniMarkProgram.run:");
            int main = indexOf(frames, "dev.memleak4j.it.programs.JniMarkProgram.main:");
            // With the class wrapped (jni-classes=*), the JNI method is the renamed native one under its wrapper.
            assertTrue(frames.get(1).startsWith("dev.memleak4j.it.programs.NoFpLib.") && jni >= 1 && jni < method
                    && method < run1 && run1 < main, "JNI method, " + callers[c] + ", run, main in call order: " + frames);
            assertTrue(frames.stream().noneMatch(f -> f.endsWith(JAVA_CALLER)), frames.toString());
        }
    }

    @Test
    void inflaterNeverEndedShowsTheJavaMethodThatMadeIt() throws Exception {
        Privileges.assumeBpf();
        assertInflaterLeaks(run("jni-inflater", "interval=1,older=0,top=100,sample-bytes=0,min-size=4000," + ZIP_CLASSES,
                "inflater", "3000"));
    }

    /**
     * With only JDK classes selected, Byte Buddy is needed at start only: its classes go at a full GC
     * (usually the first; the program collects for up to 15 s: with both CPUs busy, 8 runs in 38 needed a later
     * one), and the woven Inflater keeps marking. Flight Recorder is not started by
     * the agent either.
     */
    @Test
    void byteBuddyIsUnloadedAndTheMarksStay() throws Exception {
        Privileges.assumeBpf();
        AgentRun run = AgentRun.withAgent(AgentRun.tempDir("jni-unload"), "interval=1,older=0,top=100,sample-bytes=0,"
                        + "min-size=4000," + ZIP_CLASSES, List.of(AgentRun.javaBinary(), "-Xlog:class+unload=info:stdout", "-cp",
                        AgentRun.TEST_CLASSES.toString(), PROGRAM, "inflater-after-gc", "3000"), List.of());
        long unloaded = run.stdout.lines().filter(l -> l.contains("dev.memleak4j.shaded.bytebuddy.")).count();
        assertTrue(unloaded > 500, unloaded + " Byte Buddy classes unloaded:\n" + run.describe());
        assertTrue(run.stdout.contains("JFR initialized: false"), run.describe());
        assertInflaterLeaks(run);
    }

    /** Once Byte Buddy is gone, another agent's retransformation takes the marks out: said in one line. */
    @Test
    void retransformationByAnotherAgentIsReported() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("jni-retransformed");
        Path otherAgent = dir.resolve("other-agent.jar");
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().putValue("Premain-Class", "dev.memleak4j.it.programs.RetransformingAgent");
        manifest.getMainAttributes().putValue("Can-Retransform-Classes", "true");
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(otherAgent), manifest)) {
            // the class itself comes from the class path
        }
        AgentRun run = AgentRun.withAgent(dir, "interval=60," + ZIP_CLASSES, List.of(AgentRun.javaBinary(),
                "-javaagent:" + otherAgent, "-cp", AgentRun.TEST_CLASSES.toString(), PROGRAM, "retransformed", "0"),
                List.of());
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stdout.contains("RETRANSFORMED"), run.describe());
        assertTrue(run.stderr.contains("memleak4j: note: java.util.zip.Inflater was retransformed by another agent: "
                + "the JNI marks in it are gone"), run.describe());
    }

    private static void assertInflaterLeaks(AgentRun run) {
        assertEquals(0, run.exitCode, run.describe());
        Report report = run.lastReport();
        // Java frames print as "Class.method:line [kind]", or "Class.method [kind]" when the line is not known.
        String method = "dev.memleak4j.it.programs.JniMarkProgram.inflaterNeverEnded";
        List<Report.Stack> zlib = report.stacks.stream()
                .filter(s -> s.frames.stream().anyMatch(f -> f.startsWith("java.util.zip.Inflater.")))
                .filter(s -> indexOf(s.frames, method) >= 0)
                .collect(Collectors.toList());
        assertTrue(!zlib.isEmpty(), "zlib's allocations name inflaterNeverEnded:\n" + report + run.describe());
        long count = zlib.stream().mapToLong(s -> s.count).sum();
        long bytes = zlib.stream().mapToLong(s -> s.bytes).sum();
        // Each Inflater keeps zlib's inflate state (at init; its size is zlib's business, the same for all) and its
        // 32 KiB window (at the first inflate): exactly two blocks an Inflater, the windows exactly 32 KiB each.
        assertEquals(2L * JniMarkProgram.INFLATERS, count, "allocations:\n" + report);
        List<Report.Stack> windows = zlib.stream().filter(s -> indexOf(s.frames, "java.util.zip.Inflater.inflate") >= 0)
                .collect(Collectors.toList());
        assertEquals(JniMarkProgram.INFLATERS, windows.stream().mapToLong(s -> s.count).sum(), "windows:\n" + report);
        assertEquals(JniMarkProgram.INFLATERS * 32L * 1024, windows.stream().mapToLong(s -> s.bytes).sum(),
                "windows:\n" + report);
        assertEquals(0, (bytes - JniMarkProgram.INFLATERS * 32L * 1024) % JniMarkProgram.INFLATERS,
                "one state size:\n" + report);
        for (Report.Stack stack : zlib) {
            int at = indexOf(stack.frames, method);
            assertTrue(indexOf(stack.frames, "dev.memleak4j.it.programs.JniMarkProgram.run") > at,
                    "with its caller: " + stack.frames);
            assertTrue(stack.frames.get(0).contains("[libz.so") || stack.frames.get(0).contains("[libzip.so"),
                    "the native frames the walk found come first: " + stack.frames);
        }
    }

    @Test
    void knownCallPathsKeepTheirOwnJavaCallers() throws Exception {
        Privileges.assumeBpf();
        assertCallPathsApart(run("jni-paths", PATHS_OPTIONS, "paths", "2500"));
    }

    @Test
    void knownCallPathsKeepTheirOwnJavaCallersInterpreted() throws Exception {
        Privileges.assumeBpf();
        assertCallPathsApart(AgentRun.withAgent(AgentRun.tempDir("jni-paths-xint"), PATHS_OPTIONS,
                List.of(AgentRun.javaBinary(), "-Xint", "-cp", AgentRun.TEST_CLASSES.toString(), PROGRAM, "paths",
                        "2500"), List.of()));
    }

    /** JDK 17's native reflection: the walk crosses the JVM's call stub (Java, native, Java) on every call. */
    @Test
    void knownCallPathsKeepTheirOwnJavaCallersThroughNativeReflection() throws Exception {
        Privileges.assumeBpf();
        assertCallPathsApart(AgentRun.withAgent(AgentRun.tempDir("jni-paths-reflected"), PATHS_OPTIONS,
                List.of(AgentRun.javaBinary(), "-Dsun.reflect.noInflation=false",
                        "-Dsun.reflect.inflationThreshold=2147483647", "-cp", AgentRun.TEST_CLASSES.toString(),
                        PROGRAM, "paths-reflected", "2500"), List.of()));
    }

    @Test
    void knownCallPathsKeepTheirOwnJavaCallersOnJdk25() throws Exception {
        Privileges.assumeBpf();
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        assertCallPathsApart(AgentRun.withAgent(AgentRun.tempDir("jni-paths-25"), PATHS_OPTIONS,
                List.of(AgentRun.JDK25.toString(), "-cp", AgentRun.TEST_CLASSES.toString(), PROGRAM, "paths", "2500"),
                List.of()));
    }

    /**
     * The paths scenario: thousands of Deflaters made and ended through one helper from roundA and roundB, a few
     * kept. Java callers of repeated call paths come from the frame walk's memory, not a new capture; the kept
     * ones must still be reported under the round that made them, each round with its own count.
     */
    private static void assertCallPathsApart(AgentRun run) {
        assertEquals(0, run.exitCode, run.describe());
        assertTrue(run.stderr.contains("named once per call path (frame walk)"), "the frame walk is on:\n"
                + run.describe());
        Report report = run.lastReport();
        String roundA = "dev.memleak4j.it.programs.JniMarkProgram.roundA:";
        String roundB = "dev.memleak4j.it.programs.JniMarkProgram.roundB:";
        // zlib's blocks only (libz, or libzip where the JDK bundles zlib): the JVM may allocate under the same call
        // too (a GC's side tables at a TLAB refill), and those are rightly reported with these Java callers, but
        // they are not one per Deflater.
        List<Report.Stack> deflaters = report.stacks.stream()
                .filter(s -> indexOf(s.frames, "java.util.zip.Deflater.") >= 0)
                .filter(s -> s.frames.get(0).contains("[libz.so") || s.frames.get(0).contains("[libzip.so"))
                .collect(Collectors.toList());
        long[] counts = new long[2];
        long[] bytes = new long[2];
        for (Report.Stack stack : deflaters) {
            int a = indexOf(stack.frames, roundA);
            int b = indexOf(stack.frames, roundB);
            assertTrue(a < 0 || b < 0, "one round per stack: " + stack.frames);
            int round = a >= 0 ? 0 : b >= 0 ? 1 : -1;
            assertTrue(round >= 0, "a Deflater's stack names its round:\n" + stack + "\n" + report);
            int helper = indexOf(stack.frames, "dev.memleak4j.it.programs.JniMarkProgram.newDeflater:");
            assertTrue(helper >= 0 && helper < Math.max(a, b), "helper, then round: " + stack.frames);
            counts[round] += stack.count;
            bytes[round] += stack.bytes;
        }
        // Each kept Deflater holds the same zlib blocks: per Deflater, both rounds show the same count and bytes.
        assertTrue(counts[0] > 0 && counts[0] % JniMarkProgram.PATH_A_LEAKS == 0, counts[0] + " allocations from "
                + "roundA, not a multiple of " + JniMarkProgram.PATH_A_LEAKS + ":\n" + report);
        assertEquals(counts[0] / JniMarkProgram.PATH_A_LEAKS, counts[1] / JniMarkProgram.PATH_B_LEAKS,
                "allocations per kept Deflater, roundA vs roundB:\n" + report);
        assertEquals(counts[1], counts[1] / JniMarkProgram.PATH_B_LEAKS * JniMarkProgram.PATH_B_LEAKS);
        assertEquals(bytes[0] / JniMarkProgram.PATH_A_LEAKS, bytes[1] / JniMarkProgram.PATH_B_LEAKS,
                "bytes per kept Deflater, roundA vs roundB:\n" + report);
        // One capture per marked JNI call with an allocation in range: each of the 2 x 20,000 Deflater.init calls
        // (its zlib state and windows are over min-size 4000). The JVM's own such calls, a new Inflater reading a jar
        // entry after the weave (ZipFile reuses its Inflaters), are a few at most; a call captured twice, in one
        // round alone, would add 20,000.
        long[] captures = lastCaptureCounts(run.stderr);
        assertTrue(captures[0] >= 2L * 20_000 && captures[0] < 2L * 20_000 + 100, captures[0] + " captures");
        assertTrue(captures[1] >= captures[0] / 2 && captures[1] <= captures[0], "most of the "
                + captures[0] + " captures came from known call paths, not JVMTI: " + captures[1]);
    }

    /** From the last verbose report line: [captures, captures of known call paths]. */
    private static long[] lastCaptureCounts(String stderr) {
        Matcher last = null;
        for (String line : stderr.lines().collect(Collectors.toList())) {
            Matcher m = CAPTURES.matcher(line);
            if (m.find()) {
                last = m;
            }
        }
        assertTrue(last != null, "no verbose report line with capture counts:\n" + stderr);
        return new long[] {Long.parseLong(last.group(1)), Long.parseLong(last.group(2))};
    }

    @Test
    void jniClassesNoneStillNamesTheJavaCallers() throws Exception {
        Privileges.assumeBpf();
        assertNoFpCallersWalked(run("jni-none", "interval=1,older=0,top=50,sample-bytes=0,min-size=1000000,"
                + "jni-classes=none", "nofp", "3000"));
    }

    // The cost of the mark per JNI call was printed here, with nothing asserted (timing is the bench's business,
    // and a test that cannot fail is none): removed.
}
