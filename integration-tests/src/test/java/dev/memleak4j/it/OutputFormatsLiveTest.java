package dev.memleak4j.it;

import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The formats asked of a running JVM from outside: the command-line tool makes each through the MBean, every
 * stack with the exact leak; a recording from {@code jcmd JFR.dump} and memleak4j's JFR file appended to it are one
 * recording that JMC's parser and the JDK's jfr read whole. Without the options nothing is written and no class of the
 * views or of JMC's writer is loaded.
 */
class OutputFormatsLiveTest {
    private static final String OPTIONS = "interval=1,older=0,top=100,sample-bytes=0,min-size=900000";

    @Test
    void runningJvmGivesEveryFormatAndItsRecordingCombinesWithJcmds() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("formats-live");
        Path classes = dir.resolve("classes.txt");
        try (LiveProgram program = LiveProgram.leakProgram(dir, OPTIONS,
                List.of("-Xlog:class+load=info:file=" + classes), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            String pid = String.valueOf(program.pid());
            LiveProgram.tool("jcmd", pid, "JFR.start", "name=formats");
            Thread.sleep(2500); // two reports

            // Options off: after reports, no file of these formats and none of their code loaded.
            Set<String> written;
            try (var files = Files.list(dir)) {
                written = files.map(f -> f.getFileName().toString()).collect(Collectors.toSet());
            }
            assertTrue(written.stream().noneMatch(n -> n.endsWith(".html") || n.endsWith(".gz") || n.endsWith(".jfr")),
                    written.toString());
            String loaded = Files.readString(classes);
            assertTrue(loaded.contains("dev.memleak4j.agent.report.Reporter"), "the class log is not the agent's");
            assertTrue(!loaded.contains("dev.memleak4j.shaded.jmc") && !loaded.contains("dev.memleak4j.agent.views"),
                    loaded.lines().filter(l -> l.contains("views") || l.contains("shaded.jmc"))
                            .collect(Collectors.joining("\n")));

            Path html = dir.resolve("live.html");
            OutputFormatsTest.cli("flamegraph", pid, html.toString());
            assertEquals(OutputFormatsTest.LEAKED,
                    Views.bytesEndingIn(Views.fromFlameGraph(html), OutputFormatsTest.VIA_MALLOC));
            Path pprof = dir.resolve("live.pb.gz");
            OutputFormatsTest.cli("pprof", pid, pprof.toString());
            assertEquals(OutputFormatsTest.LEAKED,
                    Views.bytesEndingIn(Views.fromPprof(pprof, dir), OutputFormatsTest.VIA_MALLOC));
            Path ours = dir.resolve("live.jfr");
            OutputFormatsTest.cli("jfr", pid, ours.toString());
            assertEquals(OutputFormatsTest.LEAKED,
                    Views.bytesEndingIn(Views.fromJfr(ours), OutputFormatsTest.VIA_MALLOC));

            Path dump = dir.resolve("jcmd.jfr");
            LiveProgram.tool("jcmd", pid, "JFR.dump", "name=formats", "filename=" + dump);
            // JFR files are sequences of chunks: one after the other is one recording.
            Path combined = dir.resolve("combined.jfr");
            try (OutputStream out = Files.newOutputStream(combined)) {
                out.write(Files.readAllBytes(dump));
                out.write(Files.readAllBytes(ours));
            }
            assertEquals(OutputFormatsTest.LEAKED,
                    Views.bytesEndingIn(Views.fromJfr(combined), OutputFormatsTest.VIA_MALLOC));
            IItemCollection items = JfrLoaderToolkit.loadEvents(combined.toFile());
            Set<String> types = new HashSet<>();
            for (IItemIterable iterable : items) {
                if (iterable.getItemCount() > 0) {
                    types.add(iterable.getType().getIdentifier());
                }
            }
            assertTrue(types.contains("memleak4j.NativeMemoryStack") && types.contains("jdk.CPULoad")
                    && types.contains("jdk.JVMInformation"), types.toString());
            // The JDK's jfr reads the combined file chunk by chunk, each with its own types. (Its summary names event
            // types by the first chunk's ids, and JMC's writer numbers its types from 1: memleak4j's events are
            // counted there under the JDK's names for those ids.)
            String summary = LiveProgram.tool("jfr", "summary", combined.toString());
            assertTrue(summary.matches("(?s).*Chunks: " + (chunks(dump) + 1) + "\\n.*"), summary);
            String jvm = LiveProgram.tool("jfr", "print", "--events", "jdk.JVMInformation", combined.toString());
            assertTrue(jvm.contains("jdk.JVMInformation") && jvm.contains("jvmName"), jvm);
            String ourEvents = LiveProgram.tool("jfr", "print", "--events", "memleak4j.NativeMemoryStack",
                    combined.toString());
            assertTrue(ourEvents.contains("libleaktest.so." + OutputFormatsTest.VIA_MALLOC + "()"), ourEvents);
            assertEquals(0, program.exit(), program.stderrText());
        }
    }

    private static int chunks(Path recording) throws Exception {
        String summary = LiveProgram.tool("jfr", "summary", recording.toString());
        java.util.regex.Matcher chunks = java.util.regex.Pattern.compile("Chunks: (\\d+)").matcher(summary);
        assertTrue(chunks.find(), summary);
        return Integer.parseInt(chunks.group(1));
    }
}
