package dev.memleak4j.it;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openjdk.jmc.common.item.IAccessorKey;
import org.openjdk.jmc.common.item.IItem;
import org.openjdk.jmc.common.item.IItemCollection;
import org.openjdk.jmc.common.item.IItemIterable;
import org.openjdk.jmc.common.item.IMemberAccessor;
import org.openjdk.jmc.common.item.IType;
import org.openjdk.jmc.common.unit.IQuantity;
import org.openjdk.jmc.common.unit.UnitLookup;
import org.openjdk.jmc.flightrecorder.JfrLoaderToolkit;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LeakProgram's three-leaks scenario (3 x 1999993 bytes from viaMalloc, nothing else in the size range) recorded the
 * ways a user records: -XX:StartFlightRecording with the memleak4j.jfc from the agent jar, and jcmd JFR.start /
 * JFR.dump from outside. The memleak4j events carry the exact leak; JMC's own parser sees them with their units.
 */
class JfrEventsTest {
    private static final String FRAME = "Java_dev_memleak4j_it_programs_LeakLib_viaMalloc";
    private static final long BYTES = 3 * 1_999_993L;
    /** Only the test's leak is in range: the JVM never allocates exactly this many bytes. */
    private static final String OPTIONS = "interval=1,older=0,sample-bytes=0,min-size=1999993,max-size=1999993";
    private static final String PERIODS = "memleak4j.Statistics#period=1s,memleak4j.OutstandingStack#period=1s";

    private static Path jfc;
    private static Path startupRecording;
    private static AgentRun startupRun;

    @BeforeAll
    static void recordAtStartup() throws Exception {
        Privileges.assumeBpf();
        Path dir = AgentRun.tempDir("jfr");
        jfc = dir.resolve("memleak4j.jfc");
        try (ZipFile jar = new ZipFile(AgentRun.AGENT_JAR.toFile()); InputStream in = jar.getInputStream(
                jar.getEntry("memleak4j.jfc"))) {
            Files.copy(in, jfc);
        }
        startupRecording = dir.resolve("startup.jfr");
        List<String> command = List.of(AgentRun.javaBinary(),
                "-XX:StartFlightRecording:filename=" + startupRecording + ",settings=" + jfc + "," + PERIODS
                        + ",memleak4j.Allocation#enabled=true",
                "-Dleaktest.library=" + AgentRun.TEST_LIBRARY, "-cp", AgentRun.TEST_CLASSES.toString(),
                "dev.memleak4j.it.programs.LeakProgram", "three-leaks", "3500");
        startupRun = AgentRun.withAgent(dir, OPTIONS, command, List.of());
        assertEquals(0, startupRun.exitCode, startupRun.describe());
    }

    /** The same recording on JDK 25: the events present, with the exact leak. */
    @Test
    void startFlightRecordingOnJdk25RecordsTheExactLeak() throws Exception {
        Privileges.require(Files.isExecutable(AgentRun.JDK25), "no JDK 25 at " + AgentRun.JDK25);
        Path dir = AgentRun.tempDir("jfr-25");
        Path recording = dir.resolve("startup.jfr");
        List<String> command = AgentRun.programCommand(AgentRun.JDK25.toString(), List.of(
                "-XX:StartFlightRecording:filename=" + recording + ",settings=" + jfc + "," + PERIODS),
                "dev.memleak4j.it.programs.LeakProgram", "three-leaks", "3500");
        AgentRun run = AgentRun.withAgent(dir, OPTIONS, command, List.of());
        assertEquals(0, run.exitCode, run.describe());
        assertLeakRecorded(RecordingFile.readAllEvents(recording), run.describe());
    }

    @Test
    void startFlightRecordingWithTheShippedJfcRecordsTheExactLeak() throws Exception {
        List<RecordedEvent> events = RecordingFile.readAllEvents(startupRecording);
        assertLeakRecorded(events, startupRun.describe());
    }

