package dev.memleak4j.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who owns a suspect's blocks (sample-bytes=0, hooks: every block tracked, so the counts are exact): Deflaters kept
 * in a list are live owners (retained), RocksDB WriteBatches dropped without close() are unreachable owners (leaked),
 * direct buffers dropped while their Cleaner cannot run are unreachable and awaiting it. Read from the exit report
 * (text and JSON), after a run of 16 rounds at interval=1, long enough for the stacks to be suspects.
 */
class OwnersTest {
    /** top=50: the JVM's own growing stacks can outrank a Deflater's 112-byte z_stream among the text's suspects. */
    private static final String OPTIONS = "interval=1,sample-bytes=0,probe-mode=hooks,top=50";
    private static final Pattern MADE = Pattern.compile("OWNERS made=(\\d+) kept=(\\d+)");

    @BeforeAll
    static void privileges() throws Exception {
        Privileges.assumeBpf();
    }

    /** What a run made, and the owners of its exit report's suspects (JSON) of one class, summed. */
    private record Outcome(AgentRun run, int made, int kept, long live, long unreachable, long awaitingCleaner,
                           List<Report.Suspect> textSuspects) {}

    private static Outcome run(String java, String mode, String options, String ownerClass) throws Exception {
        return run(AgentRun.tempDir("owners-" + mode), java, List.of(), mode, options, ownerClass);
    }

