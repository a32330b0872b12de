package dev.memleak4j.agent;

import dev.memleak4j.agent.files.SafeFiles;
import dev.memleak4j.agent.nativelib.DiagnosticCommand;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;

/**
 * Keeps the agent's own code (and the libraries shaded into it) out of the C2 compiler, through a compiler directive
 * added as {@code jcmd PID Compiler.directives_add FILE} adds it ({@link DiagnosticCommand}: not through the
 * DiagnosticCommand MBean, which would create the platform MBeanServer in every JVM the agent runs in).
 *
 * <p>Why: in its first seconds the agent runs a lot of code once or a few times (Byte Buddy wrapping the JNI methods,
 * the first reports symbolizing libjvm), which C2 then compiles at length on the JVM's compiler threads, competing
 * with the application for CPUs; the gzip benchmark's first seconds showed it (docs/benchmarks.md, "Figures behind
 * design choices"). Only methods of our own packages match the directive, and not the JNI marks' hot path (below);
 * advice that Byte Buddy inlines into wrapped classes is compiled as part of them.
 *
 * <p>Code that runs in bursts, at the start and in the first report, and seldom after (decoding instructions: the
 * probe sites, and whether each new return address a walk found follows a call; parsing /proc/self/maps) is not
 * compiled at all: C1 compiled it in those bursts with full profiling (~95 KB, a third of the agent's compiled
 * code), and every full GC of the application walks compiled code for good. Interpreted, neither the start nor the
 * first report took measurably longer (docs/benchmarks.md, "Side by side, one CPU each").
 */
final class OwnCodeCompilation {
    /**
     * The first matching directive applies: the JNI marks' code runs on the application's threads around every
     * wrapped JNI call (Inflater, Deflater), so it stays with C2, which inlines it into the JDK's compiled methods;
     * left to C1 it slowed gzip round trips down measurably in steady state (docs/benchmarks.md). The owners'
     * registration (the owners package and the hooks' lookup) runs in every direct buffer's constructor: left to C1,
     * the calls from the JDK's C2 code into it cost more per buffer than the lookup itself. Then the instruction
     * decoding and maps parsing, never compiled, and everything else of ours, compiled by C1 only.
     */
    private static final String DIRECTIVE = "[ { match: [\"dev/memleak4j/agent/jnimarks/JniMarkBridge*.*\","
            + " \"dev/memleak4j/agent/owners*.*\", \"dev/memleak4j/agent/bpf/AllocHooks*.*\"], c2: { Exclude: false } },"
            + " { match: [\"dev/memleak4j/agent/probes*.*\", \"dev/memleak4j/agent/symbols/ProcessMaps*.*\"],"
            + " Exclude: true },"
            + " { match: [\"dev/memleak4j/agent*.*\", \"dev/memleak4j/shaded*.*\"], c2: { Exclude: true } } ]\n";

    private OwnCodeCompilation() {}

    /**
     * A path as one argument of a diagnostic command, whose parser splits at blanks: quoted when it holds one (a
     * {@code java.io.tmpdir} with a space), as jcmd's own arguments are.
     */
    static String argument(String path) {
        if (!hasWhitespace(path)) {
            return path;
        }
        if (path.indexOf('"') >= 0) {
            throw new IllegalArgumentException("a path with both a blank and a double quote: " + path);
        }
        return '"' + path + '"';
    }

    /** A loop, not a stream: the stream's classes and lambda would stay in the application's JVM for good. */
    private static boolean hasWhitespace(String text) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.isWhitespace(text.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /** Adds the directive; on any failure (no libmanagement_ext, a JVM without directives) says why to {@code log}. */
    static void keepOutOfC2(Consumer<String> log) {
        Path dir = null;
        try {
            // The JVM reads the file by name after this returns: in a private directory nobody else can swap it.
            dir = SafeFiles.createPrivateDirectory(SafeFiles.temporaryDirectory(), "memleak4j-directives-");
            Path file = dir.resolve("directives.json");
            Files.writeString(file, DIRECTIVE, StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
            String output = DiagnosticCommand.execute("Compiler.directives_add " + argument(file.toString())).trim();
            log.accept("the agent's own code, but for the JNI marks' path, is compiled by C1 only, and its instruction "
                    + "decoding and maps parsing not at all (compiler directive)"
                    + (output.isEmpty() || output.endsWith("compiler directives added") ? "" : ": " + output));
        } catch (Exception | LinkageError e) {
            log.accept("note: the agent's own code may be compiled by C2 (compiler directive not added: " + e + ")");
        } finally {
            if (dir != null) {
                try {
                    SafeFiles.deletePrivateDirectory(dir);
                } catch (Exception e) {
                    // a private directory left behind is harmless
                }
            }
        }
    }
}