    @Test
    void allocationEventsListTheLeakedBlocksByAddress() throws Exception {
        Set<Long> leaked = new HashSet<>();
        for (String line : startupRun.stdout.split("\n")) {
            if (line.startsWith("LEAK ")) {
                leaked.add(Long.parseUnsignedLong(line.split(" ")[1], 16));
            }
        }
        assertEquals(3, leaked.size(), startupRun.stdout);
        Set<Long> recorded = new HashSet<>();
        for (RecordedEvent event : named(RecordingFile.readAllEvents(startupRecording), "memleak4j.Allocation")) {
            assertEquals(1_999_993L, event.getLong("size"));
            assertTrue(event.getString("stack").contains(FRAME), event.getString("stack"));
            recorded.add(event.getLong("address"));
        }
        // Each block once: from the interval it was made in.
        assertEquals(leaked, recorded);
        assertEquals(3, named(RecordingFile.readAllEvents(startupRecording), "memleak4j.Allocation").size());
    }

    @Test
    void jcmdStartAndDumpFromOutsideRecordTheExactLeak() throws Exception {
        Path dir = AgentRun.tempDir("jcmd");
        try (LiveProgram program = LiveProgram.leakProgram(dir, OPTIONS, List.of(), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            assertLeakRecorded(recordWithJcmd(program, dir.resolve("dump.jfr")), program.stderrText());
        }
    }

    /** jcmd JFR.start, 2.5 s, JFR.dump from outside; then the program exits: the recording's events. */
    private static List<RecordedEvent> recordWithJcmd(LiveProgram program, Path dump) throws Exception {
        String pid = String.valueOf(program.pid());
        LiveProgram.tool("jcmd", pid, "JFR.start", "name=m4j", "settings=" + jfc,
                "memleak4j.Statistics#period=1s", "memleak4j.OutstandingStack#period=1s");
        Thread.sleep(2500);
        LiveProgram.tool("jcmd", pid, "JFR.dump", "name=m4j", "filename=" + dump);
        assertEquals(0, program.exit(), program.stderrText());
        return RecordingFile.readAllEvents(dump);
    }

    /**
     * Once the reports have stopped (count reached), no report checks whether Flight Recorder started: a recording
     * started then still gets the events, from the last report, with the probes detached.
     */
    @Test
    void jcmdStartAfterTheReportsStoppedRecordsTheLastReport() throws Exception {
        Path dir = AgentRun.tempDir("jcmd-stopped");
        try (LiveProgram program = LiveProgram.leakProgram(dir, OPTIONS + ",count=2", List.of(), "three-leaks")) {
            program.await("LEAKS DONE", 30);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!program.stderrText().contains("stopped after 2 reports") && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(program.stderrText().contains("stopped after 2 reports (count=2); probes detached"),
                    program.stderrText());
            List<RecordedEvent> events = recordWithJcmd(program, dir.resolve("dump.jfr"));
            List<RecordedEvent> statistics = named(events, "memleak4j.Statistics");
            assertFalse(statistics.isEmpty(), program.stderrText());
            RecordedEvent stats = statistics.get(statistics.size() - 1);
            assertEquals(BYTES, stats.getLong("outstandingBytes"));
            assertEquals(3, stats.getLong("outstandingAllocations"));
            assertEquals(0, stats.getInt("probesAttached"));
            List<RecordedEvent> stacks = named(events, "memleak4j.OutstandingStack").stream()
                    .filter(e -> e.getString("stack").contains(FRAME)).collect(Collectors.toList());
            assertFalse(stacks.isEmpty(), "no OutstandingStack event with " + FRAME + "\n" + program.stderrText());
            assertEquals(BYTES, stacks.get(stacks.size() - 1).getLong("bytes"));
        }
    }

    @Test
    void missionControlSeesTheEventsWithMemoryUnits() throws Exception {
        IItemCollection items = JfrLoaderToolkit.loadEvents(startupRecording.toFile());
        Map<String, Long> lastBytes = new java.util.HashMap<>();
        Set<String> types = new HashSet<>();
        for (IItemIterable iterable : items) {
            IType<IItem> type = iterable.getType();
            if (!type.getIdentifier().startsWith("memleak4j.")) {
                continue;
            }
            types.add(type.getIdentifier());
            for (Map.Entry<IAccessorKey<?>, ?> key : type.getAccessorKeys().entrySet()) {
                String id = key.getKey().getIdentifier();
                if (id.equals("bytes") || id.equals("outstandingBytes") || id.equals("size") || id.equals("mapMemory")) {
                    assertEquals(UnitLookup.MEMORY, key.getKey().getContentType(), type.getIdentifier() + "." + id);
                }
                if (id.equals("oldestAge") || id.equals("age")) {
                    assertEquals(UnitLookup.TIMESPAN, key.getKey().getContentType(), type.getIdentifier() + "." + id);
                }
                if (id.equals("address")) {
                    assertEquals(UnitLookup.ADDRESS, key.getKey().getContentType(), type.getIdentifier() + "." + id);
                }
            }
            if (type.getIdentifier().equals("memleak4j.OutstandingStack")) {
                IMemberAccessor<?, IItem> bytes = accessor(type, "bytes");
                IMemberAccessor<?, IItem> frame = accessor(type, "topNativeFrame");
                for (IItem item : iterable) {
                    if (String.valueOf(frame.getMember(item)).startsWith(FRAME)) {
                        lastBytes.put("viaMalloc", ((IQuantity) bytes.getMember(item)).longValueIn(UnitLookup.BYTE));
                    }
                }
            }
        }
        // LeakSuspect events come only while a stack is judged growing (the three leaks, all made in the first
        // second, may or may not be by the time of a report): when there, their units were checked above too.
        Set<String> always = Set.of("memleak4j.Statistics", "memleak4j.OutstandingStack", "memleak4j.Allocation");
        assertTrue(types.containsAll(always), types.toString());
        Set<String> known = new HashSet<>(always);
        known.add("memleak4j.LeakSuspect");
        assertTrue(known.containsAll(types), types.toString());
        assertEquals(BYTES, lastBytes.get("viaMalloc"));
    }

    private static IMemberAccessor<?, IItem> accessor(IType<IItem> type, String id) {
        for (IAccessorKey<?> key : type.getAccessorKeys().keySet()) {
            if (key.getIdentifier().equals(id)) {
                return type.getAccessor(key);
            }
        }
        throw new AssertionError(type.getIdentifier() + " has no attribute " + id);
    }

    private static void assertLeakRecorded(List<RecordedEvent> events, String context) {
        List<RecordedEvent> stacks = named(events, "memleak4j.OutstandingStack").stream()
                .filter(e -> e.getString("stack").contains(FRAME)).collect(Collectors.toList());
        assertFalse(stacks.isEmpty(), "no OutstandingStack event with " + FRAME + "\n" + context);
        RecordedEvent last = stacks.get(stacks.size() - 1);
        assertEquals(BYTES, last.getLong("bytes"));
        assertEquals(3, last.getLong("allocations"));
        assertEquals(1, last.getInt("rank"));
        assertFalse(last.getBoolean("estimated"));
        assertTrue(last.getString("topNativeFrame").startsWith(FRAME + " [libleaktest.so]"),
                last.getString("topNativeFrame"));
        assertTrue(last.getString("stack").lines().findFirst().orElse("").contains(FRAME + "+0x"),
                last.getString("stack"));
        assertTrue(last.getLong("oldestAge") > 0);
        // JFR's own stack trace would be its periodic thread's: ours travels as text.
        assertNull(last.getStackTrace());
        List<RecordedEvent> statistics = named(events, "memleak4j.Statistics");
        assertFalse(statistics.isEmpty(), context);
        RecordedEvent stats = statistics.get(statistics.size() - 1);
        assertEquals(BYTES, stats.getLong("outstandingBytes"));
        assertEquals(3, stats.getLong("outstandingAllocations"));
        assertFalse(stats.getBoolean("estimated"));
        assertTrue(stats.getInt("probesAttached") > 0);
        assertTrue(stats.getString("probeMode").contains("every allocation tracked"), stats.getString("probeMode"));
        // Only blocks of exactly 1999993 bytes are tracked, and the program makes three, from the attach on.
        assertEquals(BYTES, stats.getLong("bytesAllocated"));
        assertTrue(stats.getLong("mapMemory") > 0);
    }

    private static List<RecordedEvent> named(List<RecordedEvent> events, String name) {
        List<RecordedEvent> found = new ArrayList<>();
        for (RecordedEvent event : events) {
            if (event.getEventType().getName().equals(name)) {
                found.add(event);
            }
        }
        return found;
    }
}
