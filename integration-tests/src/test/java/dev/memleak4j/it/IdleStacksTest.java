package dev.memleak4j.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.memleak4j.it.programs.LeakProgram;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel's stack map is never emptied by the BPF programs; the reports forget the stacks that nothing outstanding
 * names once it is half full. Here 98 stacks go through a map of max-stacks=64: 96 of them hold nothing after their
 * round, one holds a block from the first round to the end, and the last, new after the others were forgotten, holds
 * three. Without forgetting, the last stacks would find the map full and be reported without frames; what the
 * forgotten stacks allocated stays in the allocated totals.
 */
class IdleStacksTest {
    private static final long SIZE = LeakProgram.IDLE_STACKS_SIZE;
    /** The two report modes' options, by name; combined-only reads the per-stack counters, which forgetting keeps. */
    private static final Map<String, String> MODES = Map.of("allocations", "older=0", "combined-only",
            "combined-only");
    private static Map<String, AgentRun> runs;
    private static Map<String, Path> dirs;

    /** One JVM per mode, side by side: each waits for reports most of its run. */
    @BeforeAll
    static void runEachModeSideBySide() throws Exception {
        Privileges.assumeBpf();
        Map<String, Callable<AgentRun>> started = new TreeMap<>();
        dirs = new TreeMap<>();
        for (Map.Entry<String, String> mode : MODES.entrySet()) {
            Path dir = AgentRun.tempDir("idle-stacks-" + mode.getKey());
            dirs.put(mode.getKey(), dir);
            started.put(mode.getKey(), () -> AgentRun.leakProgram(dir, "interval=1," + mode.getValue() + ",top=100"
                    + ",min-size=" + SIZE + ",max-size=" + SIZE + ",max-stacks=64,json=" + dir.resolve("snapshot.json")
                    + ",pprof=" + dir.resolve("p.pb.gz"), "idle-stacks", "5000"));
        }
        runs = AgentRun.sideBySide(started);
    }

    @ParameterizedTest
    @ValueSource(strings = {"allocations", "combined-only"})
    void stacksThatHoldNothingAreForgottenAndNewStacksStillGetTheirFrames(String mode) throws Exception {
        AgentRun run = runs.get(mode);
        Path dir = dirs.get(mode);
        assertEquals(0, run.exitCode, run.describe());
        JsonNode document = new ObjectMapper().readTree(Files.readString(dir.resolve("snapshot.json")));
        String context = run.describe() + "\n" + document.toPrettyString();

        assertEquals(4 * SIZE, document.get("outstanding").get("bytes").asLong(), context);
        assertEquals(4, document.get("outstanding").get("allocations").asLong(), context);
        // One stack per kept depth, each with its frames: the first round's (depth 1, never forgotten: its block is
        // outstanding) and the last one's (depth 98, stored after the others were forgotten).
        List<Long> depths = new ArrayList<>();
        for (JsonNode stack : document.get("stacks")) {
            int levels = mallocAtDepthFrames(stack);
            assertTrue(levels > 0, "a stack without its frames:\n" + context);
            depths.add((long) levels - 1);
            assertEquals(levels - 1 == 1 ? 1 : 3, stack.get("allocations").asLong(), context);
        }
        assertEquals(List.of(1L, 98L), depths.stream().sorted().toList(), context);

        JsonNode counters = document.get("counters");
        assertEquals(0, document.get("losses").get("stackMapFull").asLong(), context);
        assertEquals(100, counters.get("allocTracked").asLong(), context);
        // 98 stacks through 64 slots: at least 34 forgotten, none of them named again (each held nothing).
        assertTrue(counters.get("stacksForgotten").asLong() >= 34, context);
        assertEquals(98, counters.get("stacksStored").asLong(), context);
        assertEquals(0, counters.get("stacksRestored").asLong(), context);

        // What the forgotten stacks allocated stays in pprof's alloc_* (since the attach), under one entry of its own:
        // the 100 blocks in all, exactly.
        Map<List<String>, List<Long>> alloc = Views.fromPprof(dir.resolve("p.pb.gz"), dir, "alloc");
        assertEquals(100 * SIZE, alloc.values().stream().mapToLong(v -> v.get(0)).sum(), alloc.toString());
        assertEquals(100, alloc.values().stream().mapToLong(v -> v.get(1)).sum(), alloc.toString());
        List<Long> forgotten = alloc.get(List.of("[stacks forgotten while they held nothing]"));
        assertTrue(forgotten != null && forgotten.get(1) >= 34, alloc.toString());
        assertEquals(forgotten.get(1) * SIZE, forgotten.get(0), alloc.toString());
    }

    /** The frames of the test library's recursion in a JSON snapshot's stack: its depth + 1, 0 without frames. */
    static int mallocAtDepthFrames(JsonNode stack) {
        int levels = 0;
        for (JsonNode frame : stack.get("frames")) {
            if (frame.get("name").asText().equals("malloc_at_depth")) {
                levels++;
            }
        }
        return levels;
    }
}