    private static Outcome run(Path dir, String java, List<String> jvmFlags, String mode, String options,
                               String ownerClass) throws Exception {
        Path json = dir.resolve("snapshot.json");
        String rocksdb = Paths.get(org.rocksdb.RocksDB.class.getProtectionDomain().getCodeSource().getLocation()
                .toURI()).toString();
        List<String> command = new ArrayList<>(AgentRun.programCommand(java, jvmFlags,
                "dev.memleak4j.it.programs.OwnersProgram", mode, "16"));
        int cp = command.indexOf("-cp") + 1;
        command.set(cp, command.get(cp) + ":" + rocksdb);
        AgentRun run = AgentRun.withAgent(dir, OPTIONS + options + ",json=" + json, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        Matcher made = MADE.matcher(run.stdout);
        assertTrue(made.find(), run.describe());
        JsonNode document = new ObjectMapper().readTree(Files.readString(json));
        assertTrue(document.get("exitReport").asBoolean(), run.describe());
        long live = 0;
        long unreachable = 0;
        long awaiting = 0;
        for (JsonNode suspect : document.get("leakSuspects").get("suspects")) {
            long owned = 0;
            for (JsonNode owner : suspect.get("owners")) {
                long count = owner.get("live").asLong() + owner.get("unreachable").asLong()
                        + owner.get("awaitingCleaner").asLong();
                owned += count;
                if (owner.get("class").asText().equals(ownerClass)) {
                    live += owner.get("live").asLong();
                    unreachable += owner.get("unreachable").asLong();
                    awaiting += owner.get("awaitingCleaner").asLong();
                }
            }
            assertTrue(owned <= suspect.get("allocations").asLong(), "an owner per block at most: " + suspect);
        }
        Report last = run.lastReport();
        assertTrue(last.atExit, run.describe());
        return new Outcome(run, Integer.parseInt(made.group(1)), Integer.parseInt(made.group(2)), live, unreachable,
                awaiting, last.suspects);
    }

    /** The suspect whose "owners:" line names {@code text}; fails when there is none. */
    private static Report.Suspect suspectOwnedAs(Outcome outcome, String text) {
        return outcome.textSuspects.stream().filter(s -> s.owners().stream().anyMatch(o -> o.contains(text)))
                .findFirst().orElseThrow(() -> new AssertionError("no suspect with owners '" + text + "'\n"
                        + outcome.run.describe()));
    }

    @Test
    void deflatersKeptInAListAreRetainedByLiveObjects() throws Exception {
        Path dir = AgentRun.tempDir("owners-deflaters");
        Path recording = dir.resolve("recording.jfr");
        // In a .jfc: JFR checks "event#setting" options of -XX:StartFlightRecording before the agent has registered
        // its events, and drops them; a settings file's entries apply to events registered later.
        Path settings = dir.resolve("leak-suspects.jfc");
        Files.writeString(settings, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration version=\"2.0\">\n"
                + "  <event name=\"memleak4j.LeakSuspect\"><setting name=\"enabled\">true</setting>"
                + "<setting name=\"period\">1 s</setting></event>\n</configuration>\n");
        Outcome outcome = run(dir, AgentRun.javaBinary(), List.of("-XX:StartFlightRecording:filename=" + recording
                + ",settings=" + settings), "deflaters", ",owners=jdk", "java.util.zip.Deflater");
        assertEquals(64, outcome.made, outcome.run.describe());
        assertEquals(List.of(64L, 0L, 0L), List.of(outcome.live, outcome.unreachable, outcome.awaitingCleaner),
                outcome.run.describe());
        Report.Suspect suspect = suspectOwnedAs(outcome, "64 live Deflater (retained by live objects)");
        assertEquals(64, suspect.count(), "one z_stream per Deflater: " + suspect);
        assertTrue(suspect.frames().get(0).startsWith("Java_java_util_zip_Deflater_init"), suspect.toString());

        // The MXBean and JFR carry them too (from the periodic reports: fewer Deflaters were made by then).
        Matcher jmx = Pattern.compile("JMX owner java.util.zip.Deflater live=(\\d+) unreachable=0 awaitingCleaner=0")
                .matcher(outcome.run.stdout);
        assertTrue(jmx.find() && Long.parseLong(jmx.group(1)) > 0, outcome.run.describe());
        long jfrLive = 0;
        for (RecordedEvent event : RecordingFile.readAllEvents(recording)) {
            if (event.getEventType().getName().equals("memleak4j.LeakSuspect") && event.getLong("ownersLive") > 0) {
                assertTrue(event.getString("owners").contains(event.getLong("ownersLive") + " live Deflater"),
                        event.toString());
                assertEquals(0, event.getLong("ownersUnreachable") + event.getLong("ownersAwaitingCleaner"));
                jfrLive = Math.max(jfrLive, event.getLong("ownersLive"));
            }
        }
        assertTrue(jfrLive > 0, "no LeakSuspect event with live owners\n" + outcome.run.describe());
    }

    @Test
    void rocksDbObjectsDroppedWithoutCloseAreLeakedByUnreachableObjects() throws Exception {
        Outcome outcome = run(AgentRun.javaBinary(), "rocksdb", ",owners=org.rocksdb.RocksObject#nativeHandle_",
                "org.rocksdb.WriteBatch");
        assertEquals(64, outcome.made, outcome.run.describe());
        assertEquals(List.of(0L, 64L, 0L), List.of(outcome.live, outcome.unreachable, outcome.awaitingCleaner),
                outcome.run.describe());
        Report.Suspect suspect = suspectOwnedAs(outcome, "64 unreachable WriteBatch (leaked by unreachable objects)");
        assertTrue(suspect.frames().stream().anyMatch(f -> f.startsWith("org.rocksdb.WriteBatch.newWriteBatch")),
                suspect.toString());
    }

    @Test
    void withoutTheOptionRocksDbObjectsHaveNoKnownOwner() throws Exception {
        Outcome outcome = run(AgentRun.javaBinary(), "rocksdb", "", "org.rocksdb.WriteBatch");
        assertEquals(List.of(0L, 0L, 0L), List.of(outcome.live, outcome.unreachable, outcome.awaitingCleaner));
        for (Report.Suspect suspect : outcome.textSuspects) {
            assertFalse(suspect.owners().stream().anyMatch(o -> o.contains("WriteBatch")), "not '0 live': nothing");
        }
    }

    @Test
    void directBuffersWhoseCleanerCannotRunAreAwaitingItAndTheKeptOnesLive() throws Exception {
        // The program suspends the Reference Handler (Thread.suspend: JDK 17; it throws from JDK 20 on).
        Outcome outcome = run(AgentRun.javaBinary(), "direct", ",owners=jdk", "java.nio.DirectByteBuffer");
        assertEquals(64, outcome.made, outcome.run.describe());
        assertEquals(16, outcome.kept, outcome.run.describe());
        assertEquals(List.of(16L, 0L, 48L), List.of(outcome.live, outcome.unreachable, outcome.awaitingCleaner),
                outcome.run.describe());
        suspectOwnedAs(outcome, "16 live DirectByteBuffer (retained by live objects); 48 unreachable "
                + "DirectByteBuffer awaiting Cleaner");
    }

    @Test
    void onJdk25TheJdksOwnersAndNamedClassesAreKnownToo() throws Exception {
        Outcome deflaters = run(AgentRun.JDK25.toString(), "deflaters", ",owners=org.rocksdb.RocksObject",
                "java.util.zip.Deflater");
        assertEquals(List.of(64L, 0L, 0L), List.of(deflaters.live, deflaters.unreachable, deflaters.awaitingCleaner),
                deflaters.run.describe());
    }
}
